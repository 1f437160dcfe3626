import * as pulumi from "@pulumi/pulumi";
import type { PoolTarget } from "../lib/xapi/client";
import { Acceptance } from "../providers/acceptance";
import { Artifact } from "../providers/artifact";
import type { AcceptanceSummary, ArtifactCompression } from "../providers/catalogue-document";
import type { PublishedBuild, TemplatePublication } from "../providers/catalogue-build";
import type { TemplateConfig } from "../providers/config/stack-config";
import { PackerBuild } from "../providers/packer-build";
import { PoolChannels } from "../providers/pool-channels";
import { PoolTemplate } from "../providers/pool-template";
import { Replica, type ReplicaBuild } from "../providers/replica";
import { fleetPasswordKey, type FleetConfig, type FleetPoolConfig } from "../providers/config/fleet-config";
import type { TemplateSources } from "../providers/source-hash";
import type { ArtifactStore } from "../providers/store";
import type { StoredArtifact } from "../providers/stored-artifact";
import { planPublication, stored, type BuildRecord, type PublicationPlan } from "./publication-plan";

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
  /** How new exports are compressed (the stack's `compression`). */
  readonly compression: ArtifactCompression;
}

/**
 * One catalogue entry: the Packer build, the verified template on the pool, its archive in S3, the boot
 * acceptance of that archive, and what it publishes (channels, the builds kept, the builds pruned). The catalogue
 * index is built from every entry's `publication`; then `placeChannels` tags the pool after it.
 */
export class GoldenTemplate extends pulumi.ComponentResource {
  /** The catalogue entry this component builds. */
  readonly config: TemplateConfig;
  readonly build: PackerBuild;
  readonly poolTemplate: PoolTemplate;
  readonly artifact: Artifact;
  readonly acceptance: Acceptance | undefined;
  /** Channels, kept builds and builds to prune (components/publication-plan.ts). */
  readonly plan: pulumi.Output<PublicationPlan>;
  /** What index.json says of this template. */
  readonly publication: pulumi.Output<TemplatePublication>;
  /** Artifacts the index deletes once it has published without them. */
  readonly prune: pulumi.Output<StoredArtifact[]>;
  private readonly pool: PoolTarget;

