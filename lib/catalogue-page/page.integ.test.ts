import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as m from "@aws-sdk/client-s3";
import { source as axeSource } from "axe-core";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { startVersityGw, type VersityGw } from "../../devpool/versitygw";
import { createS3Client } from "../s3/client";
import { createSbom, SBOM_MEDIA_TYPE } from "../sbom/cyclonedx";
import { rootfsPackageDatabase } from "../sbom/rootfs";
import { renderCataloguePage } from "./render";
import { CATALOGUE, DEBIAN_CANDIDATE, DEBIAN_STABLE } from "./testdata/catalogue";

/**
 * The catalogue page in a real browser: Debian's Chromium (never a downloaded build), driven by playwright-core,
 * loads the page from versitygw exactly as users would from the bucket (anonymous GET, allowed by a public-read
 * bucket policy on the objects), and every link on it resolves. Screenshots go to test-artifacts/catalogue-page/.
 */

const CHROMIUM = "/usr/bin/chromium";
const BUCKET = "catalogue";
const PREFIX = "dev";
const ARTIFACTS = path.join(__dirname, "..", "..", "test-artifacts", "catalogue-page");
/** Chromium without anything that reaches outside this machine or keeps state between runs. */
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

// Browser globals of the functions evaluated in the page: the project compiles without the DOM library's types.
interface BrowserElement {
  readonly href?: string;
  getAttribute(name: string): string | null;
}
interface AxeResult {
  readonly violations: readonly {
    readonly id: string;
    readonly nodes: readonly { readonly target: string[] }[];
  }[];
}
declare const document: {
  readonly documentElement: { readonly scrollWidth: number };
  querySelector(selector: string): BrowserElement | null;
};
declare const window: {
  readonly innerWidth: number;
  readonly axe: { run(options: object): Promise<AxeResult> };
};
declare function getComputedStyle(
  element: unknown,
  pseudo?: string,
): { readonly display: string; readonly content: string; readonly backgroundColor: string };

/** Every object the fixture catalogue references, with plausible bodies: the page must reach each one. */
async function catalogueObjects(): Promise<{ key: string; body: string | Buffer; contentType: string }[]> {
  const db = await rootfsPackageDatabase(path.join(__dirname, "..", "sbom", "testdata", "bookworm-rootfs"));
  const objects: { key: string; body: string | Buffer; contentType: string }[] = [];
  for (const b of CATALOGUE.artifacts) {
    const { json } = await createSbom(db, {
      template: b.template,
      buildId: b.buildId,
      builtAt: new Date(b.exportedAt),
    });
    objects.push(
      {
        key: b.key,
        body: Buffer.from("not a real XVA: the page only links to it"),
        contentType: "application/octet-stream",
      },
      {
        key: b.manifestKey,
        body: JSON.stringify({ key: b.key, sha256: b.sha256 }),
        contentType: "application/json",
      },
      ...(b.sbom ? [{ key: b.sbom.key, body: json, contentType: SBOM_MEDIA_TYPE }] : []),
      ...(b.acceptance?.consoleLogKey
        ? [
            {
              key: b.acceptance.consoleLogKey,
              body: "[    0.000000] Linux version 6.1.0\n",
              contentType: "text/plain",
            },
          ]
        : []),
    );
  }
  objects.push(
    { key: `${PREFIX}/index.json`, body: JSON.stringify(CATALOGUE), contentType: "application/json" },
    {
      key: `${PREFIX}/index.html`,
      body: renderCataloguePage(CATALOGUE, { prefix: PREFIX }),
      contentType: "text/html; charset=utf-8",
    },
  );
  return objects;
}

