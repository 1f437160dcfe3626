import type * as pulumi from "@pulumi/pulumi";
import { PROJECT } from "../config/stack-config";
import type { S3Credentials } from "../../lib/s3/client";

/**
 * Credentials come from the stack's secret config, handed to dynamic providers by `configure` (decrypted, in the
 * provider process only). They are never resource inputs or provider fields set by the program, so they never
 * reach `__provider` or state.
 */
export interface PoolCredentials {
  readonly username: string;
  readonly password: string;
}

/**
 * Keys are read fully qualified: the provider host qualifies bare keys with the project it was told about,
 * which the 3.68 language host (see README, Toolchain) does not pass on.
 */
function get(config: pulumi.dynamic.Config, key: string): string | undefined {
  return config.get(`${PROJECT}:${key}`);
}

export function s3CredentialsFrom(config: pulumi.dynamic.Config): S3Credentials | undefined {
  const accessKeyId = get(config, "s3AccessKeyId");
  const secretAccessKey = get(config, "s3SecretAccessKey");
  // Neither set: the AWS SDK's default chain (environment, profile, instance role) applies.
  if (!accessKeyId && !secretAccessKey) return undefined;
  return { accessKeyId: accessKeyId ?? "", secretAccessKey: secretAccessKey ?? "" };
}

export function poolPasswordFrom(config: pulumi.dynamic.Config): string | undefined {
  return get(config, "poolPassword");
}
