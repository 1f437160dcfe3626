import { expect } from "chai";
import { constantHtml, escapeHtml, html } from "./html";

// The exact strings matter here: Prettier would reformat the HTML inside html`` templates.
describe("html", () => {
  it("escapes every interpolated text, in content and attributes", () => {
    const evil = `"><script>alert('x')</script>&amp;`;
    // prettier-ignore
    const out = html`<a title="${evil}">${evil}</a>`.value;
    expect(out).to.equal(
      '<a title="&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;amp;">&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;amp;</a>',
    );
  });

  it("keeps nested html fragments, joins lists, drops undefined, null and false", () => {
    // prettier-ignore
    const inner = html`<b>${"<i>"}</b>`;
    // prettier-ignore
    const out = html`<p>${inner}${[html`<br>`, "a<b", 3]}${undefined}${null}${false}</p>`.value;
    expect(out).to.equal("<p><b>&lt;i&gt;</b><br>a&lt;b3</p>");
  });

  it("escapeHtml covers the five characters that matter", () => {
    expect(escapeHtml(`&<>"'`)).to.equal("&amp;&lt;&gt;&quot;&#39;");
    expect(escapeHtml("plain text: 1/2 + ü\ttab\nline")).to.equal("plain text: 1/2 + ü\ttab\nline");
  });

  it("control characters (HTML parse errors) become U+FFFD", () => {
    expect(escapeHtml("a\u0000b\u001bc\u007fd")).to.equal("a\ufffdb\ufffdc\ufffdd");
  });

  it("constantHtml passes a program constant through as it is", () => {
    // prettier-ignore
    const out = html`<style>${constantHtml('a { font-family: "X" }')}</style>`.value;
    expect(out).to.equal('<style>a { font-family: "X" }</style>');
  });
});
