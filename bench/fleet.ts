/**
 * `npm run bench` (fleet part): the Replica's S3 → pool import against the two-step way, and a fleet of pools.
 * A bench, not a test: it prints figures and writes them to bench/results/fleet-<UTC time>.json; it asserts
 * nothing about them.
 *
 *   tools/with-env.sh tsx bench/fleet.ts [--sizes 1,8] [--fill 0.33] [--runs 1] [--fleets 1,4,8] [--fleet-size 1]
 *       [--skip-transfer] [--skip-fleet] [--skip-up] [--work-dir DIR] [--timeout-min 60]
 *
 * 1. versitygw on 127.0.0.1 and devpool instances as their own processes (HTTPS, self-signed certificate trusted
 *    as a CA), all data in one temporary directory, removed at the end.
 * 2. Transfer, per size: a template XVA from a disk with `fill` of its 1 MiB blocks random (bench/fleet-artifact.ts)
 *    stored in S3 with its manifest, then side by side, one after the other, `sync` before each:
 *    - S3 read alone: curl GET with SigV4 to /dev/null;
 *    - the product's path: ReplicaProvider.create in its own process under GNU time (bench/fleet-import.ts);
 *    - the two-step way: curl GET to a file, then curl PUT /import of it (bench/fleet-curl.ts); its second step is
 *      also "pool import alone";
 *    - pool import alone through lib/xapi's putResource from the same file (the product's XAPI client).
 * 3. Fleet: 1, 4, 8 devpool processes. First `pulumi up` through the real CLI (bench/fleet-up.ts): the stack moves
 *    from a previous stable build to a new one, one Replica per pool, and the `up` is timed as the issue asks
 *    (with an `up` that changes nothing beside it, for the fixed cost). Then the replication alone: one new build
 *    replicated to all of them by one provider process (the provider's create called directly, all pools at once
 *    as Pulumi runs independent resources); wall time, and each process's CPU time from /proc, to say where the
 *    time goes.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { CreateBucketCommand, DeleteObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { startVersityGw, type VersityGw } from "../devpool/versitygw";
import { createS3Client } from "../lib/s3/client";
import { withXapi, type PoolTarget } from "../lib/xapi/client";
import { destroyTemplate, findByUuid } from "../lib/xapi/templates";
import type { ArtifactStore } from "../providers/store";
import { ToolError } from "../tools/errors";
import { withProviderHostNodeOptions } from "../tools/provider-host-env";
import { publishGeneratedArtifact, type GeneratedArtifact } from "./fleet-artifact";
import { curlImport, curlS3Get } from "./fleet-curl";
import type { FleetImportJob, FleetImportResult } from "./fleet-import";
import { cpuSeconds, startPoolProcess, stopPoolProcess, type PoolProcess } from "./fleet-pools";
import { runFleetUp, type FleetUpResult } from "./fleet-up";
import { assertGnuTime, killRunning, runMeasuredOk } from "./measure";
import { kibToMiB, mbps, medianRounds, round, table } from "./report";

const ROOT = path.resolve(__dirname, "..");
const GIB = 1024 ** 3;
const BUCKET = "bench-fleet";
const TEMPLATE = "bench";
const TARGETS = { ofSlowerMin: 0.95, ratioMax: 0.6, peakRssMiBBelow: 300, fleet8OverFleet1Max: 2.5 };

interface Options {
  readonly sizesGiB: readonly number[];
  readonly fill: number;
  readonly fleets: readonly number[];
  readonly fleetSizeGiB: number;
  /** Rounds of the transfer comparison per size and of each fleet (medians reported): the machine is shared and noisy. */
  readonly runs: number;
  readonly transfer: boolean;
  readonly fleet: boolean;
  /** Also time `pulumi up` of each fleet through the real CLI (bench/fleet-up.ts). */
  readonly fleetUp: boolean;
  readonly workParent: string;
  readonly timeoutMs: number;
}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      sizes: { type: "string", default: "1,8" },
      fill: { type: "string", default: "0.33" },
      fleets: { type: "string", default: "1,4,8" },
      "fleet-size": { type: "string", default: "1" },
      runs: { type: "string", default: "1" },
      "skip-transfer": { type: "boolean", default: false },
      "skip-fleet": { type: "boolean", default: false },
      "skip-up": { type: "boolean", default: false },
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
  const list = (name: string, v: string, max: number) =>
    v
      .split(",")
      .map((s) => num(name, s.trim(), (n) => Number.isInteger(n) && n >= 1 && n <= max, `1..${max}`));
  return {
    sizesGiB: list("sizes", values.sizes, 64),
    fill: num("fill", values.fill, (n) => n > 0 && n < 1, "a fraction in (0, 1), e.g. 0.33"),
    fleets: list("fleets", values.fleets, 16),
    fleetSizeGiB: num(
      "fleet-size",
      values["fleet-size"],
      (n) => Number.isInteger(n) && n >= 1 && n <= 64,
      "1..64",
    ),
    runs: num("runs", values.runs, (n) => Number.isInteger(n) && n >= 1 && n <= 9, "1..9"),
    transfer: !values["skip-transfer"],
    fleet: !values["skip-fleet"],
    fleetUp: !values["skip-up"],
    workParent: values["work-dir"],
    timeoutMs:
      num("timeout-min", values["timeout-min"], (n) => n > 0 && n <= 1440, "minutes in (0, 1440]") * 60_000,
  };
}

