/**
 * Fault injection: misbehaviours tests switch on through configuration (the `faults` option, or a JSON file / JSON
 * text in DEVPOOL_FAULTS for the CLI), and can change while devpool runs (`devpool.setFaults`).
 */
import { DevpoolConfigError, ServerError } from "./errors";

export interface MethodFailure {
  /** Full method name, e.g. `VM.clone`; also matches its `Async.` twin. */
  readonly method: string;
  /** How many calls fail before the method works again. */
  readonly times: number;
  /** @default "INTERNAL_ERROR" */
  readonly code?: string;
  /** @default a message naming the fault */
  readonly params?: readonly string[];
}

export interface ImportFailure {
  /** How many `/import` tasks fail (after the body was read, before any object is created). @default 1 */
  readonly times?: number;
  /** @default "IMPORT_ERROR" */
  readonly code?: string;
  readonly params?: readonly string[];
}

export interface DevpoolFaults {
  /** Delay before answering every RPC (a number), or per method name with `"*"` as the fallback, in ms. */
  readonly latencyMs?: number | Readonly<Record<string, number>>;
  /** Methods that fail a number of times. */
  readonly failMethods?: readonly MethodFailure[];
  /** Sessions idle for longer than this expire (SESSION_INVALID). xapi's own limit is 24 h. */
  readonly sessionIdleTimeoutMs?: number;
  /** Every `/export` stream is cut (connection closed, task failed) after this many bytes. */
  readonly cutExportAfterBytes?: number;
  /**
   * Every `/import` connection is cut (closed by the pool) once this many bytes of the body have arrived: the
   * import fails as a premature end, its objects are removed and its task fails.
   */
  readonly cutImportAfterBytes?: number;
  /** `/import` tasks fail with this error. */
  readonly failImports?: ImportFailure;
}

function check(cond: boolean, origin: string, what: string, given: unknown): void {
  if (!cond) {
    throw new DevpoolConfigError(
      `devpool: faults from ${origin}: ${what}, but ${JSON.stringify(given)} was provided. ` +
        "See devpool/README.md, section Fault injection.",
    );
  }
}

const isCount = (v: unknown) => typeof v === "number" && Number.isInteger(v) && v >= 0;
const isStrings = (v: unknown) => Array.isArray(v) && v.every((s) => typeof s === "string");

/** Validates faults read from JSON. Unknown keys are refused so a typo does not silently disable a fault. */
export function parseFaults(value: unknown, origin: string): DevpoolFaults {
  check(
    value !== null && typeof value === "object" && !Array.isArray(value),
    origin,
    "expected an object",
    value,
  );
  const o = value as Record<string, unknown>;
  const known = [
    "latencyMs",
    "failMethods",
    "sessionIdleTimeoutMs",
    "cutExportAfterBytes",
    "cutImportAfterBytes",
    "failImports",
  ];
  for (const k of Object.keys(o))
    check(known.includes(k), origin, `expected only keys ${known.join(", ")}`, k);
  if (o.latencyMs !== undefined) {
    const l = o.latencyMs;
    check(
      isCount(l) || (typeof l === "object" && l !== null && Object.values(l).every(isCount)),
      origin,
      "latencyMs must be a non-negative integer or a map of method name to one",
      l,
    );
  }
  if (o.failMethods !== undefined) {
    check(Array.isArray(o.failMethods), origin, "failMethods must be an array", o.failMethods);
    for (const f of o.failMethods as unknown[]) {
      const m = f as Record<string, unknown>;
      check(
        typeof m.method === "string" && isCount(m.times),
        origin,
        "each failMethods entry needs method and times",
        f,
      );
      check(
        m.code === undefined || typeof m.code === "string",
        origin,
        "failMethods code must be a string",
        m.code,
      );
      check(
        m.params === undefined || isStrings(m.params),
        origin,
        "failMethods params must be strings",
        m.params,
      );
    }
  }
  for (const k of ["sessionIdleTimeoutMs", "cutExportAfterBytes", "cutImportAfterBytes"] as const) {
    check(o[k] === undefined || isCount(o[k]), origin, `${k} must be a non-negative integer`, o[k]);
  }
  if (o.failImports !== undefined) {
    const f = o.failImports as Record<string, unknown>;
    check(typeof f === "object" && f !== null, origin, "failImports must be an object", f);
    check(f.times === undefined || isCount(f.times), origin, "failImports.times must be a count", f.times);
    check(
      f.code === undefined || typeof f.code === "string",
      origin,
      "failImports.code must be a string",
      f.code,
    );
    check(
      f.params === undefined || isStrings(f.params),
      origin,
      "failImports.params must be strings",
      f.params,
    );
  }
  return o;
}

/** The live fault state: counters decrease as faults fire. */
export class FaultState {
  private faults: DevpoolFaults = {};
  private readonly remaining = new Map<string, number>();
  private importsLeft = 0;

  constructor(initial: DevpoolFaults = {}) {
    this.set(initial);
  }

  /** Replaces the faults and resets their counters. */
  set(faults: DevpoolFaults): void {
    this.faults = faults;
    this.remaining.clear();
    for (const f of faults.failMethods ?? []) this.remaining.set(f.method, f.times);
    this.importsLeft = faults.failImports === undefined ? 0 : (faults.failImports.times ?? 1);
  }

  get current(): DevpoolFaults {
    return this.faults;
  }

  latencyFor(method: string): number {
    const l = this.faults.latencyMs;
    if (l === undefined) return 0;
    if (typeof l === "number") return l;
    return l[method] ?? l["*"] ?? 0;
  }

  /** The injected failure for this call, if one is due (consumes one). */
  takeMethodFailure(method: string): ServerError | undefined {
    const base = method.startsWith("Async.") ? method.slice(6) : method;
    const f = (this.faults.failMethods ?? []).find((x) => x.method === base);
    const left = this.remaining.get(base) ?? 0;
    if (f === undefined || left <= 0) return undefined;
    this.remaining.set(base, left - 1);
    return new ServerError(
      f.code ?? "INTERNAL_ERROR",
      f.params ?? [`devpool fault injection: ${base} fails ${f.times} time(s), ${left - 1} left`],
    );
  }

  get sessionIdleTimeoutMs(): number | undefined {
    return this.faults.sessionIdleTimeoutMs;
  }

  get cutExportAfterBytes(): number | undefined {
    return this.faults.cutExportAfterBytes;
  }

  get cutImportAfterBytes(): number | undefined {
    return this.faults.cutImportAfterBytes;
  }

  takeImportFailure(): ServerError | undefined {
    const f = this.faults.failImports;
    if (f === undefined || this.importsLeft <= 0) return undefined;
    this.importsLeft -= 1;
    return new ServerError(
      f.code ?? "IMPORT_ERROR",
      f.params ?? ["devpool fault injection: import failed on purpose"],
    );
  }
}
