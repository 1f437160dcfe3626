import * as pulumi from "@pulumi/pulumi";
import type { TemplateConfig } from "./config/stack-config";
import { Artifact } from "./artifact";
import { PackerBuild } from "./packer-build";
import { PoolTemplate } from "./pool-template";
import type { S3Location } from "../lib/s3/client";
import type { TemplateSources } from "./source-hash";
import type { PoolTarget } from "../lib/xapi/client";

export interface GoldenTemplateArgs {
  readonly template: TemplateConfig;
  /** What shapes the image (see source-hash.ts); any change rebuilds this template only. */
  readonly sources: TemplateSources;
  readonly toolVersions: string;
  readonly pool: PoolTarget;
  readonly store: S3Location & { readonly bucket: string };
  /** The bucket resource: artifacts are written only once it exists. */
  readonly bucket: pulumi.Resource;
}

/** One catalogue entry: the Packer build, the verified template on the pool, and its archive in S3. */
export class GoldenTemplate extends pulumi.ComponentResource {
  readonly build: PackerBuild;
  readonly poolTemplate: PoolTemplate;
  readonly artifact: Artifact;

  constructor(name: string, args: GoldenTemplateArgs, opts?: pulumi.ComponentResourceOptions) {
    super("xcpng:index:GoldenTemplate", name, {}, opts);
    const t = args.template;
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
    this.registerOutputs({});
  }
}
