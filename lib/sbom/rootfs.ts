import { promises as fs } from "node:fs";
import * as path from "node:path";
import { dep5LicenceNames } from "./dep5";
import { SbomInputError } from "./errors";
import type { LicenceLookup, PackageDatabase } from "./cyclonedx";
import { messageOf } from "../errors";

/** Symlinks followed in one lookup before giving up, as Linux's ELOOP limit (path_resolution(7)). */
const MAX_SYMLINKS = 40;

/**
 * Where `rel` (a path inside the image, e.g. `usr/share/doc/kmod/copyright`) is under the root filesystem `root`,
 * following symlinks as the image itself would: an absolute target restarts from `root`, `..` stops at `root`. So
 * `usr/share/doc/kmod -> libkmod2` and `etc/os-release -> ../usr/lib/os-release` resolve, and no link in the image
 * can make the build host read its own files. Undefined when a component is missing or the links loop.
 */
export async function resolveInRoot(root: string, rel: string): Promise<string | undefined> {
  const pending = rel.split("/").filter((c) => c !== "" && c !== ".");
  const done: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const c = pending.shift() as string;
    if (c === "..") {
      done.pop();
      continue;
    }
    const host = path.join(root, ...done, c);
    let st;
    try {
      st = await fs.lstat(host);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "ENOTDIR") {
        return undefined;
      }
      throw e;
    }
    if (!st.isSymbolicLink()) {
      done.push(c);
      continue;
    }
    if (++links > MAX_SYMLINKS) return undefined;
    const target = await fs.readlink(host);
    if (target.startsWith("/")) done.length = 0;
    pending.unshift(...target.split("/").filter((t) => t !== "" && t !== "."));
  }
  return path.join(root, ...done);
}

/** The text of `rel` inside the image, or undefined when it is not there. */
async function readInRoot(root: string, rel: string): Promise<string | undefined> {
  const host = await resolveInRoot(root, rel);
  if (host === undefined) return undefined;
  try {
    return await fs.readFile(host, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "EISDIR") return undefined;
    throw new SbomInputError("MISSING_FILE", `cannot read /${rel} in the image at ${root}: ${messageOf(e)}`, {
      cause: e,
    });
  }
}

/**
 * A licence lookup over the image's `usr/share/doc/<package>/copyright` files: the DEP-5 licence names of a
 * package, or undefined when it has no machine-readable copyright file. Several binary packages often share one
 * doc directory through a symlink (`openssh-server -> openssh-client`): followed inside the image.
 */
export function rootfsLicences(root: string): LicenceLookup {
  return async (pkg) => {
    if (!/^[a-z0-9][a-z0-9+.-]*$/.test(pkg)) return undefined; // Debian policy 5.6.1: anything else is no package
    const text = await readInRoot(root, `usr/share/doc/${pkg}/copyright`);
    return text === undefined ? undefined : dep5LicenceNames(text);
  };
}

/**
 * The package database of the root filesystem at `root` (an extracted or mounted image): its dpkg status, its
 * os-release (`etc/os-release`, else `usr/lib/os-release`, as os-release(5) says to look), and its licences.
 */
export async function rootfsPackageDatabase(root: string): Promise<PackageDatabase> {
  const status = await readInRoot(root, "var/lib/dpkg/status");
  if (status === undefined) {
    throw new SbomInputError(
      "MISSING_FILE",
      `no /var/lib/dpkg/status in the image at ${root}: the SBOM reads dpkg's database, so the image must be a ` +
        `Debian or Ubuntu root filesystem, extracted or mounted (expected ${path.join(root, "var/lib/dpkg/status")})`,
    );
  }
  const osRelease =
    (await readInRoot(root, "etc/os-release")) ?? (await readInRoot(root, "usr/lib/os-release"));
  if (osRelease === undefined) {
    throw new SbomInputError(
      "MISSING_FILE",
      `no /etc/os-release nor /usr/lib/os-release in the image at ${root}: the SBOM names the distribution of ` +
        `its packages from it (base-files installs it on Debian and Ubuntu)`,
    );
  }
  return { dpkgStatus: status, osRelease, licences: rootfsLicences(root) };
}
