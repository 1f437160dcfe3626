import { expect } from "chai";
import { channelBuild } from "./golden-template";
import type { PublicationPlan } from "./publication-plan";

const b = (n: number) => ({
  key: `k${n}.xva`,
  manifestKey: `k${n}.manifest.json`,
  sha256: `${n}`.repeat(64).slice(0, 64),
  sizeBytes: n * 100,
  buildId: `b${n}`,
  exportedAt: `2026-01-0${n}T00:00:00.000Z`,
});

describe("golden template: what a fleet replica is given", () => {
  const plan: PublicationPlan = {
    channels: { candidate: "b2", stable: "b1" },
    kept: [b(2), b(1)],
    prune: [],
    revoked: [],
  };
  const cases: ReadonlyArray<{
    when: string;
    plan: PublicationPlan;
    channel: "stable" | "candidate";
    key: string | null;
  }> = [
    { when: "the stable build", plan, channel: "stable", key: "k1.xva" },
    { when: "the candidate build", plan, channel: "candidate", key: "k2.xva" },
    {
      when: "a channel without a build: null, nothing placed",
      plan: { ...plan, channels: {} },
      channel: "stable",
      key: null,
    },
  ];
  for (const c of cases) {
    it(c.when, () => {
      const got = channelBuild(c.plan, c.channel);
      expect(got?.key ?? null).to.equal(c.key);
      if (got) expect(got).to.have.keys(["buildId", "key", "manifestKey", "sha256", "sizeBytes"]);
    });
  }
});
