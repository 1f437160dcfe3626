import { expect } from "chai";
import { changedKeys, diffResult } from "./diff";
import { UNKNOWN } from "./provider-code";

type Row = { a?: unknown; b?: unknown };

describe("diff helpers", () => {
  const cases: ReadonlyArray<{
    when: string;
    olds: Row;
    news: Row;
    policy?: "defer" | "change";
    changed: string[];
  }> = [
    { when: "equal scalars", olds: { a: 1, b: "x" }, news: { a: 1, b: "x" }, changed: [] },
    { when: "a scalar differs", olds: { a: 1, b: "x" }, news: { a: 2, b: "x" }, changed: ["a"] },
    {
      when: "objects differ only in key order",
      olds: { a: { x: 1, y: 2 } },
      news: { a: { y: 2, x: 1 } },
      changed: [],
    },
    {
      when: "an undefined member is absent in state",
      olds: { a: { x: 1 } },
      news: { a: { x: 1, y: undefined } },
      changed: [],
    },
    { when: "array order matters", olds: { a: [1, 2] }, news: { a: [2, 1] }, changed: ["a"] },
    { when: "a nested value differs", olds: { a: { x: [1] } }, news: { a: { x: [2] } }, changed: ["a"] },
    { when: "unknown, deferred", olds: { a: 1 }, news: { a: UNKNOWN }, changed: [] },
    { when: "unknown, counted", olds: { a: 1 }, news: { a: UNKNOWN }, policy: "change", changed: ["a"] },
    {
      when: "unknown nested, deferred",
      olds: { a: { x: 1 } },
      news: { a: { x: UNKNOWN } },
      changed: [],
    },
    { when: "a key appears", olds: {}, news: { b: "x" }, changed: ["b"] },
  ];
  for (const c of cases) {
    it(`changedKeys: ${c.when}`, () => {
      expect(changedKeys<Row, "a" | "b">(c.olds, c.news, ["a", "b"], c.policy)).to.deep.equal(c.changed);
    });
  }

  const results: ReadonlyArray<{
    when: string;
    olds: object;
    news: object;
    replaces: string[];
    updates: string[] | boolean;
    changes: boolean;
  }> = [
    { when: "nothing changed", olds: {}, news: {}, replaces: [], updates: [], changes: false },
    { when: "a replacing key", olds: {}, news: {}, replaces: ["a"], updates: [], changes: true },
    { when: "an updating key", olds: {}, news: {}, replaces: [], updates: ["b"], changes: true },
    { when: "an update flag", olds: {}, news: {}, replaces: [], updates: true, changes: true },
    {
      when: "only the provider code",
      olds: { __provider: "old" },
      news: { __provider: "new" },
      replaces: [],
      updates: false,
      changes: true,
    },
  ];
  for (const r of results) {
    it(`diffResult: ${r.when}`, () => {
      const d = diffResult(r.olds, r.news, { replaces: r.replaces, updates: r.updates });
      expect(d.changes).to.equal(r.changes);
      expect(d.replaces).to.deep.equal(r.replaces);
    });
  }
});
