/**
 * `npm run devpool -- start|stop|status|run`
 *
 * - `start`: starts devpool detached (it keeps running after this command returns), writes `devpool.json` (pid,
 *   url) in the data directory and logs to `devpool.log` there. Does nothing if one already runs on that data
 *   directory.
 * - `stop`: stops the devpool of the data directory (SIGTERM, then SIGKILL after 10 s) and waits for it to exit.
 * - `status`: says whether it runs and answers; exit status 0 if it does, 3 if not (LSB convention).
 * - `run`: serves in the foreground until SIGTERM/SIGINT (what `start` runs).
 *
 * Settings come from the environment (config.ts): DEVPOOL_DATA_DIR, DEVPOOL_HOST, DEVPOOL_PORT, DEVPOOL_TLS,
 * DEVPOOL_USERNAME, DEVPOOL_PASSWORD (required by start/run), DEVPOOL_FAULTS, DEVPOOL_USERS (accounts with XAPI roles).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as path from "node:path";
import { XcpngError } from "../lib/errors";
import { dataDirFromEnv, optionsFromEnv } from "./config";
import { DevpoolConfigError } from "./errors";
import { startDevpool } from "./index";
import { waitForPort } from "./net";

const STATE_FILE = "devpool.json";
const LOG_FILE = "devpool.log";
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

interface RunState {
  readonly pid: number;
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly startedAt: string;
  readonly certificateFile?: string;
}

/** A CLI command that cannot do what was asked; `exitCode` is the process's exit status. */
class CliError extends XcpngError {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super("DEVPOOL_CLI", message);
  }
}

function readState(dataDir: string): RunState | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dataDir, STATE_FILE), "utf8")) as RunState;
  } catch {
    return undefined;
  }
}

/** Whether `pid` is a live devpool `run` process (guards against a reused pid). */
function isDevpool(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return cmdline.some((a) => a.endsWith(path.join("devpool", "cli.ts"))) && cmdline.includes("run");
  } catch {
    return true; // no /proc: trust the pid file
  }
}

function liveState(dataDir: string): RunState | undefined {
  const s = readState(dataDir);
  return s !== undefined && isDevpool(s.pid) ? s : undefined;
}

/** Whether devpool answers `system.listMethods` (no session needed). */
function answers(state: RunState, dataDir: string): Promise<boolean> {
  const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "system.listMethods", params: [] });
  const ca =
    state.certificateFile === undefined
      ? undefined
      : fs.readFileSync(path.join(dataDir, state.certificateFile));
  return new Promise((resolve) => {
    const opts = { method: "POST", headers: { "content-type": "application/json" }, timeout: 5000 };
    const onRes = (res: http.IncomingMessage) => {
      res.resume();
      resolve(res.statusCode === 200);
    };
    const req = state.url.startsWith("https:")
      ? https.request(`${state.url}/jsonrpc`, { ...opts, ...(ca === undefined ? {} : { ca }) }, onRes)
      : http.request(`${state.url}/jsonrpc`, opts, onRes);
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
    req.end(body);
  });
}

async function run(): Promise<void> {
  const opts = optionsFromEnv(process.env);
  fs.mkdirSync(opts.dataDir, { recursive: true });
  const pool = await startDevpool(opts);
  const state: RunState = {
    pid: process.pid,
    url: pool.url,
    host: pool.host,
    port: pool.port,
    startedAt: new Date().toISOString(),
    ...(pool.certificate === undefined ? {} : { certificateFile: path.join("tls", "cert.pem") }),
  };
  const file = path.join(opts.dataDir, STATE_FILE);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2));
  fs.renameSync(`${file}.tmp`, file);
  console.log(`devpool: serving ${pool.url} as ${opts.username} (state in ${opts.dataDir})`);
  const stop = () => {
    void pool.stop().then(() => {
      if (readState(opts.dataDir)?.pid === process.pid) fs.rmSync(file, { force: true });
      process.exit(0);
    });
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

async function start(): Promise<void> {
  const opts = optionsFromEnv(process.env); // fail here, not in the detached child
  const running = liveState(opts.dataDir);
  if (running !== undefined) {
    console.log(`devpool: already running, pid ${running.pid}, ${running.url}`);
    return;
  }
  fs.mkdirSync(opts.dataDir, { recursive: true });
  fs.rmSync(path.join(opts.dataDir, STATE_FILE), { force: true });
  const logFile = path.join(opts.dataDir, LOG_FILE);
  const log = fs.openSync(logFile, "a");
  // The child runs this file under the same loader (tsx) and inherits the environment, password included.
  const child = spawn(process.execPath, [...process.execArgv, __filename, "run"], {
    detached: true,
    stdio: ["ignore", log, log],
    env: process.env,
  });
  fs.closeSync(log);
  let exited: number | null | undefined;
  child.on("exit", (code) => {
    exited = code;
  });
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new CliError(`devpool: could not start ${process.execPath}; see ${logFile}`);
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (readState(opts.dataDir)?.pid !== pid) {
    if (exited !== undefined) {
      throw new CliError(
        `devpool: exited during start (status ${String(exited)}); see ${logFile}:\n${tail(logFile)}`,
      );
    }
    if (Date.now() > deadline)
      throw new CliError(`devpool: did not start within ${START_TIMEOUT_MS} ms; see ${logFile}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await waitForPort(opts.host ?? "127.0.0.1", opts.port ?? 0, 5000, () => exited === undefined);
  const state = readState(opts.dataDir) as RunState;
  console.log(`devpool: started, pid ${pid}, ${state.url} (log ${logFile})`);
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, "utf8").split("\n").slice(-20).join("\n");
  } catch {
    return "";
  }
}

async function stop(): Promise<void> {
  const dataDir = dataDirFromEnv(process.env);
  const state = liveState(dataDir);
  if (state === undefined) {
    fs.rmSync(path.join(dataDir, STATE_FILE), { force: true });
    console.log(`devpool: not running (data ${dataDir})`);
    return;
  }
  process.kill(state.pid, "SIGTERM");
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (isDevpool(state.pid)) {
    if (Date.now() > deadline) {
      process.kill(state.pid, "SIGKILL");
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  fs.rmSync(path.join(dataDir, STATE_FILE), { force: true });
  console.log(`devpool: stopped pid ${state.pid}`);
}

async function status(): Promise<void> {
  const dataDir = dataDirFromEnv(process.env);
  const state = liveState(dataDir);
  if (state === undefined) throw new CliError(`devpool: not running (data ${dataDir})`, 3);
  const ok = await answers(state, dataDir);
  const upS = Math.round((Date.now() - Date.parse(state.startedAt)) / 1000);
  if (!ok) throw new CliError(`devpool: pid ${state.pid} runs but ${state.url} does not answer`, 3);
  console.log(`devpool: running, pid ${state.pid}, ${state.url}, up ${upS} s, data ${dataDir}`);
}

const COMMANDS: Record<string, () => Promise<void>> = { start, stop, status, run };

async function main(): Promise<void> {
  const cmd = process.argv[2] ?? "";
  const fn = COMMANDS[cmd];
  if (fn === undefined) {
    throw new CliError(
      `usage: npm run devpool -- start|stop|status|run (got "${cmd}"); settings from DEVPOOL_* variables`,
      2,
    );
  }
  await fn();
}

main().catch((e: unknown) => {
  const code = e instanceof CliError ? e.exitCode : e instanceof DevpoolConfigError ? 2 : 1;
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(code);
});
