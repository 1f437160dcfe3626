import { expect } from "chai";
import { parseCpuSeconds, parseMaxRssKiB } from "./measure";

describe("bench/measure: GNU time -v output", () => {
  const output = [
    '\tCommand being timed: "pulumi up --yes --skip-preview --non-interactive"',
    "\tUser time (seconds): 6.71",
    "\tSystem time (seconds): 1.09",
    "\tPercent of CPU this job got: 89%",
    "\tMaximum resident set size (kbytes): 302112",
    "\tExit status: 0",
  ].join("\n");
  const cases: ReadonlyArray<[string, string, number | undefined, number | undefined]> = [
    ["a whole report", output, 6.71 + 1.09, 302112],
    ["no report (the command did not start)", "", undefined, undefined],
    [
      "a report without system time",
      output
        .split("\n")
        .filter((l) => !l.includes("System time"))
        .join("\n"),
      undefined,
      302112,
    ],
  ];
  for (const [when, text, cpu, rss] of cases) {
    it(`CPU seconds and peak RSS from ${when}`, () => {
      const got = parseCpuSeconds(text);
      if (cpu === undefined) expect(got).to.equal(undefined);
      else expect(got).to.be.closeTo(cpu, 1e-9);
      expect(parseMaxRssKiB(text)).to.equal(rss);
    });
  }
});
