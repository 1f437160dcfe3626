/**
 * The error of the project's own tools (tools/, bench/, tests/support): CI helpers, the dev runner, the bench and
 * the test support. One class for all of them, in the project's error model ({@link XcpngError}); the `code` says
 * what kind of failure it is and the message, prefixed with the tool's name, says what to do.
 * (tools/ci/deployments.ts keeps its own {@link DeploymentsError}: callers read its HTTP status and deployment id.)
 */
import { XcpngError } from "../lib/errors";

export type ToolErrorCode =
  /** The tool was invoked wrongly: a bad option, argument or setting. */
  | "USAGE"
  /** The data the tool reads is not what it expects (a preview that is not `pulumi preview --json`, a bad job). */
  | "BAD_INPUT"
  /** A command the tool runs could not start, exited non-zero or was killed for taking too long. */
  | "COMMAND_FAILED"
  /** A service the tool talks to (the pool, the store) answered with a failure. */
  | "REMOTE_FAILED"
  /** A tool the suite or the bench needs is not installed (the message says how to install it). */
  | "MISSING_TOOL";

export class ToolError extends XcpngError {
  declare readonly code: ToolErrorCode;
  constructor(code: ToolErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
