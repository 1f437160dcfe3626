# shellcheck shell=bash
# Helpers shared by the provisioning scripts. Sourced, never run: each script does
#   . "${XCPNG_LIB:-$(dirname "$0")/lib.sh}"
# Packer uploads every script alone to /tmp, so the xenserver-iso template uploads this file first and sets
# XCPNG_LIB; packer/local/chroot-run.sh copies it next to the scripts instead.
#
# Every helper is idempotent: it changes a file only when the content or mode differs, so a second run of a
# script leaves the filesystem byte-for-byte identical (packer/hardening.integ.test.ts checks exactly that).

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() {
  printf '[%s] ERROR: %s\n' "$(basename "$0")" "$*" >&2
  exit 1
}

require_root() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (it edits /etc); run it through sudo or packer's execute_command"
}

# True when services of this root filesystem can be started: systemd is PID 1 here (sd_booted(3): the
# directory /run/systemd/system exists) and we are not inside a chroot. packer/local/chroot-run.sh sets
# XCPNG_CHROOT=1; /proc/1/root is compared too where the kernel lets us read it.
live_system() {
  [ "${XCPNG_CHROOT:-0}" = 1 ] && return 1
  [ -d /run/systemd/system ] || return 1
  local here init
  here=$(stat -c '%d:%i' / 2>/dev/null) || return 1
  if init=$(stat -c '%d:%i' /proc/1/root/. 2>/dev/null); then
    [ "$here" = "$init" ] || return 1
  fi
  return 0
}

# Enables a unit for the next boot; starts it only on a live system. `systemctl enable` works offline
# (it only creates symlinks), which is what a chroot build needs.
enable_unit() {
  local unit=$1
  if ! systemctl is-enabled --quiet "$unit" 2>/dev/null; then
    systemctl enable "$unit" >/dev/null 2>&1 || die "systemctl enable $unit failed"
  fi
  if live_system; then
    systemctl start "$unit" || log "warning: could not start $unit now; it is enabled for the next boot"
  fi
}

# Installs packages that are not installed yet. When all are present it runs nothing (no apt-get update,
# no dpkg log line), which keeps a second run of a script a no-op.
ensure_packages() {
  local missing=() p
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
      missing+=("$p")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt_get update
  apt_get install --no-install-recommends "${missing[@]}"
}

# apt-get with the options every unattended run needs: keep existing config files, no prompts.
apt_get() {
  DEBIAN_FRONTEND=noninteractive apt-get -y -q \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    -o Dpkg::Use-Pty=0 "$@"
}

# Writes stdin to a file when its content or mode differs (atomic rename; owner root:root unless given).
#   write_file PATH MODE [OWNER:GROUP] <<'EOF' ... EOF
write_file() {
  local path=$1 mode=$2 owner=${3:-root:root} tmp
  tmp=$(mktemp "${path%/*}/.xcpng.XXXXXX" 2>/dev/null) || {
    mkdir -p "${path%/*}"
    tmp=$(mktemp "${path%/*}/.xcpng.XXXXXX")
  }
  cat >"$tmp"
  if [ -f "$path" ] && cmp -s "$tmp" "$path"; then
    rm -f "$tmp"
  else
    chmod "$mode" "$tmp"
    chown "$owner" "$tmp"
    mv -f "$tmp" "$path"
  fi
  set_mode "$path" "$mode" "$owner"
}

