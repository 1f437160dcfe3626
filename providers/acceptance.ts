import * as os from "node:os";
import type { Readable } from "node:stream";
import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import {
  AcceptanceFailedError,
  runAcceptance,
  type AcceptanceResult,
  type XvaSource,
} from "../lib/acceptance";
import { shimProvider } from "./dynamic/shim";
import { changedKeys, diffResult } from "./dynamic/diff";
import { ProviderBase } from "./dynamic/provider-base";
import { s3Failure } from "./dynamic/s3-failure";
import { STACK_METADATA } from "./artifact-sweep";
import { AcceptanceRefusedError } from "./errors";
import type { AcceptanceSummary } from "./catalogue-document";
import { siblingKey } from "./layout";
import type { ArtifactStore } from "./store";
import { progressLine } from "./transfer-progress";
import { countedChunks, progressPacer, progressPeriodMs } from "./progress-pace";

/**
 * The boot acceptance of a template's current build, from the artifact users download: the XVA stored in S3 is
 * read back, unpacked, booted as two clones and checked (lib/acceptance). It sits between the archive and
 * publication: the index, and so the `stable` channel, depend on it, and a failing check fails the update with
 * the failing checks named. Results (each check, evidence, times) go into the artifact's manifest and the index;
 * the clones' serial consoles are kept beside the XVA.
 *
 * Where it boots is `place`: QEMU on the runner today ("qemu"); a clone on the pool is a later place.
 */

/** The build to accept: the current artifact of the template. */
export interface AcceptanceBuild {
  readonly buildId: string;
  readonly key: string;
  readonly manifestKey: string;
  readonly sha256: string;
}

export interface AcceptanceArgs {
  readonly store: pulumi.Input<ArtifactStore>;
  readonly templateName: pulumi.Input<string>;
  readonly os: pulumi.Input<string>;
  readonly version: pulumi.Input<string>;
  readonly build: pulumi.Input<{ readonly [K in keyof AcceptanceBuild]: pulumi.Input<AcceptanceBuild[K]> }>;
  /** Build ids still stored: their earlier results are kept (the index lists them). */
  readonly history: pulumi.Input<pulumi.Input<string>[]>;
  /** Whether the image must carry a guest agent; when not, why (the check then says so instead of passing). */
  readonly guestAgent: pulumi.Input<{ expected: boolean; reason?: string }>;
  /** Where to boot. @default "qemu" */
  readonly place?: pulumi.Input<"qemu">;
}

export interface AcceptanceInputs {
  readonly store: ArtifactStore;
  readonly templateName: string;
  readonly os: string;
  readonly version: string;
  readonly build: AcceptanceBuild;
  readonly history: string[];
  readonly guestAgent: { expected: boolean; reason?: string };
  readonly place?: "qemu";
}

export interface AcceptanceOutputs extends AcceptanceInputs {
  /** Build id → its acceptance result, for the current build and the stored earlier ones. */
  readonly results: Record<string, AcceptanceSummary>;
}

const PREFIX = "acceptance";
const SETTING_KEYS = ["history", "store", "place"] as const;
/** A change of these means another image to boot, or other checks to run. */
const RUN_KEYS = ["build", "os", "version", "guestAgent", "templateName"] as const;

/** The summary the manifest and the index carry, from a run's result (pure). */
export function summaryOf(r: AcceptanceResult, consoleLogKeys: readonly string[]): AcceptanceSummary {
  return {
    passed: r.passed,
    at: r.startedAt,
    place: `${r.place}-${r.accelerator}`,
    bootToSshSeconds: r.bootToSshSeconds,
    totalSeconds: r.totalSeconds,
    checks: r.checks.map((c) => ({
      name: c.name,
      command: c.command,
      status: c.status,
      passed: c.passed,
      expected: c.expected,
      evidence: c.evidence,
    })),
    consoleLogKeys: [...consoleLogKeys],
  };
}

