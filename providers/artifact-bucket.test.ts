import { expect } from "chai";
import { UNKNOWN } from "./dynamic/provider-code";
import { ArtifactBucketProvider, type BucketInputs, type BucketOutputs } from "./artifact-bucket";

const inputs: BucketInputs = {
  bucket: "golden",
  region: "us-east-1",
  endpoint: "http://s3.test",
  forcePathStyle: true,
  forceDestroy: false,
  prefix: "dev",
  stack: "dev",
  manageAdopted: false,
};
const outputs: BucketOutputs = {
  ...inputs,
  adopted: false,
  managed: true,
  versioning: "enabled",
  encryption: "enabled",
  lifecycle: "enabled",
};

describe("artifact bucket: diff", () => {
  const p = new ArtifactBucketProvider();
  const cases: ReadonlyArray<{ when: string; news: BucketInputs; changes: boolean; replaces: string[] }> = [
    { when: "nothing changed", news: inputs, changes: false, replaces: [] },
    { when: "another bucket", news: { ...inputs, bucket: "other" }, changes: true, replaces: ["bucket"] },
    { when: "another region", news: { ...inputs, region: "eu-west-1" }, changes: true, replaces: ["region"] },
    {
      when: "another endpoint",
      news: { ...inputs, endpoint: "http://x" },
      changes: true,
      replaces: ["endpoint"],
    },
    { when: "forceDestroy turned on", news: { ...inputs, forceDestroy: true }, changes: true, replaces: [] },
    { when: "a CA added", news: { ...inputs, caCertificate: "pem" }, changes: true, replaces: [] },
    { when: "another prefix", news: { ...inputs, prefix: "prod" }, changes: true, replaces: [] },
    {
      when: "management of an adopted bucket asked for",
      news: { ...inputs, manageAdopted: true },
      changes: true,
      replaces: [],
    },
  ];
  for (const c of cases) {
    it(c.when, async () => {
      const d = await p.diff("golden", outputs, c.news);
      expect(d.changes).to.equal(c.changes);
      expect(d.replaces).to.deep.equal(c.replaces);
    });
  }
});

describe("artifact bucket: check", () => {
  const p = new ArtifactBucketProvider();
  const cases: ReadonlyArray<{
    when: string;
    news: Partial<BucketInputs>;
    failures: Record<string, RegExp>;
  }> = [
    { when: "valid", news: inputs, failures: {} },
    { when: "unknown bucket name in preview", news: { ...inputs, bucket: UNKNOWN }, failures: {} },
    {
      when: "a bad bucket name",
      news: { ...inputs, bucket: "Bad_Name" },
      failures: { bucket: /"Bad_Name" was provided/ },
    },
    { when: "no region", news: { ...inputs, region: "" }, failures: { region: /required/ } },
    {
      when: "a prefix with a trailing slash",
      news: { ...inputs, prefix: "dev/" },
      failures: { prefix: /"dev\/" was provided/ },
    },
    {
      when: "an endpoint that is not http(s)",
      news: { ...inputs, endpoint: "ftp://x" },
      failures: { endpoint: /http\(s\) URL/ },
    },
  ];
  for (const c of cases) {
    it(c.when, async () => {
      const r = await p.check(inputs, c.news as BucketInputs);
      const got = Object.fromEntries((r.failures ?? []).map((f) => [f.property, f.reason]));
      expect(Object.keys(got).sort()).to.deep.equal(Object.keys(c.failures).sort());
      for (const [k, re] of Object.entries(c.failures)) expect(got[k]).to.match(re);
    });
  }

  it("fills defaults: path-style with an endpoint, no forced destroy", async () => {
    const r = await p.check(inputs, {
      bucket: "golden",
      region: "us-east-1",
      endpoint: "http://s3.test",
    } as BucketInputs);
    expect(r.inputs).to.deep.include({
      forcePathStyle: true,
      forceDestroy: false,
      manageAdopted: false,
      prefix: "",
    });
  });
});
