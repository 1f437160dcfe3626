import { expect } from "chai";
import type { AcceptanceSummary } from "./catalogue-document";
import {
  buildCatalogue,
  deletable,
  revocationDates,
  type PublishedBuild,
  type TemplatePublication,
} from "./catalogue-build";

const accepted: AcceptanceSummary = {
  passed: true,
  at: "t",
  place: "qemu-tcg",
  bootToSshSeconds: 1,
  totalSeconds: 2,
  checks: [],
};
const build = (t: string, n: number, extra: Partial<PublishedBuild> = {}): PublishedBuild => ({
  key: `p/${t}/${n}.xva`,
  manifestKey: `p/${t}/${n}.manifest.json`,
  sha256: `sha-${t}-${n}`,
  sizeBytes: n,
  buildId: `${t}-b${n}`,
  exportedAt: `2026-01-0${n}T00:00:00.000Z`,
  ...extra,
});
const pub = (
  template: string,
  builds: PublishedBuild[],
  over: Partial<TemplatePublication> = {},
): TemplatePublication => ({
  template,
  os: "debian",
  version: "12",
  builds,
  channels: {},
  revoked: [],
  ...over,
});
const now = new Date("2026-02-02T00:00:00Z");

describe("catalogue document (index@2)", () => {
  it("lists every build sorted by template then export time, with `latest` the newest of each", () => {
    const doc = buildCatalogue(
      [pub("b", [build("b", 2), build("b", 1)]), pub("a", [build("a", 3), build("a", 1)])],
      { stack: "dev", revokedAt: {}, now },
    );
    expect(doc.schema).to.equal("xcpng-templates/index@2");
    expect(doc.stack).to.equal("dev");
    expect(doc.updatedAt).to.equal(now.toISOString());
    expect(doc.artifacts.map((a) => a.key)).to.deep.equal([
      "p/a/1.xva",
      "p/a/3.xva",
      "p/b/1.xva",
      "p/b/2.xva",
    ]);
    expect(doc.latest.a?.key).to.equal("p/a/3.xva");
    expect(doc.latest.b?.key).to.equal("p/b/2.xva");
  });

  it("points each channel at its build, with what a consumer needs to fetch and check it", () => {
    const doc = buildCatalogue(
      [
        pub("a", [build("a", 2), build("a", 1, { acceptance: accepted })], {
          channels: { candidate: "a-b2", stable: "a-b1" },
        }),
      ],
      { stack: "dev", revokedAt: {}, now },
    );
    expect(doc.channels.a).to.deep.equal({
      candidate: { buildId: "a-b2", key: "p/a/2.xva", manifestKey: "p/a/2.manifest.json", sha256: "sha-a-2" },
      stable: { buildId: "a-b1", key: "p/a/1.xva", manifestKey: "p/a/1.manifest.json", sha256: "sha-a-1" },
    });
    expect(doc.artifacts.find((x) => x.buildId === "a-b1")?.acceptance).to.deep.equal(accepted);
  });

  it("marks a revoked build with its reason and the date it was first published", () => {
    const doc = buildCatalogue(
      [pub("a", [build("a", 1)], { revoked: [{ buildId: "a-b1", reason: "CVE-2026-1" }] })],
      { stack: "dev", revokedAt: { "a-b1": "2026-01-15T00:00:00.000Z" }, now },
    );
    expect(doc.artifacts[0]?.revoked).to.deep.equal({ reason: "CVE-2026-1", at: "2026-01-15T00:00:00.000Z" });
    expect(doc.channels.a).to.deep.equal({});
  });

  it("dates a revocation when first published and keeps that date afterwards", () => {
    const t = [pub("a", [build("a", 1)], { revoked: [{ buildId: "a-b1", reason: "r" }] })];
    const first = revocationDates(t, {}, now);
    expect(first).to.deep.equal({ "a-b1": now.toISOString() });
    expect(revocationDates(t, first, new Date("2027-01-01T00:00:00Z"))).to.deep.equal(first);
    expect(
      revocationDates([pub("a", [build("a", 1)])], first, now),
      "a lifted revocation is forgotten",
    ).to.deep.equal({});
  });

  it("never deletes what the index lists, nor the same artifact twice", () => {
    const listed = [build("a", 2)];
    const prune = [build("a", 1), build("a", 2), build("a", 1)];
    expect(deletable(prune, listed).map((a) => a.key)).to.deep.equal(["p/a/1.xva"]);
  });
});
