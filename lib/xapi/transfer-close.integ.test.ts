/**
 * xapi ends /export (and /import) answers by closing the connection (`Connection: close`, no Content-Length).
 * undici 6's HTTP/1 parser throws an uncatchable AssertionError (`assert(!this.paused)`, nodejs/undici#5360) when
 * that close arrives while the reader applies backpressure, killing the process; the xen-api client's transfers
 * run on it. A devpool whose /export sends its last bytes and FIN while the reader is paused (the reader, a child
 * process, reports when its body holds a full buffer, and waits for the test's "go", sent once the server has
 * closed, before it reads slowly) shows it, and shows that lib/xapi's transfers are immune. Both conditions are
 * awaited, not assumed: with "go" sent on the server's close alone, a child lagging under load (the whole suite)
 * had not filled its buffer yet, read every byte, and the xen-api case passed as not crashing.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startDevpool, type Devpool } from "../../devpool";
import { DEFAULT_ROUTES, type RouteHandler } from "../../devpool/server";
import { createTestVm } from "../../devpool";

const USER = "root";
const PASSWORD = `close-test-${process.pid}`;
const REPO = path.join(__dirname, "..", "..");
const TSX = path.join(REPO, "node_modules", "tsx", "dist", "cli.mjs");
const READER = path.join(REPO, "tests", "support", "slow-export-reader.ts");

interface ChildOutcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

describe("lib/xapi transfers: a close while the reader is paused (integ: devpool, child processes)", function () {
  this.timeout(60_000);
  let dir: string;
  let pool: Devpool;
  let vmUuid: string;
  let payload: Buffer;
  /** Resolves when the current /export answer has sent its last byte and its FIN. */
  let closed: Promise<void> = Promise.resolve();

  // The /export of this devpool: 200, Connection: close, no length, the whole body and FIN at once.
  const closeAtOnce: RouteHandler = (engine, req, res, url) => {
    engine.checkSession(url.searchParams.get("session_id") ?? "");
    let done!: () => void;
    closed = new Promise<void>((r) => (done = r));
    const sock = req.socket;
    sock.once("finish", done);
    res.useChunkedEncodingByDefault = false;
    res.sendDate = false;
    res.writeHead(200, "OK", { Connection: "close", "Content-Type": "application/octet-stream" });
    res.end(payload);
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "xapi-close-"));
    pool = await startDevpool(
      { dataDir: dir, username: USER, password: PASSWORD },
      { ...DEFAULT_ROUTES, GET: { ...DEFAULT_ROUTES.GET, "/export": closeAtOnce } },
    );
    vmUuid = pool.engine.store.get("VM", createTestVm(pool, "close source"))?.uuid as string;
  });
  after(async () => {
    await pool.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function runReader(client: "product" | "xen-api", bytes: number): Promise<ChildOutcome> {
    payload = Buffer.alloc(bytes, 0x5a);
    const child = spawn(process.execPath, [TSX, READER, client, pool.url, USER, vmUuid], {
      env: { ...process.env, XAPI_TEST_PASSWORD: PASSWORD },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    // "go" only once both hold: the body is backpressured in the child, and the server has sent its last byte
    // and its FIN. The close then reaches a reader that is paused, whatever the machine's load.
    const paused = new Promise<void>((resolve) => {
      const check = () => (/^paused \d+ \d+$/m.test(stdout) ? resolve() : undefined);
      child.stdout.on("data", check);
    });
    await Promise.race([paused, exited]);
    // Read only now: the handler that sets it runs when the child's request arrives, before "paused".
    await closed;
    child.stdin.write("go\n");
    const code = await exited;
    return { code, stdout, stderr };
  }

  for (const kib of [80, 100, 200]) {
    it(`kills a process reading a ${kib} KiB export with xen-api's getResource (undici 6): the condition is real`, async () => {
      const r = await runReader("xen-api", kib * 1024);
      expect(r.code, r.stdout + r.stderr).to.not.equal(0);
      expect(r.stderr).to.include("AssertionError");
      // undici's client-h1.js `Parser.finish`: `assert(!this.paused)`, from the socket's 'end' listener.
      expect(r.stderr).to.match(
        /AssertionError[\s\S]*at Parser\.finish \(\S*undici\/lib\/dispatcher\/client-h1\.js:/,
      );
      expect(r.stdout).to.not.include("read ");
    });

    it(`reads every byte of a ${kib} KiB export with lib/xapi's getResource`, async () => {
      const r = await runReader("product", kib * 1024);
      expect(r.stderr).to.equal("");
      expect(r.code).to.equal(0);
      expect(r.stdout).to.include(`read ${kib * 1024}\n`);
    });
  }
});
