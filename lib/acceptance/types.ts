/**
 * Public types of the boot acceptance: what {@link runAcceptance} takes and what it returns.
 */
import type { BootPlace } from "./boot-place";
import type { Check, CheckContext, CheckStatus, CommandOutput, GuestAgentExpectation } from "./checks/types";

/** How QEMU runs guests: hardware virtualisation, or QEMU's own emulator (slower, works everywhere). */
export type Accelerator = "kvm" | "tcg";

/** Bytes of an XVA: a Node Readable (an S3 GetObject body, a file stream) or any async iterable of chunks. */
export type XvaSource = AsyncIterable<Uint8Array>;

/** Named phases of a run, in order, for progress lines. */
export type AcceptancePhase = "prepare" | "unpack" | "identity" | "boot" | "ssh" | "checks" | "cleanup";

export interface AcceptanceProgress {
  readonly phase: AcceptancePhase;
  /** One line, no secret: what is happening (`clone a: SSH answered after 81 s`). */
  readonly message: string;
  /** Clone concerned, when there is one. */
  readonly clone?: string;
}

/** Options of {@link runAcceptance}. */
export interface AcceptanceOptions {
  /**
   * Opens the stored XVA (called once): the artifact users download, so that what is proven is what is published.
   * Plain, gzip or zstd; every chunk checksum is verified while it is unpacked.
   */
  readonly xva: () => XvaSource | Promise<XvaSource>;
  /** SHA-256 (hex) the XVA stream must have (the manifest's); checked on the way when given. */
  readonly expectedSha256?: string;
  /** The template's OS: selects the check table (`debian` 12 and 13, `ubuntu` 24.04). */
  readonly os: string;
  readonly version: string;
  /** Whether the image must carry an XCP-ng guest agent; when not, why (the check then says "not applicable"). */
  readonly guestAgent: GuestAgentExpectation;
  /**
   * Parent directory of the run's work directory (a fresh `xcpng-accept-*` inside, mode 0700). Needs room for
   * the template's disk as a sparse file (its allocated bytes) and two small overlays.
   */
  readonly workDir: string;
  /**
   * Where to boot. Default: QEMU on this machine ({@link createQemuBootPlace}, KVM when it works, else TCG).
   */
  readonly place?: BootPlace;
  /**
   * Clones booted at the same time (`concurrent`) or one after the other (`sequential`).
   * @default "concurrent"
   */
  readonly clones?: "concurrent" | "sequential";
  /**
   * How much larger than the template's disk each clone's disk is, bytes (the root filesystem must grow into it).
   * @default 1 GiB
   */
  readonly growBytes?: number;
  /**
   * Longest wait from a clone's start to an SSH login and a finished start-up, seconds.
   * @default 900 with TCG, 300 with KVM
   */
  readonly bootTimeoutSeconds?: number;
  /**
   * Longest accepted power-on → multi-user.target time, seconds (check "boot: multi-user.target within the limit").
   * @default 480 with TCG, 120 with KVM
   */
  readonly multiUserLimitSeconds?: number;
  /** The check table; default: the OS family's ({@link checksFor}). */
  readonly checks?: readonly Check[];
  readonly onProgress?: (p: AcceptanceProgress) => void;
  /**
   * Every command's raw output, as the checks saw it (for debugging, and for recording the fixtures the check
   * tables are unit-tested on: lib/acceptance/testing/record-outputs.ts).
   */
  readonly onCheckOutput?: (o: {
    readonly clone: string;
    readonly check: string;
    readonly output: CommandOutput;
    readonly context: CheckContext;
  }) => void;
  /** Stops the run: the clones are stopped and the work directory removed (the console logs kept). */
  readonly signal?: AbortSignal;
}

/** One check's outcome, as it goes into the manifest and index.json. */
export interface CheckResult {
  readonly name: string;
  /** The command run in the guest, or the SSH attempt made from the runner. */
  readonly command: string;
  readonly expected: string;
  readonly status: CheckStatus;
  /** False only for `fail`: a `not-applicable` check does not fail the run (and `status` says it was not run). */
  readonly passed: boolean;
  /** What was seen, per clone when they differ (`a: …; b: …`). Short. */
  readonly evidence: string;
  /** The clones it ran on. */
  readonly clones: readonly string[];
}

export interface CloneResult {
  readonly name: string;
  readonly hostname: string;
  readonly diskBytes: number;
  /** From the start of the VM to the first SSH login. */
  readonly bootToSshSeconds: number;
  /** Serial console, kept after the run. */
  readonly consoleLogPath: string;
}

export interface AcceptanceResult {
  /** True when no check failed. */
  readonly passed: boolean;
  readonly os: string;
  readonly version: string;
  /** Where the clones booted (`qemu`). */
  readonly place: string;
  readonly accelerator: Accelerator;
  /** Why this accelerator (the KVM probe's verdict). */
  readonly acceleratorReason: string;
  /** The slowest clone's start → first SSH login. */
  readonly bootToSshSeconds: number;
  /** The whole run, from opening the XVA to the cleanup. */
  readonly totalSeconds: number;
  /** Serial console of the first clone (the others are in `clones`). */
  readonly consoleLogPath: string;
  readonly clones: readonly CloneResult[];
  readonly checks: readonly CheckResult[];
  /** The artifact as read: SHA-256 and length of the XVA stream, the template's disk. */
  readonly artifact: { readonly sha256: string; readonly bytes: number; readonly diskBytes: number };
  /** ISO 8601. */
  readonly startedAt: string;
}
