import {
  AbortMultipartUploadCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type S3Client,
} from "@aws-sdk/client-s3";
import { deleteAllVersions } from "../lib/s3/delete-versions";
import { isNotFound } from "../lib/s3/errors";
import { artifactFileOf, artifactStem, versionPrefix } from "./layout";
import type { StoredArtifact } from "./stored-artifact";
import type { ArtifactStore } from "./store";

/** Object metadata naming the stack that wrote an object (x-amz-meta-xcpng-stack). */
export const STACK_METADATA = "xcpng-stack";

/** Something of one template in the store that no state knows: a leftover of a crash or a failed export. */
export type Stray =
  | { readonly kind: "object"; readonly key: string }
  | { readonly kind: "upload"; readonly key: string; readonly uploadId: string };

/**
 * Which listed keys are files of `template` that belong to no known artifact (pure: the decision of the sweep). A
 * file is known when `known` holds it, or when it sits beside a known XVA (its SBOM, its console logs: every file
 * of an artifact starts with the XVA's stem).
 */
export function strayKeys(
  listingPrefix: string,
  template: string,
  listed: readonly string[],
  known: ReadonlySet<string>,
): string[] {
  const stems = new Set([...known].filter((k) => k.endsWith(".xva")).map(artifactStem));
  return listed.filter((k) => {
    const file = artifactFileOf(listingPrefix, template, k);
    if (file === undefined || known.has(k)) return false;
    return !stems.has(`${listingPrefix}${file.timestamp}/${template}.`);
  });
}

/**
 * Lists the strays of one template under the stack's prefix: complete objects no state knows (an XVA whose
 * manifest or size check failed, a crash between upload and manifest) and incomplete multipart uploads of its
 * keys. Only this stack's: an object must carry this stack's name in its metadata, and uploads (whose metadata
 * cannot be read) are considered only under a non-empty prefix, which belongs to the stack.
 */
export async function findStrays(
  s3: S3Client,
  store: ArtifactStore,
  at: { os: string; version: string; template: string },
  known: ReadonlySet<string>,
): Promise<Stray[]> {
  const prefix = versionPrefix(store.prefix, at.os, at.version);
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: store.bucket,
        Prefix: prefix,
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    keys.push(...(page.Contents ?? []).map((o) => o.Key ?? ""));
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  const strays: Stray[] = [];
  for (const key of strayKeys(prefix, at.template, keys, known)) {
    if (await writtenBy(s3, store, key)) strays.push({ kind: "object", key });
  }
  if (store.prefix !== "") {
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: store.bucket, Prefix: prefix }));
    for (const u of uploads.Uploads ?? []) {
      if (u.Key && u.UploadId && strayKeys(prefix, at.template, [u.Key], known).length > 0)
        strays.push({ kind: "upload", key: u.Key, uploadId: u.UploadId });
    }
  }
  return strays;
}

async function writtenBy(s3: S3Client, store: ArtifactStore, key: string): Promise<boolean> {
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: store.bucket, Key: key }));
    return head.Metadata?.[STACK_METADATA] === store.stack;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

/** Removes strays for good: every version of an object, an incomplete upload aborted. */
export async function removeStrays(
  s3: S3Client,
  store: ArtifactStore,
  strays: readonly Stray[],
): Promise<void> {
  for (const s of strays) {
    if (s.kind === "object") await deleteAllVersions(s3, store.bucket, s.key);
    else
      await s3.send(
        new AbortMultipartUploadCommand({ Bucket: store.bucket, Key: s.key, UploadId: s.uploadId }),
      );
  }
}

/**
 * Removes whatever this stack left under its prefix in a bucket it does not own (objects carrying its name, every
 * version of them; incomplete uploads under a non-empty prefix). Objects others wrote are never touched. Returns
 * how many objects were removed.
 */
export async function removeStackObjects(s3: S3Client, store: ArtifactStore): Promise<number> {
  const prefix = store.prefix === "" ? "" : `${store.prefix}/`;
  let removed = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: store.bucket,
        Prefix: prefix,
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    for (const o of page.Contents ?? []) {
      if (o.Key && (await writtenBy(s3, store, o.Key))) {
        await deleteAllVersions(s3, store.bucket, o.Key);
        removed++;
      }
    }
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  if (prefix !== "") {
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: store.bucket, Prefix: prefix }));
    for (const u of uploads.Uploads ?? [])
      await s3.send(
        new AbortMultipartUploadCommand({ Bucket: store.bucket, Key: u.Key, UploadId: u.UploadId }),
      );
  }
  return removed;
}

/**
 * Deletes one artifact for good: every version of every file beside its XVA (manifest, SBOM, console logs), the
 * XVA last, so an interrupted removal still shows the artifact to the next sweep. Missing files are fine.
 */
export async function removeArtifactFiles(
  s3: S3Client,
  bucket: string,
  a: Pick<StoredArtifact, "key" | "manifestKey">,
): Promise<void> {
  const stem = artifactStem(a.key);
  const keys = new Set<string>([a.manifestKey]);
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: stem,
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    for (const o of page.Contents ?? []) {
      const rest = (o.Key ?? "").slice(stem.length);
      if (o.Key && o.Key !== a.key && /^(manifest\.json|sbom\.cdx\.json|console-[a-z]\.log)$/.test(rest))
        keys.add(o.Key);
    }
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  for (const k of keys) await deleteAllVersions(s3, bucket, k);
  await deleteAllVersions(s3, bucket, a.key);
}
