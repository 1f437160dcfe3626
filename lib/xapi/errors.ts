/**
 * Errors of the XAPI client wrapper, on the project's one error model (lib/errors.ts):
 * - {@link XapiError}: the pool answered with a XAPI failure (`code` and `params` exactly as xapi sent them);
 * - {@link PoolConnectionError}: the pool could not be reached, trusted, logged in to, or did not answer in time;
 * - {@link TransferInputError}: the caller gave a transfer something it cannot send.
 */
import { type ErrorOptions, XcpngError } from "../errors";

/**
 * A failure that came over the wire from the pool: an RPC error or a failed task's `error_info`. `code` and
 * `params` are xapi's (e.g. `HANDLE_INVALID`, `["VM", "OpaqueRef:..."]`; see xapi's `ocaml/xapi-consts/api_errors.ml`).
 */
export class XapiError extends XcpngError {
  readonly params: readonly string[];

  constructor(message: string, code: string, params: readonly string[] = [], options?: ErrorOptions) {
    super(code, message, options);
    this.params = params;
  }

  /**
   * Our XapiError for a failure the `xen-api` client received from the pool, or undefined for anything else (a
   * socket error, a timeout, a TLS refusal). xen-api does not export its `XapiError` class (`_XapiError.mjs`, made
   * by `XapiError.wrap` from the JSON-RPC `error` or XML-RPC `ErrorDescription`): it is recognised by its name and
   * its `code` string plus `params` array.
   * @param what the call that failed, e.g. `VM.destroy`, for the message
   */
  static fromXenApi(e: unknown, what: string): XapiError | undefined {
    if (e instanceof XapiError) return e;
    if (!(e instanceof Error) || e.name !== "XapiError") return undefined;
    const { code, params } = e as Error & { code?: unknown; params?: unknown };
    if (typeof code !== "string" || !Array.isArray(params)) return undefined;
    return XapiError.fromErrorInfo([code, ...params.map(String)], what, e);
  }

  /** From xapi's `error_info` (a failed task's, or an RPC error as a list): `[code, ...params]`. */
  static fromErrorInfo(errorInfo: readonly string[], what: string, cause?: unknown): XapiError {
    const [code = "INTERNAL_ERROR", ...params] = errorInfo;
    return new XapiError(
      `pool: ${what} failed with ${code}${params.length > 0 ? ` ${JSON.stringify(params)}` : ""}`,
      code,
      params,
      cause === undefined ? undefined : { cause },
    );
  }
}

/** Why a pool could not be used; stable, for callers to branch on. */
export const POOL_CONNECTION_CODES = [
  /** DNS, refused, reset or closed connections: nothing answered at the pool's address. */
  "POOL_UNREACHABLE",
  /** The TLS certificate does not chain to the given CA (or the system's CAs), or does not name the host. */
  "POOL_TLS_UNTRUSTED",
  /** The TLS certificate's SHA-256 fingerprint is not the pinned one. */
  "POOL_PIN_MISMATCH",
  /** The pool refused the credentials (SESSION_AUTHENTICATION_FAILED). */
  "POOL_AUTH_FAILED",
  /** A connection, call or transfer got no answer within its timeout. */
  "POOL_TIMEOUT",
  /** Something answered, but not as a XAPI does (wrong URL, wrong scheme, a redirect we cannot follow). */
  "POOL_PROTOCOL_ERROR",
  /** Raised by callers written before the codes above (the one-argument constructor). */
  "POOL_CONNECTION_FAILED",
] as const;
export type PoolConnectionCode = (typeof POOL_CONNECTION_CODES)[number];

function isPoolConnectionCode(s: unknown): s is PoolConnectionCode {
  return (POOL_CONNECTION_CODES as readonly unknown[]).includes(s);
}

/** The pool could not be reached, its TLS identity could not be verified, it refused the login, or it timed out. */
export class PoolConnectionError extends XcpngError {
  declare readonly code: PoolConnectionCode;

  constructor(code: PoolConnectionCode, message: string, options?: ErrorOptions);
  /** @deprecated Name the failure: `new PoolConnectionError(code, message)`. The code is POOL_CONNECTION_FAILED. */
  constructor(message: string, options?: ErrorOptions);
  constructor(codeOrMessage: string, messageOrOptions?: string | ErrorOptions, options?: ErrorOptions) {
    if (isPoolConnectionCode(codeOrMessage) && typeof messageOrOptions === "string") {
      super(codeOrMessage, messageOrOptions, options);
    } else {
      super(
        "POOL_CONNECTION_FAILED",
        codeOrMessage,
        typeof messageOrOptions === "object" ? messageOrOptions : undefined,
      );
    }
  }
}

/** A transfer was given input it cannot send (e.g. a body whose length is not the one declared). */
export class TransferInputError extends XcpngError {
  constructor(message: string, options?: ErrorOptions) {
    super("XAPI_TRANSFER_INPUT", message, options);
  }
}

/** The installed `xen-api` is not the one this wrapper was written for (its dispatcher cannot be replaced). */
export class XenApiIncompatibleError extends XcpngError {
  constructor(message: string) {
    super("XAPI_CLIENT_INCOMPATIBLE", message);
  }
}
