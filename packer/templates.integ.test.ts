import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { run, runOk } from "../tests/support/tools";
import { PACKER_DIR } from "./testing/paths";

// Every Packer file of the catalogue, and what can be checked without the XCP-ng plugin (packer fmt,
// syntax-only validate, inspect, the variables' validation rules, the local template in full).
// packer/xenserver.integ.test.ts validates the xenserver-iso template with the plugin loaded.

const PACKER_ENV = { ...process.env, CHECKPOINT_DISABLE: "1" };
const OS_VAR_FILES = ["debian-12", "debian-13", "ubuntu-24.04"].map((n) =>
  path.join(PACKER_DIR, "os_pkrvars", `${n}.pkrvars.hcl`),
);
const XENSERVER = path.join(PACKER_DIR, "xenserver-iso");
const LOCAL = path.join(PACKER_DIR, "local", "debian12-local.pkr.hcl");

function hclFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory() && e.name !== "testing") out.push(...hclFiles(p));
    else if (e.isFile() && /\.pkr(vars)?\.hcl$/.test(e.name)) out.push(p);
  }
  return out.sort();
}

/** `packer inspect` lines `var.<name>: <value>` as a map (values as printed, quotes included). */
async function inspectVars(args: readonly string[]): Promise<Map<string, string>> {
  const { stdout } = await runOk("packer", ["inspect", ...args], { env: PACKER_ENV });
  const vars = new Map<string, string>();
  const re = /^var\.([a-z_]+): ("(?:[^"\\]|\\.)*")$/gm;
  for (const m of stdout.matchAll(re)) vars.set(m[1]!, JSON.parse(m[2]!) as string);
  return vars;
}

/** The quoted strings of an HCL list as `packer inspect` prints it. */
function listItems(printed: string): string[] {
  return [...printed.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);
}

