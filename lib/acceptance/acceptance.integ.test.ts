import { expect } from "chai";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { localTemplateXva } from "../../packer/local/template-xva";
import { requireRoot, requireTool } from "../../tests/support/tools";
import {
  type AcceptanceResult,
  AcceptanceFailedError,
  type BootPlace,
  type QemuImage,
  createQemuBootPlace,
  runAcceptance,
} from ".";
import { buildLocalImage, type LocalImage } from "./testing/local-image";

// The whole acceptance on real images: built with the local template (rootfs from the shared cache), packed as
// an XVA by the project's writer, booted as two TCG (or KVM) clones under QEMU, checked over SSH. Three images:
// Debian 12 (accepted), a deliberately broken Debian 12 (refused, with the failing checks named), Debian 13.

const MINUTES = 60_000;
const NO_AGENT = { expected: false, reason: "local build has no guest agent" } as const;

async function sha256File(file: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 4 * 1024 * 1024 }))
    h.update(chunk as Buffer);
  return h.digest("hex");
}

/** QEMU, plus the template's unpacked disk hashed after unpacking and again after each clone stopped. */
async function watchedPlace(): Promise<{ place: BootPlace<QemuImage>; hashes: string[] }> {
  const inner = await createQemuBootPlace();
  const hashes: string[] = [];
  const place: BootPlace<QemuImage> = {
    kind: inner.kind,
    accelerator: inner.accelerator,
    acceleratorReason: inner.acceleratorReason,
    async prepare(xva, dir, opts) {
      const image = await inner.prepare(xva, dir, opts);
      hashes.push(await sha256File(image.rawPath));
      return image;
    },
    async boot(image, clone) {
      const vm = await inner.boot(image, clone);
      return {
        ...vm,
        async stop() {
          await vm.stop();
          hashes.push(await sha256File(image.rawPath));
        },
      };
    },
  };
  return { place, hashes };
}

function report(label: string, image: LocalImage, r: AcceptanceResult): void {
  console.log(
    `      ${label}: build ${image.seconds}s (${image.cachedRootfs ? "cached rootfs" : "debootstrap"}); ` +
      `acceptance ${r.totalSeconds}s on ${r.accelerator}, boot-to-SSH ${r.clones.map((c) => `${c.name} ${c.bootToSshSeconds}s`).join(", ")}`,
  );
}

