/** Formatting for people, the same on every machine (no locale, no time zone but UTC). */

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"] as const;

/** `1288490188` → `1.2 GiB`; whole numbers of bytes below 1 KiB. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "unknown";
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${UNITS[u]}`;
}

/** An ISO 8601 time as `2026-03-04 05:06 UTC`, or undefined when it is not a time. */
export function formatUtc(iso: string): string | undefined {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return undefined;
  return `${new Date(t).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** Seconds as `75 s` or `2 min 5 s`. */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "unknown";
  const s = Math.round(seconds);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ""}`;
}
