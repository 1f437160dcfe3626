/**
 * The objects an XVA import creates, in xapi's order (import.ml: SR and network mapped to local ones, then VDIs,
 * guest metrics, VMs, VBDs, VIFs), and their removal when the import fails, so a failed import leaves nothing.
 *
 * Without `restore`, objects get new uuids and VIFs new MACs; with it, both are kept (`restore=true` on /import).
 * CD VDIs on ISO SRs are not streamed: their VBD points at the local VDI with the same uuid, or becomes empty.
 */
import { type OvaXml, objectsOfClass, streamedDisks } from "../../lib/xva";
import type { Engine } from "../api/context";
import {
  createVbd,
  createVdi,
  createVif,
  createVm,
  destroyVdi,
  destroyVm,
  refreshVmOps,
} from "../api/objects";
import type { Rec } from "../model/store";
import { NULL_REF } from "../model/types";
import { fromXvaRecord } from "./xva-records";

export interface ImportPlan {
  /** New VM refs, snapshots excluded unless the archive holds only snapshots (xapi's task result). */
  readonly vms: readonly string[];
  /** Every VM created. */
  readonly allVms: readonly string[];
  /** The new VDI (ref and uuid) each streamed disk is written to, by export id. */
  readonly disks: ReadonlyMap<string, { readonly ref: string; readonly uuid: string }>;
  /** Everything created, in creation order, for rollback. */
  readonly created: readonly (readonly [string, string])[];
}

const str = (v: unknown): string => (typeof v === "string" ? v : "");

function mapNetwork(engine: Engine, net: Rec | undefined): string {
  const rows = engine.store.rows("network");
  const by = (f: (r: Rec) => boolean) => rows.find((r) => f(r.rec))?.ref;
  if (net !== undefined) {
    const hit =
      by((r) => r.uuid === net.uuid) ??
      by((r) => r.name_label === net.name_label && r.name_label !== "") ??
      by((r) => r.bridge === net.bridge && r.bridge !== "");
    if (hit !== undefined) return hit;
  }
  // Anything else lands on the management network, as xapi's import falls back to a local network.
  return by((r) => (r.PIFs as string[]).length > 0) ?? rows[0]?.ref ?? NULL_REF;
}

/** Removes what a failed import created, newest first. */
export function rollback(engine: Engine, created: readonly (readonly [string, string])[]): void {
  const { store } = engine;
  for (const [cls, ref] of [...created].reverse()) {
    if (!store.has(cls, ref)) continue;
    if (cls === "VM") destroyVm(engine, ref);
    else if (cls === "VDI") destroyVdi(engine, ref);
    else store.remove(cls, ref);
  }
}

/** What the import's phases share: the archive, where it goes, and what was created so far. */
interface ImportRun {
  readonly engine: Engine;
  readonly ova: OvaXml;
  readonly targetSr: string;
  readonly task: string;
  readonly restore: boolean;
  /** Everything created, in creation order, for rollback. */
  readonly created: [string, string][];
  /** Archive ids (`Ref:3`) to the local refs they became. */
  readonly idMap: Map<string, string>;
}

/** With `restore`, the archive's uuid is kept; otherwise the object gets a new one. */
function keepUuid(run: ImportRun, uuid: unknown): Rec {
  return run.restore && typeof uuid === "string" && uuid !== "" ? { uuid } : {};
}

/** VDIs: streamed ones are created in the target SR; the others (CDs) map to the local VDI of the same uuid. */
function importVdis(run: ImportRun): Map<string, { ref: string; uuid: string }> {
  const { engine, ova, targetSr, created, idMap } = run;
  const { store, schema } = engine;
  const disks = new Map<string, { ref: string; uuid: string }>();
  const streamed = new Set(streamedDisks(ova).map((d) => d.id));
  for (const o of objectsOfClass(ova, "VDI")) {
    const rec = fromXvaRecord(schema, "VDI", o.snapshot, o.extra);
    if (!streamed.has(o.id)) {
      const local = store.refByUuid("VDI", str(rec.uuid));
      if (local !== undefined) idMap.set(o.id, local);
      continue;
    }
    const ref = createVdi(engine, {
      ...keepUuid(run, rec.uuid),
      name_label: rec.name_label,
      name_description: rec.name_description,
      SR: targetSr,
      virtual_size: rec.virtual_size,
      type: rec.type,
      sharable: rec.sharable,
      read_only: rec.read_only,
      other_config: rec.other_config,
      xenstore_data: rec.xenstore_data,
      tags: rec.tags,
      on_boot: rec.on_boot,
      allow_caching: rec.allow_caching,
    });
    created.push(["VDI", ref]);
    idMap.set(o.id, ref);
    disks.set(o.id, { ref, uuid: str(store.require("VDI", ref).uuid) });
  }
  return disks;
}

function importGuestMetrics(run: ImportRun): void {
  const { engine, ova, created, idMap } = run;
  const { store, schema } = engine;
  for (const o of objectsOfClass(ova, "VM_guest_metrics")) {
    const rec = fromXvaRecord(schema, "VM_guest_metrics", o.snapshot, o.extra);
    const ref = store.add("VM_guest_metrics", { ...rec, uuid: "", ...keepUuid(run, rec.uuid) });
    created.push(["VM_guest_metrics", ref]);
    idMap.set(o.id, ref);
  }
}

