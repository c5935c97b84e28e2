#!/bin/bash
# cold-migration.sh — cold migration through vireo-centerd: the template guest,
# powered off, with a thin and a thick data disk holding known bytes, moves
# from esx-a/local-a to esx-b/local-b (bytes identical, thin stays thin, thick
# stays thick, source folder gone, it boots there); suspended, it moves back
# and resumes the same boot; a VM on a shared datastore changes host without
# a copy; faults: a thick disk too big for the destination, a destination that
# fills up mid-copy, two relocates at once (409), a power-on during the move
# (409) — each leaving nothing on the destination and the VM intact.
. "$(dirname "$0")/lib.sh"
t_require_root
t_require_template
[ -x "$LAB_BUILD/src/center/vireo-centerd" ] || t_skip_all "vireo-centerd is not built"

DS="$T_STATE/datastores"
mkdir -p "$DS/local-a" "$DS/local-b" "$DS/shared" "$DS/tiny"
# tiny: 4 MiB, smaller than the thick disk and than the thin disk's data.
mount -t tmpfs -o size=4m "$T_PREFIX-tiny" "$DS/tiny"
t_lab_host esx-a 1 "local-a=$DS/local-a" "shared=$DS/shared" || { t_not_ok "hosts start"; t_finish; exit 1; }
t_lab_host esx-b 2 "local-b=$DS/local-b" "shared=$DS/shared" "tiny=$DS/tiny" || { t_not_ok "hosts start"; t_finish; exit 1; }
A=$(lab_host_addr "$T_NET" 1)
hapi() { VIREO_URL="https://$A:$LAB_PORT" api "$@"; }

# The guest on local-a with two data disks: 32 MiB thin, 8 MiB lazy-zeroed thick.
lab_copy_vm "$T_TEMPLATE" "$DS/local-a/cold-01" cold-01
VIREO_URL="https://$A:$LAB_PORT" t_check "the guest is registered on esx-a" \
    vireo vm register --datastore local-a cold-01/cold-01.vmx --name cold-01
gid=$(hapi GET '/api/vcenter/vm?names=cold-01' | cut -d' ' -f2- | jq -r '.[0].vm')
t_eq "a thin data disk is added" 201 "$(hapi POST "/api/vcenter/vm/$gid/hardware/disk" \
    '{"new_vmdk":{"capacity":33554432,"provisioning":"THIN"}}' | cut -d' ' -f1)"
t_eq "a thick data disk is added" 201 "$(hapi POST "/api/vcenter/vm/$gid/hardware/disk" \
    '{"new_vmdk":{"capacity":8388608,"provisioning":"THICK_LAZY_ZEROED"}}' | cut -d' ' -f1)"
vmx_disk() { grep -E "^scsi0:$2\.fileName" "$1" | sed 's/.*= "\(.*\)"/\1/' | xargs basename -s .vmdk; }
thin=$(vmx_disk "$DS/local-a/cold-01/cold-01.vmx" 1)
thick=$(vmx_disk "$DS/local-a/cold-01/cold-01.vmx" 2)
head -c 8M /dev/urandom | dd of="$DS/local-a/cold-01/$thin-flat.vmdk" bs=1M seek=4 conv=notrunc,sparse status=none
head -c 2M /dev/urandom | dd of="$DS/local-a/cold-01/$thick-flat.vmdk" bs=1M seek=1 conv=notrunc status=none
sums() { (cd "$1" && md5sum cold-01-flat.vmdk "$thin-flat.vmdk" "$thick-flat.vmdk" | awk '{print $1}' | tr '\n' ' '); }
sums_before=$(sums "$DS/local-a/cold-01")
du_thin_before=$(du -k "$DS/local-a/cold-01/$thin-flat.vmdk" | cut -f1)

