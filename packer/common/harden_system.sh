#!/usr/bin/env bash
# System hardening after the CIS Debian Linux 12 Benchmark v1.1.0, the Level 1 server items that belong in a
# template (item numbers in the comments). Items that depend on how a clone is used (firewall policy,
# separate /var partitions, bootloader password, faillock) are waived in packer/README.md with the reason.
#
# Works on a running VM and inside a chroot: files are written and units enabled in both; settings are
# applied to the running kernel (sysctl) and services started only on a live system (lib.sh live_system).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "${XCPNG_LIB:-$(dirname "$0")/lib.sh}"
require_root

ensure_packages auditd apparmor unattended-upgrades libpam-pwquality sudo

# --- 3.3.x network parameters, 1.5.x kernel hardening --------------------------------------------------
write_file /etc/sysctl.d/60-xcpng-hardening.conf 0644 <<'EOF'
# Written by xcpng-templates (packer/common/harden_system.sh): CIS Debian 12 v1.1.0 3.3.x and 1.5.x.
# 3.3.1 no IP forwarding (a template is not a router; a clone that routes overrides this in a later file)
net.ipv4.ip_forward = 0
net.ipv6.conf.all.forwarding = 0
# 3.3.2 no ICMP redirects sent, 3.3.5 none accepted, 3.3.6 no secure redirects
net.ipv4.conf.all.send_redirects = 0
net.ipv4.conf.default.send_redirects = 0
net.ipv4.conf.all.accept_redirects = 0
net.ipv4.conf.default.accept_redirects = 0
net.ipv6.conf.all.accept_redirects = 0
net.ipv6.conf.default.accept_redirects = 0
net.ipv4.conf.all.secure_redirects = 0
net.ipv4.conf.default.secure_redirects = 0
# 3.3.3 bogus ICMP responses ignored, 3.3.4 broadcast ICMP ignored
net.ipv4.icmp_ignore_bogus_error_responses = 1
net.ipv4.icmp_echo_ignore_broadcasts = 1
# 3.3.7 reverse path filtering, 3.3.8 no source-routed packets, 3.3.9 suspicious packets logged
net.ipv4.conf.all.rp_filter = 1
net.ipv4.conf.default.rp_filter = 1
net.ipv4.conf.all.accept_source_route = 0
net.ipv4.conf.default.accept_source_route = 0
net.ipv6.conf.all.accept_source_route = 0
net.ipv6.conf.default.accept_source_route = 0
net.ipv4.conf.all.log_martians = 1
net.ipv4.conf.default.log_martians = 1
# 3.3.10 TCP SYN cookies
net.ipv4.tcp_syncookies = 1
# 1.5.1 ASLR, 1.5.2 ptrace restricted to descendants, 1.5.3 no core dumps of setuid programs
kernel.randomize_va_space = 2
kernel.yama.ptrace_scope = 1
fs.suid_dumpable = 0
# Kernel pointers and the kernel log hidden from unprivileged users; link protections
kernel.kptr_restrict = 2
kernel.dmesg_restrict = 1
fs.protected_hardlinks = 1
fs.protected_symlinks = 1
EOF
if live_system; then
  sysctl --system >/dev/null || log "warning: sysctl --system reported errors; the file applies at next boot"
fi

# --- 1.1.1.x unused filesystem kernel modules not loadable ---------------------------------------------
# squashfs (snaps) and udf/iso9660/vfat (config drives, ISOs) stay: clones need them.
{
  echo "# Written by xcpng-templates (packer/common/harden_system.sh): CIS Debian 12 v1.1.0 1.1.1.x."
  for m in cramfs freevxfs hfs hfsplus jffs2 usb-storage; do
    printf 'install %s /bin/false\nblacklist %s\n' "$m" "$m"
  done
} | write_file /etc/modprobe.d/60-xcpng-unused-filesystems.conf 0644

# --- 1.5.x core dumps restricted ------------------------------------------------------------------------
write_file /etc/security/limits.d/60-xcpng-coredump.conf 0644 <<'EOF'
# Written by xcpng-templates: CIS Debian 12 v1.1.0 1.5.3, no core dumps.
* hard core 0
EOF
write_file /etc/systemd/coredump.conf.d/60-xcpng.conf 0644 <<'EOF'
[Coredump]
Storage=none
ProcessSizeMax=0
EOF

# --- 1.3.1.x AppArmor enabled at boot (Debian and Ubuntu kernels enable the LSM by default) --------------
enable_unit apparmor.service

# --- 1.2.x / patching: unattended security upgrades ------------------------------------------------------
# The distribution's 50unattended-upgrades already limits origins to the security suites; these two files
# switch the daily run on and say explicitly that a clone is never rebooted behind its owner's back.
write_file /etc/apt/apt.conf.d/20auto-upgrades 0644 <<'EOF'
APT::Periodic::Update-Package-Lists "1";
APT::Periodic::Unattended-Upgrade "1";
EOF
write_file /etc/apt/apt.conf.d/52xcpng-unattended-upgrades 0644 <<'EOF'
// Written by xcpng-templates (packer/common/harden_system.sh).
Unattended-Upgrade::Automatic-Reboot "false";
Unattended-Upgrade::Remove-Unused-Kernel-Packages "true";
Unattended-Upgrade::Remove-Unused-Dependencies "true";
EOF
enable_unit apt-daily.timer
enable_unit apt-daily-upgrade.timer

