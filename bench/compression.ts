/**
 * `npm run bench` (its last part): the stack's `compression` setting side by side, none, gzip and zstd: the bytes
 * stored and the end-to-end export time (login to a verified, size-checked object, the product's path:
 * bench/stream-export.ts in its own process under GNU time), and the time to read the object back and unpack its
 * disk as the acceptance boot does (every chunk verified, the SHA-256 checked). A bench, not a test: it prints
 * figures and asserts nothing about them.
 *
 *   tools/with-env.sh tsx bench/compression.ts [--image <raw disk>] [--random-gib 1] [--fill 0.33]
 *       [--compressions none,gzip,zstd] [--work-dir DIR] [--timeout-min 30]
 *
 * Disks: the Debian 12 template's own disk (`--image`, e.g. the local build's disk.raw; by default the bench makes
 * it with the local build path, `-var pack_and_import=false`, which needs root and takes a minute with a cached
 * rootfs), and a disk of random data (`--random-gib`, 0 to skip: the incompressible worst case).
 * Results: a table on stdout and JSON in bench/results/ (gitignored).
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Readable } from "node:stream";
import { parseArgs } from "node:util";
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand } from "@aws-sdk/client-s3";
import { startDevpool, type Devpool } from "../devpool";
import { startVersityGw, type VersityGw } from "../devpool/versitygw";
import { unpackBootDisk } from "../lib/acceptance/xva-disk";
import { createS3Client } from "../lib/s3/client";
import { COMPRESSIONS, type Compression } from "../providers/config/stack-config";
import { ToolError } from "../tools/errors";
import { createDiskTemplate, createImageTemplate, type DiskTemplate } from "./disk-fixture";
import { assertGnuTime, killRunning, runMeasuredOk } from "./measure";
import { kibToMiB, round, table } from "./report";
import type { StreamJob, StreamResult } from "./stream-export";

const ROOT = path.resolve(__dirname, "..");
const USERNAME = "root";
const BUCKET = "bench-compression";
const GIB = 1024 ** 3;

interface Options {
  readonly image: string | undefined;
  readonly randomGiB: number;
  readonly fill: number;
  readonly compressions: readonly Compression[];
  readonly workParent: string;
  readonly timeoutMs: number;
}

interface Row {
  readonly disk: string;
  readonly compression: Compression;
  readonly storedBytes: number;
  readonly tarBytes: number;
  readonly exportSeconds: number;
  readonly exportProcessSeconds: number;
  readonly exportPeakRssKiB: number | undefined;
  readonly readBackSeconds: number;
}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      image: { type: "string" },
      "random-gib": { type: "string", default: "1" },
      fill: { type: "string", default: "0.33" },
      compressions: { type: "string", default: COMPRESSIONS.join(",") },
      "work-dir": { type: "string", default: os.tmpdir() },
      "timeout-min": { type: "string", default: "30" },
    },
    strict: true,
  });
  const bad = (name: string, v: string, expected: string) =>
    new ToolError("USAGE", `bench/compression: --${name} expected ${expected}, but "${v}" was provided`);
  const randomGiB = Number(values["random-gib"]);
  if (!Number.isInteger(randomGiB) || randomGiB < 0 || randomGiB > 16)
    throw bad("random-gib", values["random-gib"], "0..16");
  const fill = Number(values.fill);
  if (!(fill > 0 && fill < 1)) throw bad("fill", values.fill, "a fraction in (0, 1)");
  const compressions = values.compressions.split(",").map((c) => c.trim());
  for (const c of compressions)
    if (!(COMPRESSIONS as readonly string[]).includes(c))
      throw bad("compressions", values.compressions, COMPRESSIONS.join(", "));
  const timeoutMin = Number(values["timeout-min"]);
  if (!(timeoutMin > 0)) throw bad("timeout-min", values["timeout-min"], "minutes > 0");
  if (values.image !== undefined && !fs.existsSync(values.image))
    throw bad("image", values.image, "a raw disk image that exists");
  return {
    image: values.image,
    randomGiB,
    fill,
    compressions: compressions as Compression[],
    workParent: values["work-dir"],
    timeoutMs: timeoutMin * 60_000,
  };
}

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

/** The Debian 12 template's disk from the local build path, stopped before packing (needs root). */
function buildImage(work: string, timeoutMs: number): string {
  if (process.getuid?.() !== 0)
    throw new ToolError(
      "USAGE",
      "bench/compression: making the Debian 12 disk needs root (the local build path: debootstrap, chroot); " +
        "run the bench as root, or give --image <raw disk> (a local build's disk.raw)",
    );
  const dir = path.join(work, "image");
  log(
    `making the Debian 12 template's disk with the local build path in ${dir} (a minute with a cached rootfs)`,
  );
  const r = spawnSync(
    "bash",
    [path.join(ROOT, "packer/build.sh"), path.join(ROOT, "packer/local/debian12-local.pkr.hcl")],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        CHECKPOINT_DISABLE: "1",
        PKR_VAR_build_id: "bench",
        PKR_VAR_pack_and_import: "false",
        PKR_VAR_work_directory: dir,
      },
      encoding: "utf8",
      timeout: timeoutMs,
    },
  );
  if (r.status !== 0)
    throw new ToolError(
      "COMMAND_FAILED",
      `bench/compression: the local build failed (exit ${r.status}):\n${(r.stderr ?? "").slice(-3000)}`,
    );
  return path.join(dir, "disk.raw");
}

