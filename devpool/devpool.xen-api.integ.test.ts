/**
 * devpool against the real `xen-api` npm client (4.7.6), a client we did not write: connection and object cache,
 * events (barrier, watchTask), callAsync, HTTP transfers (getResource('/export'), putResource('/import') with and
 * without a known length), session expiry, TLS and fault injection.
 */
import * as fs from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import { Readable } from "node:stream";
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { parseXva } from "../lib/xva";
import { type DiskVm, engineCall, makeDiskVm } from "./testing/fixtures";
import { startTestPool, TEST_PASSWORD, TEST_USER } from "./testing/tmp";
import { type XenApiClient, type XenApiError, loadXenApi } from "./testing/xen-api";
import type { Input } from "./rpc/wire";

type TestPool = Awaited<ReturnType<typeof startTestPool>>;

async function rejection(p: Promise<unknown>): Promise<XenApiError> {
  try {
    await p;
  } catch (e) {
    return e as XenApiError;
  }
  throw new Error("expected a rejection, the promise resolved");
}

async function readAll(body: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of body) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** Counts of the objects an import creates, plus the disk files, to prove a failed import leaves nothing. */
function footprint(pool: TestPool): Record<string, number> {
  const out: Record<string, number> = {};
  for (const cls of ["VM", "VM_metrics", "VM_guest_metrics", "VBD", "VIF", "VDI"])
    out[cls] = pool.engine.store.count(cls);
  out.files = fs.readdirSync(path.join(pool.dataDir, "vdis")).length;
  return out;
}

