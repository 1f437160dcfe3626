import { expect } from "chai";
import { ToolError } from "../tools/errors";
import { cpuTicksOfStat } from "./fleet-pools";

describe("bench/fleet-pools: CPU time from /proc/<pid>/stat", () => {
  const fields = (comm: string) =>
    `4242 (${comm}) S 1 4242 4242 0 -1 4194560 2718 0 0 0 1234 567 0 0 20 0 11 0 98765 1234567 8901 ` +
    "18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 17 1 0 0 0 0 0";
  const cases: ReadonlyArray<[string, string]> = [
    ["a plain command name", "node"],
    ["a name with spaces and parentheses", "MainThread (x) y"],
  ];
  for (const [when, comm] of cases) {
    it(`utime + stime, ${when}`, () => expect(cpuTicksOfStat(fields(comm))).to.equal(1234 + 567));
  }
  it("refuses a line it cannot read", () => {
    expect(() => cpuTicksOfStat("garbage")).to.throw(ToolError, /cannot read CPU times/);
  });
});
