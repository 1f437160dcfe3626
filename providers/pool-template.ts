import * as pulumi from "@pulumi/pulumi";
import { shimProvider } from "./dynamic/shim";
import { defined, isUnknown } from "./dynamic/provider-code";
import { changedKeys, diffResult } from "./dynamic/diff";
import { ProviderBase } from "./dynamic/provider-base";
import { RULES, ruleFailure } from "./config/rules";
import { TemplateNotFoundError, TemplateVerificationError } from "./errors";
import { osFromGuestMetrics, osMismatch } from "./os-detect";
import { withXapi, type PoolTarget } from "../lib/xapi/client";
import { PoolConnectionError } from "../lib/xapi/errors";
import {
  buildIdTag,
  destroyTemplate,
  findByBuildId,
  findByUuid,
  type TemplateFacts,
} from "../lib/xapi/templates";

/** User-facing arguments. */
export interface PoolTemplateArgs {
  readonly pool: pulumi.Input<PoolTarget>;
  /** Build id the Packer build tagged the template with. A new build id replaces the resource. */
  readonly buildId: pulumi.Input<string>;
  readonly declaredOs: pulumi.Input<string>;
  readonly declaredVersion: pulumi.Input<string>;
}

export interface PoolTemplateInputs {
  readonly pool: PoolTarget;
  readonly buildId: string;
  readonly declaredOs: string;
  readonly declaredVersion: string;
}

export interface PoolTemplateOutputs extends PoolTemplateInputs {
  readonly uuid: string;
  readonly nameLabel: string;
  readonly osDistro: string;
  readonly osVersion: string;
  readonly osName: string;
  readonly diskCount: number;
  /** Sum of the disks' virtual sizes, which bounds the export's size. */
  readonly virtualSizeBytes: number;
  readonly verifiedAt: string;
}

/** Verifies a template and returns what went wrong, one sentence per problem. */
export function problemsOf(f: TemplateFacts, declared: { os: string; version: string }): string[] {
  const out: string[] = [];
  if (!f.isTemplate) out.push("it is a VM, not a template (is_a_template is false)");
  if (f.powerState !== "Halted") out.push(`it is ${f.powerState}, expected Halted`);
  if (f.disks.length === 0) out.push("it has no disk");
  const mismatch = osMismatch(declared, osFromGuestMetrics(f.osVersion));
  if (mismatch) out.push(mismatch);
  return out;
}

const PREFIX = "pool-template";

/** The template's identity: another build is another template. */
const IDENTITY_KEYS = ["buildId"] as const;
/** What it is verified against, and how the pool is reached. */
const SETTING_KEYS = ["declaredOs", "declaredVersion", "pool"] as const;

