import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { guestCollectCommand } from "../lib/sbom/guest";
import { PACKER_DIR } from "./testing/paths";

/**
 * The pool path collects the package database in the guest with the command lib/sbom reads back: HCL cannot call
 * the library, so the command is written out in packer/xenserver-iso/build.pkr.hcl, and this keeps the two equal.
 */
describe("pool path: the guest's package database is collected with lib/sbom's command", () => {
  const hcl = fs.readFileSync(path.join(PACKER_DIR, "xenserver-iso", "build.pkr.hcl"), "utf8");

  /** The value of a quoted HCL string attribute, its escapes undone (\" \\ and $${, the only ones used). */
  const hclString = (name: string): string => {
    const m = new RegExp(`^\\s*${name}\\s*=\\s*"((?:[^"\\\\]|\\\\.)*)"\\s*$`, "m").exec(hcl);
    expect(m, `${name} in build.pkr.hcl`).to.not.equal(null);
    return (m?.[1] ?? "").replace(/\\(["\\])/g, "$1").replace(/\$\$\{/g, "${");
  };

  it("the collect command is guestCollectCommand's, character for character", () => {
    expect(hclString("package_db_collect")).to.equal(guestCollectCommand("/tmp/xcpng-package-db.tar.gz"));
  });

  it("collects before cleanup, downloads the archive, then makes the SBOM on the runner", () => {
    const order = [
      /inline\s*=\s*\[local\.package_db_collect\]/,
      /direction\s*=\s*"download"/,
      /common\/cleanup\.sh/,
      /write-sbom\.ts\\" --guest-archive/,
    ].map((re) => hcl.search(re));
    expect(
      order.every((i) => i >= 0),
      `${order.join(", ")}`,
    ).to.equal(true);
    expect([...order].sort((a, b) => a - b)).to.deep.equal(order);
    expect(hcl.match(/cleanup\.sh/g), "cleanup runs once, after the collection").to.have.length(1);
  });
});
