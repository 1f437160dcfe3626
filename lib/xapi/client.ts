// ts-node (the Pulumi runtime) loads only files reachable from imports; the ambient xen-api types must be named.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="./xen-api.d.ts" />
/**
 * withXapi: one logged-in XAPI session per operation, on connections verified by lib/xapi/trust.ts, with a
 * timeout on every request. See lib/xapi/README.md.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import type { Agent } from "undici";
import type { Xapi } from "xen-api";
import { isXcpngError, messageOf } from "../errors";
import type { XmlRpcValue } from "../xva/xmlrpc";
import { PoolConnectionError, XapiError } from "./errors";
import { createPoolAgent, useDispatcher } from "./rpc-dispatcher";
import { isSettled, type TaskReader, type TaskRecord, taskOutcome, waitForTask } from "./tasks";
import { DEFAULT_XAPI_TIMEOUTS, withDeadline, type XapiTimeouts } from "./timeouts";
import { download, type TransferContext, upload } from "./transfer";
import type { PoolTrust } from "./trust";

/** Where the pool is and how to trust it (non-secret; the password is passed separately). */
export interface PoolTarget extends PoolTrust {
  readonly url: string;
  readonly username: string;
  readonly caCertificate?: string;
  /** Lowercase hex SHA-256 of the pool certificate, without colons. */
  readonly certificateFingerprint?: string;
  readonly insecureSkipVerify: boolean;
}

export interface WithXapiOptions {
  /** Overrides of {@link DEFAULT_XAPI_TIMEOUTS}. */
  readonly timeouts?: Partial<XapiTimeouts>;
}

export interface PutResourceOptions {
  /** Exact length of the body: sent as Content-Length (xapi refuses chunked uploads). */
  readonly lengthBytes: number;
  /** Name of the task the pool shows for the transfer. @default "xcpng-templates: PUT <path>" */
  readonly taskLabel?: string;
  /** Called as bytes go out. */
  readonly onProgress?: (sentBytes: number, totalBytes: number) => void;
}

/** A logged-in XAPI session for one provider operation. */
export interface XapiSession {
  /** A read-only call (`*.get_*`): retried on transient network errors. */
  read<T>(method: string, ...args: unknown[]): Promise<T>;
  /** A call that changes the pool: never retried (it may have happened). */
  write<T>(method: string, ...args: unknown[]): Promise<T>;
  /** GET an HTTP handler (e.g. /export) with the session; the caller consumes the body. */
  getResource(
    path: string,
    query: Record<string, string>,
  ): Promise<{ statusCode: number; headers: IncomingHttpHeaders; body: Readable }>;
  /**
   * PUT a body to an HTTP handler (e.g. /import) with a task, and resolve with the task's decoded result once the
   * pool completes it (for /import: the new VM refs). A failure is the task's {@link XapiError} when the pool
   * reported one, else a {@link PoolConnectionError}.
   */
  putResource(
    path: string,
    query: Record<string, string>,
    body: Readable,
    options: PutResourceOptions,
  ): Promise<XmlRpcValue | undefined>;
}

/** Socket failures worth another try for a read (undici's and Node's codes): the call may never have arrived. */
const TRANSIENT = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED", "UND_ERR_SOCKET"]);
const UNREACHABLE = new Set([
  ...TRANSIENT,
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CLOSED",
]);
const TIMED_OUT = new Set([
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "ETIMEDOUT",
]);

function codeOf(e: unknown): string | undefined {
  const c = (e as { code?: unknown } | undefined)?.code;
  return typeof c === "string" ? c : undefined;
}

