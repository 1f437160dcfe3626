/**
 * Complete records: defaults for every field, and conversion between typed records and XML-RPC structs.
 *
 * xapi's importer re-reads every snapshot with `API.<cls>_t_of_rpc`, which needs **complete** records, so the
 * writer always fills every field of the datamodel. Defaults are the datamodel's declared defaults where it has
 * one, otherwise what xapi itself writes for a fresh halted object (cross-checked against the minimal records
 * Xen Orchestra's XVA writer uses, `@xen-orchestra/xva/templates/*.mjs`).
 */
import { randomUUID } from "node:crypto";
import { NULL_REF } from "./constants";
import { XvaFormatError, XvaInputError } from "./errors";
import { type FieldKind, type XvaClass, type XvaRecord, fieldsOf } from "./schema";
import { XmlRpcDouble, type XmlRpcStruct, type XmlRpcValue, parseXapiDate } from "./xmlrpc";
import { setOwn } from "../own-property";

/** xapi's "never" datetime (`Date.never`, the epoch). */
export const EPOCH = new Date(0);

function kindDefault(kind: FieldKind): unknown {
  if (typeof kind !== "string") return kind[0];
  switch (kind) {
    case "string":
      return "";
    case "int":
    case "float":
      return 0;
    case "bool":
      return false;
    case "datetime":
      return EPOCH;
    case "ref":
      return NULL_REF;
    case "refs":
    case "strings":
    case "ints":
      return [];
    case "map":
    case "struct":
      return {};
  }
}

/** Per-class defaults that differ from the per-kind ones (datamodel defaults, or xapi's values for a halted VM). */
const CLASS_DEFAULTS: { readonly [C in XvaClass]?: () => Partial<XvaRecord<C>> } = {
  VM: () => ({
    power_state: "Halted",
    user_version: 1,
    actions_after_shutdown: "destroy",
    actions_after_reboot: "restart",
    actions_after_crash: "restart",
    HVM_shadow_multiplier: 1,
    HVM_boot_policy: "BIOS order",
    HVM_boot_params: { order: "cdn", firmware: "bios" },
    platform: {},
    domid: -1,
    domain_type: "hvm",
    generation_id: "0:0",
    memory_static_max: 1024 * 1024 * 1024,
    memory_dynamic_max: 1024 * 1024 * 1024,
    memory_dynamic_min: 1024 * 1024 * 1024,
    memory_static_min: 1024 * 1024 * 1024,
    VCPUs_max: 1,
    VCPUs_at_startup: 1,
  }),
  VDI: () => ({ type: "user", on_boot: "persist", managed: true }),
  VBD: () => ({ mode: "RW", type: "Disk", unpluggable: true, bootable: false, userdevice: "0" }),
  VIF: () => ({
    MTU: 1500,
    locking_mode: "network_default",
    ipv4_configuration_mode: "None",
    ipv6_configuration_mode: "None",
  }),
  network: () => ({ MTU: 1500, managed: true, bridge: "xenbr0", default_locking_mode: "unlocked" }),
  SR: () => ({ type: "ext", content_type: "user" }),
  VM_guest_metrics: () => ({ can_use_hotplug_vbd: "unspecified", can_use_hotplug_vif: "unspecified" }),
  host: () => ({
    hostname: "localhost",
    license_server: { address: "localhost", port: "27000" },
    ssl_legacy: true,
    display: "enabled",
    virtual_hardware_platform_versions: [0],
  }),
};

function cloneValue<T>(v: T): T {
  if (v instanceof Date) return new Date(v.getTime()) as T;
  if (Array.isArray(v)) return [...(v as unknown[])] as T;
  if (v !== null && typeof v === "object" && !(v instanceof XmlRpcDouble)) return { ...v };
  return v;
}

/**
 * A complete record of class `cls`: every datamodel field present, `fields` applied over the defaults.
 * An empty `uuid` is replaced by a fresh random one, as xapi never exports an object without a uuid.
 */
