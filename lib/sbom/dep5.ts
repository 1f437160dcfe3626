import { firstLine, parseDeb822 } from "./deb822";
import { isXcpngError } from "../errors";

/**
 * Licences from a Debian copyright file in the machine-readable format (DEP-5, "copyright-format 1.0":
 * https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/).
 */

/**
 * The distinct licence short names a machine-readable copyright file declares for its files (the first line of
 * each `License:` field of the header and `Files` paragraphs, split on `or`, `and` and commas), sorted; undefined
 * when the file is not machine-readable (no `Format:` naming copyright-format 1.0, or not deb822 at all): free-text
 * copyright files say their licence in prose that no program should guess from. Standalone `License` paragraphs
 * only hold the text of a licence named elsewhere, so they add nothing.
 *
 * `GPL-2+ with Autoconf exception` stays one name: an exception belongs to its licence.
 */
export function dep5LicenceNames(copyright: string): string[] | undefined {
  let paragraphs;
  try {
    paragraphs = parseDeb822(copyright, "copyright", { comments: true });
  } catch (e) {
    // A free-text copyright file is rarely valid deb822: that means "not machine-readable", not a failure.
    if (isXcpngError(e) && e.code === "BAD_DEB822") return undefined;
    throw e;
  }
  const header = paragraphs[0];
  if (!header || !/copyright-format\/1\.0\/?$/.test(firstLine(header.get("format") ?? ""))) return undefined;
  const names = new Set<string>();
  for (const p of paragraphs) {
    if (p !== header && !p.has("files")) continue;
    const synopsis = firstLine(p.get("license") ?? "");
    for (const term of synopsis.split(/,|\s+(?:or|and)\s+/i)) {
      const name = term.trim().replace(/\s+/g, " ");
      if (name !== "") names.add(name);
    }
  }
  return [...names].sort();
}
