import { expect } from "chai";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { manifestDiff, treeManifest, type Manifest } from "./testing/manifest";
import { inChroot, runScripts, unpackRootfs, type TestRootfs } from "./testing/rootfs";

// The scripts the pool build runs after the installer, minus update_system.sh (it needs the network; the
// local build test runs it) and install_guest_agent.sh (Debian 12's archive has no agent).
const SCRIPTS = [
  "common/harden_ssh.sh",
  "common/harden_system.sh",
  "debian/debian_specific.sh",
  "common/cleanup.sh",
] as const;
const BUILD_USER = "xcpng-build";

/** `sshd -T` output as a keyword -> value map (keywords are lower-case in -T output). */
function sshdSettings(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of out.split("\n")) {
    const i = line.indexOf(" ");
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return m;
}

async function sshdT(root: string): Promise<Map<string, string>> {
  // sshd -T needs its privilege separation directory and a host key; the template has none after cleanup.
  fs.mkdirSync(path.join(root, "run/sshd"), { recursive: true });
  const key = "/tmp/xcpng-test-hostkey";
  fs.rmSync(path.join(root, key), { force: true });
  fs.rmSync(path.join(root, `${key}.pub`), { force: true });
  const gen = await inChroot(root, "/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
  expect(gen.code, gen.stderr).to.equal(0);
  const r = await inChroot(root, "/usr/sbin/sshd", ["-T", "-h", key]);
  fs.rmSync(path.join(root, key), { force: true });
  fs.rmSync(path.join(root, `${key}.pub`), { force: true });
  expect(r.code, r.stderr).to.equal(0);
  return sshdSettings(r.stdout);
}

/** sysctl.d file as key -> value. */
function sysctlFile(file: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    const t = line.trim();
    if (!t || t.startsWith("#")) continue;
    const [k, v] = t.split("=").map((s) => s.trim());
    if (k && v !== undefined) m.set(k, v);
  }
  return m;
}

/** Every file under root whose content contains the needle (virtual filesystems excluded). */
function filesContaining(root: string, needle: string): string[] {
  const hits: string[] = [];
  const walk = (rel: string): void => {
    const abs = path.join(root, rel);
    const st = fs.lstatSync(abs);
    if (st.isDirectory()) {
      for (const name of fs.readdirSync(abs)) {
        const child = `${rel === "/" ? "" : rel}/${name}`;
        if (!["/proc", "/sys", "/dev", "/run"].includes(child)) walk(child);
      }
    } else if (st.isFile() && fs.readFileSync(abs).includes(needle)) {
      hits.push(rel);
    }
  };
  walk("/");
  return hits;
}

function modeOf(file: string): string {
  return (fs.statSync(file).mode & 0o7777).toString(8);
}

