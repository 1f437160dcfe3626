import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { AcceptanceInputError } from "../errors";
import { type OutputsFixture, loadOutputs } from "../testing/fixtures";
import { HARDENED_SSHD, HARDENED_SYSCTLS, hostKeysFirstBoot } from "./common";
import { type CloneOutputs, evaluateChecks } from "./evaluate";
import { CHECK_TABLES, checksFor, motdNewsOff } from "./tables";
import type { Check, CheckContext, CommandOutput } from "./types";

const PACKER = path.resolve(__dirname, "../../../packer");

function clonesOf(f: OutputsFixture, guestAgent?: CheckContext["guestAgent"]): CloneOutputs[] {
  return Object.entries(f.clones).map(([clone, c]) => ({
    clone,
    ctx: guestAgent ? { ...c.context, guestAgent } : c.context,
    outputs: c.outputs,
  }));
}

function statuses(checks: readonly Check[], clones: readonly CloneOutputs[]): Record<string, string> {
  return Object.fromEntries(evaluateChecks(checks, clones).map((r) => [r.name, r.status]));
}

/** The fixture with one check's output replaced on every clone. */
function withOutput(f: OutputsFixture, check: string, out: Partial<CommandOutput>): OutputsFixture {
  const clones = Object.fromEntries(
    Object.entries(f.clones).map(([k, c]) => [
      k,
      { ...c, outputs: { ...c.outputs, [check]: { stdout: "", stderr: "", exitCode: 0, ...out } } },
    ]),
  );
  return { ...f, clones };
}

