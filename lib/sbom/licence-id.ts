import { SPDX } from "@cyclonedx/cyclonedx-library";

/**
 * A Debian licence short name as an SPDX licence id where the two name the same licence, else undefined (the SBOM
 * then carries the Debian name as a named licence: honest, and still searchable).
 *
 * Three steps: the GNU families in DEP-5's notation, where `+` means "or any later version" (`GPL-2+` →
 * `GPL-2.0-or-later`, `LGPL-2.1` → `LGPL-2.1-only`, `GFDL-NIV-1.3+` → `GFDL-1.3-no-invariants-or-later`), first,
 * so that no deprecated SPDX id (`GPL-2.0+`, `GFDL-1.3`) comes out; an SPDX id in any case (`BSD-3-clause` →
 * `BSD-3-Clause`, `Zlib`); and the few DEP-5 standard short names whose SPDX id
 * differs (`Expat` is MIT, `Apache-2` is Apache-2.0, `CC0` is CC0-1.0). Names that stay ambiguous (`GPL` with no
 * version, `Artistic`, `public-domain`, `BSD-3-clause-generic`, anything with an exception) are not guessed.
 */
export function spdxIdOf(debianName: string): string | undefined {
  const name = debianName.trim();
  const gnu = /^(A?GPL|LGPL|GFDL|GFDL-NIV)-(\d)(?:\.(\d))?(\+)?$/i.exec(name);
  if (gnu?.[1] && gnu[2]) {
    const family = gnu[1].toUpperCase();
    const base = family === "GFDL-NIV" ? "GFDL" : family;
    const niv = family === "GFDL-NIV" ? "-no-invariants" : "";
    const id = `${base}-${gnu[2]}.${gnu[3] ?? "0"}${niv}-${gnu[4] ? "or-later" : "only"}`;
    return SPDX.isSupportedSpdxId(id) ? id : undefined;
  }
  const direct = SPDX.fixupSpdxId(name);
  if (direct !== undefined) return direct;
  const alias = ALIASES.get(name.toLowerCase());
  return alias !== undefined && SPDX.isSupportedSpdxId(alias) ? alias : undefined;
}

/** DEP-5 standard short names (copyright-format 1.0, "License short name") whose SPDX id is another spelling. */
const ALIASES: ReadonlyMap<string, string> = new Map([
  ["expat", "MIT"],
  ["apache-2", "Apache-2.0"],
  ["apache-1", "Apache-1.0"],
  ["apache-1.1", "Apache-1.1"],
  ["mpl-1.1", "MPL-1.1"],
  ["mpl-2", "MPL-2.0"],
  ["cc0", "CC0-1.0"],
  ["psf-2", "PSF-2.0"],
  ["lppl-1.3c", "LPPL-1.3c"],
]);
