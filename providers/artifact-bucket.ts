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
import { defined, isUnknown } from "./dynamic/provider-code";
import { changedKeys, diffResult } from "./dynamic/diff";
import { ProviderBase } from "./dynamic/provider-base";
import { RULES, ruleFailure } from "./config/rules";
import { s3Failure } from "./dynamic/s3-failure";
import { S3StoreError, isNotFound, isNotImplemented } from "../lib/s3/errors";

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

/** Where the bucket is: a change replaces the resource. */
const IDENTITY_KEYS = ["bucket", "region", "endpoint"] as const;
/** How it is reached and deleted: a change updates state only. */
const SETTING_KEYS = ["forcePathStyle", "caCertificate", "forceDestroy"] as const;

/** Provider of the artifact bucket: creates or adopts it, hardens it where the store allows. */
export class ArtifactBucketProvider
  extends ProviderBase
  implements pulumi.dynamic.ResourceProvider<BucketInputs, BucketOutputs>
{
  protected readonly component = PREFIX;

  check(_olds: BucketInputs, news: BucketInputs): Promise<pulumi.dynamic.CheckResult<BucketInputs>> {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const { bucket, region, endpoint } = news;
    const bucketProblem = isUnknown(bucket) ? undefined : ruleFailure(RULES.bucketName, bucket);
    if (bucketProblem !== undefined) failures.push({ property: "bucket", reason: bucketProblem });
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
    return Promise.resolve(
      diffResult(olds, news, {
        replaces: changedKeys(olds, news, IDENTITY_KEYS),
        updates: changedKeys(olds, news, SETTING_KEYS),
        deleteBeforeReplace: false,
      }),
    );
  }

  async create(inputs: BucketInputs): Promise<pulumi.dynamic.CreateResult<BucketOutputs>> {
    const where = `s3://${inputs.bucket}${inputs.endpoint ? ` at ${inputs.endpoint}` : ""}`;
    return this.op(inputs, `create ${where}`, async (s3) => {
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
    });
  }

  async read(id: string, props?: BucketOutputs): Promise<pulumi.dynamic.ReadResult<BucketOutputs>> {
    if (!props) return {};
    return this.op(props, `read s3://${props.bucket}`, async (s3) => {
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
    });
  }

  async update(
    _id: string,
    olds: BucketOutputs,
    news: BucketInputs,
  ): Promise<pulumi.dynamic.UpdateResult<BucketOutputs>> {
    // Only settings reach update (identity changes replace): how the bucket is reached and deleted. The bucket
    // itself is not touched.
    return Promise.resolve({ outs: { ...olds, ...news } });
  }

  async delete(_id: string, props: BucketOutputs): Promise<void> {
    try {
      await this.op(props, `delete s3://${props.bucket}`, (s3) => this.empty(s3, props));
    } catch (e) {
      if (e instanceof S3StoreError && e.code === "NoSuchBucket") return;
      throw e;
    }
  }

  /** Empties the bucket (refused without forceDestroy while it holds objects), then deletes it. */
  private async empty(s3: S3Client, props: BucketOutputs): Promise<void> {
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
  }

  /** An S3 operation on the bucket, with a client made and destroyed for it and its failure explained. */
  private op<T>(loc: BucketInputs, what: string, fn: (s3: S3Client) => Promise<T>): Promise<T> {
    return this.withS3(loc, fn).catch((e: unknown) => {
      throw s3Failure(e, `${PREFIX}: ${what}`);
    });
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
      shimProvider<BucketInputs, BucketOutputs>("providers/artifact-bucket", "ArtifactBucketProvider"),
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
