import { expect } from "chai";
import { createHash } from "node:crypto";
import { parseHTML } from "linkedom";
import type { CatalogueDocument } from "../../providers/catalogue-document";
import type { CataloguePageDocument, PageBuild } from "./document";
import { renderCataloguePage } from "./render";
import { CATALOGUE, DEBIAN_CANDIDATE, DEBIAN_REVOKED, DEBIAN_STABLE, UBUNTU } from "./testdata/catalogue";

// Compile-time: every index.json the providers write is a document the page renders (the two shapes cannot drift).
export const pageAcceptsIndex = (doc: CatalogueDocument): CataloguePageDocument => doc;

/** What these tests use of linkedom's DOM (the project compiles without the DOM library's types). */
interface ElementList extends Iterable<El> {
  readonly length: number;
  readonly [index: number]: El | undefined;
}
interface El {
  readonly tagName: string;
  readonly textContent: string | null;
  readonly attributes: Iterable<{ readonly name: string; readonly value: string }>;
  getAttribute(name: string): string | null;
  querySelector(selector: string): El | null;
  querySelectorAll(selector: string): ElementList;
}
interface Doc extends El {
  readonly documentElement: El;
}

function parse(htmlText: string): Doc {
  return (parseHTML(htmlText) as unknown as { document: Doc }).document;
}

function text(el: { textContent: string | null } | null | undefined): string {
  return (el?.textContent ?? "").replace(/\s+/g, " ").trim();
}

/** The cells of a table body row, by column header. */
function cells(doc: Doc, tableId: string, rowIndex: number): Record<string, string> {
  const headers = [...doc.querySelectorAll(`#${tableId} thead th`)].map((th) => text(th));
  const row = doc.querySelectorAll(`#${tableId} tbody tr`)[rowIndex];
  if (!row) throw new Error(`no row ${rowIndex} in #${tableId}`);
  // A list's items read as words apart, as a browser shows them.
  const values = [...row.querySelectorAll("th, td")].map((c) => {
    const items = c.querySelectorAll(":scope > ul > li");
    return items.length > 0 ? [...items].map((li) => text(li)).join(" ") : text(c);
  });
  return Object.fromEntries(headers.map((h, i) => [h, values[i] ?? ""]));
}

