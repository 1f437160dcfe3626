import { expect } from "chai";
import type { LifecycleRule } from "@aws-sdk/client-s3";
import { mergeLifecycleRules, ourRuleIds, ourRules } from "./bucket-settings";

const owners: LifecycleRule = {
  ID: "owner-archive",
  Status: "Enabled",
  Filter: { Prefix: "logs/" },
  Expiration: { Days: 30 },
};
const otherStack = ourRules("prod");

describe("bucket settings: lifecycle rules beside the owner's", () => {
  it("scope the stack's rules to its prefix, under ids of its own", () => {
    const r = ourRules("dev");
    expect(r.map((x) => x.ID)).to.deep.equal(Object.values(ourRuleIds("dev")));
    for (const x of r) expect(x.Filter).to.deep.equal({ Prefix: "dev/" });
    expect(r[0]?.AbortIncompleteMultipartUpload?.DaysAfterInitiation).to.be.a("number");
    expect(r[1]?.NoncurrentVersionExpiration?.NoncurrentDays).to.be.a("number");
    expect(ourRules("")[0]?.Filter).to.deep.equal({ Prefix: "" });
  });

  const cases: ReadonlyArray<{
    when: string;
    existing: LifecycleRule[];
    prefix: string;
    ours: LifecycleRule[];
    ids: (string | undefined)[];
  }> = [
    {
      when: "added beside the owner's and another stack's rules, which stay first and unchanged",
      existing: [owners, ...otherStack],
      prefix: "dev",
      ours: ourRules("dev"),
      ids: ["owner-archive", ...Object.values(ourRuleIds("prod")), ...Object.values(ourRuleIds("dev"))],
    },
    {
      when: "an earlier copy of the stack's rules is replaced, not doubled",
      existing: [...ourRules("dev"), owners],
      prefix: "dev",
      ours: ourRules("dev"),
      ids: ["owner-archive", ...Object.values(ourRuleIds("dev"))],
    },
    {
      when: "taken out, every other rule kept",
      existing: [owners, ...ourRules("dev"), ...otherStack],
      prefix: "dev",
      ours: [],
      ids: ["owner-archive", ...Object.values(ourRuleIds("prod"))],
    },
    {
      when: "a rule without an id is never taken for ours",
      existing: [{ Status: "Enabled", Filter: { Prefix: "" }, Expiration: { Days: 1 } }],
      prefix: "dev",
      ours: [],
      ids: [undefined],
    },
  ];
  for (const c of cases) {
    it(c.when, () => {
      const merged = mergeLifecycleRules(c.existing, c.prefix, c.ours);
      expect(merged.map((r) => r.ID)).to.deep.equal(c.ids);
      const kept = merged.find((r) => r.ID === "owner-archive");
      if (kept) expect(kept).to.equal(owners);
    });
  }
});
