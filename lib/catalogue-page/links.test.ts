import { expect } from "chai";
import { hrefOf } from "./links";

describe("hrefOf", () => {
  const cases: { prefix: string; key: string; want: string | undefined }[] = [
    {
      prefix: "dev",
      key: "dev/debian/12/20260304T050607Z/debian-12.manifest.json",
      want: "debian/12/20260304T050607Z/debian-12.manifest.json",
    },
    { prefix: "dev", key: "dev/index.json", want: "index.json" },
    { prefix: "", key: "debian/12/t/x.xva", want: "debian/12/t/x.xva" },
    { prefix: "team/dev", key: "team/dev/a/b", want: "a/b" },
    { prefix: "team/dev", key: "team/other/a", want: "../other/a" },
    { prefix: "dev", key: "other/a", want: "../other/a" },
    { prefix: "dev", key: "dev", want: "../dev" },
    // Encoded so that nothing in a key is read as URL syntax.
    { prefix: "dev", key: "dev/a b/c#d?e", want: "a%20b/c%23d%3Fe" },
    { prefix: "", key: "javascript:alert(1)", want: "javascript%3Aalert(1)" },
    { prefix: "", key: "//evil.example/x", want: undefined },
    { prefix: "dev", key: "dev/../x", want: undefined },
    { prefix: "dev", key: "dev/./x", want: undefined },
    { prefix: "dev", key: "dev/a//b", want: undefined },
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c.key)} from ${JSON.stringify(c.prefix)}/index.html → ${String(c.want)}`, () => {
      expect(hrefOf(c.prefix, c.key)).to.equal(c.want);
    });
  }

  it("resolves back to the key from the page, path-style and virtual-hosted alike", () => {
    for (const base of ["https://s3.example/bucket/", "https://bucket.s3.example/"]) {
      for (const c of cases.filter((x) => x.want !== undefined)) {
        const page = new URL(c.prefix === "" ? "index.html" : `${c.prefix}/index.html`, base);
        const resolved = new URL(c.want as string, page);
        expect(decodeURIComponent(resolved.pathname)).to.equal(new URL(base).pathname + c.key);
        expect(resolved.origin).to.equal(new URL(base).origin);
      }
    }
  });
});
