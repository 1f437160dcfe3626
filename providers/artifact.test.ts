import { expect } from "chai";
import { UNKNOWN } from "./dynamic/provider-code";
import {
  ArtifactProvider,
  artifactKeys,
  needsExport,
  type ArtifactInputs,
  type ArtifactOutputs,
} from "./artifact";

const inputs: ArtifactInputs = {
  pool: { url: "https://pool.test", username: "root", insecureSkipVerify: false },
  store: { region: "us-east-1", endpoint: "http://s3.test", forcePathStyle: true, bucket: "b1" },
  templateUuid: "u-1",
  templateName: "debian-12",
  os: "debian",
  version: "12",
  virtualSizeBytes: 2 ** 32,
  retention: 3,
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
};

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
    { when: "only retention changed", olds: outputs, news: { ...inputs, retention: 1 }, exportAgain: false },
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
  const p = new ArtifactProvider();
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
      when: "retention lowered: update (prunes)",
      news: { ...inputs, retention: 1 },
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

describe("artifact: key layout", () => {
  it("puts the XVA and its manifest under <os>/<version>/<UTC timestamp>/", () => {
    const k = artifactKeys("ubuntu", "24.04", "ubuntu-24.04", new Date("2026-03-04T05:06:07.890Z"));
    expect(k).to.deep.equal({
      key: "ubuntu/24.04/20260304T050607Z/ubuntu-24.04.xva",
      manifestKey: "ubuntu/24.04/20260304T050607Z/ubuntu-24.04.manifest.json",
      timestamp: "20260304T050607Z",
    });
  });
});
