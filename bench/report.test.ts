import { expect } from "chai";
import { medianRounds } from "./report";

describe("bench/report: medianRounds", () => {
  const r = (pools: number, s: number) => ({ pools, s });
  const cases: ReadonlyArray<[string, ReturnType<typeof r>[], [number, number, number, number, number][]]> = [
    [
      "one round per size",
      [r(1, 3), r(8, 9)],
      [
        [1, 3, 3, 3, 1],
        [8, 9, 9, 9, 1],
      ],
    ],
    ["three rounds: the middle one, and the range", [r(1, 5), r(1, 3), r(1, 4)], [[1, 4, 3, 5, 3]]],
    ["two rounds: the lower middle", [r(4, 7), r(4, 6)], [[4, 6, 6, 7, 2]]],
    [
      "sizes sorted, rounds interleaved",
      [r(8, 9), r(1, 2), r(8, 8), r(1, 1)],
      [
        [1, 1, 1, 2, 2],
        [8, 8, 8, 9, 2],
      ],
    ],
  ];
  for (const [when, results, want] of cases) {
    it(when, () => {
      const got = medianRounds(results, (x) => x.s).map((m) => [
        m.median.pools,
        m.median.s,
        m.min,
        m.max,
        m.rounds,
      ]);
      expect(got).to.deep.equal(want);
    });
  }
});
