/**
 * Lists the functions longer than the house limit (about 80 lines, STYLE: "no product function over ~80 lines
 * without a comment saying why"), longest first, so a review can find them.
 *
 *   tsx tools/dev/long-functions.ts [--limit 80] [--tests] <file or directory>...
 *
 * A function's length runs from its first to its last line, nested functions included; test files (`*.test.ts`)
 * are left out unless --tests is given (a `describe` callback is long by nature). Prints `lines  file:line  name`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";
import { ToolError } from "../errors";

export interface LongFunction {
  readonly file: string;
  readonly line: number;
  readonly name: string;
  readonly lines: number;
}

/** What a reader would call the function: its name, the variable or property it is assigned to, or its call. */
function nameOf(fn: ts.SignatureDeclaration): string {
  const own = (fn as { name?: ts.Node }).name;
  if (own !== undefined) return own.getText();
  const parent = fn.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)) return parent.name.getText();
  if (ts.isCallExpression(parent)) return `(callback of ${parent.expression.getText().slice(0, 40)})`;
  return "(anonymous)";
}

/** The functions of one source text longer than `limit` lines. */
export function longFunctions(file: string, text: string, limit: number): LongFunction[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: LongFunction[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && (node as { body?: ts.Node }).body !== undefined) {
      const first = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
      const last = source.getLineAndCharacterOfPosition(node.end).line + 1;
      if (last - first + 1 > limit)
        found.push({ file, line: first, name: nameOf(node), lines: last - first + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function sourceFiles(target: string, tests: boolean): string[] {
  if (!fs.statSync(target).isDirectory()) return [target];
  return fs.readdirSync(target, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(target, e.name);
    if (e.isDirectory())
      return e.name === "node_modules" || e.name === "fixtures" ? [] : sourceFiles(p, tests);
    const isSource = p.endsWith(".ts") && !p.endsWith(".d.ts");
    return isSource && (tests || !p.endsWith(".test.ts")) ? [p] : [];
  });
}

function main(argv: readonly string[]): number {
  let limit = 80;
  let tests = false;
  const targets: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? "";
    if (a === "--tests") tests = true;
    else if (a === "--limit") {
      limit = Number(argv[++i]);
      if (!Number.isInteger(limit) || limit < 1) {
        throw new ToolError("USAGE", `long-functions: --limit needs a positive whole number of lines`);
      }
    } else targets.push(a);
  }
  if (targets.length === 0) throw new ToolError("USAGE", "long-functions: give files or directories to scan");
  const found = targets
    .flatMap((t) => sourceFiles(t, tests))
    .flatMap((f) => longFunctions(f, fs.readFileSync(f, "utf8"), limit))
    .sort((a, b) => b.lines - a.lines);
  for (const f of found)
    process.stdout.write(`${String(f.lines).padStart(4)}  ${f.file}:${f.line}  ${f.name}\n`);
  process.stderr.write(`long-functions: ${found.length} function(s) over ${limit} lines\n`);
  return 0;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
}
