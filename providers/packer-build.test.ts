import { expect } from "chai";
import fc from "fast-check";
import { RULES, satisfies } from "./config/rules";
import { UNKNOWN } from "./dynamic/provider-code";
import {
  PackerBuildProvider,
  mask,
  newBuildId,
  type PackerBuildInputs,
  type PackerBuildOutputs,
} from "./packer-build";

const inputs: PackerBuildInputs = {
  templateName: "debian-12",
  packerTemplate: "packer/local/debian12-local.pkr.hcl",
  sources: { "packer/common/harden_ssh.sh": "aa", "packer/local/debian12-local.pkr.hcl": "bb" },
  toolVersions: "packer 1.9.5, xenserver-plugin none",
  pool: { url: "https://pool.test", username: "root", insecureSkipVerify: false },
  tags: ["golden"],
};
const outputs: PackerBuildOutputs = {
  ...inputs,
  buildId: "20260101T000000Z-abcdef",
  durationSeconds: 100,
  packerVersion: "1.9.5",
  builtAt: "2026-01-01T00:00:00.000Z",
};

describe("packer build: diff", () => {
  const p = new PackerBuildProvider();
  const cases: ReadonlyArray<{
    when: string;
    news: PackerBuildInputs;
    changes: boolean;
    replaces: string[];
  }> = [
    { when: "nothing changed", news: inputs, changes: false, replaces: [] },
    {
      when: "the same sources listed in another order",
      news: {
        ...inputs,
        sources: { "packer/local/debian12-local.pkr.hcl": "bb", "packer/common/harden_ssh.sh": "aa" },
      },
      changes: false,
      replaces: [],
    },
    {
      when: "a source file changed: rebuild",
      news: { ...inputs, sources: { ...inputs.sources, "packer/common/harden_ssh.sh": "cc" } },
      changes: true,
      replaces: ["sources"],
    },
    {
      when: "tool versions changed: rebuild",
      news: { ...inputs, toolVersions: "packer 1.9.6" },
      changes: true,
      replaces: ["toolVersions"],
    },
    {
      when: "a var file added: rebuild",
      news: { ...inputs, varFile: "v.pkrvars.hcl" },
      changes: true,
      replaces: ["varFile"],
    },
    {
      when: "tags only: update, no rebuild",
      news: { ...inputs, tags: ["golden", "x"] },
      changes: true,
      replaces: [],
    },
    {
      when: "pool settings only: update, no rebuild",
      news: { ...inputs, pool: { ...inputs.pool, username: "builder" } },
      changes: true,
      replaces: [],
    },
    {
      when: "sources unknown: rebuild",
      news: { ...inputs, sources: UNKNOWN as never },
      changes: true,
      replaces: ["sources"],
    },
  ];
  for (const c of cases) {
    it(c.when, async () => {
      const d = await p.diff(outputs.buildId, outputs, c.news);
      expect(d.changes).to.equal(c.changes);
      expect(d.replaces).to.deep.equal(c.replaces);
    });
  }
});

describe("packer build: masking secrets in log lines", () => {
  const cases: ReadonlyArray<{ when: string; line: string; secrets: string[]; out: string }> = [
    { when: "no secret", line: "==> building", secrets: ["hunter22"], out: "==> building" },
    {
      when: "one occurrence",
      line: "password=hunter22 ok",
      secrets: ["hunter22"],
      out: "password=[secret] ok",
    },
    { when: "every occurrence", line: "hunter22/hunter22", secrets: ["hunter22"], out: "[secret]/[secret]" },
    {
      when: "several secrets",
      line: "key AKIA1234 secret sk-abcdef pw hunter22",
      secrets: ["sk-abcdef", "hunter22", "AKIA1234"],
      out: "key [secret] secret [secret] pw [secret]",
    },
  ];
  for (const c of cases) it(c.when, () => expect(mask(c.line, c.secrets)).to.equal(c.out));
});

describe("packer build: build ids", () => {
  it("satisfy the build-id rule that build.sh and the HCL enforce, for any time", () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date("2000-01-01"), max: new Date("2999-12-31"), noInvalidDate: true }),
        (d) => satisfies(RULES.buildId, newBuildId(d)),
      ),
    );
  });

  it("differ between two builds in the same second", () => {
    const at = new Date("2026-01-01T00:00:00Z");
    expect(newBuildId(at)).to.not.equal(newBuildId(at));
  });
});
