import * as fs from "node:fs";
import * as path from "node:path";
import type { PropertyFailure } from "./errors";
import { ruleFailure, type ValueRule } from "./rules";

export type Raw = Record<string, unknown>;

export function isObject(v: unknown): v is Raw {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Reads typed fields out of raw config objects and collects one failure per wrong property (its dotted path and
 * what was expected), so `preview` reports every mistake at once. Readers return undefined for a wrong value.
 */
export class FieldReader {
  readonly failures: PropertyFailure[] = [];

  constructor(private readonly projectRoot: string) {}

  fail(property: string, reason: string): void {
    this.failures.push({ property, reason });
  }

  str(o: Raw, key: string, prop: string, required: boolean): string | undefined {
    const v = o[key];
    if (v === undefined || v === null || v === "") {
      if (required) this.fail(prop, `is required: set it with 'pulumi config set --path ${prop} <value>'`);
      return undefined;
    }
    if (typeof v !== "string") {
      this.fail(prop, `expected a string, but ${JSON.stringify(v)} was provided`);
      return undefined;
    }
    return v;
  }

  /** A string that must satisfy a rule of the table (rules.ts). */
  ruled(o: Raw, key: string, prop: string, rule: ValueRule, required: boolean): string | undefined {
    const v = this.str(o, key, prop, required);
    if (v === undefined) return undefined;
    const reason = ruleFailure(rule, v);
    if (reason === undefined) return v;
    this.fail(prop, reason);
    return undefined;
  }

  bool(o: Raw, key: string, prop: string, dflt: boolean): boolean {
    const v = o[key];
    if (v === undefined) return dflt;
    if (typeof v === "boolean") return v;
    if (v === "true" || v === "false") return v === "true";
    this.fail(prop, `expected true or false, but ${JSON.stringify(v)} was provided`);
    return dflt;
  }

  /** A whole number in [min, max], or `dflt` when absent. */
  int(o: Raw, key: string, prop: string, range: { min: number; max?: number; dflt: number }): number {
    const v = o[key];
    if (v === undefined) return range.dflt;
    const max = range.max ?? Number.MAX_SAFE_INTEGER;
    if (typeof v !== "number" || !Number.isInteger(v) || v < range.min || v > max) {
      const bounds = range.max === undefined ? `>= ${range.min}` : `from ${range.min} to ${range.max}`;
      this.fail(prop, `expected an integer ${bounds}, but ${JSON.stringify(v)} was provided`);
      return range.dflt;
    }
    return v;
  }

  url(v: string | undefined, prop: string, schemes: readonly string[]): string | undefined {
    if (v === undefined) return undefined;
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      this.fail(prop, `expected a URL such as ${schemes[0]}://host[:port], but "${v}" was provided`);
      return undefined;
    }
    if (!schemes.includes(u.protocol.replace(/:$/, ""))) {
      this.fail(prop, `expected a ${schemes.join(" or ")} URL, but "${v}" was provided`);
      return undefined;
    }
    if (u.username || u.password) {
      this.fail(prop, "must not embed credentials: set them with 'pulumi config set --secret'");
      return undefined;
    }
    return v.replace(/\/+$/, "");
  }

  /** Inline PEM (`caCertificate`) or a file holding it (`caCertificateFile`, relative to the project root). */
  ca(o: Raw, prefix: string): string | undefined {
    const inline = this.str(o, "caCertificate", `${prefix}.caCertificate`, false);
    const file = this.str(o, "caCertificateFile", `${prefix}.caCertificateFile`, false);
    if (inline !== undefined && file !== undefined) {
      this.fail(`${prefix}.caCertificateFile`, "set either caCertificate or caCertificateFile, not both");
      return undefined;
    }
    if (file === undefined) return this.pem(inline, `${prefix}.caCertificate`);
    const full = path.resolve(this.projectRoot, file);
    if (!fs.existsSync(full)) {
      this.fail(
        `${prefix}.caCertificateFile`,
        `"${file}" does not exist (paths are relative to the project root)`,
      );
      return undefined;
    }
    return this.pem(fs.readFileSync(full, "utf8"), `${prefix}.caCertificateFile`);
  }

  private pem(v: string | undefined, prop: string): string | undefined {
    if (v !== undefined && !/-----BEGIN CERTIFICATE-----/.test(v)) {
      this.fail(
        prop,
        "expected a PEM certificate (-----BEGIN CERTIFICATE-----), but something else was provided",
      );
      return undefined;
    }
    return v;
  }

  /** A SHA-256 certificate fingerprint, colons optional, normalized to lowercase hex. */
  fingerprint(o: Raw, key: string, prop: string): string | undefined {
    const fp = this.str(o, key, prop, false);
    if (fp === undefined) return undefined;
    const hex = fp.replace(/:/g, "").toLowerCase();
    if (/^[0-9a-f]{64}$/.test(hex)) return hex;
    this.fail(prop, `expected a SHA-256 fingerprint (64 hex digits), but "${fp}" was provided`);
    return undefined;
  }

  /** A path inside the project that exists. */
  projectPath(o: Raw, key: string, prop: string, required: boolean): string | undefined {
    const v = this.str(o, key, prop, required);
    if (v === undefined) return undefined;
    if (path.isAbsolute(v) || v.split(/[\\/]/).includes("..")) {
      this.fail(prop, `expected a path inside the project, but "${v}" was provided`);
      return undefined;
    }
    if (!fs.existsSync(path.join(this.projectRoot, v))) {
      this.fail(prop, `"${v}" does not exist (paths are relative to the project root)`);
      return undefined;
    }
    return v;
  }
}
