#!/bin/bash
# svmotion-center.sh — Storage vMotion through vireo-centerd: the template
# guest runs on esx-a's local-a; the dry run (check_only) reports a datastore
# its host does not mount, a thick disk too big for the 16 MiB "small"
# datastore (ERROR) and a thin one that could outgrow it (WARNING); then one
# data disk alone moves to local-b (per-disk "disks"), throttled so the task
# shows its progress ("N% of M MiB"), while a client pings the guest; same
# boot, the data intact (qemu-img compare), the old files gone; then the
# other disks follow with placement.datastore (vireo vm migrate --datastore),
# and the VM's home (.vmx, vmware.log) with them: the centre's `datastore`
# names local-b, also after a reconcile.
. "$(dirname "$0")/lib.sh"
t_require_root
t_require_template
[ -x "$LAB_BUILD/src/center/vireo-centerd" ] || t_skip_all "vireo-centerd is not built"

DS="$T_STATE/datastores"
mkdir -p "$DS/local-a" "$DS/local-b" "$DS/small" "$DS/other"
mount -t tmpfs -o size=16m "$T_PREFIX-small" "$DS/small"
t_lab_host esx-a 1 "local-a=$DS/local-a" "local-b=$DS/local-b" "small=$DS/small" || { t_not_ok "hosts start"; t_finish; exit 1; }
t_lab_host esx-b 2 "other=$DS/other" || { t_not_ok "hosts start"; t_finish; exit 1; }
A=$(lab_host_addr "$T_NET" 1)
export VIREO_URL="https://$A:$LAB_PORT"

lab_copy_vm "$T_TEMPLATE" "$DS/local-a/sv-01" sv-01
t_workload_vmx "$DS/local-a/sv-01/sv-01.vmx" 16
t_check "the guest is registered on esx-a" vireo vm register --datastore local-a sv-01/sv-01.vmx --name sv-01
hvm=$(api_body GET '/api/vcenter/vm?names=sv-01' | jq -r '.[0].vm')
# Hard disk 2: thin, 32 MiB, 8 MiB of random bytes at 4 MiB; Hard disk 3:
# thick (lazy zeroed) 24 MiB.
t_eq "a thin data disk is added" 201 \
    "$(api_status POST "/api/vcenter/vm/$hvm/hardware/disk" '{"new_vmdk":{"capacity":33554432,"provisioning":"THIN"}}')"
t_eq "a thick 24 MiB disk is added" 201 \
    "$(api_status POST "/api/vcenter/vm/$hvm/hardware/disk" '{"new_vmdk":{"capacity":25165824,"provisioning":"THICK_LAZY_ZEROED"}}')"
file_of() { grep -E "^scsi0:$1\.fileName" "$DS/local-a/sv-01/sv-01.vmx" | sed 's/.*= "\(.*\)"/\1/' | xargs basename -s .vmdk; }
data_base=$(file_of 1)
head -c 8M /dev/urandom >"$T_STATE/pattern"
dd if="$T_STATE/pattern" of="$DS/local-a/sv-01/$data_base-flat.vmdk" bs=1M seek=4 conv=notrunc,sparse status=none
truncate -s 32M "$T_STATE/reference.raw"
dd if="$T_STATE/pattern" of="$T_STATE/reference.raw" bs=1M seek=4 conv=notrunc status=none

t_lab_center || { t_not_ok "the centre starts"; t_finish; exit 1; }
DC=$(capi_body POST /api/vcenter/datacenter '{"name":"dc1"}' | tr -d '"')
HF=$(capi_body GET "/api/vcenter/datacenter/$DC" | jq -r .host_folder)
lab_center_add_host "$HF" "$A" "$T_PASSWORD" >/dev/null
lab_center_add_host "$HF" "$(lab_host_addr "$T_NET" 2)" "$T_PASSWORD" >/dev/null
VM=$(capi_body GET '/api/vcenter/vm?names=sv-01' | jq -r '.[0].vm')
dsid() { capi_body GET "/api/vcenter/datastore?names=$1" | jq -r '.[0].datastore'; }
LA=$(dsid local-a) LB=$(dsid local-b) SMALL=$(dsid small) OTHER=$(dsid other)
t_match "the centre knows the VM and the four datastores" '^vm-[0-9]+ (datastore-[0-9]+ ?){4}$' "$VM $LA $LB $SMALL $OTHER"
export VIREO_URL=$T_CENTER_URL VIREO_USERNAME=administrator VIREO_PASSWORD=$T_PASSWORD

