import { expect } from "chai";
import fc from "fast-check";
import { Readable } from "node:stream";
import { zstdDecompressSync } from "node:zlib";
import { expectedChunkIndices } from "./chunks";
import { type XvaCompression } from "./compression";
import { XVA_CHUNK_SIZE_BYTES } from "./constants";
import { extentsDiskSource } from "./disk-source";
import { XvaChecksumError, XvaFormatError } from "./errors";
import { objectsOfClass } from "./ova-xml";
import { type XvaEvent, parseXva } from "./reader";
import { collect, pieces, sparseDisk, vmExport } from "./test-fixtures";
import { createXvaWriter } from "./writer";

const MiB = XVA_CHUNK_SIZE_BYTES;

/** Runs the reader over `archive` and rebuilds every disk from the chunk events. */
async function readBack(archive: Buffer, pieceBytes = 64 * 1024) {
  const events: XvaEvent[] = [];
  const disks = new Map<string, Buffer>();
  const indices = new Map<string, number[]>();
  for await (const ev of parseXva(pieces(archive, pieceBytes))) {
    if (ev.type === "disk-start") {
      disks.set(ev.disk.id, Buffer.alloc(ev.disk.virtualSize));
      indices.set(ev.disk.id, []);
    }
    if (ev.type === "chunk") {
      ev.data.copy(disks.get(ev.disk.id) as Buffer, ev.offset);
      indices.get(ev.disk.id)?.push(ev.index);
      events.push({ ...ev, data: Buffer.alloc(0) });
    } else events.push(ev);
  }
  return { events, disks, indices };
}

function nonZeroChunks(disk: Buffer): number[] {
  const out: number[] = [];
  for (let i = 0; i * MiB < disk.byteLength; i++) {
    if (disk.subarray(i * MiB, (i + 1) * MiB).some((b) => b !== 0)) out.push(i);
  }
  return out;
}

// Text xapi's XML encoder keeps unchanged: no C0 controls (dropped), no CR (XML parsers turn it into LF), no
// U+FFFE/U+FFFF (not XML characters).
const xmlSafe = fc
  .string({ unit: "grapheme", maxLength: 24 })
  // eslint-disable-next-line no-control-regex
  .filter((s) => !/[\u0000-\u0008\u000b-\u001f\ufffe\uffff]/.test(s));

const diskArb = fc
  .record({
    size: fc.oneof(fc.integer({ min: 0, max: 4 * MiB + 4096 }), fc.constantFrom(MiB, 3 * MiB, 1, 0)),
    runs: fc.array(
      fc.record({
        at: fc.double({ min: 0, max: 1, noNaN: true }),
        bytes: fc.oneof(
          fc.uint8Array({ minLength: 1, maxLength: 300 }),
          fc.integer({ min: 1, max: MiB + 10 }).map((n) => Buffer.alloc(n, 0xa5)),
          fc.integer({ min: 1, max: 5000 }).map((n) => Buffer.alloc(n)), // explicit zeros: still a hole
        ),
      }),
      { maxLength: 4 },
    ),
  })
  .map(({ size, runs }) =>
    sparseDisk(
      size,
      runs.map((r) => ({ offset: Math.floor(r.at * size), bytes: r.bytes })),
    ),
  );

