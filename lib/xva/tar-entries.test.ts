import { expect } from "chai";
import { gzipSync } from "node:zlib";
import { inputFailure, openArchiveInput } from "./archive-input";
import { XvaChecksumError, XvaFormatError } from "./errors";
import { TarEntries, decompressionFailure, tarFailure } from "./tar-entries";
import { craftTar } from "./test-fixtures";

const withCode = (code: string) => Object.assign(new Error(`failure ${code}`), { code });
const checksum = new XvaChecksumError({
  disk: "Ref:1",
  chunk: "Ref:1/00000000",
  offset: 0,
  algorithm: "xxhash",
  expected: "A",
  actual: "B",
});
const truncated = new XvaFormatError("TRUNCATED", "cut");

describe("xva layer failures, told apart by where they come from", () => {
  for (const [what, err] of [
    ["a reset connection", withCode("ECONNRESET")],
    ["an error without a code", new Error("boom")],
    ["a thrown string", "boom"],
  ] as const) {
    it(`the input failing (${what}) is TRUNCATED, with the input's error as the cause`, () => {
      const e = inputFailure(err);
      expect(e).to.be.instanceOf(XvaFormatError).with.property("code", "TRUNCATED");
      if (err instanceof Error) expect(e.cause).to.equal(err);
    });
  }

  for (const [what, err, code] of [
    ["gzip or zstd input that stops mid-frame (Z_BUF_ERROR)", withCode("Z_BUF_ERROR"), "TRUNCATED"],
    ["a pipeline closed before its end", withCode("ERR_STREAM_PREMATURE_CLOSE"), "TRUNCATED"],
    ["a bad gzip frame (Z_DATA_ERROR)", withCode("Z_DATA_ERROR"), "CORRUPT"],
    ["a bad zstd frame", withCode("ZSTD_error_corruption_detected"), "CORRUPT"],
    ["anything else from the decompressor", new Error("odd"), "CORRUPT"],
  ] as const) {
    it(`the decompressor failing with ${what} is ${code}`, () => {
      expect(decompressionFailure(err, "gzip")).to.be.instanceOf(XvaFormatError).with.property("code", code);
    });
  }

  for (const [what, ranOut, code] of [
    ["at its end-of-input check (the data ran out)", true, "TRUNCATED"],
    ["anywhere else (a header it cannot read)", false, "CORRUPT"],
  ] as const) {
    it(`tar-stream failing ${what} is ${code}, with the entry`, () => {
      const e = tarFailure(new Error("whatever tar-stream says"), ranOut, "Ref:1/00000003");
      expect(e).to.be.instanceOf(XvaFormatError).with.property("code", code);
      expect((e as XvaFormatError).entry).to.equal("Ref:1/00000003");
    });
  }

  it("the library's own verdicts pass through every layer unchanged", () => {
    for (const e of [truncated, checksum]) {
      expect(inputFailure(e)).to.equal(e);
      expect(decompressionFailure(e, "zstd")).to.equal(e);
      expect(tarFailure(e, true, undefined)).to.equal(e);
    }
  });
});

describe("xva tar entries: tar-stream's end-of-input check is observed", () => {
  async function firstFailure(bytes: Buffer): Promise<unknown> {
    const tar = new TarEntries(await openArchiveInput([bytes]));
    try {
      while ((await tar.nextFile(1 << 20, "an entry")) !== undefined);
      await tar.finish();
      return undefined;
    } catch (e) {
      return e;
    } finally {
      tar.close();
    }
  }

  it("a tar cut inside an entry's data is TRUNCATED", async () => {
    const archive = await craftTar([{ name: "ova.xml", data: Buffer.alloc(3000, 0x41) }]);
    const err = await firstFailure(archive.subarray(0, 512 + 1000));
    expect(err).to.be.instanceOf(XvaFormatError).with.property("code", "TRUNCATED");
  });

  it("a tar cut inside the second header is TRUNCATED", async () => {
    const archive = await craftTar([
      { name: "a", data: Buffer.alloc(10) },
      { name: "b", data: Buffer.alloc(10) },
    ]);
    const err = await firstFailure(archive.subarray(0, 1024 + 100));
    expect(err).to.be.instanceOf(XvaFormatError).with.property("code", "TRUNCATED");
  });

  it("a whole header with a bad checksum after a good entry is CORRUPT", async () => {
    const archive = await craftTar([
      { name: "a", data: Buffer.alloc(10) },
      { name: "b", data: Buffer.alloc(10) },
    ]);
    archive[1024 + 148] = 0x37; // break the second header's checksum field
    const err = await firstFailure(archive);
    expect(err).to.be.instanceOf(XvaFormatError).with.property("code", "CORRUPT");
  });

  it("gzip cut short is TRUNCATED (zlib's Z_BUF_ERROR through the pipeline)", async () => {
    const gz = gzipSync(await craftTar([{ name: "ova.xml", data: Buffer.alloc(3000, 0x41) }]));
    const err = await firstFailure(gz.subarray(0, gz.length - 6));
    expect(err).to.be.instanceOf(XvaFormatError).with.property("code", "TRUNCATED");
  });
});
