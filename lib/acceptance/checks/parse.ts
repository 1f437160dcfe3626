/**
 * Parsers of the outputs the checks read (systemd, cloud-init, OpenSSH, procps, util-linux). Pure functions,
 * tolerant of the format differences between Debian 12, Debian 13 and Ubuntu 24.04, and unit-tested on recorded
 * outputs of each.
 */

/** Lines of a text, trailing whitespace and empty lines dropped. */
export function lines(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.replace(/\s+$/, ""))
    .filter((l) => l !== "");
}

/**
 * A systemd time span as systemd prints it (`format_timespan`): `2min 5.605s`, `812ms`, `1h 2min`, `52.154s`,
 * `1.5us`. Returns seconds, or undefined when the text is not a time span.
 */
export function parseTimespan(text: string): number | undefined {
  const units: Record<string, number> = {
    y: 31557600,
    month: 2629800,
    w: 604800,
    d: 86400,
    h: 3600,
    min: 60,
    s: 1,
    ms: 1e-3,
    us: 1e-6,
    µs: 1e-6,
  };
  const parts = text.trim().split(/\s+/);
  if (parts.length === 0 || parts[0] === "") return undefined;
  let total = 0;
  for (const part of parts) {
    const m = /^(\d+(?:\.\d+)?)(y|month|w|d|h|min|ms|us|µs|s)$/.exec(part);
    if (!m) return undefined;
    total += Number(m[1]) * units[m[2]!]!;
  }
  return total;
}

/**
 * `systemd-analyze time`: the seconds before userspace (firmware, loader, kernel and initrd, whichever are
 * printed), e.g. `Startup finished in 5.808s (kernel) + 2min 5.605s (userspace) = 2min 11.413s`.
 */
export function parseStartupBeforeUserspace(text: string): number | undefined {
  const m = /Startup finished in (.*?) = /.exec(text);
  if (!m) return undefined;
  let total = 0;
  let sawUserspace = false;
  for (const term of m[1]!.split(" + ")) {
    const t = /^(.*) \(([a-z]+)\)$/.exec(term.trim());
    if (!t) return undefined;
    if (t[2] === "userspace") {
      sawUserspace = true;
      continue;
    }
    const s = parseTimespan(t[1]!);
    if (s === undefined) return undefined;
    total += s;
  }
  return sawUserspace ? total : undefined;
}

/** `systemd-analyze critical-chain <unit>`: the seconds after userspace start at which `unit` became active. */
export function parseCriticalChainAt(text: string, unit: string): number | undefined {
  for (const l of lines(text)) {
    const m = /^(\S+) @(.+?)(?: \+.*)?$/.exec(l.trim());
    if (m && m[1] === unit) return parseTimespan(m[2]!);
  }
  return undefined;
}

/** `systemctl is-system-running` followed by `systemctl list-units --state=failed --no-legend --plain`. */
export function parseSystemState(text: string): { state: string; failedUnits: string[] } {
  const [state = "", ...rest] = lines(text);
  return { state: state.trim(), failedUnits: rest.map((l) => l.trim().split(/\s+/)[0]!).filter(Boolean) };
}

export interface CloudInitStatus {
  /** `done`, `error`, `running`, `disabled`, `not started` (and `degraded done` in some 23.x releases). */
  readonly status: string;
  /** Entries of `errors:` (cloud-init >= 23.4); for older releases, the `detail:` lines when status is error. */
  readonly errors: string[];
  /** Entries of `recoverable_errors:` (cloud-init >= 23.4): warnings and deprecations that did not stop it. */
  readonly recoverableErrors: string[];
  /** The `detail:` block. */
  readonly detail: string[];
}

/**
 * `cloud-init status --long`. Two layouts: 22.4 (Debian 12) prints `status`, `boot_status_code`, `last_update`,
 * `detail:`; 23.4 and later add `extended_status`, `errors: []` or a list, `recoverable_errors: {}` or a map of
 * level to list.
 */
