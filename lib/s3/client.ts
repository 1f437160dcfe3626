import * as https from "node:https";
import * as tls from "node:tls";
import { S3Client } from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { messageOf } from "../errors";
import { S3StoreError } from "./errors";

/** Where the store is (non-secret, stored in state as resource inputs). */
export interface S3Location {
  readonly region: string;
  readonly endpoint?: string;
  readonly forcePathStyle: boolean;
  /** PEM CA certificate of a private endpoint: when given, the only CA the S3 connections trust. */
  readonly caCertificate?: string;
}

/** Credentials, from secret stack config or the AWS default chain; never stored in state. */
export interface S3Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** How long an S3 request may wait, and how often it is tried. */
export interface S3Timeouts {
  /** Milliseconds to establish the TCP connection. */
  readonly connectionTimeoutMs: number;
  /**
   * Milliseconds a connection may stay silent (no byte sent or received) before the attempt fails: a store that
   * accepts the connection but never answers, a TLS handshake that stalls, a transfer that stops. An idle limit
   * rather than a total one, so a large part on a slow link is not cut while its bytes flow.
   */
  readonly socketTimeoutMs: number;
  /** Attempts per request; the SDK retries throttling, 5xx answers and timeouts with backoff. */
  readonly maxAttempts: number;
}

/**
 * Defaults: 10 s to connect; 120 s of silence (a CompleteMultipartUpload of a large object can take a while
 * before the store answers, and not every S3-compatible store sends AWS's keep-alive whitespace meanwhile);
 * 5 attempts. A store that never answers therefore fails a request after about 5 × 120 s plus backoff.
 */
export const DEFAULT_S3_TIMEOUTS: S3Timeouts = {
  connectionTimeoutMs: 10_000,
  socketTimeoutMs: 120_000,
  maxAttempts: 5,
};

/**
 * Builds a client for one operation (never cached at module level: dynamic providers are serialized, and a
 * client holds sockets). Checksums are computed only when an operation requires them, because S3-compatible
 * stores differ in their support of the flexible-checksum headers the SDK sends by default since 2025; our own
 * SHA-256 and the XVA chunk hashes carry integrity instead.
 *
 * Trust: the store's own CA when `caCertificate` is given, and only it; otherwise the public roots (see
 * {@link publicRoots}). Never the process's default trust store, to which something else in the process (a pool
 * CA) may have been added. Every request has the timeouts of {@link S3Timeouts}; a request that runs out of them
 * fails with an {@link S3StoreError} of code `TimeoutError` that names the operation, the endpoint and the limits.
 */
export function createS3Client(
  loc: S3Location,
  creds: S3Credentials | undefined,
  timeouts: Partial<S3Timeouts> = {},
): S3Client {
  const t: S3Timeouts = { ...DEFAULT_S3_TIMEOUTS, ...timeouts };
  const client = new S3Client({
    region: loc.region,
    ...(loc.endpoint !== undefined ? { endpoint: loc.endpoint } : {}),
    forcePathStyle: loc.forcePathStyle,
    ...(creds !== undefined ? { credentials: { ...creds } } : {}),
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    maxAttempts: t.maxAttempts,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: t.connectionTimeoutMs,
      socketTimeout: t.socketTimeoutMs,
      httpsAgent: new https.Agent({
        keepAlive: true,
        secureContext:
          loc.caCertificate !== undefined
            ? tls.createSecureContext({ ca: loc.caCertificate })
            : publicRoots(),
      }),
    }),
  });
  const where = loc.endpoint ?? `AWS S3 (${loc.region})`;
  // Outermost step (initialize): sees the failure once the SDK's retries are spent.
  client.middlewareStack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (e) {
        throw explainTimeout(e, context.commandName ?? "request", where, t);
      }
    },
    { step: "initialize", name: "xcpngExplainTimeout" },
  );
  return client;
}

/**
 * A timeout of the HTTP layer (the SDK names them `TimeoutError`) as an {@link S3StoreError} that says which
 * operation on which endpoint ran out of which limit; any other failure unchanged.
 */
export function explainTimeout(e: unknown, commandName: string, where: string, t: S3Timeouts): unknown {
  if ((e as { name?: unknown } | undefined)?.name !== "TimeoutError") return e;
  const operation = commandName.replace(/Command$/, "");
  return new S3StoreError(
    `s3: ${operation} on ${where} got no answer after ${t.maxAttempts} attempt(s) (${messageOf(e)}). ` +
      `The limits are ${t.connectionTimeoutMs} ms to connect and ${t.socketTimeoutMs} ms of silence on a ` +
      `connection: check that the endpoint is the store's and that the store is up.`,
    "TimeoutError",
    { cause: e },
  );
}

let publicRootsContext: tls.SecureContext | undefined;

/**
 * The CAs an S3 connection trusts when no `caCertificate` is given: Node's bundled Mozilla roots, the
 * certificates of NODE_EXTRA_CA_CERTS, and the system store when Node was told to use it (`--use-system-ca`,
 * NODE_USE_SYSTEM_CA=1): Node's own default as the process started, without what was added at run time with
 * `tls.setDefaultCACertificates`. Built once per process (parsing ~150 certificates per connection costs
 * milliseconds).
 */
export function publicRoots(): tls.SecureContext {
  publicRootsContext ??= tls.createSecureContext({
    ca: [
      ...tls.getCACertificates("bundled"),
      ...tls.getCACertificates("extra"),
      ...(usesSystemCa() ? tls.getCACertificates("system") : []),
    ],
  });
  return publicRootsContext;
}

function usesSystemCa(): boolean {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)];
  return flags.includes("--use-system-ca") || process.env.NODE_USE_SYSTEM_CA === "1";
}
