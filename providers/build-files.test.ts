import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildFiles, buildsRoot, pruneBuildFiles } from "./build-files";

describe("build files: one directory per build, old ones pruned", () => {
  const roots: ReadonlyArray<[string, NodeJS.ProcessEnv, string]> = [
    ["XCPNG_BUILDS_DIR wins", { XCPNG_BUILDS_DIR: "/srv/b", XDG_CACHE_HOME: "/c", HOME: "/h" }, "/srv/b"],
    ["else the XDG cache", { XDG_CACHE_HOME: "/c", HOME: "/h" }, "/c/xcpng-templates/builds"],
    ["else ~/.cache", { HOME: "/h" }, "/h/.cache/xcpng-templates/builds"],
  ];
  for (const [when, env, want] of roots) it(when, () => expect(buildsRoot(env)).to.equal(want));

  it("names a build's directory, log and SBOM after the template and the build id", () => {
    expect(buildFiles("/r", "debian-12", "20260101T000000Z-abc123")).to.deep.equal({
      dir: "/r/debian-12-20260101T000000Z-abc123",
      logFile: "/r/debian-12-20260101T000000Z-abc123/packer.log",
      sbomFile: "/r/debian-12-20260101T000000Z-abc123/sbom.cdx.json",
    });
  });

  it("removes build directories older than the limit, keeps the others and any file", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "build-files-"));
    try {
      const now = new Date("2026-06-01T00:00:00Z");
      for (const [name, daysOld] of [
        ["old", 15],
        ["recent", 13],
      ] as const) {
        fs.mkdirSync(path.join(root, name));
        const t = new Date(now.getTime() - daysOld * 86400_000);
        fs.utimesSync(path.join(root, name), t, t);
      }
      fs.writeFileSync(path.join(root, "note"), "x");
      expect(pruneBuildFiles(root, now)).to.equal(1);
      expect(fs.readdirSync(root).sort()).to.deep.equal(["note", "recent"]);
      expect(pruneBuildFiles(path.join(root, "absent"), now)).to.equal(0);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
