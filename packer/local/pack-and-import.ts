/**
 * Last step of the local build (packer/local/build-local.sh): packs the disk image as an XVA holding one halted
 * HVM template, with guest metrics that report the OS installed in the rootfs, and imports it into the pool
 * (devpool for the embedded default) through `PUT /import`, as xapi's own export would be imported.
 *
 *   tsx packer/local/pack-and-import.ts --disk <raw image> --os-release <rootfs>/etc/os-release \
 *     --template-name <name> --build-id <id> [--tags a,b] [--memory-mib 1024] [--vcpus 1]
 *
 * The pool comes from the environment only (PKR_VAR_pool_url, PKR_VAR_pool_username, PKR_VAR_pool_password,
 * PKR_VAR_pool_ca_file, PKR_VAR_pool_certificate_fingerprint), as for packer/build.sh. The template is named `<name>-<build id>` and tagged like the
 * pool build's (`xcpng-templates`, `template:<name>`, `build-id:<id>`), so the providers find it the same way.
 * Idempotent: when a template with this build id is already on the pool, nothing is imported again.
 * Prints on stderr the upload's progress every few seconds (`pack-and-import: progress …`), then one line: the
 * template's uuid and reported OS.
 */
import * as fs from "node:fs";
import { parseArgs } from "node:util";
import { osFromGuestMetrics } from "../../providers/os-detect";
import { XcpngError, type ErrorOptions } from "../../lib/errors";
import { type PoolTarget, withXapi } from "../../lib/xapi/client";
import { buildIdTag, findByBuildId, type TemplateFacts } from "../../lib/xapi/templates";
import { localTemplateXva } from "./template-xva";
import { progressLine } from "../../providers/transfer-progress";
import { progressPacer, progressPeriodMs } from "../../providers/progress-pace";

/** A failure of the pack-and-import step: what failed, and what to do. */
export class PackImportError extends XcpngError {
  constructor(message: string, options?: ErrorOptions) {
    super("PACK_IMPORT_FAILED", message, options);
  }
}

const PREFIX = "pack-and-import";
const MIB = 1024 * 1024;

interface Options {
  readonly disk: string;
  readonly osRelease: string;
  readonly templateName: string;
  readonly buildId: string;
  readonly tags: readonly string[];
  readonly memoryMib: number;
  readonly vcpus: number;
}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      disk: { type: "string" },
      "os-release": { type: "string" },
      "template-name": { type: "string" },
      "build-id": { type: "string" },
      tags: { type: "string", default: "" },
      "memory-mib": { type: "string", default: "1024" },
      vcpus: { type: "string", default: "1" },
    },
    strict: true,
  });
  const need = (k: "disk" | "os-release" | "template-name" | "build-id"): string => {
    const v = values[k];
    if (typeof v !== "string" || v === "") throw new PackImportError(`${PREFIX}: --${k} is required`);
    return v;
  };
  const int = (k: "memory-mib" | "vcpus", min: number): number => {
    const n = Number(values[k]);
    if (!Number.isInteger(n) || n < min) {
      throw new PackImportError(
        `${PREFIX}: --${k} must be an integer >= ${min}, but "${values[k]}" was given`,
      );
    }
    return n;
  };
  const buildId = need("build-id");
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(buildId)) {
    throw new PackImportError(
      `${PREFIX}: --build-id must be 1-64 letters, digits, '.', '_' or '-', but "${buildId}" was given`,
    );
  }
  return {
    disk: need("disk"),
    osRelease: need("os-release"),
    templateName: need("template-name"),
    buildId,
    tags: (values.tags ?? "")
      .split(",")
      .map((t) => t.trim())
      .filter((t) => t !== ""),
    memoryMib: int("memory-mib", 256),
    vcpus: int("vcpus", 1),
  };
}

