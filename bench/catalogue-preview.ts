/**
 * Times `pulumi preview --refresh` of a large catalogue against devpool and counts the pool logins it makes.
 *
 * The stack is set up as tests/lifecycle.e2e.test.ts does (local file backend in a temporary directory, secrets
 * through `pulumi config set --secret` on stdin, `--config-file` outside the project). Its state is made by a
 * real `pulumi up` of N entries that all use bench/fixtures/tiny.pkr.hcl, a Packer template that keeps
 * packer/build.sh's contract but imports a 16 MiB template in seconds instead of building an OS.
 *
 * Logins are counted in devpool itself (it runs in this process): every session it opens, whether by
 * `session.login_with_password` or by HTTP Basic auth on a transfer, goes through `engine.openSession`.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import type { Devpool } from "../devpool";
import type { VersityGw } from "../devpool/versitygw";
import { ToolError } from "../tools/errors";
import { runMeasured, runMeasuredOk, type RunOptions } from "./measure";

export const TINY_TEMPLATE = "bench/fixtures/tiny.pkr.hcl";

export interface CatalogueJob {
  readonly root: string;
  readonly work: string;
  readonly pool: Devpool;
  readonly poolPassword: string;
  readonly gw: VersityGw;
  readonly templates: number;
  readonly previewRuns: number;
  /** `pulumi up --parallel` while the state is made (not measured). */
  readonly upParallel: number;
  readonly timeoutMs: number;
}

export interface PreviewRun {
  readonly seconds: number;
  readonly logins: number;
  /** XAPI calls (JSON-RPC and XML-RPC), logins and logouts included. */
  readonly xapiCalls: number;
  readonly callsByMethod: Readonly<Record<string, number>>;
  /** Sessions opened by the preview and still open once it returned (a leak if not 0). */
  readonly sessionsLeftOpen: number;
  readonly noChanges: boolean;
}

export interface CatalogueResult {
  readonly templates: number;
  readonly upSeconds: number;
  readonly upLogins: number;
  readonly previews: readonly PreviewRun[];
  /** `pulumi preview` without --refresh, once: the fixed cost (CLI, program, provider start-up) for reference. */
  readonly plainPreview: PreviewRun;
  readonly command: string;
}

/** Counts sessions opened and XAPI calls made on devpool's engine, from the last reset. */
class PoolCounters {
  logins = 0;
  calls = new Map<string, number>();

  constructor(pool: Devpool) {
    const engine = pool.engine;
    const openSession = engine.openSession.bind(engine);
    const call = engine.call.bind(engine);
    engine.openSession = (username, originator) => {
      this.logins++;
      return openSession(username, originator);
    };
    engine.call = (method, params) => {
      this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
      return call(method, params);
    };
  }

  reset(): void {
    this.logins = 0;
    this.calls = new Map();
  }

  total(): number {
    let n = 0;
    for (const v of this.calls.values()) n += v;
    return n;
  }
}

/** The bench's stack: a local file backend and a config file in `dir`, outside the project. */
class CatalogueStack {
  readonly stack = `bench${randomBytes(4).toString("hex")}`;
  readonly dir: string;
  readonly configFile: string;
  private readonly env: NodeJS.ProcessEnv;

  constructor(private readonly job: CatalogueJob) {
    this.dir = path.join(job.work, "catalogue");
    fs.mkdirSync(path.join(this.dir, "state"), { recursive: true });
    this.configFile = path.join(this.dir, `Pulumi.${this.stack}.yaml`);
    this.env = {
      ...process.env,
      PULUMI_BACKEND_URL: `file://${path.join(this.dir, "state")}`,
      PULUMI_HOME: path.join(this.dir, "pulumi-home"),
      PULUMI_CONFIG_PASSPHRASE: randomBytes(18).toString("base64url"),
      PULUMI_SKIP_UPDATE_CHECK: "true",
      // `preview --json` prints one engine event per line, ending with the summary (see previewHasNoChanges).
      PULUMI_ENABLE_STREAMING_JSON_PREVIEW: "true",
    };
  }

  opts(extra: Partial<RunOptions> = {}): RunOptions {
    return { cwd: this.job.root, env: this.env, timeoutMs: this.job.timeoutMs, measureRss: false, ...extra };
  }

  /** `pulumi <args> --non-interactive`, failing on a non-zero exit. */
  pulumi(args: string[], what: string, extra: Partial<RunOptions> = {}) {
    return runMeasuredOk("pulumi", [...args, "--non-interactive"], this.opts(extra), this.dir, what);
  }

  withConfig(args: string[]): string[] {
    return [...args, "--config-file", this.configFile];
  }

