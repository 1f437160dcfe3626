/**
 * `GET /export_raw_vdi` and `PUT /import_raw_vdi` in the raw format (ocaml/xapi/export_raw_vdi.ml,
 * ocaml/xapi/import_raw_vdi.ml). `vdi` is a ref or a uuid (xapi tries the ref first). The import answers its 200
 * headers before reading (the Go client of packer checks the status right after sending) and completes the task with
 * `<value>OpaqueRef:vdi</value>`. Only `format=raw` is served: vhd, qcow2 and tar fail the task.
 */
import * as fs from "node:fs";
import type * as http from "node:http";
import { createVdi, refreshVdiUsage } from "../api/objects";
import type { DevpoolEngine } from "../engine";
import { ServerError } from "../errors";
import { NULL_REF } from "../model/types";
import { messageOf, XcpngError } from "../../lib/errors";
import {
  answerAndClose,
  answerInternalError,
  beginTransfer,
  drainRequest,
  failTask,
  type HandlerSpec,
  requestBody,
  sendHeaders,
  type Transfer,
} from "./transfer";
import { closeConnection, headerBlock, http200Close, httpHeadersOnly, writeRaw } from "./wire";

function vdiOf(t: Transfer): string | undefined {
  const v = t.param("vdi");
  if (v === undefined) return undefined;
  if (t.engine.store.has("VDI", v)) return v;
  const byUuid = t.engine.store.refByUuid("VDI", v);
  if (byUuid !== undefined) return byUuid;
  throw new ServerError("HANDLE_INVALID", ["VDI", v]);
}

/**
 * A refusal answered with `Http.http_404_missing ~version:"1.0"` headers only (export_raw_vdi.ml for an unknown
 * format, import_raw_vdi.ml `HandleError` for its refusals) after the task is failed.
 */
class MissingRefusal extends XcpngError {
  constructor(readonly error: ServerError) {
    super("DEVPOOL_HTTP_404", error.message, { cause: error });
  }
}

function checkFormat(t: Transfer): void {
  const format = t.param("format") ?? "raw";
  if (format !== "raw") {
    // devpool serves raw only; xapi's text for a format it does not know.
    throw new MissingRefusal(new ServerError("INTERNAL_ERROR", [`Unknown format ${format}`]));
  }
}

/** Answers a refusal before the 200 headers: the 404 header block, or xapi's 500 page; then closes. */
async function refuse(t: Transfer, e: unknown): Promise<void> {
  if (e instanceof MissingRefusal) {
    failTask(t, e.error);
    await answerAndClose(t.socket, headerBlock(httpHeadersOnly(404, "1.0")));
  } else {
    await answerInternalError(t, failTask(t, e));
  }
  t.finish();
}

const EXPORT: HandlerSpec = {
  realm: "VDI.export_raw",
  action: "get_export_raw_vdi",
  taskLabel: "export_raw_vdi",
};
const IMPORT: HandlerSpec = {
  realm: "VDI.import",
  action: "put_import_raw_vdi",
  taskLabel: "import_raw_vdi",
};

export async function exportRawVdi(
  engine: DevpoolEngine,
  req: http.IncomingMessage,
  _res: http.ServerResponse,
  url: URL,
): Promise<void> {
  const t = await beginTransfer(engine, req, url, EXPORT);
  if (t === undefined) return;
  let ref: string | undefined;
  try {
    checkFormat(t);
    ref = vdiOf(t);
    if (ref === undefined) throw new ServerError("INTERNAL_ERROR", ["Missing vdi query parameter"]);
  } catch (e) {
    await refuse(t, e);
    return;
  }
  const rec = engine.store.require("VDI", ref);
  const uuid = String(rec.uuid);
  const size = Number(rec.virtual_size);
  try {
    // export_raw_vdi.ml: "task-id:" and "Content-Type:" with no space, then Content-Disposition.
    await sendHeaders(t, [
      ...http200Close("1.1"),
      `task-id:${t.task}`,
      "Content-Type:application/octet-stream",
      `Content-Disposition: attachment; filename="${uuid}.raw"`,
    ]);
    // Exactly virtual_size bytes, as vhd-tool streams the device.
    if (size > 0) {
      const file = fs.createReadStream(engine.disks.path(uuid), {
        highWaterMark: 1024 * 1024,
        end: size - 1,
      });
      for await (const chunk of file) await writeRaw(t.socket, chunk as Buffer);
    }
    await closeConnection(t.socket);
    engine.tasks.succeed(t.task, "");
  } catch (e) {
    failTask(t, new ServerError("VDI_IO_ERROR", [messageOf(e)], { cause: e }));
    await closeConnection(t.socket);
  } finally {
    t.finish();
  }
}

