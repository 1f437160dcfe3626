/**
 * The pool a fresh XCP-ng 8.3 install shows: one host (its dom0, metrics, CPUs, management PIF), the pool-wide
 * network on eth0 and the host-internal management network, a local ext SR (the pool's default SR), the tools ISO
 * SR with guest-tools.iso, the udev SRs for DVD drives and removable storage, and the default templates of the
 * guest-templates-json packages (`templates.json`, with their real names and uuids).
 *
 * Version figures (xapi 25.6, API 2.21, product 8.3.0) are those of an up-to-date 8.3 host as of 2025; they are
 * illustrative: clients of devpool should not depend on exact build numbers.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import type { Engine } from "../api/context";
import { createVdi, createVm, randomMac, refreshSr } from "../api/objects";
import { now } from "../rpc/format";
import catalogue from "./templates.json";

export const XAPI_MAJOR = 25;
export const XAPI_MINOR = 6;
export const PRODUCT_VERSION = "8.3.0";

interface CatalogueTemplate {
  uuid: string;
  reference_label: string;
  name_label: string;
  name_description: string;
  memory_static_min: number | null;
  memory: number | null;
  VCPUs_max: number;
  VCPUs_at_startup: number;
  HVM_boot_policy: string;
  HVM_boot_params: Record<string, string>;
  PV_bootloader: string;
  PV_args: string;
  platform: Record<string, string>;
  other_config: Record<string, string>;
  has_vendor_device: boolean;
  generation_id: string;
  recommendations: string;
  disks: { size: number; bootable: boolean; type: string }[];
}

export const TEMPLATES: readonly CatalogueTemplate[] = (catalogue as { templates: CatalogueTemplate[] })
  .templates;

/** `other_config:disks` as guest-templates-json's blank_template.py writes it (minidom attribute order). */
export function provisionXml(disks: CatalogueTemplate["disks"]): string {
  const entries = disks.map(
    (d, i) =>
      `<disk size="${d.size}" sr="" bootable="${String(d.bootable)}" type="${d.type}" device="${i}"/>`,
  );
  return `<provision>${entries.join("")}</provision>`;
}

export interface SeedOptions {
  /** The host's management address (host.address, PIF.IP, console locations). */
  readonly address: string;
  readonly hostname: string;
}

function diskBytes(dir: string): { total: number; used: number } {
  try {
    const s = fs.statfsSync(dir);
    return { total: s.blocks * s.bsize, used: (s.blocks - s.bfree) * s.bsize };
  } catch {
    return { total: 500 * 2 ** 30, used: 0 };
  }
}

/** The host, its metrics and one host_cpu per CPU of this machine. */
function seedHost(engine: Engine): { hostRef: string; hostMetrics: string; cpuCount: number } {
  const { store } = engine;
  const hostRef = store.add("host", { uuid: randomUUID() });
  const cpuCount = Math.max(1, os.cpus().length);
  const memTotal = os.totalmem();
  const hostMetrics = store.add("host_metrics", {
    memory_total: memTotal,
    memory_free: Math.floor(memTotal * 0.8),
    live: true,
    last_updated: now(),
  });
  for (let i = 0; i < cpuCount; i++) {
    store.add("host_cpu", {
      host: hostRef,
      number: i,
      vendor: "GenuineIntel",
      speed: 2400,
      modelname: "Intel(R) Xeon(R) CPU (devpool)",
      family: 6,
      model: 85,
      stepping: "4",
      flags: "fpu de tsc msr pae mce cx8 apic sep mca cmov pat clflush mmx fxsr sse sse2 ht syscall nx lm",
      features: "1fcbfbff-f7fa3203-2c100800-00000021",
      utilisation: 0,
    });
  }
  return { hostRef, hostMetrics, cpuCount };
}

