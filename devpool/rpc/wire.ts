/**
 * A typed XAPI value on its way to a client. XML-RPC needs the datamodel type to pick the element (xapi sends
 * 64-bit ints untyped, floats as `<double>`, dates as `<dateTime.iso8601>`, ocaml-rpc `xmlrpc.ml add_value`), so
 * results are first turned into this tree from their declared type, then printed by either transport.
 */
export type Wire =
  | { readonly t: "string"; readonly v: string }
  | { readonly t: "int"; readonly v: number }
  | { readonly t: "i4"; readonly v: number }
  | { readonly t: "double"; readonly v: number }
  | { readonly t: "bool"; readonly v: boolean }
  | { readonly t: "datetime"; readonly v: string }
  | { readonly t: "array"; readonly v: readonly Wire[] }
  | { readonly t: "struct"; readonly v: readonly (readonly [string, Wire])[] };

export const W = {
  str: (v: string): Wire => ({ t: "string", v }),
  int: (v: number): Wire => ({ t: "int", v }),
  i4: (v: number): Wire => ({ t: "i4", v }),
  double: (v: number): Wire => ({ t: "double", v }),
  bool: (v: boolean): Wire => ({ t: "bool", v }),
  date: (v: string): Wire => ({ t: "datetime", v }),
  array: (v: readonly Wire[]): Wire => ({ t: "array", v }),
  struct: (v: readonly (readonly [string, Wire])[]): Wire => ({ t: "struct", v }),
} as const;

/**
 * A decoded request parameter, before it is coerced to the declared type. XML-RPC `<dateTime.iso8601>` stays a
 * `WireDate` so a datetime parameter can tell it from a plain string; everything else is plain JSON-like data.
 */
export type Input =
  string | number | boolean | null | WireDate | readonly Input[] | { readonly [k: string]: Input };

/** A `<dateTime.iso8601>` received over XML-RPC, kept as its text. */
export class WireDate {
  constructor(readonly text: string) {}
}
