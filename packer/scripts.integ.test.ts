import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { run } from "../tests/support/tools";
import { PACKER_DIR, REPO_ROOT } from "./testing/paths";

// Static checks of every shell script under packer/: shellcheck-clean, strict mode, executable.
// What the scripts do is tested where they act: packer/hardening.integ.test.ts (chroot) and
// packer/local-build.integ.test.ts (the whole local build).

/** Sourced helpers: no shebang, no `set` of their own (they inherit the caller's strict mode). */
const SOURCED = new Set(["common/lib.sh"]);

function shellScripts(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...shellScripts(p));
    else if (e.isFile() && e.name.endsWith(".sh")) out.push(p);
  }
  return out.sort();
}

describe("packer shell scripts (integ, shellcheck)", function () {
  this.timeout(120_000);
  const scripts = shellScripts(PACKER_DIR);
  const rel = (p: string): string => path.relative(PACKER_DIR, p);

  it("finds the provisioning, local build and entry point scripts", () => {
    expect(scripts.map(rel)).to.include.members([
      "build.sh",
      "render-seed.sh",
      "common/lib.sh",
      "common/update_system.sh",
      "common/harden_ssh.sh",
      "common/harden_system.sh",
      "common/cleanup.sh",
      "debian/debian_specific.sh",
      "debian/install_guest_agent.sh",
      "ubuntu/ubuntu_specific.sh",
      "ubuntu/install_guest_agent.sh",
      "local/build-local.sh",
      "local/rootfs.sh",
      "local/chroot-run.sh",
      "local/make-disk.sh",
      "local/requirements.sh",
      "local/apt-mirror.sh",
      "local/install-packages.sh",
    ]);
  });

  it("shellcheck -x reports nothing for any of them", async () => {
    const r = await run("shellcheck", ["-x", ...scripts.map((s) => path.relative(REPO_ROOT, s))], {
      cwd: REPO_ROOT,
    });
    expect(r.code, r.stdout + r.stderr).to.equal(0);
  });

  it("shellcheck does flag a script with an unquoted expansion (the check can fail)", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "xcpng-sc-"));
    try {
      const f = path.join(dir, "bad.sh");
      fs.writeFileSync(f, "#!/usr/bin/env bash\nset -euo pipefail\nrm -rf $1/*\n");
      const r = await run("shellcheck", [f]);
      expect(r.code).to.not.equal(0);
      expect(r.stdout).to.match(/SC2086/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const s of scripts) {
    const name = rel(s);
    if (SOURCED.has(name)) {
      it(`${name} is a sourced bash library (shellcheck directive, not executable)`, () => {
        const text = fs.readFileSync(s, "utf8");
        expect(text.split("\n")[0]).to.equal("# shellcheck shell=bash");
        expect(fs.statSync(s).mode & 0o111).to.equal(0);
      });
      continue;
    }
    it(`${name} runs under bash with set -euo pipefail and is executable`, () => {
      const lines = fs.readFileSync(s, "utf8").split("\n");
      expect(lines[0]).to.equal("#!/usr/bin/env bash");
      expect(
        lines.slice(0, 40).some((l) => l === "set -euo pipefail"),
        "strict mode near the top",
      ).to.equal(true);
      expect(fs.statSync(s).mode & 0o111, "executable").to.not.equal(0);
    });
  }
});
