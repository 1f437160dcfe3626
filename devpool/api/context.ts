/** What method implementations see: the engine's parts and the calling session. */
import type { FaultState } from "../faults";
import type { Wire } from "../rpc/wire";
import type { Schema } from "../model/schema";
import type { Store } from "../model/store";
import type { Tasks } from "../model/tasks";
import type { DiskStore } from "../storage/disks";

export interface Engine {
  readonly schema: Schema;
  readonly store: Store;
  readonly tasks: Tasks;
  readonly disks: DiskStore;
  readonly faults: FaultState;
  readonly credentials: { readonly username: string; readonly password: string };
  poolRef(): string;
  hostRef(): string;
  /** True once devpool is stopping: long polls return at once. */
  stopping(): boolean;
  /** Creates a session for `username` (after checking nothing: callers authenticate). */
  openSession(username: string, originator: string): string;
  /** Validates a session ref, refreshing its activity; throws SESSION_INVALID [ref]. */
  checkSession(ref: string): void;
  closeSession(ref: string): void;
}

export interface CallContext {
  readonly engine: Engine;
  /** The caller's session ref ("" for calls that take none). */
  readonly session: string;
  /** The task of an `Async.` call, so long operations can report progress and see cancellation. */
  readonly task: string | undefined;
}

/** A result already typed for the wire (event batches, whose shape is not a datamodel type). */
export class RawResult {
  constructor(readonly wire: Wire) {}
}

export type Handler = (ctx: CallContext, args: readonly unknown[]) => unknown;
