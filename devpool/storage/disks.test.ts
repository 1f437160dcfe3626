import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import fc from "fast-check";
import { makeTempDir, removeDir } from "../testing/tmp";
import { AllocationMap, BLOCK_BYTES, DiskStore, isZero } from "./disks";

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
