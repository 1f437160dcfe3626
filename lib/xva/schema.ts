/**
 * Field tables of the classes that appear in `ova.xml`, with the TypeScript record types derived from them.
 *
 * Field names, order and types are the XenAPI datamodel's (CH 8.1 "inverness" IDL; see the project's reference
 * notes), plus `domain_type` and `NVRAM`, which every xapi since 7.5 exports and XCP-ng templates rely on
 * (UEFI variables live in `NVRAM`). The table drives three things: the record types below, the XML-RPC encoding
 * (ints untyped, floats `<double>`, datetimes `dateTime.iso8601`), and which fields hold references to rewrite
 * when a record graph is turned into an export.
 */
import type { XmlRpcStruct } from "./xmlrpc";

/** How a field is stored and encoded. An array of strings is an enum with those values (matched case-insensitively). */
export type FieldKind =
  | "string"
  | "int"
  | "float"
  | "bool"
  | "datetime"
  /** A reference: `OpaqueRef:…` in a pool, `Ref:<n>` inside an export, `OpaqueRef:NULL` for none. */
  | "ref"
  | "refs"
  | "strings"
  | "ints"
  /** `(string -> string) map` (also enum-valued maps such as `current_operations`). */
  | "map"
  /** Any other map (`(int -> float) map` …), kept as a raw XML-RPC struct. */
  | "struct"
  | readonly string[];

const HOST_DISPLAY = ["enabled", "disable_on_reboot", "disabled", "enable_on_reboot"] as const;
const VDI_TYPE = [
  "system",
  "user",
  "ephemeral",
  "suspend",
  "crashdump",
  "ha_statefile",
  "metadata",
  "redo_log",
  "rrd",
  "pvs_cache",
  "cbt_metadata",
] as const;
const ON_BOOT = ["reset", "persist"] as const;
const VBD_MODE = ["RO", "RW"] as const;
const VBD_TYPE = ["CD", "Disk", "Floppy"] as const;
const VIF_LOCKING_MODE = ["network_default", "locked", "unlocked", "disabled"] as const;
const VIF_IPV4_CONFIGURATION_MODE = ["None", "Static"] as const;
const VIF_IPV6_CONFIGURATION_MODE = ["None", "Static"] as const;
const NETWORK_DEFAULT_LOCKING_MODE = ["unlocked", "disabled"] as const;
const VM_POWER_STATE = ["Halted", "Paused", "Running", "Suspended"] as const;
const ON_NORMAL_EXIT = ["destroy", "restart"] as const;
const ON_CRASH_BEHAVIOUR = [
  "destroy",
  "coredump_and_destroy",
  "restart",
  "coredump_and_restart",
  "preserve",
  "rename_restart",
] as const;
const TRISTATE_TYPE = ["yes", "no", "unspecified"] as const;
const DOMAIN_TYPE = ["hvm", "pv", "pv_in_pvh", "pvh", "unspecified"] as const;

