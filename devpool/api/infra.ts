/** pool, host, SR and network methods beyond the generic accessors. */
import { ServerError } from "../errors";
import type { Rec } from "../model/store";
import type { Registry } from "./registry";

const str = (v: unknown): string => (typeof v === "string" ? v : "");

export function registerInfra(reg: Registry): void {
  // An SR scan finds nothing new here: every VDI is created through the API.
  reg.implement("SR.scan", (ctx, [self]) => {
    ctx.engine.store.require("SR", str(self));
  });
  reg.implement("SR.update", (ctx, [self]) => {
    ctx.engine.store.require("SR", str(self));
  });
  reg.implement("network.create", (ctx, [rec]) => {
    const r = rec as Rec;
    const n = ctx.engine.store.count("network");
    return ctx.engine.store.add("network", {
      MTU: 1500,
      bridge: str(r.bridge) === "" ? `xapi${n}` : r.bridge,
      managed: true,
      default_locking_mode: "unlocked",
      ...r,
    });
  });
  reg.implement("network.destroy", (ctx, [self]) => {
    const net = ctx.engine.store.require("network", str(self));
    if ((net.VIFs as string[]).length > 0)
      throw new ServerError("NETWORK_CONTAINS_VIF", net.VIFs as string[]);
    if ((net.PIFs as string[]).length > 0)
      throw new ServerError("NETWORK_CONTAINS_PIF", net.PIFs as string[]);
    ctx.engine.store.remove("network", str(self));
  });
}
