/**
 * Turns a VM and the pool records around it into the `ova.xml` object graph xapi would export (`export.ml`).
 *
 * What xapi does, and we do too:
 * - walk from the VM (`update_table`): its VIFs and their networks, its VBDs and (unless empty) their VDIs and the
 *   VDIs' SRs, the suspend VDI when the power state is preserved, the guest metrics, and the hosts it is resident
 *   on / has affinity to; give each a fresh id `Ref:<n>` in that order;
 * - rewrite every reference to these ids, or to `OpaqueRef:NULL` for objects outside the export (xapi does this
 *   field by field; we do it for every reference field, which only nulls a few more dangling refs);
 * - sanitise (`make_vm`, `make_vbd`, …): a halted VM with no snapshot links, no operations, no consoles or blobs;
 *   VBDs and VIFs detached; SRs without PBDs; networks without PIFs; hosts stripped of local details.
 */
import { NULL_REF } from "./constants";
import type { DiskSource } from "./disk-source";
import { XvaInputError } from "./errors";
import { DEFAULT_OVA_VERSION, type OvaObject, type OvaVersion, type OvaXml, streamedDisks } from "./ova-xml";
import { EPOCH, makeRecord } from "./records";
import { type XvaClass, type XvaRecord, XVA_CLASS_ORDER, fieldsOf } from "./schema";

/** Read access to the pool's records, by class and opaque reference (`OpaqueRef:…` or any unique string). */
export interface ExportRecordLookup {
  /** The record of `ref`, or `undefined` when it does not exist. Partial records are completed with defaults. */
  get<C extends XvaClass>(cls: C, ref: string): Partial<XvaRecord<C>> | undefined;
}

/** Records held in plain maps, by class then reference: a ready-made {@link ExportRecordLookup}. */
export type XvaRecordMaps = { [C in XvaClass]?: Readonly<Record<string, Partial<XvaRecord<C>>>> };

/** An {@link ExportRecordLookup} over plain maps (tests, small pools). */
export function mapRecordLookup(maps: XvaRecordMaps): ExportRecordLookup {
  return {
    get<C extends XvaClass>(cls: C, ref: string): Partial<XvaRecord<C>> | undefined {
      const table = maps[cls];
      return table !== undefined && Object.prototype.hasOwnProperty.call(table, ref) ? table[ref] : undefined;
    },
  };
}

/** Input of {@link buildXvaExport}. */
export interface XvaExportInput {
  /** Reference of the VM to export. */
  vm: string;
  /** Where the VM and its related records are read from. */
  records: ExportRecordLookup;
  /**
   * Contents of a streamed VDI. Called once per disk that will be streamed; its `virtualSize` must equal the VDI's
   * `virtual_size`.
   */
  diskSource(vdiRef: string, vdi: XvaRecord<"VDI">): DiskSource;
  /**
   * Keep the power state, suspend VDI and attachment flags (`preserve_power_state=true` on `/export`).
   * @default false: the VM is exported Halted, as xapi does by default
   */
  preservePowerState?: boolean;
  /** @default {@link DEFAULT_OVA_VERSION} */
  version?: Partial<OvaVersion>;
}

/** Result of {@link buildXvaExport}: everything {@link createXvaWriter} needs, plus the id mapping. */
export interface XvaExport {
  ova: OvaXml;
  /** Disk sources keyed by VDI export id, ready for the writer. */
  disks: Map<string, DiskSource>;
  /** Export id of every exported object, by its pool reference. */
  idByRef: Map<string, string>;
}

/**
 * Builds the export of one VM: walks its records, assigns export ids, rewrites references, sanitises records as
 * xapi does, and collects the disk sources of the streamed VDIs. Throws {@link XvaInputError} when the VM does not
 * exist or a streamed VDI's source has the wrong size.
 */
