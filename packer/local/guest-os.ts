/**
 * What a guest agent would report for the OS of a root filesystem, read from its files: the local build has no
 * running guest, so the XVA's VM_guest_metrics.os_version is filled from the rootfs instead, with the keys
 * xe-guest-utilities writes (`name`, `distro`, `major`, `minor`, `uname`; xe-linux-distribution).
 */

import { XcpngError } from "../../lib/errors";

/** Error in the OS description of a rootfs: what was read, what was expected. */
export class GuestOsError extends XcpngError {
  constructor(message: string) {
    super("GUEST_OS_UNREADABLE", message);
  }
}

/**
 * Parses os-release(5): `KEY=value` lines, values optionally in single or double quotes, with `\"`, `\\`, `\$`
 * and `` \` `` escapes inside double quotes; comments and blank lines ignored.
 */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2]!;
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) {
      v = v.slice(1, -1).replace(/\\(["\\$`])/g, "$1");
    } else if (v.length >= 2 && v.startsWith("'") && v.endsWith("'")) {
      v = v.slice(1, -1);
    }
    out[m[1]!] = v;
  }
  return out;
}

/** The os_version map of VM_guest_metrics for an OS described by os-release (and Debian's point release). */
export function guestOsVersion(
  osRelease: Readonly<Record<string, string>>,
  opts: { debianVersion?: string; kernelRelease?: string } = {},
): Record<string, string> {
  const distro = (osRelease.ID ?? "").toLowerCase();
  if (!/^[a-z0-9._-]+$/.test(distro)) {
    throw new GuestOsError(
      `guest-os: os-release has no usable ID (expected e.g. ID=debian), but ${JSON.stringify(osRelease.ID ?? null)} was given`,
    );
  }
  // Debian's VERSION_ID is the major release ("12"); the point release is in /etc/debian_version ("12.12").
  const version = (distro === "debian" && opts.debianVersion?.trim()) || osRelease.VERSION_ID || "";
  const m = /^(\d+)(?:\.(\d+))?/.exec(version);
  if (!m) {
    throw new GuestOsError(
      `guest-os: ${distro} has no numeric version (expected VERSION_ID like "12" or "24.04"), but ${JSON.stringify(version)} was given`,
    );
  }
  const out: Record<string, string> = {
    name: osRelease.PRETTY_NAME ?? `${osRelease.NAME ?? distro} ${version}`,
    distro,
    major: m[1]!,
  };
  if (m[2] !== undefined) out.minor = m[2];
  if (opts.kernelRelease) out.uname = opts.kernelRelease;
  return out;
}
