import { expect } from "chai";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "../..");
const SCRIPT = path.join(ROOT, "tools/ci/github-env.sh");

/** The env.sh template of tools/bootstrap.sh (its `cat >"$ROOT/env.sh.tmp" <<EOF` here-document). */
function envShTemplate(): string {
  const text = fs.readFileSync(path.join(ROOT, "tools/bootstrap.sh"), "utf8");
  const m = /cat >"\$ROOT\/env\.sh\.tmp" <<EOF\n([\s\S]*?)\nEOF\n/.exec(text);
  if (!m?.[1])
    throw new Error("tools/bootstrap.sh no longer writes env.sh with a here-document; update this test");
  return m[1];
}

function bash(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile("bash", ["--norc", "-c", script], { env, cwd: ROOT }, (err, stdout, stderr) => {
      resolve({ code: typeof err?.code === "number" ? err.code : 0, out: stdout + stderr });
    });
  });
}

describe("tools/ci/github-env.sh: the toolchain environment handed to later workflow steps", () => {
  let work: string;
  let toolsHome: string;
  beforeEach(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "github-env-"));
    toolsHome = path.join(work, "tools home");
    fs.mkdirSync(toolsHome);
    // Written exactly as tools/bootstrap.sh writes it, with this test's directories.
    const body = envShTemplate();
    fs.writeFileSync(path.join(work, "write-env.sh"), `cat >"$ROOT/env.sh" <<EOF\n${body}\nEOF\n`);
    fs.writeFileSync(path.join(work, "github_env"), "");
    fs.writeFileSync(path.join(work, "github_path"), "");
  });
  afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

  const baseEnv = (): NodeJS.ProcessEnv => ({
    PATH: "/usr/bin:/bin",
    HOME: work,
    ROOT: toolsHome,
    BIN: path.join(toolsHome, "bin"),
    PLUGINS: path.join(toolsHome, "packer-plugins"),
    GITHUB_ENV: path.join(work, "github_env"),
    GITHUB_PATH: path.join(work, "github_path"),
  });

  it("writes every variable env.sh exports to $GITHUB_ENV and puts the toolchain first on $GITHUB_PATH", async () => {
    // As tools/with-env.sh runs it: env.sh sourced, XCPNG_ENV_READY set.
    const r = await bash(
      `bash "${work}/write-env.sh" && . "$ROOT/env.sh" && export XCPNG_ENV_READY="$TOOLS_HOME" && bash "${SCRIPT}"`,
      { ...baseEnv(), PULUMI_HOME: path.join(work, "job pulumi home") },
    );
    expect(r.out).to.match(/github-env\.sh: .*tools home\/bin and node_modules\/\.bin on PATH/);
    expect(r.code).to.equal(0);

    const written = Object.fromEntries(
      fs
        .readFileSync(path.join(work, "github_env"), "utf8")
        .trimEnd()
        .split("\n")
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    const exported = [...envShTemplate().matchAll(/^export ([A-Z_]+)=/gm)]
      .map((m) => m[1])
      .filter((n) => n !== "PATH");
    expect(Object.keys(written).sort()).to.deep.equal([...exported, "XCPNG_ENV_READY"].sort());
    expect(written.TOOLS_HOME).to.equal(toolsHome);
    expect(written.XCPNG_ENV_READY).to.equal(toolsHome);
    expect(written.PULUMI_HOME, "a job's own PULUMI_HOME is kept").to.equal(
      path.join(work, "job pulumi home"),
    );
    expect(written.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION).to.equal("true");

    // The runner prepends each line in turn, so the last line ends up first on PATH.
    expect(fs.readFileSync(path.join(work, "github_path"), "utf8")).to.equal(
      `${path.join(ROOT, "node_modules/.bin")}\n${path.join(toolsHome, "bin")}\n`,
    );
  });

  it("refuses to run outside a workflow step or outside tools/with-env.sh, saying how to run it", async () => {
    const noActions = await bash(`bash "${SCRIPT}"`, { ...baseEnv(), GITHUB_ENV: "" });
    expect(noActions.code).to.equal(1);
    expect(noActions.out).to.match(/GITHUB_ENV is not set: run this inside a GitHub Actions step/);

    const noToolchain = await bash(`bash "${SCRIPT}"`, { ...baseEnv(), TOOLS_HOME: toolsHome });
    expect(noToolchain.code).to.equal(1);
    expect(noToolchain.out).to.match(/run it as 'tools\/with-env\.sh bash tools\/ci\/github-env\.sh'/);
    expect(fs.readFileSync(path.join(work, "github_env"), "utf8"), "nothing written").to.equal("");
  });

  it("refuses a value with a line break, which would inject a second variable", async () => {
    const r = await bash(
      `bash "${work}/write-env.sh" && . "$ROOT/env.sh" && export PULUMI_HOME=$'a\\nEVIL=1' && bash "${SCRIPT}"`,
      baseEnv(),
    );
    expect(r.code).to.equal(1);
    expect(r.out).to.match(/PULUMI_HOME holds a line break/);
    expect(fs.readFileSync(path.join(work, "github_env"), "utf8"), "nothing written").to.equal("");
  });
});
