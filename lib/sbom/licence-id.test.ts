import { expect } from "chai";
import { spdxIdOf } from "./licence-id";

describe("spdxIdOf", () => {
  const cases: [string, string | undefined][] = [
    ["GPL-2", "GPL-2.0-only"],
    ["GPL-2+", "GPL-2.0-or-later"],
    ["GPL-2.0+", "GPL-2.0-or-later"],
    ["GPL-3+", "GPL-3.0-or-later"],
    ["LGPL-2.1+", "LGPL-2.1-or-later"],
    ["LGPL-2.1", "LGPL-2.1-only"],
    ["LGPL-2", "LGPL-2.0-only"],
    ["AGPL-3+", "AGPL-3.0-or-later"],
    ["GFDL-1.3", "GFDL-1.3-only"],
    ["GFDL-NIV-1.3+", "GFDL-1.3-no-invariants-or-later"],
    ["BSD-3-clause", "BSD-3-Clause"],
    ["bsd-2-clause", "BSD-2-Clause"],
    ["Expat", "MIT"],
    ["MIT", "MIT"],
    ["Apache-2", "Apache-2.0"],
    ["Apache-2.0", "Apache-2.0"],
    ["CC0", "CC0-1.0"],
    ["zlib", "Zlib"],
    ["ISC", "ISC"],
    ["PSF-2", "PSF-2.0"],
    // Not guessed: no version, a Debian-only name, an exception, prose.
    ["GPL", undefined],
    ["LGPL", undefined],
    ["Artistic", undefined],
    ["public-domain", undefined],
    ["BSD-3-clause-generic", undefined],
    ["GPL-2+ with Autoconf exception", undefined],
    ["GPL-9+", undefined],
    ["Permission is hereby granted", undefined],
  ];
  for (const [debian, spdx] of cases) {
    it(`${debian} → ${String(spdx)}`, () => {
      expect(spdxIdOf(debian)).to.equal(spdx);
    });
  }
});
