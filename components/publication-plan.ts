import type { StoredArtifact } from "../providers/stored-artifact";
import type { AcceptanceSummary } from "../providers/catalogue-document";
import { XcpngError } from "../lib/errors";

/**
 * What a template publishes: which builds its channels point to, which builds the store keeps, and which go.
 * Pure, and computed in the program from values `preview` knows when nothing is rebuilt, so a rollback or a
 * revocation shows in `pulumi preview` as the channel change it is.
 *
 * - `candidate`: the newest build that passed the pool's verification and the export's checks (every stored
 *   build did), and is not revoked.
 * - `stable`: the build the stack pins (rollback), or else the newest build that passed acceptance and is not
 *   revoked. A revoked build is in no channel.
 * - Kept: the newest `retention` builds, plus every build a channel points to (retention never deletes those).
 */

/** A stored build with what is known about it. */
export interface BuildRecord extends StoredArtifact {
  readonly acceptance?: AcceptanceSummary;
}

export interface Revocation {
  readonly buildId: string;
  readonly reason: string;
}

export interface ChannelPolicy {
  /** Builds the store keeps besides channel targets, newest first (the current one included). */
  readonly retention: number;
  /** A build id `stable` is pinned to (a rollback); it must be stored, accepted and not revoked. */
  readonly stablePin?: string;
  readonly revoked: readonly Revocation[];
}

export interface Channels {
  readonly candidate?: string;
  readonly stable?: string;
}

export interface PublicationPlan {
  readonly channels: Channels;
  /** Builds the index lists, newest first. */
  readonly kept: readonly BuildRecord[];
  /** Builds to delete once the index that no longer lists them is published. */
  readonly prune: readonly StoredArtifact[];
  /** Revocations of builds still listed (a revocation of a build that is gone says nothing more). */
  readonly revoked: readonly Revocation[];
}

/** The stack's channel settings cannot be followed (a pin on a build that cannot be stable). */
export class ChannelPolicyError extends XcpngError {
  constructor(message: string) {
    super("CHANNEL_POLICY_INVALID", message);
  }
}

const newestFirst = (a: StoredArtifact, b: StoredArtifact) => b.exportedAt.localeCompare(a.exportedAt);

/** Plans one template's publication from every build still stored (any order) and the stack's policy. */
export function planPublication(
  template: string,
  history: readonly BuildRecord[],
  policy: ChannelPolicy,
): PublicationPlan {
  const builds = dedupe([...history].sort(newestFirst));
  const revokedIds = new Set(policy.revoked.map((r) => r.buildId));
  const eligible = builds.filter((b) => !revokedIds.has(b.buildId));
  const candidate = eligible[0]?.buildId;
  const stable = stableOf(template, builds, eligible, policy);
  const targets = new Set([candidate, stable].filter((x): x is string => x !== undefined));
  const kept = builds.filter((b, i) => i < policy.retention || targets.has(b.buildId));
  const keptIds = new Set(kept.map((b) => b.buildId));
  return {
    channels: {
      ...(candidate !== undefined ? { candidate } : {}),
      ...(stable !== undefined ? { stable } : {}),
    },
    kept,
    prune: builds.filter((b) => !keptIds.has(b.buildId)).map(stored),
    revoked: policy.revoked.filter((r) => keptIds.has(r.buildId)),
  };
}

function stableOf(
  template: string,
  builds: readonly BuildRecord[],
  eligible: readonly BuildRecord[],
  policy: ChannelPolicy,
): string | undefined {
  if (policy.stablePin === undefined) return eligible.find((b) => b.acceptance?.passed === true)?.buildId;
  const pin = policy.stablePin;
  const found = builds.find((b) => b.buildId === pin);
  const stored = builds
    .map((b) => `${b.buildId}${b.acceptance?.passed === true ? " (accepted)" : ""}`)
    .join(", ");
  const fix = `Pin one of the stored builds (${stored || "none"}) in templates[].channels.stable, or remove the pin.`;
  if (found === undefined)
    throw new ChannelPolicyError(
      `${template}: channels.stable pins build ${pin}, which is not in the store. ${fix}`,
    );
  if (!eligible.includes(found))
    throw new ChannelPolicyError(`${template}: channels.stable pins build ${pin}, which is revoked. ${fix}`);
  if (found.acceptance?.passed !== true)
    throw new ChannelPolicyError(
      `${template}: channels.stable pins build ${pin}, which has not passed acceptance. ${fix}`,
    );
  return pin;
}

function dedupe(builds: readonly BuildRecord[]): BuildRecord[] {
  const seen = new Set<string>();
  return builds.filter((b) => !seen.has(b.key) && (seen.add(b.key), true));
}

/** The stored artifact's own fields of a build record (what retention keeps or prunes). */
export function stored(b: BuildRecord): StoredArtifact {
  return {
    key: b.key,
    manifestKey: b.manifestKey,
    sha256: b.sha256,
    sizeBytes: b.sizeBytes,
    buildId: b.buildId,
    exportedAt: b.exportedAt,
  };
}
