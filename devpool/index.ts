/**
 * devpool: an embedded XCP-ng 8.3 pool that speaks the XAPI (JSON-RPC, XML-RPC, HTTP transfers) with state on
 * disk. `startDevpool` is what tests and the CLI use; see devpool/README.md.
 */
import type * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { DevpoolUser } from "./api/context";
import { createVm } from "./api/objects";
import { DevpoolEngine } from "./engine";
import { DevpoolConfigError, ServerError } from "./errors";
import type { DevpoolFaults } from "./faults";
import { now } from "./rpc/format";
import { isRole, ROLES } from "./model/rbac";
import { NULL_REF } from "./model/types";
import { createServer, DEFAULT_ROUTES, type Routes } from "./server";
import { loadOrCreateIdentity } from "./tls";

export type { DevpoolFaults, MethodFailure, ImportFailure } from "./faults";
export type { DevpoolUser } from "./api/context";
export { ROLES, type Role } from "./model/rbac";
export { ServerError } from "./errors";

/** How long stop() lets in-flight responses finish before closing their connections. */
const STOP_GRACE_MS = 2000;

export interface DevpoolOptions {
  /** Directory of the pool's state (state.json, vdis/, tls/). Created if missing; reused if it holds a pool. */
  readonly dataDir: string;
  /** TCP port. @default 0: a free port chosen by the kernel (read it from the result) */
  readonly port?: number;
  /** Listen address, also the host's management address. @default "127.0.0.1" */
  readonly host?: string;
  /** Serve HTTPS with a self-signed certificate kept in `<dataDir>/tls/`. @default false */
  readonly tls?: boolean;
  /** The local superuser (xapi's root): every call is allowed. */
  readonly username: string;
  readonly password: string;
  /**
   * More accounts, each with one XAPI role (`pool-admin`, `pool-operator`, `vm-power-admin`, `vm-admin`,
   * `vm-operator`, `read-only`): calls and HTTP transfers their role does not allow are refused with
   * RBAC_PERMISSION_DENIED, as xapi refuses them. @default none
   */
  readonly users?: readonly DevpoolUser[];
  /** Injected faults; can be changed later with `setFaults`. @default none */
  readonly faults?: DevpoolFaults;
  /** Host name on first start. @default "devpool" */
  readonly hostname?: string;
}

/** What a guest agent would report; devpool has no guests, so tests set it. */
export interface GuestMetrics {
  readonly os_version?: Readonly<Record<string, string>>;
  readonly networks?: Readonly<Record<string, string>>;
  readonly PV_drivers_version?: Readonly<Record<string, string>>;
  readonly other?: Readonly<Record<string, string>>;
}

export interface Devpool {
  /** Base URL, e.g. `http://127.0.0.1:40123` (no trailing slash). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  /** PEM certificate when serving TLS, for clients' trust stores. */
  readonly certificate: string | undefined;
  /** The pool behind the server (tests may inspect the store directly). */
  readonly engine: DevpoolEngine;
  /** Replaces the injected faults (counters restart). */
  setFaults(faults: DevpoolFaults): void;
  /** Invalidates every session, as a toolstack restart does. */
  expireSessions(): void;
  /** Sets a VM's guest metrics (creating the object), as a guest agent would. Returns its ref. */
  setGuestMetrics(vm: string, metrics: GuestMetrics): string;
  /** Stops serving, ends long polls and writes the state. */
  stop(): Promise<void>;
}

function validate(opts: DevpoolOptions): void {
  const fail = (what: string, given: unknown) => {
    throw new DevpoolConfigError(`devpool: ${what}, but ${JSON.stringify(given)} was provided`);
  };
  if (typeof opts.dataDir !== "string" || opts.dataDir === "")
    fail("dataDir must be a directory path", opts.dataDir);
  if (opts.port !== undefined && !(Number.isInteger(opts.port) && opts.port >= 0 && opts.port < 65536)) {
    fail("port must be an integer in [0, 65535]", opts.port);
  }
  if (typeof opts.username !== "string" || opts.username === "")
    fail("username must be a non-empty string", "<hidden>");
  if (typeof opts.password !== "string" || opts.password === "")
    fail("password must be a non-empty string", "<hidden>");
  validateUsers(opts.username, opts.users ?? []);
}

