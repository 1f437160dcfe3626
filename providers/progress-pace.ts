/**
 * When a long transfer reports its progress: every 5 s (XCPNG_PROGRESS_EVERY_MS changes it), the first line as
 * soon as 100 MB have passed if that comes sooner, so that a large transfer shows at least one line however fast
 * the machine, and a small one only its outcome.
 */

/** Milliseconds between two progress lines: XCPNG_PROGRESS_EVERY_MS (100 to 60000), else 5000. */
export function progressPeriodMs(env: NodeJS.ProcessEnv): number {
  const n = Number(env.XCPNG_PROGRESS_EVERY_MS);
  return Number.isInteger(n) && n >= 100 && n <= 60_000 ? n : 5000;
}

/** Bytes after which a transfer shows its first line, if the period has not come yet. */
export const FIRST_LINE_AFTER_BYTES = 100_000_000;

/**
 * A pacer: call it with the bytes passed so far, as often as they move; it calls `line(elapsedMs)` when a line is
 * due (the caller words it: percent, rate, time left).
 */
export function progressPacer(
  line: (elapsedMs: number) => void,
  opts: { readonly everyMs: number; readonly firstAfterBytes?: number; readonly now?: () => number },
): (bytes: number) => void {
  const now = opts.now ?? Date.now;
  const first = opts.firstAfterBytes ?? FIRST_LINE_AFTER_BYTES;
  const start = now();
  let last = start;
  let shown = false;
  return (bytes) => {
    const t = now();
    if (t - last < opts.everyMs && (shown || bytes < first)) return;
    last = t;
    shown = true;
    line(t - start);
  };
}

/**
 * The chunks of `source`, unchanged, reporting the bytes passed so far after each (a generator rather than a
 * stream in between: the consumer's pace and the source's failures stay the source's own).
 */
export async function* countedChunks(
  source: AsyncIterable<Uint8Array>,
  onBytes: (bytesSoFar: number) => void,
): AsyncGenerator<Uint8Array> {
  let n = 0;
  for await (const chunk of source) {
    onBytes((n += chunk.byteLength));
    yield chunk;
  }
}
