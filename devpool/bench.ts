/**
 * devpool transfer bench (not a test: prints figures, asserts nothing).
 *
 * Usage: `tsx devpool/bench.ts [sizeGiB=8] [dataPercent=25]` (through tools/with-env.sh, so versitygw is on PATH)
 *
 * Runs devpool as its own process (so its peak RSS is its own, read from /proc/<pid>/status VmHWM), creates a VM
 * with a `sizeGiB` disk whose data fills `dataPercent` % of its 1 MiB blocks (spread over the whole disk: a
 * sparse-but-non-trivial disk), then measures:
 *   1. PUT /import_raw_vdi of the raw image (zeros over unallocated blocks are skipped on the way in);
 *   2. GET /export, plain tar, bytes read and dropped by the client (devpool's own speed);
 *   3. GET /export with zstd;
 *   4. PUT /import of the plain XVA (every chunk verified, a new VM created);
 *   5. versitygw ingesting the same XVA (one multipart upload through the Artifact provider's streamToS3): what devpool's export
 *      must outpace at least twice, so devpool is never the bottleneck of the transfer benchmarks.
 * Rates are MB/s (10^6 bytes) of bytes on the wire, and of the virtual disk for exports.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { S3Client, CreateBucketCommand } from "@aws-sdk/client-s3";
import { freePort } from "./net";
import { attachNewDisk } from "./testing/fixtures";
import { streamToS3 } from "../lib/s3/stream-upload";
import { startVersityGw } from "./versitygw";

const MiB = 1024 * 1024;

interface Rpc {
  (method: string, ...params: unknown[]): Promise<unknown>;
}

function rpc(url: string): Rpc {
  return async (method, ...params) => {
    const res = await fetch(`${url}/jsonrpc`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    });
    const body = (await res.json()) as { result?: unknown; error?: { message: string; data: string[] } };
    if (body.error !== undefined)
      throw new Error(`${method}: ${body.error.message}(${body.error.data.join(",")})`);
    return body.result;
  };
}

function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m === null ? NaN : Number(m[1]) / 1024;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m === null ? NaN : Number(m[1]) / 1024;
}

/** The raw disk: `dataPercent` % of blocks hold data, spread evenly; the others are zeros. */
function* rawDisk(size: number, dataPercent: number): Generator<Buffer> {
  const pattern = randomBytes(MiB);
  const blocks = Math.ceil(size / MiB);
  const zeros = Buffer.alloc(MiB);
  let credit = 0;
  for (let b = 0; b < blocks; b++) {
    const n = Math.min(MiB, size - b * MiB);
    credit += dataPercent;
    if (credit >= 100) {
      credit -= 100;
      const block = Buffer.from(pattern.subarray(0, n));
      block.writeUInt32LE(b, 0); // every block differs, so no two chunks are the same
      yield block;
    } else {
      yield zeros.subarray(0, n);
    }
  }
}

function request(
  url: string,
  method: string,
  body?: Readable,
  length?: number,
): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method, headers: length === undefined ? {} : { "content-length": String(length) } },
      (res) => {
        let bytes = 0;
        res.on("data", (c: Buffer) => (bytes += c.length));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, bytes }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    if (body === undefined) req.end();
    else body.pipe(req);
  });
}

