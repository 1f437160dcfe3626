import { expect } from "chai";
import { parseDpkgStatus } from "./dpkg-status";
import { SbomInputError } from "./errors";

/** A status paragraph with the fields dpkg always writes for an installed package, plus `extra` lines. */
function para(name: string, extra: string[] = [], status = "install ok installed"): string {
  return [`Package: ${name}`, `Status: ${status}`, "Architecture: amd64", "Version: 1.0-1", ...extra].join(
    "\n",
  );
}

describe("parseDpkgStatus", () => {
  const cases: {
    name: string;
    text: string;
    want: { name: string; version?: string; architecture?: string; source?: object; state?: string }[];
  }[] = [
    {
      name: "no Source field: the source is the binary itself",
      text: para("a"),
      want: [{ name: "a", source: { name: "a", version: "1.0-1" } }],
    },
    {
      name: "Source without a version: the binary's version",
      text: para("libkmod2", ["Source: kmod"]),
      want: [{ name: "libkmod2", source: { name: "kmod", version: "1.0-1" } }],
    },
    {
      name: "Source with its own version in parentheses (a binNMU)",
      text: [
        "Package: bash",
        "Status: install ok installed",
        "Architecture: amd64",
        "Source: bash (5.2.15-2)",
        "Version: 5.2.15-2+b13",
      ].join("\n"),
      want: [{ name: "bash", version: "5.2.15-2+b13", source: { name: "bash", version: "5.2.15-2" } }],
    },
    {
      name: "epochs kept in both versions",
      text: [
        "Package: libcap2",
        "Status: install ok installed",
        "Architecture: amd64",
        "Source: libcap2 (1:2.66-4+deb12u3)",
        "Version: 1:2.66-4+deb12u3+b1",
      ].join("\n"),
      want: [
        {
          name: "libcap2",
          version: "1:2.66-4+deb12u3+b1",
          source: { name: "libcap2", version: "1:2.66-4+deb12u3" },
        },
      ],
    },
    {
      name: "purged (not-installed, no Version) and removed (config-files) packages are left out",
      text: [
        "Package: gone\nStatus: purge ok not-installed\nArchitecture: amd64",
        para("removed", [], "deinstall ok config-files"),
        para("kept"),
      ].join("\n\n"),
      want: [{ name: "kept", state: "installed" }],
    },
    {
      name: "packages whose files are on disk but not configured are kept, with their state",
      text: [
        para("a", [], "install ok unpacked"),
        para("b", [], "install ok half-configured"),
        para("c", [], "install ok triggers-pending"),
        para("d", [], "hold ok installed"),
      ].join("\n\n"),
      want: [
        { name: "a", state: "unpacked" },
        { name: "b", state: "half-configured" },
        { name: "c", state: "triggers-pending" },
        { name: "d", state: "installed" },
      ],
    },
    {
      name: "multi-line fields (Conffiles, Description) do not disturb the others",
      text: para("adduser", [
        "Conffiles:",
        " /etc/adduser.conf cc3493ecd2d09837ffdcc3e25fdfff18",
        " /etc/deluser.conf 11a06baf8245fd8d690b99024d228c1f",
        "Description: add and remove users and groups",
        " This package includes the 'adduser' and 'deluser' commands.",
        " .",
        " More.",
        "Homepage: https://example.org/",
      ]),
      want: [{ name: "adduser", version: "1.0-1", architecture: "amd64" }],
    },
    {
      name: "sorted by name, then architecture (multi-arch packages twice)",
      text: [
        para("z"),
        para("libc6", ["Multi-Arch: same"]).replace("amd64", "i386"),
        para("libc6", ["Multi-Arch: same"]),
      ].join("\n\n"),
      want: [
        { name: "libc6", architecture: "amd64" },
        { name: "libc6", architecture: "i386" },
        { name: "z" },
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = parseDpkgStatus(c.text);
      expect(got).to.have.length(c.want.length);
      c.want.forEach((w, i) => expect(got[i]).to.deep.include(w));
    });
  }

  it("keeps the synopsis, maintainer and homepage", () => {
    const [p] = parseDpkgStatus(
      para("a", [
        "Maintainer: Someone <s@example.org>",
        "Description: the synopsis\n long text",
        "Homepage: https://a.org/",
      ]),
    );
    expect(p).to.deep.include({
      synopsis: "the synopsis",
      maintainer: "Someone <s@example.org>",
      homepage: "https://a.org/",
    });
  });

  const bad: { name: string; text: string; match: RegExp }[] = [
    {
      name: "a paragraph without Package",
      text: "Status: install ok installed\nVersion: 1",
      match: /paragraph 1: no Package field/,
    },
    {
      name: "a paragraph without Status",
      text: "Package: a\nVersion: 1",
      match: /paragraph 1 \(a\): no Status field/,
    },
    {
      name: "an installed package without Version",
      text: "Package: a\nStatus: install ok installed\nArchitecture: amd64",
      match: /\(a\): no Version field/,
    },
    {
      name: "an installed package without Architecture",
      text: "Package: a\nStatus: install ok installed\nVersion: 1",
      match: /\(a\): no Architecture field/,
    },
    {
      name: "a Status with two words",
      text: para("a", [], "install installed"),
      match: /Status "install installed" is not/,
    },
    {
      name: "a state dpkg does not know",
      text: para("a", [], "install ok installing"),
      match: /a state dpkg knows/,
    },
    {
      name: "a Source that is not name (version)",
      text: para("a", ["Source: b (1) c"]),
      match: /Source "b \(1\) c"/,
    },
  ];
  for (const c of bad) {
    it(`rejects ${c.name}`, () => {
      expect(() => parseDpkgStatus(c.text, "status"))
        .to.throw(SbomInputError, c.match)
        .with.property("code", "BAD_DPKG_STATUS");
    });
  }
});
