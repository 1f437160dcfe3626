import { expect } from "chai";
import { run, requireTool, requireRoot } from "../tests/support/tools";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type Devpool, startDevpool } from "../devpool";
import { osFromGuestMetrics } from "../providers/os-detect";
import { type DevpoolTemplate, templatesByBuildId } from "./testing/devpool-template";
import { PACKER_DIR } from "./testing/paths";
import { sbomPackages } from "../lib/sbom/diff";
import { cycloneDx16Errors } from "../lib/sbom/testing";

// The local build path end to end through the real entry point and real Packer (null builder, shell-local):
// debootstrap (cached), the provisioning scripts in a chroot, the disk image, the XVA imported into devpool
// (over TLS, with its own CA), whose template must report Debian 12 and carry the hardened files.

const MINUTES = 60_000;
const OFFSET = 2048 * 512;

describe("local build of debian12-local through packer/build.sh (slow)", function () {
  this.timeout(40 * MINUTES);

  let dir: string;
  let work: string;
  let image: string;
  let stdout: string;
  let stderr: string;
  let seconds: number;
  let pool: Devpool;
  let template: DevpoolTemplate | undefined;
  const password = `devpool-${Date.now()}`;
  const buildId = `local-${Date.now()}`;

  const debugfsOn = async (file: string, request: string): Promise<string> => {
    const r = await run(requireTool("debugfs"), ["-R", request, `${file}?offset=${OFFSET}`]);
    expect(r.code, r.stderr).to.equal(0);
    return r.stdout;
  };
  const debugfs = (request: string): Promise<string> => debugfsOn(image, request);

  before(async function () {
    requireRoot("the local build");
    for (const t of ["debootstrap", "sfdisk", "mkfs.ext4", "debugfs", "unshare"]) requireTool(t);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "xcpng-local-build-"));
    work = path.join(dir, "work");
    image = path.join(work, "disk.raw");
    pool = await startDevpool({ dataDir: path.join(dir, "pool"), username: "root", password, tls: true });
    const caFile = path.join(dir, "pool-ca.pem");
    fs.writeFileSync(caFile, pool.certificate ?? "");
    const started = Date.now();
    const r = await run(
      "/bin/bash",
      [path.join(PACKER_DIR, "build.sh"), path.join(PACKER_DIR, "local/debian12-local.pkr.hcl")],
      {
        env: {
          ...process.env,
          CHECKPOINT_DISABLE: "1",
          PKR_VAR_build_id: buildId,
          PKR_VAR_work_directory: work,
          PKR_VAR_pool_url: pool.url,
          PKR_VAR_pool_username: "root",
          PKR_VAR_pool_password: password,
          PKR_VAR_pool_ca_file: caFile,
        },
        timeoutMs: 35 * MINUTES,
      },
    );
    seconds = Math.round((Date.now() - started) / 1000);
    stdout = r.stdout;
    stderr = r.stderr;
    expect(r.code, r.stderr.split("\n").slice(-40).join("\n")).to.equal(0);
    const hit = /rootfs\.sh: cache hit/.test(stderr);
    console.log(`      local build: ${seconds}s (${hit ? "cached rootfs" : "cold: debootstrap + packages"})`);
    const found = templatesByBuildId(pool, buildId);
    expect(found, "one template on devpool with the build id").to.have.length(1);
    template = found[0];
  });

  after(async () => {
    await pool?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("prints the build's one-line JSON result", () => {
    const lines = stdout.split("\n").filter((l) => l !== "");
    expect(lines).to.have.length(1);
    expect(JSON.parse(lines[0]!)).to.include({ template: "debian-12-local", build_id: buildId });
  });

  it("ran every step, the provisioning scripts in the pool build's order", () => {
    const steps = [...stderr.matchAll(/build-local\.sh: --- (\S+)/g)].map((m) => m[1]);
    expect(steps).to.deep.equal(["requirements", "rootfs", "provision", "sbom", "disk", "pack-and-import"]);
    // After the provision marker: a cold rootfs step also runs local/install-packages.sh in the chroot.
    const provision = stderr.slice(stderr.indexOf("build-local.sh: --- provision"));
    const scripts = [...provision.matchAll(/chroot-run\.sh: === (\S+)/g)].map((m) => m[1]);
    expect(scripts).to.deep.equal([
      "common/update_system.sh",
      "debian/debian_specific.sh",
      "debian/install_guest_agent.sh",
      "common/harden_ssh.sh",
      "common/harden_system.sh",
      "common/cleanup.sh",
    ]);
  });

  it("wrote the image's SBOM after cleanup (no work directory given: beside the disk), schema-valid", async () => {
    const json = fs.readFileSync(path.join(work, "sbom.cdx.json"), "utf8");
    expect(await cycloneDx16Errors(json)).to.equal(null);
    const doc = JSON.parse(json) as {
      metadata: { component: { properties: { name: string; value: string }[] } };
    };
    const prop = (n: string) => doc.metadata.component.properties.find((p) => p.name === n)?.value;
    expect([prop("xcpng-templates:build-id"), prop("xcpng-templates:os-detected")]).to.deep.equal([
      buildId,
      "debian 12",
    ]);
    const packages = sbomPackages(json, "the build's SBOM");
    expect(packages.length, "a Debian 12 server image").to.be.greaterThan(150);
    expect(packages.map((p) => p.name)).to.include.members(["openssh-server", "cloud-init", "systemd"]);
    expect(stderr).to.match(/write-sbom: \d+ packages \(debian 12\)/);
  });

  it("wrote an MBR disk: GRUB's boot sector and core image, one bootable Linux partition at 1 MiB", async () => {
    const r = await run(requireTool("sfdisk"), ["--json", image]);
    expect(r.code, r.stderr).to.equal(0);
    const table = (JSON.parse(r.stdout) as { partitiontable: { label: string; partitions: unknown[] } })
      .partitiontable;
    expect(table.label).to.equal("dos");
    expect(table.partitions).to.have.length(1);
    expect(table.partitions[0]).to.include({ start: 2048, type: "83", bootable: true });
    const fd = fs.openSync(image, "r");
    try {
      const mbr = Buffer.alloc(512);
      fs.readSync(fd, mbr, 0, 512, 0);
      expect(mbr.subarray(510).toString("hex")).to.equal("55aa");
      const bootImg = fs.readFileSync(path.join(work, "rootfs/usr/lib/grub/i386-pc/boot.img"));
      expect(mbr.subarray(0, 440).equals(bootImg.subarray(0, 440)), "boot.img in sector 0").to.equal(true);
      const core = fs.readFileSync(path.join(work, "rootfs/boot/grub/i386-pc/core.img"));
      const onDisk = Buffer.alloc(core.length);
      fs.readSync(fd, onDisk, 0, core.length, 512);
      expect(onDisk.equals(core), "core.img from sector 1").to.equal(true);
    } finally {
      fs.closeSync(fd);
    }
  });

  it("the root filesystem is a clean ext4 whose UUID fstab and grub.cfg boot from", async () => {
    const fsck = await run(requireTool("e2fsck"), ["-fn", `${image}?offset=${OFFSET}`]);
    expect(fsck.code, fsck.stdout + fsck.stderr).to.equal(0);
    const dump = await run(requireTool("dumpe2fs"), ["-h", `${image}?offset=${OFFSET}`]);
    const uuid = /^Filesystem UUID:\s+(\S+)$/m.exec(dump.stdout)?.[1] ?? "";
    expect(uuid).to.match(/^[0-9a-f-]{36}$/);
    expect(await debugfs("cat /etc/fstab")).to.match(new RegExp(`^UUID=${uuid} / ext4 `, "m"));
    const grub = await debugfs("cat /boot/grub/grub.cfg");
    expect(grub).to.include(`search --no-floppy --fs-uuid --set=root ${uuid}`);
    expect(grub).to.match(new RegExp(`linux /vmlinuz root=UUID=${uuid} ro`));
    expect(await debugfs("ls -l /boot/grub/i386-pc")).to.match(/normal\.mod/);
  });

  it("the disk carries Debian 12, hardened and cleaned", async () => {
    const osRelease = await debugfs("cat /usr/lib/os-release");
    expect(osRelease).to.match(/^ID=debian$/m);
    expect(osRelease).to.match(/^VERSION_ID="12"$/m);
    expect(await debugfs("cat /etc/ssh/sshd_config.d/10-xcpng-hardening.conf")).to.match(
      /^PasswordAuthentication no$/m,
    );
    expect(await debugfs("cat /etc/sysctl.d/60-xcpng-hardening.conf")).to.match(
      /^net\.ipv4\.conf\.all\.rp_filter = 1$/m,
    );
    expect(await debugfs("stat /etc/shadow")).to.match(/Mode:\s+0640/);
    expect(await debugfs("ls /etc/ssh")).to.not.match(/ssh_host_/);
    expect(await debugfs("stat /etc/machine-id")).to.match(/Size: 0\b/);
    expect(await debugfs("ls /var/lib/apt/lists")).to.not.match(/_Packages/);
    const shadow = await debugfs("cat /etc/shadow");
    expect(shadow.split("\n").filter((l) => /^[^:]+:!?\$/.test(l))).to.deep.equal([]);
  });

  it("devpool has the template, tagged with the build id, whose guest metrics say Debian 12", () => {
    expect(template, "found on devpool by its build-id tag").to.not.equal(undefined);
    expect(template!.nameLabel).to.equal(`debian-12-local-${buildId}`);
    expect(template!.isTemplate).to.equal(true);
    expect(template!.tags).to.include.members([
      "xcpng-templates",
      "template:debian-12-local",
      `build-id:${buildId}`,
    ]);
    const reported = osFromGuestMetrics(template!.osVersion);
    expect(reported?.distro).to.equal("debian");
    expect(reported?.version).to.equal("12");
    expect(template!.disks).to.have.length(1);
    expect(template!.disks[0]!.virtualSize).to.equal(fs.statSync(image).size);
  });

  it("the imported disk on devpool boots the same way and carries the hardened files", async () => {
    const vdi = pool.engine.disks.path(template!.disks[0]!.vdiUuid);
    const mbr = Buffer.alloc(512);
    const fd = fs.openSync(vdi, "r");
    try {
      fs.readSync(fd, mbr, 0, 512, 0);
    } finally {
      fs.closeSync(fd);
    }
    expect(mbr.subarray(510).toString("hex")).to.equal("55aa");
    expect(await debugfsOn(vdi, "cat /etc/ssh/sshd_config.d/10-xcpng-hardening.conf")).to.match(
      /^PermitRootLogin no$/m,
    );
    expect(await debugfsOn(vdi, "ls /etc/ssh")).to.not.match(/ssh_host_/);
  });

  it("a second rootfs with unchanged inputs comes from the cache", async () => {
    const out = path.join(dir, "again");
    const started = Date.now();
    const r = await run("/bin/bash", [path.join(PACKER_DIR, "local/rootfs.sh"), "--out", out], {
      timeoutMs: 10 * MINUTES,
    });
    const s = Math.round((Date.now() - started) / 1000);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/rootfs\.sh: cache hit/);
    expect(fs.existsSync(path.join(out, "usr/lib/os-release"))).to.equal(true);
    console.log(`      cached rootfs: ${s}s`);
  });
});
