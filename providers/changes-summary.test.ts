import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { SbomDiff } from "../lib/sbom/diff";
import { appendChangesSummary, changesSummarySection } from "./changes-summary";

describe("changes summary: what changed in each build, for the CI job's summary", () => {
  const diff: SbomDiff = {
    added: [{ name: "curl", version: "7.88.1-10+deb12u14", arch: "amd64" }],
    removed: [],
    changed: [{ name: "libc6", arch: "amd64", from: "2.36-9+deb12u4", to: "2.36-9+deb12u7" }],
    unchanged: 222,
    before: 223,
    after: 224,
  };
  const base = { template: "debian-12", buildId: "b2", packages: 224, sbomAt: "s3://b/k.sbom.cdx.json" };

  it("a section with the changes since the stable build, as a table", () => {
    const md = changesSummarySection({ ...base, since: { buildId: "b1", channel: "stable", diff } });
    expect(md).to.match(
      /^### debian-12: build `b2`\n\n224 packages \(SBOM: `s3:\/\/b\/k\.sbom\.cdx\.json`\); since the stable build `b1`:/,
    );
    expect(md).to.include("**packages: 223 → 224 (1 added, 0 removed, 1 changed)**");
    expect(md).to.include("| added | curl | | 7.88.1-10+deb12u14 |");
    expect(md).to.include("| changed | libc6 | 2.36-9+deb12u4 | 2.36-9+deb12u7 |");
  });

  it("a section that says why there is nothing to compare with", () => {
    expect(changesSummarySection({ ...base, since: "no published catalogue yet" })).to.match(
      /224 packages .*; nothing to compare with: no published catalogue yet\.\n$/,
    );
  });

  it("appends to the file XCPNG_CHANGES_SUMMARY names, and to nothing without it", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "changes-summary-"));
    try {
      const file = path.join(dir, "changes.md");
      appendChangesSummary({ XCPNG_CHANGES_SUMMARY: file }, "one");
      appendChangesSummary({ XCPNG_CHANGES_SUMMARY: file }, "two");
      appendChangesSummary({}, "three");
      expect(fs.readFileSync(file, "utf8")).to.equal("one\ntwo\n");
      expect(fs.readdirSync(dir)).to.deep.equal(["changes.md"]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
