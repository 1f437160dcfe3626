/**
 * The checks every family shares, as builders parameterised by what differs between OS releases (the OpenSSH
 * key exchanges, the guest agent's packages). Commands are plain POSIX shell run as the seed's user over SSH;
 * tools outside a user's PATH are called by absolute path, and root-only ones through `sudo -n`.
 */
import {
  excerpt,
  lines,
  normalizeLocale,
  parseCloudInitStatus,
  parseCriticalChainAt,
  parseFingerprints,
  parsePermissionDenied,
  parseSshdConfig,
  parseStartupBeforeUserspace,
  parseSysctl,
  parseSystemState,
} from "./parse";
import {
  type ClonesCheck,
  type CommandOutput,
  type GuestCheck,
  type LoginCheck,
  fail,
  notApplicable,
  pass,
} from "./types";

/** Evidence of a command's failure to run at all (not found, permission), when there is nothing to parse. */
function ranBadly(out: CommandOutput): string {
  return `exit ${out.exitCode}${out.stderr.trim() ? `: ${excerpt(out.stderr, 300)}` : ""}`;
}

const s = (n: number): string => `${n.toFixed(1)} s`;

export const multiUserWithinLimit: GuestCheck = {
  kind: "guest",
  name: "boot: multi-user.target within the limit",
  command: "systemd-analyze time && systemd-analyze critical-chain --no-pager multi-user.target",
  expected: (ctx) => `multi-user.target active at most ${ctx.multiUserLimitSeconds} s after power-on`,
  evaluate(out, ctx) {
    const before = parseStartupBeforeUserspace(out.stdout);
    const at = parseCriticalChainAt(out.stdout, "multi-user.target");
    if (out.exitCode !== 0 || before === undefined || at === undefined) {
      return fail(`no start-up time for multi-user.target (${ranBadly(out)}): ${excerpt(out.stdout, 300)}`);
    }
    const total = before + at;
    const evidence = `${s(before)} before userspace + multi-user.target @${s(at)} = ${s(total)} (limit ${ctx.multiUserLimitSeconds} s)`;
    return total <= ctx.multiUserLimitSeconds ? pass(evidence) : fail(evidence);
  },
};

export const systemRunning: GuestCheck = {
  kind: "guest",
  name: "systemd: running, no failed unit",
  command: "systemctl is-system-running; systemctl list-units --state=failed --no-legend --plain --no-pager",
  expected: () => "is-system-running says running; no failed unit",
  evaluate(out) {
    const { state, failedUnits } = parseSystemState(out.stdout);
    const evidence = `${state || "(no state)"}; failed units: ${failedUnits.length ? failedUnits.join(", ") : "none"}`;
    return state === "running" && failedUnits.length === 0 ? pass(evidence) : fail(evidence);
  },
};

export const cloudInitDone: GuestCheck = {
  kind: "guest",
  name: "cloud-init: done without errors",
  command: "cloud-init status --long",
  expected: () => "status: done, exit 0, no errors and no recoverable errors",
  evaluate(out) {
    const st = parseCloudInitStatus(out.stdout);
    const parts = [`status: ${st.status || "(none)"}`, `exit ${out.exitCode}`];
    if (st.errors.length) parts.push(`errors: ${st.errors.join(" | ")}`);
    if (st.recoverableErrors.length) parts.push(`recoverable errors: ${st.recoverableErrors.join(" | ")}`);
    if (st.status === "done" && st.detail.length) parts.push(`detail: ${st.detail.join(" ")}`);
    const ok =
      st.status === "done" &&
      out.exitCode === 0 &&
      st.errors.length === 0 &&
      st.recoverableErrors.length === 0;
    return ok ? pass(excerpt(parts.join("; "))) : fail(excerpt(parts.join("; ")));
  },
};

export const seedUserAndKey: GuestCheck = {
  kind: "guest",
  name: "cloud-init: the seed's user and key",
  command: "id -un && ssh-keygen -lf ~/.ssh/authorized_keys",
  expected: (ctx) => `user ${ctx.user} with the run's key ${ctx.keyFingerprint} authorized`,
  evaluate(out, ctx) {
    const [user = ""] = lines(out.stdout);
    const keys = parseFingerprints(out.stdout).map((k) => k.fingerprint);
    const evidence = `user ${user || "(none)"}; authorized keys: ${keys.join(", ") || "none"}`;
    if (out.exitCode !== 0) return fail(`${evidence} (${ranBadly(out)})`);
    return user === ctx.user && keys.includes(ctx.keyFingerprint) ? pass(evidence) : fail(evidence);
  },
};

