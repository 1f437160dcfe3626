import { expect } from "chai";
import * as fc from "fast-check";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { TailGate } from "./tail-gate";

/** Runs `pieces` through a gate; `seen` is what came out before the release was asked for. */
async function run(
  pieces: readonly Buffer[],
  hold: number,
  release: () => Promise<void>,
): Promise<{ out: Buffer; beforeRelease: number }> {
  const out: Buffer[] = [];
  let beforeRelease = -1;
  const gate = new TailGate(hold, () => {
    beforeRelease = Buffer.concat(out).length;
    return release();
  });
  await pipeline(
    Readable.from(pieces),
    gate,
    new Writable({
      write(c: Buffer, _e, done) {
        out.push(c);
        done();
      },
    }),
  );
  return { out: Buffer.concat(out), beforeRelease };
}

describe("tail gate", () => {
  it("passes every byte, in order, for any split and hold; holds back exactly min(hold, length) until the end", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 50 }), { maxLength: 20 }),
        fc.integer({ min: 0, max: 300 }),
        async (arrays, hold) => {
          const pieces = arrays.map((a) => Buffer.from(a));
          const all = Buffer.concat(pieces);
          const r = await run(pieces, hold, () => Promise.resolve());
          expect(r.out.equals(all)).to.equal(true);
          expect(r.beforeRelease).to.equal(Math.max(0, all.length - hold));
        },
      ),
    );
  });

  it("a failed release fails the stream with its error; the tail never comes out", async () => {
    const out: Buffer[] = [];
    const gate = new TailGate(10, () => Promise.reject(new Error("digest mismatch")));
    const err = await pipeline(
      Readable.from([Buffer.alloc(25, 1), Buffer.alloc(25, 2)]),
      gate,
      new Writable({
        write(c: Buffer, _e, done) {
          out.push(c);
          done();
        },
      }),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as Error).message).to.equal("digest mismatch");
    expect(Buffer.concat(out).length).to.equal(40);
  });

  it("refuses a negative hold", () => {
    expect(() => new TailGate(-1, () => Promise.resolve())).to.throw(RangeError, /holdBytes/);
  });
});
