/**
 * xapi answers an upload (/import) with 200 before reading the body, and closes the connection once it is done
 * with it, which may come before this side has written its last bytes (the archive's end is read, the padding
 * after it need not be). The client then sees its request closed before it finished, with no socket error:
 * `stream.pipeline` calls it ERR_STREAM_PREMATURE_CLOSE. That is a connection that broke off like any other: the
 * task says how the upload went (before: the raw "Premature close" failed the import, as the local build's
 * pack-and-import sometimes did on a fast loopback, although the pool had imported the template).
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { startDevpool, type Devpool } from "../../devpool";
import { DEFAULT_ROUTES, type RouteHandler } from "../../devpool/server";
import { withXapi } from "./client";
import { PoolConnectionError } from "./errors";

const USER = "root";
const PASSWORD = `upload-close-${process.pid}`;
const MIB = 1024 * 1024;

describe("lib/xapi upload: the pool closing the connection before the body's end (integ: devpool)", function () {
  this.timeout(60_000);
  let dir: string;
  let pool: Devpool;
  /** What the pool's task says once it has read the first MiB and closed: "success" or an error code. */
  let verdict: "success" | "IMPORT_FAILED" | "nothing" = "success";

  // The /import of this devpool: 200 at once; after the first MiB, the task settles as `verdict` says and the
  // connection is closed cleanly (FIN), while the client still has more to send.
  const closeEarly: RouteHandler = (engine, req) => {
    const task = new URL(req.url ?? "/", "http://pool").searchParams.get("task_id") ?? "";
    const sock = req.socket;
    sock.write("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
    let got = 0;
    req.on("data", (c: Buffer) => {
      if (got >= MIB) return;
      got += c.length;
      if (got < MIB) return;
      if (verdict === "success") engine.tasks.succeed(task, "");
      else if (verdict === "IMPORT_FAILED") engine.tasks.fail(task, "IMPORT_FAILED", ["injected"]);
      sock.end();
    });
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "xapi-upload-close-"));
    pool = await startDevpool(
      { dataDir: dir, username: USER, password: PASSWORD },
      { ...DEFAULT_ROUTES, PUT: { ...DEFAULT_ROUTES.PUT, "/import": closeEarly } },
    );
  });
  after(async () => {
    await pool.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A body whose first MiB comes at once and the rest only once the pool has had time to close. */
  const body = () =>
    Readable.from(
      (async function* () {
        yield Buffer.alloc(MIB, 1);
        await new Promise((r) => setTimeout(r, 300));
        yield Buffer.alloc(MIB, 2);
      })(),
    );
  const put = () =>
    withXapi({ url: pool.url, username: USER, insecureSkipVerify: false }, PASSWORD, (x) =>
      x.putResource("/import", {}, body(), { lengthBytes: 2 * MIB }),
    );

  it("the task succeeded: the upload succeeds", async () => {
    verdict = "success";
    await put();
  });

  it("the task failed: the task's error, not the stream's", async () => {
    verdict = "IMPORT_FAILED";
    const err = await put().then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(err?.code).to.equal("IMPORT_FAILED");
  });

  it("the task says nothing: the pool is unreachable, said so", async () => {
    verdict = "nothing";
    const err = await put().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(PoolConnectionError);
    expect((err as PoolConnectionError).code).to.equal("POOL_UNREACHABLE");
  });
});
