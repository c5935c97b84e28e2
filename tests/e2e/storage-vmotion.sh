#!/bin/bash
# storage-vmotion.sh — Storage vMotion on one host: the template guest's disks
# move from ds1 to ds2 while it runs and answers pings (same boot, old files
# gone, .vmx rewritten, data intact, boots again from ds2); a move to a
# datastore that fills up (a 4 MiB tmpfs) fails with ENOSPC and leaves the VM
# on its source disks with nothing left behind; the same without waiting
# (vireo_async + relocate-status, as the centre drives it). With
# placement.datastore the home (.vmx, vmware.log) follows the disks: refused
# first by a stray .vmx in the new folder (the VM stays whole in its old
# home, whose .vmx names the moved disks), then moved.
. "$(dirname "$0")/lib.sh"
t_require_root
t_require_template

DS1="$T_STATE/ds1" DS2="$T_STATE/ds2" DS3="$T_STATE/ds3"
mkdir -p "$DS1" "$DS2" "$DS3"
# ds3 is smaller than the data the guest's disks hold: a thin disk may be
# moved there (thin disks are not checked against free space, as in vSphere)
# and the copy then fills it up.
mount -t tmpfs -o size=4m "$T_PREFIX-ds3" "$DS3"
t_lab_host esx-a 1 "ds1=$DS1" "ds2=$DS2" "ds3=$DS3" || { t_not_ok "host starts"; t_finish; exit 1; }
lab_copy_vm "$T_TEMPLATE" "$DS1/guest-01" guest-01
vireo vm register --datastore ds1 guest-01/guest-01.vmx --name guest-01 >/dev/null
vmid=$(api_body GET '/api/vcenter/vm?names=guest-01' | jq -r '.[0].vm')

boot_id() { api_body GET "/api/vcenter/vm/$vmid/tools" | jq -r '.boot_id // empty'; }
uptime_s() { api_body GET "/api/vcenter/vm/$vmid/tools" | jq -r '.uptime_seconds // 0'; }
tools_running() { [ "$(api_body GET "/api/vcenter/vm/$vmid/tools" | jq -r .run_state)" = RUNNING ]; }
power_state() { api_body GET "/api/vcenter/vm/$vmid/power" | jq -r .state; }
qemu_pid() { qemu_pids_of "$T_STATE/esx-a/state/run/$vmid/qemu.pid"; }
vmx_file_names() { grep -E '^scsi0:[0-9]+\.fileName' "${1:-$DS1}/guest-01/guest-01.vmx" | sort; }
open_flats() { ls -l "/proc/$(qemu_pid)/fd" 2>/dev/null | grep -o '/[^ ]*-flat.vmdk' | sort | tr '\n' ' '; }
flats_in() { printf '%s\n' "$1/guest-01/guest-01-flat.vmdk" "$1/guest-01/$data_base-flat.vmdk" "$1/guest-01/$thick_base-flat.vmdk" | sort | tr '\n' ' '; }

# A second, thin data disk holding 8 MiB of random bytes at 4 MiB: what a
# copy must carry bit for bit.
t_eq "a thin data disk is added" 201 \
    "$(api_status POST "/api/vcenter/vm/$vmid/hardware/disk" '{"new_vmdk":{"capacity":33554432,"provisioning":"THIN"}}')"
t_eq "a thick (lazy zeroed) 8 MiB disk is added" 201 \
    "$(api_status POST "/api/vcenter/vm/$vmid/hardware/disk" '{"new_vmdk":{"capacity":8388608,"provisioning":"THICK_LAZY_ZEROED"}}')"
thick_base=$(grep -E '^scsi0:2\.fileName' "$DS1/guest-01/guest-01.vmx" | sed 's/.*= "\(.*\)"/\1/' | xargs basename -s .vmdk)
data_desc=$(grep -E '^scsi0:1\.fileName' "$DS1/guest-01/guest-01.vmx" | sed 's/.*= "\(.*\)"/\1/')
data_base=$(basename "$data_desc" .vmdk)
head -c 8M /dev/urandom >"$T_STATE/pattern"
dd if="$T_STATE/pattern" of="$DS1/guest-01/$data_base-flat.vmdk" bs=1M seek=4 conv=notrunc,sparse status=none
truncate -s 32M "$T_STATE/reference.raw"
dd if="$T_STATE/pattern" of="$T_STATE/reference.raw" bs=1M seek=4 conv=notrunc status=none

t_eq "relocating a powered-off VM is 400 UNSUPPORTED (cold migration)" "400 UNSUPPORTED" \
    "$(r=$(api POST "/api/vcenter/vm/$vmid?action=relocate" '{"placement":{"datastore":"ds2"}}'); echo "${r%% *} $(echo "${r#* }" | jq -r .error_type)")"