describe("renderCataloguePage", () => {
  const page = renderCataloguePage(CATALOGUE, { prefix: "dev" });
  const doc = parse(page);

  it("is a whole, self-contained document: lang, title, viewport, no script, no external resource", () => {
    expect(page.startsWith("<!doctype html>\n")).to.equal(true);
    expect(doc.documentElement.getAttribute("lang")).to.equal("en");
    expect(text(doc.querySelector("title"))).to.equal("VM templates: dev");
    expect(doc.querySelector('meta[name="viewport"]')?.getAttribute("content")).to.contain(
      "width=device-width",
    );
    expect(doc.querySelectorAll("script, link, img, iframe, object, embed, form")).to.have.length(0);
    expect(doc.querySelectorAll("[src]")).to.have.length(0);
    expect(doc.querySelector("style")?.textContent).to.not.match(/url\(|@import/);
    for (const a of doc.querySelectorAll("a"))
      expect(a.getAttribute("href")).to.not.match(/^[a-z][a-z0-9+.-]*:|^\/\//i);
  });

  it("allows its own style sheet and nothing else (Content-Security-Policy with the sheet's hash)", () => {
    const csp =
      doc.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute("content") ?? "";
    const css = doc.querySelector("style")?.textContent ?? "";
    const hash = createHash("sha256").update(css, "utf8").digest("base64");
    expect(csp).to.equal(
      `default-src 'none'; style-src 'sha256-${hash}'; base-uri 'none'; form-action 'none'`,
    );
  });

  it("has the landmarks, one h1, captions and scoped header cells", () => {
    for (const landmark of ["header", "main", "footer"])
      expect(doc.querySelectorAll(landmark)).to.have.length(1);
    expect(doc.querySelectorAll("h1")).to.have.length(1);
    for (const table of doc.querySelectorAll("table")) {
      expect(text(table.querySelector("caption"))).to.not.equal("");
      const cols = table.querySelectorAll("thead th");
      expect(cols.length).to.equal(9);
      for (const th of cols) expect(th.getAttribute("scope")).to.equal("col");
      for (const tr of table.querySelectorAll("tbody tr")) {
        expect(tr.querySelector("th")?.getAttribute("scope")).to.equal("row");
        // Each cell carries its column's name for the narrow layout.
        expect([...tr.querySelectorAll("td")].map((td) => td.getAttribute("data-label"))).to.deep.equal(
          [...cols].slice(1).map((th) => text(th)),
        );
      }
    }
  });

  it("one row per template with its newest build, channels, acceptance and package count", () => {
    expect(doc.querySelectorAll("#current tbody tr")).to.have.length(2);
    expect(cells(doc, "current", 0)).to.deep.include({
      Template: "debian-12",
      Build: DEBIAN_CANDIDATE.buildId,
      Channels: `candidate stable: ${DEBIAN_STABLE.buildId}`,
      Built: "2026-03-04 05:06 UTC",
      OS: "debian 12",
      Size: "1.2 GiB zstd",
      Packages: "224",
    });
    expect(cells(doc, "current", 0).Acceptance).to.match(/^Failed 1 of 3 checks failed /);
    expect(cells(doc, "current", 1)).to.deep.include({
      Template: "ubuntu-24.04",
      Channels: "candidate stable",
      Size: "1.2 GiB",
      Packages: "223",
    });
  });

  it("shows each check of the acceptance test in a details element", () => {
    const details = doc.querySelectorAll("#current tbody tr")[0]?.querySelector("details");
    expect(text(details?.querySelector("summary"))).to.equal("Failed 1 of 3 checks failed");
    expect([...(details?.querySelectorAll("li") ?? [])].map((li) => text(li))).to.deep.equal([
      "pass power state: expected running; saw running",
      "pass ssh: expected SSH answers on port 22; saw SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10",
      "fail cloud-init: expected status: done; saw status: error",
    ]);
    expect(text(details?.querySelector("p"))).to.equal(
      "Booted on qemu-tcg at 2026-03-04 05:30 UTC: SSH after 1 min 20 s, 3 min 10 s in all.",
    );
  });

  it("lists earlier builds newest first, the revoked one marked with its reason", () => {
    expect(
      [...doc.querySelectorAll("#earlier tbody tr")].map((tr) => text(tr.querySelector("td"))),
    ).to.deep.equal([DEBIAN_STABLE.buildId, DEBIAN_REVOKED.buildId]);
    const revoked = doc.querySelectorAll("#earlier tbody tr")[1];
    expect(revoked?.getAttribute("class")).to.equal("revoked");
    expect(cells(doc, "earlier", 1).Channels).to.equal(
      "Revoked 2026-02-25 12:00 UTC: CVE-2026-0001 in openssh",
    );
    expect(cells(doc, "earlier", 1).Acceptance).to.equal("Not tested");
    expect(cells(doc, "earlier", 0).Channels).to.equal("stable");
  });

  it("links manifest, SBOM, console log and XVA relative to <prefix>/index.html, named for screen readers", () => {
    const links =
      [...doc.querySelectorAll("#earlier tbody tr")][0]?.querySelectorAll("td:last-child a") ?? [];
    const base = "http://127.0.0.1:9000/bucket/dev/index.html";
    expect([...links].map((a) => new URL(a.getAttribute("href") ?? "", base).pathname)).to.deep.equal([
      `/bucket/${DEBIAN_STABLE.manifestKey}`,
      `/bucket/${DEBIAN_STABLE.sbom?.key}`,
      `/bucket/${DEBIAN_STABLE.acceptance?.consoleLogKey}`,
      `/bucket/${DEBIAN_STABLE.key}`,
    ]);
    expect(text(links[1])).to.equal(`SBOM of debian-12 build ${DEBIAN_STABLE.buildId}`);
    expect(doc.querySelector("footer a")?.getAttribute("href")).to.equal("index.json");
    // The stable channel of the template row points at its row below.
    const anchor = doc.querySelector("#current tbody tr td:nth-child(3) a")?.getAttribute("href") ?? "";
    expect(text(doc.querySelector(`${anchor} td`))).to.equal(DEBIAN_STABLE.buildId);
  });

  it("with an empty prefix, links are the keys themselves", () => {
    const atRoot: CataloguePageDocument = {
      ...CATALOGUE,
      artifacts: [{ ...UBUNTU, manifestKey: "ubuntu/24.04/t/ubuntu-24.04.manifest.json" }],
    };
    const d = parse(renderCataloguePage(atRoot, { prefix: "" }));
    expect(d.querySelector("td:last-child a")?.getAttribute("href")).to.equal(
      "ubuntu/24.04/t/ubuntu-24.04.manifest.json",
    );
  });

  it("says so when no template is published, and renders no table", () => {
    const empty = parse(
      renderCataloguePage({ ...CATALOGUE, artifacts: [], channels: {} }, { prefix: "dev" }),
    );
    expect(empty.querySelectorAll("table")).to.have.length(0);
    expect(text(empty.querySelector("main"))).to.equal("No template has been published yet.");
  });

  it("marks what the catalogue does not know: no SBOM, no detected OS, no channel", () => {
    const bare: PageBuild = { ...UBUNTU, template: "bare" };
    delete (bare as { sbom?: unknown }).sbom;
    delete (bare as { osDetected?: unknown }).osDetected;
    delete (bare as { acceptance?: unknown }).acceptance;
    const d = parse(
      renderCataloguePage({ ...CATALOGUE, artifacts: [bare], channels: {} }, { prefix: "dev" }),
    );
    expect(cells(d, "current", 0)).to.deep.include({
      Channels: "none",
      OS: "ubuntu 24.04 (declared; not detected)",
      Acceptance: "Not tested",
      Packages: "—no SBOM",
    });
    expect(text(d.querySelector("td:last-child"))).to.not.contain("SBOM of");
  });

  it("is pure: the same document gives the same bytes", () => {
    expect(renderCataloguePage(CATALOGUE, { prefix: "dev" })).to.equal(page);
  });
});

describe("renderCataloguePage with hostile text", () => {
  const EVIL = [
    `"><script>alert(1)</script>`,
    `' onmouseover='alert(2)`,
    `</style><script>alert(3)</script>`,
    `<!-- <img src=x onerror=alert(4)>`,
    `javascript:alert(5)`,
    `</textarea></title><svg onload=alert(6)>`,
    `&lt;b&gt; &amp; ]]> \u202e\u0000`,
  ];

  for (const [i, evil] of EVIL.entries()) {
    it(`keeps ${JSON.stringify(evil)} as text wherever the catalogue puts it`, () => {
      const build: PageBuild = {
        ...DEBIAN_STABLE,
        template: `t${evil}`,
        buildId: `b${evil}`,
        osDetected: `os${evil}`,
        compression: `c${evil}`,
        key: `dev/${evil}/x.xva`,
        manifestKey: `${evil}`,
        sbom: { key: `dev/sbom${evil}`, sha256: "0", packages: 1 },
        revoked: { reason: `r${evil}`, at: `a${evil}` },
        acceptance: {
          ...(DEBIAN_STABLE.acceptance as NonNullable<PageBuild["acceptance"]>),
          place: `p${evil}`,
          checks: [{ name: `n${evil}`, passed: false, expected: `e${evil}`, evidence: `v${evil}` }],
          consoleLogKey: `dev/log${evil}`,
        },
      };
      const out = renderCataloguePage(
        {
          schema: `s${evil}`,
          updatedAt: `u${evil}`,
          stack: `k${evil}`,
          artifacts: [build],
          channels: { [`t${evil}`]: { candidate: { buildId: `other${evil}`, key: `none${evil}` } } },
        },
        { prefix: i % 2 === 0 ? "dev" : `p${evil}` },
      );
      const d = parse(out);
      // Nothing became markup: only the elements the page itself writes, no event handler, no script URL.
      const tags = new Set([...d.querySelectorAll("*")].map((e) => e.tagName.toLowerCase()));
      for (const t of ["script", "svg", "img", "textarea", "iframe"]) expect(tags.has(t), t).to.equal(false);
      for (const e of d.querySelectorAll("*")) {
        for (const attr of e.attributes) expect(attr.name, `${e.tagName} ${attr.name}`).to.not.match(/^on/i);
      }
      for (const a of d.querySelectorAll("a")) {
        expect(a.getAttribute("href")).to.not.match(/^\s*(javascript|data|vbscript):/i);
      }
      expect(d.querySelectorAll("style")).to.have.length(1);
      expect(d.querySelectorAll("meta[http-equiv]")).to.have.length(1);
      // And every text is there, whole.
      const all = d.documentElement.textContent ?? "";
      const shownEvil = evil.replaceAll("\u0000", "\ufffd");
      for (const shown of [
        `t${shownEvil}`,
        `b${shownEvil}`,
        `os${shownEvil}`,
        `r${shownEvil}`,
        `n${shownEvil}`,
        `e${shownEvil}`,
        `v${shownEvil}`,
        `k${shownEvil}`,
      ]) {
        expect(all).to.contain(shown);
      }
      expect(text(d.querySelector("title"))).to.equal(text({ textContent: `VM templates: k${shownEvil}` }));
    });
  }
});
