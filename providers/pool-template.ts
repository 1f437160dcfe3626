import * as pulumi from "@pulumi/pulumi";
import { shimProvider } from "./dynamic/shim";
import { defined, isUnknown } from "./dynamic/provider-code";
import { changedKeys, diffResult } from "./dynamic/diff";
import { ProviderBase } from "./dynamic/provider-base";
import { RULES, ruleFailure } from "./config/rules";
import { TemplateNotFoundError, TemplateVerificationError } from "./errors";
import { osFromGuestMetrics, osMismatch } from "./os-detect";
import { withXapi, type PoolTarget, type XapiSession } from "../lib/xapi/client";
import { PoolConnectionError } from "../lib/xapi/errors";
import {
  buildIdTag,
  destroyTemplate,
  findByBuildId,
  findByUuid,
  retag,
  templateTag,
  VERIFIED_TAG,
  type TemplateFacts,
} from "../lib/xapi/templates";

/** User-facing arguments. */
export interface PoolTemplateArgs {
  readonly pool: pulumi.Input<PoolTarget>;
  /** The catalogue entry: verified templates are tagged `template:<name>`. */
  readonly templateName: pulumi.Input<string>;
  /**
   * Build id the Packer build tagged the template with. A new build id is an update: the new template is verified
   * and becomes current; the earlier ones stay on the pool (`history`) until publication prunes them.
   */
  readonly buildId: pulumi.Input<string>;
  readonly declaredOs: pulumi.Input<string>;
  readonly declaredVersion: pulumi.Input<string>;
}

export interface PoolTemplateInputs {
  readonly pool: PoolTarget;
  readonly templateName: string;
  readonly buildId: string;
  readonly declaredOs: string;
  readonly declaredVersion: string;
}

