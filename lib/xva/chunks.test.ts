import { expect } from "chai";
import fc from "fast-check";
import { chunkCount, chunkName, emittedChunks, expectedChunkIndices, planDiskChunks } from "./chunks";
import { XVA_CHUNK_SIZE_BYTES } from "./constants";
import { type DiskExtent, extentsDiskSource } from "./disk-source";
import { XvaInputError } from "./errors";

const MiB = XVA_CHUNK_SIZE_BYTES;

describe("xva chunking", () => {
  it("names chunks like xapi's %08d", () => {
    expect(chunkName("Ref:3", 7)).to.equal("Ref:3/00000007");
    expect(chunkName("vdi", 12345678)).to.equal("vdi/12345678");
  });

  it("expects the first and last chunk plus every non-zero one", () => {
    expect(expectedChunkIndices(0, [])).to.deep.equal([]);
    expect(expectedChunkIndices(1, [])).to.deep.equal([0]);
    expect(expectedChunkIndices(5 * MiB + 1, [3, 3, 1])).to.deep.equal([0, 1, 3, 5]);
    expect(() => expectedChunkIndices(MiB, [1])).to.throw(XvaInputError, /outside the disk/);
  });

  it("cuts arbitrary extents into exactly the chunks a brute-force scan predicts, with the right bytes", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 6 * MiB }),
        fc.array(
          fc.record({
            gap: fc.integer({ min: 0, max: 2 * MiB }),
            length: fc.integer({ min: 0, max: 2 * MiB }),
            fill: fc.integer({ min: 0, max: 3 }), // 0: zeros, to check zero extents are still omitted
          }),
          { maxLength: 6 },
        ),
        async (size, specs) => {
          const disk = Buffer.alloc(size);
          const extents: DiskExtent[] = [];
          let pos = 0;
          for (const s of specs) {
            const offset = pos + s.gap;
            const length = Math.min(s.length, size - offset);
            if (length <= 0) break;
            const data = Buffer.alloc(length, s.fill);
            data.copy(disk, offset);
            extents.push({ offset, data });
            pos = offset + length;
          }
          const got: { index: number; offset: number; data: Buffer }[] = [];
          for await (const c of emittedChunks(extentsDiskSource(size, () => extents))) {
            got.push({ index: c.index, offset: c.offset, data: Buffer.from(c.data) });
          }
          const nonZero: number[] = [];
          for (let i = 0; i < chunkCount(size); i++) {
            if (disk.subarray(i * MiB, (i + 1) * MiB).some((b) => b !== 0)) nonZero.push(i);
          }
          expect(got.map((c) => c.index)).to.deep.equal(expectedChunkIndices(size, nonZero));
          for (const c of got) {
            expect(c.offset).to.equal(c.index * MiB);
            expect(c.data.equals(disk.subarray(c.offset, c.offset + MiB))).to.equal(true);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it("keeps zero chunks when asked (after a short first chunk)", async () => {
    const plan = await planDiskChunks(
      extentsDiskSource(4 * MiB, () => []),
      true,
    );
    expect(plan.emitted).to.deep.equal([0, 1, 2, 3]);
    expect((await planDiskChunks(extentsDiskSource(4 * MiB, () => []))).emitted).to.deep.equal([0, 3]);
  });

  it("rejects sources whose extents overlap, go backwards or run past the disk", async () => {
    const bad: DiskExtent[][] = [
      [
        { offset: 10, data: Buffer.alloc(10, 1) },
        { offset: 15, data: Buffer.alloc(1, 1) },
      ],
      [{ offset: MiB, data: Buffer.alloc(MiB + 1, 1) }],
      [{ offset: -1, data: Buffer.alloc(1, 1) }],
    ];
    for (const extents of bad) {
      let err: unknown;
      try {
        for await (const c of emittedChunks(extentsDiskSource(2 * MiB, () => extents))) void c;
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(XvaInputError);
      expect((err as Error).message).to.match(
        /extents must be increasing, non-overlapping and inside the disk/,
      );
    }
  });
});
