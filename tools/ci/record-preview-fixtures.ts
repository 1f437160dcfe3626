/**
 * Records the `pulumi preview --json` fixtures of tools/ci/fixtures/ from a real stack, so the preview
 * summary is tested against what the Pulumi CLI really prints for this program, not against a guess.
 *
 *   tools/with-env.sh tsx tools/ci/record-preview-fixtures.ts
 *
 * How: the committed tree (`git archive HEAD`) is unpacked into a temporary directory (node_modules linked),
 * so the edits below never touch the working tree. devpool (TLS) and versitygw are started on free loopback
 * ports with random credentials, exactly as tests/lifecycle.e2e.test.ts does, and a stack named `dev` on a
 * local file backend gets the dev stack's settings with two templates (var files of tests/fixtures/e2e/).
 * Then, each preview written to tools/ci/fixtures/preview-<scenario>.json:
 *   create        preview of the empty stack (every resource would be created)
 *   (pulumi up: both templates are really built with Packer's local path, verified and archived)
 *   no-changes    preview right after the up
 *   var-file      template A's var file edited (tags): only A rebuilds
 *   file-added    a new script added to template A's var file: A rebuilds (var file changed, one new file)
 *   file-removed  the Packer template drops a common script: both rebuild (template changed, one file fewer)
 *   shared-tools  a script both templates use edited and PACKER_VERSION bumped (next patch) in tools/versions.env:
 *                 both rebuild
 *   shared-tools-targeted  the same, previewed with deploy.yml's template filter for A (targets.ts URNs and
 *                 --target-dependents): only A and the catalogue index change
 *   catalogue     the stack's catalogue edited: A's tags changed (updated in place, no rebuild), B removed, C added
 * Each edit is reverted before the next. Finally the stack is destroyed and everything temporary removed.
 *
 * Before writing, each output is checked for the secrets the run used (they must not appear; secret config shows
 * as "[secret]"), the temporary directory's path is replaced by `<project>`, the engine's source positions are
 * dropped (see scrub), and the result is checked for any remaining machine path. Nothing else is changed: the
 * config section keeps the run's loopback ports and devpool's throwaway self-signed CA certificate (public).
 */
import { execSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import * as prettier from "prettier";
import { startDevpool, type Devpool } from "../../devpool";
import { startVersityGw, type VersityGw } from "../../devpool/versitygw";
import { ToolError } from "../errors";
import { templateTargets } from "./targets";

const ROOT = path.resolve(__dirname, "../..");
const OUT = path.join(__dirname, "fixtures");
const STACK = "dev";

/**
 * Drops the engine's source positions (`sourcePosition`, `stackTrace`): they name where each resource was
 * registered on the recording machine (node_modules is a link to the checkout), which the summary never reads.
 */
function scrub(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(scrub);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([k]) => k !== "sourcePosition" && k !== "stackTrace")
      .map(([k, v]) => [k, scrub(v)]),
  );
}

interface Secrets {
  readonly poolPassword: string;
  readonly s3AccessKeyId: string;
  readonly s3SecretAccessKey: string;
  readonly passphrase: string;
}

/** The temporary copy of the project, its Pulumi environment, and the steps every scenario uses. */
class Recording {
  readonly secrets: Secrets = {
    poolPassword: `pool-${randomBytes(12).toString("hex")}`,
    s3AccessKeyId: `AK${randomBytes(8).toString("hex")}`,
    s3SecretAccessKey: `sk-${randomBytes(16).toString("hex")}`,
    passphrase: `pp-${randomBytes(12).toString("hex")}`,
  };
  readonly work = fs.mkdtempSync(path.join(os.tmpdir(), "xcpng-ci-fixtures-"));
  readonly proj = path.join(this.work, "project");
  readonly env: NodeJS.ProcessEnv = {
    ...process.env,
    PULUMI_BACKEND_URL: `file://${path.join(this.work, "state")}`,
    PULUMI_HOME: path.join(this.work, "pulumi-home"),
    PULUMI_CONFIG_PASSPHRASE: this.secrets.passphrase,
  };

