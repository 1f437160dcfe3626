#!/usr/bin/env bash
# SSH server hardening after the CIS Debian Linux 12 Benchmark v1.1.0, section 5.1 (Level 1 server unless
# noted). The settings go into a drop-in read before anything else: Debian's and Ubuntu's sshd_config start
# with `Include /etc/ssh/sshd_config.d/*.conf`, and for sshd the first value of a keyword wins, so this file
# also beats cloud-init's 50-cloud-init.conf (which may say `PasswordAuthentication yes`).
#
# sshd is NOT restarted: during a Packer build the communicator is logged in with the build password, and
# the template boots with this configuration anyway. `sshd -t` validates it instead.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "${XCPNG_LIB:-$(dirname "$0")/lib.sh}"
require_root

ensure_packages openssh-server

# Keeps the algorithms of a preference list that this OpenSSH supports (`ssh -Q <kind>`), in order: OpenSSH
# 9.2 (Debian 12) rejects a config naming an algorithm it lacks, while OpenSSH 9.6+/10 (Ubuntu 24.04,
# Debian 13) add post-quantum key exchanges we want first.
supported() {
  local kind=$1 out="" a
  shift
  local have
  have=$(ssh -Q "$kind")
  for a in "$@"; do
    if grep -qxF "$a" <<<"$have"; then out+="${out:+,}$a"; fi
  done
  [ -n "$out" ] || die "none of the preferred $kind algorithms is supported by this OpenSSH ($(ssh -V 2>&1))"
  printf '%s' "$out"
}

# 5.1.6 strong ciphers only (no CBC, no 3DES, no arcfour).
ciphers=$(supported cipher chacha20-poly1305@openssh.com aes256-gcm@openssh.com aes128-gcm@openssh.com \
  aes256-ctr aes192-ctr aes128-ctr)
# 5.1.15 MACs: encrypt-then-MAC SHA-2 first; no MD5, no SHA-1, no 64-bit umac.
macs=$(supported mac hmac-sha2-512-etm@openssh.com hmac-sha2-256-etm@openssh.com umac-128-etm@openssh.com \
  hmac-sha2-512 hmac-sha2-256)
# 5.1.12 key exchange: no SHA-1 groups, no NIST-curve ECDH; hybrid post-quantum where available.
kex=$(supported kex mlkem768x25519-sha256 sntrup761x25519-sha512 sntrup761x25519-sha512@openssh.com \
  curve25519-sha256 curve25519-sha256@libssh.org diffie-hellman-group16-sha512 \
  diffie-hellman-group18-sha512 diffie-hellman-group-exchange-sha256)

write_file /etc/issue.net 0644 <<'EOF'
Authorized uses only. All activity may be monitored and reported.
EOF

write_file /etc/ssh/sshd_config.d/10-xcpng-hardening.conf 0600 <<EOF
# Written by xcpng-templates (packer/common/harden_ssh.sh): CIS Debian 12 v1.1.0 section 5.1.
# Read before every other drop-in; for sshd the first value of a keyword wins.
LogLevel INFO
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitEmptyPasswords no
PubkeyAuthentication yes
HostbasedAuthentication no
IgnoreRhosts yes
PermitUserEnvironment no
GSSAPIAuthentication no
UsePAM yes
MaxAuthTries 4
MaxSessions 10
MaxStartups 10:30:60
LoginGraceTime 60
ClientAliveInterval 300
ClientAliveCountMax 3
X11Forwarding no
Banner /etc/issue.net
Ciphers $ciphers
MACs $macs
KexAlgorithms $kex
EOF

# 5.1.1 sshd_config and its drop-ins: root-owned, not readable by others.
set_mode /etc/ssh/sshd_config 0600 root:root
set_mode /etc/ssh/sshd_config.d 0700 root:root
for f in /etc/ssh/sshd_config.d/*.conf; do
  [ -f "$f" ] && set_mode "$f" 0600 root:root
done
# 5.1.2 / 5.1.3 host keys (absent after cleanup.sh; regenerated at first boot with the right modes).
for f in /etc/ssh/ssh_host_*_key; do
  [ -f "$f" ] && set_mode "$f" 0600 root:root
done
for f in /etc/ssh/ssh_host_*_key.pub; do
  [ -f "$f" ] && set_mode "$f" 0644 root:root
done

# Validate. sshd needs its privilege separation directory and at least one host key to parse the config;
# when the image has none (already cleaned), check against a throwaway key.
mkdir -p /run/sshd
if compgen -G '/etc/ssh/ssh_host_*_key' >/dev/null; then
  sshd -t || die "sshd -t rejected the hardened configuration (see above)"
else
  tmpkey=$(mktemp -d)
  ssh-keygen -q -t ed25519 -N '' -f "$tmpkey/key"
  sshd -t -h "$tmpkey/key" || {
    rm -rf "$tmpkey"
    die "sshd -t rejected the hardened configuration (see above)"
  }
  rm -rf "$tmpkey"
fi
log "sshd hardened: root login and password authentication off, $(tr ',' '\n' <<<"$kex" | wc -l) key exchanges"
