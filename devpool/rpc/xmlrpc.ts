/**
 * XML-RPC as xapi speaks it (ocaml-rpc `xmlrpc.ml`): requests parsed leniently (untyped and `<string>` values,
 * `<int>`/`<i4>`/`<i8>`, `<nil/>`, whitespace between elements as Python's client sends), responses printed
 * byte-for-byte in xapi's style: a `<?xml version="1.0"?>` prolog, no whitespace anywhere (the `xen-api` client's
 * parser turns whitespace into string values), results wrapped in Status/Value and failures in
 * Status/ErrorDescription, never an XML-RPC `<fault>`.
 */
import { SaxesParser } from "saxes";
import { setOwn } from "../../lib/own-property";
import { MalformedRequestError } from "../errors";
import { formatDouble } from "./format";
import { type Input, type Wire, WireDate } from "./wire";

interface XmlNode {
  readonly name: string;
  readonly children: XmlNode[];
  text: string;
}

function parseTree(xml: string): XmlNode {
  const parser = new SaxesParser();
  const root: XmlNode = { name: "#root", children: [], text: "" };
  const stack: XmlNode[] = [root];
  let failure: Error | undefined;
  parser.on("error", (e) => {
    failure ??= e;
  });
  parser.on("opentag", (tag) => {
    const node: XmlNode = { name: tag.name, children: [], text: "" };
    stack[stack.length - 1]?.children.push(node);
    stack.push(node);
  });
  parser.on("closetag", () => {
    stack.pop();
  });
  const onText = (t: string) => {
    const top = stack[stack.length - 1];
    if (top !== undefined) top.text += t;
  };
  parser.on("text", onText);
  parser.on("cdata", onText);
  parser.write(xml).close();
  if (failure !== undefined)
    throw new MalformedRequestError(`XML-RPC body is not well-formed XML: ${failure.message}`);
  const doc = root.children[0];
  if (doc === undefined) throw new MalformedRequestError("XML-RPC body holds no element");
  return doc;
}

function only(node: XmlNode, name: string): XmlNode {
  const found = node.children.find((c) => c.name === name);
  if (found === undefined)
    throw new MalformedRequestError(`XML-RPC <${node.name}> lacks a <${name}> element`);
  return found;
}

function intOf(text: string, tag: string): number {
  const t = text.trim();
  if (!/^[+-]?\d+$/.test(t)) throw new MalformedRequestError(`XML-RPC <${tag}> holds "${t}", not an integer`);
  return Number(t);
}

/** Decodes one `<value>` element. */
export function decodeValue(value: XmlNode): Input {
  const typed = value.children[0];
  // An untyped <value>text</value> is a string (XML-RPC spec), and xapi's own encoding of strings.
  if (typed === undefined) return value.text;
  const text = typed.text;
  switch (typed.name) {
    case "string":
      return text;
    case "int":
    case "i4":
    case "i8":
      return intOf(text, typed.name);
    case "double": {
      const n = Number(text.trim());
      if (text.trim() === "" || Number.isNaN(n)) {
        throw new MalformedRequestError(`XML-RPC <double> holds "${text}", not a number`);
      }
      return n;
    }
    case "boolean": {
      const t = text.trim();
      if (t === "1" || t === "true") return true;
      if (t === "0" || t === "false") return false;
      throw new MalformedRequestError(`XML-RPC <boolean> holds "${t}", expected 0 or 1`);
    }
    case "dateTime.iso8601":
      return new WireDate(text.trim());
    case "base64":
      return Buffer.from(text.replace(/\s+/g, ""), "base64").toString("utf8");
    case "nil":
      return null;
    case "array": {
      const data = only(typed, "data");
      return data.children.filter((c) => c.name === "value").map(decodeValue);
    }
    case "struct": {
      const out: Record<string, Input> = {};
      for (const member of typed.children) {
        if (member.name !== "member") continue;
        const name = only(member, "name").text;
        setOwn(out, name, decodeValue(only(member, "value")));
      }
      return out;
    }
    default:
      throw new MalformedRequestError(`XML-RPC value type <${typed.name}> is not supported`);
  }
}

/** A parsed `<methodCall>`. */
export interface XmlRpcCall {
  readonly method: string;
  readonly params: Input[];
}

/** Parses an XML-RPC request body. Throws MalformedRequestError (answered with HTTP 500, as xapi does). */
export function parseCall(xml: string): XmlRpcCall {
  const doc = parseTree(xml);
  if (doc.name !== "methodCall") {
    throw new MalformedRequestError(`XML-RPC body's root element is <${doc.name}>, expected <methodCall>`);
  }
  const method = only(doc, "methodName").text.trim();
  const paramsNode = doc.children.find((c) => c.name === "params");
  const params =
    paramsNode === undefined
      ? []
      : paramsNode.children.filter((p) => p.name === "param").map((p) => decodeValue(only(p, "value")));
  return { method, params };
}

/** xapi's escaping: `& < > "` become entities, control characters other than TAB, LF, CR are dropped. */
export function escapeXml(s: string): string {
  let out = "";
  for (const ch of s) {
    switch (ch) {
      case "&":
        out += "&amp;";
        break;
      case "<":
        out += "&lt;";
        break;
      case ">":
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default: {
        const c = ch.codePointAt(0) ?? 0;
        if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
        out += ch;
      }
    }
  }
  return out;
}

/** Prints a value as an XML-RPC `<value>` element, with no whitespace. */
export function encodeValue(w: Wire): string {
  switch (w.t) {
    case "string":
      return `<value>${escapeXml(w.v)}</value>`;
    case "int":
      // xapi sends 64-bit ints untyped (a string), never <i4>: the Go SDK's
      // `convertIntToGo` type-asserts a string and parses it with strconv.Atoi.
      return `<value>${Math.trunc(w.v)}</value>`;
    case "i4":
      return `<value><i4>${Math.trunc(w.v)}</i4></value>`;
    case "double":
      return `<value><double>${formatDouble(w.v)}</double></value>`;
    case "bool":
      return `<value><boolean>${w.v ? "1" : "0"}</boolean></value>`;
    case "datetime":
      return `<value><dateTime.iso8601>${escapeXml(w.v)}</dateTime.iso8601></value>`;
    case "array":
      return `<value><array><data>${w.v.map(encodeValue).join("")}</data></array></value>`;
    case "struct":
      return `<value><struct>${w.v
        .map(([k, v]) => `<member><name>${escapeXml(k)}</name>${encodeValue(v)}</member>`)
        .join("")}</struct></value>`;
  }
}

const PROLOG = '<?xml version="1.0"?>';

function response(inner: string): string {
  return `${PROLOG}<methodResponse><params><param>${inner}</param></params></methodResponse>`;
}

/** A successful call: `{Status: "Success", Value: v}`. */
export function successResponse(value: Wire): string {
  return response(
    `<value><struct><member><name>Status</name><value>Success</value></member>` +
      `<member><name>Value</name>${encodeValue(value)}</member></struct></value>`,
  );
}

/** A failed call: `{Status: "Failure", ErrorDescription: [code, ...params]}`, still HTTP 200. */
export function failureResponse(code: string, params: readonly string[]): string {
  const items = [code, ...params].map((s) => `<value>${escapeXml(s)}</value>`).join("");
  return response(
    `<value><struct><member><name>Status</name><value>Failure</value></member>` +
      `<member><name>ErrorDescription</name><value><array><data>${items}</data></array></value></member>` +
      `</struct></value>`,
  );
}

/** `system.listMethods` is answered unwrapped, with no Status (api_server.ml). */
export function rawResponse(value: Wire): string {
  return response(encodeValue(value));
}
