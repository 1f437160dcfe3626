/**
 * Running the external programs of the acceptance (qemu-img, cloud-localds, ssh-keygen, ssh): found on PATH (and
 * the sbin directories), arguments as an array (no shell), output captured, a timeout, and typed errors that
 * name the Debian package of a missing program.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { CommandOutput } from "./checks/types";
import { AcceptanceToolError } from "./errors";

/** The Debian package of each program (tools/bootstrap.sh installs them). */
export const PACKAGE_OF: Readonly<Record<string, string>> = {
  "qemu-system-x86_64": "qemu-system-x86",
  "qemu-img": "qemu-utils",
  "cloud-localds": "cloud-image-utils",
  ssh: "openssh-client",
  "ssh-keygen": "openssh-client",
  setpriv: "util-linux",
};

/** Absolute path of a program, or {@link AcceptanceToolError} `ACCEPTANCE_TOOL_MISSING` naming its package. */
export function findTool(name: string): string {
  for (const dir of [...(process.env.PATH ?? "").split(path.delimiter), "/usr/sbin", "/sbin"]) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  const pkg = PACKAGE_OF[name] ?? name;
  throw new AcceptanceToolError(
    "ACCEPTANCE_TOOL_MISSING",
    name,
    `${name} is not installed; install it with 'apt-get install ${pkg}' (tools/bootstrap.sh does when run as root)`,
  );
}

export interface ExecOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Resolve with the output whatever the exit status (default: a non-zero exit throws). */
  readonly allowFailure?: boolean;
  readonly env?: NodeJS.ProcessEnv;
}

/** Runs a program; resolves with its output. Throws {@link AcceptanceToolError} when missing, timed out or failing. */
export function runTool(
  name: string,
  args: readonly string[],
  opts: ExecOptions = {},
): Promise<CommandOutput> {
  const file = findTool(name);
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        timeout: opts.timeoutMs ?? 120_000,
        maxBuffer: 16 * 1024 * 1024,
        env: opts.env ?? process.env,
        ...(opts.signal ? { signal: opts.signal } : {}),
      },
      (err, stdout, stderr) => {
        const killed = err !== null && (err as { killed?: boolean }).killed === true;
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
        if (err && (killed || typeof err.code !== "number")) {
          reject(
            new AcceptanceToolError(
              "ACCEPTANCE_TOOL_FAILED",
              name,
              `${name} ${killed ? `did not finish within ${(opts.timeoutMs ?? 120_000) / 1000} s` : `could not run: ${err.message}`}`,
              { cause: err },
            ),
          );
          return;
        }
        if (code !== 0 && opts.allowFailure !== true) {
          reject(
            new AcceptanceToolError(
              "ACCEPTANCE_TOOL_FAILED",
              name,
              `${name} ${args.join(" ")} exited ${code}: ${stderr.trim().split("\n").slice(-5).join(" | ")}`,
            ),
          );
          return;
        }
        resolve({ stdout, stderr, exitCode: code });
      },
    );
    child.stdin?.end();
  });
}

/**
 * The command line that runs `program` so that it is terminated when this process dies, however it dies
 * (`setpriv --pdeathsig`, util-linux): a cancelled `pulumi up` kills its provider process, whose cleanup code
 * then never runs, and a VM must not outlive it.
 */
export function orphanSafe(program: string, args: readonly string[]): [string, string[]] {
  return [findTool("setpriv"), ["--pdeathsig", "TERM", "--", program, ...args]];
}
