import { expect } from "chai";
import fc from "fast-check";
import { MalformedRequestError } from "../errors";
import { formatDouble } from "./format";
import { type Input, W, type Wire, WireDate } from "./wire";
import {
  decodeValue,
  encodeValue,
  escapeXml,
  failureResponse,
  parseCall,
  rawResponse,
  successResponse,
} from "./xmlrpc";

/** What a value looks like after the round trip through XML (ints come back as numbers or strings, per encoding). */
function expected(w: Wire): Input {
  switch (w.t) {
    case "string":
      // xapi drops control characters other than TAB, LF and CR, and writes CR as is; an XML parser then
      // reads CR LF and a lone CR as LF (XML 1.0 §2.11 end-of-line handling), as every xapi client does.
      return [...w.v]
        .filter((c) => c >= " " || c === "\t" || c === "\n" || c === "\r")
        .join("")
        .replace(/\r\n?/g, "\n");
    case "int":
      return String(w.v); // untyped: a string, as the xen-api client receives it
    case "i4":
      return w.v;
    case "double":
      return Number(formatDouble(w.v)); // %.16g keeps 16 significant digits, as xapi

    case "bool":
      return w.v;
    case "datetime":
      return new WireDate(w.v);
    case "array":
      return w.v.map(expected);
    case "struct":
      return Object.fromEntries(w.v.map(([k, v]) => [k, expected(v)]));
  }
}

const leaf: fc.Arbitrary<Wire> = fc.oneof(
  fc.string({ unit: "binary" }).map(W.str),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map(W.int),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map(W.i4),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e300, max: 1e300 }).map(W.double),
  fc.boolean().map(W.bool),
  fc.constantFrom("19700101T00:00:00Z", "20250319T04:16:24Z").map(W.date),
);
const wire: fc.Arbitrary<Wire> = fc.letrec<{ w: Wire }>((tie) => ({
  w: fc.oneof(
    { depthSize: "small" },
    leaf,
    fc.array(tie("w"), { maxLength: 4 }).map(W.array),
    fc
      .uniqueArray(
        fc.tuple(
          fc.string({ minLength: 1 }).filter((k) => k.trim() === k && [...k].every((c) => c >= " ")),
          tie("w"),
        ),
        {
          maxLength: 4,
          selector: ([k]) => k,
        },
      )
      .map(W.struct),
  ),
})).w;

function roundTrip(w: Wire): Input {
  const call = parseCall(
    `<?xml version="1.0"?><methodCall><methodName>m</methodName><params><param>${encodeValue(w)}</param></params></methodCall>`,
  );
  return call.params[0] as Input;
}

