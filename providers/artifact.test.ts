import { expect } from "chai";
import { UNKNOWN } from "./dynamic/provider-code";
import type { RetainedArtifact } from "./stored-artifact";
import type { Stray } from "./artifact-sweep";
import {
  ArtifactProvider,
  needsExport,
  historyAfter,
  type ArtifactInputs,
  type ArtifactOutputs,
} from "./artifact";

const inputs: ArtifactInputs = {
  pool: { url: "https://pool.test", username: "root", insecureSkipVerify: false },
  store: {
    region: "us-east-1",
    endpoint: "http://s3.test",
    forcePathStyle: true,
    bucket: "b1",
    prefix: "st",
    stack: "st",
  },
  templateUuid: "u-1",
  templateName: "debian-12",
  os: "debian",
  version: "12",
  virtualSizeBytes: 2 ** 32,
  facts: {
    buildId: "b1",
    sourceHash: "h",
    toolVersions: "packer 1.9.5",
    packerVersion: "1.9.5",
    buildDurationSeconds: 60,
    poolOs: "debian 12",
  },
};
const outputs: ArtifactOutputs = {
  ...inputs,
  key: "debian/12/20260101T000000Z/debian-12.xva",
  manifestKey: "debian/12/20260101T000000Z/debian-12.manifest.json",
  sha256: "0".repeat(64),
  sizeBytes: 1000,
  etag: '"e"',
  exportedAt: "2026-01-01T00:00:00.000Z",
  xvaOs: "debian 12",
  chunksVerified: 3,
  previous: [],
  pruned: [],
};

/** The provider with no store behind it: the diff's stray listing answers from the test. */
class ArtifactProviderWithStrays extends ArtifactProvider {
  constructor(private readonly leftovers: Stray[] = []) {
    super();
  }
  protected override strays(): Promise<Stray[]> {
    return Promise.resolve(this.leftovers);
  }
}

describe("artifact: when to export again", () => {
  const cases: ReadonlyArray<{
    when: string;
    olds: ArtifactOutputs;
    news: ArtifactInputs;
    exportAgain: boolean;
  }> = [
    { when: "nothing changed", olds: outputs, news: inputs, exportAgain: false },
    {
      when: "another template (new build)",
      olds: outputs,
      news: { ...inputs, templateUuid: "u-2" },
      exportAgain: true,
    },
    {
      when: "the template uuid is unknown in preview",
      olds: outputs,
      news: { ...inputs, templateUuid: UNKNOWN },
      exportAgain: false,
    },
    { when: "renamed", olds: outputs, news: { ...inputs, templateName: "debian-12-b" }, exportAgain: true },
    {
      when: "the stored object went missing",
      olds: { ...outputs, missing: true },
      news: inputs,
      exportAgain: true,
    },
    {
      when: "only pool settings changed",
      olds: outputs,
      news: { ...inputs, pool: { ...inputs.pool, insecureSkipVerify: true } },
      exportAgain: false,
    },
  ];
  for (const c of cases) it(c.when, () => expect(needsExport(c.olds, c.news)).to.equal(c.exportAgain));
});

