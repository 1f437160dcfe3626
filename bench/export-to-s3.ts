/**
 * `npm run bench`: the performance figures of the export-to-S3 path (a bench, not a test: it prints figures and
 * asserts nothing about them).
 *
 *   tools/with-env.sh tsx bench/export-to-s3.ts [--sizes 1,8] [--fill 0.33] [--templates 20] [--preview-runs 2]
 *       [--skip-stream] [--skip-catalogue] [--work-dir DIR] [--timeout-min 60]
 *
 * 1. devpool (HTTPS, self-signed) and versitygw on 127.0.0.1, all data in one temporary directory (same disk for
 *    the pool's disks, the store and the two-step path's download), removed at the end.
 * 2. Per size, a template whose disk has `fill` of its 1 MiB blocks full of random data (bench/disk-fixture.ts),
 *    then side by side in the same run:
 *    (a) the product's streaming path (bench/stream-export.ts: the Artifact provider's withXapi + GET /export +
 *        XVA verifier + streamToS3, in its own process under GNU time);
 *    (b) the seed's two-step path (bench/two-step.ts: curl to a file, then Debian's `aws s3 cp`).
 *    `sync` runs before each so one path's dirty pages are not written back during the other.
 * 3. The RSS of a process that has loaded the Artifact provider module (with @pulumi/pulumi), as the provider
 *    host does: the floor under which no provider process can stay, whatever it streams.
 * 4. `pulumi preview --refresh` of a `templates`-entry catalogue (bench/catalogue-preview.ts): time and logins.
 * Results: a table on stdout and JSON in bench/results/ (gitignored).
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { startDevpool, type Devpool } from "../devpool";
import { startVersityGw, type VersityGw } from "../devpool/versitygw";
import { createS3Client } from "../lib/s3/client";
import { runCatalogueBench, type CatalogueResult } from "./catalogue-preview";
import { createDiskTemplate, type DiskTemplate } from "./disk-fixture";
import { ToolError } from "../tools/errors";
import { assertGnuTime, killRunning, runMeasuredOk } from "./measure";
import { MIB, kibToMiB, mbps, round, table } from "./report";
import type { StreamJob, StreamResult } from "./stream-export";
import { AWS_CLI, assertAwsCli, runTwoStep, type TwoStepResult } from "./two-step";

const ROOT = path.resolve(__dirname, "..");
const GIB = 1024 * MIB;
const TARGET_RATIO = 0.6;
const TARGET_RSS_MIB = 300;
const USERNAME = "root";
const BUCKET = "bench-xva";

interface Options {
  readonly sizesGiB: readonly number[];
  readonly fill: number;
  readonly templates: number;
  readonly previewRuns: number;
  readonly stream: boolean;
  readonly catalogue: boolean;
  readonly workParent: string;
  readonly timeoutMs: number;
}

interface SizeResult {
  readonly sizeGiB: number;
  readonly disk: DiskTemplate & { readonly fill: number; readonly fillSeconds: number };
  readonly streaming: StreamResult & {
    readonly processWallSeconds: number;
    readonly gnuTimeMaxRssKiB: number | undefined;
  };
  readonly twoStep: TwoStepResult;
  readonly ratioInProcess: number;
  readonly ratioWithProcessStart: number;
}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      sizes: { type: "string", default: "1,8" },
      fill: { type: "string", default: "0.33" },
      templates: { type: "string", default: "20" },
      "preview-runs": { type: "string", default: "2" },
      "skip-stream": { type: "boolean", default: false },
      "skip-catalogue": { type: "boolean", default: false },
      "work-dir": { type: "string", default: os.tmpdir() },
      "timeout-min": { type: "string", default: "60" },
    },
    strict: true,
  });
  const num = (name: string, v: string, ok: (n: number) => boolean, expected: string): number => {
    const n = Number(v);
    if (!ok(n))
      throw new ToolError("USAGE", `bench: --${name} expected ${expected}, but "${v}" was provided`);
    return n;
  };
  const sizesGiB = values.sizes
    .split(",")
    .map((s) => num("sizes", s.trim(), (n) => Number.isInteger(n) && n >= 1 && n <= 64, "GiB sizes 1..64"));
  return {
    sizesGiB,
    fill: num("fill", values.fill, (n) => n > 0 && n < 1, "a fraction in (0, 1), e.g. 0.33"),
    templates: num("templates", values.templates, (n) => Number.isInteger(n) && n >= 1 && n <= 100, "1..100"),
    previewRuns: num(
      "preview-runs",
      values["preview-runs"],
      (n) => Number.isInteger(n) && n >= 1 && n <= 10,
      "1..10",
    ),
    stream: !values["skip-stream"],
    catalogue: !values["skip-catalogue"],
    workParent: values["work-dir"],
    timeoutMs:
      num("timeout-min", values["timeout-min"], (n) => n > 0 && n <= 24 * 60, "minutes in (0, 1440]") *
      60_000,
  };
}

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

/** Flushes dirty pages, so writeback of one run's data does not land in the next run's time. */
function sync(): void {
  spawnSync("sync", { stdio: "ignore" });
}

