#!/usr/bin/env bash
# Checks, before anything is built, what the local build path needs, and says for each missing piece how to
# get it. Supported platform: Linux (x86-64 or arm64 host building an amd64 rootfs on x86-64 only), as root.
#   requirements.sh [--pack]   --pack also checks what the XVA packing and devpool import step needs
set -euo pipefail

pack=0
[ "${1:-}" = --pack ] && pack=1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
problems=()
need() { problems+=("$1"); }

[ "$(uname -s)" = Linux ] || need "a Linux host (debootstrap and chroot are Linux tools); this is $(uname -s)"
[ "$(uname -m)" = x86_64 ] || need "an x86-64 host: the template is amd64 and the build runs its packages' scripts natively (this is $(uname -m))"
# chroot(2) and mounting /proc need real root: fakeroot only fakes file ownership, and fakechroot cannot run
# the maintainer scripts of systemd, auditd and the kernel that the template installs.
[ "$(id -u)" -eq 0 ] || need "root: run the build with sudo (debootstrap, chroot and mount need it; fakeroot is not enough)"

have() { command -v "$1" >/dev/null 2>&1; }
have debootstrap || need "debootstrap: apt-get install debootstrap"
have mkfs.ext4 || need "mkfs.ext4: apt-get install e2fsprogs"
if have mke2fs; then
  # -d (populate from a directory) came with e2fsprogs 1.43.
  v=$(mke2fs -V 2>&1 | sed -nE '1s/^mke2fs ([0-9]+)\.([0-9]+).*/\1 \2/p')
  if [ -n "$v" ] && { [ "${v% *}" -lt 1 ] || { [ "${v% *}" -eq 1 ] && [ "${v#* }" -lt 43 ]; }; }; then
    need "e2fsprogs >= 1.43 for mkfs.ext4 -d (found $(mke2fs -V 2>&1 | head -1)): apt-get install e2fsprogs from a newer release"
  fi
fi
have sfdisk || need "sfdisk: apt-get install fdisk"
have unshare || need "unshare: apt-get install util-linux"
have chroot || need "chroot: apt-get install coreutils"
have tar || need "tar: apt-get install tar"
have sha256sum || need "sha256sum: apt-get install coreutils"
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || need "Debian's archive keys (/usr/share/keyrings/debian-archive-keyring.gpg): apt-get install debian-archive-keyring"
if ! mirrors=$("$here/apt-mirror.sh" 2>&1); then
  need "a Debian mirror in the apt configuration: $mirrors"
fi
if [ "$pack" = 1 ]; then
  [ -x "$here/../../node_modules/.bin/tsx" ] || have tsx || need "tsx (the TypeScript runner of the project's devDependencies): run 'npm ci' in the repository"
  for v in PKR_VAR_pool_url PKR_VAR_pool_username PKR_VAR_pool_password; do
    [ -n "${!v:-}" ] || need "$v in the environment: the pool (devpool) to import the template into; or build with -var pack_and_import=false to stop at the disk image"
  done
fi

if [ ${#problems[@]} -gt 0 ]; then
  echo "requirements.sh: the local build cannot run on this machine; missing:" >&2
  printf '  - %s\n' "${problems[@]}" >&2
  exit 1
fi
extra=""
[ "$pack" = 1 ] && extra=", pack step"
echo "requirements.sh: ok (root, debootstrap, e2fsprogs, sfdisk, unshare, Debian mirror$extra)" >&2
