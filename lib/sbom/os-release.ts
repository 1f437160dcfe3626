import { SbomInputError } from "./errors";

/** What an image's os-release says about it (os-release(5)). */
export interface OsRelease {
  /** Lower-case distribution id: `debian`, `ubuntu`, ... (the purl namespace of its packages). */
  readonly id: string;
  /** `12`, `24.04`; absent on rolling releases (Debian testing/sid). */
  readonly versionId?: string;
  readonly versionCodename?: string;
  /** `Debian GNU/Linux 12 (bookworm)`. */
  readonly prettyName: string;
}

/**
 * Parses an os-release file: `KEY=value` lines, values optionally in double or single quotes, with `\` escaping
 * `"`, `\`, `$` and `` ` `` inside double quotes (os-release(5) follows shell quoting). Comments and blank lines are
 * skipped. ID is required here: without it a package's purl cannot name its distribution.
 */
export function parseOsRelease(text: string, source = "os-release"): OsRelease {
  const vars = new Map<string, string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    const value = m?.[2] === undefined ? undefined : unquote(m[2]);
    if (!m?.[1] || value === undefined) {
      throw new SbomInputError(
        "BAD_OS_RELEASE",
        `${source}, line ${i + 1}: expected KEY=value (os-release(5)), given ${JSON.stringify(raw.slice(0, 80))}`,
      );
    }
    vars.set(m[1], value);
  });
  const id = vars.get("ID")?.toLowerCase();
  if (!id || !/^[a-z0-9._-]+$/.test(id)) {
    throw new SbomInputError(
      "BAD_OS_RELEASE",
      `${source}: ID is ${id ? JSON.stringify(id) : "missing"}; expected the distribution's lower-case id ` +
        `(debian, ubuntu). Give the image's /etc/os-release (or /usr/lib/os-release)`,
    );
  }
  const versionId = vars.get("VERSION_ID");
  const codename = vars.get("VERSION_CODENAME");
  return {
    id,
    ...(versionId ? { versionId } : {}),
    ...(codename ? { versionCodename: codename } : {}),
    prettyName: vars.get("PRETTY_NAME") || `${vars.get("NAME") ?? id}${versionId ? ` ${versionId}` : ""}`,
  };
}

/** A shell-quoted value, or undefined when its quotes do not close. */
function unquote(v: string): string | undefined {
  if (v.startsWith('"')) {
    const m = /^"((?:[^"\\]|\\.)*)"$/.exec(v);
    return m?.[1]?.replace(/\\(["\\$`])/g, "$1");
  }
  if (v.startsWith("'")) {
    const m = /^'([^']*)'$/.exec(v);
    return m?.[1];
  }
  return /[\s"'`$\\]/.test(v) ? undefined : v;
}
