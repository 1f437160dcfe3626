/**
 * Booting clones with QEMU on the runner (Debian's qemu-system-x86 and qemu-utils): the template's raw disk as
 * the read-only backing file of a qcow2 overlay per clone (`qemu-img create -b … -F raw`, larger than the
 * template so the root filesystem must grow), the seed as a read-only ISO, user-mode networking with only SSH
 * forwarded to a free loopback port (`restrict=on`: the guest reaches nothing else), the serial console written
 * to a file.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as net from "node:net";
import * as path from "node:path";
import { type AcceleratorChoice, acceleratorArgs, chooseAccelerator } from "./accelerator";
import type { BootPlace, CloneExit, CloneSpec, PreparedImage, RunningClone } from "./boot-place";
import { AcceptanceBootError } from "./errors";
import { findTool, orphanSafe, runTool } from "./process";
import { writeSeedImage } from "./seed";
import type { Accelerator, AcceptanceProgress, XvaSource } from "./types";
import { unpackBootDisk } from "./xva-disk";

export interface QemuImage extends PreparedImage {
  /** The template's boot disk, raw, read-only. */
  readonly rawPath: string;
}

export interface QemuPlaceOptions {
  /** `auto` probes KVM ({@link chooseAccelerator}); `kvm` or `tcg` force one. @default "auto" */
  readonly accelerator?: "auto" | Accelerator;
  /** Memory of each clone, MiB. @default 1024 */
  readonly memoryMib?: number;
  /** vCPUs of each clone. @default 1 */
  readonly cpus?: number;
}

/** A free TCP port on the loopback interface, as the kernel hands them out. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** QEMU's arguments for one clone. Pure, for tests. */
export function qemuArgs(o: {
  accelerator: Accelerator;
  memoryMib: number;
  cpus: number;
  overlay: string;
  seedImage: string;
  sshPort: number;
  consoleLogPath: string;
}): string[] {
  return [
    ...acceleratorArgs(o.accelerator),
    "-m",
    String(o.memoryMib),
    "-smp",
    String(o.cpus),
    "-nodefaults",
    "-no-user-config",
    "-display",
    "none",
    "-no-reboot",
    "-drive",
    `if=none,id=root,file=${o.overlay},format=qcow2`,
    "-device",
    "virtio-blk-pci,drive=root,bootindex=0",
    "-drive",
    `if=none,id=seed,file=${o.seedImage},format=raw,readonly=on`,
    "-device",
    "virtio-blk-pci,drive=seed",
    "-netdev",
    `user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:${o.sshPort}-:22`,
    "-device",
    "virtio-net-pci,netdev=net0",
    "-serial",
    `file:${o.consoleLogPath}`,
  ];
}

const HOSTFWD_TAKEN = /Could not set up host forwarding rule/;

export class QemuBootPlace implements BootPlace<QemuImage> {
  readonly kind = "qemu";
  readonly accelerator: Accelerator;
  readonly acceleratorReason: string;
  private readonly memoryMib: number;
  private readonly cpus: number;

  constructor(choice: AcceleratorChoice, opts: QemuPlaceOptions = {}) {
    this.accelerator = choice.accelerator;
    this.acceleratorReason = choice.reason;
    this.memoryMib = opts.memoryMib ?? 1024;
    this.cpus = opts.cpus ?? 1;
  }

  async prepare(
    xva: XvaSource,
    dir: string,
    opts: { expectedSha256?: string; onProgress?: (p: AcceptanceProgress) => void },
  ): Promise<QemuImage> {
    const disk = await unpackBootDisk(xva, dir, opts);
    return { rawPath: disk.path, diskBytes: disk.diskBytes, sha256: disk.sha256, bytes: disk.bytes };
  }

  async boot(image: QemuImage, clone: CloneSpec): Promise<RunningClone> {
    const overlay = path.join(clone.dir, `${clone.name}-overlay.qcow2`);
    await runTool("qemu-img", [
      "create",
      "-q",
      "-f",
      "qcow2",
      "-F",
      "raw",
      "-b",
      path.resolve(image.rawPath),
      overlay,
      String(Math.max(clone.diskBytes, image.diskBytes)),
    ]);
    const seedImage = await writeSeedImage(clone.seed, clone.dir, clone.name);
    // The port is free when chosen but may be taken before QEMU binds it: then QEMU exits at once saying so,
    // and another port is tried.
    for (let attempt = 1; ; attempt++) {
      const sshPort = await freeLoopbackPort();
      const started = await this.start(clone, {
        accelerator: this.accelerator,
        memoryMib: this.memoryMib,
        cpus: this.cpus,
        overlay,
        seedImage,
        sshPort,
        consoleLogPath: clone.consoleLogPath,
      });
      if (started !== "port-taken") return started;
      if (attempt === 3) {
        throw new AcceptanceBootError(
          "ACCEPTANCE_VM_START",
          clone.name,
          "QEMU could not forward a loopback port for SSH three times in a row (ports taken as soon as freed)",
          clone.consoleLogPath,
        );
      }
    }
  }

  /** Starts QEMU and watches its first second: a bad argument or a taken port makes it exit at once. */
  private async start(
    clone: CloneSpec,
    args: Parameters<typeof qemuArgs>[0],
  ): Promise<RunningClone | "port-taken"> {
    const child: ChildProcess = spawn(...orphanSafe(findTool("qemu-system-x86_64"), qemuArgs(args)), {
      stdio: ["ignore", "ignore", "pipe"],
    });
    const startedAtMs = Date.now();
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    let stopping = false;
    const exit = new Promise<CloneExit>((resolve) => {
      child.once("exit", (code, signal) => resolve({ code, signal, detail: stderr.trim().slice(-1000) }));
      child.once("error", (e) => resolve({ code: null, signal: null, detail: e.message }));
    });
    const early = await Promise.race([
      exit,
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 1000)),
    ]);
    if (early !== undefined) {
      if (HOSTFWD_TAKEN.test(early.detail)) return "port-taken";
      throw new AcceptanceBootError(
        "ACCEPTANCE_VM_START",
        clone.name,
        `QEMU exited at start (code ${early.code}, signal ${early.signal}): ${early.detail}`,
        clone.consoleLogPath,
      );
    }
    return {
      name: clone.name,
      ssh: { host: "127.0.0.1", port: args.sshPort },
      consoleLogPath: clone.consoleLogPath,
      startedAtMs,
      // Never settles when we stopped it ourselves.
      exited: exit.then((e) => (stopping ? new Promise<CloneExit>(() => undefined) : e)),
      async stop() {
        if (stopping) return;
        stopping = true;
        if (child.exitCode === null && child.signalCode === null) {
          child.kill("SIGTERM");
          const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
          await exit;
          clearTimeout(killer);
        }
      },
    };
  }
}

/** QEMU on this machine, with KVM when the probe proves it works (or as forced), else TCG. */
export async function createQemuBootPlace(opts: QemuPlaceOptions = {}): Promise<QemuBootPlace> {
  for (const tool of ["qemu-system-x86_64", "qemu-img", "cloud-localds", "ssh", "ssh-keygen", "setpriv"]) {
    findTool(tool);
  }
  const wanted = opts.accelerator ?? "auto";
  const choice: AcceleratorChoice =
    wanted === "auto" ? await chooseAccelerator() : { accelerator: wanted, reason: `forced to ${wanted}` };
  return new QemuBootPlace(choice, opts);
}