/** Our error for whatever a xen-api call threw. */
function explain(e: unknown, target: PoolTarget, what: string): Error {
  if (isXcpngError(e)) return e;
  const wire = XapiError.fromXenApi(e, what);
  if (wire?.code === "SESSION_AUTHENTICATION_FAILED") {
    return new PoolConnectionError(
      "POOL_AUTH_FAILED",
      `pool: ${target.url} refused the credentials of user "${target.username}" (SESSION_AUTHENTICATION_FAILED). ` +
        `Check pool.username and the secret poolPassword ('pulumi config set --secret poolPassword').`,
      { cause: wire },
    );
  }
  if (wire !== undefined) return wire;
  const code = codeOf(e);
  if (code !== undefined && UNREACHABLE.has(code)) {
    return new PoolConnectionError(
      "POOL_UNREACHABLE",
      `pool: ${what} on ${target.url} failed: the connection ended (${code}). Check that the pool is up, then retry.`,
      { cause: e },
    );
  }
  if (code !== undefined && TIMED_OUT.has(code)) {
    return new PoolConnectionError(
      "POOL_TIMEOUT",
      `pool: ${what} on ${target.url} got no answer in time (${code}). Check that xapi runs on the pool master.`,
      { cause: e },
    );
  }
  return new PoolConnectionError(
    "POOL_PROTOCOL_ERROR",
    `pool: ${what} on ${target.url} failed: ${messageOf(e)}. Does pool.url (scheme, host, port) name a XAPI?`,
    { cause: e },
  );
}

async function retrying<T>(fn: () => Promise<T>, tries: number): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      const code = codeOf(e);
      if (i >= tries || code === undefined || !TRANSIENT.has(code)) throw e;
      await new Promise((r) => setTimeout(r, 200 * 2 ** i));
    }
  }
}

function parsePoolUrl(target: PoolTarget): URL {
  let url: URL | undefined;
  try {
    url = new URL(target.url);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== "https:" && url.protocol !== "http:")) {
    throw new PoolConnectionError(
      "POOL_PROTOCOL_ERROR",
      `pool: pool.url must be an https:// (or http://) URL of the pool master, but "${target.url}" was given`,
    );
  }
  return url;
}

/**
 * Logs in, runs `fn` with the session, and logs out whatever happens: one session per provider operation,
 * so sessions never pile up on the pool (xapi keeps at most 500 per user and evicts the oldest).
 */
export async function withXapi<T>(
  target: PoolTarget,
  password: string,
  fn: (session: XapiSession) => Promise<T>,
  options: WithXapiOptions = {},
): Promise<T> {
  const base = parsePoolUrl(target);
  const timeouts: XapiTimeouts = { ...DEFAULT_XAPI_TIMEOUTS, ...options.timeouts };
  const { Xapi } = (await import("xen-api")) as typeof import("xen-api");
  const xapi: Xapi = new Xapi({
    url: target.url,
    auth: { user: target.username, password },
    // Unused: the dispatcher below verifies every connection; false, so that if it were ever bypassed,
    // xen-api's own would still verify against the system store (fail closed).
    allowUnauthorized: false,
    watchEvents: false,
    // Backstop only: our deadline (callTimeoutMs) ends a call first.
    callTimeout: 2 * timeouts.callTimeoutMs + timeouts.connectTimeoutMs,
    httpInactivityTimeout: timeouts.callTimeoutMs,
    // One retry policy for reads, ours (below): no second one inside xen-api.
    roCallRetryOptions: { tries: 1 },
  });
  const agent = createPoolAgent(target, timeouts);
  try {
    useDispatcher(xapi, agent);
    const host = base.host;
    const call = <R>(method: string, args: unknown[]) =>
      withDeadline(
        xapi.call<R>(method, ...args),
        timeouts.callTimeoutMs,
        `the call ${method} to ${host}`,
        "callTimeoutMs",
      );
    try {
      await retrying(
        () => withDeadline(xapi.connect(), timeouts.callTimeoutMs, `the login to ${host}`, "callTimeoutMs"),
        3,
      );
    } catch (e) {
      throw explain(e, target, "the login");
    }
    const read = <R>(method: string, ...args: unknown[]) =>
      retrying(() => call<R>(method, args), 4).catch((e: unknown) => {
        throw explain(e, target, method);
      });
    const write = <R>(method: string, ...args: unknown[]) =>
      call<R>(method, args).catch((e: unknown) => {
        throw explain(e, target, method);
      });
    const ctx: TransferContext = { base, trust: target, timeouts };
    const session: XapiSession = {
      read,
      write,
      getResource: async (path, query) => {
        const r = await download(ctx, path, { ...query, session_id: sessionId(xapi, target) });
        return { statusCode: r.statusCode, headers: r.headers, body: r.body };
      },
      putResource: (path, query, body, opts) =>
        putWithTask(ctx, { read, write, sessionId: () => sessionId(xapi, target) }, path, query, body, opts),
    };
    return await fn(session);
  } finally {
    await logout(xapi, agent, timeouts);
  }
}

