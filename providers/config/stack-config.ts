import { ValidationError } from "./errors";
import { FieldReader, isObject, type Raw } from "./fields";
import { RULES } from "./rules";
import { parseFleet, parsePlacement, type FleetConfig, type FleetPlacement } from "./fleet-config";

/** The project's config namespace (Pulumi.yaml `name`). */
export const PROJECT = "xcpng-templates";

/** Operating systems the catalogue knows how to build and detect. */
export const SUPPORTED_OS = ["debian", "ubuntu"] as const;
export type SupportedOs = (typeof SUPPORTED_OS)[number];

/** Where the pool is and how to trust it. The password is a separate secret key (`poolPassword`). */
export interface PoolConfig {
  /** XAPI URL of the pool master, e.g. `https://xcp-master.example.org`. */
  readonly url: string;
  readonly username: string;
  /** PEM CA certificate that signed the pool's TLS certificate (self-signed pools); config may give it inline
   * (`caCertificate`) or as a file (`caCertificateFile`). */
  readonly caCertificate?: string;
  /** SHA-256 fingerprint (hex, colons optional) the pool's certificate must have. */
  readonly certificateFingerprint?: string;
  /** Turns TLS verification off. Never the default; only for throwaway labs. @default false */
  readonly insecureSkipVerify: boolean;
}

/** The S3-compatible store. Credentials are separate secret keys (`s3AccessKeyId`, `s3SecretAccessKey`). */
export interface S3Config {
  /** Endpoint URL; omit for AWS S3 itself. */
  readonly endpoint?: string;
  readonly region: string;
  readonly bucket: string;
  /** Path-style addressing (`endpoint/bucket/key`), needed by most S3-compatible stores. @default true with an endpoint */
  readonly forcePathStyle: boolean;
  /** PEM CA certificate of a private endpoint. */
  readonly caCertificate?: string;
  /** The store is AWS S3 itself: enables AWS-only extras (IAM policy and user for CI). @default false */
  readonly aws: boolean;
  /** Let `pulumi destroy` delete a bucket that still holds objects (never an adopted one). @default false */
  readonly forceDestroy: boolean;
  /**
   * Let the stack manage a bucket that existed before it (versioning, a default encryption where none is set, its
   * lifecycle rules beside the existing ones). Without it an adopted bucket keeps its settings. @default false
   */
  readonly manageAdoptedBucket: boolean;
  /** Prefix of every key the stack writes (index, artifacts), so stacks can share a bucket. @default the stack name */
  readonly prefix?: string;
}

/** One template of the catalogue. */
export interface TemplateConfig {
  /** Unique name, also the template's name prefix on the pool and the artifact's file name. */
  readonly name: string;
  /** Packer template (file or directory), relative to the project root. */
  readonly packerTemplate: string;
  /** Packer variable file, relative to the project root. */
  readonly varFile?: string;
  /** Declared OS, compared with what the pool and the XVA report. */
  readonly os: SupportedOs;
  /** Declared OS version, e.g. "12" or "24.04". */
  readonly version: string;
  readonly tags: readonly string[];
  /** How many artifacts of this template the store keeps, the current one included; older ones are deleted
   * (objects and manifests). @default 5 */
  readonly retention: number;
  /** Minutes the build may take before it is stopped and the update fails. @default 120 */
  readonly buildTimeoutMinutes: number;
  readonly acceptance: AcceptanceConfig;
  /** Channel pins: `stable` pinned to an earlier accepted build is a rollback. */
  readonly channels: { readonly stable?: string };
  /** Builds taken out of every channel, with why (the index and the pool say it). */
  readonly revoked: readonly { readonly buildId: string; readonly reason: string }[];
  /** Which channel goes to which fleet pools. @default stable to every fleet pool */
  readonly fleet: FleetPlacement;
}

/** The boot acceptance test of a template (providers/acceptance.ts). */
export interface AcceptanceConfig {
  /** Boot and check every new build before it can be `stable`. @default true */
  readonly enabled: boolean;
  /** The image carries an XCP-ng guest agent to check for. @default true (the local build path has none) */
  readonly guestAgent: boolean;
}

