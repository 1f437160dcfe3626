/**
 * XAPI tasks of transfers: xapi completes a client-created task (`task_id` in the query) with the transfer's
 * outcome, the only reliable error channel once a transfer has started (xapi's `xapi_http.ml`: after the 200
 * headers, a failure just closes the connection). See the datamodel's `task` class: `status` is one of pending,
 * success, failure, cancelling, cancelled; `result` an XML-RPC `<value>` (or ""); `error_info` `[code, ...params]`.
 */
import { parseXmlRpcValue, type XmlRpcValue } from "../xva/xmlrpc";
import { PoolConnectionError, XapiError } from "./errors";
import { formatDuration } from "./timeouts";

export interface TaskRecord {
  readonly status: string;
  readonly result: string;
  readonly error_info: readonly string[];
}

/** The XAPI calls a task needs (a session's `read`). */
export type TaskReader = (method: "task.get_record", ref: string) => Promise<TaskRecord>;

const POLL_MS = 250;

export function isSettled(t: TaskRecord): boolean {
  return t.status !== "pending" && t.status !== "cancelling";
}

/**
 * Polls the task until it settles, or resolves with its pending record after `waitMs` when `pendingIsOk`, or
 * rejects with POOL_TIMEOUT.
 */
export async function waitForTask(
  read: TaskReader,
  ref: string,
  waitMs: number,
  what: string,
  pendingIsOk = false,
): Promise<TaskRecord> {
  const until = Date.now() + waitMs;
  for (;;) {
    const t = await read("task.get_record", ref);
    if (isSettled(t)) return t;
    if (Date.now() >= until) {
      if (pendingIsOk) return t;
      throw new PoolConnectionError(
        "POOL_TIMEOUT",
        `pool: ${what}: its task ${ref} was still ${t.status} ${formatDuration(waitMs)} after the transfer ended ` +
          `(transferIdleTimeoutMs). Look at it on the pool ('xe task-list'), then retry.`,
      );
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** The outcome of a settled task: its decoded result (undefined for ""), or its failure as an error. */
export function taskOutcome(t: TaskRecord, ref: string, what: string): XmlRpcValue | undefined {
  if (t.status === "success") {
    if (t.result === "") return undefined;
    try {
      return parseXmlRpcValue(t.result);
    } catch (e) {
      throw new PoolConnectionError(
        "POOL_PROTOCOL_ERROR",
        `pool: ${what}: task ${ref} succeeded with a result that is not an XML-RPC value: ${t.result.slice(0, 200)}`,
        { cause: e },
      );
    }
  }
  const info =
    t.error_info.length > 0
      ? t.error_info
      : [t.status === "cancelled" ? "TASK_CANCELLED" : "INTERNAL_ERROR", ref];
  const wire = XapiError.fromErrorInfo(info, what);
  if (wire.code === "SESSION_AUTHENTICATION_FAILED") {
    return authFailure(wire, what);
  }
  throw wire;
}

function authFailure(wire: XapiError, what: string): never {
  throw new PoolConnectionError(
    "POOL_AUTH_FAILED",
    `pool: ${what}: the pool refused the session (SESSION_AUTHENTICATION_FAILED). Retry; if it persists, check ` +
      `that pool.username may use this handler.`,
    { cause: wire },
  );
}
