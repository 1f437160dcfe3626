/** What method implementations see: the engine's parts and the calling session. */
import type { FaultState } from "../faults";
import type { Role } from "../model/rbac";
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
  /** The local superuser (xapi's root): passes every RBAC check. */
  readonly credentials: { readonly username: string; readonly password: string };
  /** Other accounts, each with one XAPI role. */
  readonly users: readonly DevpoolUser[];
  poolRef(): string;
  hostRef(): string;
  /** True once devpool is stopping: long polls return at once. */
  stopping(): boolean;
  /**
   * Creates a session for `username` (after checking nothing: callers authenticate). `role` undefined makes a local
   * superuser session.
   */
  openSession(username: string, originator: string, role?: Role): string;
  /** The session's role; undefined for the local superuser, who passes every RBAC check. */
  sessionRole(ref: string): Role | undefined;
  /** Validates a session ref, refreshing its activity; throws SESSION_INVALID [ref]. */
  checkSession(ref: string): void;
  closeSession(ref: string): void;
}

/** An account besides the local superuser: logs in with its password and may do what its XAPI role allows. */
export interface DevpoolUser {
  readonly username: string;
  readonly password: string;
  readonly role: Role;
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
