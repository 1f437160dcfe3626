/**
 * The Pulumi program of the fleet bench's `pulumi up` measurement (bench/fleet-up.ts): one Replica per pool of the
 * stack's `benchPools`, all placing `benchBuild` as `stable`, exactly as the main program's `placeOnFleet` declares
 * them, run by the real Pulumi CLI and the dynamic-provider host. Passwords and S3 credentials are the stack's
 * secrets (`fleetPoolPasswords`, `s3AccessKeyId`, `s3SecretAccessKey`), read by the provider as in the main stack.
 */
import * as pulumi from "@pulumi/pulumi";
import { Replica } from "../providers/replica";
import type { ReplicaBuild } from "../providers/replica-import";
import type { ArtifactStore } from "../providers/store";

/** One devpool of the bench, as bench/fleet-up.ts writes it into the stack config. */
export interface BenchPool {
  readonly name: string;
  readonly url: string;
  readonly caCertificate: string;
}

const config = new pulumi.Config();
const pools = config.requireObject<BenchPool[]>("benchPools");
const build = config.requireObject<ReplicaBuild>("benchBuild");
const store = config.requireObject<ArtifactStore>("benchStore");
const templateName = config.require("benchTemplate");

const replicas = pools.map(
  (p) =>
    new Replica(`${templateName}-stable-on-${p.name}`, {
      pool: { url: p.url, username: "root", caCertificate: p.caCertificate, insecureSkipVerify: false },
      poolName: p.name,
      passwordKey: `fleetPoolPasswords.${p.name}`,
      templateName,
      channel: "stable",
      build,
      store,
      poolRetention: 2,
    }),
);

/** What each pool holds after the update: the bench checks every pool got the build and none failed. */
export const placed = replicas.map((r) => ({
  pool: r.poolName,
  buildId: r.build.apply((b) => b?.buildId ?? null),
  uuid: r.uuid,
  failure: r.failure.apply((f) => f ?? null),
}));
