/**
 * `PUT /import` (ocaml/xapi/import.ml `handler`): reads an XVA (plain, gzip or zstd), verifies every
 * chunk with the project's XVA library, and creates the VM (a template if it was one) with its disks and guest
 * metrics in `sr_id` / `sr_uuid` / the pool's default SR.
 *
 * - The 200 headers go out before the body is read: the `xen-api` client's unknown-length PUT (a 1 PiB
 *   Content-Length, then the socket closed once the body is written) and packer's Go client depend on it.
 *   A closed connection therefore ends the body; the archive itself says whether it was complete.
 * - The preliminary empty PUT the `xen-api` client sends without `task_id` (its redirect probe) leaves nothing.
 * - `Transfer-Encoding: chunked` is refused (403, IMPORT_ERROR_CANNOT_HANDLE_CHUNKED), an ISO SR too (400).
 * - The task result is the new VM refs as an XML-RPC array (`API.rpc_of_ref_VM_set`). Any failure (corrupt or
 *   truncated archive, bad checksum, newer xapi version, an injected fault) removes every object the import created
 *   and fails the task with xapi's error code.
 */
import type * as http from "node:http";
import type { PassThrough } from "node:stream";
import { XcpngError } from "../../lib/errors";
import { XvaChecksumError, XvaFormatError, parseXva } from "../../lib/xva";
import type { DevpoolEngine } from "../engine";
import { ServerError } from "../errors";
import { NULL_REF } from "../model/types";
import { encodeValue } from "../rpc/xmlrpc";
import { W } from "../rpc/wire";
import { XAPI_MAJOR, XAPI_MINOR } from "../seed/seed";
import { type DiskWriter, isZeroParts } from "../storage/disks";
import { refreshVdiUsage } from "../api/objects";
import { completeImportedVms, createImportedObjects, type ImportPlan, rollback } from "./import-objects";
import {
  beginTransfer,
  errorText,
  drainRequest,
  failTask,
  type HandlerSpec,
  requestBody,
  sendHeaders,
  type Transfer,
} from "./transfer";
import {
  closeConnection,
  headerBlock,
  http200Close,
  httpHeadersOnly,
  internalErrorPage,
  writeRaw,
} from "./wire";

/**
 * An import refused before any byte of the body is read. xapi's handler first writes a headers-only status for
 * some refusals (`Http.http_400_badrequest` for an ISO SR, `http_403_forbidden` for a chunked body), then raises,
 * and Http_svr's exception handler appends its 500 page to the same connection; others get the 500 page alone.
 */
class ImportRefusal extends XcpngError {
  constructor(
    readonly headersOnly: 400 | 403 | undefined,
    readonly error: ServerError,
  ) {
    super("DEVPOOL_IMPORT_REFUSAL", error.message, { cause: error });
  }
}

/** xapi's error for what went wrong (import.ml maps its exceptions to IMPORT_ERROR_* codes). */
export function importError(e: unknown): ServerError {
  if (e instanceof ServerError) return e;
  if (e instanceof XvaChecksumError) return new ServerError("IMPORT_ERROR", [e.message]);
  if (e instanceof XvaFormatError) {
    switch (e.code) {
      case "TRUNCATED":
        return new ServerError("IMPORT_ERROR_PREMATURE_EOF", []);
      case "UNSUPPORTED_VERSION":
        return new ServerError("IMPORT_INCOMPATIBLE_VERSION", []);
      case "NOT_XVA":
        return e.entry !== undefined && e.entry !== "ova.xml"
          ? new ServerError("IMPORT_ERROR_UNEXPECTED_FILE", ["ova.xml", e.entry])
          : new ServerError("IMPORT_ERROR", [e.message]);
      default:
        return new ServerError("IMPORT_ERROR", [e.message]);
    }
  }
  return new ServerError("IMPORT_ERROR", [e instanceof Error ? e.message : String(e)]);
}

/** import.ml `handler`: `sr_id`, `sr_uuid` or the pool's default SR (Importexport.sr_of_req). */
function targetSr(t: Transfer): string {
  const { store } = t.engine;
  const id = t.param("sr_id");
  const uuid = t.param("sr_uuid");
  if (id !== undefined && id !== NULL_REF) {
    if (!store.has("SR", id))
      throw new ImportRefusal(undefined, new ServerError("HANDLE_INVALID", ["SR", id]));
    return id;
  }
  if (uuid !== undefined) {
    const sr = store.refByUuid("SR", uuid);
    if (sr === undefined) throw new ImportRefusal(undefined, new ServerError("UUID_INVALID", ["SR", uuid]));
    return sr;
  }
  const sr = store.get("pool", t.engine.poolRef())?.default_SR as string | undefined;
  if (sr === undefined || !store.has("SR", sr)) {
    throw new ImportRefusal(undefined, new ServerError("DEFAULT_SR_NOT_FOUND", [sr ?? NULL_REF]));
  }
  return sr;
}

/** The handler's checks in its order: SR, then (inside with_context) an ISO SR, then a chunked body. */
function checkImport(t: Transfer): string {
  const sr = targetSr(t);
  if (t.engine.store.require("SR", sr).content_type === "iso") {
    throw new ImportRefusal(400, new ServerError("SR_OPERATION_NOT_SUPPORTED", []));
  }
  if (t.req.headers["transfer-encoding"] !== undefined) {
    throw new ImportRefusal(403, new ServerError("IMPORT_ERROR_CANNOT_HANDLE_CHUNKED", []));
  }
  return sr;
}

const SPEC: HandlerSpec = { realm: "VM.import", action: "put_import", taskLabel: "VM import" };

