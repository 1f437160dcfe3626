/**
 * One RPC call, in xapi's order (gen_server.ml, server_helpers.ml): method lookup (MESSAGE_METHOD_UNKNOWN),
 * parameter count (MESSAGE_PARAMETER_COUNT_MISMATCH, checked before the session), session (SESSION_INVALID),
 * parameter types, the session's role (RBAC_PERMISSION_DENIED, rbac.ml), then the implementation. `Async.<Class>.<method>` answers a task ref at once and runs the call
 * in the background, completing the task with the XML-RPC serialization of the result (ocaml/xapi/server_helpers.ml
 * `do_dispatch`, taskHelper.ml `complete`).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Errors, ServerError } from "../errors";
import { encode, decode } from "../model/codec";
import { permissionDenied } from "../model/rbac";
import { encodeValue } from "../rpc/xmlrpc";
import { type Input, W, type Wire } from "../rpc/wire";
import { type CallContext, type Engine, RawResult } from "./context";
import type { MethodDef, Registry } from "./registry";

export type CallOutcome =
  | { readonly ok: true; readonly value: Wire; readonly unwrapped: boolean }
  | { readonly ok: false; readonly code: string; readonly params: readonly string[] };

function toFailure(e: unknown): CallOutcome {
  if (e instanceof ServerError) return { ok: false, code: e.code, params: e.params.map(String) };
  const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return { ok: false, code: "INTERNAL_ERROR", params: [msg] };
}

function resultWire(engine: Engine, def: MethodDef, value: unknown): Wire {
  if (value instanceof RawResult) return value.wire;
  return encode(value, def.result, engine.schema);
}

function decodeArgs(engine: Engine, def: MethodDef, raw: readonly Input[]): unknown[] {
  return def.params.slice(0, raw.length).map((p, i) => decode(raw[i], p.type, engine.schema));
}

export async function dispatch(
  engine: Engine,
  reg: Registry,
  method: string,
  params: readonly Input[],
): Promise<CallOutcome> {
  try {
    if (method === "system.listMethods") {
      return { ok: true, value: W.array(reg.names().map(W.str)), unwrapped: true };
    }
    const isAsync = method.startsWith("Async.");
    const base = isAsync ? method.slice("Async.".length) : method;
    const def = reg.get(base);
    if (def === undefined || (isAsync && !def.asyncAllowed)) throw Errors.methodUnknown(method);

    const received = params.length - (def.takesSession ? 1 : 0);
    const required = def.params.length - def.optional;
    if (received < required || received > def.params.length)
      throw Errors.paramCount(method, required, received);

    let session = "";
    if (def.takesSession) {
      const s = params[0];
      session = typeof s === "string" ? s : JSON.stringify(s);
      engine.checkSession(session);
    }
    const args = decodeArgs(engine, def, def.takesSession ? params.slice(1) : params);
    // RBAC after the session, before the call or its task (gen_server.ml: `Session_check.check`, then `rbac`).
    const role = def.takesSession ? engine.sessionRole(session) : undefined;
    if (role !== undefined && !def.roles.includes(role))
      throw permissionDenied(base.toLowerCase(), def.roles);

    const latency = engine.faults.latencyFor(method);
    if (latency > 0) await sleep(latency);
    const injected = engine.faults.takeMethodFailure(method);
    if (injected !== undefined) throw injected;

    if (!isAsync) {
      const value = await def.handler({ engine, session, task: undefined }, args);
      return { ok: true, value: resultWire(engine, def, value), unwrapped: false };
    }
    const task = engine.tasks.create(method, "", { internal: true });
    const ctx: CallContext = { engine, session, task };
    setImmediate(() => {
      void runAsync(ctx, def, args, task);
    });
    return { ok: true, value: W.str(task), unwrapped: false };
  } catch (e) {
    return toFailure(e);
  }
}

async function runAsync(
  ctx: CallContext,
  def: MethodDef,
  args: readonly unknown[],
  task: string,
): Promise<void> {
  const { tasks } = ctx.engine;
  try {
    const value = await def.handler(ctx, args);
    if (tasks.cancelRequested(task)) {
      tasks.cancelled(task);
      return;
    }
    tasks.succeed(task, def.result.k === "void" ? "" : encodeValue(resultWire(ctx.engine, def, value)));
  } catch (e) {
    const f = toFailure(e);
    if (f.ok) return;
    if (f.code === "TASK_CANCELLED") tasks.cancelled(task);
    else tasks.fail(task, f.code, f.params);
  }
}
