#!/usr/bin/env bash
# Unpacks Debian's kernel package (the one linux-image-amd64 depends on)
# into the directory internal/vmtest boots its VMs from, if it is not
# there yet, and prints that directory. Needs apt-get and dpkg; root to
# write the default /var/cache/corebench/vm/kernel.
set -euo pipefail
dir=${COREBENCH_VM_KERNEL_DIR:-/var/cache/corebench/vm/kernel}
if ls "$dir"/boot/vmlinuz-* >/dev/null 2>&1 && ls -d "$dir"/lib/modules/*/kernel >/dev/null 2>&1; then
  echo "$dir"
  exit 0
fi
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
if [ -z "$pkg" ]; then
  apt-get update -qq >&2
  pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
fi
[ -n "$pkg" ] || { echo "kernel.sh: apt-cache names no kernel package for linux-image-amd64" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 777 "$tmp" # apt-get download runs as _apt where it can
(cd "$tmp" && apt-get download -q "$pkg" >&2)
mkdir -p "$dir.new"
dpkg -x "$tmp"/*.deb "$dir.new"
rm -rf "$dir"
mv "$dir.new" "$dir"
echo "$dir"
