/** How long each kind of XAPI request may take before it fails with a `POOL_TIMEOUT` {@link PoolConnectionError}. */
import { PoolConnectionError } from "./errors";

export interface XapiTimeouts {
  /**
   * TCP connect plus TLS handshake, for every connection (RPC and transfers). A pool that accepts the TCP
   * connection and never completes the handshake fails after this.
   * @default 30_000 (30 s)
   */
  readonly connectTimeoutMs: number;
  /**
   * One XAPI call, from sending the request to the last byte of its answer. The login (xen-api's sequence
   * `session.login_with_password`, `pool.get_all_records`, `system.listMethods`) counts as one call; so does the
   * logout. Retried reads get this much per attempt.
   * @default 120_000 (2 min): slow storage operations (`VDI.destroy` on a busy SR) finish well within it
   */
  readonly callTimeoutMs: number;
  /**
   * An HTTP transfer (`/export`, `/import`) with no byte moving in either direction: waiting for the answer's
   * headers, a stalled body (also when the consumer stops reading for that long), and the wait for the import
   * task to complete after the last byte was sent.
   * @default 600_000 (10 min)
   */
  readonly transferIdleTimeoutMs: number;
}

export const DEFAULT_XAPI_TIMEOUTS: XapiTimeouts = {
  connectTimeoutMs: 30_000,
  callTimeoutMs: 120_000,
  transferIdleTimeoutMs: 600_000,
};

/** `1.5 s`, `2 min`: for messages. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${Number((ms / 1000).toFixed(1))} s`;
  return `${Number((ms / 60_000).toFixed(1))} min`;
}

/**
 * Settles like `p`, or rejects with a `POOL_TIMEOUT` error after `ms`. The work behind `p` is not cancelled here:
 * the caller tears its connections down (withXapi destroys its dispatcher when the operation ends).
 * @param what e.g. `the call VM.get_record to https://pool`, completed by "got no answer within ..."
 */
export function withDeadline<T>(
  p: Promise<T>,
  ms: number,
  what: string,
  option: keyof XapiTimeouts,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new PoolConnectionError(
            "POOL_TIMEOUT",
            `pool: ${what} got no answer within ${formatDuration(ms)} (${option}). The pool accepted the ` +
              `connection but its toolstack did not answer: check that xapi is running on the pool master ` +
              `('systemctl status xapi' on the host) and that pool.url names the master, then retry.`,
          ),
        ),
      ms,
    );
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
