import { expect } from "chai";
import { checksumText, loadChecksums } from "./checksum";
import { XVA_CHUNK_SIZE_BYTES } from "./constants";
import { XvaFormatError } from "./errors";
import { serializeOvaXml } from "./ova-xml";
import { type XvaEvent, parseXva } from "./reader";
import { craftTar, pieces, toV7, vmExport } from "./test-fixtures";

const MiB = XVA_CHUNK_SIZE_BYTES;

/** ova.xml of one VM with one disk (export id Ref:4) of `size` bytes. */
function ovaXml(size: number): string {
  return serializeOvaXml(vmExport({ disks: [Buffer.alloc(size)] }).ova);
}
const chunk = (name: string, data: Buffer, ext = ".xxhash") => [
  { name, data },
  { name: name + ext, data: checksumText(ext === ".xxhash" ? "xxhash" : "sha1", data) },
];

async function read(archive: Buffer): Promise<XvaEvent[]> {
  const events: XvaEvent[] = [];
  for await (const ev of parseXva(pieces(archive, 1000))) events.push(ev);
  return events;
}
async function failure(archive: Buffer): Promise<XvaFormatError> {
  try {
    await read(archive);
  } catch (err) {
    if (err instanceof XvaFormatError) return err;
    throw err;
  }
  throw new Error("expected the archive to be rejected");
}

describe("xva reader: xapi's import rules on crafted archives", () => {
  before(loadChecksums);
  const one = Buffer.alloc(MiB, 1);
  const two = Buffer.alloc(MiB, 2);
  const tail = Buffer.alloc(100, 3);
  const size = 3 * MiB + 100;

  it("reads xapi's V7 tar headers (no ustar magic)", async () => {
    const archive = toV7(
      await craftTar([
        { name: "ova.xml", data: ovaXml(size) },
        ...chunk("Ref:4/00000000", one),
        ...chunk("Ref:4/00000003", tail),
      ]),
    );
    expect(archive.subarray(257, 262).toString("latin1")).to.not.equal("ustar");
    const chunks = (await read(archive)).filter((e) => e.type === "chunk");
    expect(chunks.map((c) => (c.type === "chunk" ? [c.index, c.offset] : []))).to.deep.equal([
      [0, 0],
      [3, 3 * MiB],
    ]);
  });

  it("accepts .checksum (SHA-1) files, and a zero-length keep-alive that shifts later chunk numbers", async () => {
    // xapi's keep-alive: an empty chunk file consumes a number without advancing, so data at 1 MiB is chunk 2.
    const events = await read(
      await craftTar([
        { name: "ova.xml", data: ovaXml(size) },
        ...chunk("Ref:4/00000000", one, ".checksum"),
        ...chunk("Ref:4/00000001", Buffer.alloc(0)),
        ...chunk("Ref:4/00000002", two),
        ...chunk("Ref:4/00000004", tail, ".checksum"),
      ]),
    );
    const chunks = events.flatMap((e) =>
      e.type === "chunk" ? [[e.name, e.offset, e.checksum.algorithm]] : [],
    );
    expect(chunks).to.deep.equal([
      ["Ref:4/00000000", 0, "sha1"],
      ["Ref:4/00000002", MiB, "xxhash"],
      ["Ref:4/00000004", 3 * MiB, "sha1"],
    ]);
    const end = events.find((e) => e.type === "disk-end");
    expect(end?.type === "disk-end" && end.summary).to.deep.include({ keepAlives: 1, chunks: 3 });
  });

  const cases: [string, () => Promise<Buffer>, string, RegExp][] = [
    [
      "a first entry other than ova.xml",
      () => craftTar([...chunk("Ref:4/00000000", one), { name: "ova.xml", data: ovaXml(MiB) }]),
      "NOT_XVA",
      /first entry is Ref:4\/00000000/,
    ],
    [
      "chunks out of order",
      () =>
        craftTar([
          { name: "ova.xml", data: ovaXml(size) },
          ...chunk("Ref:4/00000002", two),
          ...chunk("Ref:4/00000001", one),
        ]),
      "UNEXPECTED_ENTRY",
      /Ref:4\/00000001 comes after Ref:4\/00000002/,
    ],
    [
      "a chunk of another disk",
      () => craftTar([{ name: "ova.xml", data: ovaXml(size) }, ...chunk("Ref:9/00000000", one)]),
      "UNEXPECTED_ENTRY",
      /expected a chunk of disk Ref:4 at offset 0.*found Ref:9\/00000000/,
    ],
    [
      "a chunk without its checksum file",
      () =>
        craftTar([
          { name: "ova.xml", data: ovaXml(size) },
          { name: "Ref:4/00000000", data: one },
          ...chunk("Ref:4/00000003", tail),
        ]),
      "UNEXPECTED_ENTRY",
      /must be followed by Ref:4\/00000000.xxhash or Ref:4\/00000000.checksum, but Ref:4\/00000003 follows/,
    ],
    [
      "an entry after the last disk",
      () =>
        craftTar([
          { name: "ova.xml", data: ovaXml(MiB) },
          ...chunk("Ref:4/00000000", one),
          { name: "extra", data: "x" },
        ]),
      "UNEXPECTED_ENTRY",
      /entry extra follows the last disk/,
    ],
    [
      "a directory entry",
      () =>
        craftTar([
          { name: "ova.xml", data: ovaXml(MiB) },
          { name: "Ref:4/", type: "directory" },
        ]),
      "UNEXPECTED_ENTRY",
      /Ref:4\/ is a directory/,
    ],
    [
      "a chunk over 1 MiB",
      () =>
        craftTar([
          { name: "ova.xml", data: ovaXml(3 * MiB) },
          ...chunk("Ref:4/00000000", Buffer.alloc(MiB + 1, 1)),
        ]),
      "OVERSIZED",
      /Ref:4\/00000000 is 1048577 bytes/,
    ],
    [
      "a chunk past virtual_size",
      () => craftTar([{ name: "ova.xml", data: ovaXml(100) }, ...chunk("Ref:4/00000000", one)]),
      "OVERSIZED",
      /past the end of disk Ref:4 \(virtual_size 100\)/,
    ],
    [
      "a gap after a short first chunk",
      () =>
        craftTar([
          { name: "ova.xml", data: ovaXml(2 * MiB + 100) },
          ...chunk("Ref:4/00000000", tail),
          ...chunk("Ref:4/00000002", tail),
        ]),
      "UNSUPPORTED_LAYOUT",
      /first chunk file is 100 bytes/,
    ],
    [
      "a stream without the tar end blocks",
      async () => {
        const full = await craftTar([
          { name: "ova.xml", data: ovaXml(MiB) },
          ...chunk("Ref:4/00000000", one),
        ]);
        return full.subarray(0, full.byteLength - 512); // one of the two zero blocks is missing
      },
      "TRUNCATED",
      /without its two end-of-archive blocks/,
    ],
  ];
  for (const [what, make, code, message] of cases) {
    it(`rejects ${what} with ${code}`, async () => {
      const err = await failure(await make());
      expect(err.code, err.message).to.equal(code);
      expect(err.message).to.match(message);
    });
  }
});
