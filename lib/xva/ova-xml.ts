/**
 * `ova.xml`, the metadata entry of an XVA: a version block and the exported object graph.
 *
 * xapi writes it as `Xmlrpc.to_string (rpc_of_header header)` (`importexport.ml`, `export.ml`):
 * `struct { version: struct {...}; objects: array of struct { class; id; snapshot } }`, member order as here.
 */
import { NULL_REF, XVA_EXPORT_VSN } from "./constants";
import { XvaFormatError } from "./errors";
import { recordToStruct, structToRecord } from "./records";
import { type VdiRecord, type XvaClass, type XvaRecord, isXvaClass } from "./schema";
import { type XmlRpcStruct, type XmlRpcValue, encodeXmlRpcValue, parseXmlRpcValue } from "./xmlrpc";

/** The `version` block. Every key but `export_vsn` is mandatory for xapi's importer ("Failed to find key"). */
export interface OvaVersion {
  /** xapi writes the literal `localhost`. */
  hostname: string;
  /** Build date of the exporting xapi. */
  date: string;
  product_version: string;
  product_brand: string;
  build_number: string;
  /**
   * Import fails with `IMPORT_INCOMPATIBLE_VERSION` when (xapi_major, xapi_minor) is greater than the importing
   * host's, so a low version imports everywhere.
   */
  xapi_major: number;
  xapi_minor: number;
  /** 2 for every current xapi: inline per-chunk checksums, no trailing checksum table. */
  export_vsn: number;
}

/**
 * The version block Xen Orchestra writes (`@xen-orchestra/xva`): XCP-ng 8.2.1 with xapi 1.20, low enough to import
 * into every XCP-ng and XenServer release that reads `.xxhash` files.
 */
export const DEFAULT_OVA_VERSION: Readonly<OvaVersion> = {
  hostname: "localhost",
  date: "2022-01-01",
  product_version: "8.2.1",
  product_brand: "XCP-ng",
  build_number: "release/yangtze/master/58",
  xapi_major: 1,
  xapi_minor: 20,
  export_vsn: XVA_EXPORT_VSN,
};

/** One exported object of a typed class. `id` is its export id (`Ref:<n>`), also used in other records' refs. */
export type OvaObjectOf<C extends XvaClass> = {
  class: C;
  id: string;
  snapshot: XvaRecord<C>;
  /** Fields the datamodel table does not know (newer xapi); written back after the known ones. */
  extra?: XmlRpcStruct;
};

/** An object of a typed class (VM, VBD, VDI, VIF, network, SR, VM_guest_metrics, VM_metrics, host). */
export type TypedOvaObject = { [C in XvaClass]: OvaObjectOf<C> }[XvaClass];

/** An object of a class this library does not type (VGPU, VTPM, PVS_proxy …): kept as the raw struct. */
export interface RawOvaObject {
  class: string;
  id: string;
  raw: XmlRpcStruct;
}

/** Either kind of object; tell them apart with `"snapshot" in o`. */
export type OvaObject = TypedOvaObject | RawOvaObject;

/** The whole `ova.xml`. */
export interface OvaXml {
  version: OvaVersion;
  objects: OvaObject[];
}

/** A disk whose data follows `ova.xml` in the archive. */
export interface XvaDiskInfo {
  /** Export id of the VDI, also the tar directory of its chunks (e.g. `Ref:3`). */
  id: string;
  /** Bytes of the virtual disk; the chunks rebuild exactly this many bytes. */
  virtualSize: number;
  /** The VDI record from `ova.xml`. */
  vdi: VdiRecord;
}

/** Serializes `ova.xml` byte for byte as xapi would: one XML-RPC value, no prolog, no whitespace. */
export function serializeOvaXml(ova: OvaXml): string {
  const v = ova.version;
  const version: XmlRpcStruct = {
    hostname: v.hostname,
    date: v.date,
    product_version: v.product_version,
    product_brand: v.product_brand,
    build_number: v.build_number,
    xapi_major: v.xapi_major,
    xapi_minor: v.xapi_minor,
    export_vsn: v.export_vsn,
  };
  const objects: XmlRpcValue[] = ova.objects.map((o) => ({
    class: o.class,
    id: o.id,
    snapshot: "snapshot" in o ? snapshotStruct(o) : o.raw,
  }));
  return encodeXmlRpcValue({ version, objects });
}

function snapshotStruct(o: TypedOvaObject): XmlRpcStruct {
  // The union is correlated by `class`; TypeScript cannot follow that through a generic call.
  return recordToStruct(o.class, o.snapshot as XvaRecord<typeof o.class>, o.extra);
}

function badHeader(message: string): XvaFormatError {
  return new XvaFormatError(
    "BAD_OVA_XML",
    `ova.xml ${message}; the archive was not written by xapi or is corrupt`,
    {
      entry: "ova.xml",
    },
  );
}

function struct(v: XmlRpcValue | undefined, what: string): XmlRpcStruct {
  if (v === undefined || typeof v !== "object" || Array.isArray(v) || v instanceof Date || "value" in v) {
    throw badHeader(`${what} is not a struct`);
  }
  return v as XmlRpcStruct;
}

