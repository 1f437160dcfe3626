/**
 * devpool's HTTP transfer responses at the byte level, against what xapi's handlers write (ocaml/xapi/export.ml,
 * import.ml, export_raw_vdi.ml, import_raw_vdi.ml, xapi_http.ml; ocaml/libs/http-lib/http.ml and http_svr.ml):
 * status line and HTTP version, header names, spacing and order, no Content-Length on transfers, error pages, and
 * how the connection ends (a FIN after the last byte, never a reset). A raw TCP client reads every byte.
 */
import * as net from "node:net";
import { expect } from "chai";
import { type DiskVm, makeDiskVm } from "../testing/fixtures";
import { startTestPool, TEST_PASSWORD, TEST_USER } from "../testing/tmp";

type TestPool = Awaited<ReturnType<typeof startTestPool>>;

interface Exchange {
  /** Every byte the server sent. */
  readonly bytes: Buffer;
  /** How the server ended the connection: "fin" (an orderly end), "reset", or "open" (still open at timeout). */
  readonly end: "fin" | "reset" | "open";
}

/** Sends raw request bytes and reads until the server ends the connection. */
function exchange(
  port: number,
  head: string,
  body: Buffer = Buffer.alloc(0),
  timeoutMs = 10_000,
): Promise<Exchange> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    const sock = net.connect({ host: "127.0.0.1", port });
    let settled = false;
    const done = (end: Exchange["end"]) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ bytes: Buffer.concat(parts), end });
    };
    const timer = setTimeout(() => done("open"), timeoutMs);
    sock.on("data", (c: Buffer) => parts.push(c));
    sock.on("end", () => done("fin"));
    sock.on("error", (e: NodeJS.ErrnoException) => done(e.code === "ECONNRESET" ? "reset" : "open"));
    sock.write(Buffer.concat([Buffer.from(head.replace(/\n/g, "\r\n"), "latin1"), body]));
  });
}

/** The header block (up to the empty line) and the rest. */
function split(bytes: Buffer): { head: string; body: Buffer } {
  const at = bytes.indexOf("\r\n\r\n");
  expect(at, "a header block ended by an empty line").to.be.greaterThan(0);
  return { head: bytes.subarray(0, at + 4).toString("latin1"), body: bytes.subarray(at + 4) };
}

const REF = "OpaqueRef:[0-9a-f-]{36}";
/** Large enough for the fixture's data at 37 MiB. */
const DISK = 40 * 1024 * 1024;

/** xapi's `Http_svr.response_error_html` bytes for a page. */
function page(version: string, code: string, extra: string[], body: string): string {
  return (
    [
      `HTTP/${version} ${code}`,
      `Content-Length: ${Buffer.byteLength(body)}`,
      "Content-Type: text/html",
      "Connection: close",
      "Cache-Control: no-cache, no-store",
      ...extra,
    ]
      .map((l) => `${l}\r\n`)
      .join("") +
    "\r\n" +
    body
  );
}

const INTERNAL =
  "<html><body><h1>HTTP 500 internal server error</h1>An unexpected error occurred; please wait a while and try " +
  "again. If the problem persists, please contact your support representative.<h1> Additional information </h1>";
const UNAUTHORISED =
  "<html><body><h1>HTTP 401 unauthorised</h1>Please check your credentials and retry.</body></html>";

