/**
 * Number and date formats xapi prints. Floats use OCaml `Printf.sprintf "%.16g"` (ocaml-rpc `xmlrpc.ml`); dates use
 * `Date.to_rfc3339`, which prints `YYYYMMDDTHH:MM:SSZ` with no dashes (ocaml/libs/clock/date.ml).
 */

/** C's `%.16g`: 16 significant digits, trailing zeros removed, exponent form outside [1e-4, 1e16). */
export function formatDouble(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  const [mantissa, expText] = x.toExponential(15).split("e") as [string, string];
  const exp = Number(expText);
  if (exp < -4 || exp >= 16) {
    const m = stripZeros(mantissa);
    const sign = exp < 0 ? "-" : "+";
    const digits = String(Math.abs(exp)).padStart(2, "0");
    return `${m}e${sign}${digits}`;
  }
  return stripZeros(x.toFixed(Math.max(0, 15 - exp)));
}

function stripZeros(s: string): string {
  if (!s.includes(".")) return s;
  return s.replace(/0+$/, "").replace(/\.$/, "");
}

/** The epoch as xapi prints it; the value of every datetime that was never set. */
export const EPOCH = "19700101T00:00:00Z";

/** A JS date in xapi's datetime format (second precision, UTC). */
export function formatDate(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return (
    `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}T` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}Z`
  );
}

/** Now, in xapi's datetime format. */
export function now(): string {
  return formatDate(new Date());
}

/**
 * Reads a datetime a client sent. xapi accepts its own form and RFC 3339 with dashes (Date.of_iso8601), with or
 * without a zone (no zone means UTC). Returns xapi's canonical form, or undefined if the text is not a date.
 */
export function parseDate(text: string): string | undefined {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):?(\d{2}):?(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/.exec(
    text.trim(),
  );
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s, zone] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string?,
  ];
  let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (zone !== undefined && zone !== "Z") {
    const z = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
    if (z === null) return undefined;
    const offset = (Number(z[2]) * 60 + Number(z[3])) * 60_000;
    ms -= z[1] === "+" ? offset : -offset;
  }
  if (Number.isNaN(ms)) return undefined;
  return formatDate(new Date(ms));
}
