// `npm start`: the main job on the embedded default. Starts (or reuses) devpool and versitygw on the ports named
// in Pulumi.dev.yaml, keeps per-machine secrets in .dev/, and runs `pulumi up` of the dev stack on a local file
// backend, then prints what is built.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { ToolError } from "../errors";
import { withProviderHostNodeOptions } from "../provider-host-env";
import { ensureService } from "./services";
import { printCatalogue } from "./table";

const ROOT = path.resolve(__dirname, "../..");
const DEV = process.env.XCPNG_DEV_HOME ?? path.join(ROOT, ".dev");
const STACK = "dev";
const NS = "xcpng-templates";

interface Credentials {
  readonly passphrase: string;
  readonly poolPassword: string;
  readonly s3AccessKeyId: string;
  readonly s3SecretAccessKey: string;
  /** Per fleet pool of Pulumi.dev.yaml (added when a pool first appears). */
  readonly fleetPasswords?: Readonly<Record<string, string>>;
}

/** Per-machine dev secrets, generated once (a fleet pool's when it first appears), readable by the owner only. */
function credentials(fleetPools: readonly string[]): Credentials {
  const file = path.join(DEV, "credentials.json");
  const earlier = fs.existsSync(file)
    ? (JSON.parse(fs.readFileSync(file, "utf8")) as Credentials)
    : undefined;
  const c: Credentials = earlier ?? {
    passphrase: randomBytes(24).toString("base64url"),
    poolPassword: randomBytes(18).toString("base64url"),
    s3AccessKeyId: `dev${randomBytes(8).toString("hex")}`,
    s3SecretAccessKey: randomBytes(24).toString("base64url"),
  };
  const fleetPasswords = { ...c.fleetPasswords };
  for (const name of fleetPools) fleetPasswords[name] ??= randomBytes(18).toString("base64url");
  const out = { ...c, fleetPasswords };
  if (JSON.stringify(out) !== JSON.stringify(earlier)) {
    fs.mkdirSync(DEV, { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, JSON.stringify(out, null, 2), { mode: 0o600 });
  }
  return out;
}

/** The fleet pools of Pulumi.dev.yaml: each is a devpool of its own on loopback. */
function fleetPoolsOf(config: DevConfig): { name: string; url: string; username: string }[] {
  const fleet = config[`${NS}:fleet`] as
    { pools?: { name?: unknown; url?: unknown; username?: unknown }[] } | undefined;
  return (fleet?.pools ?? []).map((p) => ({
    name: String(p.name),
    url: String(p.url),
    username: typeof p.username === "string" ? p.username : "root",
  }));
}

type StackFile = { config?: Record<string, unknown>; encryptionsalt?: string; [k: string]: unknown };

function readYaml(file: string): StackFile {
  return fs.existsSync(file) ? ((yaml.load(fs.readFileSync(file, "utf8")) as StackFile | null) ?? {}) : {};
}

function portOf(url: unknown, what: string): number {
  if (typeof url !== "string")
    throw new ToolError("BAD_INPUT", `Pulumi.dev.yaml: ${what} must be a URL on 127.0.0.1`);
  const u = new URL(url);
  return Number(u.port || (u.protocol === "https:" ? 443 : 80));
}

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  opts: { input?: string; quiet?: boolean } = {},
) {
  return new Promise<string>((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: ROOT,
      env,
      stdio: ["pipe", "pipe", opts.quiet ? "pipe" : "inherit"],
    });
    let out = "";
    let err = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      if (!opts.quiet) process.stdout.write(d);
    });
    child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    child.stdin?.end(opts.input ?? "");
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0
        ? resolve(out)
        : reject(new ToolError("COMMAND_FAILED", `${cmd} ${args.join(" ")} exited ${code}\n${err}`)),
    );
  });
}

type DevConfig = Record<string, unknown>;