/** Each extra account: a distinct name (not the superuser's), a password, and one of xapi's roles. */
export function validateUsers(superuser: string, users: readonly DevpoolUser[]): void {
  const seen = new Set([superuser]);
  for (const [i, u] of users.entries()) {
    const where = `users[${i}]`;
    if (typeof u.username !== "string" || u.username === "") {
      throw new DevpoolConfigError(`devpool: ${where}.username must be a non-empty string`);
    }
    if (seen.has(u.username)) {
      throw new DevpoolConfigError(
        `devpool: ${where}.username must differ from the superuser's and the other users', but "${u.username}" was provided twice`,
      );
    }
    seen.add(u.username);
    if (typeof u.password !== "string" || u.password === "") {
      throw new DevpoolConfigError(
        `devpool: ${where}.password must be a non-empty string (user "${u.username}")`,
      );
    }
    if (typeof u.role !== "string" || !isRole(u.role)) {
      throw new DevpoolConfigError(
        `devpool: ${where}.role must be one of ${ROLES.join(", ")}, but ${JSON.stringify(u.role)} was provided`,
      );
    }
  }
}

export async function startDevpool(opts: DevpoolOptions, routes: Routes = DEFAULT_ROUTES): Promise<Devpool> {
  validate(opts);
  const host = opts.host ?? "127.0.0.1";
  const engine = new DevpoolEngine({
    dataDir: opts.dataDir,
    username: opts.username,
    password: opts.password,
    users: opts.users ?? [],
    address: host,
    ...(opts.faults === undefined ? {} : { faults: opts.faults }),
    ...(opts.hostname === undefined ? {} : { hostname: opts.hostname }),
  });
  const identity = opts.tls === true ? await loadOrCreateIdentity(opts.dataDir, host) : undefined;
  const server: http.Server = createServer(engine, routes, identity);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port ?? 0, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (e) {
    engine.stop();
    throw e;
  }
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  let stopped: Promise<void> | undefined;
  return {
    url: `${identity === undefined ? "http" : "https"}://${urlHost}:${port}`,
    host,
    port,
    dataDir: opts.dataDir,
    certificate: identity?.cert,
    engine,
    setFaults: (f) => engine.faults.set(f),
    expireSessions: () => engine.expireSessions(),
    setGuestMetrics: (vm, m) => setGuestMetrics(engine, vm, m),
    stop: () => {
      stopped ??= new Promise<void>((resolve) => {
        // Long polls return at once (empty batches), so connected clients get their answer before the sockets
        // close; anything still open after the grace period (a transfer) is cut.
        engine.stop();
        const force = setTimeout(() => server.closeAllConnections(), STOP_GRACE_MS);
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
      return stopped;
    },
  };
}

function setGuestMetrics(engine: DevpoolEngine, vm: string, m: GuestMetrics): string {
  const { store } = engine;
  const ref = store.has("VM", vm) ? vm : store.refByUuid("VM", vm);
  if (ref === undefined) throw new ServerError("HANDLE_INVALID", ["VM", vm]);
  const rec = store.require("VM", ref);
  const values = {
    os_version: { ...(m.os_version ?? {}) },
    networks: { ...(m.networks ?? {}) },
    PV_drivers_version: { ...(m.PV_drivers_version ?? {}) },
    other: { ...(m.other ?? {}) },
    PV_drivers_detected: m.PV_drivers_version !== undefined,
    PV_drivers_up_to_date: m.PV_drivers_version !== undefined,
    live: true,
    can_use_hotplug_vbd: "yes",
    can_use_hotplug_vif: "yes",
    last_updated: now(),
  };
  const existing = String(rec.guest_metrics);
  if (existing !== NULL_REF && store.has("VM_guest_metrics", existing)) {
    store.update("VM_guest_metrics", existing, values);
    return existing;
  }
  const gm = store.add("VM_guest_metrics", values);
  store.update("VM", ref, { guest_metrics: gm });
  return gm;
}

/** Creates a plain halted VM (no disks): a fixture helper for tests. */
export function createTestVm(pool: Devpool, nameLabel: string): string {
  return createVm(pool.engine, { name_label: nameLabel, HVM_boot_policy: "BIOS order" });
}
