import * as pulumi from "@pulumi/pulumi";
import { shimProvider } from "./dynamic/shim";
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { changedKeys, diffResult } from "./dynamic/diff";
import { ProviderBase } from "./dynamic/provider-base";
import { storeChanged, type ArtifactStore } from "./store";
import { s3Failure } from "./dynamic/s3-failure";
import { isNotFound } from "../lib/s3/errors";
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
  readonly store: pulumi.Input<ArtifactStore>;
  /** Complete artifacts only: pass Artifact outputs, so the index is written after every upload finished. */
  readonly entries: pulumi.Input<{ readonly [K in keyof IndexEntry]: pulumi.Input<IndexEntry[K]> }[]>;
}

export interface CatalogueIndexInputs {
  readonly store: ArtifactStore;
  readonly entries: IndexEntry[];
}

export interface CatalogueIndexOutputs extends CatalogueIndexInputs {
  readonly key: string;
  readonly etag: string;
}

const PREFIX = "catalogue-index";

/** index.json at the bucket root: every artifact with its manifest, and a `latest` pointer per template. */
export class CatalogueIndexProvider
  extends ProviderBase
  implements pulumi.dynamic.ResourceProvider<CatalogueIndexInputs, CatalogueIndexOutputs>
{
  protected readonly component = PREFIX;

  diff(
    _id: string,
    olds: CatalogueIndexOutputs,
    news: CatalogueIndexInputs,
  ): Promise<pulumi.dynamic.DiffResult> {
    return Promise.resolve(
      diffResult(olds, news, {
        replaces: storeChanged(olds.store, news.store) ? ["store"] : [],
        updates: changedKeys(olds, news, ["entries", "store"], "change"),
      }),
    );
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
    const where = `s3://${props.store.bucket}/${INDEX_KEY}`;
    return this.withS3(props.store, async (s3) => {
      try {
        const head = await s3.send(new HeadObjectCommand({ Bucket: props.store.bucket, Key: INDEX_KEY }));
        if (head.ETag === props.etag) return { id, props };
        console.log(`${PREFIX}: ${where} was changed outside Pulumi: it will be rewritten`);
        return {};
      } catch (e) {
        if (isNotFound(e)) return {};
        throw s3Failure(e, `${PREFIX}: reading ${where}`);
      }
    });
  }

  async delete(_id: string, props: CatalogueIndexOutputs): Promise<void> {
    await this.withS3(props.store, async (s3) => {
      await s3
        .send(new DeleteObjectCommand({ Bucket: props.store.bucket, Key: INDEX_KEY }))
        .catch((e: unknown) => {
          if (!isNotFound(e))
            throw s3Failure(e, `${PREFIX}: deleting s3://${props.store.bucket}/${INDEX_KEY}`);
        });
    });
  }

  private async write(inputs: CatalogueIndexInputs): Promise<CatalogueIndexOutputs> {
    const where = `s3://${inputs.store.bucket}/${INDEX_KEY}`;
    const doc = buildCatalogue(inputs.entries);
    const put = await this.withS3(inputs.store, (s3) =>
      s3.send(
        new PutObjectCommand({
          Bucket: inputs.store.bucket,
          Key: INDEX_KEY,
          Body: JSON.stringify(doc, null, 2),
          ContentType: "application/json",
        }),
      ),
    ).catch((e: unknown) => {
      throw s3Failure(
        e,
        `${PREFIX}: writing ${where}`,
        "The artifacts are complete; run 'pulumi up' again to publish the index.",
      );
    });
    console.log(`${PREFIX}: wrote ${where} (${doc.artifacts.length} artifact(s))`);
    return { ...inputs, key: INDEX_KEY, etag: put.ETag ?? "" };
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
