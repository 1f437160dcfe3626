import { expect } from "chai";
import * as path from "node:path";
import { createSbom, type SbomSubject } from "./cyclonedx";
import {
  diffSboms,
  isEmptyDiff,
  renderSbomDiffMarkdown,
  renderSbomDiffText,
  sbomChangeRecord,
  sbomPackages,
  type SbomDiff,
} from "./diff";
import { SbomInputError } from "./errors";
import { rootfsPackageDatabase } from "./rootfs";

const FIXTURE = path.join(__dirname, "testdata", "bookworm-rootfs");
const SUBJECT: SbomSubject = {
  template: "debian-12",
  buildId: "b1",
  builtAt: new Date("2026-03-04T05:06:07Z"),
};

/** A minimal CycloneDX document listing `packages` as `name@version:arch`. */
function doc(...packages: string[]): object {
  return {
    bomFormat: "CycloneDX",
    specVersion: "1.6",
    components: [
      { type: "operating-system", name: "debian", version: "12" },
      ...packages.map((p) => {
        const m = /^(.+)@(.+):(.+)$/.exec(p) as RegExpExecArray;
        const [, name, version, arch] = m as unknown as [string, string, string, string];
        return {
          type: "library",
          name,
          version,
          purl: `pkg:deb/debian/${encodeURIComponent(name)}@${version}?arch=${arch}`,
        };
      }),
    ],
  };
}

describe("diffSboms", () => {
  const cases: { name: string; base: object; next: object; want: Partial<SbomDiff> }[] = [
    {
      name: "identical",
      base: doc("a@1:amd64", "b@2:all"),
      next: doc("b@2:all", "a@1:amd64"),
      want: { added: [], removed: [], changed: [], unchanged: 2, before: 2, after: 2 },
    },
    {
      name: "one added",
      base: doc("a@1:amd64"),
      next: doc("a@1:amd64", "curl@7.88.1-10+deb12u8:amd64"),
      want: {
        added: [{ name: "curl", version: "7.88.1-10+deb12u8", arch: "amd64" }],
        removed: [],
        changed: [],
        unchanged: 1,
      },
    },
    {
      name: "one removed",
      base: doc("a@1:amd64", "b@1:amd64"),
      next: doc("a@1:amd64"),
      want: { added: [], removed: [{ name: "b", version: "1", arch: "amd64" }], changed: [] },
    },
    {
      name: "versions changed (epoch, upgrade and downgrade alike)",
      base: doc("libc6@2.36-9+deb12u4:amd64", "zlib1g@1:1.2.13-1:amd64"),
      next: doc("libc6@2.36-9+deb12u7:amd64", "zlib1g@1:1.2.11-1:amd64"),
      want: {
        changed: [
          { name: "libc6", arch: "amd64", from: "2.36-9+deb12u4", to: "2.36-9+deb12u7" },
          { name: "zlib1g", arch: "amd64", from: "1:1.2.13-1", to: "1:1.2.11-1" },
        ],
        unchanged: 0,
      },
    },
    {
      name: "a second architecture of a package is an addition",
      base: doc("libc6@2.36:amd64"),
      next: doc("libc6@2.36:amd64", "libc6@2.36:i386"),
      want: { added: [{ name: "libc6", version: "2.36", arch: "i386" }], changed: [], unchanged: 1 },
    },
    {
      name: "all three, sorted by name",
      base: doc("z@1:amd64", "m@1:amd64", "a@1:amd64"),
      next: doc("y@1:amd64", "m@2:amd64", "b@1:amd64"),
      want: {
        added: [
          { name: "b", version: "1", arch: "amd64" },
          { name: "y", version: "1", arch: "amd64" },
        ],
        removed: [
          { name: "a", version: "1", arch: "amd64" },
          { name: "z", version: "1", arch: "amd64" },
        ],
        changed: [{ name: "m", arch: "amd64", from: "1", to: "2" }],
        before: 3,
        after: 3,
      },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(diffSboms(c.base, c.next)).to.deep.include(c.want);
    });
  }

  it("a rebuild of the Debian 12 fixture with one package added shows exactly that change", async () => {
    const db = await rootfsPackageDatabase(FIXTURE);
    const curl = [
      "Package: curl",
      "Status: install ok installed",
      "Priority: optional",
      "Architecture: amd64",
      "Version: 7.88.1-10+deb12u14",
      "Depends: libc6 (>= 2.34), libcurl4 (= 7.88.1-10+deb12u14), zlib1g (>= 1:1.1.4)",
      "Description: command line tool for transferring data with URL syntax",
      "Homepage: https://curl.se/",
    ].join("\n");
    const base = await createSbom(db, SUBJECT);
    const next = await createSbom(
      { ...db, dpkgStatus: `${db.dpkgStatus}\n${curl}\n` },
      { ...SUBJECT, buildId: "b2" },
    );
    const diff = diffSboms(base.json, next.json);
    expect(diff).to.deep.equal({
      added: [{ name: "curl", version: "7.88.1-10+deb12u14", arch: "amd64" }],
      removed: [],
      changed: [],
      unchanged: 19,
      before: 19,
      after: 20,
    });
    expect(renderSbomDiffText(diff)).to.equal(
      "packages: 19 → 20 (1 added, 0 removed, 0 changed)\n  + curl 7.88.1-10+deb12u14",
    );
  });

  const bad: { name: string; doc: unknown; match: RegExp }[] = [
    { name: "not JSON", doc: "{", match: /base SBOM: not JSON/ },
    { name: "not CycloneDX", doc: { spdxVersion: "SPDX-2.3" }, match: /no bomFormat CycloneDX/ },
    {
      name: "components not a list",
      doc: { bomFormat: "CycloneDX", components: {} },
      match: /components is not a list/,
    },
    {
      name: "a deb purl without arch",
      doc: { bomFormat: "CycloneDX", components: [{ name: "a", version: "1", purl: "pkg:deb/debian/a@1" }] },
      match: /has no name, version or arch/,
    },
    { name: "a package twice", doc: doc("a@1:amd64", "a@2:amd64"), match: /lists a:amd64 twice/ },
  ];
  for (const c of bad) {
    it(`rejects ${c.name} with NOT_AN_SBOM`, () => {
      expect(() => diffSboms(c.doc, doc()))
        .to.throw(SbomInputError, c.match)
        .with.property("code", "NOT_AN_SBOM");
    });
  }

  it("sbomPackages reads text or parsed documents alike, and ignores components that are no Debian package", () => {
    const d = doc("a@1:amd64");
    expect(sbomPackages(JSON.stringify(d), "x")).to.deep.equal(sbomPackages(d, "x"));
    expect(sbomPackages(d, "x")).to.deep.equal([{ name: "a", version: "1", arch: "amd64" }]);
  });
});