/** The four SRs of a fresh XCP-ng host (local ext storage is the default), their PBDs and the tools ISO. */
function seedStorage(engine: Engine, hostRef: string): string {
  const { store } = engine;
  const { total, used } = diskBytes(engine.disks.dir);
  const localSr = store.add("SR", {
    name_label: "Local storage",
    name_description: "",
    type: "ext",
    content_type: "user",
    shared: false,
    physical_size: total,
    physical_utilisation: used,
    other_config: { "i18n-key": "local-storage", "i18n-original-value-name_label": "Local storage" },
    sm_config: { devserial: "scsi-devpool" },
    allowed_operations: [
      "vdi_create",
      "vdi_destroy",
      "vdi_resize",
      "vdi_clone",
      "vdi_snapshot",
      "scan",
      "update",
    ],
  });
  const toolsSr = store.add("SR", {
    name_label: "XCP-ng Tools",
    name_description: "XCP-ng Tools ISOs",
    type: "iso",
    content_type: "iso",
    shared: true,
    is_tools_sr: true,
    other_config: {
      xensource_internal: "true",
      xenserver_tools_sr: "true",
      "i18n-key": "xenserver-tools",
      "i18n-original-value-name_label": "XCP-ng Tools",
      "i18n-original-value-name_description": "XCP-ng Tools ISOs",
    },
    sm_config: {},
  });
  const dvdSr = store.add("SR", {
    name_label: "DVD drives",
    name_description: "Physical DVD drives",
    type: "udev",
    content_type: "iso",
    other_config: { "i18n-key": "local-hotplug-cd", "i18n-original-value-name_label": "DVD drives" },
    sm_config: { type: "cd" },
  });
  const removableSr = store.add("SR", {
    name_label: "Removable storage",
    type: "udev",
    content_type: "disk",
    other_config: { "i18n-key": "local-hotplug-disk", "i18n-original-value-name_label": "Removable storage" },
    sm_config: { type: "block" },
  });
  const pbdConfig: [string, Record<string, string>][] = [
    [localSr, { device: "/dev/sda3" }],
    [toolsSr, { location: "/opt/xensource/packages/iso", legacy_mode: "true" }],
    [dvdSr, { location: "/dev/xapi/cd" }],
    [removableSr, { location: "/dev/xapi/block" }],
  ];
  for (const [sr, device_config] of pbdConfig) {
    store.add("PBD", { host: hostRef, SR: sr, device_config, currently_attached: true, other_config: {} });
  }
  createVdi(engine, {
    name_label: "guest-tools.iso",
    name_description: "XCP-ng VM Tools",
    SR: toolsSr,
    virtual_size: 44_040_192,
    type: "user",
    read_only: true,
    sharable: true,
    is_tools_iso: true,
  });
  return localSr;
}

/** The pool-wide network on eth0 (the management PIF) and the host-internal management network. */
function seedNetworks(engine: Engine, hostRef: string, opts: SeedOptions): void {
  const { store } = engine;
  const management = store.add("network", {
    name_label: "Pool-wide network associated with eth0",
    name_description: "",
    bridge: "xenbr0",
    MTU: 1500,
    managed: true,
    other_config: {},
    default_locking_mode: "unlocked",
    allowed_operations: [],
  });
  store.add("network", {
    name_label: "Host internal management network",
    name_description: "Network on which guests will be assigned a private link-local IP address",
    bridge: "xenapi",
    MTU: 1500,
    managed: true,
    other_config: {
      is_guest_installer_network: "true",
      is_host_internal_management_network: "true",
      ip_begin: "169.254.0.1",
      ip_end: "169.254.255.254",
      netmask: "255.255.0.0",
    },
    default_locking_mode: "unlocked",
  });
  const pifMetrics = store.add("PIF_metrics", {
    carrier: true,
    device_name: "Ethernet Controller",
    vendor_name: "Intel Corporation",
    speed: 1000,
    duplex: true,
    last_updated: now(),
  });
  store.add("PIF", {
    device: "eth0",
    network: management,
    host: hostRef,
    MAC: randomMac(),
    MTU: 1500,
    VLAN: -1,
    metrics: pifMetrics,
    physical: true,
    currently_attached: true,
    ip_configuration_mode: "Static",
    IP: opts.address,
    netmask: "255.255.255.0",
    gateway: "",
    DNS: "",
    management: true,
    managed: true,
    primary_address_type: "IPv4",
    properties: { gro: "on" },
    capabilities: [],
  });
}

/** dom0, running on the host, with its console. */
function seedControlDomain(engine: Engine, hostRef: string, cpuCount: number, opts: SeedOptions): string {
  const { store } = engine;
  const dom0 = createVm(
    engine,
    {
      name_label: `Control domain on host: ${opts.hostname}`,
      name_description: "The domain which manages physical devices and manages other domains",
      is_control_domain: true,
      power_state: "Running",
      domid: 0,
      resident_on: hostRef,
      memory_static_min: 4294967296,
      memory_static_max: 4294967296,
      memory_dynamic_min: 4294967296,
      memory_dynamic_max: 4294967296,
      memory_target: 4294967296,
      VCPUs_max: cpuCount,
      VCPUs_at_startup: cpuCount,
      domain_type: "pv",
      other_config: { storage_driver_domain: "OpaqueRef:NULL", is_system_domain: "true" },
    },
    { memory_actual: 4294967296, VCPUs_number: cpuCount, start_time: now(), current_domain_type: "pv" },
  );
  store.add("console", {
    VM: dom0,
    protocol: "rfb",
    location: `https://${opts.address}/console?ref=${dom0}`,
    other_config: {},
  });
  return dom0;
}

