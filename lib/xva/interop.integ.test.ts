/**
 * Independent checks with tools that share no code with this library: GNU tar unpacks the archive, Python's
 * hashlib checks the `.checksum` files, a from-the-spec Python XXH64 checks the `.xxhash` files, and a Python
 * rebuild of each disk (xapi's importer rules, reading `virtual_size` from ova.xml with ElementTree) must give back
 * the original bytes.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { XVA_CHUNK_SIZE_BYTES } from "./constants";
import { sparseDisk, vmExport } from "./test-fixtures";
import { createXvaWriter } from "./writer";

const run = promisify(execFile);
const MiB = XVA_CHUNK_SIZE_BYTES;

const CHECKER = String.raw`
import hashlib, json, os, re, struct, sys
import xml.etree.ElementTree as ET

M = (1 << 64) - 1
P1, P2, P3, P4, P5 = 0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5
def rotl(x, r): return ((x << r) | (x >> (64 - r))) & M
def rnd(acc, lane): return (rotl((acc + lane * P2) & M, 31) * P1) & M
def merge(acc, v): return (((acc ^ rnd(0, v)) * P1) + P4) & M
def xxh64(data, seed=0):
    n, i = len(data), 0
    if n >= 32:
        v = [(seed + P1 + P2) & M, (seed + P2) & M, seed, (seed - P1) & M]
        stripes = n - n % 32
        for a, b, c, d in struct.iter_unpack("<4Q", data[:stripes]):
            v = [rnd(v[0], a), rnd(v[1], b), rnd(v[2], c), rnd(v[3], d)]
        i = stripes
        acc = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18)) & M
        for x in v: acc = merge(acc, x)
    else:
        acc = (seed + P5) & M
    acc = (acc + n) & M
    while i + 8 <= n:
        acc = ((rotl(acc ^ rnd(0, struct.unpack_from("<Q", data, i)[0]), 27) * P1) + P4) & M; i += 8
    if i + 4 <= n:
        acc = ((rotl(acc ^ ((struct.unpack_from("<I", data, i)[0] * P1) & M), 23) * P2) + P3) & M; i += 4
    while i < n:
        acc = (rotl(acc ^ ((data[i] * P5) & M), 11) * P1) & M; i += 1
    acc ^= acc >> 33; acc = (acc * P2) & M; acc ^= acc >> 29; acc = (acc * P3) & M; acc ^= acc >> 32
    return acc
assert "%016X" % xxh64(b"") == "EF46DB3751D8E999"

def value(v):
    kids = list(v)
    if not kids: return v.text or ""
    k = kids[0]
    if k.tag == "struct": return {m.find("name").text or "": value(m.find("value")) for m in k}
    if k.tag == "array": return [value(x) for x in k.find("data")]
    return k.text or ""

root, out = sys.argv[1], sys.argv[2]
names = [l.rstrip("\n") for l in open(os.path.join(root, "listing"))]
assert names[0] == "ova.xml", names[0]
header = value(ET.parse(os.path.join(root, "ova.xml")).getroot())
sizes = {o["id"]: int(o["snapshot"]["virtual_size"]) for o in header["objects"] if o["class"] == "VDI"}
checked = {"sha1": 0, "xxhash": 0}
files = iter(names[1:])
first_len = -1
disks = {}
for chunk in files:
    prefix, suffix = chunk.split("/")
    data = open(os.path.join(root, chunk), "rb").read()
    sumfile = next(files)
    text = open(os.path.join(root, sumfile)).read()
    if sumfile == chunk + ".checksum":
        assert text == hashlib.sha1(data).hexdigest(), chunk; checked["sha1"] += 1
    elif sumfile == chunk + ".xxhash":
        assert text == "%016X" % xxh64(data), chunk; checked["xxhash"] += 1
    else:
        raise SystemExit("no checksum file after " + chunk)
    if first_len < 0: first_len = len(data)
    d = disks.setdefault(prefix, {"offset": 0, "last": -1, "path": os.path.join(out, prefix.replace(":", "_"))})
    d["offset"] += (int(suffix) - d["last"] - 1) * first_len
    with open(d["path"], "r+b" if os.path.exists(d["path"]) else "wb") as f:
        f.truncate(sizes[prefix]); f.seek(d["offset"]); f.write(data)
    d["offset"] += len(data); d["last"] = int(suffix)
for prefix, d in disks.items():
    assert d["offset"] == sizes[prefix], (prefix, d["offset"], sizes[prefix])
print(json.dumps({"checked": checked, "disks": {k: v["path"] for k, v in disks.items()}, "order": list(disks)}))
`;

describe("xva interop with GNU tar and Python (integration)", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "xva-interop-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const checksum of ["sha1", "xxhash"] as const) {
    it(`unpacks with tar, verifies every .${checksum === "sha1" ? "checksum" : "xxhash"} file in Python and rebuilds the disks byte for byte`, async function () {
      this.timeout(300_000);
      const disks = [
        sparseDisk(5 * MiB + 777, [
          { offset: 3, bytes: Buffer.from("bootloader") },
          { offset: 2 * MiB - 100, bytes: Buffer.alloc(300, 0xee) },
          { offset: 5 * MiB + 700, bytes: Buffer.from("tail") },
        ]),
        sparseDisk(2 * MiB, [{ offset: MiB + 1, bytes: Buffer.from([1, 2, 3]) }]),
      ];
      const exp = vmExport({ disks });
      const xva = join(dir, "vm.xva");
      await pipeline(createXvaWriter({ ova: exp.ova, disks: exp.disks, checksum }), createWriteStream(xva));

      const unpacked = join(dir, "unpacked");
      const rebuilt = join(dir, "rebuilt");
      await mkdir(unpacked);
      await mkdir(rebuilt);
      const { stdout: listing } = await run("tar", ["-tf", xva]);
      await writeFile(join(unpacked, "listing"), listing);
      await run("tar", ["-xf", xva, "-C", unpacked]);
      await writeFile(join(dir, "check.py"), CHECKER);
      const { stdout } = await run("python3", [join(dir, "check.py"), unpacked, rebuilt], {
        maxBuffer: 1 << 20,
      });
      const report = JSON.parse(stdout) as {
        checked: Record<string, number>;
        disks: Record<string, string>;
        order: string[];
      };

      // disk 0: chunks 0, 1 and 2 (a run crosses the 2 MiB boundary), 5; disk 1: chunks 0, 1
      expect(report.checked[checksum]).to.equal(6);
      expect(report.order).to.deep.equal(["Ref:4", "Ref:7"]);
      for (const [i, id] of ["Ref:4", "Ref:7"].entries()) {
        const path = report.disks[id] as string;
        expect((await readFile(path)).equals(disks[i] as Buffer), `disk ${id}`).to.equal(true);
      }
    });
  }
});
