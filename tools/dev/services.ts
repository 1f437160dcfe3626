import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { ServiceStartError, waitForPort } from "../../devpool/net";

/** A long-lived local service of the embedded default, started detached so it outlives `npm start`. */
export interface ServiceSpec {
  readonly name: string;
  readonly port: number;
  readonly command: string;
  readonly args: readonly string[];
  /** Extra environment (credentials go here, never in args). */
  readonly env: Readonly<Record<string, string>>;
  /** Directory for the pid file and log. */
  readonly runDir: string;
  readonly startTimeoutMs?: number;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/**
 * Starts the service unless our pid file names a live process that listens on its port (then it is reused).
 * A port taken by something else is an error that names the port and how to free it.
 */
export async function ensureService(spec: ServiceSpec): Promise<"started" | "reused"> {
  fs.mkdirSync(spec.runDir, { recursive: true });
  const pidFile = path.join(spec.runDir, `${spec.name}.pid`);
  const logFile = path.join(spec.runDir, `${spec.name}.log`);
  const pid = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, "utf8").trim()) : NaN;
  const open = await portOpen(spec.port);
  if (Number.isInteger(pid) && pidAlive(pid) && open) return "reused";
  if (open) {
    throw new ServiceStartError(
      `${spec.name}: port 127.0.0.1:${spec.port} is in use by another program. Stop it, or change the port ` +
        `in Pulumi.dev.yaml.`,
    );
  }
  const out = fs.openSync(logFile, "a");
  const child = spawn(spec.command, [...spec.args], {
    detached: true,
    stdio: ["ignore", out, out],
    env: { ...process.env, ...spec.env },
  });
  fs.closeSync(out);
  let exited = false;
  child.once("exit", () => (exited = true));
  const spawnFailed = new Promise<never>((_, reject) =>
    child.once("error", (e) =>
      reject(
        new ServiceStartError(
          `${spec.name}: could not run ${spec.command}: ${e.message}. Run 'npm run setup'.`,
        ),
      ),
    ),
  );
  try {
    await Promise.race([
      waitForPort("127.0.0.1", spec.port, spec.startTimeoutMs ?? 30000, () => !exited),
      spawnFailed,
    ]);
  } catch (e) {
    const tail = fs.readFileSync(logFile, "utf8").slice(-2000);
    throw new ServiceStartError(`${spec.name}: ${(e as Error).message}\n--- ${logFile} ---\n${tail}`);
  }
  fs.writeFileSync(pidFile, String(child.pid));
  child.unref();
  return "started";
}

/** Stops a service started by ensureService (SIGTERM, then waits for the port to close). */
export async function stopService(name: string, runDir: string): Promise<boolean> {
  const pidFile = path.join(runDir, `${name}.pid`);
  if (!fs.existsSync(pidFile)) return false;
  const pid = Number(fs.readFileSync(pidFile, "utf8").trim());
  fs.rmSync(pidFile);
  if (!Number.isInteger(pid) || !pidAlive(pid)) return false;
  process.kill(pid, "SIGTERM");
  for (let i = 0; i < 100 && pidAlive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  return true;
}
