#!/bin/bash
# install-deps.sh — installs, from Debian's archive, everything Vireo needs to
# build, run its lab and run its tests. Idempotent: does nothing when all is
# there. Needs root.
set -euo pipefail

PACKAGES=(
  gcc meson ninja-build pkg-config
  libglib2.0-dev libsoup-3.0-dev libjson-glib-dev libsqlite3-dev libxml2-dev
  libarchive-dev libgnutls28-dev libcrypt-dev
  qemu-system-x86 qemu-utils ovmf
  iproute2 iputils-ping dnsmasq-base curl jq socat procps psmisc openssl bc sqlite3 tcpdump
  busybox-static syslinux syslinux-common mtools dosfstools fdisk cpio kmod xz-utils
  binutils dpkg
)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: these packages are missing and installing them needs root: ${missing[*]}" >&2
    exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
