// The catalogue of golden templates: one artifact bucket, and per template a build on the pool, its
// verification through the XAPI and its archive in S3. The catalogue itself is stack configuration
// (Pulumi.<stack>.yaml `templates`), the one source of truth.
import * as pulumi from "@pulumi/pulumi";
import { readStackConfig } from "./providers/config/pulumi-config";
import { ArtifactBucket } from "./providers/bucket";

const cfg = readStackConfig(new pulumi.Config(), __dirname);

const bucket = new ArtifactBucket("artifacts", {
  bucket: cfg.s3.bucket,
  region: cfg.s3.region,
  forcePathStyle: cfg.s3.forcePathStyle,
  forceDestroy: cfg.s3.forceDestroy,
  ...(cfg.s3.endpoint !== undefined ? { endpoint: cfg.s3.endpoint } : {}),
  ...(cfg.s3.caCertificate !== undefined ? { caCertificate: cfg.s3.caCertificate } : {}),
});

export const bucketName = bucket.bucket;
export const bucketFeatures = { versioning: bucket.versioning, encryption: bucket.encryption };
export const catalogue = cfg.templates.map((t) => ({ name: t.name, os: t.os, version: t.version }));
