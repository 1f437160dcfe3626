import { expect } from "chai";
import fc from "fast-check";
import { XvaFormatError, XvaInputError } from "./errors";
import {
  XmlRpcDouble,
  type XmlRpcValue,
  encodeXmlRpcValue,
  formatXapiDate,
  parseXapiDate,
  parseXmlRpcValue,
  XmlRpcValueBuilder,
} from "./xmlrpc";

describe("xva ova.xml XML-RPC codec", () => {
  it("encodes like ocaml-rpc: untyped strings and ints, <double>, <boolean>, xapi datetimes, no whitespace", () => {
    const v: XmlRpcValue = {
      s: "a<b>&\"c'",
      i: 4294967296,
      neg: -1,
      f: 0.1,
      one: new XmlRpcDouble(1),
      b: true,
      d: new Date(Date.UTC(2025, 2, 19, 4, 16, 24)),
      a: ["x", []],
      m: {},
    };
    expect(encodeXmlRpcValue(v)).to.equal(
      "<value><struct>" +
        "<member><name>s</name><value>a&lt;b&gt;&amp;&quot;c'</value></member>" +
        "<member><name>i</name><value>4294967296</value></member>" +
        "<member><name>neg</name><value>-1</value></member>" +
        "<member><name>f</name><value><double>0.1</double></value></member>" +
        "<member><name>one</name><value><double>1</double></value></member>" +
        "<member><name>b</name><value><boolean>1</boolean></value></member>" +
        "<member><name>d</name><value><dateTime.iso8601>20250319T04:16:24Z</dateTime.iso8601></value></member>" +
        "<member><name>a</name><value><array><data><value>x</value><value><array><data></data></array></value></data></array></value></member>" +
        "<member><name>m</name><value><struct></struct></value></member>" +
        "</struct></value>",
    );
  });

  it("drops the control characters xapi drops, keeping TAB and LF", () => {
    expect(encodeXmlRpcValue("a\u0001b\tc\nd\u001f")).to.equal("<value>ab\tc\nd</value>");
  });

  it("formats and parses xapi datetimes, including the epoch and RFC 3339 input", () => {
    expect(formatXapiDate(new Date(0))).to.equal("19700101T00:00:00Z");
    expect(parseXapiDate("19700101T00:00:00Z").getTime()).to.equal(0);
    expect(parseXapiDate("2024-06-01T10:00:00+02:00").toISOString()).to.equal("2024-06-01T08:00:00.000Z");
    expect(() => parseXapiDate("yesterday")).to.throw(XvaFormatError, /datetime "yesterday"/);
    expect(() => formatXapiDate(new Date(Date.UTC(10000, 0, 1)))).to.throw(XvaInputError, /years 0000-9999/);
  });

  it("parses typed scalars and tolerates pretty-printing between elements", () => {
    const xml = `<value>
      <struct>
        <member><name>n</name><value><int>42</int></value></member>
        <member><name>s</name><value><string> spaced </string></value></member>
        <member><name>u</name><value> raw </value></member>
        <member><name>f</name><value><double>2.5</double></value></member>
        <member><name>b</name><value><boolean>0</boolean></value></member>
        <member><name>e</name><value></value></member>
      </struct>
    </value>`;
    const v = parseXmlRpcValue(xml) as Record<string, XmlRpcValue>;
    expect(v.n).to.equal(42);
    expect(v.s).to.equal(" spaced ");
    expect(v.u).to.equal(" raw ");
    expect(v.f).to.be.instanceOf(XmlRpcDouble);
    expect((v.f as XmlRpcDouble).value).to.equal(2.5);
    expect(v.b).to.equal(false);
    expect(v.e).to.equal("");
  });

  it("round-trips any value it encodes (strings, ints, doubles, booleans, dates, arrays, structs)", () => {
    const text = fc
      .string({ unit: "grapheme", maxLength: 12 })
      // eslint-disable-next-line no-control-regex
      .filter((s) => !/[\u0000-\u0008\u000b-\u001f\ufffe\uffff]/.test(s));
    const scalar = fc.oneof(
      text,
      fc.boolean(),
      fc.integer({ min: 0, max: 253402300799 }).map((s) => new Date(s * 1000)),
      fc
        .double({ noNaN: true, noDefaultInfinity: true, min: -1e9, max: 1e9 })
        .map((x) => new XmlRpcDouble(x)),
    );
    const { value } = fc.letrec<{ value: XmlRpcValue }>((tie) => ({
      value: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        scalar,
        fc.array(tie("value"), { maxLength: 4 }),
        fc.dictionary(text, tie("value"), { maxKeys: 4, noNullPrototype: true }),
      ),
    }));
    fc.assert(
      fc.property(value, (v) => {
        const xml = encodeXmlRpcValue(v);
        // Doubles are printed with %.16g; compare through a second encoding, which must be stable.
        expect(encodeXmlRpcValue(parseXmlRpcValue(xml))).to.equal(xml);
      }),
      { numRuns: 300 },
    );
  });

  for (const [what, xml] of [
    ["unknown elements", "<value><blob>1</blob></value>"],
    ["a member without a value", "<value><struct><member><name>a</name></member></struct></value>"],
    ["broken XML", "<value><struct></value>"],
    ["a bad integer", "<value><int>12x</int></value>"],
    ["a bad boolean", "<value><boolean>yes</boolean></value>"],
    ["two top-level values", "<value>a</value><value>b</value>"],
    ["no value at all", ""],
  ] as const) {
    it(`rejects ${what} with BAD_OVA_XML`, () => {
      expect(() => parseXmlRpcValue(xml))
        .to.throw(XvaFormatError)
        .with.property("code", "BAD_OVA_XML");
    });
  }

  describe("where each element may appear (XmlRpcValueBuilder)", () => {
    for (const [path, ok] of [
      [["value"], true],
      [["value", "struct", "member", "name"], true],
      [["value", "struct", "member", "value", "array", "data", "value", "i8"], true],
      [["value", "dateTime.iso8601"], true],
      [["struct"], false],
      [["value", "member"], false],
      [["value", "struct", "name"], false],
      [["value", "struct", "value"], false],
      [["value", "array", "value"], false],
      [["value", "data"], false],
      [["value", "value"], false],
      [["value", "string", "int"], false],
      [["value", "blob"], false],
    ] as const) {
      it(`${path.map((p) => `<${p}>`).join("")} is ${ok ? "accepted" : "refused with BAD_OVA_XML"}`, () => {
        const b = new XmlRpcValueBuilder();
        const openAll = () => path.forEach((name) => b.open(name));
        if (ok) expect(openAll).to.not.throw();
        else expect(openAll).to.throw(XvaFormatError).with.property("code", "BAD_OVA_XML");
      });
    }

    it("closes values into members, data and the root, in order", () => {
      const b = new XmlRpcValueBuilder();
      const events: [string, string?][] = [
        ["open", "value"],
        ["open", "struct"],
        ["open", "member"],
        ["open", "name"],
        ["text", "a"],
        ["close"],
        ["open", "value"],
        ["open", "array"],
        ["open", "data"],
        ["open", "value"],
        ["text", "x"],
        ["close"],
        ["open", "value"],
        ["open", "boolean"],
        ["text", "1"],
        ["close"],
        ["close"],
        ["close"],
        ["close"],
        ["close"],
        ["close"],
        ["close"],
        ["close"],
      ];
      for (const [op, arg] of events) {
        if (op === "open") b.open(arg ?? "");
        else if (op === "text") b.text(arg ?? "");
        else b.close();
      }
      expect(b.result()).to.deep.equal({ a: ["x", true] });
    });

    it("refuses a second top-level value, text beside a typed element, and an unclosed element", () => {
      const twice = new XmlRpcValueBuilder();
      twice.open("value");
      twice.close();
      twice.open("value");
      expect(() => twice.close()).to.throw(XvaFormatError, /more than one top-level <value>/);
      const mixed = new XmlRpcValueBuilder();
      mixed.open("value");
      mixed.text("x");
      mixed.open("boolean");
      mixed.text("1");
      mixed.close();
      expect(() => mixed.close()).to.throw(XvaFormatError, /both text and a typed element/);
      const open = new XmlRpcValueBuilder();
      open.open("value");
      expect(() => open.result()).to.throw(XvaFormatError, /<value> is not closed/);
    });
  });
});
