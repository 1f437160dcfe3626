/**
 * devpool's settings from the environment, for the CLI and launchers: the password never goes through argv.
 *
 * | variable | meaning | default |
 * |---|---|---|
 * | `DEVPOOL_DATA_DIR` | state directory (state.json, vdis/, tls/, devpool.json, devpool.log) | `.dev/devpool` |
 * | `DEVPOOL_HOST` | listen address and the host's management address | `127.0.0.1` |
 * | `DEVPOOL_PORT` | TCP port | `18443` |
 * | `DEVPOOL_TLS` | `true` serves HTTPS with a self-signed certificate, `false` plain HTTP | `true` |
 * | `DEVPOOL_USERNAME` | the account | `root` |
 * | `DEVPOOL_PASSWORD` | its password | required |
 * | `DEVPOOL_FAULTS` | faults: a JSON file path, or JSON text starting with `{` | none |
 * | `DEVPOOL_USERS` | more accounts with XAPI roles: a JSON file path, or JSON text starting with `[`, of
 *   `{ "username", "password", "role" }` objects | none |
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { DevpoolConfigError } from "./errors";
import { parseFaults } from "./faults";
import type { DevpoolUser } from "./api/context";
import type { DevpoolOptions } from "./index";

export const DEFAULT_PORT = 18443;
export const DEFAULT_DATA_DIR = path.join(".dev", "devpool");

function fail(what: string, given: string): never {
  throw new DevpoolConfigError(`devpool: ${what}, but "${given}" was provided`);
}

/** The data directory named by the environment (absolute). */
export function dataDirFromEnv(env: NodeJS.ProcessEnv): string {
  return path.resolve(env.DEVPOOL_DATA_DIR ?? DEFAULT_DATA_DIR);
}

/** JSON from a variable holding either the text itself (starting with `start`) or a file path. */
function jsonFromEnv(name: string, value: string, start: string): { json: unknown; origin: string } {
  const inline = value.trimStart().startsWith(start);
  const origin = inline ? name : value;
  let text = value;
  if (!inline) {
    try {
      text = fs.readFileSync(value, "utf8");
    } catch (e) {
      fail(`${name} must be JSON text or a readable JSON file (${(e as Error).message})`, value);
    }
  }
  try {
    return { json: JSON.parse(text), origin };
  } catch (e) {
    throw new DevpoolConfigError(
      `devpool: ${name} from ${origin} is not valid JSON: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
}

/** DEVPOOL_USERS: an array of `{ username, password, role }`; the roles are checked by startDevpool. */
function usersFromEnv(env: NodeJS.ProcessEnv): DevpoolUser[] | undefined {
  const value = env.DEVPOOL_USERS;
  if (value === undefined || value === "") return undefined;
  const { json, origin } = jsonFromEnv("DEVPOOL_USERS", value, "[");
  if (!Array.isArray(json) || !json.every((u) => typeof u === "object" && u !== null && !Array.isArray(u))) {
    throw new DevpoolConfigError(
      `devpool: DEVPOOL_USERS (${origin}) must be a JSON array of {"username", "password", "role"} objects`,
    );
  }
  return json as DevpoolUser[];
}

/** Full options from the environment; throws DevpoolConfigError naming the variable to fix. */
export function optionsFromEnv(env: NodeJS.ProcessEnv): DevpoolOptions {
  const portText = env.DEVPOOL_PORT ?? String(DEFAULT_PORT);
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    fail("DEVPOOL_PORT must be a TCP port (1-65535)", portText);
  const tlsText = env.DEVPOOL_TLS ?? "true";
  if (tlsText !== "true" && tlsText !== "false") fail("DEVPOOL_TLS must be true or false", tlsText);
  const password = env.DEVPOOL_PASSWORD;
  if (password === undefined || password === "") {
    throw new DevpoolConfigError(
      "devpool: DEVPOOL_PASSWORD is not set; set it in the environment (it is never read from the command line)",
    );
  }
  let faults;
  const faultsText = env.DEVPOOL_FAULTS;
  if (faultsText !== undefined && faultsText !== "") {
    const { json, origin } = jsonFromEnv("DEVPOOL_FAULTS", faultsText, "{");
    faults = parseFaults(json, origin);
  }
  const users = usersFromEnv(env);
  return {
    dataDir: dataDirFromEnv(env),
    host: env.DEVPOOL_HOST ?? "127.0.0.1",
    port,
    tls: tlsText === "true",
    username: env.DEVPOOL_USERNAME ?? "root",
    password,
    ...(faults === undefined ? {} : { faults }),
    ...(users === undefined ? {} : { users }),
  };
}
