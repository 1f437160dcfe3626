/**
 * The XML-RPC value codec of `ova.xml`.
 *
 * xapi writes `ova.xml` with `Xmlrpc.to_string` (ocaml-rpc `xmlrpc.ml`): one `<value>`, no prolog, no whitespace,
 * strings and 64-bit ints **untyped** (`<value>42</value>`), floats as `<double>` with `%.16g`, booleans as
 * `<boolean>1|0</boolean>`, datetimes as `<dateTime.iso8601>YYYYMMDDTHH:MM:SSZ</dateTime.iso8601>`, sets as
 * `<array><data>`, maps and records as `<struct>`. Its encoder escapes `& < > "` and drops control characters
 * other than TAB, LF and CR.
 *
 * Because ints are untyped, a parsed value cannot tell an int from a string: the parser returns strings and the
 * record layer ({@link ./records}) converts by field type.
 */
import { SaxesParser } from "saxes";
import { XvaFormatError, XvaInputError } from "./errors";

/** A float that must be written as `<double>` even when it is integral (e.g. `HVM_shadow_multiplier = 1.0`). */
export class XmlRpcDouble {
  constructor(readonly value: number) {}
}

/** An XML-RPC struct: map or record. Member order is kept, as xapi's records have a fixed field order. */
export interface XmlRpcStruct {
  readonly [member: string]: XmlRpcValue;
}

/**
 * A decoded or to-be-encoded XML-RPC value.
 * - `string`: untyped `<value>` (also how xapi writes ints, so parsed ints arrive as strings);
 * - `number`: an integer is written untyped like xapi's ints, a non-integer as `<double>`;
 * - {@link XmlRpcDouble}: always `<double>`;
 * - `Date`: `<dateTime.iso8601>` in xapi's `YYYYMMDDTHH:MM:SSZ` form (second precision).
 */
export type XmlRpcValue =
  string | number | boolean | Date | XmlRpcDouble | readonly XmlRpcValue[] | XmlRpcStruct;

