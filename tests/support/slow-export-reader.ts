/**
 * A child program for transfer tests: logs in to a pool, GETs an export, says "headers" on stdout, then, once the
 * body holds a full buffer that nobody reads (the reader applies backpressure), says "paused <buffered bytes>
 * <high-water mark>"; it waits for "go" on stdin (the test sends it once the server has sent the last bytes and
 * closed), then reads the body slowly (a writer that takes one chunk per timer tick, 1 KiB buffer) and prints
 * "read <bytes>".
 *   XAPI_TEST_PASSWORD=... tsx tests/support/slow-export-reader.ts <client: product|xen-api> <pool url> <user> <vm uuid>
 * `product` uses lib/xapi's withXapi; `xen-api` uses the xen-api client's own getResource (undici 6).
 */
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import { withXapi } from "../../lib/xapi/client";

async function waitForGo(): Promise<void> {
  await new Promise<void>((resolve) => {
    process.stdin.on("data", (d: Buffer) => {
      if (d.toString().includes("go")) resolve();
    });
  });
}

/** Resolves once `body` holds at least its high-water mark unread: the reader is applying backpressure. */
async function backpressured(body: Readable): Promise<void> {
  while (body.readableLength < body.readableHighWaterMark) {
    if (body.readableEnded || body.destroyed) throw new Error("the body ended before it filled its buffer");
    await new Promise((r) => setTimeout(r, 5));
  }
  process.stdout.write(`paused ${body.readableLength} ${body.readableHighWaterMark}\n`);
}

async function slowRead(body: Readable): Promise<number> {
  let n = 0;
  await pipeline(
    body,
    new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, done) {
        n += chunk.length;
        setTimeout(done, 1);
      },
    }),
  );
  return n;
}

async function main(): Promise<void> {
  const [client, url, user, uuid] = process.argv.slice(2);
  const password = process.env.XAPI_TEST_PASSWORD;
  if (!client || !url || !user || !uuid || !password) throw new Error("usage: see the header of this file");
  const query = { uuid, use_compression: "false" };
  let n: number;
  if (client === "product") {
    n = await withXapi({ url, username: user, insecureSkipVerify: false }, password, async (x) => {
      const res = await x.getResource("/export", query);
      process.stdout.write("headers\n");
      await backpressured(res.body);
      await waitForGo();
      return slowRead(res.body);
    });
  } else {
    const { Xapi } = (await import("xen-api")) as typeof import("xen-api");
    const xapi = new Xapi({ url, auth: { user, password }, watchEvents: false });
    await xapi.connect();
    const res = await xapi.getResource("/export", { query, task: false });
    process.stdout.write("headers\n");
    await backpressured(res.body);
    await waitForGo();
    n = await slowRead(res.body);
    await xapi.disconnect();
  }
  process.stdout.write(`read ${n}\n`);
  process.stdin.destroy();
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
