/**
 * What every HTTP transfer handler shares (ocaml/xapi/xapi_http.ml `assert_credentials_ok` and `with_context`,
 * ocaml/libs/http-lib/http_svr.ml), with responses written byte for byte as xapi writes them (wire.ts):
 *
 * - Authentication by `session_id` (cookie first, then query: `lookup_param_of_req`) or HTTP Basic auth (a
 *   session logged in for the request and out after it). Missing or bad credentials answer 401 with
 *   `WWW-Authenticate: Basic realm="<handler's realm>"`; xapi fails no task at that point (`assert_credentials_ok`
 *   raises `Http.Unauthorised` before any task is touched).
 * - RBAC: the handler's `http/<action>` permission (datamodel.ml `http_actions`: vm-admin for all four). A refusal
 *   fails the client's `task_id` task with RBAC_PERMISSION_DENIED [permission, message] and answers 403.
 * - The task: the client's `task_id`, or one devpool creates; the 200 headers (`Connection: close`, no
 *   Content-Length) carry it in `task-id`, and the body ends when the connection closes (a FIN).
 * - Failures before the headers answer xapi's HTML error pages; after them the connection is closed. In both
 *   cases the task is failed: for clients it is the only reliable error channel.
 */
import type * as http from "node:http";
import type { Socket } from "node:net";
import { PassThrough } from "node:stream";
import type { DevpoolEngine } from "../engine";
import { ServerError } from "../errors";
import { authenticate } from "../api/session";
import { HTTP_ACTION_ROLES, permissionDenied } from "../model/rbac";
import {
  closeConnection,
  escapeHtml,
  forbiddenPage,
  headerBlock,
  internalErrorPage,
  rawConnection,
  returnVersion,
  unauthorisedPage,
  writeRaw,
} from "./wire";

/** A handler's identity in xapi: the realm of its 401s and its RBAC action (`assert_credentials_ok` arguments). */
export interface HandlerSpec {
  readonly realm: string;
  readonly action: keyof typeof HTTP_ACTION_ROLES;
  /** The name of the task devpool creates when the client gives no `task_id`. */
  readonly taskLabel: string;
}

export interface Transfer {
  readonly engine: DevpoolEngine;
  readonly req: http.IncomingMessage;
  /** The connection, written to directly (wire.ts). */
  readonly socket: Socket;
  readonly version: "1.0" | "1.1";
  readonly query: URLSearchParams;
  readonly session: string;
  readonly task: string;
  /** Parameter lookup as xapi's `lookup_param_of_req`: cookie first, then query. */
  param(name: string): string | undefined;
  /** Logs out a session opened for Basic auth. */
  finish(): void;
}

function cookies(req: http.IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) out.set(part.slice(0, eq).trim(), decodeURIComponent(part.slice(eq + 1).trim()));
  }
  return out;
}

function basicAuth(req: http.IncomingMessage): { user: string; pass: string } | undefined {
  const h = req.headers.authorization;
  if (h === undefined || !/^basic /i.test(h)) return undefined;
  const text = Buffer.from(h.slice(6).trim(), "base64").toString("utf8");
  const colon = text.indexOf(":");
  if (colon < 0) return undefined;
  return { user: text.slice(0, colon), pass: text.slice(colon + 1) };
}

/** `Api_errors.to_string`, the text xapi's error pages show for a Server_error (api_errors.ml). */
export function serverErrorText(e: ServerError): string {
  return `Server_error(${e.code}, [ ${e.params.join("; ")} ])`;
}

/** Answers a complete response (an error page) and closes the connection. */
export async function answerAndClose(socket: Socket, bytes: Buffer): Promise<void> {
  await writeRaw(socket, bytes).catch(() => undefined);
  await closeConnection(socket);
}

/** The additional information of xapi's 500 page for a Server_error: its text, HTML-escaped. */
export function errorText(e: ServerError): string {
  return escapeHtml(serverErrorText(e));
}

/** `response_internal_error` for a failure before the 200 headers: the error's text as additional information. */
export function answerInternalError(t: Pick<Transfer, "socket" | "version">, e: ServerError): Promise<void> {
  return answerAndClose(t.socket, internalErrorPage(t.version, errorText(e)));
}

/** Fails the task (if still pending) with the error, as xapi's Api_errors.Server_error. */
export function failTask(t: Pick<Transfer, "engine" | "task">, e: unknown): ServerError {
  const err =
    e instanceof ServerError
      ? e
      : new ServerError("INTERNAL_ERROR", [e instanceof Error ? e.message : String(e)], { cause: e });
  if (t.task !== "" && t.engine.tasks.exists(t.task) && t.engine.tasks.isPending(t.task))
    t.engine.tasks.fail(t.task, err.code, err.params);
  return err;
}

