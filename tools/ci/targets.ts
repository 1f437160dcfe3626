/**
 * Maps a template filter ("debian-12, ubuntu-24.04") to the `pulumi up --target` URNs of those templates, so a
 * manual deploy can rebuild some templates only.
 *
 *   tsx tools/ci/targets.ts --stack <[org/]stack> --templates "<name>[, <name>…]"   → one URN per line
 *
 * Each template is the component `xcpng:index:GoldenTemplate` named after it, with three children
 * (template.ts): `<name>-build` (PackerBuild), `<name>-template` (PoolTemplate), `<name>-artifact` (Artifact).
 * A URN is `urn:pulumi:<stack>::<project>::<parent type>$<type>::<name>`, where <stack> is the stack's own
 * name (no organization) and <project> is Pulumi.yaml's `name`. Targeting the component alone would not
 * touch its children (targets are literal), so all four are listed; run `pulumi up` with
 * `--target-dependents` as well, so the catalogue index, which depends on every artifact, is rewritten too.
 * The URNs are checked against a recorded preview of the dev stack in targets.test.ts.
 *
 * Names are checked against the stack's catalogue (`<project>:templates` in Pulumi.<stack>.yaml) when that
 * file exists, so a typo fails here instead of running an update that targets nothing.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { ToolError } from "../errors";

const COMPONENT = "xcpng:index:GoldenTemplate";
/** Child type and name suffix of each resource of one template (providers/template.ts). */
const CHILDREN = [
  ["pulumi-nodejs:dynamic/xcpng:PackerBuild", "build"],
  ["pulumi-nodejs:dynamic/xcpng:PoolTemplate", "template"],
  ["pulumi-nodejs:dynamic/xcpng:Artifact", "artifact"],
] as const;

// The catalogue's rule for template names (providers/config/stack-config.ts).
const TEMPLATE_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const STACK_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Splits a filter on commas and whitespace; duplicates dropped, order kept. */
export function parseTemplateFilter(filter: string): string[] {
  const names = [...new Set(filter.split(/[\s,]+/).filter((n) => n !== ""))];
  const bad = names.filter((n) => !TEMPLATE_NAME.test(n));
  if (bad.length > 0) {
    throw new ToolError(
      "USAGE",
      `targets: template names use lowercase letters, digits, '.', '_' or '-', but ${bad.map((b) => JSON.stringify(b)).join(", ")} was provided`,
    );
  }
  return names;
}

/** The stack's own name, as URNs spell it, from `stack`, `org/stack` or `org/project/stack`. */
export function stackName(stack: string): string {
  const last = stack.split("/").pop() ?? "";
  if (!STACK_NAME.test(last) || stack.split("/").length > 3) {
    throw new ToolError(
      "USAGE",
      `targets: the stack must be "stack", "org/stack" or "org/project/stack", but "${stack}" was provided`,
    );
  }
  return last;
}

/** The URNs of the named templates' component and children. */
export function templateTargets(stack: string, project: string, templates: readonly string[]): string[] {
  const prefix = `urn:pulumi:${stackName(stack)}::${project}::`;
  return templates.flatMap((name) => [
    `${prefix}${COMPONENT}::${name}`,
    ...CHILDREN.map(([type, suffix]) => `${prefix}${COMPONENT}$${type}::${name}-${suffix}`),
  ]);
}

/** Template names of a stack file's catalogue, or undefined when there is no such file. */
export function catalogue(projectDir: string, project: string, stack: string): string[] | undefined {
  const file = path.join(projectDir, `Pulumi.${stackName(stack)}.yaml`);
  if (!fs.existsSync(file)) return undefined;
  const doc = yaml.load(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null;
  const list = doc?.config?.[`${project}:templates`];
  if (!Array.isArray(list)) return undefined;
  return list.flatMap((t: unknown) =>
    typeof t === "object" && t !== null && typeof (t as { name?: unknown }).name === "string"
      ? [(t as { name: string }).name]
      : [],
  );
}

/** Checks the filter against the catalogue (when known) and returns the URNs. */
export function resolveTargets(projectDir: string, stack: string, filter: string): string[] {
  const doc = yaml.load(fs.readFileSync(path.join(projectDir, "Pulumi.yaml"), "utf8")) as { name?: unknown };
  if (typeof doc.name !== "string") {
    throw new ToolError("BAD_INPUT", `targets: ${path.join(projectDir, "Pulumi.yaml")} has no project name`);
  }
  const names = parseTemplateFilter(filter);
  if (names.length === 0) {
    throw new ToolError("USAGE", "targets: the template filter is empty; give at least one template name");
  }
  const known = catalogue(projectDir, doc.name, stack);
  const unknown = known === undefined ? [] : names.filter((n) => !known.includes(n));
  if (known !== undefined && unknown.length > 0) {
    throw new ToolError(
      "USAGE",
      `targets: ${unknown.map((u) => JSON.stringify(u)).join(", ")} ${unknown.length === 1 ? "is" : "are"} not in the catalogue of stack ${stackName(stack)} (Pulumi.${stackName(stack)}.yaml); expected one of ${known.join(", ")}`,
    );
  }
  return templateTargets(stack, doc.name, names);
}

export function main(argv: readonly string[], cwd: string): number {
  try {
    let stack: string | undefined;
    let filter: string | undefined;
    for (let i = 0; i < argv.length; i += 2) {
      const [flag, value] = [argv[i], argv[i + 1]];
      if (value === undefined) throw new ToolError("USAGE", `targets: ${flag} needs a value`);
      if (flag === "--stack") stack = value;
      else if (flag === "--templates") filter = value;
      else
        throw new ToolError("USAGE", `targets: unknown option "${flag}" (expected --stack and --templates)`);
    }
    if (stack === undefined || filter === undefined) {
      throw new ToolError(
        "USAGE",
        'targets: usage: targets.ts --stack <[org/]stack> --templates "<name>[, <name>…]"',
      );
    }
    process.stdout.write(`${resolveTargets(cwd, stack, filter).join("\n")}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2), process.cwd());
