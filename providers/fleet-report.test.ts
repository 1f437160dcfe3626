import { expect } from "chai";
import { FleetIncompleteError, FleetReportProvider, fleetFailures } from "./fleet-report";

describe("fleet report", () => {
  const rows = [
    { pool: "lyon", template: "debian-12", channel: "stable" },
    {
      pool: "paris",
      template: "debian-13",
      channel: "stable",
      failure: { code: "REPLICA_IMPORT_FAILED", message: "replica: debian-13 on pool paris: cut" },
    },
    {
      pool: "paris",
      template: "debian-12",
      channel: "stable",
      failure: { code: "POOL_UNREACHABLE", message: "replica: debian-12 on pool paris: down" },
    },
  ];

  it("lists the recorded failures only, by pool then template", () => {
    expect(fleetFailures(rows).map((f) => `${f.pool}/${f.template}/${f.code}`)).to.deep.equal([
      "paris/debian-12/POOL_UNREACHABLE",
      "paris/debian-13/REPLICA_IMPORT_FAILED",
    ]);
  });

  it("passes when every pool got its builds, and fails naming each failing pool once every pool has run", async () => {
    const p = new FleetReportProvider();
    expect((await p.create({ failures: [] })).id).to.equal("fleet-report");
    const err = await p.update("fleet-report", { failures: [] }, { failures: fleetFailures(rows) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(FleetIncompleteError);
    expect((err as Error).message).to.match(
      /^fleet: 2 replica\(s\) on 1 pool\(s\) \(paris\) were not placed; every other pool/,
    );
    expect((err as Error).message).to.include("replica: debian-12 on pool paris: down");
  });

  it("changes when the failures change", async () => {
    const p = new FleetReportProvider();
    expect((await p.diff("r", { failures: [] }, { failures: [] })).changes).to.equal(false);
    expect((await p.diff("r", { failures: fleetFailures(rows) }, { failures: [] })).changes).to.equal(true);
  });
});