# Small VMs for the shared case and the faults (no guest OS: they only need to power on).
mkvm() {
    hapi POST /api/vcenter/vm "{\"name\":\"$1\",\"placement\":{\"datastore\":\"$2\"},\"memory\":{\"size_MiB\":32},\"disks\":[{\"new_vmdk\":{\"capacity\":$3,\"provisioning\":\"$4\"}}]}" >/dev/null
}
mkvm shared-01 shared 1048576 THIN
mkvm big-01 local-a 8388608 THICK_LAZY_ZEROED
mkvm fill-01 local-a 33554432 THIN
head -c 8M /dev/urandom | dd of="$DS/local-a/fill-01/fill-01-flat.vmdk" bs=1M seek=2 conv=notrunc status=none
fill_sum=$(md5sum <"$DS/local-a/fill-01/fill-01-flat.vmdk")

t_lab_center || { t_not_ok "the centre starts"; t_finish; exit 1; }
DC=$(capi_body POST /api/vcenter/datacenter '{"name":"dc1"}' | tr -d '"')
HF=$(capi_body GET "/api/vcenter/datacenter/$DC" | jq -r .host_folder)
CL=$(capi_body POST /api/vcenter/cluster "{\"name\":\"cluster1\",\"folder\":\"$HF\"}" | tr -d '"')
lab_center_add_host "$CL" "$A" "$T_PASSWORD" >/dev/null
lab_center_add_host "$CL" "$(lab_host_addr "$T_NET" 2)" "$T_PASSWORD" >/dev/null
HA=$(capi_body GET '/api/vcenter/host?names=esx-a' | jq -r '.[0].host')
HB=$(capi_body GET '/api/vcenter/host?names=esx-b' | jq -r '.[0].host')
vm_id() { capi_body GET "/api/vcenter/vm?names=$1" | jq -r '.[0].vm'; }
ds_id() { capi_body GET "/api/vcenter/datastore?names=$1" | jq -r '.[0].datastore'; }
VM=$(vm_id cold-01) SHV=$(vm_id shared-01) BIG=$(vm_id big-01) FILL=$(vm_id fill-01)
LA=$(ds_id local-a) LB=$(ds_id local-b) TINY=$(ds_id tiny)
t_match "hosts, VMs and datastores are in the inventory" '^host-[0-9]+ host-[0-9]+ vm-[0-9]+ vm-[0-9]+ datastore-[0-9]+ datastore-[0-9]+$' \
    "$HA $HB $VM $SHV $LA $LB"
export VIREO_URL=$T_CENTER_URL VIREO_USERNAME=administrator VIREO_PASSWORD=$T_PASSWORD

vm_attr() { capi_body GET "/api/vcenter/vm?vms=$1" | jq -r ".[0].$2"; }
on_host() { capi_body GET "/api/vcenter/vm?hosts=$1" | jq -r --arg v "$2" '[.[] | select(.vm == $v)] | length'; }
task_of() { capi_body GET "/api/vireo/events?object=$1" | jq -r --arg t "$2" '[.[] | select(.type == $t)] | last | .task'; }
event_msg() { capi_body GET "/api/vireo/events?object=$1" | jq -r --arg t "$2" '[.[] | select(.type == $t)] | last | .message'; }
nothing_on_tiny() { [ -z "$(ls -A "$DS/tiny" | grep -v '^\.vireo-datastore$')" ]; }
qemus() { pgrep -f "qemu-system.*$1" | wc -l; }

