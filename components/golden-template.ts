import * as pulumi from "@pulumi/pulumi";
import type { PoolTarget } from "../lib/xapi/client";
import { Artifact } from "../providers/artifact";
import type { IndexEntry } from "../providers/catalogue-index";
import type { TemplateConfig } from "../providers/config/stack-config";
import { PackerBuild } from "../providers/packer-build";
import { PoolTemplate } from "../providers/pool-template";
import type { TemplateSources } from "../providers/source-hash";
import type { ArtifactStore } from "../providers/store";

export interface GoldenTemplateArgs {
  readonly template: TemplateConfig;
  /** What shapes the image (see providers/source-hash.ts); any change rebuilds this template only. */
  readonly sources: TemplateSources;
  readonly toolVersions: string;
  readonly pool: PoolTarget;
  readonly store: ArtifactStore;
  /** The bucket resource: artifacts are written only once it exists. */
  readonly bucket: pulumi.Resource;
  /** Names of the stack's secret config keys: their values are masked in the build log. */
  readonly secretKeys: readonly string[];
}

/**
 * One catalogue entry: the Packer build, the verified template on the pool, and its archive in S3 (with the
 * earlier archives its retention keeps), exposed as the entries the catalogue index lists.
 */
export class GoldenTemplate extends pulumi.ComponentResource {
  /** The catalogue entry this component builds. */
  readonly config: TemplateConfig;
  readonly build: PackerBuild;
  readonly poolTemplate: PoolTemplate;
  readonly artifact: Artifact;
  /** Every artifact of this template in the store, current first: what index.json lists for it. */
  readonly indexEntries: pulumi.Output<IndexEntry[]>;

  constructor(name: string, args: GoldenTemplateArgs, opts?: pulumi.ComponentResourceOptions) {
    super("xcpng:index:GoldenTemplate", name, {}, opts);
    const t = args.template;
    this.config = t;
    this.build = new PackerBuild(
      `${name}-build`,
      {
        templateName: t.name,
        packerTemplate: t.packerTemplate,
        ...(t.varFile !== undefined ? { varFile: t.varFile } : {}),
        sources: { ...args.sources.files },
        toolVersions: args.toolVersions,
        pool: args.pool,
        tags: [...t.tags],
        timeoutMinutes: t.buildTimeoutMinutes,
        secretKeys: [...args.secretKeys],
      },
      { parent: this },
    );
    this.poolTemplate = new PoolTemplate(
      `${name}-template`,
      { pool: args.pool, buildId: this.build.buildId, declaredOs: t.os, declaredVersion: t.version },
      { parent: this },
    );
    this.artifact = new Artifact(
      `${name}-artifact`,
      {
        pool: args.pool,
        store: args.store,
        templateUuid: this.poolTemplate.uuid,
        templateName: t.name,
        os: t.os,
        version: t.version,
        virtualSizeBytes: this.poolTemplate.virtualSizeBytes,
        retention: t.retention,
        facts: {
          buildId: this.build.buildId,
          sourceHash: args.sources.hash,
          toolVersions: args.toolVersions,
          packerVersion: this.build.packerVersion,
          buildDurationSeconds: this.build.durationSeconds,
          poolOs: pulumi.interpolate`${this.poolTemplate.osDistro} ${this.poolTemplate.osVersion}`,
        },
      },
      { parent: this, dependsOn: [args.bucket] },
    );
    this.indexEntries = indexEntriesOf(t, this.artifact, this.build);
    this.registerOutputs({
      buildId: this.build.buildId,
      templateUuid: this.poolTemplate.uuid,
      artifactKey: this.artifact.key,
      indexEntries: this.indexEntries,
    });
  }
}

/** The current artifact and the earlier ones retention keeps (those still in the store), as index entries. */
function indexEntriesOf(
  t: TemplateConfig,
  artifact: Artifact,
  build: PackerBuild,
): pulumi.Output<IndexEntry[]> {
  const current = pulumi.all([
    artifact.key,
    artifact.manifestKey,
    artifact.sha256,
    artifact.sizeBytes,
    build.buildId,
    artifact.exportedAt,
  ]);
  return pulumi
    .all([current, artifact.previous])
    .apply(([[key, manifestKey, sha256, sizeBytes, buildId, exportedAt], previous]) =>
      [
        { key, manifestKey, sha256, sizeBytes, buildId, exportedAt },
        ...(previous ?? []).filter((p) => p.missing !== true),
      ].map((a): IndexEntry => ({
        template: t.name,
        os: t.os,
        version: t.version,
        key: a.key,
        manifestKey: a.manifestKey,
        sha256: a.sha256,
        sizeBytes: a.sizeBytes,
        buildId: a.buildId,
        exportedAt: a.exportedAt,
      })),
    );
}
