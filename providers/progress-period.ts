/**
 * How often a long transfer reports its progress: every 5 s, or every XCPNG_PROGRESS_EVERY_MS milliseconds
 * (100 to 60000; tests shorten it so that even a quick transfer on a fast machine shows its progress line).
 */
export function progressPeriodMs(env: NodeJS.ProcessEnv): number {
  const n = Number(env.XCPNG_PROGRESS_EVERY_MS);
  return Number.isInteger(n) && n >= 100 && n <= 60_000 ? n : 5000;
}
