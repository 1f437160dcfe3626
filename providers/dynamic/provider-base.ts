import type * as pulumi from "@pulumi/pulumi";
import type { S3Client } from "@aws-sdk/client-s3";
import { createS3Client, type S3Location } from "../../lib/s3/client";
import { withXapi, type PoolTarget, type XapiSession } from "../../lib/xapi/client";
import { MissingSecretError } from "../errors";
import { NO_SECRETS, configValueAt, stackSecretsFrom, type StackSecrets } from "./stack-secrets";
import { upLog, type UpLog } from "./up-log";

/** The operations the engine calls: each waits for its lines to reach the display before it returns. */
const OPERATIONS = ["check", "diff", "create", "read", "update", "delete"] as const;

/**
 * What every provider of the project shares: the stack's secrets read in `configure`, the pool password check
 * (one message), a pool session and an S3 client per operation (created and destroyed here, never by hand).
 * Each provider file keeps only its resource's decisions.
 */
export abstract class ProviderBase {
  /** The component name that starts every message of this provider (`artifact: ...`). */
  protected abstract readonly component: string;
  protected secrets: StackSecrets = NO_SECRETS;
  private config: pulumi.dynamic.Config | undefined;
  /** Where this provider's lines go (providers/dynamic/up-log.ts); a seam tests may replace. */
  protected lines: UpLog = upLog();

  constructor() {
    // Lines are sent to the engine asynchronously; an operation returns (or fails) only once its lines are
    // delivered, so they are shown before the engine reports the operation's outcome, in order.
    const self = this as unknown as Record<string, unknown>;
    for (const op of OPERATIONS) {
      const f = self[op] as ((...a: unknown[]) => Promise<unknown>) | undefined;
      if (typeof f !== "function") continue;
      self[op] = async (...args: unknown[]): Promise<unknown> => {
        try {
          return await f.apply(this, args);
        } finally {
          await this.lines.flush();
        }
      };
    }
  }

  /** A line of `up`'s output, prefixed with the component: shown once, as it happens. */
  protected say(line: string): void {
    this.lines.info(`${this.component}: ${line}`);
  }

  /** A warning line, prefixed with the component. */
  protected warn(line: string): void {
    this.lines.warn(`${this.component}: ${line}`);
  }

  configure(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
    this.config = req.config;
    this.secrets = stackSecretsFrom(req.config);
    return Promise.resolve();
  }

  /**
   * The values of the named (fully qualified) config keys, for masking: a structured secret gives its whole JSON
   * text and each string inside it.
   */
  protected configSecrets(keys: readonly string[]): string[] {
    const out: string[] = [];
    for (const k of keys) {
      const v = this.config?.get(k);
      if (v === undefined || v === "") continue;
      out.push(v);
      try {
        out.push(...leafStrings(JSON.parse(v) as unknown));
      } catch {
        // A plain string secret.
      }
    }
    return out.filter((s) => s !== "");
  }

  /** The pool password, or a MissingSecretError that says how to set it. */
  protected poolPassword(): string {
    if (this.secrets.poolPassword === undefined) throw new MissingSecretError(this.component, "poolPassword");
    return this.secrets.poolPassword;
  }

  /**
   * A secret of the stack's config named by the program (a key, or `key.path` into a structured secret: each
   * fleet pool's password), undefined when it is not set. Read in the provider process only: the program passes
   * the key's name, never the value, so the value never reaches inputs or state.
   */
  protected configSecret(keyPath: string): string | undefined {
    return this.config === undefined ? undefined : configValueAt(this.config, keyPath);
  }

  /**
   * Runs `fn` with a logged-in session on `pool`, logged out afterwards whatever happens. `password` defaults to
   * the build pool's (`poolPassword`, and then the environment's user name applies); a fleet pool passes its own.
   */
  protected withPool<T>(pool: PoolTarget, fn: (x: XapiSession) => Promise<T>, password?: string): Promise<T> {
    return withXapi(password === undefined ? this.asUser(pool) : pool, password ?? this.poolPassword(), fn);
  }

  /** The build pool as this run logs in to it: the environment's user name, when given, replaces the stack's. */
  protected asUser(pool: PoolTarget): PoolTarget {
    return this.secrets.poolUsername === undefined ? pool : { ...pool, username: this.secrets.poolUsername };
  }

  /** Runs `fn` with an S3 client for `store`, destroyed afterwards whatever happens. */
  protected async withS3<T>(store: S3Location, fn: (s3: S3Client) => Promise<T>): Promise<T> {
    const s3 = this.s3Client(store);
    try {
      return await fn(s3);
    } finally {
      s3.destroy();
    }
  }

  /** The one place clients are made: a seam tests may override. */
  protected s3Client(store: S3Location): S3Client {
    return createS3Client(store, this.secrets.s3);
  }
}

function leafStrings(v: unknown): string[] {
  if (typeof v === "string") return [v];
  if (Array.isArray(v)) return v.flatMap(leafStrings);
  if (typeof v === "object" && v !== null) return Object.values(v).flatMap(leafStrings);
  return [];
}
