/**
 * A reverse proxy in front of an S3 endpoint (versitygw on loopback, plain HTTP) that can refuse upload parts:
 * S3 failing mid-upload, as the real store does it (HTTP 500 InternalError, after every retry), for the Pulumi
 * e2e where no client seam can be reached; and cut object downloads midway (the connection closes after N bytes
 * of a GetObject body, as a store or network dying mid-read). Requests pass through untouched otherwise, Host header included, so
 * SigV4 signatures made for the proxy's address still verify at the store.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface S3FaultProxy {
  /** The proxy's endpoint, to use in place of the store's. */
  readonly endpoint: string;
  /** While set, every UploadPart from this part number on is refused. */
  failPartsFrom(partNumber: number | undefined): void;
  /** While set, every GetObject body is cut (connection destroyed) after this many bytes. */
  cutDownloadsAfter(bytes: number | undefined): void;
  /** GetObject bodies cut so far. */
  readonly cutDownloads: number;
  /** UploadPart requests refused so far. */
  readonly refusedParts: number;
  /**
   * While set, the proxy acts as read-only credentials would: every request that is not a read (GET, HEAD) is
   * refused with 403 AccessDenied, and recorded in {@link writesRefused}.
   */
  readOnly(on: boolean): void;
  /** Method and path of every request refused in read-only mode. */
  readonly writesRefused: readonly string[];
  stop(): Promise<void>;
}

export async function startS3FaultProxy(target: string): Promise<S3FaultProxy> {
  const t = new URL(target);
  let failFrom: number | undefined;
  let refused = 0;
  let readOnly = false;
  const writesRefused: string[] = [];
  let cutAfter: number | undefined;
  let cut = 0;
  const upstreams = new Set<http.ClientRequest>();
  const server = http.createServer((req, res) => {
    // A client that hangs up (a cancelled part) must not take the proxy down: errors end the exchange.
    req.on("error", () => res.destroy());
    res.on("error", () => req.destroy());
    const url = new URL(req.url ?? "/", "http://proxy");
    if (readOnly && req.method !== "GET" && req.method !== "HEAD") {
      writesRefused.push(`${req.method ?? "?"} ${url.pathname}${url.search}`);
      req.resume();
      req.on("end", () => {
        res.writeHead(403, { "content-type": "application/xml" });
        res.end(
          `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>` +
            `<Message>read-only credentials (the test's proxy)</Message></Error>`,
        );
      });
      return;
    }
    const part = Number(url.searchParams.get("partNumber"));
    if (
      failFrom !== undefined &&
      req.method === "PUT" &&
      url.searchParams.has("uploadId") &&
      part >= failFrom
    ) {
      refused++;
      req.resume(); // read the part, as a store would, then refuse it
      req.on("end", () => {
        res.writeHead(500, { "content-type": "application/xml" });
        res.end(
          `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code>` +
            `<Message>part ${part} refused by the test's fault proxy</Message></Error>`,
        );
      });
      return;
    }
    const upstream = http.request(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers },
      (r) => {
        r.on("error", () => res.destroy());
        res.writeHead(r.statusCode ?? 502, r.headers);
        const limit = cutAfter;
        // An object's body (a path-style GET of bucket/key, answered 200): cut it once `limit` bytes went through.
        const isObject = url.pathname.split("/").filter(Boolean).length >= 2;
        if (limit !== undefined && req.method === "GET" && r.statusCode === 200 && isObject) {
          let sent = 0;
          r.on("data", (c: Buffer) => {
            if (res.destroyed) return;
            if (sent + c.length < limit) {
              sent += c.length;
              res.write(c);
              return;
            }
            res.write(c.subarray(0, limit - sent), () => res.socket?.destroy());
            sent = limit;
            cut++;
            r.destroy();
          });
          return;
        }
        r.pipe(res);
      },
    );
    upstreams.add(upstream);
    upstream.on("close", () => upstreams.delete(upstream));
    upstream.on("error", () => res.destroy());
    req.on("close", () => {
      if (!req.complete) upstream.destroy(); // the client gave up mid-body: so does the proxy
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    failPartsFrom: (n) => {
      failFrom = n;
    },
    get refusedParts() {
      return refused;
    },
    readOnly: (on) => {
      readOnly = on;
    },
    get writesRefused() {
      return writesRefused;
    },
    cutDownloadsAfter: (n) => {
      cutAfter = n;
    },
    get cutDownloads() {
      return cut;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const u of upstreams) u.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
