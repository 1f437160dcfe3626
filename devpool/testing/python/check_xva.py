"""Independent check of an XVA exported by devpool, with Python's standard library only.

Reads the archive (plain or gzip) with tarfile, checks the layout xapi's importer expects (ova.xml first, each
chunk Ref:<id>/%08d immediately followed by its .xxhash or .checksum file), verifies every chunk's checksum with
its own implementations (hashlib SHA-1; XXH64 written here from the specification), rebuilds each disk the way
xapi's importer does (cumulative positions, gaps sized by the first chunk file) and prints a JSON summary with the
SHA-256 of each rebuilt disk.

Usage: python3 check_xva.py <archive>
"""
import gzip
import hashlib
import json
import re
import sys
import tarfile
import xml.etree.ElementTree as ET

M64 = (1 << 64) - 1
P1, P2, P3, P4, P5 = (
    11400714785074694791,
    14029467366897019727,
    1609587929392839161,
    9650029242287828579,
    2870177450012600261,
)


def rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M64


def xxh64(data, seed=0):
    """XXH64 per the xxHash specification (xxhash_spec.md), seed 0 as xapi uses."""
    n = len(data)
    i = 0
    if n >= 32:
        v1 = (seed + P1 + P2) & M64
        v2 = (seed + P2) & M64
        v3 = seed & M64
        v4 = (seed - P1) & M64
        limit = (n // 32) * 4
        lanes = memoryview(data)[: limit * 8].cast("Q")  # little-endian hosts, as every x86-64 machine is
        for k in range(0, limit, 4):
            v1 = (rotl((v1 + lanes[k] * P2) & M64, 31) * P1) & M64
            v2 = (rotl((v2 + lanes[k + 1] * P2) & M64, 31) * P1) & M64
            v3 = (rotl((v3 + lanes[k + 2] * P2) & M64, 31) * P1) & M64
            v4 = (rotl((v4 + lanes[k + 3] * P2) & M64, 31) * P1) & M64
        i = limit * 8
        h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) & M64
        for v in (v1, v2, v3, v4):
            h = ((h ^ ((rotl((v * P2) & M64, 31) * P1) & M64)) * P1 + P4) & M64
    else:
        h = (seed + P5) & M64
    h = (h + n) & M64
    while i + 8 <= n:
        k1 = (rotl((int.from_bytes(data[i:i + 8], "little") * P2) & M64, 31) * P1) & M64
        h = (rotl(h ^ k1, 27) * P1 + P4) & M64
        i += 8
    if i + 4 <= n:
        h = (rotl(h ^ ((int.from_bytes(data[i:i + 4], "little") * P1) & M64), 23) * P2 + P3) & M64
        i += 4
    while i < n:
        h = (rotl(h ^ ((data[i] * P5) & M64), 11) * P1) & M64
        i += 1
    h ^= h >> 33
    h = (h * P2) & M64
    h ^= h >> 29
    h = (h * P3) & M64
    h ^= h >> 32
    return h


def value_of(v):
    """Decodes an XML-RPC <value> element (untyped text is a string)."""
    children = list(v)
    if not children:
        return v.text or ""
    c = children[0]
    if c.tag == "struct":
        return {m.find("name").text: value_of(m.find("value")) for m in c.findall("member")}
    if c.tag == "array":
        return [value_of(x) for x in c.find("data").findall("value")]
    if c.tag == "boolean":
        return c.text == "1"
    if c.tag == "double":
        return float(c.text)
    return c.text or ""


def main(path):
    with open(path, "rb") as f:
        magic = f.read(2)
    opener = gzip.open if magic == b"\x1f\x8b" else open
    with opener(path, "rb") as raw:
        tar = tarfile.open(fileobj=raw, mode="r|")
        members = iter(tar)
        first = next(members)
        if first.name != "ova.xml":
            raise SystemExit("first entry is %s, not ova.xml" % first.name)
        header = value_of(ET.fromstring(tar.extractfile(first).read()))
        vdis = {o["id"]: o["snapshot"] for o in header["objects"] if o["class"] == "VDI"}
        disks = {}
        first_chunk_length = None
        pending = None
        checked = {"xxhash": 0, "checksum": 0}
        for m in members:
            name = m.name
            data = tar.extractfile(m).read()
            mm = re.fullmatch(r"(Ref:[^/]+)/(\d{8})(\.xxhash|\.checksum)?", name)
            if mm is None:
                raise SystemExit("unexpected entry %s" % name)
            disk_id, number, ext = mm.group(1), int(mm.group(2)), mm.group(3)
            if ext is None:
                if pending is not None:
                    raise SystemExit("chunk %s is not followed by its checksum file" % pending[0])
                pending = (name, disk_id, number, data)
                continue
            if pending is None or pending[0] + ext != name:
                raise SystemExit("checksum file %s does not follow its chunk" % name)
            _, disk_id, number, chunk = pending
            pending = None
            text = data.decode()
            actual = "%016X" % xxh64(chunk) if ext == ".xxhash" else hashlib.sha1(chunk).hexdigest()
            if actual != text:
                raise SystemExit("checksum mismatch in %s: file says %s, data hashes to %s" % (name, text, actual))
            checked[ext[1:]] += 1
            if first_chunk_length is None:
                first_chunk_length = len(chunk)
            d = disks.setdefault(disk_id, {"last": -1, "pos": 0, "pieces": []})
            d["pos"] += (number - d["last"] - 1) * first_chunk_length
            d["pieces"].append((d["pos"], chunk))
            d["pos"] += len(chunk)
            d["last"] = number
        out = {"version": header["version"], "objects": [[o["class"], o["id"]] for o in header["objects"]],
               "vm_names": [o["snapshot"]["name_label"] for o in header["objects"] if o["class"] == "VM"],
               "checked": checked, "disks": {}}
        for disk_id, d in disks.items():
            size = int(vdis[disk_id]["virtual_size"])
            if d["pos"] != size:
                raise SystemExit("disk %s rebuilds to %d bytes, virtual_size is %d" % (disk_id, d["pos"], size))
            sha = hashlib.sha256()
            pos = 0
            zero = bytes(1 << 20)
            for at, chunk in d["pieces"]:
                while pos < at:
                    n = min(len(zero), at - pos)
                    sha.update(zero[:n])
                    pos += n
                sha.update(chunk)
                pos += len(chunk)
            out["disks"][disk_id] = {"virtual_size": size, "chunks": len(d["pieces"]), "sha256": sha.hexdigest(),
                                     "name_label": vdis[disk_id]["name_label"]}
        print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
