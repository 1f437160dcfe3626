/**
 * Test artifacts for the Replica: a template's XVA made with lib/xva's writer (one small disk with known data, the
 * build-id tag and Debian 12 guest metrics, as a Packer build leaves them), stored in S3 with its manifest under
 * the layout's key, as the Artifact provider stores them. Returns the channel pointer the program would pass.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Readable } from "node:stream";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import {
  type DiskSource,
  type XvaCompression,
  bufferDiskSource,
  buildXvaExport,
  createXvaWriter,
  mapRecordLookup,
} from "../../lib/xva";
import type { ArtifactManifest } from "../artifact";
import { artifactContentType } from "../artifact-compression";
import { artifactKeys, type ArtifactKeys } from "../layout";
import type { ReplicaBuild } from "../replica-import";
import type { ArtifactStore } from "../store";

export interface XvaFixture {
  readonly templateName: string;
  readonly buildId: string;
  /** @default "none" */
  readonly compression?: XvaCompression;
  /** The disk: a buffer (small disks), or any source (the bench's large sparse ones). */
  readonly disk: Buffer | DiskSource;
  /** @default { distro: "debian", major: "12" } */
  readonly osVersion?: Readonly<Record<string, string>>;
}

/**
 * A disk of `bytes` with random data at its start (`headBytes`, incompressible: a compressed XVA stays that big), in
 * its middle and at its end, the rest zeros.
 */
export function smallDisk(bytes: number, headBytes = 4096): Buffer {
  const d = Buffer.alloc(bytes);
  randomBytes(headBytes).copy(d, 0);
  randomBytes(3000).copy(d, Math.floor(bytes / 2) - 1000);
  randomBytes(512).copy(d, bytes - 512);
  return d;
}

const DEBIAN_12 = { distro: "debian", major: "12", minor: "5", name: "Debian GNU/Linux 12 (bookworm)" };

/** The XVA of the fixture's template, as a stream. */
export function xvaStream(f: XvaFixture): Readable {
  const source = Buffer.isBuffer(f.disk) ? bufferDiskSource(f.disk) : f.disk;
  const exp = buildXvaExport({
    vm: "OpaqueRef:vm",
    records: mapRecordLookup({
      VM: {
        "OpaqueRef:vm": {
          name_label: `${f.templateName} ${f.buildId}`,
          is_a_template: true,
          tags: [`build-id:${f.buildId}`],
          VBDs: ["OpaqueRef:vbd"],
          VIFs: [],
          guest_metrics: "OpaqueRef:gm",
        },
      },
      VBD: { "OpaqueRef:vbd": { VM: "OpaqueRef:vm", VDI: "OpaqueRef:vdi", userdevice: "0", bootable: true } },
      VDI: {
        "OpaqueRef:vdi": {
          name_label: `${f.templateName} disk`,
          SR: "OpaqueRef:sr",
          virtual_size: source.virtualSize,
          VBDs: ["OpaqueRef:vbd"],
        },
      },
      SR: { "OpaqueRef:sr": { name_label: "Local storage", VDIs: ["OpaqueRef:vdi"] } },
      VM_guest_metrics: { "OpaqueRef:gm": { os_version: { ...(f.osVersion ?? DEBIAN_12) } } },
    }),
    diskSource: () => source,
  });
  return createXvaWriter({ ova: exp.ova, disks: exp.disks, compression: f.compression ?? "none" });
}

/** The whole XVA in memory (small fixtures only). */
export async function xvaBytes(f: XvaFixture): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of xvaStream(f) as AsyncIterable<Buffer>) parts.push(p);
  return Buffer.concat(parts);
}

/** The keys of the fixture's artifact exported at `at`, as the layout places them. */
export function fixtureKeys(store: ArtifactStore, f: XvaFixture, at: Date): ArtifactKeys {
  return artifactKeys(store.prefix, "debian", "12", f.templateName, at);
}

/**
 * Writes the manifest the Artifact provider would write beside the XVA (`sha256` and `sizeBytes` as claimed), and
 * returns the channel pointer the program would pass.
 */
export async function putManifest(
  s3: S3Client,
  store: ArtifactStore,
  f: XvaFixture,
  keys: ArtifactKeys,
  sha256: string,
  sizeBytes: number,
): Promise<ReplicaBuild> {
  const compression = f.compression ?? "none";
  const manifest: ArtifactManifest = {
    schema: "xcpng-templates/manifest@1",
    template: f.templateName,
    os: "debian",
    version: "12",
    timestamp: keys.timestamp,
    key: keys.key,
    sha256,
    sizeBytes,
    osDetected: { xva: "debian 12", pool: "debian 12" },
    build: {
      buildId: f.buildId,
      sourceHash: "0".repeat(64),
      toolVersions: "packer 1.9.4",
      packerVersion: "1.9.4",
      buildDurationSeconds: 1,
      poolOs: "debian 12",
    },
    chunksVerified: 0,
    templateUuid: "00000000-0000-0000-0000-000000000000",
    compression,
    contentType: artifactContentType(compression),
    // The tar's size is what the Artifact provider's verifier counts; replicas do not read it.
    tarBytes: sizeBytes,
  };
  await s3.send(
    new PutObjectCommand({
      Bucket: store.bucket,
      Key: keys.manifestKey,
      Body: JSON.stringify(manifest, null, 2),
      ContentType: "application/json",
    }),
  );
  return {
    buildId: f.buildId,
    key: keys.key,
    manifestKey: keys.manifestKey,
    sha256,
    sizeBytes,
    ...(compression !== "none" ? { compression } : {}),
  };
}

/**
 * Stores `bytes` (the fixture's XVA, or a deliberately altered copy) and a manifest under the layout's keys.
 * `claimed.sha256` and `claimed.sizeBytes` default to the stored bytes' own.
 */
export async function publishArtifact(
  s3: S3Client,
  store: ArtifactStore,
  f: XvaFixture,
  bytes: Buffer,
  at: Date,
  claimed: { readonly sha256?: string; readonly sizeBytes?: number } = {},
): Promise<ReplicaBuild> {
  const keys = fixtureKeys(store, f, at);
  await s3.send(
    new PutObjectCommand({
      Bucket: store.bucket,
      Key: keys.key,
      Body: bytes,
      ContentType: artifactContentType(f.compression ?? "none"),
    }),
  );
  const sha256 = claimed.sha256 ?? createHash("sha256").update(bytes).digest("hex");
  return putManifest(s3, store, f, keys, sha256, claimed.sizeBytes ?? bytes.length);
}
