#!/usr/bin/env bash
# Leaves no build secret and no per-machine identity in the template: no password hash for any account, no
# build user's sudo rule or keys, no SSH host keys (a first-boot unit regenerates them), an empty machine-id
# (systemd generates one at first boot), no shell history, no cloud-init instance state, no installer logs
# (they hold the preseed/autoinstall answers), no apt caches, no DHCP leases, no random seed.
#
# Environment: BUILD_USER, the account Packer logged in with. When it still has processes (the Packer
# session running this script) it is locked and disabled here and deleted at first boot; otherwise deleted.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "${XCPNG_LIB:-$(dirname "$0")/lib.sh}"
require_root

build_user=${BUILD_USER:-}

# --- First-boot unit: SSH host keys, and the build user if it could not be deleted now ------------------
write_file /usr/local/sbin/xcpng-firstboot 0755 <<'EOF'
#!/bin/sh
# Written by xcpng-templates (packer/common/cleanup.sh); run once per clone by xcpng-firstboot.service.
set -eu
# Host keys were removed from the template so that no two clones share them. cloud-init (ordered before this
# unit) makes them on a clone's first boot; this covers a clone whose cloud-init is off. Generating them before
# cloud-init, as this unit once did, cost every clone a second set (cloud-init deletes and remakes them).
[ -e /etc/ssh/ssh_host_ed25519_key ] || ssh-keygen -A
if [ -s /etc/xcpng-templates/delete-user ]; then
  user=$(cat /etc/xcpng-templates/delete-user)
  if id "$user" >/dev/null 2>&1; then userdel -r "$user" 2>/dev/null || userdel "$user"; fi
  rm -f /etc/xcpng-templates/delete-user
fi
mkdir -p /var/lib/xcpng-templates
: >/var/lib/xcpng-templates/firstboot.done
EOF
write_file /etc/systemd/system/xcpng-firstboot.service 0644 <<'EOF'
# Written by xcpng-templates (packer/common/cleanup.sh).
[Unit]
Description=Per-clone initialisation of an xcpng-templates template (SSH host keys, build user removal)
DefaultDependencies=no
After=local-fs.target cloud-init.service
Before=ssh.service sshd.service
ConditionPathExists=!/var/lib/xcpng-templates/firstboot.done

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/xcpng-firstboot
RemainAfterExit=yes

[Install]
WantedBy=multi-user.target ssh.service
EOF
enable_unit_offline() {
  # Enable only: starting it on the build VM would recreate the host keys just removed.
  systemctl is-enabled --quiet xcpng-firstboot.service 2>/dev/null ||
    systemctl enable xcpng-firstboot.service >/dev/null 2>&1 ||
    die "systemctl enable xcpng-firstboot.service failed"
}
enable_unit_offline

# --- Accounts: no password hash anywhere, build user gone or disabled --------------------------------------
# Any crypt(3) hash ("$id$...") is replaced by "!*": locked, and no hash left to crack.
while IFS=: read -r user hash _; do
  case "$hash" in
  \$* | \!\$*) usermod -p '!*' "$user" ;;
  esac
done </etc/shadow
remove_paths /etc/sudoers.d/90-xcpng-build
if [ -n "$build_user" ] && id "$build_user" >/dev/null 2>&1; then
  # In a chroot nobody is logged in; pgrep there would see the host's processes, so it is not asked.
  if live_system && pgrep -u "$build_user" >/dev/null 2>&1; then
    # Packer is logged in as this user right now: disable it, delete it at first boot.
    home=$(getent passwd "$build_user" | cut -d: -f6)
    [ "$(getent passwd "$build_user" | cut -d: -f7)" = /usr/sbin/nologin ] || usermod -s /usr/sbin/nologin "$build_user"
    [ "$(getent shadow "$build_user" | cut -d: -f8)" = 1 ] || usermod -e 1 "$build_user"
    remove_paths "$home/.ssh" "$home/.bash_history" "$home/.sudo_as_admin_successful" "$home/.cache"
    mkdir -p /etc/xcpng-templates
    printf '%s\n' "$build_user" | write_file /etc/xcpng-templates/delete-user 0600
    log "build user $build_user disabled now, deleted at first boot"
  else
    userdel -r "$build_user" 2>/dev/null || userdel "$build_user"
    log "build user $build_user deleted"
  fi
fi
# usermod/userdel keep the previous file as shadow- (and Debian's cron job as /var/backups/shadow.bak):
# those still hold the hashes removed above.
for f in /etc/shadow /etc/gshadow; do
  if [ -f "$f" ] && [ -f "$f-" ] && ! cmp -s "$f" "$f-"; then cp -p "$f" "$f-"; fi
done
remove_paths /var/backups/shadow.bak /var/backups/gshadow.bak
# Keys injected during the build; clones get theirs from cloud-init.
remove_paths /root/.ssh/authorized_keys

# --- Identity of this machine -------------------------------------------------------------------------------
remove_paths /etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_*_key.pub /var/lib/xcpng-templates/firstboot.done
# Empty, not absent: systemd then treats the first boot of each clone as a first boot and writes a new id.
if [ -e /etc/machine-id ]; then truncate_file /etc/machine-id; else write_file /etc/machine-id 0444 </dev/null; fi
set_mode /etc/machine-id 0444 root:root
if [ -f /var/lib/dbus/machine-id ] && [ ! -L /var/lib/dbus/machine-id ]; then
  rm -f /var/lib/dbus/machine-id
fi
if [ -d /var/lib/dbus ] && [ ! -e /var/lib/dbus/machine-id ]; then ln -s /etc/machine-id /var/lib/dbus/machine-id; fi
remove_paths /var/lib/systemd/random-seed /var/lib/urandom/random-seed /var/lib/systemd/credential.secret
remove_paths /var/lib/dhcp/*.leases /var/lib/dhcp/dhclient* /var/lib/NetworkManager/*.lease
remove_paths /etc/udev/rules.d/70-persistent-net.rules

# --- cloud-init: no instance state, so each clone runs it as a new instance ----------------------------------
if command -v cloud-init >/dev/null 2>&1; then
  [ -z "$(ls -A /var/lib/cloud 2>/dev/null)" ] || cloud-init clean --logs >/dev/null
fi
remove_paths /var/lib/cloud/* /var/log/cloud-init.log /var/log/cloud-init-output.log

# --- Installer answers and logs, shell history, temporary files -----------------------------------------------
remove_paths /var/log/installer /var/lib/installer /root/.bash_history /root/.lesshst /root/.viminfo /root/.wget-hsts
for h in /home/*; do
  [ -d "$h" ] && remove_paths "$h/.bash_history" "$h/.lesshst" "$h/.viminfo"
done
remove_paths /tmp/* /var/tmp/*

# --- Logs: emptied, not deleted (services expect their files and modes) -------------------------------------------
remove_paths /var/log/journal/*
while IFS= read -r -d '' f; do
  truncate_file "$f"
done < <(find /var/log -type f -print0)
find /var/log -type f \( -name '*.gz' -o -name '*.[0-9]' -o -name '*.old' \) -delete

# --- apt caches (clones run apt-get update first) ------------------------------------------------------------------
remove_paths /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/* /var/cache/apt/*.bin /var/lib/apt/lists/*
remove_paths /var/cache/debconf/*-old /var/lib/dpkg/*-old

log "cleaned: no password hashes, no host keys, empty machine-id, no history, no cloud-init state, no apt caches"
