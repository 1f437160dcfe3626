/**
 * HTML built safe by default: every value interpolated into {@link html} is escaped, unless it is itself the result
 * of `html` (a {@link SafeHtml}). So text from the catalogue (template names, check evidence, revocation reasons:
 * anything a pool, a guest or an operator wrote) can never become markup, and forgetting to escape is impossible.
 */

/** A fragment of HTML that is already safe to include. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** A value `html` accepts: text (escaped), numbers, safe fragments, lists of them; nothing for undefined/false. */
export type HtmlValue = string | number | SafeHtml | undefined | null | false | readonly HtmlValue[];

const ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Text made safe in element content and in quoted attribute values alike. Control characters other than tab and
 * line ends (NUL, escape, DEL...) are parse errors in HTML: each becomes U+FFFD, so what is shown is what was sent.
 */
export function escapeHtml(text: string): string {
  return (
    text
      .replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c)
      // eslint-disable-next-line no-control-regex -- matching control characters is the point
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, "\ufffd")
  );
}

function render(value: HtmlValue): string {
  if (value === undefined || value === null || value === false) return "";
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return (value as readonly HtmlValue[]).map(render).join("");
  return escapeHtml(String(value));
}

/** The tagged template: `html\`<td>${text}</td>\`` escapes `text`. Attribute values must be quoted in the template. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? "";
  values.forEach((v, i) => {
    out += render(v) + (strings[i + 1] ?? "");
  });
  return new SafeHtml(out);
}

/**
 * A constant of the program as HTML, unescaped: for the page's own style sheet, whose quotes must stay quotes.
 * Never for anything that comes from the catalogue.
 */
export function constantHtml(value: string): SafeHtml {
  return new SafeHtml(value);
}
