/**
 * One progress line every few seconds for a long transfer of known length: percent, MB/s, time left.
 * Pure formatting plus a small throttle, so the line's content is table-tested and the clock is injectable.
 */

const MB = 1_000_000;

/** "42 % (1,180 of 2,807 MB), 85.3 MB/s, about 19 s left". Rates in MB/s (10^6 bytes), as the bench reports. */
export function progressLine(sentBytes: number, totalBytes: number, elapsedMs: number): string {
  const pct = totalBytes > 0 ? Math.floor((sentBytes / totalBytes) * 100) : 100;
  const rate = elapsedMs > 0 ? sentBytes / MB / (elapsedMs / 1000) : 0;
  const leftSeconds = rate > 0 ? (totalBytes - sentBytes) / MB / rate : undefined;
  const mb = (n: number) => Math.round(n / MB).toLocaleString("en-US");
  return (
    `${pct} % (${mb(sentBytes)} of ${mb(totalBytes)} MB), ${rate.toFixed(1)} MB/s, ` +
    (leftSeconds === undefined ? "time left unknown" : `about ${formatSeconds(leftSeconds)} left`)
  );
}

/** 9 s, 1 min 05 s, 1 h 02 min. */
export function formatSeconds(s: number): string {
  const t = Math.max(0, Math.round(s));
  if (t < 60) return `${t} s`;
  if (t < 3600) return `${Math.floor(t / 60)} min ${String(t % 60).padStart(2, "0")} s`;
  return `${Math.floor(t / 3600)} h ${String(Math.floor((t % 3600) / 60)).padStart(2, "0")} min`;
}

/**
 * An `onProgress(sent, total)` callback that calls `emit` with a line at most every `everyMs` (the first after
 * `everyMs`, not at once: a short transfer prints nothing but its outcome).
 */
export function throttledProgress(
  emit: (line: string) => void,
  everyMs = 5000,
  now: () => number = Date.now,
): (sentBytes: number, totalBytes: number) => void {
  const start = now();
  let last = start;
  return (sent, total) => {
    const t = now();
    if (t - last < everyMs) return;
    last = t;
    emit(progressLine(sent, total, t - start));
  };
}
