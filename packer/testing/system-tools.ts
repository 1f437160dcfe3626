import * as fs from "node:fs";
import * as path from "node:path";
import { MissingToolError } from "../../tests/support/tools";

/** Debian packages that provide the system tools the packer tests need, for the "how to get it" hint. */
const PACKAGE_OF: Readonly<Record<string, string>> = {
  debootstrap: "debootstrap",
  sfdisk: "fdisk",
  "mkfs.ext4": "e2fsprogs",
  debugfs: "e2fsprogs",
  "debconf-set-selections": "debconf",
  unshare: "util-linux",
  chroot: "coreutils",
  openssl: "openssl",
  shellcheck: "shellcheck",
};

/**
 * Absolute path of a system tool, looked up in PATH plus the sbin directories (a non-login root shell may
 * lack them), or a MissingToolError that names the Debian package to install.
 */
export function requireSystemTool(name: string): string {
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter), "/usr/sbin", "/sbin"];
  for (const dir of dirs) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not in this directory
    }
  }
  const pkg = PACKAGE_OF[name];
  throw new MissingToolError(
    name,
    pkg ? `Install it with 'apt-get install ${pkg}'.` : "Install the package that provides it.",
  );
}

/** A test that needs root (chroot, mount) fails with this when run as another user. */
export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) {
    throw new MissingToolError("root", `${what} needs root (chroot and mount); run the suite as root.`);
  }
}
