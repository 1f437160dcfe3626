import { expect } from "chai";
import {
  excerpt,
  normalizeLocale,
  parseCloudInitStatus,
  parseCriticalChainAt,
  parseFingerprints,
  parsePermissionDenied,
  parseSshdConfig,
  parseStartupBeforeUserspace,
  parseSysctl,
  parseSystemState,
  parseTimespan,
} from "./parse";

describe("acceptance output parsers", () => {
  describe("parseTimespan (systemd's format_timespan)", () => {
    const cases: [string, number | undefined][] = [
      ["52.154s", 52.154],
      ["1min 52.154s", 112.154],
      ["2min 5.605s", 125.605],
      ["812ms", 0.812],
      ["1h 2min", 3720],
      ["3us", 3e-6],
      ["", undefined],
      ["soon", undefined],
      ["5 s", undefined],
    ];
    for (const [text, want] of cases) {
      it(`${JSON.stringify(text)} → ${want}`, () => {
        const got = parseTimespan(text);
        if (want === undefined) expect(got).to.equal(undefined);
        else expect(got).to.be.closeTo(want, 1e-9);
      });
    }
  });

  describe("parseStartupBeforeUserspace (systemd-analyze time)", () => {
    it("sums what comes before userspace", () => {
      expect(
        parseStartupBeforeUserspace(
          "Startup finished in 5.808s (kernel) + 2min 5.605s (userspace) = 2min 11.413s \ngraphical.target reached after 1min 52.154s in userspace.",
        ),
      ).to.be.closeTo(5.808, 1e-9);
      expect(
        parseStartupBeforeUserspace(
          "Startup finished in 1.201s (firmware) + 802ms (loader) + 2.5s (kernel) + 3s (initrd) + 20s (userspace) = 27.503s",
        ),
      ).to.be.closeTo(7.503, 1e-9);
    });
    it("says nothing while the boot is not finished", () => {
      expect(
        parseStartupBeforeUserspace(
          "Bootup is not yet finished (org.freedesktop.systemd1.Manager.FinishTimestampMonotonic=0).",
        ),
      ).to.equal(undefined);
    });
  });

  it("parseCriticalChainAt finds the unit's activation time", () => {
    const text = [
      'The time when unit became active or started is printed after the "@" character.',
      "",
      "multi-user.target @1min 15.799s",
      "└─ssh.service @57.877s +3.684s",
    ].join("\n");
    expect(parseCriticalChainAt(text, "multi-user.target")).to.be.closeTo(75.799, 1e-9);
    expect(parseCriticalChainAt(text, "graphical.target")).to.equal(undefined);
  });

  it("parseSystemState: state, then the failed units", () => {
    expect(parseSystemState("running\n")).to.deep.equal({ state: "running", failedUnits: [] });
    expect(
      parseSystemState(
        "degraded\ncloud-config.service loaded failed failed Apply the settings specified in cloud-config\n",
      ),
    ).to.deep.equal({ state: "degraded", failedUnits: ["cloud-config.service"] });
  });

  describe("parseCloudInitStatus", () => {
    it("22.4 (Debian 12), done", () => {
      const st = parseCloudInitStatus(
        "status: done\nboot_status_code: enabled-by-generator\nlast_update: Sat, 05 Dec 2026 18:40:14 +0000\ndetail:\nDataSourceNoCloud [seed=/dev/vdb][dsmode=net]\n",
      );
      expect(st).to.deep.equal({
        status: "done",
        errors: [],
        recoverableErrors: [],
        detail: ["DataSourceNoCloud [seed=/dev/vdb][dsmode=net]"],
      });
    });
    it("22.4, error: the detail is the error", () => {
      const st = parseCloudInitStatus(
        "status: error\nboot_status_code: enabled-by-generator\nlast_update: Sat, 05 Dec 2026 18:36:16 +0000\ndetail:\n('locale', ProcessExecutionError(\"Unexpected error while running command.\\nCommand: ['update-locale']\"))\n",
      );
      expect(st.status).to.equal("error");
      expect(st.errors).to.have.length(1);
      expect(st.errors[0]).to.match(/^\('locale', ProcessExecutionError/);
    });
    it("24.x and 25.x: errors and recoverable errors as lists", () => {
      const st = parseCloudInitStatus(
        [
          "status: done",
          "extended_status: degraded done",
          "boot_status_code: enabled-by-generator",
          "last_update: Thu, 01 Jan 1970 00:01:10 +0000",
          "detail: DataSourceNoCloud [seed=/dev/vdb]",
          "errors: []",
          "recoverable_errors:",
          "WARNING:",
          "\t- Deprecated cloud-config provided: ssh_pwauth",
          "\t- Unable to find a system locale",
        ].join("\n"),
      );
      expect(st.status).to.equal("done");
      expect(st.errors).to.deep.equal([]);
      expect(st.recoverableErrors).to.deep.equal([
        "Deprecated cloud-config provided: ssh_pwauth",
        "Unable to find a system locale",
      ]);
      expect(st.detail).to.deep.equal(["DataSourceNoCloud [seed=/dev/vdb]"]);
    });
    it("24.x: errors list and an empty map", () => {
      const st = parseCloudInitStatus(
        "status: error\nextended_status: error - running\ndetail: Cloud-init enabled by systemd generator\nerrors:\n\t- ('locale', ProcessExecutionError('...'))\nrecoverable_errors: {}\n",
      );
      expect(st.errors).to.deep.equal(["('locale', ProcessExecutionError('...'))"]);
      expect(st.recoverableErrors).to.deep.equal([]);
    });
    it("nothing to read", () => {
      expect(parseCloudInitStatus("")).to.deep.equal({
        status: "",
        errors: [],
        recoverableErrors: [],
        detail: [],
      });
    });
  });

  it("parseSshdConfig keeps repeated keywords in order", () => {
    const cfg = parseSshdConfig(
      "port 22\nhostkey /etc/ssh/ssh_host_rsa_key\nhostkey /etc/ssh/ssh_host_ed25519_key\nPermitRootLogin no\n",
    );
    expect(cfg.get("hostkey")).to.deep.equal(["/etc/ssh/ssh_host_rsa_key", "/etc/ssh/ssh_host_ed25519_key"]);
    expect(cfg.get("permitrootlogin")).to.deep.equal(["no"]);
  });

  it("parseSysctl reads key = value lines and ignores errors", () => {
    const m = parseSysctl(
      "net.ipv4.ip_forward = 0\nkernel.randomize_va_space = 2\nsysctl: cannot stat /proc/sys/x: No such file\n",
    );
    expect([...m]).to.deep.equal([
      ["net.ipv4.ip_forward", "0"],
      ["kernel.randomize_va_space", "2"],
    ]);
  });

  it("parseFingerprints reads ssh-keygen -l lines", () => {
    expect(
      parseFingerprints(
        "256 SHA256:LvjQMr5TaVJO5lzMQz+riwSCg4a5S72hefdsLfa48TU xcpng-templates acceptance 4be22f49 (ED25519)\n3072 SHA256:abc/def= root@x (RSA)\nnot a key\n",
      ),
    ).to.deep.equal([
      { fingerprint: "SHA256:LvjQMr5TaVJO5lzMQz+riwSCg4a5S72hefdsLfa48TU", type: "ED25519" },
      { fingerprint: "SHA256:abc/def=", type: "RSA" },
    ]);
  });

  it("parsePermissionDenied lists the methods the server still offers", () => {
    expect(parsePermissionDenied("u@127.0.0.1: Permission denied (publickey).\r\n")).to.deep.equal([
      "publickey",
    ]);
    expect(
      parsePermissionDenied("Permission denied (publickey,password,keyboard-interactive)."),
    ).to.deep.equal(["publickey", "password", "keyboard-interactive"]);
    expect(parsePermissionDenied("ssh: connect to host 127.0.0.1 port 22: Connection refused")).to.equal(
      undefined,
    );
  });

  it("normalizeLocale compares as glibc does", () => {
    expect(normalizeLocale("C.UTF-8")).to.equal(normalizeLocale("C.utf8"));
    expect(normalizeLocale("en_US.UTF-8@euro")).to.equal("en_US.utf8@euro");
    expect(normalizeLocale("POSIX")).to.equal("POSIX");
  });

  it("excerpt keeps short texts and marks cuts", () => {
    expect(excerpt("  short  ")).to.equal("short");
    expect(excerpt("x".repeat(20), 5)).to.equal("xxxxx… (15 more characters)");
  });
});
