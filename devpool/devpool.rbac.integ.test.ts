/**
 * devpool's XAPI roles, seen through the `xen-api` client: a `read-only` account logs in and reads everything,
 * and every write (setters, constructors, destructors, power operations, their Async twins, /import and /export)
 * is refused with RBAC_PERMISSION_DENIED [permission, message] as ocaml/xapi/rbac.ml and xapi_http.ml refuse it.
 * A `vm-admin` account may manage VMs but not the pool.
 */
import * as http from "node:http";
import { Readable } from "node:stream";
import { expect } from "chai";
import { type DiskVm, engineCall, makeDiskVm } from "./testing/fixtures";
import { startTestPool, TEST_PASSWORD, TEST_USER } from "./testing/tmp";
import { type XenApiClient, type XenApiError, loadXenApi } from "./testing/xen-api";
import type { Input } from "./rpc/wire";

type TestPool = Awaited<ReturnType<typeof startTestPool>>;

const VIEWER = "viewer";
const VM_ADMIN = "vmadmin";
/** Per-process passwords: no fixed secret in the repository. */
const VIEWER_PASSWORD = `${TEST_PASSWORD}-ro`;
const VM_ADMIN_PASSWORD = `${TEST_PASSWORD}-vm`;

const denied = (permission: string, roles: string) => [
  permission,
  `No permission in user session. (Roles with this permission: ${roles})`,
];
const VM_ADMINS = "pool-admin, pool-operator, vm-power-admin, vm-admin";
const VM_OPERATORS = `${VM_ADMINS}, vm-operator`;
const POOL_OPERATORS = "pool-admin, pool-operator";

async function rejection(p: Promise<unknown>): Promise<XenApiError> {
  try {
    await p;
  } catch (e) {
    return e as XenApiError;
  }
  throw new Error("expected a rejection, the promise resolved");
}

