import * as pulumi from "@pulumi/pulumi";
import { shimProvider } from "./dynamic/shim";
import { HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { deleteAllVersions } from "../lib/s3/delete-versions";
import { changedKeys, diffResult } from "./dynamic/diff";
import { ProviderBase } from "./dynamic/provider-base";
import { storeChanged, type ArtifactStore } from "./store";
import { s3Failure } from "./dynamic/s3-failure";
import { isNotFound } from "../lib/s3/errors";
import type { StoredArtifact } from "./artifact-retention";
import { STACK_METADATA } from "./artifact-sweep";
import { indexKey } from "./layout";

/** One complete artifact, as listed in index.json. */
export interface IndexEntry extends StoredArtifact {
  readonly template: string;
  readonly os: string;
  readonly version: string;
}

/** The document stored at `<prefix>/index.json` (providers/layout.ts). */
export interface CatalogueDocument {
  readonly schema: "xcpng-templates/index@1";
  readonly updatedAt: string;
  readonly artifacts: readonly IndexEntry[];
  /** Per template, the key of its newest artifact. */
  readonly latest: Readonly<
    Record<string, { readonly key: string; readonly manifestKey: string; readonly sha256: string }>
  >;
}

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
  /**
   * Artifacts no longer kept (the artifacts' `pruned` outputs): deleted for good once the index that no longer
   * lists them is published, never before; an artifact the index still lists is never deleted.
   */
  readonly prune: pulumi.Input<pulumi.Input<StoredArtifact>[]>;
}

export interface CatalogueIndexInputs {
  readonly store: ArtifactStore;
  readonly entries: IndexEntry[];
  readonly prune: StoredArtifact[];
}

export interface CatalogueIndexOutputs extends CatalogueIndexInputs {
  readonly key: string;
  readonly etag: string;
}

const PREFIX = "catalogue-index";

/** What may be deleted after publishing: the pruned artifacts the index does not list (pure: the decision). */
export function deletable(
  prune: readonly StoredArtifact[],
  listed: readonly StoredArtifact[],
): StoredArtifact[] {
  const skip = new Set(listed.map((e) => e.key));
  const out: StoredArtifact[] = [];
  for (const a of prune) {
    if (skip.has(a.key)) continue;
    skip.add(a.key);
    out.push(a);
  }
  return out;
}

/** The stack's index.json: every artifact with its manifest, and a `latest` pointer per template. */
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
        updates: changedKeys(olds, news, ["entries", "store", "prune"], "change"),
      }),
    );
  }

  async create(inputs: CatalogueIndexInputs): Promise<pulumi.dynamic.CreateResult<CatalogueIndexOutputs>> {
    const outs = await this.publish(inputs);
    return { id: `${inputs.store.bucket}/${outs.key}`, outs };
  }

  async update(
    _id: string,
    olds: CatalogueIndexOutputs,
    news: CatalogueIndexInputs,
  ): Promise<pulumi.dynamic.UpdateResult<CatalogueIndexOutputs>> {
    const outs = await this.publish(news);
    // The index moved (another prefix): the old one would list artifacts nobody keeps any more.
    if (olds.key !== outs.key) await this.removeIndex(olds.store, olds.key);
    return { outs };
  }

  async read(
    id: string,
    props?: CatalogueIndexOutputs,
  ): Promise<pulumi.dynamic.ReadResult<CatalogueIndexOutputs>> {
    if (!props) return {};
    const where = `s3://${props.store.bucket}/${props.key}`;
    return this.withS3(props.store, async (s3) => {
      try {
        const head = await s3.send(new HeadObjectCommand({ Bucket: props.store.bucket, Key: props.key }));
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
    await this.removeIndex(props.store, props.key);
  }

  /** Writes the index, then deletes what it no longer lists: a reader never finds a listed key gone. */
  private async publish(inputs: CatalogueIndexInputs): Promise<CatalogueIndexOutputs> {
    const key = indexKey(inputs.store.prefix);
    const where = `s3://${inputs.store.bucket}/${key}`;
    const doc = buildCatalogue(inputs.entries);
    const put = await this.withS3(inputs.store, (s3) =>
      s3.send(
        new PutObjectCommand({
          Bucket: inputs.store.bucket,
          Key: key,
          Body: JSON.stringify(doc, null, 2),
          ContentType: "application/json",
          Metadata: { [STACK_METADATA]: inputs.store.stack },
        }),
      ),
    ).catch((e: unknown) => {
      throw s3Failure(
        e,
        `${PREFIX}: writing ${where}`,
        "The artifacts are complete and nothing was pruned; run 'pulumi up' again to publish the index.",
      );
    });
    console.log(`${PREFIX}: wrote ${where} (${doc.artifacts.length} artifact(s))`);
    await this.prune(inputs.store, deletable(inputs.prune ?? [], inputs.entries));
    return { ...inputs, key, etag: put.ETag ?? "" };
  }

  private async prune(store: ArtifactStore, artifacts: readonly StoredArtifact[]): Promise<void> {
    if (artifacts.length === 0) return;
    await this.withS3(store, async (s3) => {
      for (const a of artifacts) {
        for (const key of [a.manifestKey, a.key]) {
          await deleteAllVersions(s3, store.bucket, key).catch((e: unknown) => {
            throw s3Failure(
              e,
              `${PREFIX}: deleting s3://${store.bucket}/${key} (no longer listed)`,
              "The index is published; run 'pulumi up' again to finish pruning.",
            );
          });
        }
        console.log(`${PREFIX}: deleted s3://${store.bucket}/${a.key} and its manifest (no longer listed)`);
      }
    });
  }

  private async removeIndex(store: ArtifactStore, key: string): Promise<void> {
    await this.withS3(store, (s3) => deleteAllVersions(s3, store.bucket, key)).catch((e: unknown) => {
      throw s3Failure(e, `${PREFIX}: deleting s3://${store.bucket}/${key}`);
    });
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
