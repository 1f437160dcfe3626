import { expect } from "chai";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PACKER_DIR } from "./testing/paths";

// packer/build.sh against a stand-in `packer` on PATH (the seam): it records its argv and environment, and
// fails at a chosen subcommand. The real Packer runs in templates.integ.test.ts and local-build.integ.test.ts.

const FAKE_PACKER = `#!/usr/bin/env bash
set -euo pipefail
log="$FAKE_LOG_DIR/calls"
{ printf 'ARGV'; printf ' [%s]' "$@"; printf '\\n'; } >>"$log"
if [ "$1" = version ]; then echo "Packer v1.9.4"; exit 0; fi
if [ "\${FAKE_FAIL:-}" = "$1" ]; then echo "fake packer: $1 failed \${FAKE_FAIL_TEXT:-}" >&2; exit 1; fi
case "$1" in
  inspect) printf '%s\\n' "$FAKE_INSPECT" ;;
  validate) echo "The configuration is valid." ;;
  build)
    env | grep -E '^(PKR_VAR_|SSL_CERT_FILE=)' | sort >"$FAKE_LOG_DIR/build-env"
    for a in "$@"; do
      case "$a" in http_directory=*) cp -r "\${a#http_directory=}" "$FAKE_LOG_DIR/http-copy" ;; esac
    done
    if [ -n "\${SSL_CERT_FILE:-}" ]; then cp "$SSL_CERT_FILE" "$FAKE_LOG_DIR/ca-bundle"; fi
    echo "==> xenserver-iso.template: building (fake)"
    if [ -n "\${FAKE_SLEEP:-}" ]; then
      sleep "$FAKE_SLEEP" &
      sleeper=$!
      trap 'kill "$sleeper"; echo "fake packer: cleaning up after TERM" >&2; touch "$FAKE_LOG_DIR/got-term"; exit 1' TERM
      touch "$FAKE_LOG_DIR/building"
      wait
    fi
    echo "Build 'xenserver-iso.template' finished." ;;
esac
`;

