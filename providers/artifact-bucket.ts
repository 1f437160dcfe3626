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
  S3Client,
} from "@aws-sdk/client-s3";
import { defined, isUnknown } from "./dynamic/provider-code";
import { changedKeys, diffResult } from "./dynamic/diff";
import { ProviderBase } from "./dynamic/provider-base";
import { RULES, ruleFailure } from "./config/rules";
import { s3Failure } from "./dynamic/s3-failure";
import { S3StoreError, isNotFound, isNotImplemented } from "../lib/s3/errors";
import { removeStackObjects } from "./artifact-sweep";
import { applyManagedSettings, removeOurRules, type FeatureState } from "./bucket-settings";

/** User-facing arguments of the artifact bucket. */
export interface ArtifactBucketArgs {
  readonly bucket: pulumi.Input<string>;
  readonly region: pulumi.Input<string>;
  /** Endpoint of an S3-compatible store; omit for AWS S3. */
  readonly endpoint?: pulumi.Input<string>;
  /** @default true when an endpoint is set */
  readonly forcePathStyle?: pulumi.Input<boolean>;
  readonly caCertificate?: pulumi.Input<string>;
  /** Let `pulumi destroy` empty and delete a bucket this stack created that still holds objects. @default false */
  readonly forceDestroy?: pulumi.Input<boolean>;
  /** Prefix of the stack's keys: its lifecycle rules are scoped to it, and destroy removes only objects under it. */
  readonly prefix: pulumi.Input<string>;
  /** The stack: objects it wrote carry its name (x-amz-meta-xcpng-stack). */
  readonly stack: pulumi.Input<string>;
  /**
   * Let the stack manage a bucket it adopted (existing before the stack): enable versioning, set a default
   * encryption where none is set, add its lifecycle rules beside the existing ones. Without it, an adopted bucket
   * keeps every setting as found. @default false
   */
  readonly manageAdopted?: pulumi.Input<boolean>;
}

/** Provider-side inputs (plain values, as the engine serializes them). */
export interface BucketInputs {
  readonly bucket: string;
  readonly region: string;
  readonly endpoint?: string;
  readonly forcePathStyle: boolean;
  readonly caCertificate?: string;
  readonly forceDestroy: boolean;
  readonly prefix: string;
  readonly stack: string;
  readonly manageAdopted: boolean;
}

export type { FeatureState };

export interface BucketOutputs extends BucketInputs {
  /** The bucket existed before this stack created it (it was adopted, not created): destroy never deletes it. */
  readonly adopted: boolean;
  /** The stack applies its settings to the bucket: it created it, or `manageAdopted` is set. */
  readonly managed: boolean;
  readonly versioning: FeatureState;
  readonly encryption: FeatureState;
  /** The stack's lifecycle rules (abort incomplete uploads, expire noncurrent versions) under its prefix. */
  readonly lifecycle: FeatureState;
}

const PREFIX = "bucket";

/** Where the bucket is: a change replaces the resource. */
const IDENTITY_KEYS = ["bucket", "region", "endpoint"] as const;
/** How it is reached, managed and deleted: a change updates in place. */
const SETTING_KEYS = [
  "forcePathStyle",
  "caCertificate",
  "forceDestroy",
  "prefix",
  "stack",
  "manageAdopted",
] as const;

const UNMANAGED = { versioning: "unmanaged", encryption: "unmanaged", lifecycle: "unmanaged" } as const;

