import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { classifyBuildLine, type BuildLine } from "./build-output";
import { BuildReport } from "./build-report";

const T = "2026-12-05T19:55:57Z: ";

describe("build output: which lines of build.sh mark a step", () => {
  // Lines as build.sh and Packer (-timestamp-ui) print them, from a real local build and the pool path's shape.
  const cases: ReadonlyArray<[string, string, BuildLine]> = [
    ["build.sh's own step", "build.sh: --- validate", { kind: "step", name: "validate" }],
    ["build.sh's step with a space", "build.sh: --- packer build", { kind: "step", name: "packer build" }],
    [
      "Packer's one step of the local path (says nothing more than the steps inside it)",
      `${T}==> local.null.local: Running local shell script: /tmp/packer-shell2598426393`,
      { kind: "detail" },
    ],
    [
      "Packer's step (pool path)",
      `${T}==> xcpng.xenserver-iso.template: Provisioning with shell script: /p/packer/common/cleanup.sh`,
      { kind: "step", name: "Provisioning with shell script: /p/packer/common/cleanup.sh" },
    ],
    [
      "build-local.sh's step, relayed",
      `${T}==> local.null.local: build-local.sh: --- pack-and-import (t+7s)`,
      { kind: "step", name: "pack-and-import" },
    ],
    [
      "a provisioning script inside the provision step (the log only)",
      `${T}==> local.null.local: chroot-run.sh: === common/harden_ssh.sh`,
      { kind: "detail" },
    ],
    [
      "a transfer's progress",
      `${T}==> local.null.local: pack-and-import: progress 42 % (200 of 483 MB), 30.1 MB/s, about 9 s left`,
      {
        kind: "progress",
        source: "pack-and-import",
        text: "42 % (200 of 483 MB), 30.1 MB/s, about 9 s left",
      },
    ],
    [
      "a script's warning",
      `${T}==> local.null.local: [3-install_guest_agent.sh] warning: no guest agent installed`,
      { kind: "warning", text: "[3-install_guest_agent.sh] warning: no guest agent installed" },
    ],
    [
      "the XCP-ng plugin's step",
      `${T}==> xcpng.xenserver-iso.template: Step: Shutting down VM`,
      { kind: "step", name: "Step: Shutting down VM" },
    ],
    ["a script's own line", `${T}==> local.null.local: rootfs.sh: cache hit /c/x.tar`, { kind: "detail" }],
    [
      "a tool's stderr without a label (systemctl)",
      `${T}==> local.null.local: Created symlink /etc/systemd/system/multi-user.target.wants/auditd.service.`,
      { kind: "detail" },
    ],
    [
      "a remote script's stderr (pool path)",
      `${T}==> xcpng.xenserver-iso.template: debconf: delaying package configuration`,
      { kind: "detail" },
    ],
    [
      "a numbered script's line",
      `${T}==> local.null.local: [6-cleanup.sh] cleaned: no password hashes`,
      { kind: "detail" },
    ],
    [
      "apt's output",
      `${T}    local.null.local: Get:1 http://mirror.example/debian bookworm InRelease`,
      { kind: "detail" },
    ],
    [
      "a remote script's output (pool path)",
      `${T}    xcpng.xenserver-iso.template: Setting up curl (7.88.1-10+deb12u14) ...`,
      { kind: "detail" },
    ],
    ["Packer's end of build", `${T}Build 'local.null.local' finished after 32 seconds.`, { kind: "detail" }],
    ["Packer's wait line", "==> Wait completed after 32 seconds 495 milliseconds", { kind: "detail" }],
    [
      "Packer's artifacts line",
      "==> Builds finished. The artifacts of successful builds are:",
      { kind: "detail" },
    ],
    ["Packer's artifact", "--> local.null.local: Did not export anything.", { kind: "detail" }],
    ["an empty line", "", { kind: "detail" }],
    [
      "build.sh's failure",
      "build.sh: FAILED at step 'packer build': packer build exited 1",
      { kind: "detail" },
    ],
  ];
  for (const [what, line, want] of cases) it(what, () => expect(classifyBuildLine(line)).to.deep.equal(want));
});

describe("build report: the lines up shows of a build, and its log file", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "build-report-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const lines = [
    "build.sh: --- validate",
    `${T}==> local.null.local: build-local.sh: --- rootfs (t+0s)`,
    `${T}    local.null.local: Get:1 http://mirror.example/debian bookworm InRelease`,
    `${T}==> local.null.local: chroot-run.sh: === common/cleanup.sh`,
    `${T}==> local.null.local: pack-and-import: progress 50 % (1 of 2 MB), 1.0 MB/s, about 1 s left`,
  ];

  it("shows steps with the time since the start and progress; logs every line", () => {
    let t = 1_000_000;
    const shown: string[] = [];
    const logFile = path.join(dir, "packer.log");
    const r = new BuildReport({
      label: "tmpl",
      logFile,
      verbose: false,
      show: (l) => shown.push(l),
      now: () => t,
    });
    for (const l of lines) {
      r.line(l);
      t += 65_000;
    }
    expect(shown).to.deep.equal([
      "tmpl: [+0 s] validate",
      "tmpl: [+1 min 05 s] rootfs",
      "tmpl: pack-and-import 50 % (1 of 2 MB), 1.0 MB/s, about 1 s left",
    ]);
    expect(r.finish("built")).to.equal("tmpl: built in 5 min 25 s (2 steps)");
    expect(fs.readFileSync(logFile, "utf8")).to.equal(`${lines.join("\n")}\n`);
    expect(fs.statSync(logFile).mode & 0o777).to.equal(0o600);
  });

  it("verbose: every line, once, in order", () => {
    const shown: string[] = [];
    const r = new BuildReport({
      label: "tmpl",
      logFile: path.join(dir, "packer.log"),
      verbose: true,
      show: (l) => shown.push(l),
    });
    for (const l of lines) r.line(l);
    expect(r.finish("failed")).to.match(/^tmpl: failed in \d+ s; full log: \S+packer\.log$/);
    expect(shown).to.deep.equal(lines.map((l) => `[packer tmpl] ${l}`));
  });
});
