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

export async function runCatalogueBench(
  job: CatalogueJob,
  log: (line: string) => void,
): Promise<CatalogueResult> {
  const counters = new PoolCounters(job.pool);
  const stack = `bench${randomBytes(4).toString("hex")}`;
  const dir = path.join(job.work, "catalogue");
  fs.mkdirSync(path.join(dir, "state"), { recursive: true });
  const secrets = {
    poolPassword: job.poolPassword,
    s3AccessKeyId: job.gw.accessKey,
    s3SecretAccessKey: job.gw.secretKey,
  };
  const configFile = path.join(dir, `Pulumi.${stack}.yaml`);
  fs.writeFileSync(
    configFile,
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
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
    PULUMI_HOME: path.join(dir, "pulumi-home"),
    PULUMI_CONFIG_PASSPHRASE: randomBytes(18).toString("base64url"),
    PULUMI_SKIP_UPDATE_CHECK: "true",
  };
  const opts = (extra: Partial<RunOptions> = {}): RunOptions => ({
    cwd: job.root,
    env,
    timeoutMs: job.timeoutMs,
    measureRss: false,
    ...extra,
  });
  const pulumi = (args: string[], what: string, extra: Partial<RunOptions> = {}) =>
    runMeasuredOk("pulumi", [...args, "--non-interactive"], opts(extra), dir, what);
  const withConfig = (args: string[]) => [...args, "--config-file", configFile];

  // `stack init` writes the stack's encryption salt into Pulumi.<stack>.yaml in the project: remove it.
  const projectStackFile = path.join(job.root, `Pulumi.${stack}.yaml`);
  try {
    await pulumi(["stack", "init", stack], "pulumi stack init");
  } finally {
    fs.rmSync(projectStackFile, { force: true });
  }
  for (const [key, value] of Object.entries(secrets)) {
    await pulumi(withConfig(["config", "set", "--secret", key]), `pulumi config set --secret ${key}`, {
      input: value,
    });
  }

  log(`catalogue: pulumi up of ${job.templates} templates (${TINY_TEMPLATE}) to make the state`);
  counters.reset();
  const up = await pulumi(
    withConfig(["up", "--yes", "--skip-preview", "--parallel", String(job.upParallel)]),
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

  const preview = async (args: string[]): Promise<PreviewRun> => {
    counters.reset();
    const sessionsBefore = job.pool.engine.store.count("session");
    const r = await runMeasured("pulumi", [...args, "--non-interactive"], opts(), dir);
    if (r.code !== 0 && !/no changes were expected/i.test(r.stdout + r.stderr)) {
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
      noChanges: r.code === 0,
    };
  };
  const previewArgs = withConfig(["preview", "--refresh", "--expect-no-changes"]);
  const previews: PreviewRun[] = [];
  for (let i = 0; i < job.previewRuns; i++) {
    log(`catalogue: pulumi preview --refresh, run ${i + 1} of ${job.previewRuns}`);
    previews.push(await preview(previewArgs));
  }
  log("catalogue: pulumi preview (no refresh), for reference");
  const plainPreview = await preview(withConfig(["preview", "--expect-no-changes"]));
  return {
    templates: job.templates,
    upSeconds: up.wallSeconds,
    upLogins,
    previews,
    plainPreview,
    command: `pulumi ${previewArgs.map((a) => (a === configFile ? "<config file>" : a)).join(" ")} --non-interactive`,
  };
}