/** A template on the pool, found by its build-id tag, verified, and tracked until deleted. */
export class PoolTemplateProvider
  extends ProviderBase
  implements pulumi.dynamic.ResourceProvider<PoolTemplateInputs, PoolTemplateOutputs>
{
  protected readonly component = PREFIX;

  async check(
    _olds: PoolTemplateInputs,
    news: PoolTemplateInputs,
  ): Promise<pulumi.dynamic.CheckResult<PoolTemplateInputs>> {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const buildIdProblem = isUnknown(news.buildId) ? undefined : ruleFailure(RULES.buildId, news.buildId);
    if (buildIdProblem !== undefined) failures.push({ property: "buildId", reason: buildIdProblem });
    if (
      !isUnknown(news.pool) &&
      (typeof news.pool?.url !== "string" || typeof news.pool.username !== "string")
    ) {
      failures.push({ property: "pool", reason: "expected {url, username, insecureSkipVerify}" });
    } else if (!isUnknown(news.pool)) {
      // Preview runs check with the current config: wrong credentials or an untrusted certificate fail here,
      // not halfway through an update. One login per pool and provider process.
      const problem = await this.loginProblem(news.pool);
      if (problem !== undefined) failures.push({ property: "pool", reason: problem });
    }
    return { inputs: news, failures };
  }

  private readonly logins = new Map<string, Promise<string | undefined>>();

  private loginProblem(pool: PoolTarget): Promise<string | undefined> {
    const key = JSON.stringify(pool);
    let p = this.logins.get(key);
    if (p === undefined) {
      const password = this.secrets.poolPassword;
      p =
        password === undefined
          ? Promise.resolve("no pool password: set it with 'pulumi config set --secret poolPassword'")
          : withXapi(pool, password, () => Promise.resolve()).then(
              () => undefined,
              (e: unknown) => (e instanceof PoolConnectionError ? e.message : undefined),
            );
      this.logins.set(key, p);
    }
    return p;
  }

  diff(_id: string, olds: PoolTemplateOutputs, news: PoolTemplateInputs): Promise<pulumi.dynamic.DiffResult> {
    // An unknown build id (preview, while the build resource itself updates in place) is not a new build:
    // it shows as an update, and `up` diffs again with the real value and replaces only if it changed.
    return Promise.resolve(
      diffResult(olds, news, {
        replaces: changedKeys(olds, news, IDENTITY_KEYS),
        updates: changedKeys(olds, news, SETTING_KEYS).length > 0 || isUnknown(news.buildId),
      }),
    );
  }

  async create(inputs: PoolTemplateInputs): Promise<pulumi.dynamic.CreateResult<PoolTemplateOutputs>> {
    const facts = await this.withPool(inputs.pool, (x) => findByBuildId(x, inputs.buildId));
    if (!facts) {
      throw new TemplateNotFoundError(
        `${PREFIX}: no VM on ${inputs.pool.url} carries the tag ${buildIdTag(inputs.buildId)}: the Packer build ` +
          `did not leave a template. Check the build log above, then run 'pulumi up' again.`,
      );
    }
    const outs = this.verified(inputs, facts);
    console.log(
      `${PREFIX}: ${facts.nameLabel} (${facts.uuid}) verified: ${outs.osName}, ${outs.diskCount} disk(s)`,
    );
    return { id: facts.uuid, outs };
  }

  async read(
    id: string,
    props?: PoolTemplateOutputs,
  ): Promise<pulumi.dynamic.ReadResult<PoolTemplateOutputs>> {
    if (!props) return {};
    const facts = await this.withPool(props.pool, (x) => findByUuid(x, id));
    if (!facts || !facts.tags.includes(buildIdTag(props.buildId))) {
      console.log(`${PREFIX}: template ${id} (build ${props.buildId}) is gone from ${props.pool.url}`);
      return {};
    }
    const os = osFromGuestMetrics(facts.osVersion);
    const outs: PoolTemplateOutputs = {
      ...props,
      nameLabel: facts.nameLabel,
      diskCount: facts.disks.length,
      virtualSizeBytes: facts.disks.reduce((a, d) => a + d.virtualSize, 0),
      osDistro: os?.distro ?? "unknown",
      osVersion: os?.version ?? "unknown",
      osName: os?.name ?? "unknown",
    };
    const inputs: PoolTemplateInputs = {
      pool: props.pool,
      buildId: props.buildId,
      declaredOs: props.declaredOs,
      declaredVersion: props.declaredVersion,
    };
    return { id, props: outs, inputs: inputs as PoolTemplateOutputs };
  }

  async update(
    id: string,
    olds: PoolTemplateOutputs,
    news: PoolTemplateInputs,
  ): Promise<pulumi.dynamic.UpdateResult<PoolTemplateOutputs>> {
    if (olds.declaredOs === news.declaredOs && olds.declaredVersion === news.declaredVersion) {
      // Only the provider code or the pool's connection settings changed: keep the facts.
      return { outs: { ...olds, ...news } };
    }
    const facts = await this.withPool(news.pool, (x) => findByUuid(x, id));
    if (!facts)
      throw new TemplateNotFoundError(
        `${PREFIX}: template ${id} is gone from ${news.pool.url}; run 'pulumi refresh' then 'pulumi up' to rebuild it`,
      );
    return { outs: this.verified(news, facts) };
  }

  async delete(id: string, props: PoolTemplateOutputs): Promise<void> {
    await this.withPool(props.pool, async (x) => {
      const facts = await findByUuid(x, id);
      if (!facts) return;
      await destroyTemplate(x, facts);
      console.log(`${PREFIX}: destroyed ${facts.nameLabel} (${id}) and ${facts.disks.length} disk(s)`);
    });
  }

  private verified(inputs: PoolTemplateInputs, facts: TemplateFacts): PoolTemplateOutputs {
    const problems = problemsOf(facts, { os: inputs.declaredOs, version: inputs.declaredVersion });
    if (problems.length > 0) {
      // Partial failure: the engine records the template (so destroy can remove it) and fails the update.
      throw new TemplateVerificationError(
        `${PREFIX}: ${facts.nameLabel} (${facts.uuid}, build ${inputs.buildId}) failed verification: ` +
          `${problems.join("; ")}. Fix the image or the declared os/version in the stack's templates, then run ` +
          `'pulumi up' again.`,
        { id: facts.uuid, properties: inputs, reasons: problems },
      );
    }
    const os = osFromGuestMetrics(facts.osVersion);
    return defined<PoolTemplateOutputs>({
      ...inputs,
      uuid: facts.uuid,
      nameLabel: facts.nameLabel,
      osDistro: os?.distro ?? "unknown",
      osVersion: os?.version ?? "unknown",
      osName: os?.name ?? "unknown",
      diskCount: facts.disks.length,
      virtualSizeBytes: facts.disks.reduce((a, d) => a + d.virtualSize, 0),
      verifiedAt: new Date().toISOString(),
    });
  }
}

export class PoolTemplate extends pulumi.dynamic.Resource {
  declare readonly uuid: pulumi.Output<string>;
  declare readonly nameLabel: pulumi.Output<string>;
  declare readonly osDistro: pulumi.Output<string>;
  declare readonly osVersion: pulumi.Output<string>;
  declare readonly osName: pulumi.Output<string>;
  declare readonly virtualSizeBytes: pulumi.Output<number>;

  constructor(name: string, args: PoolTemplateArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      shimProvider<PoolTemplateInputs, PoolTemplateOutputs>(
        "providers/pool-template",
        "PoolTemplateProvider",
      ),
      name,
      {
        uuid: undefined,
        nameLabel: undefined,
        osDistro: undefined,
        osVersion: undefined,
        osName: undefined,
        diskCount: undefined,
        virtualSizeBytes: undefined,
        verifiedAt: undefined,
        ...args,
      },
      opts,
      "xcpng",
      "PoolTemplate",
    );
  }
}
