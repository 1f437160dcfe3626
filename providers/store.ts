import type { S3Location } from "../lib/s3/client";

/** The bucket artifacts and the index live in, how to reach it, and whose keys these are (non-secret: in state). */
export type ArtifactStore = S3Location & {
  readonly bucket: string;
  /** Every key of the stack starts with it (providers/layout.ts); "" puts them at the bucket root. */
  readonly prefix: string;
  /** The stack that writes: recorded on every object, so a sweep never removes another stack's objects. */
  readonly stack: string;
};

/**
 * Whether two stores are different places: another bucket or another endpoint. Objects cannot move with a
 * resource, so such a change replaces it; the region, addressing style, CA or prefix only change how the same
 * bucket is reached or where new keys go.
 */
export function storeChanged(olds: ArtifactStore, news: ArtifactStore): boolean {
  return olds.bucket !== news.bucket || olds.endpoint !== news.endpoint;
}
