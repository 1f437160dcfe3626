import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startDevpool, type Devpool } from "../devpool";
import { makeDiskVm } from "../devpool/testing/fixtures";
import type { PackerBuildInputs, PackerBuildOutputs } from "./packer-build";

const ROOT = path.resolve(__dirname, "..");
const USER = "root";

/** A provider process running one build (providers/testing/packer-build-child.ts). */
interface Child {
  readonly proc: ChildProcess;
  readonly result: Promise<{
    code: number | null;
    out: string;
    last: { ok: boolean; code?: string; message?: string; outs?: PackerBuildOutputs };
  }>;
}

function startChild(input: object, env: NodeJS.ProcessEnv): Child {
  // node itself (not the tsx wrapper, which would stand between the signal and the provider process).
  const proc = spawn(
    process.execPath,
    ["--import", "tsx", path.join(ROOT, "providers/testing/packer-build-child.ts")],
    {
      cwd: ROOT,
      env,
      stdio: ["pipe", "pipe", "pipe"],
    },
  );
  let out = "";
  proc.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  proc.stdin?.end(JSON.stringify(input));
  const result = new Promise<{
    code: number | null;
    out: string;
    last: { ok: boolean; code?: string; message?: string; outs?: PackerBuildOutputs };
  }>((resolve) =>
    proc.on("close", (code) => {
      const lines = out.trim().split("\n");
      let last: { ok: boolean; code?: string; message?: string; outs?: PackerBuildOutputs } = {
        ok: false,
        message: "no result line",
      };
      try {
        last = JSON.parse(lines[lines.length - 1] ?? "") as typeof last;
      } catch {
        // A killed provider prints no result line.
      }
      resolve({ code, out, last });
    }),
  );
  return { proc, result };
}

