import { expect } from "chai";
import { createHash } from "node:crypto";
import { PassThrough, Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { XVA_CHUNK_SIZE_BYTES } from "./constants";
import { extentsDiskSource } from "./disk-source";
import { XvaChecksumError, XvaFormatError } from "./errors";
import { collect, pieces, sparseDisk, vmExport } from "./test-fixtures";
import { createXvaVerifier } from "./verify";
import { createXvaWriter } from "./writer";

const MiB = XVA_CHUNK_SIZE_BYTES;

describe("xva pass-through verifier", () => {
  const disk = sparseDisk(4 * MiB + 5, [
    { offset: 10, bytes: Buffer.from("grub") },
    { offset: 2 * MiB - 3, bytes: Buffer.alloc(MiB, 0x42) },
  ]);

  for (const compression of ["none", "gzip", "zstd"] as const) {
    it(`forwards a ${compression} XVA unchanged and reports its SHA-256, chunks and guest OS`, async () => {
      const exp = vmExport({
        disks: [disk],
        guestOs: "Debian GNU/Linux 12 (bookworm)",
        vm: { name_label: "debian-12" },
      });
      const archive = await collect(createXvaWriter({ ova: exp.ova, disks: exp.disks, compression }));
      const verifier = createXvaVerifier();
      let headerSeen = false;
      verifier.on("header", () => (headerSeen = true));
      const out = await collect(pieces(archive, 7777).pipe(verifier));
      expect(out.equals(archive)).to.equal(true);
      const v = await verifier.verification;
      expect(v.sha256).to.equal(createHash("sha256").update(archive).digest("hex"));
      expect(v.bytes).to.equal(archive.byteLength);
      expect(v.compression).to.equal(compression);
      expect(v.chunks).to.equal(4); // chunks 0, 1, 2 and the last (4); chunk 3 is all zero
      expect(v.disks.map((d) => d.chunks)).to.deep.equal([4]);
      expect(v.vmName).to.equal("debian-12");
      expect(v.osName).to.equal("Debian GNU/Linux 12 (bookworm)");
      expect(headerSeen).to.equal(true);
    });
  }

  it("reports its progress through the disks' bytes: monotonic, from 0 to the disks' whole size", async () => {
    const second = sparseDisk(3 * MiB, [{ offset: MiB, bytes: Buffer.alloc(MiB, 7) }]);
    const exp = vmExport({ disks: [disk, second] });
    const archive = await collect(createXvaWriter({ ova: exp.ova, disks: exp.disks, compression: "zstd" }));
    const verifier = createXvaVerifier();
    const total = 4 * MiB + 5 + 3 * MiB;
    expect(verifier.progress()).to.deep.equal({
      diskBytesDone: 0,
      diskBytesTotal: 0,
      dataBytes: 0,
      streamBytes: 0,
    });
    const seen: number[] = [];
    const sink = new Writable({
      write(_c: Buffer, _e, done) {
        seen.push(verifier.progress().diskBytesDone);
        done();
      },
    });
    await pipeline(pieces(archive, 4096), verifier, sink);
    await verifier.verification;
    expect(
      seen.every((n, i) => i === 0 || n >= (seen[i - 1] ?? 0)),
      "never goes back",
    ).to.equal(true);
    const v = await verifier.verification;
    expect(verifier.progress()).to.deep.equal({
      diskBytesDone: total,
      diskBytesTotal: total,
      dataBytes: v.disks.reduce((n, d) => n + d.dataBytes, 0),
      streamBytes: archive.byteLength,
    });
  });

  it("fails the pipeline with XvaChecksumError on a corrupted chunk, and rejects verification", async () => {
    const exp = vmExport({ disks: [disk] });
    const archive = await collect(createXvaWriter({ ova: exp.ova, disks: exp.disks }));
    const at = archive.indexOf(Buffer.from("Ref:4/00000002\0", "latin1")) + 512 + 5;
    archive.writeUInt8(archive.readUInt8(at) ^ 0xff, at);
    const verifier = createXvaVerifier();
    const sink = new PassThrough();
    sink.resume();
    const err = await pipeline(pieces(archive, 65536), verifier, sink).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(XvaChecksumError);
    expect((err as XvaChecksumError).chunk).to.equal("Ref:4/00000002");
    const rejected = await verifier.verification.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(rejected).to.equal(err);
  });

  it("fails with TRUNCATED when the stream ends early", async () => {
    const exp = vmExport({ disks: [disk] });
    const archive = await collect(createXvaWriter({ ova: exp.ova, disks: exp.disks, compression: "zstd" }));
    const verifier = createXvaVerifier();
    const err = await pipeline(
      pieces(archive.subarray(0, archive.byteLength >> 1), 4096),
      verifier,
      new PassThrough().resume(),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(XvaFormatError);
    expect((err as XvaFormatError).code).to.equal("TRUNCATED");
  });

  it("holds bounded memory: a stalled consumer stops the source after a few MiB of a 256 MiB stream", async () => {
    // A dense 256 MiB disk (every chunk carried): if the verifier buffered, it would take far more than it passes.
    const dense = extentsDiskSource(256 * MiB, function* () {
      for (let i = 0; i < 256; i++) yield { offset: i * MiB, data: Buffer.alloc(MiB, (i % 250) + 1) };
    });
    const exp = vmExport({ disks: [dense] });
    let produced = 0;
    const source = createXvaWriter({ ova: exp.ova, disks: exp.disks });
    const counted = source.pipe(
      new PassThrough({
        transform(chunk: Buffer, _e, cb) {
          produced += chunk.byteLength;
          cb(null, chunk);
        },
      }),
    );
    const verifier = createXvaVerifier();
    let consumed = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const slow = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _e, cb) {
        consumed += chunk.byteLength;
        if (consumed > 8 * MiB) void gate.then(() => cb());
        else cb();
      },
    });
    const done = pipeline(counted, verifier, slow);
    await new Promise((r) => setTimeout(r, 300));
    // Stalled after 8 MiB: what the writer produced beyond that is what sits in buffers along the way.
    expect(produced - consumed).to.be.lessThan(16 * MiB);
    release();
    await done;
    const v = await verifier.verification;
    expect(v.chunks).to.equal(256);
  });

  it("rejects verification when destroyed before the end", async () => {
    const verifier = createXvaVerifier();
    Readable.from([Buffer.alloc(10)]).pipe(verifier);
    verifier.destroy();
    const err = await verifier.verification.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(XvaFormatError);
  });
});
