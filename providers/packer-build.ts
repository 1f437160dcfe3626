import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { shimProvider } from "./dynamic/shim";
import { isUnknown } from "./dynamic/provider-code";
import { changedKeys, diffResult } from "./dynamic/diff";
import { ProviderBase } from "./dynamic/provider-base";
import { environmentSecrets, packerEnvironment } from "./packer-env";
import { pinnedCertificate } from "./pinned-certificate";
import { mask, runPackerBuild, type BuildResult } from "./packer-run";
import { buildFiles, buildsRoot, makeBuildDir, pruneBuildFiles, type BuildFiles } from "./build-files";
import { BuildReport } from "./build-report";
import { readBuildSbom, type BuildSbom } from "./build-sbom";
import type { PoolTarget } from "../lib/xapi/client";
import { PackerBuildError } from "./errors";
import { destroyTemplate, findByBuildId, VERIFIED_TAG } from "../lib/xapi/templates";

/**
 * Runs the Packer build entry point (packer/build.sh) for one template.
 *
 * This is the project's stand-in for `@pulumi/command`'s `local.Command`, whose provider plugin
 * (pulumi-resource-command) cannot be built from the Go module proxy this project builds from. It keeps the
 * same contract (a content hash of everything that shapes the image triggers a rebuild; the build log streams
 * to `pulumi up`; stdout holds no secret) and adds what local.Command lacks: `read` asks the pool whether the
 * build's template still exists, so `pulumi refresh` sees a template deleted out of band and `up` rebuilds it.
 */
export interface PackerBuildArgs {
  /** Catalogue name of the template. */
  readonly templateName: pulumi.Input<string>;
  readonly packerTemplate: pulumi.Input<string>;
  readonly varFile?: pulumi.Input<string>;
  /** Project-relative path → SHA-256 of every file that shapes the image; any change rebuilds. */
  readonly sources: pulumi.Input<Record<string, string>>;
  /** Packer and plugin versions; a change rebuilds. */
  readonly toolVersions: pulumi.Input<string>;
  readonly pool: pulumi.Input<PoolTarget>;
  readonly tags?: pulumi.Input<pulumi.Input<string>[]>;
  /** The build is stopped, its VM cleaned up, and the update fails after this long. @default 120 */
  readonly timeoutMinutes?: pulumi.Input<number>;
  /**
   * Names of the stack's secret config keys (names only, never values): their values are masked in every line of
   * the build log, besides the pool password and the S3 keys.
   */
  readonly secretKeys?: pulumi.Input<pulumi.Input<string>[]>;
}

export interface PackerBuildInputs {
  readonly templateName: string;
  readonly packerTemplate: string;
  readonly varFile?: string;
  readonly sources: Record<string, string>;
  readonly toolVersions: string;
  readonly pool: PoolTarget;
  readonly tags?: string[];
  readonly timeoutMinutes?: number;
  readonly secretKeys?: string[];
}

/** Minutes a build may take by default (a Debian install on a busy pool takes well under an hour). */
export const DEFAULT_BUILD_TIMEOUT_MINUTES = 120;

export interface PackerBuildOutputs extends PackerBuildInputs {
  readonly buildId: string;
  readonly durationSeconds: number;
  readonly packerVersion: string;
  readonly builtAt: string;
  /** The build's full log, on the machine that ran it (providers/build-files.ts). */
  readonly logFile?: string;
  /** The image's SBOM as the build wrote it; absent when the Packer template makes none. */
  readonly sbom?: BuildSbom;
}

/** Whether `up` shows every line of the build (XCPNG_VERBOSE=1 or true) instead of its steps. */
export function verboseBuildLog(env: NodeJS.ProcessEnv): boolean {
  return /^(1|true|yes)$/i.test(env.XCPNG_VERBOSE ?? "");
}

/** Keys whose change means a new image. */
export const REBUILD_KEYS = ["templateName", "packerTemplate", "varFile", "sources", "toolVersions"] as const;
/** Keys that change how the pool is reached or what the template is tagged with: the image stays. */
const SETTING_KEYS = ["pool", "tags", "timeoutMinutes", "secretKeys"] as const;

export { mask };

/** A build id: UTC time and randomness, so two builds never share one (the pool name adds the template's). */
export function newBuildId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `${stamp}-${randomBytes(3).toString("hex")}`;
}

