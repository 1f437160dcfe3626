import { expect } from "chai";
import { importSlotUsage, poolKey, withImportSlot } from "./import-slots";

/** A job that runs until released, recording when it started. */
function job(log: string[], name: string): { run: () => Promise<string>; release: () => void } {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  return {
    run: async () => {
      log.push(`start ${name}`);
      await done;
      log.push(`end ${name}`);
      return name;
    },
    release: () => release(),
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("import slots (per pool, process-wide)", () => {
  it("runs at most `limit` imports on one pool, the rest in arrival order; other pools are not held up", async () => {
    const log: string[] = [];
    const url = "https://slots-1.test:443/";
    const jobs = ["a", "b", "c", "d"].map((n) => job(log, n));
    const other = job(log, "other");
    const waits: string[] = [];
    const all = jobs.map((j, i) =>
      withImportSlot(url, 2, j.run, (running, ahead) =>
        waits.push(`${i}: ${running} running, ${ahead} ahead`),
      ),
    );
    const o = withImportSlot("https://slots-2.test", 2, other.run);
    await tick();
    expect(log).to.deep.equal(["start a", "start b", "start other"]);
    expect(waits).to.deep.equal(["2: 2 running, 0 ahead", "3: 2 running, 1 ahead"]);
    expect(importSlotUsage(url)).to.deep.equal({ active: 2, waiting: 2 });
    jobs[1]!.release();
    await tick();
    expect(log.slice(3)).to.deep.equal(["end b", "start c"]);
    for (const j of jobs) j.release();
    other.release();
    expect(await Promise.all(all)).to.deep.equal(["a", "b", "c", "d"]);
    await o;
    expect(importSlotUsage(url)).to.deep.equal({ active: 0, waiting: 0 });
  });

  it("frees the slot when the import fails", async () => {
    const url = "https://slots-3.test";
    await withImportSlot(url, 1, () => Promise.reject(new Error("cut"))).catch(() => undefined);
    expect(importSlotUsage(url)).to.deep.equal({ active: 0, waiting: 0 });
    expect(await withImportSlot(url, 1, () => Promise.resolve(7))).to.equal(7);
  });

  it("keys pools by origin: path and case do not make another pool", () => {
    expect(poolKey("https://Pool.Test:443/x?y")).to.equal(poolKey("https://pool.test/"));
    expect(poolKey("https://pool.test:8443")).to.not.equal(poolKey("https://pool.test"));
  });

  it("refuses a limit below 1", async () => {
    const err = await withImportSlot("https://slots-4.test", 0, () => Promise.resolve()).catch(
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(RangeError);
  });
});
