/**
 * What a line of packer/build.sh's output (stderr) is, for a readable `up`: the few lines that mark a step, the
 * progress of a long transfer and warnings are shown; everything else (apt, debootstrap, Packer's chatter) only
 * goes to the build's log file. Pure and table-tested (build-output.test.ts).
 *
 * Where the marks come from:
 * - `build.sh: --- <step>`: packer/build.sh's own steps (inspect, render, validate, packer build);
 * - Packer, run with `-timestamp-ui`, prefixes every line with `<RFC 3339 time>: `; what it says itself is
 *   `==> <build source>: <message>` (ui.Say), but it relays a provisioner's stderr the same way (ui.Error) and its
 *   stdout as `    <source>: <line>`, so `==>` alone does not mark a step: a step is a `==>` line in the words
 *   Packer and the XCP-ng plugin use for theirs ({@link PACKER_STEP}: `Provisioning with shell script: …`, the
 *   plugin's `Step: …`; not `Running local shell script`, the local path's one step, which says nothing more);
 * - through that relay, packer/local/build-local.sh marks its steps `build-local.sh: --- <step> (t+<n>s)` (the
 *   provisioning scripts inside its `provision` step only go to the log); any tool reports a long transfer as
 *   `<tool>: progress <text>` (pack-and-import's upload into the pool);
 * - a script's own lines are `<script>: <text>` or `[<n>-<script>] <text>`: shown only when they say `warning:`.
 */

export type BuildLine =
  /** The start of a step of the build. */
  | { readonly kind: "step"; readonly name: string }
  /** A long transfer's progress: `text` is percent, rate and time left. */
  | { readonly kind: "progress"; readonly source: string; readonly text: string }
  | { readonly kind: "warning"; readonly text: string }
  /** Everything else: kept in the log file, shown only with XCPNG_VERBOSE=1. */
  | { readonly kind: "detail" };

const DETAIL: BuildLine = { kind: "detail" };
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z: /;
/** Packer's relay of a builder's or provisioner's line: `==> source: text` (said) or `    source: text` (output). */
const RELAYED = /^(==>|\s{4})\s*([^\s:]+): (.*)$/;
/**
 * How Packer's steps begin (packer-plugin-sdk's shell, shell-local and file provisioners, the SSH communicator's
 * step, and vatesfr/packer-plugin-xenserver's `ui.Say("Step: …")`). A step said otherwise is only in the log.
 */
const PACKER_STEP =
  /^(Step: |Provisioning with |Uploading |Downloading |Waiting for SSH|Connected to SSH|Gracefully halting|Typing the boot command)/;

/** Classifies one line of build.sh's stderr (already masked). */
export function classifyBuildLine(raw: string): BuildLine {
  const line = raw.replace(TIMESTAMP, "");
  const own = ownMark(line);
  if (own !== undefined) return own;
  const relayed = RELAYED.exec(line);
  if (relayed === null) return DETAIL;
  const [, arrow, , text = ""] = relayed;
  const mark = ownMark(text);
  if (mark !== undefined) return mark;
  if (arrow === "==>" && PACKER_STEP.test(text)) return { kind: "step", name: text.trim() };
  return /\bwarning:/i.test(text) ? { kind: "warning", text } : DETAIL;
}

/** The marks the project's own scripts print, relayed by Packer or not. */
function ownMark(text: string): BuildLine | undefined {
  let m = /^(?:build|build-local)\.sh: --- (.+?)(?: \(t\+\d+s\))?$/.exec(text);
  if (m?.[1] !== undefined) return { kind: "step", name: m[1] };
  m = /^([\w.-]+): progress (.+)$/.exec(text);
  if (m?.[1] !== undefined && m[2] !== undefined) return { kind: "progress", source: m[1], text: m[2] };
  return undefined;
}
