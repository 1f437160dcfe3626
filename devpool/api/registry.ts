/**
 * The method table. Signatures come from the datamodel (so parameter types, counts and result types are xapi's);
 * implementations come from the generic accessors (`generic.ts`) and the hand-written class modules. A datamodel
 * message with no implementation is not registered and answers MESSAGE_METHOD_UNKNOWN, never a silent success.
 */
import { DevpoolDefectError } from "../errors";
import type { MessageSchema, ParamSchema, Schema } from "../model/schema";
import type { Role } from "../model/rbac";
import type { DMType } from "../model/types";
import type { Handler } from "./context";

export interface MethodDef {
  readonly name: string;
  readonly params: readonly ParamSchema[];
  /** Trailing parameters with defaults (xapi's `default_args`): they may be left out. */
  readonly optional: number;
  readonly takesSession: boolean;
  readonly result: DMType;
  /** Whether an `Async.` twin exists. */
  readonly asyncAllowed: boolean;
  /** Roles allowed to call it; calls without a session ignore them. */
  readonly roles: readonly Role[];
  readonly handler: Handler;
}

/** Classes whose messages have no Async twin (ocaml/idl/ocaml_backend/gen_client.ml `has_async`: session, task and event calls are
 * not async). */
const NO_ASYNC_CLASSES = new Set(["session", "task", "event"]);

export class Registry {
  private readonly methods = new Map<string, MethodDef>();

  constructor(readonly schema: Schema) {}

  message(name: string): MessageSchema {
    const dot = name.indexOf(".");
    const m = this.schema.classes.get(name.slice(0, dot))?.messages.get(name.slice(dot + 1));
    if (m === undefined) throw new DevpoolDefectError(`devpool: ${name} is not a datamodel message`);
    return m;
  }

  /** Implements a datamodel message with its datamodel signature. */
  implement(name: string, handler: Handler, opts: { optional?: number } = {}): void {
    const m = this.message(name);
    this.methods.set(name, {
      name,
      params: m.params,
      optional: opts.optional ?? 0,
      takesSession: m.takesSession,
      result: m.result,
      roles: m.roles,
      asyncAllowed:
        !NO_ASYNC_CLASSES.has(m.cls) && (!m.implicit || m.name === "create" || m.name === "destroy"),
      handler,
    });
  }

  /** Defines a method the datamodel does not describe (system.*). */
  define(def: MethodDef): void {
    this.methods.set(def.name, def);
  }

  get(name: string): MethodDef | undefined {
    return this.methods.get(name);
  }

  names(): string[] {
    return [...this.methods.keys()].sort();
  }
}
