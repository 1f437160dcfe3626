import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";

/*
 * The CI policy the README promises, checked on the workflow files themselves (actionlint, in
 * tests/toolchain.integ.test.ts, checks their syntax and expressions; this checks what it cannot know).
 */
const DIR = path.resolve(__dirname, "../../.github/workflows");
const files = fs.readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));

interface Step {
  uses?: string;
  run?: string;
  env?: Record<string, string>;
  with?: Record<string, unknown>;
}
interface Job {
  "runs-on": unknown;
  permissions?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  on: unknown;
  permissions?: Record<string, string>;
  concurrency?: { group: string; "cancel-in-progress": boolean };
  jobs: Record<string, Job>;
}
const load = (f: string) => yaml.load(fs.readFileSync(path.join(DIR, f), "utf8")) as Workflow;

describe("CI workflows: pinned actions, least privilege, no secret or input in a shell line", () => {
  it("finds the workflows", () => {
    expect(files).to.include.members(["preview.yml", "deploy.yml", "drift.yml"]);
  });

  for (const f of files) {
    describe(f, () => {
      it("pins every third-party action to a full commit SHA with its version in a comment", () => {
        const lines = fs
          .readFileSync(path.join(DIR, f), "utf8")
          .split("\n")
          .filter((l) => /^\s*(-\s+)?uses:/.test(l));
        for (const l of lines) {
          if (/uses:\s*\.\//.test(l)) continue;
          expect(l, l).to.match(/uses:\s*[\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+){0,2}$/);
        }
      });

      it("reads the repository by default and widens permissions per job only", () => {
        const w = load(f);
        expect(w.permissions).to.deep.equal({ contents: "read" });
        for (const job of Object.values(w.jobs)) {
          for (const [scope, level] of Object.entries(job.permissions ?? {})) {
            if (level === "write") expect(["pull-requests", "id-token", "issues"], scope).to.include(scope);
          }
        }
      });

      it("runs on the self-hosted Linux runner", () => {
        for (const job of Object.values(load(f).jobs))
          expect(job["runs-on"]).to.deep.equal(["self-hosted", "linux"]);
      });

      it("passes secrets and inputs to shell steps through env, never into the script text", () => {
        for (const job of Object.values(load(f).jobs)) {
          for (const step of job.steps) {
            expect(step.run ?? "", step.run).to.not.match(/\$\{\{\s*(secrets|inputs|github\.event)\./);
            expect(JSON.stringify(step.with ?? {})).to.not.match(/\$\{\{\s*secrets\./);
          }
        }
      });
    });
  }

  it("deploy: one queue per stack, never cancelled; OIDC only, no write to the repository", () => {
    const w = load("deploy.yml");
    expect(w.concurrency?.group).to.match(/\$\{\{ inputs\.stack \|\| vars\.PULUMI_STACK \}\}/);
    expect(w.concurrency?.["cancel-in-progress"]).to.equal(false);
    expect(w.jobs.deploy?.permissions).to.deep.equal({ contents: "read", "id-token": "write" });
    // What changed in the images built by the update: the provider writes it, the job's summary shows it.
    const steps = w.jobs.deploy?.steps ?? [];
    const up = steps.find((s) => s.with?.command === "up");
    expect(up?.env?.XCPNG_CHANGES_SUMMARY).to.equal("${{ runner.temp }}/changes-summary.md");
    const summary = steps.find((s) => s.run?.includes("GITHUB_STEP_SUMMARY"));
    expect(summary?.env?.CHANGES).to.equal(up?.env?.XCPNG_CHANGES_SUMMARY);
    expect(steps.indexOf(summary!)).to.be.greaterThan(steps.indexOf(up!));
  });

  it("drift: issues: write on the reporting job only; the job that runs Pulumi has no write scope but OIDC", () => {
    const w = load("drift.yml");
    expect(w.concurrency?.["cancel-in-progress"]).to.equal(false);
    expect(w.concurrency?.group).to.not.equal(load("deploy.yml").concurrency?.group);
    expect(w.jobs.detect?.permissions).to.deep.equal({ contents: "read", "id-token": "write" });
    expect(w.jobs.issue?.permissions).to.deep.equal({ issues: "write" });
    const run = w.jobs.detect?.steps.map((s) => s.run ?? "").join("\n") ?? "";
    expect(run).to.match(/pulumi refresh --stack "\$STACK" --preview-only --expect-no-changes/);
  });

  it("preview: pull requests from this repository only, with the preview comment and the summary", () => {
    const w = load("preview.yml");
    const job = w.jobs.preview;
    expect((job as unknown as { if: string }).if).to.equal(
      "github.event.pull_request.head.repo.full_name == github.repository",
    );
    const preview = job?.steps.find((s) => s.uses?.startsWith("pulumi/actions@"));
    expect(preview?.with).to.include({ command: "preview", "comment-on-pr": true });
    expect(job?.steps.map((s) => s.run ?? "").join("\n")).to.match(/tools\/ci\/preview-summary\.ts/);
  });
});
