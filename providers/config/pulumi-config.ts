import * as pulumi from "@pulumi/pulumi";
import { ValidationError } from "./errors";
import { parseStackConfig, SECRET_KEYS, type StackConfig } from "./stack-config";
import { FLEET_PASSWORDS_KEY, fleetPasswordKey, placedPools } from "./fleet-config";

/**
 * Reads and validates the stack configuration in the program. A ValidationError is reported by Pulumi as a
 * program error, so `pulumi preview` fails with every wrong property named. Secrets are only checked for
 * presence here: their values are read by the providers themselves (see providers/dynamic/stack-secrets.ts).
 */
export function readStackConfig(config: pulumi.Config, projectRoot: string): StackConfig {
  try {
    return readOrThrow(config, projectRoot);
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    // RunError ends the program with this message alone, no stack trace: the failures are the message.
    const lines = e.failures.map((f) => `  ${f.property}: ${f.reason}`).join("\n");
    throw new pulumi.RunError(`invalid stack configuration (Pulumi.${pulumi.getStack()}.yaml):\n${lines}`);
  }
}

function readOrThrow(config: pulumi.Config, projectRoot: string): StackConfig {
  const parsed = parseStackConfig(
    {
      pool: config.getObject<unknown>("pool"),
      s3: config.getObject<unknown>("s3"),
      templates: config.getObject<unknown>("templates"),
      fleet: config.getObject<unknown>("fleet"),
      compression: config.get("compression"),
    },
    projectRoot,
  );
  // The pool password may come from the environment instead (XCPNG_POOL_PASSWORD: a preview's read-only account).
  const missing = SECRET_KEYS.filter((k) => k !== "s3AccessKeyId" && k !== "s3SecretAccessKey").filter(
    (k) => config.get(k) === undefined && !(k === "poolPassword" && process.env.XCPNG_POOL_PASSWORD),
  );
  // Each fleet pool a template goes to needs its own password (a structured secret, one key per pool).
  const passwords = fleetPasswords(config);
  const noPassword = placedPools(parsed.templates).filter((name) => passwords[name] === undefined);
  if (missing.length > 0 || noPassword.length > 0) {
    throw new ValidationError("stack configuration", [
      ...noPassword.map((name) => ({
        property: fleetPasswordKey(name),
        reason: `is required (fleet pool ${name}'s password): set it with 'pulumi config set --secret --path ${fleetPasswordKey(name)}' (the value is read from stdin when omitted)`,
      })),
      ...missing.map((k) => ({
        property: k,
        reason:
          `is required: set it with 'pulumi config set --secret ${k}' (the value is read from stdin when omitted)` +
          (k === "poolPassword" ? ", or give it in XCPNG_POOL_PASSWORD" : ""),
      })),
    ]);
  }
  return parsed;
}

/** The secret config keys the language host lists in PULUMI_CONFIG_SECRET_KEYS (a JSON array of names). */
export function secretConfigKeys(listed: string | undefined): string[] {
  if (listed === undefined || listed === "") return [];
  try {
    const v = JSON.parse(listed) as unknown;
    return Array.isArray(v) ? v.filter((k): k is string => typeof k === "string").sort() : [];
  } catch {
    return [];
  }
}

/**
 * The names of the fleet pools that have a password (`fleetPoolPasswords`, one secret key per pool). Only the keys
 * are used here, read from the runtime's config map (`Config.get` would warn that the value is a secret); the
 * values are read by the providers themselves.
 */
function fleetPasswords(config: pulumi.Config): Record<string, unknown> {
  const raw = pulumi.runtime.getConfig(`${config.name}:${FLEET_PASSWORDS_KEY}`);
  try {
    const parsed = JSON.parse(raw ?? "{}") as unknown;
    return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
