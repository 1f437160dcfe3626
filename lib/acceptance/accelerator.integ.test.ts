import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { requireTool, runOk } from "../../tests/support/tools";
import { chooseAccelerator, kvmProbeImage, runProbe } from "./accelerator";

describe("acceptance accelerator probe (QEMU)", function () {
  this.timeout(60_000);

  it("the embedded probe is kvm-probe.S assembled", async () => {
    const as = requireTool("as");
    const ld = requireTool("ld");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "xcpng-probe-asm-"));
    try {
      await runOk(as, ["--64", "-o", path.join(dir, "p.o"), path.join(__dirname, "kvm-probe.S")]);
      await runOk(ld, [
        "-m",
        "elf_x86_64",
        "-Ttext=0x7c00",
        "--oformat=binary",
        "-e",
        "_start",
        "-o",
        path.join(dir, "p.img"),
        path.join(dir, "p.o"),
      ]);
      expect(fs.readFileSync(path.join(dir, "p.img")).equals(kvmProbeImage())).to.equal(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the probe guest reaches long mode and prints under TCG", async () => {
    requireTool("qemu-system-x86_64");
    const r = await runProbe("tcg", 20_000);
    expect(r.detail).to.equal("");
    expect(r.ms).to.be.a("number");
  });

  it("the choice on this machine comes with its reason", async () => {
    const c = await chooseAccelerator();
    expect(c.reason).to.match(
      c.accelerator === "kvm"
        ? /^the KVM probe guest reached long mode and printed in \d+ ms$/
        : /QEMU's TCG emulator/,
    );
  });
});
