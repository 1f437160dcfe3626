/**
 * Typed errors of the boot acceptance. Each says what failed, what was expected, what was seen and where to look
 * (the console log), and keeps its cause.
 */
import { XcpngError } from "../errors";
import type { AcceptanceResult, CheckResult } from "./types";

/** Options that cannot be used (unsupported OS, bad sizes, a work directory that cannot be made). */
export class AcceptanceInputError extends XcpngError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ACCEPTANCE_INPUT", `acceptance: ${message}`, options);
  }
}

/** A program the acceptance runs is missing (QEMU, qemu-img, cloud-localds, ssh, ssh-keygen) or failed. */
export class AcceptanceToolError extends XcpngError {
  readonly tool: string;
  constructor(
    code: "ACCEPTANCE_TOOL_MISSING" | "ACCEPTANCE_TOOL_FAILED",
    tool: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, `acceptance: ${message}`, options);
    this.tool = tool;
  }
}

/** The stored artifact could not be turned into a bootable disk (not an XVA, corrupt, no disk, wrong hash). */
export class AcceptanceArtifactError extends XcpngError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ACCEPTANCE_ARTIFACT", `acceptance: ${message}`, options);
  }
}

/** A clone did not come up: QEMU failed, the VM stopped, or SSH never answered in time. */
export class AcceptanceBootError extends XcpngError {
  /** Which clone (`a`, `b`). */
  readonly clone: string;
  /** Serial console of that clone, kept after the run. */
  readonly consoleLogPath: string;
  constructor(
    code: "ACCEPTANCE_BOOT_TIMEOUT" | "ACCEPTANCE_VM_EXITED" | "ACCEPTANCE_VM_START",
    clone: string,
    message: string,
    consoleLogPath: string,
    options?: { cause?: unknown },
  ) {
    super(code, `acceptance: clone ${clone}: ${message}; console log: ${consoleLogPath}`, options);
    this.clone = clone;
    this.consoleLogPath = consoleLogPath;
  }
}

/** Every clone booted, and at least one check failed: the failing checks, their evidence and the console log. */
export class AcceptanceFailedError extends XcpngError {
  readonly result: AcceptanceResult;
  readonly failedChecks: readonly CheckResult[];
  constructor(result: AcceptanceResult) {
    const failed = result.checks.filter((c) => c.status === "fail");
    super(
      "ACCEPTANCE_FAILED",
      `acceptance: ${result.os} ${result.version} failed ${failed.length} of ${result.checks.length} checks: ` +
        failed.map((c) => `"${c.name}" (expected ${c.expected}; got ${c.evidence})`).join("; ") +
        `. Console log: ${result.consoleLogPath}. Fix the image (packer/) and build again; the template is not published.`,
    );
    this.result = result;
    this.failedChecks = failed;
  }
}
