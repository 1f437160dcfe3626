/**
 * From the commands' outputs to one result per check. Pure: the run collects outputs, this decides, and the
 * unit tests decide the same way on recorded outputs.
 */
import { loginCommand } from "../ssh";
import type { CheckResult } from "../types";
import { excerpt } from "./parse";
import {
  type Check,
  type CheckContext,
  type CheckStatus,
  type CommandOutput,
  type Verdict,
  fail,
} from "./types";

/** What one clone printed, by check name, and the context its checks compare against. */
export interface CloneOutputs {
  readonly clone: string;
  readonly ctx: CheckContext;
  readonly outputs: Readonly<Record<string, CommandOutput>>;
}

/** Whether a guest check runs in this context (a `skip` verdict means it does not). */
export function skipVerdict(check: Check, ctx: CheckContext): Verdict | undefined {
  return check.kind === "guest" ? check.skip?.(ctx) : undefined;
}

/**
 * One result per check, in table order: a per-clone check fails when it fails on any clone (its evidence per
 * clone when the clones differ), a clones-check is evaluated across all of them.
 */
export function evaluateChecks(checks: readonly Check[], clones: readonly CloneOutputs[]): CheckResult[] {
  const names = clones.map((c) => c.clone);
  const first = clones[0];
  if (first === undefined) return [];
  return checks.map((c): CheckResult => {
    const expected = c.expected(first.ctx);
    const missing = (clone: string): Verdict => fail(`no output recorded on clone ${clone}`);
    if (c.kind === "clones") {
      const outs = clones.map((cl) => cl.outputs[c.name]);
      const v = outs.every((o): o is CommandOutput => o !== undefined)
        ? c.evaluate(
            outs,
            clones.map((cl) => cl.ctx),
          )
        : missing(clones[outs.findIndex((o) => o === undefined)]!.clone);
      return result(c.name, c.command, expected, v.status, v.evidence, names);
    }
    const vs = clones.map((cl) => {
      const skipped = skipVerdict(c, cl.ctx);
      const out = cl.outputs[c.name];
      const v = skipped ?? (out === undefined ? missing(cl.clone) : c.evaluate(out, cl.ctx));
      return { clone: cl.clone, v };
    });
    const status: CheckStatus = vs.some((x) => x.v.status === "fail")
      ? "fail"
      : vs.some((x) => x.v.status === "pass")
        ? "pass"
        : "not-applicable";
    const same = vs.every((x) => x.v.evidence === vs[0]!.v.evidence);
    const evidence = same ? vs[0]!.v.evidence : vs.map((x) => `${x.clone}: ${x.v.evidence}`).join("; ");
    const command =
      c.kind === "guest"
        ? c.command
        : loginCommand(c.login.as === "root" ? "root" : first.ctx.user, c.login.auth);
    return result(c.name, command, expected, status, evidence, names);
  });
}

function result(
  name: string,
  command: string,
  expected: string,
  status: CheckStatus,
  evidence: string,
  clones: readonly string[],
): CheckResult {
  return {
    name,
    command,
    expected,
    status,
    passed: status !== "fail",
    evidence: excerpt(evidence, 1200),
    clones,
  };
}
