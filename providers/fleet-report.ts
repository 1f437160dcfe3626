import * as pulumi from "@pulumi/pulumi";
import { XcpngError } from "../lib/errors";
import { shimProvider } from "./dynamic/shim";
import { changedKeys, diffResult } from "./dynamic/diff";

/**
 * The fleet's verdict, after every replica has run: each Replica records a pool's failure instead of failing
 * (so one pool never stops the others: providers/replica.ts), and this resource fails the update naming every
 * failing pool, what failed and what to do; the next `up` retries those pools only.
 */

export interface FleetFailure {
  readonly pool: string;
  readonly template: string;
  readonly channel: string;
  readonly code: string;
  readonly message: string;
}

export interface FleetReportArgs {
  readonly failures: pulumi.Input<pulumi.Input<FleetFailure>[]>;
}

export interface FleetReportInputs {
  readonly failures: FleetFailure[];
}

/** One or more fleet pools could not get their builds. */
export class FleetIncompleteError extends XcpngError {
  readonly failures: readonly FleetFailure[];
  constructor(failures: readonly FleetFailure[]) {
    const pools = [...new Set(failures.map((f) => f.pool))];
    super(
      "FLEET_INCOMPLETE",
      `fleet: ${failures.length} replica(s) on ${pools.length} pool(s) (${pools.join(", ")}) were not placed; every ` +
        `other pool of the fleet completed:\n${failures.map((f) => `  - ${f.message}`).join("\n")}\n` +
        `Run 'pulumi up' again once the pool is reachable: only the failed replicas are tried again.`,
    );
    this.failures = failures;
  }
}

/** The failures to report (pure): each Replica's recorded failure, in pool then template order. */
export function fleetFailures(
  replicas: readonly {
    pool: string;
    template: string;
    channel: string;
    failure?: { code: string; message: string };
  }[],
): FleetFailure[] {
  return replicas
    .filter((r) => r.failure !== undefined)
    .map((r) => ({
      pool: r.pool,
      template: r.template,
      channel: r.channel,
      code: r.failure?.code ?? "",
      message: r.failure?.message ?? "",
    }))
    .sort((a, b) => a.pool.localeCompare(b.pool) || a.template.localeCompare(b.template));
}

export class FleetReportProvider implements pulumi.dynamic.ResourceProvider<
  FleetReportInputs,
  FleetReportInputs
> {
  diff(_id: string, olds: FleetReportInputs, news: FleetReportInputs): Promise<pulumi.dynamic.DiffResult> {
    return Promise.resolve(
      diffResult(olds, news, { replaces: [], updates: changedKeys(olds, news, ["failures"]) }),
    );
  }

  async create(inputs: FleetReportInputs): Promise<pulumi.dynamic.CreateResult<FleetReportInputs>> {
    await this.judge(inputs);
    return { id: "fleet-report", outs: inputs };
  }

  async update(
    _id: string,
    _olds: FleetReportInputs,
    news: FleetReportInputs,
  ): Promise<pulumi.dynamic.UpdateResult<FleetReportInputs>> {
    await this.judge(news);
    return { outs: news };
  }

  private judge(inputs: FleetReportInputs): Promise<void> {
    return (inputs.failures ?? []).length > 0
      ? Promise.reject(new FleetIncompleteError(inputs.failures))
      : Promise.resolve();
  }
}

export class FleetReport extends pulumi.dynamic.Resource {
  constructor(name: string, args: FleetReportArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      shimProvider<FleetReportInputs, FleetReportInputs>("providers/fleet-report", "FleetReportProvider"),
      name,
      { ...args },
      opts,
      "xcpng",
      "FleetReport",
    );
  }
}
