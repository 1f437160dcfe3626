import * as path from "node:path";
import * as fs from "node:fs";
import { ValidationError, type PropertyFailure } from "./errors";

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
  /** Let `pulumi destroy` delete a bucket that still holds objects. @default false */
  readonly forceDestroy: boolean;
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
  /** How many artifacts of this template the catalogue index keeps listed. @default 5 */
  readonly retention: number;
}

export interface StackConfig {
  readonly pool: PoolConfig;
  readonly s3: S3Config;
  readonly templates: readonly TemplateConfig[];
}

/** Secret stack-config keys: read separately, never echoed. */
export const SECRET_KEYS = ["poolPassword", "s3AccessKeyId", "s3SecretAccessKey"] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];
export type Secrets = Readonly<Record<SecretKey, string>>;

type Raw = Record<string, unknown>;

function isObject(v: unknown): v is Raw {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Validates the structured stack configuration (`pool`, `s3`, `templates`, as JSON values) and returns it typed,
 * or throws a ValidationError listing every wrong property. `projectRoot` resolves template paths, which must exist.
 */
export function parseStackConfig(
  raw: { pool?: unknown; s3?: unknown; templates?: unknown },
  projectRoot: string,
): StackConfig {
  const failures: PropertyFailure[] = [];
  const fail = (property: string, reason: string) => failures.push({ property, reason });

  const str = (o: Raw, key: string, prop: string, required: boolean): string | undefined => {
    const v = o[key];
    if (v === undefined || v === null || v === "") {
      if (required) fail(prop, `is required: set it with 'pulumi config set --path ${prop} <value>'`);
      return undefined;
    }
    if (typeof v !== "string") {
      fail(prop, `expected a string, but ${JSON.stringify(v)} was provided`);
      return undefined;
    }
    return v;
  };
  const bool = (o: Raw, key: string, prop: string, dflt: boolean): boolean => {
    const v = o[key];
    if (v === undefined) return dflt;
    if (typeof v === "boolean") return v;
    if (v === "true" || v === "false") return v === "true";
    fail(prop, `expected true or false, but ${JSON.stringify(v)} was provided`);
    return dflt;
  };
  const url = (v: string | undefined, prop: string, schemes: readonly string[]): string | undefined => {
    if (v === undefined) return undefined;
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      fail(prop, `expected a URL such as ${schemes[0]}://host[:port], but "${v}" was provided`);
      return undefined;
    }
    if (!schemes.includes(u.protocol.replace(/:$/, ""))) {
      fail(prop, `expected a ${schemes.join(" or ")} URL, but "${v}" was provided`);
      return undefined;
    }
    if (u.username || u.password) {
      fail(prop, "must not embed credentials: set them with 'pulumi config set --secret'");
      return undefined;
    }
    return v.replace(/\/+$/, "");
  };
  /** Inline PEM (`caCertificate`) or a file holding it (`caCertificateFile`, relative to the project root). */
  const caOf = (o: Raw, prefix: string): string | undefined => {
    const inline = str(o, "caCertificate", `${prefix}.caCertificate`, false);
    const file = str(o, "caCertificateFile", `${prefix}.caCertificateFile`, false);
    if (inline !== undefined && file !== undefined) {
      fail(`${prefix}.caCertificateFile`, "set either caCertificate or caCertificateFile, not both");
      return undefined;
    }
    if (file === undefined) return pem(inline, `${prefix}.caCertificate`);
    const full = path.resolve(projectRoot, file);
    if (!fs.existsSync(full)) {
      fail(
        `${prefix}.caCertificateFile`,
        `"${file}" does not exist (paths are relative to the project root)`,
      );
      return undefined;
    }
    return pem(fs.readFileSync(full, "utf8"), `${prefix}.caCertificateFile`);
  };
  const pem = (v: string | undefined, prop: string): string | undefined => {
    if (v !== undefined && !/-----BEGIN CERTIFICATE-----/.test(v)) {
      fail(prop, "expected a PEM certificate (-----BEGIN CERTIFICATE-----), but something else was provided");
      return undefined;
    }
    return v;
  };

  // --- pool
  let pool: PoolConfig | undefined;
  if (!isObject(raw.pool)) {
    fail("pool", "is required: an object with url and username (see Pulumi.prod.yaml.example)");
  } else {
    const p = raw.pool;
    const u = url(str(p, "url", "pool.url", true), "pool.url", ["https", "http"]);
    const username = str(p, "username", "pool.username", true);
    const ca = caOf(p, "pool");
    let fp = str(p, "certificateFingerprint", "pool.certificateFingerprint", false);
    if (fp !== undefined) {
      const hex = fp.replace(/:/g, "").toLowerCase();
      if (!/^[0-9a-f]{64}$/.test(hex)) {
        fail(
          "pool.certificateFingerprint",
          `expected a SHA-256 fingerprint (64 hex digits), but "${fp}" was provided`,
        );
        fp = undefined;
      } else fp = hex;
    }
    const insecure = bool(p, "insecureSkipVerify", "pool.insecureSkipVerify", false);
    if (u && username) {
      pool = {
        url: u,
        username,
        insecureSkipVerify: insecure,
        ...(ca !== undefined ? { caCertificate: ca } : {}),
        ...(fp !== undefined ? { certificateFingerprint: fp } : {}),
      };
    }
  }

  // --- s3
  let s3: S3Config | undefined;
  if (!isObject(raw.s3)) {
    fail("s3", "is required: an object with region and bucket (and endpoint for non-AWS stores)");
  } else {
    const o = raw.s3;
    const endpoint = url(str(o, "endpoint", "s3.endpoint", false), "s3.endpoint", ["https", "http"]);
    const region = str(o, "region", "s3.region", true);
    const bucket = str(o, "bucket", "s3.bucket", true);
    // S3 bucket naming rules (3-63 chars, lowercase letters, digits, dots, hyphens; no IP form).
    if (
      bucket !== undefined &&
      (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || /^\d+\.\d+\.\d+\.\d+$/.test(bucket))
    ) {
      fail(
        "s3.bucket",
        `expected 3-63 lowercase letters, digits, dots or hyphens, but "${bucket}" was provided`,
      );
    }
    const ca = caOf(o, "s3");
    const aws = bool(o, "aws", "s3.aws", false);
    const forcePathStyle = bool(o, "forcePathStyle", "s3.forcePathStyle", endpoint !== undefined);
    const forceDestroy = bool(o, "forceDestroy", "s3.forceDestroy", false);
    if (endpoint === undefined && !aws && o.endpoint === undefined) {
      fail("s3.endpoint", "is required unless s3.aws is true (AWS S3 itself)");
    }
    if (region && bucket && (endpoint !== undefined || aws)) {
      s3 = {
        region,
        bucket,
        forcePathStyle,
        aws,
        forceDestroy,
        ...(endpoint !== undefined ? { endpoint } : {}),
        ...(ca !== undefined ? { caCertificate: ca } : {}),
      };
    }
  }

  // --- templates
  const templates: TemplateConfig[] = [];
  if (!Array.isArray(raw.templates) || raw.templates.length === 0) {
    fail("templates", "is required: a non-empty list of {name, packerTemplate, os, version}");
  } else {
    const seen = new Set<string>();
    raw.templates.forEach((t: unknown, i: number) => {
      const at = `templates[${i}]`;
      if (!isObject(t)) {
        fail(at, `expected an object, but ${JSON.stringify(t)} was provided`);
        return;
      }
      const n0 = failures.length;
      const name = str(t, "name", `${at}.name`, true);
      if (name !== undefined && !/^[a-z0-9][a-z0-9._-]{0,62}$/.test(name)) {
        fail(
          `${at}.name`,
          `expected lowercase letters, digits, '.', '_' or '-' (max 63), but "${name}" was provided`,
        );
      } else if (name !== undefined && seen.has(name)) {
        fail(`${at}.name`, `"${name}" is used by another template: names must be unique`);
      }
      if (name !== undefined) seen.add(name);
      const existing = (key: string): string | undefined => {
        const v = str(t, key, `${at}.${key}`, key === "packerTemplate");
        if (v === undefined) return undefined;
        if (path.isAbsolute(v) || v.split(/[\\/]/).includes("..")) {
          fail(`${at}.${key}`, `expected a path inside the project, but "${v}" was provided`);
          return undefined;
        }
        if (!fs.existsSync(path.join(projectRoot, v))) {
          fail(`${at}.${key}`, `"${v}" does not exist (paths are relative to the project root)`);
          return undefined;
        }
        return v;
      };
      const packerTemplate = existing("packerTemplate");
      const varFile = existing("varFile");
      const os = str(t, "os", `${at}.os`, true);
      if (os !== undefined && !(SUPPORTED_OS as readonly string[]).includes(os)) {
        fail(`${at}.os`, `expected one of ${SUPPORTED_OS.join(", ")}, but "${os}" was provided`);
      }
      const version =
        typeof t.version === "number" ? String(t.version) : str(t, "version", `${at}.version`, true);
      if (version !== undefined && !/^\d+(\.\d+)*$/.test(version)) {
        fail(`${at}.version`, `expected a version such as "12" or "24.04", but "${version}" was provided`);
      }
      let tags: string[] = [];
      if (t.tags !== undefined) {
        if (!Array.isArray(t.tags) || !t.tags.every((x) => typeof x === "string" && x.length > 0)) {
          fail(
            `${at}.tags`,
            `expected a list of non-empty strings, but ${JSON.stringify(t.tags)} was provided`,
          );
        } else tags = t.tags as string[];
      }
      let retention = 5;
      if (t.retention !== undefined) {
        if (typeof t.retention !== "number" || !Number.isInteger(t.retention) || t.retention < 1) {
          fail(
            `${at}.retention`,
            `expected an integer >= 1, but ${JSON.stringify(t.retention)} was provided`,
          );
        } else retention = t.retention;
      }
      if (failures.length === n0 && name && packerTemplate && os && version) {
        templates.push({
          name,
          packerTemplate,
          os: os as SupportedOs,
          version,
          tags,
          retention,
          ...(varFile !== undefined ? { varFile } : {}),
        });
      }
    });
  }

  if (failures.length > 0 || !pool || !s3) throw new ValidationError("stack configuration", failures);
  return { pool, s3, templates };
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
