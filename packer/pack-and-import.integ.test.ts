import { expect } from "chai";
import { run } from "../tests/support/tools";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type Devpool, startDevpool } from "../devpool";
import { osFromGuestMetrics } from "../providers/os-detect";
import { templatesByBuildId } from "./testing/devpool-template";
import { PACKER_DIR, REPO_ROOT } from "./testing/paths";

// packer/local/pack-and-import.ts against devpool over TLS (its own CA): the last step of the local build,
// with a small disk and a rootfs that has only the files the step reads.

const MIB = 1024 * 1024;
const TSX = path.join(REPO_ROOT, "node_modules", ".bin", "tsx");

describe("packer/local/pack-and-import.ts into devpool (integ)", function () {
  this.timeout(120_000);

  let dir: string;
  let pool: Devpool;
  let caFile: string;
  const password = randomBytes(12).toString("hex");
  const disk = (): string => path.join(dir, "disk.raw");
  const osRelease = (): string => path.join(dir, "rootfs/etc/os-release");
  const runs: { offset: number; bytes: Buffer }[] = [
    { offset: 0, bytes: Buffer.from([0xeb, 0x63, 0x90]) },
    { offset: 3 * MIB + 17, bytes: randomBytes(4096) },
    { offset: 8 * MIB - 512, bytes: Buffer.from("end of disk") },
  ];

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "xcpng-pack-"));
    pool = await startDevpool({ dataDir: path.join(dir, "pool"), username: "root", password, tls: true });
    caFile = path.join(dir, "ca.pem");
    fs.writeFileSync(caFile, pool.certificate ?? "");
    fs.mkdirSync(path.join(dir, "rootfs/etc"), { recursive: true });
    fs.mkdirSync(path.join(dir, "rootfs/boot"), { recursive: true });
    fs.writeFileSync(
      path.join(dir, "rootfs/usr-os-release"),
      'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n',
    );
    fs.symlinkSync("../usr-os-release", osRelease());
    fs.writeFileSync(path.join(dir, "rootfs/etc/debian_version"), "12.12\n");
    fs.writeFileSync(path.join(dir, "rootfs/boot/vmlinuz-6.1.0-56-cloud-amd64"), "");
    const fd = fs.openSync(disk(), "w");
    fs.ftruncateSync(fd, 8 * MIB);
    for (const r of runs) fs.writeSync(fd, r.bytes, 0, r.bytes.length, r.offset);
    fs.closeSync(fd);
  });

  after(async () => {
    await pool?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const packAndImport = (buildId: string, env: Record<string, string | undefined> = {}) =>
    run(
      TSX,
      [
        path.join(PACKER_DIR, "local/pack-and-import.ts"),
        "--disk",
        disk(),
        "--os-release",
        osRelease(),
        "--template-name",
        "debian-12-local",
        "--build-id",
        buildId,
        "--tags",
        "golden,local",
      ],
      {
        env: {
          ...process.env,
          PKR_VAR_pool_url: pool.url,
          PKR_VAR_pool_username: "root",
          PKR_VAR_pool_password: password,
          PKR_VAR_pool_ca_file: caFile,
          ...env,
        },
        timeoutMs: 90_000,
      },
    );

  it("imports a template named and tagged with the build id, reporting the rootfs's OS, with the disk's bytes", async () => {
    const r = await packAndImport("pack-1");
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/template debian-12-local-pack-1 \(uuid [0-9a-f-]{36}\) imported/);
    expect(r.stderr).to.include("guest metrics: debian 12");
    expect(r.stderr).to.not.include(password);

    const found = templatesByBuildId(pool, "pack-1");
    expect(found, "found by its build-id tag").to.have.length(1);
    const facts = found[0];
    expect(facts!.nameLabel).to.equal("debian-12-local-pack-1");
    expect(facts!.isTemplate).to.equal(true);
    expect(facts!.powerState).to.equal("Halted");
    expect(facts!.tags).to.include.members([
      "xcpng-templates",
      "template:debian-12-local",
      "build-id:pack-1",
      "golden",
      "local",
    ]);
    expect(osFromGuestMetrics(facts!.osVersion)).to.deep.equal({
      distro: "debian",
      version: "12",
      name: "Debian GNU/Linux 12 (bookworm)",
    });
    expect(facts!.osVersion).to.include({ major: "12", minor: "12", uname: "6.1.0-56-cloud-amd64" });
    expect(facts!.disks).to.have.length(1);
    expect(facts!.disks[0]!.virtualSize).to.equal(8 * MIB);

    const file = pool.engine.disks.path(facts!.disks[0]!.vdiUuid);
    const fd = fs.openSync(file, "r");
    try {
      for (const run of runs) {
        const got = Buffer.alloc(run.bytes.length);
        fs.readSync(fd, got, 0, got.length, run.offset);
        expect(got.equals(run.bytes), `bytes at ${run.offset}`).to.equal(true);
      }
    } finally {
      fs.closeSync(fd);
    }
  });

  it("imports nothing again for a build id already on the pool", async () => {
    const r = await packAndImport("pack-1");
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/already on the pool, not imported again/);
    expect(templatesByBuildId(pool, "pack-1")).to.have.length(1);
  });

  it("says which pool variables are missing", async () => {
    const r = await packAndImport("pack-2", {
      PKR_VAR_pool_url: undefined,
      PKR_VAR_pool_password: undefined,
    });
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.match(/set PKR_VAR_pool_url, PKR_VAR_pool_password in the environment/);
  });

  it("fails with the pool's answer, and no secret, when the password is wrong", async () => {
    const wrong = "wrong-password-for-this-test";
    const r = await packAndImport("pack-3", { PKR_VAR_pool_password: wrong });
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.match(/SESSION_AUTHENTICATION_FAILED|refused the credentials/);
    expect(r.stderr).to.not.include(wrong);
  });
});