describe("devpool HTTP transfers, byte for byte as xapi's handlers", function () {
  this.timeout(60_000);
  let pool: TestPool;
  let vm: DiskVm;

  before(async () => {
    pool = await startTestPool();
    vm = await makeDiskVm(pool.engine, TEST_USER, TEST_PASSWORD, "wire", DISK);
  });
  after(async () => {
    await pool.cleanup();
  });

  it("GET /export: HTTP/1.0 200, export.ml's headers in order, no length, the XVA, then a FIN", async () => {
    const r = await exchange(
      pool.port,
      `GET /export?ref=${vm.vm}&session_id=${vm.session} HTTP/1.1\nHost: x\n\n`,
    );
    expect(r.end).to.equal("fin");
    const { head, body } = split(r.bytes);
    expect(head).to.match(
      new RegExp(
        "^HTTP/1\\.0 200 OK\r\nConnection: close\r\nCache-Control: no-cache, no-store\r\n" +
          `task-id: ${REF}\r\nServer: xapi/25\\.6\r\nContent-Type: application/octet-stream\r\n` +
          'Content-Disposition: attachment; filename="export.xva"\r\n\r\n$',
      ),
    );
    // A plain tar whose first member is ova.xml; the archive ends with the connection.
    expect(body.subarray(0, 7).toString("latin1")).to.equal("ova.xml");
    expect(body.length % 512).to.equal(0);
  });

  it("PUT /import: HTTP/1.1 200 with import.ml's `task-id:` (no space) before the body is read, then a FIN", async () => {
    const xva = await exchange(pool.port, `GET /export?ref=${vm.vm}&session_id=${vm.session} HTTP/1.1\n\n`);
    const archive = split(xva.bytes).body;
    const r = await exchange(
      pool.port,
      `PUT /import?session_id=${vm.session} HTTP/1.1\nContent-Length: ${archive.length}\n\n`,
      archive,
    );
    expect(r.end).to.equal("fin");
    const { head, body } = split(r.bytes);
    expect(head).to.match(
      new RegExp(
        "^HTTP/1\\.1 200 OK\r\nConnection: close\r\nCache-Control: no-cache, no-store\r\n" +
          `task-id:${REF}\r\nContent-Type: application/octet-stream\r\n\r\n$`,
      ),
    );
    expect(body.length).to.equal(0);
  });

  it("GET /export_raw_vdi: export_raw_vdi.ml's `task-id:` and `Content-Type:` without spaces, the disk, a FIN", async () => {
    const r = await exchange(
      pool.port,
      `GET /export_raw_vdi?vdi=${vm.vdi}&session_id=${vm.session} HTTP/1.1\n\n`,
    );
    expect(r.end).to.equal("fin");
    const { head, body } = split(r.bytes);
    expect(head).to.match(
      new RegExp(
        "^HTTP/1\\.1 200 OK\r\nConnection: close\r\nCache-Control: no-cache, no-store\r\n" +
          `task-id:${REF}\r\nContent-Type:application/octet-stream\r\n` +
          `Content-Disposition: attachment; filename="${vm.vdiUuid}\\.raw"\r\n\r\n$`,
      ),
    );
    expect(body.length).to.equal(DISK);
    expect(body.subarray(0, 4096).equals(vm.written.get(0)!)).to.equal(true);
  });

  for (const [path, method, realm] of [
    ["/export?ref=x", "GET", "VM.export"],
    ["/import", "PUT", "VM.import"],
    ["/export_raw_vdi?vdi=x", "GET", "VDI.export_raw"],
    ["/import_raw_vdi?vdi=x", "PUT", "VDI.import"],
  ] as const) {
    it(`answers ${method} ${path.replace(/\?.*/, "")} without credentials with the 401 page of realm ${realm}`, async () => {
      const r = await exchange(pool.port, `${method} ${path} HTTP/1.1\nContent-Length: 0\n\n`);
      expect(r.end).to.equal("fin");
      expect(r.bytes.toString("latin1")).to.equal(
        page("1.1", "401 Unauthorised", [`WWW-Authenticate: Basic realm="${realm}"`], UNAUTHORISED),
      );
    });
  }

  it("answers an HTTP/1.0 request's error page in HTTP/1.0 (Http_svr.get_return_version)", async () => {
    const r = await exchange(pool.port, "GET /export?ref=x HTTP/1.0\n\n");
    expect(r.bytes.toString("latin1")).to.equal(
      page("1.0", "401 Unauthorised", ['WWW-Authenticate: Basic realm="VM.export"'], UNAUTHORISED),
    );
  });

  it("answers a refused export with the 500 page naming the Server_error, before any header", async () => {
    await pool.engine.call("VM.start", [vm.session, vm.vm, false, false]);
    try {
      const r = await exchange(pool.port, `GET /export?ref=${vm.vm}&session_id=${vm.session} HTTP/1.1\n\n`);
      expect(r.end).to.equal("fin");
      expect(r.bytes.toString("latin1")).to.equal(
        page(
          "1.1",
          "500 Internal Error",
          [],
          `${INTERNAL}Server_error(VM_BAD_POWER_STATE, [ ${vm.vm}; halted, suspended; running ])</body></html>`,
        ),
      );
    } finally {
      await pool.engine.call("VM.hard_shutdown", [vm.session, vm.vm]);
    }
  });

  it("refuses an import into an ISO SR as import.ml does: 400 headers, then Http_svr's 500 page", async () => {
    const iso = pool.engine.store.rows("SR").find((r) => r.rec.content_type === "iso")!.ref;
    const r = await exchange(
      pool.port,
      `PUT /import?session_id=${vm.session}&sr_id=${iso} HTTP/1.1\nContent-Length: 0\n\n`,
    );
    expect(r.end).to.equal("fin");
    expect(r.bytes.toString("latin1")).to.equal(
      "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nCache-Control: no-cache, no-store\r\n\r\n" +
        page(
          "1.1",
          "500 Internal Error",
          [],
          `${INTERNAL}Server_error(SR_OPERATION_NOT_SUPPORTED, [  ])</body></html>`,
        ),
    );
  });

  it("refuses a chunked import as import.ml does: 403 headers, then the 500 page", async () => {
    const r = await exchange(
      pool.port,
      `PUT /import?session_id=${vm.session} HTTP/1.1\nTransfer-Encoding: chunked\n\n`,
      Buffer.from("0\r\n\r\n"),
    );
    expect(r.end).to.equal("fin");
    expect(r.bytes.toString("latin1")).to.equal(
      "HTTP/1.1 403 Forbidden\r\nConnection: close\r\nCache-Control: no-cache, no-store\r\n\r\n" +
        page(
          "1.1",
          "500 Internal Error",
          [],
          `${INTERNAL}Server_error(IMPORT_ERROR_CANNOT_HANDLE_CHUNKED, [  ])</body></html>`,
        ),
    );
  });

  it("answers a path no handler claims with Http_svr's default 403 page", async () => {
    const r = await exchange(pool.port, "GET /nothing-here HTTP/1.1\n\n");
    expect(r.bytes.toString("latin1")).to.equal(
      page(
        "1.1",
        "403 Forbidden",
        [],
        "<html><body><h1>HTTP 403 forbidden</h1>Access to the requested resource is forbidden.</body></html>",
      ),
    );
  });
});
