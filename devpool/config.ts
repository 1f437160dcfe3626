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
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { DevpoolConfigError } from "./errors";
import { parseFaults } from "./faults";
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
    const inline = faultsText.trimStart().startsWith("{");
    const origin = inline ? "DEVPOOL_FAULTS" : faultsText;
    let text = faultsText;
    if (!inline) {
      try {
        text = fs.readFileSync(faultsText, "utf8");
      } catch (e) {
        fail(
          `DEVPOOL_FAULTS must be JSON text or a readable JSON file (${(e as Error).message})`,
          faultsText,
        );
      }
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new DevpoolConfigError(
        `devpool: faults from ${origin} are not valid JSON: ${(e as Error).message}`,
      );
    }
    faults = parseFaults(json, origin);
  }
  return {
    dataDir: dataDirFromEnv(env),
    host: env.DEVPOOL_HOST ?? "127.0.0.1",
    port,
    tls: tlsText === "true",
    username: env.DEVPOOL_USERNAME ?? "root",
    password,
    ...(faults === undefined ? {} : { faults }),
  };
}