  /** The catalogue of `job.templates` entries of the tiny template, the stack, and its secrets (on stdin). */
  async create(): Promise<void> {
    const { job } = this;
    fs.writeFileSync(
      this.configFile,
      yaml.dump({
        config: {
          "xcpng-templates:pool": {
            url: job.pool.url,
            username: "root",
            caCertificate: job.pool.certificate,
          },
          "xcpng-templates:s3": {
            endpoint: job.gw.endpoint,
            region: job.gw.region,
            bucket: "bench-catalogue",
            forcePathStyle: true,
            forceDestroy: true,
          },
          "xcpng-templates:templates": Array.from({ length: job.templates }, (_, i) => ({
            name: `bench-${String(i + 1).padStart(2, "0")}`,
            packerTemplate: TINY_TEMPLATE,
            os: "debian",
            version: "12",
            tags: ["bench"],
          })),
        },
      }),
    );
    // `stack init` writes the stack's encryption salt into Pulumi.<stack>.yaml in the project: remove it.
    try {
      await this.pulumi(["stack", "init", this.stack], "pulumi stack init");
    } finally {
      fs.rmSync(path.join(job.root, `Pulumi.${this.stack}.yaml`), { force: true });
    }
    const secrets = {
      poolPassword: job.poolPassword,
      s3AccessKeyId: job.gw.accessKey,
      s3SecretAccessKey: job.gw.secretKey,
    };
    for (const [key, value] of Object.entries(secrets)) {
      await this.pulumi(
        this.withConfig(["config", "set", "--secret", key]),
        `pulumi config set --secret ${key}`,
        {
          input: value,
        },
      );
    }
  }
}

/** Operations that change nothing, as the Pulumi engine counts them (`ResourceChanges.HasChanges`, pkg/engine/events). */
const NO_CHANGE_OPS = new Set(["same", "read", "read-discard", "read-replacement"]);

/**
 * True when a preview changes nothing, from the output of `pulumi preview --json` with
 * PULUMI_ENABLE_STREAMING_JSON_PREVIEW set: one engine event per line, the last one with `summaryEvent` holding
 * `resourceChanges` (op → count). Only the tail of the output may be given: the summary is at its end.
 */
export function previewHasNoChanges(streamedEvents: string): boolean {
  const line = streamedEvents
    .split("\n")
    .reverse()
    .find((l) => l.includes('"summaryEvent"'));
  if (line === undefined) {
    throw new ToolError(
      "BAD_INPUT",
      "bench: the preview printed no summary event; run it with --json and PULUMI_ENABLE_STREAMING_JSON_PREVIEW=true",
    );
  }
  const event = JSON.parse(line) as { summaryEvent?: { resourceChanges?: Record<string, number> } };
  const changes = event.summaryEvent?.resourceChanges ?? {};
  return Object.entries(changes).every(([op, n]) => NO_CHANGE_OPS.has(op) || n === 0);
}

/** One timed preview: its wall time, the logins and XAPI calls devpool counted, and the sessions it left open. */
async function measurePreview(
  s: CatalogueStack,
  job: CatalogueJob,
  counters: PoolCounters,
  args: string[],
): Promise<PreviewRun> {
  counters.reset();
  const sessionsBefore = job.pool.engine.store.count("session");
  const r = await runMeasured("pulumi", [...args, "--non-interactive"], s.opts(), s.dir);
  if (r.code !== 0) {
    throw new ToolError(
      "COMMAND_FAILED",
      `bench: pulumi ${args[0] ?? ""} exited ${r.code}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`,
    );
  }
  return {
    seconds: r.wallSeconds,
    logins: counters.logins,
    xapiCalls: counters.total(),
    callsByMethod: Object.fromEntries([...counters.calls.entries()].sort(([a], [b]) => a.localeCompare(b))),
    sessionsLeftOpen: job.pool.engine.store.count("session") - sessionsBefore,
    noChanges: previewHasNoChanges(r.stdout),
  };
}

export async function runCatalogueBench(
  job: CatalogueJob,
  log: (line: string) => void,
): Promise<CatalogueResult> {
  const counters = new PoolCounters(job.pool);
  const s = new CatalogueStack(job);
  await s.create();

  log(`catalogue: pulumi up of ${job.templates} templates (${TINY_TEMPLATE}) to make the state`);
  counters.reset();
  const up = await s.pulumi(
    s.withConfig(["up", "--yes", "--skip-preview", "--parallel", String(job.upParallel)]),
    "pulumi up (catalogue state)",
    { echoPrefix: "  [up]" },
  );
  const upLogins = counters.logins;
  const built = job.pool.engine.store
    .rows("VM")
    .filter((r) => (r.rec.tags as string[]).some((t) => t.startsWith("build-id:"))).length;
  if (built !== job.templates) {
    throw new ToolError(
      "COMMAND_FAILED",
      `bench: pulumi up should have left ${job.templates} templates tagged build-id:* on the pool, but ${built} are there`,
    );
  }

  // --json (streamed): the engine's summary event says whether anything would change.
  const previewArgs = s.withConfig(["preview", "--refresh", "--json"]);
  const previews: PreviewRun[] = [];
  for (let i = 0; i < job.previewRuns; i++) {
    log(`catalogue: pulumi preview --refresh, run ${i + 1} of ${job.previewRuns}`);
    previews.push(await measurePreview(s, job, counters, previewArgs));
  }
  log("catalogue: pulumi preview (no refresh), for reference");
  const plainPreview = await measurePreview(s, job, counters, s.withConfig(["preview", "--json"]));
  return {
    templates: job.templates,
    upSeconds: up.wallSeconds,
    upLogins,
    previews,
    plainPreview,
    command: `pulumi ${previewArgs.map((a) => (a === s.configFile ? "<config file>" : a)).join(" ")} --non-interactive`,
  };
}
