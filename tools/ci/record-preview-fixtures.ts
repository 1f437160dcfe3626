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
 *   shared-tools  a script both templates use edited and PACKER_VERSION bumped in tools/versions.env: both rebuild
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

async function main(): Promise<void> {
  const secrets = {
    poolPassword: `pool-${randomBytes(12).toString("hex")}`,
    s3AccessKeyId: `AK${randomBytes(8).toString("hex")}`,
    s3SecretAccessKey: `sk-${randomBytes(16).toString("hex")}`,
    passphrase: `pp-${randomBytes(12).toString("hex")}`,
  };
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "xcpng-ci-fixtures-"));
  const proj = path.join(work, "project");
  fs.mkdirSync(proj);
  execSync(`git -C '${ROOT}' archive --format=tar HEAD | tar -x -C '${proj}'`, { stdio: "inherit" });
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(proj, "node_modules"));

  let pool: Devpool | undefined;
  let gw: VersityGw | undefined;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PULUMI_BACKEND_URL: `file://${path.join(work, "state")}`,
    PULUMI_HOME: path.join(work, "pulumi-home"),
    PULUMI_CONFIG_PASSPHRASE: secrets.passphrase,
  };
  fs.mkdirSync(path.join(work, "state"));
  // Interrupted (Ctrl-C, a cancelled job): stop the S3 server, a child process that would outlive us, and
  // remove the temporary tree; devpool lives in this process and goes with it.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      void (gw?.stop() ?? Promise.resolve()).finally(() => {
        fs.rmSync(work, { recursive: true, force: true });
        process.exit(130);
      });
    });
  }

  // Asynchronous on purpose: devpool serves from this very process, so a synchronous child would block it.
  const pulumi = (args: string[], input = "", ok = true): Promise<string> =>
    new Promise((resolve, reject) => {
      const child = spawn("pulumi", [...args, "--stack", STACK, "--non-interactive"], {
        cwd: proj,
        env,
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
      // Secrets reach pulumi on stdin, never in argv.
      child.stdin.end(input);
    });
  const edit = (rel: string, change: (text: string) => string): (() => void) => {
    const file = path.join(proj, rel);
    const original = fs.readFileSync(file, "utf8");
    const changed = change(original);
    if (changed === original) throw new ToolError("BAD_INPUT", `record: the edit of ${rel} changed nothing`);
    fs.writeFileSync(file, changed);
    return () => fs.writeFileSync(file, original);
  };
  const record = async (scenario: string, extraArgs: string[] = []): Promise<void> => {
    process.stderr.write(`record: preview ${scenario} ...\n`);
    // `preview --json` exits non-zero only on errors; its stdout is the JSON document either way.
    const raw = await pulumi(["preview", "--json", ...extraArgs], "", false);
    for (const [name, value] of Object.entries(secrets)) {
      if (raw.includes(value))
        throw new ToolError("BAD_INPUT", `record: preview ${scenario} contains ${name}`);
    }
    const doc = scrub(JSON.parse(raw.split(work).join("<project>")));
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
  };

  try {
    pool = await startDevpool({
      dataDir: path.join(work, "devpool"),
      username: "root",
      password: secrets.poolPassword,
      tls: true,
    });
    gw = await startVersityGw({
      dataDir: path.join(work, "s3"),
      accessKey: secrets.s3AccessKeyId,
      secretKey: secrets.s3SecretAccessKey,
    });
    const template = (name: string, varFile: string) => ({
      name,
      packerTemplate: "packer/local/debian12-local.pkr.hcl",
      varFile,
      os: "debian",
      version: "12",
      tags: ["golden", "local"],
      retention: 3,
    });
    await pulumi(["stack", "init"]);
    fs.writeFileSync(
      path.join(proj, `Pulumi.${STACK}.yaml`),
      yaml.dump({
        ...(yaml.load(fs.readFileSync(path.join(proj, `Pulumi.${STACK}.yaml`), "utf8")) as object),
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
            template("debian-12-a", "tests/fixtures/e2e/a.pkrvars.hcl"),
            template("debian-12-b", "tests/fixtures/e2e/b.pkrvars.hcl"),
          ],
        },
      }),
    );
    for (const key of ["poolPassword", "s3AccessKeyId", "s3SecretAccessKey"] as const) {
      await pulumi(["config", "set", "--secret", key], secrets[key]);
    }
    fs.mkdirSync(OUT, { recursive: true });
    // A scenario renamed or dropped must not leave its old recording behind.
    for (const f of fs.readdirSync(OUT).filter((n) => /^preview-.*\.json$/.test(n)))
      fs.rmSync(path.join(OUT, f));

    await record("create");
    process.stderr.write("record: pulumi up (builds both templates) ...\n");
    await pulumi(["up", "--yes", "--skip-preview"]);
    await record("no-changes");

    let revert = edit("tests/fixtures/e2e/a.pkrvars.hcl", (t) =>
      t.replace('tags       = ["e2e", "a"]', 'tags       = ["e2e", "a", "edited"]'),
    );
    await record("var-file");
    revert();

    // A new script, named in A's var file only.
    const motd = path.join(proj, "packer/debian/motd.sh");
    fs.writeFileSync(motd, "#!/usr/bin/env bash\nset -euo pipefail\necho 'golden template' >/etc/motd\n");
    revert = edit("tests/fixtures/e2e/a.pkrvars.hcl", (t) =>
      t.replace('"debian/install_guest_agent.sh"]', '"debian/install_guest_agent.sh", "debian/motd.sh"]'),
    );
    await record("file-added");
    revert();
    fs.rmSync(motd);

    // The template's own list of common scripts loses one: both templates no longer use it.
    revert = edit("packer/local/debian12-local.pkr.hcl", (t) => t.replace('"common/harden_system.sh", ', ""));
    await record("file-removed");
    revert();

    const revertScript = edit("packer/common/harden_ssh.sh", (t) => `${t}# edited to record a fixture\n`);
    const revertTools = edit("tools/versions.env", (t) =>
      t.replace(/^PACKER_VERSION=.*$/m, "PACKER_VERSION=1.9.5"),
    );
    await record("shared-tools");
    // The same change with a template filter, as deploy.yml runs it: only A and the catalogue index move.
    const targets = templateTargets(STACK, "xcpng-templates", ["debian-12-a"]);
    await record("shared-tools-targeted", [
      ...targets.flatMap((t) => ["--target", t]),
      "--target-dependents",
    ]);
    revertScript();
    revertTools();

    type Template = ReturnType<typeof template>;
    revert = edit(`Pulumi.${STACK}.yaml`, (text) => {
      const doc = yaml.load(text) as { config: Record<string, unknown> };
      const [a] = doc.config["xcpng-templates:templates"] as Template[];
      if (a === undefined) throw new ToolError("BAD_INPUT", "record: the stack file lost its templates");
      doc.config["xcpng-templates:templates"] = [
        { ...a, tags: [...a.tags, "edited"] },
        template("debian-12-c", "tests/fixtures/e2e/b.pkrvars.hcl"),
      ];
      return yaml.dump(doc);
    });
    await record("catalogue");
    revert();

    process.stderr.write("record: pulumi destroy ...\n");
    await pulumi(["destroy", "--yes", "--skip-preview"]);
  } finally {
    await pool?.stop();
    await gw?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
