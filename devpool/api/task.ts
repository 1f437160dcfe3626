/** task.*: client-created tasks, cancellation requests and deferred destruction (xapi_task.ml). */
import type { Registry } from "./registry";

const str = (v: unknown): string => v as string;

export function registerTask(reg: Registry): void {
  reg.implement("task.create", (ctx, [label, description]) =>
    ctx.engine.tasks.create(str(label), str(description)),
  );
  reg.implement("task.cancel", (ctx, [task]) => ctx.engine.tasks.requestCancel(str(task), ctx.session));
  reg.implement("task.destroy", (ctx, [task]) => ctx.engine.tasks.destroy(str(task)));
  reg.implement("task.set_progress", (ctx, [task, value]) => {
    ctx.engine.store.require("task", str(task));
    ctx.engine.tasks.setProgress(str(task), value as number);
  });
  for (const [method, field] of [
    ["task.set_result", "result"],
    ["task.set_error_info", "error_info"],
    ["task.set_status", "status"],
  ] as const) {
    reg.implement(method, (ctx, [task, value]) => {
      ctx.engine.store.require("task", str(task));
      ctx.engine.store.update("task", str(task), { [field]: value });
    });
  }
}
