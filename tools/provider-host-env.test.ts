import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { PROVIDER_HOST_NODE_OPTIONS, withProviderHostNodeOptions } from "./provider-host-env";

const ROOT = path.resolve(__dirname, "..");

describe("tools/provider-host-env: NODE_OPTIONS for the dynamic-provider host", () => {
  const cases: ReadonlyArray<[string, string | undefined, string]> = [
    ["none set: ours", undefined, "--max-semi-space-size=4"],
    ["empty: ours", "  ", "--max-semi-space-size=4"],
    ["others set: kept, ours added", "--enable-source-maps", "--enable-source-maps --max-semi-space-size=4"],
    ["the caller's own semi-space size wins", "--max-semi-space-size=32", "--max-semi-space-size=32"],
  ];
  for (const [when, given, want] of cases) {
    it(when, () => {
      const env: NodeJS.ProcessEnv = {
        PATH: "/bin",
        ...(given !== undefined ? { NODE_OPTIONS: given } : {}),
      };
      const got = withProviderHostNodeOptions(env);
      expect(got.NODE_OPTIONS).to.equal(want);
      expect(got.PATH).to.equal("/bin");
    });
  }

  it("the deploy workflow's pulumi up runs with the same options", () => {
    const wf = yaml.load(fs.readFileSync(path.join(ROOT, ".github/workflows/deploy.yml"), "utf8")) as {
      jobs: Record<string, { steps: { name?: string; env?: Record<string, string> }[] }>;
    };
    const up = Object.values(wf.jobs)
      .flatMap((j) => j.steps)
      .find((s) => s.name === "pulumi up");
    expect(up?.env?.NODE_OPTIONS, "deploy.yml step 'pulumi up' env NODE_OPTIONS").to.equal(
      PROVIDER_HOST_NODE_OPTIONS.join(" "),
    );
  });
});
