import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { SbomInputError } from "./errors";
import { resolveInRoot, rootfsLicences, rootfsPackageDatabase } from "./rootfs";

const FIXTURE = path.join(__dirname, "testdata", "bookworm-rootfs");

describe("resolveInRoot", () => {
  let root: string;
  let outside: string;
  before(() => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), "sbom-root-"));
    root = path.join(base, "root");
    outside = path.join(base, "outside");
    fs.mkdirSync(path.join(root, "usr/share/doc/real"), { recursive: true });
    fs.mkdirSync(path.join(root, "etc"), { recursive: true });
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(root, "usr/share/doc/real/copyright"), "inside");
    fs.writeFileSync(path.join(outside, "secret"), "host file");
    fs.symlinkSync("real", path.join(root, "usr/share/doc/relative"));
    fs.symlinkSync("/usr/share/doc/real", path.join(root, "usr/share/doc/absolute"));
    fs.symlinkSync("../../../../outside", path.join(root, "usr/share/doc/dotdot"));
    fs.symlinkSync(outside, path.join(root, "usr/share/doc/host-absolute"));
    fs.symlinkSync("loop-b", path.join(root, "usr/share/doc/loop-a"));
    fs.symlinkSync("loop-a", path.join(root, "usr/share/doc/loop-b"));
    fs.symlinkSync("missing", path.join(root, "usr/share/doc/dangling"));
  });
  after(() => fs.rmSync(path.dirname(root), { recursive: true, force: true }));

  const cases: { name: string; rel: string; want: string | undefined }[] = [
    { name: "a plain path", rel: "usr/share/doc/real/copyright", want: "usr/share/doc/real/copyright" },
    {
      name: "a relative link",
      rel: "usr/share/doc/relative/copyright",
      want: "usr/share/doc/real/copyright",
    },
    {
      name: "an absolute link, from the image's root",
      rel: "usr/share/doc/absolute/copyright",
      want: "usr/share/doc/real/copyright",
    },
    { name: "'..' stops at the image's root", rel: "usr/share/doc/dotdot/secret", want: undefined },
    {
      name: "an absolute link naming a host path stays inside",
      rel: "usr/share/doc/host-absolute/secret",
      want: undefined,
    },
    { name: "a loop", rel: "usr/share/doc/loop-a/copyright", want: undefined },
    { name: "a dangling link", rel: "usr/share/doc/dangling/copyright", want: undefined },
    { name: "a path through a file", rel: "usr/share/doc/real/copyright/x", want: undefined },
    {
      name: "a leading slash and dots",
      rel: "/./usr/share/doc/../doc/real/copyright",
      want: "usr/share/doc/real/copyright",
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const got = await resolveInRoot(root, c.rel);
      expect(got).to.equal(c.want === undefined ? undefined : path.join(root, c.want));
    });
  }

  it("never reads the host's file through a link (licence lookup)", async () => {
    fs.writeFileSync(
      path.join(outside, "copyright"),
      "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: HOST\n",
    );
    fs.symlinkSync(outside, path.join(root, "usr/share/doc/escape"));
    expect(await rootfsLicences(root)("escape")).to.equal(undefined);
  });
});

describe("rootfsPackageDatabase (a Debian 12 debootstrap rootfs, trimmed)", () => {
  it("reads dpkg status and os-release (etc/os-release is a link to ../usr/lib/os-release)", async () => {
    const db = await rootfsPackageDatabase(FIXTURE);
    expect(db.dpkgStatus).to.match(/^Package: adduser\n/);
    expect(db.osRelease).to.contain('VERSION_ID="12"');
  });

  const licences: { pkg: string; want: string[] | undefined }[] = [
    { pkg: "adduser", want: ["GPL-2+"] },
    { pkg: "libncursesw6", want: ["BSD-3-clause", "MIT/X11", "X11"] }, // doc dir is a link to libtinfo6
    { pkg: "kmod", want: ["GPL-2+", "LGPL-2.1+"] }, // doc dir is a link to libkmod2
    { pkg: "libc6", want: undefined }, // free-text copyright
    { pkg: "ca-certificates", want: undefined }, // no copyright file in the trimmed fixture
    { pkg: "libstdc++6", want: undefined }, // link to gcc-12-base, not in the trimmed fixture
    { pkg: "../../../etc", want: undefined }, // no package name
  ];
  for (const c of licences) {
    it(`licences of ${c.pkg}`, async () => {
      const db = await rootfsPackageDatabase(FIXTURE);
      expect(await db.licences?.(c.pkg)).to.deep.equal(c.want);
    });
  }

  it("fails with MISSING_FILE on a directory that is no Debian root filesystem", async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "sbom-empty-"));
    try {
      await rootfsPackageDatabase(empty).then(
        () => expect.fail("resolved"),
        (e: unknown) => {
          expect(e).to.be.instanceOf(SbomInputError).with.property("code", "MISSING_FILE");
          expect((e as Error).message).to.match(/no \/var\/lib\/dpkg\/status in the image at/);
        },
      );
      fs.mkdirSync(path.join(empty, "var/lib/dpkg"), { recursive: true });
      fs.writeFileSync(path.join(empty, "var/lib/dpkg/status"), "");
      await rootfsPackageDatabase(empty).then(
        () => expect.fail("resolved"),
        (e: unknown) =>
          expect((e as Error).message).to.match(/no \/etc\/os-release nor \/usr\/lib\/os-release/),
      );
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});
