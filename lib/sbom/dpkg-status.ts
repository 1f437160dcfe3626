import { firstLine, parseDeb822, type Deb822Paragraph } from "./deb822";
import { SbomInputError } from "./errors";

/** One package of a dpkg database whose files are on the system. */
export interface DebPackage {
  readonly name: string;
  /** The full Debian version, epoch included (`1:2.38.1-5+deb12u3`). */
  readonly version: string;
  /** `amd64`, `arm64`, ... or `all`. */
  readonly architecture: string;
  /** The source package it was built from, and that source's version (the binary's own when the field omits it). */
  readonly source: { readonly name: string; readonly version: string };
  /** dpkg's state (the third word of `Status`): `installed` for a finished installation. */
  readonly state: DpkgState;
  /** The first line of Description, when there is one. */
  readonly synopsis?: string;
  readonly maintainer?: string;
  readonly homepage?: string;
}

/** The package states dpkg records (dpkg-query(1), "Package states"). */
export type DpkgState =
  | "not-installed"
  | "config-files"
  | "half-installed"
  | "unpacked"
  | "half-configured"
  | "triggers-awaited"
  | "triggers-pending"
  | "installed";

const STATES: ReadonlySet<string> = new Set<DpkgState>([
  "not-installed",
  "config-files",
  "half-installed",
  "unpacked",
  "half-configured",
  "triggers-awaited",
  "triggers-pending",
  "installed",
]);

/**
 * States in which a package's files are on the system, so the image carries it. `not-installed` (purged) and
 * `config-files` (removed, only its conffiles left) do not: an SBOM listing them would claim software the image
 * does not run.
 */
const PRESENT: ReadonlySet<DpkgState> = new Set<DpkgState>([
  "half-installed",
  "unpacked",
  "half-configured",
  "triggers-awaited",
  "triggers-pending",
  "installed",
]);

/**
 * The packages of a dpkg status file (`/var/lib/dpkg/status`) whose files are on the system, sorted by name then
 * architecture. `source` names the file in error messages.
 */
export function parseDpkgStatus(text: string, source = "dpkg status"): DebPackage[] {
  return parseDeb822(text, source)
    .map((p, i) => packageOf(p, `${source}, paragraph ${i + 1}`))
    .filter((p): p is DebPackage => p !== undefined)
    .sort((a, b) => cmp(a.name, b.name) || cmp(a.architecture, b.architecture));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The package a paragraph describes, or undefined when its files are not on the system. */
function packageOf(p: Deb822Paragraph, where: string): DebPackage | undefined {
  const need = (field: string, why: string): string => {
    const v = firstLine(p.get(field.toLowerCase()) ?? "");
    if (v === "") {
      throw new SbomInputError(
        "BAD_DPKG_STATUS",
        `${where}${p.has("package") ? ` (${p.get("package")})` : ""}: no ${field} field; dpkg writes one ${why}. ` +
          `Give the image's own /var/lib/dpkg/status, unmodified`,
      );
    }
    return v;
  };
  const name = need("Package", "in every paragraph");
  const status = need("Status", "in every paragraph").split(/\s+/);
  const state = status[2];
  if (status.length !== 3 || state === undefined || !STATES.has(state)) {
    throw new SbomInputError(
      "BAD_DPKG_STATUS",
      `${where} (${name}): Status ${JSON.stringify(p.get("status"))} is not "<want> <flag> <state>" with a ` +
        `state dpkg knows (${[...STATES].join(", ")}). Give the image's own /var/lib/dpkg/status, unmodified`,
    );
  }
  if (!PRESENT.has(state as DpkgState)) return undefined;
  const version = need("Version", "for every package whose files are installed");
  const architecture = need("Architecture", "for every package whose files are installed");
  const description = p.get("description");
  const maintainer = p.get("maintainer");
  const homepage = p.get("homepage");
  return {
    name,
    version,
    architecture,
    source: sourceOf(p.get("source"), name, version, where),
    state: state as DpkgState,
    ...(description ? { synopsis: firstLine(description) } : {}),
    ...(maintainer ? { maintainer: firstLine(maintainer) } : {}),
    ...(homepage ? { homepage: firstLine(homepage) } : {}),
  };
}

/**
 * `Source: glibc (2.36-9+deb12u4)` names the source package and, when it differs from the binary's, its version
 * (deb-control(5)); no Source field means the source has the binary's name and version.
 */
function sourceOf(
  field: string | undefined,
  name: string,
  version: string,
  where: string,
): DebPackage["source"] {
  if (field === undefined || field.trim() === "") return { name, version };
  const m = /^(\S+)(?:\s+\(([^()\s]+)\))?$/.exec(firstLine(field));
  if (!m?.[1]) {
    throw new SbomInputError(
      "BAD_DPKG_STATUS",
      `${where} (${name}): Source ${JSON.stringify(field)} is not "<name>" or "<name> (<version>)"`,
    );
  }
  return { name: m[1], version: m[2] ?? version };
}
