import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { RULES, ruleFailure, satisfies, type RuleName, type ValueRule } from "./rules";

const ROOT = path.resolve(__dirname, "../..");
const read = (rel: string) => fs.readFileSync(path.join(ROOT, rel), "utf8");

/** Every HCL file of the catalogue and the local build path. */
function hclFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = path.join(dir, e.name);
      if (e.isDirectory()) walk(rel);
      else if (e.name.endsWith(".pkr.hcl")) out.push(rel);
    }
  };
  walk("packer");
  return out.sort();
}

/** The regex of the `validation` block of `variable "<name>"` in an HCL file, as written. */
function hclPattern(text: string, variable: string): string | undefined {
  const block = new RegExp(`variable "${variable}" \\{([\\s\\S]*?)\\n\\}`).exec(text)?.[1];
  const m = block ? /regex\("((?:[^"\\]|\\.)*)", var\./.exec(block) : null;
  // HCL string escapes: `\\` is one backslash.
  return m?.[1]?.replace(/\\\\/g, "\\");
}

/** What bash's `[[ v =~ pattern ]]` says of each value (POSIX ERE, as build.sh runs it). */
function bashMatches(pattern: string, values: readonly string[]): boolean[] {
  const script = 'p=$1; shift; for v in "$@"; do if [[ "$v" =~ $p ]]; then echo 1; else echo 0; fi; done';
  const r = spawnSync("bash", ["-c", script, "bash", pattern, ...values], { encoding: "utf8" });
  expect(r.status, r.stderr).to.equal(0);
  return r.stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => l === "1");
}

/** Which rule each HCL variable and build.sh check enforces. */
const HCL_VARIABLES: Readonly<Record<string, RuleName>> = {
  template_name: "templateName",
  build_id: "buildId",
  build_username: "buildUsername",
};
const BUILD_SH_CHECKS: ReadonlyArray<{ variable: string; rule: RuleName }> = [
  { variable: "PKR_VAR_build_id", rule: "buildId" },
  { variable: "template_name", rule: "templateName" },
];

describe("validation rules: one table", () => {
  for (const [name, rule] of Object.entries(RULES) as [RuleName, ValueRule][]) {
    it(`${name}: its examples pass and fail as documented, with an actionable reason`, () => {
      for (const v of rule.examples.valid) expect(satisfies(rule, v), `${name} accepts ${v}`).to.equal(true);
      for (const v of rule.examples.invalid) {
        expect(satisfies(rule, v), `${name} refuses ${JSON.stringify(v)}`).to.equal(false);
        expect(ruleFailure(rule, v)).to.equal(
          `expected ${rule.expected}, but ${JSON.stringify(v)} was provided`,
        );
      }
      expect(ruleFailure(rule, 12)).to.match(/but 12 was provided/);
    });
  }

  it("packer/build.sh enforces the table's patterns, with the same verdicts under bash", () => {
    const sh = read("packer/build.sh");
    for (const { variable, rule } of BUILD_SH_CHECKS) {
      const m = new RegExp(`\\[\\[ "\\$${variable}" =~ (\\S+) \\]\\]`).exec(sh);
      expect(m, `build.sh checks ${variable}`).to.not.equal(null);
      const pattern = m?.[1] ?? "";
      expect(pattern, `${variable} in build.sh`).to.equal(RULES[rule].pattern.source);
      const { valid, invalid } = RULES[rule].examples;
      expect(bashMatches(pattern, valid), `bash accepts ${valid.join(", ")}`).to.deep.equal(
        valid.map(() => true),
      );
      expect(bashMatches(pattern, invalid), `bash refuses ${invalid.join(", ")}`).to.deep.equal(
        invalid.map(() => false),
      );
    }
  });

  it("every HCL validation of a ruled variable uses the table's pattern", () => {
    let checked = 0;
    for (const file of hclFiles()) {
      const text = read(file);
      for (const [variable, rule] of Object.entries(HCL_VARIABLES)) {
        if (!text.includes(`variable "${variable}"`)) continue;
        expect(hclPattern(text, variable), `${file}: ${variable}`).to.equal(RULES[rule].pattern.source);
        checked++;
      }
    }
    // The xenserver-iso catalogue and the local build path both declare template_name and build_id.
    expect(checked, "HCL validations found").to.be.at.least(5);
  });

  it("render-seed.sh checks the build user name with the table's pattern", () => {
    const m = /\[\[ "\$user" =~ (\S+) \]\]/.exec(read("packer/render-seed.sh"));
    expect(m?.[1]).to.equal(RULES.buildUsername.pattern.source);
  });
});
