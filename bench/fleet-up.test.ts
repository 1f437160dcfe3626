import { expect } from "chai";
import { providerPeakRssMiB } from "./fleet-up";

describe("bench/fleet-up: the provider host's peak RSS from `pulumi up` output", () => {
  const line = (pool: string, mib: number) =>
    `    xcpng:index:Replica bench-stable-on-${pool}  replica: bench on pool ${pool}: imported build b in 4.2 s ` +
    `(90.8 MB/s): 367 chunks and the SHA-256 verified, Debian GNU/Linux 12, 1 disk(s); provider peak RSS ${mib} MiB`;
  const cases: ReadonlyArray<[string, string, number | undefined]> = [
    ["one pool", line("f1-1", 283), 283],
    ["several pools: the highest", [line("f8-1", 281), line("f8-2", 302), line("f8-3", 290)].join("\n"), 302],
    ["no import in the output", "Resources:\n    3 unchanged\n", undefined],
  ];
  for (const [when, output, want] of cases) {
    it(when, () => expect(providerPeakRssMiB(output)).to.equal(want));
  }
});
