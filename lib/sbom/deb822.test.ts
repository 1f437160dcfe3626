import { expect } from "chai";
import { firstLine, parseDeb822 } from "./deb822";
import { SbomInputError } from "./errors";

describe("parseDeb822", () => {
  const cases: { name: string; text: string; want: Record<string, string>[] }[] = [
    { name: "empty text", text: "", want: [] },
    { name: "one field", text: "Package: a\n", want: [{ package: "a" }] },
    {
      name: "field names are case-insensitive, values trimmed",
      text: "PACKAGE:   a  \nversion:1\n",
      want: [{ package: "a", version: "1" }],
    },
    {
      name: "paragraphs split by one or more blank lines (whitespace-only counts)",
      text: "Package: a\n\n\n \t\nPackage: b\n\n",
      want: [{ package: "a" }, { package: "b" }],
    },
    {
      name: "multi-line field: continuation without its first space, lone dot is an empty line",
      text: "Description: short\n long line one\n .\n  indented\nPackage: a\n",
      want: [{ description: "short\nlong line one\n\n indented", package: "a" }],
    },
    {
      name: "multi-line field with an empty first line (Conffiles)",
      text: "Conffiles:\n /etc/a 0123\n /etc/b 4567 obsolete\n",
      want: [{ conffiles: "\n/etc/a 0123\n/etc/b 4567 obsolete" }],
    },
    { name: "tab continuation", text: "A: x\n\ty\n", want: [{ a: "x\ny" }] },
    { name: "CRLF line ends", text: "A: x\r\nB: y\r\n\r\nA: z\r\n", want: [{ a: "x", b: "y" }, { a: "z" }] },
    {
      name: "colon in the value",
      text: "Homepage: https://x.org:8080/\n",
      want: [{ homepage: "https://x.org:8080/" }],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(parseDeb822(c.text, "t").map((p) => Object.fromEntries(p))).to.deep.equal(c.want);
    });
  }

  const bad: { name: string; text: string; line: number }[] = [
    { name: "a continuation before any field", text: " x\n", line: 1 },
    { name: "a continuation right after a blank line", text: "A: x\n\n y\n", line: 3 },
    { name: "a line with no colon", text: "A: x\nnot a field\n", line: 2 },
    { name: "an empty field name", text: ": x\n", line: 1 },
    { name: "a field name starting with a hyphen", text: "-A: x\n", line: 1 },
    { name: "a field name with a space", text: "A B: x\n", line: 1 },
    { name: "a field repeated in one paragraph", text: "A: x\na: y\n", line: 2 },
  ];
  for (const c of bad) {
    it(`rejects ${c.name}, naming the line`, () => {
      expect(() => parseDeb822(c.text, "the file"))
        .to.throw(SbomInputError, new RegExp(`the file, line ${c.line}: `))
        .with.property("code", "BAD_DEB822");
    });
  }

  it("skips comment lines only when asked", () => {
    expect(
      parseDeb822("# c\nA: x\n", "t", { comments: true }).map((p) => Object.fromEntries(p)),
    ).to.deep.equal([{ a: "x" }]);
    expect(() => parseDeb822("# c\nA: x\n", "t")).to.throw(SbomInputError);
  });

  it("firstLine gives a field's synopsis", () => {
    expect(firstLine("short\nlong")).to.equal("short");
    expect(firstLine(" one ")).to.equal("one");
  });
});