function versionOf(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 60_000 });
  return `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n")[0] ?? "";
}

interface BenchContext {
  readonly work: string;
  readonly pool: Devpool;
  readonly gw: VersityGw;
  readonly poolPassword: string;
  readonly caFile: string;
}

/** One disk size: the template, then (a) and (b) side by side on it. */
async function benchSize(o: Options, ctx: BenchContext, sizeGiB: number): Promise<SizeResult> {
  const s3 = createS3Client(
    { endpoint: ctx.gw.endpoint, region: ctx.gw.region, forcePathStyle: true },
    { accessKeyId: ctx.gw.accessKey, secretAccessKey: ctx.gw.secretKey },
  );
  try {
    log(
      `${sizeGiB} GiB: writing the disk (${Math.round(o.fill * 100)} % of 1 MiB blocks random, rest holes)`,
    );
    const t0 = Date.now();
    const disk = await createDiskTemplate(
      ctx.pool,
      USERNAME,
      ctx.poolPassword,
      `bench-${sizeGiB}g`,
      sizeGiB * GIB,
      o.fill,
    );
    const fillSeconds = (Date.now() - t0) / 1000;
    log(
      `${sizeGiB} GiB: ${disk.dataBlocks} of ${disk.totalBlocks} blocks hold data (${fillSeconds.toFixed(0)} s)`,
    );
    const a = await streamingPath(o, ctx, s3, sizeGiB, disk);
    const b = await twoStepPath(o, ctx, s3, sizeGiB, disk);
    return {
      sizeGiB,
      disk: { ...disk, fill: o.fill, fillSeconds },
      streaming: a,
      twoStep: b,
      ratioInProcess: a.exportSeconds / b.totalSeconds,
      ratioWithProcessStart: a.processWallSeconds / b.totalSeconds,
    };
  } finally {
    s3.destroy();
  }
}

/** (a) the product's streaming path, in its own process (bench/stream-export.ts) under GNU time. */
async function streamingPath(
  o: Options,
  ctx: BenchContext,
  s3: S3Client,
  sizeGiB: number,
  disk: DiskTemplate,
): Promise<SizeResult["streaming"]> {
  sync();
  const key = `stream/${sizeGiB}g.xva`;
  const resultFile = path.join(ctx.work, `stream-${sizeGiB}g.json`);
  const job: StreamJob = {
    pool: {
      url: ctx.pool.url,
      username: USERNAME,
      caCertificate: ctx.pool.certificate ?? "",
      insecureSkipVerify: false,
    },
    poolPassword: ctx.poolPassword,
    store: { endpoint: ctx.gw.endpoint, region: ctx.gw.region, forcePathStyle: true, bucket: BUCKET },
    credentials: { accessKeyId: ctx.gw.accessKey, secretAccessKey: ctx.gw.secretKey },
    vmUuid: disk.vmUuid,
    virtualSizeBytes: disk.virtualSizeBytes,
    key,
    resultFile,
  };
  log(`${sizeGiB} GiB: (a) streaming export to s3://${BUCKET}/${key}`);
  const run = await runMeasuredOk(
    process.execPath,
    ["--import", "tsx", path.join("bench", "stream-export.ts")],
    {
      cwd: ROOT,
      env: { ...process.env, XCPNG_BENCH_JOB: JSON.stringify(job) },
      timeoutMs: o.timeoutMs,
      echoPrefix: "  [a]",
    },
    ctx.work,
    "the streaming export (bench/stream-export.ts)",
  );
  const streamed = JSON.parse(fs.readFileSync(resultFile, "utf8")) as StreamResult;
  await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
  return { ...streamed, processWallSeconds: run.wallSeconds, gnuTimeMaxRssKiB: run.maxRssKiB };
}

