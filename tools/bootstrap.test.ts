import { expect } from "chai";
import { type ChildProcessWithoutNullStreams, execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..");
const SCRIPT = path.join(ROOT, "tools/bootstrap.sh");
const NODE_VERSION = /^NODE_VERSION=(\S+)$/m.exec(
  fs.readFileSync(path.join(ROOT, "tools/versions.env"), "utf8"),
)?.[1];
const TOOLS = ["node", "actionlint", "versitygw", "pulumi", "pulumi-language-nodejs", "packer"] as const;
/** The binaries each tool installs, as tools/bootstrap.sh's files_of lists them. */
const FILES: Record<(typeof TOOLS)[number], string[]> = {
  node: ["bin/node"],
  actionlint: ["bin/actionlint"],
  versitygw: ["bin/versitygw"],
  pulumi: ["bin/pulumi", "bin/pulumi-resource-pulumi-nodejs"],
  "pulumi-language-nodejs": ["bin/pulumi-language-nodejs"],
  packer: ["bin/packer"],
};

/*
 * Fakes of the builders, so that the real script runs end to end in seconds on a throwaway TOOLS_HOME: `go`
 * "builds" a tiny shell script wherever `go install` or `go build -o` would put a binary, `npm install node@…`
 * lays out the npm `node` package's links, `dpkg-query` reports every Debian package installed. Each logs its
 * calls, so a test sees what was built. openssl (the checksums), flock and coreutils are the real ones.
 */
const FAKE_GO = `#!/usr/bin/env bash
set -euo pipefail
echo "go $*" >>"$FAKE_LOG"
case "$1" in
  env) echo go1.99-fake ;;
  install) pkg=\${*: -1}; name=$(basename "\${pkg%@*}")
    printf '#!/bin/sh\\necho %s\\n' "$name" >"$GOBIN/$name"; chmod +x "$GOBIN/$name" ;;
  build) out=; prev=; for a in "$@"; do [ "$prev" = -o ] && out=$a; prev=$a; done
    printf '#!/bin/sh\\necho %s\\n' "$(basename "$out")" >"$out"; chmod +x "$out" ;;
  list) d=$FAKE_MODDIR/sdk; mkdir -p "$d/nodejs/dist"
    printf '#!/bin/sh\\necho host\\n' >"$d/nodejs/dist/pulumi-resource-pulumi-nodejs"; echo "$d" ;;
  mod|get) ;;
  *) echo "fake go: unexpected $*" >&2; exit 2 ;;
esac
`;
const FAKE_NPM = `#!/usr/bin/env bash
set -euo pipefail
echo "npm $*" >>"$FAKE_LOG"
[ "$1" = install ] || { echo "fake npm: unexpected $*" >&2; exit 2; }
prefix=; prev=; for a in "$@"; do [ "$prev" = --prefix ] && prefix=$a; prev=$a; done
mkdir -p "$prefix/node_modules/node/bin" "$prefix/node_modules/.bin"
printf '#!/bin/sh\\necho v0-fake\\n' >"$prefix/node_modules/node/bin/node"
chmod +x "$prefix/node_modules/node/bin/node"
ln -sfn ../node/bin/node "$prefix/node_modules/.bin/node"
`;
const FAKE_DPKG_QUERY = `#!/bin/sh
printf 'install ok installed'
`;

interface Run {
  readonly code: number;
  readonly stderr: string;
}

describe("tools/bootstrap.sh: the toolchain cache is verified before use", function () {
  this.timeout(60_000);
  let work: string;
  let home: string;
  let log: string;

  const env = (): NodeJS.ProcessEnv => ({
    PATH: `${path.join(work, "fakebin")}:/usr/bin:/bin`,
    HOME: work,
    TOOLS_HOME: home,
    FAKE_LOG: log,
    FAKE_MODDIR: path.join(work, "mod"),
  });
  const bootstrap = (): Promise<Run> =>
    new Promise((resolve) => {
      execFile("bash", [SCRIPT], { env: env() }, (err, _stdout, stderr) => {
        resolve({ code: typeof err?.code === "number" ? err.code : 0, stderr });
      });
    });
  /** The builder calls logged since the last look. */
  const builds = (): string[] => {
    const lines = fs.existsSync(log) ? fs.readFileSync(log, "utf8").split("\n") : [];
    fs.writeFileSync(log, "");
    return lines.filter((l) => /^(go (install|build)|npm install)/.test(l));
  };
  const sha256 = (rel: string) =>
    createHash("sha256")
      .update(fs.readFileSync(path.join(home, rel)))
      .digest("hex");

  beforeEach(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "bootstrap-"));
    home = path.join(work, "tools");
    log = path.join(work, "builds.log");
    fs.mkdirSync(path.join(work, "fakebin"));
    for (const [name, text] of [
      ["go", FAKE_GO],
      ["npm", FAKE_NPM],
      ["dpkg-query", FAKE_DPKG_QUERY],
    ] as const) {
      fs.writeFileSync(path.join(work, "fakebin", name), text, { mode: 0o755 });
    }
    const cold = await bootstrap();
    expect(cold.code, cold.stderr).to.equal(0);
  });
  afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

  it("records the SHA-256 of every binary when it builds the tool", () => {
    expect(builds()).to.have.length(TOOLS.length);
    for (const tool of TOOLS) {
      const record = fs.readFileSync(path.join(home, "stamps", `${tool}.sha256`), "utf8");
      expect(record, tool).to.equal(FILES[tool].map((f) => `${sha256(f)} *${f}\n`).join(""));
    }
    expect(fs.existsSync(path.join(home, "env.sh"))).to.equal(true);
  });

  it("a warm run verifies every binary, builds nothing and writes env.sh", async () => {
    builds();
    fs.rmSync(path.join(home, "env.sh"));
    const r = await bootstrap();
    expect(r.code, r.stderr).to.equal(0);
    expect(builds()).to.deep.equal([]);
    expect(fs.existsSync(path.join(home, "env.sh"))).to.equal(true);
  });

  for (const [tool, file] of [
    ["packer", "bin/packer"],
    ["pulumi", "bin/pulumi-resource-pulumi-nodejs"],
    ["node", `node-${NODE_VERSION}/node_modules/node/bin/node`],
    ["versitygw", "bin/versitygw"],
  ] as const) {
    it(`a changed ${file} fails the run loudly, names ${tool} and how to rebuild it, and removes env.sh`, async () => {
      builds();
      fs.appendFileSync(path.join(home, file), "# planted by a job\n");
      const r = await bootstrap();
      expect(r.code).to.equal(1);
      expect(r.stderr).to.include("CHECKSUM MISMATCH");
      expect(r.stderr).to.include(`  ${tool}: recorded (${home}/stamps/${tool}.sha256):`);
      expect(r.stderr).to.include(
        `Rebuild it: rm -f '${home}/stamps/${tool}' '${home}/stamps/${tool}.sha256' && tools/bootstrap.sh`,
      );
      for (const other of TOOLS.filter((t) => t !== tool))
        expect(r.stderr).to.not.include(`  ${other}: recorded`);
      expect(
        fs.existsSync(path.join(home, "env.sh")),
        "nothing can source the unverified toolchain",
      ).to.equal(false);
      expect(builds(), "nothing rebuilt behind the user's back").to.deep.equal([]);
    });
  }

  it("a missing binary of a verified tool fails the same way", async () => {
    fs.rmSync(path.join(home, "bin/pulumi-resource-pulumi-nodejs"));
    const r = await bootstrap();
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include("  pulumi: found now:");
  });

  it("following the advice rebuilds that tool only, and the next run passes", async () => {
    builds();
    fs.appendFileSync(path.join(home, "bin/packer"), "# planted\n");
    expect((await bootstrap()).code).to.equal(1);
    fs.rmSync(path.join(home, "stamps/packer"));
    fs.rmSync(path.join(home, "stamps/packer.sha256"));
    const r = await bootstrap();
    expect(r.code, r.stderr).to.equal(0);
    expect(builds())
      .to.have.length(1)
      .and.to.match(/^go build .* -o \S+\/bin\/packer github.com\/hashicorp\/packer$/);
    expect(fs.existsSync(path.join(home, "env.sh"))).to.equal(true);
  });

  it("a tool stamped by a bootstrap that kept no checksums is rebuilt, so its record is made at build time", async () => {
    builds();
    fs.rmSync(path.join(home, "stamps/actionlint.sha256"));
    const r = await bootstrap();
    expect(r.code, r.stderr).to.equal(0);
    expect(builds())
      .to.have.length(1)
      .and.to.match(/^go install .*actionlint@v/);
    expect(fs.readFileSync(path.join(home, "stamps/actionlint.sha256"), "utf8")).to.equal(
      `${sha256("bin/actionlint")} *bin/actionlint\n`,
    );
  });

  it("waits while another bootstrap holds the cache's lock", async () => {
    fs.rmSync(path.join(home, "env.sh"));
    // Another bootstrap: holds the lock until its stdin closes.
    const holder: ChildProcessWithoutNullStreams = spawn(
      "flock",
      [path.join(home, ".bootstrap.lock"), "sh", "-c", "echo locked; cat >/dev/null"],
      { env: env() },
    );
    await new Promise<void>((resolve) => holder.stdout.once("data", () => resolve()));
    const waiting = spawn("bash", [SCRIPT], { env: env() });
    let stderr = "";
    await new Promise<void>((resolve) => {
      waiting.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes("waiting for it to finish")) resolve();
      });
    });
    expect(fs.existsSync(path.join(home, "env.sh")), "nothing written while the other one runs").to.equal(
      false,
    );
    holder.stdin.end();
    const code = await new Promise<number | null>((resolve) => waiting.on("close", resolve));
    expect(code, stderr).to.equal(0);
    expect(fs.existsSync(path.join(home, "env.sh"))).to.equal(true);
  });
});
