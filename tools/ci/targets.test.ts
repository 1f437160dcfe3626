import { expect } from "chai";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { ToolError } from "../errors";
import { parseTemplateFilter, resolveTargets, stackName, templateTargets } from "./targets";

const ROOT = path.resolve(__dirname, "../..");
const FIXTURES = path.join(__dirname, "fixtures");

interface Step {
  op: string;
  urn: string;
  newState?: { parent?: string };
  oldState?: { parent?: string };
}
const steps = (scenario: string): Step[] =>
  (JSON.parse(fs.readFileSync(path.join(FIXTURES, `preview-${scenario}.json`), "utf8")) as { steps: Step[] })
    .steps;
const nameOf = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);

/**
 * The URNs of one template in a recorded preview (see record-preview-fixtures.ts): its component, found by its
 * type, and every resource parented to it. Read from what the Pulumi CLI printed, not from targets.ts.
 */
function recordedTemplateUrns(scenario: string, template: string): string[] {
  const all = steps(scenario);
  const component = all.find(
    (s) => s.urn.includes("::xcpng:index:GoldenTemplate::") && nameOf(s.urn) === template,
  );
  if (component === undefined) throw new Error(`no component ${template} in preview-${scenario}.json`);
  const children = all.filter((s) => (s.newState ?? s.oldState)?.parent === component.urn).map((s) => s.urn);
  return [component.urn, ...children].sort();
}

describe("tools/ci/targets: a template filter as pulumi up --target URNs", () => {
  it("gives exactly the URNs the Pulumi CLI recorded for each template's component and children", () => {
    for (const template of ["debian-12-a", "debian-12-b"]) {
      const recorded = recordedTemplateUrns("create", template);
      expect(recorded, "component and three children").to.have.length(4);
      for (const stack of ["dev", "my-org/dev", "my-org/xcpng-templates/dev"]) {
        expect(templateTargets(stack, "xcpng-templates", [template]).sort()).to.deep.equal(recorded);
      }
    }
  });

  it("with --target-dependents, moved only the filtered template and the catalogue index (recorded preview)", () => {
    // Both templates would rebuild without the filter (the shared script and the tool versions changed) ...
    const all = steps("shared-tools").filter((s) => s.op !== "same");
    expect(all.map((s) => nameOf(s.urn))).to.include.members(["debian-12-a-build", "debian-12-b-build"]);
    // ... and with the filter only A, its children and the index it feeds.
    const targeted = steps("shared-tools-targeted").filter((s) => s.op !== "same");
    const a = new Set(templateTargets("dev", "xcpng-templates", ["debian-12-a"]));
    const moved = targeted.map((s) => s.urn);
    expect(moved.filter((u) => !a.has(u)).map(nameOf), "outside the filter: the index only").to.deep.equal([
      "catalogue-index",
    ]);
    expect(moved.map(nameOf)).to.include.members([
      "debian-12-a-build",
      "debian-12-a-template",
      "debian-12-a-artifact",
    ]);
  });

  it("splits the filter on commas and spaces, drops duplicates and refuses names the catalogue cannot hold", () => {
    expect(parseTemplateFilter(" debian-12, ubuntu-24.04 debian-12,,")).to.deep.equal([
      "debian-12",
      "ubuntu-24.04",
    ]);
    expect(parseTemplateFilter("")).to.deep.equal([]);
    expect(() => parseTemplateFilter("debian-12, Debian_12, a::b"))
      .to.throw(ToolError, /lowercase letters.*"Debian_12", "a::b" was provided/)
      .with.property("code", "USAGE");
  });

  it("takes the stack's own name from stack, org/stack or org/project/stack", () => {
    expect(stackName("prod")).to.equal("prod");
    expect(stackName("acme/prod")).to.equal("prod");
    expect(stackName("acme/xcpng-templates/prod")).to.equal("prod");
    expect(() => stackName("a/b/c/d")).to.throw(ToolError, /"a\/b\/c\/d"/);
    expect(() => stackName("acme/")).to.throw(ToolError);
  });

  describe("against a project directory", () => {
    let dir: string;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "targets-"));
      fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: xcpng-templates\nruntime: nodejs\n");
      fs.writeFileSync(
        path.join(dir, "Pulumi.prod.yaml"),
        yaml.dump({
          config: {
            "xcpng-templates:templates": [{ name: "debian-12" }, { name: "ubuntu-24.04" }],
          },
        }),
      );
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("checks the names against the stack's catalogue and lists the known ones", () => {
      expect(resolveTargets(dir, "acme/prod", "ubuntu-24.04")).to.have.length(4);
      expect(() => resolveTargets(dir, "acme/prod", "debian-12, debian-13")).to.throw(
        ToolError,
        /"debian-13" is not in the catalogue of stack prod \(Pulumi\.prod\.yaml\); expected one of debian-12, ubuntu-24\.04/,
      );
      expect(() => resolveTargets(dir, "prod", " , ")).to.throw(ToolError, /filter is empty/);
    });

    it("without a stack file (configuration kept elsewhere) only checks the names' form", () => {
      expect(resolveTargets(dir, "acme/staging", "anything-1")).to.deep.equal(
        templateTargets("staging", "xcpng-templates", ["anything-1"]),
      );
    });
  });

  it("prints one URN per line (the workflow's multiline `target` input) and exits 1 on a bad name", async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          ["--require", "tsx/cjs", "tools/ci/targets.ts", ...args],
          { cwd: ROOT },
          (err, stdout, stderr) =>
            resolve({ code: typeof err?.code === "number" ? err.code : 0, stdout, stderr }),
        );
      });
    const ok = await run(["--stack", "acme/dev", "--templates", "debian-12-local"]);
    expect(ok.code).to.equal(0);
    expect(ok.stdout.trimEnd().split("\n")).to.deep.equal(
      templateTargets("dev", "xcpng-templates", ["debian-12-local"]),
    );
    const bad = await run(["--stack", "acme/dev", "--templates", "debian-13"]);
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.match(
      /"debian-13" is not in the catalogue of stack dev.*expected one of debian-12-local/,
    );
  }).timeout(30000);
});