/** (b) the seed's two-step path (bench/two-step.ts): curl to a file, then `aws s3 cp`; the stored size checked. */
async function twoStepPath(
  o: Options,
  ctx: BenchContext,
  s3: S3Client,
  sizeGiB: number,
  disk: DiskTemplate,
): Promise<TwoStepResult> {
  sync();
  const key = `two-step/${sizeGiB}g.xva`;
  const file = path.join(ctx.work, `download-${sizeGiB}g.xva`);
  log(`${sizeGiB} GiB: (b) curl to ${path.basename(file)}, then aws s3 cp to s3://${BUCKET}/${key}`);
  try {
    const b = await runTwoStep({
      poolUrl: ctx.pool.url,
      poolUsername: USERNAME,
      poolPassword: ctx.poolPassword,
      poolCaFile: ctx.caFile,
      vmUuid: disk.vmUuid,
      s3Endpoint: ctx.gw.endpoint,
      s3Region: ctx.gw.region,
      accessKeyId: ctx.gw.accessKey,
      secretAccessKey: ctx.gw.secretKey,
      bucket: BUCKET,
      key,
      file,
      scratchDir: ctx.work,
      timeoutMs: o.timeoutMs,
    });
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    if (head.ContentLength !== b.bytes) {
      throw new ToolError(
        "COMMAND_FAILED",
        `bench: aws s3 cp left ${head.ContentLength} bytes at s3://${BUCKET}/${key}, but the file had ${b.bytes}`,
      );
    }
    return b;
  } finally {
    fs.rmSync(file, { force: true });
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key })).catch(() => undefined);
  }
}

/** Peak RSS of a process that has only loaded the Artifact provider module, as the provider host does. */
async function providerBaselineKiB(o: Options, work: string): Promise<number | undefined> {
  const r = await runMeasuredOk(
    process.execPath,
    ["--import", "tsx", "--eval", 'require("./providers/artifact");'],
    { cwd: ROOT, env: process.env, timeoutMs: o.timeoutMs },
    work,
    "loading providers/artifact.ts",
  );
  return r.maxRssKiB;
}

