/**
 * What XCP-ng 8.3's xapi has beyond the CH 8.1 datamodel devpool's tables come from: fields added since (read in
 * xapi's datamodel_vm.ml / datamodel_host.ml / datamodel_pool.ml, the xapi-24 `VM.get_all_records` dump of the SDK
 * component tests, and `@vates/types` xen-api.mts, which marks post-7.0 fields optional), the enums they use, and
 * the semi-public messages the 8.1 dump omits (`get_all_records_where`, `task.set_progress`, ...).
 */
import type { DatamodelField, DatamodelMessage } from "./datamodel-types";

export const EXTRA_ENUMS: Readonly<Record<string, readonly string[]>> = {
  domain_type: ["hvm", "pv", "pv_in_pvh", "pvh", "unspecified"],
  on_softreboot_behavior: ["soft_reboot", "destroy", "restart", "preserve"],
  update_guidances: [
    "reboot_host",
    "reboot_host_on_livepatch_failure",
    "reboot_host_on_kernel_livepatch_failure",
    "reboot_host_on_xen_livepatch_failure",
    "restart_toolstack",
    "restart_device_model",
    "restart_vm",
  ],
  host_numa_affinity_policy: ["any", "best_effort", "default_policy"],
  latest_synced_updates_applied_state: ["yes", "no", "unknown"],
  telemetry_frequency: ["daily", "weekly", "monthly"],
  update_sync_frequency: ["daily", "weekly"],
  persistence_backend: ["xapi"],
  // ocaml/idl/datamodel_vm.ml `operations` at v25.6.0: CH 8.1's values plus changing_NVRAM and create_vtpm.
  vm_operations: [
    "snapshot",
    "clone",
    "copy",
    "create_template",
    "revert",
    "checkpoint",
    "snapshot_with_quiesce",
    "provision",
    "start",
    "start_on",
    "pause",
    "unpause",
    "clean_shutdown",
    "clean_reboot",
    "hard_shutdown",
    "power_state_reset",
    "hard_reboot",
    "suspend",
    "csvm",
    "resume",
    "resume_on",
    "pool_migrate",
    "migrate_send",
    "get_boot_record",
    "send_sysrq",
    "send_trigger",
    "query_services",
    "shutdown",
    "call_plugin",
    "changing_memory_live",
    "awaiting_memory_live",
    "changing_dynamic_range",
    "changing_static_range",
    "changing_memory_limits",
    "changing_shadow_memory",
    "changing_shadow_memory_live",
    "changing_VCPUs",
    "changing_VCPUs_live",
    "changing_NVRAM",
    "assert_operation_valid",
    "data_source_op",
    "update_allowed_operations",
    "make_into_template",
    "import",
    "export",
    "metadata_export",
    "reverting",
    "destroy",
    "create_vtpm",
  ],
  // ocaml/idl/datamodel_pool.ml and datamodel_host.ml at v25.6.0: the operations xapi 25.6 can report.
  pool_allowed_operations: [
    "ha_enable",
    "ha_disable",
    "cluster_create",
    "designate_new_master",
    "configure_repositories",
    "sync_updates",
    "sync_bundle",
    "get_updates",
    "apply_updates",
    "tls_verification_enable",
    "cert_refresh",
    "exchange_certificates_on_join",
    "exchange_ca_certificates_on_join",
    "copy_primary_host_certs",
    "eject",
  ],
  host_allowed_operations: [
    "provision",
    "evacuate",
    "shutdown",
    "reboot",
    "power_on",
    "vm_start",
    "vm_resume",
    "vm_migrate",
    "apply_updates",
    "enable",
  ],
};

