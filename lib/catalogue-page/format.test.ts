import { expect } from "chai";
import { formatBytes, formatSeconds, formatUtc } from "./format";

describe("page formatting", () => {
  const bytes: [number, string][] = [
    [0, "0 B"],
    [1023, "1023 B"],
    [1024, "1.0 KiB"],
    [1_288_490_188, "1.2 GiB"],
    [52_428_800, "50 MiB"],
    [-1, "unknown"],
    [Number.NaN, "unknown"],
  ];
  for (const [n, want] of bytes)
    it(`formatBytes(${n}) = ${want}`, () => expect(formatBytes(n)).to.equal(want));

  const times: [string, string | undefined][] = [
    ["2026-03-04T05:06:07Z", "2026-03-04 05:06 UTC"],
    ["2026-03-04T06:06:07+01:00", "2026-03-04 05:06 UTC"],
    ["yesterday", undefined],
  ];
  for (const [iso, want] of times)
    it(`formatUtc(${iso}) = ${String(want)}`, () => expect(formatUtc(iso)).to.equal(want));

  const secs: [number, string][] = [
    [75.4, "1 min 15 s"],
    [59, "59 s"],
    [120, "2 min"],
    [-3, "unknown"],
  ];
  for (const [s, want] of secs)
    it(`formatSeconds(${s}) = ${want}`, () => expect(formatSeconds(s)).to.equal(want));
});