/** The pool from PKR_VAR_pool_* (the same variables packer/build.sh passes to Packer). */
function poolFromEnv(env: NodeJS.ProcessEnv): { target: PoolTarget; password: string } {
  const url = env.PKR_VAR_pool_url;
  const username = env.PKR_VAR_pool_username;
  const password = env.PKR_VAR_pool_password;
  const missing = [
    ["PKR_VAR_pool_url", url],
    ["PKR_VAR_pool_username", username],
    ["PKR_VAR_pool_password", password],
  ]
    .filter(([, v]) => !v)
    .map(([k]) => k);
  if (missing.length > 0 || !url || !username || !password) {
    throw new PackImportError(
      `${PREFIX}: no pool to import into: set ${missing.join(", ")} in the environment (npm start does for devpool)`,
    );
  }
  const caFile = env.PKR_VAR_pool_ca_file;
  let caCertificate: string | undefined;
  if (caFile) {
    try {
      caCertificate = fs.readFileSync(caFile, "utf8");
    } catch (e) {
      throw new PackImportError(
        `${PREFIX}: cannot read PKR_VAR_pool_ca_file ${caFile}: ${(e as Error).message}`,
      );
    }
  }
  // The stack's pin, when it has one: every connection of the import checks it as the providers' do.
  const fingerprint = env.PKR_VAR_pool_certificate_fingerprint;
  return {
    target: {
      url,
      username,
      insecureSkipVerify: false,
      ...(caCertificate !== undefined ? { caCertificate } : {}),
      ...(fingerprint ? { certificateFingerprint: fingerprint } : {}),
    },
    password,
  };
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const { target, password } = poolFromEnv(process.env);

  const xva = await localTemplateXva({
    disk: o.disk,
    osRelease: o.osRelease,
    templateName: o.templateName,
    buildId: o.buildId,
    tags: o.tags,
    memoryMib: o.memoryMib,
    vcpus: o.vcpus,
  });
  const { name, osVersion, length } = xva;

  const existing = await withXapi(target, password, (x) => findByBuildId(x, o.buildId));
  if (existing) {
    report(existing, "already on the pool, not imported again");
    return;
  }

  const body = Object.assign(xva.open(), { length });
  // Progress of the upload every few seconds (`<tool>: progress …`: the PackerBuild provider shows these lines).
  let sent = 0;
  const pace = progressPacer(
    (elapsedMs) => process.stderr.write(`${PREFIX}: progress ${progressLine(sent, length, elapsedMs)}\n`),
    { everyMs: progressPeriodMs(process.env) },
  );

  // withXapi verifies the pool's CA (and pin) on every connection, the upload's included; putResource creates the
  // import task, sends the exact length and resolves with the task's result (the new VM refs).
  try {
    await withXapi(target, password, (x) =>
      x.putResource("/import", {}, body, {
        lengthBytes: length,
        taskLabel: `xcpng-templates: import ${name}`,
        onProgress: (n) => pace((sent = n)),
      }),
    );
  } catch (e) {
    throw new PackImportError(
      `${PREFIX}: import of ${name} into ${target.url} failed: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }

  const facts = await withXapi(target, password, (x) => findByBuildId(x, o.buildId));
  if (!facts || !facts.isTemplate) {
    throw new PackImportError(
      `${PREFIX}: the import of ${name} finished but no template tagged ${buildIdTag(o.buildId)} is on ${target.url}`,
    );
  }
  const reported = osFromGuestMetrics(facts.osVersion);
  if (
    !reported ||
    reported.distro !== osVersion.distro ||
    reported.version.split(".")[0] !== osVersion.major
  ) {
    throw new PackImportError(
      `${PREFIX}: template ${facts.uuid} reports ${JSON.stringify(facts.osVersion ?? {})}, but the rootfs is ${osVersion.name}`,
    );
  }
  report(facts, `imported (${(length / MIB).toFixed(0)} MiB XVA)`);
}

function report(facts: TemplateFacts, what: string): void {
  const os = osFromGuestMetrics(facts.osVersion);
  process.stderr.write(
    `${PREFIX}: template ${facts.nameLabel} (uuid ${facts.uuid}) ${what}; guest metrics: ${os ? `${os.distro} ${os.version}` : "none"}\n`,
  );
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
