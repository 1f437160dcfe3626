import {
  GetBucketEncryptionCommand,
  GetBucketLifecycleConfigurationCommand,
  PutBucketEncryptionCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketVersioningCommand,
  DeleteBucketLifecycleCommand,
  type LifecycleRule,
  type S3Client,
} from "@aws-sdk/client-s3";
import { isNotImplemented, s3ErrorCode } from "../lib/s3/errors";

/**
 * The bucket settings the stack applies where it manages the bucket (a bucket it created, or an adopted one whose
 * owner opted in): versioning, a default encryption only where none is set, and two lifecycle rules of its own,
 * scoped to its prefix and added beside whatever rules the bucket already has.
 */

/** What the store supports is recorded, so a warning is given once and `refresh` can see it change. */
export type FeatureState = "enabled" | "unsupported" | "unmanaged";

/** Days after which an incomplete multipart upload under the stack's prefix is aborted by the store. */
export const ABORT_INCOMPLETE_UPLOAD_DAYS = 7;
/** Days after which a noncurrent version under the stack's prefix (an overwritten index.json) expires. */
export const NONCURRENT_VERSION_DAYS = 7;

/** The ids of the stack's own rules: one set per prefix, so stacks sharing a bucket keep theirs apart. */
export function ourRuleIds(prefix: string): { abort: string; noncurrent: string } {
  const scope = prefix === "" ? "root" : prefix;
  return {
    abort: `xcpng-templates:${scope}:abort-incomplete-uploads`,
    noncurrent: `xcpng-templates:${scope}:noncurrent-version-expiry`,
  };
}

/** The stack's lifecycle rules, filtered to its prefix. */
export function ourRules(prefix: string): LifecycleRule[] {
  const ids = ourRuleIds(prefix);
  const filter = { Prefix: prefix === "" ? "" : `${prefix}/` };
  return [
    {
      ID: ids.abort,
      Status: "Enabled",
      Filter: filter,
      AbortIncompleteMultipartUpload: { DaysAfterInitiation: ABORT_INCOMPLETE_UPLOAD_DAYS },
    },
    {
      ID: ids.noncurrent,
      Status: "Enabled",
      Filter: filter,
      NoncurrentVersionExpiration: { NoncurrentDays: NONCURRENT_VERSION_DAYS },
    },
  ];
}

/**
 * The bucket's rules with the stack's own set in place of any earlier copy of it, every other rule (the owner's,
 * another stack's) kept as it was and in its order. With `ours` empty, the stack's rules are taken out.
 */
export function mergeLifecycleRules(
  existing: readonly LifecycleRule[],
  prefix: string,
  ours: readonly LifecycleRule[],
): LifecycleRule[] {
  const ids = new Set(Object.values(ourRuleIds(prefix)));
  return [...existing.filter((r) => r.ID === undefined || !ids.has(r.ID)), ...ours];
}

async function attempt(
  fn: () => Promise<unknown>,
  warn: (what: string) => void,
  what: string,
): Promise<FeatureState> {
  try {
    await fn();
    return "enabled";
  } catch (e) {
    if (!isNotImplemented(e)) throw e;
    warn(what);
    return "unsupported";
  }
}

async function currentRules(s3: S3Client, bucket: string): Promise<LifecycleRule[]> {
  try {
    return (await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).Rules ?? [];
  } catch (e) {
    if (s3ErrorCode(e) === "NoSuchLifecycleConfiguration") return [];
    throw e;
  }
}

/** Writes the bucket's rules with the stack's set added (or, with `ours` empty, taken out). */
export async function putOurRules(
  s3: S3Client,
  bucket: string,
  prefix: string,
  ours: readonly LifecycleRule[],
): Promise<void> {
  const rules = mergeLifecycleRules(await currentRules(s3, bucket), prefix, ours);
  if (rules.length === 0) await s3.send(new DeleteBucketLifecycleCommand({ Bucket: bucket }));
  else
    await s3.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: bucket,
        LifecycleConfiguration: { Rules: rules },
      }),
    );
}

/** A default encryption (AES256) only where the bucket has none: an SSE-KMS default is never replaced. */
async function ensureEncryption(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
    return;
  } catch (e) {
    if (s3ErrorCode(e) !== "ServerSideEncryptionConfigurationNotFoundError") throw e;
  }
  await s3.send(
    new PutBucketEncryptionCommand({
      Bucket: bucket,
      ServerSideEncryptionConfiguration: {
        Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
      },
    }),
  );
}

export interface ManagedSettings {
  readonly versioning: FeatureState;
  readonly encryption: FeatureState;
  /** The stack's lifecycle rules (abort incomplete uploads, expire noncurrent versions), scoped to its prefix. */
  readonly lifecycle: FeatureState;
}

/** Applies the managed settings, each tolerated as unsupported by stores that do not implement it. */
export async function applyManagedSettings(
  s3: S3Client,
  bucket: string,
  prefix: string,
  warn: (what: string) => void,
): Promise<ManagedSettings> {
  const versioning = await attempt(
    () =>
      s3.send(
        new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: "Enabled" } }),
      ),
    warn,
    "bucket versioning",
  );
  const encryption = await attempt(() => ensureEncryption(s3, bucket), warn, "default encryption");
  // Incomplete multipart uploads are invisible in listings and cost money, and every rewrite of index.json leaves
  // a noncurrent version: lifecycle rules are the store's backstop (S3 user guide, lifecycle configuration).
  const lifecycle = await attempt(
    () => putOurRules(s3, bucket, prefix, ourRules(prefix)),
    warn,
    "lifecycle rules",
  );
  return { versioning, encryption, lifecycle };
}

/** Takes the stack's lifecycle rules out of a bucket it does not delete (an adopted one); other rules stay. */
export async function removeOurRules(s3: S3Client, bucket: string, prefix: string): Promise<void> {
  try {
    await putOurRules(s3, bucket, prefix, []);
  } catch (e) {
    if (!isNotImplemented(e)) throw e;
  }
}
