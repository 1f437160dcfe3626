import {
  CATALOGUE_SCHEMA,
  type AcceptanceSummary,
  type CatalogueDocument,
  type ChannelPointer,
  type IndexEntry,
  type TemplateChannels,
} from "./catalogue-document";
import type { StoredArtifact } from "./stored-artifact";

/** A build as publication hands it to the index: stored, and what is known about it. */
export interface PublishedBuild extends StoredArtifact {
  readonly acceptance?: AcceptanceSummary;
}

/** One template's publication (components/publication-plan.ts): the builds it lists, its channels, revocations. */
export interface TemplatePublication {
  readonly template: string;
  readonly os: string;
  readonly version: string;
  /** Newest first. */
  readonly builds: readonly PublishedBuild[];
  /** Build ids. */
  readonly channels: { readonly candidate?: string; readonly stable?: string };
  readonly revoked: readonly { readonly buildId: string; readonly reason: string }[];
}

/**
 * The catalogue document (pure): every published build sorted by template then export time, the channels as
 * pointers, revocations with the date each was first published (`revokedAt`, kept across updates by the caller).
 */
export function buildCatalogue(
  templates: readonly TemplatePublication[],
  ctx: { stack: string; revokedAt: Readonly<Record<string, string>>; now: Date },
): CatalogueDocument {
  const artifacts: IndexEntry[] = [];
  const channels: Record<string, TemplateChannels> = {};
  const latest: Record<string, { key: string; manifestKey: string; sha256: string }> = {};
  for (const t of [...templates].sort((a, b) => a.template.localeCompare(b.template))) {
    const reasons = new Map(t.revoked.map((r) => [r.buildId, r.reason]));
    const builds = [...t.builds].sort((a, b) => a.exportedAt.localeCompare(b.exportedAt));
    for (const b of builds) {
      const reason = reasons.get(b.buildId);
      artifacts.push({
        ...b,
        template: t.template,
        os: t.os,
        version: t.version,
        ...(reason !== undefined
          ? { revoked: { reason, at: ctx.revokedAt[b.buildId] ?? ctx.now.toISOString() } }
          : {}),
      });
    }
    const pointer = (id: string | undefined): ChannelPointer | undefined => {
      const b = id === undefined ? undefined : builds.find((x) => x.buildId === id);
      return b && { buildId: b.buildId, key: b.key, manifestKey: b.manifestKey, sha256: b.sha256 };
    };
    const candidate = pointer(t.channels.candidate);
    const stable = pointer(t.channels.stable);
    channels[t.template] = { ...(candidate ? { candidate } : {}), ...(stable ? { stable } : {}) };
    const newest = builds[builds.length - 1];
    if (newest)
      latest[t.template] = { key: newest.key, manifestKey: newest.manifestKey, sha256: newest.sha256 };
  }
  return {
    schema: CATALOGUE_SCHEMA,
    updatedAt: ctx.now.toISOString(),
    stack: ctx.stack,
    artifacts,
    channels,
    latest,
  };
}

/** When each current revocation was first published: earlier dates kept, new ones dated now (pure). */
export function revocationDates(
  templates: readonly TemplatePublication[],
  earlier: Readonly<Record<string, string>>,
  now: Date,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of templates)
    for (const r of t.revoked) out[r.buildId] = earlier[r.buildId] ?? now.toISOString();
  return out;
}

/** What may be deleted after publishing: what is to be pruned and not listed (pure: the decision). */
export function deletable(
  prune: readonly StoredArtifact[],
  listed: readonly StoredArtifact[],
): StoredArtifact[] {
  const skip = new Set(listed.map((e) => e.key));
  const out: StoredArtifact[] = [];
  for (const a of prune) {
    if (skip.has(a.key)) continue;
    skip.add(a.key);
    out.push(a);
  }
  return out;
}