export class AcceptanceProvider
  extends ProviderBase
  implements pulumi.dynamic.ResourceProvider<AcceptanceInputs, AcceptanceOutputs>
{
  protected readonly component = PREFIX;

  diff(_id: string, olds: AcceptanceOutputs, news: AcceptanceInputs): Promise<pulumi.dynamic.DiffResult> {
    return Promise.resolve(
      diffResult(olds, news, {
        replaces: [],
        updates: changedKeys(olds, news, [...RUN_KEYS, ...SETTING_KEYS], "change").length > 0,
      }),
    );
  }

  async create(inputs: AcceptanceInputs): Promise<pulumi.dynamic.CreateResult<AcceptanceOutputs>> {
    const results = await this.accept(inputs, {});
    return { id: `${inputs.templateName}-acceptance`, outs: { ...inputs, results } };
  }

  async update(
    _id: string,
    olds: AcceptanceOutputs,
    news: AcceptanceInputs,
  ): Promise<pulumi.dynamic.UpdateResult<AcceptanceOutputs>> {
    // A build that passed keeps its result (the image did not change); another OS or table runs again.
    const rerun = changedKeys(olds, news, ["os", "version", "guestAgent", "templateName"]).length > 0;
    const results = await this.accept(news, rerun ? {} : (olds.results ?? {}));
    return { outs: { ...news, results } };
  }

  /** The results for the current build (run when it has none that passed) and the stored earlier builds. */
  private async accept(
    inputs: AcceptanceInputs,
    earlier: Readonly<Record<string, AcceptanceSummary>>,
  ): Promise<Record<string, AcceptanceSummary>> {
    const keep = new Set([...inputs.history, inputs.build.buildId]);
    const results = Object.fromEntries(Object.entries(earlier).filter(([id]) => keep.has(id)));
    if (results[inputs.build.buildId]?.passed === true) return results;
    results[inputs.build.buildId] = await this.run(inputs);
    return results;
  }

  /** Boots the stored artifact and checks it; records the outcome beside it; fails on a failing check. */
  private async run(inputs: AcceptanceInputs): Promise<AcceptanceSummary> {
    const { build, store } = inputs;
    const name = inputs.templateName;
    this.say(`${name}: booting build ${build.buildId} from s3://${store.bucket}/${build.key}`);
    return this.withS3(store, async (s3) => {
      let result: AcceptanceResult;
      let failure: AcceptanceFailedError | undefined;
      try {
        result = await runAcceptance({
          xva: () => this.open(s3, store, build.key, name),
          expectedSha256: build.sha256,
          os: inputs.os,
          version: inputs.version,
          guestAgent: inputs.guestAgent.expected
            ? { expected: true }
            : {
                expected: false,
                reason: inputs.guestAgent.reason ?? "the catalogue says this template has none",
              },
          workDir: os.tmpdir(),
          onProgress: (p) => this.say(`${name}: ${p.message}`),
        });
      } catch (e) {
        if (!(e instanceof AcceptanceFailedError)) throw e;
        failure = e;
        result = e.result;
      }
      const consoleKeys = await this.keepConsoles(s3, inputs, result);
      const summary = summaryOf(result, consoleKeys);
      await this.recordInManifest(s3, inputs, summary);
      const failed = summary.checks.filter((c) => !c.passed);
      this.say(
        `${name}: build ${build.buildId} ${summary.passed ? "accepted" : "REFUSED"} in ` +
          `${Math.round(summary.totalSeconds)} s (boot to SSH ${Math.round(summary.bootToSshSeconds)} s, ${summary.place}): ` +
          `${summary.checks.length - failed.length} of ${summary.checks.length} checks passed`,
      );
      if (failure) {
        throw new AcceptanceRefusedError(
          `${failure.message}\nThe console logs are kept at ${consoleKeys.map((k) => `s3://${store.bucket}/${k}`).join(", ")}. ` +
            `Nothing was promoted: stable still points at the previous accepted build. Fix the image and run 'pulumi up'.`,
          { cause: failure },
        );
      }
      return summary;
    });
  }

  /** The stored XVA as it is read back, with progress lines (percent, rate, time left) as it is read. */
  private async open(s3: S3Client, store: ArtifactStore, key: string, template: string): Promise<XvaSource> {
    const got = await s3
      .send(new GetObjectCommand({ Bucket: store.bucket, Key: key }))
      .catch((e: unknown) => {
        throw s3Failure(e, `${PREFIX}: reading s3://${store.bucket}/${key}`);
      });
    const body = got.Body as Readable;
    const total = got.ContentLength ?? 0;
    let read = 0;
    const pace = progressPacer(
      (elapsedMs) => this.say(`${template}: reading the XVA ${progressLine(read, total, elapsedMs)}`),
      { everyMs: progressPeriodMs(process.env) },
    );
    return countedChunks(body, (n) => pace((read = n)));
  }

  /** Uploads each clone's serial console beside the XVA; returns their keys. */
  private async keepConsoles(s3: S3Client, inputs: AcceptanceInputs, r: AcceptanceResult): Promise<string[]> {
    const keys: string[] = [];
    for (const c of r.clones) {
      if (!fs.existsSync(c.consoleLogPath)) continue;
      const key = siblingKey(inputs.build.key, { console: c.name });
      await s3
        .send(
          new PutObjectCommand({
            Bucket: inputs.store.bucket,
            Key: key,
            Body: fs.readFileSync(c.consoleLogPath),
            ContentType: "text/plain; charset=utf-8",
            Metadata: { [STACK_METADATA]: inputs.store.stack },
          }),
        )
        .catch((e: unknown) => {
          throw s3Failure(e, `${PREFIX}: writing s3://${inputs.store.bucket}/${key}`);
        });
      keys.push(key);
    }
    return keys;
  }

  /** Adds the result to the artifact's manifest (read, then written back whole). */
  private async recordInManifest(
    s3: S3Client,
    inputs: AcceptanceInputs,
    summary: AcceptanceSummary,
  ): Promise<void> {
    const { bucket } = inputs.store;
    const key = inputs.build.manifestKey;
    try {
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const manifest = JSON.parse(await got.Body!.transformToString()) as Record<string, unknown>;
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: JSON.stringify({ ...manifest, acceptance: summary }, null, 2),
          ContentType: "application/json",
          Metadata: { [STACK_METADATA]: inputs.store.stack },
        }),
      );
    } catch (e) {
      throw s3Failure(e, `${PREFIX}: recording the result in s3://${bucket}/${key}`);
    }
  }
}

export class Acceptance extends pulumi.dynamic.Resource {
  declare readonly results: pulumi.Output<Record<string, AcceptanceSummary>>;

  constructor(name: string, args: AcceptanceArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      shimProvider<AcceptanceInputs, AcceptanceOutputs>("providers/acceptance", "AcceptanceProvider"),
      name,
      { results: undefined, place: "qemu", ...args },
      opts,
      "xcpng",
      "Acceptance",
    );
  }
}
