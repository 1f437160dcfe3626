import type { CataloguePageDocument, PageAcceptance, PageBuild } from "./document";
import { formatBytes, formatSeconds, formatUtc } from "./format";
import { constantHtml, html, type SafeHtml } from "./html";
import { hrefOf } from "./links";
import { PAGE_CSS, PAGE_CSS_HASH } from "./style";

/** Where the page is stored, which its links are relative to. */
export interface CataloguePageOptions {
  /** The stack's key prefix: the page is `<prefix>/index.html`, beside `<prefix>/index.json` ("" = bucket root). */
  readonly prefix: string;
}

/**
 * The style element, whole: its text must be exactly the sheet whose hash the Content-Security-Policy allows, so
 * no formatting of the template around it may add a byte inside.
 */
const STYLE_ELEMENT = constantHtml(`<style>${PAGE_CSS}</style>`);

/** The columns of both tables, in order: the header text is also each cell's label on narrow screens. */
const COLUMNS = ["Build", "Channels", "Built", "OS", "Size", "Acceptance", "Packages", "Files"] as const;
type Column = (typeof COLUMNS)[number];

/** One template's builds, newest first, and where its channels point. */
interface TemplateBuilds {
  readonly template: string;
  readonly builds: readonly PageBuild[];
  readonly channelOf: ReadonlyMap<string, readonly ("candidate" | "stable")[]>;
  readonly channels: CataloguePageDocument["channels"][string];
}

/**
 * The catalogue page: a static, self-contained HTML document (inline style, no script, no external asset; a
 * Content-Security-Policy that allows its own style sheet and nothing else) from the catalogue index. One row per
 * template with its newest build; every earlier build below. Pure: the same document gives the same bytes.
 */
