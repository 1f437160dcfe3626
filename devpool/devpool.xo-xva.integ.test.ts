/**
 * devpool against Xen Orchestra's own XVA import path: `@xen-orchestra/xva` (ISC, the XVA writer XO uses to import
 * a VM built from raw disks) writes `ova.xml` and the disk's chunks into a tar stream that `xen-api`'s
 * `putResource('/import/')` sends without a length, with a task XO creates. The imported VM is then exported and
 * its disk compared byte for byte with the data XO was given.
 *
 * `importVm(vm, xapi, sr)` needs two methods of XO's Xapi object: `task_create` (XO's @xen-orchestra/xapi spells
 * `xen-api`'s `createTask` so) and `putResource`; the adapter below maps them onto the `xen-api` client.
 */
import { createHash, randomBytes } from "node:crypto";
import * as http from "node:http";
import { Readable } from "node:stream";
import { expect } from "chai";
import { parseXva } from "../lib/xva";
import { startTestPool, TEST_PASSWORD, TEST_USER } from "./testing/tmp";
import { type XenApiClient, loadXenApi } from "./testing/xen-api";

type TestPool = Awaited<ReturnType<typeof startTestPool>>;

const MiB = 1024 * 1024;

/** A raw disk as `@xen-orchestra/xva` reads it: a VHD-like object with a footer size and a raw content stream. */
interface XoVhd {
  readonly footer: { readonly currentSize: number };
  rawContent(): Promise<Readable>;
}

/** The part of XO's Xapi object `importVm` calls. */
interface XoXapi {
  task_create(nameLabel: string): Promise<string>;
  putResource(
    body: Readable,
    pathname: string,
    opts: { query: Record<string, string>; task: string },
  ): Promise<unknown>;
}

interface XoXvaModule {
  importVm(
    vm: {
      name_label: string;
      memory: number;
      nCpus: number;
      firmware: string;
      vdis: { name_label: string; virtual_size: number }[];
      vhds: XoVhd[];
    },
    xapi: XoXapi,
    sr: { $ref: string },
  ): Promise<string>;
}

async function loadImportVm(): Promise<XoXvaModule> {
  // A module without types: named through a variable so TypeScript does not look for a declaration.
  const specifier = "@xen-orchestra/xva/importVm.mjs";
  return (await import(specifier)) as XoXvaModule;
}

/** The disk an XVA holds, rebuilt from its verified chunks. */
async function diskOf(archive: Readable): Promise<Buffer> {
  let disk: Buffer | undefined;
  for await (const ev of parseXva(archive)) {
    if (ev.type === "disk-start") disk = Buffer.alloc(ev.disk.virtualSize);
    if (ev.type === "chunk" && disk !== undefined) ev.data.copy(disk, ev.offset);
  }
  if (disk === undefined) throw new Error("the export held no disk");
  return disk;
}

/** GET /export with node:http, read as fast as it comes (the client side of a paused read is issue 12's). */
function exportVm(pool: TestPool, session: string, vm: string): Promise<Readable> {
  return new Promise((resolve, reject) => {
    http
      .get(`${pool.url}/export?ref=${vm}&session_id=${session}`, (res) => {
        if (res.statusCode !== 200) reject(new Error(`GET /export: HTTP ${String(res.statusCode)}`));
        else resolve(res);
      })
      .on("error", reject);
  });
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("devpool with Xen Orchestra's XVA import (@xen-orchestra/xva over xen-api's putResource)", function () {
  this.timeout(120_000);
  let pool: TestPool;
  let xapi: XenApiClient;

  before(async () => {
    pool = await startTestPool();
    const { Xapi } = await loadXenApi();
    xapi = new Xapi({ url: pool.url, auth: { user: TEST_USER, password: TEST_PASSWORD } });
    await xapi.connect();
    await xapi.objectsFetched;
  });
  after(async () => {
    await xapi.disconnect().catch(() => undefined);
    await pool.cleanup();
  });

  it("imports XO's XVA (no length, XO's task), and the exported disk is the data XO was given", async () => {
    // 12 MiB: data in the first, the seventh and the last MiB, zeros elsewhere (XO leaves zero blocks out).
    const data = Buffer.alloc(12 * MiB);
    randomBytes(MiB).copy(data, 0);
    randomBytes(MiB / 2).copy(data, 6 * MiB + 1234);
    randomBytes(4096).copy(data, 12 * MiB - 4096);
    const vhd: XoVhd = {
      footer: { currentSize: data.length },
      rawContent: () => Promise.resolve(Readable.from([data], { objectMode: false })),
    };
    const adapter: XoXapi = {
      task_create: (name) => xapi.createTask(name),
      putResource: (body, pathname, opts) => xapi.putResource(body, pathname, opts),
    };
    const sr = await xapi.call<string>("pool.get_default_SR", pool.engine.poolRef());
    const xo = await loadImportVm();

    const vm = await xo.importVm(
      {
        name_label: "from XO",
        memory: 256 * MiB,
        nCpus: 1,
        firmware: "bios",
        vdis: [{ name_label: "XO disk", virtual_size: data.length }],
        vhds: [vhd],
      },
      adapter,
      { $ref: sr },
    );
    expect(vm).to.match(/^OpaqueRef:[0-9a-f-]{36}$/);
    expect(await xapi.call("VM.get_name_label", vm)).to.equal("from XO");
    const [vbd] = await xapi.call<string[]>("VM.get_VBDs", vm);
    const vdi = await xapi.call<string>("VBD.get_VDI", vbd!);
    expect(Number(await xapi.call("VDI.get_virtual_size", vdi))).to.equal(data.length);

    const exported = await diskOf(await exportVm(pool, xapi.sessionId, vm));
    expect(exported.length).to.equal(data.length);
    expect(sha256(exported)).to.equal(sha256(data));
  });
});