function log(line: string): void {
  process.stderr.write(`[bench fleet ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

/** Flushes dirty pages, so one run's writeback does not land in the next run's time. */
function sync(): void {
  spawnSync("sync", { stdio: "ignore" });
}

interface Ctx {
  readonly o: Options;
  readonly work: string;
  readonly gw: VersityGw;
  readonly s3: S3Client;
  readonly store: ArtifactStore;
  readonly password: string;
}

const targetOf = (p: PoolProcess): PoolTarget => ({
  url: p.url,
  username: "root",
  caCertificate: p.certificate,
  insecureSkipVerify: false,
});

const IMPORTER_AS_PROVIDER_HOST = [
  'require("@pulumi/pulumi");',
  'require("tsx/cjs/api").register();',
  'require("./bench/fleet-import.ts").runFromEnvironment();',
].join(" ");

/** Runs bench/fleet-import.ts under GNU time. */
async function runImporter(
  ctx: Ctx,
  job: Omit<FleetImportJob, "resultFile" | "store" | "credentials" | "templateName">,
  label: string,
): Promise<FleetImportResult & { processWallSeconds: number; gnuTimeMaxRssKiB: number | undefined }> {
  const resultFile = path.join(ctx.work, `import-${Date.now()}.json`);
  const full: FleetImportJob = {
    ...job,
    store: ctx.store,
    credentials: { accessKeyId: ctx.gw.accessKey, secretAccessKey: ctx.gw.secretKey },
    templateName: TEMPLATE,
    resultFile,
  };
  const run = await runMeasuredOk(
    process.execPath,
    // Loaded as the dynamic-provider host loads the provider: plain node with @pulumi/pulumi already in (the host's
    // own), then tsx's CommonJS hook, registered as providers/dynamic/shim.ts does; not `--import tsx`, whose ESM
    // loader the host does not have (14 MiB more RSS before any transfer).
    ["-e", IMPORTER_AS_PROVIDER_HOST],
    {
      cwd: ROOT,
      env: withProviderHostNodeOptions({ ...process.env, XCPNG_BENCH_JOB: JSON.stringify(full) }),
      timeoutMs: ctx.o.timeoutMs,
      echoPrefix: `  [${label}]`,
    },
    ctx.work,
    `the importer (${label})`,
  );
  const r = JSON.parse(fs.readFileSync(resultFile, "utf8")) as FleetImportResult;
  fs.rmSync(resultFile, { force: true });
  return { ...r, processWallSeconds: run.wallSeconds, gnuTimeMaxRssKiB: run.maxRssKiB };
}

/** One round of the transfer comparison. */
interface TransferSample {
  readonly s3ReadSeconds: number;
  readonly streaming: Awaited<ReturnType<typeof runImporter>>;
  readonly twoStep: {
    readonly downloadSeconds: number;
    readonly importSeconds: number;
    readonly totalSeconds: number;
  };
  readonly importLibSeconds: number;
}

interface TransferResult {
  readonly sizeGiB: number;
  readonly artifact: GeneratedArtifact;
  readonly samples: readonly TransferSample[];
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2;
}

/** VMs the curl import left (the pool gives curl no task result): those tagged with the build, removed. */
async function removeBuild(p: PoolProcess, password: string, buildId: string): Promise<void> {
  await withXapi(targetOf(p), password, async (x) => {
    const all = await x.read<Record<string, { uuid: string; tags: string[] }>>("VM.get_all_records");
    for (const v of Object.values(all)) {
      if (!v.tags.includes(`build-id:${buildId}`)) continue;
      const f = await findByUuid(x, v.uuid);
      if (f !== undefined) await destroyTemplate(x, f);
    }
  });
}

/** One round of the comparison: S3 read alone, the Replica, the two-step way, the lib/xapi import from the file. */
async function transferRound(
  ctx: Ctx,
  pool: PoolProcess,
  r: {
    sizeGiB: number;
    build: GeneratedArtifact["build"];
    s3job: Omit<Parameters<typeof curlS3Get>[0], "output">;
    file: string;
    caFile: string;
    label: string;
  },
): Promise<TransferSample> {
  const { sizeGiB, build, s3job, file, caFile, label } = r;
  const buildId = build.buildId;
  sync();
  log(`${sizeGiB} GiB${label}: S3 read alone (curl to /dev/null)`);
  const s3Read = await curlS3Get({ ...s3job, output: "/dev/null" });
  sync();
  log(`${sizeGiB} GiB${label}: the Replica provider, S3 → PUT /import (its own process)`);
  const poolEntry = { name: pool.name, target: targetOf(pool), password: ctx.password };
  const streaming = await runImporter(
    ctx,
    { mode: "replicate", pools: [poolEntry], build, removeAfter: true },
    "replica",
  );
  sync();
  log(`${sizeGiB} GiB${label}: two-step: curl GET to ${path.basename(file)}, then curl PUT /import`);
  const down = await curlS3Get({ ...s3job, output: file });
  sync();
  const up = await curlImport({
    poolUrl: pool.url,
    caFile,
    username: "root",
    password: ctx.password,
    file,
    scratchDir: ctx.work,
    timeoutMs: ctx.o.timeoutMs,
  });
  await removeBuild(pool, ctx.password, buildId);
  sync();
  log(`${sizeGiB} GiB${label}: pool import alone through lib/xapi, from the same file`);
  const lib = await runImporter(
    ctx,
    { mode: "import-file", pools: [poolEntry], build, file, removeAfter: true },
    "lib/xapi",
  );
  fs.rmSync(file, { force: true });
  return {
    s3ReadSeconds: s3Read.wallSeconds,
    streaming,
    twoStep: {
      downloadSeconds: down.wallSeconds,
      importSeconds: up.wallSeconds,
      totalSeconds: down.wallSeconds + up.loginSeconds + up.wallSeconds,
    },
    importLibSeconds: lib.pools[0]?.seconds ?? NaN,
  };
}

async function benchTransfer(ctx: Ctx, pool: PoolProcess, sizeGiB: number): Promise<TransferResult> {
  const buildId = `bench-${sizeGiB}g`;
  log(
    `${sizeGiB} GiB: writing the artifact to S3 (${Math.round(ctx.o.fill * 100)} % of 1 MiB blocks random)`,
  );
  const artifact = await publishGeneratedArtifact(ctx.s3, ctx.store, {
    templateName: TEMPLATE,
    buildId,
    virtualSizeBytes: sizeGiB * GIB,
    fill: ctx.o.fill,
    at: new Date(),
  });
  const { build } = artifact;
  log(
    `${sizeGiB} GiB: ${(build.sizeBytes / 1e6).toFixed(0)} MB of XVA (${artifact.seconds.toFixed(0)} s to write)`,
  );
  const s3job = {
    endpoint: ctx.gw.endpoint,
    region: ctx.gw.region,
    accessKeyId: ctx.gw.accessKey,
    secretAccessKey: ctx.gw.secretKey,
    bucket: BUCKET,
    key: build.key,
    scratchDir: ctx.work,
    timeoutMs: ctx.o.timeoutMs,
  };
  const file = path.join(ctx.work, `download-${sizeGiB}g.xva`);
  const caFile = path.join(ctx.work, "pool-ca.pem");
  fs.writeFileSync(caFile, pool.certificate);
  const samples: TransferSample[] = [];
  try {
    for (let run = 1; run <= ctx.o.runs; run++) {
      const label = ctx.o.runs > 1 ? ` (round ${run} of ${ctx.o.runs})` : "";
      samples.push(await transferRound(ctx, pool, { sizeGiB, build, s3job, file, caFile, label }));
    }
    return { sizeGiB, artifact, samples };
  } finally {
    fs.rmSync(file, { force: true });
    for (const key of [build.key, build.manifestKey])
      await ctx.s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key })).catch(() => undefined);
  }
}

interface FleetResult {
  readonly pools: number;
  /** `pulumi up` of the new build through the real CLI; undefined with --skip-up. */
  readonly up: FleetUpResult | undefined;
  readonly xvaBytes: number;
  readonly importer: Awaited<ReturnType<typeof runImporter>>;
  /** CPU seconds during the replication, by process. */
  readonly cpu: { readonly provider: number; readonly devpools: number; readonly versitygw: number };
  readonly loadAverage: readonly number[];
}

async function benchFleet(
  ctx: Ctx,
  n: number,
  artifact: GeneratedArtifact,
  previous: GeneratedArtifact | undefined,
): Promise<FleetResult> {
  log(`fleet of ${n}: starting ${n} devpool process(es)`);
  const pools = await Promise.all(
    Array.from({ length: n }, (_, i) => startPoolProcess(ctx.work, `f${n}-${i + 1}`, ctx.password)),
  );
  try {
    sync();
    const up =
      previous === undefined
        ? undefined
        : await runFleetUp({
            work: ctx.work,
            pools,
            password: ctx.password,
            gw: ctx.gw,
            store: ctx.store,
            templateName: TEMPLATE,
            previous: previous.build,
            next: artifact.build,
            timeoutMs: ctx.o.timeoutMs,
            log,
          });
    sync();
    const before = pools.map((p) => cpuSeconds(p.pid));
    const gw0 = cpuSeconds(ctx.gw.pid);
    log(`fleet of ${n}: replicating build ${artifact.build.buildId} to every pool at once`);
    const importer = await runImporter(
      ctx,
      {
        mode: "replicate",
        pools: pools.map((p) => ({ name: p.name, target: targetOf(p), password: ctx.password })),
        build: artifact.build,
        removeAfter: false,
      },
      `fleet ${n}`,
    );
    const devpools = pools.reduce((sum, p, i) => sum + cpuSeconds(p.pid) - (before[i] ?? 0), 0);
    return {
      pools: n,
      up,
      xvaBytes: artifact.build.sizeBytes,
      importer,
      cpu: {
        provider: importer.cpuUserSeconds + importer.cpuSystemSeconds,
        devpools,
        versitygw: cpuSeconds(ctx.gw.pid) - gw0,
      },
      loadAverage: os.loadavg().map((x) => round(x, 2) ?? 0),
    };
  } finally {
    await Promise.all(pools.map(stopPoolProcess));
  }
}

/** The medians of one size's rounds, as the table shows them. */
function transferFigures(r: TransferResult) {
  const m = (f: (x: TransferSample) => number) => median(r.samples.map(f));
  const s3Read = m((x) => x.s3ReadSeconds);
  const importCurl = m((x) => x.twoStep.importSeconds);
  const transfer = m((x) => x.streaming.pools[0]?.importSeconds ?? x.streaming.wallSeconds);
  const create = m((x) => x.streaming.wallSeconds);
  const twoStep = m((x) => x.twoStep.totalSeconds);
  const slower = Math.max(s3Read, importCurl);
  return {
    bytes: r.artifact.build.sizeBytes,
    s3Read,
    importCurl,
    importLib: m((x) => x.importLibSeconds),
    slower,
    transfer,
    create,
    download: m((x) => x.twoStep.downloadSeconds),
    twoStep,
    ofSlower: slower / transfer,
    ratio: create / twoStep,
    rssKiB: Math.max(...r.samples.map((x) => x.streaming.gnuTimeMaxRssKiB ?? x.streaming.maxRssKiB)),
    cpu: m((x) => x.streaming.cpuUserSeconds + x.streaming.cpuSystemSeconds),
  };
}

function printTransfer(results: readonly TransferResult[]): void {
  const rows = results.map((r) => {
    const f = transferFigures(r);
    const sec = (s: number) => `${round(s, 1)} (${mbps(f.bytes, s)})`;
    return [
      `${r.sizeGiB} GiB`,
      round(f.bytes / 1e6, 0),
      sec(f.s3Read),
      sec(f.importCurl),
      sec(f.importLib),
      mbps(f.bytes, f.slower),
      sec(f.transfer),
      round(f.create, 1),
      round(f.cpu, 1),
      `${round(f.ofSlower * 100, 0)} %`,
      `${round(f.download, 1)} + ${round(f.importCurl, 1)} = ${round(f.twoStep, 1)}`,
      round(f.ratio, 2),
      kibToMiB(f.rssKiB),
      `${f.ofSlower >= TARGETS.ofSlowerMin ? "met" : "MISSED"} / ${f.ratio <= TARGETS.ratioMax ? "met" : "MISSED"} / ` +
        `${f.rssKiB / 1024 < TARGETS.peakRssMiBBelow ? "met" : "MISSED"}`,
    ];
  });
  const runs = results[0]?.samples.length ?? 1;
  console.log(
    `\nS3 → pool import, versitygw → devpool (MB = 10^6 bytes of XVA; seconds (MB/s); RSS in MiB; ` +
      `${runs > 1 ? `medians of ${runs} rounds, peak RSS the highest` : "one round"})`,
  );
  console.log(
    table(
      [
        "disk",
        "XVA MB",
        "S3 read alone",
        "import alone (curl)",
        "import alone (lib/xapi)",
        "slower-of MB/s",
        "replica transfer",
        "replica create s",
        "replica CPU s",
        "% of slower-of",
        "two-step GET + PUT s",
        "ratio create/two-step",
        "replica peak RSS",
        `>=${TARGETS.ofSlowerMin * 100} % / <=${TARGETS.ratioMax} / <${TARGETS.peakRssMiBBelow} MiB`,
      ],
      rows,
    ),
  );
  console.log(
    "replica transfer = S3 GetObject → verifier → tail gate → PUT /import until the pool's task completed (as the provider logs it);\n" +
      "replica create = the whole ReplicaProvider.create (login, pool survey, manifest, transfer, verification, tags).\n" +
      "import alone = PUT /import of the XVA from a local file (page cache warm); two-step = curl GET to a file + login + curl PUT.",
  );
}

const range = (m: { min: number; max: number; rounds: number }) =>
  m.rounds > 1 ? `${round(m.min, 1)}–${round(m.max, 1)}` : "";

function printFleetUp(results: readonly FleetResult[]): void {
  const withUp = medianRounds(
    results.filter((r): r is FleetResult & { up: FleetUpResult } => r.up !== undefined),
    (r) => r.up.upSeconds,
  );
  if (withUp.length === 0) return;
  const base = withUp.find((m) => m.median.pools === 1)?.median.up.upSeconds;
  const rows = withUp.map((m) => {
    const r = m.median;
    const u = r.up;
    const cpu = (u.upPulumiCpuSeconds ?? NaN) + u.upDevpoolsCpuSeconds;
    return [
      r.pools,
      round(u.upSeconds, 1),
      range(m),
      base !== undefined ? `${round(u.upSeconds / base, 2)}x` : "n/a",
      round(u.noChangeUpSeconds, 1),
      round(u.upSeconds - u.noChangeUpSeconds, 1),
      round(u.upPulumiCpuSeconds, 1),
      round(u.upDevpoolsCpuSeconds, 1),
      round(cpu / u.upSeconds, 2),
      u.providerPeakRssMiB ?? "n/a",
      u.upMaxRssKiB === undefined ? "n/a" : kibToMiB(u.upMaxRssKiB),
    ];
  });
  console.log(
    `\nFleet, pulumi up: a new stable build (${round((results[0]?.xvaBytes ?? 0) / 1e6, 0)} MB of XVA) placed on N ` +
      `devpools by \`pulumi up --yes --skip-preview\` (goal: N=8 within ${TARGETS.fleet8OverFleet1Max}x of N=1)`,
  );
  console.log(
    table(
      [
        "pools",
        "up wall s",
        "rounds' range s",
        "vs 1 pool",
        "no-change up s",
        "up - no-change s",
        "pulumi tree CPU s",
        "devpools CPU s",
        "cores busy",
        "provider host peak RSS",
        "peak RSS (largest process)",
      ],
      rows,
    ),
  );
  console.log(
    "pulumi tree = the CLI, language host, program and dynamic-provider host (GNU time, waited-for descendants);\n" +
      "no-change up = the same stack's next `up`, which changes nothing: the fixed cost of CLI, program and host.",
  );
}