/** Polls until `check` holds (a wait for an event, not a timing assertion). */
async function until(what: string, check: () => boolean, limitMs = 60000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Whether a process still runs: absent or a zombie (dead, not reaped yet by init) is not running. */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

describe("PackerBuildProvider (integ: real packer/build.sh and Packer, devpool)", function () {
  this.timeout(180000);
  let dir: string;
  let pool: Devpool;
  const password = `pool-${randomBytes(6).toString("hex")}`;
  const secrets = {
    passphrase: `pp-${randomBytes(8).toString("hex")}`,
    pulumiToken: `pul-${randomBytes(8).toString("hex")}`,
    awsSecret: `aws-${randomBytes(8).toString("hex")}`,
    s3Key: `AK${randomBytes(6).toString("hex")}`,
    s3Secret: `sk-${randomBytes(8).toString("hex")}`,
    // A short secret the stack holds under a key of its own: masked too.
    extra: "zq7",
  };
  const config = () => ({
    "xcpng-templates:poolPassword": password,
    "xcpng-templates:s3AccessKeyId": secrets.s3Key,
    "xcpng-templates:s3SecretAccessKey": secrets.s3Secret,
    "xcpng-templates:extraSecret": secrets.extra,
  });
  const inputs = (template: string, vars: Record<string, string>, timeoutMinutes = 5): PackerBuildInputs => ({
    templateName: path.basename(template, ".pkr.hcl"),
    packerTemplate: template,
    sources: {},
    toolVersions: "test",
    pool: { url: pool.url, username: USER, insecureSkipVerify: false },
    tags: [],
    timeoutMinutes,
    secretKeys: ["xcpng-templates:extraSecret"],
    ...vars,
  });
  const childEnv = (vars: Record<string, string>): NodeJS.ProcessEnv => ({
    ...process.env,
    PULUMI_CONFIG_PASSPHRASE: secrets.passphrase,
    PULUMI_ACCESS_TOKEN: secrets.pulumiToken,
    AWS_SECRET_ACCESS_KEY: secrets.awsSecret,
    XCPNG_BUILDS_DIR: path.join(dir, "builds"),
    XCPNG_VERBOSE: "",
    ...vars,
  });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "packer-build-integ-"));
    pool = await startDevpool({ dataDir: path.join(dir, "pool"), username: USER, password });
  });
  after(async () => {
    await pool?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("gives Packer an allowlisted environment and masks every secret the stack holds in the log", async () => {
    const dump = path.join(dir, "env.txt");
    const echo = path.join(dir, "echo.txt");
    fs.writeFileSync(
      echo,
      `stack secrets: ${secrets.s3Secret} ${secrets.s3Key} extra=${secrets.extra} pool=${password}\n`,
    );
    const c = startChild(
      { inputs: inputs("tests/fixtures/packer/env-dump.pkr.hcl", {}), config: config() },
      childEnv({ PKR_VAR_dump_file: dump, PKR_VAR_echo_file: echo }),
    );
    const r = await c.result;
    expect(r.last, r.out).to.include({ ok: true });
    const env = fs.readFileSync(dump, "utf8");
    expect(env).to.match(/^PATH=/m);
    expect(env, "Packer gets the pool password it needs").to.include(`PKR_VAR_pool_password=${password}`);
    for (const [name, value] of Object.entries({
      passphrase: secrets.passphrase,
      pulumiToken: secrets.pulumiToken,
      awsSecret: secrets.awsSecret,
      s3Key: secrets.s3Key,
      s3Secret: secrets.s3Secret,
    })) {
      expect(env.includes(value), `${name} reached Packer's environment`).to.equal(false);
    }
    expect(env).to.not.match(/^PULUMI_/m);
    const log = fs.readFileSync(r.last.outs?.logFile ?? "?", "utf8");
    expect(log).to.match(/stack secrets: \[secret\] \[secret\] extra=\[secret\] pool=\[secret\]/);
    for (const value of [...Object.values(secrets), password]) {
      expect(r.out.includes(value), `${value} shown in the output`).to.equal(false);
      expect(log.includes(value), `${value} written to the log file`).to.equal(false);
    }
  });

  it("shows one line per step, the scripts, progress and warnings; the log file has every line; the SBOM is read back", async () => {
    const c = startChild(
      { inputs: inputs("tests/fixtures/packer/steps.pkr.hcl", {}), config: config() },
      childEnv({}),
    );
    const r = await c.result;
    expect(r.last, r.out).to.include({ ok: true });
    const shown = r.out.trim().split("\n").slice(0, -1); // the last line is the child's JSON result
    expect(shown.length, shown.join("\n")).to.be.below(30);
    const text = shown.join("\n");
    for (const step of ["validate", "packer build", "rootfs", "provision", "sbom", "pack-and-import"])
      expect(text).to.match(new RegExp(`packer-build: steps: \\[\\+[^\\]]+\\] ${step}$`, "m"));
    expect(text, "the scripts inside provision, Packer's wrapper step: the log only").to.not.match(
      /cleanup\.sh|Running local shell script/,
    );
    expect(text).to.match(/packer-build: steps: pack-and-import 75 % \(75 of 100 MB\), 10\.0 MB\/s/);
    expect(text).to.match(/packer-build: steps: \[3-install_guest_agent\.sh\] warning: no guest agent/);
    expect(text).to.match(/packer-build: steps: building \(build \S+\) with \S+; full log: \S+packer\.log$/m);
    expect(text).to.match(
      /packer-build: steps: built in \d+ s \(6 steps\); SBOM of 19 packages \(sha256 [0-9a-f]{12}…\)$/m,
    );
    expect(text, "no apt line").to.not.match(/Get:1|Setting up/);
    expect(new Set(shown).size, "no line twice").to.equal(shown.length);
    const outs = r.last.outs!;
    const log = fs.readFileSync(outs.logFile ?? "?", "utf8");
    expect(log.match(/Get:\d+ /g)).to.have.length(150);
    expect(log.match(/Setting up pkg/g)).to.have.length(100);
    expect(outs.sbom?.packages).to.equal(19);
    expect(outs.sbom?.file).to.equal(path.join(path.dirname(outs.logFile ?? ""), "sbom.cdx.json"));
    expect(outs.sbom?.sha256).to.match(/^[0-9a-f]{64}$/);
  });

  it("XCPNG_VERBOSE=1 shows every line of the build, once", async () => {
    const c = startChild(
      { inputs: inputs("tests/fixtures/packer/steps.pkr.hcl", {}), config: config() },
      childEnv({ XCPNG_VERBOSE: "1" }),
    );
    const r = await c.result;
    expect(r.last, r.out).to.include({ ok: true });
    expect(r.out.match(/\[packer steps\] .*Get:\d+ /g)).to.have.length(150);
    expect(r.out.match(/\[packer steps\] .*Setting up pkg/g)).to.have.length(100);
  });

  /** Starts the stall fixture and waits until its provisioner runs; returns its build id and pid. */
  const stalled = async (timeoutMinutes = 5) => {
    const marker = path.join(dir, `marker-${randomBytes(4).toString("hex")}`);
    const c = startChild(
      { inputs: inputs("tests/fixtures/packer/stall.pkr.hcl", {}, timeoutMinutes), config: config() },
      childEnv({ PKR_VAR_marker_file: marker }),
    );
    await until("the build's provisioner runs", () => fs.existsSync(marker));
    const [buildId = "", pid = ""] = fs.readFileSync(marker, "utf8").trim().split(" ");
    return { c, buildId, pid: Number(pid) };
  };
  /** A VM the build "left" on the pool, as a half-finished Packer build would. */
  const leaveVm = async (buildId: string) => {
    const vm = await makeDiskVm(pool.engine, USER, password, `half-built ${buildId}`, 1024 * 1024);
    pool.engine.store.update("VM", vm.vm, { tags: [`build-id:${buildId}`] });
  };
  const vmsOf = (buildId: string) =>
    pool.engine.store.rows("VM").filter((r) => (r.rec.tags as string[]).includes(`build-id:${buildId}`));

  it("a cancel (SIGTERM to the provider) stops Packer's process group and removes what the build left on the pool", async () => {
    const { c, buildId, pid } = await stalled();
    await leaveVm(buildId);
    expect(vmsOf(buildId)).to.have.length(1);
    c.proc.kill("SIGTERM");
    const r = await c.result;
    expect(r.last, r.out).to.include({ ok: false, code: "BUILD_CANCELLED" });
    expect(r.last.message).to.match(/was cancelled: Packer was stopped.*next 'pulumi up' builds it again/s);
    expect(alive(pid), `the build's processes are gone\n${r.out}`).to.equal(false);
    expect(vmsOf(buildId), "no half-built VM left on the pool").to.deep.equal([]);
  });

  it("a provider killed outright (SIGKILL) does not leave the build running", async () => {
    const { c, pid } = await stalled();
    c.proc.kill("SIGKILL");
    await c.result;
    // build.sh watches the provider's pid and stops Packer when it is gone.
    await until("the orphaned build stops", () => !alive(pid));
  });

  it("a build past its timeout is stopped and fails with the setting to raise", async () => {
    const { c, pid } = await stalled(0.05);
    const r = await c.result;
    expect(r.last, r.out).to.include({ ok: false, code: "BUILD_TIMEOUT" });
    expect(r.last.message).to.match(/did not finish within \d+ (min|s).*buildTimeoutMinutes/s);
    expect(alive(pid)).to.equal(false);
  });
});
