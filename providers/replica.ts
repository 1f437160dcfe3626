/**
 * Replica: one template's channel build placed on one fleet pool, straight from the store, tracked in state.
 *
 * The program declares one Replica per template and fleet pool, with the channel's pointer from the catalogue
 * (`build`): Pulumi runs them in parallel, and each failure is its own resource's (its message names the pool).
 *
 * - create/update: the channel's build is kept, promoted (a replica of it is still on the pool: the channel tag
 *   moves back, nothing is imported) or imported (S3 → `PUT /import`, verified on the way: replica-import.ts),
 *   then verified on the pool (template, build-id tag, disks, OS from guest metrics) and tagged; the channel tag
 *   moves off the previous replica; replicas beyond `poolRetention` are destroyed with their disks (never the
 *   channel's one). A changed pointer is an update, not a replacement.
 * - read: finds replicas deleted or altered on the pool (tags, template flag, disks); `up` then heals them.
 * - delete: destroys every replica the resource placed and still tracks.
 * Decisions (tags, drift, placement, retention) are in replica-plan.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import type { S3Client } from "@aws-sdk/client-s3";
import { isXcpngError, messageOf } from "../lib/errors";
import type { PoolTarget, XapiSession } from "../lib/xapi/client";
import { buildIdTag, destroyTemplate, findByUuid, type TemplateFacts } from "../lib/xapi/templates";
import { RULES, ruleFailure } from "./config/rules";
import { changedKeys, diffResult } from "./dynamic/diff";
import { defined, isUnknown } from "./dynamic/provider-code";
import { ProviderBase } from "./dynamic/provider-base";
import { shimProvider } from "./dynamic/shim";
import { MissingSecretError, ReplicaError, ReplicaIncompleteError, type ReplicaErrorCode } from "./errors";
import { withImportSlot } from "./import-slots";
import { osFromGuestMetrics, osMismatch } from "./os-detect";
import {
  channelTag,
  driftOf,
  healthOf,
  placementFor,
  planReplicaRetention,
  strayChannelTag,
  tagEdits,
  templateTag,
  type ReplicaRecord,
  type ReplicaVmFacts,
} from "./replica-plan";
import {
  readManifest,
  streamImport,
  type ReplicaBuild,
  type ReplicaManifest,
  type StreamImportResult,
} from "./replica-import";
import type { ArtifactStore } from "./store";
import { progressPacer, progressPeriodMs } from "./progress-pace";
import { progressLine } from "./transfer-progress";

export type { ReplicaBuild } from "./replica-import";
export type { ReplicaRecord } from "./replica-plan";

/** At most this many imports at once into one pool, unless the pool's `maxConcurrentImports` says otherwise. */
export const DEFAULT_MAX_CONCURRENT_IMPORTS = 2;

/** User-facing arguments. */
export interface ReplicaArgs {
  /** The fleet pool: where and how to trust it (its password is the secret named by `passwordKey`). */
  readonly pool: pulumi.Input<PoolTarget>;
  /** The fleet pool's name in the stack config: every message names it. */
  readonly poolName: pulumi.Input<string>;
  /** The stack config key of the pool's password secret, e.g. `fleetPoolPasswords.paris`. Never the value. */
  readonly passwordKey: pulumi.Input<string>;
  readonly templateName: pulumi.Input<string>;
  /** The channel placed on this pool, e.g. `stable`. */
  readonly channel: pulumi.Input<string>;
  /**
   * The channel's build (the catalogue's pointer plus the object's size). A new build is an update. `null` while
   * the channel has none (no build has passed acceptance yet): nothing is placed, and what was placed stays.
   */
  readonly build: pulumi.Input<ReplicaBuild | null>;
  readonly store: pulumi.Input<ArtifactStore>;
  /** Replicas of this template kept on this pool, the channel's one included. */
  readonly poolRetention: pulumi.Input<number>;
  /** Imports at once into this pool, over every template. @default 2 */
  readonly maxConcurrentImports?: pulumi.Input<number>;
  /** The SR to import into. @default the pool's default SR */
  readonly srUuid?: pulumi.Input<string>;
}

export interface ReplicaInputs {
  readonly pool: PoolTarget;
  readonly poolName: string;
  readonly passwordKey: string;
  readonly templateName: string;
  readonly channel: string;
  readonly build: ReplicaBuild | null;
  readonly store: ArtifactStore;
  readonly poolRetention: number;
  readonly maxConcurrentImports?: number;
  readonly srUuid?: string;
}

/** The inputs once the channel has a build to place. */
type PlacingInputs = ReplicaInputs & { readonly build: ReplicaBuild };