/** The VDI an import writes: the one named by `vdi`, or a new "Imported VDI" of Content-Length bytes. */
function importTarget(t: Transfer): string {
  const { engine, req } = t;
  if (req.headers["transfer-encoding"] !== undefined) {
    throw new MissingRefusal(
      new ServerError("INTERNAL_ERROR", [`Cannot handle encoding: ${req.headers["transfer-encoding"]}`]),
    );
  }
  let existing: string | undefined;
  try {
    existing = vdiOf(t);
  } catch (e) {
    throw e instanceof ServerError ? new MissingRefusal(e) : e;
  }
  if (existing !== undefined) return existing;
  // No vdi: xapi creates "Imported VDI" of Content-Length bytes in sr_id / sr_uuid / the default SR.
  const length = Number(req.headers["content-length"]);
  if (!Number.isInteger(length)) {
    throw new MissingRefusal(new ServerError("INTERNAL_ERROR", ["Content-Length required without vdi"]));
  }
  const srParam = t.param("sr_id") ?? t.param("sr_uuid");
  const sr =
    srParam === undefined
      ? ((engine.store.get("pool", engine.poolRef())?.default_SR as string | undefined) ?? NULL_REF)
      : engine.store.has("SR", srParam)
        ? srParam
        : (engine.store.refByUuid("SR", srParam) ?? srParam);
  return createVdi(engine, { name_label: "Imported VDI", SR: sr, virtual_size: length, type: "user" });
}

/** Writes the body into the VDI file; returns the failure, if any. */
async function receive(t: Transfer, uuid: string, size: number): Promise<ServerError | undefined> {
  const { engine, req } = t;
  const out = await engine.disks.openWriter(uuid);
  let offset = 0;
  const input = requestBody(req, { bytes: 0 });
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      if (engine.tasks.cancelRequested(t.task)) throw new ServerError("TASK_CANCELLED", [t.task]);
      if (offset + chunk.length > size) {
        throw new ServerError("VDI_IO_ERROR", [`write beyond the end of the VDI (virtual_size ${size})`]);
      }
      await out.write(offset, chunk);
      offset += chunk.length;
      if (size > 0) engine.tasks.setProgress(t.task, offset / size);
    }
    return undefined;
  } catch (e) {
    return e instanceof ServerError ? e : new ServerError("VDI_IO_ERROR", [messageOf(e)], { cause: e });
  } finally {
    await out.close();
    await drainRequest(req, input);
  }
}

export async function importRawVdi(
  engine: DevpoolEngine,
  req: http.IncomingMessage,
  _res: http.ServerResponse,
  url: URL,
): Promise<void> {
  const t = await beginTransfer(engine, req, url, IMPORT);
  if (t === undefined) return;
  let ref: string;
  try {
    checkFormat(t);
    ref = importTarget(t);
  } catch (e) {
    await drainRequest(req, requestBody(req, { bytes: 0 }));
    await refuse(t, e);
    return;
  }
  const vdi = engine.store.require("VDI", ref);
  // import_raw_vdi.ml: HTTP/1.1, Connection: close, Cache-Control, "task-id:" with no space, Content-Type.
  await sendHeaders(t, [
    ...http200Close("1.1"),
    `task-id:${t.task}`,
    "Content-Type: application/octet-stream",
  ]);
  const failure = await receive(t, String(vdi.uuid), Number(vdi.virtual_size));
  refreshVdiUsage(engine, ref);
  if (failure === undefined) engine.tasks.succeed(t.task, `<value>${ref}</value>`);
  else if (failure.code === "TASK_CANCELLED") engine.tasks.cancelled(t.task);
  else failTask(t, failure);
  await closeConnection(t.socket);
  t.finish();
}
