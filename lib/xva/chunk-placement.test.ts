import { expect } from "chai";
import { type DiskCursor, DISK_START, advance, checksumFileAlgorithm, placeChunk } from "./chunk-placement";
import { XVA_CHUNK_SIZE_BYTES } from "./constants";
import { XvaFormatError } from "./errors";

const MiB = XVA_CHUNK_SIZE_BYTES;
const disk = { id: "Ref:4", virtualSize: 4 * MiB + 100 };
const after = (suffix: string, offset: number): DiskCursor => ({
  offset,
  lastSuffix: suffix,
  lastNumber: Number(suffix),
});

describe("xva chunk placement (xapi's stream_vdi.ml rules)", () => {
  for (const [what, cursor, first, name, size, offset, number] of [
    ["the first chunk of the stream starts the disk", DISK_START, -1, "Ref:4/00000000", MiB, 0, 0],
    ["the next number follows at once", after("00000000", MiB), MiB, "Ref:4/00000001", MiB, MiB, 1],
    [
      "a gap of k numbers is k × the first chunk file's length of zeros",
      after("00000000", MiB),
      MiB,
      "Ref:4/00000004",
      100,
      4 * MiB,
      4,
    ],
    [
      "a first chunk of a later disk skips by the stream's first chunk file",
      DISK_START,
      MiB,
      "Ref:4/00000002",
      MiB,
      2 * MiB,
      2,
    ],
    [
      "a zero-length keep-alive lands where the disk stands",
      after("00000001", 2 * MiB),
      MiB,
      "Ref:4/00000002",
      0,
      2 * MiB,
      2,
    ],
    [
      "after a keep-alive, the next number follows without a gap",
      after("00000002", 2 * MiB),
      MiB,
      "Ref:4/00000003",
      MiB,
      2 * MiB,
      3,
    ],
    ["unpadded numbers are read as xapi reads them", DISK_START, -1, "Ref:4/0", MiB, 0, 0],
  ] as const) {
    it(`${what}: ${name} at ${offset}`, () => {
      const p = placeChunk(disk, cursor, first, name, size);
      expect([p.offset, p.number]).to.deep.equal([offset, number]);
      expect(p.firstChunkLength).to.equal(first < 0 ? size : first);
      expect(advance(p, size)).to.deep.equal({
        offset: offset + size,
        lastSuffix: p.suffix,
        lastNumber: number,
      });
    });
  }

  for (const [what, cursor, first, name, size, code, message] of [
    [
      "another disk's chunk",
      DISK_START,
      -1,
      "Ref:5/00000000",
      MiB,
      "UNEXPECTED_ENTRY",
      /expected a chunk of disk Ref:4 at offset 0/,
    ],
    [
      "a name that is not a number",
      DISK_START,
      -1,
      "Ref:4/00000000.xxhash",
      MiB,
      "UNEXPECTED_ENTRY",
      /named Ref:4\/NNNNNNNN/,
    ],
    [
      "the same number twice",
      after("00000001", 2 * MiB),
      MiB,
      "Ref:4/00000001",
      MiB,
      "UNEXPECTED_ENTRY",
      /must increase/,
    ],
    [
      "a larger number that is smaller as a string (xapi compares strings)",
      after("9", MiB),
      MiB,
      "Ref:4/10",
      MiB,
      "UNEXPECTED_ENTRY",
      /must increase/,
    ],
    [
      "a gap after a short first chunk file",
      after("00000000", 100),
      100,
      "Ref:4/00000002",
      100,
      "UNSUPPORTED_LAYOUT",
      /gap of 1 chunk\(s\).*first chunk file is 100 bytes/,
    ],
    [
      "a chunk past virtual_size",
      after("00000003", 4 * MiB),
      MiB,
      "Ref:4/00000004",
      MiB,
      "OVERSIZED",
      /past the end of disk Ref:4/,
    ],
    [
      "a gap that jumps past virtual_size",
      after("00000000", MiB),
      MiB,
      "Ref:4/00000009",
      1,
      "OVERSIZED",
      /covers bytes 9437184\.\./,
    ],
  ] as const) {
    it(`refuses ${what} (${code})`, () => {
      expect(() => placeChunk(disk, cursor, first, name, size))
        .to.throw(XvaFormatError, message)
        .with.property("code", code);
    });
  }

  for (const [file, algorithm] of [
    ["Ref:4/00000007.xxhash", "xxhash"],
    ["Ref:4/00000007.checksum", "sha1"],
    ["Ref:4/00000008.xxhash", undefined],
    ["Ref:4/00000007.sha1", undefined],
    ["Ref:4/00000007", undefined],
  ] as const) {
    it(`after chunk Ref:4/00000007, ${file} is ${algorithm ?? "not its checksum file"}`, () => {
      expect(checksumFileAlgorithm("Ref:4/00000007", file)).to.equal(algorithm);
    });
  }
});
