/**
 * `GET /export_raw_vdi` and `PUT /import_raw_vdi` in the raw format (ocaml/xapi/export_raw_vdi.ml,
 * ocaml/xapi/import_raw_vdi.ml). `vdi` is a ref or a uuid (xapi tries the ref first). The import answers its 200
 * headers before reading (the Go client of packer checks the status right after sending) and completes the task with
 * `<value>OpaqueRef:vdi</value>`. Only `format=raw` is served: vhd, qcow2 and tar fail the task.
 */
import * as fs from "node:fs";
import type * as http from "node:http";
import { pipeline } from "node:stream/promises";
import { createVdi, refreshVdiUsage } from "../api/objects";
import type { DevpoolEngine } from "../engine";
import { ServerError } from "../errors";
import { NULL_REF } from "../model/types";
import {
  beginTransfer,
  drainRequest,
  failTask,
  requestBody,
  sendHtmlError,
  sendOkHeaders,
  serverErrorText,
  type Transfer,
} from "./transfer";

function vdiOf(t: Transfer): string | undefined {
  const v = t.param("vdi");
  if (v === undefined) return undefined;
  if (t.engine.store.has("VDI", v)) return v;
  const byUuid = t.engine.store.refByUuid("VDI", v);
  if (byUuid !== undefined) return byUuid;
  throw new ServerError("HANDLE_INVALID", ["VDI", v]);
}

function checkFormat(t: Transfer): void {
  const format = t.param("format") ?? "raw";
  if (format !== "raw") {
    throw new ServerError("INTERNAL_ERROR", [`devpool serves format=raw only, ${format} was requested`]);
  }
}

export function exportRawVdi(
  engine: DevpoolEngine,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
): void {
  const t = beginTransfer(engine, req, res, url, "export_raw_vdi");
  if (t === undefined) return;
  let ref: string | undefined;
  try {
    checkFormat(t);
    ref = vdiOf(t);
    if (ref === undefined) throw new ServerError("HANDLE_INVALID", ["VDI", ""]);
  } catch (e) {
    sendHtmlError(res, 404, "Not Found", serverErrorText(failTask(t, e)));
    t.finish();
    return;
  }
  const uuid = String(engine.store.require("VDI", ref).uuid);
  sendOkHeaders(t, "application/octet-stream", {
    "Content-Disposition": `attachment; filename="${uuid}.raw"`,
  });
  void pipeline(fs.createReadStream(engine.disks.path(uuid), { highWaterMark: 1024 * 1024 }), res).then(
    () => {
      engine.tasks.succeed(t.task, "");
      t.finish();
    },
    (e: unknown) => {
      failTask(t, new ServerError("VDI_IO_ERROR", [e instanceof Error ? e.message : String(e)]));
      res.destroy();
      t.finish();
    },
  );
}

export async function importRawVdi(
  engine: DevpoolEngine,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
): Promise<void> {
  const t = beginTransfer(engine, req, res, url, "import_raw_vdi");
  if (t === undefined) return;
  let ref: string;
  try {
    checkFormat(t);
    if (req.headers["transfer-encoding"] !== undefined) {
      throw new ServerError("INTERNAL_ERROR", [
        `Cannot handle encoding: ${req.headers["transfer-encoding"]}`,
      ]);
    }
    const existing = vdiOf(t);
    if (existing !== undefined) {
      ref = existing;
    } else {
      // No vdi: xapi creates "Imported VDI" of Content-Length bytes in sr_id / sr_uuid / the default SR.
      const length = Number(req.headers["content-length"]);
      if (!Number.isInteger(length))
        throw new ServerError("INTERNAL_ERROR", ["Content-Length required without vdi"]);
      const srParam = t.param("sr_id") ?? t.param("sr_uuid");
      const sr =
        srParam === undefined
          ? ((engine.store.get("pool", engine.poolRef())?.default_SR as string | undefined) ?? NULL_REF)
          : engine.store.has("SR", srParam)
            ? srParam
            : (engine.store.refByUuid("SR", srParam) ?? srParam);
      ref = createVdi(engine, { name_label: "Imported VDI", SR: sr, virtual_size: length, type: "user" });
    }
  } catch (e) {
    sendHtmlError(res, 404, "Not Found", serverErrorText(failTask(t, e)));
    t.finish();
    return;
  }
  const vdi = engine.store.require("VDI", ref);
  const size = Number(vdi.virtual_size);
  sendOkHeaders(t, "application/octet-stream");
  const out = await engine.disks.openWriter(String(vdi.uuid));
  let offset = 0;
  let failure: ServerError | undefined;
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
  } catch (e) {
    failure =
      e instanceof ServerError
        ? e
        : new ServerError("VDI_IO_ERROR", [e instanceof Error ? e.message : String(e)]);
  } finally {
    await out.close();
    await drainRequest(req, input);
  }
  refreshVdiUsage(engine, ref);
  if (failure !== undefined) {
    if (failure.code === "TASK_CANCELLED") engine.tasks.cancelled(t.task);
    else failTask(t, failure);
  } else engine.tasks.succeed(t.task, `<value>${ref}</value>`);
  res.end();
  t.finish();
}
