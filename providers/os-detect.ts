/** An operating system as detected on a template (from VM_guest_metrics.os_version or the XVA's ova.xml). */
export interface DetectedOs {
  /** Lowercase distribution id, e.g. "debian", "ubuntu". */
  readonly distro: string;
  /** "12", "24.04": major, plus minor where the distribution versions that way. */
  readonly version: string;
  /** Human name as the guest reported it, e.g. "Debian GNU/Linux 12 (bookworm)". */
  readonly name: string;
}

/** Distributions whose release number includes the minor part (Ubuntu 24.04 vs Debian 12.x point releases). */
const MINOR_IS_RELEASE = new Set(["ubuntu"]);

/**
 * Reads the guest agent's os_version map (keys distro, major, minor, name, uname as xe-guest-utilities reports
 * them). Returns undefined when the map says too little to tell.
 */
export function osFromGuestMetrics(
  osVersion: Readonly<Record<string, string>> | undefined,
): DetectedOs | undefined {
  if (!osVersion) return undefined;
  const distro = (osVersion.distro ?? "").trim().toLowerCase();
  const major = (osVersion.major ?? "").trim();
  if (!distro || !/^\d+$/.test(major)) return undefined;
  const minor = (osVersion.minor ?? "").trim();
  const version =
    MINOR_IS_RELEASE.has(distro) && /^\d+$/.test(minor) ? `${major}.${minor.padStart(2, "0")}` : major;
  return { distro, version, name: (osVersion.name ?? "").trim() || `${distro} ${version}` };
}

/** Why the detected OS is not the declared one, or undefined when they agree. */
export function osMismatch(
  declared: { os: string; version: string },
  detected: DetectedOs | undefined,
): string | undefined {
  if (!detected) {
    return (
      `declared ${declared.os} ${declared.version}, but the template reports no OS: its guest agent ` +
      `(xe-guest-utilities) did not fill VM_guest_metrics.os_version during the build`
    );
  }
  if (detected.distro !== declared.os || detected.version !== declared.version) {
    return `declared ${declared.os} ${declared.version}, but the template reports ${detected.distro} ${detected.version} ("${detected.name}")`;
  }
  return undefined;
}
