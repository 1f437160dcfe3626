import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ToolError } from "../../tools/errors";

/** A tool the suite needs is not installed: the message says how to get it. Code `MISSING_TOOL`. */
export class MissingToolError extends ToolError {
  constructor(tool: string, hint: string) {
    super("MISSING_TOOL", `${tool} is not on PATH. ${hint}`);
  }
}

const SETUP_HINT =
  "Run 'npm run setup' (tools/bootstrap.sh) and run the suite through 'npm test', which puts the toolchain first on PATH.";

/** Debian packages of the system tools the suite uses (tools/bootstrap.sh installs them when run as root). */
const PACKAGE_OF: Readonly<Record<string, string>> = {
  shellcheck: "shellcheck",
  debootstrap: "debootstrap",
  sfdisk: "fdisk",
  "mkfs.ext4": "e2fsprogs",
  debugfs: "e2fsprogs",
  e2fsck: "e2fsprogs",
  dumpe2fs: "e2fsprogs",
  "debconf-set-selections": "debconf",
  unshare: "util-linux",
  chroot: "coreutils",
  openssl: "openssl",
  "qemu-system-x86_64": "qemu-system-x86",
  "qemu-img": "qemu-utils",
  "cloud-localds": "cloud-image-utils",
  ssh: "openssh-client",
  "ssh-keygen": "openssh-client",
  as: "binutils",
  ld: "binutils",
};

/**
 * Absolute path of an executable (a name looked up in PATH plus the sbin directories, which a non-login root
 * shell may lack, or an absolute path), or a MissingToolError naming how to install it.
 */
export function requireTool(name: string): string {
  if (path.isAbsolute(name)) {
    fs.accessSync(name, fs.constants.X_OK);
    return name;
  }
  for (const dir of [...(process.env.PATH ?? "").split(path.delimiter), "/usr/sbin", "/sbin"]) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not in this directory
    }
  }
  const pkg = PACKAGE_OF[name];
  throw new MissingToolError(
    name,
    pkg ? `Install it with 'apt-get install ${pkg}' (tools/bootstrap.sh does when run as root).` : SETUP_HINT,
  );
}

/** A test that needs root (chroot, mount) fails with this when run as another user. */
export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) {
    throw new MissingToolError("root", `${what} needs root (chroot and mount); run the suite as root.`);
  }
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
          reject(
            new ToolError(
              "COMMAND_FAILED",
              `${tool} ${args.join(" ")} failed to run: ${err.message}\n${stderr}`,
              {
                cause: err,
              },
            ),
          );
          return;
        }
        resolve({ code: typeof err?.code === "number" ? err.code : 0, stdout, stderr });
      },
    );
    // Secrets reach tools on stdin, never in argv. A tool that exits without reading it (sfdisk, a fast
    // failure) closes the pipe: EPIPE here is not an error, its exit code and output say what happened.
    child.stdin?.on("error", () => undefined);
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
    throw new ToolError(
      "COMMAND_FAILED",
      `${tool} ${args.join(" ")} exited ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`,
    );
  }
  return r;
}