interface Context {
  readonly work: string;
  readonly pool: Devpool;
  readonly gw: VersityGw;
  readonly poolPassword: string;
  readonly o: Options;
}

/** One disk, one compression: the export (its own process), then the read-back and unpack (in this one). */
async function measure(
  ctx: Context,
  name: string,
  disk: DiskTemplate,
  compression: Compression,
): Promise<Row> {
  const s3 = createS3Client(
    { endpoint: ctx.gw.endpoint, region: ctx.gw.region, forcePathStyle: true },
    { accessKeyId: ctx.gw.accessKey, secretAccessKey: ctx.gw.secretKey },
  );
  const key = `${name}/${compression}.xva`;
  const resultFile = path.join(ctx.work, `result-${name}-${compression}.json`);
  try {
    spawnSync("sync", { stdio: "ignore" });
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
      compression,
    };
    log(`${name}, ${compression}: export to s3://${BUCKET}/${key}`);
    const run = await runMeasuredOk(
      process.execPath,
      ["--import", "tsx", path.join("bench", "stream-export.ts")],
      {
        cwd: ROOT,
        env: { ...process.env, XCPNG_BENCH_JOB: JSON.stringify(job) },
        timeoutMs: ctx.o.timeoutMs,
      },
      ctx.work,
      "the streaming export (bench/stream-export.ts)",
    );
    const r = JSON.parse(fs.readFileSync(resultFile, "utf8")) as StreamResult;
    log(`${name}, ${compression}: read back and unpack`);
    const unpackDir = fs.mkdtempSync(path.join(ctx.work, "unpack-"));
    const t0 = process.hrtime.bigint();
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    await unpackBootDisk(got.Body as Readable, unpackDir, { expectedSha256: r.sha256 });
    const readBackSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    fs.rmSync(unpackDir, { recursive: true, force: true });
    return {
      disk: name,
      compression,
      storedBytes: r.bytes,
      tarBytes: r.tarBytes,
      exportSeconds: r.exportSeconds,
      exportProcessSeconds: run.wallSeconds,
      exportPeakRssKiB: run.maxRssKiB,
      readBackSeconds,
    };
  } finally {
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key })).catch(() => undefined);
    s3.destroy();
  }
}