function stringKey(s: XmlRpcStruct, key: string): string {
  const v = s[key];
  if (v === undefined) throw badHeader(`version block lacks "${key}" (xapi's importer requires it)`);
  if (typeof v !== "string" && typeof v !== "number") throw badHeader(`version.${key} is not a string`);
  return String(v);
}

function intKey(s: XmlRpcStruct, key: string, fallback?: number): number {
  const v = s[key];
  if (v === undefined) {
    if (fallback !== undefined) return fallback;
    throw badHeader(`version block lacks "${key}" (xapi's importer requires it)`);
  }
  const n = typeof v === "number" ? v : typeof v === "string" && /^\s*-?\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw badHeader(`version.${key} is ${JSON.stringify(v)}, not an integer`);
  return n;
}

/**
 * Parses `ova.xml` into typed records. Throws {@link XvaFormatError} (`BAD_OVA_XML`) when it is not xapi's
 * header, and (`UNSUPPORTED_VERSION`) for `export_vsn` below 2 (the pre-2011 layout with a trailing checksum table).
 */
export function parseOvaXml(xml: string): OvaXml {
  const top = struct(parseXmlRpcValue(xml), "the top-level value");
  const vs = struct(top.version, "the version member");
  const version: OvaVersion = {
    hostname: stringKey(vs, "hostname"),
    date: stringKey(vs, "date"),
    product_version: stringKey(vs, "product_version"),
    product_brand: stringKey(vs, "product_brand"),
    build_number: stringKey(vs, "build_number"),
    xapi_major: intKey(vs, "xapi_major"),
    xapi_minor: intKey(vs, "xapi_minor"),
    // importexport.ml: a missing export_vsn means 0.
    export_vsn: intKey(vs, "export_vsn", 0),
  };
  if (version.export_vsn < XVA_EXPORT_VSN) {
    throw new XvaFormatError(
      "UNSUPPORTED_VERSION",
      `ova.xml declares export_vsn ${version.export_vsn}, but only export_vsn >= ${XVA_EXPORT_VSN} (inline ` +
        `checksums, xapi since 2011) is supported; re-export the VM from a current XenServer or XCP-ng`,
      { entry: "ova.xml" },
    );
  }
  const list = top.objects;
  if (!Array.isArray(list)) throw badHeader("has no objects array");
  const objects: OvaObject[] = (list as XmlRpcValue[]).map((item, i) => {
    const o = struct(item, `objects[${i}]`);
    const cls = o.class;
    const id = o.id;
    if (typeof cls !== "string" || typeof id !== "string") throw badHeader(`objects[${i}] lacks class or id`);
    const snapshot = struct(o.snapshot, `objects[${i}].snapshot`);
    if (!isXvaClass(cls)) return { class: cls, id, raw: snapshot };
    const { record, extra } = structToRecord(cls, id, snapshot);
    const typed = { class: cls, id, snapshot: record } as TypedOvaObject;
    if (Object.keys(extra).length > 0) typed.extra = extra;
    return typed;
  });
  return { version, objects };
}

/** The objects of one typed class, in archive order. */
export function objectsOfClass<C extends XvaClass>(ova: OvaXml, cls: C): OvaObjectOf<C>[] {
  // The class tag decides the snapshot type; TypeScript cannot correlate the two through the filter.
  return ova.objects.filter((o) => "snapshot" in o && o.class === cls) as unknown as OvaObjectOf<C>[];
}

/**
 * The disks whose chunks follow `ova.xml`, in stream order. Same rule as xapi's importer (`import.ml
 * non_cdrom_vdis`): VDIs of non-CD VBDs whose SR is not an ISO SR, plus suspend-image VDIs; ordered by plain string
 * comparison of the export id (`stream_vdi.ml vdi_ordering`), so `Ref:10` comes before `Ref:9`.
 */
export function streamedDisks(ova: OvaXml): XvaDiskInfo[] {
  const vdis = new Map(objectsOfClass(ova, "VDI").map((o) => [o.id, o.snapshot]));
  const srs = new Map(objectsOfClass(ova, "SR").map((o) => [o.id, o.snapshot]));
  const wanted = new Set<string>();
  for (const vbd of objectsOfClass(ova, "VBD")) {
    if (vbd.snapshot.type === "CD") continue;
    const vdiId = vbd.snapshot.VDI;
    const vdi = vdis.get(vdiId);
    if (vdi === undefined) {
      throw badHeader(
        `VBD ${vbd.id} is a ${vbd.snapshot.type} but its VDI ${vdiId === NULL_REF ? "is null" : `${vdiId} is not in the export`}`,
      );
    }
    const sr = srs.get(vdi.SR);
    if (sr === undefined) throw badHeader(`VDI ${vdiId} names SR ${vdi.SR}, which is not in the export`);
    if (sr.content_type !== "iso") wanted.add(vdiId);
  }
  for (const [id, vdi] of vdis) if (vdi.type === "suspend") wanted.add(id);
  return [...wanted]
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((id) => {
      const vdi = vdis.get(id) as VdiRecord;
      if (vdi.virtual_size < 0) throw badHeader(`VDI ${id} has a negative virtual_size ${vdi.virtual_size}`);
      return { id, virtualSize: vdi.virtual_size, vdi };
    });
}
