/**
 * The project's one error model.
 *
 * Every error the project raises itself extends {@link XcpngError}: a stable machine-readable `code`, a message
 * that says what failed, what was expected, what was given and the way out, and the `cause` kept. Callers decide
 * with `instanceof` (or {@link isXcpngError} across module copies) and `code`, never by matching message text.
 *
 * Families, each in the module that owns the concept:
 * - `XapiError` (lib/xapi): only for a failure that came over the wire from a pool (`code` and `params` as xapi
 *   sent them); `PoolConnectionError` for a pool that cannot be reached, trusted or logged in to.
 * - `S3StoreError` (lib/s3): an S3 operation failed; `code` is the S3 error code.
 * - `XvaFormatError`, `XvaChecksumError`, `XvaInputError` (lib/xva): the XVA format library's verdicts.
 * - `ValidationError` (providers/config): configuration or inputs that cannot be used, one failure per property.
 * - Our own verdicts in the providers (`PackerBuildError`, `TemplateVerificationError`, ...).
 * - devpool's `ServerError` is what devpool *sends* (xapi's `Api_errors.Server_error`), not what a client got.
 */

// A registered symbol, so the guard holds when tsx and ts-node (or two copies of a module) load this file twice.
const BRAND = Symbol.for("xcpng-templates/error");

export interface ErrorOptions {
  readonly cause?: unknown;
}

export abstract class XcpngError extends Error {
  /** Stable, machine-readable: branch on this (or on the class), never on the message. */
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    // The concrete class's name in stack traces and `String(err)`.
    this.name = new.target.name;
    Object.defineProperty(this, BRAND, { value: true, enumerable: false });
  }
}

/** True for every error of the project's model, whichever copy of this module created it. */
export function isXcpngError(e: unknown): e is XcpngError {
  return typeof e === "object" && e !== null && (e as Record<symbol, unknown>)[BRAND] === true;
}

/** The message of anything thrown (an Error's message, else its string form), for composing a new message. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
