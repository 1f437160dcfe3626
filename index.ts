// The catalogue of golden templates: one artifact bucket, and per template a build on the pool, its
// verification through the XAPI and its archive in S3, then the catalogue index. The catalogue itself is
// stack configuration (Pulumi.<stack>.yaml `templates`), the one source of truth.
import * as pulumi from "@pulumi/pulumi";
import { CiAccess } from "./components/ci-access";
import { GoldenTemplate } from "./components/golden-template";
import { ArtifactBucket } from "./providers/artifact-bucket";
import { CatalogueIndex } from "./providers/catalogue-index";
import { FleetReport, fleetFailures } from "./providers/fleet-report";
import { readStackConfig, secretConfigKeys } from "./providers/config/pulumi-config";
import { imageToolVersions } from "./providers/config/tool-versions";
import { collectTemplateSources } from "./providers/source-hash";

const cfg = readStackConfig(new pulumi.Config(), __dirname);
const toolVersions = imageToolVersions(__dirname);

const stack = pulumi.getStack();
// The names (never the values) of the stack's secret config keys, as the language host lists them: the build log
// masks their values.
const secretKeys = secretConfigKeys(process.env.PULUMI_CONFIG_SECRET_KEYS);
// Every key of this stack under its prefix (providers/layout.ts): stacks sharing a bucket never collide.
const store = {
  region: cfg.s3.region,
  bucket: cfg.s3.bucket,
  forcePathStyle: cfg.s3.forcePathStyle,
  ...(cfg.s3.endpoint !== undefined ? { endpoint: cfg.s3.endpoint } : {}),
  ...(cfg.s3.caCertificate !== undefined ? { caCertificate: cfg.s3.caCertificate } : {}),
  prefix: cfg.s3.prefix ?? stack,
  stack,
};

const bucket = new ArtifactBucket("artifacts", {
  ...store,
  forceDestroy: cfg.s3.forceDestroy,
  manageAdopted: cfg.s3.manageAdoptedBucket,
});

const templates = cfg.templates.map(
  (t) =>
    new GoldenTemplate(t.name, {
      template: t,
      sources: collectTemplateSources(__dirname, t.packerTemplate, t.varFile, toolVersions),
      toolVersions,
      pool: cfg.pool,
      store,
      bucket,
      secretKeys,
      compression: cfg.compression,
    }),
);

// Written after every artifact is complete and accepted (the index never lists a key that is not in the store
// yet), then it prunes what it no longer lists (a reader never finds a listed key gone).
const index = new CatalogueIndex(
  "catalogue-index",
  {
    store,
    templates: templates.map((g) => g.publication),
    prune: pulumi.all(templates.map((g) => g.prune)).apply((lists) => lists.flat()),
  },
  { dependsOn: [bucket, ...templates.flatMap((g) => [g.artifact, ...(g.acceptance ? [g.acceptance] : [])])] },
);
// Then the pool: channel tags moved, templates of builds no longer kept destroyed; and the fleet: every fleet pool
// gets the build of its channel, straight from S3.
for (const g of templates) g.placeChannels(index);
const fleet = cfg.fleet;
const replicas = fleet ? templates.flatMap((g) => g.placeOnFleet(index, fleet, store)) : [];
// A pool's failure is recorded by its Replica (so every other pool completes); the report then fails the update
// naming the pools that did not get their builds.
if (replicas.length > 0)
  new FleetReport(
    "fleet-report",
    {
      failures: pulumi
        .all(
          replicas.map((r) =>
            pulumi
              .all([r.poolName, r.templateName, r.channel, r.failure])
              .apply(([pool, template, channel, failure]) => ({
                pool,
                template,
                channel,
                ...(failure ? { failure } : {}),
              })),
          ),
        )
        .apply((rows) => fleetFailures(rows)),
    },
    { dependsOn: replicas },
  );

// AWS-only extra: a least-privilege IAM user for the CI runner (its plugin is needed only on such stacks).
const ciAccess = cfg.s3.aws ? new CiAccess("ci", { bucket: bucket.bucket }) : undefined;

export const bucketName = bucket.bucket;
export const ciUser = ciAccess ? ciAccess.user.name : "none (s3.aws is false)";
export const indexKey = index.key;
/** Where each template's channels are placed on the fleet: one row per template, pool and channel. */
export const fleetReplicas = replicas.map((r) => ({
  pool: r.poolName,
  template: r.templateName,
  channel: r.channel,
  buildId: r.build.apply((b) => b?.buildId ?? "(none yet)"),
  uuid: r.uuid,
}));
/** The catalogue page, beside the index (`<prefix>/index.html`). */
export const pageKey = index.pageKey;
/** What is built: one row per template (the table `npm start` prints). */
export const built = templates.map((g) => ({
  name: g.config.name,
  poolUuid: g.poolTemplate.uuid,
  osDetected: g.poolTemplate.osName,
  s3Key: g.artifact.key,
  sha256: g.artifact.sha256,
  sizeBytes: g.artifact.sizeBytes,
  buildTime: g.build.builtAt,
  channels: g.plan.apply((p) => p.channels),
}));
