import { expect } from "chai";
import { run } from "../tests/support/tools";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PACKER_DIR } from "./testing/paths";

// packer/local/apt-mirror.sh reads the Debian mirrors from an apt configuration (APT_ETC points it at a
// fixture instead of /etc/apt): the local build never hard-codes a mirror.

describe("packer/local/apt-mirror.sh (the local build's mirror comes from the apt configuration)", () => {
  let etc: string;
  beforeEach(() => {
    etc = fs.mkdtempSync(path.join(os.tmpdir(), "xcpng-apt-"));
    fs.mkdirSync(path.join(etc, "sources.list.d"));
  });
  afterEach(() => fs.rmSync(etc, { recursive: true, force: true }));

  const mirrors = (env: Record<string, string> = {}) =>
    run("/bin/bash", [path.join(PACKER_DIR, "local/apt-mirror.sh")], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", APT_ETC: etc, ...env },
    });

  it("reads deb822 .sources files, skipping disabled entries and deb-src", async () => {
    fs.writeFileSync(
      path.join(etc, "sources.list.d/debian.sources"),
      [
        "Types: deb-src",
        "URIs: http://src.example.org/debian",
        "Suites: bookworm",
        "Components: main",
        "",
        "Types: deb",
        "URIs: http://disabled.example.org/debian",
        "Suites: bookworm",
        "Enabled: no",
        "",
        "# a comment between paragraphs",
        "Types: deb",
        "URIs: http://mirror.example.org/debian/",
        "Suites: bookworm bookworm-updates",
        "Components: main",
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg",
        "",
        "Types: deb",
        "URIs: http://security.example.org/debian-security",
        "Suites: bookworm-security",
        "Components: main",
        "",
      ].join("\n"),
    );
    const r = await mirrors();
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal(
      "DEBIAN_MIRROR=http://mirror.example.org/debian\nDEBIAN_SECURITY_MIRROR=http://security.example.org/debian-security\n",
    );
  });

  it("reads one-line sources.list entries, options included", async () => {
    fs.writeFileSync(
      path.join(etc, "sources.list"),
      [
        "# deb http://commented.example.org/debian bookworm main",
        "deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] https://m.example.org/debian trixie main",
        "deb https://s.example.org/debian-security trixie-security main",
      ].join("\n"),
    );
    const r = await mirrors();
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include("DEBIAN_MIRROR=https://m.example.org/debian\n");
    expect(r.stdout).to.include("DEBIAN_SECURITY_MIRROR=https://s.example.org/debian-security\n");
  });

  it("says what is missing, and how to fix it, when only Ubuntu archives are configured", async () => {
    fs.writeFileSync(
      path.join(etc, "sources.list.d/ubuntu.sources"),
      "Types: deb\nURIs: http://archive.ubuntu.com/ubuntu\nSuites: noble noble-updates\nComponents: main\n",
    );
    const r = await mirrors();
    expect(r.code).to.equal(1);
    expect(r.stdout).to.equal("");
    expect(r.stderr).to.match(/has no entry for a Debian archive .* and a Debian security archive/);
    expect(r.stderr).to.match(/XCPNG_DEBIAN_MIRROR/);
  });

  it("lets XCPNG_DEBIAN_MIRROR and XCPNG_DEBIAN_SECURITY_MIRROR override the configuration", async () => {
    const r = await mirrors({
      XCPNG_DEBIAN_MIRROR: "http://override.example.org/debian",
      XCPNG_DEBIAN_SECURITY_MIRROR: "http://override.example.org/debian-security",
    });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include("DEBIAN_MIRROR=http://override.example.org/debian\n");
  });
});
