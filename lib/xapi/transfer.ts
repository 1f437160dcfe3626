/**
 * HTTP transfers with the pool (`GET /export`, `PUT /import`, ...) on node:http over {@link connectToPool}.
 *
 * Not through xen-api's `getResource`/`putResource`: those run on undici 6.29.1 (RPC and GET) and
 * http-request-plus (PUT), which take neither a CA nor a pin, and undici 6's HTTP/1 parser throws an uncatchable
 * `AssertionError` (`assert(!this.paused)` in `Parser.finish`, nodejs/undici#5360) when the server closes the
 * connection while the reader applies backpressure, which is exactly how xapi ends a transfer (`Connection:
 * close`, no Content-Length: the body ends when the connection does). Node's own HTTP client ends such a body
 * cleanly whenever the reader catches up. The fix upstream (#5389, #5474) is in undici 8.5/8.6 only.
 *
 * One connection per transfer (`Connection: close`), verified like every other; the session goes in the query, as
 * xapi's own clients send it, and is never written in a message (messages name the path, not the query).
 */
import * as http from "node:http";
import type { Duplex, Readable } from "node:stream";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { PoolConnectionError, TransferInputError } from "./errors";
import { formatDuration, type XapiTimeouts } from "./timeouts";
import { connectToPool, type PoolTrust } from "./trust";

/** Where and how to reach the pool for transfers. */
export interface TransferContext {
  /** The pool's URL (scheme, host, port); the path of a transfer replaces its path. */
  readonly base: URL;
  readonly trust: PoolTrust;
  readonly timeouts: XapiTimeouts;
}

export interface TransferResponse {
  readonly statusCode: number;
  readonly headers: http.IncomingHttpHeaders;
  /** The answer's body (close-delimited for xapi's handlers); the caller consumes or discards it. */
  readonly body: Readable;
}

/** xapi redirects a transfer to the host that sees the SR (`Location: https://<host>/<path>?<same query>`). */
const MAX_REDIRECTS = 3;

function urlOf(base: URL, path: string, query: Readonly<Record<string, string>>): URL {
  const url = new URL(base.href);
  url.pathname = path;
  url.search = new URLSearchParams(query).toString();
  return url;
}

function describe(method: string, url: URL): string {
  return `${method} ${url.pathname} on ${url.host}`;
}

/** Starts a request on a verified connection; the idle timeout destroys it (or its answer) with POOL_TIMEOUT. */
function start(
  ctx: TransferContext,
  method: "GET" | "PUT",
  url: URL,
  headers: Readonly<Record<string, string>>,
): { req: http.ClientRequest; response: Promise<http.IncomingMessage> } {
  const req = http.request({
    method,
    host: url.hostname,
    port: url.port,
    path: `${url.pathname}${url.search}`,
    headers: { ...headers, Host: url.host },
    // No agent: one connection per transfer, opened by connectToPool and handed over only once verified.
    createConnection: (_opts: unknown, oncreate: (err: Error | null, socket: Duplex) => void) => {
      connectToPool(url, ctx.trust, ctx.timeouts.connectTimeoutMs).then(
        (sock) => oncreate(null, sock),
        (e: Error) => oncreate(e, undefined as unknown as Duplex),
      );
      return undefined;
    },
  });
  let res: http.IncomingMessage | undefined;
  const idle = ctx.timeouts.transferIdleTimeoutMs;
  req.setTimeout(idle, () => {
    const err = new PoolConnectionError(
      "POOL_TIMEOUT",
      `pool: ${describe(method, url)} moved no byte for ${formatDuration(idle)} (transferIdleTimeoutMs): ` +
        `the pool stopped answering, or the reader stopped reading for that long. Check the pool's task list ` +
        `('xe task-list' on the host) and retry.`,
    );
    if (res !== undefined) res.destroy(err);
    else req.destroy(err);
  });
  const response = new Promise<http.IncomingMessage>((resolve, reject) => {
    req.once("response", (r) => {
      res = r;
      resolve(r);
    });
    // `on`, not `once`: node:http may report a socket error on the request again after the answer came.
    req.on("error", (e) =>
      reject(
        e instanceof PoolConnectionError
          ? e
          : new PoolConnectionError(
              "POOL_UNREACHABLE",
              `pool: ${describe(method, url)} failed before an answer: ${(e as { code?: string }).code ?? e.message}. ` +
                `Check that the pool is up, then retry.`,
              { cause: e },
            ),
      ),
    );
  });
  return { req, response };
}