function printFleet(all: readonly FleetResult[]): void {
  const medians = medianRounds(all, (r) => r.importer.wallSeconds);
  const results = medians.map((m) => m.median);
  const base = results.find((r) => r.pools === 1)?.importer.wallSeconds;
  const rows = medians.map((m) => {
    const r = m.median;
    const per = r.importer.pools.map((p) => p.seconds).sort((a, b) => a - b);
    const wall = r.importer.wallSeconds;
    const total = r.cpu.provider + r.cpu.devpools + r.cpu.versitygw;
    return [
      r.pools,
      round(wall, 1),
      range(m),
      base !== undefined ? `${round(wall / base, 2)}x` : "n/a",
      `${round(per[0], 1)} / ${round(per[Math.floor(per.length / 2)], 1)} / ${round(per[per.length - 1], 1)}`,
      mbps(r.xvaBytes * r.pools, wall),
      round(r.cpu.provider, 1),
      round(r.cpu.devpools, 1),
      round(r.cpu.versitygw, 1),
      round(total, 1),
      round(total / wall, 2),
      kibToMiB(r.importer.gnuTimeMaxRssKiB ?? r.importer.maxRssKiB),
    ];
  });
  console.log(
    `\nFleet, the replication alone: one new build (${round((results[0]?.xvaBytes ?? 0) / 1e6, 0)} MB of XVA) to N ` +
      `devpools at once by one provider process, ReplicaProvider.create called directly`,
  );
  console.log(
    table(
      [
        "pools",
        "wall s",
        "rounds' range s",
        "vs 1 pool",
        "per pool min/median/max s",
        "MB/s delivered",
        "provider CPU s",
        "devpools CPU s",
        "versitygw CPU s",
        "total CPU s",
        "cores busy",
        "provider peak RSS",
      ],
      rows,
    ),
  );
  console.log(
    "CPU s = user + system seconds during the replication (/proc for devpool and versitygw, process.cpuUsage for the\n" +
      "provider); cores busy = total CPU s / wall s (this machine has " +
      `${os.cpus().length}): at that many, the wall time is CPU-bound.`,
  );
}

