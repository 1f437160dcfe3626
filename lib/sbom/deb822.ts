import { SbomInputError } from "./errors";

/**
 * The deb822 control-file format (deb822(5)) as dpkg writes `/var/lib/dpkg/status` and DEP-5 copyright files use
 * it: paragraphs separated by blank lines, `Name: value` fields, continuation lines starting with a space or a tab.
 */

/** One paragraph: field names lower-cased (deb822 field names are case-insensitive), values as {@link fieldValue}. */
export type Deb822Paragraph = ReadonlyMap<string, string>;

/**
 * Parses `text` into paragraphs. A field's value is its first line (trimmed) and, for a multi-line field, each
 * continuation line after a newline with its one leading space or tab removed and a lone `.` read as an empty line
 * (deb822(5)). Lines starting with `#` are comments when `comments` is set (dpkg's status has none; control files
 * in source packages do). A field repeated in one paragraph, a continuation line before any field, or a line that
 * is neither is a {@link SbomInputError} (`BAD_DEB822`) naming the line.
 */
export function parseDeb822(
  text: string,
  source: string,
  options?: { comments?: boolean },
): Deb822Paragraph[] {
  const paragraphs: Deb822Paragraph[] = [];
  let fields = new Map<string, string>();
  let last: string | undefined;
  const lines = text.split(/\r?\n/);
  const bad = (n: number, why: string): SbomInputError =>
    new SbomInputError(
      "BAD_DEB822",
      `${source}, line ${n}: ${why}; expected deb822 fields ("Name: value") and continuation lines ` +
        `(starting with a space), given ${JSON.stringify(lines[n - 1]?.slice(0, 80))}`,
    );
  lines.forEach((line, i) => {
    if (options?.comments && line.startsWith("#")) return;
    if (line.trim() === "") {
      if (fields.size > 0) paragraphs.push(fields);
      fields = new Map();
      last = undefined;
      return;
    }
    if (line.startsWith(" ") || line.startsWith("\t")) {
      if (last === undefined) throw bad(i + 1, "a continuation line with no field before it");
      const rest = line.slice(1);
      fields.set(last, `${fields.get(last) ?? ""}\n${rest.trim() === "." ? "" : rest}`);
      return;
    }
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon).toLowerCase() : "";
    if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name) || name.startsWith("-") || name.startsWith("#")) {
      throw bad(i + 1, "not a field");
    }
    if (fields.has(name)) throw bad(i + 1, `field ${line.slice(0, colon)} repeated in one paragraph`);
    fields.set(name, line.slice(colon + 1).trim());
    last = name;
  });
  if (fields.size > 0) paragraphs.push(fields);
  return paragraphs;
}

/** The first line of a field's value: the whole value of a simple field, the synopsis of a multi-line one. */
export function firstLine(value: string): string {
  const nl = value.indexOf("\n");
  return (nl < 0 ? value : value.slice(0, nl)).trim();
}
