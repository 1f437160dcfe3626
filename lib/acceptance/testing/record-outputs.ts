/**
 * Records what the check commands print on a real boot, as the fixtures the check tables are unit-tested on
 * (lib/acceptance/checks/fixtures/<os>-<version>-<variant>.json). Boots a locally built disk image through the
 * whole acceptance (XVA stream, two clones), whatever the verdict.
 *
 *   tsx lib/acceptance/testing/record-outputs.ts --disk <disk.raw> --os-release <rootfs>/etc/os-release \
 *     --os debian --version 12 --variant good [--work-dir /var/tmp]
 *
 * The recorded names (user, hostnames, machine-ids, key fingerprints) belong to a run that no longer exists.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { localTemplateXva } from "../../../packer/local/template-xva";
import { AcceptanceFailedError, AcceptanceInputError, runAcceptance } from "..";
import type { OutputsFixture } from "./fixtures";

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: {
      disk: { type: "string" },
      "os-release": { type: "string" },
      os: { type: "string" },
      version: { type: "string" },
      variant: { type: "string" },
      "work-dir": { type: "string", default: os.tmpdir() },
    },
  });
  if (!v.disk || !v["os-release"] || !v.os || !v.version || !v.variant) {
    throw new AcceptanceInputError(
      "usage: record-outputs.ts --disk D --os-release F --os debian --version 12 --variant good",
    );
  }
  const xva = await localTemplateXva({
    disk: v.disk,
    osRelease: v["os-release"],
    templateName: `${v.os}-${v.version}-${v.variant}`,
    buildId: "record",
  });
  const fixture: OutputsFixture = { os: v.os, version: v.version, variant: v.variant, clones: {} };
  const run = runAcceptance({
    xva: () => xva.open(),
    os: v.os,
    version: v.version,
    workDir: v["work-dir"],
    guestAgent: { expected: false, reason: "local build has no guest agent" },
    onProgress: (p) => process.stderr.write(`${p.phase}: ${p.message}\n`),
    onCheckOutput: ({ clone, check, output, context }) => {
      const c = (fixture.clones[clone] ??= { context, outputs: {} });
      c.outputs[check] = output;
    },
  });
  const verdict = await run.then(
    () => "passed",
    (e: unknown) => {
      if (e instanceof AcceptanceFailedError)
        return `failed: ${e.failedChecks.map((c) => c.name).join(", ")}`;
      throw e;
    },
  );
  const out = path.join(__dirname, "..", "checks", "fixtures", `${v.os}-${v.version}-${v.variant}.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(fixture, null, 2)}\n`);
  process.stderr.write(`record-outputs: ${verdict}; wrote ${out}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
