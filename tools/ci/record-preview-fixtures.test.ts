import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { ToolError } from "../errors";
import { bumpPackerPin } from "./record-preview-fixtures";

const ROOT = path.resolve(__dirname, "../..");

describe("tools/ci/record-preview-fixtures: the shared-tools scenario's pin change", () => {
  it("changes tools/versions.env as it is today (a fixed target version went stale when the pin reached it)", () => {
    const text = fs.readFileSync(path.join(ROOT, "tools/versions.env"), "utf8");
    const bumped = bumpPackerPin(text);
    expect(bumped).to.not.equal(text);
    const pin = (t: string) => /^PACKER_VERSION=(.*)$/m.exec(t)?.[1];
    expect(bumped.replace(/^PACKER_VERSION=.*$/m, "")).to.equal(text.replace(/^PACKER_VERSION=.*$/m, ""));
    expect(pin(bumped)).to.not.equal(pin(text));
  });

  for (const [from, to] of [
    ["1.9.5", "1.9.6"],
    ["1.9.9", "1.9.10"],
    ["2.0.0", "2.0.1"],
  ] as const) {
    it(`PACKER_VERSION=${from} becomes ${to}`, () => {
      expect(bumpPackerPin(`A=1\nPACKER_VERSION=${from}\nB=2\n`)).to.equal(
        `A=1\nPACKER_VERSION=${to}\nB=2\n`,
      );
    });
  }

  it("refuses a pin that is not MAJOR.MINOR.PATCH", () => {
    expect(() => bumpPackerPin("PACKER_VERSION=1.9\n"))
      .to.throw(ToolError, /not MAJOR.MINOR.PATCH/)
      .with.property("code", "BAD_INPUT");
  });
});
