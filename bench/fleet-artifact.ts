/**
 * The fleet bench's artifact: a template XVA written by lib/xva's writer from a sparse-but-non-trivial disk (the
 * same block layout as bench/disk-fixture.ts: `fill` of the 1 MiB blocks random, in runs, the rest holes),
 * streamed into S3 with the verifier (for its SHA-256) and given a manifest, as the Artifact provider stores one.
 */
import { randomBytes } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";
import { partSizeFor, streamToS3 } from "../lib/s3/stream-upload";
import { createXvaVerifier, extentsDiskSource, type DiskExtent } from "../lib/xva";
import type { ReplicaBuild } from "../providers/replica";
import type { ArtifactStore } from "../providers/store";
import { fixtureKeys, putManifest, xvaStream, type XvaFixture } from "../providers/testing/xva-artifact";
import { dataBlockLayout } from "./disk-fixture";

const MIB = 1024 * 1024;

export interface GeneratedArtifact {
  readonly build: ReplicaBuild;
  readonly dataBlocks: number;
  readonly totalBlocks: number;
  readonly seconds: number;
}

export async function publishGeneratedArtifact(
  s3: S3Client,
  store: ArtifactStore,
  o: { templateName: string; buildId: string; virtualSizeBytes: number; fill: number; at: Date },
): Promise<GeneratedArtifact> {
  const t0 = Date.now();
  const totalBlocks = Math.ceil(o.virtualSizeBytes / MIB);
  const layout = dataBlockLayout(totalBlocks, o.fill);
  const dataBlocks = layout.filter(Boolean).length;
  const disk = extentsDiskSource(o.virtualSizeBytes, function* (): Iterable<DiskExtent> {
    for (let b = 0; b < totalBlocks; b++) {
      // Fresh random bytes per block: nothing on the way can compress or deduplicate them.
      if (layout[b])
        yield { offset: b * MIB, data: randomBytes(Math.min(MIB, o.virtualSizeBytes - b * MIB)) };
    }
  });
  const f: XvaFixture = { templateName: o.templateName, buildId: o.buildId, disk };
  const keys = fixtureKeys(store, f, o.at);
  const verifier = createXvaVerifier();
  const upload = await streamToS3(xvaStream(f), [verifier], {
    client: s3,
    bucket: store.bucket,
    key: keys.key,
    partSizeBytes: partSizeFor(o.virtualSizeBytes + 64 * MIB),
    contentType: "application/octet-stream",
  });
  const v = await verifier.verification;
  const build = await putManifest(s3, store, f, keys, v.sha256, upload.bytes);
  return { build, dataBlocks, totalBlocks, seconds: (Date.now() - t0) / 1000 };
}
