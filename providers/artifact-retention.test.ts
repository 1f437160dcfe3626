import { expect } from "chai";
import fc from "fast-check";
import { planRetention, type RetainedArtifact } from "./artifact-retention";

const artifact = (n: number): RetainedArtifact => ({
  key: `debian/12/2026010${n}T000000Z/t.xva`,
  manifestKey: `debian/12/2026010${n}T000000Z/t.manifest.json`,
  sha256: "0".repeat(64),
  sizeBytes: n,
  buildId: `b${n}`,
  exportedAt: `2026-01-0${n}T00:00:00.000Z`,
});

describe("planRetention", () => {
  it("keeps the newest retention-1 earlier artifacts and prunes the rest", () => {
    const plan = planRetention("current.xva", [artifact(1), artifact(3), artifact(2)], 3);
    expect(plan.kept.map((a) => a.buildId)).to.deep.equal(["b3", "b2"]);
    expect(plan.pruned.map((a) => a.buildId)).to.deep.equal(["b1"]);
  });

  it("retention 1 keeps only the current artifact", () => {
    const plan = planRetention("current.xva", [artifact(1), artifact(2)], 1);
    expect(plan.kept).to.deep.equal([]);
    expect(plan.pruned).to.have.length(2);
  });

  it("never lists the current key as an earlier artifact, nor a key twice", () => {
    const a2 = artifact(2);
    const plan = planRetention(a2.key, [artifact(1), a2, artifact(1)], 5);
    expect(plan.kept.map((a) => a.key)).to.deep.equal([artifact(1).key]);
    expect(plan.pruned).to.deep.equal([]);
  });

  it("rejects a retention below 1, saying what it got", () => {
    expect(() => planRetention("k", [], 0)).to.throw(RangeError, /integer >= 1, but 0/);
  });

  it("partitions the distinct candidates: kept + pruned = all, kept bounded, kept newer than pruned (property)", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 9 })),
        fc.integer({ min: 1, max: 12 }),
        (ns, retention) => {
          const plan = planRetention("current.xva", ns.map(artifact), retention);
          expect(plan.kept.length).to.equal(Math.min(ns.length, retention - 1));
          expect(plan.kept.length + plan.pruned.length).to.equal(ns.length);
          const oldestKept = plan.kept.at(-1)?.exportedAt;
          for (const p of plan.pruned) if (oldestKept) expect(p.exportedAt < oldestKept).to.equal(true);
        },
      ),
    );
  });
});
