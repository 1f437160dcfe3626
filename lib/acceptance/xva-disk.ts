/**
 * The stored XVA turned into the template's boot disk as a raw sparse file, with the project's XVA reader: every
 * chunk checksum verified, the stream's SHA-256 computed on the way (and compared with the manifest's when
 * given). The file is made read-only afterwards: clones boot from copy-on-write overlays of it.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { type OvaXml, type XvaDiskInfo, objectsOfClass, writeXvaDisksToFiles } from "../xva";
import { messageOf } from "../errors";
import { AcceptanceArtifactError } from "./errors";
import type { AcceptanceProgress, XvaSource } from "./types";

export interface UnpackedDisk {
  /** The boot disk, raw, sparse, mode 0444. */
  readonly path: string;
  /** Its virtual size, bytes. */
  readonly diskBytes: number;
  /** SHA-256 (hex) and length of the XVA stream. */
  readonly sha256: string;
  readonly bytes: number;
}

const MIB = 1024 * 1024;
const PROGRESS_EVERY_BYTES = 512 * MIB;

/** The export id of the VM's boot disk: its bootable Disk VBD with the lowest device number, else any Disk VBD. */
export function bootDiskId(header: OvaXml, disks: readonly XvaDiskInfo[]): string | undefined {
  const streamed = new Set(disks.map((d) => d.id));
  const vbds = objectsOfClass(header, "VBD")
    .map((o) => o.snapshot)
    .filter((v) => v.type !== "CD" && streamed.has(v.VDI))
    .sort(
      (a, b) =>
        Number(b.bootable) - Number(a.bootable) || (Number(a.userdevice) || 0) - (Number(b.userdevice) || 0),
    );
  return vbds[0]?.VDI;
}

/**
 * Reads the XVA and writes its boot disk to `dir/disk.raw`. Other disks of the VM are read (and verified) but not
 * kept: the acceptance boots the system disk.
 */
export async function unpackBootDisk(
  xva: XvaSource,
  dir: string,
  opts: { expectedSha256?: string; onProgress?: (p: AcceptanceProgress) => void } = {},
): Promise<UnpackedDisk> {
  const hash = createHash("sha256");
  let bytes = 0;
  let nextReport = PROGRESS_EVERY_BYTES;
  async function* hashed(): AsyncGenerator<Uint8Array> {
    for await (const chunk of xva) {
      hash.update(chunk);
      bytes += chunk.byteLength;
      if (bytes >= nextReport) {
        opts.onProgress?.({ phase: "unpack", message: `read ${Math.floor(bytes / MIB)} MiB of the XVA` });
        nextReport += PROGRESS_EVERY_BYTES;
      }
      yield chunk;
    }
  }

  const rawPath = path.join(dir, "disk.raw");
  let bootId: string | undefined;
  let diskBytes = 0;
  try {
    await writeXvaDisksToFiles(hashed(), {
      onHeader(header, disks) {
        bootId = bootDiskId(header, disks);
        const boot = disks.find((d) => d.id === bootId);
        if (boot === undefined) {
          throw new AcceptanceArtifactError(
            `the XVA has no disk to boot (${disks.length} streamed disks, no Disk VBD among them); export a template with a system disk`,
          );
        }
        diskBytes = boot.virtualSize;
      },
      pathFor: (disk) =>
        disk.id === bootId ? rawPath : path.join(dir, `other-${disk.id.replace(/\W/g, "_")}.raw`),
    });
  } catch (e) {
    if (e instanceof AcceptanceArtifactError) throw e;
    // The XVA library's verdicts (format, checksum) and read failures of the source keep their cause.
    throw new AcceptanceArtifactError(
      `the XVA could not be read into a disk after ${bytes} bytes: ${messageOf(e)}; export or upload the artifact again`,
      { cause: e },
    );
  } finally {
    for (const f of await fs.readdir(dir))
      if (f.startsWith("other-")) await fs.rm(path.join(dir, f), { force: true });
  }
  const sha256 = hash.digest("hex");
  if (opts.expectedSha256 !== undefined && opts.expectedSha256.toLowerCase() !== sha256) {
    throw new AcceptanceArtifactError(
      `the XVA read back hashes to sha256 ${sha256}, but the manifest records ${opts.expectedSha256.toLowerCase()}: the stored object is not the one that was verified; export again`,
    );
  }
  await fs.chmod(rawPath, 0o444);
  opts.onProgress?.({
    phase: "unpack",
    message: `boot disk ${Math.round(diskBytes / MIB)} MiB from ${Math.round(bytes / MIB)} MiB of XVA, every chunk verified`,
  });
  return { path: rawPath, diskBytes, sha256, bytes };
}
