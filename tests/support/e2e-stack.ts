import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";
import * as yaml from "js-yaml";
import { startDevpool, type Devpool, type DevpoolOptions } from "../../devpool";
import { startVersityGw, type VersityGw } from "../../devpool/versitygw";
import type { CatalogueDocument } from "../../providers/catalogue-document";
import { startS3FaultProxy, type S3FaultProxy } from "./s3-fault-proxy";
import { run, type RunResult } from "./tools";

export const ROOT = path.resolve(__dirname, "../..");

/** The secrets a test stack holds: the test greps state and output for each at the end. */
export type E2eSecrets = Readonly<
  Record<"poolPassword" | "s3AccessKeyId" | "s3SecretAccessKey" | "passphrase", string>
>;

/** A Pulumi stack of the project on a local file backend, with devpool (TLS) and versitygw behind a fault proxy. */
export interface E2eStack {
  readonly name: string;
  readonly work: string;
  readonly pool: Devpool;
  /** The fleet's pools by name (`fleetPools` option), each its own devpool. */
  readonly fleet: Readonly<Record<string, Devpool>>;
  /** Each fleet pool's password (a secret of the stack, for the final leak check). */
  readonly fleetPasswords: Readonly<Record<string, string>>;
  readonly gw: VersityGw;
  readonly s3Proxy: S3FaultProxy;
  readonly s3: S3Client;
  readonly bucket: string;
  readonly secrets: E2eSecrets;
  readonly configFile: string;
  /** Every command's stdout and stderr, in order (for the final secret grep). */
  readonly output: string[];
  /** Runs `pulumi <args> --non-interactive` (with `--config-file` when `config` is set). */
  pulumi(args: string[], opts?: PulumiOptions): Promise<RunResult>;
  /** Rewrites the stack's config file: the templates list and anything else under `xcpng-templates:`. */
  setConfig(edit: (config: Record<string, unknown>) => void): void;
  /** Stack output `name` as JSON. */
  stackOutput<T>(name: string): Promise<T>;
  /** The stack's index.json. */
  catalogue(): Promise<CatalogueDocument>;
  indexText(): Promise<string>;
  /** Keys in the bucket, sorted. */
  keys(): Promise<string[]>;
  incompleteUploads(): Promise<number>;
  /** VMs on the pool carrying a build-id tag (templates the stack built). */
  templatesOnPool(): { uuid: string; tags: string[] }[];
  stop(): Promise<void>;
}

export interface PulumiOptions {
  readonly input?: string;
  /** Resolve on a non-zero exit instead of throwing. */
  readonly ok?: boolean;
  readonly extraEnv?: NodeJS.ProcessEnv;
  /** Add `--config-file <the stack's config>`. @default true for commands that read config */
  readonly config?: boolean;
}

/**
 * Starts devpool, versitygw and a fault proxy, writes the stack's config (`templates` given, the rest pointing at
 * them), inits the stack and sets its secrets. The stack's config file lives in the work directory, so the
 * project's own `Pulumi.<stack>.yaml` is never written.
 */