/** How the catalogue's artifacts are stored: the XVA as exported with `use_compression` (xapi's export.ml). */
export const COMPRESSIONS = ["none", "gzip", "zstd"] as const;
export type Compression = (typeof COMPRESSIONS)[number];

export interface StackConfig {
  readonly pool: PoolConfig;
  readonly s3: S3Config;
  readonly templates: readonly TemplateConfig[];
  /** Pools that receive the catalogue's builds from S3 (providers/replica.ts). */
  readonly fleet?: FleetConfig;
  /**
   * How new exports of the catalogue are compressed (what is stored is not exported again when it changes).
   * `zstd` needs a pool that exports it (XCP-ng 8.3; devpool does); `gzip` works on every pool. @default "zstd"
   */
  readonly compression: Compression;
}

/** Secret stack-config keys: read separately, never echoed. */
export const SECRET_KEYS = ["poolPassword", "s3AccessKeyId", "s3SecretAccessKey"] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];
export type Secrets = Readonly<Record<SecretKey, string>>;

/**
 * Validates the structured stack configuration (`pool`, `s3`, `templates`, as JSON values) and returns it typed,
 * or throws a ValidationError listing every wrong property. `projectRoot` resolves template paths, which must exist.
 */
export function parseStackConfig(
  raw: { pool?: unknown; s3?: unknown; templates?: unknown; fleet?: unknown; compression?: unknown },
  projectRoot: string,
): StackConfig {
  const r = new FieldReader(projectRoot);
  const pool = parsePool(r, raw.pool);
  const s3 = parseS3(r, raw.s3);
  const fleet = parseFleet(r, raw.fleet, pool?.url);
  const templates = parseTemplates(r, raw.templates, fleet);
  const compression = parseCompression(r, raw.compression);
  if (r.failures.length > 0 || !pool || !s3) throw new ValidationError("stack configuration", r.failures);
  return { pool, s3, templates, compression, ...(fleet !== undefined ? { fleet } : {}) };
}

function parseCompression(r: FieldReader, v: unknown): Compression {
  if (v === undefined || v === null) return "zstd";
  if (typeof v === "string" && (COMPRESSIONS as readonly string[]).includes(v)) return v as Compression;
  r.fail(
    "compression",
    `expected one of ${COMPRESSIONS.join(", ")} (how artifacts are stored; zstd needs XCP-ng 8.3, gzip works on ` +
      `every pool), but ${JSON.stringify(v)} was provided`,
  );
  return "zstd";
}

function parsePool(r: FieldReader, raw: unknown): PoolConfig | undefined {
  if (!isObject(raw)) {
    r.fail("pool", "is required: an object with url and username (see Pulumi.prod.yaml.example)");
    return undefined;
  }
  const url = r.url(r.str(raw, "url", "pool.url", true), "pool.url", ["https", "http"]);
  const username = r.str(raw, "username", "pool.username", true);
  const ca = r.ca(raw, "pool");
  const fp = r.fingerprint(raw, "certificateFingerprint", "pool.certificateFingerprint");
  const insecureSkipVerify = r.bool(raw, "insecureSkipVerify", "pool.insecureSkipVerify", false);
  if (fp !== undefined && ca === undefined && !insecureSkipVerify && url?.startsWith("https:")) {
    // Packer and its XCP-ng plugin verify TLS against CAs only: with a pin alone the build would run unpinned.
    r.fail(
      "pool.certificateFingerprint",
      "pins the pool's certificate, but Packer cannot check a fingerprint, so the build would connect unverified. " +
        "Also set pool.caCertificate (or pool.caCertificateFile) to the pool's CA, or to its certificate if it is " +
        "self-signed: every connection then checks both",
    );
  }
  if (!url || !username) return undefined;
  return {
    url,
    username,
    insecureSkipVerify,
    ...(ca !== undefined ? { caCertificate: ca } : {}),
    ...(fp !== undefined ? { certificateFingerprint: fp } : {}),
  };
}

