import { expect } from "chai";
import { countedChunks, progressPacer, progressPeriodMs } from "./progress-pace";

describe("progress pace", () => {
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

  /** Feeds `steps` of [ms since start, bytes so far]; returns the elapsed times lines were asked for at. */
  const run = (steps: readonly [number, number][], firstAfterBytes?: number): number[] => {
    let t = 0;
    const at: number[] = [];
    const pace = progressPacer((ms) => at.push(ms), {
      everyMs: 5000,
      now: () => t,
      ...(firstAfterBytes !== undefined ? { firstAfterBytes } : {}),
    });
    for (const [ms, bytes] of steps) {
      t = ms;
      pace(bytes);
    }
    return at;
  };

  it("a slow transfer: one line per period, none before the first", () =>
    expect(
      run([0, 1000, 4999, 5000, 7000, 9999, 10000, 16000].map((ms) => [ms, ms] as [number, number])),
    ).to.deep.equal([5000, 10000, 16000]));

  it("a fast large transfer: its first line once 100 MB passed, then one per period", () =>
    expect(
      run([
        [100, 50e6],
        [200, 100e6],
        [300, 150e6],
        [5200, 900e6],
      ]),
    ).to.deep.equal([200, 5200]));

  it("a fast small transfer: no line at all", () =>
    expect(
      run([
        [100, 10e6],
        [900, 99e6],
      ]),
    ).to.deep.equal([]));

  it("counted chunks: the source's chunks unchanged, the bytes so far after each, the source's failure kept", async () => {
    async function* source() {
      yield await Promise.resolve(Buffer.from("ab"));
      yield Buffer.from("cde");
      throw new Error("the store cut the body");
    }
    const seen: number[] = [];
    const got: string[] = [];
    const err = await (async () => {
      for await (const c of countedChunks(source(), (n) => seen.push(n))) got.push(Buffer.from(c).toString());
    })().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(got).to.deep.equal(["ab", "cde"]);
    expect(seen).to.deep.equal([2, 5]);
    expect(err?.message).to.equal("the store cut the body");
  });
});
