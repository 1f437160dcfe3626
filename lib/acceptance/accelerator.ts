/**
 * KVM or TCG: KVM only where it demonstrably runs a guest. A `/dev/kvm` that exists is not enough: on nested
 * machines without hardware virtualisation the kernel may offer an emulated KVM whose guests crawl or hang
 * without output. So a tiny guest (kvm-probe.S: a boot sector that enters 64-bit long mode and writes a line to
 * the serial port) is started with `-accel kvm`; KVM is chosen only when the line arrives within a short timeout.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { findTool, orphanSafe } from "./process";
import type { Accelerator } from "./types";

/** kvm-probe.S assembled (the code and message; the rest of the 512-byte sector is zeros and the 0x55AA mark). */
export const KVM_PROBE_CODE_HEX =
  "fa31c08ed88ec08ed0bc007cfcbf0010b90018f3abc70600100320c70600200330c706003083000f20e06683c8200f22e066b8001000" +
  "000f22d866b9800000c00f32660d000100000f30660f0116907c0f20c0660d010000800f22c0ea617c080066baf803488d352a000000" +
  "ac84c07403eeebf8faf4ebfd000000000000000000000000009a200000000000009200001700787c00007863706e672d6b766d2d7072" +
  "6f62653a206c6f6e67206d6f6465206f6b0a";

/** What the probe guest writes to its serial port from long mode. */
export const KVM_PROBE_MARKER = "xcpng-kvm-probe: long mode ok";

/** The probe's boot sector: code, zeros, and the boot signature at 510. */
export function kvmProbeImage(): Buffer {
  const img = Buffer.alloc(512);
  Buffer.from(KVM_PROBE_CODE_HEX, "hex").copy(img);
  img[510] = 0x55;
  img[511] = 0xaa;
  return img;
}

export interface AcceleratorChoice {
  readonly accelerator: Accelerator;
  /** One sentence: why (e.g. "no /dev/kvm", "the KVM probe guest printed nothing within 3 s"). */
  readonly reason: string;
}

export interface ProbeOptions {
  /** How long the probe guest may take to print, ms. A working KVM prints in well under a second. @default 3000 */
  readonly timeoutMs?: number;
  /** The KVM device. @default "/dev/kvm" */
  readonly device?: string;
}

/**
 * The accelerator, CPU model and machine of every guest: the clones' and the probe's alike, so that the probe
 * proves what the clones will use (on a nested KVM, `-cpu host` alone can abort QEMU on an MSR it cannot set).
 */
export function acceleratorArgs(accel: Accelerator): string[] {
  return ["-accel", accel, ...(accel === "kvm" ? ["-cpu", "host"] : []), "-machine", "pc"];
}

/** Runs the probe guest under `accel` and resolves with how long it took to print, or undefined within the timeout. */
export async function runProbe(
  accel: Accelerator,
  timeoutMs: number,
): Promise<{ ms?: number; exited: boolean; detail: string }> {
  const qemu = findTool("qemu-system-x86_64");
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "xcpng-kvm-probe-"));
  const image = path.join(dir, "probe.img");
  const serial = path.join(dir, "serial.log");
  await fs.writeFile(image, kvmProbeImage());
  const started = Date.now();
  const child = spawn(
    ...orphanSafe(qemu, [
      ...acceleratorArgs(accel),
      "-nodefaults",
      "-no-user-config",
      "-display",
      "none",
      "-m",
      "16",
      "-drive",
      `file=${image},format=raw,if=ide,snapshot=on`,
      "-serial",
      `file:${serial}`,
    ]),
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  let exited = false;
  const done = new Promise<void>((resolve) => {
    const end = (): void => {
      exited = true;
      resolve();
    };
    child.once("exit", end);
    child.once("error", end);
  });
  try {
    while (Date.now() - started < timeoutMs && !exited) {
      const out = await fs.readFile(serial, "utf8").catch(() => "");
      if (out.includes(KVM_PROBE_MARKER)) return { ms: Date.now() - started, exited: false, detail: "" };
      await new Promise((r) => setTimeout(r, 50));
    }
    const out = await fs.readFile(serial, "utf8").catch(() => "");
    if (out.includes(KVM_PROBE_MARKER)) return { ms: Date.now() - started, exited: false, detail: "" };
    return exited
      ? { exited, detail: `QEMU exited: ${stderr.trim().split("\n").slice(-2).join(" | ")}` }
      : { exited, detail: "no output" };
  } finally {
    if (!exited) child.kill("SIGKILL");
    await done;
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** KVM when /dev/kvm is usable and the probe guest prints in time; TCG otherwise, with the reason. */
export async function chooseAccelerator(opts: ProbeOptions = {}): Promise<AcceleratorChoice> {
  const device = opts.device ?? "/dev/kvm";
  const timeoutMs = opts.timeoutMs ?? 3000;
  try {
    await fs.access(device, fs.constants.R_OK | fs.constants.W_OK);
  } catch (e) {
    const why =
      (e as NodeJS.ErrnoException).code === "ENOENT"
        ? `no ${device}`
        : `${device} is not read-write for this user`;
    return { accelerator: "tcg", reason: `${why}: QEMU's TCG emulator` };
  }
  const probe = await runProbe("kvm", timeoutMs);
  if (probe.ms !== undefined) {
    return {
      accelerator: "kvm",
      reason: `the KVM probe guest reached long mode and printed in ${probe.ms} ms`,
    };
  }
  const why = probe.exited
    ? `QEMU could not run the KVM probe guest (${probe.detail})`
    : `the KVM probe guest printed nothing within ${timeoutMs / 1000} s (a KVM that does not run guests at speed: nested without hardware virtualisation?)`;
  return { accelerator: "tcg", reason: `${device} exists but ${why}: QEMU's TCG emulator instead` };
}
