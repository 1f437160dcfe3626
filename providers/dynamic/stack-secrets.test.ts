import { expect } from "chai";
import { configValueAt } from "./stack-secrets";

const config = (values: Record<string, string>) => ({
  get: (k: string) => values[k],
  require: (k: string) => values[k] ?? "",
});

describe("stack secrets: a config value by key or path", () => {
  const c = config({
    "xcpng-templates:fleetPoolPasswords": JSON.stringify({
      paris: "p-paris",
      lyon: { a: "deep" },
      n: 3,
      e: "",
    }),
    "xcpng-templates:flatPassword": "flat",
    "xcpng-templates:dotted.key": "literal",
    "other:key": "foreign",
    "xcpng-templates:notJson": "plain",
  });
  const cases: ReadonlyArray<[string, string | undefined]> = [
    ["flatPassword", "flat"],
    ["fleetPoolPasswords.paris", "p-paris"],
    ["fleetPoolPasswords.lyon.a", "deep"],
    ["dotted.key", "literal"],
    ["other:key", "foreign"],
    ["fleetPoolPasswords.nice", undefined],
    ["fleetPoolPasswords.n", undefined],
    ["fleetPoolPasswords.e", undefined],
    ["fleetPoolPasswords.lyon", undefined],
    ["notJson.x", undefined],
    ["missing", undefined],
  ];
  for (const [key, want] of cases)
    it(`${key} → ${String(want)}`, () => expect(configValueAt(c, key)).to.equal(want));
});
