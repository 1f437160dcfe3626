/** VDI.*: creation with a sparse file, destruction (VDI_IN_USE while attached), resize, clone/copy/snapshot. */
import { ServerError } from "../errors";
import { now } from "../rpc/format";
import type { Rec } from "../model/store";
import type { CallContext } from "./context";
import { copyVdi, createVdi, destroyVdi, refreshSr } from "./objects";
import type { Registry } from "./registry";

const str = (v: unknown): string => (typeof v === "string" ? v : "");

function resize(ctx: CallContext, self: unknown, size: unknown): void {
  const ref = str(self);
  const vdi = ctx.engine.store.require("VDI", ref);
  const n = size as number;
  // Storage managers only grow disks (SR_OPERATION_NOT_SUPPORTED on shrink for ext/lvm).
  if (n < Number(vdi.virtual_size)) throw new ServerError("VDI_TOO_SMALL", [ref, String(n)]);
  ctx.engine.disks.resize(str(vdi.uuid), n);
  ctx.engine.store.update("VDI", ref, { virtual_size: n });
  refreshSr(ctx.engine, str(vdi.SR));
}

export function registerVdi(reg: Registry): void {
  reg.implement("VDI.create", (ctx, [rec]) => {
    const r = rec as Rec;
    const sr = ctx.engine.store.require("SR", str(r.SR));
    if (sr.is_tools_sr === true) throw new ServerError("SR_OPERATION_NOT_SUPPORTED", [str(r.SR)]);
    return createVdi(ctx.engine, { ...r });
  });
  reg.implement("VDI.destroy", (ctx, [self]) => destroyVdi(ctx.engine, str(self)));
  reg.implement("VDI.forget", (ctx, [self]) => {
    const vdi = ctx.engine.store.require("VDI", str(self));
    ctx.engine.store.remove("VDI", str(self));
    refreshSr(ctx.engine, str(vdi.SR));
  });
  reg.implement("VDI.resize", (ctx, [self, size]) => resize(ctx, self, size));
  reg.implement("VDI.resize_online", (ctx, [self, size]) => resize(ctx, self, size));
  reg.implement("VDI.clone", (ctx, [self]) => copyVdi(ctx.engine, str(self), ""));
  reg.implement("VDI.copy", (ctx, [self, sr]) => copyVdi(ctx.engine, str(self), str(sr)));
  reg.implement("VDI.snapshot", (ctx, [self]) =>
    copyVdi(ctx.engine, str(self), "", { is_a_snapshot: true, snapshot_of: str(self), snapshot_time: now() }),
  );
}