/** Field tables, in datamodel order (which is also the member order xapi writes). */
export const XVA_SCHEMA = {
  host: {
    uuid: "string",
    name_label: "string",
    name_description: "string",
    memory_overhead: "int",
    allowed_operations: "strings",
    current_operations: "map",
    API_version_major: "int",
    API_version_minor: "int",
    API_version_vendor: "string",
    API_version_vendor_implementation: "map",
    enabled: "bool",
    software_version: "map",
    other_config: "map",
    capabilities: "strings",
    cpu_configuration: "map",
    sched_policy: "string",
    supported_bootloaders: "strings",
    resident_VMs: "refs",
    logging: "map",
    PIFs: "refs",
    suspend_image_sr: "ref",
    crash_dump_sr: "ref",
    crashdumps: "refs",
    patches: "refs",
    updates: "refs",
    PBDs: "refs",
    host_CPUs: "refs",
    cpu_info: "map",
    hostname: "string",
    address: "string",
    metrics: "ref",
    license_params: "map",
    ha_statefiles: "strings",
    ha_network_peers: "strings",
    blobs: "map",
    tags: "strings",
    external_auth_type: "string",
    external_auth_service_name: "string",
    external_auth_configuration: "map",
    edition: "string",
    license_server: "map",
    bios_strings: "map",
    power_on_mode: "string",
    power_on_config: "map",
    local_cache_sr: "ref",
    chipset_info: "map",
    PCIs: "refs",
    PGPUs: "refs",
    PUSBs: "refs",
    ssl_legacy: "bool",
    guest_VCPUs_params: "map",
    display: HOST_DISPLAY,
    virtual_hardware_platform_versions: "ints",
    control_domain: "ref",
    updates_requiring_reboot: "refs",
    features: "refs",
  },
  SR: {
    uuid: "string",
    name_label: "string",
    name_description: "string",
    allowed_operations: "strings",
    current_operations: "map",
    VDIs: "refs",
    PBDs: "refs",
    virtual_allocation: "int",
    physical_utilisation: "int",
    physical_size: "int",
    type: "string",
    content_type: "string",
    shared: "bool",
    other_config: "map",
    tags: "strings",
    sm_config: "map",
    blobs: "map",
    local_cache_enabled: "bool",
    introduced_by: "ref",
    clustered: "bool",
    is_tools_sr: "bool",
  },
  VDI: {
    uuid: "string",
    name_label: "string",
    name_description: "string",
    allowed_operations: "strings",
    current_operations: "map",
    SR: "ref",
    VBDs: "refs",
    crash_dumps: "refs",
    virtual_size: "int",
    physical_utilisation: "int",
    type: VDI_TYPE,
    sharable: "bool",
    read_only: "bool",
    other_config: "map",
    storage_lock: "bool",
    location: "string",
    managed: "bool",
    missing: "bool",
    parent: "ref",
    xenstore_data: "map",
    sm_config: "map",
    is_a_snapshot: "bool",
    snapshot_of: "ref",
    snapshots: "refs",
    snapshot_time: "datetime",
    tags: "strings",
    allow_caching: "bool",
    on_boot: ON_BOOT,
    metadata_of_pool: "ref",
    metadata_latest: "bool",
    is_tools_iso: "bool",
    cbt_enabled: "bool",
  },
  VBD: {
    uuid: "string",
    allowed_operations: "strings",
    current_operations: "map",
    VM: "ref",
    VDI: "ref",
    device: "string",
    userdevice: "string",
    bootable: "bool",
    mode: VBD_MODE,
    type: VBD_TYPE,
    unpluggable: "bool",
    storage_lock: "bool",
    empty: "bool",
    other_config: "map",
    currently_attached: "bool",
    status_code: "int",
    status_detail: "string",
    runtime_properties: "map",
    qos_algorithm_type: "string",
    qos_algorithm_params: "map",
    qos_supported_algorithms: "strings",
    metrics: "ref",
  },
  VIF: {
    uuid: "string",
    allowed_operations: "strings",
    current_operations: "map",
    device: "string",
    network: "ref",
    VM: "ref",
    MAC: "string",
    MTU: "int",
    other_config: "map",
    currently_attached: "bool",
    status_code: "int",
    status_detail: "string",
    runtime_properties: "map",
    qos_algorithm_type: "string",
    qos_algorithm_params: "map",
    qos_supported_algorithms: "strings",
    metrics: "ref",
    MAC_autogenerated: "bool",
    locking_mode: VIF_LOCKING_MODE,
    ipv4_allowed: "strings",
    ipv6_allowed: "strings",
    ipv4_configuration_mode: VIF_IPV4_CONFIGURATION_MODE,
    ipv4_addresses: "strings",
    ipv4_gateway: "string",
    ipv6_configuration_mode: VIF_IPV6_CONFIGURATION_MODE,
    ipv6_addresses: "strings",
    ipv6_gateway: "string",
  },
  network: {
    uuid: "string",
    name_label: "string",
    name_description: "string",
    allowed_operations: "strings",
    current_operations: "map",
    VIFs: "refs",
    PIFs: "refs",
    MTU: "int",
    other_config: "map",
    bridge: "string",
    managed: "bool",
    blobs: "map",
    tags: "strings",
    default_locking_mode: NETWORK_DEFAULT_LOCKING_MODE,
    assigned_ips: "map",
    purpose: "strings",
  },
  VM: {
    uuid: "string",
    allowed_operations: "strings",
    current_operations: "map",
    power_state: VM_POWER_STATE,
    name_label: "string",
    name_description: "string",
    user_version: "int",
    is_a_template: "bool",
    is_default_template: "bool",
    suspend_VDI: "ref",
    resident_on: "ref",
    affinity: "ref",
    memory_overhead: "int",
    memory_target: "int",
    memory_static_max: "int",
    memory_dynamic_max: "int",
    memory_dynamic_min: "int",
    memory_static_min: "int",
    VCPUs_params: "map",
    VCPUs_max: "int",
    VCPUs_at_startup: "int",
    actions_after_shutdown: ON_NORMAL_EXIT,
    actions_after_reboot: ON_NORMAL_EXIT,
    actions_after_crash: ON_CRASH_BEHAVIOUR,
    consoles: "refs",
    VIFs: "refs",
    VBDs: "refs",
    VUSBs: "refs",
    crash_dumps: "refs",
    VTPMs: "refs",
    PV_bootloader: "string",
    PV_kernel: "string",
    PV_ramdisk: "string",
    PV_args: "string",
    PV_bootloader_args: "string",
    PV_legacy_args: "string",
    HVM_boot_policy: "string",
    HVM_boot_params: "map",
    HVM_shadow_multiplier: "float",
    platform: "map",
    PCI_bus: "string",
    other_config: "map",
    domid: "int",
    domarch: "string",
    last_boot_CPU_flags: "map",
    is_control_domain: "bool",
    metrics: "ref",
    guest_metrics: "ref",
    last_booted_record: "string",
    recommendations: "string",
    xenstore_data: "map",
    ha_always_run: "bool",
    ha_restart_priority: "string",
    is_a_snapshot: "bool",
    snapshot_of: "ref",
    snapshots: "refs",
    snapshot_time: "datetime",
    transportable_snapshot_id: "string",
    blobs: "map",
    tags: "strings",
    blocked_operations: "map",
    snapshot_info: "map",
    snapshot_metadata: "string",
    parent: "ref",
    children: "refs",
    bios_strings: "map",
    protection_policy: "ref",
    is_snapshot_from_vmpp: "bool",
    snapshot_schedule: "ref",
    is_vmss_snapshot: "bool",
    appliance: "ref",
    start_delay: "int",
    shutdown_delay: "int",
    order: "int",
    VGPUs: "refs",
    attached_PCIs: "refs",
    suspend_SR: "ref",
    version: "int",
    generation_id: "string",
    hardware_platform_version: "int",
    has_vendor_device: "bool",
    requires_reboot: "bool",
    reference_label: "string",
    domain_type: DOMAIN_TYPE,
    NVRAM: "map",
  },
  VM_guest_metrics: {
    uuid: "string",
    os_version: "map",
    PV_drivers_version: "map",
    PV_drivers_up_to_date: "bool",
    memory: "map",
    disks: "map",
    networks: "map",
    other: "map",
    last_updated: "datetime",
    other_config: "map",
    live: "bool",
    can_use_hotplug_vbd: TRISTATE_TYPE,
    can_use_hotplug_vif: TRISTATE_TYPE,
    PV_drivers_detected: "bool",
  },
  VM_metrics: {
    uuid: "string",
    memory_actual: "int",
    VCPUs_number: "int",
    VCPUs_utilisation: "struct", // (int -> float) map
    VCPUs_CPU: "struct", // (int -> int) map
    VCPUs_params: "map",
    VCPUs_flags: "struct", // (int -> string set) map
    state: "strings",
    start_time: "datetime",
    install_time: "datetime",
    last_updated: "datetime",
    other_config: "map",
    hvm: "bool",
    nested_virt: "bool",
    nomigrate: "bool",
  },
} as const satisfies Record<string, Record<string, FieldKind>>;

