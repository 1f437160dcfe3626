import { expect } from "chai";
import {
  driftOf,
  healthOf,
  placementFor,
  planReplicaRetention,
  strayChannelTag,
  tagEdits,
  type ReplicaRecord,
  type ReplicaVmFacts,
} from "./replica-plan";

const rec = (buildId: string, over: Partial<ReplicaRecord> = {}): ReplicaRecord => ({
  buildId,
  uuid: `u-${buildId}`,
  key: `st/debian/12/${buildId}/t.xva`,
  sha256: "0".repeat(64),
  importedAt: "2026-01-01T00:00:00.000Z",
  lastTargetedAt: "2026-01-01T00:00:00.000Z",
  diskCount: 1,
  virtualSizeBytes: 8,
  ...over,
});
const at = (day: number) => `2026-01-${String(day).padStart(2, "0")}T00:00:00.000Z`;

describe("replica plan: tag edits", () => {
  const cases: ReadonlyArray<{
    when: string;
    tags: string[];
    channel?: string;
    add: string[];
    remove: string[];
  }> = [
    {
      when: "a fresh import (the XVA's build tag only), as the channel's build",
      tags: ["build-id:b1"],
      channel: "stable",
      add: ["template:t", "channel:stable"],
      remove: [],
    },
    {
      when: "already tagged as the channel's build",
      tags: ["build-id:b1", "template:t", "channel:stable"],
      channel: "stable",
      add: [],
      remove: [],
    },
    {
      when: "the previous channel build: the channel tag leaves it",
      tags: ["build-id:b1", "template:t", "channel:stable"],
      add: [],
      remove: ["channel:stable"],
    },
    {
      when: "the channel changed from candidate to stable",
      tags: ["build-id:b1", "template:t", "channel:candidate"],
      channel: "stable",
      add: ["channel:stable"],
      remove: ["channel:candidate"],
    },
    {
      when: "the user's own tags are left alone",
      tags: ["build-id:b1", "template:t", "owner:ops", "prod"],
      add: [],
      remove: [],
    },
    {
      when: "the build tag removed by hand comes back",
      tags: ["template:t"],
      add: ["build-id:b1"],
      remove: [],
    },
  ];
  for (const c of cases) {
    it(c.when, () => {
      const got = tagEdits(c.tags, {
        templateName: "t",
        buildId: "b1",
        ...(c.channel !== undefined ? { channel: c.channel } : {}),
      });
      expect(got).to.deep.equal({ add: c.add, remove: c.remove });
    });
  }

  const strays: ReadonlyArray<[string, string[], string | undefined]> = [
    [
      "this template's channel tag on an untracked VM goes",
      ["template:t", "channel:stable"],
      "channel:stable",
    ],
    ["another template's channel tag stays", ["template:u", "channel:stable"], undefined],
    ["another channel's tag stays", ["template:t", "channel:candidate"], undefined],
    ["a VM with no tags of ours", ["build-id:b1"], undefined],
  ];
  for (const [when, tags, want] of strays) {
    it(`stray channel tag: ${when}`, () => expect(strayChannelTag(tags, "t", "stable")).to.equal(want));
  }
});

describe("replica plan: health and drift (what read reports)", () => {
  const vm = (over: Partial<ReplicaVmFacts> = {}): ReplicaVmFacts => ({
    tags: ["build-id:b1", "template:t", "channel:stable"],
    isTemplate: true,
    diskCount: 1,
    ...over,
  });
  const want = { templateName: "t", buildId: "b1", channel: "stable" };
  const cases: ReadonlyArray<{
    when: string;
    vm: ReplicaVmFacts | undefined;
    want?: typeof want | { templateName: string; buildId: string };
    health: string;
    drift: { missing?: true; drift?: string[] };
  }> = [
    { when: "as placed", vm: vm(), health: "ok", drift: {} },
    { when: "deleted on the pool", vm: undefined, health: "gone", drift: { missing: true } },
    {
      when: "turned into a VM",
      vm: vm({ isTemplate: false }),
      health: "released",
      drift: { drift: ["it is no longer a template (is_a_template is false)"] },
    },
    {
      when: "a disk destroyed",
      vm: vm({ diskCount: 0 }),
      health: "damaged",
      drift: { drift: ["it has 0 disk(s), 1 were imported"] },
    },
    {
      when: "the channel tag removed by hand",
      vm: vm({ tags: ["build-id:b1", "template:t"] }),
      health: "ok",
      drift: { drift: ["tag channel:stable is missing"] },
    },
    {
      when: "a kept replica that carries the channel tag",
      vm: vm(),
      want: { templateName: "t", buildId: "b1" },
      health: "ok",
      drift: { drift: ["tag channel:stable is on it, but it is not that channel's build"] },
    },
  ];
  for (const c of cases) {
    it(c.when, () => {
      expect(healthOf(rec("b1"), c.vm)).to.equal(c.health);
      expect(driftOf(rec("b1"), c.vm, c.want ?? want)).to.deep.equal(c.drift);
    });
  }
});

