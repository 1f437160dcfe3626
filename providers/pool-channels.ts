import * as pulumi from "@pulumi/pulumi";
import { shimProvider } from "./dynamic/shim";
import { changedKeys, diffResult } from "./dynamic/diff";
import { ProviderBase } from "./dynamic/provider-base";
import type { PoolTarget, XapiSession } from "../lib/xapi/client";
import { channelTag, destroyTemplate, findByUuid, retag, type TemplateFacts } from "../lib/xapi/templates";

/**
 * The channels of one template, on the pool that built it: the template of the `stable` build carries
 * `channel:stable` (and the candidate's `channel:candidate`), revoked builds' templates carry `revoked`, so Xen
 * Orchestra users and `xenorchestra` data sources select by tag; a tag moves when its channel does. Runs after the
 * index is published, and then destroys the templates of builds publication no longer keeps (never a channel's).
 */

export const CHANNELS = ["candidate", "stable"] as const;
export type ChannelName = (typeof CHANNELS)[number];
export const REVOKED_TAG = "revoked";

export interface PoolChannelsArgs {
  readonly pool: pulumi.Input<PoolTarget>;
  readonly templateName: pulumi.Input<string>;
  /** Build id per channel. */
  readonly channels: pulumi.Input<{ readonly [C in ChannelName]?: pulumi.Input<string> }>;
  readonly revoked: pulumi.Input<pulumi.Input<string>[]>;
  /** The entry's templates on the pool (PoolTemplate's current one and its history). */
  readonly templates: pulumi.Input<pulumi.Input<{ buildId: string; uuid: string }>[]>;
  /** Build ids publication keeps: the others' templates are destroyed. */
  readonly keep: pulumi.Input<pulumi.Input<string>[]>;
}

export interface PoolChannelsInputs {
  readonly pool: PoolTarget;
  readonly templateName: string;
  readonly channels: { readonly [C in ChannelName]?: string };
  readonly revoked: string[];
  readonly templates: { buildId: string; uuid: string }[];
  readonly keep: string[];
}

export interface PoolChannelsOutputs extends PoolChannelsInputs {
  /** Set by refresh when a tag was moved or removed on the pool: the next `up` puts it back. */
  readonly drifted?: boolean;
}

const PREFIX = "pool-channels";
const SETTING_KEYS = ["channels", "revoked", "templates", "keep", "pool", "templateName"] as const;

/** The channel and revocation tags a template of build `buildId` must carry (pure: the decision). */
export function wantedTags(
  inputs: Pick<PoolChannelsInputs, "channels" | "revoked">,
  buildId: string,
): string[] {
  const tags = CHANNELS.filter((c) => inputs.channels[c] === buildId).map(channelTag);
  return inputs.revoked.includes(buildId) ? [...tags, REVOKED_TAG] : tags;
}

/** The tags this resource manages on a template: every channel tag and `revoked`. */
const MANAGED = new Set([...CHANNELS.map(channelTag), REVOKED_TAG]);

/** Which templates to destroy: those of builds publication no longer keeps and no channel points to (pure). */
export function templatesToDestroy(
  inputs: Pick<PoolChannelsInputs, "channels" | "templates" | "keep">,
): string[] {
  const targets = new Set(Object.values(inputs.channels));
  return inputs.templates
    .filter((t) => !inputs.keep.includes(t.buildId) && !targets.has(t.buildId))
    .map((t) => t.uuid);
}