describe("xva writer → reader", () => {
  it("round-trips random sparse disks and metadata, emitting exactly the expected chunks", async function () {
    this.timeout(600_000);
    await fc.assert(
      fc.asyncProperty(
        fc.array(diskArb, { minLength: 1, maxLength: 3 }),
        fc.record({
          name: xmlSafe,
          description: xmlSafe,
          otherConfig: fc.dictionary(xmlSafe, xmlSafe, { maxKeys: 4, noNullPrototype: true }),
          tags: fc.array(xmlSafe, { maxLength: 3 }),
          memory: fc.integer({ min: 1, max: 2 ** 40 }),
          shadow: fc.double({ min: 0.5, max: 16, noNaN: true }),
        }),
        fc.constantFrom<XvaCompression>("none", "gzip", "zstd"),
        fc.constantFrom("xxhash" as const, "sha1" as const),
        fc.integer({ min: 1, max: 200_000 }),
        async (disks, meta, compression, checksum, pieceBytes) => {
          const exp = vmExport({
            disks,
            vm: {
              name_label: meta.name,
              name_description: meta.description,
              other_config: meta.otherConfig,
              tags: meta.tags,
              memory_static_max: meta.memory,
              HVM_shadow_multiplier: meta.shadow,
            },
            withCdrom: true,
          });
          const archive = await collect(
            createXvaWriter({ ova: exp.ova, disks: exp.disks, compression, checksum }),
          );
          const back = await readBack(archive, pieceBytes);

          const header = back.events.find((e) => e.type === "header");
          if (header?.type !== "header") throw new Error("no header event");
          expect(header.compression).to.equal(compression);
          const vm = objectsOfClass(header.header, "VM")[0]?.snapshot;
          expect(vm?.name_label).to.equal(meta.name);
          expect(vm?.name_description).to.equal(meta.description);
          expect(vm?.other_config).to.deep.equal(meta.otherConfig);
          expect(vm?.tags).to.deep.equal(meta.tags);
          expect(vm?.memory_static_max).to.equal(meta.memory);
          expect(vm?.HVM_shadow_multiplier).to.equal(Number(meta.shadow.toPrecision(16)));
          expect(header.disks).to.have.length(disks.length);

          // Stream order is string order of the ids; after a short first chunk every chunk is kept (see writer).
          const ordered = disks
            .map((disk, i) => ({ disk, id: exp.idByRef.get(`OpaqueRef:vdi${i}`) as string }))
            .sort((a, b) => (a.id < b.id ? -1 : 1));
          let first: number | undefined;
          for (const { disk, id } of ordered) {
            const keepAll = first !== undefined && first < MiB;
            expect(back.disks.get(id)?.equals(disk), `disk ${id} bytes`).to.equal(true);
            const all = Array.from({ length: Math.ceil(disk.byteLength / MiB) }, (_, i) => i);
            expect(back.indices.get(id), `disk ${id} chunks`).to.deep.equal(
              keepAll ? all : expectedChunkIndices(disk.byteLength, nonZeroChunks(disk)),
            );
            if (disk.byteLength > 0) first ??= Math.min(disk.byteLength, MiB);
          }
          const end = back.events.at(-1);
          expect(end?.type).to.equal("end");
        },
      ),
      { numRuns: 40 },
    );
  });

  it("writes all-zero disks as their first and last chunk only, and a 0-byte disk as nothing", async () => {
    // ids: vdi0 Ref:4, vdi1 Ref:7, vdi2 Ref:9, vdi3 Ref:11 — stream order Ref:11 (empty), Ref:4, Ref:7, Ref:9.
    const exp = vmExport({
      disks: [Buffer.alloc(5 * MiB + 100), Buffer.alloc(3 * MiB), Buffer.alloc(2 * MiB), Buffer.alloc(0)],
    });
    expect([...exp.disks.keys()]).to.deep.equal(["Ref:11", "Ref:4", "Ref:7", "Ref:9"]);
    const back = await readBack(await collect(createXvaWriter({ ova: exp.ova, disks: exp.disks })));
    expect(back.indices.get("Ref:4")).to.deep.equal([0, 5]);
    expect(back.indices.get("Ref:7")).to.deep.equal([0, 2]);
    expect(back.indices.get("Ref:9")).to.deep.equal([0, 1]);
    expect(back.indices.get("Ref:11")).to.deep.equal([]);
    const last = back.events.find((e) => e.type === "chunk" && e.name === "Ref:4/00000005");
    expect(last?.type === "chunk" && [last.offset, back.disks.get("Ref:4")?.byteLength]).to.deep.equal([
      5 * MiB,
      5 * MiB + 100,
    ]);
  });

  it("keeps every chunk after a first chunk shorter than 1 MiB, so xapi's gap sizing stays right", async () => {
    // vdi3 gets id Ref:11, which sorts first: its only chunk (10 bytes) is the stream's first chunk file.
    const exp = vmExport({
      disks: [Buffer.alloc(3 * MiB), Buffer.alloc(MiB), Buffer.alloc(MiB), Buffer.alloc(10, 1)],
    });
    expect([...exp.disks.keys()][0]).to.equal("Ref:11");
    const back = await readBack(await collect(createXvaWriter({ ova: exp.ova, disks: exp.disks })));
    expect(back.indices.get("Ref:11")).to.deep.equal([0]);
    expect(back.indices.get("Ref:4")).to.deep.equal([0, 1, 2]);
  });

  it("streams disks in string order of their ids (Ref:10 before Ref:9), as xapi does", async () => {
    // Eleven disks give ids up to two digits; the disks are made distinguishable by their first byte.
    const disks = Array.from({ length: 11 }, (_, i) =>
      sparseDisk(MiB, [{ offset: 0, bytes: Buffer.from([i + 1]) }]),
    );
    const exp = vmExport({ disks, vifs: 0 });
    const back = await readBack(await collect(createXvaWriter({ ova: exp.ova, disks: exp.disks })));
    const order = back.events
      .filter((e) => e.type === "disk-start")
      .map((e) => (e.type === "disk-start" ? e.disk.id : ""));
    expect(order).to.deep.equal([...order].sort());
    expect(order.some((id, i) => i > 0 && id.length < (order[i - 1] as string).length)).to.equal(true);
  });

  it("reads an extents source lazily: data is pulled only as the consumer reads", async () => {
    let pulled = 0;
    const source = extentsDiskSource(64 * MiB, function* () {
      for (let i = 0; i < 64; i++) {
        pulled = i + 1;
        yield { offset: i * MiB, data: Buffer.alloc(MiB, i + 1) };
      }
    });
    const exp = vmExport({ disks: [source] });
    const stream = createXvaWriter({ ova: exp.ova, disks: exp.disks });
    const it = stream[Symbol.asyncIterator]();
    await it.next();
    await new Promise((r) => setTimeout(r, 50));
    // Not reading further: backpressure must stop the writer after a few chunks, long before 64.
    expect(pulled).to.be.within(1, 8);
    stream.destroy();
  });
});

