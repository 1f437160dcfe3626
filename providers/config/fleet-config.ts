import type { PoolConfig, TemplateConfig } from "./stack-config";
import { FieldReader, isObject, type Raw } from "./fields";
import { RULES } from "./rules";

/**
 * The fleet: pools that receive the catalogue's builds straight from S3 (providers/replica.ts), each with its own
 * password secret (`fleetPoolPasswords.<name>`). Per template, which channel goes to which pools.
 */
export interface FleetPoolConfig extends PoolConfig {
  /** The pool's name: in messages, resource names and its password's key. */
  readonly name: string;
  /** The SR to import into. @default the pool's default SR */
  readonly srUuid?: string;
}

export interface FleetConfig {
  readonly pools: readonly FleetPoolConfig[];
  /** Replicas of each template kept on each pool, the channel's one included. @default 2 */
  readonly poolRetention: number;
  /** Imports at once into one pool, over every template. @default 2 */
  readonly maxConcurrentImports: number;
}

/** Per template: channel → the fleet pools that receive it. */
export type FleetPlacement = Readonly<Record<"stable" | "candidate", readonly string[]>>;

export const FLEET_PASSWORDS_KEY = "fleetPoolPasswords";

/** The config key of a fleet pool's password (a path into the `fleetPoolPasswords` secret). */
export function fleetPasswordKey(pool: string): string {
  return `${FLEET_PASSWORDS_KEY}.${pool}`;
}

/** Parses `fleet`, or undefined when the stack has none. `buildPoolUrl` may not be a fleet pool. */
export function parseFleet(
  r: FieldReader,
  raw: unknown,
  buildPoolUrl: string | undefined,
): FleetConfig | undefined {
  if (raw === undefined) return undefined;
  if (!isObject(raw)) {
    r.fail(
      "fleet",
      `expected an object with pools (see README, "Fleet"), but ${JSON.stringify(raw)} was provided`,
    );
    return undefined;
  }
  const pools: FleetPoolConfig[] = [];
  if (!Array.isArray(raw.pools) || raw.pools.length === 0) {
    r.fail(
      "fleet.pools",
      "is required: a non-empty list of { name, url, username, caCertificate | certificateFingerprint }",
    );
  } else {
    raw.pools.forEach((p: unknown, i: number) => {
      const parsed = parseFleetPool(r, p, `fleet.pools[${i}]`, buildPoolUrl, pools);
      if (parsed) pools.push(parsed);
    });
  }
  return {
    pools,
    poolRetention: r.int(raw, "poolRetention", "fleet.poolRetention", { min: 1, max: 100, dflt: 2 }),
    maxConcurrentImports: r.int(raw, "maxConcurrentImports", "fleet.maxConcurrentImports", {
      min: 1,
      max: 16,
      dflt: 2,
    }),
  };
}

function parseFleetPool(
  r: FieldReader,
  p: unknown,
  at: string,
  buildPoolUrl: string | undefined,
  earlier: readonly FleetPoolConfig[],
): FleetPoolConfig | undefined {
  if (!isObject(p)) {
    r.fail(at, `expected { name, url, username, ... }, but ${JSON.stringify(p)} was provided`);
    return undefined;
  }
  const name = r.ruled(p, "name", `${at}.name`, RULES.fleetPoolName, true);
  if (name !== undefined && earlier.some((e) => e.name === name))
    r.fail(`${at}.name`, `"${name}" names another fleet pool: names must be unique`);
  const url = r.url(r.str(p, "url", `${at}.url`, true), `${at}.url`, ["https", "http"]);
  if (url !== undefined && buildPoolUrl !== undefined && url === buildPoolUrl)
    r.fail(
      `${at}.url`,
      `is the build pool (pool.url): a fleet pool receives copies, the build pool has its own templates`,
    );
  const username = r.str(p, "username", `${at}.username`, true);
  const ca = r.ca(p, at);
  const fp = r.fingerprint(p, "certificateFingerprint", `${at}.certificateFingerprint`);
  const insecureSkipVerify = r.bool(p, "insecureSkipVerify", `${at}.insecureSkipVerify`, false);
  const srUuid = r.str(p, "srUuid", `${at}.srUuid`, false);
  if (!name || !url || !username) return undefined;
  return {
    name,
    url,
    username,
    insecureSkipVerify,
    ...(ca !== undefined ? { caCertificate: ca } : {}),
    ...(fp !== undefined ? { certificateFingerprint: fp } : {}),
    ...(srUuid !== undefined ? { srUuid } : {}),
  };
}

/**
 * A template's placement (`templates[].fleet`): `{ stable: [pools], candidate: [pools] }`; by default the stable
 * build goes to every fleet pool. A pool receives at most one channel of a template.
 */
export function parsePlacement(
  r: FieldReader,
  t: Raw,
  at: string,
  fleet: FleetConfig | undefined,
): FleetPlacement {
  const all = fleet?.pools.map((p) => p.name) ?? [];
  const v = t.fleet;
  if (v === undefined) return { stable: all, candidate: [] };
  const prop = `${at}.fleet`;
  if (fleet === undefined) {
    r.fail(prop, "places the template on fleet pools, but the stack has no fleet: add fleet.pools");
    return { stable: [], candidate: [] };
  }
  if (!isObject(v)) {
    r.fail(
      prop,
      `expected { stable: [pool names], candidate: [pool names] }, but ${JSON.stringify(v)} was provided`,
    );
    return { stable: all, candidate: [] };
  }
  const list = (channel: "stable" | "candidate"): string[] => {
    const names = v[channel];
    if (names === undefined) return [];
    if (!Array.isArray(names) || !names.every((n) => typeof n === "string")) {
      r.fail(
        `${prop}.${channel}`,
        `expected a list of fleet pool names, but ${JSON.stringify(names)} was provided`,
      );
      return [];
    }
    const unknown = names.filter((n) => !all.includes(n));
    if (unknown.length > 0)
      r.fail(
        `${prop}.${channel}`,
        `names no fleet pool: ${unknown.join(", ")} (fleet pools: ${all.join(", ")})`,
      );
    return names.filter((n) => all.includes(n));
  };
  const placement = { stable: list("stable"), candidate: list("candidate") };
  const both = placement.stable.filter((n) => placement.candidate.includes(n));
  if (both.length > 0)
    r.fail(prop, `a pool receives one channel of a template, but ${both.join(", ")} is under both`);
  return placement;
}

/** Every fleet pool a catalogue places something on, for the password check. */
export function placedPools(templates: readonly TemplateConfig[]): string[] {
  return [...new Set(templates.flatMap((t) => [...t.fleet.stable, ...t.fleet.candidate]))].sort();
}
