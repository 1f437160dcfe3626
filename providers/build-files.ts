import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/**
 * The files a build leaves on the machine that ran it, one directory per build:
 *
 *   <root>/<template>-<build id>/packer.log       the full build log (every line, masked)
 *   <root>/<template>-<build id>/sbom.cdx.json    the image's SBOM, written by the build (XCPNG_SBOM_FILE)
 *
 * `<root>` is XCPNG_BUILDS_DIR, else `$XDG_CACHE_HOME/xcpng-templates/builds` (`~/.cache/...`), beside the local
 * path's rootfs cache: it outlives the update (a log to read after a failure, the SBOM for the export that follows
 * the build), unlike a temporary directory. Directories older than {@link BUILD_FILES_MAX_AGE_DAYS} are removed
 * when a build starts.
 */
export interface BuildFiles {
  readonly dir: string;
  readonly logFile: string;
  readonly sbomFile: string;
}

/** Days a build's files are kept (no build runs that long: the build timeout is at most a day). */
export const BUILD_FILES_MAX_AGE_DAYS = 14;

/** The root of every build's files, from the environment. */
export function buildsRoot(env: NodeJS.ProcessEnv): string {
  if (env.XCPNG_BUILDS_DIR) return path.resolve(env.XCPNG_BUILDS_DIR);
  const cache = env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), ".cache");
  return path.join(cache, "xcpng-templates", "builds");
}

/** The files of one build (nothing is created). */
export function buildFiles(root: string, template: string, buildId: string): BuildFiles {
  const dir = path.join(root, `${template}-${buildId}`);
  return { dir, logFile: path.join(dir, "packer.log"), sbomFile: path.join(dir, "sbom.cdx.json") };
}

/** Creates the build's directory (mode 0700: a log may hold what a mask missed). */
export function makeBuildDir(files: BuildFiles): void {
  fs.mkdirSync(files.dir, { recursive: true, mode: 0o700 });
}

/** Removes the directories of builds older than `maxAgeDays` under `root`; returns how many. */
export function pruneBuildFiles(root: string, now: Date, maxAgeDays = BUILD_FILES_MAX_AGE_DAYS): number {
  let removed = 0;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(root, { withFileTypes: true });
  } catch {
    return 0; // no builds yet
  }
  const limit = now.getTime() - maxAgeDays * 24 * 3600 * 1000;
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const dir = path.join(root, e.name);
    if (fs.statSync(dir).mtimeMs < limit) {
      fs.rmSync(dir, { recursive: true, force: true });
      removed++;
    }
  }
  return removed;
}
