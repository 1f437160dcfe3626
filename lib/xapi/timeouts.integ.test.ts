/**
 * Every XAPI request has a timeout: a pool that accepts the TCP connection and never answers (the handshake, the
 * login, a call, a transfer's headers or body) fails with a POOL_TIMEOUT PoolConnectionError naming the option.
 * Timeouts here are small (withXapi's `timeouts` option); mocha's own timeout catches a hang.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { createTestVm, startDevpool, type Devpool } from "../../devpool";
import { DEFAULT_ROUTES, type RouteHandler } from "../../devpool/server";
import { type PoolTarget, withXapi } from "./client";
import { PoolConnectionError } from "./errors";
import type { XapiTimeouts } from "./timeouts";

const USER = "root";
const PASSWORD = `timeouts-test-${process.pid}`;
const SHORT: XapiTimeouts = { connectTimeoutMs: 400, callTimeoutMs: 400, transferIdleTimeoutMs: 400 };

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection, the promise resolved");
}

function expectTimeout(err: unknown, option: keyof XapiTimeouts): void {
  expect(err, String(err)).to.be.instanceOf(PoolConnectionError);
  expect((err as PoolConnectionError).code).to.equal("POOL_TIMEOUT");
  expect((err as Error).message).to.include(`(${option})`);
}

/** Accepts TCP connections and never writes a byte; records what it receives. */
async function startSilentServer(): Promise<{
  port: number;
  received: () => string;
  close(): Promise<void>;
}> {
  const sockets = new Set<net.Socket>();
  let received = "";
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("data", (d: Buffer) => (received += d.toString("latin1")));
    s.on("error", () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as net.AddressInfo).port,
    received: () => received,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe("lib/xapi timeouts (integ: a silent server, devpool with stalls)", function () {
  this.timeout(30_000);

  describe("a server that accepts the connection and never answers", () => {
    let silent: Awaited<ReturnType<typeof startSilentServer>>;
    before(async () => {
      silent = await startSilentServer();
    });
    after(() => silent.close());

    it("https: the TLS handshake times out (connectTimeoutMs) and no credential is sent", async () => {
      const target: PoolTarget = {
        url: `https://127.0.0.1:${silent.port}`,
        username: USER,
        insecureSkipVerify: false,
      };
      const err = await rejection(withXapi(target, PASSWORD, () => Promise.resolve(), { timeouts: SHORT }));
      expectTimeout(err, "connectTimeoutMs");
      expect(silent.received()).to.not.include(PASSWORD);
    });

    it("http: the login gets no answer (callTimeoutMs)", async () => {
      const target: PoolTarget = {
        url: `http://127.0.0.1:${silent.port}`,
        username: USER,
        insecureSkipVerify: false,
      };
      const err = await rejection(withXapi(target, PASSWORD, () => Promise.resolve(), { timeouts: SHORT }));
      expectTimeout(err, "callTimeoutMs");
      expect((err as Error).message).to.include("the login");
    });
  });

  describe("devpool, stalling where told", () => {
    let dir: string;
    let pool: Devpool;
    let vmUuid: string;
    let exportMode: "no-headers" | "stall-after-headers" = "no-headers";
    // /export that answers nothing, or its headers and a first chunk and then nothing.
    const stallingExport: RouteHandler = (engine, _req, res, url) => {
      engine.checkSession(url.searchParams.get("session_id") ?? "");
      if (exportMode === "no-headers") return;
      res.writeHead(200, "OK", { Connection: "close", "Content-Type": "application/octet-stream" });
      res.write(Buffer.alloc(4096, 1));
    };

    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "xapi-timeouts-"));
      pool = await startDevpool(
        { dataDir: dir, username: USER, password: PASSWORD },
        { ...DEFAULT_ROUTES, GET: { ...DEFAULT_ROUTES.GET, "/export": stallingExport } },
      );
      vmUuid = pool.engine.store.get("VM", createTestVm(pool, "timeouts source"))?.uuid as string;
    });
    afterEach(() => pool.setFaults({}));
    after(async () => {
      await pool.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    const target = (): PoolTarget => ({ url: pool.url, username: USER, insecureSkipVerify: false });

    it("a login that never completes fails (callTimeoutMs)", async () => {
      pool.setFaults({ latencyMs: { "session.login_with_password": 20_000 } });
      const err = await rejection(withXapi(target(), PASSWORD, () => Promise.resolve(), { timeouts: SHORT }));
      expectTimeout(err, "callTimeoutMs");
    });

    it("a read that never answers fails without retries (callTimeoutMs)", async () => {
      pool.setFaults({ latencyMs: { "VM.get_all_records": 20_000 } });
      const err = await rejection(
        withXapi(target(), PASSWORD, (x) => x.read("VM.get_all_records"), { timeouts: SHORT }),
      );
      expectTimeout(err, "callTimeoutMs");
      expect((err as Error).message).to.include("VM.get_all_records");
    });

    it("a transfer whose headers never come fails (transferIdleTimeoutMs)", async () => {
      exportMode = "no-headers";
      const err = await rejection(
        withXapi(target(), PASSWORD, (x) => x.getResource("/export", { uuid: vmUuid }), { timeouts: SHORT }),
      );
      expectTimeout(err, "transferIdleTimeoutMs");
    });

    it("a transfer whose body stalls fails on the body stream (transferIdleTimeoutMs)", async () => {
      exportMode = "stall-after-headers";
      const err = await rejection(
        withXapi(
          target(),
          PASSWORD,
          async (x) => {
            const res = await x.getResource("/export", { uuid: vmUuid });
            expect(res.statusCode).to.equal(200);
            for await (const chunk of res.body) expect((chunk as Buffer).length).to.be.greaterThan(0);
          },
          { timeouts: SHORT },
        ),
      );
      expectTimeout(err, "transferIdleTimeoutMs");
    });
  });
});