function redirectTarget(from: URL, res: http.IncomingMessage, method: string): URL {
  const location = res.headers.location;
  const to = location === undefined ? undefined : new URL(location, from);
  if (to === undefined || to.protocol !== from.protocol) {
    throw new PoolConnectionError(
      "POOL_PROTOCOL_ERROR",
      `pool: ${describe(method, from)} was redirected (HTTP ${res.statusCode}) to ` +
        `${to === undefined ? "nowhere" : `${to.protocol}//${to.host}`}; only a redirect on the same scheme is ` +
        `followed (the session would otherwise leave TLS). Point pool.url at the host that holds the data.`,
    );
  }
  return to;
}

/**
 * GET a transfer handler: resolves with the answer once its headers are in (following xapi's redirects to
 * another host of the pool, verified like the first); the body is the caller's to consume.
 */
export async function download(
  ctx: TransferContext,
  path: string,
  query: Readonly<Record<string, string>>,
): Promise<TransferResponse> {
  let url = urlOf(ctx.base, path, query);
  for (let hop = 0; ; hop++) {
    const { req, response } = start(ctx, "GET", url, {});
    req.end();
    const res = await response;
    if (res.statusCode === 302 && hop < MAX_REDIRECTS) {
      res.resume();
      url = redirectTarget(url, res, "GET");
      continue;
    }
    return { statusCode: res.statusCode ?? 0, headers: res.headers, body: res };
  }
}

/** Counts what goes through, fails if it is not exactly `expected` bytes, reports progress. */
function lengthGuard(
  expected: number,
  what: string,
  onProgress: ((sentBytes: number, totalBytes: number) => void) | undefined,
): Transform {
  let sent = 0;
  const mismatch = (n: number) =>
    new TransferInputError(
      `${what}: the body was declared as ${expected} bytes (lengthBytes) but ${n > expected ? "more" : "only"} ` +
        `${n} ${n > expected ? "were given" : "came"}; xapi reads exactly the declared length. Give the exact length.`,
    );
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      sent += chunk.length;
      if (sent > expected) {
        done(mismatch(sent));
        return;
      }
      onProgress?.(sent, expected);
      done(null, chunk);
    },
    flush(done) {
      done(sent === expected ? null : mismatch(sent));
    },
  });
}

/** The answer to a refused upload; a redirect cannot be followed once the body has started, so it is an error. */
async function refusal(url: URL, res: http.IncomingMessage): Promise<UploadOutcome> {
  if (res.statusCode === 302) {
    res.resume();
    const to = res.headers.location === undefined ? "nowhere" : new URL(res.headers.location, url).host;
    throw new PoolConnectionError(
      "POOL_PROTOCOL_ERROR",
      `pool: ${describe("PUT", url)} was redirected to ${to}, where the upload cannot be replayed (the body is a ` +
        `stream). Point pool.url at ${to}, the host that holds the target storage, and retry.`,
    );
  }
  return { kind: "refused", statusCode: res.statusCode ?? 0, text: await excerpt(res) };
}

/** Reads a small answer (an error page) whole; gives up quietly on errors and after 64 KiB. */
async function excerpt(body: Readable): Promise<string> {
  const parts: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of body) {
      parts.push(c as Buffer);
      n += (c as Buffer).length;
      if (n > 64 * 1024) break;
    }
  } catch {
    // a cut connection after an error page: what was read is enough
  }
  return Buffer.concat(parts).toString("utf8");
}