  /** Unpacks the committed tree (never the working tree) with node_modules linked, and a local state backend. */
  constructor() {
    fs.mkdirSync(this.proj);
    execSync(`git -C '${ROOT}' archive --format=tar HEAD | tar -x -C '${this.proj}'`, { stdio: "inherit" });
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(this.proj, "node_modules"));
    fs.mkdirSync(path.join(this.work, "state"));
  }

  /**
   * Runs `pulumi <args>` on the stack; resolves with its standard output (rejects on a non-zero exit when `ok`).
   * Asynchronous on purpose: devpool serves from this very process, so a synchronous child would block it.
   * Secrets reach pulumi on stdin (`input`), never in argv.
   */
  pulumi(args: string[], input = "", ok = true): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn("pulumi", [...args, "--stack", STACK, "--non-interactive"], {
        cwd: this.proj,
        env: this.env,
        stdio: ["pipe", "pipe", "inherit"],
      });
      const out: Buffer[] = [];
      child.stdout.on("data", (b: Buffer) => out.push(b));
      child.on("error", reject);
      child.on("close", (code) => {
        const stdout = Buffer.concat(out).toString("utf8");
        if (code === 0 || !ok) resolve(stdout);
        else
          reject(
            new ToolError(
              "COMMAND_FAILED",
              `record: pulumi ${args.join(" ")} exited ${code}\n${stdout.slice(-4000)}`,
            ),
          );
      });
      child.stdin.end(input);
    });
  }

  /** Edits a file of the project copy; returns the function that puts it back. */
  edit(rel: string, change: (text: string) => string): () => void {
    const file = path.join(this.proj, rel);
    const original = fs.readFileSync(file, "utf8");
    const changed = change(original);
    if (changed === original) throw new ToolError("BAD_INPUT", `record: the edit of ${rel} changed nothing`);
    fs.writeFileSync(file, changed);
    return () => fs.writeFileSync(file, original);
  }

  /** Previews the stack and writes tools/ci/fixtures/preview-<scenario>.json, checked and scrubbed. */
  async record(scenario: string, extraArgs: string[] = []): Promise<void> {
    process.stderr.write(`record: preview ${scenario} ...\n`);
    // `preview --json` exits non-zero only on errors; its stdout is the JSON document either way.
    const raw = await this.pulumi(["preview", "--json", ...extraArgs], "", false);
    for (const [name, value] of Object.entries(this.secrets as Record<keyof Secrets, string>)) {
      if (raw.includes(value))
        throw new ToolError("BAD_INPUT", `record: preview ${scenario} contains ${name}`);
    }
    const doc = scrub(JSON.parse(raw.split(this.work).join("<project>")));
    const text = `${JSON.stringify(doc, null, 2)}\n`;
    for (const machinePath of [ROOT, os.homedir(), os.tmpdir()]) {
      if (text.includes(machinePath)) {
        throw new ToolError(
          "BAD_INPUT",
          `record: preview ${scenario} still names a machine path after scrubbing`,
        );
      }
    }
    // Formatted as the repository's prettier check expects (the suite runs `prettier --check .`).
    const file = path.join(OUT, `preview-${scenario}.json`);
    const options = (await prettier.resolveConfig(file)) ?? {};
    fs.writeFileSync(file, await prettier.format(text, { ...options, filepath: file }));
  }

  remove(): void {
    fs.rmSync(this.work, { recursive: true, force: true });
  }
}

/** One template of the recorded catalogue. */
function stackTemplate(name: string, varFile: string) {
  return {
    name,
    packerTemplate: "packer/local/debian12-local.pkr.hcl",
    varFile,
    os: "debian",
    version: "12",
    tags: ["golden", "local"],
    retention: 3,
  };
}
type StackTemplate = ReturnType<typeof stackTemplate>;

/** `stack init`, the dev stack's settings pointing at this run's devpool and versitygw, and the secrets. */
async function configureStack(r: Recording, pool: Devpool, gw: VersityGw): Promise<void> {
  await r.pulumi(["stack", "init"]);
  const stackFile = path.join(r.proj, `Pulumi.${STACK}.yaml`);
  fs.writeFileSync(
    stackFile,
    yaml.dump({
      ...(yaml.load(fs.readFileSync(stackFile, "utf8")) as object),
      config: {
        "xcpng-templates:pool": { url: pool.url, username: "root", caCertificate: pool.certificate },
        "xcpng-templates:s3": {
          endpoint: gw.endpoint,
          region: gw.region,
          bucket: "xcpng-templates-dev",
          forcePathStyle: true,
          forceDestroy: true,
        },
        "xcpng-templates:templates": [
          stackTemplate("debian-12-a", "tests/fixtures/e2e/a.pkrvars.hcl"),
          stackTemplate("debian-12-b", "tests/fixtures/e2e/b.pkrvars.hcl"),
        ],
      },
    }),
  );
  for (const key of ["poolPassword", "s3AccessKeyId", "s3SecretAccessKey"] as const) {
    await r.pulumi(["config", "set", "--secret", key], r.secrets[key]);
  }
}