// xmlrpc.ml `encode`: escape the four XML specials, drop C0 controls except TAB, LF, CR.
// eslint-disable-next-line no-control-regex
const DROPPED_CONTROLS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g;
function escapeText(s: string): string {
  return s
    .replace(DROPPED_CONTROLS, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/** C's `%.16g`, as ocaml-rpc prints doubles. */
function formatDouble(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return String(Number(x.toPrecision(16)));
}

/** xapi's datetime text (`Date.to_rfc3339`, which despite its name prints no dashes): `19700101T00:00:00Z`. */
export function formatXapiDate(d: Date): string {
  const year = d.getUTCFullYear();
  if (Number.isNaN(d.getTime()) || year < 0 || year > 9999) {
    throw new XvaInputError(
      `cannot encode ${String(d)} as an xapi datetime: it needs a valid date in years 0000-9999`,
    );
  }
  return d
    .toISOString()
    .replace(/\.\d{3}Z$/, "Z")
    .replace(/-/g, "");
}

/** Parses xapi's `YYYYMMDDTHH:MM:SSZ` and the RFC 3339 form with dashes (xapi accepts both on input). */
export function parseXapiDate(text: string): Date {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/.exec(
    text.trim(),
  );
  if (m === null) {
    throw new XvaFormatError(
      "BAD_OVA_XML",
      `datetime "${text}" is neither xapi's YYYYMMDDTHH:MM:SSZ nor RFC 3339; the ova.xml was not written by xapi`,
    );
  }
  const [, y, mo, d, h, mi, s, zone] = m;
  let iso = `${y}-${mo}-${d}T${h}:${mi}:${s}`;
  if (zone === undefined || zone === "Z") iso += "Z";
  else iso += zone.includes(":") ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  return new Date(iso);
}

/** Encodes one value exactly as ocaml-rpc's `Xmlrpc.to_string` would: no whitespace, untyped strings and ints. */
export function encodeXmlRpcValue(v: XmlRpcValue): string {
  const parts: string[] = [];
  encodeInto(v, parts);
  return parts.join("");
}

function encodeInto(v: XmlRpcValue, out: string[]): void {
  if (typeof v === "string") {
    out.push("<value>", escapeText(v), "</value>");
  } else if (typeof v === "number") {
    if (Number.isInteger(v)) out.push("<value>", String(v), "</value>");
    else out.push("<value><double>", formatDouble(v), "</double></value>");
  } else if (typeof v === "boolean") {
    out.push("<value><boolean>", v ? "1" : "0", "</boolean></value>");
  } else if (v instanceof Date) {
    out.push("<value><dateTime.iso8601>", formatXapiDate(v), "</dateTime.iso8601></value>");
  } else if (v instanceof XmlRpcDouble) {
    out.push("<value><double>", formatDouble(v.value), "</double></value>");
  } else if (Array.isArray(v)) {
    out.push("<value><array><data>");
    for (const item of v as readonly XmlRpcValue[]) encodeInto(item, out);
    out.push("</data></array></value>");
  } else {
    out.push("<value><struct>");
    for (const [name, member] of Object.entries(v as XmlRpcStruct)) {
      out.push("<member><name>", escapeText(name), "</name>");
      encodeInto(member, out);
      out.push("</member>");
    }
    out.push("</struct></value>");
  }
}

type Frame =
  | { kind: "value"; text: string; child: XmlRpcValue | undefined }
  | { kind: "scalar"; tag: string; text: string }
  | { kind: "struct"; members: [string, XmlRpcValue][] }
  | { kind: "member"; name: string | undefined; value: XmlRpcValue | undefined }
  | { kind: "name"; text: string }
  | { kind: "array"; items: XmlRpcValue[] | undefined }
  | { kind: "data"; items: XmlRpcValue[] };

const SCALAR_TAGS = new Set(["string", "int", "i4", "i8", "double", "boolean", "dateTime.iso8601"]);

function bad(message: string): XvaFormatError {
  return new XvaFormatError("BAD_OVA_XML", `ova.xml is not a valid XML-RPC value: ${message}`);
}

function scalarOf(tag: string, text: string): XmlRpcValue {
  switch (tag) {
    case "string":
      return text;
    case "int":
    case "i4":
    case "i8": {
      if (!/^\s*[+-]?\d+\s*$/.test(text)) throw bad(`<${tag}> holds "${text}", expected an integer`);
      return Number(text);
    }
    case "double": {
      const x = Number(text);
      if (text.trim() === "" || Number.isNaN(x)) throw bad(`<double> holds "${text}", expected a number`);
      return new XmlRpcDouble(x);
    }
    case "boolean": {
      const t = text.trim();
      if (t === "1" || t === "true") return true;
      if (t === "0" || t === "false") return false;
      throw bad(`<boolean> holds "${text}", expected 1 or 0`);
    }
    default:
      return parseXapiDate(text);
  }
}

/**
 * Parses one XML-RPC `<value>` document (as in `ova.xml`). Accepts both untyped and `<string>` strings, tolerates
 * whitespace between elements, and rejects anything that is not an XML-RPC value with a {@link XvaFormatError}.
 */
export function parseXmlRpcValue(xml: string): XmlRpcValue {
  const parser = new SaxesParser({ xmlns: false, position: true });
  const builder = new XmlRpcValueBuilder();
  let failure: Error | undefined;
  parser.on("opentag", (tag) => builder.open(tag.name));
  parser.on("text", (text) => builder.text(text));
  parser.on("closetag", () => builder.close());
  parser.on("error", (err) => {
    failure ??= err;
  });
  try {
    parser.write(xml).close();
  } catch (err) {
    if (err instanceof XvaFormatError) throw err;
    throw bad(err instanceof Error ? err.message : String(err));
  }
  if (failure !== undefined) throw bad(failure.message);
  return builder.result();
}

/** Which element each element may sit in (`undefined`: the document itself). */
const PARENT_OF: Readonly<Record<string, readonly (Frame["kind"] | undefined)[]>> = {
  value: [undefined, "member", "data"],
  struct: ["value"],
  member: ["struct"],
  name: ["member"],
  array: ["value"],
  data: ["array"],
  ...Object.fromEntries([...SCALAR_TAGS].map((t) => [t, ["value"]])),
};

/**
 * Builds a value from the elements of an XML-RPC document as the parser meets them: a stack of open elements,
 * each checked against where it may appear, each closed into its parent. Throws {@link XvaFormatError} on the
 * first element, text or close that an XML-RPC value cannot hold.
 */
export class XmlRpcValueBuilder {
  private readonly stack: Frame[] = [];
  private root: XmlRpcValue | undefined;

  /** An opening tag. */
  open(name: string): void {
    const parent = this.stack[this.stack.length - 1];
    const allowed = PARENT_OF[name];
    if (allowed === undefined) throw bad(`unexpected element <${name}>`);
    if (!allowed.includes(parent?.kind)) {
      const where = allowed.filter((k) => k !== undefined).map((k) => `<${k}>`);
      throw bad(
        parent === undefined
          ? `<${name}> outside ${where.join(" or ")}`
          : `<${name}> inside <${parent.kind}>, but it belongs in ${where.join(" or ")}`,
      );
    }
    this.stack.push(frameOf(name));
  }

  /** Text between tags: the content of a value, a scalar or a name; only whitespace elsewhere. */
  text(text: string): void {
    const top = this.stack[this.stack.length - 1];
    if (top === undefined) {
      if (text.trim() !== "") throw bad("text outside the top-level <value>");
      return;
    }
    if (top.kind === "value" || top.kind === "scalar" || top.kind === "name") top.text += text;
    else if (text.trim() !== "") throw bad(`text "${text.slice(0, 40)}" inside <${top.kind}>`);
  }

  /** A closing tag: the element's value goes to its parent. */
  close(): void {
    const top = this.stack.pop();
    if (top === undefined) throw bad("unbalanced closing tag");
    const parent = this.stack[this.stack.length - 1];
    switch (top.kind) {
      case "value":
        if (top.child !== undefined && top.text.trim() !== "") {
          throw bad("a <value> with both text and a typed element");
        }
        this.deliver(top.child ?? top.text);
        return;
      case "scalar":
        this.setChild(scalarOf(top.tag, top.text));
        return;
      case "struct":
        this.setChild(Object.fromEntries<XmlRpcValue>(top.members));
        return;
      case "array":
        this.setChild(top.items ?? []);
        return;
      case "member":
        if (top.name === undefined || top.value === undefined)
          throw bad("a <member> without <name> or <value>");
        if (parent?.kind === "struct") parent.members.push([top.name, top.value]);
        return;
      case "name":
        if (parent?.kind === "member") parent.name = top.text;
        return;
      case "data":
        if (parent?.kind === "array") parent.items = top.items;
        return;
    }
  }

  /** The document's one top-level value. */
  result(): XmlRpcValue {
    if (this.stack.length > 0) throw bad(`<${this.stack[this.stack.length - 1]?.kind}> is not closed`);
    if (this.root === undefined) throw bad("no <value> element");
    return this.root;
  }

  /** A closed `<value>` goes into its member, its array's data, or becomes the document's value. */
  private deliver(v: XmlRpcValue): void {
    const parent = this.stack[this.stack.length - 1];
    if (parent === undefined) {
      if (this.root !== undefined) throw bad("more than one top-level <value>");
      this.root = v;
    } else if (parent.kind === "member") {
      if (parent.value !== undefined) throw bad("<member> with two values");
      parent.value = v;
    } else if (parent.kind === "data") {
      parent.items.push(v);
    } else {
      throw bad(`a value inside <${parent.kind}>`);
    }
  }

  /** A closed typed element (scalar, struct, array) is the content of the `<value>` around it. */
  private setChild(v: XmlRpcValue): void {
    const parent = this.stack[this.stack.length - 1];
    if (parent?.kind !== "value" || parent.child !== undefined)
      throw bad("a typed element outside a <value>");
    parent.child = v;
  }
}

function frameOf(name: string): Frame {
  switch (name) {
    case "value":
      return { kind: "value", text: "", child: undefined };
    case "struct":
      return { kind: "struct", members: [] };
    case "member":
      return { kind: "member", name: undefined, value: undefined };
    case "name":
      return { kind: "name", text: "" };
    case "array":
      return { kind: "array", items: undefined };
    case "data":
      return { kind: "data", items: [] };
    default:
      return { kind: "scalar", tag: name, text: "" };
  }
}
