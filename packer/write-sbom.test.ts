import { expect } from "chai";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { guestCollectCommand } from "../lib/sbom/guest";
import { cycloneDx16Errors } from "../lib/sbom/testing";
import { writeSbom } from "./write-sbom";

const ROOTFS = path.join(__dirname, "..", "lib", "sbom", "testdata", "bookworm-rootfs");
const BUILT_AT = new Date("2026-03-04T05:06:07Z");

describe("write-sbom: the build's SBOM step, local path and pool path", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "write-sbom-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("writes a schema-valid CycloneDX 1.6 SBOM of the root filesystem, with the OS it detected", async () => {
    const out = path.join(dir, "b", "sbom.cdx.json");
    const made = await writeSbom({
      source: { rootfs: ROOTFS },
      template: "debian-12",
      buildId: "b1",
      builtAt: BUILT_AT,
      out,
    });
    expect(made.packages).to.equal(19);
    expect(made.osDetected).to.equal("debian 12");
    const json = fs.readFileSync(out, "utf8");
    expect(json).to.equal(made.json);
    expect(await cycloneDx16Errors(json)).to.equal(null);
    expect(fs.readdirSync(path.dirname(out)), "no temporary file left").to.deep.equal(["sbom.cdx.json"]);
  });

  it("the pool path's guest archive gives the same document, byte for byte", async () => {
    const archive = path.join(dir, "db.tar.gz");
    execFileSync("sh", ["-c", guestCollectCommand(archive, ROOTFS)]);
    const subject = { template: "debian-12", buildId: "b1", builtAt: BUILT_AT };
    const fromGuest = await writeSbom({ ...subject, source: { guestArchive: archive }, out: undefined });
    const fromRootfs = await writeSbom({ ...subject, source: { rootfs: ROOTFS }, out: undefined });
    expect(fromGuest.json).to.equal(fromRootfs.json);
    expect(fs.readdirSync(dir)).to.deep.equal(["db.tar.gz"]);
  });
});