describe("devpool rpc/xmlrpc", () => {
  it("prints values with no whitespace, ints untyped, floats as %.16g doubles", () => {
    const w = W.struct([
      ["memory_static_max", W.int(4294967296)],
      ["HVM_shadow_multiplier", W.double(1)],
      ["is_a_template", W.bool(true)],
      ["snapshot_time", W.date("19700101T00:00:00Z")],
      ["tags", W.array([])],
      ["count", W.i4(3)],
    ]);
    expect(encodeValue(w)).to.equal(
      "<value><struct><member><name>memory_static_max</name><value>4294967296</value></member>" +
        "<member><name>HVM_shadow_multiplier</name><value><double>1</double></value></member>" +
        "<member><name>is_a_template</name><value><boolean>1</boolean></value></member>" +
        "<member><name>snapshot_time</name><value><dateTime.iso8601>19700101T00:00:00Z</dateTime.iso8601></value></member>" +
        "<member><name>tags</name><value><array><data></data></array></value></member>" +
        "<member><name>count</name><value><i4>3</i4></value></member></struct></value>",
    );
  });

  it("wraps results in Status/Value and failures in Status/ErrorDescription, never a <fault>", () => {
    expect(successResponse(W.str("OpaqueRef:x"))).to.equal(
      '<?xml version="1.0"?><methodResponse><params><param><value><struct><member><name>Status</name>' +
        "<value>Success</value></member><member><name>Value</name><value>OpaqueRef:x</value></member></struct>" +
        "</value></param></params></methodResponse>",
    );
    const failure = failureResponse("SESSION_INVALID", ["OpaqueRef:s"]);
    expect(failure).to.equal(
      '<?xml version="1.0"?><methodResponse><params><param><value><struct><member><name>Status</name>' +
        "<value>Failure</value></member><member><name>ErrorDescription</name><value><array><data>" +
        "<value>SESSION_INVALID</value><value>OpaqueRef:s</value></data></array></value></member></struct>" +
        "</value></param></params></methodResponse>",
    );
    expect(failure).not.to.include("fault");
    expect(rawResponse(W.array([W.str("VM.get_all")]))).to.equal(
      '<?xml version="1.0"?><methodResponse><params><param><value><array><data><value>VM.get_all</value>' +
        "</data></array></value></param></params></methodResponse>",
    );
  });

  it('escapes & < > " and drops control characters other than TAB, LF, CR', () => {
    expect(escapeXml('a&b<c>d"e\u0001f\tg\nh\ri')).to.equal("a&amp;b&lt;c&gt;d&quot;ef\tg\nh\ri");
  });

  it("keeps a struct member named __proto__ as a member, never as the struct's prototype (the property below found it)", () => {
    const got = roundTrip(
      W.struct([
        ["__proto__", W.struct([["polluted", W.str("yes")]])],
        ["k", W.str("v")],
      ]),
    );
    expect(Object.keys(got as object)).to.deep.equal(["__proto__", "k"]);
    expect(Object.getPrototypeOf(got)).to.equal(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(got, "__proto__")?.value).to.deep.equal({ polluted: "yes" });
  });

  it("reads back every value it prints (property)", () => {
    fc.assert(
      fc.property(wire, (w) => {
        expect(roundTrip(w)).to.deep.equal(expected(w));
      }),
      { numRuns: 300 },
    );
  });

  it("parses Python-style requests: prolog, newlines between elements, <string> and <int> values", () => {
    const body =
      "<?xml version='1.0'?>\n<methodCall>\n<methodName>VM.start</methodName>\n<params>\n" +
      "<param>\n<value><string>OpaqueRef:s</string></value>\n</param>\n" +
      "<param>\n<value><boolean>1</boolean></value>\n</param>\n" +
      "<param>\n<value><int>42</int></value>\n</param>\n" +
      "<param>\n<value><array><data>\n<value><string>a</string></value>\n</data></array></value>\n</param>\n" +
      "<param>\n<value><struct>\n<member>\n<name>k</name>\n<value><string> v </string></value>\n</member>\n</struct></value>\n</param>\n" +
      "<param>\n<value><nil/></value></param>\n" +
      "</params>\n</methodCall>\n";
    expect(parseCall(body)).to.deep.equal({
      method: "VM.start",
      params: ["OpaqueRef:s", true, 42, ["a"], { k: " v " }, null],
    });
  });

  it("keeps the text of an untyped value verbatim, whitespace included", () => {
    const call = parseCall(
      "<methodCall><methodName>m</methodName><params><param><value>  x </value></param></params></methodCall>",
    );
    expect(call.params).to.deep.equal(["  x "]);
  });

  it("rejects bodies that are not XML-RPC calls with MalformedRequestError", () => {
    expect(() => parseCall("not xml")).to.throw(MalformedRequestError);
    expect(() => parseCall("<methodResponse/>")).to.throw(MalformedRequestError, /expected <methodCall>/);
    expect(() => parseCall("<methodCall><params/></methodCall>")).to.throw(
      MalformedRequestError,
      /methodName/,
    );
    expect(() =>
      parseCall(
        "<methodCall><methodName>m</methodName><params><param><value><int>x</int></value></param></params></methodCall>",
      ),
    ).to.throw(MalformedRequestError, /not an integer/);
  });

  it("decodes <dateTime.iso8601> as a WireDate so datetime parameters can tell it from a string", () => {
    const v = decodeValue({
      name: "value",
      text: "",
      children: [{ name: "dateTime.iso8601", text: "20250101T00:00:00Z", children: [] }],
    });
    expect(v).to.be.instanceOf(WireDate);
  });
});