/** The host record as XCP-ng 8.3 fills it: versions, capabilities, CPU info, SRs and dom0. */
function describeHost(
  engine: Engine,
  host: { hostRef: string; hostMetrics: string; cpuCount: number },
  localSr: string,
  dom0: string,
  opts: SeedOptions,
): void {
  const { store } = engine;
  const { hostRef, hostMetrics, cpuCount } = host;
  store.update("host", hostRef, {
    name_label: opts.hostname,
    name_description: "Default install",
    hostname: opts.hostname,
    address: opts.address,
    enabled: true,
    memory_overhead: 1_254_100_992,
    API_version_major: 2,
    API_version_minor: 21,
    API_version_vendor: "XenSource",
    software_version: {
      product_version: PRODUCT_VERSION,
      product_version_text: "8.3",
      product_version_text_short: "8.3",
      platform_name: "XCP",
      platform_version: "3.4.0",
      product_brand: "XCP-ng",
      build_number: "cloud",
      git_id: "0",
      hostname: "localhost",
      date: "2025-06-30",
      xapi: `${XAPI_MAJOR}.${XAPI_MINOR}`,
      xapi_build: `${XAPI_MAJOR}.${XAPI_MINOR}.0`,
      xen: "4.17.5-13",
      linux: "4.19.0+1",
      xencenter_min: "2.21",
      xencenter_max: "2.21",
      network_backend: "openvswitch",
      db_schema: "5.786",
    },
    capabilities: ["xen-3.0-x86_64", "hvm-3.0-x86_32", "hvm-3.0-x86_32p", "hvm-3.0-x86_64", ""],
    sched_policy: "credit",
    supported_bootloaders: ["pygrub", "eliloader"],
    cpu_info: {
      cpu_count: String(cpuCount),
      socket_count: "1",
      vendor: "GenuineIntel",
      speed: "2400.000",
      modelname: "Intel(R) Xeon(R) CPU (devpool)",
      family: "6",
      model: "85",
      stepping: "4",
    },
    edition: "xcp-ng",
    license_params: { sku_type: "free", expiry: "30000101T00:00:00Z" },
    other_config: { agent_start_time: String(Date.now() / 1000), iscsi_iqn: "" },
    metrics: hostMetrics,
    suspend_image_sr: localSr,
    crash_dump_sr: localSr,
    display: "enabled",
    virtual_hardware_platform_versions: [0, 1, 2],
    control_domain: dom0,
    editions: ["xcp-ng"],
    bios_strings: { "bios-vendor": "Xen", "system-manufacturer": "Xen", "system-product-name": "HVM domU" },
  });
}

/** Seeds an empty store. Returns nothing: the pool and host are found by the engine afterwards. */
export function seed(engine: Engine, opts: SeedOptions): void {
  const { store } = engine;
  const host = seedHost(engine);
  const { hostRef, cpuCount } = host;
  const localSr = seedStorage(engine, hostRef);
  seedNetworks(engine, hostRef, opts);
  const dom0 = seedControlDomain(engine, hostRef, cpuCount, opts);
  describeHost(engine, host, localSr, dom0, opts);
  store.add("pool", {
    name_label: "",
    name_description: "",
    master: hostRef,
    default_SR: localSr,
    suspend_image_SR: localSr,
    crash_dump_SR: localSr,
    other_config: { memory_ratio_hvm: "0.25", memory_ratio_pv: "0.25" },
    restrictions: {
      restrict_vswitch_controller: "false",
      restrict_lab: "false",
      restrict_pool_size: "false",
    },
    cpu_info: { cpu_count: String(cpuCount), socket_count: "1", vendor: "GenuineIntel" },
    ha_cluster_stack: "xhad",
  });

  for (const t of TEMPLATES) seedTemplate(engine, t);
  refreshSr(engine, localSr);
}

function seedTemplate(engine: Engine, t: CatalogueTemplate): void {
  const min = t.memory_static_min ?? 268435456;
  const mem = t.memory ?? min * 2;
  const otherConfig: Record<string, string> = {
    ...t.other_config,
    mac_seed: randomUUID(),
    default_template: "true",
  };
  if (t.disks.length > 0) otherConfig.disks = provisionXml(t.disks);
  createVm(engine, {
    uuid: t.uuid,
    name_label: t.name_label,
    name_description: t.name_description,
    reference_label: t.reference_label,
    is_a_template: true,
    is_default_template: true,
    user_version: 1,
    memory_static_min: min,
    memory_static_max: mem,
    memory_dynamic_min: mem,
    memory_dynamic_max: mem,
    VCPUs_max: t.VCPUs_max,
    VCPUs_at_startup: t.VCPUs_at_startup,
    actions_after_shutdown: "destroy",
    actions_after_reboot: "restart",
    actions_after_crash: "restart",
    HVM_boot_policy: t.HVM_boot_policy,
    HVM_boot_params: t.HVM_boot_params,
    HVM_shadow_multiplier: 1,
    PV_bootloader: t.PV_bootloader,
    PV_args: t.PV_args,
    platform: t.platform,
    other_config: otherConfig,
    recommendations: t.recommendations,
    has_vendor_device: t.has_vendor_device,
    generation_id: t.generation_id,
    domain_type: t.HVM_boot_policy !== "" ? "hvm" : "pv",
  });
}
