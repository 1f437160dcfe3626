#!/usr/bin/env bash
# Ubuntu specifics: remove what subiquity leaves for the build machine only (its cloud-init config holds the
# autoinstall identity, with the build user's password hash; its netplan file is bound to the build NIC's MAC),
# keep cloud-init enabled for clones, and stop the MOTD from fetching news.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../common/lib.sh
. "${XCPNG_LIB:-$(dirname "$0")/../common/lib.sh}"
require_root

[ "$(os_id)" = ubuntu ] || die "this script is for Ubuntu, but /etc/os-release says ID=$(os_id)"

remove_paths /etc/cloud/cloud.cfg.d/99-installer.cfg /etc/cloud/cloud.cfg.d/90-installer-network.cfg \
  /etc/cloud/cloud.cfg.d/subiquity-disable-cloudinit-networking.cfg /etc/cloud/cloud-init.disabled \
  /etc/netplan/00-installer-config.yaml /etc/netplan/50-cloud-init.yaml
configure_cloud_init

if [ -f /etc/default/motd-news ] && grep -q '^ENABLED=1' /etc/default/motd-news; then
  sed -i 's/^ENABLED=1/ENABLED=0/' /etc/default/motd-news
fi