describe("replica plan: placement of the channel's build", () => {
  const usable = [rec("b2"), rec("b1")];
  const cases: ReadonlyArray<{ when: string; current?: string; build: string; kind: string; uuid?: string }> =
    [
      {
        when: "the build is already the channel's replica",
        current: "u-b2",
        build: "b2",
        kind: "keep",
        uuid: "u-b2",
      },
      { when: "rollback to a kept replica", current: "u-b2", build: "b1", kind: "promote", uuid: "u-b1" },
      { when: "a new build", current: "u-b2", build: "b3", kind: "import" },
      { when: "first placement (create)", build: "b1", kind: "promote", uuid: "u-b1" },
      {
        when: "the channel's replica is gone (refresh dropped it)",
        current: "u-gone",
        build: "b9",
        kind: "import",
      },
    ];
  for (const c of cases) {
    it(c.when, () => {
      const p = placementFor(usable, c.current, c.build);
      expect(p.kind).to.equal(c.kind);
      if (p.kind !== "import") expect(p.replica.uuid).to.equal(c.uuid);
    });
  }
  it("a second copy of the same build: the channel's own is kept", () => {
    const twins = [rec("b1", { uuid: "u-x" }), rec("b1", { uuid: "u-y" })];
    expect(placementFor(twins, "u-y", "b1")).to.deep.include({ kind: "keep" });
    expect((placementFor(twins, "u-y", "b1") as { replica: ReplicaRecord }).replica.uuid).to.equal("u-y");
  });
});

describe("replica plan: retention per template and pool", () => {
  const target = rec("b5", { lastTargetedAt: at(9) });
  const others = [
    rec("b1", { lastTargetedAt: at(1), importedAt: at(1) }),
    rec("b3", { lastTargetedAt: at(8), importedAt: at(3) }), // the previous stable
    rec("b4", { lastTargetedAt: at(4), importedAt: at(4) }),
    rec("b2", { lastTargetedAt: at(2), importedAt: at(2) }),
  ];
  const cases: ReadonlyArray<{ when: string; n: number; kept: string[]; destroyed: string[] }> = [
    { when: "1: only the channel's replica", n: 1, kept: [], destroyed: ["b3", "b4", "b2", "b1"] },
    {
      when: "2: the previous stable stays (most recently targeted)",
      n: 2,
      kept: ["b3"],
      destroyed: ["b4", "b2", "b1"],
    },
    { when: "3", n: 3, kept: ["b3", "b4"], destroyed: ["b2", "b1"] },
    { when: "more than there are: all kept", n: 9, kept: ["b3", "b4", "b2", "b1"], destroyed: [] },
  ];
  for (const c of cases) {
    it(`poolRetention ${c.when}`, () => {
      const p = planReplicaRetention(target, others, c.n);
      expect(p.kept.map((r) => r.buildId)).to.deep.equal(c.kept);
      expect(p.destroyed.map((r) => r.buildId)).to.deep.equal(c.destroyed);
    });
  }
  it("never destroys the channel's replica, even listed among the others", () => {
    const p = planReplicaRetention(target, [target, ...others], 1);
    expect(p.destroyed.map((r) => r.uuid)).to.not.include(target.uuid);
  });
  it("ties on last targeting go to the newer import", () => {
    const p = planReplicaRetention(
      target,
      [rec("old", { importedAt: at(1) }), rec("new", { importedAt: at(2) })],
      2,
    );
    expect(p.kept.map((r) => r.buildId)).to.deep.equal(["new"]);
  });
  it("a second copy of the channel's build is destroyed whatever the retention", () => {
    const twin = rec("b5", { uuid: "u-twin" });
    const p = planReplicaRetention(target, [twin, ...others], 9);
    expect(p.destroyed.map((r) => r.uuid)).to.deep.equal(["u-twin"]);
  });
  it("refuses a retention below 1", () => {
    expect(() => planReplicaRetention(target, others, 0)).to.throw(
      RangeError,
      /poolRetention must be an integer >= 1/,
    );
  });
});
