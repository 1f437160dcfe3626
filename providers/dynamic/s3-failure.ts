import { S3StoreError, s3ErrorCode } from "../../lib/s3/errors";
import { messageOf } from "../../lib/errors";

const CREDENTIAL_CODES = new Set(["InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"]);

/**
 * An S3 failure explained for the user: `what` failed (`artifact: writing s3://b/k`), with the store's error code,
 * and the way out (`hint`, or where to fix credentials when the store refused them). An S3StoreError that already
 * says all this passes through unchanged.
 */
export function s3Failure(e: unknown, what: string, hint?: string): S3StoreError {
  if (e instanceof S3StoreError) return e;
  const code = s3ErrorCode(e) ?? "unknown";
  const message = messageOf(e);
  const detail = message && message !== code ? `: ${message}` : "";
  const way = CREDENTIAL_CODES.has(code)
    ? " Check s3AccessKeyId / s3SecretAccessKey ('pulumi config set --secret') and the bucket policy."
    : hint !== undefined
      ? ` ${hint}`
      : "";
  return new S3StoreError(`${what} failed: ${code}${detail}.${way}`, code, { cause: e });
}