/** VMs, halted or suspended, residing nowhere, marked with the import task. Returns VMs and snapshots apart. */
function importVms(run: ImportRun): { vms: string[]; snapshots: string[] } {
  const { engine, ova, task, created, idMap } = run;
  const { schema } = engine;
  const vms: string[] = [];
  const snapshots: string[] = [];
  for (const o of objectsOfClass(ova, "VM")) {
    const rec = fromXvaRecord(schema, "VM", o.snapshot, o.extra);
    for (const f of [
      "VBDs",
      "VIFs",
      "VTPMs",
      "VGPUs",
      "VUSBs",
      "consoles",
      "snapshots",
      "children",
      "crash_dumps",
    ]) {
      delete rec[f];
    }
    const ref = createVm(engine, {
      ...rec,
      uuid: "",
      ...keepUuid(run, rec.uuid),
      power_state: rec.power_state === "Suspended" ? "Suspended" : "Halted",
      resident_on: NULL_REF,
      affinity: NULL_REF,
      scheduled_to_be_resident_on: NULL_REF,
      suspend_VDI: idMap.get(str(rec.suspend_VDI)) ?? NULL_REF,
      snapshot_of: NULL_REF,
      parent: NULL_REF,
      domid: -1,
      guest_metrics: idMap.get(str(rec.guest_metrics)) ?? NULL_REF,
      other_config: { ...(rec.other_config as Record<string, string>), import_task: task },
      current_operations: { [task]: "import" },
      allowed_operations: [],
    });
    created.push(["VM", ref]);
    idMap.set(o.id, ref);
    (rec.is_a_snapshot === true ? snapshots : vms).push(ref);
  }
  return { vms, snapshots };
}

function importVbds(run: ImportRun): void {
  const { engine, ova, created, idMap } = run;
  const { schema } = engine;
  for (const o of objectsOfClass(ova, "VBD")) {
    const rec = fromXvaRecord(schema, "VBD", o.snapshot, o.extra);
    const vm = idMap.get(str(rec.VM));
    if (vm === undefined) continue;
    const vdi = idMap.get(str(rec.VDI)) ?? NULL_REF;
    const ref = createVbd(engine, {
      ...keepUuid(run, rec.uuid),
      VM: vm,
      VDI: vdi,
      empty: vdi === NULL_REF,
      userdevice: rec.userdevice,
      device: rec.device,
      bootable: rec.bootable,
      mode: rec.mode,
      type: rec.type,
      unpluggable: rec.unpluggable,
      other_config: rec.other_config,
      qos_algorithm_type: rec.qos_algorithm_type,
      qos_algorithm_params: rec.qos_algorithm_params,
    });
    created.push(["VBD", ref]);
  }
}

/** VIFs on the local network matching the archive's (new MACs unless `restore`). */
function importVifs(run: ImportRun): void {
  const { engine, ova, restore, created, idMap } = run;
  const { schema } = engine;
  const networks = new Map(
    objectsOfClass(ova, "network").map((o) => [o.id, fromXvaRecord(schema, "network", o.snapshot)]),
  );
  for (const o of objectsOfClass(ova, "VIF")) {
    const rec = fromXvaRecord(schema, "VIF", o.snapshot, o.extra);
    const vm = idMap.get(str(rec.VM));
    if (vm === undefined) continue;
    const ref = createVif(engine, {
      ...keepUuid(run, rec.uuid),
      VM: vm,
      network: mapNetwork(engine, networks.get(str(rec.network))),
      device: rec.device,
      MAC: restore ? rec.MAC : "",
      MTU: rec.MTU,
      other_config: rec.other_config,
      locking_mode: rec.locking_mode,
      ipv4_allowed: rec.ipv4_allowed,
      ipv6_allowed: rec.ipv6_allowed,
      qos_algorithm_type: rec.qos_algorithm_type,
      qos_algorithm_params: rec.qos_algorithm_params,
    });
    created.push(["VIF", ref]);
  }
}

export function createImportedObjects(
  engine: Engine,
  ova: OvaXml,
  targetSr: string,
  task: string,
  restore: boolean,
): ImportPlan {
  const run: ImportRun = { engine, ova, targetSr, task, restore, created: [], idMap: new Map() };
  try {
    const disks = importVdis(run);
    importGuestMetrics(run);
    const { vms, snapshots } = importVms(run);
    importVbds(run);
    importVifs(run);
    return {
      vms: vms.length > 0 ? vms : snapshots,
      allVms: [...vms, ...snapshots],
      disks,
      created: run.created,
    };
  } catch (e) {
    rollback(engine, run.created);
    throw e;
  }
}

/** Ends the import of the VMs: they lose their `import` operation and get their allowed operations. */
export function completeImportedVms(engine: Engine, plan: ImportPlan, task: string): void {
  for (const vm of plan.allVms) {
    const rec = engine.store.get("VM", vm);
    if (rec === undefined) continue;
    const ops = { ...(rec.current_operations as Record<string, string>) };
    delete ops[task];
    engine.store.update("VM", vm, { current_operations: ops });
    refreshVmOps(engine, vm);
  }
}
