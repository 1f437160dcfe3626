import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/** A tool the suite needs is not installed: the message says how to get it. */
export class MissingToolError extends Error {
  constructor(tool: string, hint: string) {
    super(`${tool} is not on PATH. ${hint}`);
    this.name = "MissingToolError";
  }
}

const SETUP_HINT =
  "Run 'npm run setup' (tools/bootstrap.sh) and run the suite through 'npm test', which puts the toolchain first on PATH.";

const HINTS: Record<string, string> = {
  shellcheck: "Install it with 'apt-get install shellcheck' (tools/bootstrap.sh does this when run as root).",
};

/** Absolute path of an executable on PATH, or a MissingToolError naming how to install it. */
export function requireTool(name: string): string {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not in this directory
    }
  }
  throw new MissingToolError(name, HINTS[name] ?? SETUP_HINT);
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a tool (found with requireTool) and resolves with its exit code and output; never rejects on exit code. */
export function run(
  tool: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {},
): Promise<RunResult> {
  const file = requireTool(tool);
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        cwd: opts.cwd,
        env: opts.env ?? process.env,
        timeout: opts.timeoutMs ?? 300000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== "number") {
          reject(new Error(`${tool} ${args.join(" ")} failed to run: ${err.message}\n${stderr}`));
          return;
        }
        resolve({ code: typeof err?.code === "number" ? err.code : 0, stdout, stderr });
      },
    );
    // Secrets reach tools on stdin, never in argv.
    child.stdin?.end(opts.input ?? "");
  });
}

/** Like run, but rejects with the tool's output when it exits non-zero. */
export async function runOk(
  tool: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  const r = await run(tool, args, opts);
  if (r.code !== 0) {
    throw new Error(`${tool} ${args.join(" ")} exited ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
  return r;
}