const PREFIX = "packer-build";

export class PackerBuildProvider
  extends ProviderBase
  implements pulumi.dynamic.ResourceProvider<PackerBuildInputs, PackerBuildOutputs>
{
  protected readonly component = PREFIX;

  check(
    _olds: PackerBuildInputs,
    news: PackerBuildInputs,
  ): Promise<pulumi.dynamic.CheckResult<PackerBuildInputs>> {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    for (const key of ["packerTemplate", "varFile"] as const) {
      const v = news[key];
      if (v === undefined || isUnknown(v)) continue;
      if (!fs.existsSync(path.resolve(v))) {
        failures.push({ property: key, reason: `"${v}" does not exist (relative to the project root)` });
      }
    }
    return Promise.resolve({ inputs: news, failures });
  }

  diff(_id: string, olds: PackerBuildOutputs, news: PackerBuildInputs): Promise<pulumi.dynamic.DiffResult> {
    return Promise.resolve(
      diffResult(olds, news, {
        replaces: changedKeys(olds, news, REBUILD_KEYS, "change"),
        updates: changedKeys(olds, news, SETTING_KEYS),
      }),
    );
  }

  async create(inputs: PackerBuildInputs): Promise<pulumi.dynamic.CreateResult<PackerBuildOutputs>> {
    const buildId = newBuildId();
    const files = buildFiles(buildsRoot(process.env), inputs.templateName, buildId);
    const { result, closing } = await this.runBuild(inputs, buildId, files);
    const sbom = readBuildSbom(files.sbomFile);
    this.say(
      sbom
        ? `${closing}; SBOM of ${sbom.packages} packages (sha256 ${sbom.sha256.slice(0, 12)}…)`
        : `${closing}; the build wrote no SBOM (${files.sbomFile})`,
    );
    return {
      id: buildId,
      outs: {
        ...inputs,
        buildId,
        durationSeconds: result.duration_seconds,
        packerVersion: result.packer_version,
        builtAt: new Date().toISOString(),
        logFile: files.logFile,
        ...(sbom ? { sbom } : {}),
      },
    };
  }

  async read(id: string, props?: PackerBuildOutputs): Promise<pulumi.dynamic.ReadResult<PackerBuildOutputs>> {
    if (!props) return {};
    const found = await this.withPool(props.pool, (x) => findByBuildId(x, props.buildId));
    if (!found) {
      this.say(`the template of build ${props.buildId} is gone from the pool: it will be rebuilt`);
      return {};
    }
    return { id, props };
  }

  update(
    _id: string,
    olds: PackerBuildOutputs,
    news: PackerBuildInputs,
  ): Promise<pulumi.dynamic.UpdateResult<PackerBuildOutputs>> {
    // Rebuild keys replace; what reaches update (pool settings, tags, provider code) keeps the build.
    return Promise.resolve({ outs: { ...olds, ...news } });
  }

  async delete(_id: string, props: PackerBuildOutputs): Promise<void> {
    // A verified template (VERIFIED_TAG) belongs to the PoolTemplate resource, which keeps it as a rollback target
    // until publication prunes it. This removes a build's template that was never verified (verification failed
    // or never ran), so nothing unowned is left on the pool.
    await this.withPool(props.pool, async (x) => {
      const facts = await findByBuildId(x, props.buildId);
      if (facts && !facts.tags.includes(VERIFIED_TAG)) {
        await destroyTemplate(x, facts);
        this.say(
          `removed ${facts.nameLabel} (${facts.uuid}), the unverified template of build ${props.buildId}`,
        );
      }
    });
  }

  /** Runs the build; resolves with its result and the closing line to show (a failure shows its own). */
  private async runBuild(
    inputs: PackerBuildInputs,
    buildId: string,
    files: BuildFiles,
  ): Promise<{ result: BuildResult; closing: string }> {
    const password = this.poolPassword();
    pruneBuildFiles(path.dirname(files.dir), new Date());
    makeBuildDir(files);
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "xcpng-packer-"));
    const own: Record<string, string> = {
      // Where the build writes the image's SBOM (packer/write-sbom.ts): read back once the build succeeded.
      XCPNG_SBOM_FILE: files.sbomFile,
      PKR_VAR_build_id: buildId,
      PKR_VAR_template_name: inputs.templateName,
      PKR_VAR_pool_url: inputs.pool.url,
      PKR_VAR_pool_username: this.asUser(inputs.pool).username,
      PKR_VAR_pool_password: password,
      PKR_VAR_tags: JSON.stringify(inputs.tags ?? []),
    };
    if (inputs.pool.caCertificate !== undefined) {
      const ca = path.join(work, "pool-ca.pem");
      fs.writeFileSync(ca, inputs.pool.caCertificate, { mode: 0o600 });
      own.PKR_VAR_pool_ca_file = ca;
    }
    if (inputs.pool.certificateFingerprint !== undefined) {
      // Packer's TLS (Go) cannot check a fingerprint; it can trust one certificate alone. That certificate is read
      // on a connection verified against the CA and the pin, so Packer trusts exactly what the pin names.
      const pinned = path.join(work, "pool-pinned.pem");
      fs.writeFileSync(pinned, await pinnedCertificate(inputs.pool), { mode: 0o600 });
      own.XCPNG_PACKER_CA_FILE = pinned;
      own.PKR_VAR_pool_certificate_fingerprint = inputs.pool.certificateFingerprint;
    }
    const report = new BuildReport({
      label: inputs.templateName,
      logFile: files.logFile,
      verbose: verboseBuildLog(process.env),
      show: (line) => this.say(line),
    });
    this.say(
      `${inputs.templateName}: building (build ${buildId}) with ${inputs.packerTemplate}; full log: ${files.logFile}`,
    );
    try {
      const result = await runPackerBuild({
        label: inputs.templateName,
        args: [
          path.resolve("packer/build.sh"),
          inputs.packerTemplate,
          ...(inputs.varFile ? [inputs.varFile] : []),
        ],
        env: packerEnvironment(process.env, own),
        secrets: [
          ...this.secrets.values,
          ...this.configSecrets(inputs.secretKeys ?? []),
          ...environmentSecrets(process.env),
        ],
        timeoutMs: (inputs.timeoutMinutes ?? DEFAULT_BUILD_TIMEOUT_MINUTES) * 60 * 1000,
        logFile: files.logFile,
        onLine: (line) => report.line(line),
        onNote: (line) => this.lines.info(line),
      });
      return { result, closing: report.finish("built") };
    } catch (e) {
      const stopped =
        e instanceof PackerBuildError && (e.code === "BUILD_TIMEOUT" || e.code === "BUILD_CANCELLED");
      this.say(report.finish(stopped ? "stopped" : "failed"));
      // Whatever stopped the build, nothing half-built stays on the pool: its VM carries the build's tag.
      await this.removeLeftover(inputs.pool, buildId);
      throw e;
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }

  /** Destroys a VM a failed, cancelled or timed-out build left on the pool (found by its build-id tag). */
  private async removeLeftover(pool: PoolTarget, buildId: string): Promise<void> {
    try {
      await this.withPool(pool, async (x) => {
        const facts = await findByBuildId(x, buildId);
        if (!facts) return;
        await destroyTemplate(x, facts);
        this.say(
          `removed ${facts.nameLabel} (${facts.uuid}), left on the pool by the failed build ${buildId}`,
        );
      });
    } catch (e) {
      this.warn(
        `could not check the pool for a VM left by build ${buildId} (${e instanceof Error ? e.message : String(e)}); ` +
          `look for the tag build-id:${buildId} and remove it by hand`,
      );
    }
  }
}

export class PackerBuild extends pulumi.dynamic.Resource {
  declare readonly buildId: pulumi.Output<string>;
  declare readonly durationSeconds: pulumi.Output<number>;
  declare readonly packerVersion: pulumi.Output<string>;
  declare readonly builtAt: pulumi.Output<string>;
  declare readonly logFile: pulumi.Output<string | undefined>;
  declare readonly sbom: pulumi.Output<BuildSbom | undefined>;

  constructor(name: string, args: PackerBuildArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      shimProvider<PackerBuildInputs, PackerBuildOutputs>("providers/packer-build", "PackerBuildProvider"),
      name,
      {
        buildId: undefined,
        durationSeconds: undefined,
        packerVersion: undefined,
        builtAt: undefined,
        logFile: undefined,
        sbom: undefined,
        ...args,
      },
      opts,
      "xcpng",
      "PackerBuild",
    );
  }
}