/** var-file, file-added, file-removed: edits of one template's inputs, then of the Packer template. */
async function recordInputEdits(r: Recording): Promise<void> {
  let revert = r.edit("tests/fixtures/e2e/a.pkrvars.hcl", (t) =>
    t.replace('tags       = ["e2e", "a"]', 'tags       = ["e2e", "a", "edited"]'),
  );
  await r.record("var-file");
  revert();

  // A new script, named in A's var file only.
  const motd = path.join(r.proj, "packer/debian/motd.sh");
  fs.writeFileSync(motd, "#!/usr/bin/env bash\nset -euo pipefail\necho 'golden template' >/etc/motd\n");
  revert = r.edit("tests/fixtures/e2e/a.pkrvars.hcl", (t) =>
    t.replace('"debian/install_guest_agent.sh"]', '"debian/install_guest_agent.sh", "debian/motd.sh"]'),
  );
  await r.record("file-added");
  revert();
  fs.rmSync(motd);

  // The template's own list of common scripts loses one: both templates no longer use it.
  revert = r.edit("packer/local/debian12-local.pkr.hcl", (t) => t.replace('"common/harden_system.sh", ', ""));
  await r.record("file-removed");
  revert();
}

/**
 * tools/versions.env with PACKER_VERSION moved to the next patch release (`1.9.5` → `1.9.6`): a pin that differs
 * from the current one, whatever it is.
 */
export function bumpPackerPin(versionsEnv: string): string {
  return versionsEnv.replace(/^PACKER_VERSION=(.*)$/m, (_line, version: string) => {
    const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
    if (m === null)
      throw new ToolError("BAD_INPUT", `record: PACKER_VERSION=${version} is not MAJOR.MINOR.PATCH`);
    return `PACKER_VERSION=${m[1]}.${m[2]}.${Number(m[3]) + 1}`;
  });
}

/** shared-tools (a script both templates use, and the Packer pin), then the same with deploy.yml's filter. */
async function recordSharedTools(r: Recording): Promise<void> {
  const revertScript = r.edit("packer/common/harden_ssh.sh", (t) => `${t}# edited to record a fixture\n`);
  const revertTools = r.edit("tools/versions.env", bumpPackerPin);
  await r.record("shared-tools");
  // The same change with a template filter, as deploy.yml runs it: only A and the catalogue index move.
  const targets = templateTargets(STACK, "xcpng-templates", ["debian-12-a"]);
  await r.record("shared-tools-targeted", [
    ...targets.flatMap((t) => ["--target", t]),
    "--target-dependents",
  ]);
  revertScript();
  revertTools();
}

/** catalogue: the stack's own catalogue edited (A's tags changed, B removed, C added). */
async function recordCatalogueEdit(r: Recording): Promise<void> {
  const revert = r.edit(`Pulumi.${STACK}.yaml`, (text) => {
    const doc = yaml.load(text) as { config: Record<string, unknown> };
    const [a] = doc.config["xcpng-templates:templates"] as StackTemplate[];
    if (a === undefined) throw new ToolError("BAD_INPUT", "record: the stack file lost its templates");
    doc.config["xcpng-templates:templates"] = [
      { ...a, tags: [...a.tags, "edited"] },
      stackTemplate("debian-12-c", "tests/fixtures/e2e/b.pkrvars.hcl"),
    ];
    return yaml.dump(doc);
  });
  await r.record("catalogue");
  revert();
}

async function main(): Promise<void> {
  const r = new Recording();
  let pool: Devpool | undefined;
  let gw: VersityGw | undefined;
  // Interrupted (Ctrl-C, a cancelled job): stop the S3 server, a child process that would outlive us, and
  // remove the temporary tree; devpool lives in this process and goes with it.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      void (gw?.stop() ?? Promise.resolve()).finally(() => {
        r.remove();
        process.exit(130);
      });
    });
  }
  try {
    pool = await startDevpool({
      dataDir: path.join(r.work, "devpool"),
      username: "root",
      password: r.secrets.poolPassword,
      tls: true,
    });
    gw = await startVersityGw({
      dataDir: path.join(r.work, "s3"),
      accessKey: r.secrets.s3AccessKeyId,
      secretKey: r.secrets.s3SecretAccessKey,
    });
    await configureStack(r, pool, gw);
    fs.mkdirSync(OUT, { recursive: true });
    // A scenario renamed or dropped must not leave its old recording behind.
    for (const f of fs.readdirSync(OUT).filter((n) => /^preview-.*\.json$/.test(n)))
      fs.rmSync(path.join(OUT, f));

    await r.record("create");
    process.stderr.write("record: pulumi up (builds both templates) ...\n");
    await r.pulumi(["up", "--yes", "--skip-preview"]);
    await r.record("no-changes");
    await recordInputEdits(r);
    await recordSharedTools(r);
    await recordCatalogueEdit(r);

    process.stderr.write("record: pulumi destroy ...\n");
    await r.pulumi(["destroy", "--yes", "--skip-preview"]);
  } finally {
    await pool?.stop();
    await gw?.stop();
    r.remove();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