type Credentials =
  { readonly ok: true; readonly session: string; readonly opened: boolean } | { readonly ok: false };

/** `assert_credentials_ok`'s authentication: a valid session, or Basic auth that logs in. */
function credentials(
  engine: DevpoolEngine,
  req: http.IncomingMessage,
  session: string | undefined,
): Credentials {
  try {
    if (session !== undefined) {
      engine.checkSession(session);
      return { ok: true, session, opened: false };
    }
    const basic = basicAuth(req);
    if (basic === undefined) return { ok: false };
    const who = authenticate({ engine }, basic.user, basic.pass);
    return { ok: true, session: engine.openSession(basic.user, "http-basic-auth", who.role), opened: true };
  } catch (e) {
    if (e instanceof ServerError) return { ok: false };
    throw e;
  }
}

/**
 * Authenticates, checks the handler's permission and resolves the task, in xapi's order. On a refusal it answers
 * (401, 403, or 500 for an unknown task_id), closes the connection and returns undefined.
 */
export async function beginTransfer(
  engine: DevpoolEngine,
  req: http.IncomingMessage,
  url: URL,
  spec: HandlerSpec,
): Promise<Transfer | undefined> {
  const socket = rawConnection(req);
  const version = returnVersion(req);
  const jar = cookies(req);
  const param = (name: string) => jar.get(name) ?? url.searchParams.get(name) ?? undefined;
  const taskId = param("task_id");
  const auth = credentials(engine, req, param("session_id"));
  if (!auth.ok) {
    await answerAndClose(socket, unauthorisedPage(version, spec.realm));
    return undefined;
  }
  const finish = () => {
    if (auth.opened) engine.closeSession(auth.session);
  };
  const role = engine.sessionRole(auth.session);
  const allowed = HTTP_ACTION_ROLES[spec.action] ?? [];
  if (role !== undefined && !allowed.includes(role)) {
    // xapi_http.ml `rbac_raise`: the client's task fails with the permission and the message, then 403.
    const denied = permissionDenied(`http/${spec.action}`, allowed);
    if (taskId !== undefined && engine.tasks.exists(taskId))
      engine.tasks.fail(taskId, denied.code, denied.params);
    finish();
    await answerAndClose(socket, forbiddenPage(version));
    return undefined;
  }
  if (taskId !== undefined && !engine.tasks.exists(taskId)) {
    finish();
    await answerInternalError({ socket, version }, new ServerError("HANDLE_INVALID", ["task", taskId]));
    return undefined;
  }
  const task = taskId ?? engine.tasks.create(spec.taskLabel, "", { internal: true });
  return {
    engine,
    req,
    socket,
    version,
    query: url.searchParams,
    session: auth.session,
    task,
    param,
    finish,
  };
}

/** Sends a handler's 200 header block (wire.ts `http200Close` and the handler's own lines). */
export function sendHeaders(t: Transfer, lines: readonly string[]): Promise<void> {
  return writeRaw(t.socket, headerBlock(lines));
}

/**
 * The request body as a stream that a consumer may abandon without destroying the request (an async iterator over
 * the request itself would destroy the socket when the consumer stops early, and the client would see EPIPE
 * instead of reading the task). A connection closed by the client ends the body: the xen-api client closes its
 * socket once an unknown-length body is written (its index.mjs `putResource`).
 */
export function requestBody(req: http.IncomingMessage, counter: { bytes: number }): PassThrough {
  const body = new PassThrough({ highWaterMark: 1024 * 1024 });
  req.on("data", (chunk: Buffer) => {
    counter.bytes += chunk.length;
  });
  const end = () => {
    if (!body.writableEnded && !body.destroyed) body.end();
  };
  req.on("error", end);
  req.on("aborted", end);
  req.on("close", end);
  req.pipe(body);
  return body;
}

/**
 * Reads and drops the rest of the request, so the client finishes sending before the connection closes (closing a
 * socket with unread data makes the kernel answer with a reset, and the client an EPIPE instead of the task).
 */
export async function drainRequest(req: http.IncomingMessage, body: PassThrough): Promise<void> {
  req.unpipe(body);
  body.destroy();
  if (req.readableEnded || req.destroyed) return;
  await new Promise<void>((resolve) => {
    req.on("end", resolve);
    req.on("close", resolve);
    req.on("error", () => resolve());
    req.resume();
  });
}
