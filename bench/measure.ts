/**
 * Runs a command and measures it: wall time (from spawn to exit, on this process's monotonic clock) and, under
 * GNU time (`/usr/bin/time -v`), the peak resident set size of the measured process. GNU time reports
 * `ru_maxrss` of the child it waits for (getrusage(RUSAGE_CHILDREN)), so the figure is the measured process's
 * own high-water mark, not a sample.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ToolError } from "../tools/errors";

export const GNU_TIME = "/usr/bin/time";

export interface RunOptions {
  readonly cwd: string;
  /** The whole environment of the child (secrets travel here, never in argv). */
  readonly env: NodeJS.ProcessEnv;
  /** Written to the child's stdin, then closed (curl reads its config this way). */
  readonly input?: string;
  /** The child (and its process group) is killed after this long. */
  readonly timeoutMs: number;
  /** Lines of the child's output are echoed on stderr with this prefix; undefined keeps them quiet. */
  readonly echoPrefix?: string;
  /** Run under `/usr/bin/time -v` and report the peak RSS. @default true */
  readonly measureRss?: boolean;
}

export interface RunResult {
  readonly code: number;
  readonly wallSeconds: number;
  /** Peak RSS in KiB as GNU time reports it; undefined when not measured. */
  readonly maxRssKiB: number | undefined;
  /** User + system CPU seconds of the command and the descendants it waited for (GNU time); undefined when not measured. */
  readonly cpuSeconds: number | undefined;
  /** The last 64 KiB of stdout and stderr. */
  readonly stdout: string;
  readonly stderr: string;
}

const TAIL_BYTES = 64 * 1024;

/** Process groups of the commands running now, so an interrupted bench can end them. */
const running = new Set<number>();

/** Kills every command this module started that is still running (its whole process group). */
export function killRunning(): void {
  for (const pgid of running) {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  running.clear();
}

function keepTail(acc: string, more: string): string {
  const s = acc + more;
  return s.length > TAIL_BYTES ? s.slice(s.length - TAIL_BYTES) : s;
}

/** `Maximum resident set size (kbytes): 123456` from `time -v` output. */
export function parseMaxRssKiB(timeOutput: string): number | undefined {
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(timeOutput);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/** `User time (seconds): 1.23` + `System time (seconds): 0.45` from `time -v` output. */
export function parseCpuSeconds(timeOutput: string): number | undefined {
  const user = /User time \(seconds\): ([\d.]+)/.exec(timeOutput)?.[1];
  const system = /System time \(seconds\): ([\d.]+)/.exec(timeOutput)?.[1];
  return user === undefined || system === undefined ? undefined : Number(user) + Number(system);
}

export function assertGnuTime(): void {
  if (!fs.existsSync(GNU_TIME)) {
    throw new ToolError(
      "MISSING_TOOL",
      `bench: ${GNU_TIME} (GNU time) is needed to read peak RSS, but it is not installed. Install it with 'apt-get install -y time'.`,
    );
  }
}

/** Runs `file args` and resolves with its exit code, wall time and peak RSS; never rejects on an exit code. */
export function runMeasured(
  file: string,
  args: readonly string[],
  opts: RunOptions,
  scratchDir: string,
): Promise<RunResult> {
  const measure = opts.measureRss ?? true;
  const timeFile = path.join(
    scratchDir,
    `time-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.txt`,
  );
  const [cmd, argv] = measure ? [GNU_TIME, ["-v", "-o", timeFile, file, ...args]] : [file, [...args]];
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    // Its own process group, so a timeout kills the measured process too, not only GNU time.
    const child = spawn(cmd, argv, { cwd: opts.cwd, env: opts.env, detached: true, stdio: "pipe" });
    if (child.pid !== undefined) running.add(child.pid);
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const echo = (chunk: Buffer) => {
      if (opts.echoPrefix === undefined) return;
      for (const line of chunk.toString().split("\n")) {
        if (line.trim() !== "") process.stderr.write(`${opts.echoPrefix} ${line}\n`);
      }
    };
    child.stdout.on("data", (d: Buffer) => {
      stdout = keepTail(stdout, d.toString());
      echo(d);
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr = keepTail(stderr, d.toString());
      echo(d);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }, opts.timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      if (child.pid !== undefined) running.delete(child.pid);
      reject(new ToolError("COMMAND_FAILED", `bench: could not run ${file}: ${e.message}`, { cause: e }));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      if (child.pid !== undefined) running.delete(child.pid);
      const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
      let maxRssKiB: number | undefined;
      let cpuSeconds: number | undefined;
      if (measure) {
        const text = fs.existsSync(timeFile) ? fs.readFileSync(timeFile, "utf8") : "";
        fs.rmSync(timeFile, { force: true });
        maxRssKiB = parseMaxRssKiB(text);
        cpuSeconds = parseCpuSeconds(text);
      }
      if (timedOut) {
        reject(
          new ToolError(
            "COMMAND_FAILED",
            `bench: ${path.basename(file)} did not finish within ${opts.timeoutMs / 1000} s and was killed; last output:\n${stderr.slice(-2000)}`,
          ),
        );
        return;
      }
      resolve({ code: code ?? -1, wallSeconds, maxRssKiB, cpuSeconds, stdout, stderr });
    });
    child.stdin.end(opts.input ?? "");
  });
}

/** Like runMeasured, but rejects with the tail of the output when the command exits non-zero. */
export async function runMeasuredOk(
  file: string,
  args: readonly string[],
  opts: RunOptions,
  scratchDir: string,
  what: string,
): Promise<RunResult> {
  const r = await runMeasured(file, args, opts, scratchDir);
  if (r.code !== 0) {
    throw new ToolError(
      "COMMAND_FAILED",
      `bench: ${what} exited ${r.code}\n--- stdout (tail) ---\n${r.stdout.slice(-3000)}\n--- stderr (tail) ---\n${r.stderr.slice(-3000)}`,
    );
  }
  return r;
}
