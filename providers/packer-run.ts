import { spawn } from "node:child_process";
import * as readline from "node:readline";
import { PackerBuildError } from "./errors";

/** The build's result line (build.sh prints one compact JSON object on stdout). */
export interface BuildResult {
  readonly template: string;
  readonly build_id: string;
  readonly duration_seconds: number;
  readonly packer_version: string;
}

export interface PackerRun {
  /** Label of the build in messages (the template's name). */
  readonly label: string;
  /** `bash` arguments: packer/build.sh and its two paths. */
  readonly args: readonly string[];
  /** The whole environment of the build (an allowlist, see packer-env.ts). */
  readonly env: NodeJS.ProcessEnv;
  /** Values masked in every line shown or kept (longest first). */
  readonly secrets: readonly string[];
  /** The build is stopped (and fails) after this long. */
  readonly timeoutMs: number;
  /** How long Packer may take to clean up after it was asked to stop, before it is killed. */
  readonly graceMs?: number;
  /** Called with each masked line of the build's log. */
  readonly onLine: (line: string) => void;
  /** Called with the runner's own messages (stopping the build); default: `onLine`. */
  readonly onNote?: (line: string) => void;
  /** Where the whole log is kept: named in a failure's message, beside its last lines. */
  readonly logFile?: string;
}

/** Replaces every occurrence of each secret (whatever its length) in a log line. */
export function mask(line: string, secrets: readonly string[]): string {
  let out = line;
  for (const s of [...secrets].sort((a, b) => b.length - a.length))
    if (s !== "") out = out.split(s).join("[secret]");
  return out;
}

const TAIL_LINES = 30;

/**
 * Runs packer/build.sh in a process group of its own and waits for its result line.
 *
 * Stopping: on SIGINT or SIGTERM to this process (Ctrl-C, a cancelled deployment) and at the timeout, build.sh
 * gets SIGTERM: it passes it to Packer, which cancels the build and destroys its build VM (its plugins must not
 * be signalled meanwhile: they do that cleanup), then stops what is left in its process group. After the grace
 * period the whole group is killed. If this process dies without a chance to do any of that (SIGKILL), build.sh
 * notices (XCPNG_WATCH_PID) and stops the build itself, so no build runs on unattended.
 */
export function runPackerBuild(run: PackerRun): Promise<BuildResult> {
  return new Promise<BuildResult>((resolve, reject) => {
    const child = spawn("bash", [...run.args], {
      env: { ...run.env, XCPNG_WATCH_PID: String(process.pid) },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let stdout = "";
    const tail: string[] = [];
    let stopping: "cancelled" | "timeout" | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (why: "cancelled" | "timeout") => {
      if (stopping !== undefined || child.pid === undefined) return;
      stopping = why;
      (run.onNote ?? run.onLine)(
        `packer-build: stopping the build of ${run.label} (${why === "timeout" ? "timeout" : "cancelled"})`,
      );
      child.kill("SIGTERM");
      killTimer = setTimeout(
        () => signalGroup(child.pid as number, "SIGKILL"),
        run.graceMs ?? 10 * 60 * 1000,
      );
    };
    const onSignal = () => stop("cancelled");
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    const timer = setTimeout(() => stop("timeout"), run.timeoutMs);
    const done = () => {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      process.removeListener("SIGINT", onSignal);
      process.removeListener("SIGTERM", onSignal);
    };

    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    readline.createInterface({ input: child.stderr }).on("line", (line) => {
      const safe = mask(line, run.secrets);
      tail.push(safe);
      if (tail.length > TAIL_LINES) tail.shift();
      run.onLine(safe);
    });
    child.on("error", (e) => {
      done();
      reject(
        new PackerBuildError(
          "BUILD_NOT_STARTED",
          `packer-build: could not run packer/build.sh: ${e.message}`,
          { cause: e },
        ),
      );
    });
    child.on("close", (code, signal) => {
      done();
      if (stopping !== undefined) return reject(stoppedError(run, stopping, tail));
      if (code !== 0) return reject(failedError(run, code ?? signal ?? "?", tail));
      const last = stdout.trim().split("\n").pop() ?? "";
      try {
        resolve(JSON.parse(last) as BuildResult);
      } catch {
        reject(
          new PackerBuildError(
            "BUILD_NO_RESULT",
            `packer-build: packer/build.sh printed no JSON result line (got ${JSON.stringify(mask(last, run.secrets).slice(0, 200))})`,
          ),
        );
      }
    });
  });
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}

function logTail(run: PackerRun, tail: readonly string[]): string {
  const whole = run.logFile === undefined ? "" : ` (all of it: ${run.logFile})`;
  return `\n--- last lines of the build log${whole} ---\n${tail.join("\n")}`;
}

function stoppedError(
  run: PackerRun,
  why: "cancelled" | "timeout",
  tail: readonly string[],
): PackerBuildError {
  if (why === "timeout") {
    const limit =
      run.timeoutMs >= 60000
        ? `${Math.round(run.timeoutMs / 60000)} min`
        : `${Math.round(run.timeoutMs / 1000)} s`;
    return new PackerBuildError(
      "BUILD_TIMEOUT",
      `packer-build: the build of ${run.label} did not finish within ${limit}: Packer was stopped and its ` +
        `build VM cleaned up. Raise the template's buildTimeoutMinutes if the build needs longer, or look at ` +
        `where it stalled${logTail(run, tail)}`,
    );
  }
  return new PackerBuildError(
    "BUILD_CANCELLED",
    `packer-build: the build of ${run.label} was cancelled: Packer was stopped and its build VM cleaned up; ` +
      `the next 'pulumi up' builds it again${logTail(run, tail)}`,
  );
}

function failedError(run: PackerRun, status: number | string, tail: readonly string[]): PackerBuildError {
  const failed = [...tail].reverse().find((l) => l.includes("FAILED at step")) ?? `exit status ${status}`;
  return new PackerBuildError(
    "BUILD_FAILED",
    `packer-build: the build of ${run.label} failed: ${failed}${logTail(run, tail)}`,
  );
}
