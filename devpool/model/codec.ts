/**
 * Values in and out of the model. `encode` types a stored value for the wire by its declared datamodel type;
 * `decode` checks and coerces a client's parameter. xapi's unmarshallers accept numeric strings for ints and floats
 * (the `xen-api` client sends JS integers as XML-RPC strings: ocaml-rpc `Rpc.int64_of_rpc` takes `String`) and enum names in any case.
 */
import { ServerError } from "../errors";
import { EPOCH, parseDate } from "../rpc/format";
import { type Input, W, type Wire, WireDate } from "../rpc/wire";
import type { Schema } from "./schema";
import { type DMType, NULL_REF, typeName } from "./types";

/** Text of a scalar stored where a string is expected (numbers and booleans from loose input); fallback otherwise. */
function scalarText(value: unknown, fallback: string): string {
  return typeof value === "number" || typeof value === "boolean" ? String(value) : fallback;
}

export function encode(value: unknown, t: DMType, schema: Schema): Wire {
  switch (t.k) {
    case "string":
    case "ref":
    case "enum":
      return W.str(typeof value === "string" ? value : scalarText(value, t.k === "ref" ? NULL_REF : ""));
    case "void":
      return W.str("");
    case "int":
      return W.int(typeof value === "number" ? value : Number(value ?? 0));
    case "float":
      return W.double(typeof value === "number" ? value : Number(value ?? 0));
    case "bool":
      return W.bool(value === true);
    case "datetime":
      return W.date(typeof value === "string" ? value : EPOCH);
    case "set":
      return W.array(Array.isArray(value) ? value.map((v) => encode(v, t.of, schema)) : []);
    case "map": {
      const entries = value !== null && typeof value === "object" ? Object.entries(value) : [];
      return W.struct(entries.map(([k, v]) => [k, encode(v, t.val, schema)] as const));
    }
    case "record": {
      const rec = (value ?? {}) as Record<string, unknown>;
      return W.struct(
        schema
          .cls(t.cls)
          .fields.map(
            (f) => [f.name, encode(f.name in rec ? rec[f.name] : f.defaultValue, f.type, schema)] as const,
          ),
      );
    }
  }
}

function typeError(t: DMType, given: Input | undefined): ServerError {
  void given;
  return new ServerError("FIELD_TYPE_ERROR", [typeName(t)]);
}

/** Checks and coerces one parameter. Throws ServerError FIELD_TYPE_ERROR naming the expected type. */
export function decode(input: Input | undefined, t: DMType, schema: Schema): unknown {
  switch (t.k) {
    case "string":
    case "ref":
      if (typeof input === "string") return input;
      if (input instanceof WireDate) return input.text;
      throw typeError(t, input);
    case "void":
      return undefined;
    case "int": {
      const n =
        typeof input === "number"
          ? input
          : typeof input === "string" && /^\s*[+-]?\d+\s*$/.test(input)
            ? Number(input)
            : NaN;
      if (!Number.isInteger(n)) throw typeError(t, input);
      return n;
    }
    case "float": {
      const n =
        typeof input === "number"
          ? input
          : typeof input === "string" && input.trim() !== ""
            ? Number(input)
            : NaN;
      if (Number.isNaN(n)) throw typeError(t, input);
      return n;
    }
    case "bool":
      if (typeof input === "boolean") return input;
      if (input === "true" || input === "false") return input === "true";
      throw typeError(t, input);
    case "datetime": {
      const text = input instanceof WireDate ? input.text : typeof input === "string" ? input : undefined;
      const d = text === undefined ? undefined : parseDate(text);
      if (d === undefined) throw typeError(t, input);
      return d;
    }
    case "enum": {
      if (typeof input !== "string") throw typeError(t, input);
      const values = schema.enums[t.name] ?? [];
      const hit = values.find((v) => v.toLowerCase() === input.toLowerCase());
      if (hit === undefined)
        throw new ServerError("FIELD_TYPE_ERROR", [`enum ${t.name}: ${values.join("|")}`]);
      return hit;
    }
    case "set":
      if (!Array.isArray(input)) throw typeError(t, input);
      return (input as readonly Input[]).map((v) => decode(v, t.of, schema));
    case "map": {
      if (input === null || typeof input !== "object" || Array.isArray(input) || input instanceof WireDate) {
        throw typeError(t, input);
      }
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(input as Record<string, Input>)) {
        out[String(decode(k, t.key.k === "int" ? { k: "int" } : t.key, schema))] = decode(v, t.val, schema);
      }
      return out;
    }
    case "record":
      return decodeCtorRecord(input, t.cls, schema);
  }
}

/**
 * A constructor's record, read as xapi's generated server reads it (ocaml/idl/ocaml_backend/gen_server.ml
 * `from_ctor_record`): only the constructor fields (RW and RO/constructor) are looked up, each converted to its
 * type; one left out takes the datamodel default, or fails as `my_assoc` does (server_helpers.ml
 * `Dispatcher_FieldNotFound`, which exnHelper.ml reports as INTERNAL_ERROR). Every other member (runtime fields
 * such as `snapshot_time` or `allowed_operations`, which strict clients send with zero values) is ignored.
 */
function decodeCtorRecord(input: Input | undefined, cls: string, schema: Schema): Record<string, unknown> {
  if (input === null || typeof input !== "object" || Array.isArray(input) || input instanceof WireDate) {
    throw typeError({ k: "record", cls }, input);
  }
  const given = input as Record<string, Input>;
  const out: Record<string, unknown> = {};
  for (const f of schema.cls(cls).ctorFields) {
    if (Object.hasOwn(given, f.name)) out[f.name] = decode(given[f.name], f.type, schema);
    else if (f.hasDefault) out[f.name] = structuredClone(f.defaultValue);
    else throw new ServerError("INTERNAL_ERROR", [`Server_helpers.Dispatcher_FieldNotFound("${f.name}")`]);
  }
  return out;
}