/** The session of a connected client (xen-api's getter asserts it is connected; it is not after a lost session). */
function sessionId(xapi: Xapi, target: PoolTarget): string {
  if (xapi.status !== "connected") {
    throw new PoolConnectionError(
      "POOL_AUTH_FAILED",
      `pool: the session with ${target.url} was lost (the pool invalidated it and the login again failed); retry.`,
    );
  }
  return xapi.sessionId;
}

/** The longest wait for the logout (and anything still in flight) before the connections are cut. */
const LOGOUT_GRACE_MS = 10_000;

/**
 * xen-api's disconnect() sends session.logout without waiting for it; closing the agent waits for what is in
 * flight (the logout), bounded, then every connection is cut.
 */
async function logout(xapi: Xapi, agent: Agent, timeouts: XapiTimeouts): Promise<void> {
  await xapi.disconnect().catch(() => undefined);
  const grace = Math.min(timeouts.callTimeoutMs, LOGOUT_GRACE_MS);
  await withDeadline(agent.close(), grace, "the logout", "callTimeoutMs").catch(() => undefined);
  await agent.destroy().catch(() => undefined);
}

interface Caller {
  readonly read: <R>(method: string, ...args: unknown[]) => Promise<R>;
  readonly write: <R>(method: string, ...args: unknown[]) => Promise<R>;
  readonly sessionId: () => string;
}

/** putResource: a task, the upload on it, and the task's outcome. */
async function putWithTask(
  ctx: TransferContext,
  x: Caller,
  path: string,
  query: Record<string, string>,
  body: Readable,
  opts: PutResourceOptions,
): Promise<XmlRpcValue | undefined> {
  const what = `PUT ${path}`;
  const readTask: TaskReader = (m, ref) => x.read<TaskRecord>(m, ref);
  const task = await x.write<string>("task.create", opts.taskLabel ?? `xcpng-templates: ${what}`, "");
  let last: TaskRecord | undefined;
  try {
    const sent = await upload(
      ctx,
      path,
      { ...query, session_id: x.sessionId(), task_id: task },
      body,
      opts.lengthBytes,
      opts.onProgress,
    );
    if (sent.kind === "broken") {
      // xapi reports a failed upload on its task and closes the connection: look there first.
      // (A success is possible too: the pool had all it needed when the connection went.)
      last = await waitForTask(
        readTask,
        task,
        Math.min(ctx.timeouts.callTimeoutMs, 10_000),
        what,
        true,
      ).catch(() => undefined);
      if (last !== undefined && isSettled(last)) return taskOutcome(last, task, what);
      throw new PoolConnectionError(
        "POOL_UNREACHABLE",
        `pool: ${what} on ${ctx.base.host} broke off (${codeOf(sent.cause) ?? messageOf(sent.cause)}) and the ` +
          `pool reported no failure on its task ${task}. Check that the pool is up, then retry.`,
        { cause: sent.cause },
      );
    }
    if (sent.kind === "refused") {
      last = await readTask("task.get_record", task);
      if (isSettled(last) && last.status !== "success") taskOutcome(last, task, what);
      const page = sent.text
        .replace(/<[^>]*>/g, " ")
        .replace(/\s+/g, " ")
        .trim()
        .slice(0, 300);
      throw new PoolConnectionError(
        sent.statusCode === 401 ? "POOL_AUTH_FAILED" : "POOL_PROTOCOL_ERROR",
        `pool: ${what} on ${ctx.base.host} answered HTTP ${sent.statusCode}: ${page}`,
      );
    }
    last = await waitForTask(readTask, task, ctx.timeouts.transferIdleTimeoutMs, what);
    return taskOutcome(last, task, what);
  } finally {
    // A settled task is ours to remove; a pending one (we gave up) is cancelled and left to xapi's GC.
    const settled = last !== undefined && isSettled(last);
    await (settled ? x.write("task.destroy", task) : x.write("task.cancel", task)).catch(() => undefined);
  }
}
