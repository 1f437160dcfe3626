import { expect } from "chai";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as fc from "fast-check";
import {
  analyzePreview,
  channelEvents,
  type PreviewStep,
  asPreviewDocument,
  buildPlan,
  code,
  renderMarkdown,
  summarize,
  type PreviewAnalysis,
  type Reason,
} from "./preview-summary";
import { ToolError } from "../errors";

/*
 * The fixtures are real `pulumi preview --json` output of this project's dev stack (devpool + versitygw, two
 * templates really built once), recorded by tools/ci/record-preview-fixtures.ts; its header lists what each
 * scenario edited. The expectations below come from those edits (which file, which template), and hashes
 * and counts are read from the recorded document itself, not from the code under test.
 */
const FIXTURES = path.join(__dirname, "fixtures");
const ROOT = path.resolve(__dirname, "../..");
const raw = (scenario: string) => fs.readFileSync(path.join(FIXTURES, `preview-${scenario}.json`), "utf8");

interface RecordedStep {
  op: string;
  urn: string;
  oldState?: { inputs?: { sources?: Record<string, string>; toolVersions?: string } };
  newState?: { inputs?: { sources?: Record<string, string>; toolVersions?: string } };
}
interface Recorded {
  steps: RecordedStep[];
  changeSummary: Record<string, number>;
  config: Record<string, string>;
}
const recorded = (scenario: string) => JSON.parse(raw(scenario)) as Recorded;
const buildStep = (scenario: string, template: string): RecordedStep => {
  const s = recorded(scenario).steps.find((x) => x.urn.endsWith(`::${template}-build`));
  if (s === undefined) throw new Error(`no ${template}-build step in preview-${scenario}.json`);
  return s;
};
/** The recorded hash of one file before and after, from the build step's inputs. */
const hashes = (scenario: string, template: string, file: string) => {
  const s = buildStep(scenario, template);
  return { from: s.oldState?.inputs?.sources?.[file], to: s.newState?.inputs?.sources?.[file] };
};
const analysis = (scenario: string): PreviewAnalysis =>
  analyzePreview(asPreviewDocument(JSON.parse(raw(scenario))));
const plansOf = (a: PreviewAnalysis) => Object.fromEntries(a.templates.map((t) => [t.name, t.plan]));
const reasonsOf = (a: PreviewAnalysis, name: string): readonly Reason[] =>
  a.templates.find((t) => t.name === name)?.reasons ?? [];

/** Table rows of the markdown, split on unescaped pipes. */
function tableRows(md: string): string[][] {
  return md
    .split("\n")
    .filter((l) => l.startsWith("|"))
    .map((l) => l.split(/(?<!\\)\|/).slice(1, -1));
}

