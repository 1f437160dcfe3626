/**
 * The boot acceptance of one template, in named phases: prepare (the XVA → the place's bootable image), identity
 * (a one-time user and key), boot (two clones, each with its own seed and a larger disk), ssh (first login, then
 * start-up finished), checks (the OS family's table on every clone, then the comparison across clones), cleanup
 * (clones stopped, the work directory removed but for the console logs).
 */
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import type { BootPlace, CloneSpec, PreparedImage, RunningClone } from "./boot-place";
import { type CloneOutputs, evaluateChecks, skipVerdict } from "./checks/evaluate";
import { excerpt } from "./checks/parse";
import { checksFor } from "./checks/tables";
import type { Check, CheckContext, CommandOutput } from "./checks/types";
import { AcceptanceBootError, AcceptanceFailedError, AcceptanceInputError } from "./errors";
import { type RunIdentity, createIdentity, runNames } from "./identity";
import { createQemuBootPlace } from "./qemu";
import { nocloudSeed } from "./seed";
import { SshClient } from "./ssh";
import type { AcceptanceOptions, AcceptanceProgress, AcceptanceResult, CloneResult } from "./types";

const GIB = 1024 * 1024 * 1024;
const CLONES = ["a", "b"] as const;

/** Defaults that depend on the accelerator: TCG boots take minutes, KVM boots seconds. */
export function limitsFor(accelerator: string): {
  bootTimeoutSeconds: number;
  multiUserLimitSeconds: number;
} {
  return accelerator === "kvm"
    ? { bootTimeoutSeconds: 300, multiUserLimitSeconds: 120 }
    : { bootTimeoutSeconds: 900, multiUserLimitSeconds: 480 };
}

/** What one clone produced: its timings, and every check command's output by check name. */
interface CloneOutcome {
  readonly clone: CloneResult;
  readonly outputs: CloneOutputs;
}

/**
 * Boots two clones of the stored template and runs its OS family's checks on them.
 * Resolves with the result when every check passed (or was not applicable); rejects with
 * {@link AcceptanceFailedError} (carrying the result) when one failed, {@link AcceptanceBootError} when a clone
 * did not come up, and the other typed errors of `errors.ts` for bad input, missing tools or a bad artifact.
 */
export async function runAcceptance(o: AcceptanceOptions): Promise<AcceptanceResult> {
  const startedAt = new Date();
  const checks = o.checks ?? checksFor(o.os, o.version);
  const growBytes = o.growBytes ?? GIB;
  if (!Number.isSafeInteger(growBytes) || growBytes < 0) {
    throw new AcceptanceInputError(
      `growBytes must be a whole number of bytes >= 0, but ${growBytes} was given`,
    );
  }
  const progress = (p: AcceptanceProgress): void => o.onProgress?.(p);
  await fs.mkdir(o.workDir, { recursive: true });
  const runDir = await fs.mkdtemp(path.join(path.resolve(o.workDir), "xcpng-accept-"));
  await fs.chmod(runDir, 0o700);
  // SSH control sockets need a short path (sun_path is 108 bytes); the work directory may be deep.
  const socketDir = await fs.mkdtemp(path.join(os.tmpdir(), "xa-"));
  try {
    o.signal?.throwIfAborted();
    const place = o.place ?? (await createQemuBootPlace());
    progress({
      phase: "prepare",
      message: `clones boot on ${place.kind} with ${place.accelerator}: ${place.acceleratorReason}`,
    });
    const image = await place.prepare(await o.xva(), runDir, {
      ...(o.expectedSha256 !== undefined ? { expectedSha256: o.expectedSha256 } : {}),
      onProgress: progress,
    });
    o.signal?.throwIfAborted();
    const identity = await createIdentity(runDir);
    progress({ phase: "identity", message: `one-time user ${identity.user}, key ${identity.fingerprint}` });
    const limits = {
      ...limitsFor(place.accelerator),
      ...pick(o, "bootTimeoutSeconds", "multiUserLimitSeconds"),
    };
    const outcomes = await bothClones(o.clones ?? "concurrent", o.signal, (name, signal) =>
      cloneRun({
        place,
        image,
        identity,
        name,
        runDir,
        socketDir,
        checks,
        growBytes,
        limits,
        o,
        signal,
        progress,
      }),
    );
    const result: AcceptanceResult = {
      passed: false,
      os: o.os,
      version: o.version,
      place: place.kind,
      accelerator: place.accelerator,
      acceleratorReason: place.acceleratorReason,
      bootToSshSeconds: Math.max(...outcomes.map((c) => c.clone.bootToSshSeconds)),
      totalSeconds: 0,
      consoleLogPath: outcomes[0]!.clone.consoleLogPath,
      clones: outcomes.map((c) => c.clone),
      checks: evaluateChecks(
        checks,
        outcomes.map((c) => c.outputs),
      ),
      artifact: { sha256: image.sha256, bytes: image.bytes, diskBytes: image.diskBytes },
      startedAt: startedAt.toISOString(),
    };
    const passed = result.checks.every((c) => c.passed);
    const final = { ...result, passed, totalSeconds: seconds(Date.now() - startedAt.getTime()) };
    if (!passed) throw new AcceptanceFailedError(final);
    return final;
  } finally {
    progress({
      phase: "cleanup",
      message: "stopping clones, removing the work directory (console logs kept)",
    });
    await cleanupRunDir(runDir);
    await fs.rm(socketDir, { recursive: true, force: true });
  }
}

