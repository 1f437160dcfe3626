import { expect } from "chai";
import { strayKeys } from "./artifact-sweep";
import { artifactFileOf, artifactKeys, indexKey, pageKey, siblingKey, versionPrefix } from "./layout";

describe("S3 layout", () => {
  const at = new Date("2026-03-04T05:06:07.890Z");
  const cases: ReadonlyArray<{
    prefix: string;
    key: string;
    manifestKey: string;
    index: string;
    listing: string;
  }> = [
    {
      prefix: "prod",
      key: "prod/ubuntu/24.04/20260304T050607Z/ubuntu-24.04.xva",
      manifestKey: "prod/ubuntu/24.04/20260304T050607Z/ubuntu-24.04.manifest.json",
      index: "prod/index.json",
      listing: "prod/ubuntu/24.04/",
    },
    {
      prefix: "sites/paris",
      key: "sites/paris/ubuntu/24.04/20260304T050607Z/ubuntu-24.04.xva",
      manifestKey: "sites/paris/ubuntu/24.04/20260304T050607Z/ubuntu-24.04.manifest.json",
      index: "sites/paris/index.json",
      listing: "sites/paris/ubuntu/24.04/",
    },
    {
      prefix: "",
      key: "ubuntu/24.04/20260304T050607Z/ubuntu-24.04.xva",
      manifestKey: "ubuntu/24.04/20260304T050607Z/ubuntu-24.04.manifest.json",
      index: "index.json",
      listing: "ubuntu/24.04/",
    },
  ];
  for (const c of cases) {
    it(`prefix ${JSON.stringify(c.prefix)}: <prefix>/<os>/<version>/<UTC timestamp>/ and <prefix>/index.json`, () => {
      expect(artifactKeys(c.prefix, "ubuntu", "24.04", "ubuntu-24.04", at)).to.deep.equal({
        key: c.key,
        manifestKey: c.manifestKey,
        timestamp: "20260304T050607Z",
      });
      expect(indexKey(c.prefix)).to.equal(c.index);
      expect(pageKey(c.prefix)).to.equal(c.index.replace(/json$/, "html"));
      expect(siblingKey(c.key, "sbom")).to.equal(c.key.replace(/xva$/, "sbom.cdx.json"));
      expect(artifactFileOf(c.listing, "ubuntu-24.04", siblingKey(c.key, "sbom"))?.kind).to.equal("sbom");
      expect(versionPrefix(c.prefix, "ubuntu", "24.04")).to.equal(c.listing);
      expect(artifactFileOf(c.listing, "ubuntu-24.04", c.key)).to.deep.equal({
        timestamp: "20260304T050607Z",
        kind: "xva",
      });
      expect(artifactFileOf(c.listing, "ubuntu-24.04", c.manifestKey)?.kind).to.equal("manifest");
    });
  }

  it("recognises only the template's own files", () => {
    const l = "p/debian/12/";
    const cases: ReadonlyArray<[string, boolean]> = [
      ["p/debian/12/20260101T000000Z/debian-12.xva", true],
      ["p/debian/12/20260101T000000Z/debian-12.manifest.json", true],
      ["p/debian/12/20260101T000000Z/debian-12-b.xva", false],
      ["p/debian/12/20260101T000000Z/other.xva", false],
      ["p/debian/12/not-a-time/debian-12.xva", false],
      ["q/debian/12/20260101T000000Z/debian-12.xva", false],
      ["p/debian/12/20260101T000000Z/sub/debian-12.xva", false],
    ];
    for (const [key, mine] of cases)
      expect(artifactFileOf(l, "debian-12", key) !== undefined, key).to.equal(mine);
  });

  it("strays are the template's files no state knows", () => {
    const l = "p/debian/12/";
    const listed = [
      "p/debian/12/20260101T000000Z/debian-12.xva",
      "p/debian/12/20260101T000000Z/debian-12.manifest.json",
      "p/debian/12/20260102T000000Z/debian-12.xva",
      "p/debian/12/20260102T000000Z/other.xva",
    ];
    const known = new Set([
      "p/debian/12/20260101T000000Z/debian-12.xva",
      "p/debian/12/20260101T000000Z/debian-12.manifest.json",
    ]);
    expect(strayKeys(l, "debian-12", listed, known)).to.deep.equal([
      "p/debian/12/20260102T000000Z/debian-12.xva",
    ]);
  });

  it("the SBOM and console logs of a known artifact are its files, not strays; those of an unknown one are", () => {
    // Before: every file beside a known XVA but its manifest was a stray, so the next up's sweep deleted the SBOM
    // and the acceptance's console logs of every stored build.
    const l = "p/debian/12/";
    const known = new Set([
      "p/debian/12/20260101T000000Z/debian-12.xva",
      "p/debian/12/20260101T000000Z/debian-12.manifest.json",
    ]);
    const listed = [
      "p/debian/12/20260101T000000Z/debian-12.sbom.cdx.json",
      "p/debian/12/20260101T000000Z/debian-12.console-a.log",
      "p/debian/12/20260102T000000Z/debian-12.sbom.cdx.json",
      "p/debian/12/20260102T000000Z/debian-12.console-b.log",
    ];
    expect(strayKeys(l, "debian-12", listed, known)).to.deep.equal([
      "p/debian/12/20260102T000000Z/debian-12.sbom.cdx.json",
      "p/debian/12/20260102T000000Z/debian-12.console-b.log",
    ]);
  });
});
