/**
 * The shape of an acceptance check: a name, what is run, the expected value, and a pure evaluation of the output
 * into a verdict with evidence. Tables of checks per OS family live in `tables.ts`; the evaluations are unit-tested
 * on recorded outputs, passing and failing.
 */

/** What one command printed and how it ended. */
export interface CommandOutput {
  readonly stdout: string;
  readonly stderr: string;
  /** Exit status (255 for ssh itself failing: connection refused, authentication refused). */
  readonly exitCode: number;
}

/** Whether the guest agent is expected, and why not when it is not (the result says so instead of pretending). */
export type GuestAgentExpectation =
  { readonly expected: true } | { readonly expected: false; readonly reason: string };

/** What the checks compare against: the run's one-time identity and the clone's disk. */
export interface CheckContext {
  /** The one-time user the seed created. */
  readonly user: string;
  /** The hostname the seed gave this clone. */
  readonly hostname: string;
  /** SHA256 fingerprint of the run's public key, as `ssh-keygen -l` prints it (`SHA256:...`). */
  readonly keyFingerprint: string;
  /** Virtual size of the template's disk, bytes. */
  readonly templateDiskBytes: number;
  /** Virtual size of this clone's disk (larger, so that the root filesystem must grow), bytes. */
  readonly cloneDiskBytes: number;
  /** Longest accepted time from power-on to `multi-user.target`, seconds. */
  readonly multiUserLimitSeconds: number;
  readonly guestAgent: GuestAgentExpectation;
}

/** `pass` and `fail` are verdicts; `not-applicable` says why the check does not apply (it never counts as a pass). */
export type CheckStatus = "pass" | "fail" | "not-applicable";

export interface Verdict {
  readonly status: CheckStatus;
  /** What was seen: the values compared, the failing units, the offending lines. Short (an excerpt). */
  readonly evidence: string;
}

interface CheckBase {
  /** Stable, human-readable: the name a failure reports (`cloud-init: done without errors`). */
  readonly name: string;
  /** The expected value, in words, for this context. */
  expected(ctx: CheckContext): string;
}

/** A command run over SSH in one clone (as the seed's user; `sudo -n` where root is needed). */
export interface GuestCheck extends CheckBase {
  readonly kind: "guest";
  readonly command: string;
  /** When set and it returns a verdict, the command is not run (e.g. no guest agent expected). */
  skip?(ctx: CheckContext): Verdict | undefined;
  evaluate(out: CommandOutput, ctx: CheckContext): Verdict;
}

/** An SSH login attempt from the runner, which must be refused (root, password). */
export interface LoginCheck extends CheckBase {
  readonly kind: "login";
  /** Who logs in (`seed-user` is the run's one-time user) and with which authentication. */
  readonly login: { readonly as: "root" | "seed-user"; readonly auth: "publickey" | "password" };
  evaluate(out: CommandOutput, ctx: CheckContext): Verdict;
}

/** A command run in every clone, whose outputs are compared (distinct identities). */
export interface ClonesCheck extends CheckBase {
  readonly kind: "clones";
  readonly command: string;
  evaluate(outs: readonly CommandOutput[], ctxs: readonly CheckContext[]): Verdict;
}

export type Check = GuestCheck | LoginCheck | ClonesCheck;

export const pass = (evidence: string): Verdict => ({ status: "pass", evidence });
export const fail = (evidence: string): Verdict => ({ status: "fail", evidence });
export const notApplicable = (evidence: string): Verdict => ({ status: "not-applicable", evidence });
