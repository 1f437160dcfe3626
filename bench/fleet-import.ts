/**
 * The importing process of the fleet bench, run as its own process so its peak RSS and CPU time are its own.
 *
 * - `replicate`: the Replica provider itself (`ReplicaProvider.create`, called directly, not through the Pulumi
 *   engine), one create per pool, all at once, as Pulumi runs independent resources in parallel: S3 GetObject →
 *   XVA verifier → tail gate → PUT /import, then verification and tags. `removeAfter` deletes the replicas
 *   afterwards (not timed).
 * - `import-file`: the pool import alone through the same XAPI client (lib/xapi putResource from a local file).
 *
 *   node --import tsx bench/fleet-import.ts     (the job, secrets included, in XCPNG_BENCH_JOB)
 *
 * bench/fleet.ts starts it as the dynamic-provider host loads a provider (plain node, @pulumi/pulumi first, then
 * tsx's CommonJS hook) and calls {@link runFromEnvironment}.
 *
 * Writes its result as JSON to the job's `resultFile`; the provider's own lines go to stdout.
 */
import * as fs from "node:fs";
import type { S3Credentials } from "../lib/s3/client";
import { withXapi, type PoolTarget } from "../lib/xapi/client";
import { destroyTemplate, findByUuid } from "../lib/xapi/templates";
import { ReplicaProvider, type ReplicaBuild, type ReplicaOutputs } from "../providers/replica";
import type { ArtifactStore } from "../providers/store";
import { ToolError } from "../tools/errors";

export interface FleetImportJob {
  readonly mode: "replicate" | "import-file";
  readonly pools: readonly {
    readonly name: string;
    readonly target: PoolTarget;
    readonly password: string;
  }[];
  readonly store: ArtifactStore;
  readonly credentials: S3Credentials;
  readonly build: ReplicaBuild;
  readonly templateName: string;
  /** `import-file`: the XVA on disk. */
  readonly file?: string;
  /** Remove what was imported once timed. */
  readonly removeAfter: boolean;
  readonly resultFile: string;
}

export interface PoolTiming {
  readonly name: string;
  /** The whole create: login, survey, manifest, import, verification, tags. */
  readonly seconds: number;
  /** The transfer alone (S3 GET → PUT /import until the pool's task completed), as the provider logs it. */
  readonly importSeconds: number | undefined;
  readonly uuid: string;
}

export interface FleetImportResult {
  readonly wallSeconds: number;
  readonly pools: readonly PoolTiming[];
  /** Peak RSS (KiB) with the modules loaded, before any transfer. */
  readonly baselineMaxRssKiB: number;
  readonly maxRssKiB: number;
  readonly cpuUserSeconds: number;
  readonly cpuSystemSeconds: number;
}

function readJob(): FleetImportJob {
  const text = process.env.XCPNG_BENCH_JOB;
  if (text === undefined || text === "") {
    throw new ToolError(
      "USAGE",
      "fleet-import: XCPNG_BENCH_JOB must hold the job as JSON (bench/fleet.ts sets it)",
    );
  }
  return JSON.parse(text) as FleetImportJob;
}

const since = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

/** Called when the timed part is over (before any removal). */
type Mark = () => void;

async function replicate(job: FleetImportJob, mark: Mark): Promise<PoolTiming[]> {
  const provider = new ReplicaProvider();
  const values: Record<string, string> = {
    "xcpng-templates:fleetPoolPasswords": JSON.stringify(
      Object.fromEntries(job.pools.map((p) => [p.name, p.password])),
    ),
    "xcpng-templates:s3AccessKeyId": job.credentials.accessKeyId,
    "xcpng-templates:s3SecretAccessKey": job.credentials.secretAccessKey,
  };
  await provider.configure({
    config: { get: (k: string) => values[k], require: (k: string) => values[k] ?? "" },
  });
  // The provider's "imported build ... in N s" line gives the transfer's own time.
  const importSeconds = new Map<string, number>();
  const log = console.log.bind(console);
  console.log = (...args: unknown[]) => {
    const line = args.map(String).join(" ");
    const m = / on pool (\S+) \(.*: imported build .* in ([\d.]+) s /.exec(line);
    if (m?.[1] !== undefined) importSeconds.set(m[1], Number(m[2]));
    log(line);
  };
  const made = await Promise.all(
    job.pools.map(async (p) => {
      const t0 = process.hrtime.bigint();
      const inputs = {
        pool: p.target,
        poolName: p.name,
        passwordKey: `fleetPoolPasswords.${p.name}`,
        templateName: job.templateName,
        channel: "stable",
        build: job.build,
        store: job.store,
        poolRetention: 1,
      };
      const r = await provider.create(inputs);
      return { name: p.name, seconds: since(t0), outs: r.outs as ReplicaOutputs, id: r.id };
    }),
  );
  mark();
  if (job.removeAfter) await Promise.all(made.map((m) => provider.delete(m.id, m.outs)));
  return made.map((m) => ({
    name: m.name,
    seconds: m.seconds,
    importSeconds: importSeconds.get(m.name),
    uuid: m.outs.uuid,
  }));
}

async function importFile(job: FleetImportJob, mark: Mark): Promise<PoolTiming[]> {
  const [p] = job.pools;
  if (p === undefined || job.file === undefined)
    throw new ToolError("USAGE", "fleet-import: import-file needs a pool and a file");
  const file = job.file;
  const t0 = process.hrtime.bigint();
  return withXapi(p.target, p.password, async (x) => {
    const refs = (await x.putResource(
      "/import",
      {},
      fs.createReadStream(file, { highWaterMark: 1024 * 1024 }),
      {
        lengthBytes: fs.statSync(file).size,
        taskLabel: "xcpng-templates bench: import from a file",
      },
    )) as string[];
    const seconds = since(t0);
    mark();
    const uuid = await x.read<string>("VM.get_uuid", refs[0]);
    if (job.removeAfter) {
      const f = await findByUuid(x, uuid);
      if (f !== undefined) await destroyTemplate(x, f);
    }
    return [{ name: p.name, seconds, importSeconds: seconds, uuid }];
  });
}

export async function runFleetImport(job: FleetImportJob): Promise<FleetImportResult> {
  const baselineMaxRssKiB = process.resourceUsage().maxRSS;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let timed: Omit<FleetImportResult, "pools" | "baselineMaxRssKiB"> | undefined;
  const mark = () => {
    const cpu = process.cpuUsage(cpu0);
    timed = {
      wallSeconds: since(t0),
      maxRssKiB: process.resourceUsage().maxRSS,
      cpuUserSeconds: cpu.user / 1e6,
      cpuSystemSeconds: cpu.system / 1e6,
    };
  };
  const pools = job.mode === "replicate" ? await replicate(job, mark) : await importFile(job, mark);
  if (timed === undefined) throw new ToolError("COMMAND_FAILED", "fleet-import: the timed part never ended");
  return { ...timed, pools, baselineMaxRssKiB };
}

/** Runs the job in XCPNG_BENCH_JOB and writes its result file (bench/fleet.ts starts a process that calls this). */
export function runFromEnvironment(): void {
  const job = readJob();
  runFleetImport(job)
    .then((r) => fs.writeFileSync(job.resultFile, JSON.stringify(r)))
    .catch((e: unknown) => {
      process.stderr.write(`fleet-import: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    });
}

if (require.main === module) runFromEnvironment();