  constructor(name: string, args: GoldenTemplateArgs, opts?: pulumi.ComponentResourceOptions) {
    super("xcpng:index:GoldenTemplate", name, {}, opts);
    const t = args.template;
    this.config = t;
    this.pool = args.pool;
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
      {
        pool: args.pool,
        templateName: t.name,
        buildId: this.build.buildId,
        declaredOs: t.os,
        declaredVersion: t.version,
      },
      { parent: this },
    );
    this.artifact = this.newArtifact(name, args);
    const history = this.history(args.store);
    this.plan = history.records.apply((records) =>
      planPublication(t.name, records, {
        retention: t.retention,
        ...(t.channels.stable !== undefined ? { stablePin: t.channels.stable } : {}),
        revoked: t.revoked,
      }),
    );
    this.acceptance = history.acceptance;
    this.publication = this.plan.apply((p): TemplatePublication => ({
      template: t.name,
      os: t.os,
      version: t.version,
      builds: p.kept.map(published),
      channels: p.channels,
      revoked: [...p.revoked],
    }));
    this.prune = pulumi
      .all([this.plan, this.artifact.pruned])
      .apply(([p, leftovers]) => [...p.prune, ...(leftovers ?? [])]);
    this.registerOutputs({
      buildId: this.build.buildId,
      templateUuid: this.poolTemplate.uuid,
      artifactKey: this.artifact.key,
      publication: this.publication,
    });
  }

  /** The export of this build to the store, with the facts its manifest records. */
  private newArtifact(name: string, args: GoldenTemplateArgs): Artifact {
    const t = args.template;
    return new Artifact(
      `${name}-artifact`,
      {
        pool: args.pool,
        store: args.store,
        templateUuid: this.poolTemplate.uuid,
        templateName: t.name,
        os: t.os,
        version: t.version,
        virtualSizeBytes: this.poolTemplate.virtualSizeBytes,
        buildSbom: this.build.sbom,
        compression: args.compression,
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
  }

  /**
   * Every stored build with its acceptance result: the current artifact, accepted here (when acceptance is on),
   * and the earlier ones still in the store.
   */
  private history(store: ArtifactStore): {
    records: pulumi.Output<BuildRecord[]>;
    acceptance: Acceptance | undefined;
  } {
    const t = this.config;
    const a = this.artifact;
    const earlier = a.previous.apply((p) => (p ?? []).filter((x) => x.missing !== true));
    const acceptance = t.acceptance.enabled
      ? new Acceptance(
          `${t.name}-acceptance`,
          {
            store,
            templateName: t.name,
            os: t.os,
            version: t.version,
            build: { buildId: this.build.buildId, key: a.key, manifestKey: a.manifestKey, sha256: a.sha256 },
            history: earlier.apply((p) => p.map((x) => x.buildId)),
            guestAgent: t.acceptance.guestAgent
              ? { expected: true }
              : {
                  expected: false,
                  reason:
                    "the catalogue says this template carries no guest agent (acceptance.guestAgent: false)",
                },
          },
          { parent: this },
        )
      : undefined;
    const results: pulumi.Output<Record<string, AcceptanceSummary>> = acceptance
      ? acceptance.results
      : pulumi.output<Record<string, AcceptanceSummary>>({});
    const current = pulumi.output({
      key: a.key,
      manifestKey: a.manifestKey,
      sha256: a.sha256,
      sizeBytes: a.sizeBytes,
      buildId: this.build.buildId,
      exportedAt: a.exportedAt,
      osDetected: a.xvaOs,
      compression: a.xvaCompression,
      sbom: a.sbom,
    });
    const records: pulumi.Output<BuildRecord[]> = pulumi
      .all([current, earlier, results])
      .apply(([cur, prev, res]) =>
        buildRecords(
          cur as StoredArtifact,
          prev as StoredArtifact[],
          res as Record<string, AcceptanceSummary>,
        ),
      );
    return { records, acceptance };
  }

  /**
   * After the index is published: each fleet pool the catalogue places this template on gets the build of its
   * channel, streamed from S3 (one Replica per pool and channel).
   */
  placeOnFleet(index: pulumi.Resource, fleet: FleetConfig, store: ArtifactStore): Replica[] {
    const t = this.config;
    return (["stable", "candidate"] as const).flatMap((channel) =>
      t.fleet[channel].map((poolName) => {
        const pool = fleet.pools.find((p) => p.name === poolName) as FleetPoolConfig;
        const { srUuid } = pool;
        const target: PoolTarget = {
          url: pool.url,
          username: pool.username,
          insecureSkipVerify: pool.insecureSkipVerify,
          ...(pool.caCertificate !== undefined ? { caCertificate: pool.caCertificate } : {}),
          ...(pool.certificateFingerprint !== undefined
            ? { certificateFingerprint: pool.certificateFingerprint }
            : {}),
        };
        return new Replica(
          `${t.name}-${channel}-on-${poolName}`,
          {
            pool: target,
            poolName,
            passwordKey: fleetPasswordKey(poolName),
            templateName: t.name,
            channel,
            build: this.plan.apply((p) => channelBuild(p, channel)),
            store,
            poolRetention: fleet.poolRetention,
            maxConcurrentImports: fleet.maxConcurrentImports,
            ...(srUuid !== undefined ? { srUuid } : {}),
          },
          { parent: this, dependsOn: [index] },
        );
      }),
    );
  }

  /**
   * After the index is published: the channel and revocation tags on the pool's templates, and the templates of
   * builds publication no longer keeps destroyed.
   */
  placeChannels(index: pulumi.Resource): PoolChannels {
    const t = this.config;
    return new PoolChannels(
      `${t.name}-channels`,
      {
        pool: this.pool,
        templateName: t.name,
        channels: this.plan.apply((p) => ({ ...p.channels })),
        revoked: this.plan.apply((p) => p.revoked.map((r) => r.buildId)),
        templates: pulumi
          .all([this.build.buildId, this.poolTemplate.uuid, this.poolTemplate.history])
          .apply(([buildId, uuid, h]) => [
            { buildId, uuid },
            ...(h ?? []).map((x) => ({ buildId: x.buildId, uuid: x.uuid })),
          ]),
        keep: this.plan.apply((p) => p.kept.map((b) => b.buildId)),
      },
      { parent: this, dependsOn: [index] },
    );
  }
}

/** The stored builds, current first, each with its acceptance result when there is one. */
function buildRecords(
  current: StoredArtifact,
  earlier: readonly StoredArtifact[],
  results: Readonly<Record<string, AcceptanceSummary>>,
): BuildRecord[] {
  return [current, ...earlier].map((b) => {
    const acceptance = results[b.buildId];
    return { ...b, ...(acceptance !== undefined ? { acceptance } : {}) };
  });
}

/** The pointer a fleet replica needs for the build a channel names, or null while the channel has none (pure). */
export function channelBuild(plan: PublicationPlan, channel: "stable" | "candidate"): ReplicaBuild | null {
  const id = plan.channels[channel];
  const b = id === undefined ? undefined : plan.kept.find((k) => k.buildId === id);
  if (b === undefined) return null;
  return {
    buildId: b.buildId,
    key: b.key,
    manifestKey: b.manifestKey,
    sha256: b.sha256,
    sizeBytes: b.sizeBytes,
  };
}

function published(b: BuildRecord): PublishedBuild {
  return {
    ...stored(b),
    ...(b.osDetected !== undefined ? { osDetected: b.osDetected } : {}),
    ...(b.compression !== undefined ? { compression: b.compression } : {}),
    ...(b.sbom !== undefined ? { sbom: b.sbom } : {}),
    ...(b.acceptance !== undefined ? { acceptance: b.acceptance } : {}),
  };
}
