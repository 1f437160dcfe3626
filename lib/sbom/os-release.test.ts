import { expect } from "chai";
import { SbomInputError } from "./errors";
import { parseOsRelease } from "./os-release";

describe("parseOsRelease", () => {
  const cases: { name: string; text: string; want: object }[] = [
    {
      name: "Debian 12 as base-files writes it",
      text: 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n',
      want: {
        id: "debian",
        versionId: "12",
        versionCodename: "bookworm",
        prettyName: "Debian GNU/Linux 12 (bookworm)",
      },
    },
    {
      name: "Ubuntu, with ID_LIKE and a point release",
      text: 'PRETTY_NAME="Ubuntu 24.04.2 LTS"\nNAME="Ubuntu"\nVERSION_ID="24.04"\nID=ubuntu\nID_LIKE=debian\n',
      want: { id: "ubuntu", versionId: "24.04", prettyName: "Ubuntu 24.04.2 LTS" },
    },
    {
      name: "Debian testing: no VERSION_ID",
      text: 'PRETTY_NAME="Debian GNU/Linux trixie/sid"\nNAME="Debian GNU/Linux"\nID=debian\n',
      want: { id: "debian", prettyName: "Debian GNU/Linux trixie/sid" },
    },
    {
      name: "comments, blank lines, single quotes, escapes in double quotes",
      text: '# comment\n\nID=\'debian\'\nPRETTY_NAME="A \\"quoted\\" \\$name"\n',
      want: { id: "debian", prettyName: 'A "quoted" $name' },
    },
    {
      name: "no PRETTY_NAME: NAME and VERSION_ID",
      text: "ID=Debian\nNAME=Deb\nVERSION_ID=12\n",
      want: { id: "debian", versionId: "12", prettyName: "Deb 12" },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(parseOsRelease(c.text)).to.deep.equal(c.want);
    });
  }

  const bad: { name: string; text: string; match: RegExp }[] = [
    { name: "no ID", text: 'NAME="x"\n', match: /ID is missing/ },
    { name: "an ID with spaces", text: 'ID="deb ian"\n', match: /ID is "deb ian"/ },
    { name: "a quote that does not close", text: 'ID="debian\n', match: /line 1: expected KEY=value/ },
    { name: "a line that is no assignment", text: "ID=debian\nhello\n", match: /line 2: expected KEY=value/ },
    { name: "an unquoted value with a space", text: "ID=debian\nNAME=a b\n", match: /line 2/ },
  ];
  for (const c of bad) {
    it(`rejects ${c.name}`, () => {
      expect(() => parseOsRelease(c.text))
        .to.throw(SbomInputError, c.match)
        .with.property("code", "BAD_OS_RELEASE");
    });
  }
});