/** A raw HTTP request, so the status and the body are seen as sent. */
function request(url: string, method: "GET" | "PUT"): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method, headers: method === "PUT" ? { "Content-Length": 0 } : {} },
      (res) => {
        const parts: Buffer[] = [];
        res.on("data", (c: Buffer) => parts.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString("utf8") }),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("devpool with XAPI roles (xen-api client)", function () {
  this.timeout(60_000);
  let pool: TestPool;
  let source: DiskVm;
  let clients: XenApiClient[] = [];
  const call = (m: string, ...p: Input[]) => engineCall(pool.engine, m, ...p);

  async function connect(user: string, password: string): Promise<XenApiClient> {
    const { Xapi } = await loadXenApi();
    // Only the classes the tests read: by default the client also fetches secrets, which read-only may not read
    // (it logs that refusal and goes on, as it would against xapi).
    const xapi = new Xapi({
      url: pool.url,
      auth: { user, password },
      watchEvents: ["VM", "VBD", "VDI", "pool", "task"],
    });
    clients.push(xapi);
    await xapi.connect();
    await xapi.objectsFetched;
    return xapi;
  }

  before(async () => {
    pool = await startTestPool({
      users: [
        { username: VIEWER, password: VIEWER_PASSWORD, role: "read-only" },
        { username: VM_ADMIN, password: VM_ADMIN_PASSWORD, role: "vm-admin" },
      ],
    });
    source = await makeDiskVm(pool.engine, TEST_USER, TEST_PASSWORD, "rbac source");
  });
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.disconnect().catch(() => undefined)));
    clients = [];
  });
  after(async () => {
    await pool.cleanup();
  });

  it("lets a read-only account log in, watch events and read every record", async () => {
    const xapi = await connect(VIEWER, VIEWER_PASSWORD);
    expect(xapi.getObject(source.vm).name_label).to.equal("rbac source");
    const records = await xapi.call<Record<string, unknown>>("VM.get_all_records");
    expect(Object.keys(records)).to.include(source.vm);
    expect(await xapi.call("VM.get_power_state", source.vm)).to.equal("Halted");
    expect(await xapi.call("VM.get_allowed_VBD_devices", source.vm)).to.be.an("array");
    expect(pool.engine.store.get("session", xapi.sessionId)).to.include({
      is_local_superuser: false,
      auth_user_name: VIEWER,
    });
    // Reading secrets is pool-operator's (datamodel: secret.get_all_records), so even reads have limits.
    const secrets = await rejection(xapi.call("secret.get_all_records"));
    expect([secrets.code, ...secrets.params]).to.deep.equal([
      "RBAC_PERMISSION_DENIED",
      ...denied("secret.get_all_records", POOL_OPERATORS),
    ]);
    // Tasks are every role's (datamodel.ml: task.create/destroy are _R_READ_ONLY).
    const task = await xapi.call<string>("task.create", "mine", "");
    await xapi.call("task.destroy", task);
  });

  // Each write, its permission (the lowercased call, rbac.ml `permission_of_action`) and the roles holding it.
  const writes: [string, (s: DiskVm) => unknown[], string, string][] = [
    ["VM.set_name_label", (s) => [s.vm, "renamed"], "vm.set_name_label", VM_ADMINS],
    ["VM.add_tags", (s) => [s.vm, "t"], "vm.add_tags", VM_OPERATORS],
    ["VM.clone", (s) => [s.vm, "copy"], "vm.clone", VM_ADMINS],
    ["VM.start", (s) => [s.vm, false, false], "vm.start", VM_OPERATORS],
    ["VM.destroy", (s) => [s.vm], "vm.destroy", VM_ADMINS],
    ["Async.VM.clone", (s) => [s.vm, "copy"], "vm.clone", VM_ADMINS],
    ["VDI.destroy", (s) => [s.vdi], "vdi.destroy", VM_ADMINS],
    ["pool.set_name_label", () => [pool.engine.poolRef(), "p"], "pool.set_name_label", POOL_OPERATORS],
  ];
  for (const [method, args, permission, roles] of writes) {
    it(`refuses ${method} to a read-only account with RBAC_PERMISSION_DENIED, changing nothing`, async () => {
      const xapi = await connect(VIEWER, VIEWER_PASSWORD);
      const tasksBefore = pool.engine.store.count("task");
      const e = await rejection(xapi.call(method, ...args(source)));
      expect(e.code).to.equal("RBAC_PERMISSION_DENIED");
      expect(e.params).to.deep.equal(denied(permission, roles));
      // Refused before the call runs: no task for the Async twin, the VM unchanged.
      expect(pool.engine.store.count("task")).to.equal(tasksBefore);
      expect(await call("VM.get_name_label", source.session, source.vm)).to.equal("rbac source");
    });
  }

  it("refuses /export and /import to a read-only account: 403, and the task fails with the http/ permission", async () => {
    const xapi = await connect(VIEWER, VIEWER_PASSWORD);
    for (const [path, method, action] of [
      [`/export?ref=${source.vm}`, "GET", "get_export"],
      ["/import?", "PUT", "put_import"],
    ] as const) {
      const task = await xapi.call<string>("task.create", action, "");
      const res = await request(`${pool.url}${path}&session_id=${xapi.sessionId}&task_id=${task}`, method);
      expect(res.status, action).to.equal(403);
      expect(res.body).to.equal(
        "<html><body><h1>HTTP 403 forbidden</h1>Access to the requested resource is forbidden.</body></html>",
      );
      expect(await call("task.get_status", source.session, task)).to.equal("failure");
      expect(await call("task.get_error_info", source.session, task)).to.deep.equal([
        "RBAC_PERMISSION_DENIED",
        ...denied(`http/${action}`, VM_ADMINS),
      ]);
    }
    const e = await rejection(xapi.putResource(Readable.from([Buffer.alloc(0)]), "/import/", { task: true }));
    expect(String(e.message)).to.match(/403/);
  });

  it("lets a vm-admin clone and destroy VMs, but not rename the pool", async () => {
    const xapi = await connect(VM_ADMIN, VM_ADMIN_PASSWORD);
    const copy = await xapi.call<string>("VM.clone", source.vm, "vm-admin copy");
    await xapi.call("VM.destroy", copy);
    const e = await rejection(xapi.call("pool.set_name_label", pool.engine.poolRef(), "mine"));
    expect([e.code, ...e.params]).to.deep.equal([
      "RBAC_PERMISSION_DENIED",
      ...denied("pool.set_name_label", POOL_OPERATORS),
    ]);
  });
});
