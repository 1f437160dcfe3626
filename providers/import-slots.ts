/**
 * Import slots: at most N imports at a time into one pool, across every resource the provider process serves.
 *
 * Pulumi runs independent resources in parallel (`--parallel`, unbounded by default for the Node host's dynamic
 * resources, which all live in one provider process), so a fleet of many templates would otherwise open as many
 * `PUT /import` streams against one pool as it has templates. Each pool (its URL's origin) gets a counter and a
 * FIFO queue; the limit is the caller's setting and may change between calls (the latest one applies).
 */

interface PoolSlots {
  limit: number;
  active: number;
  readonly queue: (() => void)[];
}

/** Process-wide: one entry per pool origin. Module state, since the provider process loads this module once. */
const SLOTS = new Map<string, PoolSlots>();

/** The key of a pool: scheme, host and port, lowercased (paths and queries do not make another pool). */
export function poolKey(url: string): string {
  try {
    return new URL(url).origin.toLowerCase();
  } catch {
    return url.toLowerCase();
  }
}

function slotsOf(key: string, limit: number): PoolSlots {
  let s = SLOTS.get(key);
  if (s === undefined) {
    s = { limit, active: 0, queue: [] };
    SLOTS.set(key, s);
  }
  s.limit = limit;
  return s;
}

function release(s: PoolSlots): void {
  s.active -= 1;
  while (s.active < s.limit) {
    const next = s.queue.shift();
    if (next === undefined) break;
    s.active += 1;
    next();
  }
}

/**
 * Runs `fn` once one of the pool's `limit` slots is free (FIFO), and frees it when `fn` settles. `onWait` is
 * called once when the caller has to queue, with the number of imports running and waiting ahead of it.
 */
export async function withImportSlot<T>(
  poolUrl: string,
  limit: number,
  fn: () => Promise<T>,
  onWait?: (running: number, ahead: number) => void,
): Promise<T> {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`maxConcurrentImports must be an integer >= 1, but ${limit} was given`);
  }
  const s = slotsOf(poolKey(poolUrl), limit);
  if (s.active < s.limit) {
    s.active += 1;
  } else {
    onWait?.(s.active, s.queue.length);
    await new Promise<void>((resolve) => s.queue.push(resolve));
  }
  try {
    return await fn();
  } finally {
    release(s);
  }
}

/** Imports running and waiting on a pool now (tests and the bench read it). */
export function importSlotUsage(poolUrl: string): { readonly active: number; readonly waiting: number } {
  const s = SLOTS.get(poolKey(poolUrl));
  return { active: s?.active ?? 0, waiting: s?.queue.length ?? 0 };
}
