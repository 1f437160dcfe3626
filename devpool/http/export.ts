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
import type { Readable } from "node:stream";
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
import { beginTransfer, failTask, sendHtmlError, sendOkHeaders, serverErrorText } from "./transfer";
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

/** Writes a chunk, waiting for the socket to drain when its buffer is full; rejects if the client goes away. */
function write(res: http.ServerResponse, chunk: Buffer): Promise<void> {
  if (res.destroyed)
    return Promise.reject(new ServerError("VDI_IO_ERROR", ["the client closed the connection"]));
  if (res.write(chunk)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      res.off("close", onClose);
      resolve();
    };
    const onClose = () => {
      res.off("drain", onDrain);
      reject(new ServerError("VDI_IO_ERROR", ["the client closed the connection"]));
    };
    res.once("drain", onDrain);
    res.once("close", onClose);
  });
}

/** Writes the last bytes before an injected cut, then lets them reach the socket before closing it. */
function writeThenCut(res: http.ServerResponse, chunk: Buffer): Promise<void> {
  return new Promise((resolve) => {
    res.write(chunk, () => {
      res.destroy();
      resolve();
    });
  });
}

export async function exportVm(
  engine: DevpoolEngine,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
): Promise<void> {
  if (url.pathname !== "/export" && !url.pathname.startsWith("/export/")) {
    sendHtmlError(res, 404, "Not Found", `no handler for GET ${url.pathname}`);
    return;
  }
  const t = beginTransfer(engine, req, res, url, "VM.export");
  if (t === undefined) return;
  const { store } = engine;
  let vm: string;
  let writer: Readable;
  let totalBytes = 0;
  try {
    const ref = t.param("ref");
    const uuid = t.param("uuid");
    if (ref !== undefined) {
      store.require("VM", ref);
      vm = ref;
    } else if (uuid !== undefined) {
      const byUuid = store.refByUuid("VM", uuid);
      if (byUuid === undefined) throw new ServerError("UUID_INVALID", ["VM", uuid]);
      vm = byUuid;
    } else {
      throw new ServerError("INTERNAL_ERROR", ["export needs a ref or uuid parameter naming the VM"]);
    }
    const preserve = t.param("preserve_power_state") === "true";
    assertVmOperation(vm, store.require("VM", vm), "export");
    const xva = buildXvaExport({
      vm,
      records: storeLookup(store),
      preservePowerState: preserve,
      version: {
        product_version: PRODUCT_VERSION,
        product_brand: "XCP-ng",
        build_number: "cloud",
        date: "2025-06-30",
        xapi_major: XAPI_MAJOR,
        xapi_minor: XAPI_MINOR,
      },
      diskSource: (vdiRef, vdi) => {
        totalBytes += engine.disks.allocated(String(store.require("VDI", vdiRef).uuid));
        return allocatedDiskSource(engine, String(store.require("VDI", vdiRef).uuid), vdi.virtual_size);
      },
    });
    writer = createXvaWriter({
      ova: xva.ova,
      disks: xva.disks,
      compression: compressionOf(t.param("use_compression")),
      // devpool extension: `checksum=sha1` writes the older `.checksum` (SHA-1) files instead of `.xxhash`, so
      // tests can check chunks with tools that have SHA-1 but no XXH64. xapi itself always writes `.xxhash`.
      checksum: t.param("checksum") === "sha1" ? "sha1" : "xxhash",
    });
  } catch (e) {
    sendHtmlError(res, 500, "Internal Error", serverErrorText(failTask(t, e)));
    t.finish();
    return;
  }

  const ops = {
    ...(store.require("VM", vm).current_operations as Record<string, string>),
    [t.task]: "export",
  };
  store.update("VM", vm, { current_operations: ops });
  const release = () => {
    const rec = store.get("VM", vm);
    if (rec === undefined) return;
    const rest = { ...(rec.current_operations as Record<string, string>) };
    delete rest[t.task];
    store.update("VM", vm, { current_operations: rest });
  };

  sendOkHeaders(t, "application/octet-stream", {
    "Content-Disposition": 'attachment; filename="export.xva"',
    Server: `xapi/${XAPI_MAJOR}.${XAPI_MINOR}`,
  });
  const cutAfter = engine.faults.cutExportAfterBytes;
  let sent = 0;
  let lastReport = 0;
  try {
    // Not destroyed on leaving the loop (that destroys it with an AbortError that nobody listens to once the
    // loop is gone: a client hanging up mid-export crashed the pool); the catch below destroys it quietly.
    for await (const piece of writer.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      if (engine.tasks.cancelRequested(t.task)) throw new ServerError("TASK_CANCELLED", [t.task]);
      if (cutAfter !== undefined && sent + piece.length >= cutAfter) {
        await writeThenCut(res, piece.subarray(0, cutAfter - sent));
        throw new ServerError("VDI_IO_ERROR", [
          `devpool fault injection: export cut after ${cutAfter} bytes`,
        ]);
      }
      await write(res, piece);
      sent += piece.length;
      if (Date.now() - lastReport >= PROGRESS_EVERY_MS) {
        lastReport = Date.now();
        engine.tasks.setProgress(t.task, totalBytes > 0 ? Math.min(0.99, sent / totalBytes) : 0.5);
      }
    }
    await new Promise<void>((resolve) => res.end(resolve));
    release();
    engine.tasks.succeed(t.task, "");
  } catch (e) {
    release();
    // The archive's producer may still fail after this (its sources are cut off): nothing is left to tell.
    writer.on("error", () => undefined);
    writer.destroy();
    if (e instanceof ServerError && e.code === "TASK_CANCELLED") engine.tasks.cancelled(t.task);
    else if (e instanceof ServerError) failTask(t, e);
    else failTask(t, new ServerError("VDI_IO_ERROR", [`export stream failed: ${(e as Error).message}`]));
    res.destroy();
  } finally {
    t.finish();
  }
}
