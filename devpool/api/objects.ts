/**
 * Object constructors and destructors with xapi's side effects, shared by the API methods, the seed and import:
 * a VM always gets its VM_metrics; a VDI gets its sparse file; a VBD's "autodetect" userdevice becomes the lowest
 * free slot; a VIF without MAC gets a generated one; destroying a VM takes its VBDs, VIFs, consoles and metrics
 * but never its VDIs (xapi_vm_helpers.ml).
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { ServerError } from "../errors";
import { EPOCH, now } from "../rpc/format";
import type { Rec } from "../model/store";
import { NULL_REF } from "../model/types";
import { vmAllowedOperations } from "../model/vm-lifecycle";
import type { Engine } from "./context";

const str = (v: unknown): string => (typeof v === "string" ? v : "");

/** Recomputes a VM's advisory allowed_operations after a state change. */
export function refreshVmOps(engine: Engine, ref: string): void {
  const vm = engine.store.get("VM", ref);
  if (vm === undefined) return;
  const ops = vmAllowedOperations(vm, engine.schema.enums.vm_operations ?? []);
  const current = vm.allowed_operations as string[];
  if (ops.length !== current.length || ops.some((o, i) => o !== current[i])) {
    engine.store.update("VM", ref, { allowed_operations: ops });
  }
}

/** Creates a VM and its VM_metrics. `values` override the datamodel defaults. */
export function createVm(engine: Engine, values: Rec, metrics: Rec = {}): string {
  const metricsRef = engine.store.add("VM_metrics", {
    memory_actual: 0,
    VCPUs_number: 0,
    VCPUs_utilisation: {},
    VCPUs_CPU: {},
    VCPUs_params: {},
    VCPUs_flags: {},
    state: [],
    start_time: EPOCH,
    install_time: now(),
    last_updated: EPOCH,
    hvm: (values.HVM_boot_policy ?? "") !== "",
    current_domain_type: "unspecified",
    ...metrics,
  });
  const ref = engine.store.add("VM", {
    power_state: "Halted",
    domid: -1,
    domain_type: (values.HVM_boot_policy ?? "") !== "" ? "hvm" : "unspecified",
    ...values,
    metrics: metricsRef,
    uuid: str(values.uuid) === "" ? randomUUID() : values.uuid,
  });
  refreshVmOps(engine, ref);
  return ref;
}

/** Destroys a VM with its VBDs, VIFs, VTPMs, consoles, metrics and guest metrics; its VDIs stay. */
export function destroyVm(engine: Engine, ref: string): void {
  const { store } = engine;
  const vm = store.require("VM", ref);
  for (const [cls, field] of [
    ["VBD", "VBDs"],
    ["VIF", "VIFs"],
    ["VTPM", "VTPMs"],
    ["console", "consoles"],
  ] as const) {
    for (const child of (vm[field] as string[] | undefined) ?? [])
      if (store.has(cls, child)) store.remove(cls, child);
  }
  for (const [cls, field] of [
    ["VM_metrics", "metrics"],
    ["VM_guest_metrics", "guest_metrics"],
  ] as const) {
    const r = str(vm[field]);
    if (r !== NULL_REF && store.has(cls, r)) store.remove(cls, r);
  }
  store.remove("VM", ref);
}

/** Keeps an SR's utilisation figures in step with its VDIs. */
export function refreshSr(engine: Engine, sr: string): void {
  const rec = engine.store.get("SR", sr);
  if (rec === undefined) return;
  let virtual = 0;
  let physical = 0;
  for (const vdi of rec.VDIs as string[]) {
    const v = engine.store.get("VDI", vdi);
    if (v === undefined) continue;
    virtual += Number(v.virtual_size);
    physical += Number(v.physical_utilisation);
  }
  if (rec.virtual_allocation !== virtual || rec.physical_utilisation !== physical) {
    engine.store.update("SR", sr, { virtual_allocation: virtual, physical_utilisation: physical });
  }
}