/**
 * Runs both clones, at once or one after the other. A clone that fails stops the other at once (its login loop
 * watches the signal) instead of leaving it to boot; the first failure is the one reported.
 */
async function bothClones(
  mode: "concurrent" | "sequential",
  outer: AbortSignal | undefined,
  run: (name: string, signal: AbortSignal) => Promise<CloneOutcome>,
): Promise<CloneOutcome[]> {
  const stopAll = new AbortController();
  const signal = outer ? AbortSignal.any([outer, stopAll.signal]) : stopAll.signal;
  let firstFailure: unknown;
  const one = (name: string): Promise<CloneOutcome> =>
    run(name, signal).catch((e: unknown) => {
      if (!stopAll.signal.aborted) {
        firstFailure = e;
        stopAll.abort(e);
      }
      throw e;
    });
  if (mode === "sequential") {
    const outcomes: CloneOutcome[] = [];
    for (const name of CLONES) outcomes.push(await one(name));
    return outcomes;
  }
  const settled = await Promise.allSettled(CLONES.map(one));
  // The other clone's rejection is only the abort the first failure triggered.
  if (settled.some((r) => r.status === "rejected")) throw firstFailure;
  return settled.map((r) => (r as PromiseFulfilledResult<CloneOutcome>).value);
}

interface CloneRunInput {
  readonly place: BootPlace;
  readonly image: PreparedImage;
  readonly identity: RunIdentity;
  readonly name: string;
  readonly runDir: string;
  readonly socketDir: string;
  readonly checks: readonly Check[];
  readonly growBytes: number;
  readonly limits: { bootTimeoutSeconds: number; multiUserLimitSeconds: number };
  readonly o: AcceptanceOptions;
  readonly signal: AbortSignal;
  readonly progress: (p: AcceptanceProgress) => void;
}

