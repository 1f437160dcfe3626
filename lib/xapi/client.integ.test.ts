/**
 * withXapi against devpool over TLS (its certificate signed by a test CA, CA and pin both set): sessions per
 * operation, errors by class and code, and the transfers: an /export read back through /import with putResource
 * (a task, its result), a failing import, a body of the wrong length.
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { startDevpool, type Devpool } from "../../devpool";
import { DEFAULT_ROUTES, type RouteHandler } from "../../devpool/server";
import { makeDiskVm } from "../../devpool/testing/fixtures";
import { issueServerCert, makeCa } from "../../tests/support/test-pki";
import { isXcpngError } from "../errors";
import { type PoolTarget, withXapi } from "./client";
import { PoolConnectionError, TransferInputError, XapiError } from "./errors";

const USER = "root";
const PASSWORD = `client-test-${process.pid}`;
const MIB = 1024 * 1024;

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection, the promise resolved");
}

async function readAll(body: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of body) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe("lib/xapi withXapi (integ: devpool over TLS, CA and pin)", function () {
  this.timeout(60_000);
  let dir: string;
  let pool: Devpool;
  let target: PoolTarget;
  let sourceUuid: string;
  let xva: Buffer;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "xapi-client-"));
    const ca = await makeCa("pool CA");
    const cert = await issueServerCert(ca);
    fs.mkdirSync(path.join(dir, "tls"), { recursive: true });
    fs.writeFileSync(path.join(dir, "tls", "cert.pem"), cert.cert);
    fs.writeFileSync(path.join(dir, "tls", "key.pem"), cert.key);
    pool = await startDevpool({ dataDir: dir, username: USER, password: PASSWORD, tls: true });
    target = {
      url: pool.url,
      username: USER,
      insecureSkipVerify: false,
      caCertificate: ca.cert,
      certificateFingerprint: cert.fingerprint,
    };
    const vm = await makeDiskVm(pool.engine, USER, PASSWORD, "client source", 4 * MIB);
    sourceUuid = pool.engine.store.get("VM", vm.vm)?.uuid as string;
    xva = await withXapi(target, PASSWORD, async (x) => {
      const res = await x.getResource("/export", { uuid: sourceUuid, use_compression: "false" });
      expect(res.statusCode).to.equal(200);
      return readAll(res.body);
    });
    // tar of ova.xml, the written chunks (the first, the last, and those holding data) and their checksums
    expect(xva.length).to.be.greaterThan(2 * MIB);
  });
  afterEach(() => pool.setFaults({}));
  after(async () => {
    await pool.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("logs in, calls, and logs out: no session is left on the pool", async () => {
    const sessionsBefore = pool.engine.store.count("session");
    const name = await withXapi(target, PASSWORD, async (x) => {
      const ref = await x.read<string>("VM.get_by_uuid", sourceUuid);
      expect(pool.engine.store.count("session")).to.equal(sessionsBefore + 1);
      return x.read<string>("VM.get_name_label", ref);
    });
    expect(name).to.equal("client source");
    expect(pool.engine.store.count("session")).to.equal(sessionsBefore);
  });

  it("imports an export with putResource: the task's result is the new VM, the task is removed", async () => {
    const tasksBefore = pool.engine.store.count("task");
    const progress: number[] = [];
    const result = await withXapi(target, PASSWORD, (x) =>
      x.putResource("/import", {}, Readable.from([xva.subarray(0, 1000), xva.subarray(1000)]), {
        lengthBytes: xva.length,
        onProgress: (sent) => progress.push(sent),
      }),
    );
    expect(result).to.be.an("array").with.length(1);
    const ref = (result as string[])[0]!;
    expect(ref).to.match(/^OpaqueRef:/);
    expect(pool.engine.store.get("VM", ref)?.name_label).to.equal("client source");
    expect(progress[progress.length - 1]).to.equal(xva.length);
    // The task was created for the transfer and removed once settled.
    expect(pool.engine.store.count("task")).to.equal(tasksBefore);
  });

  it("a failing import rejects with the task's XapiError (code and params as the pool sent them)", async () => {
    pool.setFaults({ failImports: { times: 1, code: "IMPORT_ERROR", params: ["injected"] } });
    const err = await rejection(
      withXapi(target, PASSWORD, (x) =>
        x.putResource("/import", {}, Readable.from([xva]), { lengthBytes: xva.length }),
      ),
    );
    expect(err).to.be.instanceOf(XapiError);
    expect(isXcpngError(err)).to.equal(true);
    expect((err as XapiError).code).to.equal("IMPORT_ERROR");
    expect((err as XapiError).params).to.deep.equal(["injected"]);
  });

  it("a body shorter or longer than lengthBytes is refused (TransferInputError) and nothing is imported", async () => {
    const vmsBefore = pool.engine.store.count("VM");
    for (const lengthBytes of [xva.length + 10, xva.length - 10]) {
      const err = await rejection(
        withXapi(target, PASSWORD, (x) =>
          x.putResource("/import", {}, Readable.from([xva]), { lengthBytes }),
        ),
      );
      expect(err, String(err)).to.be.instanceOf(TransferInputError);
      expect((err as TransferInputError).code).to.equal("XAPI_TRANSFER_INPUT");
    }
    expect(pool.engine.store.count("VM")).to.equal(vmsBefore);
  });

  it("a failure over the wire is an XapiError with xapi's code and params", async () => {
    const err = await rejection(withXapi(target, PASSWORD, (x) => x.read("VM.get_by_uuid", "no-such-uuid")));
    expect(err).to.be.instanceOf(XapiError);
    expect((err as XapiError).code).to.equal("UUID_INVALID");
    expect((err as XapiError).params).to.deep.equal(["VM", "no-such-uuid"]);
    expect((err as Error).message).to.include("VM.get_by_uuid");
  });

  it("refused credentials are POOL_AUTH_FAILED, with the pool's XapiError as cause", async () => {
    const err = await rejection(withXapi(target, "wrong password", () => Promise.resolve()));
    expect(err).to.be.instanceOf(PoolConnectionError);
    expect((err as PoolConnectionError).code).to.equal("POOL_AUTH_FAILED");
    expect((err as Error).cause).to.be.instanceOf(XapiError);
    expect(((err as Error).cause as XapiError).code).to.equal("SESSION_AUTHENTICATION_FAILED");
    expect((err as Error).message).to.not.include("wrong password");
  });

  it("a closed port is POOL_UNREACHABLE; a bad URL is POOL_PROTOCOL_ERROR", async () => {
    const closed = await rejection(
      withXapi({ ...target, url: "https://127.0.0.1:1" }, PASSWORD, () => Promise.resolve()),
    );
    expect((closed as PoolConnectionError).code).to.equal("POOL_UNREACHABLE");
    expect((closed as Error).message).to.include("ECONNREFUSED");
    const bad = await rejection(
      withXapi({ ...target, url: "ftp://pool" }, PASSWORD, () => Promise.resolve()),
    );
    expect((bad as PoolConnectionError).code).to.equal("POOL_PROTOCOL_ERROR");
  });

  it("an error thrown by the operation itself passes through unchanged, and the session is still closed", async () => {
    const sessionsBefore = pool.engine.store.count("session");
    const mine = new Error("the operation's own failure");
    const err = await rejection(withXapi(target, PASSWORD, () => Promise.reject(mine)));
    expect(err).to.equal(mine);
    expect(pool.engine.store.count("session")).to.equal(sessionsBefore);
  });
});

describe("lib/xapi putResource when the connection breaks mid-upload (integ: devpool with a cutting /import)", function () {
  this.timeout(30_000);
  let dir: string;
  let pool: Devpool;
  let failTaskFirst = false;
  // Reads the first chunk of the body, then (optionally failing the task as xapi would) cuts the connection.
  const cuttingImport: RouteHandler = (engine, req, res, url) => {
    engine.checkSession(url.searchParams.get("session_id") ?? "");
    const task = url.searchParams.get("task_id") ?? "";
    res.writeHead(200, "OK", { Connection: "close", "task-id": task });
    res.flushHeaders();
    req.once("data", () => {
      if (failTaskFirst) engine.tasks.fail(task, "IMPORT_ERROR", ["cut by the test"]);
      req.socket.destroy();
    });
  };
  const body = () => Readable.from(Array.from({ length: 64 }, () => Buffer.alloc(64 * 1024, 7)));
  const LENGTH = 64 * 64 * 1024;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "xapi-cut-"));
    pool = await startDevpool(
      { dataDir: dir, username: USER, password: PASSWORD },
      { ...DEFAULT_ROUTES, PUT: { ...DEFAULT_ROUTES.PUT, "/import": cuttingImport } },
    );
  });
  after(async () => {
    await pool.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const target = (): PoolTarget => ({ url: pool.url, username: USER, insecureSkipVerify: false });

  it("with a failed task: rejects with the task's XapiError", async () => {
    failTaskFirst = true;
    const err = await rejection(
      withXapi(target(), PASSWORD, (x) => x.putResource("/import", {}, body(), { lengthBytes: LENGTH })),
    );
    expect(err, String(err)).to.be.instanceOf(XapiError);
    expect([(err as XapiError).code, ...(err as XapiError).params]).to.deep.equal([
      "IMPORT_ERROR",
      "cut by the test",
    ]);
  });

  it("with the task still pending: POOL_UNREACHABLE naming the task, which is cancelled", async () => {
    failTaskFirst = false;
    const err = await rejection(
      withXapi(target(), PASSWORD, (x) => x.putResource("/import", {}, body(), { lengthBytes: LENGTH }), {
        timeouts: { callTimeoutMs: 1000 },
      }),
    );
    expect(err, String(err)).to.be.instanceOf(PoolConnectionError);
    expect((err as PoolConnectionError).code).to.equal("POOL_UNREACHABLE");
    expect((err as Error).message).to.match(/broke off .* no failure on its task OpaqueRef:/);
    const task = /task (OpaqueRef:[0-9a-f-]+)/.exec((err as Error).message)![1]!;
    expect(pool.engine.tasks.cancelRequested(task)).to.equal(true);
  });
});