/** Creates a VDI record and its (sparse, all-zero) file. */
export function createVdi(engine: Engine, values: Rec): string {
  const sr = str(values.SR);
  const srRec = engine.store.require("SR", sr);
  const size = Number(values.virtual_size ?? 0);
  if (!Number.isInteger(size) || size < 0) {
    throw new ServerError("INVALID_VALUE", ["virtual_size", String(values.virtual_size)]);
  }
  const uuid = str(values.uuid) === "" ? randomUUID() : str(values.uuid);
  engine.disks.create(uuid, size);
  const ref = engine.store.add("VDI", {
    allowed_operations: [
      "clone",
      "copy",
      "resize",
      "snapshot",
      "destroy",
      "forget",
      "update",
      "generate_config",
    ],
    type: "user",
    managed: true,
    storage_lock: false,
    on_boot: "persist",
    snapshot_time: EPOCH,
    ...values,
    // The SM backend adds its own keys to what the client gave (an ext SR stores VHDs).
    sm_config: {
      ...(srRec.content_type === "iso" ? {} : { vdi_type: "vhd" }),
      ...(values.sm_config ?? {}),
    },
    uuid,
    virtual_size: size,
    physical_utilisation: 0,
    location: uuid,
  });
  refreshSr(engine, sr);
  return ref;
}

/** Re-reads a VDI file's allocation (after a write through /import or /import_raw_vdi). */
export function refreshVdiUsage(engine: Engine, ref: string): void {
  const vdi = engine.store.get("VDI", ref);
  if (vdi === undefined) return;
  engine.store.update("VDI", ref, { physical_utilisation: engine.disks.allocated(str(vdi.uuid)) });
  refreshSr(engine, str(vdi.SR));
}

export function destroyVdi(engine: Engine, ref: string): void {
  const vdi = engine.store.require("VDI", ref);
  for (const vbd of vdi.VBDs as string[]) {
    if (engine.store.get("VBD", vbd)?.currently_attached === true)
      throw new ServerError("VDI_IN_USE", [ref, "destroy"]);
  }
  // Xapi_vdi.destroy removes the (detached) VBDs that still point at the VDI.
  for (const vbd of vdi.VBDs as string[]) if (engine.store.has("VBD", vbd)) engine.store.remove("VBD", vbd);
  engine.store.remove("VDI", ref);
  engine.disks.destroy(str(vdi.uuid));
  refreshSr(engine, str(vdi.SR));
}

/** A copy of a VDI's record and data, in `sr` (or the source's SR). */
export async function copyVdi(engine: Engine, ref: string, sr: string, extra: Rec = {}): Promise<string> {
  const src = engine.store.require("VDI", ref);
  const targetSr = sr === NULL_REF || sr === "" ? str(src.SR) : sr;
  engine.store.require("SR", targetSr);
  const uuid = randomUUID();
  await engine.disks.copy(str(src.uuid), uuid);
  const copy = engine.store.add("VDI", {
    ...src,
    uuid,
    SR: targetSr,
    VBDs: [],
    snapshots: [],
    crash_dumps: [],
    current_operations: {},
    location: uuid,
    is_a_snapshot: false,
    snapshot_of: NULL_REF,
    snapshot_time: EPOCH,
    physical_utilisation: engine.disks.allocated(uuid),
    ...extra,
  });
  refreshSr(engine, targetSr);
  return copy;
}

function usedUserdevices(engine: Engine, vm: Rec): Set<string> {
  return new Set(
    (vm.VBDs as string[]).map((r) => str(engine.store.get("VBD", r)?.userdevice)).filter((u) => u !== ""),
  );
}

/** The device name a VBD gets when attached: userdevice n is xvd<a+n> (xvda, xvdb, ... xvdd for the CD slot 3). */
export function deviceName(userdevice: string): string {
  const n = Number(userdevice);
  return Number.isInteger(n) && n >= 0 && n < 26 ? `xvd${String.fromCharCode(97 + n)}` : "";
}

