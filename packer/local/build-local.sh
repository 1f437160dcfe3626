#!/usr/bin/env bash
# The local build of packer/local/debian12-local.pkr.hcl, step by step (run by its shell-local provisioner; the
# inputs are the XCPNG_* variables that template sets). Each step is timed on stderr; a failure names it.
#   requirements -> rootfs (debootstrap, cached) -> provision (chroot) -> sbom -> disk -> pack-and-import
set -euo pipefail

packer_dir=$(cd "${XCPNG_PACKER_DIR:-$(dirname "${BASH_SOURCE[0]}")/..}" && pwd)
here="$packer_dir/local"
step=start
t0=$SECONDS
fail() {
  echo "build-local.sh: $1" >&2
  exit 1
}
work=""
remove_work=0
on_exit() {
  local rc=$?
  if [ "$remove_work" = 1 ] && [ -n "$work" ]; then rm -rf "$work"; fi
  if [ "$rc" -ne 0 ]; then echo "build-local.sh: FAILED at step '$step' (exit $rc)" >&2; fi
}
trap on_exit EXIT
begin() {
  step=$1
  echo "build-local.sh: --- $step (t+$((SECONDS - t0))s)" >&2
}

template_name=${XCPNG_TEMPLATE_NAME:?XCPNG_TEMPLATE_NAME is not set: run this through packer/local/debian12-local.pkr.hcl}
build_id=${XCPNG_BUILD_ID:?XCPNG_BUILD_ID is not set}
read -r -a scripts <<<"${XCPNG_SCRIPTS:?XCPNG_SCRIPTS is not set}"
pack=${XCPNG_PACK_AND_IMPORT:-1}

begin requirements
if [ "$pack" = 1 ]; then "$here/requirements.sh" --pack; else "$here/requirements.sh"; fi

work=${XCPNG_WORK_DIRECTORY:-}
if [ -z "$work" ]; then
  work=$(mktemp -d "${TMPDIR:-/var/tmp}/xcpng-local-build.XXXXXX")
  remove_work=1
fi
mkdir -p "$work"
[ -z "$(ls -A "$work")" ] || fail "work directory $work is not empty; give an empty or new one"

begin rootfs
cache_args=()
[ -n "${XCPNG_ROOTFS_CACHE:-}" ] && cache_args=(--cache-dir "$XCPNG_ROOTFS_CACHE")
"$here/rootfs.sh" --out "$work/rootfs" --suite "${XCPNG_SUITE:-bookworm}" "${cache_args[@]}"

begin provision
# The guest agent is optional here only: Debian 12's archive has none and no tools ISO is attached; the XVA's
# guest metrics come from the rootfs's /etc/os-release instead.
BUILD_USER="" XCPNG_GUEST_AGENT=optional "$here/chroot-run.sh" "$work/rootfs" "${scripts[@]}"

begin sbom
# The image's SBOM from its own package database, after provisioning and cleanup (what ships), before the disk:
# to XCPNG_SBOM_FILE (the PackerBuild provider names it), else beside the disk image.
tsx=$packer_dir/../node_modules/.bin/tsx
[ -x "$tsx" ] || tsx=tsx
command -v "$tsx" >/dev/null || fail "tsx is needed for the SBOM step: run 'npm ci' in the repository"
"$tsx" "$packer_dir/write-sbom.ts" --rootfs "$work/rootfs" --template "$template_name" --build-id "$build_id" \
  --out "${XCPNG_SBOM_FILE:-$work/sbom.cdx.json}"

begin disk
"$here/make-disk.sh" --rootfs "$work/rootfs" --out "$work/disk.raw" --size-mib "${XCPNG_DISK_SIZE_MIB:-4096}"

if [ "$pack" = 1 ]; then
  begin pack-and-import
  "$tsx" "$here/pack-and-import.ts" --disk "$work/disk.raw" --os-release "$work/rootfs/etc/os-release" \
    --template-name "$template_name" --build-id "$build_id" --tags "${XCPNG_TAGS:-}"
else
  echo "build-local.sh: pack_and_import=false: disk image left in $work/disk.raw" >&2
fi
step=finished
echo "build-local.sh: done in $((SECONDS - t0))s" >&2
