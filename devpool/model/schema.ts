/**
 * The class schemas devpool serves, built once from `datamodel.json` (xapi's IDL, CH 8.1) plus the XCP-ng 8.3
 * additions in `datamodel-extra.ts`. Every record of a class carries every field of its schema, in schema order:
 * the `xen-api` client builds each type's field list from the first record it sees (docs/devpool/clients.md).
 */
import { DevpoolDefectError } from "../errors";
import datamodel from "./datamodel.json";
import type { DatamodelFile, DatamodelMessage } from "./datamodel-types";
import { EXTRA_ENUMS, EXTRA_FIELDS, EXTRA_MESSAGES } from "./datamodel-extra";
import { defaultRoles, type Role, rolesFrom } from "./rbac";
import { type DMType, parseDefault, parseType, zeroOf } from "./types";

export interface FieldSchema {
  readonly name: string;
  readonly type: DMType;
  /** `RW`, `RO/constructor` or `RO/runtime`. */
  readonly qualifier: string;
  readonly defaultValue: unknown;
  /** Whether the datamodel gives a default: a constructor record may then leave the field out. */
  readonly hasDefault: boolean;
  /** The column name in xapi's database, as `get_all_records_where` expressions spell it (`name__label`). */
  readonly dbName: string;
}

export interface ParamSchema {
  readonly name: string;
  readonly type: DMType;
}

export interface MessageSchema {
  readonly cls: string;
  readonly name: string;
  /** Parameters after the session, if the message takes one. */
  readonly params: readonly ParamSchema[];
  readonly takesSession: boolean;
  readonly result: DMType;
  readonly implicit: boolean;
  /** Roles allowed to call it (ocaml/xapi/rbac.ml checks them before the implementation runs). */
  readonly roles: readonly Role[];
}

export interface ClassSchema {
  readonly name: string;
  readonly fields: readonly FieldSchema[];
  readonly field: ReadonlyMap<string, FieldSchema>;
  /**
   * The fields a constructor reads from its record: the RW and RO/constructor ones, in datamodel order
   * (ocaml/idl/ocaml_backend/gen_client.ml `ctor_fields`). Runtime fields in a record are ignored.
   */
  readonly ctorFields: readonly FieldSchema[];
  readonly messages: ReadonlyMap<string, MessageSchema>;
}

/**
 * Namespaced fields are stored under `<namespace>__<rest>` (datamodel `namespace ~name:"memory"`, escaped with
 * `String.concat "__"`): the names filters must use. Every class has the `name` namespace.
 */
const NAMESPACES: Readonly<Record<string, readonly string[]>> = {
  VM: ["memory", "VCPUs", "actions", "PV", "HVM"],
  VM_metrics: ["memory", "VCPUs"],
  host: ["memory", "API_version"],
  host_metrics: ["memory"],
};

function dbNameOf(cls: string, field: string): string {
  for (const ns of ["name", ...(NAMESPACES[cls] ?? [])]) {
    if (field.startsWith(`${ns}_`) && field.length > ns.length + 1)
      return `${ns}__${field.slice(ns.length + 1)}`;
  }
  return field;
}

export class Schema {
  readonly enums: Readonly<Record<string, readonly string[]>>;
  readonly classes: ReadonlyMap<string, ClassSchema>;
  /** Lowercase class name to its spelling (`vm` → `VM`): event subscriptions are case-insensitive. */
  readonly byLower: ReadonlyMap<string, string>;

  constructor(file: DatamodelFile) {
    const enums: Record<string, readonly string[]> = { ...file.enums, ...EXTRA_ENUMS };
    this.enums = enums;
    const classes = new Map<string, ClassSchema>();
    for (const c of file.classes) {
      const fieldRows = [...c.fields, ...(EXTRA_FIELDS[c.name] ?? [])];
      const fields: FieldSchema[] = fieldRows.map(([name, typeText, qualifier, def]) => {
        const type = parseType(typeText);
        return {
          name,
          type,
          qualifier,
          defaultValue: def === undefined ? zeroOf(type, enums) : parseDefault(def, type, enums),
          hasDefault: def !== undefined,
          dbName: dbNameOf(c.name, name),
        };
      });
      const messages = new Map<string, MessageSchema>();
      const add = ([name, params, result, implicit, least]: DatamodelMessage) => {
        const takesSession = params[0]?.[0] === "session ref" && params[0][1] === "session_id";
        messages.set(name, {
          cls: c.name,
          name,
          params: (takesSession ? params.slice(1) : params).map(([t, n]) => ({
            name: n,
            type: parseType(t),
          })),
          takesSession,
          result: parseType(result),
          implicit,
          roles: least === undefined ? defaultRoles(c.name, name) : rolesFrom(least),
        });
      };
      c.messages.forEach(add);
      (EXTRA_MESSAGES[c.name] ?? []).forEach(add);
      const S: [string, string] = ["session ref", "session_id"];
      const self: [string, string] = [`${c.name} ref`, "self"];
      for (const [name, typeText, qualifier] of EXTRA_FIELDS[c.name] ?? []) {
        if (!messages.has(`get_${name}`)) add([`get_${name}`, [S, self], typeText, true]);
        if (qualifier === "RW" && !messages.has(`set_${name}`)) {
          add([`set_${name}`, [S, self, [typeText, "value"]], "void", true]);
        }
      }
      if (messages.has("get_all_records")) {
        // Semi-public in xapi (hidden from the docs, absent from the 8.1 dump) but served for every class.
        add([
          "get_all_records_where",
          [S, ["string", "expr"]],
          `(${c.name} ref -> ${c.name} record) map`,
          true,
        ]);
        add(["get_all_where", [S, ["string", "expr"]], `${c.name} ref set`, true]);
      }
      classes.set(c.name, {
        name: c.name,
        fields,
        field: new Map(fields.map((f) => [f.name, f])),
        ctorFields: fields.filter((f) => f.qualifier !== "RO/runtime"),
        messages,
      });
    }
    this.classes = classes;
    this.byLower = new Map([...classes.keys()].map((k) => [k.toLowerCase(), k]));
  }

  cls(name: string): ClassSchema {
    const c = this.classes.get(name);
    if (c === undefined) throw new DevpoolDefectError(`devpool has no schema for class ${name}`);
    return c;
  }

  /** A complete record of the class: every field at its default, then `values` over it. */
  record(cls: string, values: Readonly<Record<string, unknown>>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const f of this.cls(cls).fields) {
      out[f.name] = f.name in values ? values[f.name] : structuredClone(f.defaultValue);
    }
    return out;
  }
}

let shared: Schema | undefined;

/** The schema built from the shipped datamodel (built on first use, then shared: it is immutable). */
export function schema(): Schema {
  shared ??= new Schema(datamodel as unknown as DatamodelFile);
  return shared;
}
