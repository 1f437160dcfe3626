/**
 * `GET /export` (ocaml/xapi/export.ml `handler`): streams the VM as a genuine XVA, built by the project's
 * XVA library from devpool's records and disk files.
 *
 * - The VM is named by `ref` (wins) or `uuid`; it must be Halted or Suspended (VM_BAD_POWER_STATE otherwise), and
 *   carries `current_operations[task] = export` while it streams.
 * - `use_compression=true|gzip` gzips the whole tar, `zstd` compresses it with zstd; anything else sends plain tar.
 * - `checksum=sha1` (a devpool extension) writes `.checksum` SHA-1 files instead of xapi's `.xxhash`.
 * - Only allocated blocks of each disk are read (the allocation map of storage/disks.ts, like a VHD's block table)
 *   and all-zero chunks are left out, except each disk's first and last.
 * - 200 headers first, no Content-Length (the body ends when the connection closes); the task completes with
 *   result "" once the last byte is written. Failures after the headers cut the connection and fail the task.
 */
import type * as http from "node:http";
import type { Socket } from "node:net";
import type { Readable } from "node:stream";
import { messageOf } from "../../lib/errors";
import {
  type DiskExtent,
  type DiskSource,
  type XvaCompression,
  buildXvaExport,
  createXvaWriter,
  extentsDiskSource,
} from "../../lib/xva";
import type { DevpoolEngine } from "../engine";
import { ServerError } from "../errors";
import { assertVmOperation } from "../model/vm-lifecycle";
import { PRODUCT_VERSION, XAPI_MAJOR, XAPI_MINOR } from "../seed/seed";
import { BLOCK_BYTES, isZero } from "../storage/disks";
import {
  answerInternalError,
  beginTransfer,
  failTask,
  type HandlerSpec,
  sendHeaders,
  type Transfer,
} from "./transfer";
import { closeConnection, http200Close, writeRaw } from "./wire";
import { storeLookup } from "./xva-records";

/** How often task progress is written while streaming (xapi: at least every 10 s). */
const PROGRESS_EVERY_MS = 1000;

export function compressionOf(param: string | undefined): XvaCompression {
  if (param === "true" || param === "gzip") return "gzip";
  if (param === "zstd") return "zstd";
  return "none";
}

