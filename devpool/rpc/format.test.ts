import { execFileSync } from "node:child_process";
import { expect } from "chai";
import fc from "fast-check";
import { EPOCH, formatDate, formatDouble, parseDate } from "./format";

describe("devpool rpc/format", () => {
  it("prints doubles exactly as C's %.16g (checked against Python's % operator)", () => {
    // Given a broad sample of doubles, including tiny, huge, integral and negative ones
    const samples = fc.sample(
      fc.oneof(
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.integer().map((i) => i / 10),
        fc.constantFrom(0, 1, -1, 0.5, 60.1, 1e16, 1e15, 123456789012345680, 1e-5, 0.0001, 1.5e300),
      ),
      { numRuns: 2000, seed: 42 },
    );
    // When Python formats them with "%.16g" (an independent implementation of the C format)
    const python = execFileSync(
      "python3",
      ["-c", 'import sys,json\nfor x in json.load(sys.stdin): print("%.16g" % x)'],
      {
        input: JSON.stringify(samples),
      },
    )
      .toString()
      .trim()
      .split("\n");
    // Then devpool prints the same text for every one
    const mismatches = samples
      .map((x, i) => [x, formatDouble(x), python[i]] as const)
      .filter(([, ours, theirs]) => ours !== theirs);
    expect(mismatches).to.deep.equal([]);
  });

  it("prints datetimes as xapi's YYYYMMDDTHH:MM:SSZ, without dashes", () => {
    expect(formatDate(new Date(Date.UTC(2025, 2, 19, 4, 16, 24)))).to.equal("20250319T04:16:24Z");
    expect(formatDate(new Date(0))).to.equal(EPOCH);
  });

  it("reads xapi's form and RFC 3339 with dashes and zones back to xapi's form", () => {
    expect(parseDate("20250319T04:16:24Z")).to.equal("20250319T04:16:24Z");
    expect(parseDate("2025-03-19T04:16:24Z")).to.equal("20250319T04:16:24Z");
    expect(parseDate("2025-03-19T06:16:24+02:00")).to.equal("20250319T04:16:24Z");
    expect(parseDate("2025-03-19T04:16:24.123Z")).to.equal("20250319T04:16:24Z");
    expect(parseDate("yesterday")).to.equal(undefined);
  });

  it("round-trips every second-precision date through format and parse", () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date(0), max: new Date(Date.UTC(9999, 0, 1)), noInvalidDate: true }),
        (d) => {
          const s = formatDate(d);
          expect(parseDate(s)).to.equal(s);
          expect(new Date(d.getTime() - (d.getTime() % 1000)).toISOString().replace(/\.\d+Z$/, "Z")).to.equal(
            `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(9)}`,
          );
        },
      ),
    );
  });
});
