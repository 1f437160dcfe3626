import { expect } from "chai";
import fc from "fast-check";
import { osFromGuestMetrics } from "../providers/os-detect";
import { GuestOsError, guestOsVersion, parseOsRelease } from "./local/guest-os";

const DEBIAN_12 = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
`;

const UBUNTU_2404 = `PRETTY_NAME="Ubuntu 24.04.3 LTS"
NAME="Ubuntu"
VERSION_ID="24.04"
ID=ubuntu
ID_LIKE=debian
`;

describe("packer/local/guest-os (guest metrics from the rootfs's os-release)", () => {
  it("parses os-release: quoted, single-quoted and bare values, comments skipped", () => {
    const r = parseOsRelease(`# comment\nA="x y"\nB='p q'\nC=bare\n\nD="esc \\"q\\" \\$HOME"\nnot a line\n`);
    expect(r).to.deep.equal({ A: "x y", B: "p q", C: "bare", D: 'esc "q" $HOME' });
  });

  it("reads back any value written with os-release's double-quote escaping", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Z][A-Z0-9_]{0,15}$/),
        fc.string({ unit: fc.constantFrom(..."abc XYZ019.-_()\"\\$`'/") }),
        (key, value) => {
          const quoted = `"${value.replace(/(["\\$`])/g, "\\$1")}"`;
          expect(parseOsRelease(`${key}=${quoted}\n`)).to.deep.equal({ [key]: value });
        },
      ),
    );
  });

  it("reports Debian 12 with its point release and kernel, as xe-guest-utilities would", () => {
    const v = guestOsVersion(parseOsRelease(DEBIAN_12), {
      debianVersion: "12.12\n",
      kernelRelease: "6.1.0-56-cloud-amd64",
    });
    expect(v).to.deep.equal({
      name: "Debian GNU/Linux 12 (bookworm)",
      distro: "debian",
      major: "12",
      minor: "12",
      uname: "6.1.0-56-cloud-amd64",
    });
    // What the PoolTemplate provider reads back from VM_guest_metrics.
    expect(osFromGuestMetrics(v)).to.include({ distro: "debian", version: "12" });
  });

  it("reports Ubuntu 24.04 with major and minor, which the providers read as 24.04", () => {
    const v = guestOsVersion(parseOsRelease(UBUNTU_2404), { debianVersion: "trixie/sid" });
    expect(v).to.include({ distro: "ubuntu", major: "24", minor: "04" });
    expect(osFromGuestMetrics(v)).to.include({ distro: "ubuntu", version: "24.04" });
  });

  it("refuses an os-release without an ID or a numeric version, saying what it got", () => {
    expect(() => guestOsVersion({ VERSION_ID: "12" })).to.throw(GuestOsError, /no usable ID .* but null/);
    expect(() => guestOsVersion({ ID: "debian", VERSION_ID: "sid" })).to.throw(
      GuestOsError,
      /debian has no numeric version .* but "sid"/,
    );
  });
});
