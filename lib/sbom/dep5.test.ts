import { expect } from "chai";
import { dep5LicenceNames } from "./dep5";

const FORMAT = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/";

describe("dep5LicenceNames", () => {
  const cases: { name: string; text: string; want: string[] | undefined }[] = [
    {
      name: "the License synopsis of each Files paragraph, distinct and sorted",
      text: `${FORMAT}\nUpstream-Name: x\n\nFiles: *\nCopyright: 2020 A\nLicense: GPL-2+\n\nFiles: lib/*\nCopyright: B\nLicense: BSD-3-clause\n\nFiles: debian/*\nLicense: GPL-2+\n`,
      want: ["BSD-3-clause", "GPL-2+"],
    },
    {
      name: "a licence in the header paragraph counts",
      text: `${FORMAT}\nLicense: Expat\n\nFiles: *\nLicense: Expat\n`,
      want: ["Expat"],
    },
    {
      name: "standalone License paragraphs (the texts) add nothing, continuation lines are text",
      text: `${FORMAT}\n\nFiles: *\nLicense: GPL-2+\n The full text would follow\n here.\n\nLicense: GPL-2+\n On Debian systems, see /usr/share/common-licenses/GPL-2.\n\nLicense: Unused\n text\n`,
      want: ["GPL-2+"],
    },
    {
      name: "or, and and commas split; exceptions stay with their licence",
      text: `${FORMAT}\n\nFiles: *\nLicense: GPL-2+ or AFL-2.1, and Expat and Tcl-BSDish\n\nFiles: m4/*\nLicense: GPL-2+ with Autoconf exception\n\nFiles: x\nLicense: LGPL-3+ OR GPL-2+\n`,
      want: ["AFL-2.1", "Expat", "GPL-2+", "GPL-2+ with Autoconf exception", "LGPL-3+", "Tcl-BSDish"],
    },
    {
      name: "the old http Format URL is the same format",
      text: "Format: http://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: ISC\n",
      want: ["ISC"],
    },
    {
      name: "a Files paragraph with an empty License synopsis gives nothing",
      text: `${FORMAT}\n\nFiles: *\nLicense:\n Permission is hereby granted\n`,
      want: [],
    },
    {
      name: "comment lines are allowed",
      text: `${FORMAT}\n# a comment\n\nFiles: *\nLicense: MIT\n`,
      want: ["MIT"],
    },
    {
      name: "free-text copyright (libc6's) is not machine-readable",
      text: "This is the Debian prepackaged version of the GNU C Library version 2.23.\n\nIt was put together by ...\n",
      want: undefined,
    },
    {
      name: "deb822 without a copyright-format Format line is not machine-readable",
      text: "Upstream-Name: x\n\nFiles: *\nLicense: GPL-2\n",
      want: undefined,
    },
    {
      name: "an older DEP-5 draft Format is not 1.0",
      text: "Format-Specification: http://svn.debian.org/wsvn/dep/web/deps/dep5.mdwn?op=file&rev=135\n\nFiles: *\nLicense: GPL-2\n",
      want: undefined,
    },
    { name: "an empty file", text: "", want: undefined },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(dep5LicenceNames(c.text)).to.deep.equal(c.want);
    });
  }
});