/** versitygw and devpool of the embedded default, on the ports Pulumi.dev.yaml names (started, or reused). */
async function startServices(config: DevConfig, creds: Credentials): Promise<void> {
  const pool = config[`${NS}:pool`] as { url?: unknown; username?: unknown } | undefined;
  const s3 = config[`${NS}:s3`] as { endpoint?: unknown } | undefined;
  const runDir = path.join(DEV, "run");
  const s3Port = portOf(s3?.endpoint, "s3.endpoint");
  for (const d of ["meta", "versions", "buckets"]) fs.mkdirSync(path.join(DEV, "s3", d), { recursive: true });
  const vgw = await ensureService({
    name: "versitygw",
    port: s3Port,
    command: "versitygw",
    args: [
      "--port",
      `127.0.0.1:${s3Port}`,
      "--region",
      "us-east-1",
      "posix",
      "--sidecar",
      path.join(DEV, "s3", "meta"),
      "--versioning-dir",
      path.join(DEV, "s3", "versions"),
      path.join(DEV, "s3", "buckets"),
    ],
    env: { ROOT_ACCESS_KEY: creds.s3AccessKeyId, ROOT_SECRET_KEY: creds.s3SecretAccessKey },
    runDir,
  });
  console.log(`[dev] versitygw on 127.0.0.1:${s3Port}: ${vgw}`);
  const poolPort = portOf(pool?.url, "pool.url");
  const dp = await ensureService({
    name: "devpool",
    port: poolPort,
    command: process.execPath,
    args: [path.join(ROOT, "node_modules/tsx/dist/cli.mjs"), path.join(ROOT, "tools/dev/devpool-serve.ts")],
    env: {
      DEVPOOL_DATA_DIR: path.join(DEV, "devpool"),
      DEVPOOL_PORT: String(poolPort),
      DEVPOOL_USERNAME: typeof pool?.username === "string" ? pool.username : "root",
      DEVPOOL_PASSWORD: creds.poolPassword,
      DEVPOOL_TLS: String(String(pool?.url).startsWith("https:")),
    },
    runDir,
  });
  console.log(`[dev] devpool on 127.0.0.1:${poolPort}: ${dp}`);
  for (const f of fleetPoolsOf(config)) {
    const port = portOf(f.url, `fleet pool ${f.name}'s url`);
    const started = await ensureService({
      name: `devpool-${f.name}`,
      port,
      command: process.execPath,
      args: [path.join(ROOT, "node_modules/tsx/dist/cli.mjs"), path.join(ROOT, "tools/dev/devpool-serve.ts")],
      env: {
        DEVPOOL_DATA_DIR: path.join(DEV, `fleet-${f.name}`),
        DEVPOOL_PORT: String(port),
        DEVPOOL_USERNAME: f.username,
        DEVPOOL_PASSWORD: creds.fleetPasswords?.[f.name] ?? "",
        DEVPOOL_TLS: String(f.url.startsWith("https:")),
      },
      runDir,
    });
    console.log(`[dev] fleet pool ${f.name} (devpool) on 127.0.0.1:${port}: ${started}`);
  }
}

/**
 * The dev stack on its local file backend, selected, with this machine's secrets set in .dev/'s config file
 * (the committed file's settings merged in). Returns the config file's path.
 */
async function prepareStack(config: DevConfig, creds: Credentials, env: NodeJS.ProcessEnv): Promise<string> {
  const configFile = path.join(DEV, `Pulumi.${STACK}.yaml`);
  const local = readYaml(configFile);
  const merged: StackFile = { ...local, config: { ...(local.config ?? {}), ...config } };
  fs.writeFileSync(configFile, yaml.dump(merged));
  fs.mkdirSync(path.join(DEV, "state"), { recursive: true });
  const stacks = await run("pulumi", ["stack", "ls", "--json", "--non-interactive"], env, { quiet: true });
  if (!(JSON.parse(stacks) as { name: string }[]).some((s) => s.name === STACK)) {
    // `stack init` writes an encryption salt into the committed Pulumi.dev.yaml; the salt that matters lives in
    // .dev/ (config set --config-file creates it there), so the committed file is put back as it was.
    const committedText = fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8");
    try {
      await run("pulumi", ["stack", "init", STACK, "--non-interactive"], env, { quiet: true });
    } finally {
      fs.writeFileSync(path.join(ROOT, "Pulumi.dev.yaml"), committedText);
    }
  }
  await run("pulumi", ["stack", "select", STACK, "--non-interactive"], env, { quiet: true });
  // Secrets reach pulumi on stdin, never in argv.
  for (const key of ["poolPassword", "s3AccessKeyId", "s3SecretAccessKey"] as const) {
    await run(
      "pulumi",
      ["config", "set", "--secret", key, "--config-file", configFile, "--non-interactive"],
      env,
      {
        input: creds[key],
        quiet: true,
      },
    );
  }
  for (const [name, password] of Object.entries(creds.fleetPasswords ?? {})) {
    if (!fleetPoolsOf(config).some((f) => f.name === name)) continue;
    await run(
      "pulumi",
      [
        "config",
        "set",
        "--secret",
        "--path",
        `fleetPoolPasswords.${name}`,
        "--config-file",
        configFile,
        "--non-interactive",
      ],
      env,
      { input: password, quiet: true },
    );
  }
  return configFile;
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const config = readYaml(path.join(ROOT, "Pulumi.dev.yaml")).config ?? {};
  const creds = credentials(fleetPoolsOf(config).map((f) => f.name));
  await startServices(config, creds);
  const env: NodeJS.ProcessEnv = withProviderHostNodeOptions({
    ...process.env,
    PULUMI_BACKEND_URL: `file://${path.join(DEV, "state")}`,
    PULUMI_CONFIG_PASSPHRASE: creds.passphrase,
  });
  const configFile = await prepareStack(config, creds, env);
  const up = await run("pulumi", ["up", "--yes", "--config-file", configFile, "--non-interactive"], env);
  const changed =
    /^\s+[-+~]?\s*\d+ (to )?(create|created|update|updated|replace|replaced|delete|deleted)/m.test(up);
  if (!changed)
    console.log(
      "\n[dev] nothing changed: every template is up to date (inputs unchanged, pool and S3 as recorded)",
    );
  const outputs = JSON.parse(
    await run("pulumi", ["stack", "output", "--json"], env, { quiet: true }),
  ) as Record<string, unknown>;
  printCatalogue(outputs);
  console.log(
    `[dev] done in ${((Date.now() - t0) / 1000).toFixed(1)} s; state in ${path.relative(ROOT, DEV)}/`,
  );
}

main().catch((e: unknown) => {
  console.error(`[dev] ${(e as Error).message}`);
  process.exit(1);
});
