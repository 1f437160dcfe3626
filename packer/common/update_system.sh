#!/usr/bin/env bash
# Brings the image up to date with its distribution's archive (security fixes included) and installs what
# every template needs: sudo, SSH, cloud-init for clones, growpart to grow the root partition on first boot.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "${XCPNG_LIB:-$(dirname "$0")/lib.sh}"
require_root

export DEBIAN_FRONTEND=noninteractive

# The installer's CD-ROM entry makes every later `apt-get update` fail once the ISO is detached.
if [ -f /etc/apt/sources.list ] && grep -q '^deb cdrom:' /etc/apt/sources.list; then
  sed -i 's/^deb cdrom:/# deb cdrom:/' /etc/apt/sources.list
fi

# Lists are refreshed only when older than an hour (or absent), so a second run changes nothing.
stamp=/var/lib/apt/periodic/update-success-stamp
lists_fresh() {
  compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null || return 1
  [ -f "$stamp" ] && [ -n "$(find "$stamp" -mmin -60)" ]
}
if ! lists_fresh; then
  apt_get update
  mkdir -p "${stamp%/*}"
  touch "$stamp"
fi

# Upgrade only when something is upgradable: `apt-get dist-upgrade` with nothing to do still writes logs.
if apt-get -s dist-upgrade | grep -q '^Inst '; then
  apt_get dist-upgrade
  apt_get autoremove --purge
fi

ensure_packages sudo openssh-server ca-certificates cloud-init cloud-guest-utils

log "system up to date: $(os_id) $(os_version_id), kernel packages: $(dpkg-query -W -f='${Package} ' 'linux-image-*' 2>/dev/null | tr -s ' ')"
