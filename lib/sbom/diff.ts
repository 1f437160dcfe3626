import { PackageURL } from "packageurl-js";
import { SbomInputError } from "./errors";

/** One Debian package as an SBOM lists it. */
export interface SbomPackage {
  readonly name: string;
  readonly version: string;
  readonly arch: string;
}

/** A package present in both SBOMs with another version. */
export interface ChangedPackage {
  readonly name: string;
  readonly arch: string;
  readonly from: string;
  readonly to: string;
}

/** What changed between two SBOMs: lists sorted by name then architecture. */
export interface SbomDiff {
  readonly added: readonly SbomPackage[];
  readonly removed: readonly SbomPackage[];
  readonly changed: readonly ChangedPackage[];
  /** Packages in both with the same version. */
  readonly unchanged: number;
  /** Package counts of the base and of the new SBOM. */
  readonly before: number;
  readonly after: number;
}

/** The change record a manifest carries: the diff, and which build it was measured against. */
export interface SbomChangeRecord {
  /** The build compared with (the `stable` channel's when there is one). */
  readonly against: { readonly buildId: string; readonly channel?: string };
  readonly packages: { readonly before: number; readonly after: number };
  readonly added: readonly SbomPackage[];
  readonly removed: readonly SbomPackage[];
  readonly changed: readonly ChangedPackage[];
}

/**
 * The Debian packages of a CycloneDX JSON document (text or parsed): its components whose purl is of type `deb`,
 * named and versioned as the component says, with the purl's `arch` qualifier. Other components (the operating
 * system, anything not a Debian package) are not packages here. `source` names the document in errors.
 */
export function sbomPackages(doc: unknown, source: string): SbomPackage[] {
  const bad = (why: string, cause?: unknown): SbomInputError =>
    new SbomInputError(
      "NOT_AN_SBOM",
      `${source}: ${why}; expected a CycloneDX JSON document (bomFormat "CycloneDX") such as createSbom writes`,
      cause === undefined ? undefined : { cause },
    );
  let parsed: unknown = doc;
  if (typeof doc === "string") {
    try {
      parsed = JSON.parse(doc);
    } catch (e) {
      throw bad("not JSON", e);
    }
  }
  const bom = parsed as { bomFormat?: unknown; components?: unknown };
  if (typeof bom !== "object" || bom === null || bom.bomFormat !== "CycloneDX")
    throw bad("no bomFormat CycloneDX");
  const components = bom.components ?? [];
  if (!Array.isArray(components)) throw bad("components is not a list");
  const out: SbomPackage[] = [];
  for (const c of components as unknown[]) {
    const { purl, name, version } = (c ?? {}) as { purl?: unknown; name?: unknown; version?: unknown };
    if (typeof purl !== "string" || !purl.startsWith("pkg:deb/")) continue;
    let parsedPurl: PackageURL;
    try {
      parsedPurl = PackageURL.fromString(purl);
    } catch (e) {
      throw bad(`component purl ${JSON.stringify(purl)} is not a package URL`, e);
    }
    const arch = parsedPurl.qualifiers?.arch;
    const v = typeof version === "string" ? version : parsedPurl.version;
    if (typeof name !== "string" || v === undefined || arch === undefined) {
      throw bad(`component ${JSON.stringify(purl)} has no name, version or arch qualifier`);
    }
    out.push({ name, version: v, arch });
  }
  return out.sort(byNameArch);
}

