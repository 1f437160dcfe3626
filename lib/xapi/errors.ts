/** A XAPI call failed: `code` and `params` as xapi sent them (e.g. HANDLE_INVALID, [VM, OpaqueRef:...]). */
export class XapiError extends Error {
  readonly code: string;
  readonly params: readonly string[];
  constructor(message: string, code: string, params: readonly string[] = [], options?: { cause?: unknown }) {
    super(message, options);
    this.name = "XapiError";
    this.code = code;
    this.params = params;
  }
}

/** The pool could not be reached or its TLS identity could not be verified. */
export class PoolConnectionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PoolConnectionError";
  }
}

/** Code and params of an error thrown by the xen-api client (XapiError from xen-api carries both). */
export function xapiCodeOf(e: unknown): { code: string; params: string[] } | undefined {
  const o = e as { code?: unknown; params?: unknown } | undefined;
  if (o && typeof o.code === "string" && /^[A-Z][A-Z0-9_]+$/.test(o.code)) {
    return { code: o.code, params: Array.isArray(o.params) ? o.params.map(String) : [] };
  }
  return undefined;
}
