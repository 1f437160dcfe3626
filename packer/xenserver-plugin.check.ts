// Not part of `npm test`: the XCP-ng plugin cannot be built here (the Go module proxy serves no version of it;
// README, Toolchain). Run it with `npm run test:xenserver-plugin` where the plugin is installed.
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { MissingToolError, run } from "../tests/support/tools";
import { PACKER_DIR } from "./testing/paths";

// The xenserver-iso template with the XCP-ng plugin (vatesfr/packer-plugin-xenserver >= 0.11.4) loaded:
// `packer validate` runs the plugin's own Prepare (required fields, format/keep_vm/ip_getter values, ISO
// checksum syntax) on every OS's values, and `packer inspect` reads the template. Kept in its own file because
// it needs the plugin in PACKER_PLUGIN_PATH, which tools/bootstrap.sh installs when the Go module proxy serves it.

const OSES = ["debian-12", "debian-13", "ubuntu-24.04"] as const;
const TEMPLATE = path.join(PACKER_DIR, "xenserver-iso");

/** The plugin binary in the layout Packer 1.9 discovers (name with version and API, plus its checksum file). */
function installedPlugin(): string {
  const dir = path.join(process.env.PACKER_PLUGIN_PATH ?? "", "github.com", "vatesfr", "xenserver");
  const found = fs.existsSync(dir)
    ? fs.readdirSync(dir).filter((f) => /^packer-plugin-xenserver_v[\d.]+_x5\.0_linux_amd64$/.test(f))
    : [];
  const bin = found.find((f) => fs.existsSync(path.join(dir, `${f}_SHA256SUM`)));
  if (!process.env.PACKER_PLUGIN_PATH || !bin) {
    throw new MissingToolError(
      "packer-plugin-xenserver",
      `No packer-plugin-xenserver_v<version>_x5.0_linux_amd64 (with its _SHA256SUM file) in ${dir || "$PACKER_PLUGIN_PATH (unset)"}. ` +
        "tools/bootstrap.sh builds it from github.com/vatesfr/packer-plugin-xenserver when the Go module proxy serves that module; see docs in README 'Toolchain'.",
    );
  }
  return path.join(dir, bin);
}

describe("xenserver-iso template with the XCP-ng plugin (integ)", function () {
  this.timeout(120_000);

  const env = {
    ...process.env,
    CHECKPOINT_DISABLE: "1",
    PKR_VAR_pool_url: "https://xcp-pool-1.example.org",
    PKR_VAR_pool_username: "root",
    PKR_VAR_pool_password: "not-a-real-password",
    PKR_VAR_build_password: "not-a-real-build-password",
    PKR_VAR_build_id: "integ-1",
  };
  // The var files' "file:<SHA256SUMS URL>" checksums are fetched by the plugin's Prepare (packer-plugin-sdk
  // ISOConfig), which needs the download site; validation here uses a literal checksum (-var beats -var-file).
  const offline = ["-var", `iso_checksum=sha256:${"0".repeat(64)}`];

  it("the plugin is installed where Packer looks (no packer init)", () => {
    const bin = installedPlugin();
    expect(fs.statSync(bin).mode & 0o111).to.not.equal(0);
  });

  for (const osName of OSES) {
    const varFile = path.join(PACKER_DIR, "os_pkrvars", `${osName}.pkrvars.hcl`);
    const family = osName.split("-")[0]!;

    it(`${osName}: packer validate accepts the template with the plugin loaded`, async () => {
      installedPlugin();
      const r = await run(
        "packer",
        [
          "validate",
          ...offline,
          `-var-file=${varFile}`,
          "-var",
          `http_directory=${path.join(PACKER_DIR, family, "http")}`,
          TEMPLATE,
        ],
        { env },
      );
      expect(r.code, r.stdout + r.stderr).to.equal(0);
    });

    it(`${osName}: packer inspect lists the xenserver-iso source and the provisioners`, async () => {
      installedPlugin();
      const r = await run("packer", ["inspect", `-var-file=${varFile}`, TEMPLATE], { env });
      expect(r.code, r.stdout + r.stderr).to.equal(0);
      expect(r.stdout).to.match(/xenserver-iso\.template/);
      expect(r.stdout).to.match(/provisioners:[\s\S]*file[\s\S]*shell/);
    });
  }

  it("the plugin rejects a value outside its documented set (the check can fail)", async () => {
    installedPlugin();
    const dir = fs.mkdtempSync(path.join(PACKER_DIR, ".xenserver-integ-"));
    try {
      for (const f of fs.readdirSync(TEMPLATE)) fs.copyFileSync(path.join(TEMPLATE, f), path.join(dir, f));
      const src = path.join(dir, "source.pkr.hcl");
      fs.writeFileSync(
        src,
        fs.readFileSync(src, "utf8").replace('keep_vm          = "on_success"', 'keep_vm = "sometimes"'),
      );
      const r = await run(
        "packer",
        [
          "validate",
          ...offline,
          `-var-file=${path.join(PACKER_DIR, "os_pkrvars/debian-12.pkrvars.hcl")}`,
          "-var",
          `http_directory=${path.join(PACKER_DIR, "debian/http")}`,
          dir,
        ],
        { env },
      );
      expect(r.code).to.not.equal(0);
      expect(r.stdout + r.stderr).to.match(/keep_vm must be one of/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