export async function startE2eStack(opts: {
  name: string;
  templates: Record<string, unknown>[];
  devpool?: Partial<DevpoolOptions>;
  /** The pool's TLS certificate and key (else devpool makes a self-signed one). */
  devpoolIdentity?: { cert: string; key: string };
  /** The stack's `pool` config; default: devpool's URL, user root, its certificate as CA. */
  poolConfig?: (pool: Devpool) => Promise<Record<string, unknown>> | Record<string, unknown>;
  /** Fleet pools to start (each a devpool with its own password) and put in the stack's `fleet`. */
  fleetPools?: readonly string[];
  extraConfig?: Record<string, unknown>;
}): Promise<E2eStack> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `xcpng-${opts.name}-`));
  const secrets: E2eSecrets = {
    poolPassword: `pool-${randomBytes(12).toString("hex")}`,
    s3AccessKeyId: `AK${randomBytes(8).toString("hex")}`,
    s3SecretAccessKey: `sk-${randomBytes(16).toString("hex")}`,
    passphrase: `pp-${randomBytes(12).toString("hex")}`,
  };
  if (opts.devpoolIdentity) {
    fs.mkdirSync(path.join(work, "devpool", "tls"), { recursive: true });
    fs.writeFileSync(path.join(work, "devpool", "tls", "cert.pem"), opts.devpoolIdentity.cert);
    fs.writeFileSync(path.join(work, "devpool", "tls", "key.pem"), opts.devpoolIdentity.key, { mode: 0o600 });
  }
  const pool = await startDevpool({
    dataDir: path.join(work, "devpool"),
    username: "root",
    password: secrets.poolPassword,
    tls: true,
    ...opts.devpool,
  });
  const fleet: Record<string, Devpool> = {};
  const fleetPasswords: Record<string, string> = {};
  for (const name of opts.fleetPools ?? []) {
    fleetPasswords[name] = `fleet-${name}-${randomBytes(8).toString("hex")}`;
    fleet[name] = await startDevpool({
      dataDir: path.join(work, `fleet-${name}`),
      username: "root",
      password: fleetPasswords[name],
      tls: true,
    });
  }
  const gw = await startVersityGw({
    dataDir: path.join(work, "s3"),
    accessKey: secrets.s3AccessKeyId,
    secretKey: secrets.s3SecretAccessKey,
  });
  const s3Proxy = await startS3FaultProxy(gw.endpoint);
  const s3 = new S3Client({
    endpoint: gw.endpoint,
    region: gw.region,
    forcePathStyle: true,
    credentials: { accessKeyId: gw.accessKey, secretAccessKey: gw.secretKey },
  });
  const bucket = `${opts.name}-templates`;
  const configFile = path.join(work, `Pulumi.${opts.name}.yaml`);
  const config: Record<string, unknown> = {
    "xcpng-templates:pool": opts.poolConfig
      ? await opts.poolConfig(pool)
      : { url: pool.url, username: "root", caCertificate: pool.certificate },
    "xcpng-templates:s3": {
      // The stack reaches versitygw through a proxy that can refuse upload parts (S3 failing mid-upload).
      endpoint: s3Proxy.endpoint,
      region: gw.region,
      bucket,
      forcePathStyle: true,
      forceDestroy: true,
    },
    "xcpng-templates:templates": opts.templates,
    ...(opts.fleetPools?.length
      ? {
          "xcpng-templates:fleet": {
            poolRetention: 2,
            pools: Object.entries(fleet).map(([name, p]) => ({
              name,
              url: p.url,
              username: "root",
              caCertificate: p.certificate,
            })),
          },
        }
      : {}),
    ...opts.extraConfig,
  };
  fs.writeFileSync(configFile, yaml.dump({ config }));
  fs.mkdirSync(path.join(work, "state"));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PULUMI_BACKEND_URL: `file://${path.join(work, "state")}`,
    PULUMI_HOME: path.join(work, "pulumi-home"),
    PULUMI_CONFIG_PASSPHRASE: secrets.passphrase,
  };
  const output: string[] = [];
  const READS_CONFIG = new Set(["up", "preview", "refresh", "destroy", "config"]);
  const pulumi = async (args: string[], o: PulumiOptions = {}): Promise<RunResult> => {
    const withConfig = o.config ?? READS_CONFIG.has(args[0] ?? "");
    const r = await run(
      "pulumi",
      [...args, ...(withConfig ? ["--config-file", configFile] : []), "--non-interactive"],
      {
        cwd: ROOT,
        env: { ...env, ...o.extraEnv },
        timeoutMs: 30 * 60 * 1000,
        ...(o.input !== undefined ? { input: o.input } : {}),
      },
    );
    output.push(r.stdout, r.stderr);
    if (o.ok !== false && r.code !== 0) {
      throw new Error(
        `pulumi ${args.join(" ")} exited ${r.code}\n${r.stdout.slice(-6000)}\n${r.stderr.slice(-3000)}`,
      );
    }
    return r;
  };
  // `stack init` writes an encryption salt into Pulumi.<stack>.yaml in the project: remove it afterwards.
  try {
    await pulumi(["stack", "init", opts.name]);
  } finally {
    fs.rmSync(path.join(ROOT, `Pulumi.${opts.name}.yaml`), { force: true });
  }
  for (const key of ["poolPassword", "s3AccessKeyId", "s3SecretAccessKey"] as const) {
    await pulumi(["config", "set", "--secret", key], { input: secrets[key] });
  }
  for (const [name, password] of Object.entries(fleetPasswords)) {
    await pulumi(["config", "set", "--secret", "--path", `fleetPoolPasswords.${name}`], { input: password });
  }
  const indexText = async () =>
    (
      await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `${opts.name}/index.json` }))
    ).Body!.transformToString();
  return {
    name: opts.name,
    work,
    pool,
    fleet,
    fleetPasswords,
    gw,
    s3Proxy,
    s3,
    bucket,
    secrets,
    configFile,
    output,
    pulumi,
    setConfig: (edit) => {
      const doc = yaml.load(fs.readFileSync(configFile, "utf8")) as { config: Record<string, unknown> };
      edit(doc.config);
      fs.writeFileSync(configFile, yaml.dump(doc));
    },
    stackOutput: async <T>(name: string) => {
      const { stdout } = await pulumi(["stack", "output", name, "--json"]);
      return JSON.parse(stdout) as T;
    },
    catalogue: async () => JSON.parse(await indexText()) as CatalogueDocument,
    indexText,
    keys: async () => {
      const l = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
      return (l.Contents ?? []).map((o) => o.Key ?? "").sort();
    },
    incompleteUploads: async () =>
      ((await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []).length,
    templatesOnPool: () =>
      pool.engine.store
        .rows("VM")
        .filter((r) => (r.rec.tags as string[]).some((t) => t.startsWith("build-id:")))
        .map((r) => ({ uuid: String(r.rec.uuid), tags: r.rec.tags as string[] })),
    stop: async () => {
      s3.destroy();
      await pool.stop();
      for (const p of Object.values(fleet)) await p.stop();
      await s3Proxy.stop();
      await gw.stop();
      fs.rmSync(work, { recursive: true, force: true });
    },
  };
}
