/**
 * The pool itself: schema, store (loaded from or persisted to the data directory), tasks, disks, sessions and the
 * method table, with no networking. The HTTP server (server.ts) feeds it calls; tests may drive it directly.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { DevpoolUser, Engine } from "./api/context";
import { dispatch, type CallOutcome } from "./api/dispatch";
import { registerEvent } from "./api/event";
import { registerGeneric } from "./api/generic";
import { registerInfra } from "./api/infra";
import { Registry } from "./api/registry";
import { registerSession } from "./api/session";
import { registerTask } from "./api/task";
import { registerVbdVif } from "./api/vbd";
import { registerVdi } from "./api/vdi";
import { registerVm } from "./api/vm";
import { Errors } from "./errors";
import { type DevpoolFaults, FaultState } from "./faults";
import { hostAllowedOperations, poolAllowedOperations } from "./model/infra-operations";
import { Persister, readState } from "./model/persist";
import type { Role } from "./model/rbac";
import { type Schema, schema as sharedSchema } from "./model/schema";
import { Store } from "./model/store";
import { Tasks } from "./model/tasks";
import { now } from "./rpc/format";
import type { Input } from "./rpc/wire";
import { seed } from "./seed/seed";
import { DiskStore } from "./storage/disks";

export interface EngineOptions {
  readonly dataDir: string;
  readonly username: string;
  readonly password: string;
  /** Accounts with XAPI roles besides the superuser. @default none */
  readonly users?: readonly DevpoolUser[];
  readonly faults?: DevpoolFaults;
  /** host.address: what clients use to reach the host (management IP). @default "127.0.0.1" */
  readonly address?: string;
  /** host.hostname and host.name_label on first start. @default "devpool" */
  readonly hostname?: string;
}

/** Completed internal tasks older than this are destroyed (xapi garbage-collects finished tasks too). */
const TASK_GC_MS = 60 * 60 * 1000;

export class DevpoolEngine implements Engine {
  readonly schema: Schema;
  readonly store: Store;
  readonly tasks: Tasks;
  readonly disks: DiskStore;
  readonly faults: FaultState;
  readonly registry: Registry;
  readonly credentials: { readonly username: string; readonly password: string };
  readonly users: readonly DevpoolUser[];
  private readonly persister: Persister;
  private readonly roles = new Map<string, Role>();
  private readonly lastActive = new Map<string, number>();
  private readonly gcTimer: NodeJS.Timeout;
  private isStopping = false;
  private host = "";
  private pool = "";

  constructor(opts: EngineOptions) {
    fs.mkdirSync(opts.dataDir, { recursive: true });
    this.schema = sharedSchema();
    this.credentials = { username: opts.username, password: opts.password };
    this.users = opts.users ?? [];
    this.faults = new FaultState(opts.faults ?? {});
    const stateFile = path.join(opts.dataDir, "state.json");
    this.persister = new Persister(stateFile, () => this.store);
    this.store = new Store(this.schema, (persistent) => this.persister.schedule(persistent));
    this.disks = new DiskStore(opts.dataDir);
    this.tasks = new Tasks(this.store, () => this.host);
    const state = readState(stateFile);
    const address = opts.address ?? "127.0.0.1";
    if (state === undefined) {
      seed(this, { address, hostname: opts.hostname ?? "devpool" });
    } else {
      this.store.load(state);
    }
    this.host = this.store.refs("host")[0] ?? "";
    this.pool = this.store.refs("pool")[0] ?? "";
    if (this.host !== "" && this.store.get("host", this.host)?.address !== address) {
      this.store.update("host", this.host, { address });
    }
    this.refreshInfraOperations();
    this.disks.prune(new Set(this.store.rows("VDI").map((r) => String(r.rec.uuid))));
    this.persister.flush();
    this.registry = new Registry(this.schema);
    for (const register of [
      registerGeneric,
      registerSession,
      registerTask,
      registerEvent,
      registerVm,
      registerVdi,
      registerVbdVif,
      registerInfra,
    ]) {
      register(this.registry);
    }
    this.gcTimer = setInterval(() => this.tasks.gc(TASK_GC_MS), 60_000);
    this.gcTimer.unref();
  }

  /**
   * Recomputes the pool's and the host's allowed_operations, as xapi's startup does (dbsync_master.ml and
   * dbsync_slave.ml call the helpers' `update_allowed_operations`).
   */
  private refreshInfraOperations(): void {
    const pool = this.store.get("pool", this.pool);
    if (pool !== undefined)
      this.store.update("pool", this.pool, { allowed_operations: poolAllowedOperations(pool) });
    const host = this.store.get("host", this.host);
    if (host !== undefined) {
      const live = this.store.get("host_metrics", String(host.metrics))?.live === true;
      this.store.update("host", this.host, { allowed_operations: hostAllowedOperations(host, live) });
    }
  }

  poolRef(): string {
    return this.pool;
  }

  hostRef(): string {
    return this.host;
  }

  stopping(): boolean {
    return this.isStopping;
  }

  openSession(username: string, originator: string, role?: Role): string {
    const ref = this.store.add("session", {
      this_host: this.host,
      last_active: now(),
      validation_time: now(),
      pool: false,
      is_local_superuser: role === undefined,
      auth_user_name: username,
      originator,
    });
    this.lastActive.set(ref, Date.now());
    if (role !== undefined) this.roles.set(ref, role);
    return ref;
  }

  sessionRole(ref: string): Role | undefined {
    return this.roles.get(ref);
  }

  checkSession(ref: string): void {
    if (!this.store.has("session", ref)) throw Errors.sessionInvalid(ref);
    const ttl = this.faults.sessionIdleTimeoutMs;
    const last = this.lastActive.get(ref) ?? 0;
    if (ttl !== undefined && Date.now() - last > ttl) {
      this.closeSession(ref);
      throw Errors.sessionInvalid(ref);
    }
    this.lastActive.set(ref, Date.now());
  }

  closeSession(ref: string): void {
    if (this.store.has("session", ref)) this.store.remove("session", ref);
    this.lastActive.delete(ref);
    this.roles.delete(ref);
  }

  /** Invalidates every session, as a toolstack restart does: clients get SESSION_INVALID and log in again. */
  expireSessions(): void {
    for (const ref of this.store.refs("session")) this.closeSession(ref);
  }

  call(method: string, params: readonly Input[]): Promise<CallOutcome> {
    return dispatch(this, this.registry, method, params);
  }

  /** Ends long polls, stops timers and writes the state. */
  stop(): void {
    this.isStopping = true;
    clearInterval(this.gcTimer);
    this.store.wakeAll();
    this.persister.flush();
  }
}
