/**
 * The Replica resource's decisions, pure: which tags a replica carries, what `read` calls drift, whether an
 * update keeps, promotes or imports, and which replicas retention keeps. The provider (replica.ts) only reads the
 * pool, applies these, and records the outcome.
 *
 * Tags (`VM.tags`, free strings in xapi): every replica carries `template:<name>` and `build-id:<id>` (the latter
 * comes with the XVA: the build tagged the template it exported); exactly one per template and pool carries
 * `channel:<channel>`, the channel's build. They are the fleet's own namespace: a consumer finds "the stable
 * debian-12" on any pool by `template:debian-12` + `channel:stable`.
 */
import { buildIdTag } from "../lib/xapi/templates";

/** One replica the fleet placed on a pool and tracks. */
export interface ReplicaRecord {
  readonly buildId: string;
  /** The VM's uuid on the pool. */
  readonly uuid: string;
  /** The artifact it was imported from, and its SHA-256. */
  readonly key: string;
  readonly sha256: string;
  readonly importedAt: string;
  /** When it last was the channel's build: retention keeps the most recent ones (a rollback's candidates). */
  readonly lastTargetedAt: string;
  readonly diskCount: number;
  readonly virtualSizeBytes: number;
  /** Set by `read`: the VM is gone from the pool. */
  readonly missing?: boolean;
  /** Set by `read`: how it differs from what the fleet placed (tags, template flag, disks). */
  readonly drift?: readonly string[];
}

export function templateTag(templateName: string): string {
  return `template:${templateName}`;
}

export function channelTag(channel: string): string {
  return `channel:${channel}`;
}

const CHANNEL_PREFIX = "channel:";

/** What one replica should carry: the template and build tags, plus the channel tag on the channel's build only. */
export interface WantedTags {
  readonly templateName: string;
  readonly buildId: string;
  /** The channel, when this replica is the channel's build; undefined for the others. */
  readonly channel?: string;
}

/** The tag edits that make `tags` what a replica should carry (other `channel:` tags go: the fleet owns them). */
export function tagEdits(
  tags: readonly string[],
  want: WantedTags,
): { readonly add: string[]; readonly remove: string[] } {
  const wanted = [
    templateTag(want.templateName),
    buildIdTag(want.buildId),
    ...(want.channel !== undefined ? [channelTag(want.channel)] : []),
  ];
  return {
    add: wanted.filter((t) => !tags.includes(t)),
    remove: tags.filter((t) => t.startsWith(CHANNEL_PREFIX) && !wanted.includes(t)),
  };
}

/**
 * A VM the fleet does not track that carries this template's channel tag (placed under a lost state, or tagged by
 * hand): the tag goes, so that `template:<name>` + `channel:<channel>` names one VM per pool.
 */
export function strayChannelTag(
  tags: readonly string[],
  templateName: string,
  channel: string,
): string | undefined {
  return tags.includes(templateTag(templateName)) && tags.includes(channelTag(channel))
    ? channelTag(channel)
    : undefined;
}

/** What the pool says about a tracked replica's VM. */
export interface ReplicaVmFacts {
  readonly tags: readonly string[];
  readonly isTemplate: boolean;
  readonly diskCount: number;
}

export type ReplicaHealth =
  /** There, a template, with its disks: tags are fixed in place if need be. */
  | "ok"
  /** Gone from the pool. */
  | "gone"
  /** Turned into a VM (is_a_template false): someone took it over; the fleet stops tracking it and leaves it. */
  | "released"
  /** Still a template but lost disks: unusable; the fleet removes it (and imports again if it is the channel's). */
  | "damaged";

export function healthOf(rec: ReplicaRecord, vm: ReplicaVmFacts | undefined): ReplicaHealth {
  if (vm === undefined) return "gone";
  if (!vm.isTemplate) return "released";
  if (vm.diskCount < rec.diskCount) return "damaged";
  return "ok";
}

/** What `read` records about a tracked replica: gone, or each way it differs; nothing when it is as placed. */
export function driftOf(
  rec: ReplicaRecord,
  vm: ReplicaVmFacts | undefined,
  want: WantedTags,
): { readonly missing?: true; readonly drift?: string[] } {
  const health = healthOf(rec, vm);
  if (health === "gone" || vm === undefined) return { missing: true };
  const out: string[] = [];
  if (health === "released") out.push("it is no longer a template (is_a_template is false)");
  if (health === "damaged") out.push(`it has ${vm.diskCount} disk(s), ${rec.diskCount} were imported`);
  const edits = tagEdits(vm.tags, want);
  for (const t of edits.add) out.push(`tag ${t} is missing`);
  for (const t of edits.remove) out.push(`tag ${t} is on it, but it is not that channel's build`);
  return out.length > 0 ? { drift: out } : {};
}

/** How an update gets the channel's build onto the pool. */
export type Placement =
  /** The channel's build is already the current replica. */
  | { readonly kind: "keep"; readonly replica: ReplicaRecord }
  /** A kept replica is that build (a rollback, or a channel moving back): the channel tag moves, no import. */
  | { readonly kind: "promote"; readonly replica: ReplicaRecord }
  /** No usable replica of that build: import it. */
  | { readonly kind: "import" };

/** `usable`: the tracked replicas still there and sound; `currentUuid`: the channel's replica so far. */
export function placementFor(
  usable: readonly ReplicaRecord[],
  currentUuid: string | undefined,
  buildId: string,
): Placement {
  const hit =
    usable.find((r) => r.buildId === buildId && r.uuid === currentUuid) ??
    usable.find((r) => r.buildId === buildId);
  if (hit === undefined) return { kind: "import" };
  return hit.uuid === currentUuid ? { kind: "keep", replica: hit } : { kind: "promote", replica: hit };
}

/** What retention keeps beside the channel's replica, and what it destroys. */
export interface ReplicaRetentionPlan {
  /** Kept besides the channel's replica, most recently targeted first: at most `poolRetention - 1`. */
  readonly kept: readonly ReplicaRecord[];
  /** Destroyed with their disks: beyond retention, or a second copy of the channel's build. */
  readonly destroyed: readonly ReplicaRecord[];
}

/**
 * Keeps `poolRetention` replicas per template and pool, the channel's one included and never destroyed: the
 * others are ordered by when they last were the channel's build (then by import time), so the previous stable
 * stays for a rollback. A second copy of the channel's build is destroyed (two VMs with one build-id tag make
 * the build ambiguous on the pool).
 */
export function planReplicaRetention(
  target: ReplicaRecord,
  others: readonly ReplicaRecord[],
  poolRetention: number,
): ReplicaRetentionPlan {
  if (!Number.isInteger(poolRetention) || poolRetention < 1) {
    throw new RangeError(`poolRetention must be an integer >= 1, but ${poolRetention} was given`);
  }
  const seen = new Set<string>([target.uuid]);
  const unique = others.filter((r) => !seen.has(r.uuid) && (seen.add(r.uuid), true));
  const duplicates = unique.filter((r) => r.buildId === target.buildId);
  const ranked = unique
    .filter((r) => r.buildId !== target.buildId)
    .sort(
      (a, b) => b.lastTargetedAt.localeCompare(a.lastTargetedAt) || b.importedAt.localeCompare(a.importedAt),
    );
  return {
    kept: ranked.slice(0, poolRetention - 1),
    destroyed: [...ranked.slice(poolRetention - 1), ...duplicates],
  };
}
