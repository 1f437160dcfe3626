/**
 * The words of a long transfer's progress line: percent, MB/s, time left (pure, table-tested; when a line is due
 * is providers/progress-pace.ts's decision).
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
