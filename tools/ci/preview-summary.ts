/**
 * Turns `pulumi preview --json` output into a short markdown summary: which templates would rebuild, and
 * which input made them rebuild (files whose content hash changed, were added or removed; tool versions).
 *
 *   pulumi preview --json --stack dev > preview.json
 *   tsx tools/ci/preview-summary.ts preview.json >> "$GITHUB_STEP_SUMMARY"     (or read from stdin)
 *
 * Why it can tell: each template's PackerBuild (`<name>-build`, a child of the GoldenTemplate component
 * `<name>`) has the input `sources` (project-relative path → SHA-256 of everything that shapes the image) and
 * `toolVersions`; a change to either, or to `packerTemplate`, `varFile` or `templateName`, replaces the build
 * (providers/packer-build.ts REBUILD_KEYS). The preview's replace step carries the old and the new inputs, so
 * the difference is the reason. The catalogue itself is stack config (`<project>:templates`), which the
 * preview's JSON repeats under `config`, so templates without any step are listed as unchanged.
 *
 * Shape relied on (pulumi/pulumi display/json: previewDigest): `{config, steps: [{op, urn, oldState,
 * newState, replaceReasons, diffReasons}], diagnostics: [{message, severity}], changeSummary: {op: count}}`;
 * steps of unchanged resources are left out. Recorded examples: tools/ci/fixtures/preview-*.json.
 */
import * as fs from "node:fs";
import { ToolError } from "../errors";

export interface StepState {
  readonly type?: string;
  readonly parent?: string;
  readonly inputs?: Readonly<Record<string, unknown>>;
}

export interface PreviewStep {
  readonly op: string;
  readonly urn: string;
  readonly oldState?: StepState;
  readonly newState?: StepState;
  readonly replaceReasons?: readonly string[] | null;
  readonly diffReasons?: readonly string[] | null;
}

interface PreviewDiagnostic {
  readonly message?: string;
  readonly severity?: string;
}

export interface PreviewDocument {
  readonly config?: Readonly<Record<string, unknown>>;
  readonly steps: readonly PreviewStep[];
  readonly diagnostics?: readonly PreviewDiagnostic[] | null;
  readonly changeSummary?: Readonly<Record<string, number>> | null;
}

/** One reason a template would rebuild (or change). */
export type Reason =
  | { readonly kind: "file-changed"; readonly path: string; readonly from: string; readonly to: string }
  | { readonly kind: "file-added"; readonly path: string }
  | { readonly kind: "file-removed"; readonly path: string }
  | { readonly kind: "tools"; readonly from: string; readonly to: string }
  | { readonly kind: "input"; readonly key: string; readonly from: string; readonly to: string }
  | { readonly kind: "first-build"; readonly files: number; readonly tools: string }
  | { readonly kind: "channel"; readonly text: string }
  | { readonly kind: "other"; readonly text: string };

export type Plan = "rebuild" | "new" | "remove" | "update" | "unchanged" | "other";

export interface TemplatePlan {
  readonly name: string;
  readonly plan: Plan;
  readonly reasons: readonly Reason[];
}

export interface ResourceChange {
  readonly name: string;
  readonly type: string;
  readonly op: string;
}

export interface PreviewAnalysis {
  readonly stack?: string;
  readonly templates: readonly TemplatePlan[];
  /** Changes of resources outside the templates (bucket, catalogue index, CI access), Stack excluded. */
  readonly others: readonly ResourceChange[];
  readonly counts: Readonly<Record<string, number>>;
  readonly errors: readonly string[];
}

/** Inputs whose change replaces a build (providers/packer-build.ts REBUILD_KEYS). */
const BUILD_KEYS = ["templateName", "packerTemplate", "varFile"] as const;
const REPLACING_OPS = new Set(["replace", "create-replacement", "delete-replaced"]);

// A URN is urn:pulumi:<stack>::<project>::<type chain>::<name>; the name may itself contain "::".
function urnParts(urn: string): { stack: string; project: string; type: string; name: string } | undefined {
  const m = /^urn:pulumi:([^:]*)::([^:]*)::(.+?)::(.*)$/s.exec(urn);
  if (!m) return undefined;
  const chain = m[3] ?? "";
  return { stack: m[1] ?? "", project: m[2] ?? "", type: chain.split("$").pop() ?? chain, name: m[4] ?? "" };
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function stringMap(v: unknown): Record<string, string> {
  if (!isRecord(v)) return {};
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === "string"));
}

