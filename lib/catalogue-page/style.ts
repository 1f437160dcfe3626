import { createHash } from "node:crypto";

/**
 * The page's only style sheet, inline. Colours are dark text on light backgrounds, each pair at least 7:1 (WCAG AAA
 * for normal text; AA asks 4.5:1), and state is always said in words as well as in colour. Below 50rem the tables
 * become one card per build (the header cells are then shown before each value through `data-label`); the tables
 * keep explicit ARIA roles, so that changing their `display` does not take their semantics away in browsers that
 * would otherwise drop them.
 */
export const PAGE_CSS = `
:root { color-scheme: light; --fg: #1b1b1b; --muted: #474747; --line: #c9c9c9; --bg: #ffffff; --band: #f3f4f6;
  --link: #0a4aa8; --pass-fg: #0b4f24; --pass-bg: #e3f3e8; --fail-fg: #8a1111; --fail-bg: #fbe7e7;
  --revoked-fg: #653a00; --revoked-bg: #fff0d6; --stable-fg: #083f78; --stable-bg: #e5efff;
  --candidate-fg: #3d2f7a; --candidate-bg: #efeafd; }
* { box-sizing: border-box; }
body { margin: 0; font: 1rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
  color: var(--fg); background: var(--bg); }
header, main, footer { max-width: 90rem; margin: 0 auto; padding: 1rem; }
header { border-bottom: 1px solid var(--line); }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 .5rem; }
p { margin: .25rem 0; }
.muted, footer { color: var(--muted); }
footer { border-top: 1px solid var(--line); font-size: .9rem; }
a { color: var(--link); }
a:focus-visible, summary:focus-visible { outline: 3px solid var(--link); outline-offset: 2px; }
code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .875em; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; }
caption { text-align: left; font-weight: 600; padding: .5rem 0; }
th, td { text-align: left; vertical-align: top; padding: .5rem; border-bottom: 1px solid var(--line); }
thead th { background: var(--band); font-size: .9rem; }
tbody th { font-weight: 600; white-space: nowrap; }
tr.revoked > * { background: var(--revoked-bg); }
.badge { display: inline-block; padding: 0 .45rem; border-radius: .25rem; font-size: .85rem; font-weight: 600;
  white-space: nowrap; }
.pass { color: var(--pass-fg); background: var(--pass-bg); }
.fail { color: var(--fail-fg); background: var(--fail-bg); }
.revoked-badge { color: var(--revoked-fg); background: var(--revoked-bg); border: 1px solid var(--revoked-fg); }
.stable { color: var(--stable-fg); background: var(--stable-bg); }
.candidate { color: var(--candidate-fg); background: var(--candidate-bg); }
ul.plain { list-style: none; margin: 0; padding: 0; }
ul.checks { margin: .25rem 0 0; padding-left: 1.1rem; }
ul.checks li { margin: .25rem 0; }
summary { cursor: pointer; }
time, .nowrap { white-space: nowrap; }
.vh { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
@media (max-width: 50rem) {
  table, thead, tbody, tr, th, td, caption { display: block; }
  thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  tbody tr { border: 1px solid var(--line); border-radius: .5rem; margin: 0 0 1rem; overflow: hidden; }
  tbody th { background: var(--band); font-size: 1.1rem; white-space: normal; overflow-wrap: anywhere; }
  td { border-bottom: 1px solid var(--band); padding: .4rem .75rem; }
  td::before { content: attr(data-label); display: block; font-size: .8rem; font-weight: 600; color: var(--muted); }
}
`;

/** The Content-Security-Policy source of {@link PAGE_CSS}: the page allows that style sheet and nothing else. */
export const PAGE_CSS_HASH = `'sha256-${createHash("sha256").update(PAGE_CSS, "utf8").digest("base64")}'`;