/** Provider of the artifact bucket: creates or adopts it; manages the settings of a bucket it owns. */
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
    const prefix = news.prefix ?? "";
    const prefixProblem = isUnknown(prefix) ? undefined : ruleFailure(RULES.keyPrefix, prefix);
    if (prefixProblem !== undefined) failures.push({ property: "prefix", reason: prefixProblem });
    const inputs = defined<BucketInputs>({
      ...news,
      prefix,
      forcePathStyle: news.forcePathStyle ?? endpoint !== undefined,
      forceDestroy: news.forceDestroy ?? false,
      manageAdopted: news.manageAdopted ?? false,
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
      const adopted = await this.exists(s3, inputs.bucket);
      if (adopted) {
        this.say(
          `${where} exists: adopting it` +
            (inputs.manageAdopted
              ? " and managing its settings (s3.manageAdoptedBucket)"
              : " as found, its settings unchanged (set s3.manageAdoptedBucket to let the stack manage them)"),
        );
      } else {
        await s3.send(
          new CreateBucketCommand({
            Bucket: inputs.bucket,
            // us-east-1 is the only region that must not be named as a location constraint.
            ...(inputs.region !== "us-east-1"
              ? { CreateBucketConfiguration: { LocationConstraint: inputs.region as never } }
              : {}),
          }),
        );
        this.say(`created ${where}`);
      }
      const managed = !adopted || inputs.manageAdopted;
      const settings = managed
        ? await applyManagedSettings(s3, inputs.bucket, inputs.prefix, this.unsupported(inputs))
        : UNMANAGED;
      return { id: inputs.bucket, outs: { ...inputs, adopted, managed, ...settings } };
    });
  }

  async read(id: string, props?: BucketOutputs): Promise<pulumi.dynamic.ReadResult<BucketOutputs>> {
    if (!props) return {};
    return this.op(props, `read s3://${props.bucket}`, async (s3) => {
      if (!(await this.exists(s3, props.bucket))) {
        this.say(`s3://${props.bucket} no longer exists`);
        return {};
      }
      let versioning = props.versioning;
      if (props.managed) {
        try {
          const v = await s3.send(new GetBucketVersioningCommand({ Bucket: props.bucket }));
          versioning = v.Status === "Enabled" ? "enabled" : "unsupported";
        } catch (e) {
          if (!isNotImplemented(e)) throw e;
        }
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
    // Only settings reach update (identity changes replace). Management follows `manageAdopted` and the prefix;
    // versioning and encryption, once set, are left as they are.
    const adopted = olds.adopted ?? false;
    const managed = !adopted || news.manageAdopted;
    const wasManaged = olds.managed ?? !adopted;
    if (managed === wasManaged && news.prefix === olds.prefix)
      return { outs: { ...olds, ...news, adopted, managed } };
    return this.op(news, `update s3://${news.bucket}`, async (s3) => {
      if (wasManaged) await removeOurRules(s3, news.bucket, olds.prefix ?? "");
      const settings = managed
        ? await applyManagedSettings(s3, news.bucket, news.prefix, this.unsupported(news))
        : UNMANAGED;
      return { outs: { ...olds, ...news, adopted, managed, ...settings } };
    });
  }

  async delete(_id: string, props: BucketOutputs): Promise<void> {
    try {
      await this.op(props, `delete s3://${props.bucket}`, (s3) =>
        props.adopted ? this.release(s3, props) : this.empty(s3, props),
      );
    } catch (e) {
      if (e instanceof S3StoreError && e.code === "NoSuchBucket") return;
      throw e;
    }
  }

  /**
   * Leaves an adopted bucket in place with what others wrote in it: removes only the stack's leftovers under its
   * prefix (objects carrying its name, incomplete uploads) and its lifecycle rules.
   */
  private async release(s3: S3Client, props: BucketOutputs): Promise<void> {
    const store = { ...props, prefix: props.prefix ?? "", stack: props.stack ?? "" };
    const removed = await removeStackObjects(s3, store);
    if (props.managed) await removeOurRules(s3, props.bucket, store.prefix);
    this.say(
      `left s3://${props.bucket} in place (adopted: destroy never deletes it)` +
        (removed > 0 ? `; removed ${removed} leftover object(s) of this stack` : ""),
    );
  }

  private async exists(s3: S3Client, bucket: string): Promise<boolean> {
    try {
      await s3.send(new HeadBucketCommand({ Bucket: bucket }));
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  private unsupported(inputs: BucketInputs): (what: string) => void {
    return (what) =>
      this.warn(`the store does not implement ${what} for s3://${inputs.bucket}; continuing without it`);
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
    this.say(`deleted s3://${props.bucket}`);
  }

  /** An S3 operation on the bucket, with a client made and destroyed for it and its failure explained. */
  private op<T>(loc: BucketInputs, what: string, fn: (s3: S3Client) => Promise<T>): Promise<T> {
    return this.withS3(loc, fn).catch((e: unknown) => {
      throw s3Failure(e, `${PREFIX}: ${what}`);
    });
  }

  private inputsOf(o: BucketOutputs): BucketInputs {
    return defined<BucketInputs>({
      bucket: o.bucket,
      region: o.region,
      endpoint: o.endpoint,
      forcePathStyle: o.forcePathStyle,
      caCertificate: o.caCertificate,
      forceDestroy: o.forceDestroy,
      prefix: o.prefix ?? "",
      stack: o.stack ?? "",
      manageAdopted: o.manageAdopted ?? false,
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
        managed: undefined,
        versioning: undefined,
        encryption: undefined,
        lifecycle: undefined,
        ...args,
      },
      opts,
      "xcpng",
      "ArtifactBucket",
    );
  }
}
