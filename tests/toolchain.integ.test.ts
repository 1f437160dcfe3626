import { expect } from "chai";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { requireTool, runOk } from "./support/tools";

const ROOT = path.resolve(__dirname, "..");

/** A pin from tools/versions.env, the one place versions are written. */
function pinned(name: string): string {
  for (const line of fs.readFileSync(path.join(ROOT, "tools/versions.env"), "utf8").split("\n")) {
    const m = /^([A-Z0-9_]+)=(\S+)/.exec(line);
    if (m?.[1] === name && m[2]) return m[2];
  }
  throw new Error(`tools/versions.env has no ${name}=<version> line`);
}

describe("toolchain (integ): every tool answers at its pinned version", () => {
  it("node is the pinned Node.js, first on PATH", async () => {
    const { stdout } = await runOk("node", ["--version"]);
    expect(stdout.trim()).to.equal(`v${pinned("NODE_VERSION")}`);
    expect(process.version, "the suite itself runs on the pinned node").to.equal(
      `v${pinned("NODE_VERSION")}`,
    );
  });

  it("pulumi CLI matches the @pulumi/pulumi SDK in package.json", async () => {
    const { stdout } = await runOk("pulumi", ["version"]);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    expect(stdout.trim()).to.equal(`v${pinned("PULUMI_VERSION")}`);
    expect(pkg.dependencies["@pulumi/pulumi"]).to.equal(pinned("PULUMI_VERSION"));
  });

  it("the Node.js language host and dynamic-provider host sit beside pulumi", () => {
    const dir = path.dirname(requireTool("pulumi"));
    expect(path.dirname(requireTool("pulumi-language-nodejs"))).to.equal(dir);
    expect(path.dirname(requireTool("pulumi-resource-pulumi-nodejs"))).to.equal(dir);
  });

  it("packer", async () => {
    const { stdout } = await runOk("packer", ["version"], {
      env: { ...process.env, CHECKPOINT_DISABLE: "1" },
    });
    expect(stdout).to.match(new RegExp(`^Packer v${pinned("PACKER_VERSION").replace(/\./g, "\\.")}\\b`));
  });

  it("versitygw", async () => {
    const { stdout } = await runOk("versitygw", ["--version"]);
    expect(stdout).to.include(`v${pinned("VERSITYGW_VERSION")}`);
  });

  it("actionlint", async () => {
    const { stdout } = await runOk("actionlint", ["--version"]);
    expect(stdout.split("\n")[0]?.trim()).to.equal(pinned("ACTIONLINT_VERSION"));
  });

  it("shellcheck", async () => {
    const { stdout } = await runOk("shellcheck", ["--version"]);
    expect(stdout).to.match(/version: \d+\.\d+/);
  });

  it("every binary matches the checksum recorded when tools/bootstrap.sh built it", () => {
    const home = process.env.TOOLS_HOME;
    expect(home, "TOOLS_HOME is set by env.sh").to.be.a("string");
    const stamps = path.join(home as string, "stamps");
    const records = fs.readdirSync(stamps).filter((f) => f.endsWith(".sha256"));
    expect(records.map((f) => f.replace(/\.sha256$/, "")).sort()).to.deep.equal([
      "actionlint",
      "node",
      "packer",
      "pulumi",
      "pulumi-language-nodejs",
      "versitygw",
    ]);
    for (const record of records) {
      for (const line of fs.readFileSync(path.join(stamps, record), "utf8").trim().split("\n")) {
        const [sum, file] = line.split(" *");
        const actual = createHash("sha256")
          .update(fs.readFileSync(path.join(home as string, file ?? "")))
          .digest("hex");
        expect(actual, `${file} (${record})`).to.equal(sum);
      }
    }
  });

  it("the environment forbids downloads", () => {
    expect(process.env.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION).to.equal("true");
    expect(process.env.PULUMI_SKIP_UPDATE_CHECK).to.equal("true");
    expect(process.env.CHECKPOINT_DISABLE).to.equal("1");
    expect(process.env.PACKER_PLUGIN_PATH).to.be.a("string").and.not.equal("");
  });
});

describe("workflows (integ): actionlint", () => {
  it("every workflow under .github/workflows passes actionlint", async () => {
    const files = fs
      .readdirSync(path.join(ROOT, ".github/workflows"))
      .filter((f) => /\.ya?ml$/.test(f))
      .map((f) => path.join(".github/workflows", f));
    expect(files).to.not.be.empty;
    const { stdout } = await runOk("actionlint", ["-color=false", ...files], { cwd: ROOT });
    expect(stdout).to.equal("");
  });
});
