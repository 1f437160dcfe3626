import { expect } from "chai";
import { KVM_PROBE_MARKER, chooseAccelerator, kvmProbeImage } from "./accelerator";

describe("acceptance accelerator choice", () => {
  it("the probe guest is one boot sector that carries its marker line", () => {
    const img = kvmProbeImage();
    expect(img.byteLength).to.equal(512);
    expect(img.readUInt16LE(510)).to.equal(0xaa55);
    expect(img.toString("latin1")).to.include(`${KVM_PROBE_MARKER}\n`);
    // cli; xor ax,ax: it starts in real mode.
    expect(img.subarray(0, 3).toString("hex")).to.equal("fa31c0");
  });

  it("no KVM device: TCG, saying so, without starting QEMU", async () => {
    const choice = await chooseAccelerator({ device: "/nonexistent/kvm" });
    expect(choice).to.deep.equal({ accelerator: "tcg", reason: "no /nonexistent/kvm: QEMU's TCG emulator" });
  });
});