/** Fields per class, appended after the 8.1 ones (so records keep xapi's datamodel order for the old fields). */
export const EXTRA_FIELDS: Readonly<Record<string, readonly DatamodelField[]>> = {
  VM: [
    ["actions_after_softreboot", "enum on_softreboot_behavior", "RW", "soft_reboot"],
    ["scheduled_to_be_resident_on", "host ref", "RO/runtime"],
    ["domain_type", "enum domain_type", "RO/constructor", "unspecified"],
    ["NVRAM", "(string -> string) map", "RW", "{}"],
    ["pending_guidances", "enum update_guidances set", "RO/runtime", "{}"],
    ["pending_guidances_recommended", "enum update_guidances set", "RO/runtime", "{}"],
    ["pending_guidances_full", "enum update_guidances set", "RO/runtime", "{}"],
  ],
  VM_metrics: [["current_domain_type", "enum domain_type", "RO/runtime", "unspecified"]],
  host: [
    ["editions", "string set", "RO/runtime", "{}"],
    ["pending_guidances", "enum update_guidances set", "RO/runtime", "{}"],
    ["pending_guidances_recommended", "enum update_guidances set", "RO/runtime", "{}"],
    ["pending_guidances_full", "enum update_guidances set", "RO/runtime", "{}"],
    ["tls_verification_enabled", "bool", "RO/runtime", "false"],
    ["last_software_update", "datetime", "RO/runtime"],
    ["https_only", "bool", "RO/runtime", "false"],
    ["latest_synced_updates_applied", "enum latest_synced_updates_applied_state", "RO/runtime", "unknown"],
    ["numa_affinity_policy", "enum host_numa_affinity_policy", "RO/runtime", "default_policy"],
    ["last_update_hash", "string", "RO/runtime", '""'],
    ["multipathing", "bool", "RW", "false"],
    ["iscsi_iqn", "string", "RO/runtime", '""'],
  ],
  pool: [
    ["coordinator_bias", "bool", "RW", "true"],
    ["uefi_certificates", "string", "RO/runtime", '""'],
    ["custom_uefi_certificates", "string", "RO/runtime", '""'],
    ["is_psr_pending", "bool", "RO/runtime", "false"],
    ["tls_verification_enabled", "bool", "RO/runtime", "false"],
    ["repository_proxy_url", "string", "RO/runtime", '""'],
    ["repository_proxy_username", "string", "RO/runtime", '""'],
    ["client_certificate_auth_enabled", "bool", "RO/runtime", "false"],
    ["client_certificate_auth_name", "string", "RO/runtime", '""'],
    ["migration_compression", "bool", "RW", "false"],
    ["last_update_sync", "datetime", "RO/runtime"],
    ["update_sync_frequency", "enum update_sync_frequency", "RO/runtime", "weekly"],
    ["update_sync_day", "int", "RO/runtime", "0"],
    ["update_sync_enabled", "bool", "RO/runtime", "false"],
    ["local_auth_max_threads", "int", "RO/runtime", "8"],
    ["ext_auth_max_threads", "int", "RO/runtime", "1"],
  ],
  VTPM: [
    ["is_unique", "bool", "RO/runtime", "false"],
    ["is_protected", "bool", "RO/runtime", "false"],
    ["persistence_backend", "enum persistence_backend", "RO/constructor", "xapi"],
  ],
};

const S = "session ref";

/**
 * Messages the 8.1 dump lacks. Getters and setters of the extra fields are generated from EXTRA_FIELDS;
 * `<class>.get_all_records_where` / `get_all_where` are added for every class with `get_all_records`.
 */
export const EXTRA_MESSAGES: Readonly<Record<string, readonly DatamodelMessage[]>> = {
  task: [
    [
      "set_progress",
      [
        [S, "session_id"],
        ["task ref", "self"],
        ["float", "value"],
      ],
      "void",
      false,
    ],
    [
      "set_result",
      [
        [S, "session_id"],
        ["task ref", "self"],
        ["string", "value"],
      ],
      "void",
      false,
    ],
    [
      "set_error_info",
      [
        [S, "session_id"],
        ["task ref", "self"],
        ["string set", "value"],
      ],
      "void",
      false,
    ],
  ],
  VM: [
    [
      "set_domain_type",
      [
        [S, "session_id"],
        ["VM ref", "self"],
        ["enum domain_type", "value"],
      ],
      "void",
      false,
    ],
    [
      "set_NVRAM",
      [
        [S, "session_id"],
        ["VM ref", "self"],
        ["(string -> string) map", "value"],
      ],
      "void",
      false,
    ],
  ],
};
