/**
 * Boot acceptance figures (issue 11 "Measured"): per template of the local build path, the build, each clone's
 * boot-to-SSH and the whole acceptance (XVA → disk, two clones, every check, cleanup), with the accelerator this
 * machine gives (TCG here). Prints a table and writes bench/results/acceptance-<UTC time>.json; asserts nothing.
 *
 *   tools/with-env.sh tsx bench/acceptance.ts [--templates debian-12,debian-13] [--clones concurrent|sequential|both]
 *     [--work-dir /var/tmp]
 *
 * Needs root (the local build) and the acceptance's packages (qemu-system-x86, qemu-utils, cloud-image-utils).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { localTemplateXva } from "../packer/local/template-xva";
import {
  type AcceptanceResult,
  AcceptanceFailedError,
  AcceptanceInputError,
  runAcceptance,
} from "../lib/acceptance";
import { buildLocalImage } from "../lib/acceptance/testing/local-image";
import { round, table } from "./report";

/** Catalogue name → the local template's variable file and the OS it builds. */
const TEMPLATES: Readonly<Record<string, { varFile?: string; os: string; version: string }>> = {
  "debian-12": { os: "debian", version: "12" },
  "debian-13": { varFile: "packer/local/debian-13.pkrvars.hcl", os: "debian", version: "13" },
};

interface Row {
  template: string;
  clones: "concurrent" | "sequential";
  buildSeconds: number;
  cachedRootfs: boolean;
  result: AcceptanceResult;
  loadBefore: number;
  loadAfter: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      templates: { type: "string", default: "debian-12,debian-13" },
      clones: { type: "string", default: "concurrent" },
      "work-dir": { type: "string", default: os.tmpdir() },
    },
  });
  const names = (values.templates ?? "").split(",").filter(Boolean);
  for (const n of names) {
    if (!TEMPLATES[n]) {
      throw new AcceptanceInputError(
        `--templates: unknown ${n}; known: ${Object.keys(TEMPLATES).join(", ")}`,
      );
    }
  }
  const modes: ("concurrent" | "sequential")[] =
    values.clones === "both" ? ["concurrent", "sequential"] : [values.clones as "concurrent" | "sequential"];
  if (!modes.every((m) => m === "concurrent" || m === "sequential")) {
    throw new AcceptanceInputError(
      `--clones must be concurrent, sequential or both, but ${values.clones} was given`,
    );
  }
  const dir = fs.mkdtempSync(path.join(values["work-dir"] ?? os.tmpdir(), "xcpng-bench-acceptance-"));
  const rows: Row[] = [];
  try {
    for (const name of names) {
      const t = TEMPLATES[name]!;
      const image = await buildLocalImage(path.join(dir, name), t.varFile);
      process.stderr.write(`bench: ${name} built in ${image.seconds}s\n`);
      const xva = await localTemplateXva({
        disk: image.disk,
        osRelease: image.osRelease,
        templateName: name,
        buildId: "bench",
      });
      for (const clones of modes) {
        const loadBefore = os.loadavg()[0]!;
        const result = await runAcceptance({
          xva: () => xva.open(),
          os: t.os,
          version: t.version,
          guestAgent: { expected: false, reason: "local build has no guest agent" },
          workDir: path.join(dir, "runs"),
          clones,
          onProgress: (p) => process.stderr.write(`bench: ${name} (${clones}) ${p.phase}: ${p.message}\n`),
        }).catch((e: unknown) => {
          if (e instanceof AcceptanceFailedError) return e.result;
          throw e;
        });
        rows.push({
          template: name,
          clones,
          buildSeconds: image.seconds,
          cachedRootfs: image.cachedRootfs,
          result,
          loadBefore,
          loadAfter: os.loadavg()[0]!,
        });
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  report(rows);
}

function report(rows: readonly Row[]): void {
  console.log(
    table(
      [
        "template",
        "clones",
        "build s",
        "accel",
        "boot-to-SSH a s",
        "b s",
        "acceptance s",
        "checks",
        "load 1m",
      ],
      rows.map((r) => [
        r.template,
        r.clones,
        `${r.buildSeconds}${r.cachedRootfs ? "" : " (debootstrap)"}`,
        r.result.accelerator,
        round(r.result.clones[0]?.bootToSshSeconds),
        round(r.result.clones[1]?.bootToSshSeconds),
        round(r.result.totalSeconds),
        `${r.result.checks.filter((c) => c.status === "pass").length} pass, ${r.result.checks.filter((c) => c.status === "fail").length} fail`,
        `${round(r.loadBefore)} → ${round(r.loadAfter)}`,
      ]),
    ),
  );
  const out = path.join(
    __dirname,
    "results",
    `acceptance-${new Date().toISOString().replace(/[:.]/g, "-")}.json`,
  );
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(
    out,
    `${JSON.stringify({ host: { cpus: os.cpus().length, loadavg: os.loadavg() }, rows }, null, 2)}\n`,
  );
  console.log(`bench: figures written to ${out}`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
