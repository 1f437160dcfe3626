/**
 * One check table per OS family of the catalogue. The families share most checks (the same provisioning
 * scripts harden them); they differ in what their packages make possible (OpenSSH's best key exchange, the
 * guest agent's package) and in per-distribution fixes (Ubuntu's MOTD news).
 */
import { AcceptanceInputError } from "../errors";
import {
  cloudInitDone,
  distinctClones,
  guestAgentEnabled,
  hardeningServices,
  hostKeysFirstBoot,
  hostnameResolvable,
  multiUserWithinLimit,
  noCdromSource,
  passwordLoginRefused,
  rootFilesystemGrown,
  rootLoginRefused,
  seedUserAndKey,
  sshdHardened,
  sysctlsHardened,
  systemLocale,
  systemRunning,
} from "./common";
import { type Check, type GuestCheck, fail, pass } from "./types";

/** Ubuntu's MOTD must not fetch news from the Internet at each login (packer/ubuntu/ubuntu_specific.sh). */
export const motdNewsOff: GuestCheck = {
  kind: "guest",
  name: "ubuntu: MOTD news off",
  command: "grep -H '^ENABLED=' /etc/default/motd-news 2>/dev/null; true",
  expected: () => "no ENABLED=1 in /etc/default/motd-news",
  evaluate(out) {
    const line = out.stdout.trim();
    return /ENABLED=1/.test(line) ? fail(line) : pass(line || "/etc/default/motd-news absent (no motd-news)");
  },
};

/** OpenSSH 9.9 added ML-KEM; before, the hybrid post-quantum exchange is sntrup761 (both spellings exist). */
const SNTRUP = ["sntrup761x25519-sha512", "sntrup761x25519-sha512@openssh.com"];
const MLKEM = ["mlkem768x25519-sha256"];

/** Agent packages and the unit each ships: xe-guest-utilities (XCP-ng's tools ISO, Ubuntu) and xen-guest-agent. */
const AGENTS = [
  { pkg: "xe-guest-utilities", unit: "xe-linux-distribution.service" },
  { pkg: "xen-guest-agent", unit: "xen-guest-agent.service" },
];

function table(firstKex: readonly string[], extra: readonly Check[] = []): readonly Check[] {
  return [
    multiUserWithinLimit,
    systemRunning,
    cloudInitDone,
    seedUserAndKey,
    hostnameResolvable,
    systemLocale,
    hostKeysFirstBoot,
    distinctClones,
    sshdHardened(firstKex),
    sysctlsHardened,
    passwordLoginRefused,
    rootLoginRefused,
    hardeningServices,
    rootFilesystemGrown,
    noCdromSource,
    guestAgentEnabled(AGENTS),
    ...extra,
  ];
}

/** The tables, by `<os>-<version>` as the catalogue spells them. */
export const CHECK_TABLES: Readonly<Record<string, readonly Check[]>> = {
  // OpenSSH 9.2
  "debian-12": table(SNTRUP),
  // OpenSSH 10.0
  "debian-13": table(MLKEM),
  // OpenSSH 9.6
  "ubuntu-24.04": table(SNTRUP, [motdNewsOff]),
};

/**
 * The check table of an OS (`debian` `12` or `12.8`, `ubuntu` `24.04`). Throws {@link AcceptanceInputError} for an
 * OS without one, naming those that have one.
 */
export function checksFor(os: string, version: string): readonly Check[] {
  const distro = os.trim().toLowerCase();
  const v = version.trim();
  // Debian's version is its major release; Ubuntu's is year.month.
  const key = distro === "debian" ? `debian-${v.split(".")[0]}` : `${distro}-${v}`;
  const found = CHECK_TABLES[key];
  if (found === undefined) {
    throw new AcceptanceInputError(
      `no check table for ${os} ${version}; tables exist for ${Object.keys(CHECK_TABLES).join(", ")}. Add one in lib/acceptance/checks/tables.ts`,
    );
  }
  return found;
}