function byNameArch(a: { name: string; arch: string }, b: { name: string; arch: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : a.arch < b.arch ? -1 : a.arch > b.arch ? 1 : 0;
}

/**
 * The packages added, removed and changed from `base` to `next` (CycloneDX documents, text or parsed). A package
 * is its name and architecture: `libc6:amd64` and `libc6:i386` are two packages, and a package that moves from
 * one architecture to another (rare: `any` to `all`) is one removed and one added.
 */
export function diffSboms(base: unknown, next: unknown): SbomDiff {
  const before = indexed(sbomPackages(base, "base SBOM"), "base SBOM");
  const after = indexed(sbomPackages(next, "new SBOM"), "new SBOM");
  const added: SbomPackage[] = [];
  const changed: ChangedPackage[] = [];
  let unchanged = 0;
  for (const [key, p] of after) {
    const old = before.get(key);
    if (old === undefined) added.push(p);
    else if (old.version !== p.version)
      changed.push({ name: p.name, arch: p.arch, from: old.version, to: p.version });
    else unchanged++;
  }
  const removed = [...before].filter(([key]) => !after.has(key)).map(([, p]) => p);
  return {
    added: added.sort(byNameArch),
    removed: removed.sort(byNameArch),
    changed: changed.sort(byNameArch),
    unchanged,
    before: before.size,
    after: after.size,
  };
}

function indexed(packages: readonly SbomPackage[], source: string): Map<string, SbomPackage> {
  const m = new Map<string, SbomPackage>();
  for (const p of packages) {
    const key = `${p.name}:${p.arch}`;
    if (m.has(key)) {
      throw new SbomInputError("NOT_AN_SBOM", `${source} lists ${key} twice; a dpkg database holds it once`);
    }
    m.set(key, p);
  }
  return m;
}

/** The record of `diff` for the manifest. */
export function sbomChangeRecord(diff: SbomDiff, against: SbomChangeRecord["against"]): SbomChangeRecord {
  return {
    against,
    packages: { before: diff.before, after: diff.after },
    added: diff.added,
    removed: diff.removed,
    changed: diff.changed,
  };
}

/** True when nothing was added, removed or changed. */
export function isEmptyDiff(diff: SbomDiff): boolean {
  return diff.added.length === 0 && diff.removed.length === 0 && diff.changed.length === 0;
}

/** One line per change: `+ name version`, `- name version`, `~ name from → to`, in that order. */
function changeLines(diff: SbomDiff): string[] {
  const names = new Map<string, number>();
  for (const p of [...diff.added, ...diff.removed, ...diff.changed])
    names.set(p.name, (names.get(p.name) ?? 0) + 1);
  // The architecture only where one name appears for two of them (multi-arch): elsewhere it is noise.
  const label = (p: { name: string; arch: string }): string =>
    (names.get(p.name) ?? 0) > 1 ? `${p.name}:${p.arch}` : p.name;
  return [
    ...diff.added.map((p) => `+ ${label(p)} ${p.version}`),
    ...diff.removed.map((p) => `- ${label(p)} ${p.version}`),
    ...diff.changed.map((p) => `~ ${label(p)} ${p.from} → ${p.to}`),
  ];
}

/** The one-line summary: `packages: 223 → 224 (1 added, 0 removed, 2 changed)`. */
export function sbomDiffSummary(diff: SbomDiff): string {
  if (isEmptyDiff(diff)) return `packages: ${diff.after}, unchanged`;
  return (
    `packages: ${diff.before} → ${diff.after} ` +
    `(${diff.added.length} added, ${diff.removed.length} removed, ${diff.changed.length} changed)`
  );
}

/**
 * The compact text of `diff` for the `up` output and logs: the summary line, then at most `maxLines` change
 * lines indented by two spaces, and a last line that counts the rest.
 */
export function renderSbomDiffText(diff: SbomDiff, options?: { maxLines?: number }): string {
  const max = options?.maxLines ?? 30;
  const lines = changeLines(diff);
  const shown = lines.length > max ? lines.slice(0, Math.max(0, max - 1)) : lines;
  const rest = lines.length - shown.length;
  return [
    sbomDiffSummary(diff),
    ...shown.map((l) => `  ${l}`),
    ...(rest > 0 ? [`  … and ${rest} more (the manifest lists every change)`] : []),
  ].join("\n");
}

/**
 * The diff as Markdown for a pull request summary: the summary line, then a table of the changes (`maxRows` at
 * most). Package names and versions are Debian's (letters, digits, `+-.~:`), so nothing in them is Markdown, but
 * `|` and backticks are escaped all the same.
 */
export function renderSbomDiffMarkdown(diff: SbomDiff, options?: { maxRows?: number }): string {
  const max = options?.maxRows ?? 50;
  const cell = (s: string): string => s.replace(/[\\`|*_<>[\]]/g, (c) => `\\${c}`);
  const rows = [
    ...diff.added.map((p) => `| added | ${cell(p.name)} | | ${cell(p.version)} |`),
    ...diff.removed.map((p) => `| removed | ${cell(p.name)} | ${cell(p.version)} | |`),
    ...diff.changed.map((p) => `| changed | ${cell(p.name)} | ${cell(p.from)} | ${cell(p.to)} |`),
  ];
  if (rows.length === 0) return `**${sbomDiffSummary(diff)}**`;
  const shown = rows.slice(0, max);
  return [
    `**${sbomDiffSummary(diff)}**`,
    "",
    "| change | package | before | after |",
    "|---|---|---|---|",
    ...shown,
    ...(rows.length > shown.length
      ? ["", `… and ${rows.length - shown.length} more (see the manifest).`]
      : []),
  ].join("\n");
}
