import { expect } from "chai";
import { templatesToDestroy, wantedTags, type PoolChannelsInputs } from "./pool-channels";

const base: Pick<PoolChannelsInputs, "channels" | "revoked" | "templates" | "keep"> = {
  channels: { candidate: "b3", stable: "b2" },
  revoked: [],
  templates: [
    { buildId: "b3", uuid: "u3" },
    { buildId: "b2", uuid: "u2" },
    { buildId: "b1", uuid: "u1" },
  ],
  keep: ["b3", "b2"],
};

describe("pool channels: tags", () => {
  const cases: ReadonlyArray<{ when: string; inputs: typeof base; buildId: string; tags: string[] }> = [
    { when: "the candidate's template", inputs: base, buildId: "b3", tags: ["channel:candidate"] },
    { when: "the stable one's", inputs: base, buildId: "b2", tags: ["channel:stable"] },
    { when: "a build in no channel", inputs: base, buildId: "b1", tags: [] },
    {
      when: "a build that is both",
      inputs: { ...base, channels: { candidate: "b2", stable: "b2" } },
      buildId: "b2",
      tags: ["channel:candidate", "channel:stable"],
    },
    {
      when: "a revoked build",
      inputs: { ...base, channels: { candidate: "b2", stable: "b2" }, revoked: ["b3"] },
      buildId: "b3",
      tags: ["revoked"],
    },
  ];
  for (const c of cases) it(c.when, () => expect(wantedTags(c.inputs, c.buildId)).to.deep.equal(c.tags));
});

describe("pool channels: templates destroyed after publication", () => {
  it("are those of builds no longer kept and in no channel", () => {
    expect(templatesToDestroy(base)).to.deep.equal(["u1"]);
  });
  it("never a channel's template, kept or not", () => {
    expect(
      templatesToDestroy({ ...base, channels: { candidate: "b3", stable: "b1" }, keep: ["b3"] }),
    ).to.deep.equal(["u2"]);
  });
});
