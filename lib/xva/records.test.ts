import { expect } from "chai";
import { structToRecord } from "./records";
import type { XmlRpcStruct } from "./xmlrpc";

describe("lib/xva records: map fields read from ova.xml", () => {
  // JSON.parse makes "__proto__" an own key, as the XML-RPC reader does for a <member><name>__proto__</name>.
  const cases: ReadonlyArray<[string, string, Record<string, string>]> = [
    ["ordinary keys", '{"a":"b","c":"1"}', { a: "b", c: "1" }],
    [
      "a key named __proto__ stays a key",
      '{"__proto__":"x","a":"b"}',
      JSON.parse('{"__proto__":"x","a":"b"}'),
    ],
  ];
  for (const [when, json, want] of cases) {
    it(when, () => {
      const snapshot = { uuid: "u-1", other_config: JSON.parse(json) as XmlRpcStruct } as XmlRpcStruct;
      const { record } = structToRecord("VM", "OpaqueRef:1", snapshot);
      const got = record.other_config;
      expect(Object.keys(got)).to.deep.equal(Object.keys(want));
      for (const k of Object.keys(want))
        expect(Object.getOwnPropertyDescriptor(got, k)?.value).to.equal(want[k]);
      expect(Object.getPrototypeOf(got)).to.equal(Object.prototype);
    });
  }
});
