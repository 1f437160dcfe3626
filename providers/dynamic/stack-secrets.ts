import type * as pulumi from "@pulumi/pulumi";
import type { S3Credentials } from "../../lib/s3/client";
import { PROJECT } from "../config/stack-config";

/**
 * Credentials come from the stack's secret config, handed to dynamic providers by `configure` (decrypted, in the
 * provider process only). They are never resource inputs or provider fields set by the program, so they never
 * reach `__provider` or state.
 */
export interface StackSecrets {
  /** `poolPassword`: the build pool's XAPI password. */
  readonly poolPassword: string | undefined;
  /** A user name that replaces `pool.username` for this run (XCPNG_POOL_USERNAME: preview's read-only account). */
  readonly poolUsername: string | undefined;
  /** `s3AccessKeyId` / `s3SecretAccessKey`; undefined means the AWS SDK's default chain. */
  readonly s3: S3Credentials | undefined;
  /** Every secret value read from the stack, longest first: what log masking replaces. */
  readonly values: readonly string[];
}

export const NO_SECRETS: StackSecrets = {
  poolPassword: undefined,
  poolUsername: undefined,
  s3: undefined,
  values: [],
};

/**
 * Credentials given in the environment instead of the stack's config, which they override: a pull-request
 * preview runs with a read-only pool account and read-only S3 keys (README, "Two credential sets") without being
 * able to decrypt, or even read, the deploy credentials.
 */
export const CREDENTIAL_ENV = {
  poolUsername: "XCPNG_POOL_USERNAME",
  poolPassword: "XCPNG_POOL_PASSWORD",
  s3AccessKeyId: "XCPNG_S3_ACCESS_KEY_ID",
  s3SecretAccessKey: "XCPNG_S3_SECRET_ACCESS_KEY",
} as const;

function fromEnv(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === "" ? undefined : v;
}

/**
 * Keys are read fully qualified: the provider host qualifies bare keys with the project it was told about,
 * which the 3.68 language host (see README, Toolchain) does not pass on.
 */
function get(config: pulumi.dynamic.Config, key: string): string | undefined {
  const v = config.get(`${PROJECT}:${key}`);
  return v === "" ? undefined : v;
}

export function stackSecretsFrom(
  config: pulumi.dynamic.Config,
  env: NodeJS.ProcessEnv = process.env,
): StackSecrets {
  const poolPassword = fromEnv(env, CREDENTIAL_ENV.poolPassword) ?? get(config, "poolPassword");
  const poolUsername = fromEnv(env, CREDENTIAL_ENV.poolUsername);
  const envKey = fromEnv(env, CREDENTIAL_ENV.s3AccessKeyId);
  const envSecret = fromEnv(env, CREDENTIAL_ENV.s3SecretAccessKey);
  const fromEnvironment = envKey !== undefined || envSecret !== undefined;
  const accessKeyId = fromEnvironment ? envKey : get(config, "s3AccessKeyId");
  const secretAccessKey = fromEnvironment ? envSecret : get(config, "s3SecretAccessKey");
  // Neither set: the AWS SDK's default chain (environment, profile, instance role) applies.
  const s3 =
    accessKeyId === undefined && secretAccessKey === undefined
      ? undefined
      : { accessKeyId: accessKeyId ?? "", secretAccessKey: secretAccessKey ?? "" };
  const values = [poolPassword, accessKeyId, secretAccessKey]
    .filter((v): v is string => v !== undefined)
    .sort((a, b) => b.length - a.length);
  return { poolPassword, poolUsername, s3, values };
}

/**
 * A value of the stack's config by key, or by `key.sub.path` into a structured value as
 * `pulumi config set --path --secret fleetPoolPasswords.paris` writes it (the provider host hands a structured
 * value over as its JSON text). Keys are qualified with the project unless they name one (`other:key`).
 * Undefined when absent, empty, or not a string at that path.
 */
export function configValueAt(config: pulumi.dynamic.Config, keyPath: string): string | undefined {
  const qualify = (k: string) => (k.includes(":") ? k : `${PROJECT}:${k}`);
  const whole = config.get(qualify(keyPath));
  if (whole !== undefined) return whole === "" ? undefined : whole;
  const [key, ...path] = keyPath.split(".");
  if (key === undefined || key === "" || path.length === 0) return undefined;
  const text = config.get(qualify(key));
  if (text === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
  for (const seg of path) {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[seg];
  }
  return typeof v === "string" && v !== "" ? v : undefined;
}
