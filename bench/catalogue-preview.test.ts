import { expect } from "chai";
import { ToolError } from "../tools/errors";
import { previewHasNoChanges } from "./catalogue-preview";

const summary = (resourceChanges: Record<string, number>) =>
  JSON.stringify({ sequence: 9, summaryEvent: { resourceChanges, isPreview: true, result: "succeeded" } });
const before = '{"sequence":8,"resOutputsEvent":{"metadata":{"op":"same"}}}';

describe("bench/catalogue-preview: does the preview change anything (engine summary event)", () => {
  for (const [changes, none] of [
    [{ same: 61 }, true],
    [{ same: 60, read: 1 }, true],
    [{ same: 61, update: 0 }, true],
    [{ same: 60, update: 1 }, false],
    [{ same: 58, create: 1, delete: 1, replace: 1 }, false],
    [{ refresh: 1, same: 60 }, false],
  ] as const) {
    it(`${JSON.stringify(changes)}: ${none ? "no changes" : "changes"}`, () => {
      expect(
        previewHasNoChanges(`${before}\n${summary(changes)}\n{"sequence":10,"cancelEvent":{}}\n`),
      ).to.equal(none);
    });
  }

  it("reads the summary from the tail of a long output, whose first line may be cut", () => {
    expect(previewHasNoChanges(`ce":8,"resOutputsEvent":{}}\n${summary({ same: 3 })}\n`)).to.equal(true);
  });

  it("an output without a summary event is refused, saying how to run the preview", () => {
    expect(() => previewHasNoChanges("Previewing update (dev):\n"))
      .to.throw(ToolError, /PULUMI_ENABLE_STREAMING_JSON_PREVIEW/)
      .with.property("code", "BAD_INPUT");
  });
});
