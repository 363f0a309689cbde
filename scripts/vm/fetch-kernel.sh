#!/usr/bin/env bash
# Fetches the stock Debian kernel the VM runner boots ("knetlab vm") into its cache folder:
# the linux-image package apt offers is downloaded (not installed: this machine's own kernel and
# /boot are never touched), unpacked with dpkg-deb, its modules indexed with depmod, and the
# uncompressed vmlinux cut out of the bzImage (qemu boots an ELF vmlinux through PVH, skipping the
# decompressor: about 3 s less per boot under TCG). Safe to run again: a cached kernel is kept.
#
#   KNETLAB_VM_CACHE   the cache folder (default /var/cache/knetlab/vm)
#   KNETLAB_VM_KERNEL  a linux-image package name to use instead of the one linux-image-amd64 names
set -euo pipefail

cache=${KNETLAB_VM_CACHE:-/var/cache/knetlab/vm}
if [ "$(dpkg --print-architecture 2>/dev/null)" != amd64 ]; then
  echo "fetch-kernel: the VM runner boots an amd64 kernel; this machine is $(dpkg --print-architecture 2>/dev/null || uname -m)" >&2
  exit 2
fi

pkg=${KNETLAB_VM_KERNEL:-}
if [ -z "$pkg" ]; then
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
  if [ -z "$pkg" ]; then
    apt-get update -qq
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
  fi
fi
case "$pkg" in
  linux-image-*-amd64) ;;
  *) echo "fetch-kernel: apt offers no linux-image-amd64 kernel (is this Debian with its main archive in sources.list?)" >&2; exit 1 ;;
esac
version=${pkg#linux-image-}
dest=$cache/$version

if [ -s "$dest/vmlinux" ] && [ -s "$dest/lib/modules/$version/modules.dep" ]; then
  echo "fetch-kernel: $version is in $dest"
  exit 0
fi

mkdir -p "$cache"
work=$(mktemp -d "$cache/.fetch-XXXXXX")
trap 'rm -rf "$work"' EXIT
# apt's sandbox user cannot write to root's folders: download into a folder it may write to.
chmod 755 "$work"
echo "fetch-kernel: downloading $pkg"
if ! (cd "$work" && apt-get download -q "$pkg" >/dev/null 2>"$work/apt.err"); then
  apt-get update -qq
  (cd "$work" && apt-get download -q "$pkg" >/dev/null) || { cat "$work/apt.err" >&2; exit 1; }
fi
mkdir "$work/root"
dpkg-deb -x "$work"/"$pkg"_*.deb "$work/root"
rm -f "$work"/"$pkg"_*.deb
depmod -b "$work/root" "$version"

# extract-vmlinux (linux/scripts/extract-vmlinux): find each compressor's magic in the bzImage,
# decompress from there, keep the first result that is an ELF file.
image=$work/root/boot/vmlinuz-$version
try() { # magic-as-printf  command...
  local magic=$1
  shift
  local pos
  for pos in $(LC_ALL=C grep -abo "$(printf "$magic")" "$image" 2>/dev/null | cut -d: -f1); do
    tail -c +$((pos + 1)) "$image" | "$@" > "$work/vmlinux" 2>/dev/null || true
    if [ "$(head -c 4 "$work/vmlinux" | od -An -c | tr -d ' ')" = '177ELF' ]; then return 0; fi
  done
  return 1
}
LC_ALL=C
try '\3757zXZ' xz -dc || try '\037\213\010' gzip -dc || try '(\265/\375' zstd -dc || {
  echo "fetch-kernel: could not find an ELF vmlinux inside $image" >&2
  exit 1
}
mv "$work/vmlinux" "$work/root/vmlinux"
rm -rf "$dest"
mv "$work/root" "$dest"
echo "fetch-kernel: $version is in $dest ($(du -sh "$dest" | cut -f1))"
