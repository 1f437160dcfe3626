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

# The installer configured the NIC it ran on. cloud-init renders the clone's network into
# /etc/network/interfaces.d/50-cloud-init (DHCP on the first NIC when the data source says nothing).
# The running build VM keeps its network: ifupdown reads this file only at boot.
write_file /etc/network/interfaces 0644 <<'IFACES'
# Written by xcpng-templates (packer/debian/debian_specific.sh): cloud-init configures the network.
source /etc/network/interfaces.d/*

auto lo
iface lo inet loopback
IFACES
mkdir -p /etc/network/interfaces.d

# A system locale. The installer writes LANG=<the preseed's locale>; debootstrap (the local build) writes none,
# and then cloud-init's locale module asks for en_US.UTF-8, which Debian's locale-gen does not build (it builds
# what /etc/locale.gen lists, here nothing): update-locale fails, cloud-config.service fails and every clone
# boots "degraded" (found by booting a clone: lib/acceptance check "cloud-init"). C.UTF-8 is built into libc.
if ! grep -qE '^[[:space:]]*LANG=.+' /etc/default/locale 2>/dev/null; then
  printf '# Written by xcpng-templates (packer/debian/debian_specific.sh).\nLANG=C.UTF-8\n' |
    write_file /etc/default/locale 0644
fi
