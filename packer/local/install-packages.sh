#!/usr/bin/env bash
# Runs inside the chroot (packer/local/chroot-run.sh) of a fresh debootstrap: upgrades the base to the updates
# and security suites (debootstrap only knows the release), then installs XCPNG_PACKAGES with apt, whose
# resolver handles what debootstrap's cannot (virtual packages, alternatives), and drops the .debs.
# grub-pc is told not to install itself anywhere: the disk image step writes the boot sector.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../common/lib.sh
. "${XCPNG_LIB:-$(dirname "$0")/../common/lib.sh}"
require_root

read -r -a pkgs <<<"${XCPNG_PACKAGES:?XCPNG_PACKAGES (space-separated package names) is not set}"
echo 'grub-pc grub-pc/install_devices multiselect' | debconf-set-selections
echo 'grub-pc grub-pc/install_devices_empty boolean true' | debconf-set-selections
apt_get update
apt_get dist-upgrade
ensure_packages "${pkgs[@]}"
apt-get clean
