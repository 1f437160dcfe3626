// ts-node (the Pulumi runtime) loads only files reachable from imports; the ambient xen-api types must be named.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="./xen-api.d.ts" />
import * as tls from "node:tls";
import type { Readable } from "node:stream";
import type { Xapi } from "xen-api";
import { PoolConnectionError, XapiError, xapiCodeOf } from "./errors";

/** Where the pool is and how to trust it (non-secret; the password is passed separately). */
export interface PoolTarget {
  readonly url: string;
  readonly username: string;
  readonly caCertificate?: string;
  /** Lowercase hex SHA-256 of the pool certificate, without colons. */
  readonly certificateFingerprint?: string;
  readonly insecureSkipVerify: boolean;
}

/** A logged-in XAPI session for one provider operation. */
export interface XapiSession {
  /** A read-only call (`*.get_*`): retried on transient network errors. */
  read<T>(method: string, ...args: unknown[]): Promise<T>;
  /** A call that changes the pool: never retried (it may have happened). */
  write<T>(method: string, ...args: unknown[]): Promise<T>;
  /** GET an HTTP handler (e.g. /export) with the session; the caller consumes the body. */
  getResource(path: string, query: Record<string, string>): Promise<{ statusCode: number; body: Readable }>;
}

const TRANSIENT = /ECONNRESET|ETIMEDOUT|EPIPE|socket hang up|other side closed|UND_ERR_SOCKET/;

/** Adds a PEM CA to the trust store of this (provider) process once; xen-api's undici agent has no CA option. */
function trustCa(pem: string): void {
  const current = tls.getCACertificates("default");
  const wanted = pem.trim();
  if (current.some((c) => c.trim() === wanted)) return;
  tls.setDefaultCACertificates([...current, wanted]);
}

/** Connects without verification only to read the certificate and compare its SHA-256 with the pinned one. */
function checkFingerprint(url: URL, expected: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({
      host: url.hostname,
      port: Number(url.port || 443),
      servername: url.hostname,
      rejectUnauthorized: false,
    });
    sock.once("secureConnect", () => {
      const got = sock.getPeerCertificate().fingerprint256.replace(/:/g, "").toLowerCase();
      sock.destroy();
      if (got === expected) resolve();
      else
        reject(
          new PoolConnectionError(
            `pool: the certificate of ${url.host} has SHA-256 fingerprint ${got}, but pool.certificateFingerprint ` +
              `pins ${expected}. If the pool's certificate was renewed on purpose, update the pin.`,
          ),
        );
    });
    sock.once("error", (e: Error) =>
      reject(new PoolConnectionError(`pool: cannot reach ${url.host}: ${e.message}`, { cause: e })),
    );
  });
}

function explain(e: unknown, target: PoolTarget): Error {
  const x = xapiCodeOf(e);
  if (x?.code === "SESSION_AUTHENTICATION_FAILED") {
    return new PoolConnectionError(
      `pool: ${target.url} refused the credentials of user "${target.username}" (SESSION_AUTHENTICATION_FAILED). ` +
        `Check pool.username and the secret poolPassword ('pulumi config set --secret poolPassword').`,
      { cause: e },
    );
  }
  if (x) return new XapiError(`pool: ${x.code} ${JSON.stringify(x.params)}`, x.code, x.params, { cause: e });
  const msg = (e as Error).message ?? String(e);
  const code = (e as { code?: string }).code ?? (e as { cause?: { code?: string } }).cause?.code ?? "";
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|unable to verify/i.test(`${code} ${msg}`)) {
    return new PoolConnectionError(
      `pool: the TLS certificate of ${target.url} is not trusted (${code || msg}). Give the pool's CA as ` +
        `pool.caCertificate / pool.caCertificateFile, or pin it with pool.certificateFingerprint.`,
      { cause: e },
    );
  }
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ECONNRESET/.test(`${code} ${msg}`)) {
    return new PoolConnectionError(`pool: cannot reach ${target.url} (${code || msg}). Is pool.url right?`, {
      cause: e,
    });
  }
  return e instanceof Error ? e : new PoolConnectionError(String(e));
}

async function retrying<T>(fn: () => Promise<T>, tries = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      const msg = `${(e as Error).message} ${(e as { code?: string }).code ?? ""}`;
      if (i >= tries || !TRANSIENT.test(msg)) throw e;
      await new Promise((r) => setTimeout(r, 200 * 2 ** i));
    }
  }
}

/**
 * Logs in, runs `fn` with the session, and logs out whatever happens: one session per provider operation,
 * so sessions never pile up on the pool (xapi keeps at most 500 per user and evicts the oldest).
 */
export async function withXapi<T>(
  target: PoolTarget,
  password: string,
  fn: (session: XapiSession) => Promise<T>,
): Promise<T> {
  const url = new URL(target.url);
  if (url.protocol === "https:") {
    if (target.caCertificate !== undefined) trustCa(target.caCertificate);
    if (target.certificateFingerprint !== undefined)
      await checkFingerprint(url, target.certificateFingerprint);
  }
  const { Xapi } = (await import("xen-api")) as typeof import("xen-api");
  const xapi: Xapi = new Xapi({
    url: target.url,
    auth: { user: target.username, password },
    // Pinned fingerprint was checked above; insecureSkipVerify is the user's explicit choice.
    allowUnauthorized: target.insecureSkipVerify || target.certificateFingerprint !== undefined,
    watchEvents: false,
    httpInactivityTimeout: 10 * 60 * 1000,
  });
  try {
    await retrying(() => xapi.connect(), 3);
  } catch (e) {
    throw explain(e, target);
  }
  const session: XapiSession = {
    read: <R>(method: string, ...args: unknown[]) =>
      retrying(() => xapi.call<R>(method, ...args)).catch((e: unknown) => {
        throw explain(e, target);
      }),
    write: <R>(method: string, ...args: unknown[]) =>
      xapi.call<R>(method, ...args).catch((e: unknown) => {
        throw explain(e, target);
      }),
    getResource: async (path, query) => {
      try {
        const r = await xapi.getResource(path, { query, task: false });
        return { statusCode: r.statusCode, body: r.body };
      } catch (e) {
        throw explain(e, target);
      }
    },
  };
  try {
    return await fn(session);
  } finally {
    await xapi.disconnect().catch(() => undefined);
  }
}
