import { expect } from "chai";
import * as path from "node:path";
import { ValidationError } from "./errors";
import { parseStackConfig } from "./stack-config";

const ROOT = path.resolve(__dirname, "../..");
const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const base = (fleet: unknown, templateFleet?: unknown) => ({
  pool: { url: "https://build.example.org", username: "root" },
  s3: { endpoint: "https://s3.example.org", region: "eu-west-1", bucket: "golden" },
  templates: [
    {
      name: "debian-12",
      packerTemplate: "package.json",
      os: "debian",
      version: "12",
      ...(templateFleet !== undefined ? { fleet: templateFleet } : {}),
    },
  ],
  ...(fleet !== undefined ? { fleet } : {}),
});
const pools = [
  { name: "paris", url: "https://10.0.1.10", username: "root", certificateFingerprint: "ab".repeat(32) },
  { name: "lyon", url: "https://10.0.2.10", username: "root", caCertificate: pem, srUuid: "sr-1" },
];

function failures(raw: ReturnType<typeof base>): Record<string, string> {
  try {
    parseStackConfig(raw, ROOT);
  } catch (e) {
    expect(e).to.be.instanceOf(ValidationError);
    return Object.fromEntries((e as ValidationError).failures.map((f) => [f.property, f.reason]));
  }
  return {};
}

describe("stack config: the fleet", () => {
  it("is optional; with it, the stable build goes to every pool by default", () => {
    expect(parseStackConfig(base(undefined), ROOT).fleet).to.equal(undefined);
    const c = parseStackConfig(base({ pools }), ROOT);
    expect(c.fleet).to.deep.include({ poolRetention: 2, maxConcurrentImports: 2 });
    expect(c.fleet?.pools.map((p) => p.name)).to.deep.equal(["paris", "lyon"]);
    expect(
      c.fleet?.pools[0]?.certificateFingerprint,
      "a fleet pool may be pinned alone: no Packer there",
    ).to.equal("ab".repeat(32));
    expect(c.templates[0]?.fleet).to.deep.equal({ stable: ["paris", "lyon"], candidate: [] });
  });

  it("places channels where a template says", () => {
    const c = parseStackConfig(base({ pools }, { stable: ["paris"], candidate: ["lyon"] }), ROOT);
    expect(c.templates[0]?.fleet).to.deep.equal({ stable: ["paris"], candidate: ["lyon"] });
  });

  const cases: ReadonlyArray<{
    when: string;
    raw: ReturnType<typeof base>;
    failures: Record<string, RegExp>;
  }> = [
    {
      when: "the build pool listed as a fleet pool",
      raw: base({ pools: [{ ...pools[0], url: "https://build.example.org" }] }),
      failures: { "fleet.pools[0].url": /is the build pool/ },
    },
    {
      when: "two pools with one name",
      raw: base({ pools: [pools[0], { ...pools[1], name: "paris" }] }),
      failures: { "fleet.pools[1].name": /names another fleet pool/ },
    },
    {
      when: "a name that cannot be a config path",
      raw: base({ pools: [{ ...pools[0], name: "par.is" }] }),
      failures: { "fleet.pools[0].name": /"par\.is" was provided/ },
    },
    { when: "no pools", raw: base({ pools: [] }), failures: { "fleet.pools": /non-empty list/ } },
    {
      when: "a template placed on a pool the fleet has not",
      raw: base({ pools }, { stable: ["nice"] }),
      failures: { "templates[0].fleet.stable": /names no fleet pool: nice \(fleet pools: paris, lyon\)/ },
    },
    {
      when: "one pool under two channels of a template",
      raw: base({ pools }, { stable: ["paris"], candidate: ["paris"] }),
      failures: { "templates[0].fleet": /one channel of a template, but paris is under both/ },
    },
    {
      when: "a placement without a fleet",
      raw: base(undefined, { stable: ["paris"] }),
      failures: { "templates[0].fleet": /the stack has no fleet/ },
    },
  ];
  for (const c of cases) {
    it(`refuses ${c.when}, naming the property`, () => {
      const got = failures(c.raw);
      for (const [k, re] of Object.entries(c.failures))
        expect(got[k], `${k} in ${JSON.stringify(got)}`).to.match(re);
    });
  }
});
