#!/usr/bin/env bash
# Builds a Debian root filesystem with debootstrap from the mirror of this machine's apt configuration, and
# caches it: the tarball is keyed by every input (suite, variant, packages, architecture, mirror, debootstrap
# version, archive keyring, this script), so a rebuild with unchanged inputs only unpacks it.
#
#   rootfs.sh --out DIR [--suite bookworm] [--packages "pkg pkg"] [--cache-dir DIR] [--no-cache]
#
# debootstrap installs only the minimal base: its resolver cannot satisfy virtual packages (cloud-init's
# python3-cryptography needs python3-cffi-backend-api-min), so the template's packages are installed by apt in
# the chroot afterwards (packer/local/install-packages.sh). packer/common/update_system.sh brings the tree up to
# date with the archive (security suite included) on every build, so a cache hit does not mean stale packages.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
die() {
  echo "rootfs.sh: $*" >&2
  exit 1
}

suite=bookworm
variant=minbase
arch=amd64
# What the template needs besides the minimal base: an init, networking, SSH, sudo, a kernel (the cloud flavour
# has Xen's block and network front-ends) and a boot loader, cloud-init for clones, and the packages the
# hardening scripts would otherwise download on each build.
include=systemd-sysv,ca-certificates
packages="udev kmod dbus iproute2 netbase openssh-server sudo linux-image-cloud-amd64
  initramfs-tools grub-pc cloud-init cloud-guest-utils auditd apparmor unattended-upgrades libpam-pwquality"
packages_given=0
cache_dir=${XCPNG_ROOTFS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/xcpng-templates/rootfs}
use_cache=1
out=""
while [ $# -gt 0 ]; do
  case "$1" in
  --out) out=${2:?--out needs a directory}; shift 2 ;;
  --suite) suite=${2:?}; shift 2 ;;
  --packages) packages=${2?}; packages_given=1; shift 2 ;;
  --cache-dir) cache_dir=${2:?}; shift 2 ;;
  --no-cache) use_cache=0; shift ;;
  *) die "unknown argument '$1' (expected --out, --suite, --packages, --cache-dir, --no-cache)" ;;
  esac
done
[ -n "$out" ] || die "--out DIR is required"
# The clone's network stack. Debian 12: ifupdown with dhclient, as its installer sets up. Later releases:
# systemd-networkd with systemd-resolved (as Debian's own cloud images), because cloud-init 24.1 and later
# asks for DHCPv6 in its fallback configuration, and ifupdown then waits for a DHCPv6 server forever on
# networks that have none (canonical/cloud-init#5380): networking.service fails and clones boot degraded.
if [ "$packages_given" = 0 ]; then
  case "$suite" in
  bookworm) packages="$packages ifupdown isc-dhcp-client" ;;
  *) packages="$packages systemd-resolved" ;;
  esac
fi
[ ! -e "$out" ] || [ -z "$(ls -A "$out")" ] || die "--out $out exists and is not empty; give a new directory"

mirrors=$("$here/apt-mirror.sh") || die "no Debian mirror (see above)"
mirror=$(sed -n 's/^DEBIAN_MIRROR=//p' <<<"$mirrors")
security=$(sed -n 's/^DEBIAN_SECURITY_MIRROR=//p' <<<"$mirrors")
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

packages_sorted=$(tr -s ' \n' '\n' <<<"$packages" | sed '/^$/d' | sort -u | paste -sd' ' -)
key=$({
  printf 'suite=%s\nvariant=%s\narch=%s\ninclude=%s\npackages=%s\nmirror=%s\nsecurity=%s\n' \
    "$suite" "$variant" "$arch" "$include" "$packages_sorted" "$mirror" "$security"
  debootstrap --version
  sha256sum <"$keyring"
  sha256sum <"${BASH_SOURCE[0]}"
  sha256sum <"$here/install-packages.sh"
} | sha256sum | cut -c1-16)
tarball="$cache_dir/$suite-$arch-$key.tar"

# Writes the apt sources of the rootfs: the distribution, its updates and its security suite, from the same
# mirrors as the host.
write_sources() {
  local root=$1
  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
}

mkdir -p "$out"
if [ "$use_cache" = 1 ] && [ -f "$tarball" ]; then
  echo "rootfs.sh: cache hit $tarball" >&2
  tar -C "$out" -xpf "$tarball" --numeric-owner --xattrs --xattrs-include='*'
  write_sources "$out"
  exit 0
fi

note=""
[ "$use_cache" = 1 ] && note=" (cache miss, key $key)"
echo "rootfs.sh: debootstrap $suite ($variant, $arch) from $mirror$note" >&2
tmp="$out.debootstrap"
rm -rf "$tmp"
# Maintainer scripts must not start services on this machine: debootstrap installs a policy-rc.d that denies
# it only during its own run, and grub-pc must not try to install itself on the host's disks.
if ! debootstrap --variant="$variant" --arch="$arch" --include="$include" --keyring="$keyring" \
  "$suite" "$tmp" "$mirror" >"$out.debootstrap.log" 2>&1; then
  tail -n 40 "$out.debootstrap.log" >&2
  [ -f "$tmp/debootstrap/debootstrap.log" ] && tail -n 40 "$tmp/debootstrap/debootstrap.log" >&2
  die "debootstrap failed (log above; full log in $out.debootstrap.log)"
fi
rm -f "$out.debootstrap.log"
write_sources "$tmp"
if [ -n "$packages_sorted" ]; then
  XCPNG_PACKAGES=$packages_sorted "$here/chroot-run.sh" "$tmp" local/install-packages.sh ||
    die "installing the template's packages in the chroot failed (see above)"
fi
if [ "$use_cache" = 1 ]; then
  mkdir -p "$cache_dir"
  tar -C "$tmp" -cpf "$tarball.tmp.$$" --numeric-owner --xattrs --xattrs-include='*' .
  mv -f "$tarball.tmp.$$" "$tarball"
  echo "rootfs.sh: cached as $tarball" >&2
fi
rmdir "$out"
mv "$tmp" "$out"