export function renderCataloguePage(doc: CataloguePageDocument, options: CataloguePageOptions): string {
  const templates = groupByTemplate(doc);
  const anchors = new Map<PageBuild, string>();
  templates.forEach((t, i) => t.builds.forEach((b, j) => anchors.set(b, `build-${i + 1}-${j + 1}`)));
  const ctx: RowContext = { prefix: options.prefix, anchors };
  const current = templates.map((t) => ({ t, b: t.builds[0] })).filter((x) => x.b !== undefined);
  const earlier = templates.flatMap((t) => t.builds.slice(1).map((b) => ({ t, b })));
  const updated = formatUtc(doc.updatedAt);
  const indexHref = hrefOf(
    options.prefix,
    options.prefix === "" ? "index.json" : `${options.prefix}/index.json`,
  );
  const page = html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta
          http-equiv="Content-Security-Policy"
          content="default-src 'none'; style-src ${PAGE_CSS_HASH}; base-uri 'none'; form-action 'none'"
        />
        <meta name="generator" content="xcpng-templates" />
        <title>VM templates: ${doc.stack}</title>
        ${STYLE_ELEMENT}
      </head>
      <body>
        <header>
          <h1>VM templates</h1>
          <p class="muted">
            Catalogue of the stack
            <strong>${doc.stack}</strong
            >${updated ? html`, updated <time datetime="${doc.updatedAt}">${updated}</time>` : ""}.
          </p>
        </header>
        <main>
          ${
            current.length === 0
              ? html`<p>No template has been published yet.</p>`
              : table(
                  "current",
                  "Templates",
                  `Each template's newest build (${current.length} template${current.length === 1 ? "" : "s"})`,
                  current,
                  { ...ctx, otherChannels: true },
                )
          }
          ${
            earlier.length === 0
              ? ""
              : table(
                  "earlier",
                  "Earlier builds",
                  `Earlier builds, newest first (${earlier.length})`,
                  earlier,
                  ctx,
                )
          }
        </main>
        <footer>
          <p>
            The same catalogue for programs:
            ${indexHref ? html`<a href="${indexHref}">index.json</a>` : "index.json"} (schema
            <code>${doc.schema}</code>). Sizes are stored bytes; times are UTC.
          </p>
        </footer>
      </body>
    </html> `;
  return page.value;
}

/** Templates in name order (from the builds and the channels), each with its builds newest first. */
function groupByTemplate(doc: CataloguePageDocument): TemplateBuilds[] {
  const names = new Set([...doc.artifacts.map((a) => a.template), ...Object.keys(doc.channels)]);
  return [...names].sort().map((template) => {
    const builds = doc.artifacts
      .filter((a) => a.template === template)
      .sort((a, b) => (a.exportedAt < b.exportedAt ? 1 : a.exportedAt > b.exportedAt ? -1 : 0));
    const channels = doc.channels[template] ?? {};
    const channelOf = new Map<string, ("candidate" | "stable")[]>();
    for (const name of ["candidate", "stable"] as const) {
      const c = channels[name];
      if (c) channelOf.set(c.key, [...(channelOf.get(c.key) ?? []), name]);
    }
    return { template, builds, channelOf, channels };
  });
}

interface RowContext {
  readonly prefix: string;
  readonly anchors: ReadonlyMap<PageBuild, string>;
  /** In the templates table, where the template's other channels point (earlier rows would repeat it). */
  readonly otherChannels?: boolean;
}

function table(
  id: string,
  heading: string,
  caption: string,
  rows: readonly { t: TemplateBuilds; b: PageBuild | undefined }[],
  ctx: RowContext,
): SafeHtml {
  return html`<section aria-labelledby="${id}-heading">
    <h2 id="${id}-heading">${heading}</h2>
    <table role="table" id="${id}">
      <caption>
        ${caption}
      </caption>
      <thead role="rowgroup">
        <tr role="row">
          <th scope="col" role="columnheader">Template</th>
          ${COLUMNS.map((c) => html`<th scope="col" role="columnheader">${c}</th>`)}
        </tr>
      </thead>
      <tbody role="rowgroup">
        ${rows.map(({ t, b }) => (b ? row(t, b, ctx) : ""))}
      </tbody>
    </table>
  </section>`;
}

function row(t: TemplateBuilds, b: PageBuild, ctx: RowContext): SafeHtml {
  const cells: Record<Column, SafeHtml> = {
    Build: html`<code>${b.buildId}</code>`,
    Channels: channelsCell(t, b, ctx),
    Built: timeOf(b.exportedAt),
    OS: b.osDetected
      ? html`${b.osDetected}`
      : html`${b.os} ${b.version} <span class="muted">(declared; not detected)</span>`,
    Size: html`<span class="nowrap" title="${b.sizeBytes} bytes">${formatBytes(b.sizeBytes)}</span>${
        b.compression && b.compression !== "none" ? html` <span class="muted">${b.compression}</span>` : ""
      }`,
    Acceptance: acceptanceCell(b.acceptance),
    Packages: b.sbom
      ? html`${b.sbom.packages}`
      : html`<span aria-hidden="true">—</span><span class="vh">no SBOM</span>`,
    Files: filesCell(t.template, b, ctx),
  };
  return html`<tr role="row" id="${ctx.anchors.get(b)}" ${b.revoked ? html` class="revoked"` : ""}>
    <th scope="row" role="rowheader">${t.template}</th>
    ${COLUMNS.map((c) => html`<td role="cell" data-label="${c}">${cells[c]}</td>`)}
  </tr> `;
}

function timeOf(iso: string): SafeHtml {
  const shown = formatUtc(iso);
  return shown ? html`<time datetime="${iso}">${shown}</time>` : html`${iso}`;
}

/** This build's channels, revocation, and where the template's other channels point. */
function channelsCell(t: TemplateBuilds, b: PageBuild, ctx: RowContext): SafeHtml {
  const mine = t.channelOf.get(b.key) ?? [];
  const items: SafeHtml[] = mine.map((c) => html`<li><span class="badge ${c}">${c}</span></li>`);
  if (b.revoked) {
    items.push(
      html`<li>
        <span class="badge revoked-badge">Revoked</span> ${timeOf(b.revoked.at)}: ${b.revoked.reason}
      </li>`,
    );
  }
  for (const name of ctx.otherChannels ? (["candidate", "stable"] as const) : []) {
    const c = t.channels[name];
    if (!c || mine.includes(name)) continue;
    const target = t.builds.find((x) => x.key === c.key);
    const anchor = target ? ctx.anchors.get(target) : undefined;
    items.push(
      html`<li class="muted">
        ${name}: ${anchor ? html`<a href="#${anchor}">${c.buildId}</a>` : html`<code>${c.buildId}</code>`}
      </li>`,
    );
  }
  return items.length === 0
    ? html`<span class="muted">none</span>`
    : html`<ul class="plain">
        ${items}
      </ul>`;
}

function acceptanceCell(a: PageAcceptance | undefined): SafeHtml {
  if (!a) return html`<span class="muted">Not tested</span>`;
  const failed = a.checks.filter((c) => !c.passed).length;
  const verdict = a.passed
    ? html`<span class="badge pass">Passed</span>`
    : html`<span class="badge fail">Failed</span>`;
  const counts =
    failed === 0
      ? `${a.checks.length} of ${a.checks.length} checks passed`
      : `${failed} of ${a.checks.length} checks failed`;
  return html`<details>
    <summary>${verdict} ${counts}</summary>
    <ul class="checks">
      ${a.checks.map(
        (c) =>
          html`<li>
            <span class="badge ${c.passed ? "pass" : "fail"}">${c.passed ? "pass" : "fail"}</span>
            <strong>${c.name}</strong>: expected ${c.expected}; saw <code>${c.evidence}</code>
          </li>`,
      )}
    </ul>
    <p class="muted">
      Booted on ${a.place} at ${timeOf(a.at)}: SSH after ${formatSeconds(a.bootToSshSeconds)},
      ${formatSeconds(a.totalSeconds)} in all.
    </p>
  </details>`;
}

/** Links to the build's files, each with hidden words naming the build, so a list of links is not ten "SBOM"s. */
function filesCell(template: string, b: PageBuild, ctx: RowContext): SafeHtml {
  const links: [string, string | undefined][] = [
    ["Manifest", b.manifestKey],
    ["SBOM", b.sbom?.key],
    ["Console log", b.acceptance?.consoleLogKey],
    ["XVA", b.key],
  ];
  const items = links
    .filter((l): l is [string, string] => l[1] !== undefined)
    .map(([label, key]) => {
      const href = hrefOf(ctx.prefix, key);
      const what = html`${label}<span class="vh"> of ${template} build ${b.buildId}</span>`;
      return href ? html`<li><a href="${href}">${what}</a></li>` : html`<li>${what} <code>${key}</code></li>`;
    });
  return html`<ul class="plain">
    ${items}
  </ul>`;
}