export function makeRecord<C extends XvaClass>(cls: C, fields: Partial<XvaRecord<C>> = {}): XvaRecord<C> {
  const table = fieldsOf(cls);
  const classDefaults = (CLASS_DEFAULTS[cls]?.() ?? {}) as Record<string, unknown>;
  const given = fields as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [name, kind] of Object.entries(table)) {
    const v =
      given[name] !== undefined
        ? given[name]
        : name in classDefaults
          ? classDefaults[name]
          : kindDefault(kind);
    out[name] = cloneValue(v);
  }
  if (out.uuid === "") out.uuid = randomUUID();
  return out as XvaRecord<C>;
}

function inputError(cls: string, field: string, expected: string, value: unknown): XvaInputError {
  return new XvaInputError(
    `${cls}.${field} must be ${expected}, but ${JSON.stringify(value) ?? String(value)} was given; fix the record passed to the XVA writer`,
  );
}

/** Converts a typed record to the XML-RPC struct xapi writes (`API.rpc_of_<cls>_t`), then appends `extra`. */
export function recordToStruct<C extends XvaClass>(
  cls: C,
  record: XvaRecord<C>,
  extra: XmlRpcStruct = {},
): XmlRpcStruct {
  const table = fieldsOf(cls);
  const rec = record as Record<string, unknown>;
  const out: [string, XmlRpcValue][] = [];
  for (const [name, kind] of Object.entries(table)) {
    out.push([name, encodeField(cls, name, kind, rec[name])]);
  }
  for (const [name, v] of Object.entries(extra)) if (!(name in table)) out.push([name, v]);
  return Object.fromEntries<XmlRpcValue>(out);
}

function encodeField(cls: string, name: string, kind: FieldKind, v: unknown): XmlRpcValue {
  if (typeof kind !== "string") {
    if (typeof v !== "string") throw inputError(cls, name, `one of ${kind.join("|")}`, v);
    return v;
  }
  switch (kind) {
    case "string":
    case "ref":
      if (typeof v !== "string") throw inputError(cls, name, "a string", v);
      return v;
    case "int":
      if (typeof v !== "number" || !Number.isSafeInteger(v)) throw inputError(cls, name, "a safe integer", v);
      return v;
    case "float":
      if (typeof v !== "number" || !Number.isFinite(v)) throw inputError(cls, name, "a finite number", v);
      return new XmlRpcDouble(v);
    case "bool":
      if (typeof v !== "boolean") throw inputError(cls, name, "a boolean", v);
      return v;
    case "datetime":
      if (!(v instanceof Date) || Number.isNaN(v.getTime())) throw inputError(cls, name, "a valid Date", v);
      return v;
    case "refs":
    case "strings":
      if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) {
        throw inputError(cls, name, "an array of strings", v);
      }
      return v;
    case "ints":
      if (!Array.isArray(v) || !v.every((x) => Number.isSafeInteger(x))) {
        throw inputError(cls, name, "an array of integers", v);
      }
      return v as number[];
    case "map":
      if (v === null || typeof v !== "object" || Array.isArray(v) || v instanceof Date) {
        throw inputError(cls, name, "a string map", v);
      }
      for (const x of Object.values(v))
        if (typeof x !== "string") throw inputError(cls, name, "a string map", v);
      return v as Record<string, string>;
    case "struct":
      if (v === null || typeof v !== "object" || Array.isArray(v)) throw inputError(cls, name, "a struct", v);
      return v as XmlRpcStruct;
  }
}

function formatError(
  cls: string,
  id: string,
  field: string,
  expected: string,
  v: XmlRpcValue,
): XvaFormatError {
  const shown = v instanceof XmlRpcDouble ? v.value : v;
  return new XvaFormatError(
    "BAD_OVA_XML",
    `ova.xml object ${id} (${cls}) field ${field} should be ${expected} but is ${JSON.stringify(shown)}; ` +
      `the archive was not written by xapi or is corrupt`,
  );
}

