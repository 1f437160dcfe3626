import { expect } from "chai";
import fc from "fast-check";
import type { AcceptanceSummary } from "../providers/catalogue-document";
import {
  ChannelPolicyError,
  planPublication,
  type BuildRecord,
  type ChannelPolicy,
} from "./publication-plan";

const accepted: AcceptanceSummary = {
  passed: true,
  at: "t",
  place: "qemu-tcg",
  bootToSshSeconds: 70,
  totalSeconds: 150,
  checks: [],
};
const rejected: AcceptanceSummary = { ...accepted, passed: false };
/** Build n, exported on day n (a higher n is newer). */
const b = (n: number, acceptance?: AcceptanceSummary): BuildRecord => ({
  key: `p/debian/12/2026010${n}T000000Z/t.xva`,
  manifestKey: `p/debian/12/2026010${n}T000000Z/t.manifest.json`,
  sha256: `s${n}`,
  sizeBytes: n,
  buildId: `b${n}`,
  exportedAt: `2026-01-0${n}T00:00:00.000Z`,
  ...(acceptance ? { acceptance } : {}),
});
const policy = (over: Partial<ChannelPolicy> = {}): ChannelPolicy => ({ retention: 2, revoked: [], ...over });

describe("publication plan: channels, retention, revocation", () => {
  const cases: ReadonlyArray<{
    when: string;
    history: BuildRecord[];
    policy: ChannelPolicy;
    candidate?: string;
    stable?: string;
    kept: string[];
    prune: string[];
    revoked?: string[];
  }> = [
    { when: "no build yet", history: [], policy: policy(), kept: [], prune: [] },
    {
      when: "a new build that passed acceptance is candidate and stable",
      history: [b(1, accepted), b(2, accepted)],
      policy: policy(),
      candidate: "b2",
      stable: "b2",
      kept: ["b2", "b1"],
      prune: [],
    },
    {
      when: "a build without acceptance is candidate only; stable stays on the last accepted one",
      history: [b(3), b(2, accepted), b(1, accepted)],
      policy: policy({ retention: 1 }),
      candidate: "b3",
      stable: "b2",
      kept: ["b3", "b2"],
      prune: ["b1"],
    },
    {
      when: "a failed acceptance never makes stable",
      history: [b(2, rejected), b(1, accepted)],
      policy: policy({ retention: 1 }),
      candidate: "b2",
      stable: "b1",
      kept: ["b2", "b1"],
      prune: [],
    },
    {
      when: "retention never deletes a channel's build, however old",
      history: [b(5, rejected), b(4, rejected), b(3, rejected), b(2, accepted), b(1, accepted)],
      policy: policy({ retention: 2 }),
      candidate: "b5",
      stable: "b2",
      kept: ["b5", "b4", "b2"],
      prune: ["b3", "b1"],
    },
    {
      when: "rollback: stable pinned to the previous accepted build",
      history: [b(2, accepted), b(1, accepted)],
      policy: policy({ stablePin: "b1" }),
      candidate: "b2",
      stable: "b1",
      kept: ["b2", "b1"],
      prune: [],
    },
    {
      when: "revoking the current stable build moves both channels back and keeps it listed as revoked",
      history: [b(2, accepted), b(1, accepted)],
      policy: policy({ revoked: [{ buildId: "b2", reason: "CVE-2026-0001" }] }),
      candidate: "b1",
      stable: "b1",
      kept: ["b2", "b1"],
      prune: [],
      revoked: ["b2"],
    },
    {
      when: "a revocation of a build no longer stored says nothing",
      history: [b(3, accepted)],
      policy: policy({ revoked: [{ buildId: "b1", reason: "old" }] }),
      candidate: "b3",
      stable: "b3",
      kept: ["b3"],
      prune: [],
      revoked: [],
    },
    {
      when: "every build revoked: no channel",
      history: [b(1, accepted)],
      policy: policy({ revoked: [{ buildId: "b1", reason: "bad" }] }),
      kept: ["b1"],
      prune: [],
      revoked: ["b1"],
    },
  ];
  for (const c of cases) {
    it(c.when, () => {
      const p = planPublication("t", c.history, c.policy);
      expect(p.channels.candidate).to.equal(c.candidate);
      expect(p.channels.stable).to.equal(c.stable);
      expect(p.kept.map((x) => x.buildId)).to.deep.equal(c.kept);
      expect(p.prune.map((x) => x.buildId)).to.deep.equal(c.prune);
      expect(p.revoked.map((r) => r.buildId)).to.deep.equal(c.revoked ?? []);
    });
  }

  const refusals: ReadonlyArray<{
    when: string;
    history: BuildRecord[];
    pin: string;
    revoked?: string;
    message: RegExp;
  }> = [
    {
      when: "a pin on a build not stored",
      history: [b(1, accepted)],
      pin: "b9",
      message: /pins build b9, which is not in the store.*b1 \(accepted\)/,
    },
    {
      when: "a pin on a build without acceptance",
      history: [b(2), b(1, accepted)],
      pin: "b2",
      message: /b2, which has not passed acceptance/,
    },
    {
      when: "a pin on a revoked build",
      history: [b(1, accepted)],
      pin: "b1",
      revoked: "b1",
      message: /b1, which is revoked/,
    },
  ];
  for (const r of refusals) {
    it(`refuses ${r.when}, saying which builds can be pinned`, () => {
      const revoked = r.revoked ? [{ buildId: r.revoked, reason: "x" }] : [];
      expect(() => planPublication("debian-12", r.history, policy({ stablePin: r.pin, revoked }))).to.throw(
        ChannelPolicyError,
        r.message,
      );
    });
  }

  it("for any history: channel targets are kept, kept and prune split the history, no revoked build in a channel", () => {
    const arb = fc.record({
      builds: fc.uniqueArray(fc.integer({ min: 1, max: 9 }), { maxLength: 9 }).chain((ns) =>
        fc.tuple(
          fc.constant(ns),
          fc.array(fc.constantFrom(undefined, accepted, rejected), {
            minLength: ns.length,
            maxLength: ns.length,
          }),
        ),
      ),
      retention: fc.integer({ min: 1, max: 5 }),
      revokedMask: fc.array(fc.boolean(), { minLength: 9, maxLength: 9 }),
    });
    fc.assert(
      fc.property(arb, ({ builds: [ns, acc], retention, revokedMask }) => {
        const history = ns.map((n, i) => b(n, acc[i]));
        const revoked = ns.filter((n) => revokedMask[n - 1]).map((n) => ({ buildId: `b${n}`, reason: "r" }));
        const p = planPublication("t", history, { retention, revoked });
        const kept = new Set(p.kept.map((x) => x.buildId));
        for (const id of [p.channels.candidate, p.channels.stable]) {
          if (id === undefined) continue;
          expect(kept.has(id)).to.equal(true);
          expect(revoked.some((r) => r.buildId === id)).to.equal(false);
        }
        expect(p.kept.length + p.prune.length).to.equal(history.length);
        expect(p.kept.length).to.be.at.least(Math.min(retention, history.length));
      }),
    );
  });
});
