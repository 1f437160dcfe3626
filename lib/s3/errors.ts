import { XcpngError } from "../errors";

/**
 * An S3 operation failed; the message says what and where. `code` is the store's S3 error code (`NoSuchBucket`,
 * `AccessDenied`, `InternalError`, ...), the SDK's when the store never answered (`TimeoutError`), or one of ours
 * for a verdict of this library (`SizeMismatch`, `NoUploadId`, `TooManyParts`); `Unknown` when none applies.
 */
export class S3StoreError extends XcpngError {
  constructor(message: string, code?: string, options?: { cause?: unknown }) {
    super(code ?? "Unknown", message, options);
  }
}

/** The S3 error code of an SDK error (`NoSuchBucket`, `NotImplemented`, ...) or of an {@link S3StoreError}, or undefined. */
export function s3ErrorCode(e: unknown): string | undefined {
  if (e instanceof S3StoreError) return e.code;
  if (typeof e !== "object" || e === null) return undefined;
  const o = e as { name?: unknown; Code?: unknown; $metadata?: { httpStatusCode?: number } };
  if (typeof o.Code === "string") return o.Code;
  if (typeof o.name === "string" && !["Error", "Unknown", "UnknownError"].includes(o.name)) return o.name;
  // HEAD answers carry no body, so the SDK cannot name the error: fall back on the HTTP status.
  const status = o.$metadata?.httpStatusCode;
  if (status === 403) return "AccessDenied";
  if (status === 404) return "NotFound";
  if (status === 501) return "NotImplemented";
  return typeof status === "number" ? `HTTP${status}` : undefined;
}

/** HTTP status of an SDK error, when the store answered. */
export function s3HttpStatus(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

/** True for "this store does not implement that API" answers (501, NotImplemented, some stores' 400 variants). */
export function isNotImplemented(e: unknown): boolean {
  const code = s3ErrorCode(e);
  return s3HttpStatus(e) === 501 || code === "NotImplemented" || code === "XNotImplemented";
}

/** True when the bucket or key does not exist. */
export function isNotFound(e: unknown): boolean {
  const code = s3ErrorCode(e);
  return s3HttpStatus(e) === 404 || code === "NotFound" || code === "NoSuchBucket" || code === "NoSuchKey";
}
