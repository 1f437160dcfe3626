/**
 * Between devpool's records (datetimes as xapi's `YYYYMMDDTHH:MM:SSZ` text, floats as numbers) and the XVA
 * library's typed records (datetimes as `Date`, floats possibly wrapped in `XmlRpcDouble`).
 */
import { type ExportRecordLookup, type XmlRpcValue, type XvaClass, XmlRpcDouble } from "../../lib/xva";
import type { Schema } from "../model/schema";
import type { Rec, Store } from "../model/store";
import { formatDate, parseDate } from "../rpc/format";

function toDate(text: unknown): Date {
  const canonical = typeof text === "string" ? parseDate(text) : undefined;
  if (canonical === undefined) return new Date(0);
  return new Date(
    `${canonical.slice(0, 4)}-${canonical.slice(4, 6)}-${canonical.slice(6, 8)}T${canonical.slice(9)}`,
  );
}

/** A store record as the XVA library types it. */
export function toXvaRecord(schema: Schema, cls: string, rec: Rec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of schema.cls(cls).fields) {
    const v = rec[f.name];
    out[f.name] = f.type.k === "datetime" ? toDate(v) : v;
  }
  return out;
}

/** The store seen through the XVA library's lookup interface. */
export function storeLookup(store: Store): ExportRecordLookup {
  return {
    get: (cls: XvaClass, ref: string) => {
      const rec = store.get(cls, ref);
      // The library completes partial records with its defaults; ours are complete already.
      return rec === undefined ? undefined : (toXvaRecord(store.schema, cls, rec) as never);
    },
  };
}

/** A value from a parsed `ova.xml` in devpool's representation. */
export function fromXvaValue(v: unknown): unknown {
  if (v instanceof Date) return formatDate(v);
  if (v instanceof XmlRpcDouble) return v.value;
  if (Array.isArray(v)) return (v as unknown[]).map(fromXvaValue);
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromXvaValue(x)]));
  }
  return v;
}

/**
 * A record from `ova.xml` (typed fields plus the `extra` ones the library does not know) as devpool field values,
 * keeping only fields devpool's schema has.
 */
export function fromXvaRecord(
  schema: Schema,
  cls: string,
  record: object,
  extra: Readonly<Record<string, XmlRpcValue>> = {},
): Rec {
  const out: Rec = {};
  const fields = schema.cls(cls).field;
  for (const [k, v] of [...Object.entries(record), ...Object.entries(extra)]) {
    if (fields.has(k)) out[k] = fromXvaValue(v);
  }
  return out;
}