describe("tools/ci/preview-summary: which templates would rebuild and why, from recorded previews", () => {
  it("create: every template is a first build; the other resources and the counts are listed", () => {
    const a = analysis("create");
    expect(plansOf(a)).to.deep.equal({ "debian-12-a": "new", "debian-12-b": "new" });
    const files = Object.keys(buildStep("create", "debian-12-a").newState?.inputs?.sources ?? {}).length;
    expect(files).to.be.greaterThan(3);
    expect(reasonsOf(a, "debian-12-a")).to.deep.equal([
      {
        kind: "first-build",
        files,
        tools: buildStep("create", "debian-12-a").newState?.inputs?.toolVersions,
      },
    ]);
    expect(a.others.map((o) => `${o.name} ${o.op}`).sort()).to.deep.equal([
      "artifacts create",
      "catalogue-index create",
    ]);
    const md = renderMarkdown(a);
    expect(md).to.match(/^### Pulumi preview of `dev`: 2 of 2 templates would be built\n/);
    expect(md).to.include(`first build from ${files} files`);
    expect(md).to.include(`Resources: ${recorded("create").changeSummary.create} to create.`);
  });

  it("no changes: every template of the catalogue is listed as unchanged, nothing else", () => {
    const a = analysis("no-changes");
    expect(plansOf(a)).to.deep.equal({ "debian-12-a": "unchanged", "debian-12-b": "unchanged" });
    expect(a.others).to.deep.equal([]);
    const md = renderMarkdown(a);
    expect(md).to.match(/0 of 2 templates would be built/);
    expect(md).to.not.match(/Other changes/);
    expect(md).to.include(`Resources: ${recorded("no-changes").changeSummary.same} unchanged.`);
  });

  it("a var file edited: only its template rebuilds, because of that one file", () => {
    const file = "tests/fixtures/e2e/a.pkrvars.hcl";
    const a = analysis("var-file");
    expect(plansOf(a)).to.deep.equal({ "debian-12-a": "rebuild", "debian-12-b": "unchanged" });
    const { from, to } = hashes("var-file", "debian-12-a", file);
    expect(reasonsOf(a, "debian-12-a")).to.deep.equal([{ kind: "file-changed", path: file, from, to }]);
    const md = renderMarkdown(a);
    expect(md).to.include(
      `| \`debian-12-a\` | **rebuild** | changed \`${file}\` (\`${from?.slice(0, 12)}\` → \`${to?.slice(0, 12)}\`) |`,
    );
    expect(md).to.include("| `debian-12-b` | unchanged |  |");
    expect(md).to.include("Other changes: `catalogue-index` (CatalogueIndex) update.");
  });

  it("a script added to a var file: the var file changed and one new file", () => {
    const a = analysis("file-added");
    expect(plansOf(a)).to.deep.equal({ "debian-12-a": "rebuild", "debian-12-b": "unchanged" });
    expect(reasonsOf(a, "debian-12-a").map((r) => `${r.kind} ${"path" in r ? r.path : ""}`)).to.deep.equal([
      "file-added packer/debian/motd.sh",
      "file-changed tests/fixtures/e2e/a.pkrvars.hcl",
    ]);
    expect(renderMarkdown(a)).to.include("new file `packer/debian/motd.sh`");
  });

  it("a script dropped from the Packer template: both rebuild, template changed and one file fewer", () => {
    const a = analysis("file-removed");
    expect(plansOf(a)).to.deep.equal({ "debian-12-a": "rebuild", "debian-12-b": "rebuild" });
    for (const t of ["debian-12-a", "debian-12-b"]) {
      expect(reasonsOf(a, t).map((r) => `${r.kind} ${"path" in r ? r.path : ""}`)).to.deep.equal([
        "file-removed packer/common/harden_system.sh",
        "file-changed packer/local/debian12-local.pkr.hcl",
      ]);
    }
    expect(renderMarkdown(a)).to.include("no longer uses `packer/common/harden_system.sh`");
  });

  it("a shared script and the tool versions changed: both rebuild, each naming both reasons", () => {
    const a = analysis("shared-tools");
    expect(plansOf(a)).to.deep.equal({ "debian-12-a": "rebuild", "debian-12-b": "rebuild" });
    const before = buildStep("shared-tools", "debian-12-a").oldState?.inputs?.toolVersions;
    const after = buildStep("shared-tools", "debian-12-a").newState?.inputs?.toolVersions;
    expect(after).to.match(/packer 1\.9\.5/);
    for (const t of ["debian-12-a", "debian-12-b"]) {
      const { from, to } = hashes("shared-tools", t, "packer/common/harden_ssh.sh");
      expect(reasonsOf(a, t)).to.deep.equal([
        { kind: "file-changed", path: "packer/common/harden_ssh.sh", from, to },
        { kind: "tools", from: before, to: after },
      ]);
    }
    const md = renderMarkdown(a);
    expect(md).to.match(/2 of 2 templates would be built/);
    expect(md).to.include(`tool versions \`${before}\` → \`${after}\``);
  });

  it("the same change under deploy.yml's template filter: only the filtered template", () => {
    expect(plansOf(analysis("shared-tools-targeted"))).to.deep.equal({
      "debian-12-a": "rebuild",
      "debian-12-b": "unchanged",
    });
  });

  it("the catalogue edited: tags change without rebuild, a removed template goes, a new one is built", () => {
    const a = analysis("catalogue");
    expect(a.templates.map((t) => [t.name, t.plan])).to.deep.equal([
      ["debian-12-a", "update"],
      ["debian-12-c", "new"],
      ["debian-12-b", "remove"],
    ]);
    // The build's update leaves its outputs unknown in a preview, so the preview shows its pool template and
    // artifact updating (in place: neither is rebuilt nor exported again unless `up` finds a new build): the
    // summary lists them rather than hide them.
    const updated = recorded("catalogue")
      .steps.filter((s) => s.op === "update" && /::debian-12-a-(template|artifact)$/.test(s.urn))
      .map((s) => s.urn.slice(s.urn.lastIndexOf("::") + 2));
    expect(updated).to.have.members(["debian-12-a-template", "debian-12-a-artifact"]);
    const reasons = reasonsOf(a, "debian-12-a");
    expect(reasons[0]).to.deep.equal({ kind: "other", text: "changed without rebuild: tags" });
    expect(reasons.slice(1)).to.deep.equal(
      updated.map((name) => ({ kind: "other", text: `${name}: update` })),
    );
    const md = renderMarkdown(a);
    expect(md).to.match(/1 of 3 templates would be built/);
    expect(md).to.include("| `debian-12-b` | **remove** (template, disks and archive) |  |");
  });

  it("every recorded summary is a well-formed table: three cells a row, one row per template", () => {
    for (const f of fs.readdirSync(FIXTURES).filter((n) => /^preview-.*\.json$/.test(n))) {
      const scenario = f.slice("preview-".length, -".json".length);
      const md = summarize(raw(scenario));
      const rows = tableRows(md);
      expect(rows.length, f).to.equal(analysis(scenario).templates.length + 2);
      for (const r of rows) expect(r, `${f}: ${r.join("|")}`).to.have.length(3);
    }
  });

  it("without the config section, changed templates are still listed (unchanged ones cannot be)", () => {
    const doc = JSON.parse(raw("var-file")) as Record<string, unknown>;
    delete doc.config;
    const a = analyzePreview(asPreviewDocument(doc));
    expect(plansOf(a)).to.deep.equal({ "debian-12-a": "rebuild" });
  });

  it("errors the preview reported are listed, without the CLI's color tags", () => {
    const doc = JSON.parse(raw("var-file")) as Record<string, unknown>;
    doc.diagnostics = [
      {
        message: "<{%reset%}>pool: https://pool refused the credentials\u001b[0m<{%reset%}>\n",
        severity: "error",
      },
      { message: "just a warning", severity: "warning" },
    ];
    const md = renderMarkdown(analyzePreview(asPreviewDocument(doc)));
    expect(md).to.include(
      "**The preview reported 1 error:**\n\n- pool: https://pool refused the credentials\n",
    );
    expect(md).to.not.include("warning");
  });

  it("input that is not a preview is refused with what was found and how to get the right one", () => {
    expect(() => summarize("Previewing update (dev):\n"))
      .to.throw(ToolError, /not JSON.*"Previewing update/)
      .with.property("code", "BAD_INPUT");
    expect(() => summarize('{"stdout": ""}')).to.throw(
      /"steps" array\), but got an object with keys \["stdout"\]/,
    );
    expect(() => summarize("[]")).to.throw(/but got an array/);
    expect(() => summarize('{"steps": [{"op": 1}]}')).to.throw(/step 0 of the preview has no "op" and "urn"/);
  });
});

describe("tools/ci/preview-summary: markdown that survives any name", () => {
  it("a code span holds any text: its fence is longer than every backtick run inside", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("a", "`", "|", " ", "-", "\n") }), (s) => {
        const c = code(s);
        const fence = /^`+/.exec(c)?.[0] ?? "";
        expect(c.endsWith(fence)).to.be.true;
        const inner = c.slice(fence.length, c.length - fence.length);
        for (const run of inner.match(/`+/g) ?? []) expect(run.length).to.be.lessThan(fence.length);
        expect(inner).to.not.match(/\n/);
        expect(inner).to.not.match(/(?<!\\)\|/);
      }),
    );
  });

  it("table rows keep three cells whatever the template names, paths and ops", () => {
    const text = fc.string({ unit: fc.constantFrom("a", "`", "|", " ", "\n", "\\", "*") });
    fc.assert(
      fc.property(fc.array(fc.tuple(text, text, text), { minLength: 1, maxLength: 4 }), (ts) => {
        const md = renderMarkdown({
          templates: ts.map(([name, p, other]) => ({
            name,
            plan: "rebuild",
            reasons: [
              { kind: "file-added", path: p },
              { kind: "other", text: other },
            ],
          })),
          others: [],
          counts: {},
          errors: [],
        });
        for (const r of tableRows(md)) expect(r).to.have.length(3);
      }),
    );
  });
});

