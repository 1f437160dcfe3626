import { expect } from "chai";
import { NULL_REF } from "./constants";
import { bufferDiskSource } from "./disk-source";
import { XvaFormatError, XvaInputError } from "./errors";
import { buildXvaExport, mapRecordLookup } from "./export-graph";
import { type OvaXml, objectsOfClass, parseOvaXml, serializeOvaXml, streamedDisks } from "./ova-xml";
import { makeRecord } from "./records";
import { vmExport } from "./test-fixtures";

describe("xva ova.xml", () => {
  it("serializes the version block first, with xapi's member order and untyped ints", () => {
    const xml = serializeOvaXml(vmExport({ disks: [Buffer.alloc(10)] }).ova);
    expect(xml.startsWith("<value><struct><member><name>version</name><value><struct>")).to.equal(true);
    expect(xml).to.contain(
      "<member><name>xapi_major</name><value>1</value></member><member><name>xapi_minor</name><value>20</value></member>" +
        "<member><name>export_vsn</name><value>2</value></member>",
    );
    expect(xml).to.not.match(/>\s+</);
    expect(xml).to.contain(
      "<member><name>class</name><value>VM</value></member><member><name>id</name><value>Ref:0</value>",
    );
    // A float field is a <double> even when integral; an int field is untyped.
    expect(xml).to.contain(
      "<member><name>HVM_shadow_multiplier</name><value><double>1</double></value></member>",
    );
    expect(xml).to.contain("<member><name>virtual_size</name><value>10</value></member>");
  });

  it("round-trips every typed record, and keeps unknown fields and unknown classes", () => {
    const exp = vmExport({
      disks: [Buffer.alloc(3)],
      withCdrom: true,
      guestOs: "Debian GNU/Linux 12 (bookworm)",
    });
    const vm = exp.ova.objects[0];
    if (vm === undefined || !("snapshot" in vm)) throw new Error("fixture has no VM first");
    vm.extra = { pending_guidances: ["restart_vm"] };
    const withRaw: OvaXml = {
      ...exp.ova,
      objects: [...exp.ova.objects, { class: "VTPM", id: "Ref:99", raw: { VM: "Ref:0", is_unique: false } }],
    };
    const back = parseOvaXml(serializeOvaXml(withRaw));
    expect(back).to.deep.equal(withRaw);
  });

  it("reads records the way xapi accepts them: enum case-insensitively, missing fields defaulted", () => {
    const xml =
      "<value><struct><member><name>version</name><value><struct>" +
      "<member><name>hostname</name><value>localhost</value></member><member><name>date</name><value>d</value></member>" +
      "<member><name>product_version</name><value>8.2.1</value></member><member><name>product_brand</name><value>XCP-ng</value></member>" +
      "<member><name>build_number</name><value>b</value></member><member><name>xapi_major</name><value>1</value></member>" +
      "<member><name>xapi_minor</name><value>20</value></member><member><name>export_vsn</name><value>2</value></member>" +
      "</struct></value></member><member><name>objects</name><value><array><data>" +
      "<value><struct><member><name>class</name><value>VM</value></member><member><name>id</name><value>Ref:000</value></member>" +
      "<member><name>snapshot</name><value><struct><member><name>power_state</name><value>halted</value></member>" +
      "<member><name>memory_static_max</name><value>4294967296</value></member></struct></value></member></struct></value>" +
      "</data></array></value></member></struct></value>";
    const vm = objectsOfClass(parseOvaXml(xml), "VM")[0]?.snapshot;
    expect(vm?.power_state).to.equal("Halted");
    expect(vm?.memory_static_max).to.equal(4294967296);
    expect(vm?.VBDs).to.deep.equal([]);
    expect(vm?.suspend_VDI).to.equal(NULL_REF);
  });

  it("refuses export_vsn below 2 and a version block without a mandatory key", () => {
    const ova = vmExport({ disks: [] }).ova;
    const old = serializeOvaXml({ ...ova, version: { ...ova.version, export_vsn: 1 } });
    expect(() => parseOvaXml(old))
      .to.throw(XvaFormatError, /export_vsn 1/)
      .with.property("code", "UNSUPPORTED_VERSION");
    const noBrand = serializeOvaXml(ova).replace(
      /<member><name>product_brand<\/name><value>[^<]*<\/value><\/member>/,
      "",
    );
    expect(() => parseOvaXml(noBrand))
      .to.throw(XvaFormatError, /lacks "product_brand"/)
      .with.property("code", "BAD_OVA_XML");
    const badInt = serializeOvaXml(ova).replace(
      /<name>VCPUs_max<\/name><value>1</,
      "<name>VCPUs_max</name><value>one<",
    );
    expect(() => parseOvaXml(badInt)).to.throw(XvaFormatError, /VCPUs_max should be an integer/);
  });

  it("streams non-CD disks on non-ISO SRs and suspend images, in string order of their ids", () => {
    const exp = vmExport({ disks: Array.from({ length: 3 }, () => Buffer.alloc(1)), withCdrom: true });
    const ids = streamedDisks(exp.ova).map((d) => d.id);
    expect(ids).to.deep.equal(["Ref:4", "Ref:7", "Ref:9"]); // the CD (Ref:10 → ISO VDI Ref:11) streams nothing
    expect(ids).to.not.include(exp.idByRef.get("OpaqueRef:iso"));
    expect(objectsOfClass(exp.ova, "VDI").map((o) => o.id)).to.include(exp.idByRef.get("OpaqueRef:iso"));
    const suspend = {
      ...exp.ova,
      objects: [
        ...exp.ova.objects,
        {
          class: "VDI" as const,
          id: "Ref:50",
          snapshot: makeRecord("VDI", { type: "suspend", virtual_size: 5 }),
        },
      ],
    };
    expect(streamedDisks(suspend).map((d) => d.id)).to.include("Ref:50");
  });

  it("rejects a disk VBD whose VDI is not in the export", () => {
    const exp = vmExport({ disks: [Buffer.alloc(1)] });
    const objects = exp.ova.objects.filter((o) => o.class !== "VDI");
    expect(() => streamedDisks({ ...exp.ova, objects }))
      .to.throw(XvaFormatError, /VBD Ref:3 is a Disk but its VDI Ref:4 is not in the export/)
      .with.property("code", "BAD_OVA_XML");
  });
});

