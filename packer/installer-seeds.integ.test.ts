import { expect } from "chai";
import { run, requireTool } from "../tests/support/tools";
import * as yaml from "js-yaml";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { autoinstallProblems } from "./testing/autoinstall";
import { PACKER_DIR } from "./testing/paths";

// The installer seeds served by Packer's HTTP server: the Debian preseed (debconf syntax) and the Ubuntu
// autoinstall user-data (YAML in the shape subiquity expects), raw and as packer/render-seed.sh renders them.

const PASSWORD = "correct horse battery staple 42";
const USER = "xcpng-build";

async function render(osName: string): Promise<{ dir: string; dispose: () => void }> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "xcpng-seed-"));
  const dir = path.join(tmp, "http");
  const r = await run(
    "/bin/bash",
    [path.join(PACKER_DIR, "render-seed.sh"), path.join(PACKER_DIR, osName, "http"), dir],
    { env: { ...process.env, BUILD_PASSWORD: PASSWORD, BUILD_USERNAME: USER } },
  );
  expect(r.code, r.stderr).to.equal(0);
  return { dir, dispose: () => fs.rmSync(tmp, { recursive: true, force: true }) };
}

/** True when the SHA-512 crypt hash is the hash of the password (openssl recomputes it with the same salt). */
async function hashMatches(hash: string, password: string): Promise<boolean> {
  const salt = hash.split("$")[2] ?? "";
  const r = await run(requireTool("openssl"), ["passwd", "-6", "-salt", salt, "-stdin"], {
    input: password,
  });
  return r.code === 0 && r.stdout.trim() === hash;
}

async function checkonly(file: string): Promise<{ code: number; out: string }> {
  const r = await run(requireTool("debconf-set-selections"), ["--checkonly", file]);
  return { code: r.code, out: r.stdout + r.stderr };
}

describe("installer seeds (integ)", function () {
  this.timeout(60_000);

  describe("Debian preseed (packer/debian/http/preseed.cfg)", () => {
    const raw = path.join(PACKER_DIR, "debian/http/preseed.cfg");

    it("passes debconf-set-selections --checkonly as committed and as rendered", async () => {
      const a = await checkonly(raw);
      expect(a.code, a.out).to.equal(0);
      const r = await render("debian");
      try {
        const b = await checkonly(path.join(r.dir, "preseed.cfg"));
        expect(b.code, b.out).to.equal(0);
      } finally {
        r.dispose();
      }
    });

    it("--checkonly does reject a malformed line (the check can fail)", async () => {
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "xcpng-preseed-"));
      try {
        const bad = path.join(tmp, "bad.cfg");
        fs.writeFileSync(bad, fs.readFileSync(raw, "utf8") + "d-i passwd/username\n");
        expect((await checkonly(bad)).code).to.not.equal(0);
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    });

    it("renders the build user and a SHA-512 hash of the password, never the password itself", async () => {
      const r = await render("debian");
      try {
        const text = fs.readFileSync(path.join(r.dir, "preseed.cfg"), "utf8");
        expect(text).to.not.include("@@");
        expect(text).to.not.include(PASSWORD);
        expect(text).to.match(new RegExp(`^d-i passwd/username string ${USER}$`, "m"));
        const hash = /^d-i passwd\/user-password-crypted password (\S+)$/m.exec(text)?.[1] ?? "";
        expect(hash).to.match(/^\$6\$/);
        expect(await hashMatches(hash, PASSWORD)).to.equal(true);
        expect(await hashMatches(hash, "another password")).to.equal(false);
        expect(fs.statSync(r.dir).mode & 0o077, "seed directory private").to.equal(0);
      } finally {
        r.dispose();
      }
    });

    it("installs unattended: no root password, SSH and sudo, the sudo rule cleanup.sh removes", () => {
      const text = fs.readFileSync(raw, "utf8");
      expect(text).to.match(/^d-i passwd\/root-login boolean false$/m);
      expect(text).to.match(/^d-i partman\/confirm_nooverwrite boolean true$/m);
      expect(text).to.match(/^d-i pkgsel\/include string .*\bopenssh-server\b.*\bsudo\b.*\bcloud-init\b/m);
      expect(text).to.match(/^d-i finish-install\/reboot_in_progress note$/m);
      const rule = /\/etc\/sudoers\.d\/(90-xcpng-build)/.exec(text)?.[1];
      expect(rule).to.equal("90-xcpng-build");
      expect(fs.readFileSync(path.join(PACKER_DIR, "common/cleanup.sh"), "utf8")).to.include(
        `/etc/sudoers.d/${rule}`,
      );
    });
  });

  describe("Ubuntu autoinstall (packer/ubuntu/http/user-data, meta-data)", () => {
    it("user-data is #cloud-config YAML with the autoinstall keys subiquity expects", async () => {
      const r = await render("ubuntu");
      try {
        const text = fs.readFileSync(path.join(r.dir, "user-data"), "utf8");
        expect(text.split("\n")[0]).to.equal("#cloud-config");
        const doc = yaml.load(text);
        expect(autoinstallProblems(doc)).to.deep.equal([]);
        const ai = (doc as { autoinstall: Record<string, unknown> }).autoinstall;
        const identity = ai.identity as Record<string, string>;
        expect(identity.username).to.equal(USER);
        expect(await hashMatches(identity.password ?? "", PASSWORD)).to.equal(true);
        expect(text).to.not.include(PASSWORD);
        expect((ai.ssh as Record<string, unknown>)["install-server"]).to.equal(true);
        expect(ai.storage).to.deep.equal({ layout: { name: "direct" } });
        expect(JSON.stringify(ai["late-commands"])).to.include("/etc/sudoers.d/90-xcpng-build");
      } finally {
        r.dispose();
      }
    });

    it("the key check rejects what subiquity would (the check can fail)", () => {
      expect(
        autoinstallProblems({ autoinstall: { version: 1, identity: { hostname: "h" } } }),
      ).to.have.length(2);
      expect(autoinstallProblems({ autoinstall: { version: 2, user_data: {} } })).to.include.members([
        "unknown autoinstall key 'user_data'",
        "autoinstall.version must be 1, got 2",
        "autoinstall needs 'identity' or 'user-data'",
      ]);
      expect(autoinstallProblems("not a mapping")).to.deep.equal(["user-data is not a YAML mapping"]);
    });

    it("meta-data is YAML with an instance-id", () => {
      const doc = yaml.load(
        fs.readFileSync(path.join(PACKER_DIR, "ubuntu/http/meta-data"), "utf8"),
      ) as Record<string, unknown>;
      expect(doc["instance-id"]).to.be.a("string").and.not.equal("");
    });
  });

  it("render-seed.sh refuses to run without a password in the environment", async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "xcpng-seed-"));
    try {
      const env = { ...process.env };
      delete env.BUILD_PASSWORD;
      const r = await run(
        "/bin/bash",
        [path.join(PACKER_DIR, "render-seed.sh"), path.join(PACKER_DIR, "debian/http"), path.join(tmp, "o")],
        { env },
      );
      expect(r.code).to.not.equal(0);
      expect(r.stderr).to.match(/BUILD_PASSWORD is not set/);
      expect(fs.existsSync(path.join(tmp, "o"))).to.equal(false);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