describe("artifact: diff", () => {
  const p = new ArtifactProviderWithStrays();
  const cases: ReadonlyArray<{
    when: string;
    olds?: ArtifactOutputs;
    news: ArtifactInputs;
    changes: boolean;
    replaces: string[];
  }> = [
    { when: "nothing changed", news: inputs, changes: false, replaces: [] },
    {
      when: "a new template: update (retention keeps the old one)",
      news: { ...inputs, templateUuid: "u-2" },
      changes: true,
      replaces: [],
    },
    {
      when: "another bucket: replace",
      news: { ...inputs, store: { ...inputs.store, bucket: "b2" } },
      changes: true,
      replaces: ["store"],
    },
    {
      when: "another endpoint: replace",
      news: { ...inputs, store: { ...inputs.store, endpoint: "http://other" } },
      changes: true,
      replaces: ["store"],
    },
    {
      when: "another region or CA (same bucket): updated in place, objects stay",
      news: { ...inputs, store: { ...inputs.store, region: "eu-west-1" } },
      changes: true,
      replaces: [],
    },
    {
      when: "facts unknown in preview: update",
      news: { ...inputs, facts: { ...inputs.facts, buildId: UNKNOWN } },
      changes: true,
      replaces: [],
    },
    {
      when: "an earlier artifact went missing: update (removes its manifest)",
      olds: {
        ...outputs,
        previous: [
          {
            key: "k",
            manifestKey: "m",
            sha256: "s",
            sizeBytes: 1,
            buildId: "b0",
            exportedAt: "t",
            missing: true,
          },
        ],
      },
      news: inputs,
      changes: true,
      replaces: [],
    },
  ];
  for (const c of cases) {
    it(c.when, async () => {
      const d = await p.diff(outputs.key, c.olds ?? outputs, c.news);
      expect(d.changes).to.equal(c.changes);
      expect(d.replaces).to.deep.equal(c.replaces);
    });
  }
});

describe("artifact: leftovers of a failed export", () => {
  it("make an otherwise unchanged artifact an update, so the next up removes them", async () => {
    const p = new ArtifactProviderWithStrays([
      { kind: "object", key: "st/debian/12/20260101T000001Z/debian-12.xva" },
    ]);
    const d = await p.diff(outputs.key, outputs, inputs);
    expect(d.changes).to.equal(true);
    expect(d.replaces).to.deep.equal([]);
  });
});

describe("artifact: history after an update (publication decides what stays)", () => {
  const a = (n: number, extra: Partial<RetainedArtifact> = {}): RetainedArtifact => ({
    key: `k${n}.xva`,
    manifestKey: `k${n}.manifest.json`,
    sha256: `s${n}`,
    sizeBytes: n,
    buildId: `b${n}`,
    exportedAt: `2026-01-0${n}T00:00:00.000Z`,
    ...extra,
  });
  const current = {
    ...outputs,
    key: "k5.xva",
    manifestKey: "k5.manifest.json",
    exportedAt: "2026-01-05T00:00:00.000Z",
  };
  const cases: ReadonlyArray<{
    when: string;
    olds: ArtifactOutputs;
    currentKey: string;
    exported: boolean;
    previous: string[];
    leftovers: string[];
  }> = [
    {
      when: "a new export keeps the old current first, then every earlier one",
      olds: { ...current, previous: [a(4), a(3)] },
      currentKey: "k6.xva",
      exported: true,
      previous: ["k5.xva", "k4.xva", "k3.xva"],
      leftovers: [],
    },
    {
      when: "no export: the history stays",
      olds: { ...current, previous: [a(4)] },
      currentKey: "k5.xva",
      exported: false,
      previous: ["k4.xva"],
      leftovers: [],
    },
    {
      when: "an earlier artifact whose XVA is gone leaves the history; its manifest goes to the index",
      olds: { ...current, previous: [a(4, { missing: true }), a(3)] },
      currentKey: "k5.xva",
      exported: false,
      previous: ["k3.xva"],
      leftovers: ["k4.xva"],
    },
    {
      when: "a missing current replaced by a new export goes to the index, not to the history",
      olds: { ...current, missing: true, previous: [a(4)] },
      currentKey: "k6.xva",
      exported: true,
      previous: ["k4.xva"],
      leftovers: ["k5.xva"],
    },
    {
      when: "what an earlier update handed over stays handed over (until it is gone)",
      olds: { ...current, previous: [], pruned: [a(1)] },
      currentKey: "k5.xva",
      exported: false,
      previous: [],
      leftovers: ["k1.xva"],
    },
  ];
  for (const c of cases) {
    it(c.when, () => {
      const r = historyAfter(c.olds, c.currentKey, c.exported);
      expect(r.previous.map((x) => x.key)).to.deep.equal(c.previous);
      expect(r.leftovers.map((x) => x.key)).to.deep.equal(c.leftovers);
    });
  }
});
