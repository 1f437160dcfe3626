import { expect } from "chai";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import * as tar from "tar-stream";
import { createSbom } from "./cyclonedx";
import { SbomInputError } from "./errors";
import { guestCollectCommand, withGuestPackageDatabase } from "./guest";
import { rootfsPackageDatabase } from "./rootfs";

const FIXTURE = path.join(__dirname, "testdata", "bookworm-rootfs");
const SUBJECT = { template: "debian-12", buildId: "b1", builtAt: new Date("2026-03-04T05:06:07Z") };

/** A gzip'd tar of `entries`: files with content, or links with a target. */
async function tarOf(
  entries: ({ name: string; body: string } | { name: string; link: string })[],
): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    if ("link" in e) pack.entry({ name: e.name, type: "symlink", linkname: e.link });
    else pack.entry({ name: e.name }, e.body);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return gzipSync(Buffer.concat(chunks));
}

describe("guest package database", () => {
  it("the collect command's tar gives the same SBOM as the root filesystem it was taken from", async () => {
    const archive = execFileSync("sh", ["-c", guestCollectCommand("-", FIXTURE)], {
      maxBuffer: 64 * 1024 * 1024,
    });
    const fromGuest = await withGuestPackageDatabase(archive, (db) => createSbom(db, SUBJECT));
    const fromRootfs = await createSbom(await rootfsPackageDatabase(FIXTURE), SUBJECT);
    expect(fromGuest.json).to.equal(fromRootfs.json);
    expect(fromGuest.packages).to.equal(19);
  });

  it("writes nothing outside its directory, whatever the tar holds, and removes the directory", async () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), "sbom-guest-test-"));
    const outside = path.join(base, "outside");
    const tmpDir = path.join(base, "tmp");
    fs.mkdirSync(outside);
    fs.mkdirSync(tmpDir);
    try {
      const archive = await tarOf([
        {
          name: "var/lib/dpkg/status",
          body: "Package: a\nStatus: install ok installed\nArchitecture: all\nVersion: 1\n",
        },
        { name: "etc/os-release", body: "ID=debian\n" },
        // A doc "directory" that is a link out of the tree, then a file written "through" it.
        { name: "usr/share/doc/evil", link: outside },
        { name: "usr/share/doc/evil/copyright", body: "written outside" },
        { name: "../../escape", body: "x" },
        { name: "usr/share/doc/a/../../../../escape2", body: "x" },
        { name: "etc/shadow", body: "not wanted" },
      ]);
      const seen = await withGuestPackageDatabase(
        archive,
        async (db) => {
          expect(fs.readdirSync(tmpDir)).to.have.length(1); // its own directory, while in use
          return { evil: await db.licences?.("evil"), status: db.dpkgStatus };
        },
        { tmpDir },
      );
      expect(seen).to.deep.equal({
        evil: undefined,
        status: "Package: a\nStatus: install ok installed\nArchitecture: all\nVersion: 1\n",
      });
      expect(fs.readdirSync(outside)).to.deep.equal([]);
      expect(fs.readdirSync(base).sort()).to.deep.equal(["outside", "tmp"]);
      expect(fs.readdirSync(tmpDir)).to.deep.equal([]); // removed after use
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
    }
  });

  it("rejects what is not a gzip'd tar with BAD_ARCHIVE", async () => {
    await withGuestPackageDatabase(Buffer.from("plain text"), () => Promise.resolve()).then(
      () => expect.fail("resolved"),
      (e: unknown) => {
        expect(e).to.be.instanceOf(SbomInputError).with.property("code", "BAD_ARCHIVE");
        expect((e as Error).message).to.match(/not a gzip'd tar .*collect it again/);
      },
    );
  });

  it("a tar without dpkg's status fails with MISSING_FILE", async () => {
    const archive = await tarOf([{ name: "etc/os-release", body: "ID=debian\n" }]);
    await withGuestPackageDatabase(archive, () => Promise.resolve()).then(
      () => expect.fail("resolved"),
      (e: unknown) => expect(e).to.be.instanceOf(SbomInputError).with.property("code", "MISSING_FILE"),
    );
  });
});
