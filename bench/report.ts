/** Plain-text tables for the bench's console report. */

export type Cell = string | number | undefined;

function show(c: Cell): string {
  if (c === undefined) return "n/a";
  return typeof c === "number" ? String(c) : c;
}

/** A table with a header row, columns padded to their widest cell (numbers right-aligned). */
export function table(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const cells = [header.map(show), ...rows.map((r) => r.map(show))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const numeric = header.map((_, i) => rows.every((r) => typeof r[i] === "number" || r[i] === undefined));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join(" | ")
      .trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("-|-");
  return [line(cells[0] ?? []), rule, ...cells.slice(1).map(line)].join("\n");
}

/** Rounds to `digits` decimals for display. */
export function round(n: number | undefined, digits = 1): number | undefined {
  if (n === undefined || !Number.isFinite(n)) return undefined;
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export const MIB = 1024 * 1024;

/** MB/s (10^6 bytes per second). */
export function mbps(bytes: number, seconds: number): number | undefined {
  return seconds > 0 ? round(bytes / 1e6 / seconds, 1) : undefined;
}

export function kibToMiB(kib: number | undefined): number | undefined {
  return kib === undefined ? undefined : round(kib / 1024, 0);
}

/**
 * Per fleet size, the round with the median `time` (the lower of the two middle ones for an even count), and the
 * range over all rounds: the machine is shared and one round can be an outlier either way.
 */
export function medianRounds<T extends { readonly pools: number }>(
  results: readonly T[],
  time: (r: T) => number,
): { readonly median: T; readonly min: number; readonly max: number; readonly rounds: number }[] {
  const sizes = [...new Set(results.map((r) => r.pools))].sort((a, b) => a - b);
  return sizes.map((n) => {
    const rounds = results.filter((r) => r.pools === n).sort((a, b) => time(a) - time(b));
    const times = rounds.map(time);
    return {
      median: rounds[Math.floor((rounds.length - 1) / 2)] as T,
      min: times[0] ?? NaN,
      max: times[times.length - 1] ?? NaN,
      rounds: rounds.length,
    };
  });
}
