/**
 * devpool against Python's standard library, clients we did not write: xmlrpc.client for the XML-RPC envelope and
 * error shapes, and an independent check of exported XVAs (tarfile, hashlib SHA-1 and a specification-based XXH64,
 * disk rebuilt as xapi does). The Packer plugin's calls are replayed by its own Go client instead
 * (devpool.go.integ.test.ts); what stays here is what that test does not reach: Python's XML-RPC types and a
 * chunk-by-chunk verification of the archive.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { type DiskVm, makeDiskVm } from "./testing/fixtures";
import { makeTempDir, removeDir, startTestPool, TEST_PASSWORD, TEST_USER } from "./testing/tmp";

const run = promisify(execFile);
const PY = path.join(__dirname, "testing", "python");

type TestPool = Awaited<ReturnType<typeof startTestPool>>;

async function python(pool: TestPool, script: string, ...args: string[]): Promise<Record<string, unknown>> {
  // Credentials go through the environment, never argv.
  const { stdout } = await run("python3", [path.join(PY, script), ...args], {
    env: {
      ...process.env,
      DEVPOOL_URL: pool.url,
      DEVPOOL_USERNAME: TEST_USER,
      DEVPOOL_PASSWORD: TEST_PASSWORD,
    },
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(stdout) as Record<string, unknown>;
}

async function sha256File(file: string): Promise<string> {
  const h = createHash("sha256");
  for await (const c of fs.createReadStream(file, { highWaterMark: 4 * 1024 * 1024 })) h.update(c as Buffer);
  return h.digest("hex");
}

async function download(url: string, dest: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        if (res.statusCode !== 200) reject(new Error(`GET ${url}: HTTP ${String(res.statusCode)}`));
        const out = fs.createWriteStream(dest);
        res.pipe(out);
        out.on("finish", () => resolve(res.statusCode ?? 0));
        out.on("error", reject);
      })
      .on("error", reject);
  });
}

describe("devpool with Python's xmlrpc.client and an independent XVA check", function () {
  this.timeout(120_000);
  let pool: TestPool;
  let work: string;

  before(async () => {
    pool = await startTestPool();
    work = makeTempDir("devpool-py-");
  });
  after(async () => {
    await pool.cleanup();
    removeDir(work);
  });

  it("answers in xapi's XML-RPC envelopes, with xapi's value types and error parameters", async () => {
    const o = await python(pool, "xmlrpc_shapes.py");
    expect(o.login_raw).to.match(
      /^<\?xml version="1\.0"\?><methodResponse><params><param><value><struct><member><name>Status<\/name><value>Success<\/value><\/member><member><name>Value<\/name><value>OpaqueRef:[0-9a-f-]{36}<\/value><\/member><\/struct><\/value><\/param><\/params><\/methodResponse>$/,
    );
    expect(o.bad_login).to.deep.equal({
      Status: "Failure",
      ErrorDescription: ["SESSION_AUTHENTICATION_FAILED", TEST_USER, "Authentication failure"],
    });
    expect(o.bad_login_raw).not.to.include("<fault>");
    expect(o.record_types).to.deep.equal({
      memory_static_max: "str",
      is_a_template: "bool",
      HVM_shadow_multiplier: "float",
      snapshot_time: "DateTime",
      tags: "list",
      other_config: "dict",
    });
    expect(o.snapshot_time).to.equal("19700101T00:00:00Z");
    expect(o.memory_static_max).to.equal("268435456");
    const err = (k: string) => (o[k] as { ErrorDescription: string[] }).ErrorDescription;
    expect(err("handle_invalid")).to.deep.equal(["HANDLE_INVALID", "VM", "OpaqueRef:bad"]);
    expect(err("session_invalid")).to.deep.equal(["SESSION_INVALID", "OpaqueRef:not-a-session"]);
    expect(err("count_mismatch")).to.deep.equal([
      "MESSAGE_PARAMETER_COUNT_MISMATCH",
      "VM.get_record",
      "1",
      "0",
    ]);
    expect(err("unknown")).to.deep.equal(["MESSAGE_METHOD_UNKNOWN", "VM.no_such_method"]);
    expect(err("bad_power_state")[0]).to.equal("VM_IS_TEMPLATE");
    expect(o.list_methods_type).to.equal("list");
    expect(o.list_methods_has).to.deep.equal([
      "VM.get_all_records",
      "session.login_with_password",
      "event.from",
    ]);
    expect(o.void_result).to.deep.equal({ Status: "Success", Value: "" });
    expect(o.event_token).to.match(/^\d{20},\d{20}$/);
    expect(o.event_first).to.include({ class: "pool", operation: "add", timestamp: "0.0" });
    expect((o.event_first as { id: unknown }).id).to.be.a("string");
    expect(o.valid_ref_counts_task_type).to.equal("int");
    expect(o.malformed).to.include({ status: 500, content_type: "text/html" });
    expect((o.malformed as { body: string }).body).to.include("Malformed_method_request");
    expect(o.json_no_id).to.deep.equal({ status: 500, content_type: "text/html" });
    expect(o.json_ok).to.deep.equal({
      status: 200,
      content_type: "application/json",
      keys: ["id", "jsonrpc", "result"],
    });
    expect(err("after_logout")[0]).to.equal("SESSION_INVALID");
  });

  describe("independent check of exported XVAs", () => {
    let source: DiskVm;
    before(async () => {
      // 96 MiB and 123 bytes: the last chunk is shorter than 1 MiB, as xapi writes it for unaligned disks
      source = await makeDiskVm(pool.engine, TEST_USER, TEST_PASSWORD, "checked", 96 * 1024 * 1024 + 123);
    });

    for (const [label, query, kind] of [
      ["plain tar with .xxhash files (xapi's default)", "", "xxhash"],
      ["gzip with .checksum SHA-1 files", "&use_compression=true&checksum=sha1", "checksum"],
    ] as const) {
      it(`unpacks with tarfile, verifies every chunk and rebuilds the disk: ${label}`, async () => {
        const file = path.join(work, `checked-${kind}.xva`);
        await download(`${pool.url}/export?ref=${source.vm}&session_id=${source.session}${query}`, file);
        const out = await python(pool, "check_xva.py", file);
        expect(out.objects).to.deep.include.members([
          ["VM", "Ref:0"],
          ["VBD", "Ref:1"],
          ["VDI", "Ref:2"],
          ["SR", "Ref:3"],
        ]);
        expect((out.checked as Record<string, number>)[kind]).to.be.greaterThan(2);
        const disks = Object.values(out.disks as Record<string, { sha256: string; virtual_size: number }>);
        expect(disks).to.have.length(1);
        expect(disks[0]!.virtual_size).to.equal(96 * 1024 * 1024 + 123);
        expect(disks[0]!.sha256).to.equal(await sha256File(pool.engine.disks.path(source.vdiUuid)));
      });
    }
  });
});
