/**
 * The one S3 layout of the store. Every key a stack writes sits under its prefix (the stack's name unless
 * `s3.prefix` says otherwise), so stacks sharing a bucket never collide, and "the keys of this stack" is a listing:
 *
 *   <prefix>/index.json                                            the catalogue index of the stack
 *   <prefix>/index.html                                            the catalogue page (lib/catalogue-page)
 *   <prefix>/<os>/<version>/<timestamp>/<template>.xva             an artifact (timestamp: UTC, sortable)
 *   <prefix>/<os>/<version>/<timestamp>/<template>.manifest.json   its manifest
 *   <prefix>/<os>/<version>/<timestamp>/<template>.sbom.cdx.json   its software bill of materials
 *   <prefix>/<os>/<version>/<timestamp>/<template>.console-<c>.log its acceptance boot's serial console (clone c)
 *
 * An empty prefix puts them at the bucket root (a bucket per stack).
 */

/** `<prefix>/<rest>`, or `<rest>` with an empty prefix. */
function under(prefix: string, rest: string): string {
  return prefix === "" ? rest : `${prefix}/${rest}`;
}

/** A UTC timestamp as the layout writes it: `20260304T050607Z`. */
export function layoutTimestamp(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
}

export interface ArtifactKeys {
  readonly key: string;
  readonly manifestKey: string;
  readonly timestamp: string;
}

/** Where the artifact of `template` exported at `at` is stored. */
export function artifactKeys(
  prefix: string,
  os: string,
  version: string,
  template: string,
  at: Date,
): ArtifactKeys {
  const timestamp = layoutTimestamp(at);
  const dir = under(prefix, `${os}/${version}/${timestamp}`);
  return { key: `${dir}/${template}.xva`, manifestKey: `${dir}/${template}.manifest.json`, timestamp };
}

/** The listing prefix under which every artifact of one OS version of this stack is stored. */
export function versionPrefix(prefix: string, os: string, version: string): string {
  return `${under(prefix, `${os}/${version}`)}/`;
}

/** The catalogue index of the stack. */
export function indexKey(prefix: string): string {
  return under(prefix, "index.json");
}

/** The catalogue page of the stack, beside its index. */
export function pageKey(prefix: string): string {
  return under(prefix, "index.html");
}

/** The files of one artifact, beside its XVA. */
export type ArtifactFileKind = "xva" | "manifest" | "sbom" | "console";

const FILE_KINDS: ReadonlyArray<[RegExp, ArtifactFileKind]> = [
  [/^xva$/, "xva"],
  [/^manifest\.json$/, "manifest"],
  [/^sbom\.cdx\.json$/, "sbom"],
  [/^console-[a-z]\.log$/, "console"],
];

/** Every file of an artifact starts with its stem: `<dir>/<template>.` (the XVA's key without `xva`). */
export function artifactStem(xvaKey: string): string {
  return xvaKey.replace(/xva$/, "");
}

/** The key of an artifact's file of another kind, beside its XVA. */
export function siblingKey(xvaKey: string, kind: "sbom" | { console: string }): string {
  return artifactStem(xvaKey) + (kind === "sbom" ? "sbom.cdx.json" : `console-${kind.console}.log`);
}

/** What a listed key is, when it is one of `template`'s artifact files under `versionPrefix`; else undefined. */
export function artifactFileOf(
  listingPrefix: string,
  template: string,
  key: string,
): { readonly timestamp: string; readonly kind: ArtifactFileKind } | undefined {
  if (!key.startsWith(listingPrefix)) return undefined;
  const m = /^(\d{8}T\d{6}Z)\/(.+)$/.exec(key.slice(listingPrefix.length));
  if (!m?.[1] || m[2] === undefined || !m[2].startsWith(`${template}.`)) return undefined;
  const rest = m[2].slice(template.length + 1);
  const kind = FILE_KINDS.find(([re]) => re.test(rest))?.[1];
  return kind === undefined ? undefined : { timestamp: m[1], kind };
}

/** The default prefix: the stack's name, which Pulumi restricts to letters, digits, '-', '_' and '.'. */
export function defaultPrefix(stack: string): string {
  return stack;
}
