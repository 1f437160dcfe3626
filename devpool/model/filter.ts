/**
 * xapi's `get_all_records_where` expression language (ocaml/database db_filter_lex.mll, db_filter_parse.mly,
 * db_filter.ml):
 *
 *   expr  := value "=" value | expr "and" expr | expr "or" expr | "not" expr | "true" | "false" | "(" expr ")"
 *   value := "\"literal\"" | "field" "\"column\""
 *
 * Precedence follows the ocamlyacc declarations `%right LNOT` then `%left LAND LOR`: later declarations bind
 * tighter, so `and`/`or` share one level, associate left, and `not` binds *loosest*: `not a and b` is
 * `not (a and b)`. Comparison is string equality on each column's database representation.
 */
import { ServerError } from "../errors";
import { formatDouble } from "../rpc/format";
import type { ClassSchema } from "./schema";
import type { DMType } from "./types";

export type FilterValue = { readonly field: string } | { readonly literal: string };
export type FilterExpr =
  | { readonly op: "true" }
  | { readonly op: "false" }
  | { readonly op: "not"; readonly e: FilterExpr }
  | { readonly op: "and" | "or"; readonly a: FilterExpr; readonly b: FilterExpr }
  | { readonly op: "eq"; readonly a: FilterValue; readonly b: FilterValue };

type Token = "=" | "true" | "false" | "(" | ")" | "field" | "and" | "or" | "not" | { ident: string };

/** xapi surfaces filter syntax errors as INTERNAL_ERROR carrying Db_filter.Expression_error. */
function syntaxError(expr: string, why: string): ServerError {
  return new ServerError("INTERNAL_ERROR", [`Db_filter.Expression_error("${expr}", ${why})`]);
}

const KEYWORDS = ["true", "false", "field", "and", "or", "not"] as const;

function lex(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === " " || c === "\t" || c === "\n") {
      i++;
    } else if (c === "=" || c === "(" || c === ")") {
      out.push(c);
      i++;
    } else if (c === '"') {
      const end = s.indexOf('"', i + 1);
      if (end < 0) throw syntaxError(s, 'Failure("lexing: unterminated string")');
      out.push({ ident: s.slice(i + 1, end) });
      i = end + 1;
    } else {
      // ocamllex keywords need no word boundary: "notfield" lexes as "not" "field".
      const kw = KEYWORDS.find((k) => s.startsWith(k, i));
      if (kw === undefined) throw syntaxError(s, `Failure("lexing: empty token at ${i}")`);
      out.push(kw);
      i += kw.length;
    }
  }
  return out;
}

export function parseFilter(text: string): FilterExpr {
  const toks = lex(text);
  let pos = 0;
  const peek = () => toks[pos];
  const fail = (): never => {
    throw syntaxError(text, "Parsing.Parse_error");
  };
  const value = (): FilterValue => {
    const t = toks[pos++];
    if (t === "field") {
      const id = toks[pos++];
      if (typeof id !== "object") return fail();
      return { field: id.ident };
    }
    if (typeof t === "object") return { literal: t.ident };
    return fail();
  };
  const primary = (): FilterExpr => {
    const t = peek();
    if (t === "not") {
      pos++;
      return { op: "not", e: expr() };
    }
    if (t === "true" || t === "false") {
      pos++;
      return { op: t };
    }
    if (t === "(") {
      pos++;
      const e = expr();
      if (toks[pos++] !== ")") fail();
      return e;
    }
    const a = value();
    if (toks[pos++] !== "=") fail();
    return { op: "eq", a, b: value() };
  };
  const expr = (): FilterExpr => {
    let left = primary();
    for (;;) {
      const t = peek();
      if (t !== "and" && t !== "or") return left;
      pos++;
      left = { op: t, a: left, b: primary() };
    }
  };
  const e = expr();
  if (pos !== toks.length) fail();
  return e;
}

function sexprString(s: string): string {
  return `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** A value as xapi's database stores it (Schema.Value.marshal): sets and maps as s-expressions. */
export function dbString(value: unknown, t: DMType): string {
  switch (t.k) {
    case "bool":
      return value === true ? "true" : "false";
    case "int":
      return String(Math.trunc(Number(value)));
    case "float":
      return formatDouble(Number(value));
    case "set":
      return `(${((value as unknown[] | undefined) ?? []).map((v) => sexprString(dbString(v, t.of))).join(" ")})`;
    case "map":
      return `(${Object.entries((value as Record<string, unknown> | undefined) ?? {})
        .map(([k, v]) => `(${sexprString(k)} ${sexprString(dbString(v, t.val))})`)
        .join(" ")})`;
    default:
      return typeof value === "string" ? value : typeof value === "number" ? String(value) : "";
  }
}

/** Evaluates a parsed filter against one record of the class. */
export function matches(expr: FilterExpr, rec: Readonly<Record<string, unknown>>, cls: ClassSchema): boolean {
  const columns = new Map(cls.fields.map((f) => [f.dbName, f]));
  const val = (v: FilterValue): string => {
    if ("literal" in v) return v.literal;
    const f = columns.get(v.field);
    // Row.find raises DBCache_NotFound for a column the table does not have.
    if (f === undefined)
      throw new ServerError("INTERNAL_ERROR", [`DBCache_NotFound("missing field", "${v.field}", "")`]);
    return dbString(rec[f.name], f.type);
  };
  const ev = (e: FilterExpr): boolean => {
    switch (e.op) {
      case "true":
        return true;
      case "false":
        return false;
      case "not":
        return !ev(e.e);
      case "and":
        return ev(e.a) && ev(e.b);
      case "or":
        return ev(e.a) || ev(e.b);
      case "eq":
        return val(e.a) === val(e.b);
    }
  };
  return ev(expr);
}
