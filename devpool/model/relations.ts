/**
 * One-to-many relations whose "many" side is a read-only set on the parent (xapi's `Datamodel.all_relations`): the
 * database keeps the child's reference field and the parent's set in step, so `VM.VBDs` always lists the VBDs whose
 * `VM` is that VM, and changing one side is an event on the other.
 */
export interface Relation {
  readonly child: string;
  readonly field: string;
  readonly parent: string;
  readonly set: string;
}

export const RELATIONS: readonly Relation[] = [
  { child: "VBD", field: "VM", parent: "VM", set: "VBDs" },
  { child: "VBD", field: "VDI", parent: "VDI", set: "VBDs" },
  { child: "VIF", field: "VM", parent: "VM", set: "VIFs" },
  { child: "VIF", field: "network", parent: "network", set: "VIFs" },
  { child: "VDI", field: "SR", parent: "SR", set: "VDIs" },
  { child: "VDI", field: "snapshot_of", parent: "VDI", set: "snapshots" },
  { child: "PBD", field: "SR", parent: "SR", set: "PBDs" },
  { child: "PBD", field: "host", parent: "host", set: "PBDs" },
  { child: "PIF", field: "host", parent: "host", set: "PIFs" },
  { child: "PIF", field: "network", parent: "network", set: "PIFs" },
  { child: "VM", field: "resident_on", parent: "host", set: "resident_VMs" },
  { child: "VM", field: "snapshot_of", parent: "VM", set: "snapshots" },
  { child: "VM", field: "parent", parent: "VM", set: "children" },
  { child: "console", field: "VM", parent: "VM", set: "consoles" },
  { child: "VTPM", field: "VM", parent: "VM", set: "VTPMs" },
  { child: "VGPU", field: "VM", parent: "VM", set: "VGPUs" },
  { child: "VUSB", field: "VM", parent: "VM", set: "VUSBs" },
  { child: "crashdump", field: "VM", parent: "VM", set: "crash_dumps" },
  { child: "crashdump", field: "VDI", parent: "VDI", set: "crash_dumps" },
  { child: "host_cpu", field: "host", parent: "host", set: "host_CPUs" },
  { child: "host_crashdump", field: "host", parent: "host", set: "crashdumps" },
  { child: "task", field: "subtask_of", parent: "task", set: "subtasks" },
];

export const RELATIONS_BY_CHILD: ReadonlyMap<string, readonly Relation[]> = group((r) => r.child);
export const RELATIONS_BY_PARENT: ReadonlyMap<string, readonly Relation[]> = group((r) => r.parent);

function group(key: (r: Relation) => string): Map<string, Relation[]> {
  const m = new Map<string, Relation[]>();
  for (const r of RELATIONS) m.set(key(r), [...(m.get(key(r)) ?? []), r]);
  return m;
}
