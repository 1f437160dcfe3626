/**
 * Datamodel types ("VM ref set", "(string -> enum vm_operations) map", ...) as xapi's IDL spells them, parsed into a
 * tree so values can be checked on the way in and typed on the way out.
 */
import { DevpoolDefectError } from "../errors";
import { EPOCH } from "../rpc/format";

export type DMType =
  | { readonly k: "string" }
  | { readonly k: "int" }
  | { readonly k: "float" }
  | { readonly k: "bool" }
  | { readonly k: "datetime" }
  | { readonly k: "void" }
  | { readonly k: "ref"; readonly cls: string }
  | { readonly k: "record"; readonly cls: string }
  | { readonly k: "enum"; readonly name: string }
  | { readonly k: "set"; readonly of: DMType }
  | { readonly k: "map"; readonly key: DMType; readonly val: DMType };

/** The null reference (xapi `Ref.null`). */
export const NULL_REF = "OpaqueRef:NULL";

const cache = new Map<string, DMType>();

/** Parses a datamodel type string. Throws a TypeError on a spelling devpool does not know (a bug in its tables). */
export function parseType(text: string): DMType {
  const hit = cache.get(text);
  if (hit !== undefined) return hit;
  const t = parseUncached(text.trim());
  cache.set(text, t);
  return t;
}

function parseUncached(s: string): DMType {
  if (s.endsWith(" set")) return { k: "set", of: parseType(s.slice(0, -4)) };
  if (s.endsWith(" map") && s.startsWith("(")) {
    const inner = s.slice(1, s.lastIndexOf(")"));
    // The key type never contains " -> " (keys are strings, refs, ints or enums), so the first arrow splits.
    const arrow = inner.indexOf(" -> ");
    if (arrow < 0) throw new DevpoolDefectError(`datamodel map type without an arrow: ${s}`);
    return { k: "map", key: parseType(inner.slice(0, arrow)), val: parseType(inner.slice(arrow + 4)) };
  }
  if (s.startsWith("enum ")) return { k: "enum", name: s.slice(5) };
  if (s.endsWith(" ref")) return { k: "ref", cls: s.slice(0, -4) };
  if (s.endsWith(" record")) return { k: "record", cls: s.slice(0, -7) };
  switch (s) {
    case "string":
      return { k: "string" };
    case "int":
      return { k: "int" };
    case "float":
      return { k: "float" };
    case "bool":
      return { k: "bool" };
    case "datetime":
      return { k: "datetime" };
    case "void":
      return { k: "void" };
    default:
      throw new DevpoolDefectError(`unknown datamodel type: ${s}`);
  }
}

/** The value a field of this type has when nothing set it. */
export function zeroOf(t: DMType, enums: Readonly<Record<string, readonly string[]>>): unknown {
  switch (t.k) {
    case "string":
    case "void":
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
    case "enum":
      return enums[t.name]?.[0] ?? "";
    case "set":
      return [];
    case "map":
      return {};
    case "record":
      return {};
  }
}

/** Reads a datamodel default (OCaml-ish literals: `""`, `{}`, `Null`, `1.`, `"0:0"`) as a value of the type. */
export function parseDefault(
  text: string,
  t: DMType,
  enums: Readonly<Record<string, readonly string[]>>,
): unknown {
  const s = text.trim();
  switch (t.k) {
    case "string":
      return s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
    case "int":
    case "float": {
      const n = Number(s.endsWith(".") ? s.slice(0, -1) : s);
      return Number.isNaN(n) ? 0 : n;
    }
    case "bool":
      return s === "true";
    case "datetime":
      return /^\d{8}T/.test(s) ? s : EPOCH;
    case "ref":
      return NULL_REF;
    case "enum": {
      const v = s.replace(/^"|"$/g, "");
      return (enums[t.name] ?? []).includes(v) ? v : zeroOf(t, enums);
    }
    case "set":
      return s === "{}" || s === "[]" || s === "()" ? [] : zeroOf(t, enums);
    default:
      return zeroOf(t, enums);
  }
}

/** Human spelling of a type, for error messages. */
export function typeName(t: DMType): string {
  switch (t.k) {
    case "ref":
      return `${t.cls} ref`;
    case "record":
      return `${t.cls} record`;
    case "enum":
      return `enum ${t.name}`;
    case "set":
      return `${typeName(t.of)} set`;
    case "map":
      return `(${typeName(t.key)} -> ${typeName(t.val)}) map`;
    default:
      return t.k;
  }
}