describe("hardening and cleanup scripts in a Debian 12 debootstrap chroot (slow)", function () {
  this.timeout(30 * 60_000);

  let fsRoot: TestRootfs;
  let root: string;
  let baseline: Map<string, string>;
  let untouched: Manifest;
  let firstRun: Manifest;
  let secondRun: Manifest;
  let secondRunLog: string;
  const secret = `xcpng-test-secret-${randomBytes(8).toString("hex")}`;
  let buildUserHash = "";

  before(async function () {
    fsRoot = await unpackRootfs();
    root = fsRoot.root;
    baseline = await sshdT(root);

    // Given a system as an installer leaves it: a build user with a password and sudo rule, host keys,
    // a machine-id, and secrets in history, logs, installer answers, cloud-init state and caches.
    const u = await inChroot(root, "/usr/sbin/useradd", ["-m", "-s", "/bin/bash", BUILD_USER]);
    expect(u.code, u.stderr).to.equal(0);
    const p = await inChroot(root, "/bin/sh", ["-c", `echo '${BUILD_USER}:${secret}' | chpasswd`]);
    expect(p.code, p.stderr).to.equal(0);
    buildUserHash = fs
      .readFileSync(path.join(root, "etc/shadow"), "utf8")
      .split("\n")
      .find((l) => l.startsWith(`${BUILD_USER}:`))!
      .split(":")[1]!;
    expect(buildUserHash).to.match(/^\$/);
    const plant = (rel: string, content: string, mode = 0o600): void => {
      fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      fs.writeFileSync(path.join(root, rel), content, { mode });
    };
    plant("etc/sudoers.d/90-xcpng-build", `${BUILD_USER} ALL=(ALL) NOPASSWD: ALL\n`, 0o440);
    plant("root/.bash_history", `echo ${secret}\n`);
    plant(`home/${BUILD_USER}/.bash_history`, `sudo -S <<< ${secret}\n`);
    plant("root/.ssh/authorized_keys", `ssh-ed25519 AAAA ${secret}\n`);
    plant("var/log/installer/cdebconf/questions.dat", `Value: ${secret}\n`);
    plant("var/lib/cloud/instances/build/user-data.txt", `password: ${secret}\n`);
    plant("var/log/cloud-init.log", `${secret}\n`, 0o640);
    plant("var/log/syslog", `login ${secret}\n`, 0o640);
    plant("var/cache/apt/archives/leftover_1.0_amd64.deb", secret, 0o644);
    plant("var/lib/dhcp/dhclient.eth0.leases", `lease { ${secret} }\n`, 0o644);
    plant("tmp/packer-upload.sh", `#!/bin/sh\n# ${secret}\n`, 0o755);
    plant("var/lib/systemd/random-seed", randomBytes(512).toString("hex"));
    plant("etc/machine-id", "0123456789abcdef0123456789abcdef\n", 0o444);
    expect(fs.readdirSync(path.join(root, "etc/ssh")).filter((f) => f.startsWith("ssh_host_"))).to.not.be
      .empty;

    // When the scripts run twice, as root in the chroot.
    untouched = treeManifest(root);
    const first = await runScripts(root, SCRIPTS, { BUILD_USER });
    expect(first.code, first.stderr).to.equal(0);
    firstRun = treeManifest(root);
    const second = await runScripts(root, SCRIPTS, { BUILD_USER });
    expect(second.code, second.stderr).to.equal(0);
    secondRunLog = second.stderr;
    secondRun = treeManifest(root);
  });

  after(() => fsRoot?.dispose());

  it("a second run of every script changes no file, mode, owner or link", () => {
    expect(firstRun.size).to.be.greaterThan(1000);
    // The first run did change the tree, so the comparison below can see a change.
    expect(manifestDiff(untouched, firstRun)).to.include.members([
      "/etc/ssh/sshd_config.d/10-xcpng-hardening.conf",
      "/etc/sysctl.d/60-xcpng-hardening.conf",
      "/etc/shadow",
    ]);
    expect(manifestDiff(firstRun, secondRun)).to.deep.equal([]);
    expect(secondRunLog).to.not.match(/installing:/);
  });

  it("sshd -T shows the CIS 5.1 values (and did not before hardening)", async () => {
    expect(baseline.get("passwordauthentication"), "Debian's default, so the check can fail").to.equal("yes");
    const s = await sshdT(root);
    expect(s.get("permitrootlogin")).to.equal("no");
    expect(s.get("passwordauthentication")).to.equal("no");
    expect(s.get("kbdinteractiveauthentication")).to.equal("no");
    expect(s.get("permitemptypasswords")).to.equal("no");
    expect(s.get("hostbasedauthentication")).to.equal("no");
    expect(s.get("ignorerhosts")).to.equal("yes");
    expect(s.get("permituserenvironment")).to.equal("no");
    expect(s.get("maxauthtries")).to.equal("4");
    expect(s.get("maxsessions")).to.equal("10");
    expect(s.get("maxstartups")).to.equal("10:30:60");
    expect(s.get("logingracetime")).to.equal("60");
    expect(s.get("clientaliveinterval")).to.equal("300");
    expect(s.get("clientalivecountmax")).to.equal("3");
    expect(s.get("loglevel")).to.equal("INFO");
    expect(s.get("x11forwarding")).to.equal("no");
    expect(s.get("usepam")).to.equal("yes");
    expect(s.get("banner")).to.equal("/etc/issue.net");
    const ciphers = (s.get("ciphers") ?? "").split(",");
    expect(ciphers).to.include("chacha20-poly1305@openssh.com");
    expect(ciphers.filter((c) => /cbc|3des|arcfour/.test(c))).to.deep.equal([]);
    const macs = (s.get("macs") ?? "").split(",");
    expect(macs.length).to.be.greaterThan(0);
    expect(macs.filter((m) => /md5|sha1|umac-64|-96/.test(m))).to.deep.equal([]);
    const kex = (s.get("kexalgorithms") ?? "").split(",");
    expect(kex).to.include("curve25519-sha256");
    expect(kex.filter((k) => /sha1|ecdh-sha2-nistp/.test(k))).to.deep.equal([]);
  });

  it("sshd configuration files are root-only (CIS 5.1.1)", () => {
    expect(modeOf(path.join(root, "etc/ssh/sshd_config"))).to.equal("600");
    expect(modeOf(path.join(root, "etc/ssh/sshd_config.d/10-xcpng-hardening.conf"))).to.equal("600");
  });

  it("network and kernel sysctls are set in a sysctl.d file", () => {
    const s = sysctlFile(path.join(root, "etc/sysctl.d/60-xcpng-hardening.conf"));
    for (const [k, v] of [
      ["net.ipv4.ip_forward", "0"],
      ["net.ipv4.conf.all.send_redirects", "0"],
      ["net.ipv4.conf.all.accept_redirects", "0"],
      ["net.ipv6.conf.all.accept_redirects", "0"],
      ["net.ipv4.conf.all.accept_source_route", "0"],
      ["net.ipv4.conf.all.rp_filter", "1"],
      ["net.ipv4.conf.all.log_martians", "1"],
      ["net.ipv4.icmp_echo_ignore_broadcasts", "1"],
      ["net.ipv4.tcp_syncookies", "1"],
      ["kernel.randomize_va_space", "2"],
      ["kernel.yama.ptrace_scope", "1"],
      ["fs.suid_dumpable", "0"],
    ]) {
      expect(s.get(k!), k).to.equal(v);
    }
  });

  it("unused filesystems cannot be loaded", () => {
    const conf = fs.readFileSync(path.join(root, "etc/modprobe.d/60-xcpng-unused-filesystems.conf"), "utf8");
    for (const m of ["cramfs", "freevxfs", "hfs", "hfsplus", "jffs2", "usb-storage"]) {
      expect(conf).to.include(`install ${m} /bin/false`);
    }
    expect(conf, "config drives and ISOs stay readable").to.not.match(/install (vfat|udf|iso9660|squashfs) /);
  });

  it("auditd, AppArmor, unattended upgrades and the first-boot unit are enabled for boot", () => {
    // lstat: the links are absolute (/lib/systemd/system/...), meaningful inside the rootfs only.
    const wants = (target: string, unit: string): boolean => {
      try {
        return fs.lstatSync(path.join(root, "etc/systemd/system", `${target}.wants`, unit)).isSymbolicLink();
      } catch {
        return false;
      }
    };
    expect(wants("multi-user.target", "auditd.service")).to.equal(true);
    expect(wants("sysinit.target", "apparmor.service")).to.equal(true);
    expect(wants("timers.target", "apt-daily-upgrade.timer")).to.equal(true);
    expect(wants("multi-user.target", "xcpng-firstboot.service")).to.equal(true);
    const periodic = fs.readFileSync(path.join(root, "etc/apt/apt.conf.d/20auto-upgrades"), "utf8");
    expect(periodic).to.include('APT::Periodic::Unattended-Upgrade "1";');
    const rules = fs.readFileSync(path.join(root, "etc/audit/rules.d/60-xcpng.rules"), "utf8");
    expect(rules).to.include("-w /etc/shadow -p wa -k identity");
    expect(rules).to.match(/-S init_module,finit_module,delete_module -k kernel_modules/);
  });

  it("sudo configuration is valid and logs (CIS 5.2)", async () => {
    const r = await inChroot(root, "/usr/sbin/visudo", ["-c"]);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    const sudoers = fs.readFileSync(path.join(root, "etc/sudoers.d/60-xcpng-hardening"), "utf8");
    expect(sudoers).to.include("Defaults use_pty");
    expect(modeOf(path.join(root, "etc/sudoers.d/60-xcpng-hardening"))).to.equal("440");
  });

  it("sensitive files have CIS 7.1 modes and owners", () => {
    const shadowGid = Number(
      fs
        .readFileSync(path.join(root, "etc/group"), "utf8")
        .split("\n")
        .find((l) => l.startsWith("shadow:"))!
        .split(":")[2],
    );
    for (const f of ["etc/passwd", "etc/group"]) {
      expect(modeOf(path.join(root, f)), f).to.equal("644");
    }
    for (const f of ["etc/shadow", "etc/gshadow"]) {
      const st = fs.statSync(path.join(root, f));
      expect(modeOf(path.join(root, f)), f).to.equal("640");
      expect([st.uid, st.gid], f).to.deep.equal([0, shadowGid]);
    }
  });

  it("no account has a password hash and the build user is gone", () => {
    for (const f of ["etc/shadow", "etc/shadow-"]) {
      const file = path.join(root, f);
      if (!fs.existsSync(file)) continue;
      const hashed = fs
        .readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => /^[^:]+:!?\$/.test(l));
      expect(hashed, f).to.deep.equal([]);
    }
    expect(fs.readFileSync(path.join(root, "etc/passwd"), "utf8")).to.not.include(`${BUILD_USER}:`);
    expect(fs.existsSync(path.join(root, "home", BUILD_USER))).to.equal(false);
    expect(fs.existsSync(path.join(root, "etc/sudoers.d/90-xcpng-build"))).to.equal(false);
  });

  it("no secret and no password hash is left anywhere in the tree", () => {
    expect(filesContaining(root, secret)).to.deep.equal([]);
    expect(filesContaining(root, buildUserHash)).to.deep.equal([]);
  });

  it("no host keys, an empty machine-id, no cloud-init state, no apt caches, no history", () => {
    expect(fs.readdirSync(path.join(root, "etc/ssh")).filter((f) => f.startsWith("ssh_host_"))).to.deep.equal(
      [],
    );
    expect(fs.statSync(path.join(root, "etc/machine-id")).size).to.equal(0);
    expect(fs.readdirSync(path.join(root, "var/lib/cloud"))).to.deep.equal([]);
    expect(fs.existsSync(path.join(root, "var/log/installer"))).to.equal(false);
    expect(
      fs.readdirSync(path.join(root, "var/cache/apt/archives")).filter((f) => f.endsWith(".deb")),
    ).to.deep.equal([]);
    expect(fs.readdirSync(path.join(root, "var/lib/apt/lists"))).to.deep.equal([]);
    expect(fs.existsSync(path.join(root, "root/.bash_history"))).to.equal(false);
    expect(fs.existsSync(path.join(root, "var/lib/systemd/random-seed"))).to.equal(false);
    expect(fs.readdirSync(path.join(root, "tmp"))).to.deep.equal([]);
    const unit = fs.readFileSync(path.join(root, "etc/systemd/system/xcpng-firstboot.service"), "utf8");
    expect(unit).to.match(/Before=ssh\.service/);
    expect(fs.readFileSync(path.join(root, "usr/local/sbin/xcpng-firstboot"), "utf8")).to.include(
      "ssh-keygen -A",
    );
  });

  it("cloud-init looks for Xen Orchestra's data sources and owns the network", () => {
    const ds = fs.readFileSync(path.join(root, "etc/cloud/cloud.cfg.d/90-xcpng-datasources.cfg"), "utf8");
    expect(ds).to.match(/datasource_list: \[ NoCloud, ConfigDrive, None \]/);
    const identify = fs.readFileSync(path.join(root, "etc/cloud/ds-identify.cfg"), "utf8");
    expect(identify, "a clone without a config drive still runs cloud-init").to.match(/notfound=enabled/);
    const ifaces = fs.readFileSync(path.join(root, "etc/network/interfaces"), "utf8");
    expect(ifaces).to.include("source /etc/network/interfaces.d/*");
    expect(ifaces).to.not.match(/^iface (eth|en)/m);
  });
});
