/**
 * Which VM operations are allowed in which state (xapi_vm_lifecycle.ml, simplified to what a pool without guests
 * can do): the checks behind OPERATION_BLOCKED, VM_IS_TEMPLATE and VM_BAD_POWER_STATE, in that order, and the
 * advisory `allowed_operations` list clients read.
 */
import { ServerError } from "../errors";
import type { Rec } from "./store";

type Power = "Halted" | "Paused" | "Running" | "Suspended";

/** Power states each operation needs (xapi_vm_lifecycle.ml `allowed_power_states`). */
const POWER: Readonly<Record<string, readonly Power[]>> = {
  start: ["Halted"],
  start_on: ["Halted"],
  clean_shutdown: ["Running"],
  shutdown: ["Running"],
  clean_reboot: ["Running"],
  hard_shutdown: ["Paused", "Running", "Suspended"],
  hard_reboot: ["Paused", "Running"],
  pause: ["Running"],
  unpause: ["Paused"],
  suspend: ["Running"],
  resume: ["Suspended"],
  resume_on: ["Suspended"],
  clone: ["Halted", "Suspended"],
  copy: ["Halted", "Suspended"],
  snapshot: ["Halted", "Paused", "Running", "Suspended"],
  destroy: ["Halted", "Suspended"],
  export: ["Halted", "Suspended"],
  make_into_template: ["Halted"],
  provision: ["Halted"],
  changing_VCPUs: ["Halted"],
  changing_memory_limits: ["Halted"],
  changing_static_range: ["Halted"],
  changing_dynamic_range: ["Halted", "Running"],
  changing_shadow_memory: ["Halted"],
  power_state_reset: ["Halted", "Paused", "Running", "Suspended"],
};

/** Operations a template (or snapshot) allows; every other one is VM_IS_TEMPLATE [vm, op]. */
const TEMPLATE_OPS: ReadonlySet<string> = new Set([
  "clone",
  "copy",
  "export",
  "provision",
  "destroy",
  "metadata_export",
  "changing_VCPUs",
  "changing_memory_limits",
  "changing_static_range",
  "changing_dynamic_range",
  "changing_shadow_memory",
  "make_into_template",
]);

/** Throws the error xapi gives for `op` on this VM, if any. */
export function assertVmOperation(ref: string, vm: Rec, op: string): void {
  const blocked = (vm.blocked_operations as Record<string, string> | undefined)?.[op];
  if (blocked !== undefined) throw new ServerError("OPERATION_BLOCKED", [ref, blocked]);
  if (vm.is_a_template === true && !TEMPLATE_OPS.has(op)) {
    if (vm.is_a_snapshot === true) throw new ServerError("VM_IS_SNAPSHOT", [ref, op]);
    throw new ServerError("VM_IS_TEMPLATE", [ref, op]);
  }
  if (vm.is_control_domain === true && op !== "snapshot") {
    throw new ServerError("OPERATION_NOT_ALLOWED", [
      `This operation is not allowed on the control domain (${op})`,
    ]);
  }
  const states = POWER[op];
  const actual = String(vm.power_state);
  if (states !== undefined && !(states as readonly string[]).includes(actual)) {
    throw new ServerError("VM_BAD_POWER_STATE", [
      ref,
      states.map((s) => s.toLowerCase()).join(", "),
      actual.toLowerCase(),
    ]);
  }
}

const RUNNING_OPS = [
  "changing_dynamic_range",
  "migrate_send",
  "pool_migrate",
  "changing_VCPUs_live",
  "suspend",
  "hard_reboot",
  "hard_shutdown",
  "clean_reboot",
  "clean_shutdown",
  "pause",
  "checkpoint",
  "snapshot",
];

/**
 * Operations xapi never lists in allowed_operations (xapi_vm_lifecycle.ml `ignored_ops`, v25.6.0), although some
 * of them are checked when called (changing_VCPUs, changing_memory_limits).
 */
const IGNORED_OPS: ReadonlySet<string> = new Set([
  "create_template",
  "power_state_reset",
  "csvm",
  "get_boot_record",
  "send_sysrq",
  "send_trigger",
  "query_services",
  "shutdown",
  "call_plugin",
  "changing_memory_live",
  "awaiting_memory_live",
  "changing_memory_limits",
  "changing_shadow_memory_live",
  "changing_VCPUs",
  "assert_operation_valid",
  "data_source_op",
  "update_allowed_operations",
  "import",
  "reverting",
]);

/**
 * The advisory allowed_operations of a VM in its current state, limited to the vm_operations enum and without
 * xapi's ignored operations. XCP-ng 8.3 adds `changing_NVRAM` (halted VMs and templates) and `create_vtpm` (halted
 * VMs without a VTPM) to what older datamodels knew (xapi_vm_lifecycle.ml `allowed_power_states`,
 * `check_operation_error`): strict clients built on an older datamodel cannot decode these values, here as on
 * a real 8.3 pool.
 */
export function vmAllowedOperations(vm: Rec, enumValues: readonly string[]): string[] {
  let ops: string[];
  if (vm.is_control_domain === true) ops = [];
  else if (vm.is_a_template === true) {
    ops = [
      "changing_memory_limits",
      "changing_shadow_memory",
      "changing_static_range",
      "changing_dynamic_range",
    ];
    ops.push("changing_VCPUs", "changing_NVRAM", "export", "metadata_export", "provision", "clone", "copy");
    const isDefault =
      vm.is_default_template === true || (vm.other_config as Rec | undefined)?.default_template === "true";
    if (!isDefault) ops.push("destroy");
  } else {
    switch (vm.power_state) {
      case "Running":
        ops = RUNNING_OPS;
        break;
      case "Paused":
        ops = ["changing_dynamic_range", "hard_reboot", "hard_shutdown", "unpause", "snapshot"];
        break;
      case "Suspended":
        ops = [
          "resume",
          "resume_on",
          "hard_shutdown",
          "destroy",
          "export",
          "metadata_export",
          "clone",
          "copy",
        ];
        ops.push("snapshot");
        break;
      default:
        ops = [
          "changing_memory_limits",
          "changing_shadow_memory",
          "changing_static_range",
          "changing_dynamic_range",
        ];
        ops.push("changing_VCPUs", "changing_NVRAM", "make_into_template", "migrate_send", "destroy");
        ops.push("provision", "export", "metadata_export", "start_on", "start", "clone", "copy", "snapshot");
        if (((vm.VTPMs as unknown[] | undefined) ?? []).length === 0) ops.push("create_vtpm");
    }
  }
  const blocked = (vm.blocked_operations as Record<string, string> | undefined) ?? {};
  return ops.filter((o) => enumValues.includes(o) && !IGNORED_OPS.has(o) && !(o in blocked));
}
