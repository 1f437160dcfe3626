/**
 * The OpenSSH client towards one clone: the run's key only (no agent, no user configuration), the clone's host
 * key trusted on first use into the run's own known_hosts file (so a key that changes mid-run is refused), and one
 * multiplexed connection for the checks (a key exchange under TCG takes seconds; a channel on an open connection
 * takes milliseconds). Login attempts that must be refused use fresh connections.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs/promises";
import type { CommandOutput } from "./checks/types";
import { AcceptanceToolError } from "./errors";
import { findTool, orphanSafe, runTool } from "./process";

export interface SshTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly privateKeyPath: string;
  readonly knownHostsPath: string;
  /** Unix socket of the multiplexed connection (short: sun_path is 108 bytes). */
  readonly controlPath: string;
}

/** How a login attempt authenticates (`password` never sends one: the server's offer is what is checked). */
export type LoginAuth = "publickey" | "password";

/** The SSH command line of a login attempt, as a check result records it (no key material, no port). */
export function loginCommand(as: string, auth: LoginAuth): string {
  const how =
    auth === "publickey"
      ? "-i <run key>"
      : "-o PubkeyAuthentication=no -o PreferredAuthentications=password,keyboard-interactive";
  return `ssh ${how} ${as}@<clone> true`;
}

export class SshClient {
  private master: ChildProcess | undefined;

  constructor(readonly target: SshTarget) {}

  /** Options every connection uses: nothing from the runner's own SSH configuration or agent. */
  private common(): string[] {
    const t = this.target;
    return [
      "-F",
      "/dev/null",
      "-o",
      "BatchMode=yes",
      "-o",
      "IdentitiesOnly=yes",
      "-o",
      "IdentityAgent=none",
      "-o",
      `UserKnownHostsFile=${t.knownHostsPath}`,
      "-o",
      "GlobalKnownHostsFile=/dev/null",
      "-o",
      "StrictHostKeyChecking=accept-new",
      "-o",
      "UpdateHostKeys=no",
      "-o",
      "ConnectTimeout=15",
      "-o",
      "ServerAliveInterval=10",
      "-o",
      "LogLevel=ERROR",
      "-p",
      String(t.port),
    ];
  }

  /** One login attempt on a fresh connection, running `true`; never throws for a refusal (exit 255). */
  attempt(as: string, auth: LoginAuth, timeoutMs = 60_000): Promise<CommandOutput> {
    const authArgs =
      auth === "publickey"
        ? ["-i", this.target.privateKeyPath]
        : ["-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password,keyboard-interactive"];
    return runTool(
      "ssh",
      [...this.common(), "-o", "ControlPath=none", ...authArgs, `${as}@${this.target.host}`, "true"],
      { timeoutMs, allowFailure: true },
    );
  }

  /**
   * Opens the multiplexed connection the checks run on. The master is our own child process (not a daemon
   * forked by ControlPersist, which would hold our pipes open), stopped by {@link close}.
   */
  async open(timeoutMs = 60_000): Promise<void> {
    const t = this.target;
    await fs.rm(t.controlPath, { force: true });
    const master = spawn(
      ...orphanSafe(findTool("ssh"), [
        ...this.common(),
        "-i",
        t.privateKeyPath,
        "-o",
        "ControlMaster=yes",
        "-o",
        `ControlPath=${t.controlPath}`,
        "-N",
        `${t.user}@${t.host}`,
      ]),
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    this.master = master;
    let stderr = "";
    master.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-1000)));
    let exitCode: number | null | undefined;
    master.once("exit", (code) => (exitCode = code));
    const started = Date.now();
    while (Date.now() - started < timeoutMs) {
      if (exitCode !== undefined) {
        this.master = undefined;
        throw new AcceptanceToolError(
          "ACCEPTANCE_TOOL_FAILED",
          "ssh",
          `the SSH connection to ${t.host}:${t.port} closed (exit ${exitCode}): ${stderr.trim()}`,
        );
      }
      const check = await runTool(
        "ssh",
        [...this.common(), "-o", `ControlPath=${t.controlPath}`, "-O", "check", `${t.user}@${t.host}`],
        { allowFailure: true, timeoutMs: 10_000 },
      );
      if (check.exitCode === 0) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new AcceptanceToolError(
      "ACCEPTANCE_TOOL_FAILED",
      "ssh",
      `the SSH connection to ${t.host}:${t.port} was not ready within ${timeoutMs / 1000} s: ${stderr.trim()}`,
    );
  }

  /** Runs a command on the multiplexed connection as the seed's user. */
  run(command: string, timeoutMs = 120_000): Promise<CommandOutput> {
    const t = this.target;
    return runTool(
      "ssh",
      [
        ...this.common(),
        "-i",
        t.privateKeyPath,
        "-o",
        "ControlMaster=no",
        "-o",
        `ControlPath=${t.controlPath}`,
        `${t.user}@${t.host}`,
        command,
      ],
      { timeoutMs, allowFailure: true },
    );
  }

  /** Closes the multiplexed connection (kills our master process); idempotent. */
  async close(): Promise<void> {
    const m = this.master;
    this.master = undefined;
    if (m && m.exitCode === null && m.signalCode === null) {
      const gone = new Promise((r) => m.once("exit", r));
      m.kill("SIGTERM");
      await gone;
    }
    await fs.rm(this.target.controlPath, { force: true });
  }
}