describe("boot acceptance of locally built templates (slow)", function () {
  this.timeout(60 * MINUTES);
  let dir: string;

  before(() => {
    requireRoot("the local build");
    for (const t of ["debootstrap", "qemu-system-x86_64", "qemu-img", "cloud-localds", "ssh", "ssh-keygen"]) {
      requireTool(t);
    }
    dir = fs.mkdtempSync(path.join("/var/tmp", "xcpng-acceptance-integ-"));
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const accept = async (image: LocalImage, os_: string, version: string, place?: BootPlace) => {
    const xva = await localTemplateXva({
      disk: image.disk,
      osRelease: image.osRelease,
      templateName: `${os_}-${version}`,
      buildId: "integ",
    });
    return runAcceptance({
      xva: () => xva.open(),
      os: os_,
      version,
      guestAgent: NO_AGENT,
      workDir: path.join(dir, "runs"),
      ...(place ? { place } : {}),
    });
  };

  describe("Debian 12", () => {
    let image: LocalImage;
    let result: AcceptanceResult;
    let hashes: string[];

    before(async () => {
      image = await buildLocalImage(path.join(dir, "debian-12"));
      const watched = await watchedPlace();
      hashes = watched.hashes;
      result = await accept(image, "debian", "12", watched.place);
      report("debian 12", image, result);
    });

    it("passes every check; the guest agent check says why it does not apply", () => {
      expect(result.passed).to.equal(true);
      const notPassed = result.checks.filter((c) => c.status !== "pass");
      expect(notPassed.map((c) => [c.name, c.status, c.evidence])).to.deep.equal([
        [
          "guest agent: installed and enabled",
          "not-applicable",
          "not applicable: local build has no guest agent",
        ],
      ]);
      for (const c of result.checks) {
        expect(c.command, c.name).to.not.equal("");
        expect(c.expected, c.name).to.not.equal("");
        expect(c.evidence, c.name).to.not.equal("");
        expect(c.clones).to.deep.equal(["a", "b"]);
      }
    });

    it("booted two clones with their own hostnames, larger disks, times and console logs", () => {
      expect(result.clones.map((c) => c.name)).to.deep.equal(["a", "b"]);
      expect(new Set(result.clones.map((c) => c.hostname)).size).to.equal(2);
      for (const c of result.clones) {
        expect(c.diskBytes).to.be.greaterThan(result.artifact.diskBytes);
        expect(c.bootToSshSeconds).to.be.greaterThan(0);
        expect(fs.readFileSync(c.consoleLogPath, "utf8"), c.consoleLogPath).to.include(
          `${c.hostname} login:`,
        );
      }
      expect(result.consoleLogPath).to.equal(result.clones[0]!.consoleLogPath);
      expect(result.bootToSshSeconds).to.equal(Math.max(...result.clones.map((c) => c.bootToSshSeconds)));
      expect(["kvm", "tcg"]).to.include(result.accelerator);
      expect(result.acceleratorReason).to.match(
        result.accelerator === "kvm" ? /KVM probe guest reached/ : /TCG/,
      );
    });

    it("read the XVA whole and never wrote to the template's disk", () => {
      expect(result.artifact.sha256).to.match(/^[0-9a-f]{64}$/);
      expect(result.artifact.diskBytes).to.equal(fs.statSync(image.disk).size);
      expect(hashes, "after unpacking, after clone a stopped, after clone b stopped").to.have.length(3);
      expect(new Set(hashes).size).to.equal(1);
    });

    it("left only the console logs, and no key material in them", () => {
      const runDir = path.dirname(result.consoleLogPath);
      expect(fs.readdirSync(runDir).sort()).to.deep.equal(["console-a.log", "console-b.log"]);
      const text = fs
        .readdirSync(runDir)
        .map((f) => fs.readFileSync(path.join(runDir, f), "utf8"))
        .join("\n");
      expect(text).to.not.match(/PRIVATE KEY/);
      expect(JSON.stringify(result)).to.not.match(/PRIVATE KEY/);
    });
  });

  describe("a deliberately broken Debian 12 (tests/fixtures/acceptance/broken.pkrvars.hcl)", () => {
    let failure: AcceptanceFailedError;
    before(async () => {
      const image = await buildLocalImage(
        path.join(dir, "broken"),
        "tests/fixtures/acceptance/broken.pkrvars.hcl",
      );
      const e = await accept(image, "debian", "12").then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).to.be.instanceOf(AcceptanceFailedError);
      failure = e as AcceptanceFailedError;
      report("broken debian 12", image, failure.result);
    });

    it("fails, naming the checks the fixture breaks, their evidence and the console log", () => {
      expect(failure.code).to.equal("ACCEPTANCE_FAILED");
      expect(failure.result.passed).to.equal(false);
      expect(failure.failedChecks.map((c) => c.name).sort()).to.deep.equal(
        [
          "apt: no CD-ROM source",
          "clones: distinct machine-ids and host keys",
          "cloud-init: done without errors",
          "cloud-init: hostname set and resolvable",
          "hardening: no password login",
          "hardening: root login refused",
          "hardening: sshd effective configuration",
          "locale: the system locale exists",
          "ssh: host keys made at first boot, no DSA key",
          "systemd: running, no failed unit",
        ].sort(),
      );
      expect(failure.message).to.include(`"cloud-init: done without errors" (expected status: done`);
      expect(failure.message).to.match(/got status: error; exit 1; errors: \('locale'/);
      expect(failure.message).to.include(`Console log: ${failure.result.consoleLogPath}`);
      expect(fs.existsSync(failure.result.consoleLogPath)).to.equal(true);
    });
  });

  describe("Debian 13", () => {
    it("is built from the same template and passes every check", async () => {
      const image = await buildLocalImage(path.join(dir, "debian-13"), "packer/local/debian-13.pkrvars.hcl");
      const result = await accept(image, "debian", "13");
      report("debian 13", image, result);
      expect(result.checks.filter((c) => c.status === "fail")).to.deep.equal([]);
      expect(
        result.checks.find((c) => c.name === "hardening: sshd effective configuration")!.evidence,
      ).to.match(/first kex mlkem768x25519-sha256/);
    });
  });
});