interface BenchRun {
  transfer: TransferResult[];
  fleet: FleetResult[];
}

async function runBenches(o: Options, work: string): Promise<BenchRun> {
  const password = randomBytes(18).toString("base64url");
  let gw: VersityGw | undefined;
  let s3: S3Client | undefined;
  let transferPool: PoolProcess | undefined;
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    killRunning();
    if (transferPool !== undefined) await stopPoolProcess(transferPool).catch(() => undefined);
    s3?.destroy();
    await gw?.stop().catch(() => undefined);
    fs.rmSync(work, { recursive: true, force: true });
  };
  const onSignal = (sig: NodeJS.Signals) => {
    log(`${sig}: stopping, removing ${work}`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const out: BenchRun = { transfer: [], fleet: [] };
  try {
    log(`work directory ${work} (devpools, versitygw, downloads; removed at the end)`);
    gw = await startVersityGw({ dataDir: path.join(work, "s3") });
    s3 = createS3Client(
      { endpoint: gw.endpoint, region: gw.region, forcePathStyle: true },
      { accessKeyId: gw.accessKey, secretAccessKey: gw.secretKey },
    );
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const store: ArtifactStore = {
      region: gw.region,
      endpoint: gw.endpoint,
      forcePathStyle: true,
      bucket: BUCKET,
      prefix: "bench",
      stack: "bench",
    };
    const ctx: Ctx = { o, work, gw, s3, store, password };
    if (o.transfer) {
      transferPool = await startPoolProcess(work, "transfer", password);
      for (const size of o.sizesGiB) out.transfer.push(await benchTransfer(ctx, transferPool, size));
      await stopPoolProcess(transferPool);
      transferPool = undefined;
    }
    if (o.fleet) {
      const publish = (buildId: string, at: Date) =>
        publishGeneratedArtifact(s3 as S3Client, store, {
          templateName: TEMPLATE,
          buildId,
          virtualSizeBytes: o.fleetSizeGiB * GIB,
          fill: o.fill,
          at,
        });
      // `pulumi up` moves the fleet from a previous stable build to this one.
      const previous = o.fleetUp
        ? await publish(`fleet-${o.fleetSizeGiB}g-previous`, new Date(Date.now() - 60_000))
        : undefined;
      const artifact = await publish(`fleet-${o.fleetSizeGiB}g`, new Date());
      // Rounds interleaved (1, 4, 8, 1, 4, 8, ...), so a busy minute of the machine does not land on one size only.
      for (let round = 0; round < o.runs; round++) {
        for (const n of o.fleets) {
          log(`fleet round ${round + 1} of ${o.runs}`);
          out.fleet.push(await benchFleet(ctx, n, artifact, previous));
        }
      }
    }
    return out;
  } finally {
    await cleanup();
  }
}

function machine() {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? "",
    memoryGiB: round(os.totalmem() / GIB, 1),
    loadAverageAtStart: os.loadavg().map((n) => round(n, 2)),
    node: process.version,
    curl: spawnSync("curl", ["--version"], { encoding: "utf8" }).stdout.split("\n")[0] ?? "",
  };
}