# --- the dry run ------------------------------------------------------------------
r=$(capi POST "/api/vcenter/vm/$VM?action=relocate&check_only=true" "{\"placement\":{\"host\":\"$HB\",\"datastore\":\"$LB\"}}")
t_eq "check_only of a powered-off VM: kind COLD, no error" "200 COLD 0" \
    "${r%% *} $(echo "${r#* }" | jq -r '"\(.kind) \([.issues[] | select(.severity == "ERROR")] | length)"')"
r=$(capi_body POST "/api/vcenter/vm/$VM?action=relocate&check_only=true" "{\"placement\":{\"host\":\"$HB\"}}")
t_eq "... to esx-b without a datastore: datastore-unreachable (local-a)" "COLD ERROR" \
    "$(echo "$r" | jq -r '"\(.kind) \(.issues[] | select(.code == "datastore-unreachable") | .severity)"' | head -1)"

# --- case 1: shared datastore, host only: no copy -----------------------------------
out=$(vireo vm migrate shared-01 --host esx-b 2>&1); rc=$?
t_eq "vireo vm migrate shared-01 --host esx-b (cold, shared datastore) succeeds" 0 "$rc"
echo "# $out" | tr '\n' ' '; echo
t_match "... saying no file was copied" "No file copied" "$out"
t_eq "shared-01 is on esx-b, not esx-a" "1 0" "$(on_host "$HB" "$SHV") $(on_host "$HA" "$SHV")"
t_check "its folder stayed on shared" test -f "$DS/shared/shared-01/shared-01.vmx"
t_eq "esx-a no longer lists it" 0 "$(hapi GET '/api/vcenter/vm?names=shared-01' | cut -d' ' -f2- | jq length)"

# --- case 2: esx-a/local-a -> esx-b/local-b, powered off, with two relocates and a power-on at once
body="{\"placement\":{\"host\":\"$HB\",\"datastore\":\"$LB\"}}"
(capi POST "/api/vcenter/vm/$VM?action=relocate&vmw-task=true" "$body" >"$T_STATE/r1") & p1=$!
(capi POST "/api/vcenter/vm/$VM?action=relocate&vmw-task=true" "$body" >"$T_STATE/r2") & p2=$!
wait $p1 $p2
t_eq "two relocates of one VM at once: one 202, one 409" "202 409 " "$(cat "$T_STATE/r1" "$T_STATE/r2" | cut -d' ' -f1 | sort | tr '\n' ' ')"
TASK=$(cat "$T_STATE/r1" "$T_STATE/r2" | grep '^202' | cut -d' ' -f2- | tr -d '"')
st1=$(capi_body GET "/api/cis/tasks/$TASK" | jq -r .status)
pw=$(capi_status POST "/api/vcenter/vm/$VM/power?action=start")
st2=$(capi_body GET "/api/cis/tasks/$TASK" | jq -r .status)
echo "# task $st1 before the power-on, $st2 after: $(capi_body GET "/api/cis/tasks/$TASK" | jq -c .progress)"
t_eq "a power-on while the task runs is refused (409)" "RUNNING 409 RUNNING" "$st1 $pw $st2"
t_check "vireo task wait follows the cold migration" vireo task wait "$TASK"
info=$(capi_body GET "/api/cis/tasks/$TASK")
t_eq "the task vm.relocate.cold SUCCEEDED" "vm.relocate.cold SUCCEEDED" "$(echo "$info" | jq -r '"\(.operation) \(.status)"')"
echo "# result: $(echo "$info" | jq -c .result)"
t_match "the event says what moved" "relocated from esx-a/local-a to esx-b/local-b \(cold\): [0-9]+ MiB copied in [0-9.]+ s" \
    "$(event_msg "$VM" VmRelocatedEvent)"
on_ds() { capi_body GET "/api/vcenter/vm?datastores=$1" | jq -r --arg v "$2" '[.[] | select(.vm == $v)] | length'; }
t_eq "the inventory places it on esx-b, datastore local-b" "1 0 1 0" \
    "$(on_host "$HB" "$VM") $(on_host "$HA" "$VM") $(on_ds "$LB" "$VM") $(on_ds "$LA" "$VM")"
t_eq "the source folder is gone" no "$(test -e "$DS/local-a/cold-01" && echo yes || echo no)"
t_eq "every disk's bytes are identical" "$sums_before" "$(sums "$DS/local-b/cold-01")"
du_thin_after=$(du -k "$DS/local-b/cold-01/$thin-flat.vmdk" | cut -f1)
t_eq "the thin disk stays thin (du ${du_thin_before} KiB -> ${du_thin_after} KiB of 32768)" 1 \
    "$(awk -v a="$du_thin_after" -v b="$du_thin_before" 'BEGIN {print (a <= b + 1024 && a < 16384) ? 1 : 0}')"
t_eq "the thick disk stays thick (8192 KiB allocated)" 8192 "$(du -k "$DS/local-b/cold-01/$thick-flat.vmdk" | cut -f1)"
t_eq "its descriptor still says thin" 1 "$(grep -c 'ddb.thinProvisioned = "1"' "$DS/local-b/cold-01/$thin.vmdk")"
t_match "the .vmx names the disks in the new folder" "^cold-01.vmdk $thin.vmdk $thick.vmdk $" \
    "$(for u in 0 1 2; do grep -E "^scsi0:$u\.fileName" "$DS/local-b/cold-01/cold-01.vmx" | sed 's/.*= "\(.*\)"/\1/'; done | tr '\n' ' ')"
t_eq "no key file is left on either host" "" "$(find "$T_STATE"/esx-*/state -name keys.psk)"
t_eq "no qemu-nbd is left" 0 "$(pgrep -f "qemu-nbd.*$T_STATE" | wc -l)"

# --- it boots on esx-b; suspended, it moves back and resumes the same boot ----------
tools() { capi_body GET "/api/vcenter/vm/$VM/tools"; }
tools_running() { [ "$(tools | jq -r .run_state)" = RUNNING ]; }
t_eq "power on at the destination" 204 "$(capi_status POST "/api/vcenter/vm/$VM/power?action=start")"
t_check "the guest boots there (tools RUNNING)" t_wait 180 tools_running
t_eq "its QEMU runs on esx-b" "1 0" "$(qemus "$T_STATE/esx-b/") $(qemus "$T_STATE/esx-a/")"
sleep 3
bid=$(tools | jq -r .boot_id)
up1=$(tools | jq -r .uptime_seconds)
t_eq "suspend" 204 "$(capi_status POST "/api/vcenter/vm/$VM/power?action=suspend")"
suspended() { [ "$(vm_attr "$VM" power_state)" = SUSPENDED ]; }
t_check "... SUSPENDED" t_wait 60 suspended
vmss_size=$(stat -c %s "$DS/local-b/cold-01/cold-01.vmss")
out=$(vireo vm migrate cold-01 --host esx-a --datastore local-a 2>&1); rc=$?
t_eq "vireo vm migrate cold-01 --host esx-a --datastore local-a (suspended) succeeds" 0 "$rc"
echo "# $out" | tr '\n' ' '; echo
t_match "... and prints what was copied" "Migrated cold-01 \(cold\) to esx-a, local-a" "$out"
t_eq "back on esx-a, local-a, still SUSPENDED" "1 1 SUSPENDED" "$(on_host "$HA" "$VM") $(on_ds "$LA" "$VM") $(vm_attr "$VM" power_state)"
t_eq "the .vmss has its exact size ($vmss_size bytes)" "$vmss_size" "$(stat -c %s "$DS/local-a/cold-01/cold-01.vmss" 2>/dev/null)"
t_eq "the folder on local-b is gone" no "$(test -e "$DS/local-b/cold-01" && echo yes || echo no)"
t_eq "resume on esx-a" 204 "$(capi_status POST "/api/vcenter/vm/$VM/power?action=start")"
t_check "the guest runs on (tools RUNNING)" t_wait 90 tools_running
t_eq "the same boot (boot id)" "$bid" "$(tools | jq -r .boot_id)"
up2=$(tools | jq -r .uptime_seconds)
t_eq "its uptime went on ($up1 s -> $up2 s)" 1 "$(awk -v a="$up1" -v b="$up2" 'BEGIN {print (b >= a) ? 1 : 0}')"
t_eq "the data disks' bytes are still identical" "$(echo "$sums_before" | cut -d' ' -f2-3)" \
    "$(sums "$DS/local-a/cold-01" | cut -d' ' -f2-3)"
capi_status POST "/api/vcenter/vm/$VM/power?action=stop" >/dev/null

# --- faults: the destination is too small ------------------------------------------------
powerable() {
    [ "$(capi_status POST "/api/vcenter/vm/$1/power?action=start")" = 204 ] &&
        [ "$(capi_status POST "/api/vcenter/vm/$1/power?action=stop")" = 204 ]
}
r=$(capi POST "/api/vcenter/vm/$BIG?action=relocate" "{\"placement\":{\"host\":\"$HB\",\"datastore\":\"$TINY\"}}")
msg=$(echo "${r#* }" | jq -r '.messages[0].default_message')
echo "# $msg"
t_eq "a thick disk larger than tiny: 400 UNABLE_TO_ALLOCATE_RESOURCE" "400 UNABLE_TO_ALLOCATE_RESOURCE" \
    "${r%% *} $(echo "${r#* }" | jq -r .error_type)"
t_match "... naming the step and the host" "failed at step import on esx-b: not enough space" "$msg"
t_check "... nothing is left on tiny" nothing_on_tiny
t_eq "big-01 stays on esx-a" "1 0" "$(on_host "$HA" "$BIG") $(on_host "$HB" "$BIG")"
t_check "... and powers on and off there" powerable "$BIG"

r=$(capi POST "/api/vcenter/vm/$FILL?action=relocate" "{\"placement\":{\"host\":\"$HB\",\"datastore\":\"$TINY\"}}")
msg=$(echo "${r#* }" | jq -r '.messages[0].default_message')
echo "# $msg"
t_eq "tiny fills up mid-copy: 400 UNABLE_TO_ALLOCATE_RESOURCE" "400 UNABLE_TO_ALLOCATE_RESOURCE" \
    "${r%% *} $(echo "${r#* }" | jq -r .error_type)"
t_match "... at step copy on esx-b, saying the datastore is full" "failed at step copy on esx-b: .*No space left on device" "$msg"
t_match "... and that the VM stays on esx-a" "fill-01 stays on esx-a, untouched" "$msg"
t_check "... nothing is left on tiny" nothing_on_tiny
t_eq "fill-01 stays on esx-a with its data intact" "1 $fill_sum" "$(on_host "$HA" "$FILL") $(md5sum <"$DS/local-a/fill-01/fill-01-flat.vmdk")"
t_eq "a VmFailedRelocateEvent is logged" 1 "$(capi_body GET "/api/vireo/events?object=$FILL" | jq '[.[] | select(.type == "VmFailedRelocateEvent")] | length')"
t_check "fill-01 powers on and off on esx-a" powerable "$FILL"
t_eq "no qemu-nbd is left after the faults" 0 "$(pgrep -f "qemu-nbd.*$T_STATE" | wc -l)"

# --- per-disk datastores ("disks") -------------------------------------------------------
SH=$(ds_id shared)
r=$(capi POST "/api/vcenter/vm/$BIG?action=relocate" \
    "{\"placement\":{\"host\":\"$HB\",\"datastore\":\"$LB\"},\"disks\":{\"2000\":{\"datastore\":\"$SH\"}}}")
t_eq "big-01 to esx-b/local-b with its disk on shared: 200" 200 "${r%% *}"
t_eq "... the home on local-b, the thick disk on shared (still thick), nothing left on local-a" "yes 8192 no" \
    "$(test -f "$DS/local-b/big-01/big-01.vmx" && echo yes) $(du -k "$DS/shared/big-01/big-01-flat.vmdk" | cut -f1) $(test -e "$DS/local-a/big-01" && echo yes || echo no)"
t_eq "... the .vmx names the disk on shared" "/vmfs/volumes/shared/big-01/big-01.vmdk" \
    "$(grep -E '^scsi0:0\.fileName' "$DS/local-b/big-01/big-01.vmx" | sed 's/.*= "\(.*\)"/\1/')"
t_check "... and big-01 powers on and off on esx-b" powerable "$BIG"
r=$(capi POST "/api/vcenter/vm/$FILL?action=relocate" \
    "{\"placement\":{\"datastore\":\"$SH\"},\"disks\":{\"2000\":{\"datastore\":\"$LA\"}}}")
t_eq "fill-01's home to shared, its disk staying on local-a (same host): 200" 200 "${r%% *}"
t_eq "... the disk was neither copied nor deleted" "$fill_sum no" \
    "$(md5sum <"$DS/local-a/fill-01/fill-01-flat.vmdk") $(test -e "$DS/shared/fill-01/fill-01-flat.vmdk" && echo yes || echo no)"
t_eq "... the .vmx on shared names it on local-a" "/vmfs/volumes/local-a/fill-01/fill-01.vmdk" \
    "$(grep -E '^scsi0:0\.fileName' "$DS/shared/fill-01/fill-01.vmx" | sed 's/.*= "\(.*\)"/\1/')"
t_check "... and fill-01 powers on and off" powerable "$FILL"

t_finish