const show = (v: unknown): string =>
  v === undefined ? "(none)" : typeof v === "string" ? v : JSON.stringify(v);

/** Checks the parsed JSON is a preview document; the message says what was found instead. */
export function asPreviewDocument(value: unknown): PreviewDocument {
  if (!isRecord(value) || !Array.isArray(value.steps)) {
    const got = isRecord(value)
      ? `an object with keys ${JSON.stringify(Object.keys(value).slice(0, 8))}`
      : Array.isArray(value)
        ? "an array"
        : typeof value;
    throw new ToolError(
      "BAD_INPUT",
      `preview-summary: expected the JSON of 'pulumi preview --json' (an object with a "steps" array), but got ${got}. Run the preview with --json and pass its standard output.`,
    );
  }
  for (const [i, s] of value.steps.entries()) {
    if (!isRecord(s) || typeof s.op !== "string" || typeof s.urn !== "string") {
      throw new ToolError(
        "BAD_INPUT",
        `preview-summary: step ${i} of the preview has no "op" and "urn" strings (got ${JSON.stringify(s).slice(0, 200)}); is this 'pulumi preview --json' output?`,
      );
    }
  }
  return value as unknown as PreviewDocument;
}

/** Why one PackerBuild would be replaced: the inputs that differ between the old and the new state. */
function rebuildReasons(
  step: PreviewStep,
  oldIn: Record<string, unknown>,
  newIn: Record<string, unknown>,
): Reason[] {
  const reasons: Reason[] = [];
  const before = stringMap(oldIn.sources);
  const after = stringMap(newIn.sources);
  for (const p of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    const from = before[p];
    const to = after[p];
    if (from === undefined) reasons.push({ kind: "file-added", path: p });
    else if (to === undefined) reasons.push({ kind: "file-removed", path: p });
    else if (from !== to) reasons.push({ kind: "file-changed", path: p, from, to });
  }
  if (show(oldIn.toolVersions) !== show(newIn.toolVersions)) {
    reasons.push({ kind: "tools", from: show(oldIn.toolVersions), to: show(newIn.toolVersions) });
  }
  for (const key of BUILD_KEYS) {
    if (show(oldIn[key]) !== show(newIn[key])) {
      reasons.push({ kind: "input", key, from: show(oldIn[key]), to: show(newIn[key]) });
    }
  }
  if (reasons.length === 0) {
    // Unknown values or a reason this script does not model: fall back to what the engine says.
    const engine = [...(step.replaceReasons ?? []), ...(step.diffReasons ?? [])];
    reasons.push({ kind: "other", text: engine.length > 0 ? `changed: ${engine.join(", ")}` : "replaced" });
  }
  return reasons;
}

/** Template names of the catalogue in the preview's config, in catalogue order (undefined if absent). */
function catalogueNames(doc: PreviewDocument, project: string | undefined): string[] | undefined {
  if (!doc.config) return undefined;
  const key = Object.keys(doc.config).find((k) =>
    project !== undefined ? k === `${project}:templates` : k.endsWith(":templates"),
  );
  const raw = key !== undefined ? doc.config[key] : undefined;
  let list: unknown = raw;
  if (typeof raw === "string") {
    try {
      list = JSON.parse(raw);
    } catch {
      return undefined;
    }
  }
  if (!Array.isArray(list)) return undefined;
  return list.flatMap((t) => (isRecord(t) && typeof t.name === "string" ? [t.name] : []));
}

/** What a template's PackerBuild step says about the template: the plan, and why. */
export function buildPlan(step: PreviewStep): { plan: Plan; reasons: Reason[] } {
  const oldIn = { ...step.oldState?.inputs };
  const newIn = { ...step.newState?.inputs };
  if (step.op === "create") {
    const files = Object.keys(stringMap(newIn.sources)).length;
    return { plan: "new", reasons: [{ kind: "first-build", files, tools: show(newIn.toolVersions) }] };
  }
  if (REPLACING_OPS.has(step.op)) return { plan: "rebuild", reasons: rebuildReasons(step, oldIn, newIn) };
  if (step.op === "delete") return { plan: "remove", reasons: [] };
  if (step.op === "update") {
    const visible = [...new Set([...Object.keys(oldIn), ...Object.keys(newIn)])]
      .filter((k) => show(oldIn[k]) !== show(newIn[k]))
      .sort()
      .filter((k) => k !== "__provider");
    const text =
      visible.length > 0
        ? `changed without rebuild: ${visible.join(", ")}`
        : "provider code changed (no rebuild)";
    return { plan: "update", reasons: [{ kind: "other", text }] };
  }
  return { plan: "other", reasons: [{ kind: "other", text: `build: ${step.op}` }] };
}