describe("tools/ci/preview-summary: command line", function () {
  this.timeout(30000);
  const cli = (args: string[], input?: string) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ["--require", "tsx/cjs", "tools/ci/preview-summary.ts", ...args],
        {
          cwd: ROOT,
          stdio: ["pipe", "pipe", "pipe"],
        },
      );
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
      child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, stdout, stderr }));
      child.stdin.end(input ?? "");
    });

  it("reads a file or standard input and prints the same markdown", async () => {
    const fromFile = await cli([path.join(FIXTURES, "preview-var-file.json")]);
    const fromStdin = await cli([], raw("var-file"));
    expect(fromFile.code).to.equal(0);
    expect(fromFile.stdout).to.equal(summarize(raw("var-file")));
    expect(fromStdin.stdout).to.equal(fromFile.stdout);
  });

  it("exits 1 with the reason on input that is not a preview, and on a missing file", async () => {
    const bad = await cli(["-"], "error: stack not found\n");
    expect(bad.code).to.equal(1);
    expect(bad.stdout).to.equal("");
    expect(bad.stderr).to.match(/preview-summary: the input is not JSON/);
    const missing = await cli(["no-such-preview.json"]);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.match(/cannot read no-such-preview\.json/);
  });
});

describe("tools/ci/preview-summary: what a PackerBuild step means for its template", () => {
  const urn =
    "urn:pulumi:dev::xcpng-templates::xcpng:index:GoldenTemplate$pulumi-nodejs:dynamic/xcpng:PackerBuild::a-build";
  const inputs = (sources: Record<string, string>, more: Record<string, unknown> = {}) => ({
    inputs: { sources, toolVersions: "packer 1.9.5", ...more },
  });
  for (const [op, oldState, newState, plan, reasons] of [
    [
      "create",
      undefined,
      inputs({ "a.sh": "1", "b.sh": "2" }),
      "new",
      [{ kind: "first-build", files: 2, tools: "packer 1.9.5" }],
    ],
    [
      "replace",
      inputs({ "a.sh": "1" }),
      inputs({ "a.sh": "2" }),
      "rebuild",
      [{ kind: "file-changed", path: "a.sh", from: "1", to: "2" }],
    ],
    [
      "create-replacement",
      inputs({ "a.sh": "1" }),
      inputs({ "a.sh": "1", "b.sh": "2" }),
      "rebuild",
      [{ kind: "file-added", path: "b.sh" }],
    ],
    ["delete", inputs({}), undefined, "remove", []],
    [
      "update",
      inputs({}, { tags: ["a"] }),
      inputs({}, { tags: ["a", "b"] }),
      "update",
      [{ kind: "other", text: "changed without rebuild: tags" }],
    ],
    [
      "update",
      inputs({}, { __provider: "x" }),
      inputs({}, { __provider: "y" }),
      "update",
      [{ kind: "other", text: "provider code changed (no rebuild)" }],
    ],
    ["refresh", inputs({}), inputs({}), "other", [{ kind: "other", text: "build: refresh" }]],
  ] as const) {
    it(`${op}${op === "update" ? ` (${JSON.stringify(reasons[0])})` : ""}: ${plan}`, () => {
      const step = {
        op,
        urn,
        ...(oldState !== undefined ? { oldState } : {}),
        ...(newState !== undefined ? { newState } : {}),
      };
      expect(buildPlan(step)).to.deep.equal({ plan, reasons });
    });
  }
});

