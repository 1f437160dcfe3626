import { XcpngError } from "../errors";
import type { XapiSession } from "./client";
import { XapiError } from "./errors";

/** Several VMs carry one build's tag: which one is the build's cannot be decided. */
export class AmbiguousBuildIdError extends XcpngError {
  /** The uuids of the VMs that carry the tag. */
  readonly vmUuids: readonly string[];
  constructor(message: string, vmUuids: readonly string[]) {
    super("AMBIGUOUS_BUILD_ID", message);
    this.vmUuids = vmUuids;
  }
}

/** The tag that ties a template on the pool to the build that produced it (never look templates up by name). */
export function buildIdTag(buildId: string): string {
  // The Packer templates tag every build this way (packer/xenserver-iso/source.pkr.hcl vm_tags).
  return `build-id:${buildId}`;
}

/** Facts about a template, read through the XAPI. */
export interface TemplateFacts {
  readonly ref: string;
  readonly uuid: string;
  readonly nameLabel: string;
  readonly isTemplate: boolean;
  readonly powerState: string;
  readonly tags: readonly string[];
  readonly disks: readonly {
    readonly vdiRef: string;
    readonly vdiUuid: string;
    readonly virtualSize: number;
  }[];
  /** VM_guest_metrics.os_version, or undefined when the guest agent never reported. */
  readonly osVersion?: Readonly<Record<string, string>>;
}

interface VmRecord {
  uuid: string;
  name_label: string;
  is_a_template: boolean;
  is_control_domain: boolean;
  power_state: string;
  tags: string[];
  VBDs: string[];
  guest_metrics: string;
}

const NULL_REF = "OpaqueRef:NULL";

/** The object no longer exists (xapi's HANDLE_INVALID for a ref, UUID_INVALID for a uuid). */
function isGone(e: unknown): boolean {
  return e instanceof XapiError && (e.code === "HANDLE_INVALID" || e.code === "UUID_INVALID");
}

async function factsOf(x: XapiSession, ref: string, vm: VmRecord): Promise<TemplateFacts> {
  const disks: { vdiRef: string; vdiUuid: string; virtualSize: number }[] = [];
  for (const vbdRef of vm.VBDs) {
    const vbd = await x.read<{ type: string; VDI: string }>("VBD.get_record", vbdRef);
    if (vbd.type !== "Disk" || vbd.VDI === NULL_REF) continue;
    const vdi = await x.read<{ uuid: string; virtual_size: string | number }>("VDI.get_record", vbd.VDI);
    disks.push({ vdiRef: vbd.VDI, vdiUuid: vdi.uuid, virtualSize: Number(vdi.virtual_size) });
  }
  let osVersion: Record<string, string> | undefined;
  if (vm.guest_metrics && vm.guest_metrics !== NULL_REF) {
    const gm = await x.read<{ os_version: Record<string, string> }>(
      "VM_guest_metrics.get_record",
      vm.guest_metrics,
    );
    osVersion = Object.keys(gm.os_version).length > 0 ? gm.os_version : undefined;
  }
  return {
    ref,
    uuid: vm.uuid,
    nameLabel: vm.name_label,
    isTemplate: vm.is_a_template,
    powerState: vm.power_state,
    tags: vm.tags,
    disks,
    ...(osVersion !== undefined ? { osVersion } : {}),
  };
}

/** Finds the one VM carrying the build-id tag; undefined when there is none; an error when several do. */
export async function findByBuildId(x: XapiSession, buildId: string): Promise<TemplateFacts | undefined> {
  const tag = buildIdTag(buildId);
  const all = await x.read<Record<string, VmRecord>>("VM.get_all_records");
  const hits = Object.entries(all).filter(([, vm]) => !vm.is_control_domain && vm.tags.includes(tag));
  if (hits.length > 1) {
    const uuids = hits.map(([, v]) => v.uuid);
    throw new AmbiguousBuildIdError(
      `pool: ${hits.length} VMs carry the tag ${tag} (${uuids.join(", ")}); a build id must be ` +
        `unique. Remove the stray copies on the pool, then run 'pulumi up' again.`,
      uuids,
    );
  }
  const hit = hits[0];
  return hit ? factsOf(x, hit[0], hit[1]) : undefined;
}

/** Facts of the VM with this uuid, or undefined when it no longer exists. */
export async function findByUuid(x: XapiSession, uuid: string): Promise<TemplateFacts | undefined> {
  let ref: string;
  try {
    ref = await x.read<string>("VM.get_by_uuid", uuid);
  } catch (e) {
    if (isGone(e)) return undefined;
    throw e;
  }
  const vm = await x.read<VmRecord>("VM.get_record", ref);
  return factsOf(x, ref, vm);
}

/** Destroys the VM and then its disks (VM.destroy leaves VDIs behind). Already-gone objects are fine. */
export async function destroyTemplate(x: XapiSession, facts: TemplateFacts): Promise<void> {
  try {
    await x.write("VM.destroy", facts.ref);
  } catch (e) {
    if (!isGone(e)) throw e;
  }
  for (const d of facts.disks) {
    try {
      await x.write("VDI.destroy", d.vdiRef);
    } catch (e) {
      if (!isGone(e)) throw e;
    }
  }
}

/** The tag that marks a template verified and owned by a catalogue entry (the build pool's and every fleet pool's). */
export function templateTag(name: string): string {
  return `template:${name}`;
}

/**
 * The tag a verified template carries on the build pool: it then belongs to its PoolTemplate resource (a rollback
 * target until publication prunes it), not to the build that made it, which removes only unverified templates.
 */
export const VERIFIED_TAG = "xcpng-templates:verified";

/** The tag that marks the template a channel points to (`channel:stable`): consumers select by it. */
export function channelTag(channel: string): string {
  return `channel:${channel}`;
}

/** Adds tags a VM lacks and removes the given ones it has (VM.add_tags / VM.remove_tags: idempotent per tag). */
export async function retag(
  x: XapiSession,
  facts: Pick<TemplateFacts, "ref" | "tags">,
  change: { add?: readonly string[]; remove?: readonly string[] },
): Promise<void> {
  for (const t of change.remove ?? [])
    if (facts.tags.includes(t)) await x.write("VM.remove_tags", facts.ref, t);
  for (const t of change.add ?? []) if (!facts.tags.includes(t)) await x.write("VM.add_tags", facts.ref, t);
}
