import { expect } from "chai";
import fc from "fast-check";
import { Readable } from "node:stream";
import { MAX_PARTS, MIN_PART_BYTES, Rechunker, partSizeFor, queueSizeFor } from "./stream-upload";

describe("part size", () => {
  it("fits any size up to 5 TiB in under 10,000 parts, in whole MiB, never below the floor (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5 * 1024 ** 4 }), (size) => {
        const p = partSizeFor(size);
        expect(p % (1024 * 1024)).to.equal(0);
        expect(p).to.be.at.least(Math.max(8 * 1024 * 1024, MIN_PART_BYTES));
        expect(Math.ceil(size / p)).to.be.below(MAX_PARTS);
      }),
    );
  });
  it("stays at the floor for small templates: 8 GiB → 8 MiB parts; 100 GiB → 12 MiB", () => {
    expect(partSizeFor(8 * 1024 ** 3)).to.equal(8 * 1024 * 1024);
    expect(partSizeFor(100 * 1024 ** 3)).to.equal(12 * 1024 * 1024);
  });
});

describe("parts in flight", () => {
  it("fit the 32 MiB budget, never fewer than 2 (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: MIN_PART_BYTES, max: 600 * 1024 * 1024 }), (part) => {
        const q = queueSizeFor(part);
        expect(q).to.be.at.least(2);
        if (q > 2) expect(q * part).to.be.at.most(32 * 1024 * 1024);
      }),
    );
  });
  it("4 parts of 8 MiB for a small template", () => {
    expect(queueSizeFor(8 * 1024 * 1024)).to.equal(4);
  });
});

describe("Rechunker", () => {
  it("re-cuts any sequence of chunks into fixed-size buffers without changing the bytes (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
        fc.integer({ min: 1, max: 64 }),
        async (chunks, size) => {
          const out: Buffer[] = [];
          for await (const c of Readable.from(chunks.map((c) => Buffer.from(c))).pipe(new Rechunker(size)))
            out.push(c as Buffer);
          expect(Buffer.concat(out).equals(Buffer.concat(chunks.map((c) => Buffer.from(c))))).to.equal(true);
          out.slice(0, -1).forEach((c) => expect(c.length).to.equal(size));
        },
      ),
    );
  });
});