export function buildXvaExport(input: XvaExportInput): XvaExport {
  const preserve = input.preservePowerState ?? false;
  const order: { cls: XvaClass; ref: string; record: Record<string, unknown> }[] = [];
  const idByRef = new Map<string, string>();

  const add = <C extends XvaClass>(cls: C, ref: string): XvaRecord<C> | undefined => {
    if (ref === NULL_REF || ref === "") return undefined;
    const existing = order.find((o) => o.ref === ref && o.cls === cls);
    if (existing !== undefined) return existing.record as XvaRecord<C>;
    const partial = input.records.get(cls, ref);
    if (partial === undefined) return undefined;
    const record = makeRecord(cls, partial);
    idByRef.set(ref, `Ref:${idByRef.size}`);
    order.push({ cls, ref, record: record });
    return record;
  };
  const addVdi = (ref: string): void => {
    const vdi = add("VDI", ref);
    if (vdi !== undefined) add("SR", vdi.SR);
  };

  const vm = add("VM", input.vm);
  if (vm === undefined) {
    throw new XvaInputError(
      `VM ${input.vm} does not exist in the records given to buildXvaExport; pass its reference`,
    );
  }
  for (const vifRef of vm.VIFs) {
    const vif = add("VIF", vifRef);
    if (vif !== undefined) add("network", vif.network);
  }
  for (const vbdRef of vm.VBDs) {
    const vbd = add("VBD", vbdRef);
    if (vbd !== undefined && !vbd.empty) addVdi(vbd.VDI);
  }
  if (preserve && vm.power_state === "Suspended") addVdi(vm.suspend_VDI);
  add("VM_guest_metrics", vm.guest_metrics);
  add("host", vm.resident_on);
  add("host", vm.affinity);

  const lookup = (ref: string): string => idByRef.get(ref) ?? NULL_REF;
  const objects: OvaObject[] = [];
  for (const cls of XVA_CLASS_ORDER) {
    for (const o of order.filter((x) => x.cls === cls)) {
      const rec = rewriteRefs(cls, o.record, lookup);
      sanitise(cls, rec, preserve);
      objects.push({ class: cls, id: lookup(o.ref), snapshot: rec } as OvaObject);
    }
  }

  const ova: OvaXml = { version: { ...DEFAULT_OVA_VERSION, ...input.version }, objects };
  const disks = new Map<string, DiskSource>();
  for (const disk of streamedDisks(ova)) {
    const ref = order.find((o) => o.cls === "VDI" && lookup(o.ref) === disk.id)?.ref as string;
    const source = input.diskSource(ref, disk.vdi);
    if (source.virtualSize !== disk.virtualSize) {
      throw new XvaInputError(
        `VDI ${ref}: virtual_size is ${disk.virtualSize} bytes but its disk source has ${source.virtualSize}; ` +
          `they must be equal`,
      );
    }
    disks.set(disk.id, source);
  }
  return { ova, disks, idByRef };
}

function rewriteRefs(
  cls: XvaClass,
  record: Record<string, unknown>,
  lookup: (ref: string) => string,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...record };
  for (const [name, kind] of Object.entries(fieldsOf(cls))) {
    if (kind === "ref") out[name] = lookup(record[name] as string);
    else if (kind === "refs")
      out[name] = (record[name] as string[]).map(lookup).filter((r) => r !== NULL_REF);
  }
  return out;
}

/** The per-class clean-up of `export.ml make_*`. References are already rewritten. */
function sanitise(cls: XvaClass, r: Record<string, unknown>, preserve: boolean): void {
  if ("current_operations" in r) r.current_operations = {};
  if ("allowed_operations" in r) r.allowed_operations = [];
  switch (cls) {
    case "VM":
      if (!preserve) {
        r.power_state = "Halted";
        r.suspend_VDI = NULL_REF;
      }
      Object.assign(r, {
        is_a_snapshot: false,
        snapshot_of: NULL_REF,
        snapshots: [],
        snapshot_time: EPOCH,
        transportable_snapshot_id: "",
        parent: NULL_REF,
        crash_dumps: [],
        consoles: [],
        metrics: NULL_REF,
        protection_policy: NULL_REF,
        blobs: {},
      });
      return;
    case "VBD":
    case "VIF":
      if (!preserve) r.currently_attached = false;
      r.metrics = NULL_REF;
      return;
    case "VDI":
      r.crash_dumps = []; // VBDs outside the export were already dropped by the reference rewrite
      return;
    case "SR":
      r.PBDs = [];
      return;
    case "network":
      r.PIFs = [];
      return;
    case "host":
      Object.assign(r, {
        PIFs: [],
        PBDs: [],
        PGPUs: [],
        PCIs: [],
        host_CPUs: [],
        license_params: {},
        blobs: {},
        external_auth_type: "",
        external_auth_service_name: "",
        external_auth_configuration: {},
        metrics: NULL_REF,
        patches: [],
        crashdumps: [],
        logging: {},
        supported_bootloaders: [],
        cpu_configuration: {},
        other_config: {},
        capabilities: [],
        software_version: {},
        sched_policy: "",
        ha_statefiles: [],
        ha_network_peers: [],
        tags: [],
      });
      return;
    default:
      return;
  }
}
