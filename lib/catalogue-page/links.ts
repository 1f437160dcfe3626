/**
 * Links from the page to objects of the same bucket. The page is served from the bucket at `<prefix>/index.html`
 * (path-style `https://host/bucket/<prefix>/index.html` or virtual-hosted `https://bucket.host/<prefix>/...`), so
 * only a relative URL reaches an object in both: the key relative to the prefix, each segment percent-encoded.
 */

/**
 * The relative URL of `key` from the page at `<prefix>/index.html`, or undefined when no relative URL can name
 * that key: a segment that is empty, `.` or `..` would be rewritten by the browser's URL parser (`%2e` too), so
 * such keys (which the store's layout never writes) get no link rather than a wrong one.
 */
export function hrefOf(prefix: string, key: string): string | undefined {
  const from = prefix === "" ? [] : prefix.split("/");
  const to = key.split("/");
  if (to.some((s) => s === "" || s === "." || s === "..")) return undefined;
  let common = 0;
  while (common < from.length && common < to.length - 1 && from[common] === to[common]) common++;
  const up = from.slice(common).map(() => "..");
  const down = to.slice(common).map((s) => encodeURIComponent(s));
  // encodeURIComponent leaves `!'()*` as they are: harmless in a path, and ':' (a scheme) is encoded.
  return [...up, ...down].join("/");
}
