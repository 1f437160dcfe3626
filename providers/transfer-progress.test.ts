import { expect } from "chai";
import { formatSeconds, progressLine } from "./transfer-progress";

describe("transfer progress", () => {
  const lines: ReadonlyArray<[number, number, number, string]> = [
    [0, 2_807_000_000, 5000, "0 % (0 of 2,807 MB), 0.0 MB/s, time left unknown"],
    [1_180_000_000, 2_807_000_000, 13_837, "42 % (1,180 of 2,807 MB), 85.3 MB/s, about 19 s left"],
    [2_807_000_000, 2_807_000_000, 30_000, "100 % (2,807 of 2,807 MB), 93.6 MB/s, about 0 s left"],
    [0, 0, 0, "100 % (0 of 0 MB), 0.0 MB/s, time left unknown"],
  ];
  for (const [sent, total, ms, want] of lines) {
    it(`${sent}/${total} after ${ms} ms`, () => expect(progressLine(sent, total, ms)).to.equal(want));
  }

  const durations: ReadonlyArray<[number, string]> = [
    [0, "0 s"],
    [9.4, "9 s"],
    [65, "1 min 05 s"],
    [3720, "1 h 02 min"],
    [-3, "0 s"],
  ];
  for (const [s, want] of durations)
    it(`${s} s reads ${want}`, () => expect(formatSeconds(s)).to.equal(want));
});
