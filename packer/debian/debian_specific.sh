#!/usr/bin/env bash
# Debian specifics: cloud-init owns the network of each clone (the installer's stanza for its own NIC goes),
# cloud-init looks for the data sources Xen Orchestra and users attach, the system has a locale, and no
# CD-ROM apt source remains.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../common/lib.sh
. "${XCPNG_LIB:-$(dirname "$0")/../common/lib.sh}"
require_root

[ "$(os_id)" = debian ] || die "this script is for Debian, but /etc/os-release says ID=$(os_id)"

configure_cloud_init

if command -v ifup >/dev/null 2>&1; then
  # ifupdown (Debian 12, and what the installer sets up): the installer configured the NIC it ran on.
  # cloud-init renders the clone's network into /etc/network/interfaces.d/50-cloud-init (DHCP on the first
  # NIC when the data source says nothing). The running build VM keeps its network: ifupdown reads this file
  # only at boot.
  write_file /etc/network/interfaces 0644 <<'IFACES'
# Written by xcpng-templates (packer/debian/debian_specific.sh): cloud-init configures the network.
source /etc/network/interfaces.d/*

auto lo
iface lo inet loopback
IFACES
  mkdir -p /etc/network/interfaces.d
else
  # No ifupdown (the local build of Debian 13, packer/local/rootfs.sh): systemd-networkd, configured by
  # cloud-init, with systemd-resolved for DNS. cloud-init >= 24.1 asks for DHCPv6 in its fallback, and
  # networkd waits for no DHCPv6 server the network does not announce (ifupdown waits forever: found by booting
  # a clone, lib/acceptance check "systemd: running, no failed unit").
  [ -x /lib/systemd/systemd-networkd ] || [ -x /usr/lib/systemd/systemd-networkd ] ||
    die "neither ifupdown nor systemd-networkd is installed: the clones would have no network"
  ensure_packages systemd-resolved
  write_file /etc/cloud/cloud.cfg.d/92-xcpng-network.cfg 0644 <<'CFG'
# Written by xcpng-templates (packer/debian/debian_specific.sh): clones' network through systemd-networkd.
system_info:
  network:
    renderers: [networkd]
    activators: [networkd]
CFG
  enable_unit systemd-networkd.service
  enable_unit systemd-resolved.service
fi

# A system locale. The installer writes LANG=<the preseed's locale>; debootstrap (the local build) writes none,
# and then cloud-init's locale module asks for en_US.UTF-8, which Debian's locale-gen does not build (it builds
# what /etc/locale.gen lists, here nothing): update-locale fails, cloud-config.service fails and every clone
# boots "degraded" (found by booting a clone: lib/acceptance check "cloud-init"). C.UTF-8 is built into libc.
if ! grep -qE '^[[:space:]]*LANG=.+' /etc/default/locale 2>/dev/null; then
  printf '# Written by xcpng-templates (packer/debian/debian_specific.sh).\nLANG=C.UTF-8\n' |
    write_file /etc/default/locale 0644
fi
