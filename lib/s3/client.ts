import * as https from "node:https";
import { S3Client } from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";

/** Where the store is (non-secret, stored in state as resource inputs). */
export interface S3Location {
  readonly region: string;
  readonly endpoint?: string;
  readonly forcePathStyle: boolean;
  /** PEM CA certificate of a private endpoint. */
  readonly caCertificate?: string;
}

/** Credentials, from secret stack config or the AWS default chain; never stored in state. */
export interface S3Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/**
 * Builds a client for one operation (never cached at module level: dynamic providers are serialized, and a
 * client holds sockets). Checksums are computed only when an operation requires them, because S3-compatible
 * stores differ in their support of the flexible-checksum headers the SDK sends by default since 2025; our own
 * SHA-256 and the XVA chunk hashes carry integrity instead.
 */
export function createS3Client(loc: S3Location, creds: S3Credentials | undefined): S3Client {
  return new S3Client({
    region: loc.region,
    ...(loc.endpoint !== undefined ? { endpoint: loc.endpoint } : {}),
    forcePathStyle: loc.forcePathStyle,
    ...(creds !== undefined ? { credentials: { ...creds } } : {}),
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    maxAttempts: 5,
    ...(loc.caCertificate !== undefined
      ? {
          requestHandler: new NodeHttpHandler({
            httpsAgent: new https.Agent({ ca: loc.caCertificate, keepAlive: true }),
          }),
        }
      : {}),
  });
}