/** How an upload ended, when it got as far as a verified connection. */
export type UploadOutcome =
  /** 200, every byte sent, the answer read to its end (the pool closed the connection). */
  | { readonly kind: "done" }
  /** A non-200 answer, sent before the body was read: its status and text (xapi's error page). */
  | { readonly kind: "refused"; readonly statusCode: number; readonly text: string }
  /** The connection broke during the upload (reset, closed): the pool's task may say why. */
  | { readonly kind: "broken"; readonly cause: unknown };

/**
 * PUT `body` (exactly `lengthBytes`, sent as Content-Length: xapi refuses chunked encoding) to a transfer handler.
 * xapi answers 200 before reading the body and closes the connection once it is done with it. A non-200 answer
 * stops the upload. Throws for what the pool has nothing to add to: a connection that could not be made or
 * verified, a timeout, a body of the wrong length ({@link TransferInputError}), the body's own error, a redirect
 * (which cannot be followed once a stream has started).
 */
export async function upload(
  ctx: TransferContext,
  path: string,
  query: Readonly<Record<string, string>>,
  body: Readable,
  lengthBytes: number,
  onProgress?: (sentBytes: number, totalBytes: number) => void,
): Promise<UploadOutcome> {
  const url = urlOf(ctx.base, path, query);
  const what = `pool: ${describe("PUT", url)}`;
  if (!Number.isSafeInteger(lengthBytes) || lengthBytes < 0) {
    throw new TransferInputError(
      `${what}: lengthBytes must be a whole number of bytes, but ${lengthBytes} was given`,
    );
  }
  const { req, response } = start(ctx, "PUT", url, {
    "Content-Length": String(lengthBytes),
    "Content-Type": "application/octet-stream",
  });
  // A socket error on the verified connection (ours are PoolConnectionErrors: connect, trust, timeout).
  let broken: unknown;
  req.on("error", (e) => {
    if (!(e instanceof PoolConnectionError)) broken ??= e;
  });
  let answered: http.IncomingMessage | undefined;
  void response.then(
    (r) => (answered = r),
    () => undefined,
  );
  const sending = pipeline(body, lengthGuard(lengthBytes, what, onProgress), req);
  const failed = (e: unknown): UploadOutcome | Promise<UploadOutcome> => {
    // A refusal that closed the connection under our writes: its answer says more than EPIPE.
    if (answered !== undefined && answered.statusCode !== 200) return refusal(url, answered);
    if (broken !== undefined) return { kind: "broken", cause: broken };
    // The pool closed the connection cleanly before the body's end (xapi closes once it is done with the body,
    // which can be before its last bytes are sent): the request closed unfinished, with no socket error. It broke
    // off like any other connection: the task says how the upload went.
    if ((e as { code?: unknown } | undefined)?.code === "ERR_STREAM_PREMATURE_CLOSE")
      return { kind: "broken", cause: e };
    throw e;
  };
  // Whichever comes first: an answer (a refusal comes before the body is read; a 200 too), or the upload's end.
  let first;
  try {
    first = await Promise.race([
      response.then((res) => ({ res })),
      sending.then(() => ({ sent: true as const })),
    ]);
  } catch (e) {
    sending.catch(() => undefined);
    return failed(e);
  }
  const res = "res" in first ? first.res : await response;
  if (res.statusCode !== 200) {
    body.unpipe();
    sending.catch(() => undefined);
    const out = await refusal(url, res);
    req.destroy();
    return out;
  }
  try {
    await sending;
    // xapi closes the connection once it has dealt with the body: read the (empty) answer to its end.
    await new Promise<void>((resolve, reject) => {
      res.once("end", resolve);
      res.once("error", reject);
      res.resume();
    });
  } catch (e) {
    return failed(e);
  }
  return { kind: "done" };
}
