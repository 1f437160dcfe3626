import { expect } from "chai";
import { longFunctions } from "./long-functions";

const body = (n: number) => Array.from({ length: n }, (_, i) => `  const v${i} = ${i};`).join("\n");

describe("tools/dev/long-functions: functions over the line limit", () => {
  it("finds declarations, arrow functions, methods and callbacks by the name a reader would use, nested ones too", () => {
    const text = [
      `export function declared() {\n${body(10)}\n}`,
      `const arrow = () => {\n${body(10)}\n  const inner = () => {\n${body(3)}\n  };\n};`,
      `class C {\n  method() {\n${body(10)}\n  }\n}`,
      `describe("x", () => {\n${body(10)}\n});`,
      `function short() {\n${body(2)}\n}`,
    ].join("\n");
    expect(longFunctions("f.ts", text, 8).map((f) => [f.name, f.lines])).to.deep.equal([
      ["declared", 12],
      ["arrow", 17],
      ["method", 12],
      ["(callback of describe)", 12],
    ]);
  });

  it("counts from the first to the last line: a function of exactly the limit passes", () => {
    const text = `function f() {\n${body(8)}\n}`;
    expect(longFunctions("f.ts", text, 10)).to.deep.equal([]);
    expect(longFunctions("f.ts", text, 9)).to.have.length(1);
  });
});
