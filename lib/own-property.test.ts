import { expect } from "chai";
import { setOwn } from "./own-property";

describe("lib/own-property: keys from input become own properties", () => {
  const cases: ReadonlyArray<[string, string, unknown]> = [
    ["an ordinary key", "name_label", "x"],
    ["__proto__ with an object value", "__proto__", { polluted: true }],
    ["__proto__ with a string value", "__proto__", "v"],
    ["constructor", "constructor", "c"],
  ];
  for (const [when, key, value] of cases) {
    it(when, () => {
      const o: Record<string, unknown> = {};
      setOwn(o, key, value);
      expect(Object.prototype.hasOwnProperty.call(o, key)).to.equal(true);
      expect(Object.getOwnPropertyDescriptor(o, key)?.value).to.equal(value);
      expect(Object.getPrototypeOf(o)).to.equal(Object.prototype);
      expect(Object.keys(o)).to.deep.equal([key]);
      expect(JSON.parse(JSON.stringify(o))).to.deep.equal(Object.fromEntries([[key, value]]));
    });
  }
});
