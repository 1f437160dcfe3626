/**
 * HTTP responses written byte for byte as xapi writes them, straight on the connection (Node's ServerResponse
 * cannot: it always says HTTP/1.1, adds Date and Transfer-Encoding, and orders headers its own way).
 *
 * - Header blocks are xapi's `Http_svr.headers`: the lines in order, each ended by CRLF, then an empty line
 *   (ocaml/libs/http-lib/http_svr.ml). Transfer handlers compose theirs from `Http.http_200_ok` and friends
 *   (ocaml/libs/http-lib/http.ml): no Content-Length, `Connection: close`.
 * - Error pages are `Http_svr.response_error_html` (via `Http.Response.to_wire_string`): status line in the
 *   request's HTTP version, `Content-Length`, then `Content-Type: text/html`, `Connection: close`,
 *   `Cache-Control: no-cache, no-store`, any extra header, and the HTML body.
 * - The connection then ends as `Http_svr.handle_connection` ends it once `req.close` is set: `Unix.close` on the
 *   socket, a FIN after the last byte (a TLS close_notify first when the server speaks TLS).
 */
import type * as http from "node:http";
import type { Socket } from "node:net";

/** `Http.http_200_ok ~keep_alive:false ~version ()`. */
export function http200Close(version: "1.0" | "1.1"): string[] {
  return [`HTTP/${version} 200 OK`, "Connection: close", "Cache-Control: no-cache, no-store"];
}

/** `Http.http_400_badrequest ()` and `Http.http_403_forbidden ()`: headers only, no body, no length. */
export function httpHeadersOnly(code: 400 | 403 | 404, version: "1.0" | "1.1" = "1.1"): string[] {
  const reason = { 400: "Bad Request", 403: "Forbidden", 404: "Not Found" }[code];
  return [`HTTP/${version} ${code} ${reason}`, "Connection: close", "Cache-Control: no-cache, no-store"];
}

/** `Http_svr.get_return_version`: 1.0 when the request said HTTP/1.0, 1.1 otherwise. */
export function returnVersion(req: http.IncomingMessage): "1.0" | "1.1" {
  return req.httpVersion === "1.0" ? "1.0" : "1.1";
}

/** `Http_svr.headers`: the header lines and the empty line that ends them. */
export function headerBlock(lines: readonly string[]): Buffer {
  return Buffer.from(lines.map((l) => `${l}\r\n`).join("") + "\r\n", "latin1");
}

/** xapi's `escape_html` in http_svr.ml, for exception text in error pages. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** `Http_svr.response_error_html`: a complete error response with its HTML body. */
export function errorPage(
  version: "1.0" | "1.1",
  code: number,
  reason: string,
  extraHeaders: readonly string[],
  body: string,
): Buffer {
  const bytes = Buffer.from(body, "utf8");
  const head = headerBlock([
    `HTTP/${version} ${code} ${reason}`,
    `Content-Length: ${bytes.length}`,
    "Content-Type: text/html",
    "Connection: close",
    "Cache-Control: no-cache, no-store",
    ...extraHeaders,
  ]);
  return Buffer.concat([head, bytes]);
}

/** `Http_svr.response_internal_error ~req ?extra`: 500, with the exception's text as additional information. */
export function internalErrorPage(version: "1.0" | "1.1", extra: string | undefined): Buffer {
  const more = extra === undefined ? "" : `<h1> Additional information </h1>${extra}`;
  return errorPage(
    version,
    500,
    "Internal Error",
    [],
    "<html><body><h1>HTTP 500 internal server error</h1>An unexpected error occurred; please wait a while and " +
      `try again. If the problem persists, please contact your support representative.${more}</body></html>`,
  );
}

/** `Http_svr.response_unauthorised ~req realm`: 401 with `WWW-Authenticate: Basic realm="<realm>"`. */
export function unauthorisedPage(version: "1.0" | "1.1", realm: string): Buffer {
  return errorPage(
    version,
    401,
    "Unauthorised",
    [`WWW-Authenticate: Basic realm="${realm}"`],
    "<html><body><h1>HTTP 401 unauthorised</h1>Please check your credentials and retry.</body></html>",
  );
}

/** `Http_svr.response_forbidden ~req`: what a handler's `Http.Forbidden` (an RBAC refusal, say) becomes. */
export function forbiddenPage(version: "1.0" | "1.1"): Buffer {
  return errorPage(
    version,
    403,
    "Forbidden",
    [],
    "<html><body><h1>HTTP 403 forbidden</h1>Access to the requested resource is forbidden.</body></html>",
  );
}

/** `Http_svr.response_method_not_implemented ~req`. */
export function methodNotImplementedPage(version: "1.0" | "1.1", method: string): Buffer {
  return errorPage(
    version,
    501,
    "Method not implemented",
    [],
    `<html><body><h1>HTTP 501 Method Not Implemented</h1><p>${method} not supported.<br /></p></body></html>`,
  );
}

/**
 * The connection of a request, taken from Node's HTTP machinery: from here on devpool writes the response bytes
 * itself and never touches the ServerResponse, which would add its own status line and headers.
 */
export function rawConnection(req: http.IncomingMessage): Socket {
  return req.socket;
}

/** Writes bytes, resolving once the socket has taken them (its buffer drained, or written at once). */
export function writeRaw(socket: Socket, bytes: Buffer): Promise<void> {
  if (socket.destroyed || !socket.writable) return Promise.reject(new Error("the connection is closed"));
  return new Promise((resolve, reject) => {
    const onClose = () => reject(new Error("the client closed the connection"));
    socket.once("close", onClose);
    const flushed = socket.write(bytes, () => undefined);
    const done = () => {
      socket.off("close", onClose);
      resolve();
    };
    if (flushed) done();
    else socket.once("drain", done);
  });
}

/** How long a client may keep its half of a finished connection open before devpool drops it. */
const LINGER_MS = 30_000;

/**
 * Ends the connection as `Unix.close` does once everything written is sent: a FIN (after a TLS close_notify),
 * never a reset. Resolves once the FIN is sent; a peer that never closes its side is dropped after LINGER_MS.
 */
export function closeConnection(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed || socket.writableEnded) {
      resolve();
      return;
    }
    socket.end(() => {
      const linger = setTimeout(() => socket.destroy(), LINGER_MS);
      linger.unref();
      socket.once("close", () => clearTimeout(linger));
      resolve();
    });
  });
}