describe("acceptance check tables", () => {
  describe("checksFor", () => {
    const cases: [string, string, string][] = [
      ["debian", "12", "debian-12"],
      ["debian", "12.12", "debian-12"],
      ["Debian", "13", "debian-13"],
      ["ubuntu", "24.04", "ubuntu-24.04"],
    ];
    for (const [os, version, key] of cases) {
      it(`${os} ${version} → ${key}`, () => expect(checksFor(os, version)).to.equal(CHECK_TABLES[key]));
    }
    it("an OS without a table fails with the ones that exist", () => {
      expect(() => checksFor("ubuntu", "22.04")).to.throw(
        AcceptanceInputError,
        /no check table for ubuntu 22\.04; tables exist for debian-12, debian-13, ubuntu-24\.04/,
      );
    });
    it("every table names each check once and covers what the issue asks", () => {
      for (const [key, table] of Object.entries(CHECK_TABLES)) {
        const names = table.map((c) => c.name);
        expect(new Set(names).size, key).to.equal(names.length);
        for (const needed of [
          "boot: multi-user.target within the limit",
          "systemd: running, no failed unit",
          "cloud-init: done without errors",
          "cloud-init: the seed's user and key",
          "cloud-init: hostname set and resolvable",
          "ssh: host keys made at first boot, no DSA key",
          "clones: distinct machine-ids and host keys",
          "hardening: sshd effective configuration",
          "hardening: kernel parameters",
          "hardening: no password login",
          "hardening: root login refused",
          "disk: root filesystem grown to the clone's disk",
          "apt: no CD-ROM source",
          "guest agent: installed and enabled",
        ]) {
          expect(names, key).to.include(needed);
        }
      }
      expect(CHECK_TABLES["ubuntu-24.04"]!.map((c) => c.name)).to.include(motdNewsOff.name);
    });
  });

  describe("the expected values are what the provisioning scripts set", () => {
    it("sysctls: the same keys and values as packer/common/harden_system.sh", () => {
      const script = fs.readFileSync(path.join(PACKER, "common/harden_system.sh"), "utf8");
      const block = /60-xcpng-hardening\.conf 0644 <<'EOF'\n([\s\S]*?)\nEOF/.exec(script)?.[1] ?? "";
      const set = Object.fromEntries(
        [...block.matchAll(/^([a-z0-9_.]+) = (\S+)$/gm)].map((m) => [m[1]!, m[2]!]),
      );
      expect(Object.keys(set)).to.have.length.greaterThan(20);
      expect(HARDENED_SYSCTLS).to.deep.equal(set);
    });
    it("sshd: every fixed keyword of packer/common/harden_ssh.sh, as sshd -T spells it", () => {
      const script = fs.readFileSync(path.join(PACKER, "common/harden_ssh.sh"), "utf8");
      const block = /10-xcpng-hardening\.conf 0600 <<EOF\n([\s\S]*?)\nEOF/.exec(script)?.[1] ?? "";
      const set = Object.fromEntries(
        [...block.matchAll(/^([A-Za-z0-9]+) ([^$\n]+)$/gm)].map((m) => [m[1]!.toLowerCase(), m[2]!]),
      );
      expect(Object.keys(set)).to.have.length.greaterThan(15);
      expect(HARDENED_SSHD).to.deep.equal(set);
    });
  });

  // Outputs recorded on real boots (lib/acceptance/testing/record-outputs.ts), and written by hand for Ubuntu.
  describe("Debian 12, recorded: the local template", () => {
    const good = loadOutputs("debian-12-good");
    const table = checksFor("debian", "12");
    const guestAgent = { expected: false, reason: "local build has no guest agent" } as const;

    it("passes every check; the guest agent is not applicable, and says why", () => {
      const results = evaluateChecks(table, clonesOf(good, guestAgent));
      const failed = results.filter((r) => r.status === "fail");
      expect(failed, JSON.stringify(failed, null, 2)).to.deep.equal([]);
      const agent = results.find((r) => r.name === "guest agent: installed and enabled")!;
      expect(agent).to.include({ status: "not-applicable", passed: true });
      expect(agent.evidence).to.equal("not applicable: local build has no guest agent");
    });

    it("fails the guest agent check when one is expected and none is installed", () => {
      expect(
        statuses(table, clonesOf(good, { expected: true }))["guest agent: installed and enabled"],
      ).to.equal("fail");
    });

    it("fails multi-user when the limit is lower than the boot took", () => {
      const clones = clonesOf(good).map((c) => ({ ...c, ctx: { ...c.ctx, multiUserLimitSeconds: 10 } }));
      const r = evaluateChecks(table, clones).find(
        (x) => x.name === "boot: multi-user.target within the limit",
      )!;
      expect(r.status).to.equal("fail");
      expect(r.evidence).to.match(/\(limit 10 s\)/);
    });

    it("fails the growth check when the filesystem is no larger than the template's disk", () => {
      const clones = clonesOf(good).map((c) => ({
        ...c,
        ctx: { ...c.ctx, templateDiskBytes: 64 * 2 ** 30 },
      }));
      expect(statuses(table, clones)["disk: root filesystem grown to the clone's disk"]).to.equal("fail");
    });

    it("fails the seed checks for another user, key or hostname", () => {
      const clones = clonesOf(good).map((c) => ({
        ...c,
        ctx: { ...c.ctx, user: "someone", keyFingerprint: "SHA256:other", hostname: "elsewhere" },
      }));
      const s = statuses(table, clones);
      expect(s["cloud-init: the seed's user and key"]).to.equal("fail");
      expect(s["cloud-init: hostname set and resolvable"]).to.equal("fail");
    });

    it("fails distinct clones when both report the same machine-id and keys", () => {
      const a = good.clones.a!;
      const same: OutputsFixture = { ...good, clones: { a, b: { ...good.clones.b!, outputs: a.outputs } } };
      const r = evaluateChecks(table, clonesOf(same)).find((x) => x.name.startsWith("clones:"))!;
      expect(r.status).to.equal("fail");
      expect(r.evidence).to.match(/machine-id shared: .*; host keys shared: SHA256:/);
    });
  });

  describe("Debian 12, recorded: the deliberately broken variant (tests/fixtures/acceptance/break-image.sh)", () => {
    const broken = loadOutputs("debian-12-broken");
    it("fails exactly the checks the fixture breaks, each with its evidence", () => {
      const results = evaluateChecks(checksFor("debian", "12"), clonesOf(broken));
      const failed = Object.fromEntries(results.filter((r) => !r.passed).map((r) => [r.name, r.evidence]));
      expect(Object.keys(failed).sort()).to.deep.equal(
        [
          "apt: no CD-ROM source",
          "clones: distinct machine-ids and host keys",
          "cloud-init: done without errors",
          "cloud-init: hostname set and resolvable",
          "hardening: no password login",
          "hardening: root login refused",
          "hardening: sshd effective configuration",
          "locale: the system locale exists",
          "ssh: host keys made at first boot, no DSA key",
          "systemd: running, no failed unit",
        ].sort(),
      );
      expect(failed["cloud-init: done without errors"]).to.match(/status: error.*locale/);
      expect(failed["systemd: running, no failed unit"]).to.match(
        /degraded; failed units: cloud-config\.service/,
      );
      expect(failed["ssh: host keys made at first boot, no DSA key"]).to.match(/a dsa key/);
      expect(failed["clones: distinct machine-ids and host keys"]).to.match(/machine-id shared/);
      expect(failed["hardening: sshd effective configuration"]).to.match(
        /permitrootlogin yes \(expected no\); passwordauthentication yes \(expected no\)/,
      );
      expect(failed["hardening: no password login"]).to.match(/offers: .*password/);
      expect(failed["hardening: root login refused"]).to.match(/root got a session \(exit 142\)/);
      expect(failed["apt: no CD-ROM source"]).to.match(
        /cdrom: entries: \/etc\/apt\/sources\.list:\d+:deb cdrom:/,
      );
    });
  });

  describe("Debian 13, recorded: the local template", () => {
    it("passes every check", () => {
      const results = evaluateChecks(checksFor("debian", "13"), clonesOf(loadOutputs("debian-13-good")));
      const failed = results.filter((r) => r.status === "fail");
      expect(failed, JSON.stringify(failed, null, 2)).to.deep.equal([]);
    });
  });

  describe("Ubuntu 24.04 (outputs written by hand: Ubuntu cannot be built here)", () => {
    const good = loadOutputs("ubuntu-24.04-good");
    const table = checksFor("ubuntu", "24.04");
    it("passes every check, the guest agent included", () => {
      const results = evaluateChecks(table, clonesOf(good));
      const failed = results.filter((r) => r.status !== "pass");
      expect(failed, JSON.stringify(failed, null, 2)).to.deep.equal([]);
    });
    const failing: [string, Partial<CommandOutput>, RegExp][] = [
      [
        "cloud-init: done without errors",
        {
          stdout:
            "status: done\nextended_status: degraded done\nboot_status_code: enabled-by-generator\ndetail: DataSourceNoCloud [seed=/dev/vdb]\nerrors: []\nrecoverable_errors:\nWARNING:\n\t- Deprecated cloud-config provided: ssh_authorized_keys\n",
          exitCode: 2,
        },
        /exit 2; recoverable errors: Deprecated cloud-config provided/,
      ],
      ["ubuntu: MOTD news off", { stdout: "/etc/default/motd-news:ENABLED=1\n" }, /ENABLED=1/],
      [
        "guest agent: installed and enabled",
        {
          stdout:
            "xe-guest-utilities install-ok-installed disabled\nxen-guest-agent unknown-ok-not-installed \n",
        },
        /xe-guest-utilities: install-ok-installed, unit disabled/,
      ],
      [
        "hardening: sshd effective configuration",
        {
          stdout: good.clones
            .a!.outputs["hardening: sshd effective configuration"]!.stdout.replace(
              "permitrootlogin no",
              "permitrootlogin prohibit-password",
            )
            .replace(/^ciphers .*$/m, "ciphers aes128-cbc,aes256-ctr"),
        },
        /^permitrootlogin prohibit-password \(expected no\); ciphers offers aes128-cbc$/,
      ],
      ["systemd: running, no failed unit", { stdout: "starting\n" }, /^starting; failed units: none$/],
    ];
    for (const [check, out, evidence] of failing) {
      it(`fails "${check}" on a failing output`, () => {
        const r = evaluateChecks(table, clonesOf(withOutput(good, check, out))).find(
          (x) => x.name === check,
        )!;
        expect(r.status).to.equal("fail");
        expect(r.evidence).to.match(evidence);
      });
    }
  });

  describe("single checks on edge outputs", () => {
    const ctx = loadOutputs("debian-12-good").clones.a!.context;
    it("host keys: a key older than the boot (baked into the image) fails", () => {
      const v = hostKeysFirstBoot.evaluate(
        {
          stdout:
            "btime 1796495645\n1796495730 /etc/ssh/ssh_host_ecdsa_key\n1796495000 /etc/ssh/ssh_host_ed25519_key\n1796495730 /etc/ssh/ssh_host_rsa_key\n",
          stderr: "",
          exitCode: 0,
        },
        ctx,
      );
      expect(v).to.deep.equal({
        status: "fail",
        evidence: "host keys: ecdsa, ed25519, rsa; older than this boot: ed25519 (645 s before boot)",
      });
    });
    it("host keys: none at all fails, naming the missing types", () => {
      const v = hostKeysFirstBoot.evaluate({ stdout: "btime 1796495645\n", stderr: "", exitCode: 0 }, ctx);
      expect(v.status).to.equal("fail");
      expect(v.evidence).to.match(/missing ecdsa, ed25519, rsa/);
    });
  });
});
