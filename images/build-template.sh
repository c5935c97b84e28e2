#!/bin/bash
# build-template.sh — builds the small Linux VM template (a VMware-style VM
# folder: .vmx, .vmdk descriptor, -flat.vmdk raw disk) from Debian packages,
# the files under images/rootfs and the built vireo-tools/vireo-memwrite.
# Cached (skips when no input changed) and reproducible (same bytes twice).
#
#   images/build-template.sh --tools-dir BUILD/src/tools [--out images/out]
#                            [--cache images/cache] [--force]
set -euo pipefail

NAME=vireo-template
DISK_MIB=64            # capacity; the flat file is sparse (thin)
PART_START=2048        # sectors: the FAT partition starts at 1 MiB
SECTORS=$((DISK_MIB * 2048))
MODULES="virtio_pci virtio_blk virtio_net virtio_console virtio_scsi virtio_rng vmxnet3 e1000 e1000e
         vmw_pvscsi sd_mod ahci ata_piix nvme mptsas qemu_fw_cfg"
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
export LC_ALL=C TZ=UTC

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tools_dir="" out="$here/out" cache="$here/cache" force=0

usage() {
    sed -n '2,8s/^# \{0,1\}//p' "$0"
}

while [ $# -gt 0 ]; do
    case $1 in
        --tools-dir) tools_dir=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --cache) cache=$2; shift 2 ;;
        --force) force=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "build-template: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
done
[ -n "$tools_dir" ] || { echo "build-template: --tools-dir is required" >&2; exit 2; }
for t in vireo-tools vireo-memwrite; do
    [ -x "$tools_dir/$t" ] || { echo "build-template: $tools_dir/$t not found (build with meson first)" >&2; exit 2; }
done

log() { echo "build-template: $*"; }

