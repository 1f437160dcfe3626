import * as pulumi from "@pulumi/pulumi";
import { shimProvider } from "./dynamic/shim";
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  HeadBucketCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  PutBucketEncryptionCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketVersioningCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { defined, isUnknown, providerCodeChanged } from "./dynamic/provider-code";
import { s3CredentialsFrom } from "./dynamic/stack-secrets";
import { createS3Client, type S3Credentials } from "../lib/s3/client";
import { S3StoreError, isNotFound, isNotImplemented, s3ErrorCode } from "../lib/s3/errors";

/** User-facing arguments of the artifact bucket. */
export interface ArtifactBucketArgs {
  readonly bucket: pulumi.Input<string>;
  readonly region: pulumi.Input<string>;
  /** Endpoint of an S3-compatible store; omit for AWS S3. */
  readonly endpoint?: pulumi.Input<string>;
  /** @default true when an endpoint is set */
  readonly forcePathStyle?: pulumi.Input<boolean>;
  readonly caCertificate?: pulumi.Input<string>;
  /** Let `pulumi destroy` empty and delete a bucket that still holds objects. @default false */
  readonly forceDestroy?: pulumi.Input<boolean>;
}

/** Provider-side inputs (plain values, as the engine serializes them). */
export interface BucketInputs {
  readonly bucket: string;
  readonly region: string;
  readonly endpoint?: string;
  readonly forcePathStyle: boolean;
  readonly caCertificate?: string;
  readonly forceDestroy: boolean;
}

/** What the store supports is recorded, so a warning is given once and `refresh` can see it change. */
export type FeatureState = "enabled" | "unsupported";

export interface BucketOutputs extends BucketInputs {
  /** The bucket existed before this stack created it (it was adopted, not created). */
  readonly adopted: boolean;
  readonly versioning: FeatureState;
  readonly encryption: FeatureState;
  /** Lifecycle rule that aborts incomplete multipart uploads after 7 days. */
  readonly abortIncompleteUploads: FeatureState;
}

const PREFIX = "bucket";

/** Provider of the artifact bucket: creates or adopts it, hardens it where the store allows. */
export class BucketProvider implements pulumi.dynamic.ResourceProvider<BucketInputs, BucketOutputs> {
  private credentials: S3Credentials | undefined;

  configure(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
    this.credentials = s3CredentialsFrom(req.config);
    return Promise.resolve();
  }

  /** The client is built per call (a seam tests may override); nothing network-bound is captured at module level. */
  protected client(inputs: BucketInputs): S3Client {
    return createS3Client(inputs, this.credentials);
  }

  check(_olds: BucketInputs, news: BucketInputs): Promise<pulumi.dynamic.CheckResult<BucketInputs>> {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const { bucket, region, endpoint } = news;
    if (!isUnknown(bucket)) {
      if (typeof bucket !== "string" || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
        failures.push({
          property: "bucket",
          reason: `expected 3-63 lowercase letters, digits, dots or hyphens, but ${JSON.stringify(bucket)} was provided`,
        });
      }
    }
    if (!isUnknown(region) && (typeof region !== "string" || region.length === 0)) {
      failures.push({ property: "region", reason: "is required, e.g. us-east-1" });
    }
    if (endpoint !== undefined && !isUnknown(endpoint)) {
      try {
        const u = new URL(endpoint);
        if (u.protocol !== "http:" && u.protocol !== "https:") throw new TypeError(u.protocol);
      } catch {
        failures.push({
          property: "endpoint",
          reason: `expected an http(s) URL such as https://s3.example.org, but ${JSON.stringify(endpoint)} was provided`,
        });
      }
    }
    const inputs = defined<BucketInputs>({
      ...news,
      forcePathStyle: news.forcePathStyle ?? endpoint !== undefined,
      forceDestroy: news.forceDestroy ?? false,
    });
    return Promise.resolve({ inputs, failures });
  }

  diff(_id: string, olds: BucketOutputs, news: BucketInputs): Promise<pulumi.dynamic.DiffResult> {
    const replaces = (["bucket", "region", "endpoint"] as const).filter((k) => olds[k] !== news[k]);
    const updates = (["forcePathStyle", "caCertificate", "forceDestroy"] as const).filter(
      (k) => olds[k] !== news[k],
    );
    return Promise.resolve({
      changes: replaces.length > 0 || updates.length > 0 || providerCodeChanged(olds, news),
      replaces,
      deleteBeforeReplace: false,
    });
  }