export const hostnameResolvable: GuestCheck = {
  kind: "guest",
  name: "cloud-init: hostname set and resolvable",
  command: 'hostname; getent hosts "$(hostname)"; echo "getent exit $?"',
  expected: (ctx) => `hostname ${ctx.hostname}, resolved by getent hosts`,
  evaluate(out, ctx) {
    const ls = lines(out.stdout);
    const name = ls[0]?.trim() ?? "";
    const code = /^getent exit (\d+)$/.exec(ls[ls.length - 1] ?? "")?.[1];
    const resolved = ls.slice(1, -1).join("; ");
    const evidence = `hostname ${name || "(none)"}; getent hosts: ${resolved || `nothing (exit ${code ?? "?"})`}`;
    return name === ctx.hostname && code === "0" && resolved !== "" ? pass(evidence) : fail(evidence);
  },
};

export const systemLocale: GuestCheck = {
  kind: "guest",
  name: "locale: the system locale exists",
  command: 'sed -n "s/^LANG=//p" /etc/default/locale; echo --; locale -a',
  expected: () => "/etc/default/locale sets LANG to a locale listed by locale -a",
  evaluate(out) {
    const [head = "", tail = ""] = out.stdout.split(/^--$/m);
    const lang = (lines(head)[0] ?? "").replace(/^["']|["']$/g, "");
    const available = lines(tail).map(normalizeLocale);
    const evidence = `LANG=${lang || "(unset)"}; available: ${lines(tail).join(", ")}`;
    return lang !== "" && available.includes(normalizeLocale(lang)) ? pass(evidence) : fail(evidence);
  },
};

/** Host key types every clone must have; `dsa` must be absent (OpenSSH dropped it). */
export const HOST_KEY_TYPES = ["ecdsa", "ed25519", "rsa"] as const;

export const hostKeysFirstBoot: GuestCheck = {
  kind: "guest",
  name: "ssh: host keys made at first boot, no DSA key",
  command:
    "awk '/^btime/ {print \"btime\", $2}' /proc/stat; " +
    'for f in /etc/ssh/ssh_host_*_key; do [ -e "$f" ] && printf \'%s %s\\n\' "$(stat -c %Y "$f")" "$f"; done',
  expected: () => `${HOST_KEY_TYPES.join(", ")} host keys, each written after this boot began; no dsa key`,
  evaluate(out) {
    const ls = lines(out.stdout);
    const btime = Number(/^btime (\d+)$/.exec(ls[0] ?? "")?.[1]);
    const keys = ls.slice(1).flatMap((l) => {
      const m = /^(\d+) \/etc\/ssh\/ssh_host_([a-z0-9]+)_key$/.exec(l);
      return m ? [{ type: m[2]!, mtime: Number(m[1]) }] : [];
    });
    if (!Number.isFinite(btime)) return fail(`no boot time in /proc/stat: ${excerpt(out.stdout, 200)}`);
    const types = keys.map((k) => k.type).sort();
    const old = keys
      .filter((k) => k.mtime < btime)
      .map((k) => `${k.type} (${btime - k.mtime} s before boot)`);
    const missing = HOST_KEY_TYPES.filter((t) => !types.includes(t));
    const problems = [
      ...(types.includes("dsa") ? ["a dsa key"] : []),
      ...(missing.length ? [`missing ${missing.join(", ")}`] : []),
      ...(old.length ? [`older than this boot: ${old.join(", ")}`] : []),
    ];
    const evidence = `host keys: ${types.join(", ") || "none"}${problems.length ? `; ${problems.join("; ")}` : "; all written after boot"}`;
    return problems.length === 0 ? pass(evidence) : fail(evidence);
  },
};

export const distinctClones: ClonesCheck = {
  kind: "clones",
  name: "clones: distinct machine-ids and host keys",
  command: 'cat /etc/machine-id; for f in /etc/ssh/ssh_host_*_key.pub; do ssh-keygen -lf "$f"; done',
  expected: () => "every clone has its own machine-id (32 hex digits) and shares no host key with another",
  evaluate(outs, ctxs) {
    const seen = outs.map((o, i) => ({
      host: ctxs[i]?.hostname ?? `clone ${i + 1}`,
      id: (lines(o.stdout)[0] ?? "").trim(),
      keys: parseFingerprints(o.stdout).map((k) => k.fingerprint),
    }));
    const problems: string[] = [];
    if (seen.length < 2) problems.push(`${seen.length} clone(s) compared, at least 2 needed`);
    for (const c of seen) {
      if (!/^[0-9a-f]{32}$/.test(c.id))
        problems.push(`${c.host}: machine-id ${JSON.stringify(c.id)} is not 32 hex digits`);
      if (c.keys.length === 0) problems.push(`${c.host}: no host key`);
    }
    const ids = seen.map((c) => c.id);
    if (new Set(ids).size !== ids.length) problems.push(`machine-id shared: ${ids.join(" = ")}`);
    const allKeys = seen.flatMap((c) => c.keys);
    const shared = [...new Set(allKeys.filter((k, i) => allKeys.indexOf(k) !== i))];
    if (shared.length) problems.push(`host keys shared: ${shared.join(", ")}`);
    const summary = seen
      .map((c) => `${c.host}: machine-id ${c.id || "(empty)"}, ${c.keys.length} host keys`)
      .join("; ");
    return problems.length === 0
      ? pass(`${summary}; nothing shared`)
      : fail(`${problems.join("; ")} (${summary})`);
  },
};

/** The `sshd -T` values packer/common/harden_ssh.sh sets, as sshd reports them (lowercase keywords). */
export const HARDENED_SSHD: Readonly<Record<string, string>> = {
  loglevel: "INFO",
  permitrootlogin: "no",
  passwordauthentication: "no",
  kbdinteractiveauthentication: "no",
  permitemptypasswords: "no",
  pubkeyauthentication: "yes",
  hostbasedauthentication: "no",
  ignorerhosts: "yes",
  permituserenvironment: "no",
  gssapiauthentication: "no",
  usepam: "yes",
  maxauthtries: "4",
  maxsessions: "10",
  maxstartups: "10:30:60",
  logingracetime: "60",
  clientaliveinterval: "300",
  clientalivecountmax: "3",
  x11forwarding: "no",
  banner: "/etc/issue.net",
};

/** Algorithms no hardened sshd may offer, per `sshd -T` keyword. */
const WEAK: Readonly<Record<string, RegExp>> = {
  ciphers: /-cbc$|3des|arcfour|^blowfish|^cast128/,
  macs: /md5|sha1|umac-64|ripemd/,
  kexalgorithms: /sha1$|^ecdh-sha2-nistp/,
};

/**
 * sshd's effective configuration, read from the running system.
 * @param firstKex the key exchanges one of which must come first (the family's best post-quantum hybrid)
 */
export function sshdHardened(firstKex: readonly string[]): GuestCheck {
  return {
    kind: "guest",
    name: "hardening: sshd effective configuration",
    command: "sudo -n /usr/sbin/sshd -T",
    expected: () =>
      `${Object.entries(HARDENED_SSHD)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ")}; no weak cipher, MAC or key exchange; first key exchange ${firstKex.join(" or ")}`,
    evaluate(out) {
      const cfg = parseSshdConfig(out.stdout);
      if (out.exitCode !== 0 || cfg.size === 0)
        return fail(`sshd -T gave no configuration (${ranBadly(out)})`);
      const wrong: string[] = [];
      for (const [k, v] of Object.entries(HARDENED_SSHD)) {
        const got = cfg.get(k)?.[0];
        if (got?.toLowerCase() !== v.toLowerCase()) wrong.push(`${k} ${got ?? "(absent)"} (expected ${v})`);
      }
      for (const [k, re] of Object.entries(WEAK)) {
        const weak = (cfg.get(k)?.[0] ?? "").split(",").filter((a) => re.test(a));
        if (!cfg.has(k)) wrong.push(`${k} absent`);
        if (weak.length) wrong.push(`${k} offers ${weak.join(",")}`);
      }
      const kex = (cfg.get("kexalgorithms")?.[0] ?? "").split(",")[0] ?? "";
      if (!firstKex.includes(kex))
        wrong.push(`first kex ${kex || "(none)"} (expected ${firstKex.join(" or ")})`);
      return wrong.length === 0
        ? pass(`all ${Object.keys(HARDENED_SSHD).length} values as hardened; first kex ${kex}`)
        : fail(excerpt(wrong.join("; ")));
    },
  };
}

/** The kernel parameters packer/common/harden_system.sh sets (a unit test keeps this equal to the script). */
export const HARDENED_SYSCTLS: Readonly<Record<string, string>> = {
  "net.ipv4.ip_forward": "0",
  "net.ipv6.conf.all.forwarding": "0",
  "net.ipv4.conf.all.send_redirects": "0",
  "net.ipv4.conf.default.send_redirects": "0",
  "net.ipv4.conf.all.accept_redirects": "0",
  "net.ipv4.conf.default.accept_redirects": "0",
  "net.ipv6.conf.all.accept_redirects": "0",
  "net.ipv6.conf.default.accept_redirects": "0",
  "net.ipv4.conf.all.secure_redirects": "0",
  "net.ipv4.conf.default.secure_redirects": "0",
  "net.ipv4.icmp_ignore_bogus_error_responses": "1",
  "net.ipv4.icmp_echo_ignore_broadcasts": "1",
  "net.ipv4.conf.all.rp_filter": "1",
  "net.ipv4.conf.default.rp_filter": "1",
  "net.ipv4.conf.all.accept_source_route": "0",
  "net.ipv4.conf.default.accept_source_route": "0",
  "net.ipv6.conf.all.accept_source_route": "0",
  "net.ipv6.conf.default.accept_source_route": "0",
  "net.ipv4.conf.all.log_martians": "1",
  "net.ipv4.conf.default.log_martians": "1",
  "net.ipv4.tcp_syncookies": "1",
  "kernel.randomize_va_space": "2",
  "kernel.yama.ptrace_scope": "1",
  "fs.suid_dumpable": "0",
  "kernel.kptr_restrict": "2",
  "kernel.dmesg_restrict": "1",
  "fs.protected_hardlinks": "1",
  "fs.protected_symlinks": "1",
};

export const sysctlsHardened: GuestCheck = {
  kind: "guest",
  name: "hardening: kernel parameters",
  command: `/usr/sbin/sysctl ${Object.keys(HARDENED_SYSCTLS).join(" ")}`,
  expected: () =>
    `${Object.keys(HARDENED_SYSCTLS).length} parameters as packer/common/harden_system.sh sets them`,
  evaluate(out) {
    const got = parseSysctl(out.stdout);
    const wrong = Object.entries(HARDENED_SYSCTLS)
      .filter(([k, v]) => got.get(k) !== v)
      .map(([k, v]) => `${k} = ${got.get(k) ?? "(unreadable)"} (expected ${v})`);
    return wrong.length === 0
      ? pass(`all ${got.size} parameters as hardened`)
      : fail(excerpt(`${wrong.join("; ")}${out.stderr.trim() ? `; ${out.stderr.trim()}` : ""}`));
  },
};

export const passwordLoginRefused: LoginCheck = {
  kind: "login",
  name: "hardening: no password login",
  login: { as: "seed-user", auth: "password" },
  expected: () => "refused; the server offers neither password nor keyboard-interactive authentication",
  evaluate(out) {
    const methods = parsePermissionDenied(out.stderr);
    if (out.exitCode === 0) return fail("a login without the key succeeded");
    if (!methods) return fail(`no authentication refusal from the server: ${ranBadly(out)}`);
    const evidence = `refused; the server offers: ${methods.join(", ") || "nothing"}`;
    return methods.some((m) => m === "password" || m === "keyboard-interactive")
      ? fail(evidence)
      : pass(evidence);
  },
};

export const rootLoginRefused: LoginCheck = {
  kind: "login",
  name: "hardening: root login refused",
  login: { as: "root", auth: "publickey" },
  expected: () =>
    "root refused with the run's key (Permission denied), even though cloud-init lists the key for root",
  evaluate(out) {
    const methods = parsePermissionDenied(out.stderr);
    if (out.exitCode === 255 && methods) return pass(`refused: Permission denied (${methods.join(",")})`);
    return fail(
      out.exitCode === 255
        ? `ssh failed without a refusal: ${ranBadly(out)}`
        : `root got a session (exit ${out.exitCode}): ${excerpt(`${out.stdout} ${out.stderr}`, 300)}`,
    );
  },
};

export const hardeningServices: GuestCheck = {
  kind: "guest",
  name: "hardening: audit, AppArmor and /dev/shm live",
  command:
    'printf \'auditd %s\\napparmor %s\\n\' "$(systemctl is-active auditd.service)" "$(systemctl is-active apparmor.service)"; ' +
    "printf 'lsm %s\\n' \"$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)\"; " +
    "printf 'shm %s\\n' \"$(findmnt -no OPTIONS /dev/shm)\"",
  expected: () =>
    "auditd active, apparmor active and enabled in the kernel (Y), /dev/shm nodev,nosuid,noexec",
  evaluate(out) {
    const kv = new Map(
      lines(out.stdout).map((l) => {
        const i = l.indexOf(" ");
        return i < 0 ? [l, ""] : [l.slice(0, i), l.slice(i + 1).trim()];
      }),
    );
    const shm = (kv.get("shm") ?? "").split(",");
    const wrong = [
      ...(kv.get("auditd") === "active" ? [] : [`auditd ${kv.get("auditd") || "(unknown)"}`]),
      ...(kv.get("apparmor") === "active" ? [] : [`apparmor ${kv.get("apparmor") || "(unknown)"}`]),
      ...(kv.get("lsm") === "Y" ? [] : [`AppArmor in the kernel: ${kv.get("lsm") || "(absent)"}`]),
      ...["nodev", "nosuid", "noexec"].filter((o) => !shm.includes(o)).map((o) => `/dev/shm without ${o}`),
    ];
    const evidence = `auditd ${kv.get("auditd") ?? "?"}, apparmor ${kv.get("apparmor") ?? "?"} (kernel ${kv.get("lsm") ?? "?"}), /dev/shm ${kv.get("shm") ?? "?"}`;
    return wrong.length === 0 ? pass(evidence) : fail(`${wrong.join("; ")} (${evidence})`);
  },
};

export const rootFilesystemGrown: GuestCheck = {
  kind: "guest",
  name: "disk: root filesystem grown to the clone's disk",
  command: "findmnt -bno SIZE,SOURCE /; lsblk -bdno NAME,SIZE",
  expected: (ctx) =>
    `root filesystem larger than the template's whole disk (${ctx.templateDiskBytes} bytes) on a ${ctx.cloneDiskBytes}-byte clone disk`,
  evaluate(out, ctx) {
    const [first = ""] = lines(out.stdout);
    const m = /^\s*(\d+)\s+(\S+)/.exec(first);
    if (!m) return fail(`no size for / (${ranBadly(out)}): ${excerpt(out.stdout, 200)}`);
    const size = Number(m[1]);
    const evidence = `/ on ${m[2]} is ${size} bytes; disks: ${lines(out.stdout).slice(1).join(", ")}`;
    return size > ctx.templateDiskBytes ? pass(evidence) : fail(evidence);
  },
};

export const noCdromSource: GuestCheck = {
  kind: "guest",
  name: "apt: no CD-ROM source",
  command:
    "for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do " +
    '[ -f "$f" ] || continue; echo "file $f"; grep -nE \'^[^#]*cdrom:\' "$f" | sed "s|^|cdrom $f:|"; done; true',
  expected: () => "apt sources present, none of them a cdrom: entry",
  evaluate(out) {
    const ls = lines(out.stdout);
    const files = ls.filter((l) => l.startsWith("file ")).map((l) => l.slice(5));
    const cdrom = ls.filter((l) => l.startsWith("cdrom ")).map((l) => l.slice(6));
    if (files.length === 0) return fail("no apt source file at all");
    return cdrom.length === 0
      ? pass(`no cdrom: entry in ${files.join(", ")}`)
      : fail(excerpt(`cdrom: entries: ${cdrom.join("; ")}`));
  },
};

/**
 * The XCP-ng guest agent installed and its unit enabled (not started: it runs only on Xen, and QEMU is not Xen).
 * @param packages the agent's packages in this family, with the unit each one ships
 */
export function guestAgentEnabled(packages: readonly { pkg: string; unit: string }[]): GuestCheck {
  return {
    kind: "guest",
    name: "guest agent: installed and enabled",
    command: packages
      .map(
        ({ pkg, unit }) =>
          `printf '%s %s %s\\n' ${pkg} "$(dpkg-query -W -f='\${Status}' ${pkg} 2>/dev/null | tr ' ' -)" "$(systemctl is-enabled ${unit} 2>/dev/null)"`,
      )
      .join("; "),
    expected: () =>
      `one of ${packages.map((p) => p.pkg).join(", ")} installed with its unit enabled (it runs only on Xen)`,
    skip: (ctx) =>
      ctx.guestAgent.expected ? undefined : notApplicable(`not applicable: ${ctx.guestAgent.reason}`),
    evaluate(out) {
      const rows = lines(out.stdout).map((l) => l.split(" "));
      const ok = rows.find(
        ([, status, enabled]) => status === "install-ok-installed" && enabled === "enabled",
      );
      const evidence = rows
        .map(([p, st, en]) => `${p}: ${st || "not installed"}, unit ${en || "absent"}`)
        .join("; ");
      return ok ? pass(evidence) : fail(evidence || ranBadly(out));
    },
  };
}
