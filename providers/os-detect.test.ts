import { expect } from "chai";
import fc from "fast-check";
import { osFromGuestMetrics, osMismatch } from "./os-detect";

describe("OS detection from guest metrics", () => {
  it("reads Debian as its major version and Ubuntu as major.minor", () => {
    expect(
      osFromGuestMetrics({
        distro: "debian",
        major: "12",
        minor: "7",
        name: "Debian GNU/Linux 12 (bookworm)",
      }),
    ).to.deep.equal({ distro: "debian", version: "12", name: "Debian GNU/Linux 12 (bookworm)" });
    expect(
      osFromGuestMetrics({ distro: "Ubuntu", major: "24", minor: "4", name: "Ubuntu 24.04.1 LTS" }),
    ).to.include({
      distro: "ubuntu",
      version: "24.04",
    });
  });

  it("gives up on maps that say too little", () => {
    expect(osFromGuestMetrics(undefined)).to.equal(undefined);
    expect(osFromGuestMetrics({})).to.equal(undefined);
    expect(osFromGuestMetrics({ distro: "debian", major: "" })).to.equal(undefined);
  });

  it("reports a mismatch with both values, and none when they agree", () => {
    const d = osFromGuestMetrics({ distro: "ubuntu", major: "24", minor: "04", name: "Ubuntu 24.04 LTS" });
    expect(osMismatch({ os: "ubuntu", version: "24.04" }, d)).to.equal(undefined);
    expect(osMismatch({ os: "debian", version: "12" }, d)).to.match(
      /declared debian 12, but the template reports ubuntu 24.04/,
    );
    expect(osMismatch({ os: "debian", version: "12" }, undefined)).to.match(/reports no OS/);
  });

  it("agrees with itself for any distro and version it produced (property)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("debian", "ubuntu"),
        fc.integer({ min: 1, max: 99 }),
        fc.integer({ min: 0, max: 12 }),
        (distro, major, minor) => {
          const d = osFromGuestMetrics({ distro, major: String(major), minor: String(minor), name: "x" });
          expect(d).to.not.equal(undefined);
          expect(osMismatch({ os: distro, version: d?.version ?? "" }, d)).to.equal(undefined);
        },
      ),
    );
  });
});
