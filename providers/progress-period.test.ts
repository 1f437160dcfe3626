import { expect } from "chai";
import { progressPeriodMs } from "./progress-period";

describe("progress period", () => {
  const cases: ReadonlyArray<[string | undefined, number]> = [
    [undefined, 5000],
    ["1000", 1000],
    ["100", 100],
    ["99", 5000],
    ["60001", 5000],
    ["1.5", 5000],
    ["soon", 5000],
  ];
  for (const [v, want] of cases)
    it(`XCPNG_PROGRESS_EVERY_MS=${String(v)}: ${want} ms`, () =>
      expect(progressPeriodMs(v === undefined ? {} : { XCPNG_PROGRESS_EVERY_MS: v })).to.equal(want));
});