describe("xva export graph", () => {
  const records = mapRecordLookup({
    VM: {
      "OpaqueRef:vm": {
        name_label: "golden",
        power_state: "Running",
        VBDs: ["OpaqueRef:vbd", "OpaqueRef:gone"],
        VIFs: ["OpaqueRef:vif"],
        consoles: ["OpaqueRef:console"],
        current_operations: { "OpaqueRef:task": "export" },
        resident_on: "OpaqueRef:host",
        snapshots: ["OpaqueRef:snap"],
        metrics: "OpaqueRef:metrics",
      },
    },
    VBD: { "OpaqueRef:vbd": { VM: "OpaqueRef:vm", VDI: "OpaqueRef:vdi", currently_attached: true } },
    VDI: {
      "OpaqueRef:vdi": {
        SR: "OpaqueRef:sr",
        virtual_size: 2 * 1024 * 1024,
        VBDs: ["OpaqueRef:vbd", "OpaqueRef:other-vms-vbd"],
      },
    },
    SR: { "OpaqueRef:sr": { VDIs: ["OpaqueRef:vdi", "OpaqueRef:other"], PBDs: ["OpaqueRef:pbd"] } },
    VIF: { "OpaqueRef:vif": { VM: "OpaqueRef:vm", network: "OpaqueRef:net", currently_attached: true } },
    network: { "OpaqueRef:net": { PIFs: ["OpaqueRef:pif"], VIFs: ["OpaqueRef:vif", "OpaqueRef:foreign"] } },
    host: {
      "OpaqueRef:host": { name_label: "xcp1", PIFs: ["OpaqueRef:pif"], software_version: { xapi: "1.20" } },
    },
  });
  const exp = buildXvaExport({
    vm: "OpaqueRef:vm",
    records,
    diskSource: (_ref, vdi) => bufferDiskSource(Buffer.alloc(vdi.virtual_size)),
  });

  it("gives ids in xapi's walk order and writes objects in xapi's class order", () => {
    expect([...exp.idByRef]).to.deep.equal([
      ["OpaqueRef:vm", "Ref:0"],
      ["OpaqueRef:vif", "Ref:1"],
      ["OpaqueRef:net", "Ref:2"],
      ["OpaqueRef:vbd", "Ref:3"],
      ["OpaqueRef:vdi", "Ref:4"],
      ["OpaqueRef:sr", "Ref:5"],
      ["OpaqueRef:host", "Ref:6"],
    ]);
    expect(exp.ova.objects.map((o) => o.class)).to.deep.equal([
      "host",
      "VM",
      "VBD",
      "VIF",
      "network",
      "VDI",
      "SR",
    ]);
    expect([...exp.disks.keys()]).to.deep.equal(["Ref:4"]);
  });

  it("rewrites references to export ids and nulls or drops the ones outside the export", () => {
    const vm = objectsOfClass(exp.ova, "VM")[0]?.snapshot;
    expect(vm?.VBDs).to.deep.equal(["Ref:3"]);
    expect(vm?.VIFs).to.deep.equal(["Ref:1"]);
    expect(vm?.resident_on).to.equal("Ref:6");
    const vdi = objectsOfClass(exp.ova, "VDI")[0]?.snapshot;
    expect(vdi?.SR).to.equal("Ref:5");
    expect(vdi?.VBDs).to.deep.equal(["Ref:3"]);
    expect(objectsOfClass(exp.ova, "SR")[0]?.snapshot.VDIs).to.deep.equal(["Ref:4"]);
    expect(objectsOfClass(exp.ova, "network")[0]?.snapshot.VIFs).to.deep.equal(["Ref:1"]);
  });

  it("sanitises as export.ml does: halted VM without operations, consoles, snapshots or metrics; detached devices", () => {
    const vm = objectsOfClass(exp.ova, "VM")[0]?.snapshot;
    expect(vm?.power_state).to.equal("Halted");
    expect(vm?.current_operations).to.deep.equal({});
    expect(vm?.consoles).to.deep.equal([]);
    expect(vm?.snapshots).to.deep.equal([]);
    expect(vm?.metrics).to.equal(NULL_REF);
    expect(objectsOfClass(exp.ova, "VBD")[0]?.snapshot.currently_attached).to.equal(false);
    expect(objectsOfClass(exp.ova, "VIF")[0]?.snapshot.currently_attached).to.equal(false);
    expect(objectsOfClass(exp.ova, "SR")[0]?.snapshot.PBDs).to.deep.equal([]);
    expect(objectsOfClass(exp.ova, "network")[0]?.snapshot.PIFs).to.deep.equal([]);
    const host = objectsOfClass(exp.ova, "host")[0]?.snapshot;
    expect(host?.PIFs).to.deep.equal([]);
    expect(host?.software_version).to.deep.equal({});
    expect(host?.name_label).to.equal("xcp1");
  });

  it("fails on a missing VM and on a disk source of the wrong size", () => {
    expect(() =>
      buildXvaExport({ vm: "OpaqueRef:nope", records, diskSource: () => bufferDiskSource(Buffer.alloc(0)) }),
    ).to.throw(XvaInputError, /VM OpaqueRef:nope does not exist/);
    expect(() =>
      buildXvaExport({ vm: "OpaqueRef:vm", records, diskSource: () => bufferDiskSource(Buffer.alloc(5)) }),
    ).to.throw(XvaInputError, /virtual_size is 2097152 bytes but its disk source has 5/);
  });
});