describe("devpool with the xen-api client", function () {
  this.timeout(60_000);
  let pool: TestPool;
  let clients: XenApiClient[] = [];
  let source: DiskVm;
  const call = (m: string, ...p: Input[]) => engineCall(pool.engine, m, ...p);

  async function connect(
    opts: { transport?: "json-rpc" | "xml-rpc"; password?: string } = {},
  ): Promise<XenApiClient> {
    const { Xapi } = await loadXenApi();
    const xapi = new Xapi({
      url: pool.url,
      auth: { user: TEST_USER, password: opts.password ?? TEST_PASSWORD },
      ...(opts.transport === undefined ? {} : { transport: opts.transport }),
    });
    clients.push(xapi);
    await xapi.connect();
    await xapi.objectsFetched;
    return xapi;
  }

  before(async () => {
    pool = await startTestPool();
    source = await makeDiskVm(pool.engine, TEST_USER, TEST_PASSWORD, "xen-api source");
  });
  afterEach(async () => {
    pool.setFaults({});
    await Promise.all(clients.map((c) => c.disconnect().catch(() => undefined)));
    clients = [];
  });
  after(async () => {
    await pool.cleanup();
  });

  it("connects over JSON-RPC and caches every object with complete, typed records", async () => {
    const xapi = await connect();
    expect(xapi.status).to.equal("connected");
    expect(xapi.pool.$type).to.equal("pool");
    const vms = Object.values(xapi.objects.all).filter((o) => o.$type === "VM");
    expect(vms).to.have.length(pool.engine.store.count("VM"));
    const tpl = vms.find((v) => v.name_label === "Ubuntu Noble Numbat 24.04");
    expect(tpl).not.to.equal(undefined);
    expect(tpl!.memory_static_max).to.equal(2147483648);
    expect(tpl!.is_a_template).to.equal(true);
    // the client keeps only the fields of the first record it saw: newer fields must be in every record
    for (const f of ["domain_type", "NVRAM", "reference_label", "pending_guidances"])
      expect(tpl!).to.have.property(f);
    expect(tpl!.reference_label).to.equal("ubuntu-24.04");
  });

  it("connects over XML-RPC, where 64-bit ints arrive as strings and datetimes as Dates", async () => {
    const xapi = await connect({ transport: "xml-rpc" });
    const tpl = Object.values(xapi.objects.all).find((o) => o.name_label === "Ubuntu Noble Numbat 24.04")!;
    expect(tpl.memory_static_max).to.equal("2147483648");
    expect(tpl.snapshot_time).to.be.instanceOf(Date);
    expect(tpl.HVM_shadow_multiplier).to.equal(1);
    const r = await xapi.call<string>("VM.get_name_label", tpl.$ref);
    expect(r).to.equal("Ubuntu Noble Numbat 24.04");
  });

  it("sees changes through event.from: barrier() returns the object as it is after the call", async () => {
    const xapi = await connect();
    const tpl = xapi.getObject(
      ((await call("VM.get_by_name_label", source.session, "Other install media")) as string[])[0]!,
    );
    const ref = await xapi.call<string>("VM.clone", tpl.$ref, "evented");
    expect((await xapi.barrier(ref))!.name_label).to.equal("evented");
    await xapi.call("VM.set_name_label", ref, "renamed");
    expect((await xapi.barrier(ref))!.name_label).to.equal("renamed");
    await xapi.call("VM.set_is_a_template", ref, false);
    await xapi.call("VM.destroy", ref);
    await xapi.barrier();
    expect(xapi.getObjectByRef(ref, null)).to.equal(null);
  });

  it("callAsync resolves with the parsed task result, rejects with the task's error, and the tasks go away", async () => {
    const xapi = await connect();
    const [tpl] = (await call("VM.get_by_name_label", source.session, "Debian Bookworm 12")) as string[];
    const ref = await xapi.callAsync<string>("VM.clone", tpl!, "async clone");
    expect(ref).to.match(/^OpaqueRef:[0-9a-f-]{36}$/);
    expect(await call("VM.get_name_label", source.session, ref)).to.equal("async clone");
    const err = await rejection(xapi.callAsync("VM.start", tpl!, false, false));
    expect([err.code, ...err.params]).to.deep.equal(["VM_IS_TEMPLATE", tpl, "start"]);
    for (let i = 0; i < 100 && pool.engine.store.count("task") > 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(pool.engine.store.count("task")).to.equal(0);
  });

  it("getResource('/export') streams an XVA whose every chunk verifies, and the task completes", async () => {
    const xapi = await connect();
    const res = await xapi.getResource("/export/", { query: { ref: source.vm, use_compression: "zstd" } });
    expect(res.statusCode).to.equal(200);
    expect(res.headers["content-length"]).to.equal(undefined);
    const rebuilt = new Map<number, Buffer>();
    let vmName: unknown;
    for await (const ev of parseXva(res.body)) {
      if (ev.type === "header") vmName = ev.header.objects.find((o) => o.class === "VM" && "snapshot" in o);
      if (ev.type === "chunk") rebuilt.set(ev.offset, ev.data);
      if (ev.type === "end") expect(ev.summary.compression).to.equal("zstd");
    }
    expect((vmName as { snapshot: { name_label: string } }).snapshot.name_label).to.equal("xen-api source");
    const bytesAt = (offset: number, length: number): Buffer => {
      const out = Buffer.alloc(length);
      for (const [o, d] of rebuilt) {
        const from = Math.max(o, offset);
        const to = Math.min(o + d.length, offset + length);
        if (from < to) d.copy(out, from - offset, from - o, to - o);
      }
      return out;
    };
    for (const [offset, data] of source.written)
      expect(bytesAt(offset, data.length).equals(data)).to.equal(true);
    expect(await res.task).to.equal("");
  });

  it("refuses to export a running VM: HTTP 500 and the task fails with VM_BAD_POWER_STATE", async () => {
    const xapi = await connect();
    const running = await makeDiskVm(pool.engine, TEST_USER, TEST_PASSWORD, "running", 4 * 1024 * 1024);
    await xapi.call("VM.start", running.vm, false, false);
    const task = await xapi.createTask("export of a running VM");
    const err = await rejection(xapi.getResource("/export/", { query: { ref: running.vm }, task }));
    expect(err.message).to.match(/unexpected 500/);
    const taskErr = await rejection(xapi.watchTask(task));
    expect([taskErr.code, ...taskErr.params]).to.deep.equal([
      "VM_BAD_POWER_STATE",
      running.vm,
      "halted, suspended",
      "running",
    ]);
    await xapi.call("VM.hard_shutdown", running.vm);
  });

  async function exportBytes(vm: string, compression = "false"): Promise<Buffer> {
    const xapi = clients[0] ?? (await connect());
    const res = await xapi.getResource("/export/", { query: { ref: vm, use_compression: compression } });
    const buf = await readAll(res.body);
    await res.task;
    return buf;
  }

  it("putResource('/import') with a known length creates the template with its disk and guest metrics", async () => {
    const xapi = await connect();
    pool.setGuestMetrics(source.vm, {
      os_version: { name: "Debian GNU/Linux 12 (bookworm)", distro: "debian", major: "12" },
    });
    await call("VM.set_is_a_template", source.session, source.vm, true);
    const xva = await exportBytes(source.vm, "true");
    await call("VM.set_is_a_template", source.session, source.vm, false);
    const sr = xapi.pool.default_SR as string;
    const body = Object.assign(Readable.from([xva]), { length: xva.length });
    const result = await xapi.putResource(body, "/import/", { query: { sr_id: sr } });
    expect(result).to.be.an("array").with.length(1);
    const ref = (result as string[])[0]!;
    const vm = (await xapi.barrier(ref))!;
    expect([vm.name_label, vm.is_a_template, vm.power_state]).to.deep.equal([
      "xen-api source",
      true,
      "Halted",
    ]);
    expect(vm.uuid).not.to.equal(await call("VM.get_uuid", source.session, source.vm));
    const gm = xapi.getObjectByRef(vm.guest_metrics as string);
    expect((gm.os_version as Record<string, string>).distro).to.equal("debian");
    const [vbd] = vm.VBDs as string[];
    const vdi = xapi.getObjectByRef(xapi.getObjectByRef(vbd!).VDI as string);
    expect(vdi.SR).to.equal(sr);
    const file = pool.engine.disks.path(vdi.uuid as string);
    const fd = fs.openSync(file, "r");
    try {
      for (const [offset, data] of source.written) {
        const got = Buffer.alloc(data.length);
        fs.readSync(fd, got, 0, data.length, offset);
        expect(got.equals(data), `bytes at ${offset}`).to.equal(true);
      }
    } finally {
      fs.closeSync(fd);
    }
    expect(fs.statSync(file).blocks * 512).to.be.lessThan(16 * 1024 * 1024);
  });

  it("putResource('/import') of a stream with no length (the 1 PiB content-length probe) imports too", async () => {
    const xapi = await connect();
    const xva = await exportBytes(source.vm, "zstd");
    const before = ((await call("VM.get_by_name_label", source.session, "xen-api source")) as string[])
      .length;
    const pieces = function* () {
      for (let i = 0; i < xva.length; i += 64 * 1024) yield xva.subarray(i, i + 64 * 1024);
    };
    await xapi.putResource(Readable.from(pieces()), "/import/", {
      query: { sr_id: xapi.pool.default_SR as string },
    });
    await xapi.barrier();
    let after = before;
    for (let i = 0; i < 100 && after === before; i++) {
      await new Promise((r) => setTimeout(r, 20));
      after = ((await call("VM.get_by_name_label", source.session, "xen-api source")) as string[]).length;
    }
    expect(after).to.equal(before + 1);
    const imported = pool.engine.store
      .rows("task")
      .filter((t) => t.rec.status === "failure" || t.rec.name_label === "VM import");
    expect(imported, "the probe PUT leaves no task behind").to.deep.equal([]);
  });

  it("fails the task of a corrupt XVA with IMPORT_ERROR and leaves no object or file behind", async () => {
    const xapi = await connect();
    const xva = await exportBytes(source.vm);
    const at = xva.indexOf(source.written.get(0)!.subarray(0, 64));
    expect(at).to.be.greaterThan(0);
    const corrupt = Buffer.from(xva);
    corrupt[at + 10] = (corrupt[at + 10]! + 1) & 0xff;
    const before = footprint(pool);
    const err = await rejection(
      xapi.putResource(Object.assign(Readable.from([corrupt]), { length: corrupt.length }), "/import/", {
        query: { sr_id: xapi.pool.default_SR as string },
      }),
    );
    expect(err.code).to.equal("IMPORT_ERROR");
    expect(err.params.join(" ")).to.match(/checksum|xxhash|XXH64/i);
    expect(footprint(pool)).to.deep.equal(before);
  });

  it("fails the task of a truncated XVA with IMPORT_ERROR_PREMATURE_EOF and leaves nothing behind", async () => {
    const xapi = await connect();
    const xva = await exportBytes(source.vm, "true");
    const cut = xva.subarray(0, Math.floor(xva.length * 0.6));
    const before = footprint(pool);
    const err = await rejection(
      xapi.putResource(Object.assign(Readable.from([cut]), { length: cut.length }), "/import/", {
        query: { sr_id: xapi.pool.default_SR as string },
      }),
    );
    expect(err.code).to.equal("IMPORT_ERROR_PREMATURE_EOF");
    expect(footprint(pool)).to.deep.equal(before);
  });

  it("cuts an export stream after N bytes when told to, and fails its task", async () => {
    const xapi = await connect();
    pool.setFaults({ cutExportAfterBytes: 5000 });
    const res = await xapi.getResource("/export/", { query: { ref: source.vm, use_compression: "false" } });
    let got = 0;
    try {
      for await (const c of res.body) got += (c as Buffer).length;
    } catch {
      // undici reports the early close as an error or as a short body, depending on timing
    }
    expect(got).to.be.at.most(5000);
    const err = await rejection(res.task!);
    expect(err.code).to.equal("VDI_IO_ERROR");
  });

  it("survives a client that hangs up mid-export: the task fails, the pool keeps serving", async () => {
    const big = await makeDiskVm(pool.engine, TEST_USER, TEST_PASSWORD, "hang-up source", 64 * 1024 * 1024);
    for (let off = 0; off < 64 * 1024 * 1024; off += 1024 * 1024)
      await pool.engine.disks.write(big.vdiUuid, off, randomBytes(1024 * 1024));
    const xapi = await connect();
    const res = await xapi.getResource("/export/", { query: { ref: big.vm, use_compression: "false" } });
    for await (const c of res.body) {
      expect((c as Buffer).length).to.be.greaterThan(0);
      break; // leaving the loop destroys the response: the client hangs up
    }
    const err = await rejection(res.task!);
    expect(err.code).to.equal("VDI_IO_ERROR");
    // Still serving, with the VM free for the next export.
    expect(await xapi.call("VM.get_current_operations", big.vm)).to.deep.equal({});
    const again = await xapi.getResource("/export/", { query: { ref: big.vm, use_compression: "false" } });
    let got = 0;
    for await (const c of again.body) got += (c as Buffer).length;
    expect(got).to.be.greaterThan(64 * 1024 * 1024);
  });

  it("fails an import task when told to, creating nothing", async () => {
    const xapi = await connect();
    const xva = await exportBytes(source.vm);
    pool.setFaults({ failImports: { times: 1 } });
    const before = footprint(pool);
    const err = await rejection(
      xapi.putResource(Object.assign(Readable.from([xva]), { length: xva.length }), "/import/", {
        query: { sr_id: xapi.pool.default_SR as string },
      }),
    );
    expect(err.code).to.equal("IMPORT_ERROR");
    expect(footprint(pool)).to.deep.equal(before);
  });

  it("fails a named method N times, then lets it through", async () => {
    const xapi = await connect();
    pool.setFaults({
      failMethods: [{ method: "VM.get_name_label", times: 2, code: "HOST_OFFLINE", params: ["x"] }],
    });
    for (let i = 0; i < 2; i++) {
      const err = await rejection(xapi.call("VM.get_name_label", source.vm));
      expect([err.code, ...err.params]).to.deep.equal(["HOST_OFFLINE", "x"]);
    }
    expect(await xapi.call("VM.get_name_label", source.vm)).to.equal("xen-api source");
  });

  it("delays calls by the configured latency", async () => {
    const xapi = await connect();
    pool.setFaults({ latencyMs: { "VM.get_uuid": 300 } });
    const t0 = Date.now();
    await xapi.call("VM.get_uuid", source.vm);
    expect(Date.now() - t0).to.be.at.least(290);
  });

  it("logs in again after the pool expires every session", async () => {
    const xapi = await connect();
    const first = xapi.sessionId;
    pool.expireSessions();
    expect(await xapi.call("VM.get_name_label", source.vm)).to.equal("xen-api source");
    expect(xapi.sessionId).not.to.equal(first);
  });

  it("expires idle sessions when sessionIdleTimeoutMs is set", async () => {
    pool.setFaults({ sessionIdleTimeoutMs: 100 });
    const s = (await call("session.login_with_password", TEST_USER, TEST_PASSWORD)) as string;
    await new Promise((r) => setTimeout(r, 250));
    const out = await pool.engine.call("VM.get_all", [s]);
    expect(out.ok ? "ok" : [out.code, ...out.params]).to.deep.equal(["SESSION_INVALID", s]);
  });

  it("refuses bad credentials with SESSION_AUTHENTICATION_FAILED", async () => {
    const err = await rejection(connect({ password: "not the password" }));
    expect([err.code, ...err.params]).to.deep.equal([
      "SESSION_AUTHENTICATION_FAILED",
      TEST_USER,
      "Authentication failure",
    ]);
  });

  describe("over TLS", () => {
    let tlsPool: TestPool;
    before(async () => {
      tlsPool = await startTestPool({ tls: true });
    });
    after(async () => {
      await tlsPool.cleanup();
    });

    it("serves a self-signed certificate that clients must trust or skip", async () => {
      const { Xapi } = await loadXenApi();
      expect(tlsPool.url).to.match(/^https:\/\/127\.0\.0\.1:\d+$/);
      const strict = new Xapi({
        url: tlsPool.url,
        auth: { user: TEST_USER, password: TEST_PASSWORD },
        watchEvents: false,
      });
      clients.push(strict);
      const err = await rejection(strict.connect());
      expect(`${err.code} ${err.message}`).to.match(/self[- ]signed|SELF_SIGNED|certificate/i);
      const lax = new Xapi({
        url: tlsPool.url,
        auth: { user: TEST_USER, password: TEST_PASSWORD },
        allowUnauthorized: true,
      });
      clients.push(lax);
      await lax.connect();
      await lax.objectsFetched; // let its initial fetch finish before the pool stops
      expect(lax.status).to.equal("connected");
      // a client that trusts the certificate verifies it fully (hostname 127.0.0.1 is in its SAN)
      const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "system.listMethods", params: [] });
      const answer = await new Promise<string>((resolve, reject) => {
        const req = https.request(
          `${tlsPool.url}/jsonrpc`,
          { method: "POST", ca: tlsPool.certificate, headers: { "content-type": "application/json" } },
          (res) => {
            const parts: Buffer[] = [];
            res.on("data", (c: Buffer) => parts.push(c));
            res.on("end", () => resolve(Buffer.concat(parts).toString()));
          },
        );
        req.on("error", reject);
        req.end(body);
      });
      expect((JSON.parse(answer) as { result: string[] }).result).to.include("VM.get_all_records");
    });
  });
});
