/**
 * Shared fixtures for the XVA tests: small VM graphs, sparse disk images, and stream helpers.
 * Not part of the public API.
 */
import { Readable } from "node:stream";
import { type DiskSource, bufferDiskSource } from "./disk-source";
import { type XvaExport, buildXvaExport, mapRecordLookup } from "./export-graph";
import type { XvaRecord } from "./schema";

/** A disk of `size` bytes with the given byte runs set (everything else zero). */
export function sparseDisk(size: number, runs: readonly { offset: number; bytes: Uint8Array }[]): Buffer {
  const disk = Buffer.alloc(size);
  for (const r of runs) disk.set(r.bytes.subarray(0, Math.max(0, size - r.offset)), r.offset);
  return disk;
}

/** Options of {@link vmExport}. */
export interface VmExportFixture {
  disks: readonly (Buffer | DiskSource)[];
  vm?: Partial<XvaRecord<"VM">>;
  /** Extra CD drive with an ISO (appears in ova.xml, streams no data). */
  withCdrom?: boolean;
  vifs?: number;
  guestOs?: string;
}

/** Builds the export of one VM with the given disks (VDI refs `OpaqueRef:vdi<i>`), VIFs and optional CD drive. */
export function vmExport(f: VmExportFixture): XvaExport {
  const vbds: Record<string, Partial<XvaRecord<"VBD">>> = {};
  const vdis: Record<string, Partial<XvaRecord<"VDI">>> = {};
  const vifs: Record<string, Partial<XvaRecord<"VIF">>> = {};
  const sources = new Map<string, DiskSource>();
  f.disks.forEach((d, i) => {
    const source = Buffer.isBuffer(d) ? bufferDiskSource(d) : d;
    sources.set(`OpaqueRef:vdi${i}`, source);
    vbds[`OpaqueRef:vbd${i}`] = {
      VM: "OpaqueRef:vm",
      VDI: `OpaqueRef:vdi${i}`,
      userdevice: String(i),
      bootable: i === 0,
    };
    vdis[`OpaqueRef:vdi${i}`] = {
      name_label: `disk ${i}`,
      SR: "OpaqueRef:sr",
      virtual_size: source.virtualSize,
      VBDs: [`OpaqueRef:vbd${i}`],
    };
  });
  if (f.withCdrom === true) {
    vbds["OpaqueRef:cd"] = {
      VM: "OpaqueRef:vm",
      VDI: "OpaqueRef:iso",
      type: "CD",
      mode: "RO",
      userdevice: "3",
    };
    vdis["OpaqueRef:iso"] = {
      name_label: "debian.iso",
      SR: "OpaqueRef:isosr",
      virtual_size: 700 * 1024 * 1024,
    };
  }
  for (let i = 0; i < (f.vifs ?? 1); i++) {
    vifs[`OpaqueRef:vif${i}`] = {
      VM: "OpaqueRef:vm",
      network: "OpaqueRef:net",
      device: String(i),
      MAC: `aa:00:00:00:00:0${i}`,
    };
  }
  return buildXvaExport({
    vm: "OpaqueRef:vm",
    records: mapRecordLookup({
      VM: {
        "OpaqueRef:vm": {
          name_label: "fixture",
          is_a_template: true,
          VBDs: Object.keys(vbds),
          VIFs: Object.keys(vifs),
          guest_metrics: f.guestOs === undefined ? "OpaqueRef:NULL" : "OpaqueRef:gm",
          ...f.vm,
        },
      },
      VBD: vbds,
      VDI: vdis,
      VIF: vifs,
      network: {
        "OpaqueRef:net": { name_label: "Pool-wide network associated with eth0", VIFs: Object.keys(vifs) },
      },
      SR: {
        "OpaqueRef:sr": { name_label: "Local storage", VDIs: Object.keys(vdis) },
        "OpaqueRef:isosr": { name_label: "ISOs", type: "iso", content_type: "iso" },
      },
      VM_guest_metrics:
        f.guestOs === undefined
          ? {}
          : { "OpaqueRef:gm": { os_version: { name: f.guestOs, distro: "debian" } } },
    }),
    diskSource: (ref) => sources.get(ref) as DiskSource,
  });
}

/** Reads a whole stream into one buffer. */
export async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of stream) parts.push(Buffer.from(p));
  return Buffer.concat(parts);
}

/** A byte stream of `data` in pieces of `pieceBytes` (exercises every split point of the parsers). */
export function pieces(data: Buffer, pieceBytes: number): Readable {
  const out: Buffer[] = [];
  for (let i = 0; i < data.byteLength; i += pieceBytes) out.push(data.subarray(i, i + pieceBytes));
  return Readable.from(out, { objectMode: false });
}

/** An archive made entry by entry (for malformed-input tests). Uses ustar headers, as tar-stream writes them. */
export async function craftTar(
  entries: readonly { name: string; data?: Uint8Array | string; type?: "directory" }[],
): Promise<Buffer> {
  const tar = await import("tar-stream");
  const pack = tar.pack();
  const done = collect(pack as unknown as AsyncIterable<Uint8Array>);
  for (const e of entries) {
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (e.type === "directory") pack.entry({ name: e.name, type: "directory" }, cb);
      else
        pack.entry(
          { name: e.name, mode: 0o400 },
          typeof e.data === "string" ? e.data : Buffer.from(e.data ?? []),
          cb,
        );
    });
  }
  pack.finalize();
  return done;
}

/**
 * Rewrites every header of a ustar archive into the V7 form xapi writes (ocaml-tar's default level: no `ustar`
 * magic, version, user or group names), recomputing the header checksum.
 */
export function toV7(archive: Buffer): Buffer {
  const out = Buffer.from(archive);
  let pos = 0;
  while (pos + 512 <= out.byteLength) {
    const h = out.subarray(pos, pos + 512);
    if (h.every((b) => b === 0)) break;
    const size = parseInt(h.subarray(124, 136).toString("latin1").replace(/\0.*$/, "").trim() || "0", 8);
    h.fill(0, 257, 512); // magic, version, uname, gname, devmajor/minor, prefix
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "latin1");
    pos += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}