# Sets mode and owner only when they differ (so ctime, and the manifest, stay put on a second run).
set_mode() {
  local path=$1 mode=$2 owner=${3:-}
  [ -e "$path" ] || return 0
  if [ "$(stat -c '%a' "$path")" != "$(printf '%o' "$((8#$mode))")" ]; then
    chmod "$mode" "$path"
  fi
  if [ -n "$owner" ] && [ "$(stat -c '%U:%G' "$path")" != "$owner" ]; then
    chown "$owner" "$path"
  fi
}

# Removes files and directories given as arguments (globs already expanded by the caller); quiet when absent.
remove_paths() {
  local p
  for p in "$@"; do
    [ -e "$p" ] || [ -L "$p" ] || continue
    rm -rf -- "$p"
  done
}

# Empties a file without creating it (logs, machine-id): content goes, inode and mode stay.
truncate_file() {
  local f=$1
  [ -f "$f" ] || return 0
  [ -s "$f" ] && : >"$f"
  return 0
}

# The OS of this root filesystem, from /etc/os-release (ID and VERSION_ID), e.g. "debian 12".
os_id() { (. /etc/os-release && printf '%s\n' "$ID"); }
os_version_id() { (. /etc/os-release && printf '%s\n' "${VERSION_ID:-}"); }

# Installs the XCP-ng guest agent (xe-guest-utilities) from the XCP-ng guest tools ISO when the builder
# attached it (tools_iso_name, usually "guest-tools.iso"). The ISO ships Linux/xe-guest-utilities_*_<arch>.deb.
# Returns 1 when no attached CD carries the package.
install_agent_from_tools_iso() {
  local arch dev mnt deb found=1
  arch=$(dpkg --print-architecture)
  command -v lsblk >/dev/null || return 1
  mnt=$(mktemp -d)
  while read -r dev; do
    [ -b "/dev/$dev" ] || continue
    mount -o ro "/dev/$dev" "$mnt" 2>/dev/null || continue
    for deb in "$mnt"/Linux/xe-guest-utilities_*_"$arch".deb; do
      [ -f "$deb" ] || continue
      log "installing the guest agent from the tools ISO on /dev/$dev: ${deb##*/}"
      cp "$deb" /tmp/
      apt_get install "/tmp/${deb##*/}"
      rm -f "/tmp/${deb##*/}"
      found=0
      break
    done
    umount "$mnt"
    [ "$found" = 0 ] && break
  done < <(lsblk -rno NAME,TYPE | awk '$2 == "rom" { print $1 }')
  rmdir "$mnt"
  return "$found"
}

# Installs the XCP-ng guest agent so that VM_guest_metrics reports the OS, its version and IP addresses:
# the first of the given distribution packages that the archive offers, else the package on the attached
# guest tools ISO. XCPNG_GUEST_AGENT=optional turns "not found" into a warning (the local chroot build has
# neither: Debian 12's archive has no agent, and no ISO is attached).
install_guest_agent() {
  local p
  for p in "$@"; do
    if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
      log "guest agent already installed: $p"
      enable_guest_agent_units
      return 0
    fi
  done
  # apt-cache only knows packages from downloaded lists (cleanup.sh removes them).
  compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null || apt_get update
  for p in "$@"; do
    if apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
      ensure_packages "$p"
      enable_guest_agent_units
      return 0
    fi
  done
  if install_agent_from_tools_iso; then
    enable_guest_agent_units
    return 0
  fi
  if [ "${XCPNG_GUEST_AGENT:-required}" = optional ]; then
    log "warning: no guest agent installed: none of [$*] is in this system's archive and no XCP-ng guest tools ISO is attached"
    return 0
  fi
  die "no guest agent: none of [$*] is in this system's apt sources and no attached CD has Linux/xe-guest-utilities_*.deb; attach the pool's guest tools ISO (variable tools_iso_name) or add a repository that has one of those packages"
}

enable_guest_agent_units() {
  local unit
  for unit in xe-linux-distribution.service xen-guest-agent.service; do
    if [ -f "/lib/systemd/system/$unit" ] || [ -f "/usr/lib/systemd/system/$unit" ] || [ -f "/etc/init.d/${unit%.service}" ]; then
      enable_unit "$unit"
    fi
  done
}

# cloud-init data sources for XCP-ng clones: NoCloud (Xen Orchestra's cloud-config drive, label "cidata"),
# ConfigDrive (OpenStack-style "config-2"), and None so that a clone without a drive still boots with DHCP on
# its first NIC. ds-identify's default policy disables cloud-init when no data source is found
# (notfound=disabled), which would leave such a clone without network: enable it instead.
configure_cloud_init() {
  [ -d /etc/cloud ] || return 0
  write_file /etc/cloud/cloud.cfg.d/90-xcpng-datasources.cfg 0644 <<'CFG'
# Written by xcpng-templates: data sources an XCP-ng clone may carry.
datasource_list: [ NoCloud, ConfigDrive, None ]
CFG
  write_file /etc/cloud/ds-identify.cfg 0644 <<'CFG'
# Written by xcpng-templates: run cloud-init (data source None, DHCP fallback) even without a config drive.
policy: search,found=all,maybe=all,notfound=enabled
CFG
  # Found by booting clones (lib/acceptance checks "ssh host keys" and "hostname"): cloud-init up to 22.4
  # (Debian 12) generates a DSA host key, which OpenSSH no longer offers; and a clone's hostname must resolve
  # (sudo warns "unable to resolve host" otherwise): `localhost` keeps a 127.0.1.1 line for it in /etc/hosts
  # without rewriting the rest of the file.
  write_file /etc/cloud/cloud.cfg.d/91-xcpng-clone.cfg 0644 <<'CFG'
# Written by xcpng-templates: what every clone gets at its first boot.
ssh_genkeytypes: [rsa, ecdsa, ed25519]
manage_etc_hosts: localhost
CFG
}
