import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  ListObjectVersionsCommand,
  type ListObjectVersionsCommandOutput,
  type S3Client,
} from "@aws-sdk/client-s3";
import { S3StoreError, isNotImplemented } from "./errors";

/**
 * Deletes `key` for good: every version and delete marker of it. On a versioned bucket a plain DeleteObject only
 * adds a delete marker and frees nothing; deleting each version by id removes the data (S3 user guide, "Deleting
 * object versions from a versioning-enabled bucket"). A store without versioning listing gives the plain delete.
 * A key that does not exist is not an error. Returns the number of versions and markers removed.
 */
export async function deleteAllVersions(s3: S3Client, bucket: string, key: string): Promise<number> {
  let versions: { Key: string; VersionId?: string }[];
  try {
    versions = await listVersionsOf(s3, bucket, key);
  } catch (e) {
    if (!isNotImplemented(e)) throw e;
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    return 1;
  }
  let removed = 0;
  for (let i = 0; i < versions.length; i += 1000) {
    const batch = versions.slice(i, i + 1000);
    const r = await s3.send(
      new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch, Quiet: true } }),
    );
    const failed = r.Errors ?? [];
    if (failed.length > 0) {
      const first = failed[0];
      throw new S3StoreError(
        `deleting s3://${bucket}/${key}: ${failed.length} of ${batch.length} version(s) could not be deleted ` +
          `(first: version ${first?.VersionId ?? "?"}: ${first?.Code ?? "?"} ${first?.Message ?? ""}). ` +
          `Check that the credentials may s3:DeleteObjectVersion, then run the command again.`,
        first?.Code,
      );
    }
    removed += batch.length;
  }
  return removed;
}

/** Every version and delete marker of exactly `key` (a prefix listing also returns longer keys). */
async function listVersionsOf(
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<{ Key: string; VersionId?: string }[]> {
  const out: { Key: string; VersionId?: string }[] = [];
  let page: ListObjectVersionsCommandOutput | undefined;
  do {
    page = await s3.send(
      new ListObjectVersionsCommand({
        Bucket: bucket,
        Prefix: key,
        ...(page?.NextKeyMarker !== undefined ? { KeyMarker: page.NextKeyMarker } : {}),
        ...(page?.NextVersionIdMarker !== undefined ? { VersionIdMarker: page.NextVersionIdMarker } : {}),
      }),
    );
    for (const v of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]) {
      if (v.Key === key)
        out.push({ Key: key, ...(v.VersionId !== undefined ? { VersionId: v.VersionId } : {}) });
    }
  } while (page.IsTruncated === true);
  return out;
}
