import { expect } from "chai";
import type { AcceptanceResult } from "../lib/acceptance";
import { AcceptanceProvider, summaryOf, type AcceptanceInputs, type AcceptanceOutputs } from "./acceptance";

const result = (passed: boolean): AcceptanceResult => ({
  passed,
  os: "debian",
  version: "12",
  place: "qemu",
  accelerator: "tcg",
  acceleratorReason: "probe did not print",
  bootToSshSeconds: 75.4,
  totalSeconds: 150.2,
  consoleLogPath: "/tmp/x/console-a.log",
  clones: [],
  checks: [
    {
      name: "systemd: running",
      command: "systemctl is-system-running",
      expected: "running",
      status: "pass",
      passed: true,
      evidence: "running",
      clones: ["a", "b"],
    },
    {
      name: "guest agent",
      command: "systemctl is-enabled xe-linux-distribution",
      expected: "enabled",
      status: "not-applicable",
      passed: true,
      evidence: "local build has no guest agent",
      clones: ["a"],
    },
    {
      name: "cloud-init: done",
      command: "cloud-init status",
      expected: "done",
      status: passed ? "pass" : "fail",
      passed,
      evidence: passed ? "done" : "error",
      clones: ["a", "b"],
    },
  ],
  artifact: { sha256: "s", bytes: 1, diskBytes: 1 },
  startedAt: "2026-12-05T00:00:00.000Z",
});

describe("acceptance: the recorded summary", () => {
  it("keeps each check's name, command, status, expected value and evidence, and where it booted", () => {
    const s = summaryOf(result(false), ["k/console-a.log"]);
    expect(s).to.include({
      passed: false,
      place: "qemu-tcg",
      bootToSshSeconds: 75.4,
      at: "2026-12-05T00:00:00.000Z",
    });
    expect(s.consoleLogKeys).to.deep.equal(["k/console-a.log"]);
    expect(s.checks.map((c) => [c.name, c.status, c.passed])).to.deep.equal([
      ["systemd: running", "pass", true],
      ["guest agent", "not-applicable", true],
      ["cloud-init: done", "fail", false],
    ]);
    expect(s.checks[2]).to.include({ command: "cloud-init status", expected: "done", evidence: "error" });
  });
});

describe("acceptance: diff", () => {
  const inputs: AcceptanceInputs = {
    store: { region: "r", forcePathStyle: true, bucket: "b", prefix: "p", stack: "p" },
    templateName: "t",
    os: "debian",
    version: "12",
    build: { buildId: "b1", key: "k.xva", manifestKey: "k.manifest.json", sha256: "s" },
    history: [],
    guestAgent: { expected: false, reason: "none" },
    place: "qemu",
  };
  const outputs: AcceptanceOutputs = { ...inputs, results: {} };
  const p = new AcceptanceProvider();
  const cases: ReadonlyArray<{ when: string; news: AcceptanceInputs; changes: boolean }> = [
    { when: "nothing changed", news: inputs, changes: false },
    {
      when: "a new build: boot it",
      news: { ...inputs, build: { ...inputs.build, buildId: "b2" } },
      changes: true,
    },
    {
      when: "the same build re-exported (new key): update, the result is kept",
      news: { ...inputs, build: { ...inputs.build, key: "k2.xva" } },
      changes: true,
    },
    { when: "the history changed: results pruned", news: { ...inputs, history: ["b0"] }, changes: true },
  ];
  for (const c of cases) {
    it(c.when, async () => {
      const d = await p.diff("t-acceptance", outputs, c.news);
      expect(d.changes).to.equal(c.changes);
      expect(d.replaces).to.deep.equal([]);
    });
  }
});