function printSizes(results: readonly SizeResult[]): void {
  const rows = results.map((r) => {
    const rssA = r.streaming.gnuTimeMaxRssKiB ?? r.streaming.maxRssKiB;
    return [
      `${r.sizeGiB} GiB`,
      round(r.streaming.bytes / 1e6, 0),
      round(r.streaming.exportSeconds, 1),
      round(r.streaming.processWallSeconds, 1),
      mbps(r.streaming.bytes, r.streaming.exportSeconds),
      kibToMiB(rssA),
      round(r.twoStep.downloadSeconds, 1),
      round(r.twoStep.uploadSeconds, 1),
      round(r.twoStep.totalSeconds, 1),
      mbps(r.twoStep.bytes, r.twoStep.totalSeconds),
      kibToMiB(r.twoStep.curlMaxRssKiB),
      kibToMiB(r.twoStep.awsMaxRssKiB),
      round(r.ratioInProcess, 2),
      round(r.ratioWithProcessStart, 2),
      `${r.ratioInProcess <= TARGET_RATIO ? "met" : "MISSED"} / ${(rssA ?? Infinity) / 1024 < TARGET_RSS_MIB ? "met" : "MISSED"}`,
    ];
  });
  console.log("\nExport to S3, devpool -> versitygw (MB = 10^6 bytes of XVA; RSS in MiB)");
  console.log(
    table(
      [
        "disk",
        "XVA MB",
        "(a) s",
        "(a) s w/ start",
        "(a) MB/s",
        "(a) peak RSS",
        "(b) GET s",
        "(b) cp s",
        "(b) total s",
        "(b) MB/s",
        "curl RSS",
        "aws RSS",
        "ratio a/b",
        "ratio w/ start",
        `ratio<=${TARGET_RATIO} / RSS<${TARGET_RSS_MIB}`,
      ],
      rows,
    ),
  );
  console.log(
    "(a) = streaming path in its own process: s = login to verified, size-checked object; 'w/ start' adds node+tsx start-up.\n" +
      "(b) = seed's path: login, curl GET /export to a file, logout, aws s3 cp (Debian awscli). MB/s = XVA bytes / total time.",
  );
}

function printCatalogue(c: CatalogueResult): void {
  console.log(
    `\npulumi preview --refresh of a ${c.templates}-template catalogue against devpool (goal < 20 s)`,
  );
  console.log(
    table(
      ["pulumi preview", "seconds", "logins", "XAPI calls", "sessions left open", "no changes"],
      [
        ...c.previews.map((p, i) => ({ label: `--refresh, run ${i + 1}`, p })),
        { label: "no --refresh (reference)", p: c.plainPreview },
      ].map(({ label, p }) => [
        label,
        round(p.seconds, 1),
        p.logins,
        p.xapiCalls,
        p.sessionsLeftOpen,
        p.noChanges ? "yes" : "NO",
      ]),
    ),
  );
  const last = c.previews[c.previews.length - 1];
  if (last !== undefined) {
    console.log(
      `calls by method (last run): ${Object.entries(last.callsByMethod)
        .map(([m, n]) => `${m} ${n}`)
        .join(", ")}`,
    );
  }
  console.log(
    `state made by: pulumi up, ${round(c.upSeconds, 0)} s, ${c.upLogins} logins; command timed: ${c.command}`,
  );
}

interface BenchRun {
  sizes: SizeResult[];
  providerBaselineMaxRssKiB?: number | undefined;
  catalogue?: CatalogueResult;
}

/**
 * Starts devpool and versitygw with all their data in `work`, runs the benches `o` selects, then stops everything
 * and removes `work` (on a signal too).
 */
