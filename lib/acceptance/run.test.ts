import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import type { BootPlace, CloneExit, CloneSpec, PreparedImage, RunningClone } from "./boot-place";
import { AcceptanceBootError, AcceptanceInputError } from "./errors";
import { limitsFor, runAcceptance } from "./run";

// runAcceptance's own decisions, with a place that boots nothing: what happens when a clone's VM stops before
// SSH answers, what is left behind, and input checks. (Real boots: acceptance.integ.test.ts.)

/** A place whose clones "run" on a closed loopback port; clone `dies` stops by itself at once. */
function fakePlace(dies: string): { place: BootPlace; stopped: string[]; booted: CloneSpec[] } {
  const stopped: string[] = [];
  const booted: CloneSpec[] = [];
  const place: BootPlace = {
    kind: "fake",
    accelerator: "tcg",
    acceleratorReason: "test",
    prepare: async (xva, dir): Promise<PreparedImage> => {
      for await (const _ of xva) void _;
      fs.writeFileSync(path.join(dir, "disk.raw"), "");
      return { diskBytes: 4096, sha256: "0".repeat(64), bytes: 0 };
    },
    boot: (_image, clone): Promise<RunningClone> => {
      booted.push(clone);
      fs.writeFileSync(clone.consoleLogPath, `console of ${clone.name}\n`);
      const exited =
        clone.name === dies
          ? Promise.resolve<CloneExit>({ code: 1, signal: null, detail: "qemu: kernel panic" })
          : new Promise<CloneExit>(() => undefined);
      return Promise.resolve({
        name: clone.name,
        // Port 9 (discard) on loopback: nothing listens, ssh is refused at once.
        ssh: { host: "127.0.0.1", port: 9 },
        consoleLogPath: clone.consoleLogPath,
        startedAtMs: Date.now(),
        exited,
        stop: () => {
          stopped.push(clone.name);
          return Promise.resolve();
        },
      });
    },
  };
  return { place, stopped, booted };
}

describe("runAcceptance (with a fake place)", function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "xcpng-accept-run-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const options = (place: BootPlace) => ({
    xva: () => Readable.from([Buffer.from("xva")]),
    os: "debian",
    version: "12",
    guestAgent: { expected: false, reason: "local build has no guest agent" } as const,
    workDir: dir,
    place,
  });

  it("a clone that stops before SSH fails the run with its console log, and the other clone is stopped", async () => {
    const { place, stopped, booted } = fakePlace("b");
    const err = await runAcceptance(options(place)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(AcceptanceBootError);
    const boot = err as AcceptanceBootError;
    expect(boot.code).to.equal("ACCEPTANCE_VM_EXITED");
    expect(boot.clone).to.equal("b");
    expect(boot.message).to.match(
      /clone b: the VM stopped before SSH answered \(code 1, signal null: qemu: kernel panic\)/,
    );
    expect(boot.message).to.include(`console log: ${boot.consoleLogPath}`);
    expect(booted.map((c) => c.name)).to.deep.equal(["a", "b"]);
    expect(stopped.sort()).to.deep.equal(["a", "b"]);
  });

  it("leaves only the console logs of the run", async () => {
    const { place, booted } = fakePlace("a");
    await runAcceptance(options(place)).catch(() => undefined);
    const runs = fs.readdirSync(dir);
    expect(runs).to.have.length(1);
    expect(fs.readdirSync(path.join(dir, runs[0]!)).sort()).to.deep.equal(["console-a.log", "console-b.log"]);
    expect(fs.statSync(path.join(dir, runs[0]!)).mode & 0o777).to.equal(0o700);
    // Each clone had its own seed: one user and key for the run, its own hostname and instance id.
    const [a, b] = booted;
    expect(a!.seed.userData.replace(/-a\b/g, "")).to.equal(b!.seed.userData.replace(/-b\b/g, ""));
    expect(a!.seed.metaData).to.match(/local-hostname: xcpng-accept-[0-9a-f]{8}-a\n/);
    expect(b!.seed.metaData).to.match(/local-hostname: xcpng-accept-[0-9a-f]{8}-b\n/);
    expect(a!.diskBytes).to.equal(4096 + 1024 ** 3);
  });

  it("sequential clones: the first failure stops the run before the second clone boots", async () => {
    const { place, booted } = fakePlace("a");
    await runAcceptance({ ...options(place), clones: "sequential" }).catch(() => undefined);
    expect(booted.map((c) => c.name)).to.deep.equal(["a"]);
  });

  it("refuses an OS without a check table and a negative growth before booting anything", async () => {
    const { place, booted } = fakePlace("none");
    await runAcceptance({ ...options(place), os: "windows" }).then(
      () => expect.fail("resolved"),
      (e: unknown) => expect(e).to.be.instanceOf(AcceptanceInputError),
    );
    await runAcceptance({ ...options(place), growBytes: -1 }).then(
      () => expect.fail("resolved"),
      (e: unknown) =>
        expect((e as Error).message).to.match(/growBytes must be a whole number of bytes >= 0, but -1/),
    );
    expect(booted).to.deep.equal([]);
    expect(fs.readdirSync(dir)).to.deep.equal([]);
  });

  it("limits: minutes under TCG, less under KVM", () => {
    expect(limitsFor("tcg")).to.deep.equal({ bootTimeoutSeconds: 900, multiUserLimitSeconds: 480 });
    expect(limitsFor("kvm")).to.deep.equal({ bootTimeoutSeconds: 300, multiUserLimitSeconds: 120 });
  });
});
