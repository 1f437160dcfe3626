/** One XVA in the store with its manifest: what the index lists and retention keeps. */
export interface StoredArtifact {
  readonly key: string;
  readonly manifestKey: string;
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly buildId: string;
  readonly exportedAt: string;
}

/** An earlier artifact of a template that retention keeps in the store (newest first in `previous`). */
export interface RetainedArtifact extends StoredArtifact {
  /** Set by refresh when its XVA is gone from the store: the next `up` removes what is left (its manifest). */
  readonly missing?: boolean;
}

/** What retention keeps and what it removes. */
export interface RetentionPlan {
  /** Earlier artifacts kept beside the current one, newest first: at most `retention - 1`. */
  readonly kept: readonly RetainedArtifact[];
  /** Artifacts to delete from the store (object and manifest). */
  readonly pruned: readonly RetainedArtifact[];
}

/**
 * Keeps the newest `retention` artifacts of a template, the current one included: `candidates` (earlier artifacts,
 * any order) are sorted newest first by export time, deduplicated by key (the current key is never kept twice),
 * and cut after `retention - 1`.
 */
export function planRetention(
  currentKey: string,
  candidates: readonly RetainedArtifact[],
  retention: number,
): RetentionPlan {
  if (!Number.isInteger(retention) || retention < 1) {
    throw new RangeError(`retention must be an integer >= 1, but ${retention} was given`);
  }
  const seen = new Set<string>([currentKey]);
  const unique = [...candidates]
    .sort((a, b) => b.exportedAt.localeCompare(a.exportedAt))
    .filter((a) => !seen.has(a.key) && seen.add(a.key));
  return { kept: unique.slice(0, retention - 1), pruned: unique.slice(retention - 1) };
}