function parseS3(r: FieldReader, raw: unknown): S3Config | undefined {
  if (!isObject(raw)) {
    r.fail("s3", "is required: an object with region and bucket (and endpoint for non-AWS stores)");
    return undefined;
  }
  const endpoint = r.url(r.str(raw, "endpoint", "s3.endpoint", false), "s3.endpoint", ["https", "http"]);
  const region = r.str(raw, "region", "s3.region", true);
  const bucket = r.ruled(raw, "bucket", "s3.bucket", RULES.bucketName, true);
  const ca = r.ca(raw, "s3");
  const aws = r.bool(raw, "aws", "s3.aws", false);
  const forcePathStyle = r.bool(raw, "forcePathStyle", "s3.forcePathStyle", endpoint !== undefined);
  const forceDestroy = r.bool(raw, "forceDestroy", "s3.forceDestroy", false);
  const manageAdoptedBucket = r.bool(raw, "manageAdoptedBucket", "s3.manageAdoptedBucket", false);
  const prefix = raw.prefix === "" ? "" : r.ruled(raw, "prefix", "s3.prefix", RULES.keyPrefix, false);
  if (endpoint === undefined && !aws && raw.endpoint === undefined) {
    r.fail("s3.endpoint", "is required unless s3.aws is true (AWS S3 itself)");
  }
  if (!region || !bucket || (endpoint === undefined && !aws)) return undefined;
  return {
    region,
    bucket,
    forcePathStyle,
    aws,
    forceDestroy,
    manageAdoptedBucket,
    ...(endpoint !== undefined ? { endpoint } : {}),
    ...(ca !== undefined ? { caCertificate: ca } : {}),
    ...(prefix !== undefined ? { prefix } : {}),
  };
}

function parseTemplates(r: FieldReader, raw: unknown, fleet: FleetConfig | undefined): TemplateConfig[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    r.fail("templates", "is required: a non-empty list of {name, packerTemplate, os, version}");
    return [];
  }
  const seen = new Set<string>();
  const out: TemplateConfig[] = [];
  raw.forEach((t: unknown, i: number) => {
    const at = `templates[${i}]`;
    if (!isObject(t)) {
      r.fail(at, `expected an object, but ${JSON.stringify(t)} was provided`);
      return;
    }
    const before = r.failures.length;
    const name = r.ruled(t, "name", `${at}.name`, RULES.templateName, true);
    if (name !== undefined && seen.has(name)) {
      r.fail(`${at}.name`, `"${name}" is used by another template: names must be unique`);
    }
    if (name !== undefined) seen.add(name);
    const template = parseTemplate(r, t, at, name, fleet);
    if (r.failures.length === before && template) out.push(template);
  });
  return out;
}

function parseTemplate(
  r: FieldReader,
  t: Raw,
  at: string,
  name: string | undefined,
  fleet: FleetConfig | undefined,
): TemplateConfig | undefined {
  const packerTemplate = r.projectPath(t, "packerTemplate", `${at}.packerTemplate`, true);
  const varFile = r.projectPath(t, "varFile", `${at}.varFile`, false);
  const os = r.str(t, "os", `${at}.os`, true);
  if (os !== undefined && !(SUPPORTED_OS as readonly string[]).includes(os)) {
    r.fail(`${at}.os`, `expected one of ${SUPPORTED_OS.join(", ")}, but "${os}" was provided`);
  }
  const version = parseVersion(r, t.version, `${at}.version`);
  let tags: string[] = [];
  if (t.tags !== undefined) {
    if (!Array.isArray(t.tags) || !t.tags.every((x) => typeof x === "string" && x.length > 0)) {
      r.fail(
        `${at}.tags`,
        `expected a list of non-empty strings, but ${JSON.stringify(t.tags)} was provided`,
      );
    } else tags = t.tags as string[];
  }
  const retention = r.int(t, "retention", `${at}.retention`, { min: 1, dflt: 5 });
  const buildTimeoutMinutes = r.int(t, "buildTimeoutMinutes", `${at}.buildTimeoutMinutes`, {
    min: 1,
    max: 24 * 60,
    dflt: 120,
  });
  const acceptance = parseAcceptance(r, t.acceptance, `${at}.acceptance`);
  const channels = parseChannels(r, t.channels, `${at}.channels`);
  const revoked = parseRevoked(r, t.revoked, `${at}.revoked`);
  const placement = parsePlacement(r, t, at, fleet);
  if (!name || !packerTemplate || !os || !version) return undefined;
  return {
    name,
    packerTemplate,
    os: os as SupportedOs,
    version,
    tags,
    retention,
    buildTimeoutMinutes,
    acceptance,
    channels,
    revoked,
    fleet: placement,
    ...(varFile !== undefined ? { varFile } : {}),
  };
}