async function runBenches(o: Options, work: string): Promise<BenchRun> {
  const poolPassword = randomBytes(18).toString("base64url");
  let pool: Devpool | undefined;
  let gw: VersityGw | undefined;
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    killRunning();
    await pool?.stop().catch(() => undefined);
    await gw?.stop().catch(() => undefined);
    fs.rmSync(work, { recursive: true, force: true });
  };
  const onSignal = (sig: NodeJS.Signals) => {
    log(`${sig}: stopping, removing ${work}`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const out: BenchRun = { sizes: [] };
  try {
    log(`work directory ${work} (devpool, versitygw and downloads; removed at the end)`);
    pool = await startDevpool({
      dataDir: path.join(work, "devpool"),
      username: USERNAME,
      password: poolPassword,
      tls: true,
    });
    gw = await startVersityGw({ dataDir: path.join(work, "s3") });
    const caFile = path.join(work, "pool-ca.pem");
    fs.writeFileSync(caFile, pool.certificate ?? "", { mode: 0o600 });
    log(`devpool ${pool.url}, versitygw ${gw.endpoint}`);
    if (o.stream) {
      const s3 = createS3Client(
        { endpoint: gw.endpoint, region: gw.region, forcePathStyle: true },
        { accessKeyId: gw.accessKey, secretAccessKey: gw.secretKey },
      );
      await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
      s3.destroy();
      for (const size of o.sizesGiB) {
        out.sizes.push(await benchSize(o, { work, pool, gw, poolPassword, caFile }, size));
      }
      out.providerBaselineMaxRssKiB = await providerBaselineKiB(o, work);
    }
    if (o.catalogue) {
      out.catalogue = await runCatalogueBench(
        {
          root: ROOT,
          work,
          pool,
          poolPassword,
          gw,
          templates: o.templates,
          previewRuns: o.previewRuns,
          upParallel: 8,
          timeoutMs: o.timeoutMs,
        },
        log,
      );
    }
    return out;
  } finally {
    await cleanup();
  }
}

/** The machine and tool versions, for the report (the figures mean little without them). */
function describeMachine(o: Options) {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? "",
    memoryGiB: round(os.totalmem() / GIB, 1),
    loadAverageAtStart: os.loadavg().map((n) => round(n, 2)),
    node: process.version,
    aws: o.stream ? versionOf(AWS_CLI, ["--version"]) : undefined,
    pulumi: o.catalogue ? versionOf("pulumi", ["version"]) : undefined,
    curl: o.stream ? versionOf("curl", ["--version"]) : undefined,
  };
}
type Machine = ReturnType<typeof describeMachine>;

function printReport(out: BenchRun, machine: Machine): void {
  if (out.sizes.length > 0) {
    printSizes(out.sizes);
    console.log(
      `Peak RSS of a process that has only loaded providers/artifact.ts (with @pulumi/pulumi), as the provider ` +
        `host does: ${kibToMiB(out.providerBaselineMaxRssKiB) ?? "n/a"} MiB.`,
    );
  }
  if (out.catalogue !== undefined) printCatalogue(out.catalogue);
  console.log(
    `\nMachine: ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memoryGiB} GiB; load average ` +
      `(1/5/15 min) ${machine.loadAverageAtStart.join("/")} at start, ` +
      `${os
        .loadavg()
        .map((n) => round(n, 2))
        .join("/")} at the end.`,
  );
}

/** Writes the run as JSON in bench/results/ (gitignored); returns the file. */
function writeResults(o: Options, started: Date, machine: Machine, out: BenchRun): string {
  const resultsDir = path.join(ROOT, "bench", "results");
  fs.mkdirSync(resultsDir, { recursive: true });
  const stamp = started
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  const file = path.join(resultsDir, `export-to-s3-${stamp}.json`);
  fs.writeFileSync(
    file,
    `${JSON.stringify(
      {
        schema: "xcpng-templates/bench-export-to-s3@1",
        startedAt: started.toISOString(),
        finishedAt: new Date().toISOString(),
        command: `npm run bench -- ${process.argv.slice(2).join(" ")}`.trim(),
        options: { ...o, workParent: undefined },
        environment: { ...machine, loadAverageAtEnd: os.loadavg().map((n) => round(n, 2)) },
        targets: { ratioMax: TARGET_RATIO, peakRssMiBBelow: TARGET_RSS_MIB, previewSecondsBelow: 20 },
        ...out,
      },
      null,
      2,
    )}\n`,
  );
  return file;
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  assertGnuTime();
  if (o.stream) assertAwsCli();
  const work = fs.mkdtempSync(path.join(o.workParent, "xcpng-bench-"));
  const started = new Date();
  const machine = describeMachine(o);
  const out = await runBenches(o, work);
  printReport(out, machine);
  console.log(`\nJSON: ${path.relative(ROOT, writeResults(o, started, machine, out))}`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