type ChildChange = ResourceChange & { reasons: readonly string[] };

/** The value the engine shows for an input that is not known before the update runs. */
const UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/**
 * What a template's PoolChannels step says in words: promotions, rollbacks, revocations. Build ids start with
 * their UTC build time (providers/packer-build.ts newBuildId), so an earlier id is an older build.
 */
export function channelEvents(step: PreviewStep): string[] {
  const before = isRecord(step.oldState?.inputs) ? step.oldState.inputs : {};
  const after = isRecord(step.newState?.inputs) ? step.newState.inputs : {};
  const ch = (v: unknown) => stringMap(v);
  const out: string[] = [];
  for (const channel of ["stable", "candidate"] as const) {
    const from = ch(before.channels)[channel];
    const to = isRecord(after.channels)
      ? after.channels[channel]
      : after.channels === UNKNOWN_VALUE
        ? UNKNOWN_VALUE
        : undefined;
    if (to === from || (to === undefined && from === undefined)) continue;
    if (to === UNKNOWN_VALUE)
      out.push(
        `${channel}: ${from ?? "(none)"} → the new build${channel === "stable" ? ", if it passes acceptance" : ""}`,
      );
    else if (typeof to !== "string") out.push(`${channel}: ${from ?? "(none)"} → (none)`);
    else if (from !== undefined && to < from) out.push(`**rollback** of ${channel}: ${from} → ${to}`);
    else out.push(`**promotion** to ${channel}: ${from ?? "(none)"} → ${to}`);
  }
  const revokedBefore = Array.isArray(before.revoked)
    ? before.revoked.filter((x): x is string => typeof x === "string")
    : [];
  const revokedAfter = Array.isArray(after.revoked)
    ? after.revoked.filter((x): x is string => typeof x === "string")
    : [];
  for (const id of revokedAfter.filter((x) => !revokedBefore.includes(x)))
    out.push(`**revokes** build ${id}`);
  for (const id of revokedBefore.filter((x) => !revokedAfter.includes(x)))
    out.push(`lifts the revocation of build ${id}`);
  return out;
}

/** The template (GoldenTemplate component) a resource belongs to, from its parent's URN. */
function templateOf(state: StepState | undefined): string | undefined {
  const parent = state?.parent !== undefined ? urnParts(state.parent) : undefined;
  return parent?.type.endsWith(":GoldenTemplate") === true ? parent.name : undefined;
}

/**
 * Sorts the preview's steps: each template's plan (from its PackerBuild, or its removal), the changes of its
 * other children, and the resources that belong to no template.
 */
function classifySteps(doc: PreviewDocument): {
  plans: Map<string, { plan: Plan; reasons: Reason[] }>;
  childChanges: Map<string, ChildChange[]>;
  channels: Map<string, string[]>;
  others: ResourceChange[];
} {
  const plans = new Map<string, { plan: Plan; reasons: Reason[] }>();
  const channels = new Map<string, string[]>();
  const childChanges = new Map<string, ChildChange[]>();
  const others: ResourceChange[] = [];
  const seen = new Set<string>();
  for (const step of doc.steps) {
    // A replacement may show as replace, create-replacement and delete-replaced: count it once.
    const key = `${REPLACING_OPS.has(step.op) ? "replace" : step.op} ${step.urn}`;
    if (seen.has(key) || step.op === "same") continue;
    seen.add(key);
    const parts = urnParts(step.urn);
    if (parts === undefined) continue;
    const state = step.newState ?? step.oldState;
    const type = state?.type ?? parts.type;
    const shortType = type.split(":").pop() ?? type;
    const template = templateOf(state);
    if (type === "pulumi:pulumi:Stack") continue;
    if (type.endsWith(":GoldenTemplate")) {
      if (step.op === "delete") plans.set(parts.name, { plan: "remove", reasons: [] });
    } else if (template === undefined) {
      others.push({ name: parts.name, type: shortType, op: step.op });
    } else if (type.endsWith(":PackerBuild")) {
      plans.set(template, buildPlan(step));
    } else if (type.endsWith(":PoolChannels")) {
      channels.set(template, channelEvents(step));
    } else {
      const reasons = [...(step.replaceReasons ?? []), ...(step.diffReasons ?? [])];
      childChanges.set(template, [
        ...(childChanges.get(template) ?? []),
        { name: parts.name, type: shortType, op: step.op, reasons },
      ]);
    }
  }
  return { plans, childChanges, channels, others };
}

