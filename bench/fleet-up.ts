/**
 * The fleet bench's `pulumi up` measurement (issue 14: "wall time of `up` for one new stable build"): the real Pulumi
 * CLI runs bench/fleet-up-program.ts, one Replica per devpool, in the dynamic-provider host, as a user's stack does.
 *
 * Per fleet: a stack on a local file backend in the bench's work directory; a first `up` places the previous build
 * on every pool (not timed); the stack's build then moves to the new one and `pulumi up --yes --skip-preview` (what
 * the deploy workflow's `pulumi/actions` runs) is timed; then an `up` that changes nothing, for the fixed cost of
 * CLI, program and provider host; then `destroy` (not timed).
 *
 * The project lives in its own directory (Pulumi.yaml, an index.ts that imports the program, and links to the
 * repository's node_modules and providers/, because the provider shim loads `providers/<name>` relative to the
 * provider host's working directory, the project's).
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import type { VersityGw } from "../devpool/versitygw";
import type { ReplicaBuild } from "../providers/replica-import";
import type { ArtifactStore } from "../providers/store";
import { ToolError } from "../tools/errors";
import { withProviderHostNodeOptions } from "../tools/provider-host-env";
import type { BenchPool } from "./fleet-up-program";
import { cpuSeconds, type PoolProcess } from "./fleet-pools";
import { runMeasuredOk, type RunOptions, type RunResult } from "./measure";

const ROOT = path.resolve(__dirname, "..");
const STACK = "bench";

export interface FleetUpJob {
  readonly work: string;
  readonly pools: readonly PoolProcess[];
  readonly password: string;
  readonly gw: VersityGw;
  readonly store: ArtifactStore;
  readonly templateName: string;
  /** Placed by the first, untimed `up`. */
  readonly previous: ReplicaBuild;
  /** The new stable build the timed `up` places on every pool. */
  readonly next: ReplicaBuild;
  readonly timeoutMs: number;
  readonly log: (line: string) => void;
}

export interface FleetUpResult {
  /** `pulumi up` that places the new build on every pool: wall seconds. */
  readonly upSeconds: number;
  /** CPU seconds of the `pulumi` process tree during it (CLI, language host, program, provider host). */
  readonly upPulumiCpuSeconds: number | undefined;
  /** CPU seconds of the devpools during it. */
  readonly upDevpoolsCpuSeconds: number;
  /** Peak RSS of the largest process of the tree, KiB (GNU time). */
  readonly upMaxRssKiB: number | undefined;
  /** The dynamic-provider host's own peak RSS, MiB, as the Replica logs it after its import ("provider peak RSS"). */
  readonly providerPeakRssMiB: number | undefined;
  /** An `up` that changes nothing: the fixed cost of CLI, program and provider host. */
  readonly noChangeUpSeconds: number;
}

interface Placed {
  readonly pool: string;
  readonly buildId: string | null;
  readonly uuid: string | null;
  readonly failure: { readonly message?: string } | null;
}

/** The bench's Pulumi project, stack and secrets in `dir`. */
class FleetUpStack {
  readonly dir: string;
  private readonly configFile: string;
  private readonly env: NodeJS.ProcessEnv;

  constructor(private readonly job: FleetUpJob) {
    // Its own directory per run: a fleet size is measured in several rounds.
    this.dir = fs.mkdtempSync(path.join(job.work, `fleet-up-${job.pools.length}-`));
    fs.mkdirSync(path.join(this.dir, "state"));
    this.configFile = path.join(this.dir, `Pulumi.${STACK}.yaml`);
    this.env = withProviderHostNodeOptions({
      ...process.env,
      PULUMI_BACKEND_URL: `file://${path.join(this.dir, "state")}`,
      PULUMI_HOME: path.join(this.dir, "pulumi-home"),
      PULUMI_CONFIG_PASSPHRASE: randomBytes(18).toString("base64url"),
      PULUMI_SKIP_UPDATE_CHECK: "true",
    });
  }

  opts(extra: Partial<RunOptions> = {}): RunOptions {
    return { cwd: this.dir, env: this.env, timeoutMs: this.job.timeoutMs, ...extra };
  }

  pulumi(args: string[], what: string, extra: Partial<RunOptions> = {}): Promise<RunResult> {
    return runMeasuredOk("pulumi", [...args, "--non-interactive"], this.opts(extra), this.job.work, what);
  }

  /** The project directory: its Pulumi.yaml (the main project's name, so the config namespace is the same). */
  writeProject(): void {
    const { dir } = this;
    fs.writeFileSync(
      path.join(dir, "Pulumi.yaml"),
      yaml.dump({
        name: "xcpng-templates",
        description: "xcpng-templates fleet bench (bench/fleet-up.ts)",
        runtime: { name: "nodejs", options: { typescript: true } },
        main: "index.ts",
      }),
    );
    fs.writeFileSync(
      path.join(dir, "index.ts"),
      `export * from ${JSON.stringify(path.join(ROOT, "bench", "fleet-up-program"))};\n`,
    );
    fs.writeFileSync(
      path.join(dir, "tsconfig.json"),
      JSON.stringify({
        extends: path.join(ROOT, "tsconfig.json"),
        include: ["index.ts"],
        "ts-node": { transpileOnly: true },
      }),
    );
    for (const link of ["node_modules", "providers", "package.json"]) {
      fs.symlinkSync(path.join(ROOT, link), path.join(dir, link));
    }
  }