export class PoolChannelsProvider
  extends ProviderBase
  implements pulumi.dynamic.ResourceProvider<PoolChannelsInputs, PoolChannelsOutputs>
{
  protected readonly component = PREFIX;

  diff(_id: string, olds: PoolChannelsOutputs, news: PoolChannelsInputs): Promise<pulumi.dynamic.DiffResult> {
    return Promise.resolve(
      diffResult(olds, news, {
        replaces: [],
        updates: changedKeys(olds, news, SETTING_KEYS, "change").length > 0 || olds.drifted === true,
      }),
    );
  }

  async create(inputs: PoolChannelsInputs): Promise<pulumi.dynamic.CreateResult<PoolChannelsOutputs>> {
    await this.apply(inputs);
    return { id: `${inputs.templateName}-channels`, outs: { ...inputs } };
  }

  async update(
    _id: string,
    _olds: PoolChannelsOutputs,
    news: PoolChannelsInputs,
  ): Promise<pulumi.dynamic.UpdateResult<PoolChannelsOutputs>> {
    await this.apply(news);
    return { outs: { ...news } };
  }

  async read(
    id: string,
    props?: PoolChannelsOutputs,
  ): Promise<pulumi.dynamic.ReadResult<PoolChannelsOutputs>> {
    if (!props) return {};
    const drifted = await this.withPool(props.pool, async (x) => {
      for (const t of props.templates) {
        const facts = await findByUuid(x, t.uuid);
        if (!facts) continue;
        const have = facts.tags.filter((tag) => MANAGED.has(tag)).sort();
        if (have.join(",") !== wantedTags(props, t.buildId).sort().join(",")) return true;
      }
      return false;
    });
    if (drifted)
      this.say(
        `the channel tags of ${props.templateName} on ${props.pool.url} were changed: up puts them back`,
      );
    return { id, props: { ...props, ...(drifted ? { drifted } : {}) } };
  }

  async delete(_id: string, props: PoolChannelsOutputs): Promise<void> {
    // The templates themselves go with the PoolTemplate resource; only the tags this resource set come off.
    await this.withPool(props.pool, async (x) => {
      for (const t of props.templates) {
        const facts = await findByUuid(x, t.uuid);
        if (facts) await retag(x, facts, { remove: [...MANAGED] });
      }
    });
  }

  /** Moves the tags to where the channels point, then destroys the templates publication no longer keeps. */
  private async apply(inputs: PoolChannelsInputs): Promise<void> {
    await this.withPool(inputs.pool, async (x) => {
      const mine = await this.facts(x, inputs);
      // Tags first come off every template that should not carry them, so no two carry the same channel.
      for (const [buildId, facts] of mine) {
        const want = wantedTags(inputs, buildId);
        await retag(x, facts, { remove: facts.tags.filter((t) => MANAGED.has(t) && !want.includes(t)) });
      }
      for (const [buildId, facts] of mine) {
        const fresh = (await findByUuid(x, facts.uuid)) ?? facts;
        await retag(x, fresh, { add: wantedTags(inputs, buildId) });
      }
      for (const c of CHANNELS) {
        const id = inputs.channels[c];
        if (id !== undefined) this.say(`${inputs.templateName}: ${c} is build ${id}`);
      }
      for (const uuid of templatesToDestroy(inputs)) {
        const facts = await findByUuid(x, uuid);
        if (!facts) continue;
        await destroyTemplate(x, facts);
        this.say(`destroyed ${facts.nameLabel} (${uuid}): its build is no longer kept`);
      }
    });
  }

  /**
   * The entry's templates present on the pool, by build id. Only these are touched: a fleet replica on the same
   * pool (providers/replica.ts) manages its own tags.
   */
  private async facts(x: XapiSession, inputs: PoolChannelsInputs): Promise<Map<string, TemplateFacts>> {
    const out = new Map<string, TemplateFacts>();
    for (const t of inputs.templates) {
      const f = await findByUuid(x, t.uuid);
      if (f) out.set(t.buildId, f);
    }
    return out;
  }
}

export class PoolChannels extends pulumi.dynamic.Resource {
  declare readonly channels: pulumi.Output<{ readonly [C in ChannelName]?: string }>;

  constructor(name: string, args: PoolChannelsArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      shimProvider<PoolChannelsInputs, PoolChannelsOutputs>(
        "providers/pool-channels",
        "PoolChannelsProvider",
      ),
      name,
      { drifted: undefined, ...args },
      opts,
      "xcpng",
      "PoolChannels",
    );
  }
}