export interface ReplicaOutputs extends ReplicaInputs {
  /** The channel's replica on the pool. */
  readonly uuid: string;
  readonly nameLabel: string;
  /** The OS its guest metrics report. */
  readonly osName: string;
  readonly diskCount: number;
  readonly virtualSizeBytes: number;
  /** Every replica tracked on this pool: the channel's first, then those retention keeps. */
  readonly replicas: readonly ReplicaRecord[];
  /**
   * The last update's failure on this pool, recorded rather than thrown so that every other pool of the fleet
   * completes; the fleet's report (providers/fleet-report.ts) then fails the update naming each failing pool, and
   * the next `up` tries again. The rest of the outputs say what is on the pool.
   */
  readonly failure?: ReplicaFailure;
}

export interface ReplicaFailure {
  readonly at: string;
  readonly code: string;
  readonly message: string;
  /** The build that could not be placed. */
  readonly buildId?: string;
}

const PREFIX = "replica";
const SHA256 = /^[0-9a-f]{64}$/;
const CHANNEL = /^[a-z][a-z0-9-]{0,31}$/;
const POOL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const PASSWORD_KEY = /^[A-Za-z][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*$/;

/**
 * A pool's failure, recorded in the outputs (`failure`) instead of failing the resource: a failed resource would
 * stop the Pulumi program before the other pools' replicas are registered (the engine skips what is not yet
 * registered), so one pool could hold up the fleet. What is on the pool stays as `base` says (or, for a replica
 * placed but not finished, as the error recorded it). Anything that is not one of our verdicts is a bug: thrown.
 */
function recorded(
  e: unknown,
  base: ReplicaOutputs,
  inputs: ReplicaInputs,
  warn: (line: string) => void,
): ReplicaOutputs {
  if (!isXcpngError(e)) throw e;
  const state = e instanceof ReplicaIncompleteError ? (e.properties as unknown as ReplicaOutputs) : base;
  warn(`${whereOf(inputs)}: ${e.message}`);
  return {
    ...state,
    failure: {
      at: new Date().toISOString(),
      code: e.code,
      message: e.message,
      ...(inputs.build !== null ? { buildId: inputs.build.buildId } : {}),
    },
  };
}

/** How every message of one resource starts: the template and the pool, by its fleet name and URL. */
function whereOf(i: Pick<ReplicaInputs, "templateName" | "poolName" | "pool">): string {
  return `${PREFIX}: ${i.templateName} on pool ${i.poolName} (${i.pool.url})`;
}

/** The inputs' problems, one per property; values still unknown (preview) are not judged. */
export function replicaInputProblems(news: ReplicaInputs): pulumi.dynamic.CheckFailure[] {
  const out: pulumi.dynamic.CheckFailure[] = [];
  const bad = (property: string, reason: string) => out.push({ property, reason });
  const known = (v: unknown) => v !== undefined && !isUnknown(v);
  const p = news.pool as Partial<PoolTarget> | undefined;
  if (known(p) && (typeof p?.url !== "string" || typeof p.username !== "string")) {
    bad("pool", "expected {url, username, insecureSkipVerify}");
  }
  if (known(news.poolName) && !POOL_NAME.test(String(news.poolName))) {
    bad(
      "poolName",
      `expected 1-63 letters, digits, '.', '_' or '-', but "${String(news.poolName)}" was provided`,
    );
  }
  if (known(news.passwordKey) && !PASSWORD_KEY.test(String(news.passwordKey))) {
    bad(
      "passwordKey",
      `expected a stack config key such as fleetPoolPasswords.paris, but "${String(news.passwordKey)}" was provided`,
    );
  }
  if (known(news.templateName) && (typeof news.templateName !== "string" || news.templateName === "")) {
    bad("templateName", "expected the template's name in the catalogue");
  }
  if (known(news.channel) && !CHANNEL.test(String(news.channel))) {
    bad("channel", `expected a channel name such as stable, but "${String(news.channel)}" was provided`);
  }
  const b = news.build as Partial<ReplicaBuild> | null | undefined;
  if (known(b) && b !== null) {
    const idProblem = typeof b?.buildId === "string" ? ruleFailure(RULES.buildId, b.buildId) : "is missing";
    if (idProblem !== undefined) bad("build", `buildId ${idProblem}`);
    if (
      typeof b?.key !== "string" ||
      b.key === "" ||
      typeof b.manifestKey !== "string" ||
      b.manifestKey === ""
    )
      bad("build", "expected the channel's key and manifestKey in the store");
    if (typeof b?.sha256 !== "string" || !SHA256.test(b.sha256))
      bad(
        "build",
        `expected sha256 as 64 lowercase hex digits, but ${JSON.stringify(b?.sha256)} was provided`,
      );
    if (!Number.isSafeInteger(b?.sizeBytes) || (b?.sizeBytes ?? 0) <= 0)
      bad(
        "build",
        `expected sizeBytes > 0 (the object's size), but ${JSON.stringify(b?.sizeBytes)} was provided`,
      );
  }
  if (known(news.poolRetention) && !(Number.isInteger(news.poolRetention) && news.poolRetention >= 1)) {
    bad("poolRetention", `expected an integer >= 1, but ${JSON.stringify(news.poolRetention)} was provided`);
  }
  const m = news.maxConcurrentImports;
  if (known(m) && !(Number.isInteger(m) && (m ?? 0) >= 1 && (m ?? 0) <= 16)) {
    bad("maxConcurrentImports", `expected an integer in 1..16, but ${JSON.stringify(m)} was provided`);
  }
  return out;
}

/** Another host is another pool: replicas cannot move with the resource, so it is replaced. */
export function poolMoved(a: PoolTarget, b: PoolTarget): boolean {
  const host = (u: string) => {
    try {
      return new URL(u).host.toLowerCase();
    } catch {
      return u;
    }
  };
  return host(a.url) !== host(b.url);
}

/** Settings an update applies in place (a new build, another channel, retention, how to reach the pool). */
const UPDATE_KEYS = [
  "build",
  "channel",
  "poolRetention",
  "store",
  "pool",
  "poolName",
  "passwordKey",
  "maxConcurrentImports",
  "srUuid",
] as const;

/** What an imported (or adopted) template must be, and what is wrong with it, one sentence each. */
export function importedProblems(
  f: TemplateFacts,
  want: { buildId: string; os: string; version: string; diskSizes?: readonly number[] },
): string[] {
  const out: string[] = [];
  if (!f.isTemplate) out.push("it is a VM, not a template (is_a_template is false)");
  if (!f.tags.includes(buildIdTag(want.buildId)))
    out.push(`it does not carry ${buildIdTag(want.buildId)} (tags: ${f.tags.join(", ") || "none"})`);
  if (f.disks.length === 0) out.push("it has no disk");
  if (want.diskSizes !== undefined) {
    const got = f.disks.map((d) => d.virtualSize).sort((a, b) => a - b);
    const exp = [...want.diskSizes].sort((a, b) => a - b);
    if (got.join(",") !== exp.join(","))
      out.push(`its disks are ${got.join(", ") || "none"} bytes, the XVA holds ${exp.join(", ")}`);
  }
  const os = osMismatch({ os: want.os, version: want.version }, osFromGuestMetrics(f.osVersion));
  if (os !== undefined) out.push(os);
  return out;
}

function vmFactsOf(f: TemplateFacts): ReplicaVmFacts {
  return { tags: f.tags, isTemplate: f.isTemplate, diskCount: f.disks.length };
}

/** A tracked replica as the pool shows it now. */
interface Tracked {
  readonly rec: ReplicaRecord;
  readonly facts: TemplateFacts;
}

/** The VM fields the pool-wide scan reads (VM.get_all_records). */
interface VmLite {
  readonly uuid: string;
  readonly is_a_template: boolean;
  readonly is_control_domain: boolean;
  readonly tags: readonly string[];
  readonly current_operations: Readonly<Record<string, string>>;
}

/** The record of a replica without what `read` noted about it (the outputs describe the pool as it is now). */
function clean(r: ReplicaRecord): ReplicaRecord {
  return defined<ReplicaRecord>({ ...r, missing: undefined, drift: undefined });
}

function recordOf(
  facts: TemplateFacts,
  build: ReplicaBuild,
  at: string,
  prior?: Pick<ReplicaRecord, "importedAt">,
): ReplicaRecord {
  return {
    buildId: build.buildId,
    uuid: facts.uuid,
    key: build.key,
    sha256: build.sha256,
    importedAt: prior?.importedAt ?? at,
    lastTargetedAt: at,
    diskCount: facts.disks.length,
    virtualSizeBytes: facts.disks.reduce((n, d) => n + d.virtualSize, 0),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How long a failed import's leftovers may stay busy (the pool's own cleanup) before they are reported. */
const LEFTOVER_WAIT_MS = 30_000;

/** One template's channel build on one fleet pool. */
export class ReplicaProvider
  extends ProviderBase
  implements pulumi.dynamic.ResourceProvider<ReplicaInputs, ReplicaOutputs>
{
  protected readonly component = PREFIX;

  check(_olds: ReplicaInputs, news: ReplicaInputs): Promise<pulumi.dynamic.CheckResult<ReplicaInputs>> {
    const failures = replicaInputProblems(news);
    const key = news.passwordKey;
    if (
      typeof key === "string" &&
      !isUnknown(key) &&
      !failures.some((f) => f.property === "passwordKey") &&
      this.configSecret(key) === undefined
    ) {
      failures.push({
        property: "passwordKey",
        reason: `the stack has no secret ${key} (the password of fleet pool ${String(news.poolName)}): set it with ${setCommand(key)}`,
      });
    }
    return Promise.resolve({ inputs: news, failures });
  }

  diff(_id: string, olds: ReplicaOutputs, news: ReplicaInputs): Promise<pulumi.dynamic.DiffResult> {
    // Another pool or template replaces (the replicas stay where they are, and delete removes them there); a new
    // build, channel or setting is an update; so is anything `read` found drifted on the pool (up heals it).
    const replaces = [
      ...(!isUnknown(news.pool) && poolMoved(olds.pool, news.pool) ? ["pool"] : []),
      ...changedKeys(olds, news, ["templateName"] as const),
    ];
    const drifted = (olds.replicas ?? []).some((r) => r.missing === true || (r.drift?.length ?? 0) > 0);
    const updates =
      changedKeys(olds, news, UPDATE_KEYS, "change").length > 0 || drifted || olds.failure !== undefined;
    return Promise.resolve(diffResult(olds, news, { replaces, updates }));
  }

  async create(inputs: ReplicaInputs): Promise<pulumi.dynamic.CreateResult<ReplicaOutputs>> {
    const id = `${inputs.poolName}/${inputs.templateName}`;
    const nothing: ReplicaOutputs = {
      ...inputs,
      uuid: "",
      nameLabel: "",
      osName: "",
      diskCount: 0,
      virtualSizeBytes: 0,
      replicas: [],
    };
    return {
      id,
      outs: await this.reconcile(id, inputs, undefined).catch((e: unknown) =>
        recorded(e, nothing, inputs, (l) => this.lines.warn(l)),
      ),
    };
  }

  async update(
    id: string,
    olds: ReplicaOutputs,
    news: ReplicaInputs,
  ): Promise<pulumi.dynamic.UpdateResult<ReplicaOutputs>> {
    // An earlier failure is replaced by this update's outcome.
    const before = defined<ReplicaOutputs>({ ...olds, failure: undefined });
    return {
      outs: await this.reconcile(id, news, olds).catch((e: unknown) =>
        recorded(e, before, news, (l) => this.lines.warn(l)),
      ),
    };
  }

  async read(id: string, props?: ReplicaOutputs): Promise<pulumi.dynamic.ReadResult<ReplicaOutputs>> {
    if (!props) return {};
    const what = whereOf(props);
    const replicas = await this.withFleetPool(props, "reading its replicas", async (x) => {
      const out: ReplicaRecord[] = [];
      for (const r of props.replicas ?? []) {
        const facts = await findByUuid(x, r.uuid);
        const found = driftOf(r, facts && vmFactsOf(facts), {
          templateName: props.templateName,
          buildId: r.buildId,
          ...(r.uuid === props.uuid ? { channel: props.channel } : {}),
        });
        if (found.missing) this.lines.info(`${what}: replica of build ${r.buildId} (${r.uuid}) is gone`);
        for (const d of found.drift ?? [])
          this.lines.info(`${what}: replica of build ${r.buildId} (${r.uuid}) changed: ${d}`);
        out.push(defined<ReplicaRecord>({ ...clean(r), missing: found.missing, drift: found.drift }));
      }
      return out;
    });
    return { id, props: { ...props, replicas } };
  }

  async delete(_id: string, props: ReplicaOutputs): Promise<void> {
    const what = whereOf(props);
    await this.withFleetPool(props, "removing its replicas", async (x) => {
      for (const r of props.replicas ?? []) {
        const facts = await findByUuid(x, r.uuid);
        if (facts === undefined) continue;
        if (!facts.isTemplate) {
          this.lines.info(
            `${what}: ${r.uuid} (build ${r.buildId}) is no longer a template: left on the pool`,
          );
          continue;
        }
        await destroyTemplate(x, facts);
        this.lines.info(
          `${what}: destroyed replica of build ${r.buildId} (${r.uuid}) and ${facts.disks.length} disk(s)`,
        );
      }
    });
  }

  /** The fleet pool's password, from the secret the program named. */
  private password(i: ReplicaInputs): string {
    const v = this.configSecret(i.passwordKey);
    if (v === undefined)
      throw new MissingSecretError(
        `${PREFIX}: fleet pool ${i.poolName}`,
        i.passwordKey,
        setCommand(i.passwordKey),
      );
    return v;
  }

  /** A session on the fleet pool; anything that fails is a ReplicaError naming the pool. */
  private async withFleetPool<T>(
    i: ReplicaInputs,
    doing: string,
    fn: (x: XapiSession) => Promise<T>,
    code: ReplicaErrorCode = "REPLICA_FAILED",
  ): Promise<T> {
    const password = this.password(i);
    try {
      return await this.withPool(i.pool, fn, password);
    } catch (e) {
      if (e instanceof ReplicaError || e instanceof ReplicaIncompleteError) throw e;
      throw new ReplicaError(code, i.poolName, `${whereOf(i)}: ${doing} failed: ${sentence(messageOf(e))}`, {
        cause: e,
      });
    }
  }

  /**
   * The whole update, in four phases: survey the tracked replicas, place the channel's build (keep, promote,
   * adopt or import), then tags and retention. Once a new replica exists, a failure records it (partial failure)
   * so that it is never orphaned.
   */
  private reconcile(
    id: string,
    inputs: ReplicaInputs,
    olds: ReplicaOutputs | undefined,
  ): Promise<ReplicaOutputs> {
    const build = inputs.build;
    if (build === null) {
      // The channel has no build yet (none has passed acceptance): nothing to place; earlier replicas stay as
      // they are until the channel points somewhere again.
      this.lines.info(`${whereOf(inputs)}: the ${inputs.channel} channel has no build yet: nothing placed`);
      return Promise.resolve({
        ...inputs,
        uuid: olds?.uuid ?? "",
        nameLabel: olds?.nameLabel ?? "",
        osName: olds?.osName ?? "",
        diskCount: olds?.diskCount ?? 0,
        virtualSizeBytes: olds?.virtualSizeBytes ?? 0,
        replicas: olds?.replicas ?? [],
      });
    }
    const placing: PlacingInputs = { ...inputs, build };
    return this.withFleetPool(placing, `placing build ${build.buildId}`, async (x) => {
      const usable = await this.survey(x, placing, olds);
      const view = await x.read<Record<string, VmLite>>("VM.get_all_records");
      const placed = await this.place(x, placing, olds, usable, view);
      const now = new Date().toISOString();
      const target: Tracked = {
        rec: { ...placed.target.rec, lastTargetedAt: now },
        facts: placed.target.facts,
      };
      // The replica that was the channel's until now was targeted until now: it ranks first for retention.
      const others = [...usable, ...placed.extra]
        .filter((t) => t.rec.uuid !== target.rec.uuid)
        .map((t) => (t.rec.uuid === olds?.uuid ? { ...t, rec: { ...t.rec, lastTargetedAt: now } } : t));
      const plan = planReplicaRetention(
        target.rec,
        others.map((t) => t.rec),
        placing.poolRetention,
      );
      const outs = this.outputs(placing, target, plan.kept);
      try {
        await this.retag(
          x,
          placing,
          target,
          others.filter((t) => plan.kept.includes(t.rec)),
          view,
        );
        await this.retire(
          x,
          placing,
          others.filter((t) => plan.destroyed.includes(t.rec)),
        );
      } catch (e) {
        if (!placed.isNew) throw e;
        throw new ReplicaIncompleteError(
          placing.poolName,
          `${whereOf(placing)}: build ${placing.build.buildId} was placed (${target.rec.uuid}) but finishing failed: ` +
            `${messageOf(e)}. It is recorded; run 'pulumi up' again to finish (tags, retention).`,
          {
            id,
            properties: { ...outs, replicas: [target.rec, ...others.map((t) => t.rec)] },
            reasons: [messageOf(e)],
          },
          { cause: e },
        );
      }
      return outs;
    });
  }

  /** Phase 1: the tracked replicas still usable; gone ones are dropped, damaged ones destroyed, released ones left. */
  private async survey(
    x: XapiSession,
    inputs: PlacingInputs,
    olds: ReplicaOutputs | undefined,
  ): Promise<Tracked[]> {
    const what = whereOf(inputs);
    const usable: Tracked[] = [];
    for (const rec of olds?.replicas ?? []) {
      const facts = await findByUuid(x, rec.uuid);
      const health = healthOf(rec, facts && vmFactsOf(facts));
      const name = `replica of build ${rec.buildId} (${rec.uuid})`;
      if (health === "ok" && facts !== undefined) usable.push({ rec: clean(rec), facts });
      else if (health === "gone") this.lines.info(`${what}: ${name} is gone from the pool`);
      else if (health === "released")
        this.lines.info(`${what}: ${name} is no longer a template: left on the pool and no longer tracked`);
      else if (facts !== undefined) {
        await destroyTemplate(x, facts);
        this.lines.info(
          `${what}: ${name} lost disk(s) (${facts.disks.length} of ${rec.diskCount}): destroyed`,
        );
      }
    }
    return usable;
  }

  /**
   * Phase 2: the channel's build on the pool. A usable replica of it is kept or promoted; else a replica an
   * earlier run placed but could not record (our template tag, same build) is adopted; else it is imported.
   */
  private async place(
    x: XapiSession,
    inputs: PlacingInputs,
    olds: ReplicaOutputs | undefined,
    usable: readonly Tracked[],
    view: Readonly<Record<string, VmLite>>,
  ): Promise<{ target: Tracked; extra: Tracked[]; isNew: boolean }> {
    const { build } = inputs;
    const what = whereOf(inputs);
    const placement = placementFor(
      usable.map((u) => u.rec),
      olds?.uuid,
      build.buildId,
    );
    if (placement.kind !== "import") {
      const target = usable.find((u) => u.rec.uuid === placement.replica.uuid) as Tracked;
      if (placement.kind === "promote")
        this.lines.info(
          `${what}: ${inputs.channel} goes back to build ${build.buildId} (${target.rec.uuid}): no import`,
        );
      return { target, extra: [], isNew: false };
    }
    const tracked = new Set(usable.map((u) => u.rec.uuid));
    const copies = Object.entries(view).filter(
      ([, v]) =>
        !v.is_control_domain &&
        v.is_a_template &&
        !tracked.has(v.uuid) &&
        v.tags.includes(buildIdTag(build.buildId)),
    );
    const foreign = copies.filter(([, v]) => !v.tags.includes(templateTag(inputs.templateName)));
    if (foreign.length > 0) {
      throw new ReplicaError(
        "REPLICA_FOREIGN_COPY",
        inputs.poolName,
        `${what}: the pool already holds ${foreign.map(([, v]) => v.uuid).join(", ")} tagged ` +
          `${buildIdTag(build.buildId)}, not placed by the fleet (no ${templateTag(inputs.templateName)} tag): is ` +
          `this pool also the build pool, or was the template copied by hand? A fleet pool must not be the build ` +
          `pool; remove the copy (xe vm-uninstall uuid=<uuid> force=true) or drop the pool from the fleet.`,
      );
    }
    return this.withS3(inputs.store, async (s3) => {
      const manifest = await readManifest(s3, inputs.store, build, inputs.poolName, what);
      const adopted = await this.adopt(
        x,
        inputs,
        manifest,
        copies.map(([, v]) => v.uuid),
      );
      if (adopted !== undefined) return { ...adopted, isNew: true };
      const target = await this.importBuild(x, s3, inputs, manifest, view);
      return { target, extra: [], isNew: true };
    });
  }

  /** Replicas of this build an earlier run placed and tagged but never recorded (it stopped before). */
  private async adopt(
    x: XapiSession,
    inputs: PlacingInputs,
    manifest: ReplicaManifest,
    uuids: readonly string[],
  ): Promise<{ target: Tracked; extra: Tracked[] } | undefined> {
    const at = new Date().toISOString();
    const sound: Tracked[] = [];
    for (const uuid of uuids) {
      const facts = await findByUuid(x, uuid);
      if (facts === undefined) continue;
      const problems = importedProblems(facts, {
        buildId: inputs.build.buildId,
        os: manifest.os,
        version: manifest.version,
      });
      if (problems.length === 0) sound.push({ rec: recordOf(facts, inputs.build, at), facts });
      else {
        await destroyTemplate(x, facts);
        this.lines.info(
          `${whereOf(inputs)}: removed an unusable earlier replica ${uuid}: ${problems.join("; ")}`,
        );
      }
    }
    const [target, ...extra] = sound;
    if (target === undefined) return undefined;
    this.lines.info(
      `${whereOf(inputs)}: adopted ${target.rec.uuid}, placed by an earlier run that did not record it`,
    );
    return { target, extra };
  }

  /** Phase 2b: the import itself, in one of the pool's import slots; nothing is left on the pool if it fails. */
  private async importBuild(
    x: XapiSession,
    s3: S3Client,
    inputs: PlacingInputs,
    manifest: ReplicaManifest,
    view: Readonly<Record<string, VmLite>>,
  ): Promise<Tracked> {
    const { build } = inputs;
    const what = whereOf(inputs);
    const before = new Set(Object.keys(view));
    let result: StreamImportResult;
    try {
      result = await withImportSlot(
        inputs.pool.url,
        inputs.maxConcurrentImports ?? DEFAULT_MAX_CONCURRENT_IMPORTS,
        () => {
          this.lines.info(
            `${what}: importing build ${build.buildId} (${(build.sizeBytes / 1e6).toFixed(1)} MB) from ` +
              `s3://${inputs.store.bucket}/${build.key}`,
          );
          return streamImport(x, {
            newS3Client: () => this.s3Client(inputs.store),
            store: inputs.store,
            build,
            manifest,
            poolName: inputs.poolName,
            what,
            query: inputs.srUuid !== undefined ? { sr_uuid: inputs.srUuid } : {},
            taskLabel: `xcpng-templates: ${inputs.templateName} build ${build.buildId} (${inputs.channel})`,
            onProgress: this.importProgress(what),
          });
        },
        (running, ahead) =>
          this.lines.info(
            `${what}: waiting for an import slot (${running} running on this pool, ${ahead} waiting ahead)`,
          ),
      );
    } catch (e) {
      const left = await this.sweepFailedImport(x, inputs, before);
      const tail =
        left.length === 0
          ? "Nothing was left on the pool; run 'pulumi up' again."
          : `The pool still shows ${left.join(", ")} from this import; remove them (xe vm-uninstall uuid=<uuid> force=true).`;
      const message =
        e instanceof ReplicaError
          ? `${sentence(e.message)} ${tail}`
          : `${what}: the import of build ${build.buildId} failed: ${sentence(messageOf(e))} ${tail}`;
      const code: ReplicaErrorCode = e instanceof ReplicaError ? e.code : "REPLICA_IMPORT_FAILED";
      throw new ReplicaError(code, inputs.poolName, message, { cause: e });
    }
    return this.verifyImported(x, inputs, manifest, result);
  }

  /** The imported template checked against the build; removed (with its disks) if it is not what it should be. */
  private async verifyImported(
    x: XapiSession,
    inputs: PlacingInputs,
    manifest: ReplicaManifest,
    r: StreamImportResult,
  ): Promise<Tracked> {
    const what = whereOf(inputs);
    const facts: TemplateFacts[] = [];
    for (const ref of r.vmRefs) {
      const f = await findByUuid(x, await x.read<string>("VM.get_uuid", ref));
      if (f !== undefined) facts.push(f);
    }
    const [f] = facts;
    const problems =
      f === undefined || facts.length !== 1
        ? [`the import created ${facts.length} VMs, expected 1`]
        : importedProblems(f, {
            buildId: inputs.build.buildId,
            os: manifest.os,
            version: manifest.version,
            diskSizes: r.verification.disks.map((d) => d.virtualSize),
          });
    if (problems.length > 0 || f === undefined) {
      for (const g of facts) await destroyTemplate(x, g);
      throw new ReplicaError(
        "REPLICA_VERIFICATION_FAILED",
        inputs.poolName,
        `${what}: the import of build ${inputs.build.buildId} is not the template it should be: ` +
          `${problems.join("; ")}. It was removed. Check the artifact (its manifest says ${manifest.os} ` +
          `${manifest.version}), then run 'pulumi up' again.`,
      );
    }
    await x.write("VM.add_tags", f.ref, templateTag(inputs.templateName));
    const mbps = r.bytes / 1e6 / Math.max(r.seconds, 0.001);
    this.lines.info(
      `${what}: imported build ${inputs.build.buildId} as ${f.uuid} in ${r.seconds.toFixed(1)} s ` +
        `(${mbps.toFixed(1)} MB/s${r.sharedBy > 1 ? `, one read of the store shared by ${r.sharedBy} pools` : ""}): ` +
        `${r.verification.chunks} chunks and the SHA-256 verified, ` +
        `${osFromGuestMetrics(f.osVersion)?.name ?? "unknown OS"}, ${f.disks.length} disk(s); ` +
        `provider peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`,
    );
    return {
      rec: recordOf(f, inputs.build, new Date().toISOString()),
      facts: { ...f, tags: [...f.tags, templateTag(inputs.templateName)] },
    };
  }

  /**
   * After a failed import: whatever it created (VMs tagged with the build that were not there before) is
   * destroyed once the pool has finished with it (xapi removes a failed import's objects itself; this is the
   * belt to its braces). Returns the uuids still there after the wait.
   */
  /** The import's progress, paced as every transfer's (providers/progress-pace.ts). */
  private importProgress(what: string): (sentBytes: number, totalBytes: number) => void {
    let sent = 0;
    let total = 0;
    const pace = progressPacer(
      (elapsedMs) => this.lines.info(`${what}: import ${progressLine(sent, total, elapsedMs)}`),
      { everyMs: progressPeriodMs(process.env) },
    );
    return (s, t) => {
      sent = s;
      total = t;
      pace(s);
    };
  }

  private async sweepFailedImport(
    x: XapiSession,
    inputs: PlacingInputs,
    before: ReadonlySet<string>,
  ): Promise<string[]> {
    const tag = buildIdTag(inputs.build.buildId);
    const until = Date.now() + LEFTOVER_WAIT_MS;
    try {
      for (;;) {
        const all = await x.read<Record<string, VmLite>>("VM.get_all_records");
        const left = Object.entries(all).filter(([ref, v]) => !before.has(ref) && v.tags.includes(tag));
        if (left.length === 0) return [];
        const busy = left.some(([, v]) => Object.values(v.current_operations).includes("import"));
        if (!busy) {
          for (const [, v] of left) {
            const f = await findByUuid(x, v.uuid);
            if (f !== undefined) await destroyTemplate(x, f);
            this.lines.info(`${whereOf(inputs)}: removed ${v.uuid}, left by the failed import`);
          }
          return [];
        }
        if (Date.now() >= until) return left.map(([, v]) => v.uuid);
        await sleep(1000);
      }
    } catch (e) {
      this.lines.info(
        `${whereOf(inputs)}: could not check the pool for leftovers of the failed import: ${messageOf(e)}`,
      );
      return ["(unknown: the pool could not be read)"];
    }
  }

  /**
   * Phase 3: tags. The channel's replica gets its tags first, then the channel tag leaves every other replica and
   * any stray copy: the pool always shows a replica with the channel tag while it moves.
   */
  private async retag(
    x: XapiSession,
    inputs: PlacingInputs,
    target: Tracked,
    kept: readonly Tracked[],
    view: Readonly<Record<string, VmLite>>,
  ): Promise<void> {
    const what = whereOf(inputs);
    const edits = (t: Tracked, channel?: string) =>
      tagEdits(t.facts.tags, {
        templateName: inputs.templateName,
        buildId: t.rec.buildId,
        ...(channel !== undefined ? { channel } : {}),
      });
    const mine = edits(target, inputs.channel);
    for (const tag of mine.add) await x.write("VM.add_tags", target.facts.ref, tag);
    for (const tag of mine.remove) await x.write("VM.remove_tags", target.facts.ref, tag);
    if (mine.add.includes(channelTag(inputs.channel)))
      this.lines.info(
        `${what}: ${channelTag(inputs.channel)} is now on build ${target.rec.buildId} (${target.rec.uuid})`,
      );
    for (const t of kept) {
      const e = edits(t);
      for (const tag of e.add) await x.write("VM.add_tags", t.facts.ref, tag);
      for (const tag of e.remove) await x.write("VM.remove_tags", t.facts.ref, tag);
    }
    const known = new Set([target.rec.uuid, ...kept.map((t) => t.rec.uuid)]);
    for (const [ref, v] of Object.entries(view)) {
      if (known.has(v.uuid) || v.is_control_domain) continue;
      const stray = strayChannelTag(v.tags, inputs.templateName, inputs.channel);
      if (stray === undefined) continue;
      await x.write("VM.remove_tags", ref, stray);
      this.lines.info(`${what}: removed ${stray} from ${v.uuid}, which the fleet does not track`);
    }
  }

  /** Phase 4: replicas beyond retention go, with their disks. */
  private async retire(x: XapiSession, inputs: PlacingInputs, gone: readonly Tracked[]): Promise<void> {
    for (const t of gone) {
      await destroyTemplate(x, t.facts);
      this.lines.info(
        `${whereOf(inputs)}: destroyed replica of build ${t.rec.buildId} (${t.rec.uuid}) and ` +
          `${t.facts.disks.length} disk(s) (poolRetention ${inputs.poolRetention})`,
      );
    }
  }

  private outputs(inputs: PlacingInputs, target: Tracked, kept: readonly ReplicaRecord[]): ReplicaOutputs {
    const f = target.facts;
    return defined<ReplicaOutputs>({
      ...inputs,
      uuid: f.uuid,
      nameLabel: f.nameLabel,
      osName: osFromGuestMetrics(f.osVersion)?.name ?? "unknown",
      diskCount: f.disks.length,
      virtualSizeBytes: f.disks.reduce((n, d) => n + d.virtualSize, 0),
      replicas: [target.rec, ...kept],
    });
  }
}

/** A message as a sentence: one final period. */
function sentence(s: string): string {
  return `${s.trim().replace(/\.+$/, "")}.`;
}

/** How to set a fleet pool's password: with `--path` when it sits in a structured secret. */
function setCommand(key: string): string {
  return key.includes(".") ? `pulumi config set --secret --path ${key}` : `pulumi config set --secret ${key}`;
}

export class Replica extends pulumi.dynamic.Resource {
  declare readonly poolName: pulumi.Output<string>;
  declare readonly templateName: pulumi.Output<string>;
  declare readonly channel: pulumi.Output<string>;
  declare readonly build: pulumi.Output<ReplicaBuild | null>;
  declare readonly uuid: pulumi.Output<string>;
  declare readonly nameLabel: pulumi.Output<string>;
  declare readonly osName: pulumi.Output<string>;
  declare readonly diskCount: pulumi.Output<number>;
  declare readonly virtualSizeBytes: pulumi.Output<number>;
  declare readonly replicas: pulumi.Output<ReplicaRecord[]>;
  declare readonly failure: pulumi.Output<ReplicaFailure | undefined>;

  constructor(name: string, args: ReplicaArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      shimProvider<ReplicaInputs, ReplicaOutputs>("providers/replica", "ReplicaProvider"),
      name,
      {
        uuid: undefined,
        nameLabel: undefined,
        osName: undefined,
        diskCount: undefined,
        virtualSizeBytes: undefined,
        replicas: undefined,
        failure: undefined,
        ...args,
      },
      opts,
      "xcpng",
      "Replica",
    );
  }
}
