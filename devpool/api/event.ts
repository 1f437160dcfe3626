/** event.from / event.inject / event.get_current_id (xapi_event.ml). */
import { eventFrom, eventInject } from "../model/events";
import { RawResult } from "./context";
import type { Registry } from "./registry";

export function registerEvent(reg: Registry): void {
  reg.implement(
    "event.from",
    async (ctx, [classes, token, timeout]) =>
      new RawResult(
        await eventFrom(ctx.engine.store, classes as string[], token as string, timeout as number, () =>
          ctx.engine.stopping(),
        ),
      ),
  );
  reg.implement("event.inject", (ctx, [cls, ref]) =>
    eventInject(ctx.engine.store, cls as string, ref as string),
  );
  reg.implement("event.get_current_id", (ctx) => ctx.engine.store.generation);
}