/** The classes this library types. Other classes (VGPU, VTPM, PVS_*) pass through as raw structs. */
export type XvaClass = keyof typeof XVA_SCHEMA;

/** All typed class names, in the order xapi writes their objects into `ova.xml` (`export.ml`). */
export const XVA_CLASS_ORDER: readonly XvaClass[] = [
  "host",
  "VM",
  "VM_metrics",
  "VM_guest_metrics",
  "VBD",
  "VIF",
  "network",
  "VDI",
  "SR",
];

/** TypeScript type of one field kind. */
export type FieldValue<K> = K extends "string" | "ref"
  ? string
  : K extends "int" | "float"
    ? number
    : K extends "bool"
      ? boolean
      : K extends "datetime"
        ? Date
        : K extends "refs" | "strings"
          ? string[]
          : K extends "ints"
            ? number[]
            : K extends "map"
              ? Record<string, string>
              : K extends "struct"
                ? XmlRpcStruct
                : K extends readonly (infer E)[]
                  ? E
                  : never;

/** A complete record of class `C`, as xapi's `get_record` returns it and as `ova.xml` carries it. */
export type XvaRecord<C extends XvaClass> = {
  -readonly [F in keyof (typeof XVA_SCHEMA)[C]]: FieldValue<(typeof XVA_SCHEMA)[C][F]>;
};

export type HostRecord = XvaRecord<"host">;
export type SrRecord = XvaRecord<"SR">;
export type VdiRecord = XvaRecord<"VDI">;
export type VbdRecord = XvaRecord<"VBD">;
export type VifRecord = XvaRecord<"VIF">;
export type NetworkRecord = XvaRecord<"network">;
export type VmRecord = XvaRecord<"VM">;
export type VmGuestMetricsRecord = XvaRecord<"VM_guest_metrics">;
export type VmMetricsRecord = XvaRecord<"VM_metrics">;

/** True when `name` is one of the typed classes. */
export function isXvaClass(name: string): name is XvaClass {
  return Object.prototype.hasOwnProperty.call(XVA_SCHEMA, name);
}

/** The field table of a class, as a plain map. */
export function fieldsOf(cls: XvaClass): Readonly<Record<string, FieldKind>> {
  return XVA_SCHEMA[cls];
}
