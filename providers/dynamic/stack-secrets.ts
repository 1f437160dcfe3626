import type * as pulumi from "@pulumi/pulumi";
import type { S3Credentials } from "../s3/client";

/**
 * Credentials come from the stack's secret config, handed to dynamic providers by `configure` (decrypted, in the
 * provider process only). They are never resource inputs or provider fields set by the program, so they never
 * reach `__provider` or state.
 */
export interface PoolCredentials {
  readonly username: string;
  readonly password: string;
}

export function s3CredentialsFrom(config: pulumi.dynamic.Config): S3Credentials | undefined {
  const accessKeyId = config.get("s3AccessKeyId");
  const secretAccessKey = config.get("s3SecretAccessKey");
  // Neither set: the AWS SDK's default chain (environment, profile, instance role) applies.
  if (!accessKeyId && !secretAccessKey) return undefined;
  return { accessKeyId: accessKeyId ?? "", secretAccessKey: secretAccessKey ?? "" };
}

export function poolPasswordFrom(config: pulumi.dynamic.Config): string | undefined {
  return config.get("poolPassword");
}