export function createVbd(engine: Engine, values: Rec): string {
  const { store } = engine;
  const vmRef = str(values.VM);
  const vm = store.require("VM", vmRef);
  const vdi = str(values.VDI);
  const empty = values.empty === true;
  if (!empty && vdi !== NULL_REF) store.require("VDI", vdi);
  if (!empty && vdi === NULL_REF) throw new ServerError("VDI_IS_NOT_PRESENT", [vdi]);
  const used = usedUserdevices(engine, vm);
  let userdevice = str(values.userdevice);
  if (userdevice === "autodetect" || userdevice === "") {
    let n = 0;
    while (used.has(String(n))) n++;
    userdevice = String(n);
  } else if (used.has(userdevice)) {
    throw new ServerError("DEVICE_ALREADY_EXISTS", [userdevice]);
  }
  return store.add("VBD", {
    allowed_operations: ["attach", "plug"],
    bootable: false,
    mode: "RW",
    type: "Disk",
    unpluggable: true,
    storage_lock: false,
    currently_attached: false,
    qos_supported_algorithms: [],
    ...values,
    VDI: empty ? NULL_REF : vdi,
    empty,
    userdevice,
    device: str(values.device),
  });
}

/** A locally administered unicast MAC, as xapi generates when none is given. */
export function randomMac(): string {
  const b = randomBytes(6);
  b[0] = ((b[0] ?? 0) & 0xfc) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join(":");
}

export function createVif(engine: Engine, values: Rec): string {
  const { store } = engine;
  const vm = store.require("VM", str(values.VM));
  const network = store.require("network", str(values.network));
  const device = str(values.device);
  for (const vif of vm.VIFs as string[]) {
    if (str(store.get("VIF", vif)?.device) === device)
      throw new ServerError("DEVICE_ALREADY_EXISTS", [device]);
  }
  const mac = str(values.MAC);
  return store.add("VIF", {
    allowed_operations: ["attach", "plug"],
    MTU: network.MTU,
    locking_mode: "network_default",
    ipv4_configuration_mode: "None",
    ipv6_configuration_mode: "None",
    qos_supported_algorithms: [],
    ...values,
    MAC: mac === "" ? randomMac() : mac,
    MAC_autogenerated: typeof values.MAC_autogenerated === "boolean" ? values.MAC_autogenerated : mac === "",
    currently_attached: false,
  });
}

/**
 * The MAC of a VIF made by `VIF.create`, as ocaml/xapi/xapi_vif_helpers.ml `create` decides it: with a `mac_seed`
 * in the VM's other_config (every clone of a template has one) and no MAC given, `gen_mac (device, seed)`: MD5
 * applied 2·device+1 times to the seed, bytes 0–3 of that and 1–2 of its MD5, made locally administered and
 * unicast (Record_util.mac_from_int_array); a given MAC is kept. Without a seed the MAC must be given.
 * Throws INVALID_DEVICE for a non-numeric device and MAC_INVALID for anything but six hex pairs.
 */
export function vifMac(vm: Rec, device: string, mac: string): { MAC: string; MAC_autogenerated: boolean } {
  if (!/^[+-]?\d+$/.test(device)) throw new ServerError("INVALID_DEVICE", [device]);
  const seed = (vm.other_config as Record<string, string> | undefined)?.mac_seed;
  let out = { MAC: mac, MAC_autogenerated: false };
  if (seed !== undefined && mac === "") {
    let d: Buffer = Buffer.from(seed, "utf8");
    for (let i = 0; i < 2 * Number(device) + 1; i++) d = createHash("md5").update(d).digest();
    const d2 = createHash("md5").update(d).digest();
    const bytes = [d[0] ?? 0, d[1] ?? 0, d[2] ?? 0, d[3] ?? 0, d2[1] ?? 0, d2[2] ?? 0];
    bytes[0] = ((bytes[0] ?? 0) | 0x2) & ~0x1;
    out = { MAC: bytes.map((b) => b.toString(16).padStart(2, "0")).join(":"), MAC_autogenerated: true };
  }
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(out.MAC)) throw new ServerError("MAC_INVALID", [out.MAC]);
  return out;
}