describe("packer templates (integ, packer CLI without the XCP-ng plugin)", function () {
  this.timeout(120_000);

  it("finds the catalogue's templates and variable files", () => {
    const files = hclFiles(PACKER_DIR).map((f) => path.relative(PACKER_DIR, f));
    expect(files).to.include.members([
      "xenserver-iso/source.pkr.hcl",
      "xenserver-iso/variables.pkr.hcl",
      "xenserver-iso/build.pkr.hcl",
      "xenserver-iso/plugins.pkr.hcl",
      "os_pkrvars/debian-12.pkrvars.hcl",
      "os_pkrvars/debian-13.pkrvars.hcl",
      "os_pkrvars/ubuntu-24.04.pkrvars.hcl",
      "local/debian12-local.pkr.hcl",
    ]);
  });

  it("packer fmt -check passes on every .pkr.hcl and .pkrvars.hcl file", async () => {
    const files = hclFiles(PACKER_DIR);
    for (const f of files) {
      const r = await run("packer", ["fmt", "-check", "-diff", f], { env: PACKER_ENV });
      expect(r.code, `${path.relative(PACKER_DIR, f)} is not formatted:\n${r.stdout}${r.stderr}`).to.equal(0);
    }
  });

  it("packer fmt -check does reject a misformatted file (the check can fail)", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "xcpng-fmt-"));
    try {
      const f = path.join(dir, "bad.pkrvars.hcl");
      fs.writeFileSync(f, 'os_name="debian"\n   os_version =    "12"\n');
      const r = await run("packer", ["fmt", "-check", f], { env: PACKER_ENV });
      expect(r.code).to.not.equal(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const varFile of OS_VAR_FILES) {
    const name = path.basename(varFile, ".pkrvars.hcl");

    it(`${name}: the shared xenserver-iso template passes a syntax-only validate`, async () => {
      const r = await run("packer", ["validate", "-syntax-only", `-var-file=${varFile}`, XENSERVER], {
        env: PACKER_ENV,
      });
      expect(r.code, r.stdout + r.stderr).to.equal(0);
    });

    it(`${name}: packer inspect shows one xenserver-iso source and the OS's values`, async () => {
      const { stdout } = await runOk("packer", ["inspect", `-var-file=${varFile}`, XENSERVER], {
        env: PACKER_ENV,
      });
      expect(stdout).to.match(/xenserver-iso\.template/);
      const vars = await inspectVars([`-var-file=${varFile}`, XENSERVER]);
      expect(vars.get("template_name")).to.equal(name);
      expect(vars.get("iso_url")).to.match(/^https:\/\/.+\.iso$/);
      expect(vars.get("iso_checksum")).to.match(/^(sha256:[0-9a-f]{64}|file:https:\/\/.+SHA256SUMS)$/);
      expect(vars.get("boot_command")).to.include("{{ .HTTPIP }}:{{ .HTTPPort }}");
      const osName = vars.get("os_name")!;
      expect(["debian", "ubuntu"]).to.include(osName);
      expect(fs.existsSync(path.join(PACKER_DIR, osName, "http")), "installer seed directory").to.equal(true);
      const scripts = listItems(vars.get("os_scripts") ?? "");
      expect(scripts.length).to.be.greaterThan(0);
      for (const s of scripts) {
        expect(s.startsWith(`${osName}/`), s).to.equal(true);
        const st = fs.statSync(path.join(PACKER_DIR, s));
        expect(st.mode & 0o111, `${s} is executable`).to.not.equal(0);
      }
      expect(scripts.some((s) => s.endsWith("install_guest_agent.sh"))).to.equal(true);
    });
  }

  it("the local template validates in full (it needs no plugin)", async () => {
    const r = await run("packer", ["validate", "-var", "build_id=test-1", LOCAL], { env: PACKER_ENV });
    expect(r.code, r.stdout + r.stderr).to.equal(0);
  });

  it("the local build runs the same OS scripts as the pool's Debian 12 build", async () => {
    const pool = await inspectVars([`-var-file=${OS_VAR_FILES[0]!}`, XENSERVER]);
    const local = await inspectVars([LOCAL]);
    expect(listItems(local.get("os_scripts") ?? "")).to.deep.equal(listItems(pool.get("os_scripts") ?? ""));
    expect(listItems(local.get("os_scripts") ?? "")).to.not.deep.equal([]);
  });

  describe("variable validation rules of xenserver-iso/variables.pkr.hcl", () => {
    // The rules run in a harness: the real variables file beside a `null` source, so no plugin is needed.
    let dir: string;
    const good: Record<string, string> = {
      pool_url: "https://xcp-pool-1.example.org",
      network_name: "Pool-wide network associated with eth0",
      iso_url: "https://cdimage.example.org/debian.iso",
      iso_checksum: "sha256:" + "a".repeat(64),
      http_directory: "/tmp",
      clone_template: "Debian Bookworm 12",
      os_name: "debian",
      os_version: "12",
      template_name: "debian-12",
      build_id: "debian-12-20260101T000000Z-abc123",
      build_username: "xcpng-build",
    };
    const secrets = {
      PKR_VAR_pool_username: "root",
      PKR_VAR_pool_password: "not-a-real-password",
      PKR_VAR_build_password: "not-a-real-password-either",
    };

    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "xcpng-vars-"));
      fs.copyFileSync(path.join(XENSERVER, "variables.pkr.hcl"), path.join(dir, "variables.pkr.hcl"));
      fs.writeFileSync(
        path.join(dir, "harness.pkr.hcl"),
        [
          'source "null" "harness" {',
          '  communicator = "none"',
          "}",
          "build {",
          '  sources = ["source.null.harness"]',
          "}",
          "",
        ].join("\n"),
      );
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    async function validate(overrides: Record<string, string>): Promise<{ code: number; out: string }> {
      const values = { ...good, ...overrides };
      const args = ["validate"];
      for (const [k, v] of Object.entries(values)) args.push("-var", `${k}=${v}`);
      args.push("-var", 'boot_command=["<enter>"]', "-var", 'os_scripts=["debian/debian_specific.sh"]', dir);
      const r = await run("packer", args, { env: { ...PACKER_ENV, ...secrets } });
      return { code: r.code, out: r.stdout + r.stderr };
    }

    it("accepts a complete, valid set of values", async () => {
      const r = await validate({});
      expect(r.code, r.out).to.equal(0);
    });

    const rejected: [string, string, RegExp][] = [
      ["pool_url", "http://xcp-pool-1.example.org", /pool_url must be https/],
      ["pool_url", "https://xcp-pool-1.example.org/some/path", /pool_url must be https/],
      ["iso_checksum", "none", /iso_checksum must be sha256/],
      ["iso_checksum", "sha256:1234", /iso_checksum must be sha256/],
      ["template_name", "Debian_12", /template_name must be lower-case/],
      ["build_id", "a/b", /build_id must be 1 to 64/],
      ["build_id", "-leading-dash", /build_id must be 1 to 64/],
      ["build_username", "Root!", /build_username must be a POSIX user name/],
      ["os_name", "windows", /os_name must be debian or ubuntu/],
    ];
    for (const [name, value, message] of rejected) {
      it(`rejects ${name} = ${JSON.stringify(value)} with a message that says what is expected`, async () => {
        const r = await validate({ [name]: value });
        expect(r.code).to.not.equal(0);
        expect(r.out.replace(/\s+/g, " ")).to.match(message);
      });
    }

    it("declares the pool credentials and the build password sensitive", () => {
      const text = fs.readFileSync(path.join(XENSERVER, "variables.pkr.hcl"), "utf8");
      for (const v of ["pool_username", "pool_password", "build_password"]) {
        const block = new RegExp(`variable "${v}" \\{[^}]*sensitive\\s*=\\s*true`, "s");
        expect(text, v).to.match(block);
        expect(text, `${v} has no default`).to.not.match(new RegExp(`variable "${v}" \\{[^}]*default`, "s"));
      }
    });
  });

  it("the source keeps the template on the pool and exports nothing", () => {
    const src = fs.readFileSync(path.join(XENSERVER, "source.pkr.hcl"), "utf8");
    expect(src).to.match(/format\s*=\s*"none"/);
    expect(src).to.match(/keep_vm\s*=\s*"on_success"/);
    expect(src).to.not.match(/skip_set_template\s*=\s*true/);
    expect(src).to.match(/"build-id:\$\{var\.build_id\}"/);
    const plugins = fs.readFileSync(path.join(XENSERVER, "plugins.pkr.hcl"), "utf8");
    expect(plugins).to.match(/source\s*=\s*"github\.com\/vatesfr\/xenserver"/);
    expect(plugins).to.match(/version\s*=\s*">= 0\.11\.4"/);
  });
});
