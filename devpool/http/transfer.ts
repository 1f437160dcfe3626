/**
 * What every HTTP transfer handler shares (ocaml/xapi/xapi_http.ml,
 * ocaml/libs/http-lib/http_svr.ml):
 * authentication by `session_id` (cookie first, then query) or HTTP Basic auth, the task (the client's `task_id`,
 * or one devpool creates and names in the `task-id` header), the 200 headers sent before any body byte with
 * `Connection: close` and no Content-Length (the body ends when the connection closes), and failures: an HTML 500
 * before the headers, a cut connection after them, and in both cases a failed task, the only reliable error channel.
 */
import type * as http from "node:http";
import { PassThrough } from "node:stream";
import type { DevpoolEngine } from "../engine";
import { ServerError } from "../errors";
import { authenticate } from "../api/session";

export interface Transfer {
  readonly engine: DevpoolEngine;
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
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

/** xapi's error page, as sent before any header of a transfer (http_svr.ml `response_internal_error`). */
export function sendHtmlError(
  res: http.ServerResponse,
  status: number,
  reason: string,
  detail: string,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const escaped = detail.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const body =
    `<html><body><h1>HTTP ${status} ${reason}</h1>An unexpected error occurred; please wait a while and try ` +
    `again. If the problem persists, please contact your support representative.<h1> Additional information ` +
    `</h1>${escaped}</body></html>`;
  res.writeHead(status, reason, {
    Connection: "close",
    "Content-Type": "text/html",
    "Content-Length": Buffer.byteLength(body),
  });
  res.end(body);
}

/** Fails the task (if still pending) with the error, reporting it as xapi's Api_errors.Server_error text. */
export function failTask(t: Pick<Transfer, "engine" | "task">, e: unknown): ServerError {
  const err =
    e instanceof ServerError
      ? e
      : new ServerError("INTERNAL_ERROR", [e instanceof Error ? e.message : String(e)]);
  if (t.task !== "" && t.engine.tasks.exists(t.task)) t.engine.tasks.fail(t.task, err.code, err.params);
  return err;
}

export function serverErrorText(e: ServerError): string {
  return `Api_errors.Server_error("${e.code}", [ ${e.params.map((p) => `"${p}"`).join("; ")} ])`;
}

/**
 * Authenticates and resolves the task. On failure, answers (401, or 500 for a bad task_id) and returns undefined.
 */
export function beginTransfer(
  engine: DevpoolEngine,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
  taskLabel: string,
): Transfer | undefined {
  const jar = cookies(req);
  const param = (name: string) => jar.get(name) ?? url.searchParams.get(name) ?? undefined;
  const taskId = param("task_id");
  if (taskId !== undefined && !engine.tasks.exists(taskId)) {
    sendHtmlError(
      res,
      500,
      "Internal Error",
      serverErrorText(new ServerError("HANDLE_INVALID", ["task", taskId])),
    );
    return undefined;
  }
  let session = param("session_id");
  let opened = false;
  try {
    if (session !== undefined) {
      engine.checkSession(session);
    } else {
      const basic = basicAuth(req);
      if (basic === undefined) throw new ServerError("SESSION_AUTHENTICATION_FAILED", []);
      authenticate({ engine }, basic.user, basic.pass);
      session = engine.openSession(basic.user, "http-basic-auth");
      opened = true;
    }
  } catch {
    // xapi_http.ml: the task is failed with SESSION_AUTHENTICATION_FAILED and no parameters; the answer is 401.
    if (taskId !== undefined) engine.tasks.fail(taskId, "SESSION_AUTHENTICATION_FAILED", []);
    res.writeHead(401, "Unauthorised", {
      Connection: "close",
      "WWW-Authenticate": 'Basic realm="xapi"',
      "Content-Type": "text/html",
      "Content-Length": 0,
    });
    res.end();
    return undefined;
  }
  const task = taskId ?? engine.tasks.create(taskLabel, "", { internal: true });
  const s = session;
  return {
    engine,
    req,
    res,
    query: url.searchParams,
    session: s,
    task,
    param,
    finish: () => {
      if (opened) engine.closeSession(s);
    },
  };
}

/**
 * Sends xapi's 200 headers now (Http.http_200_ok): `Connection: close`, no Content-Length and no chunked encoding,
 * so the body is delimited by the connection closing, as xapi's is.
 */
export function sendOkHeaders(t: Transfer, contentType: string, extra: Record<string, string> = {}): void {
  t.res.useChunkedEncodingByDefault = false;
  t.res.sendDate = false;
  t.res.writeHead(200, "OK", {
    Connection: "close",
    "Cache-Control": "no-cache, no-store",
    "task-id": t.task,
    "Content-Type": contentType,
    ...extra,
  });
  t.res.flushHeaders();
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

/** Reads and drops the rest of the request, so the client finishes sending before the connection closes. */
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
