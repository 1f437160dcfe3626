import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import type { CallOutcome } from "./api/dispatch";
import { DevpoolEngine } from "./engine";
import { toJson } from "./rpc/jsonrpc";
import type { Input } from "./rpc/wire";
import { makeTempDir, removeDir } from "./testing/tmp";

const USER = "root";
const PASS = `pw-${process.pid}`;

/** Calls the engine and returns the JSON-typed value, or throws the XAPI failure as `CODE(params)`. */
async function call(engine: DevpoolEngine, method: string, ...params: Input[]): Promise<unknown> {
  const out: CallOutcome = await engine.call(method, params);
  if (!out.ok) throw new Error(`${out.code}(${out.params.join(",")})`);
  return toJson(out.value);
}

async function failure(
  engine: DevpoolEngine,
  method: string,
  ...params: Input[]
): Promise<[string, ...string[]]> {
  const out = await engine.call(method, params);
  if (out.ok) throw new Error(`${method} succeeded, a failure was expected`);
  return [out.code, ...out.params];
}

async function waitTask(engine: DevpoolEngine, s: string, task: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 200; i++) {
    const rec = (await call(engine, "task.get_record", s, task)) as Record<string, unknown>;
    if (rec.status !== "pending") return rec;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`task ${task} still pending`);
}

