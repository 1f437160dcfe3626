/**
 * devpool's HTTP(S) front: `POST /jsonrpc` is JSON-RPC, any other POST is XML-RPC (`/`, `/RPC2`, and `/xmlrpc`
 * which the `xen-api` client uses: xapi dispatches on the longest matching prefix, so it lands on `/`), and the
 * transfer handlers by prefix (`/export/` with a slash works too). Replies follow xapi_http.ml: `text/xml` or
 * exactly `application/json` (the `xen-api` client compares the header verbatim), CORS headers, and HTTP 500 with an
 * HTML page for bodies that are not RPC requests.
 */
import * as http from "node:http";
import * as https from "node:https";
import type { DevpoolEngine } from "./engine";
import { messageOf } from "../lib/errors";
import { MalformedRequestError } from "./errors";
import { exportVm } from "./http/export";
import { importVm } from "./http/import";
import { exportRawVdi, importRawVdi } from "./http/raw-vdi";
import {
  closeConnection,
  escapeHtml,
  forbiddenPage,
  internalErrorPage,
  methodNotImplementedPage,
  rawConnection,
  returnVersion,
  writeRaw,
} from "./http/wire";
import * as jsonrpc from "./rpc/jsonrpc";
import * as xmlrpc from "./rpc/xmlrpc";
import type { TlsIdentity } from "./tls";

/** RPC bodies are small; anything larger is refused rather than buffered. */
const MAX_RPC_BODY_BYTES = 64 * 1024 * 1024;

export type RouteHandler = (
  engine: DevpoolEngine,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
) => void | Promise<void>;

/** Transfer handlers by method and path prefix; longest prefix wins (http_svr.ml Radix_tree.longest_prefix). */
export interface Routes {
  readonly GET: Readonly<Record<string, RouteHandler>>;
  readonly PUT: Readonly<Record<string, RouteHandler>>;
}

export const DEFAULT_ROUTES: Routes = {
  GET: { "/export": exportVm, "/export_raw_vdi": exportRawVdi },
  PUT: { "/import": importVm, "/import_raw_vdi": importRawVdi },
};

const CORS = { "Access-Control-Allow-Origin": "*", "Access-Control-Allow-Headers": "X-Requested-With" };

async function readBody(req: http.IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_RPC_BODY_BYTES)
      throw new MalformedRequestError(`RPC body larger than ${MAX_RPC_BODY_BYTES} bytes`);
    parts.push(chunk);
  }
  return Buffer.concat(parts).toString("utf8");
}

function reply(res: http.ServerResponse, contentType: string, body: string): void {
  res.writeHead(200, { ...CORS, "Content-Type": contentType, "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

async function handleRpc(
  engine: DevpoolEngine,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  path: string,
) {
  const body = await readBody(req);
  if (path === "/jsonrpc" || path.startsWith("/jsonrpc/")) {
    const call = jsonrpc.parseCall(body);
    const out = await engine.call(call.method, call.params);
    reply(
      res,
      "application/json",
      out.ok ? jsonrpc.successResponse(call, out.value) : jsonrpc.failureResponse(call, out.code, out.params),
    );
    return;
  }
  const call = xmlrpc.parseCall(body);
  const out = await engine.call(call.method, call.params);
  const text = !out.ok
    ? xmlrpc.failureResponse(out.code, out.params)
    : out.unwrapped
      ? xmlrpc.rawResponse(out.value)
      : xmlrpc.successResponse(out.value);
  reply(res, "text/xml", text);
}

function route(table: Readonly<Record<string, RouteHandler>>, path: string): RouteHandler | undefined {
  let best: string | undefined;
  for (const prefix of Object.keys(table)) {
    if (path.startsWith(prefix) && (best === undefined || prefix.length > best.length)) best = prefix;
  }
  return best === undefined ? undefined : table[best];
}

/** Answers a complete error response straight on the connection (wire.ts) and closes it, as Http_svr does. */
function answerRaw(req: http.IncomingMessage, bytes: Buffer): void {
  const socket = rawConnection(req);
  void writeRaw(socket, bytes)
    .catch(() => undefined)
    .then(() => closeConnection(socket));
}

export function createRequestListener(engine: DevpoolEngine, routes: Routes) {
  return (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = new URL(req.url ?? "/", "http://devpool");
    const run = async () => {
      switch (req.method) {
        case "POST":
          return handleRpc(engine, req, res, url.pathname);
        case "OPTIONS":
          res.writeHead(200, { ...CORS, "Content-Length": 0 });
          res.end();
          return;
        case "GET":
        case "PUT": {
          const handler = route(routes[req.method], url.pathname);
          if (handler !== undefined) return handler(engine, req, res, url);
          // http_svr.ml: a path no handler claims gets TE.empty's `default_callback`, a 403.
          return answerRaw(req, forbiddenPage("1.1"));
        }
        default:
          return answerRaw(req, methodNotImplementedPage(returnVersion(req), req.method ?? "?"));
      }
    };
    run().catch((e: unknown) => {
      // http_svr.ml `handle_one`: any other exception is a 500 page naming it (escape_html of Printexc).
      const detail =
        e instanceof MalformedRequestError ? `Malformed_method_request(${e.message})` : messageOf(e);
      if (res.headersSent) res.destroy();
      else answerRaw(req, internalErrorPage(returnVersion(req), escapeHtml(detail)));
    });
  };
}

export function createServer(
  engine: DevpoolEngine,
  routes: Routes,
  tls: TlsIdentity | undefined,
): http.Server | https.Server {
  const listener = createRequestListener(engine, routes);
  // xapi's parser does not insist on a Host header (http_svr.ml `read_request`); Node's does unless told.
  const options = { requireHostHeader: false };
  const server =
    tls === undefined
      ? http.createServer(options, listener)
      : https.createServer({ ...options, cert: tls.cert, key: tls.key }, listener);
  // Transfers of many GiB and event.from long polls outlive Node's default request timeout (300 s).
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 5_000;
  return server;
}