export function parseCloudInitStatus(text: string): CloudInitStatus {
  let status = "";
  const errors: string[] = [];
  const recoverable: string[] = [];
  const detail: string[] = [];
  let section: "errors" | "recoverable" | "detail" | undefined;
  for (const raw of text.split("\n")) {
    const l = raw.replace(/\s+$/, "");
    if (l === "") continue;
    const key = /^([a-z_]+):\s?(.*)$/.exec(l);
    if (key && !/^\s/.test(l)) {
      const [, name, value = ""] = key;
      section = undefined;
      if (name === "status") status = value.trim();
      else if (name === "errors") {
        section = "errors";
        if (value.trim() !== "" && value.trim() !== "[]") errors.push(value.trim());
      } else if (name === "recoverable_errors") {
        section = "recoverable";
        if (value.trim() !== "" && value.trim() !== "{}") recoverable.push(value.trim());
      } else if (name === "detail") {
        section = "detail";
        if (value.trim() !== "") detail.push(value.trim());
      }
      continue;
    }
    const item = l.trim().replace(/^-\s*/, "");
    if (section === "errors") errors.push(item);
    else if (section === "recoverable") {
      // `WARNING:` level keys are headings of the list that follows.
      if (!/^[A-Z]+:$/.test(item)) recoverable.push(item);
    } else if (section === "detail") detail.push(item);
  }
  // 22.4 has no errors list: its detail says what failed when the status is error.
  if (status === "error" && errors.length === 0) errors.push(...detail);
  return { status, errors, recoverableErrors: recoverable, detail };
}

/**
 * `sshd -T`: lowercase keyword → values (keywords such as `hostkey` or `subsystem` repeat; their values are
 * kept in order).
 */
export function parseSshdConfig(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const l of lines(text)) {
    const m = /^(\S+)\s+(.*)$/.exec(l.trim());
    if (!m) continue;
    const k = m[1]!.toLowerCase();
    out.set(k, [...(out.get(k) ?? []), m[2]!.trim()]);
  }
  return out;
}

/** `sysctl a b c` output: `key = value` lines. */
export function parseSysctl(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of lines(text)) {
    const m = /^([\w.-]+)\s*=\s*(.*)$/.exec(l.trim());
    if (m) out.set(m[1]!, m[2]!.trim().replace(/\s+/g, " "));
  }
  return out;
}

/** `ssh-keygen -l` lines (`256 SHA256:abc comment (ED25519)`): fingerprint and key type. */
export function parseFingerprints(text: string): { fingerprint: string; type: string }[] {
  const out: { fingerprint: string; type: string }[] = [];
  for (const l of lines(text)) {
    const m = /^\d+\s+(SHA256:[A-Za-z0-9+/=]+)\s.*\(([A-Z0-9-]+)\)$/.exec(l.trim());
    if (m) out.push({ fingerprint: m[1]!, type: m[2]! });
  }
  return out;
}

/** The authentication methods an SSH server still offered when it refused: `Permission denied (publickey,password).` */
export function parsePermissionDenied(stderr: string): string[] | undefined {
  const m = /Permission denied \(([^)]*)\)/.exec(stderr);
  return m ? m[1]!.split(",").filter(Boolean) : undefined;
}

/** Normalizes a locale name the way glibc compares them: `C.UTF-8` and `C.utf8` are one locale. */
export function normalizeLocale(name: string): string {
  const [lang = "", rest = ""] = name.trim().split(".", 2);
  if (rest === "") return lang;
  const [codeset = "", modifier] = rest.split("@", 2);
  const cs = codeset.toLowerCase().replace(/[^a-z0-9]/g, "");
  return `${lang}.${cs}${modifier !== undefined ? `@${modifier}` : ""}`;
}

/** The first `max` characters of a text, with a marker when cut (evidence goes into manifests: keep it short). */
export function excerpt(text: string, max = 600): string {
  const t = text.trim();
  return t.length <= max ? t : `${t.slice(0, max)}… (${t.length - max} more characters)`;
}
