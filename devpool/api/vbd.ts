/** VBD.* and VIF.*: devices of a VM; plugging needs a running VM, destroying needs them unplugged. */
import { ServerError } from "../errors";
import type { Rec } from "../model/store";
import { NULL_REF } from "../model/types";
import type { CallContext } from "./context";
import { createVbd, createVif, deviceName, vifMac } from "./objects";
import type { Registry } from "./registry";

const str = (v: unknown): string => (typeof v === "string" ? v : "");

function requireRunning(ctx: CallContext, vmRef: string): void {
  const vm = ctx.engine.store.require("VM", vmRef);
  if (vm.power_state !== "Running") {
    throw new ServerError("VM_BAD_POWER_STATE", [vmRef, "running", String(vm.power_state).toLowerCase()]);
  }
}

function registerDevice(reg: Registry, cls: "VBD" | "VIF"): void {
  reg.implement(`${cls}.destroy`, (ctx, [self]) => {
    const rec = ctx.engine.store.require(cls, str(self));
    if (rec.currently_attached === true) {
      throw new ServerError("OPERATION_NOT_ALLOWED", [
        `${cls} '${str(rec.uuid)}' still attached to '${str(rec.VM)}'`,
      ]);
    }
    ctx.engine.store.remove(cls, str(self));
  });
  reg.implement(`${cls}.plug`, (ctx, [self]) => {
    const rec = ctx.engine.store.require(cls, str(self));
    requireRunning(ctx, str(rec.VM));
    if (rec.currently_attached === true) throw new ServerError("DEVICE_ALREADY_ATTACHED", [str(self)]);
    const patch: Rec = { currently_attached: true };
    if (cls === "VBD") patch.device = deviceName(str(rec.userdevice));
    ctx.engine.store.update(cls, str(self), patch);
  });
  const unplug = (ctx: CallContext, args: readonly unknown[]) => {
    const self = str(args[0]);
    const rec = ctx.engine.store.require(cls, self);
    if (rec.currently_attached !== true) throw new ServerError("DEVICE_ALREADY_DETACHED", [self]);
    if (cls === "VBD" && rec.unpluggable !== true) throw new ServerError("VBD_NOT_UNPLUGGABLE", [self]);
    ctx.engine.store.update(cls, self, { currently_attached: false });
  };
  reg.implement(`${cls}.unplug`, unplug);
  if (cls === "VBD") reg.implement("VBD.unplug_force", unplug);
}

export function registerVbdVif(reg: Registry): void {
  reg.implement("VBD.create", (ctx, [rec]) => createVbd(ctx.engine, { ...(rec as Rec) }));
  reg.implement("VIF.create", (ctx, [rec]) => {
    const r = rec as Rec;
    const vm = ctx.engine.store.require("VM", str(r.VM));
    return createVif(ctx.engine, { ...r, ...vifMac(vm, str(r.device), str(r.MAC)) });
  });
  registerDevice(reg, "VBD");
  registerDevice(reg, "VIF");
  reg.implement("VBD.insert", (ctx, [self, vdi]) => {
    const rec = ctx.engine.store.require("VBD", str(self));
    ctx.engine.store.require("VDI", str(vdi));
    if (rec.type !== "CD") throw new ServerError("VBD_NOT_REMOVABLE_MEDIA", [str(self)]);
    if (rec.empty !== true) throw new ServerError("VBD_NOT_EMPTY", [str(self)]);
    ctx.engine.store.update("VBD", str(self), { VDI: vdi, empty: false });
  });
  reg.implement("VBD.eject", (ctx, [self]) => {
    const rec = ctx.engine.store.require("VBD", str(self));
    if (rec.type !== "CD") throw new ServerError("VBD_NOT_REMOVABLE_MEDIA", [str(self)]);
    if (rec.empty === true) throw new ServerError("VBD_IS_EMPTY", [str(self)]);
    ctx.engine.store.update("VBD", str(self), { VDI: NULL_REF, empty: true });
  });
  reg.implement("VBD.assert_attachable", (ctx, [self]) => {
    ctx.engine.store.require("VBD", str(self));
  });
}
