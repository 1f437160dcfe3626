import { expect } from "chai";
import { mkdtemp, open, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { XVA_CHUNK_SIZE_BYTES } from "./constants";
import { fileDiskSource } from "./disk-source";
import { planDiskChunks } from "./chunks";
import { writeXvaDisksToFiles } from "./sparse-files";
import { xvaTarLength, xvaTarLengthBound } from "./stream-length";
import { serializeOvaXml } from "./ova-xml";
import { collect, vmExport } from "./test-fixtures";
import { createXvaWriter } from "./writer";

const MiB = XVA_CHUNK_SIZE_BYTES;

describe("xva disk files", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "xva-files-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A 64 MiB sparse image with data at a few places (most of it is a hole). */
  async function sparseImage(path: string): Promise<Buffer[]> {
    const fh = await open(path, "w");
    const runs = [
      [0, Buffer.from("MBR")],
      [17 * MiB + 3, Buffer.alloc(2 * MiB, 0x61)],
      [64 * MiB - 1, Buffer.from([0xff])],
    ] as const;
    for (const [at, data] of runs) await fh.write(data, 0, data.byteLength, at);
    await fh.close();
    return runs.map(([, d]) => d);
  }

  it("exports a sparse file and imports it back into an equally sparse file", async () => {
    const src = join(dir, "src.raw");
    await sparseImage(src);
    const source = await fileDiskSource(src);
    expect(source.virtualSize).to.equal(64 * MiB);
    expect((await planDiskChunks(source)).emitted).to.deep.equal([0, 17, 18, 19, 63]);

    const exp = vmExport({ disks: [source] });
    const archive = await collect(createXvaWriter({ ova: exp.ova, disks: exp.disks, compression: "gzip" }));
    const dst = join(dir, "dst.raw");
    let headerDisks = 0;
    const summary = await writeXvaDisksToFiles([archive], {
      onHeader: (_h, disks) => {
        headerDisks = disks.length;
      },
      pathFor: () => dst,
    });
    expect(headerDisks).to.equal(1);
    expect(summary.disks[0]?.chunks).to.equal(5);
    expect((await readFile(dst)).equals(await readFile(src))).to.equal(true);
    const st = await stat(dst);
    expect(st.size).to.equal(64 * MiB);
    // Only the carried non-zero chunks were written: a few MiB allocated, not 64.
    expect(st.blocks * 512).to.be.lessThan(8 * MiB);
  });

  it("reads only the allocated ranges it is given, and zero-extends a short file to virtualSize", async () => {
    const src = join(dir, "short.raw");
    await writeFile(src, Buffer.concat([Buffer.alloc(MiB, 1), Buffer.alloc(MiB, 2), Buffer.alloc(10, 3)]));
    const ranged = await fileDiskSource(src, {
      virtualSize: 4 * MiB,
      allocatedRanges: [{ offset: MiB, length: MiB }],
    });
    const parts: number[] = [];
    for await (const e of ranged.extents()) parts.push(e.offset, e.data.byteLength);
    expect(parts).to.deep.equal([MiB, MiB]);
    const whole = await fileDiskSource(src, { virtualSize: 4 * MiB });
    expect((await planDiskChunks(whole)).emitted).to.deep.equal([0, 1, 2, 3]);
  });

  it("predicts the exact tar length, and bounds it from the disk sizes alone", async () => {
    const src = join(dir, "len.raw");
    await sparseImage(src);
    const source = await fileDiskSource(src);
    const exp = vmExport({ disks: [source, Buffer.alloc(100)] });
    const tar = await collect(createXvaWriter({ ova: exp.ova, disks: exp.disks }));
    const ovaBytes = Buffer.byteLength(serializeOvaXml(exp.ova));
    const plans = await Promise.all([...exp.disks.values()].map((s) => planDiskChunks(s)));
    expect(xvaTarLength(ovaBytes, plans)).to.equal(tar.byteLength);
    expect(xvaTarLengthBound(ovaBytes, [64 * MiB, 100])).to.be.at.least(tar.byteLength);
    expect(xvaTarLengthBound(ovaBytes, [64 * MiB, 100])).to.equal(
      xvaTarLength(ovaBytes, [
        { virtualSize: 64 * MiB, emitted: Array.from({ length: 64 }, (_, i) => i) },
        { virtualSize: 100, emitted: [0] },
      ]),
    );
  });
});