t_check "power on" vireo vm power guest-01 on
t_check "the guest agent's heartbeat arrives" t_wait 120 tools_running
ip=$(vireo vm ip guest-01 --wait 90 2>/dev/null | tail -1)
t_check "the guest answers pings" t_wait 20 ip netns exec "$T_PREFIX-net" ping -c1 -W1 "$ip"
bid=$(boot_id)
qpid=$(qemu_pid)

t_eq "cancel-relocate with no relocation running is 400" 400 \
    "$(api_status POST "/api/vcenter/vm/$vmid?action=cancel-relocate")"

# --- a thick disk larger than the destination's free space: refused up front
vmx_before=$(md5sum <"$DS1/guest-01/guest-01.vmx")
r=$(api POST "/api/vcenter/vm/$vmid?action=relocate" '{"disks":{"2002":{"datastore":"ds3"}}}')
t_eq "a thick disk to the 4 MiB ds3 is refused: 400 UNABLE_TO_ALLOCATE_RESOURCE" "400 UNABLE_TO_ALLOCATE_RESOURCE" \
    "${r%% *} $(echo "${r#* }" | jq -r .error_type)"
t_eq "... before anything is created on ds3" "" "$(ls -A "$DS3" | grep -v '^\.vireo-datastore$')"

# --- ENOSPC: the destination fills up mid-copy -------------------------------
vmx_before=$(md5sum <"$DS1/guest-01/guest-01.vmx")
r=$(api POST "/api/vcenter/vm/$vmid?action=relocate" '{"disks":{"2001":{"datastore":"ds3"}}}')
t_eq "a relocate to the tiny ds3 fails: 400 UNABLE_TO_ALLOCATE_RESOURCE" "400 UNABLE_TO_ALLOCATE_RESOURCE" "${r%% *} $(echo "${r#* }" | jq -r .error_type)"
t_match "... saying the datastore is full" "No space left on device" "${r#* }"
t_eq "the VM is still POWERED_ON" POWERED_ON "$(power_state)"
t_eq "in the same QEMU" "$qpid" "$(qemu_pid)"
t_eq "nothing is left on ds3" "" "$(ls -A "$DS3" | grep -v '^\.vireo-datastore$')"
t_eq "the .vmx is unchanged" "$vmx_before" "$(md5sum <"$DS1/guest-01/guest-01.vmx")"
t_check "the source files are still there" test -s "$DS1/guest-01/$data_base-flat.vmdk"
t_eq "QEMU has only the ds1 files open" "$(flats_in "$DS1")" "$(open_flats)"
t_check "the guest still answers pings" ip netns exec "$T_PREFIX-net" ping -c1 -W2 "$ip"

# --- cancelled by the user mid-copy ------------------------------------------
# Limited to 1 MiB/s, the 8 MiB of data take several seconds to copy.
api POST "/api/vcenter/vm/$vmid?action=relocate" \
    '{"disks":{"2001":{"datastore":"ds2"}},"speed_limit_MiB_per_second":1}' >"$T_STATE/cancelled" &
mover=$!
copying() { [ -s "$DS2/guest-01/$data_base-flat.vmdk" ] || [ -e "$DS2/guest-01/$data_base.vmdk" ]; }
t_check "the copy to ds2 starts" t_wait 10 copying
sleep 1
t_eq "cancel-relocate answers 204" 204 "$(api_status POST "/api/vcenter/vm/$vmid?action=cancel-relocate")"
wait $mover
t_match "the relocate then fails, saying it was cancelled" "^500 .*cancelled" "$(cat "$T_STATE/cancelled")"
t_eq "the VM is still POWERED_ON in the same QEMU" "POWERED_ON $qpid" "$(power_state) $(qemu_pid)"
t_eq "the partial copy is deleted from ds2" "" "$(ls -A "$DS2" | grep -v '^\.vireo-datastore$')"
t_eq "the .vmx is unchanged" "$vmx_before" "$(md5sum <"$DS1/guest-01/guest-01.vmx")"
t_eq "QEMU still has only the ds1 files open" "$(flats_in "$DS1")" "$(open_flats)"

# --- without waiting (vireo_async, as the centre calls it): relocate-status ---
status_of() { api_body GET "/api/vcenter/vm/$vmid?action=relocate-status"; }
r=$(api POST "/api/vcenter/vm/$vmid?action=relocate" '{"disks":{"2001":{"datastore":"ds3"}},"vireo_async":true}')
t_eq "an async relocate answers 202 with the bytes to copy" "202 33554432" "${r%% *} $(echo "${r#* }" | jq -r .total_bytes)"
ended() { [ "$(status_of | jq -r .state)" != RUNNING ]; }
t_check "relocate-status leaves RUNNING" t_wait 30 ended
t_eq "... FAILED, UNABLE_TO_ALLOCATE_RESOURCE (ds3 filled up)" "FAILED UNABLE_TO_ALLOCATE_RESOURCE" \
    "$(status_of | jq -r '"\(.state) \(.error.error_type)"')"
t_eq "nothing is left on ds3" "" "$(ls -A "$DS3" | grep -v '^\.vireo-datastore$')"
r=$(api POST "/api/vcenter/vm/$vmid?action=relocate" \
    '{"disks":{"2001":{"datastore":"ds2"}},"vireo_async":true,"speed_limit_MiB_per_second":2}')
t_eq "a throttled async relocate of the data disk to ds2: 202" 202 "${r%% *}"
progress=""
for _ in $(seq 1 100); do
    st=$(status_of)
    [ "$(echo "$st" | jq -r .state)" = RUNNING ] || break
    c=$(echo "$st" | jq -r .completed_bytes)
    [ "$c" -gt 0 ] && [ -z "$progress" ] && progress=$(echo "$st" | jq -c '{phase, completed_bytes, total_bytes}')
    sleep 0.2
done
t_match "relocate-status showed the copy under way ($progress)" '"phase":"copying","completed_bytes":[1-9][0-9]*,"total_bytes":[1-9]' "$progress"
t_eq "... then SUCCEEDED, every byte counted" "SUCCEEDED true" \
    "$(status_of | jq -r '"\(.state) \(.completed_bytes == .total_bytes)"')"
t_check "the data disk is on ds2" test -s "$DS2/guest-01/$data_base-flat.vmdk"
t_eq "its old files are gone from ds1" "" "$(ls "$DS1/guest-01" | grep -F "$data_base")"
t_eq "the guest runs in the same QEMU" "POWERED_ON $qpid" "$(power_state) $(qemu_pid)"

# --- all disks to ds2 while the guest runs and is pinged -------------------
# A .vmx that is not the VM's in ds2's folder: the disks move, the home cannot.
echo 'stray = "not this VM"' >"$DS2/guest-01/guest-01.vmx"
up1=$(uptime_s)
ip netns exec "$T_PREFIX-net" ping -i 0.2 -w 12 -W1 "$ip" >"$T_STATE/ping.log" 2>&1 &
pinger=$!
sleep 2
t0=$(date +%s.%N)
r=$(api POST "/api/vcenter/vm/$vmid?action=relocate" '{"placement":{"datastore":"ds2"}}')
t1=$(date +%s.%N)
wait $pinger
t_eq "relocate to ds2 with a stray .vmx there: 400 ALREADY_EXISTS" "400 ALREADY_EXISTS" \
    "${r%% *} $(echo "${r#* }" | jq -r .error_type)"
t_match "... the disks moved, the home stayed on ds1" "disks moved to ds2 but the VM's home stayed on ds1" "${r#* }"
t_eq "relocate-status: FAILED, home_moved false, home on ds1" "FAILED false ds1" \
    "$(status_of | jq -r '"\(.state) \(.home_moved) \(.home_datastore)"')"
t_eq "the stray .vmx is untouched" 'stray = "not this VM"' "$(cat "$DS2/guest-01/guest-01.vmx")"
t_eq "nothing of the home was left on ds2" "" "$(ls "$DS2/guest-01" | grep -v '\.vmdk$' | grep -vx guest-01.vmx)"
t_eq "the VM's old .vmx (ds1) names the ds2 disks" \
    "scsi0:0.fileName = \"/vmfs/volumes/ds2/guest-01/guest-01.vmdk\" scsi0:1.fileName = \"/vmfs/volumes/ds2/guest-01/$data_base.vmdk\" scsi0:2.fileName = \"/vmfs/volumes/ds2/guest-01/$thick_base.vmdk\"" \
    "$(vmx_file_names "$DS1" | tr '\n' ' ' | sed 's/ $//')"
t_eq "GET of the VM still works, from ds1" "200" "$(api_status GET "/api/vcenter/vm/$vmid")"
rm "$DS2/guest-01/guest-01.vmx"
status=$(api_status POST "/api/vcenter/vm/$vmid?action=relocate" '{"placement":{"datastore":"ds2"}}')
t_eq "relocate to ds2 again (only the home left to move) answers 204" 204 "$status"
t_eq "relocate-status: SUCCEEDED, home_moved true, home on ds2" "SUCCEEDED true ds2" \
    "$(status_of | jq -r '"\(.state) \(.home_moved) \(.home_datastore)"')"
t_check "the .vmx is in ds2's folder" test -s "$DS2/guest-01/guest-01.vmx"
t_check "vmware.log followed, and tells the move" grep -q "home moved from $DS1/guest-01/guest-01.vmx" "$DS2/guest-01/vmware.log"
t_check "the old folder is gone from ds1" test ! -e "$DS1/guest-01"
t_eq "inventory.ini keeps the id $vmid, now on ds2" "$vmid=$DS2/guest-01/guest-01.vmx" \
    "$(grep "^$vmid=" "$T_STATE/esx-a/state/inventory.ini")"
t_eq "the host's GET of the VM works (same id, same name)" "200 guest-01" \
    "$(api_status GET "/api/vcenter/vm/$vmid") $(api_body GET "/api/vcenter/vm/$vmid" | jq -r .name)"
echo "# relocate of 104 MiB of disks ($(du -sh "$DS2/guest-01" | cut -f1) used) took $(echo "$t1 - $t0" | bc) s"
loss=$(grep -o '[0-9.]*% packet loss' "$T_STATE/ping.log")
echo "# pings during the move: $(grep -o '[0-9]* received' "$T_STATE/ping.log"), $loss"
t_match "the guest answered pings throughout (under 10 % lost)" '^[0-9](\.[0-9]+)?% packet loss' "$loss"
t_eq "the VM is POWERED_ON" POWERED_ON "$(power_state)"
t_eq "in the same QEMU" "$qpid" "$(qemu_pid)"
t_eq "the guest did not reboot (same boot id)" "$bid" "$(boot_id)"
sleep 2
t_check "its tools still report (uptime $up1 s → $(uptime_s) s)" \
    awk -v a="$up1" -v b="$(uptime_s)" 'BEGIN { exit !(b > a) }'
t_check "the system disk's flat file is on ds2" test -s "$DS2/guest-01/guest-01-flat.vmdk"
t_check "the data disk's flat file is on ds2" test -s "$DS2/guest-01/$data_base-flat.vmdk"
t_eq "the old disk files are gone from ds1" "" \
    "$(ls "$DS1/guest-01" 2>/dev/null | grep '\.vmdk$')"
t_eq "the .vmx names the ds2 files" \
    "scsi0:0.fileName = \"/vmfs/volumes/ds2/guest-01/guest-01.vmdk\" scsi0:1.fileName = \"/vmfs/volumes/ds2/guest-01/$data_base.vmdk\" scsi0:2.fileName = \"/vmfs/volumes/ds2/guest-01/$thick_base.vmdk\"" \
    "$(vmx_file_names "$DS2" | tr '\n' ' ' | sed 's/ $//')"
t_eq "QEMU has only the ds2 files open (the ds1 ones are closed)" "$(flats_in "$DS2")" "$(open_flats)"
t_check "vireo vm info still works" vireo vm info guest-01
t_eq "a second relocate to where the disks are is a no-op 204" 204 \
    "$(api_status POST "/api/vcenter/vm/$vmid?action=relocate" '{"placement":{"datastore":"ds2"}}')"

# --- the copy is intact, and the guest boots from it -------------------------
t_check "power off" vireo vm power guest-01 off
t_check "qemu-img reads the new system disk (64 MiB raw)" \
    sh -c "qemu-img info -f raw '$DS2/guest-01/guest-01-flat.vmdk' | grep -q 'virtual size: 64 MiB'"
t_check "qemu-img compare: the data disk is bit for bit what was written" \
    qemu-img compare -q -f raw -F raw "$T_STATE/reference.raw" "$DS2/guest-01/$data_base-flat.vmdk"
t_check "the thin system disk stayed thin on ds2" \
    awk -v u="$(du -k "$DS2/guest-01/guest-01-flat.vmdk" | cut -f1)" 'BEGIN { exit !(u < 32768) }'
t_check "the thin data disk stayed thin on ds2" \
    awk -v u="$(du -k "$DS2/guest-01/$data_base-flat.vmdk" | cut -f1)" 'BEGIN { exit !(u < 16384) }'
t_check "the thick disk stayed thick on ds2 (8 MiB allocated)" \
    awk -v u="$(du -k "$DS2/guest-01/$thick_base-flat.vmdk" | cut -f1)" 'BEGIN { exit !(u >= 8192) }'
t_check "power on from ds2" vireo vm power guest-01 on
t_check "the guest boots from the moved disk and its tools run" t_wait 120 tools_running
t_check "... a new boot" test "$(boot_id)" != "$bid"
t_check "power off" vireo vm power guest-01 off

# A quick comparison: the same disk copied offline by qemu-img convert.
t0=$(date +%s.%N)
qemu-img convert -f raw -O raw "$DS2/guest-01/guest-01-flat.vmdk" "$DS2/convert-test.raw"
t1=$(date +%s.%N)
rm -f "$DS2/convert-test.raw"
echo "# qemu-img convert of the system disk (offline) took $(echo "$t1 - $t0" | bc) s"

t_finish