describe("devpool engine (calls without HTTP)", () => {
  let dir: string;
  let engine: DevpoolEngine;
  let s: string;

  beforeEach(async () => {
    dir = makeTempDir();
    engine = new DevpoolEngine({ dataDir: dir, username: USER, password: PASS });
    s = (await call(engine, "session.login_with_password", USER, PASS)) as string;
  });
  afterEach(() => {
    engine.stop();
    removeDir(dir);
  });

  describe("dispatch", () => {
    it("accepts 2, 3 or 4 login parameters and refuses bad credentials with [uname, message]", async () => {
      expect(await call(engine, "session.login_with_password", USER, PASS, "1.0")).to.match(
        /^OpaqueRef:[0-9a-f-]{36}$/,
      );
      expect(await call(engine, "session.login_with_password", USER, PASS, "1.0", "packer")).to.match(
        /^OpaqueRef:/,
      );
      expect(await failure(engine, "session.login_with_password", USER, "wrong")).to.deep.equal([
        "SESSION_AUTHENTICATION_FAILED",
        USER,
        "Authentication failure",
      ]);
      expect(await failure(engine, "session.login_with_password", USER)).to.deep.equal([
        "MESSAGE_PARAMETER_COUNT_MISMATCH",
        "session.login_with_password",
        "2",
        "1",
      ]);
    });

    it("checks the parameter count before the session", async () => {
      expect(await failure(engine, "VM.get_record", "OpaqueRef:not-a-session")).to.deep.equal([
        "MESSAGE_PARAMETER_COUNT_MISMATCH",
        "VM.get_record",
        "1",
        "0",
      ]);
      expect(await failure(engine, "VM.get_record", "OpaqueRef:not-a-session", "OpaqueRef:x")).to.deep.equal([
        "SESSION_INVALID",
        "OpaqueRef:not-a-session",
      ]);
    });

    it("answers MESSAGE_METHOD_UNKNOWN for unknown methods, Async twins of getters and unimplemented messages", async () => {
      expect(await failure(engine, "VM.frobnicate", s)).to.deep.equal([
        "MESSAGE_METHOD_UNKNOWN",
        "VM.frobnicate",
      ]);
      expect(await failure(engine, "Async.VM.get_name_label", s, "x")).to.deep.equal([
        "MESSAGE_METHOD_UNKNOWN",
        "Async.VM.get_name_label",
      ]);
      expect(await failure(engine, "VM.migrate_send", s, "a", {}, true, {}, {}, {})).to.deep.equal([
        "MESSAGE_METHOD_UNKNOWN",
        "VM.migrate_send",
      ]);
    });

    it("invalidates a session on logout", async () => {
      await call(engine, "session.logout", s);
      expect(await failure(engine, "VM.get_all", s)).to.deep.equal(["SESSION_INVALID", s]);
    });

    it("coerces numeric strings for int parameters (the xen-api client's XML-RPC ints) and refuses words", async () => {
      const vm = await cloneDebian();
      await call(engine, "VM.set_VCPUs_max", s, vm, "4");
      expect(await call(engine, "VM.get_VCPUs_max", s, vm)).to.equal(4);
      expect((await failure(engine, "VM.set_VCPUs_max", s, vm, "four"))[0]).to.equal("FIELD_TYPE_ERROR");
    });

    it("runs Async calls as tasks whose result is an XML-RPC value", async () => {
      const tpl = await debian();
      const task = (await call(engine, "Async.VM.clone", s, tpl, "async clone")) as string;
      const rec = await waitTask(engine, s, task);
      expect(rec.status).to.equal("success");
      expect(rec.name_label).to.equal("Async.VM.clone");
      expect(rec.progress).to.equal(1);
      expect(rec.result).to.match(/^<value>OpaqueRef:[0-9a-f-]{36}<\/value>$/);
      const failed = (await call(engine, "Async.VM.start", s, tpl, false, false)) as string;
      const frec = await waitTask(engine, s, failed);
      expect(frec.status).to.equal("failure");
      expect(frec.error_info).to.deep.equal(["VM_IS_TEMPLATE", tpl, "start"]);
    });
  });

  async function debian(): Promise<string> {
    const refs = (await call(engine, "VM.get_by_name_label", s, "Debian Bookworm 12")) as string[];
    expect(refs).to.have.length(1);
    return refs[0]!;
  }
  async function cloneDebian(name = "vm1"): Promise<string> {
    const vm = (await call(engine, "VM.clone", s, await debian(), name)) as string;
    await call(engine, "VM.set_is_a_template", s, vm, false);
    return vm;
  }

  describe("object model", () => {
    it("seeds an XCP-ng 8.3 pool: one host, local SR as default SR, templates with real names", async () => {
      const pools = (await call(engine, "pool.get_all_records", s)) as Record<
        string,
        Record<string, unknown>
      >;
      const [pool] = Object.values(pools);
      const hosts = (await call(engine, "host.get_all", s)) as string[];
      expect(hosts).to.have.length(1);
      expect(pool!.master).to.equal(hosts[0]);
      expect(await call(engine, "SR.get_name_label", s, pool!.default_SR as string)).to.equal(
        "Local storage",
      );
      const sv = (await call(engine, "host.get_software_version", s, hosts[0]!)) as Record<string, string>;
      expect(sv.product_brand).to.equal("XCP-ng");
      expect(sv.product_version).to.equal("8.3.0");
      for (const name of [
        "Debian Bookworm 12",
        "Ubuntu Noble Numbat 24.04",
        "Other install media",
        "Windows 11",
      ]) {
        expect(await call(engine, "VM.get_by_name_label", s, name), name).to.have.length(1);
      }
      expect(await call(engine, "session.get_this_host", s, s)).to.equal(hosts[0]);
    });

    it("gives every record of a class every field, uniformly", async () => {
      const vms = Object.values(
        (await call(engine, "VM.get_all_records", s)) as Record<string, Record<string, unknown>>,
      );
      const keys = Object.keys(vms[0]!).sort();
      expect(keys).to.include.members(["uuid", "name_label", "power_state", "domain_type", "NVRAM", "VBDs"]);
      for (const v of vms) expect(Object.keys(v).sort()).to.deep.equal(keys);
    });

    it("clones a template as a template (other_config rewritten), then converts it to a VM", async () => {
      const tpl = await debian();
      const vm = (await call(engine, "VM.clone", s, tpl, "clone")) as string;
      const rec = (await call(engine, "VM.get_record", s, vm)) as Record<string, unknown>;
      expect(rec.is_a_template).to.equal(true);
      expect(rec.is_default_template).to.equal(false);
      const oc = rec.other_config as Record<string, string>;
      expect(oc.default_template).to.equal(undefined);
      expect(oc.base_template_name).to.equal("Debian Bookworm 12");
      expect(oc.disks).to.match(/^<provision><disk size="10737418240"/);
      await call(engine, "VM.set_is_a_template", s, vm, false);
      expect(await call(engine, "VM.get_is_a_template", s, vm)).to.equal(false);
    });

    it("refuses to destroy a default template and a running VM", async () => {
      expect(await failure(engine, "VM.destroy", s, await debian())).to.deep.equal([
        "VM_CANNOT_DELETE_DEFAULT_TEMPLATE",
      ]);
      const vm = await cloneDebian();
      await call(engine, "VM.start", s, vm, false, false);
      expect(await failure(engine, "VM.destroy", s, vm)).to.deep.equal([
        "VM_BAD_POWER_STATE",
        vm,
        "halted, suspended",
        "running",
      ]);
      expect(await failure(engine, "VM.start", s, vm, false, false)).to.deep.equal([
        "VM_BAD_POWER_STATE",
        vm,
        "halted",
        "running",
      ]);
      await call(engine, "VM.clean_shutdown", s, vm);
      await call(engine, "VM.destroy", s, vm);
      expect(await failure(engine, "VM.get_record", s, vm)).to.deep.equal(["HANDLE_INVALID", "VM", vm]);
    });

    it("starts and stops without a guest: domid, residence, attached devices, console", async () => {
      const vm = await cloneDebian();
      await call(engine, "VM.provision", s, vm);
      await call(engine, "VM.start", s, vm, true, false);
      let rec = (await call(engine, "VM.get_record", s, vm)) as Record<string, unknown>;
      expect(rec.power_state).to.equal("Paused");
      expect(rec.domid).to.be.greaterThan(0);
      expect(rec.resident_on).to.equal(engine.hostRef());
      expect(rec.consoles).to.have.length(1);
      const vbd = (rec.VBDs as string[])[0]!;
      expect(await call(engine, "VBD.get_device", s, vbd)).to.equal("xvda");
      expect(await call(engine, "VBD.get_currently_attached", s, vbd)).to.equal(true);
      await call(engine, "VM.unpause", s, vm);
      await call(engine, "VM.hard_shutdown", s, vm);
      rec = (await call(engine, "VM.get_record", s, vm)) as Record<string, unknown>;
      expect([rec.power_state, rec.domid, rec.resident_on, rec.consoles]).to.deep.equal([
        "Halted",
        -1,
        "OpaqueRef:NULL",
        [],
      ]);
    });

    it("provisions template disks, clones them sparsely, and keeps VDIs when the VM is destroyed", async () => {
      const vm = await cloneDebian();
      await call(engine, "VM.provision", s, vm);
      const vbds = (await call(engine, "VM.get_VBDs", s, vm)) as string[];
      const vdi = (await call(engine, "VBD.get_VDI", s, vbds[0]!)) as string;
      expect(await call(engine, "VDI.get_virtual_size", s, vdi)).to.equal(10737418240);
      const uuid = (await call(engine, "VDI.get_uuid", s, vdi)) as string;
      await engine.disks.write(uuid, 5 * 1024 * 1024, Buffer.alloc(4096, 7));
      const copy = (await call(engine, "VM.copy", s, vm, "copy", "OpaqueRef:NULL")) as string;
      const copyVbd = ((await call(engine, "VM.get_VBDs", s, copy)) as string[])[0]!;
      const copyVdi = (await call(engine, "VBD.get_VDI", s, copyVbd)) as string;
      expect(copyVdi).not.to.equal(vdi);
      const copyFile = engine.disks.path((await call(engine, "VDI.get_uuid", s, copyVdi)) as string);
      const got = Buffer.alloc(4096);
      const cfd = fs.openSync(copyFile, "r");
      fs.readSync(cfd, got, 0, 4096, 5 * 1024 * 1024);
      fs.closeSync(cfd);
      expect(got.equals(Buffer.alloc(4096, 7))).to.equal(true);
      expect(fs.statSync(copyFile).blocks * 512).to.be.lessThan(4 * 1024 * 1024);
      await call(engine, "VM.destroy", s, copy);
      expect(await call(engine, "VDI.get_virtual_size", s, copyVdi)).to.equal(10737418240);
      expect(await failure(engine, "VBD.get_record", s, copyVbd)).to.deep.equal([
        "HANDLE_INVALID",
        "VBD",
        copyVbd,
      ]);
    });

    it("keeps back-references in step: VM.VBDs, VDI.VBDs, SR.VDIs", async () => {
      const vm = await cloneDebian();
      const sr = (await call(engine, "pool.get_default_SR", s, engine.poolRef())) as string;
      const vdi = (await call(engine, "VDI.create", s, {
        name_label: "d",
        SR: sr,
        virtual_size: "1048576",
        type: "user",
        sharable: false,
        read_only: false,
        other_config: {},
      })) as string;
      const vbd = (await call(engine, "VBD.create", s, {
        VM: vm,
        VDI: vdi,
        userdevice: "autodetect",
        bootable: false,
        mode: "RW",
        type: "Disk",
        unpluggable: false,
        empty: false,
        other_config: {},
        qos_algorithm_type: "",
        qos_algorithm_params: {},
      })) as string;
      expect(await call(engine, "VBD.get_userdevice", s, vbd)).to.equal("0");
      expect(await call(engine, "VM.get_VBDs", s, vm)).to.deep.equal([vbd]);
      expect(await call(engine, "VDI.get_VBDs", s, vdi)).to.deep.equal([vbd]);
      expect(await call(engine, "SR.get_VDIs", s, sr)).to.include(vdi);
      await call(engine, "VDI.destroy", s, vdi);
      expect(await call(engine, "VM.get_VBDs", s, vm)).to.deep.equal([]);
      expect(await call(engine, "SR.get_VDIs", s, sr)).not.to.include(vdi);
    });

    it("reads a constructor's record as xapi does: constructor fields only, defaults, or FieldNotFound", async () => {
      const sr = (await call(engine, "pool.get_default_SR", s, engine.poolRef())) as string;
      const base = {
        name_label: "ctor",
        SR: sr,
        virtual_size: "1048576",
        type: "user",
        sharable: false,
        read_only: false,
        other_config: {},
      };
      // What strict clients send: every field, runtime ones at their zero values (a year-1 date, "" refs).
      const vdi = (await call(engine, "VDI.create", s, {
        ...base,
        snapshot_time: "00010101T00:00:00Z",
        snapshot_of: "",
        allowed_operations: [],
        current_operations: {},
        physical_utilisation: "12345",
        on_boot: "",
      })) as string;
      expect(await call(engine, "VDI.get_physical_utilisation", s, vdi)).to.equal(0);
      expect(await call(engine, "VDI.get_on_boot", s, vdi)).to.equal("persist");
      const { virtual_size: _, ...noSize } = base;
      void _;
      expect(await failure(engine, "VDI.create", s, noSize)).to.deep.equal([
        "INTERNAL_ERROR",
        'Server_helpers.Dispatcher_FieldNotFound("virtual_size")',
      ]);
    });

    it("adds tags with set semantics and other_config keys with MAP_DUPLICATE_KEY", async () => {
      const vm = await cloneDebian();
      await call(engine, "VM.add_tags", s, vm, "a");
      await call(engine, "VM.add_tags", s, vm, "a");
      await call(engine, "VM.add_tags", s, vm, "b");
      await call(engine, "VM.remove_tags", s, vm, "zzz");
      expect(await call(engine, "VM.get_tags", s, vm)).to.deep.equal(["a", "b"]);
      await call(engine, "VM.add_to_other_config", s, vm, "k", "v");
      expect(await failure(engine, "VM.add_to_other_config", s, vm, "k", "w")).to.deep.equal([
        "MAP_DUPLICATE_KEY",
        "VM",
        "other_config",
        vm,
        "k",
      ]);
      await call(engine, "VM.remove_from_other_config", s, vm, "k");
      await call(engine, "VM.remove_from_other_config", s, vm, "k");
      expect(((await call(engine, "VM.get_other_config", s, vm)) as Record<string, string>).k).to.equal(
        undefined,
      );
    });

    it("filters with get_all_records_where", async () => {
      const where = (await call(
        engine,
        "VM.get_all_records_where",
        s,
        'field "is_a_template"="true" and field "name__label"="Other install media"',
      )) as Record<string, Record<string, unknown>>;
      expect(Object.values(where).map((r) => r.name_label)).to.deep.equal(["Other install media"]);
      const dom0 = (await call(
        engine,
        "VM.get_all_where",
        s,
        'field "is_control_domain"="true"',
      )) as string[];
      expect(dom0).to.have.length(1);
    });
  });

  describe("events", () => {
    it("reports every object as add from the empty token, then only changes, with del for destroyed ones", async () => {
      const first = (await call(engine, "event.from", s, ["vm"], "", 1)) as {
        events: { operation: string }[];
        token: string;
      };
      expect(first.events.length).to.be.greaterThan(30);
      expect(new Set(first.events.map((e) => e.operation))).to.deep.equal(new Set(["add"]));
      const vm = await cloneDebian();
      await call(engine, "VM.set_name_label", s, vm, "renamed");
      const next = (await call(engine, "event.from", s, ["VM"], first.token, 1)) as {
        events: { operation: string; ref: string; class: string; snapshot: Record<string, unknown> }[];
        token: string;
      };
      // one event per object: a VM created after the token is an add carrying its latest record
      expect(next.events.map((e) => [e.class, e.operation, e.ref])).to.deep.equal([["vm", "add", vm]]);
      expect(next.events[0]!.snapshot.name_label).to.equal("renamed");
      await call(engine, "VM.destroy", s, vm);
      const gone = (await call(engine, "event.from", s, ["vm"], next.token, 1)) as {
        events: { operation: string; ref: string; snapshot?: unknown }[];
      };
      expect(gone.events.map((e) => [e.operation, e.ref, e.snapshot])).to.deep.equal([
        ["del", vm, undefined],
      ]);
    });

    it("long-polls: blocks until a matching change, or returns empty with a fresh token at the timeout", async () => {
      const { token } = (await call(engine, "event.from", s, ["task"], "", 0)) as { token: string };
      const t0 = Date.now();
      const empty = (await call(engine, "event.from", s, ["task"], token, 0.3)) as {
        events: unknown[];
        token: string;
      };
      expect(empty.events).to.deep.equal([]);
      expect(Date.now() - t0).to.be.at.least(290);
      const pending = call(engine, "event.from", s, ["task"], empty.token, 30) as Promise<{
        events: { ref: string }[];
      }>;
      const task = (await call(engine, "task.create", s, "t", "")) as string;
      expect((await pending).events.map((e) => e.ref)).to.deep.equal([task]);
    });

    it("event.inject returns the token just before a mod of the object", async () => {
      const pool = engine.poolRef();
      const token = (await call(engine, "event.inject", s, "pool", pool)) as string;
      expect(token).to.match(/^\d{20},\d{20}$/);
      const got = (await call(engine, "event.from", s, ["pool"], token, 1)) as {
        events: { operation: string; ref: string }[];
        valid_ref_counts: Record<string, number>;
      };
      expect(got.events.map((e) => [e.operation, e.ref])).to.deep.equal([["mod", pool]]);
      expect(got.valid_ref_counts.pool).to.equal(1);
      expect(await failure(engine, "event.inject", s, "pool", "OpaqueRef:nope")).to.deep.equal([
        "HANDLE_INVALID",
        "pool",
        "OpaqueRef:nope",
      ]);
      expect(await failure(engine, "event.from", s, ["vm"], "garbage", 0)).to.deep.equal([
        "EVENT_FROM_TOKEN_PARSE_FAILURE",
        "garbage",
      ]);
    });
  });

  describe("persistence", () => {
    it("keeps templates, VMs and disks across a restart, and drops sessions and tasks", async () => {
      const vm = await cloneDebian("kept");
      await call(engine, "VM.provision", s, vm);
      await call(engine, "VM.set_is_a_template", s, vm, true);
      const task = (await call(engine, "task.create", s, "t", "")) as string;
      engine.stop();
      expect(fs.existsSync(path.join(dir, "state.json"))).to.equal(true);

      engine = new DevpoolEngine({ dataDir: dir, username: USER, password: PASS });
      expect(await failure(engine, "VM.get_all", s)).to.deep.equal(["SESSION_INVALID", s]);
      s = (await call(engine, "session.login_with_password", USER, PASS)) as string;
      const rec = (await call(engine, "VM.get_record", s, vm)) as Record<string, unknown>;
      expect([rec.name_label, rec.is_a_template]).to.deep.equal(["kept", true]);
      const vdi = (await call(engine, "VBD.get_VDI", s, (rec.VBDs as string[])[0]!)) as string;
      expect(
        fs.existsSync(engine.disks.path((await call(engine, "VDI.get_uuid", s, vdi)) as string)),
      ).to.equal(true);
      expect(await failure(engine, "task.get_record", s, task)).to.deep.equal([
        "HANDLE_INVALID",
        "task",
        task,
      ]);
      expect(await call(engine, "VM.get_by_name_label", s, "Debian Bookworm 12")).to.have.length(1);
    });

    it("refuses a state file that is not devpool's, saying how to recover", () => {
      engine.stop();
      fs.writeFileSync(path.join(dir, "state.json"), '{"hello":1}');
      expect(() => new DevpoolEngine({ dataDir: dir, username: USER, password: PASS })).to.throw(
        /not a devpool state file.*move it away/,
      );
    });
  });
});