  private setConfig(values: Record<string, unknown>): void {
    const doc = (yaml.load(fs.readFileSync(this.configFile, "utf8")) ?? {}) as {
      config?: Record<string, unknown>;
    };
    doc.config = { ...doc.config, ...values };
    fs.writeFileSync(this.configFile, yaml.dump(doc));
  }

  setBuild(build: ReplicaBuild): void {
    this.setConfig({ "xcpng-templates:benchBuild": build });
  }

  async create(): Promise<void> {
    const { job } = this;
    this.writeProject();
    await this.pulumi(["stack", "init", STACK], "pulumi stack init");
    const pools: BenchPool[] = job.pools.map((p) => ({
      name: p.name,
      url: p.url,
      caCertificate: p.certificate,
    }));
    this.setConfig({
      "xcpng-templates:benchPools": pools,
      "xcpng-templates:benchStore": job.store,
      "xcpng-templates:benchTemplate": job.templateName,
    });
    // Secrets on stdin, never argv.
    const secrets: Record<string, string> = {
      s3AccessKeyId: job.gw.accessKey,
      s3SecretAccessKey: job.gw.secretKey,
      fleetPoolPasswords: JSON.stringify(Object.fromEntries(job.pools.map((p) => [p.name, job.password]))),
    };
    for (const [key, value] of Object.entries(secrets)) {
      await this.pulumi(["config", "set", "--secret", key], `pulumi config set --secret ${key}`, {
        input: value,
        measureRss: false,
      });
    }
  }

  /** `pulumi up`, then checks that every pool holds `build` and none failed. */
  async up(build: ReplicaBuild, what: string): Promise<RunResult> {
    this.setBuild(build);
    const r = await this.pulumi(["up", "--yes", "--skip-preview"], what, {
      echoPrefix: `  [up ${this.job.pools.length}]`,
    });
    const out = await this.pulumi(["stack", "output", "placed", "--json"], "pulumi stack output", {
      measureRss: false,
    });
    const placed = JSON.parse(out.stdout) as Placed[];
    const wrong = placed.filter((p) => p.buildId !== build.buildId || p.failure !== null || p.uuid === null);
    if (placed.length !== this.job.pools.length || wrong.length > 0) {
      throw new ToolError(
        "COMMAND_FAILED",
        `bench: after ${what}, every one of ${this.job.pools.length} pools should hold build ${build.buildId}, but: ` +
          JSON.stringify(placed),
      );
    }
    return r;
  }
}

/** The highest "provider peak RSS N MiB" the Replica logged in an `up`'s output; undefined if none. */
export function providerPeakRssMiB(output: string): number | undefined {
  const all = [...output.matchAll(/provider peak RSS (\d+) MiB/g)].map((m) => Number(m[1]));
  return all.length === 0 ? undefined : Math.max(...all);
}

/** Runs the measurement on `job.pools` (running devpools), destroying the stack's replicas at the end. */
export async function runFleetUp(job: FleetUpJob): Promise<FleetUpResult> {
  const n = job.pools.length;
  const s = new FleetUpStack(job);
  await s.create();
  job.log(`fleet of ${n}, pulumi up: placing the previous build ${job.previous.buildId} (not timed)`);
  await s.up(job.previous, "pulumi up (previous build)");
  job.log(`fleet of ${n}, pulumi up: the new stable build ${job.next.buildId} on every pool (timed)`);
  const before = job.pools.map((p) => cpuSeconds(p.pid));
  const up = await s.up(job.next, "pulumi up (new build)");
  const devpools = job.pools.reduce((sum, p, i) => sum + cpuSeconds(p.pid) - (before[i] ?? 0), 0);
  job.log(`fleet of ${n}, pulumi up: an up that changes nothing (the fixed cost)`);
  const same = await s.up(job.next, "pulumi up (nothing changed)");
  job.log(`fleet of ${n}, pulumi destroy (not timed)`);
  await s.pulumi(["destroy", "--yes", "--skip-preview"], "pulumi destroy", { measureRss: false });
  fs.rmSync(s.dir, { recursive: true, force: true });
  return {
    upSeconds: up.wallSeconds,
    upPulumiCpuSeconds: up.cpuSeconds,
    upDevpoolsCpuSeconds: devpools,
    upMaxRssKiB: up.maxRssKiB,
    providerPeakRssMiB: providerPeakRssMiB(up.stdout),
    noChangeUpSeconds: same.wallSeconds,
  };
}
