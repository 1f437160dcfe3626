/**
 * The XVA of a locally built template: one halted HVM template with its disk image, and guest metrics that report
 * the OS of the rootfs (what a guest agent would say). Used by pack-and-import.ts (import into the pool) and by
 * the boot acceptance's tests and bench (an XVA stream without a pool).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Readable } from "node:stream";
import {
  type XvaExport,
  buildXvaExport,
  createXvaWriter,
  fileDiskSource,
  mapRecordLookup,
  planDiskChunks,
  serializeOvaXml,
  xvaTarLength,
} from "../../lib/xva";
import { buildIdTag } from "../../lib/xapi/templates";
import { guestOsVersion, parseOsRelease } from "./guest-os";

const MIB = 1024 * 1024;

export interface LocalTemplateInput {
  /** The raw disk image (packer/local/make-disk.sh). */
  readonly disk: string;
  /** The rootfs's /etc/os-release (its /etc/debian_version and /boot are read beside it when present). */
  readonly osRelease: string;
  readonly templateName: string;
  readonly buildId: string;
  /** Tags besides `xcpng-templates`, `template:<name>` and `build-id:<id>`. */
  readonly tags?: readonly string[];
  /** @default 1024 */
  readonly memoryMib?: number;
  /** @default 1 */
  readonly vcpus?: number;
}

export interface LocalTemplateXva {
  /** `<template name>-<build id>`. */
  readonly name: string;
  readonly tags: readonly string[];
  /** The guest metrics' os_version map. */
  readonly osVersion: Record<string, string>;
  /** Exact length of the XVA stream, bytes. */
  readonly length: number;
  /** A new XVA stream (uncompressed, xxhash chunk checksums) each call. */
  open(): Readable;
}

/** Kernel release of the rootfs (/boot/vmlinuz-<release>), for the guest metrics' uname. */
function kernelRelease(rootEtc: string): string | undefined {
  const boot = path.join(rootEtc, "..", "boot");
  const k = fs.existsSync(boot)
    ? fs
        .readdirSync(boot)
        .filter((f) => f.startsWith("vmlinuz-"))
        .sort()
    : [];
  return k[k.length - 1]?.slice("vmlinuz-".length);
}

/** The guest metrics' os_version of a rootfs, from its os-release, debian_version and kernel. */
export function rootfsOsVersion(osReleasePath: string): Record<string, string> {
  const osRelease = parseOsRelease(fs.readFileSync(osReleasePath, "utf8"));
  const etc = path.dirname(osReleasePath);
  const debianVersionFile = path.join(etc, "debian_version");
  const debianVersion = fs.existsSync(debianVersionFile)
    ? fs.readFileSync(debianVersionFile, "utf8")
    : undefined;
  const kernel = kernelRelease(etc);
  return guestOsVersion(osRelease, {
    ...(debianVersion !== undefined ? { debianVersion } : {}),
    ...(kernel !== undefined ? { kernelRelease: kernel } : {}),
  });
}

const VM_REF = "OpaqueRef:vm";

/** The records of the template's XVA: one HVM VM (BIOS boot), its disk, a local SR and the guest metrics. */
function templateRecords(
  input: LocalTemplateInput,
  t: { name: string; tags: string[]; osVersion: Record<string, string>; virtualSize: number },
): Parameters<typeof mapRecordLookup>[0] {
  const memory = (input.memoryMib ?? 1024) * MIB;
  const vcpus = input.vcpus ?? 1;
  const vm = VM_REF;
  const { name, osVersion } = t;
  return {
    VM: {
      [vm]: {
        name_label: name,
        name_description: `${osVersion.name} built locally by xcpng-templates, build ${input.buildId}`,
        is_a_template: true,
        power_state: "Halted",
        tags: t.tags,
        other_config: {
          "xcpng-templates-template": input.templateName,
          "xcpng-templates-build-id": input.buildId,
          "xcpng-templates-os": `${osVersion.distro} ${osVersion.major}`,
        },
        memory_static_max: memory,
        memory_dynamic_max: memory,
        memory_dynamic_min: memory,
        memory_static_min: Math.min(256 * MIB, memory),
        VCPUs_max: vcpus,
        VCPUs_at_startup: vcpus,
        HVM_boot_policy: "BIOS order",
        HVM_boot_params: { order: "cdn", firmware: "bios" },
        platform: {
          acpi: "1",
          apic: "true",
          pae: "true",
          nx: "true",
          viridian: "false",
          "device-model": "qemu-upstream-compat",
        },
        domain_type: "hvm",
        VBDs: ["OpaqueRef:vbd0"],
        VIFs: [],
        guest_metrics: "OpaqueRef:gm",
      },
    },
    VBD: {
      "OpaqueRef:vbd0": {
        VM: vm,
        VDI: "OpaqueRef:vdi0",
        userdevice: "0",
        bootable: true,
        type: "Disk",
        mode: "RW",
      },
    },
    VDI: {
      "OpaqueRef:vdi0": {
        name_label: `${name}-root`,
        name_description: `root disk of ${name}`,
        SR: "OpaqueRef:sr",
        virtual_size: t.virtualSize,
        type: "system",
        VBDs: ["OpaqueRef:vbd0"],
      },
    },
    SR: { "OpaqueRef:sr": { name_label: "local build", VDIs: ["OpaqueRef:vdi0"] } },
    VM_guest_metrics: { "OpaqueRef:gm": { os_version: osVersion, PV_drivers_detected: false } },
  };
}

/** Builds the template's XVA description; `open()` streams it. */
export async function localTemplateXva(input: LocalTemplateInput): Promise<LocalTemplateXva> {
  const osVersion = rootfsOsVersion(input.osRelease);
  const name = `${input.templateName}-${input.buildId}`;
  const tags = [
    "xcpng-templates",
    `template:${input.templateName}`,
    buildIdTag(input.buildId),
    ...(input.tags ?? []),
  ];
  const source = await fileDiskSource(input.disk);
  const exp: XvaExport = buildXvaExport({
    vm: VM_REF,
    records: mapRecordLookup(
      templateRecords(input, { name, tags, osVersion, virtualSize: source.virtualSize }),
    ),
    diskSource: () => source,
  });
  // An exact length: xapi's /import refuses chunked transfer encoding.
  const plans = [];
  for (const d of exp.disks.values()) plans.push(await planDiskChunks(d));
  const length = xvaTarLength(Buffer.byteLength(serializeOvaXml(exp.ova), "utf8"), plans);
  return {
    name,
    tags,
    osVersion,
    length,
    open: () => createXvaWriter({ ova: exp.ova, disks: exp.disks, mtime: new Date(0) }),
  };
}
