/** One invalid property: the dotted path of the config key and an actionable reason. */
export interface PropertyFailure {
  readonly property: string;
  readonly reason: string;
}

/** Configuration or inputs that cannot be used; `failures` names each property that is wrong and why. */
export class ValidationError extends Error {
  readonly failures: readonly PropertyFailure[];
  constructor(context: string, failures: readonly PropertyFailure[]) {
    super(`${context}: ${failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
    this.name = "ValidationError";
    this.failures = failures;
  }
}
