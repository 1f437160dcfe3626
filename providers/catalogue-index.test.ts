import { expect } from "chai";
import { buildCatalogue, type IndexEntry } from "./catalogue-index";

const entry = (template: string, exportedAt: string, key = `${template}/${exportedAt}.xva`): IndexEntry => ({
  template,
  os: "debian",
  version: "12",
  key,
  manifestKey: key.replace(/\.xva$/, ".manifest.json"),
  sha256: `sha-${key}`,
  sizeBytes: 1,
  buildId: `b-${exportedAt}`,
  exportedAt,
});

describe("catalogue index document", () => {
  const now = new Date("2026-02-02T00:00:00Z");
  const cases: ReadonlyArray<{
    when: string;
    entries: IndexEntry[];
    order: string[];
    latest: Record<string, string>;
  }> = [
    { when: "empty", entries: [], order: [], latest: {} },
    {
      when: "sorted by template, then export time; latest is the newest of each",
      entries: [entry("b", "2"), entry("a", "3"), entry("a", "1"), entry("b", "1")],
      order: ["a/1.xva", "a/3.xva", "b/1.xva", "b/2.xva"],
      latest: { a: "a/3.xva", b: "b/2.xva" },
    },
  ];
  for (const c of cases) {
    it(c.when, () => {
      const doc = buildCatalogue(c.entries, now);
      expect(doc.schema).to.equal("xcpng-templates/index@1");
      expect(doc.updatedAt).to.equal(now.toISOString());
      expect(doc.artifacts.map((a) => a.key)).to.deep.equal(c.order);
      expect(Object.fromEntries(Object.entries(doc.latest).map(([t, l]) => [t, l.key]))).to.deep.equal(
        c.latest,
      );
    });
  }
});