tools() { capi_body GET "/api/vcenter/vm/$VM/tools"; }
tools_running() { [ "$(tools | jq -r .run_state)" = RUNNING ]; }
t_eq "power on through the centre" 204 "$(capi_status POST "/api/vcenter/vm/$VM/power?action=start")"
t_check "the guest agent reports (tools RUNNING)" t_wait 150 tools_running
ip=""
guest_ip() { ip=$(tools | jq -r '.ip_address // empty'); [ -n "$ip" ] || ip=$(capi_body GET "/api/vcenter/vm/$VM/guest/identity" | jq -r '.ip_address // empty'); [ -n "$ip" ]; }
t_check "the guest has an address" t_wait 90 guest_ip
guest_ip
t_check "the guest answers pings" t_wait 20 ip netns exec "$T_PREFIX-net" ping -c1 -W1 "$ip"
bid=$(tools | jq -r .boot_id)
qpid=$(qemu_pids_of "$T_STATE/esx-a/")
t_check "the guest's memory workload runs" t_wait 60 t_workload_runs

# --- the dry run ----------------------------------------------------------------
check() { capi POST "/api/vcenter/vm/$VM?action=relocate&check_only=true" "$1"; }
issue() { echo "$1" | jq -r --arg c "$2" '[.issues[] | select(.code == $c) | .severity] | join(",")'; }
r=$(check "{\"placement\":{\"datastore\":\"$OTHER\"}}")
t_eq "check_only, a datastore esx-a does not mount: 200 STORAGE_VMOTION" "200 STORAGE_VMOTION" "${r%% *} $(echo "${r#* }" | jq -r .kind)"
t_eq "... datastore-unreachable is an ERROR" ERROR "$(issue "${r#* }" datastore-unreachable)"
t_match "... naming the datastore and the host" "other.*esx-a|esx-a.*other" "$(echo "${r#* }" | jq -r '.issues[0].message')"
r=$(check '{"disks":{"2002":{"datastore":"'"$SMALL"'"}}}')
t_eq "the 24 MiB thick disk to the 16 MiB datastore: datastore-space ERROR" "STORAGE_VMOTION ERROR" \
    "$(echo "${r#* }" | jq -r .kind) $(issue "${r#* }" datastore-space)"
r=$(check '{"disks":{"2001":{"datastore":"'"$SMALL"'"}}}')
t_eq "the thin disk (8 MiB of data, 32 MiB capacity) there: datastore-overcommit WARNING only" "WARNING 0" \
    "$(issue "${r#* }" datastore-overcommit) $(echo "${r#* }" | jq '[.issues[] | select(.severity == "ERROR")] | length')"
r=$(check '{"disks":{"2001":{"datastore":"'"$LB"'"}}}')
t_eq "the thin disk to local-b: STORAGE_VMOTION, no issue" "200 STORAGE_VMOTION 0" \
    "${r%% *} $(echo "${r#* }" | jq -r .kind) $(echo "${r#* }" | jq '.issues | length')"
r=$(check '{"disks":{"2009":{"datastore":"'"$LB"'"}}}')
t_eq "an unknown disk key: 400 INVALID_ARGUMENT" "400 INVALID_ARGUMENT" "${r%% *} $(echo "${r#* }" | jq -r .error_type)"
r=$(capi POST "/api/vcenter/vm/$VM?action=relocate" '{"disks":{"2002":{"datastore":"'"$SMALL"'"}}}')
t_match "the thick disk to small for real: 400 naming the free space" "^400 .*small has [0-9]+ MiB free" \
    "${r%% *} $(echo "${r#* }" | jq -r '.messages[0].default_message')"
r=$(capi POST "/api/vcenter/vm/$VM?action=relocate" "{\"placement\":{\"datastore\":\"$OTHER\"}}")
t_eq "placement.datastore not mounted, for real: 400 INVALID_ARGUMENT" "400 INVALID_ARGUMENT" "${r%% *} $(echo "${r#* }" | jq -r .error_type)"
t_eq "nothing was created on small or other" "" "$(ls -A "$DS/small" "$DS/other" | grep -v -e '^\.vireo-datastore$' -e '^$' -e ':$')"

# --- a cancel by the user mid-copy: the disk stays, nothing left on local-b ------------
r=$(capi POST "/api/vcenter/vm/$VM?action=relocate&vmw-task=true" \
    '{"disks":{"2001":{"datastore":"'"$LB"'"}},"speed_limit_MiB_per_second":1}')
CT=$(echo "${r#* }" | tr -d '"')
copying() { capi_body GET "/api/cis/tasks/$CT" | jq -r '.progress.message // ""' | grep -q '^copying'; }
t_check "a throttled move starts copying" t_wait 30 copying
t_eq "the user cancels it: 204" 204 "$(capi_status POST "/api/cis/tasks/$CT?action=cancel")"
ended() { case $(capi_body GET "/api/cis/tasks/$CT" | jq -r .status) in SUCCEEDED|FAILED) return 0;; esac; return 1; }
t_check "the task ends" t_wait 30 ended
t=$(capi_body GET "/api/cis/tasks/$CT")
t_eq "... FAILED" FAILED "$(echo "$t" | jq -r .status)"
t_match "... cancelled by the user" "cancelled by the user" "$(echo "$t" | jq -r '.error.messages[0].default_message')"
t_check "the data disk is still on local-a" test -s "$DS/local-a/sv-01/$data_base-flat.vmdk"
t_eq "nothing was left on local-b" "" "$(ls -A "$DS/local-b" | grep -v '^\.vireo-datastore$')"
t_eq "the guest runs on, same boot" "$bid" "$(tools | jq -r .boot_id)"

# --- one disk to local-b, throttled, while the guest is pinged ---------------------
ip netns exec "$T_PREFIX-net" ping -i 0.2 -W 1 "$ip" >"$T_STATE/ping.log" 2>&1 &
pinger=$!
sleep 1
r=$(capi POST "/api/vcenter/vm/$VM?action=relocate&vmw-task=true" \
    '{"disks":{"2001":{"datastore":"'"$LB"'"}},"speed_limit_MiB_per_second":2}')
TASK=$(echo "${r#* }" | tr -d '"')
t_match "relocate with disks answers 202 and a task" "^202 task-[0-9]+$" "${r%% *} $TASK"
seen=""
for _ in $(seq 1 150); do
    t=$(capi_body GET "/api/cis/tasks/$TASK")
    st=$(echo "$t" | jq -r .status)
    msg=$(echo "$t" | jq -r '.progress.message // empty')
    [[ $msg =~ [0-9]+%\ of\ [0-9]+\ MiB ]] && [ -z "$seen" ] && [[ ! $msg =~ ^copying:\ 0% ]] && seen=$msg
    [ "$st" = RUNNING ] || break
    sleep 0.2
done
t_eq "the task vm.relocate.storage SUCCEEDED" "vm.relocate.storage SUCCEEDED" "$(echo "$t" | jq -r '"\(.operation) \(.status)"')"
t_match "its progress said how far the copy was (\"$seen\")" '^copying: [0-9]+% of [0-9]+ MiB$' "$seen"
echo "# result: $(echo "$t" | jq -c .result)"
sleep 1
kill -INT "$pinger" 2>/dev/null; wait "$pinger" 2>/dev/null
loss=$(grep -o '[0-9.]*% packet loss' "$T_STATE/ping.log")
t_match "the guest answered pings throughout ($loss)" '^[0-9](\.[0-9]+)?% packet loss' "$loss"
t_eq "the guest did not reboot (same boot id)" "$bid" "$(tools | jq -r .boot_id)"
t_workload_clean "the per-disk move"
t_eq "in the same QEMU" "$qpid" "$(qemu_pids_of "$T_STATE/esx-a/")"
t_check "the data disk is on local-b" test -s "$DS/local-b/sv-01/$data_base-flat.vmdk"
t_eq "its old files are gone from local-a" "" "$(ls "$DS/local-a/sv-01" | grep -F "$data_base")"
t_check "the system disk stayed on local-a" test -s "$DS/local-a/sv-01/sv-01-flat.vmdk"
t_match "the .vmx names the data disk on local-b" "^scsi0:1.fileName = \"/vmfs/volumes/local-b/sv-01/$data_base.vmdk\"" \
    "$(grep '^scsi0:1.fileName' "$DS/local-a/sv-01/sv-01.vmx")"
t_match "a VmMigratedEvent names the disk and the datastore" "storage moved to Hard disk 2 to local-b: [0-9]+ MiB copied in" \
    "$(capi_body GET "/api/vireo/events?object=$VM" | jq -r '[.[] | select(.type == "VmMigratedEvent")][0].message')"

# --- the other disks with placement.datastore (the CLI) ------------------------------
out=$(vireo vm migrate sv-01 --datastore local-b 2>&1); rc=$?
t_eq "vireo vm migrate sv-01 --datastore local-b succeeds" 0 "$rc"
t_match "... printing what was copied" "Moved the disks of sv-01 to local-b: [^\n]* copied in" "$out"
t_eq "no disk is left on local-a" "" "$(ls "$DS/local-a/sv-01" 2>/dev/null | grep '\.vmdk$')"
t_eq "the inventory lists the VM on local-b, not on local-a" "1 0" \
    "$(capi_body GET "/api/vcenter/vm?datastores=$LB" | jq length) $(capi_body GET "/api/vcenter/vm?datastores=$LA" | jq length)"
t_eq "the task's result says the home moved" "true" \
    "$(capi_body "GET" "/api/cis/tasks?targets=$VM" | jq -r '[.[] | select(.operation == "vm.relocate.storage")] | max_by(.start_time) | .result.home_moved')"
t_check "the .vmx is in local-b's folder" test -s "$DS/local-b/sv-01/sv-01.vmx"
t_check "the old folder is gone from local-a" test ! -e "$DS/local-a/sv-01"
t_eq "the host's GET of the VM works under the same id" 200 \
    "$(VIREO_URL="https://$A:$LAB_PORT" api_status GET "/api/vcenter/vm/$hvm")"
HA=$(capi_body GET '/api/vcenter/host?names=esx-a' | jq -r '.[0].host')
capi_status POST "/api/vcenter/host/$HA?action=disconnect" >/dev/null
capi_status POST "/api/vcenter/host/$HA?action=reconnect" >/dev/null
connected() { [ "$(capi_body GET "/api/vcenter/host/$HA" | jq -r .connection_state)" = CONNECTED ]; }
t_check "esx-a reconnects (the centre reconciles it)" t_wait 20 connected
sleep 1
t_eq "after the reconcile the VM (same id) is still on local-b" "$VM 0" \
    "$(capi_body GET "/api/vcenter/vm?datastores=$LB" | jq -r '.[0].vm') $(capi_body GET "/api/vcenter/vm?datastores=$LA" | jq length)"
t_eq "the guest did not reboot (same boot id)" "$bid" "$(tools | jq -r .boot_id)"
t_workload_clean "the move of the other disks"
t_check "the guest answers pings" ip netns exec "$T_PREFIX-net" ping -c1 -W2 "$ip"

# --- the data, offline -----------------------------------------------------------------
t_eq "power off" 204 "$(capi_status POST "/api/vcenter/vm/$VM/power?action=stop")"
t_check "qemu-img compare: the moved data disk is bit for bit what was written" \
    qemu-img compare -q -f raw -F raw "$T_STATE/reference.raw" "$DS/local-b/sv-01/$data_base-flat.vmdk"
t_check "the thin data disk stayed thin" \
    awk -v u="$(du -k "$DS/local-b/sv-01/$data_base-flat.vmdk" | cut -f1)" 'BEGIN { exit !(u < 16384) }'
t_finish
