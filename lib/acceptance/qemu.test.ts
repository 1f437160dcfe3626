import { expect } from "chai";
import { freeLoopbackPort, qemuArgs } from "./qemu";

describe("acceptance QEMU clone", () => {
  const base = {
    memoryMib: 1024,
    cpus: 1,
    overlay: "/w/a-overlay.qcow2",
    seedImage: "/w/a-seed.iso",
    sshPort: 40022,
    consoleLogPath: "/w/console-a.log",
  };
  const args = (accelerator: "kvm" | "tcg"): string => qemuArgs({ ...base, accelerator }).join(" ");

  it("boots the overlay, never the template's disk, and the seed read-only", () => {
    const a = args("tcg");
    expect(a).to.include("-drive if=none,id=root,file=/w/a-overlay.qcow2,format=qcow2");
    expect(a).to.include("-drive if=none,id=seed,file=/w/a-seed.iso,format=raw,readonly=on");
    expect(a).to.not.match(/\.raw/);
  });

  it("forwards only SSH, on loopback, and isolates the guest from every other network", () => {
    expect(args("tcg")).to.include("-netdev user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:40022-:22");
  });

  it("writes the serial console to the kept log, shows no display, does not reboot", () => {
    const a = args("tcg");
    expect(a).to.include("-serial file:/w/console-a.log");
    expect(a).to.include("-display none");
    expect(a).to.include("-no-reboot");
    expect(a).to.include("-nodefaults");
  });

  it("KVM runs the host's CPU model; TCG QEMU's default", () => {
    expect(args("kvm")).to.match(/^-accel kvm -cpu host /);
    expect(args("tcg")).to.match(/^-accel tcg -machine pc /);
  });

  it("freeLoopbackPort gives a port the kernel considered free", async () => {
    const p = await freeLoopbackPort();
    expect(p).to.be.within(1024, 65535);
  });
});