# Host tools, installed from Debian when missing.
ensure_host_tools() {
    local need=() cmd pkg
    for pair in syslinux:syslinux mcopy:mtools mkfs.vfat:dosfstools sfdisk:fdisk cpio:cpio \
                depmod:kmod modprobe:kmod xz:xz-utils strip:binutils dpkg-deb:dpkg apt-get:apt; do
        cmd=${pair%%:*} pkg=${pair#*:}
        command -v "$cmd" >/dev/null 2>&1 || PATH=$PATH:/sbin:/usr/sbin command -v "$cmd" >/dev/null 2>&1 ||
            need+=("$pkg")
    done
    [ -e /usr/lib/syslinux/mbr/mbr.bin ] || true   # mbr.bin comes from the downloaded syslinux-common
    if [ ${#need[@]} -gt 0 ]; then
        [ "$(id -u)" = 0 ] || { echo "build-template: need root to install: ${need[*]}" >&2; exit 1; }
        log "installing host tools: ${need[*]}"
        apt-get install -y --no-install-recommends "${need[@]}" >/dev/null 2>&1 ||
            { apt-get update -qq && apt-get install -y --no-install-recommends "${need[@]}" >/dev/null; }
    fi
    export PATH=$PATH:/sbin:/usr/sbin
}

candidate_version() {
    apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2; exit}'
}

# The kernel package that linux-image-amd64 depends on, e.g. linux-image-6.1.0-28-amd64.
kernel_package() {
    apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}'
}

# Prints the path of PKG's .deb in the cache, downloading the candidate version if needed.
fetch_deb() {
    local pkg=$1 ver=$2 f
    for f in "$cache"/debs/"${pkg}"_*.deb; do
        [ -e "$f" ] || continue
        if [ "$(dpkg-deb -f "$f" Version)" = "$ver" ]; then echo "$f"; return; fi
    done
    log "downloading $pkg $ver" >&2
    mkdir -p "$cache/debs"
    rm -f "$cache"/debs/"${pkg}"_*.deb   # older versions of it

    (cd "$cache/debs" && apt-get download -q "$pkg=$ver" >/dev/null 2>&1)
    for f in "$cache"/debs/"${pkg}"_*.deb; do
        if [ -e "$f" ] && [ "$(dpkg-deb -f "$f" Version)" = "$ver" ]; then echo "$f"; return; fi
    done
    echo "build-template: could not download $pkg $ver" >&2
    exit 1
}

ensure_host_tools
kpkg=$(kernel_package)
if [ -z "$kpkg" ] || [ -z "$(candidate_version busybox-static)" ]; then
    log "package lists missing: apt-get update"
    apt-get update -qq
    kpkg=$(kernel_package)
fi
[ -n "$kpkg" ] || { echo "build-template: cannot resolve linux-image-amd64" >&2; exit 1; }
declare -A debs
for pkg in "$kpkg" busybox-static syslinux-common; do
    debs[$pkg]=$(fetch_deb "$pkg" "$(candidate_version "$pkg")")
done

# Everything the output depends on; when its hash matches the last build's,
# the build is skipped.
inputs_digest() {
    {
        echo "script $(sha256sum < "$0")"
        echo "epoch $SOURCE_DATE_EPOCH"
        (cd "$here" && find rootfs boot -type f -o -type l | sort | while read -r f; do
            echo "$f $(stat -c %a "$f") $(sha256sum < "$f")"
        done)
        for t in vireo-tools vireo-memwrite; do echo "$t $(sha256sum < "$tools_dir/$t")"; done
        for pkg in "${!debs[@]}"; do echo "deb $pkg $(basename "${debs[$pkg]}")"; done | sort
        dpkg-query -W syslinux mtools dosfstools fdisk cpio kmod xz-utils binutils 2>/dev/null
    } | sha256sum | cut -d' ' -f1
}

vmdir=$out/$NAME
stamp=$out/.$NAME.inputs
digest=$(inputs_digest)
if [ "$force" = 0 ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ] &&
   [ -f "$vmdir/$NAME.vmx" ] && [ -f "$vmdir/$NAME.vmdk" ] && [ -f "$vmdir/$NAME-flat.vmdk" ]; then
    log "up to date ($vmdir, inputs $digest): nothing rebuilt"
    exit 0
fi

mkdir -p "$out"
work=$(mktemp -d "$out/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT

log "unpacking $(basename "${debs[$kpkg]}"), busybox-static, syslinux-common"
dpkg-deb -x "${debs[$kpkg]}" "$work/kernel"
dpkg-deb -x "${debs[busybox-static]}" "$work/busybox"
dpkg-deb -x "${debs[syslinux-common]}" "$work/syslinux"
kver=$(ls "$work/kernel/lib/modules")
root=$work/root

# Modules and, in load order, everything they depend on.
depmod -b "$work/kernel" "$kver"
mkdir -p "$root/etc" "$root/lib/modules/$kver"
for m in $MODULES; do
    modprobe -d "$work/kernel" -S "$kver" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
done | awk '!seen[$0]++' | while read -r path; do
    rel=${path#"$work/kernel/lib/modules/$kver/"}
    mkdir -p "$root/lib/modules/$kver/$(dirname "$rel")"
    cp "$path" "$root/lib/modules/$kver/$rel"
    echo "$rel"
done > "$root/etc/modules.load"
log "$(wc -l < "$root/etc/modules.load") kernel modules for $kver"

# The root filesystem: busybox and its applets, our files, the tools.
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,run,tmp,root,var/log}
cp "$work/busybox/bin/busybox" "$root/bin/busybox"
"$root/bin/busybox" --list-full | sort | while read -r applet; do
    [ -e "$root/$applet" ] || [ -L "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done
ln -s /bin/busybox "$root/init"
cp -a "$here/rootfs/." "$root/"
for t in vireo-tools vireo-memwrite; do
    strip -o "$root/usr/bin/$t" "$tools_dir/$t"
done
chmod -R u=rwX,go=rX "$root"
chmod 0755 "$root/usr/bin/vireo-tools" "$root/usr/bin/vireo-memwrite" "$root/bin/busybox"
chmod 1777 "$root/tmp"
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
(cd "$root" && find . -mindepth 1 | sort | cpio -o -H newc -R 0:0 --reproducible --quiet) |
    xz -9 --check=crc32 -T1 > "$work/initrd.img"

# The boot partition: FAT16 with syslinux, the kernel and the initramfs.
boot=$work/bootfiles
mkdir -p "$boot"
cp "$work/kernel/boot/vmlinuz-$kver" "$boot/vmlinuz"
cp "$work/initrd.img" "$boot/initrd.img"
cp "$here/boot/syslinux.cfg" "$boot/syslinux.cfg"
touch -d "@$SOURCE_DATE_EPOCH" "$boot"/*
part_kib=$(( (SECTORS - PART_START) / 2 ))
mkfs.vfat -F 16 -n VIREO -i 5669726f --invariant -C "$work/part.img" "$part_kib" >/dev/null
export MTOOLS_SKIP_CHECK=1
mcopy -m -i "$work/part.img" "$boot/syslinux.cfg" "$boot/vmlinuz" "$boot/initrd.img" ::/
syslinux --install "$work/part.img"

# The disk: MBR boot code, one bootable FAT16 partition at 1 MiB.
flat=$work/$NAME-flat.vmdk
truncate -s "${DISK_MIB}M" "$flat"
printf 'label: dos\nlabel-id: 0x5669726f\nunit: sectors\nstart=%d, type=e, bootable\n' "$PART_START" |
    sfdisk --quiet --no-reread --no-tell-kernel "$flat" >/dev/null
dd if="$work/syslinux/usr/lib/syslinux/mbr/mbr.bin" of="$flat" bs=440 count=1 conv=notrunc status=none
dd if="$work/part.img" of="$flat" bs=512 seek="$PART_START" conv=notrunc,sparse status=none

# The descriptor and the configuration, with ids derived from the content.
sum=$(sha256sum < "$flat" | cut -c1-40)
cid=${sum:0:8}
uuid=$(echo "${sum:8:32}" | sed -E 's/(..)/\1 /g; s/ $//; s/^(([0-9a-f]{2} ){7}[0-9a-f]{2}) /\1-/')
cat > "$work/$NAME.vmdk" <<EOF
# Disk DescriptorFile
version=1
encoding="UTF-8"
CID=$cid
parentCID=ffffffff
isNativeSnapshot="no"
createType="vmfs"

# Extent description
RW $SECTORS VMFS "$NAME-flat.vmdk"

# The Disk Data Base
#DDB

ddb.adapterType = "lsilogic"
ddb.geometry.cylinders = "$((SECTORS / (255 * 63)))"
ddb.geometry.heads = "255"
ddb.geometry.sectors = "63"
ddb.longContentID = "${sum:16:24}$cid"
ddb.thinProvisioned = "1"
ddb.uuid = "$uuid"
ddb.virtualHWVersion = "19"
EOF
cat > "$work/$NAME.vmx" <<EOF
.encoding = "UTF-8"
config.version = "8"
virtualHW.version = "19"
displayName = "$NAME"
guestOS = "other5xlinux-64"
numvcpus = "1"
memSize = "256"
firmware = "bios"
scsi0.present = "TRUE"
scsi0.virtualDev = "pvscsi"
scsi0:0.present = "TRUE"
scsi0:0.deviceType = "scsi-hardDisk"
scsi0:0.fileName = "$NAME.vmdk"
ethernet0.present = "TRUE"
ethernet0.virtualDev = "vmxnet3"
ethernet0.networkName = "VM Network"
ethernet0.addressType = "generated"
EOF

rm -rf "$vmdir"
mkdir -p "$vmdir"
mv "$work/$NAME.vmx" "$work/$NAME.vmdk" "$flat" "$vmdir/"
echo "$digest" > "$stamp"
log "built $vmdir (kernel $kver, initramfs $(du -k "$work/initrd.img" | cut -f1) KiB," \
    "disk ${DISK_MIB} MiB, $(du -k "$vmdir/$NAME-flat.vmdk" | cut -f1) KiB allocated)"
log "sha256 $(sha256sum "$vmdir/$NAME-flat.vmdk" | cut -d' ' -f1)  $NAME-flat.vmdk"
