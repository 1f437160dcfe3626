/**
 * Structural check of an Ubuntu autoinstall document (the `autoinstall:` section of cloud-init user-data),
 * after subiquity's reference: the top-level keys it knows, version 1, an identity (or user-data) with the
 * fields it requires. Returns one problem per finding; an empty list means the document is acceptable.
 */
export const AUTOINSTALL_KEYS: ReadonlySet<string> = new Set([
  "version",
  "interactive-sections",
  "early-commands",
  "locale",
  "refresh-installer",
  "keyboard",
  "source",
  "network",
  "proxy",
  "apt",
  "storage",
  "identity",
  "active-directory",
  "ubuntu-pro",
  "ssh",
  "codecs",
  "drivers",
  "oem",
  "snaps",
  "debconf-selections",
  "packages",
  "kernel",
  "kernel-crash-dumps",
  "timezone",
  "updates",
  "shutdown",
  "late-commands",
  "error-commands",
  "reporting",
  "user-data",
  "zdevs",
]);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function autoinstallProblems(userData: unknown): string[] {
  const problems: string[] = [];
  if (!isRecord(userData)) return ["user-data is not a YAML mapping"];
  const ai = userData.autoinstall;
  if (!isRecord(ai)) return ["user-data has no 'autoinstall' mapping"];
  for (const k of Object.keys(ai)) {
    if (!AUTOINSTALL_KEYS.has(k)) problems.push(`unknown autoinstall key '${k}'`);
  }
  if (ai.version !== 1) problems.push(`autoinstall.version must be 1, got ${JSON.stringify(ai.version)}`);
  if (!("identity" in ai) && !("user-data" in ai))
    problems.push("autoinstall needs 'identity' or 'user-data'");
  if ("identity" in ai) {
    const id = ai.identity;
    if (!isRecord(id)) problems.push("autoinstall.identity must be a mapping");
    else {
      for (const f of ["hostname", "username", "password"]) {
        if (typeof id[f] !== "string" || id[f] === "")
          problems.push(`autoinstall.identity.${f} must be a string`);
      }
    }
  }
  for (const list of ["early-commands", "late-commands", "error-commands", "packages"]) {
    if (list in ai && !Array.isArray(ai[list])) problems.push(`autoinstall.${list} must be a list`);
  }
  if ("ssh" in ai && isRecord(ai.ssh) && typeof ai.ssh["install-server"] !== "boolean") {
    problems.push("autoinstall.ssh.install-server must be true or false");
  }
  return problems;
}