describe("rendering a diff", () => {
  const diff = diffSboms(
    doc("gone@1:amd64", "libc6@2.36-9+deb12u4:amd64", "libc6@2.36-9+deb12u4:i386", "same@1:all"),
    doc("new@2:amd64", "libc6@2.36-9+deb12u7:amd64", "libc6@2.36-9+deb12u7:i386", "same@1:all"),
  );

  it("text: summary, then +, -, ~ lines; the architecture only where a name has two", () => {
    expect(renderSbomDiffText(diff)).to.equal(
      [
        "packages: 4 → 4 (1 added, 1 removed, 2 changed)",
        "  + new 2",
        "  - gone 1",
        "  ~ libc6:amd64 2.36-9+deb12u4 → 2.36-9+deb12u7",
        "  ~ libc6:i386 2.36-9+deb12u4 → 2.36-9+deb12u7",
      ].join("\n"),
    );
  });

  it("text: at most maxLines change lines, the last one counting the rest", () => {
    const lines = renderSbomDiffText(diff, { maxLines: 2 }).split("\n");
    expect(lines).to.deep.equal([
      "packages: 4 → 4 (1 added, 1 removed, 2 changed)",
      "  + new 2",
      "  … and 3 more (the manifest lists every change)",
    ]);
  });

  it("text: no change is one line", () => {
    const same = diffSboms(doc("a@1:amd64"), doc("a@1:amd64"));
    expect(isEmptyDiff(same)).to.equal(true);
    expect(renderSbomDiffText(same)).to.equal("packages: 1, unchanged");
  });

  it("markdown: a table for the pull request summary", () => {
    expect(renderSbomDiffMarkdown(diff, { maxRows: 3 })).to.equal(
      [
        "**packages: 4 → 4 (1 added, 1 removed, 2 changed)**",
        "",
        "| change | package | before | after |",
        "|---|---|---|---|",
        "| added | new | | 2 |",
        "| removed | gone | 1 | |",
        "| changed | libc6 | 2.36-9+deb12u4 | 2.36-9+deb12u7 |",
        "",
        "… and 1 more (see the manifest).",
      ].join("\n"),
    );
  });

  it("markdown: table syntax in a name is escaped", () => {
    const odd = diffSboms(doc(), doc("a|b`c@1:amd64"));
    expect(renderSbomDiffMarkdown(odd)).to.contain("| added | a\\|b\\`c | | 1 |");
  });

  it("the manifest record names the build compared with", () => {
    expect(sbomChangeRecord(diff, { buildId: "b0", channel: "stable" })).to.deep.equal({
      against: { buildId: "b0", channel: "stable" },
      packages: { before: 4, after: 4 },
      added: diff.added,
      removed: diff.removed,
      changed: diff.changed,
    });
  });
});
