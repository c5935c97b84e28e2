#!/bin/bash
# cold-migration.sh — cold migration through vireo-centerd: the template guest,
# powered off, with a thin and a thick data disk holding known bytes, moves
# from esx-a/local-a to esx-b/local-b (bytes identical, thin stays thin, thick
# stays thick, source folder gone, it boots there); suspended, it moves back
# and resumes the same boot; a VM on a shared datastore changes host without
# a copy; faults: a thick disk too big for the destination, a destination that
# fills up mid-copy, two relocates at once (409), a power-on during the move
# (409) — each leaving nothing on the destination and the VM intact; kill -9
# of the destination's, then the source's vireo-hostd, then of vireo-centerd
# mid-copy (each restarted), and a cancel by the user mid-copy: the VM ends
# registered once, on the host the inventory names, no file, qemu-nbd,
# qemu-img or journal left over (the copy slowed with tc to ~3 MB/s).
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
t_workload_vmx "$DS/local-a/cold-01/cold-01.vmx" 16
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
# slow-01: 16 MiB of data, ~6 s of copy at 24 Mb/s, for the kills and the cancel.
mkvm slow-01 local-a 33554432 THIN
head -c 16M /dev/urandom | dd of="$DS/local-a/slow-01/slow-01-flat.vmdk" bs=1M seek=4 conv=notrunc status=none
slow_sum=$(md5sum <"$DS/local-a/slow-01/slow-01-flat.vmdk")

t_center_cluster "$A" "$(lab_host_addr "$T_NET" 2)" || { t_not_ok "the centre starts"; t_finish; exit 1; }
HA=$(capi_body GET '/api/vcenter/host?names=esx-a' | jq -r '.[0].host')
HB=$(capi_body GET '/api/vcenter/host?names=esx-b' | jq -r '.[0].host')
vm_id() { capi_body GET "/api/vcenter/vm?names=$1" | jq -r '.[0].vm'; }
ds_id() { capi_body GET "/api/vcenter/datastore?names=$1" | jq -r '.[0].datastore'; }
VM=$(vm_id cold-01) SHV=$(vm_id shared-01) BIG=$(vm_id big-01) FILL=$(vm_id fill-01) SLOW=$(vm_id slow-01)
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
t_check "the guest's memory workload runs" t_wait 60 t_workload_runs
t_workload_clean "boot at the destination"
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
t_workload_clean "the suspended guest's move and resume"
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

