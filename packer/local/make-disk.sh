#!/usr/bin/env bash
# Turns a provisioned root filesystem into a raw disk image with the layout of a BIOS boot disk, without loop
# devices or mounts:
#   sector 0            GRUB's boot.img (first 440 bytes, the partition table stays) + an MBR partition table
#   sectors 1..2047     GRUB's core.img (biosdisk, part_msdos, ext2; prefix (hd0,msdos1)/boot/grub)
#   partition 1         ext4 from 1 MiB to the end, bootable flag, written by `mkfs.ext4 -d` from the tree
#
#   make-disk.sh --rootfs DIR --out FILE [--size-mib N] [--uuid UUID]
#
# Before imaging it completes what a chroot cannot know: /etc/fstab (root by UUID), /boot/grub/grub.cfg (booting
# /vmlinuz and /initrd.img, the symlinks the kernel packages keep current), GRUB's modules under /boot/grub,
# grub-pc's install device for clones (/dev/xvda, XCP-ng's first disk), hostname and resolv.conf (empty, or
# systemd-resolved's stub where it is enabled).
set -euo pipefail

die() {
  echo "make-disk.sh: $*" >&2
  exit 1
}
rootfs="" out="" size_mib=4096 uuid=""
while [ $# -gt 0 ]; do
  case "$1" in
  --rootfs) rootfs=${2:?}; shift 2 ;;
  --out) out=${2:?}; shift 2 ;;
  --size-mib) size_mib=${2:?}; shift 2 ;;
  --uuid) uuid=${2:?}; shift 2 ;;
  *) die "unknown argument '$1' (expected --rootfs, --out, --size-mib, --uuid)" ;;
  esac
done
[ -d "$rootfs" ] || die "--rootfs DIR (a provisioned root filesystem) is required"
[ -n "$out" ] || die "--out FILE is required"
[[ "$size_mib" =~ ^[0-9]+$ ]] || die "--size-mib must be a whole number of MiB, got '$size_mib'"
[ "$(id -u)" -eq 0 ] || die "must run as root (chroot into the rootfs for grub-mkimage)"
[ -n "$uuid" ] || uuid=$(cat /proc/sys/kernel/random/uuid)
grub_lib="$rootfs/usr/lib/grub/i386-pc"
[ -f "$grub_lib/boot.img" ] || die "no $grub_lib/boot.img: install grub-pc (grub-pc-bin) in the rootfs"
[ -e "$rootfs/vmlinuz" ] || [ -e "$rootfs/boot/vmlinuz" ] || die "no kernel in the rootfs (/vmlinuz): install a linux-image package"

# --- finish the tree ----------------------------------------------------------------------------------------
kernel=/vmlinuz initrd=/initrd.img
if [ ! -e "$rootfs/vmlinuz" ]; then kernel=/boot/vmlinuz initrd=/boot/initrd.img; fi
fstab_root="UUID=$uuid / ext4 errors=remount-ro 0 1"
{
  echo "# Written by xcpng-templates (packer/local/make-disk.sh)."
  echo "$fstab_root"
  grep -vE '^[[:space:]]*#|^[[:space:]]*$|[[:space:]]/[[:space:]]' "$rootfs/etc/fstab" 2>/dev/null || true
} >"$rootfs/etc/fstab.new"
mv "$rootfs/etc/fstab.new" "$rootfs/etc/fstab"
chmod 0644 "$rootfs/etc/fstab"
echo localhost >"$rootfs/etc/hostname"
rm -f "$rootfs/etc/resolv.conf"
if compgen -G "$rootfs/etc/systemd/system/*.wants/systemd-resolved.service" >/dev/null; then
  # systemd-resolved (networkd clones): its stub, which a chroot's bind-mounted resolv.conf kept it from making.
  ln -s ../run/systemd/resolve/stub-resolv.conf "$rootfs/etc/resolv.conf"
else
  : >"$rootfs/etc/resolv.conf"
fi
echo 'grub-pc grub-pc/install_devices multiselect /dev/xvda' | chroot "$rootfs" debconf-set-selections

mkdir -p "$rootfs/boot/grub/i386-pc"
cp "$grub_lib"/*.mod "$grub_lib"/*.lst "$rootfs/boot/grub/i386-pc/"
pretty=$(sed -nE 's/^PRETTY_NAME="?([^"]*)"?$/\1/p' "$rootfs/etc/os-release")
cat >"$rootfs/boot/grub/grub.cfg" <<EOF
# Written by xcpng-templates (packer/local/make-disk.sh); update-grub replaces it on the first kernel
# upgrade of a clone. Console on the VGA screen and the first serial port (XCP-ng's console).
set default=0
set timeout=2
insmod part_msdos
insmod ext2
search --no-floppy --fs-uuid --set=root $uuid
menuentry '${pretty:-Linux}' {
  linux $kernel root=UUID=$uuid ro console=tty0 console=ttyS0,115200n8
  initrd $initrd
}
EOF
chmod 0600 "$rootfs/boot/grub/grub.cfg"

# core.img from the rootfs's own GRUB, so boot sector, core and modules are one version.
chroot "$rootfs" grub-mkimage -O i386-pc -o /boot/grub/i386-pc/core.img -p '(hd0,msdos1)/boot/grub' \
  biosdisk part_msdos ext2
core="$rootfs/boot/grub/i386-pc/core.img"
core_sectors=$((($(stat -c %s "$core") + 511) / 512))
[ "$core_sectors" -lt 2047 ] || die "core.img is $core_sectors sectors, more than the 2047 before the partition"

# --- image ----------------------------------------------------------------------------------------------------
used_mib=$(du -sxm "$rootfs" | cut -f1)
min_mib=$((used_mib * 13 / 10 + 256))
[ "$size_mib" -ge "$min_mib" ] || die "--size-mib $size_mib is too small for ${used_mib} MiB of files; give at least $min_mib"
rm -f "$out"
truncate -s "${size_mib}M" "$out"
# 1 MiB alignment; type 83 (Linux), bootable.
printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk --quiet --no-reread --no-tell-kernel "$out" >/dev/null
part_bytes=$(((size_mib - 1) * 1024 * 1024))
# The target's own mke2fs.conf picks features its GRUB and kernel read (a newer host may default to more).
mke2fs_conf=""
[ -f "$rootfs/etc/mke2fs.conf" ] && mke2fs_conf="$rootfs/etc/mke2fs.conf"
MKE2FS_CONFIG=${mke2fs_conf:-/etc/mke2fs.conf} mkfs.ext4 -q -F -L root -U "$uuid" -d "$rootfs" \
  -E offset=$((2048 * 512)) "$out" "$((part_bytes / 1024))k"
dd if="$grub_lib/boot.img" of="$out" bs=440 count=1 conv=notrunc status=none
dd if="$core" of="$out" bs=512 seek=1 conv=notrunc status=none
echo "make-disk.sh: $out: ${size_mib} MiB, root ext4 UUID $uuid, ${used_mib} MiB of files" >&2