const XENSERVER_INSPECT = [
  'var.build_id: "<unknown>"',
  'var.build_password: "<sensitive>"',
  'var.build_username: "xcpng-build"',
  'var.http_directory: "<unknown>"',
  'var.os_name: "debian"',
  'var.output_directory: "null"',
  'var.template_name: "debian-12"',
].join("\n");

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe("packer/build.sh (entry point, with a stand-in packer)", function () {
  this.timeout(60_000);
  let dir: string;
  let bin: string;
  let logs: string;
  const secret = "pool-password-that-must-not-leak";

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "xcpng-build-sh-"));
    bin = path.join(dir, "bin");
    logs = path.join(dir, "logs");
    fs.mkdirSync(bin);
    fs.mkdirSync(logs);
    fs.writeFileSync(path.join(bin, "packer"), FAKE_PACKER, { mode: 0o755 });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function buildSh(
    args: readonly string[],
    env: Record<string, string> = {},
    onSpawn?: (pid: number) => void,
  ): Promise<Result> {
    return new Promise((resolve, reject) => {
      const child = spawn("bash", [path.join(PACKER_DIR, "build.sh"), ...args], {
        env: {
          PATH: `${bin}:${process.env.PATH ?? ""}`,
          HOME: dir,
          TMPDIR: dir,
          FAKE_LOG_DIR: logs,
          FAKE_INSPECT: XENSERVER_INSPECT,
          PKR_VAR_pool_password: secret,
          PKR_VAR_pool_username: "root",
          ...env,
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, stdout, stderr }));
      if (onSpawn && child.pid) onSpawn(child.pid);
    });
  }

  const template = path.join(PACKER_DIR, "xenserver-iso");
  const varFile = path.join(PACKER_DIR, "os_pkrvars/debian-12.pkrvars.hcl");
  const calls = (): string => fs.readFileSync(path.join(logs, "calls"), "utf8");

  it("prints exactly one compact JSON line on stdout and Packer's output on stderr", async () => {
    const r = await buildSh([template, varFile], { PKR_VAR_build_id: "debian-12-20260101T000000Z-abc123" });
    expect(r.code, r.stderr).to.equal(0);
    const lines = r.stdout.split("\n").filter((l) => l !== "");
    expect(lines).to.have.length(1);
    const result = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(Object.keys(result).sort()).to.deep.equal([
      "build_id",
      "duration_seconds",
      "packer_version",
      "template",
    ]);
    expect(result).to.include({
      template: "debian-12",
      build_id: "debian-12-20260101T000000Z-abc123",
      packer_version: "1.9.4",
    });
    expect(result.duration_seconds).to.be.a("number").and.at.least(0);
    expect(r.stderr).to.include("building (fake)");
  });

  it("runs validate then build, without packer init, with the var file and a rendered seed directory", async () => {
    const r = await buildSh([template, varFile]);
    expect(r.code, r.stderr).to.equal(0);
    const c = calls();
    expect(c).to.not.match(/\[init\]/);
    expect(c).to.match(/^ARGV \[validate\]/m);
    expect(c).to.match(/^ARGV \[build\] \[-color=false\] \[-timestamp-ui\] \[-on-error=cleanup\]/m);
    expect(c).to.include(`[-var-file=${varFile}]`);
    const preseed = fs.readFileSync(path.join(logs, "http-copy", "preseed.cfg"), "utf8");
    expect(preseed).to.match(/^d-i passwd\/user-password-crypted password \$6\$/m);
    expect(preseed).to.match(/^d-i passwd\/username string xcpng-build$/m);
    // The temporary seed directory is gone after the run.
    const httpArg = /\[http_directory=([^\]]+)\]/.exec(c)?.[1] ?? "";
    expect(httpArg).to.not.equal("");
    expect(fs.existsSync(httpArg)).to.equal(false);
  });

  it("passes secrets to Packer only through the environment, never on its command line or stdout", async () => {
    const r = await buildSh([template, varFile]);
    expect(r.code, r.stderr).to.equal(0);
    const env = fs.readFileSync(path.join(logs, "build-env"), "utf8");
    expect(env).to.include(`PKR_VAR_pool_password=${secret}`);
    const generated = /^PKR_VAR_build_password=(.+)$/m.exec(env)?.[1] ?? "";
    expect(generated.length, "a random build password is generated").to.be.at.least(24);
    expect(calls()).to.not.include(secret);
    expect(calls()).to.not.include(generated);
    expect(r.stdout).to.not.include(secret);
    expect(r.stderr).to.not.include(secret);
  });

  it("trusts the pool's CA in addition to the system's (SSL_CERT_FILE for Packer and its plugins)", async () => {
    const ca = path.join(dir, "pool-ca.pem");
    fs.writeFileSync(ca, "-----BEGIN CERTIFICATE-----\nZmFrZSBwb29sIENB\n-----END CERTIFICATE-----\n");
    const r = await buildSh([template, varFile], { PKR_VAR_pool_ca_file: ca });
    expect(r.code, r.stderr).to.equal(0);
    const bundle = fs.readFileSync(path.join(logs, "ca-bundle"), "utf8");
    expect(bundle).to.include("ZmFrZSBwb29sIENB");
    if (fs.existsSync("/etc/ssl/certs/ca-certificates.crt")) {
      expect(bundle.length).to.be.greaterThan(fs.statSync(ca).size * 10);
    }
  });

  it("trusts nothing but the pinned pool certificate when one is given (XCPNG_PACKER_CA_FILE)", async () => {
    const pinned = path.join(dir, "pool-cert.pem");
    fs.writeFileSync(pinned, "-----BEGIN CERTIFICATE-----\ncGlubmVkIHBvb2w=\n-----END CERTIFICATE-----\n");
    const r = await buildSh([template, varFile], {
      XCPNG_PACKER_CA_FILE: pinned,
      PKR_VAR_pool_ca_file: pinned,
    });
    expect(r.code, r.stderr).to.equal(0);
    expect(fs.readFileSync(path.join(logs, "ca-bundle"), "utf8")).to.equal(fs.readFileSync(pinned, "utf8"));
  });

  it("generates a build id when the caller gives none, and reports it", async () => {
    const r = await buildSh([template, varFile]);
    expect(r.code, r.stderr).to.equal(0);
    const id = (JSON.parse(r.stdout) as { build_id: string }).build_id;
    expect(id).to.match(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
  });

  const failures: [string, Record<string, string>, string[], RegExp][] = [
    ["arguments", {}, [], /FAILED at step 'arguments': expected <template-dir-or-file>/],
    [
      "arguments",
      {},
      ["/nonexistent/template"],
      /FAILED at step 'arguments': template '\/nonexistent\/template'/,
    ],
    ["arguments", { PKR_VAR_build_id: "bad/id" }, [template, varFile], /FAILED at step 'arguments'.*bad\/id/],
    ["inspect", { FAKE_FAIL: "inspect" }, [template, varFile], /FAILED at step 'inspect'/],
    ["validate", { FAKE_FAIL: "validate" }, [template, varFile], /FAILED at step 'validate'/],
    [
      "validate (plugin missing)",
      { FAKE_FAIL: "validate", FAKE_FAIL_TEXT: "Error: Missing plugins" },
      [template, varFile],
      /FAILED at step 'validate': a required Packer plugin is not installed in PACKER_PLUGIN_PATH/,
    ],
    [
      "packer build",
      { FAKE_FAIL: "build" },
      [template, varFile],
      /FAILED at step 'packer build': packer build exited 1/,
    ],
  ];
  for (const [step, env, args, message] of failures) {
    it(`fails at step '${step}' with a non-zero exit, nothing on stdout, and says why`, async () => {
      const r = await buildSh(args, env);
      expect(r.code).to.not.equal(0);
      expect(r.stdout).to.equal("");
      const last = r.stderr.trim().split("\n").pop() ?? "";
      expect(last).to.match(message);
    });
  }

  it("passes SIGTERM on to Packer and waits for its cleanup", async () => {
    let pid = 0;
    const done = buildSh([template, varFile], { FAKE_SLEEP: "30" }, (p) => (pid = p));
    const started = Date.now();
    while (!fs.existsSync(path.join(logs, "building"))) {
      if (Date.now() - started > 20_000) throw new Error("the stand-in packer never started building");
      await new Promise((r) => setTimeout(r, 100));
    }
    process.kill(pid, "SIGTERM");
    const r = await done;
    expect(r.code).to.not.equal(0);
    expect(fs.existsSync(path.join(logs, "got-term"))).to.equal(true);
    expect(r.stderr).to.match(/FAILED at step 'packer build': interrupted by a signal/);
    expect(Date.now() - started).to.be.lessThan(20_000);
  });
});