/** A disk's allocated blocks, read in runs of up to 1 MiB, all-zero pieces skipped. */
export function allocatedDiskSource(engine: DevpoolEngine, uuid: string, virtualSize: number): DiskSource {
  return extentsDiskSource(virtualSize, async function* (): AsyncGenerator<DiskExtent> {
    const blocks = engine.disks.map(uuid).blocks();
    const { open } = await import("node:fs/promises");
    const fh = await open(engine.disks.path(uuid), "r");
    try {
      for (const b of blocks) {
        const pos = b * BLOCK_BYTES;
        if (pos >= virtualSize) break;
        const want = Math.min(BLOCK_BYTES, virtualSize - pos);
        // A fresh buffer per extent: the writer may hold it until the chunk is out (disk-source.ts contract).
        const buf = Buffer.allocUnsafe(want);
        let got = 0;
        while (got < want) {
          const { bytesRead } = await fh.read(buf, got, want - got, pos + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        if (got > 0 && !isZero(buf, got)) yield { offset: pos, data: buf.subarray(0, got) };
      }
    } finally {
      await fh.close();
    }
  });
}

/** Writes the last bytes before an injected cut, then lets them reach the socket before closing it. */
async function writeThenCut(socket: Socket, chunk: Buffer): Promise<void> {
  await writeRaw(socket, chunk).catch(() => undefined);
  await closeConnection(socket);
}

const SPEC: HandlerSpec = { realm: "VM.export", action: "get_export", taskLabel: "VM.export" };

/** The VM named by `ref` (wins) or `uuid` (export.ml `vm_from_request`). */
function vmOf(t: Transfer): string {
  const { store } = t.engine;
  const ref = t.param("ref");
  const uuid = t.param("uuid");
  if (ref !== undefined) {
    store.require("VM", ref);
    return ref;
  }
  if (uuid !== undefined) {
    const byUuid = store.refByUuid("VM", uuid);
    if (byUuid === undefined) throw new ServerError("UUID_INVALID", ["VM", uuid]);
    return byUuid;
  }
  throw new ServerError("INTERNAL_ERROR", ["export needs a ref or uuid parameter naming the VM"]);
}

/** The XVA writer for the VM: ova.xml from the store, disks from their allocated blocks. */
function xvaWriter(t: Transfer, vm: string, totals: { bytes: number }): Readable {
  const { engine } = t;
  const { store } = engine;
  const xva = buildXvaExport({
    vm,
    records: storeLookup(store),
    preservePowerState: t.param("preserve_power_state") === "true",
    version: {
      product_version: PRODUCT_VERSION,
      product_brand: "XCP-ng",
      build_number: "cloud",
      date: "2025-06-30",
      xapi_major: XAPI_MAJOR,
      xapi_minor: XAPI_MINOR,
    },
    diskSource: (vdiRef, vdi) => {
      const uuid = String(store.require("VDI", vdiRef).uuid);
      totals.bytes += engine.disks.allocated(uuid);
      return allocatedDiskSource(engine, uuid, vdi.virtual_size);
    },
  });
  return createXvaWriter({
    ova: xva.ova,
    disks: xva.disks,
    compression: compressionOf(t.param("use_compression")),
    // devpool extension: `checksum=sha1` writes the older `.checksum` (SHA-1) files instead of `.xxhash`, so
    // tests can check chunks with tools that have SHA-1 but no XXH64. xapi itself always writes `.xxhash`.
    checksum: t.param("checksum") === "sha1" ? "sha1" : "xxhash",
  });
}

/** Marks the export in the VM's current_operations (export.ml `with_vm_locked`); returns the release. */
function lockVm(t: Transfer, vm: string): () => void {
  const { store } = t.engine;
  const ops = {
    ...(store.require("VM", vm).current_operations as Record<string, string>),
    [t.task]: "export",
  };
  store.update("VM", vm, { current_operations: ops });
  return () => {
    const rec = store.get("VM", vm);
    if (rec === undefined) return;
    const rest = { ...(rec.current_operations as Record<string, string>) };
    delete rest[t.task];
    store.update("VM", vm, { current_operations: rest });
  };
}

/** Streams the archive to the connection with backpressure, progress, cancellation and the injected cut. */
async function stream(t: Transfer, writer: Readable, totalBytes: number): Promise<void> {
  const { engine } = t;
  const cutAfter = engine.faults.cutExportAfterBytes;
  let sent = 0;
  let lastReport = 0;
  // Not destroyed on leaving the loop (that destroys it with an AbortError that nobody listens to once the
  // loop is gone: a client hanging up mid-export crashed the pool); the caller destroys it quietly.
  for await (const piece of writer.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    if (engine.tasks.cancelRequested(t.task)) throw new ServerError("TASK_CANCELLED", [t.task]);
    if (cutAfter !== undefined && sent + piece.length >= cutAfter) {
      await writeThenCut(t.socket, piece.subarray(0, cutAfter - sent));
      throw new ServerError("VDI_IO_ERROR", [`devpool fault injection: export cut after ${cutAfter} bytes`]);
    }
    await writeRaw(t.socket, piece).catch((e: unknown) => {
      throw new ServerError("VDI_IO_ERROR", ["the client closed the connection"], { cause: e });
    });
    sent += piece.length;
    if (Date.now() - lastReport >= PROGRESS_EVERY_MS) {
      lastReport = Date.now();
      engine.tasks.setProgress(t.task, totalBytes > 0 ? Math.min(0.99, sent / totalBytes) : 0.5);
    }
  }
}

export async function exportVm(
  engine: DevpoolEngine,
  req: http.IncomingMessage,
  _res: http.ServerResponse,
  url: URL,
): Promise<void> {
  const t = await beginTransfer(engine, req, url, SPEC);
  if (t === undefined) return;
  const totals = { bytes: 0 };
  let vm: string;
  let writer: Readable;
  try {
    vm = vmOf(t);
    assertVmOperation(vm, engine.store.require("VM", vm), "export");
    writer = xvaWriter(t, vm, totals);
  } catch (e) {
    await answerInternalError(t, failTask(t, e));
    t.finish();
    return;
  }
  const release = lockVm(t, vm);
  try {
    // export.ml `handler`: HTTP/1.0, then task-id (with a space), Server, Content-Type, Content-Disposition.
    await sendHeaders(t, [
      ...http200Close("1.0"),
      `task-id: ${t.task}`,
      `Server: xapi/${XAPI_MAJOR}.${XAPI_MINOR}`,
      "Content-Type: application/octet-stream",
      'Content-Disposition: attachment; filename="export.xva"',
    ]);
    await stream(t, writer, totals.bytes);
    // The body ends when the connection does: Http_svr closes the socket once the handler returns.
    await closeConnection(t.socket);
    release();
    engine.tasks.succeed(t.task, "");
  } catch (e) {
    release();
    // The archive's producer may still fail after this (its sources are cut off): nothing is left to tell.
    writer.on("error", () => undefined);
    writer.destroy();
    if (e instanceof ServerError && e.code === "TASK_CANCELLED") engine.tasks.cancelled(t.task);
    else if (e instanceof ServerError) failTask(t, e);
    else
      failTask(t, new ServerError("VDI_IO_ERROR", [`export stream failed: ${messageOf(e)}`], { cause: e }));
    await closeConnection(t.socket);
  } finally {
    t.finish();
  }
}