# --- kills and a cancel mid-copy (slow-01, esx-a/local-a -> esx-b/local-b) ----------------
B=$(lab_host_addr "$T_NET" 2)
hostd_restart() {
    lab_hostd_start "$T_PREFIX-$1" "$T_STATE/$1" "$T_STATE/$1/hostd.ini"
    lab_wait_api "$(lab_host_addr "$T_NET" "$2")" root "$T_PASSWORD" >/dev/null
    t_new_session   # the restarted hostd knows no session
}
slow() { ip netns exec "$T_PREFIX-esx-a" tc qdisc replace dev vmk1 root tbf rate 24mbit burst 64kb latency 2s; }
fast() { ip netns exec "$T_PREFIX-esx-a" tc qdisc del dev vmk1 root 2>/dev/null || true; }
cold_async() {
    capi_body POST "/api/vcenter/vm/$SLOW?action=relocate&vmw-task=true" \
        "{\"placement\":{\"host\":\"$HB\",\"datastore\":\"$LB\"}}" | tr -d '"'
}
task_state() { capi_body GET "/api/cis/tasks/$1" | jq -r .status; }
task_ended() { case $(task_state "$1") in SUCCEEDED|FAILED) return 0;; esac; return 1; }
task_message() { capi_body GET "/api/cis/tasks/$1" | jq -r '.error.messages[0].default_message // .progress.message // ""'; }
copying() { capi_body GET "/api/cis/tasks/$1" | jq -r '.progress.message // ""' | grep -Eq '^copy: .*: [1-9][0-9]* of'; }
host_lists() { VIREO_URL="https://$1:$LAB_PORT" api_body GET '/api/vcenter/vm?names=slow-01' | jq 'if type == "array" then length else "error" end'; }
# Unfinished cold journals (a committed one is kept a day to answer a repeated commit).
journals() { grep -L '"state":"committed"' "$T_STATE"/esx-*/state/cold-migrations/*.json 2>/dev/null | wc -l; }
leftovers() {   # files on local-b, qemu-nbd/qemu-img processes, unfinished journals
    echo "$(ls -A "$DS/local-b" | grep -c '^slow-01$') $(pgrep -f "qemu-(nbd|img).*$T_STATE" | wc -l) $(journals)"
}
clean() { [ "$(leftovers)" = "0 0 0" ]; }
resolved() { capi_body GET "/api/vireo/events?object=$SLOW" | jq -e --arg t "$1" \
    '[.[] | select(.type == "VmMigrationResolvedEvent" and .task == $t)] | length > 0' >/dev/null; }
unlocked() { [ "$(capi_status POST "/api/vcenter/vm/$SLOW/power?action=start")" = 204 ] &&
    [ "$(capi_status POST "/api/vcenter/vm/$SLOW/power?action=stop")" = 204 ]; }
# After a fault the copy was rolled back: one registered copy, on esx-a.
check_rolled_back() {
    t_check "$1: nothing left (slow-01 on local-b, qemu-nbd/qemu-img, journals)" t_wait 30 clean
    echo "# $1: leftovers $(leftovers)"
    t_eq "$1: slow-01 registered on esx-a only (centre: esx-a esx-b; hosts: esx-a esx-b)" "1 0 1 0" \
        "$(on_host "$HA" "$SLOW") $(on_host "$HB" "$SLOW") $(host_lists "$A") $(host_lists "$B")"
    t_eq "$1: its data is intact" "$slow_sum" "$(md5sum <"$DS/local-a/slow-01/slow-01-flat.vmdk")"
    t_check "$1: it powers on and off (not held)" t_wait 20 unlocked
}
slow
T=$(cold_async)
t_check "1: the copy starts" t_wait 30 copying "$T"
lab_kill9 "$T_STATE/esx-b"
t_check "1: destination hostd killed mid-copy: the task FAILED" t_wait 30 task_ended "$T"
echo "# 1: $(task_message "$T")"
t_eq "1: ... FAILED at step copy, slow-01 stays on esx-a" "FAILED 1" \
    "$(task_state "$T") $(task_message "$T" | grep -c 'failed at step copy on esx-b.*slow-01 stays on esx-a')"
hostd_restart esx-b 2
t_check "1: the restarted esx-b answers the abort (VmMigrationResolvedEvent)" t_wait 30 resolved "$T"
check_rolled_back 1

T=$(cold_async)
t_check "2: the copy starts" t_wait 30 copying "$T"
lab_kill9 "$T_STATE/esx-a"
sleep 1
hostd_restart esx-a 1
t_check "2: source hostd killed mid-copy and restarted: the task ends" t_wait 60 task_ended "$T"
echo "# 2: $(task_message "$T")"
t_eq "2: ... FAILED, slow-01 stays on esx-a" "FAILED 1" "$(task_state "$T") $(task_message "$T" | grep -c 'slow-01 stays on esx-a')"
check_rolled_back 2

T=$(cold_async)
t_check "3: the copy starts" t_wait 30 copying "$T"
lab_kill9 "$T_STATE/center"
sleep 1
lab_center_up "$T_NET" "$T_STATE" "$T_PASSWORD" >/dev/null
t_center_new_sessions
t_eq "3: centre killed mid-copy and restarted: the task is FAILED" FAILED "$(task_state "$T")"
t_check "3: the centre settles the migration (VmMigrationResolvedEvent)" t_wait 60 resolved "$T"
echo "# 3: $(capi_body GET "/api/vireo/events?object=$SLOW" | jq -r '[.[] | select(.type == "VmMigrationResolvedEvent")] | last | .message')"
check_rolled_back 3

T=$(cold_async)
t_check "4: the copy starts" t_wait 30 copying "$T"
t_eq "4: the user cancels the task mid-copy: 204" 204 "$(capi_status POST "/api/cis/tasks/$T?action=cancel")"
t_check "4: the task ends" t_wait 30 task_ended "$T"
echo "# 4: $(task_message "$T")"
t_eq "4: ... FAILED, cancelled by the user, slow-01 stays on esx-a" "FAILED 1" \
    "$(task_state "$T") $(task_message "$T" | grep -c 'cancelled by the user.*slow-01 stays on esx-a')"
check_rolled_back 4
t_eq "4: a cancel of the ended task: 400" 400 "$(capi_status POST "/api/cis/tasks/$T?action=cancel")"
fast
t_eq "after the faults slow-01 moves: 200" 200 "$(capi_status POST "/api/vcenter/vm/$SLOW?action=relocate" \
    "{\"placement\":{\"host\":\"$HB\",\"datastore\":\"$LB\"}}")"
t_eq "... registered on esx-b only, its data intact, nothing left behind" "0 1 $slow_sum 0 0" \
    "$(on_host "$HA" "$SLOW") $(on_host "$HB" "$SLOW") $(md5sum <"$DS/local-b/slow-01/slow-01-flat.vmdk") $(pgrep -f "qemu-(nbd|img).*$T_STATE" | wc -l) $(journals)"

t_finish