function asStruct(v: XmlRpcValue): XmlRpcStruct | undefined {
  if (
    v === null ||
    typeof v !== "object" ||
    Array.isArray(v) ||
    v instanceof Date ||
    v instanceof XmlRpcDouble
  ) {
    return undefined;
  }
  return v as XmlRpcStruct;
}

function decodeInt(text: XmlRpcValue): number | undefined {
  if (typeof text === "number") return Number.isSafeInteger(text) ? text : undefined;
  if (typeof text !== "string" || !/^\s*-?\d+\s*$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

function decodeField(cls: string, id: string, name: string, kind: FieldKind, v: XmlRpcValue): unknown {
  const fail = (expected: string): never => {
    throw formatError(cls, id, name, expected, v);
  };
  if (typeof kind !== "string") {
    if (typeof v !== "string") return fail(`one of ${kind.join("|")}`);
    // xapi matches enum names case-insensitively on input; Xen Orchestra writes e.g. "halted". Values outside the
    // known set are kept as given so that exports from newer xapi still pass through.
    return kind.find((e) => e.toLowerCase() === v.toLowerCase()) ?? v;
  }
  switch (kind) {
    case "string":
    case "ref":
      if (typeof v === "string") return v;
      if (typeof v === "number") return String(v);
      return fail("a string");
    case "int": {
      const n = decodeInt(v);
      return n ?? fail("an integer below 2^53");
    }
    case "float": {
      if (v instanceof XmlRpcDouble) return v.value;
      if (typeof v === "number") return v;
      if (typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v))) return Number(v);
      return fail("a number");
    }
    case "bool":
      if (typeof v === "boolean") return v;
      if (v === "true" || v === "1") return true;
      if (v === "false" || v === "0") return false;
      return fail("a boolean");
    case "datetime":
      if (v instanceof Date) return v;
      if (typeof v === "string") return parseXapiDate(v);
      return fail("a dateTime.iso8601");
    case "refs":
    case "strings":
      if (Array.isArray(v) && v.every((x) => typeof x === "string")) return [...v];
      return fail("an array of strings");
    case "ints": {
      if (!Array.isArray(v)) return fail("an array of integers");
      const out = (v as XmlRpcValue[]).map(decodeInt);
      return out.every((x) => x !== undefined) ? out : fail("an array of integers");
    }
    case "map": {
      const s = asStruct(v);
      if (s === undefined) return fail("a struct of strings");
      const out: Record<string, string> = {};
      for (const [k, x] of Object.entries(s)) {
        if (typeof x === "string") setOwn(out, k, x);
        else if (typeof x === "number" || typeof x === "boolean") setOwn(out, k, String(x));
        else return fail("a struct of strings");
      }
      return out;
    }
    case "struct":
      return asStruct(v) ?? fail("a struct");
  }
}

/**
 * Converts a snapshot struct from `ova.xml` into a complete typed record. Missing fields take their defaults
 * (older and newer xapi versions differ in fields); fields outside the table are returned in `extra` so they are
 * written back unchanged.
 */
export function structToRecord<C extends XvaClass>(
  cls: C,
  id: string,
  snapshot: XmlRpcStruct,
): { record: XvaRecord<C>; extra: XmlRpcStruct } {
  const table = fieldsOf(cls);
  const decoded: Record<string, unknown> = {};
  const extra: [string, XmlRpcValue][] = [];
  for (const [name, v] of Object.entries(snapshot)) {
    const kind = table[name];
    if (kind === undefined) extra.push([name, v]);
    else decoded[name] = decodeField(cls, id, name, kind, v);
  }
  const record = makeRecord(cls, decoded as Partial<XvaRecord<C>>);
  // makeRecord invents a uuid when none is given; a parsed record keeps what the archive says.
  if (!("uuid" in decoded)) (record as Record<string, unknown>).uuid = "";
  return { record, extra: Object.fromEntries<XmlRpcValue>(extra) };
}
