/**
 * `PUT /import` writing the disk: every chunk lands where the archive says, chunks all zero over never-written
 * blocks leave no block allocated (the first and last chunks are always in an archive, zero or not), whatever the
 * sizes of the pieces the body arrives in, with either checksum kind.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import { expect } from "chai";
import { collect, pieces, vmExport } from "../../lib/xva/test-fixtures";
import { createXvaWriter } from "../../lib/xva";
import { startTestPool, TEST_PASSWORD, TEST_USER } from "../testing/tmp";
import { BLOCK_BYTES } from "../storage/disks";

type TestPool = Awaited<ReturnType<typeof startTestPool>>;

/** PUTs `xva` to /import in pieces of `pieceBytes`; resolves with the task once the server closes. */
function putImport(pool: TestPool, xva: Buffer, pieceBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const auth = Buffer.from(`${TEST_USER}:${TEST_PASSWORD}`).toString("base64");
    const req = http.request(`${pool.url}/import`, {
      method: "PUT",
      headers: { "Content-Length": xva.length, Authorization: `Basic ${auth}` },
    });
    req.on("response", (res) => {
      const task = res.headers["task-id"];
      res.resume();
      res.on("close", () =>
        typeof task === "string" ? resolve(task) : reject(new Error("no task-id header")),
      );
    });
    req.on("error", reject);
    pieces(xva, pieceBytes).pipe(req);
  });
}

describe("devpool PUT /import: the disk written", function () {
  this.timeout(60_000);
  let pool: TestPool;

  before(async () => {
    pool = await startTestPool();
  });
  after(async () => {
    await pool.cleanup();
  });

  for (const [checksum, pieceBytes] of [
    ["xxhash", 7001],
    ["sha1", 64 * 1024 + 3],
  ] as const) {
    it(`writes the data chunks and skips the zero ones (${checksum}, body in pieces of ${pieceBytes} bytes)`, async () => {
      // Blocks: 0 zero (always in the archive, as the first chunk), 1 data, 2 zero (left out), 3 data from its
      // middle on, 4 zero (always in the archive, as the last chunk; shorter than a block).
      const disk = Buffer.alloc(4 * BLOCK_BYTES + 4096);
      randomBytes(BLOCK_BYTES).copy(disk, BLOCK_BYTES);
      randomBytes(BLOCK_BYTES / 2).copy(disk, 3 * BLOCK_BYTES + BLOCK_BYTES / 2);
      const exp = vmExport({ disks: [disk] });
      const xva = await collect(createXvaWriter({ ova: exp.ova, disks: exp.disks, checksum }));

      const task = await putImport(pool, xva, pieceBytes);
      const { engine } = pool;
      const rec = engine.store.require("task", task);
      expect(rec.status, JSON.stringify(rec.error_info)).to.equal("success");
      const vm = /OpaqueRef:[0-9a-f-]{36}/.exec(rec.result as string)?.[0] as string;
      const vbd = (engine.store.require("VM", vm).VBDs as string[])[0] as string;
      const vdi = engine.store.require("VBD", vbd).VDI as string;
      const uuid = engine.store.require("VDI", vdi).uuid as string;

      expect(engine.disks.map(uuid).blocks()).to.deep.equal([1, 3]);
      expect(fs.readFileSync(engine.disks.path(uuid)).equals(disk)).to.equal(true);
      expect(engine.disks.allocated(uuid)).to.be.at.most(2 * BLOCK_BYTES + 64 * 1024);
    });
  }
});
