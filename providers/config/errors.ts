import { XcpngError } from "../../lib/errors";

/** One invalid property: the dotted path of the config key and an actionable reason. */
export interface PropertyFailure {
  readonly property: string;
  readonly reason: string;
}

/** Configuration or inputs that cannot be used; `failures` names each property that is wrong and why. */
export class ValidationError extends XcpngError {
  readonly failures: readonly PropertyFailure[];
  constructor(context: string, failures: readonly PropertyFailure[]) {
    super("INVALID_CONFIG", `${context}: ${failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
    this.failures = failures;
  }
}