function writeResults(o: Options, started: Date, m: ReturnType<typeof machine>, out: BenchRun): string {
  const dir = path.join(ROOT, "bench", "results");
  fs.mkdirSync(dir, { recursive: true });
  const stamp = started
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  const file = path.join(dir, `fleet-${stamp}.json`);
  const body = {
    schema: "xcpng-templates/bench-fleet@1",
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    options: { ...o, workParent: undefined },
    environment: { ...m, loadAverageAtEnd: os.loadavg().map((n) => round(n, 2)) },
    targets: TARGETS,
    ...out,
  };
  fs.writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  assertGnuTime();
  if (!fs.existsSync("/usr/bin/curl")) {
    throw new ToolError(
      "MISSING_TOOL",
      "bench: curl is needed for the two-step baseline: apt-get install -y curl",
    );
  }
  const work = fs.mkdtempSync(path.join(o.workParent, "xcpng-bench-fleet-"));
  const started = new Date();
  const m = machine();
  const out = await runBenches(o, work);
  if (out.transfer.length > 0) printTransfer(out.transfer);
  if (out.fleet.length > 0) {
    printFleetUp(out.fleet);
    printFleet(out.fleet);
  }
  console.log(
    `\nMachine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB; load average ${m.loadAverageAtStart.join("/")} ` +
      `at start, ${os
        .loadavg()
        .map((n) => round(n, 2))
        .join("/")} at the end.`,
  );
  console.log(`JSON: ${path.relative(ROOT, writeResults(o, started, m, out))}`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