describe("catalogue page in Chromium (integ, versitygw)", function () {
  this.timeout(120000);
  let gw: VersityGw;
  let dir: string;
  let context: BrowserContext;
  let page: Page;
  const consoleErrors: string[] = [];
  let pageUrl: string;

  before(async () => {
    if (!fs.existsSync(CHROMIUM)) {
      throw new Error(
        `${CHROMIUM} not found: the page test drives Debian's Chromium. Install it with 'apt-get install chromium' ` +
          `(tools/bootstrap.sh installs it with the other Debian packages)`,
      );
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "page-"));
    gw = await startVersityGw({ dataDir: path.join(dir, "s3") });
    const s3 = createS3Client(
      { region: gw.region, endpoint: gw.endpoint, forcePathStyle: true },
      { accessKeyId: gw.accessKey, secretAccessKey: gw.secretKey },
    );
    try {
      await s3.send(new m.CreateBucketCommand({ Bucket: BUCKET }));
      // Public read of objects (not of the listing), as a bucket that serves the catalogue page would have.
      await s3.send(
        new m.PutBucketPolicyCommand({
          Bucket: BUCKET,
          Policy: JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              {
                Effect: "Allow",
                Principal: "*",
                Action: ["s3:GetObject"],
                Resource: [`arn:aws:s3:::${BUCKET}/*`],
              },
            ],
          }),
        }),
      );
      for (const o of await catalogueObjects()) {
        await s3.send(
          new m.PutObjectCommand({ Bucket: BUCKET, Key: o.key, Body: o.body, ContentType: o.contentType }),
        );
      }
    } finally {
      s3.destroy();
    }
    pageUrl = `${gw.endpoint}/${BUCKET}/${PREFIX}/index.html`;
    context = await chromium.launchPersistentContext(path.join(dir, "profile"), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on("console", (msg) => {
      if (msg.type() === "error" || msg.type() === "warning") consoleErrors.push(msg.text());
    });
    page.on("pageerror", (e) => consoleErrors.push(e.message));
    fs.mkdirSync(ARTIFACTS, { recursive: true });
  });

  after(async () => {
    await context?.close();
    await gw?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("loads from the bucket, anonymously, as HTML, with its style applied under its own CSP", async () => {
    const response = await page.goto(pageUrl);
    expect(response?.status()).to.equal(200);
    expect(response?.headers()["content-type"]).to.match(/^text\/html/);
    expect(await page.title()).to.equal("VM templates: dev");
    // The sheet is applied (the CSP hash matched): the table header has its band colour.
    const band = await page
      .locator("#current thead th")
      .first()
      .evaluate((el: BrowserElement) => getComputedStyle(el).backgroundColor);
    expect(band).to.equal("rgb(243, 244, 246)");
    expect(consoleErrors, consoleErrors.join("\n")).to.deep.equal([]);
  });

  it("shows the template row with its channels and each acceptance check", async () => {
    const row = page.locator("#current tbody tr", { has: page.locator("th", { hasText: "debian-12" }) });
    expect(await row.count()).to.equal(1);
    expect(await row.locator(".badge.candidate").innerText()).to.equal("candidate");
    expect(await row.locator("td[data-label=Channels]").innerText()).to.contain(
      `stable: ${DEBIAN_STABLE.buildId}`,
    );
    expect(await row.locator("td[data-label=Packages]").innerText()).to.equal("224");
    const checks = row.locator("details li");
    expect(await checks.first().isVisible()).to.equal(false);
    await row.locator("summary").click();
    expect(await checks.allInnerTexts()).to.deep.equal([
      "pass power state: expected running; saw running",
      `pass ssh: expected SSH answers on port 22; saw SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10`,
      "fail cloud-init: expected status: done; saw status: error",
    ]);
    expect(await checks.last().isVisible()).to.equal(true);
    expect(await page.locator("#earlier tr.revoked td[data-label=Channels]").innerText()).to.contain(
      "CVE-2026-0001 in openssh",
    );
    await page.screenshot({ path: path.join(ARTIFACTS, "desktop.png"), fullPage: true });
  });

  it("every link resolves: objects answer 200 from the bucket, fragments name an element of the page", async () => {
    const hrefs = await page
      .locator("a[href]")
      .evaluateAll((as: BrowserElement[]) =>
        as.map((a) => ({ raw: a.getAttribute("href") ?? "", resolved: a.href ?? "" })),
      );
    expect(hrefs.length).to.be.greaterThan(10);
    const statuses: string[] = [];
    for (const { raw, resolved } of hrefs) {
      if (raw.startsWith("#")) {
        statuses.push(`${raw} ${await page.locator(raw).count()}`);
        continue;
      }
      expect(resolved.startsWith(`${gw.endpoint}/${BUCKET}/${PREFIX}/`), resolved).to.equal(true);
      const r = await context.request.get(resolved);
      statuses.push(`${raw} ${r.status()}`);
    }
    expect(statuses.filter((s) => !/ (200|1)$/.test(s))).to.deep.equal([]);
    // The candidate's SBOM link serves the CycloneDX document, as stored.
    const sbom = await context.request.get(
      new URL(DEBIAN_CANDIDATE.sbom?.key.slice(PREFIX.length + 1) ?? "", pageUrl).href,
    );
    expect(((await sbom.json()) as { bomFormat: string }).bomFormat).to.equal("CycloneDX");
  });

  it("reads on a phone: one card per build, no sideways scrolling", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    const layout = await page.evaluate(() => ({
      overflow: document.documentElement.scrollWidth - window.innerWidth,
      cellDisplay: getComputedStyle(document.querySelector("#current td")).display,
      label: getComputedStyle(document.querySelector("#current td"), "::before").content,
    }));
    expect(layout).to.deep.equal({ overflow: 0, cellDisplay: "block", label: '"Build"' });
    await page.screenshot({ path: path.join(ARTIFACTS, "phone.png"), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it("passes axe-core's WCAG 2.1 A/AA checks (contrast included), on a laptop and on a phone", async () => {
    const violations: string[] = [];
    for (const viewport of [
      { width: 1280, height: 900 },
      { width: 390, height: 844 },
    ]) {
      await page.setViewportSize(viewport);
      await page.reload();
      await page.locator("summary").first().click(); // the checks' text is in the contrast check too
      // Evaluated through the DevTools protocol, which the page's CSP (no script at all) does not govern.
      await page.evaluate(axeSource);
      const result = await page.evaluate(() =>
        window.axe.run({
          runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
        }),
      );
      for (const v of result.violations) {
        violations.push(`${viewport.width}px ${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
      }
    }
    expect(violations, violations.join("\n")).to.deep.equal([]);
  });
});
