/**
 * devpool instances as their own processes (`devpool/cli.ts run`), so the bench can tell their CPU time from the
 * importing process's: on two cores, where the time goes is mostly whose CPU it is. CPU times come from
 * `/proc/<pid>/stat` (utime + stime, in clock ticks).
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { ToolError } from "../tools/errors";

export interface PoolProcess {
  readonly name: string;
  readonly pid: number;
  readonly url: string;
  /** PEM of its self-signed certificate (trusted as its CA). */
  readonly certificate: string;
  readonly dataDir: string;
}

const ROOT = path.resolve(__dirname, "..");

/** A port nobody listens on right now (the kernel's choice). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Starts one devpool process with TLS on a free port; resolves once it has written its state file. */
export async function startPoolProcess(
  work: string,
  name: string,
  password: string,
  timeoutMs = 60_000,
): Promise<PoolProcess> {
  const dataDir = path.join(work, `pool-${name}`);
  fs.mkdirSync(dataDir, { recursive: true });
  const log = fs.openSync(path.join(dataDir, "devpool.log"), "a");
  const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "devpool", "cli.ts"), "run"], {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", log, log],
    // The password travels in the environment, never argv.
    env: {
      ...process.env,
      DEVPOOL_DATA_DIR: dataDir,
      DEVPOOL_PORT: String(await freePort()),
      DEVPOOL_TLS: "true",
      DEVPOOL_USERNAME: "root",
      DEVPOOL_PASSWORD: password,
    },
  });
  fs.closeSync(log);
  child.unref();
  const stateFile = path.join(dataDir, "devpool.json");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const s = JSON.parse(fs.readFileSync(stateFile, "utf8")) as {
        pid: number;
        url: string;
        certificateFile?: string;
      };
      if (s.pid === child.pid && s.certificateFile !== undefined) {
        const certificate = fs.readFileSync(path.join(dataDir, s.certificateFile), "utf8");
        return { name, pid: s.pid, url: s.url, certificate, dataDir };
      }
    } catch {
      // not written yet
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, "SIGKILL");
      throw new ToolError(
        "COMMAND_FAILED",
        `bench: devpool ${name} did not start within ${timeoutMs / 1000} s; see ${dataDir}/devpool.log`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Stops a devpool this bench started (SIGTERM, then SIGKILL after 10 s) and removes its data. */
export async function stopPoolProcess(p: PoolProcess): Promise<void> {
  const alive = () => {
    try {
      process.kill(p.pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (alive()) process.kill(p.pid, "SIGTERM");
  const deadline = Date.now() + 10_000;
  while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive()) process.kill(p.pid, "SIGKILL");
  fs.rmSync(p.dataDir, { recursive: true, force: true });
}

/** utime + stime in clock ticks, from the text of /proc/<pid>/stat (the command may contain spaces and ')'). */
export function cpuTicksOfStat(stat: string): number {
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // After "pid (comm) ": state is field 3, utime field 14, stime field 15 (proc(5)).
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new ToolError("BAD_INPUT", `bench: cannot read CPU times from /proc stat: ${stat.slice(0, 200)}`);
  }
  return utime + stime;
}

let ticksPerSecond: number | undefined;

/** CPU seconds (user + system) a live process has used so far. */
export function cpuSeconds(pid: number): number {
  ticksPerSecond ??= Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
  return cpuTicksOfStat(fs.readFileSync(`/proc/${pid}/stat`, "utf8")) / ticksPerSecond;
}
