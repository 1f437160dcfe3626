import { expect } from "chai";
import fc from "fast-check";
import { ServerError } from "../errors";
import { dbString, type FilterExpr, matches, parseFilter } from "./filter";
import { schema } from "./schema";

const VM = schema().cls("VM");
const vm = (values: Record<string, unknown>) => schema().record("VM", values);

describe("devpool model/filter (get_all_records_where)", () => {
  it("matches on database column names, with namespaced fields under a double underscore", () => {
    const rec = vm({
      name_label: "Debian",
      is_a_template: true,
      memory_static_max: 4294967296,
      power_state: "Halted",
    });
    expect(matches(parseFilter('field "name__label"="Debian"'), rec, VM)).to.equal(true);
    expect(matches(parseFilter('field "is_a_template"="true"'), rec, VM)).to.equal(true);
    expect(matches(parseFilter('field "memory__static_max"="4294967296"'), rec, VM)).to.equal(true);
    expect(matches(parseFilter('field "power_state"="Halted"'), rec, VM)).to.equal(true);
    expect(matches(parseFilter('"Debian"=field "name__label"'), rec, VM)).to.equal(true);
  });

  it("answers INTERNAL_ERROR for a column the table does not have (xapi's DBCache_NotFound)", () => {
    expect(() => matches(parseFilter('field "name_label"="Debian"'), vm({}), VM))
      .to.throw(ServerError)
      .with.property("code", "INTERNAL_ERROR");
  });

  it("gives and/or one precedence, left-associative", () => {
    expect(parseFilter('"a"="a" or "a"="b" and "b"="c"')).to.deep.equal({
      op: "and",
      a: { op: "or", a: eq("a", "a"), b: eq("a", "b") },
      b: eq("b", "c"),
    });
  });

  it("makes not bind loosest, as the ocamlyacc declarations order says: not a and b = not (a and b)", () => {
    expect(parseFilter('not "a"="a" and "a"="b"')).to.deep.equal({
      op: "not",
      e: { op: "and", a: eq("a", "a"), b: eq("a", "b") },
    });
    // xapi's own CLI idiom still reads as intended with parentheses
    expect(parseFilter('(field "uuid"="X") or (field "name__label"="X")')).to.deep.equal({
      op: "or",
      a: { op: "eq", a: { field: "uuid" }, b: { literal: "X" } },
      b: { op: "eq", a: { field: "name__label" }, b: { literal: "X" } },
    });
  });

  it("rejects syntax errors with INTERNAL_ERROR naming the expression", () => {
    for (const bad of ['field "x"', '"a"=', "(true", 'field "a"="b" "c"', "maybe"]) {
      expect(() => parseFilter(bad), bad)
        .to.throw(ServerError)
        .with.property("code", "INTERNAL_ERROR");
    }
  });

  it("evaluates like the boolean algebra it encodes (property)", () => {
    const lit = fc.constantFrom("x", "y");
    const expr: fc.Arbitrary<FilterExpr> = fc.letrec<{ e: FilterExpr }>((tie) => ({
      e: fc.oneof(
        { depthSize: "small" },
        fc.constantFrom<FilterExpr>({ op: "true" }, { op: "false" }),
        fc.tuple(lit, lit).map(([a, b]): FilterExpr => eq(a, b)),
        tie("e").map((e): FilterExpr => ({ op: "not", e })),
        fc
          .tuple(fc.constantFrom<"and" | "or">("and", "or"), tie("e"), tie("e"))
          .map(([op, a, b]): FilterExpr => ({ op, a, b })),
      ),
    })).e;
    const truth = (e: FilterExpr): boolean =>
      e.op === "true"
        ? true
        : e.op === "false"
          ? false
          : e.op === "not"
            ? !truth(e.e)
            : e.op === "and"
              ? truth(e.a) && truth(e.b)
              : e.op === "or"
                ? truth(e.a) || truth(e.b)
                : JSON.stringify(e.a) === JSON.stringify(e.b);
    // Printing every sub-expression in parentheses makes the text unambiguous under any precedence.
    const print = (e: FilterExpr): string =>
      e.op === "true" || e.op === "false"
        ? e.op
        : e.op === "not"
          ? `not (${print(e.e)})`
          : e.op === "eq"
            ? `"${"literal" in e.a ? e.a.literal : ""}"="${"literal" in e.b ? e.b.literal : ""}"`
            : `(${print(e.a)}) ${e.op} (${print(e.b)})`;
    fc.assert(
      fc.property(expr, (e) => {
        expect(matches(parseFilter(print(e)), vm({}), VM)).to.equal(truth(e));
      }),
    );
  });

  it("stores sets and maps as s-expressions, so equality on them is exact-text only", () => {
    const tags = VM.field.get("tags");
    const oc = VM.field.get("other_config");
    expect(dbString(["a", "b'c"], tags!.type)).to.equal("('a' 'b\\'c')");
    expect(dbString({ k: "v" }, oc!.type)).to.equal("(('k' 'v'))");
  });
});

function eq(a: string, b: string): FilterExpr {
  return { op: "eq", a: { literal: a }, b: { literal: b } };
}
