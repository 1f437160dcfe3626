/**
 * The SBOM step of a build: the image's CycloneDX 1.6 SBOM from its own package database (lib/sbom), written to
 * the file the caller names (the PackerBuild provider sets XCPNG_SBOM_FILE; the Artifact provider stores it beside
 * the XVA).
 *
 *   tsx packer/write-sbom.ts --rootfs <dir> --template <name> --build-id <id> [--out <file>]
 *       the local path (packer/local/build-local.sh), after provisioning and cleanup, before the disk is made
 *   tsx packer/write-sbom.ts --guest-archive <tar.gz> --template <name> --build-id <id> [--out <file>]
 *       the pool path (packer/xenserver-iso/build.pkr.hcl): the tar `guestCollectCommand` wrote in the guest
 *
 * `--out` defaults to $XCPNG_SBOM_FILE; when neither is set the SBOM is made (so the step still checks the image's
 * package database) but not kept. Prints one line on stderr: the package count, the OS and where it went.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { XcpngError, messageOf } from "../lib/errors";
import { createSbom, type GeneratedSbom, type PackageDatabase } from "../lib/sbom/cyclonedx";
import { withGuestPackageDatabase } from "../lib/sbom/guest";
import { parseOsRelease } from "../lib/sbom/os-release";
import { rootfsPackageDatabase } from "../lib/sbom/rootfs";

const PREFIX = "write-sbom";

/** Bad arguments to the SBOM step: what was expected. */
export class WriteSbomUsageError extends XcpngError {
  constructor(message: string) {
    super("WRITE_SBOM_USAGE", `${PREFIX}: ${message}`);
  }
}

export interface WriteSbomOptions {
  readonly source: { readonly rootfs: string } | { readonly guestArchive: string };
  readonly template: string;
  readonly buildId: string;
  /** When the image was built (the document's timestamp). */
  readonly builtAt: Date;
  /** Where the SBOM goes; undefined: made, not kept. */
  readonly out: string | undefined;
}

/** Makes the SBOM and writes it (atomically: a rename, so a reader never sees half a file). */
export async function writeSbom(o: WriteSbomOptions): Promise<GeneratedSbom & { osDetected: string }> {
  const make = async (db: PackageDatabase) => {
    const os = parseOsRelease(db.osRelease, "the image's os-release");
    const osDetected = `${os.id}${os.versionId ? ` ${os.versionId}` : ""}`;
    const sbom = await createSbom(db, {
      template: o.template,
      buildId: o.buildId,
      builtAt: o.builtAt,
      osDetected,
    });
    return { ...sbom, osDetected };
  };
  const made =
    "rootfs" in o.source
      ? await make(await rootfsPackageDatabase(o.source.rootfs))
      : await withGuestPackageDatabase(fs.createReadStream(o.source.guestArchive), make);
  if (o.out !== undefined) {
    fs.mkdirSync(path.dirname(o.out), { recursive: true });
    const tmp = `${o.out}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, made.json, { mode: 0o644 });
    fs.renameSync(tmp, o.out);
  }
  return made;
}

function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): WriteSbomOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      rootfs: { type: "string" },
      "guest-archive": { type: "string" },
      template: { type: "string" },
      "build-id": { type: "string" },
      out: { type: "string" },
    },
    strict: true,
  });
  const rootfs = values.rootfs;
  const guestArchive = values["guest-archive"];
  if ((rootfs === undefined) === (guestArchive === undefined))
    throw new WriteSbomUsageError(
      "give exactly one of --rootfs <dir> (the built root filesystem) or --guest-archive <tar.gz> (what " +
        "guestCollectCommand wrote in the guest)",
    );
  const template = values.template;
  const buildId = values["build-id"];
  if (!template || !buildId)
    throw new WriteSbomUsageError("--template and --build-id are required (the build the SBOM describes)");
  const out = values.out || env.XCPNG_SBOM_FILE || undefined;
  return {
    source: rootfs !== undefined ? { rootfs } : { guestArchive: guestArchive as string },
    template,
    buildId,
    builtAt: new Date(),
    out,
  };
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2), process.env);
  const made = await writeSbom(o);
  process.stderr.write(
    `${PREFIX}: ${made.packages} packages (${made.osDetected}), sha256 ${made.sha256.slice(0, 12)}…, ` +
      `${o.out === undefined ? "not kept (no --out, XCPNG_SBOM_FILE unset)" : `written to ${o.out}`}\n`,
  );
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`${PREFIX}: ${messageOf(e)}\n`);
    process.exit(1);
  });
}