/** One clone from start to stop: boot, first login, start-up finished, its checks, the clones-checks' outputs. */
async function cloneRun(i: CloneRunInput): Promise<CloneOutcome> {
  const names = runNames(i.identity.runId);
  const hostname = names.hostname(i.name);
  const spec: CloneSpec = {
    name: i.name,
    diskBytes: i.image.diskBytes + i.growBytes,
    seed: nocloudSeed({
      instanceId: names.instanceId(i.name),
      hostname,
      user: i.identity.user,
      publicKey: i.identity.publicKey,
    }),
    dir: i.runDir,
    consoleLogPath: path.join(i.runDir, `console-${i.name}.log`),
  };
  i.progress({ phase: "boot", clone: i.name, message: `clone ${i.name}: starting (${hostname})` });
  const vm = await i.place.boot(i.image, spec);
  const ssh = new SshClient({
    host: vm.ssh.host,
    port: vm.ssh.port,
    user: i.identity.user,
    privateKeyPath: i.identity.privateKeyPath,
    knownHostsPath: path.join(i.runDir, `known_hosts-${i.name}`),
    controlPath: path.join(i.socketDir, i.name),
  });
  try {
    const deadline = vm.startedAtMs + i.limits.bootTimeoutSeconds * 1000;
    await waitForLogin(ssh, vm, deadline, i.signal);
    const bootToSshSeconds = seconds(Date.now() - vm.startedAtMs);
    i.progress({
      phase: "ssh",
      clone: i.name,
      message: `clone ${i.name}: SSH login after ${bootToSshSeconds} s`,
    });
    await ssh.open();
    // Start-up finished (or the deadline): the checks then see the final state, failed units included.
    const left = Math.max(10, Math.round((deadline - Date.now()) / 1000));
    await ssh.run(`timeout ${left} systemctl is-system-running --wait`, (left + 30) * 1000);
    const ctx: CheckContext = {
      user: i.identity.user,
      hostname,
      keyFingerprint: i.identity.fingerprint,
      templateDiskBytes: i.image.diskBytes,
      cloneDiskBytes: spec.diskBytes,
      multiUserLimitSeconds: i.limits.multiUserLimitSeconds,
      guestAgent: i.o.guestAgent,
    };
    i.progress({
      phase: "checks",
      clone: i.name,
      message: `clone ${i.name}: running ${i.checks.length} checks`,
    });
    const outputs = await runCloneChecks(i.checks, ssh, ctx, (check, output) =>
      i.o.onCheckOutput?.({ clone: i.name, check, output, context: ctx }),
    );
    const clone: CloneResult = {
      name: i.name,
      hostname,
      diskBytes: spec.diskBytes,
      bootToSshSeconds,
      consoleLogPath: spec.consoleLogPath,
    };
    return { clone, outputs: { clone: i.name, ctx, outputs } };
  } finally {
    await ssh.close();
    await vm.stop();
  }
}

/** Logs in with the run's key until it works, the VM stops, the deadline passes or the run is aborted. */
async function waitForLogin(
  ssh: SshClient,
  vm: RunningClone,
  deadline: number,
  signal?: AbortSignal,
): Promise<void> {
  let exited: Awaited<RunningClone["exited"]> | undefined;
  void vm.exited.then((e) => (exited = e));
  let last = "";
  for (;;) {
    signal?.throwIfAborted();
    if (exited) {
      throw new AcceptanceBootError(
        "ACCEPTANCE_VM_EXITED",
        vm.name,
        `the VM stopped before SSH answered (code ${exited.code}, signal ${exited.signal}${exited.detail ? `: ${exited.detail}` : ""})`,
        vm.consoleLogPath,
      );
    }
    if (Date.now() > deadline) {
      throw new AcceptanceBootError(
        "ACCEPTANCE_BOOT_TIMEOUT",
        vm.name,
        `no SSH login within ${Math.round((deadline - vm.startedAtMs) / 1000)} s (last attempt: ${excerpt(last, 200) || "none"}); expected the seed's user to log in with the run's key`,
        vm.consoleLogPath,
      );
    }
    const r = await ssh.attempt(ssh.target.user, "publickey", 30_000);
    if (r.exitCode === 0) return;
    last = r.stderr.trim();
    await new Promise((res) => setTimeout(res, 2000));
  }
}

/** Runs every check command on the clone (those that apply to it); outputs keyed by check name. */
async function runCloneChecks(
  checks: readonly Check[],
  ssh: SshClient,
  ctx: CheckContext,
  seen: (check: string, output: CommandOutput) => void,
): Promise<Record<string, CommandOutput>> {
  const outputs: Record<string, CommandOutput> = {};
  for (const c of checks) {
    if (skipVerdict(c, ctx) !== undefined) continue;
    const out =
      c.kind === "login"
        ? await ssh.attempt(c.login.as === "root" ? "root" : ctx.user, c.login.auth)
        : await ssh.run(c.command);
    seen(c.name, out);
    outputs[c.name] = out;
  }
  return outputs;
}

/** Removes the run's directory but for its console logs. */
async function cleanupRunDir(runDir: string): Promise<void> {
  for (const f of await fs.readdir(runDir).catch(() => [] as string[])) {
    if (!/^console-[a-z]+\.log$/.test(f)) await fs.rm(path.join(runDir, f), { recursive: true, force: true });
  }
}

function pick<T extends object, K extends keyof T>(o: T, ...keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

const seconds = (ms: number): number => Math.round(ms / 100) / 10;