describe("xva stream lifecycle", () => {
  it("releases the input when the consumer stops early, even if the input would stall", async () => {
    const exp = vmExport({ disks: [sparseDisk(3 * MiB, [{ offset: 0, bytes: Buffer.from("x") }])] });
    const archive = await collect(createXvaWriter({ ova: exp.ova, disks: exp.disks }));
    // Serves the first 100 KiB, then never ends.
    const input = new Readable({
      read() {
        if (!this.readableEnded && !stalled) {
          stalled = true;
          this.push(archive.subarray(0, 100 * 1024));
        }
      },
    });
    let stalled = false;
    for await (const ev of parseXva(input)) {
      if (ev.type === "header") break;
    }
    expect(input.destroyed).to.equal(true);
  });

  // A consumer that gives up (a client hanging up on an export) destroys the output: with a compressor in between,
  // that must end the stream quietly too (before: an uncaught ERR_STREAM_PREMATURE_CLOSE crashed the process).
  for (const compression of ["none", "gzip", "zstd"] as const)
    it(`stops reading the disk sources when the ${compression} output stream is destroyed, quietly`, async () => {
      let closed = false;
      let pulled = 0;
      const source = extentsDiskSource(64 * MiB, function* () {
        try {
          for (let i = 0; i < 64; i++) {
            pulled += 1;
            yield { offset: i * MiB, data: Buffer.alloc(MiB, 1) };
          }
        } finally {
          closed = true;
        }
      });
      const exp = vmExport({ disks: [source] });
      const out = createXvaWriter({ ova: exp.ova, disks: exp.disks, compression });
      // Read until the source is open (a generator that never started has nothing to close), then give up.
      await new Promise<void>((resolve) =>
        out.on("data", () => {
          if (pulled > 2) {
            out.pause();
            resolve();
          }
        }),
      );
      const uncaught: unknown[] = [];
      const onUncaught = (e: unknown) => uncaught.push(e);
      process.prependListener("uncaughtException", onUncaught);
      try {
        out.destroy();
        await new Promise((r) => setTimeout(r, 100));
      } finally {
        process.removeListener("uncaughtException", onUncaught);
      }
      expect(uncaught, "nothing thrown at the process").to.deep.equal([]);
      expect(closed).to.equal(true);
      expect(pulled).to.be.lessThan(64);
    });

  it("fails the output stream with the source's error", async () => {
    const source = extentsDiskSource(4 * MiB, async function* () {
      yield { offset: 0, data: Buffer.alloc(MiB, 1) };
      await Promise.resolve();
      throw new Error("disk read failed: EIO");
    });
    const exp = vmExport({ disks: [source] });
    const err = await collect(createXvaWriter({ ova: exp.ova, disks: exp.disks, compression: "gzip" })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as Error).message).to.equal("disk read failed: EIO");
  });
});

