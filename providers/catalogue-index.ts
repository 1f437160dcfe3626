import * as pulumi from "@pulumi/pulumi";
import { shimProvider } from "./dynamic/shim";
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { providerCodeChanged } from "./dynamic/provider-code";
import { s3CredentialsFrom } from "./dynamic/stack-secrets";
import { createS3Client, type S3Credentials, type S3Location } from "../lib/s3/client";
import { S3StoreError, isNotFound, s3ErrorCode } from "../lib/s3/errors";
import type { StoredArtifact } from "./artifact-retention";

/** One complete artifact, as listed in index.json. */
export interface IndexEntry extends StoredArtifact {
  readonly template: string;
  readonly os: string;
  readonly version: string;
}

/** The document stored at the bucket root. */
export interface CatalogueDocument {
  readonly schema: "xcpng-templates/index@1";
  readonly updatedAt: string;
  readonly artifacts: readonly IndexEntry[];
  /** Per template, the key of its newest artifact. */
  readonly latest: Readonly<
    Record<string, { readonly key: string; readonly manifestKey: string; readonly sha256: string }>
  >;
}

export const INDEX_KEY = "index.json";

/** Builds the document: entries sorted by template then time, `latest` = newest entry per template. */
export function buildCatalogue(entries: readonly IndexEntry[], now = new Date()): CatalogueDocument {
  const artifacts = [...entries].sort((a, b) =>
    a.template === b.template
      ? a.exportedAt.localeCompare(b.exportedAt)
      : a.template.localeCompare(b.template),
  );
  const latest: Record<string, { key: string; manifestKey: string; sha256: string }> = {};
  for (const e of artifacts)
    latest[e.template] = { key: e.key, manifestKey: e.manifestKey, sha256: e.sha256 };
  return { schema: "xcpng-templates/index@1", updatedAt: now.toISOString(), artifacts, latest };
}

export interface CatalogueIndexArgs {
  readonly store: pulumi.Input<S3Location & { bucket: string }>;
  /** Complete artifacts only: pass Artifact outputs, so the index is written after every upload finished. */
  readonly entries: pulumi.Input<{ readonly [K in keyof IndexEntry]: pulumi.Input<IndexEntry[K]> }[]>;
}

export interface CatalogueIndexInputs {
  readonly store: S3Location & { readonly bucket: string };
  readonly entries: IndexEntry[];
}

export interface CatalogueIndexOutputs extends CatalogueIndexInputs {
  readonly key: string;
  readonly etag: string;
}

const PREFIX = "catalogue-index";

/** index.json at the bucket root: every artifact with its manifest, and a `latest` pointer per template. */
export class CatalogueIndexProvider implements pulumi.dynamic.ResourceProvider<
  CatalogueIndexInputs,
  CatalogueIndexOutputs
> {
  private credentials: S3Credentials | undefined;

  configure(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
    this.credentials = s3CredentialsFrom(req.config);
    return Promise.resolve();
  }

  diff(
    _id: string,
    olds: CatalogueIndexOutputs,
    news: CatalogueIndexInputs,
  ): Promise<pulumi.dynamic.DiffResult> {
    const replaces =
      olds.store.bucket !== news.store.bucket || olds.store.endpoint !== news.store.endpoint ? ["store"] : [];
    const changed = JSON.stringify(olds.entries) !== JSON.stringify(news.entries);
    return Promise.resolve({
      changes: replaces.length > 0 || changed || providerCodeChanged(olds, news),
      replaces,
    });
  }

  async create(inputs: CatalogueIndexInputs): Promise<pulumi.dynamic.CreateResult<CatalogueIndexOutputs>> {
    return { id: `${inputs.store.bucket}/${INDEX_KEY}`, outs: await this.write(inputs) };
  }

  async update(
    _id: string,
    _olds: CatalogueIndexOutputs,
    news: CatalogueIndexInputs,
  ): Promise<pulumi.dynamic.UpdateResult<CatalogueIndexOutputs>> {
    return { outs: await this.write(news) };
  }

  async read(
    id: string,
    props?: CatalogueIndexOutputs,
  ): Promise<pulumi.dynamic.ReadResult<CatalogueIndexOutputs>> {
    if (!props) return {};
    const s3 = createS3Client(props.store, this.credentials);
    try {
      const head = await s3.send(new HeadObjectCommand({ Bucket: props.store.bucket, Key: INDEX_KEY }));
      if (head.ETag !== props.etag) {
        console.log(
          `${PREFIX}: s3://${props.store.bucket}/${INDEX_KEY} was changed outside Pulumi: it will be rewritten`,
        );
        return {};
      }
      return { id, props };
    } catch (e) {
      if (isNotFound(e)) return {};
      throw new S3StoreError(
        `${PREFIX}: read s3://${props.store.bucket}/${INDEX_KEY}: ${s3ErrorCode(e) ?? String(e)}`,
        s3ErrorCode(e),
      );
    } finally {
      s3.destroy();
    }
  }

  async delete(_id: string, props: CatalogueIndexOutputs): Promise<void> {
    const s3 = createS3Client(props.store, this.credentials);
    try {
      await s3.send(new DeleteObjectCommand({ Bucket: props.store.bucket, Key: INDEX_KEY }));
    } catch (e) {
      if (!isNotFound(e))
        throw new S3StoreError(
          `${PREFIX}: delete s3://${props.store.bucket}/${INDEX_KEY}: ${s3ErrorCode(e)}`,
          s3ErrorCode(e),
        );
    } finally {
      s3.destroy();
    }
  }

  private async write(inputs: CatalogueIndexInputs): Promise<CatalogueIndexOutputs> {
    const s3 = createS3Client(inputs.store, this.credentials);
    try {
      const doc = buildCatalogue(inputs.entries);
      const put = await s3.send(
        new PutObjectCommand({
          Bucket: inputs.store.bucket,
          Key: INDEX_KEY,
          Body: JSON.stringify(doc, null, 2),
          ContentType: "application/json",
        }),
      );
      console.log(
        `${PREFIX}: wrote s3://${inputs.store.bucket}/${INDEX_KEY} (${doc.artifacts.length} artifact(s))`,
      );
      return { ...inputs, key: INDEX_KEY, etag: put.ETag ?? "" };
    } catch (e) {
      throw new S3StoreError(
        `${PREFIX}: writing s3://${inputs.store.bucket}/${INDEX_KEY} failed: ${s3ErrorCode(e) ?? String(e)}. The artifacts ` +
          `are complete; run 'pulumi up' again to publish the index.`,
        s3ErrorCode(e),
      );
    } finally {
      s3.destroy();
    }
  }
}

export class CatalogueIndex extends pulumi.dynamic.Resource {
  declare readonly key: pulumi.Output<string>;
  declare readonly etag: pulumi.Output<string>;

  constructor(name: string, args: CatalogueIndexArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      shimProvider<CatalogueIndexInputs, CatalogueIndexOutputs>(
        "providers/catalogue-index",
        "CatalogueIndexProvider",
      ),
      name,
      { key: undefined, etag: undefined, ...args },
      opts,
      "xcpng",
      "CatalogueIndex",
    );
  }
}