function parseAcceptance(r: FieldReader, v: unknown, prop: string): AcceptanceConfig {
  if (v === undefined) return { enabled: true, guestAgent: true };
  if (!isObject(v)) {
    r.fail(
      prop,
      `expected an object such as { enabled: true, guestAgent: false }, but ${JSON.stringify(v)} was provided`,
    );
    return { enabled: true, guestAgent: true };
  }
  return {
    enabled: r.bool(v, "enabled", `${prop}.enabled`, true),
    guestAgent: r.bool(v, "guestAgent", `${prop}.guestAgent`, true),
  };
}

function parseChannels(r: FieldReader, v: unknown, prop: string): { stable?: string } {
  if (v === undefined) return {};
  if (!isObject(v)) {
    r.fail(
      prop,
      `expected an object such as { stable: "<build id>" }, but ${JSON.stringify(v)} was provided`,
    );
    return {};
  }
  const unknown = Object.keys(v).filter((k) => k !== "stable");
  if (unknown.length > 0) r.fail(prop, `only "stable" can be pinned, but ${unknown.join(", ")} was provided`);
  const stable = r.ruled(v, "stable", `${prop}.stable`, RULES.buildId, false);
  return stable !== undefined ? { stable } : {};
}

function parseRevoked(r: FieldReader, v: unknown, prop: string): { buildId: string; reason: string }[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    r.fail(prop, `expected a list of { buildId, reason }, but ${JSON.stringify(v)} was provided`);
    return [];
  }
  const out: { buildId: string; reason: string }[] = [];
  v.forEach((e: unknown, i: number) => {
    const at = `${prop}[${i}]`;
    if (!isObject(e)) {
      r.fail(at, `expected { buildId, reason }, but ${JSON.stringify(e)} was provided`);
      return;
    }
    const buildId = r.ruled(e, "buildId", `${at}.buildId`, RULES.buildId, true);
    const reason = r.str(e, "reason", `${at}.reason`, true);
    if (buildId !== undefined && reason !== undefined) out.push({ buildId, reason });
  });
  return out;
}

/**
 * An OS version is a string: YAML reads an unquoted `24.10` as the number 24.1 (and `12.0` as 12), so a number is
 * refused with the fix rather than turned into a version nobody wrote.
 */
function parseVersion(r: FieldReader, v: unknown, prop: string): string | undefined {
  if (typeof v === "number") {
    r.fail(
      prop,
      `expected ${RULES.osVersion.expected}, but the number ${v} was provided: YAML reads an unquoted version ` +
        `as a number (24.10 becomes 24.1). Quote it in Pulumi.<stack>.yaml, e.g. version: "${v}"`,
    );
    return undefined;
  }
  return r.ruled({ v }, "v", prop, RULES.osVersion, true);
}

/** Reads a JSON-valued config entry as the dynamic-provider host and `pulumi.Config` present it (JSON text). */
export function parseJsonValue(text: string | undefined, property: string): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ValidationError("stack configuration", [
      { property, reason: `expected a structured (YAML/JSON) value, but could not parse it` },
    ]);
  }
}
