/**
 * Regenerates `datamodel.json` from the XenAPI datamodel dump (the `xenapi.json` of
 * terra-farm/go-xen-api-client, a CH 8.1 "inverness" export of xapi's IDL). Only what devpool needs is kept:
 * field names, types, qualifiers and defaults; message names, parameter types, result types and the least
 * privileged role allowed to call them (xapi's roles form a chain, ocaml/idl/datamodel_roles.ml `roles_gte`, so one
 * name says them all; "" for messages no role may call); enum values. Descriptions and lifecycles are dropped to
 * keep the file small.
 *
 * Usage: `tsx devpool/model/gen-datamodel.ts <path/to/xenapi-datamodel.json>`
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { DatamodelFile } from "./datamodel-types";

interface SourceField {
  name: string;
  type: string;
  qualifier: string;
  default?: string;
}
interface SourceMessage {
  name: string;
  result: [string, string];
  params: { type: string; name: string }[];
  implicit: boolean;
  roles: string[];
}
interface SourceClass {
  name: string;
  fields: SourceField[];
  messages: SourceMessage[];
  enums: { name: string; values: { name: string }[] }[];
}

function main(): void {
  const src = process.argv[2];
  if (src === undefined) {
    process.stderr.write("usage: gen-datamodel.ts <xenapi-datamodel.json>\n");
    process.exit(2);
  }
  const classes = JSON.parse(fs.readFileSync(src, "utf8")) as SourceClass[];
  const out: DatamodelFile = {
    source: "xapi IDL, CH 8.1 (inverness) export, as published in terra-farm/go-xen-api-client xenapi.json",
    enums: {},
    classes: [],
  };
  for (const c of classes) {
    for (const e of c.enums) out.enums[e.name] = e.values.map((v) => v.name);
    out.classes.push({
      name: c.name,
      fields: c.fields.map((f) =>
        f.default === undefined ? [f.name, f.type, f.qualifier] : [f.name, f.type, f.qualifier, f.default],
      ),
      messages: c.messages.map((m) => [
        m.name,
        m.params.map((p) => [p.type, p.name]),
        m.result[0],
        m.implicit,
        m.roles.at(-1) ?? "",
      ]),
    });
  }
  const dest = path.join(__dirname, "datamodel.json");
  fs.writeFileSync(dest, JSON.stringify(out) + "\n");
  process.stdout.write(`wrote ${dest}: ${out.classes.length} classes\n`);
}

main();