describe("preview summary: channels in words", () => {
  const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
  const step = (before: object, after: object): PreviewStep => ({
    op: "update",
    urn: "urn:pulumi:dev::xcpng-templates::xcpng:index:GoldenTemplate$pulumi-nodejs:dynamic/xcpng:PoolChannels::debian-12-channels",
    oldState: { inputs: { channels: {}, revoked: [], ...before } },
    newState: { inputs: { channels: {}, revoked: [], ...after } },
  });
  const b1 = "20260101T000000Z-aaaaaa";
  const b2 = "20260201T000000Z-bbbbbb";
  const cases: ReadonlyArray<{ when: string; step: PreviewStep; says: string[] }> = [
    {
      when: "nothing moves",
      step: step({ channels: { stable: b2 } }, { channels: { stable: b2 } }),
      says: [],
    },
    {
      when: "a newer build becomes stable",
      step: step({ channels: { stable: b1, candidate: b2 } }, { channels: { stable: b2, candidate: b2 } }),
      says: [`**promotion** to stable: ${b1} → ${b2}`],
    },
    {
      when: "stable pinned back to an older build",
      step: step({ channels: { stable: b2 } }, { channels: { stable: b1 } }),
      says: [`**rollback** of stable: ${b2} → ${b1}`],
    },
    {
      when: "a build is revoked",
      step: step({ channels: { stable: b2 }, revoked: [] }, { channels: { stable: b1 }, revoked: [b2] }),
      says: [`**rollback** of stable: ${b2} → ${b1}`, `**revokes** build ${b2}`],
    },
    {
      when: "a rebuild: the channels are not known before the update",
      step: step({ channels: { stable: b1, candidate: b1 } }, { channels: UNKNOWN }),
      says: [`stable: ${b1} → the new build, if it passes acceptance`, `candidate: ${b1} → the new build`],
    },
  ];
  for (const c of cases) it(c.when, () => expect(channelEvents(c.step)).to.deep.equal(c.says));

  it("puts them in the template's row", () => {
    const md = summarize(
      JSON.stringify({
        steps: [step({ channels: { stable: b2 } }, { channels: { stable: b1 } })].map((s) => ({
          ...s,
          oldState: {
            ...s.oldState,
            parent: "urn:pulumi:dev::xcpng-templates::xcpng:index:GoldenTemplate::debian-12",
          },
          newState: {
            ...s.newState,
            parent: "urn:pulumi:dev::xcpng-templates::xcpng:index:GoldenTemplate::debian-12",
          },
        })),
      }),
    );
    expect(md).to.match(/\| `debian-12` \| changes \(no rebuild\) \| \*\*rollback\*\* of stable/);
  });
});
