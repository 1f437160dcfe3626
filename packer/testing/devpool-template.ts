import type { Devpool } from "../../devpool";

/** A template on devpool as the tests check it (read from devpool's store, not over TLS). */
export interface DevpoolTemplate {
  readonly nameLabel: string;
  readonly isTemplate: boolean;
  readonly powerState: string;
  readonly tags: readonly string[];
  readonly osVersion: Readonly<Record<string, string>> | undefined;
  readonly disks: readonly { readonly vdiUuid: string; readonly virtualSize: number }[];
}

/**
 * The VMs of devpool carrying the tag `build-id:<id>`. Read from its store directly: an in-process XAPI client
 * keeps the first devpool CA it trusted (xen-api's HTTP agent), so a second devpool with its own self-signed
 * certificate in the same mocha process would be refused.
 */
export function templatesByBuildId(pool: Devpool, buildId: string): DevpoolTemplate[] {
  const { store } = pool.engine;
  const tag = `build-id:${buildId}`;
  return store
    .rows("VM")
    .filter((r) => Array.isArray(r.rec.tags) && (r.rec.tags as string[]).includes(tag))
    .map((r) => {
      const gm = store.get("VM_guest_metrics", String(r.rec.guest_metrics));
      const disks = ((r.rec.VBDs as string[] | undefined) ?? [])
        .map((vbd) => store.get("VBD", vbd))
        .filter((vbd) => vbd !== undefined && vbd.type === "Disk")
        .map((vbd) => store.require("VDI", String(vbd!.VDI)))
        .map((vdi) => ({ vdiUuid: String(vdi.uuid), virtualSize: Number(vdi.virtual_size) }));
      return {
        nameLabel: String(r.rec.name_label),
        isTemplate: r.rec.is_a_template === true,
        powerState: String(r.rec.power_state),
        tags: r.rec.tags as string[],
        osVersion: gm?.os_version as Record<string, string> | undefined,
        disks,
      };
    });
}