async function runBench(o: Options, work: string): Promise<Row[]> {
  const poolPassword = randomBytes(18).toString("base64url");
  let pool: Devpool | undefined;
  let gw: VersityGw | undefined;
  const cleanup = async () => {
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
  try {
    const image = o.image ?? buildImage(work, o.timeoutMs);
    pool = await startDevpool({
      dataDir: path.join(work, "devpool"),
      username: USERNAME,
      password: poolPassword,
      tls: true,
    });
    gw = await startVersityGw({ dataDir: path.join(work, "s3") });
    const s3 = createS3Client(
      { endpoint: gw.endpoint, region: gw.region, forcePathStyle: true },
      { accessKeyId: gw.accessKey, secretAccessKey: gw.secretKey },
    );
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    s3.destroy();
    const disks: [string, DiskTemplate][] = [
      ["debian-12", await createImageTemplate(pool, USERNAME, poolPassword, "bench-debian-12", image)],
    ];
    if (o.randomGiB > 0)
      disks.push([
        `random-${o.randomGiB}g`,
        await createDiskTemplate(pool, USERNAME, poolPassword, "bench-random", o.randomGiB * GIB, o.fill),
      ]);
    const ctx: Context = { work, pool, gw, poolPassword, o };
    const rows: Row[] = [];
    for (const [name, disk] of disks) {
      log(`${name}: ${disk.dataBlocks} of ${disk.totalBlocks} 1 MiB blocks hold data`);
      for (const c of o.compressions) rows.push(await measure(ctx, name, disk, c));
    }
    return rows;
  } finally {
    await cleanup();
  }
}

function print(rows: readonly Row[]): void {
  const plain = (r: Row) => rows.find((x) => x.disk === r.disk && x.compression === "none");
  console.log("\nCompression of the stored XVA, devpool -> versitygw (MB = 10^6 bytes; RSS in MiB)");
  console.log(
    table(
      [
        "disk",
        "compression",
        "stored MB",
        "vs none",
        "XVA (tar) MB",
        "export s",
        "w/ start s",
        "export peak RSS",
        "read back + unpack s",
      ],
      rows.map((r) => {
        const none = plain(r);
        return [
          r.disk,
          r.compression,
          round(r.storedBytes / 1e6, 1),
          none === undefined || r.compression === "none"
            ? ""
            : `${(none.storedBytes / r.storedBytes).toFixed(2)}x smaller`,
          round(r.tarBytes / 1e6, 1),
          round(r.exportSeconds, 1),
          round(r.exportProcessSeconds, 1),
          kibToMiB(r.exportPeakRssKiB),
          round(r.readBackSeconds, 1),
        ];
      }),
    ),
  );
  console.log(
    "export s = login to the verified, size-checked object (the Artifact provider's path); w/ start adds node+tsx start-up.\n" +
      "read back + unpack = GetObject, decompress, verify every chunk and the SHA-256, write the boot disk (the acceptance boot's first step).",
  );
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  assertGnuTime();
  const work = fs.mkdtempSync(path.join(o.workParent, "xcpng-bench-compression-"));
  const started = new Date();
  const loadAtStart = os.loadavg();
  const rows = await runBench(o, work);
  print(rows);
  console.log(
    `\nMachine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? ""}); load average ${loadAtStart.map((n) => round(n, 2)).join("/")} at start, ` +
      `${os
        .loadavg()
        .map((n) => round(n, 2))
        .join("/")} at the end.`,
  );
  const dir = path.join(ROOT, "bench", "results");
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(
    dir,
    `compression-${started
      .toISOString()
      .replace(/[-:]/g, "")
      .replace(/\.\d+Z$/, "Z")}.json`,
  );
  fs.writeFileSync(
    file,
    `${JSON.stringify({ schema: "xcpng-templates/bench-compression@1", startedAt: started.toISOString(), options: { ...o, workParent: undefined }, rows }, null, 2)}\n`,
  );
  console.log(`JSON: ${path.relative(ROOT, file)}`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