# --- 6.2.x auditd: enabled, with the identity, privilege, time and module rules --------------------------
arch_rules() {
  local syscalls=$1 key=$2
  echo "-a always,exit -F arch=b64 -S $syscalls -k $key"
  if [ "$(dpkg --print-architecture)" = amd64 ]; then echo "-a always,exit -F arch=b32 -S $syscalls -k $key"; fi
}
{
  echo "## Written by xcpng-templates (packer/common/harden_system.sh): CIS Debian 12 v1.1.0 6.2.3.x."
  echo "-w /etc/group -p wa -k identity"
  echo "-w /etc/passwd -p wa -k identity"
  echo "-w /etc/gshadow -p wa -k identity"
  echo "-w /etc/shadow -p wa -k identity"
  echo "-w /etc/security/opasswd -p wa -k identity"
  echo "-w /etc/sudoers -p wa -k scope"
  echo "-w /etc/sudoers.d -p wa -k scope"
  echo "-w /var/log/sudo.log -p wa -k sudo_log_file"
  arch_rules adjtimex,settimeofday,clock_settime time-change
  echo "-w /etc/localtime -p wa -k time-change"
  arch_rules sethostname,setdomainname system-locale
  echo "-w /etc/issue -p wa -k system-locale"
  echo "-w /etc/issue.net -p wa -k system-locale"
  echo "-w /etc/hosts -p wa -k system-locale"
  echo "-w /etc/hostname -p wa -k system-locale"
  echo "-w /var/log/lastlog -p wa -k logins"
  echo "-w /var/run/faillock -p wa -k logins"
  echo "-w /etc/apparmor/ -p wa -k MAC-policy"
  echo "-w /etc/apparmor.d/ -p wa -k MAC-policy"
  arch_rules init_module,finit_module,delete_module kernel_modules
} | write_file /etc/audit/rules.d/60-xcpng.rules 0640
enable_unit auditd.service

# --- 5.2.x sudo: a pty per command, a log file, re-authentication after 15 minutes ------------------------
write_file /etc/sudoers.d/60-xcpng-hardening 0440 <<'EOF'
# Written by xcpng-templates (packer/common/harden_system.sh): CIS Debian 12 v1.1.0 5.2.2, 5.2.3, 5.2.6.
Defaults use_pty
Defaults logfile="/var/log/sudo.log"
Defaults timestamp_timeout=15
EOF
visudo -cqf /etc/sudoers.d/60-xcpng-hardening || die "visudo rejected /etc/sudoers.d/60-xcpng-hardening"

# --- 5.3.3.2.x password quality (clones that do set passwords), 5.4.3.x shell timeout and umask ------------
write_file /etc/security/pwquality.conf.d/60-xcpng.conf 0644 <<'EOF'
# Written by xcpng-templates: CIS Debian 12 v1.1.0 5.3.3.2.x.
minlen = 14
minclass = 4
dictcheck = 1
enforce_for_root
EOF
write_file /etc/profile.d/60-xcpng-shell.sh 0644 <<'EOF'
# Written by xcpng-templates: CIS Debian 12 v1.1.0 5.4.3.2 (idle shell timeout) and 5.4.3.3 (umask 027).
umask 027
if [ -z "${TMOUT:-}" ]; then
  readonly TMOUT=900
  export TMOUT
fi
EOF
if grep -qE '^UMASK[[:space:]]+' /etc/login.defs && ! grep -qE '^UMASK[[:space:]]+027$' /etc/login.defs; then
  sed -i -E 's/^UMASK[[:space:]]+.*/UMASK\t\t027/' /etc/login.defs
fi

# --- 6.1.x journald: persistent, compressed --------------------------------------------------------------
write_file /etc/systemd/journald.conf.d/60-xcpng.conf 0644 <<'EOF'
[Journal]
Storage=persistent
Compress=yes
EOF

# --- 1.1.2.x /dev/shm without device files, setuid programs or executables --------------------------------
if ! grep -qE '^[^#[:space:]]+[[:space:]]+/dev/shm[[:space:]]' /etc/fstab 2>/dev/null; then
  echo 'tmpfs /dev/shm tmpfs defaults,nodev,nosuid,noexec 0 0' >>/etc/fstab
fi

# --- 1.6.x warning banners without OS details --------------------------------------------------------------
write_file /etc/issue 0644 <<'EOF'
Authorized uses only. All activity may be monitored and reported.
EOF
write_file /etc/issue.net 0644 <<'EOF'
Authorized uses only. All activity may be monitored and reported.
EOF

# --- 7.1.x permissions of sensitive files ---------------------------------------------------------------------
for f in /etc/passwd /etc/passwd- /etc/group /etc/group-; do set_mode "$f" 0644 root:root; done
for f in /etc/shadow /etc/shadow- /etc/gshadow /etc/gshadow-; do set_mode "$f" 0640 root:shadow; done
set_mode /etc/crontab 0600 root:root
for d in /etc/cron.hourly /etc/cron.daily /etc/cron.weekly /etc/cron.monthly /etc/cron.d; do
  set_mode "$d" 0700 root:root
done
set_mode /boot/grub/grub.cfg 0600 root:root
# 7.2.x home directories not readable by other users.
while IFS=: read -r _user _ uid _ _ home _; do
  if [ "$uid" -ge 1000 ] && [ "$uid" -lt 60000 ] && [ -d "$home" ]; then set_mode "$home" 0750; fi
done </etc/passwd

# --- 1.5.x prelink and crash reporters absent ---------------------------------------------------------------
for p in prelink apport; do
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then apt_get purge "$p"; fi
done

log "system hardened (sysctl, modules, auditd, AppArmor, unattended-upgrades, sudo, file modes)"