/** Answers a refusal before the body is read (see ImportRefusal), drains what the client sends, closes. */
async function refuse(t: Transfer, e: unknown): Promise<void> {
  const r = e instanceof ImportRefusal ? e : new ImportRefusal(undefined, importError(e));
  failTask(t, r.error);
  const head = r.headersOnly === undefined ? [] : [headerBlock(httpHeadersOnly(r.headersOnly))];
  await writeRaw(t.socket, Buffer.concat([...head, internalErrorPage(t.version, errorText(r.error))])).catch(
    () => undefined,
  );
  // Read what the client still sends, so it reads this answer instead of meeting a reset.
  await drainRequest(t.req, requestBody(t.req, { bytes: 0 }));
  await closeConnection(t.socket);
  t.finish();
}

/**
 * Reads the archive and writes what it holds: the objects when `ova.xml` arrives (after the version check and any
 * injected failure), each disk's chunks into its new VDI. Returns the plan, or throws with the plan's objects
 * still to roll back in `state.plan`.
 */
async function receiveXva(
  t: Transfer,
  input: PassThrough,
  sr: string,
  state: { plan?: ImportPlan; writer?: DiskWriter | undefined },
): Promise<ImportPlan> {
  const { engine } = t;
  const restore = t.param("restore") === "true";
  let writing: { ref: string } | undefined;
  let totalBytes = 0;
  let doneBytes = 0;
  for await (const ev of parseXva(input)) {
    if (engine.tasks.cancelRequested(t.task)) throw new ServerError("TASK_CANCELLED", [t.task]);
    switch (ev.type) {
      case "header": {
        const v = ev.header.version;
        if (v.xapi_major > XAPI_MAJOR || (v.xapi_major === XAPI_MAJOR && v.xapi_minor > XAPI_MINOR)) {
          throw new ServerError("IMPORT_INCOMPATIBLE_VERSION", []);
        }
        const injected = engine.faults.takeImportFailure();
        if (injected !== undefined) throw injected;
        state.plan = createImportedObjects(engine, ev.header, sr, t.task, restore);
        totalBytes = ev.disks.reduce((n, d) => n + d.virtualSize, 0);
        break;
      }
      case "disk-start": {
        const target = state.plan?.disks.get(ev.disk.id);
        if (target === undefined) throw new ServerError("IMPORT_ERROR_FAILED_TO_FIND_OBJECT", [ev.disk.id]);
        state.writer = await engine.disks.openWriter(target.uuid);
        writing = target;
        break;
      }
      case "chunk":
        // The chunk's parts as received: joining them into one buffer would cost a 1 MiB copy per chunk.
        if (!isZeroParts(ev.parts)) await state.writer?.writeParts(ev.offset, ev.parts);
        if (totalBytes > 0)
          engine.tasks.setProgress(t.task, Math.min(0.99, (doneBytes + ev.offset) / totalBytes));
        break;
      case "disk-end":
        await state.writer?.close();
        state.writer = undefined;
        if (writing !== undefined) refreshVdiUsage(engine, writing.ref);
        doneBytes += ev.disk.virtualSize;
        break;
      case "end":
        break;
    }
  }
  if (state.plan === undefined) throw new ServerError("IMPORT_ERROR_PREMATURE_EOF", []);
  return state.plan;
}

/** Completes the task with the new VMs (import.ml: `API.rpc_of_ref_VM_set`), objects marked complete. */
function succeed(t: Transfer, plan: ImportPlan): void {
  const { engine } = t;
  completeImportedVms(engine, plan, t.task);
  const taskRec = engine.store.require("task", t.task);
  engine.store.update("task", t.task, {
    other_config: { ...(taskRec.other_config as Record<string, string>), object_creation: "complete" },
  });
  engine.tasks.succeed(t.task, encodeValue(W.array(plan.vms.map(W.str))));
}

export async function importVm(
  engine: DevpoolEngine,
  req: http.IncomingMessage,
  _res: http.ServerResponse,
  url: URL,
): Promise<void> {
  const t = await beginTransfer(engine, req, url, SPEC);
  if (t === undefined) return;
  let sr: string;
  try {
    sr = checkImport(t);
  } catch (e) {
    await refuse(t, e);
    return;
  }
  // import.ml: HTTP/1.1, Connection: close, Cache-Control, then "task-id:" with no space, then Content-Type.
  await sendHeaders(t, [
    ...http200Close("1.1"),
    `task-id:${t.task}`,
    "Content-Type: application/octet-stream",
  ]);
  const counter = { bytes: 0 };
  const input = requestBody(req, counter);
  const cutAfter = engine.faults.cutImportAfterBytes;
  if (cutAfter !== undefined) {
    // After requestBody's own listener has counted the piece: the connection goes as a pool dying mid-import.
    req.on("data", () => {
      if (counter.bytes >= cutAfter && !t.socket.destroyed) t.socket.destroy();
    });
  }
  const state: { plan?: ImportPlan; writer?: DiskWriter | undefined } = {};
  try {
    succeed(t, await receiveXva(t, input, sr, state));
  } catch (e) {
    await state.writer?.close().catch(() => undefined);
    if (state.plan !== undefined) rollback(engine, state.plan.created);
    if (counter.bytes === 0 && t.param("task_id") === undefined) {
      // The xen-api client's redirect probe: an empty PUT without task_id. Nothing happened; leave nothing.
      engine.tasks.discard(t.task);
    } else {
      const err = importError(e);
      if (err.code === "TASK_CANCELLED") engine.tasks.cancelled(t.task);
      else failTask(t, err);
    }
  } finally {
    // Read what the client still sends before closing: closing first would make it fail with EPIPE instead of
    // reading the task, which is where the error is reported.
    await drainRequest(req, input);
    await closeConnection(t.socket);
    t.finish();
  }
}
