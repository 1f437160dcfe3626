/**
 * A locally built template image for the acceptance tests and bench: packer/build.sh with the local template
 * (debootstrap from the rootfs cache, the provisioning scripts in a chroot, the disk image), stopped before the
 * pool import (`pack_and_import=false`). With the rootfs cached a build takes seconds to a minute; the first
 * build of a Debian release debootstraps it (minutes).
 */
import * as path from "node:path";
import { run } from "../../../tests/support/tools";
import { AcceptanceToolError } from "../errors";

const REPO = path.resolve(__dirname, "../../..");
const MINUTES = 60_000;

export interface LocalImage {
  /** The raw disk image. */
  readonly disk: string;
  /** The rootfs's os-release (for the XVA's guest metrics). */
  readonly osRelease: string;
  /** The build's wall time. */
  readonly seconds: number;
  /** Whether the rootfs came from the cache. */
  readonly cachedRootfs: boolean;
}

/**
 * Builds into `workDir` (new or empty) with an optional variable file (relative to the repository root):
 * none for Debian 12, `packer/local/debian-13.pkrvars.hcl`, `tests/fixtures/acceptance/broken.pkrvars.hcl`.
 */
export async function buildLocalImage(workDir: string, varFile?: string): Promise<LocalImage> {
  const started = Date.now();
  const args = [path.join(REPO, "packer/build.sh"), path.join(REPO, "packer/local/debian12-local.pkr.hcl")];
  if (varFile !== undefined) args.push(path.join(REPO, varFile));
  const r = await run("/bin/bash", args, {
    env: {
      ...process.env,
      CHECKPOINT_DISABLE: "1",
      PKR_VAR_build_id: `accept-${Date.now()}`,
      PKR_VAR_work_directory: workDir,
      PKR_VAR_pack_and_import: "false",
    },
    timeoutMs: 40 * MINUTES,
  });
  if (r.code !== 0) {
    throw new AcceptanceToolError(
      "ACCEPTANCE_TOOL_FAILED",
      "packer/build.sh",
      `the local build${varFile ? ` with ${varFile}` : ""} failed (exit ${r.code}):\n${r.stderr.split("\n").slice(-30).join("\n")}`,
    );
  }
  return {
    disk: path.join(workDir, "disk.raw"),
    osRelease: path.join(workDir, "rootfs/etc/os-release"),
    seconds: Math.round((Date.now() - started) / 1000),
    cachedRootfs: /rootfs\.sh: cache hit/.test(r.stderr),
  };
}