describe("xva reader failures", () => {
  async function archiveOf(disks: Buffer[], compression: XvaCompression = "none"): Promise<Buffer> {
    const exp = vmExport({ disks });
    return collect(createXvaWriter({ ova: exp.ova, disks: exp.disks, compression }));
  }
  async function failure(archive: Buffer): Promise<unknown> {
    try {
      for await (const ev of parseXva(pieces(archive, 4096))) void ev;
    } catch (err) {
      return err;
    }
    return undefined;
  }
  const data = sparseDisk(3 * MiB, [
    { offset: 0, bytes: Buffer.from("boot") },
    { offset: MiB + 7, bytes: Buffer.alloc(1000, 9) },
  ]);

  it("names the chunk, expected and actual checksum when a data byte is corrupted", async () => {
    const archive = await archiveOf([data]);
    const at = archive.indexOf(Buffer.from("Ref:4/00000001\0", "latin1"));
    expect(at).to.be.greaterThan(0);
    archive.writeUInt8(archive.readUInt8(at + 512 + 100) ^ 0x01, at + 512 + 100);
    const err = await failure(archive);
    expect(err).to.be.instanceOf(XvaChecksumError);
    const e = err as XvaChecksumError;
    expect(e.chunk).to.equal("Ref:4/00000001");
    expect(e.disk).to.equal("Ref:4");
    expect(e.offset).to.equal(MiB);
    expect(e.expected).to.match(/^[0-9A-F]{16}$/);
    expect(e.actual).to.match(/^[0-9A-F]{16}$/);
    expect(e.actual).to.not.equal(e.expected);
    expect(e.message).to.match(/Ref:4\/00000001.*offset 1048576/);
  });

  it("rejects a corrupted checksum file the same way", async () => {
    const archive = await archiveOf([data]);
    const at = archive.indexOf(Buffer.from("Ref:4/00000000.xxhash\0", "latin1"));
    archive[at + 512] = archive[at + 512] === 0x41 ? 0x42 : 0x41;
    const err = await failure(archive);
    expect(err).to.be.instanceOf(XvaChecksumError);
    expect((err as XvaChecksumError).chunk).to.equal("Ref:4/00000000");
  });

  for (const compression of ["none", "gzip", "zstd"] as const) {
    it(`fails with TRUNCATED wherever a ${compression} stream is cut`, async function () {
      this.timeout(120_000);
      const archive = await archiveOf([data], compression);
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: archive.byteLength - 1 }), async (cut) => {
          const err = await failure(archive.subarray(0, cut));
          if (err === undefined && compression === "zstd") {
            // Node's zstd stream ends with a separate empty frame; a cut exactly before it loses no byte.
            expect(zstdDecompressSync(archive.subarray(0, cut)).equals(zstdDecompressSync(archive))).to.equal(
              true,
            );
            return;
          }
          expect(err, `cut at ${cut} of ${archive.byteLength}`).to.be.instanceOf(XvaFormatError);
          expect((err as XvaFormatError).code, `cut at ${cut}: ${(err as Error).message}`).to.equal(
            "TRUNCATED",
          );
        }),
        { numRuns: 40, examples: [[archive.byteLength - 1], [archive.byteLength - 1024], [512]] },
      );
    });
  }

  it("reports an input that fails mid-way (connection reset) as TRUNCATED, keeping the cause", async () => {
    const archive = await archiveOf([data]);
    const input = Readable.from(
      (function* () {
        yield archive.subarray(0, 600_000);
        throw Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
      })(),
    );
    let err: unknown;
    try {
      for await (const ev of parseXva(input)) void ev;
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(XvaFormatError);
    expect((err as XvaFormatError).code).to.equal("TRUNCATED");
    expect(((err as XvaFormatError).cause as Error).message).to.equal("read ECONNRESET");
  });

  it("fails with NOT_XVA on an empty stream and on bytes that are not a tar", async () => {
    expect(((await failure(Buffer.alloc(0))) as XvaFormatError).code).to.equal("NOT_XVA");
    const junk = Buffer.alloc(4096, 0x5a);
    expect(((await failure(junk)) as XvaFormatError).code).to.equal("NOT_XVA");
  });
});
