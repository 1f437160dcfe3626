#!/usr/bin/env bash
# Runs provisioning scripts of packer/ inside a root filesystem, the way Packer's shell provisioner runs them
# in a VM: as root, in order, stopping at the first failure.
#
#   chroot-run.sh <rootfs> <script relative to packer/>...     e.g. common/harden_ssh.sh debian/debian_specific.sh
#   (a script outside packer/, such as a test fixture, is given relative to packer/ too: ../tests/...)
#
# Isolation: everything happens in a private mount namespace (unshare --mount), so /proc, /sys, /dev and the
# resolver bind mount vanish with the process even when it is killed; nothing is left mounted on the host.
# A policy-rc.d denies service starts from maintainer scripts for the duration, and XCPNG_CHROOT=1 tells the
# scripts (lib.sh live_system) not to start services or touch the running kernel's sysctls.
# Passed into the chroot: BUILD_USER, XCPNG_GUEST_AGENT, XCPNG_PACKAGES, http_proxy/https_proxy/no_proxy when set.
set -euo pipefail

die() {
  echo "chroot-run.sh: $*" >&2
  exit 1
}
[ $# -ge 2 ] || die "usage: chroot-run.sh <rootfs> <script>... (scripts relative to packer/)"
[ "$(id -u)" -eq 0 ] || die "must run as root (chroot and mount need it)"
root=$(cd "$1" && pwd)
shift
packer_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ -x "$root/bin/sh" ] || [ -L "$root/bin/sh" ] || die "$root does not look like a root filesystem (no /bin/sh)"
for s in "$@"; do
  [ -f "$packer_dir/$s" ] || die "no script $packer_dir/$s"
done

# Not under /tmp: cleanup.sh empties /tmp, and scripts may run after it (extra_scripts).
stage=/run/xcpng-provision
rm -rf "${root:?}$stage"
mkdir -p "$root$stage/common" "$root$stage/scripts"
cp "$packer_dir/common/lib.sh" "$root$stage/common/lib.sh"
# Each script is staged under its position and file name, so that a script from outside packer/ (a test
# fixture given as ../tests/...) lands inside the stage too, and the stage leaves with the run.
staged=()
i=0
for s in "$@"; do
  i=$((i + 1))
  staged+=("$s" "$stage/scripts/$i-${s##*/}")
  cp "$packer_dir/$s" "$root$stage/scripts/$i-${s##*/}"
done

created_policy=0
if [ ! -e "$root/usr/sbin/policy-rc.d" ]; then
  printf '#!/bin/sh\n# chroot-run.sh: no service starts inside the build chroot\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 0755 "$root/usr/sbin/policy-rc.d"
  created_policy=1
fi
[ -e "$root/etc/resolv.conf" ] || [ -L "$root/etc/resolv.conf" ] || : >"$root/etc/resolv.conf"
if [ -L "$root/etc/resolv.conf" ]; then resolv_link=1; else resolv_link=0; fi

finish() {
  [ "$created_policy" = 1 ] && rm -f "$root/usr/sbin/policy-rc.d"
  rm -rf "${root:?}$stage"
}
trap finish EXIT

env_args=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
  XCPNG_CHROOT=1 XCPNG_LIB="$stage/common/lib.sh" DEBIAN_FRONTEND=noninteractive)
for v in BUILD_USER XCPNG_GUEST_AGENT XCPNG_PACKAGES http_proxy https_proxy no_proxy; do
  if [ -n "${!v:-}" ]; then env_args+=("$v=${!v}"); fi
done

# shellcheck disable=SC2016 # the inner script is expanded by the inner bash, with its own arguments
unshare --mount --propagation private -- bash -c '
  set -euo pipefail
  root=$1 stage=$2 resolv_link=$3 n=$4
  shift 4
  envs=("${@:1:$n}")
  shift "$n"
  mount -t proc proc "$root/proc"
  mount -t sysfs sysfs "$root/sys"
  mount --rbind /dev "$root/dev"
  # Name resolution for apt: the host resolver, over the rootfs file, in this namespace only.
  if [ "$resolv_link" = 0 ] && [ -f /etc/resolv.conf ]; then mount --bind /etc/resolv.conf "$root/etc/resolv.conf"; fi
  while [ $# -gt 0 ]; do
    name=$1 staged=$2
    shift 2
    echo "chroot-run.sh: === $name" >&2
    if ! chroot "$root" /usr/bin/env -i "${envs[@]}" /bin/bash "$staged"; then
      echo "chroot-run.sh: FAILED in $name" >&2
      exit 1
    fi
  done
' chroot-run "$root" "$stage" "$resolv_link" "${#env_args[@]}" "${env_args[@]}" "${staged[@]}"
