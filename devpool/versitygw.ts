import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { freePort, ServiceStartError, waitForPort } from "./net";

/** Options of a local versitygw S3 server (the embedded default's object store). */
export interface VersityGwOptions {
  /** Directory holding the bucket data, the metadata sidecar and object versions. Created if missing. */
  readonly dataDir: string;
  /** TCP port on 127.0.0.1. @default a free port chosen by the kernel */
  readonly port?: number;
  /** Root credentials. @default random ones, generated per start */
  readonly accessKey?: string;
  readonly secretKey?: string;
  /** S3 region the server reports. @default "us-east-1" */
  readonly region?: string;
  /** How long to wait for the port to open. @default 20000 */
  readonly startTimeoutMs?: number;
  /** Where the server's own log goes. @default `<dataDir>/versitygw.log` */
  readonly logFile?: string;
}

/** A running versitygw. */
export interface VersityGw {
  readonly endpoint: string;
  readonly port: number;
  readonly region: string;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * Starts versitygw's posix backend on loopback. Credentials go through the environment (ROOT_ACCESS_KEY,
 * ROOT_SECRET_KEY), never argv, so they do not show in `ps`. The sidecar and versioning directories sit beside
 * the data root, not inside it, as versitygw requires.
 */
export async function startVersityGw(opts: VersityGwOptions): Promise<VersityGw> {
  const port = opts.port ?? (await freePort());
  const region = opts.region ?? "us-east-1";
  const accessKey = opts.accessKey ?? `dev${randomBytes(6).toString("hex")}`;
  const secretKey = opts.secretKey ?? randomBytes(18).toString("base64url");
  const data = path.join(opts.dataDir, "buckets");
  const meta = path.join(opts.dataDir, "meta");
  const versions = path.join(opts.dataDir, "versions");
  for (const d of [data, meta, versions]) fs.mkdirSync(d, { recursive: true });
  const logFile = opts.logFile ?? path.join(opts.dataDir, "versitygw.log");
  const out = fs.openSync(logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn(
      "versitygw",
      [
        "--port",
        `127.0.0.1:${port}`,
        "--region",
        region,
        "posix",
        "--sidecar",
        meta,
        "--versioning-dir",
        versions,
        data,
      ],
      {
        env: { ...process.env, ROOT_ACCESS_KEY: accessKey, ROOT_SECRET_KEY: secretKey },
        stdio: ["ignore", out, out],
      },
    );
  } finally {
    fs.closeSync(out);
  }
  const spawnError = new Promise<never>((_, reject) =>
    child.once("error", (e) =>
      reject(
        new ServiceStartError(
          `versitygw could not be started (${e.message}): run 'npm run setup' to build it, ` +
            `then source $TOOLS_HOME/env.sh so it is on PATH`,
        ),
      ),
    ),
  );
  let exited = false;
  child.once("exit", () => (exited = true));
  try {
    await Promise.race([
      waitForPort("127.0.0.1", port, opts.startTimeoutMs ?? 20000, () => !exited),
      spawnError,
    ]);
  } catch (e) {
    child.kill("SIGKILL");
    const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8").slice(-2000) : "";
    throw new ServiceStartError(`${(e as Error).message}\nversitygw log (${logFile}):\n${tail}`);
  }
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    region,
    accessKey,
    secretKey,
    pid: child.pid ?? -1,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
