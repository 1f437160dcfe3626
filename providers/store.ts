import type { S3Location } from "../lib/s3/client";

/** The bucket artifacts and the index live in, and how to reach it (non-secret: stored in state). */
export type ArtifactStore = S3Location & { readonly bucket: string };

/**
 * Whether two stores are different places: another bucket or another endpoint. Objects cannot move with a
 * resource, so such a change replaces it; the region, addressing style or CA only change how the same bucket is
 * reached.
 */
export function storeChanged(olds: ArtifactStore, news: ArtifactStore): boolean {
  return olds.bucket !== news.bucket || olds.endpoint !== news.endpoint;
}
