/**
 * Tasks as xapi keeps them (taskHelper.ml, xapi_task.ml): created `pending` with progress 0, completed by setting
 * `finished`, `progress` (1.0 on success), `result` or `error_info`, and `status` last. `result` is always a
 * serialized XML-RPC `<value>`, even for JSON-RPC clients: the `xen-api` client parses it as XML
 * (ocaml/xapi/taskHelper.ml `complete`: `rpc_of_<result type>` printed with Xmlrpc.to_string). Destroying a pending task defers the destruction until it completes.
 */
import { EPOCH, now } from "../rpc/format";
import type { Store } from "./store";
import { NULL_REF } from "./types";

export class Tasks {
  private readonly cancelRequests = new Set<string>();
  private readonly destroyWhenDone = new Set<string>();
  private readonly finishedAt = new Map<string, number>();
  /** Tasks devpool created for itself (Async calls, HTTP handlers without task_id): garbage-collected when old. */
  private readonly internal = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly hostRef: () => string,
  ) {}

  create(
    nameLabel: string,
    nameDescription: string,
    opts: { internal?: boolean; subtaskOf?: string } = {},
  ): string {
    const ref = this.store.add("task", {
      name_label: nameLabel,
      name_description: nameDescription,
      allowed_operations: [],
      current_operations: {},
      created: now(),
      finished: EPOCH,
      status: "pending",
      resident_on: this.hostRef(),
      progress: 0,
      type: "<none/>",
      result: "",
      error_info: [],
      other_config: {},
      subtask_of: opts.subtaskOf ?? NULL_REF,
      backtrace: "()",
    });
    if (opts.internal === true) this.internal.add(ref);
    return ref;
  }

  exists(ref: string): boolean {
    return this.store.has("task", ref);
  }

  isPending(ref: string): boolean {
    return this.store.get("task", ref)?.status === "pending";
  }

  setProgress(ref: string, progress: number): void {
    if (this.isPending(ref)) this.store.update("task", ref, { progress: Math.min(1, Math.max(0, progress)) });
  }

  /** Marks the task successful; `resultXml` is an XML-RPC `<value>` string or "". */
  succeed(ref: string, resultXml: string): void {
    this.finish(ref, { progress: 1, result: resultXml, status: "success" });
  }

  fail(ref: string, code: string, params: readonly string[]): void {
    this.finish(ref, { error_info: [code, ...params], status: "failure" });
  }

  cancelled(ref: string): void {
    this.finish(ref, { error_info: ["TASK_CANCELLED", ref], status: "cancelled" });
  }

  private finish(ref: string, fields: Record<string, unknown>): void {
    if (!this.isPending(ref)) return;
    // status is written last in xapi; one write carries it with the rest here, so watchers see a settled task.
    this.store.update("task", ref, {
      finished: now(),
      allowed_operations: [],
      current_operations: {},
      ...fields,
    });
    this.cancelRequests.delete(ref);
    this.finishedAt.set(ref, Date.now());
    if (this.destroyWhenDone.delete(ref)) this.destroy(ref);
  }

  /** task.cancel: records the request in current_operations; the running operation then ends the task. */
  requestCancel(ref: string, sessionRef: string): void {
    const rec = this.store.require("task", ref);
    if (rec.status !== "pending") return;
    this.cancelRequests.add(ref);
    this.store.update("task", ref, { current_operations: { [sessionRef]: "cancel" } });
  }

  cancelRequested(ref: string): boolean {
    return this.cancelRequests.has(ref);
  }

  destroy(ref: string): void {
    this.store.require("task", ref);
    if (this.isPending(ref)) {
      this.destroyWhenDone.add(ref);
      return;
    }
    this.store.remove("task", ref);
    this.finishedAt.delete(ref);
    this.internal.delete(ref);
  }

  /** Removes a task at once, pending or not (an HTTP probe's task that never did anything). */
  discard(ref: string): void {
    if (!this.exists(ref)) return;
    this.cancelRequests.delete(ref);
    this.destroyWhenDone.delete(ref);
    this.finishedAt.delete(ref);
    this.internal.delete(ref);
    this.store.remove("task", ref);
  }

  /** Destroys devpool's own tasks finished more than `maxAgeMs` ago (xapi's task GC does the same). */
  gc(maxAgeMs: number): void {
    const limit = Date.now() - maxAgeMs;
    for (const ref of this.internal) {
      const t = this.finishedAt.get(ref);
      if (t !== undefined && t < limit && this.exists(ref)) this.destroy(ref);
    }
  }
}
