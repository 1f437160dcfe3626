import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import fc from "fast-check";
import { makeTempDir, removeDir } from "../testing/tmp";
import { AllocationMap, BLOCK_BYTES, DiskStore, isZero, isZeroParts } from "./disks";

const A = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
const B = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";

describe("devpool storage/disks", () => {
  let dir: string;
  let disks: DiskStore;
  beforeEach(() => {
    dir = makeTempDir();
    disks = new DiskStore(dir);
  });
  afterEach(() => removeDir(dir));

  it("marks exactly the blocks a write overlaps, and encodes/decodes the map (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 * BLOCK_BYTES }),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 3 * BLOCK_BYTES })), { maxLength: 8 }),
        (size, writes) => {
          const m = new AllocationMap(size);
          const expected = new Set<number>();
          for (const [o, l] of writes) {
            const offset = o % size;
            const length = Math.min(l, size - offset);
            m.mark(offset, length);
            // every byte's block, visited block by block
            for (let x = offset; x < offset + length; x = (Math.floor(x / BLOCK_BYTES) + 1) * BLOCK_BYTES) {
              expected.add(Math.floor(x / BLOCK_BYTES));
            }
          }
          expect(m.blocks()).to.deep.equal([...expected].sort((a, b) => a - b));
          expect(AllocationMap.decode(m.encode())?.blocks()).to.deep.equal(m.blocks());
        },
      ),
      { numRuns: 200 },
    );
  });

  it("creates sparse disks and copies only allocated blocks, data intact", async () => {
    disks.create(A, 64 * BLOCK_BYTES + 123);
    expect(disks.allocated(A)).to.equal(0);
    await disks.write(A, 3 * BLOCK_BYTES - 10, Buffer.alloc(20, 1));
    await disks.write(A, 64 * BLOCK_BYTES, Buffer.alloc(123, 2));
    expect(disks.map(A).blocks()).to.deep.equal([2, 3, 64]);
    await disks.copy(A, B);
    expect(disks.map(B).blocks()).to.deep.equal([2, 3, 64]);
    expect(fs.readFileSync(disks.path(B)).equals(fs.readFileSync(disks.path(A)))).to.equal(true);
    expect(disks.allocated(B)).to.be.lessThan(8 * BLOCK_BYTES);
  });

  it("skips zeros over never-written blocks but writes them over data", async () => {
    disks.create(A, 4 * BLOCK_BYTES);
    await disks.write(A, 0, Buffer.alloc(3 * BLOCK_BYTES));
    expect(disks.map(A).blocks()).to.deep.equal([]);
    await disks.write(A, BLOCK_BYTES + 10, Buffer.from([7]));
    await disks.write(A, BLOCK_BYTES, Buffer.alloc(BLOCK_BYTES));
    expect(disks.map(A).blocks()).to.deep.equal([1]);
    expect(isZero(fs.readFileSync(disks.path(A)))).to.equal(true);
  });

  it("writes parts as the joined buffer: same file, same map, zeros over unallocated blocks skipped (property)", async () => {
    const size = 6 * BLOCK_BYTES + 100;
    // A buffer of `blocks` pattern: 0 = zeros, 1 = data, for the bytes from `offset` on.
    const data = (offset: number, length: number, kinds: number[]): Buffer => {
      const b = Buffer.alloc(length);
      for (let i = 0; i < length; i++) {
        const block = Math.floor((offset + i) / BLOCK_BYTES);
        if (kinds[block % kinds.length] === 1 && (offset + i) % 4099 === 0) b[i] = ((offset + i) % 251) + 1;
      }
      return b;
    };
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: 4 * BLOCK_BYTES }),
        fc.integer({ min: 1, max: 2 * BLOCK_BYTES + 50 }),
        fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat({ max: 3 * BLOCK_BYTES }), { maxLength: 6 }),
        fc.boolean(),
        async (offset, length, kinds, cuts, preallocate) => {
          disks.create(A, size);
          disks.create(B, size);
          if (preallocate) {
            // A block already written, so that zeros over it must be written too.
            const block = Math.floor(offset / BLOCK_BYTES);
            await disks.write(A, block * BLOCK_BYTES + 1, Buffer.from([5]));
            await disks.write(B, block * BLOCK_BYTES + 1, Buffer.from([5]));
          }
          const whole = data(offset, length, kinds);
          // The same bytes cut at arbitrary points, some parts empty.
          const points = [...new Set(cuts.map((c) => c % (length + 1)))].sort((a, b) => a - b);
          const parts: Buffer[] = [];
          let at = 0;
          for (const p of [...points, length]) {
            parts.push(whole.subarray(at, p));
            at = p;
          }
          await disks.write(A, offset, whole);
          const w = await disks.openWriter(B);
          try {
            await w.writeParts(offset, parts);
          } finally {
            await w.close();
          }
          expect(disks.map(B).blocks()).to.deep.equal(disks.map(A).blocks());
          expect(fs.readFileSync(disks.path(B)).equals(fs.readFileSync(disks.path(A)))).to.equal(true);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("writes parts that straddle block boundaries, skipping all-zero blocks that were never written", async () => {
    disks.create(A, 4 * BLOCK_BYTES);
    const w = await disks.openWriter(A);
    // Block 0: zeros; block 1: one byte in a part straddling blocks 0 and 1; block 2: zeros; block 3: data.
    const straddle = Buffer.alloc(BLOCK_BYTES);
    straddle[BLOCK_BYTES / 2 + 3] = 1;
    const tail = Buffer.alloc(2 * BLOCK_BYTES - 1);
    tail[tail.length - 1] = 2;
    const parts = [
      Buffer.alloc(BLOCK_BYTES / 2),
      straddle,
      Buffer.alloc(0),
      Buffer.alloc(BLOCK_BYTES / 2 + 1),
      tail,
    ];
    try {
      await w.writeParts(0, parts);
    } finally {
      await w.close();
    }
    expect(disks.map(A).blocks()).to.deep.equal([1, 3]);
    const file = fs.readFileSync(disks.path(A));
    expect(file[BLOCK_BYTES + 3]).to.equal(1);
    expect(file[4 * BLOCK_BYTES - 1]).to.equal(2);
    expect(disks.allocated(A)).to.be.at.most(2 * BLOCK_BYTES + 8192);
  });

  it("tells zero parts from others", () => {
    expect(isZeroParts([])).to.equal(true);
    expect(isZeroParts([Buffer.alloc(10), Buffer.alloc(0), Buffer.alloc(BLOCK_BYTES + 1)])).to.equal(true);
    expect(isZeroParts([Buffer.alloc(10), Buffer.from([0, 0, 3])])).to.equal(false);
  });

  it("rebuilds a missing map by scanning for non-zero blocks", () => {
    disks.create(A, 8 * BLOCK_BYTES);
    const fd = fs.openSync(disks.path(A), "r+");
    fs.writeSync(fd, Buffer.from([9]), 0, 1, 5 * BLOCK_BYTES + 7);
    fs.closeSync(fd);
    fs.rmSync(path.join(dir, "vdis", `${A}.map`));
    expect(disks.map(A).blocks()).to.deep.equal([5]);
    disks.resize(A, 10 * BLOCK_BYTES);
    expect(disks.map(A).size).to.equal(10 * BLOCK_BYTES);
    expect(disks.map(A).blocks()).to.deep.equal([5]);
  });

  it("tells zero buffers from others at any length", () => {
    expect(isZero(Buffer.alloc(3 * BLOCK_BYTES + 5))).to.equal(true);
    const b = Buffer.alloc(2 * BLOCK_BYTES + 5);
    b[2 * BLOCK_BYTES + 4] = 1;
    expect(isZero(b)).to.equal(false);
    expect(isZero(b, 2 * BLOCK_BYTES + 4)).to.equal(true);
  });

  it("prunes files of VDIs that no longer exist", () => {
    disks.create(A, 10);
    disks.create(B, 10);
    disks.prune(new Set([A]));
    expect(disks.exists(A)).to.equal(true);
    expect(disks.exists(B)).to.equal(false);
    expect(fs.readdirSync(path.join(dir, "vdis")).sort()).to.deep.equal([`${A}.map`, `${A}.raw`]);
  });
});
