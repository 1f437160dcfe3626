import * as pulumi from "@pulumi/pulumi";
import { shimProvider } from "./dynamic/shim";
import { HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { deleteAllVersions } from "../lib/s3/delete-versions";
import { changedKeys, diffResult } from "./dynamic/diff";
import { ProviderBase } from "./dynamic/provider-base";
import { storeChanged, type ArtifactStore } from "./store";
import { s3Failure } from "./dynamic/s3-failure";
import { isNotFound } from "../lib/s3/errors";
import type { StoredArtifact } from "./stored-artifact";
import { buildCatalogue, deletable, revocationDates, type TemplatePublication } from "./catalogue-build";
import type { CatalogueDocument } from "./catalogue-document";
import { STACK_METADATA, removeArtifactFiles } from "./artifact-sweep";
import { indexKey, pageKey } from "./layout";
import { renderCataloguePage } from "../lib/catalogue-page/render";

export interface CatalogueIndexArgs {
  readonly store: pulumi.Input<ArtifactStore>;
  /**
   * Each template's publication (components/publication-plan.ts), from complete artifacts only: the index is
   * written after every upload (and acceptance) finished.
   */
  readonly templates: pulumi.Input<pulumi.Input<TemplatePublication>[]>;
  /**
   * Artifacts no longer kept: deleted for good once the index that no longer lists them is published, never
   * before; an artifact the index still lists is never deleted.
   */
  readonly prune: pulumi.Input<pulumi.Input<StoredArtifact>[]>;
}

export interface CatalogueIndexInputs {
  readonly store: ArtifactStore;
  readonly templates: TemplatePublication[];
  readonly prune: StoredArtifact[];
}

export interface CatalogueIndexOutputs extends CatalogueIndexInputs {
  readonly key: string;
  readonly etag: string;
  /** The catalogue page beside the index (lib/catalogue-page), rewritten with it. */
  readonly pageKey?: string;
  readonly pageEtag?: string;
  /** When each revocation was first published (build id → time), kept across updates. */
  readonly revokedAt: Record<string, string>;
}

const PREFIX = "catalogue-index";

/**
 * The stack's index.json (every artifact with its manifest, channels, and a `latest` pointer per template) and the
 * catalogue page made from it, index.html, written after each index.json.
 */
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
        updates: changedKeys(olds, news, ["templates", "store", "prune"], "change"),
      }),
    );
  }

  async create(inputs: CatalogueIndexInputs): Promise<pulumi.dynamic.CreateResult<CatalogueIndexOutputs>> {
    const outs = await this.publish(inputs, {});
    return { id: `${inputs.store.bucket}/${outs.key}`, outs };
  }

  async update(
    _id: string,
    olds: CatalogueIndexOutputs,
    news: CatalogueIndexInputs,
  ): Promise<pulumi.dynamic.UpdateResult<CatalogueIndexOutputs>> {
    const outs = await this.publish(news, olds.revokedAt ?? {});
    // The index moved (another prefix): the old one would list artifacts nobody keeps any more.
    if (olds.key !== outs.key) {
      await this.removeIndex(olds.store, olds.key);
      await this.removeIndex(olds.store, olds.pageKey ?? pageKey(olds.store.prefix));
    }
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
        const page = await s3
          .send(
            new HeadObjectCommand({
              Bucket: props.store.bucket,
              Key: props.pageKey ?? pageKey(props.store.prefix),
            }),
          )
          .catch((e: unknown) => {
            if (isNotFound(e)) return undefined;
            throw e;
          });
        if (head.ETag === props.etag && page !== undefined && page.ETag === props.pageEtag)
          return { id, props };
        this.say(
          `${where} or the page beside it was changed or removed outside Pulumi: both will be rewritten`,
        );
        return {};
      } catch (e) {
        if (isNotFound(e)) return {};
        throw s3Failure(e, `${PREFIX}: reading ${where}`);
      }
    });
  }

  async delete(_id: string, props: CatalogueIndexOutputs): Promise<void> {
    await this.removeIndex(props.store, props.pageKey ?? pageKey(props.store.prefix));
    await this.removeIndex(props.store, props.key);
  }

  /** Writes the index, then deletes what it no longer lists: a reader never finds a listed key gone. */
  private async publish(
    inputs: CatalogueIndexInputs,
    earlierRevocations: Readonly<Record<string, string>>,
  ): Promise<CatalogueIndexOutputs> {
    const key = indexKey(inputs.store.prefix);
    const where = `s3://${inputs.store.bucket}/${key}`;
    const now = new Date();
    const revokedAt = revocationDates(inputs.templates, earlierRevocations, now);
    const templates = await this.present(inputs.store, inputs.templates);
    const doc = buildCatalogue(templates, { stack: inputs.store.stack, revokedAt, now });
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
    const page = await this.writePage(inputs.store, doc);
    this.say(
      `wrote ${where} (${doc.artifacts.length} artifact(s)) and the page s3://${inputs.store.bucket}/${page.key}`,
    );
    await this.prune(inputs.store, deletable(inputs.prune ?? [], doc.artifacts));
    return { ...inputs, key, etag: put.ETag ?? "", pageKey: page.key, pageEtag: page.etag, revokedAt };
  }

  /** The catalogue page of `doc`, beside the index (its links are relative: they resolve from there). */
  private async writePage(
    store: ArtifactStore,
    doc: CatalogueDocument,
  ): Promise<{ key: string; etag: string }> {
    const key = pageKey(store.prefix);
    const put = await this.withS3(store, (s3) =>
      s3.send(
        new PutObjectCommand({
          Bucket: store.bucket,
          Key: key,
          Body: renderCataloguePage(doc, { prefix: store.prefix }),
          ContentType: "text/html; charset=utf-8",
          Metadata: { [STACK_METADATA]: store.stack },
        }),
      ),
    ).catch((e: unknown) => {
      throw s3Failure(
        e,
        `${PREFIX}: writing s3://${store.bucket}/${key}`,
        "index.json is published and nothing was pruned; run 'pulumi up' again to write the page.",
      );
    });
    return { key, etag: put.ETag ?? "" };
  }

  /**
   * The publications with every build whose XVA is gone from the store left out (deleted out of band since the
   * last refresh): the index never lists a key that is not there.
   */
  private async present(
    store: ArtifactStore,
    templates: readonly TemplatePublication[],
  ): Promise<TemplatePublication[]> {
    return this.withS3(store, async (s3) => {
      const out: TemplatePublication[] = [];
      for (const t of templates) {
        const builds = [];
        for (const b of t.builds) {
          const there = await s3.send(new HeadObjectCommand({ Bucket: store.bucket, Key: b.key })).then(
            () => true,
            (e: unknown) => {
              if (isNotFound(e)) return false;
              throw s3Failure(e, `${PREFIX}: reading s3://${store.bucket}/${b.key}`);
            },
          );
          if (there) builds.push(b);
          else this.say(`s3://${store.bucket}/${b.key} is gone: not listed`);
        }
        out.push({ ...t, builds });
      }
      return out;
    });
  }

  private async prune(store: ArtifactStore, artifacts: readonly StoredArtifact[]): Promise<void> {
    if (artifacts.length === 0) return;
    await this.withS3(store, async (s3) => {
      for (const a of artifacts) {
        await removeArtifactFiles(s3, store.bucket, a).catch((e: unknown) => {
          throw s3Failure(
            e,
            `${PREFIX}: deleting s3://${store.bucket}/${a.key} (no longer listed)`,
            "The index is published; run 'pulumi up' again to finish pruning.",
          );
        });
        this.say(`deleted s3://${store.bucket}/${a.key} and its manifest (no longer listed)`);
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
  declare readonly pageKey: pulumi.Output<string>;

  constructor(name: string, args: CatalogueIndexArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      shimProvider<CatalogueIndexInputs, CatalogueIndexOutputs>(
        "providers/catalogue-index",
        "CatalogueIndexProvider",
      ),
      name,
      {
        key: undefined,
        etag: undefined,
        pageKey: undefined,
        pageEtag: undefined,
        revokedAt: undefined,
        ...args,
      },
      opts,
      "xcpng",
      "CatalogueIndex",
    );
  }
}