  async create(inputs: BucketInputs): Promise<pulumi.dynamic.CreateResult<BucketOutputs>> {
    const s3 = this.client(inputs);
    const where = `s3://${inputs.bucket}${inputs.endpoint ? ` at ${inputs.endpoint}` : ""}`;
    try {
      let adopted = false;
      try {
        await s3.send(new HeadBucketCommand({ Bucket: inputs.bucket }));
        adopted = true;
        console.log(`${PREFIX}: ${where} exists and is accessible: adopting it`);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      if (!adopted) {
        await s3.send(
          new CreateBucketCommand({
            Bucket: inputs.bucket,
            // us-east-1 is the only region that must not be named as a location constraint.
            ...(inputs.region !== "us-east-1"
              ? { CreateBucketConfiguration: { LocationConstraint: inputs.region as never } }
              : {}),
          }),
        );
        console.log(`${PREFIX}: created ${where}`);
      }
      const features = await this.harden(s3, inputs);
      return { id: inputs.bucket, outs: { ...inputs, adopted, ...features } };
    } catch (e) {
      throw this.wrap(e, `create ${where}`);
    } finally {
      s3.destroy();
    }
  }

  async read(id: string, props?: BucketOutputs): Promise<pulumi.dynamic.ReadResult<BucketOutputs>> {
    if (!props) return {};
    const s3 = this.client(props);
    try {
      try {
        await s3.send(new HeadBucketCommand({ Bucket: props.bucket }));
      } catch (e) {
        if (isNotFound(e)) {
          console.log(`${PREFIX}: s3://${props.bucket} no longer exists`);
          return {};
        }
        throw e;
      }
      let versioning = props.versioning;
      try {
        const v = await s3.send(new GetBucketVersioningCommand({ Bucket: props.bucket }));
        versioning = v.Status === "Enabled" ? "enabled" : "unsupported";
      } catch (e) {
        if (!isNotImplemented(e)) throw e;
      }
      const outs = { ...props, versioning };
      // ReadResult types `inputs` as Outputs; the engine wants just the input properties here (3.216+).
      return { id, props: outs, inputs: this.inputsOf(outs) as BucketOutputs };
    } catch (e) {
      throw this.wrap(e, `read s3://${props.bucket}`);
    } finally {
      s3.destroy();
    }
  }

  async update(
    _id: string,
    olds: BucketOutputs,
    news: BucketInputs,
  ): Promise<pulumi.dynamic.UpdateResult<BucketOutputs>> {
    // Only non-identity settings reach update (identity changes replace); re-apply hardening, keep the rest.
    return Promise.resolve({ outs: { ...olds, ...news } });
  }

  async delete(_id: string, props: BucketOutputs): Promise<void> {
    const s3 = this.client(props);
    try {
      const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: props.bucket, MaxKeys: 1000 }));
      const entries = [...(listed.Versions ?? []), ...(listed.DeleteMarkers ?? [])];
      const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: props.bucket }));
      if (entries.length > 0 && !props.forceDestroy) {
        throw new S3StoreError(
          `${PREFIX}: refusing to delete s3://${props.bucket}: it still holds objects (for example ` +
            `${entries[0]?.Key ?? "?"}). Empty it first, or set s3.forceDestroy to true and run 'pulumi up' ` +
            `before 'pulumi destroy'.`,
          "BucketNotEmpty",
        );
      }
      for (const u of uploads.Uploads ?? []) {
        await s3.send(
          new AbortMultipartUploadCommand({ Bucket: props.bucket, Key: u.Key, UploadId: u.UploadId }),
        );
      }
      let page = listed;
      for (;;) {
        const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((v) => ({
          Key: v.Key,
          VersionId: v.VersionId,
        }));
        if (objects.length > 0) {
          await s3.send(
            new DeleteObjectsCommand({ Bucket: props.bucket, Delete: { Objects: objects, Quiet: true } }),
          );
        }
        if (!page.IsTruncated) break;
        page = await s3.send(
          new ListObjectVersionsCommand({
            Bucket: props.bucket,
            KeyMarker: page.NextKeyMarker,
            VersionIdMarker: page.NextVersionIdMarker,
          }),
        );
      }
      await s3.send(new DeleteBucketCommand({ Bucket: props.bucket }));
      console.log(`${PREFIX}: deleted s3://${props.bucket}`);
    } catch (e) {
      if (isNotFound(e) && s3ErrorCode(e) === "NoSuchBucket") return;
      throw this.wrap(e, `delete s3://${props.bucket}`);
    } finally {
      s3.destroy();
    }
  }

  /** Versioning, default encryption and an abort-incomplete-uploads rule, each tolerated as unsupported. */
  private async harden(
    s3: S3Client,
    inputs: BucketInputs,
  ): Promise<Pick<BucketOutputs, "versioning" | "encryption" | "abortIncompleteUploads">> {
    const attempt = async (what: string, fn: () => Promise<unknown>): Promise<FeatureState> => {
      try {
        await fn();
        return "enabled";
      } catch (e) {
        if (!isNotImplemented(e)) throw e;
        console.warn(
          `${PREFIX}: warning: the store does not implement ${what} for s3://${inputs.bucket}; continuing without it`,
        );
        return "unsupported";
      }
    };
    const versioning = await attempt("bucket versioning", () =>
      s3.send(
        new PutBucketVersioningCommand({
          Bucket: inputs.bucket,
          VersioningConfiguration: { Status: "Enabled" },
        }),
      ),
    );
    const encryption = await attempt("default encryption", () =>
      s3.send(
        new PutBucketEncryptionCommand({
          Bucket: inputs.bucket,
          ServerSideEncryptionConfiguration: {
            Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
          },
        }),
      ),
    );
    // Incomplete multipart uploads are invisible in listings and cost money: a lifecycle backstop (S3 user guide).
    const abortIncompleteUploads = await attempt("lifecycle rules", () =>
      s3.send(
        new PutBucketLifecycleConfigurationCommand({
          Bucket: inputs.bucket,
          LifecycleConfiguration: {
            Rules: [
              {
                ID: "abort-incomplete-multipart-uploads",
                Status: "Enabled",
                Filter: { Prefix: "" },
                AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
              },
            ],
          },
        }),
      ),
    );
    return { versioning, encryption, abortIncompleteUploads };
  }

  private inputsOf(o: BucketOutputs): BucketInputs {
    return defined<BucketInputs>({
      bucket: o.bucket,
      region: o.region,
      endpoint: o.endpoint,
      forcePathStyle: o.forcePathStyle,
      caCertificate: o.caCertificate,
      forceDestroy: o.forceDestroy,
    });
  }

  private wrap(e: unknown, what: string): Error {
    if (e instanceof S3StoreError) return e;
    const code = s3ErrorCode(e) ?? "unknown";
    const hint =
      code === "InvalidAccessKeyId" || code === "SignatureDoesNotMatch" || code === "AccessDenied"
        ? " Check s3AccessKeyId / s3SecretAccessKey ('pulumi config set --secret') and the bucket policy."
        : "";
    const detail = (e as Error).message && (e as Error).message !== code ? `: ${(e as Error).message}` : "";
    return new S3StoreError(`${PREFIX}: ${what} failed: ${code}${detail}.${hint}`, code, { cause: e });
  }
}

/** The S3 bucket that stores every artifact and the catalogue index. */
export class ArtifactBucket extends pulumi.dynamic.Resource {
  declare readonly bucket: pulumi.Output<string>;
  declare readonly region: pulumi.Output<string>;
  declare readonly adopted: pulumi.Output<boolean>;
  declare readonly versioning: pulumi.Output<FeatureState>;
  declare readonly encryption: pulumi.Output<FeatureState>;

  constructor(name: string, args: ArtifactBucketArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      shimProvider<BucketInputs, BucketOutputs>("providers/bucket", "BucketProvider"),
      name,
      {
        adopted: undefined,
        versioning: undefined,
        encryption: undefined,
        abortIncompleteUploads: undefined,
        ...args,
      },
      opts,
      "xcpng",
      "ArtifactBucket",
    );
  }
}
