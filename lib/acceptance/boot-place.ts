/**
 * Where clones boot: the seam between the acceptance run (identity, seed, checks over SSH) and the machinery that
 * starts VMs. Today: QEMU on the runner (`qemu.ts`). Later: a clone on the pool itself (import the XVA or clone the
 * template, attach the seed as a config drive, learn the address from the guest metrics); it implements the same
 * three calls.
 */
import type { NoCloudSeed } from "./seed";
import type { Accelerator, AcceptanceProgress, XvaSource } from "./types";

/** What `prepare` made of the artifact. Places extend it with their own handle (a disk path, a template uuid). */
export interface PreparedImage {
  /** Virtual size of the template's boot disk, bytes. */
  readonly diskBytes: number;
  /** SHA-256 (hex) and length of the XVA stream as read. */
  readonly sha256: string;
  readonly bytes: number;
}

export interface CloneSpec {
  /** Short name (`a`, `b`), unique within a run. */
  readonly name: string;
  /** Size of the clone's boot disk, bytes (at least the template's: growth is tested with a larger one). */
  readonly diskBytes: number;
  /** The clone's NoCloud data (user-data, meta-data); the place decides the medium (ISO, config drive). */
  readonly seed: NoCloudSeed;
  /** A directory of the run for this clone's files. */
  readonly dir: string;
  /** Where the serial console goes; the file outlives the run. */
  readonly consoleLogPath: string;
}

/** Why a clone's VM stopped by itself. */
export interface CloneExit {
  readonly code: number | null;
  readonly signal: string | null;
  /** The place's own diagnostics (QEMU's stderr), short. */
  readonly detail: string;
}

export interface RunningClone {
  readonly name: string;
  /** Where its SSH server answers, seen from the runner. */
  readonly ssh: { readonly host: string; readonly port: number };
  readonly consoleLogPath: string;
  /** `Date.now()` when the VM was started. */
  readonly startedAtMs: number;
  /** Settles when the VM stops by itself (never when `stop` stopped it). */
  readonly exited: Promise<CloneExit>;
  /** Stops the VM and releases what it used; idempotent. */
  stop(): Promise<void>;
}

export interface BootPlace<I extends PreparedImage = PreparedImage> {
  /** Short name for results and messages (`qemu`). */
  readonly kind: string;
  readonly accelerator: Accelerator;
  /** Why this accelerator was chosen (the probe's verdict). */
  readonly acceleratorReason: string;
  /**
   * Turns the stored XVA into what this place boots, verifying it on the way, under `dir` (removed by the caller).
   * The template's own disk is never modified: clones write to copies or overlays.
   */
  prepare(
    xva: XvaSource,
    dir: string,
    opts: { expectedSha256?: string; onProgress?: (p: AcceptanceProgress) => void },
  ): Promise<I>;
  /** Starts one clone; resolves once the VM runs (not when it answers SSH). */
  boot(image: I, clone: CloneSpec): Promise<RunningClone>;
}
