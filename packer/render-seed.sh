#!/usr/bin/env bash
# Renders an installer seed directory (packer/<os>/http: Debian preseed, Ubuntu autoinstall user-data) into
# OUT with this build's user name and a salted SHA-512 crypt(3) hash of its password:
#   @@BUILD_USERNAME@@        -> BUILD_USERNAME (default xcpng-build)
#   @@BUILD_PASSWORD_CRYPTED@@ -> hash of BUILD_PASSWORD (required; read from the environment, never argv)
#
#   render-seed.sh <seed dir> <out dir>
set -euo pipefail

die() {
  echo "render-seed.sh: $*" >&2
  exit 1
}
[ $# -eq 2 ] || die "usage: render-seed.sh <seed dir> <out dir>"
src=$1 out=$2
[ -d "$src" ] || die "no seed directory $src"
[ -n "${BUILD_PASSWORD:-}" ] || die "BUILD_PASSWORD is not set (the build user's password, from the environment)"
user=${BUILD_USERNAME:-xcpng-build}
[[ "$user" =~ ^[a-z_][a-z0-9_-]{0,30}$ ]] || die "BUILD_USERNAME '$user' is not a POSIX user name"
command -v openssl >/dev/null || die "openssl is needed to hash the build password: apt-get install openssl"
# The password goes to openssl on stdin; the hash ([./0-9A-Za-z$] only) is safe in both YAML quotes and preseed.
hash=$(printf '%s' "$BUILD_PASSWORD" | openssl passwd -6 -stdin) || die "openssl passwd -6 failed"

mkdir -p "$out"
chmod 0700 "$out"
for f in "$src"/*; do
  [ -f "$f" ] || continue
  awk -v user="$user" -v hash="$hash" '{
    gsub(/@@BUILD_USERNAME@@/, user)
    gsub(/@@BUILD_PASSWORD_CRYPTED@@/, hash)
    print
  }' "$f" >"$out/${f##*/}"
done
