import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { requireRoot, requireTool, run, type RunResult } from "../../tests/support/tools";
import { PACKER_DIR } from "./paths";

/** A Debian 12 root filesystem unpacked for one test file; remove it with `dispose`. */
export interface TestRootfs {
  /** The root filesystem. */
  readonly root: string;
  /** Removes it (nothing is mounted in it: packer/local/chroot-run.sh mounts in a private namespace). */
  dispose(): void;
}

const MINUTES = 60_000;

/**
 * Unpacks the Debian 12 rootfs of the local build path through packer/local/rootfs.sh, whose cache
 * (~/.cache/xcpng-templates/rootfs, or XCPNG_ROOTFS_CACHE) makes every call after the first take seconds.
 */
export async function unpackRootfs(): Promise<TestRootfs> {
  requireRoot("a debootstrap chroot");
  for (const tool of ["debootstrap", "unshare", "chroot"]) requireTool(tool);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "xcpng-rootfs-"));
  const root = path.join(dir, "rootfs");
  const dispose = (): void => fs.rmSync(dir, { recursive: true, force: true });
  const r = await run("bash", [path.join(PACKER_DIR, "local/rootfs.sh"), "--out", root], {
    timeoutMs: 20 * MINUTES,
  });
  if (r.code !== 0) {
    dispose();
    throw new Error(`packer/local/rootfs.sh failed (exit ${r.code}):\n${r.stderr}`);
  }
  return { root, dispose };
}

/** Runs provisioning scripts (paths relative to packer/) in the rootfs through packer/local/chroot-run.sh. */
export function runScripts(
  root: string,
  scripts: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<RunResult> {
  return run("bash", [path.join(PACKER_DIR, "local/chroot-run.sh"), root, ...scripts], {
    env: { ...process.env, ...env },
    timeoutMs: 15 * MINUTES,
  });
}

/** Runs one command inside the rootfs with plain chroot (no mounts): for read-only checks such as `sshd -T`. */
export function inChroot(root: string, command: string, args: readonly string[]): Promise<RunResult> {
  return run(requireTool("chroot"), [root, command, ...args], {
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C.UTF-8" },
  });
}