async function waitTask(call: Rpc, session: string, task: string): Promise<Record<string, unknown>> {
  for (;;) {
    const rec = (await call("task.get_record", session, task)) as Record<string, unknown>;
    if (rec.status !== "pending") return rec;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function rate(bytes: number, ms: number): string {
  return `${((bytes / 1e6) * (1000 / ms)).toFixed(0)} MB/s`;
}

/** The pool under test and what the phases share. */
interface Bench {
  readonly call: Rpc;
  readonly url: string;
  readonly session: string;
  readonly pid: number;
  readonly vm: string;
  readonly vdi: string;
  readonly sr: string;
  readonly size: number;
  readonly work: string;
  readonly results: [string, string][];
}

/** Starts devpool as its own process (so its RSS is its own) and prepares a VM with an empty disk of `size`. */
async function startBench(work: string, size: number): Promise<{ bench: Bench; child: ChildProcess }> {
  const dataDir = path.join(work, "pool");
  const port = await freePort();
  const password = randomBytes(12).toString("hex");
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [...process.execArgv, path.join(__dirname, "cli.ts"), "run"], {
    env: {
      ...process.env,
      DEVPOOL_DATA_DIR: dataDir,
      DEVPOOL_PORT: String(port),
      DEVPOOL_PASSWORD: password,
      DEVPOOL_TLS: "false",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  while (!fs.existsSync(path.join(dataDir, "devpool.json"))) await new Promise((r) => setTimeout(r, 100));
  const call = rpc(url);
  const s = (await call("session.login_with_password", "root", password)) as string;
  const pool = ((await call("pool.get_all", s)) as string[])[0];
  const [tpl] = (await call("VM.get_by_name_label", s, "Other install media")) as string[];
  const vm = (await call("VM.clone", s, tpl, "bench")) as string;
  await call("VM.set_is_a_template", s, vm, false);
  const vdi = await attachNewDisk(call, s, pool ?? "", vm, "bench disk", size);
  const sr = (await call("VDI.get_SR", s, vdi)) as string;
  const bench = { call, url, session: s, pid: child.pid ?? 0, vm, vdi, sr, size, work, results: [] };
  return { bench, child };
}

/** PUT /import_raw_vdi of a disk with data in `dataPercent` % of its blocks. */
async function benchRawImport(b: Bench, dataPercent: number): Promise<void> {
  const t0 = Date.now();
  const task = (await b.call("task.create", b.session, "bench raw import", "")) as string;
  await request(
    `${b.url}/import_raw_vdi?vdi=${b.vdi}&session_id=${b.session}&task_id=${task}`,
    "PUT",
    Readable.from(rawDisk(b.size, dataPercent)),
    b.size,
  );
  const rec = await waitTask(b.call, b.session, task);
  const ms = Date.now() - t0;
  b.results.push([
    "raw import (PUT /import_raw_vdi)",
    `${rate(b.size, ms)}, ${(ms / 1000).toFixed(1)} s, task ${String(rec.status)}, peak RSS ${peakRssMiB(b.pid).toFixed(0)} MiB`,
  ]);
}

/** GET /export plain and zstd; returns the plain export's rate on the wire (MB/s). */
async function benchExports(b: Bench): Promise<number> {
  let exportMBps = 0;
  for (const [label, query] of [
    ["export, plain (GET /export)", ""],
    ["export, zstd", "&use_compression=zstd"],
  ] as const) {
    const t0 = Date.now();
    const r = await request(`${b.url}/export?ref=${b.vm}&session_id=${b.session}${query}`, "GET");
    const ms = Date.now() - t0;
    if (query === "") exportMBps = (r.bytes / 1e6) * (1000 / ms);
    b.results.push([
      label,
      `${rate(r.bytes, ms)} on the wire (${(r.bytes / 1e9).toFixed(2)} GB), ${rate(b.size, ms)} of disk, ${(ms / 1000).toFixed(1)} s, peak RSS ${peakRssMiB(b.pid).toFixed(0)} MiB`,
    ]);
  }
  return exportMBps;
}

/** Saves an export to a file, then PUT /import of it (every chunk verified); returns the file and its size. */
async function benchImport(b: Bench): Promise<{ xvaFile: string; xvaBytes: number }> {
  const xvaFile = path.join(b.work, "bench.xva");
  await new Promise<void>((resolve, reject) => {
    http
      .get(`${b.url}/export?ref=${b.vm}&session_id=${b.session}`, (res) => {
        pipeline(res, fs.createWriteStream(xvaFile)).then(resolve, reject);
      })
      .on("error", reject);
  });
  const xvaBytes = fs.statSync(xvaFile).size;
  const t0 = Date.now();
  const task = (await b.call("task.create", b.session, "bench import", "")) as string;
  await request(
    `${b.url}/import?sr_id=${b.sr}&session_id=${b.session}&task_id=${task}`,
    "PUT",
    fs.createReadStream(xvaFile, { highWaterMark: MiB }),
    xvaBytes,
  );
  const rec = await waitTask(b.call, b.session, task);
  const ms = Date.now() - t0;
  b.results.push([
    "import (PUT /import, chunks verified)",
    `${rate(xvaBytes, ms)}, ${(ms / 1000).toFixed(1)} s, task ${String(rec.status)}, peak RSS ${peakRssMiB(b.pid).toFixed(0)} MiB`,
  ]);
  return { xvaFile, xvaBytes };
}

/** versitygw ingesting the same XVA through the product's multipart upload; compared with the export rate. */
async function benchIngest(b: Bench, xvaFile: string, xvaBytes: number, exportMBps: number): Promise<void> {
  const vgw = await startVersityGw({ dataDir: path.join(b.work, "s3") });
  try {
    const s3 = new S3Client({
      endpoint: vgw.endpoint,
      region: vgw.region,
      forcePathStyle: true,
      credentials: { accessKeyId: vgw.accessKey, secretAccessKey: vgw.secretKey },
    });
    await s3.send(new CreateBucketCommand({ Bucket: "bench" }));
    const t0 = Date.now();
    await streamToS3(fs.createReadStream(xvaFile, { highWaterMark: MiB }), [], {
      client: s3,
      bucket: "bench",
      key: "bench.xva",
      partSizeBytes: 64 * MiB,
      queueSize: 4,
    });
    const ms = Date.now() - t0;
    const ingestMBps = (xvaBytes / 1e6) * (1000 / ms);
    b.results.push([
      "versitygw ingest of the XVA (multipart, 64 MiB parts x4)",
      `${rate(xvaBytes, ms)}, ${(ms / 1000).toFixed(1)} s`,
    ]);
    b.results.push(["export / versitygw ingest", `${(exportMBps / ingestMBps).toFixed(1)}x (must be >= 2x)`]);
    s3.destroy();
  } finally {
    await vgw.stop();
  }
}

async function main(): Promise<void> {
  const sizeGiB = Number(process.argv[2] ?? 8);
  const dataPercent = Number(process.argv[3] ?? 25);
  const size = Math.round(sizeGiB * 1024 * MiB);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "devpool-bench-"));
  let child: ChildProcess | undefined;
  try {
    const started = await startBench(work, size);
    child = started.child;
    const b = started.bench;
    console.log(
      `devpool pid ${b.pid}, disk ${sizeGiB} GiB, ${dataPercent} % of blocks with data, RSS ${rssMiB(b.pid).toFixed(0)} MiB`,
    );
    await benchRawImport(b, dataPercent);
    const exportMBps = await benchExports(b);
    const { xvaFile, xvaBytes } = await benchImport(b);
    await benchIngest(b, xvaFile, xvaBytes, exportMBps);
    for (const [k, v] of b.results) console.log(`${k.padEnd(58)} ${v}`);
  } finally {
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise((res) => child?.once("exit", res));
      child.kill("SIGTERM");
      await exited;
    }
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
