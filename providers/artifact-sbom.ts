import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { SBOM_MEDIA_TYPE } from "../lib/sbom/cyclonedx";
import { diffSboms, sbomChangeRecord, type SbomChangeRecord, type SbomDiff } from "../lib/sbom/diff";
import { isNotFound } from "../lib/s3/errors";
import type { BuildSbom } from "./build-sbom";
import type { CatalogueDocument, SbomReference } from "./catalogue-document";
import { s3Failure } from "./dynamic/s3-failure";
import { ArtifactSbomError } from "./errors";
import { indexKey, siblingKey } from "./layout";
import type { ArtifactStore } from "./store";

/**
 * The Artifact provider's SBOM work: store the build's SBOM beside the XVA, and say what changed since the
 * template's `stable` build.
 *
 * How the SBOM travels: the build writes it on the machine that ran Packer (providers/build-files.ts) and the
 * PackerBuild records its path, digest and package count; the export, in the same `up` on the same machine,
 * reads that file and checks its digest. An export of the same build later or elsewhere (`refresh` found the XVA
 * gone, another runner) finds no file and copies the SBOM an earlier export of that build stored instead, checked
 * against the same digest. With neither, the export fails and says how to rebuild.
 */

/** An earlier export of a template (the current one, or one retained) whose SBOM may be copied. */
export interface EarlierExport {
  readonly buildId: string;
  readonly key: string;
  readonly sbom?: SbomReference;
}

/** The SBOM stored beside the XVA at `xvaKey`: its reference (for the manifest and the index) and its text. */
export async function storeBuildSbom(
  s3: S3Client,
  store: ArtifactStore,
  at: { readonly xvaKey: string; readonly buildId: string; readonly template: string },
  build: BuildSbom,
  earlier: readonly EarlierExport[],
  metadata: Record<string, string>,
): Promise<{ readonly ref: SbomReference; readonly json: string; readonly from: string }> {
  const found = readLocal(build) ?? (await copyOfEarlier(s3, store, at.buildId, build, earlier));
  if (found === undefined) {
    throw new ArtifactSbomError(
      `artifact: the SBOM of ${at.template} build ${at.buildId} (sha256 ${build.sha256}) is neither at ` +
        `${build.file} (written on the machine that ran the build) nor beside an earlier export of this build ` +
        `in s3://${store.bucket}. Run 'pulumi up' on the machine that built it, or rebuild: ` +
        `pulumi up --replace <the ${at.template}-build resource's URN>.`,
    );
  }
  const key = siblingKey(at.xvaKey, "sbom");
  await s3
    .send(
      new PutObjectCommand({
        Bucket: store.bucket,
        Key: key,
        Body: found.json,
        ContentType: SBOM_MEDIA_TYPE,
        Metadata: metadata,
      }),
    )
    .catch((e: unknown) => {
      throw s3Failure(e, `artifact: writing s3://${store.bucket}/${key}`);
    });
  return { ref: { key, sha256: build.sha256, packages: build.packages }, json: found.json, from: found.from };
}

const sha256Of = (text: string): string => createHash("sha256").update(text, "utf8").digest("hex");

/** The build's own file, when it is on this machine with the digest the build recorded. */
function readLocal(build: BuildSbom): { json: string; from: string } | undefined {
  let json: string;
  try {
    json = fs.readFileSync(build.file, "utf8");
  } catch {
    return undefined;
  }
  return sha256Of(json) === build.sha256 ? { json, from: build.file } : undefined;
}

/** The copy an earlier export of the same build stored, when it is still there with the same digest. */
async function copyOfEarlier(
  s3: S3Client,
  store: ArtifactStore,
  buildId: string,
  build: BuildSbom,
  earlier: readonly EarlierExport[],
): Promise<{ json: string; from: string } | undefined> {
  for (const e of earlier) {
    if (e.buildId !== buildId || e.sbom?.sha256 !== build.sha256) continue;
    const json = await getText(s3, store, e.sbom.key);
    if (json !== undefined && sha256Of(json) === build.sha256)
      return { json, from: `s3://${store.bucket}/${e.sbom.key}` };
  }
  return undefined;
}

/** An object's text, or undefined when it is not there. */
async function getText(s3: S3Client, store: ArtifactStore, key: string): Promise<string | undefined> {
  try {
    const got = await s3.send(new GetObjectCommand({ Bucket: store.bucket, Key: key }));
    return await got.Body!.transformToString("utf8");
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw s3Failure(e, `artifact: reading s3://${store.bucket}/${key}`);
  }
}

/** The build a new one is compared with, and what changed since. */
export interface SbomChanges {
  readonly diff: SbomDiff;
  readonly record: SbomChangeRecord;
}

/**
 * What changed in `sbomJson` since the template's `stable` build in the published index (or, where nothing is
 * stable yet, its `candidate`: the newest published build), or why there is nothing to compare with.
 */
export async function changesSincePublished(
  s3: S3Client,
  store: ArtifactStore,
  template: string,
  buildId: string,
  sbomJson: string,
): Promise<SbomChanges | { readonly none: string }> {
  const text = await getText(s3, store, indexKey(store.prefix));
  if (text === undefined) return { none: "no published catalogue yet" };
  const doc = JSON.parse(text) as Partial<CatalogueDocument>;
  const channels = doc.channels?.[template] ?? {};
  const channel = channels.stable ? "stable" : channels.candidate ? "candidate" : undefined;
  const pointer = channel === undefined ? undefined : channels[channel];
  if (channel === undefined || pointer === undefined)
    return { none: `${template} has no published build yet` };
  if (pointer.buildId === buildId) return { none: `build ${buildId} is already the ${channel} one` };
  const entry = doc.artifacts?.find((a) => a.key === pointer.key);
  const key = entry?.sbom?.key ?? siblingKey(pointer.key, "sbom");
  const base = await getText(s3, store, key);
  if (base === undefined) return { none: `the ${channel} build ${pointer.buildId} has no SBOM in the store` };
  const diff = diffSboms(base, sbomJson);
  return { diff, record: sbomChangeRecord(diff, { buildId: pointer.buildId, channel }) };
}