/** An earlier verified template of this catalogue entry, still on the pool. */
export interface PoolTemplateRecord {
  readonly buildId: string;
  readonly uuid: string;
  readonly nameLabel: string;
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
  /** Earlier templates of this entry still on the pool, newest first (rollback targets). */
  readonly history: readonly PoolTemplateRecord[];
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

/** A new build: verify the new template and keep the current one in the history. */
const BUILD_KEYS = ["buildId"] as const;
/** What it is verified against, how the pool is reached, what it is tagged. */
const SETTING_KEYS = ["declaredOs", "declaredVersion", "pool", "templateName"] as const;

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
          : withXapi(this.asUser(pool), password, () => Promise.resolve()).then(
              () => undefined,
              (e: unknown) => (e instanceof PoolConnectionError ? e.message : undefined),
            );
      this.logins.set(key, p);
    }
    return p;
  }

  diff(_id: string, olds: PoolTemplateOutputs, news: PoolTemplateInputs): Promise<pulumi.dynamic.DiffResult> {
    // A pool change replaces: its templates cannot move with the resource. A new build (or one still unknown in
    // preview) is an update.
    return Promise.resolve(
      diffResult(olds, news, {
        replaces: olds.pool.url !== news.pool.url && !isUnknown(news.pool) ? ["pool"] : [],
        updates: changedKeys(olds, news, [...BUILD_KEYS, ...SETTING_KEYS], "change").length > 0,
      }),
    );
  }

  async create(inputs: PoolTemplateInputs): Promise<pulumi.dynamic.CreateResult<PoolTemplateOutputs>> {
    const outs = await this.withPool(inputs.pool, (x) => this.adopt(x, inputs, [], "create"));
    return { id: outs.uuid, outs };
  }

  async update(
    _id: string,
    olds: PoolTemplateOutputs,
    news: PoolTemplateInputs,
  ): Promise<pulumi.dynamic.UpdateResult<PoolTemplateOutputs>> {
    const oldHistory = olds.history ?? [];
    return this.withPool(news.pool, async (x) => {
      if (olds.buildId === news.buildId) {
        // The same template: re-verified if what it is checked against changed, retagged if renamed.
        const facts = await this.current(x, news, olds.uuid);
        const outs = this.verified(news, facts, "update");
        await retag(x, facts, {
          add: [templateTag(news.templateName), VERIFIED_TAG],
          remove: this.oldNameTag(olds, news),
        });
        return { outs: { ...outs, history: await this.present(x, oldHistory) } };
      }
      // A new build: the current template joins the history (a rollback target) once the new one is verified.
      const before: PoolTemplateRecord = {
        buildId: olds.buildId,
        uuid: olds.uuid,
        nameLabel: olds.nameLabel,
      };
      const outs = await this.adopt(x, news, await this.present(x, [before, ...oldHistory]), "update");
      return { outs };
    });
  }

  async read(
    id: string,
    props?: PoolTemplateOutputs,
  ): Promise<pulumi.dynamic.ReadResult<PoolTemplateOutputs>> {
    if (!props) return {};
    const uuid = props.uuid ?? id;
    return this.withPool(props.pool, async (x) => {
      const facts = await findByUuid(x, uuid);
      if (!facts || !facts.tags.includes(buildIdTag(props.buildId))) {
        this.say(`template ${uuid} (build ${props.buildId}) is gone from ${props.pool.url}`);
        return {};
      }
      const outs: PoolTemplateOutputs = {
        ...props,
        ...this.factsOf(facts),
        history: await this.present(x, props.history ?? []),
      };
      const inputs: PoolTemplateInputs = {
        pool: props.pool,
        templateName: props.templateName,
        buildId: props.buildId,
        declaredOs: props.declaredOs,
        declaredVersion: props.declaredVersion,
      };
      return { id, props: outs, inputs: inputs as PoolTemplateOutputs };
    });
  }

  async delete(_id: string, props: PoolTemplateOutputs): Promise<void> {
    const all = [{ uuid: props.uuid }, ...(props.history ?? [])];
    await this.withPool(props.pool, async (x) => {
      for (const t of all) {
        const facts = await findByUuid(x, t.uuid);
        if (!facts) continue;
        await destroyTemplate(x, facts);
        this.say(`destroyed ${facts.nameLabel} (${facts.uuid}) and ${facts.disks.length} disk(s)`);
      }
    });
  }

  /** Finds the build's template, verifies it and tags it as this entry's. */
  private async adopt(
    x: XapiSession,
    inputs: PoolTemplateInputs,
    history: readonly PoolTemplateRecord[],
    op: "create" | "update",
  ): Promise<PoolTemplateOutputs> {
    const facts = await findByBuildId(x, inputs.buildId);
    if (!facts) {
      throw new TemplateNotFoundError(
        `${PREFIX}: no VM on ${inputs.pool.url} carries the tag ${buildIdTag(inputs.buildId)}: the Packer build ` +
          `did not leave a template. Check the build log above, then run 'pulumi up' again.`,
      );
    }
    const outs = this.verified(inputs, facts, op);
    await retag(x, facts, { add: [templateTag(inputs.templateName), VERIFIED_TAG] });
    this.say(`${facts.nameLabel} (${facts.uuid}) verified: ${outs.osName}, ${outs.diskCount} disk(s)`);
    return { ...outs, history: [...history] };
  }

  private async current(x: XapiSession, inputs: PoolTemplateInputs, uuid: string): Promise<TemplateFacts> {
    const facts = await findByUuid(x, uuid);
    if (facts) return facts;
    throw new TemplateNotFoundError(
      `${PREFIX}: template ${uuid} is gone from ${inputs.pool.url}; run 'pulumi refresh' then 'pulumi up' to rebuild it`,
    );
  }

  /** The records whose template is still on the pool, in order. */
  private async present(
    x: XapiSession,
    records: readonly PoolTemplateRecord[],
  ): Promise<PoolTemplateRecord[]> {
    const out: PoolTemplateRecord[] = [];
    for (const r of records)
      if (!out.some((o) => o.uuid === r.uuid) && (await findByUuid(x, r.uuid))) out.push(r);
    return out;
  }

  private oldNameTag(olds: PoolTemplateOutputs, news: PoolTemplateInputs): string[] {
    return olds.templateName !== undefined && olds.templateName !== news.templateName
      ? [templateTag(olds.templateName)]
      : [];
  }

  private factsOf(facts: TemplateFacts) {
    const os = osFromGuestMetrics(facts.osVersion);
    return {
      uuid: facts.uuid,
      nameLabel: facts.nameLabel,
      osDistro: os?.distro ?? "unknown",
      osVersion: os?.version ?? "unknown",
      osName: os?.name ?? "unknown",
      diskCount: facts.disks.length,
      virtualSizeBytes: facts.disks.reduce((a, d) => a + d.virtualSize, 0),
    };
  }

  private verified(
    inputs: PoolTemplateInputs,
    facts: TemplateFacts,
    op: "create" | "update",
  ): PoolTemplateOutputs {
    const problems = problemsOf(facts, { os: inputs.declaredOs, version: inputs.declaredVersion });
    if (problems.length > 0) {
      const message =
        `${PREFIX}: ${facts.nameLabel} (${facts.uuid}, build ${inputs.buildId}) failed verification: ` +
        `${problems.join("; ")}. Fix the image or the declared os/version in the stack's templates, then run ` +
        `'pulumi up' again.`;
      // On create, a partial failure: the engine records the template (so destroy can remove it). On update the
      // engine keeps the previous state, and the unverified template belongs to its build (PackerBuild removes it).
      throw new TemplateVerificationError(
        message,
        op === "create"
          ? { id: facts.uuid, properties: { ...inputs, history: [] }, reasons: problems }
          : undefined,
        problems,
      );
    }
    return defined<PoolTemplateOutputs>({
      ...inputs,
      ...this.factsOf(facts),
      verifiedAt: new Date().toISOString(),
      history: [],
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
  declare readonly history: pulumi.Output<PoolTemplateRecord[]>;

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
        history: undefined,
        ...args,
      },
      opts,
      "xcpng",
      "PoolTemplate",
    );
  }
}