/**
 * The pool template and the artifact follow a rebuild, a first build or a removal: nothing to add. Otherwise (the
 * build untouched or updated in place) their own changes are the news: an artifact exported again, or a
 * replacement the preview shows because the build's outputs are unknown until its update has run.
 */
function addChildChanges(
  plans: Map<string, { plan: Plan; reasons: Reason[] }>,
  childChanges: Map<string, ChildChange[]>,
): void {
  for (const [template, changes] of childChanges) {
    const p = plans.get(template);
    if (p !== undefined && p.plan !== "update") continue;
    const more: Reason[] = changes.map((c) => ({
      kind: "other",
      text: `${c.name}: ${c.op}${c.reasons.length > 0 ? ` (${c.reasons.join(", ")})` : ""}`,
    }));
    plans.set(template, { plan: p?.plan ?? "other", reasons: [...(p?.reasons ?? []), ...more] });
  }
}

/** The preview's error diagnostics, without the CLI's color tags (<{%reset%}>) and ANSI codes. */
function previewErrors(doc: PreviewDocument): string[] {
  return (
    (doc.diagnostics ?? [])
      .filter((d) => d.severity === "error" && typeof d.message === "string")
      // eslint-disable-next-line no-control-regex
      .map((d) => (d.message ?? "").replace(/<\{%[^%]*%\}>|\u001b\[[0-9;]*m/g, "").trim())
  );
}

export function analyzePreview(doc: PreviewDocument): PreviewAnalysis {
  const first = doc.steps.map((s) => urnParts(s.urn)).find((p) => p !== undefined);
  const { plans, childChanges, channels, others } = classifySteps(doc);
  addChildChanges(plans, childChanges);
  // Channel moves are news whatever else happens to the template: a promotion follows a rebuild.
  for (const [template, events] of channels) {
    if (events.length === 0) continue;
    const p = plans.get(template);
    plans.set(template, {
      plan: p?.plan ?? "other",
      reasons: [
        ...(p?.reasons ?? []).filter(
          (r) => !(r.kind === "other" && r.text.startsWith(`${template}-channels:`)),
        ),
        ...events.map((text): Reason => ({ kind: "channel", text })),
      ],
    });
  }
  // Catalogue order first, then templates the catalogue no longer lists (being removed).
  const names = catalogueNames(doc, first?.project) ?? [];
  const ordered = [...names, ...[...plans.keys()].filter((n) => !names.includes(n)).sort()];
  const templates: TemplatePlan[] = ordered.map((name) => {
    const p = plans.get(name);
    return { name, plan: p?.plan ?? "unchanged", reasons: p?.reasons ?? [] };
  });
  return {
    ...(first !== undefined ? { stack: first.stack } : {}),
    templates,
    others,
    counts: { ...doc.changeSummary },
    errors: previewErrors(doc),
  };
}

// ---- markdown ----

/** Text inside a table cell: pipes escaped, no line breaks. */
function cell(text: string): string {
  return text.replace(/\r?\n|\r/g, " ").replace(/\|/g, "\\|");
}

/** An inline code span that survives any content (backticks, pipes) inside a table cell. */
export function code(text: string): string {
  const t = text.replace(/\r?\n|\r/g, " ");
  const runs = t.match(/`+/g) ?? [];
  const fence = "`".repeat(Math.max(0, ...runs.map((r) => r.length)) + 1);
  const pad = t.startsWith("`") || t.endsWith("`") ? " " : "";
  return `${fence}${pad}${t.replace(/\|/g, "\\|")}${pad}${fence}`;
}

const short = (hash: string) => (/^[0-9a-f]{64}$/.test(hash) ? hash.slice(0, 12) : hash);

function reasonText(r: Reason): string {
  switch (r.kind) {
    case "file-changed":
      return `changed ${code(r.path)} (${code(short(r.from))} → ${code(short(r.to))})`;
    case "file-added":
      return `new file ${code(r.path)}`;
    case "file-removed":
      return `no longer uses ${code(r.path)}`;
    case "tools":
      return `tool versions ${code(r.from)} → ${code(r.to)}`;
    case "input":
      return `${r.key} ${code(r.from)} → ${code(r.to)}`;
    case "first-build":
      return `new in the catalogue: first build from ${r.files} files, tools ${code(r.tools)}`;
    case "channel":
    case "other":
      return cell(r.text);
  }
}

const PLAN_TEXT: Record<Plan, string> = {
  rebuild: "**rebuild**",
  new: "**build** (new)",
  remove: "**remove** (template, disks and archive)",
  update: "update, no rebuild",
  unchanged: "unchanged",
  other: "changes (no rebuild)",
};

/** Most reasons shown per template; the rest are counted (a changed shared script can touch dozens). */
const MAX_REASONS = 8;

const COUNT_ORDER = ["create", "update", "replace", "delete", "same"];
const COUNT_TEXT: Record<string, string> = {
  create: "to create",
  update: "to update",
  replace: "to replace",
  delete: "to delete",
  same: "unchanged",
};

export function renderMarkdown(a: PreviewAnalysis): string {
  const rebuilding = a.templates.filter((t) => t.plan === "rebuild" || t.plan === "new").length;
  const lines: string[] = [];
  const where = a.stack !== undefined ? ` of ${code(a.stack)}` : "";
  lines.push(
    `### Pulumi preview${where}: ${rebuilding} of ${a.templates.length} template${a.templates.length === 1 ? "" : "s"} would be built`,
  );
  lines.push("");
  if (a.templates.length > 0) {
    lines.push("| template | plan | why |", "|---|---|---|");
    for (const t of a.templates) {
      const shown = t.reasons.slice(0, MAX_REASONS).map(reasonText);
      if (t.reasons.length > MAX_REASONS) shown.push(`and ${t.reasons.length - MAX_REASONS} more`);
      lines.push(`| ${code(t.name)} | ${PLAN_TEXT[t.plan]} | ${shown.join("<br>")} |`);
    }
    lines.push("");
  }
  if (a.others.length > 0) {
    lines.push(
      `Other changes: ${a.others.map((o) => `${code(o.name)} (${cell(o.type)}) ${cell(o.op)}`).join(", ")}.`,
    );
    lines.push("");
  }
  const counts = [
    ...COUNT_ORDER.filter((k) => (a.counts[k] ?? 0) > 0),
    ...Object.keys(a.counts)
      .filter((k) => !COUNT_ORDER.includes(k) && (a.counts[k] ?? 0) > 0)
      .sort(),
  ].map((k) => `${a.counts[k]} ${COUNT_TEXT[k] ?? cell(k)}`);
  if (counts.length > 0) lines.push(`Resources: ${counts.join(", ")}.`, "");
  if (a.errors.length > 0) {
    lines.push(`**The preview reported ${a.errors.length} error${a.errors.length === 1 ? "" : "s"}:**`, "");
    for (const e of a.errors.slice(0, 5)) lines.push(`- ${cell(e.length > 500 ? `${e.slice(0, 500)}…` : e)}`);
    lines.push("");
  }
  return `${lines.join("\n").trimEnd()}\n`;
}

/** Parses, checks, analyses and renders in one go. */
export function summarize(json: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (err) {
    const first = json.trimStart().slice(0, 80).replace(/\s+/g, " ");
    throw new ToolError(
      "BAD_INPUT",
      `preview-summary: the input is not JSON (${(err as Error).message}); it starts with "${first}". Run 'pulumi preview --json' and pass its standard output only (its progress goes to standard error).`,
      { cause: err },
    );
  }
  return renderMarkdown(analyzePreview(asPreviewDocument(parsed)));
}

export function main(argv: readonly string[]): number {
  try {
    if (argv.length > 1) {
      throw new ToolError(
        "USAGE",
        `preview-summary: expected at most one argument (a file, or - for standard input), but ${argv.length} were given`,
      );
    }
    const file = argv[0] ?? "-";
    let text: string;
    try {
      text = fs.readFileSync(file === "-" ? 0 : file, "utf8");
    } catch (err) {
      throw new ToolError(
        "USAGE",
        `preview-summary: cannot read ${file === "-" ? "standard input" : file}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    process.stdout.write(summarize(text));
    return 0;
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
