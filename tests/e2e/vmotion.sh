#!/bin/bash
# vmotion.sh — vMotion on shared storage through vireo-centerd: the template
# guest on a datastore both hosts mount moves from esx-a to esx-b with
# `vireo vm migrate` while a client pings it; the task, the inventory, one
# QEMU, the guest's boot id and uptime, the network after the move; the dry
# run (maintenance mode listed), a powered-off VM's dry run (cold migration),
# and two relocates of one VM at once (one 409) moving it back. The guest
# runs vireo-memwrite on 16 MiB (customization workload_mib): after each move
# it still runs, its passes go on and it found no page lost or torn; the
# convergence policy (vireo_migration) is taken, refused when wrong, and
# reported in the task's result; the move back runs in post-copy.
. "$(dirname "$0")/lib.sh"
t_require_root
t_require_template
[ -x "$LAB_BUILD/src/center/vireo-centerd" ] || t_skip_all "vireo-centerd is not built"

DS="$T_STATE/datastores"
mkdir -p "$DS/local-a" "$DS/local-b" "$DS/shared"
t_lab_host esx-a 1 "local-a=$DS/local-a" "shared=$DS/shared" || { t_not_ok "hosts start"; t_finish; exit 1; }
t_lab_host esx-b 2 "local-b=$DS/local-b" "shared=$DS/shared" || { t_not_ok "hosts start"; t_finish; exit 1; }
A=$(lab_host_addr "$T_NET" 1)
B=$(lab_host_addr "$T_NET" 2)

# The guest on the shared datastore, registered on esx-a before the centre
# knows the host (so it is imported), and a small powered-off VM beside it.
lab_copy_vm "$T_TEMPLATE" "$DS/shared/mig-01" mig-01
t_workload_vmx "$DS/shared/mig-01/mig-01.vmx" 16
VIREO_URL="https://$A:$LAB_PORT" t_check "the guest is registered on esx-a" \
    vireo vm register --datastore shared mig-01/mig-01.vmx --name mig-01
VIREO_URL="https://$A:$LAB_PORT" api_body POST /api/vcenter/vm \
    '{"name":"off-01","placement":{"datastore":"shared"},"memory":{"size_MiB":64},"disks":[{"new_vmdk":{"capacity":1048576}}]}' >/dev/null

t_center_cluster "$A" "$B" || { t_not_ok "the centre starts"; t_finish; exit 1; }
HA=$(capi_body GET '/api/vcenter/host?names=esx-a' | jq -r '.[0].host')
HB=$(capi_body GET '/api/vcenter/host?names=esx-b' | jq -r '.[0].host')
t_match "both hosts are managed by the centre" '^host-[0-9]+ host-[0-9]+$' "$HA $HB"
VM=$(capi_body GET '/api/vcenter/vm?names=mig-01' | jq -r '.[0].vm')
OFF=$(capi_body GET '/api/vcenter/vm?names=off-01' | jq -r '.[0].vm')
t_match "the guest and the powered-off VM are imported" '^vm-[0-9]+ vm-[0-9]+$' "$VM $OFF"

# The CLI talks to the centre from here on.
export VIREO_URL=$T_CENTER_URL VIREO_USERNAME=administrator VIREO_PASSWORD=$T_PASSWORD

tools() { capi_body GET "/api/vcenter/vm/$VM/tools"; }
tools_running() { [ "$(tools | jq -r .run_state)" = RUNNING ]; }
vm_host() { capi_body GET "/api/vcenter/vm?hosts=$1" | jq -r --arg v "$VM" '[.[] | select(.vm == $v)] | length'; }
qemus() { pgrep -f "qemu-system.*$T_STATE/$1/" | wc -l; }
qemus_total() { echo $(($(qemus esx-a) + $(qemus esx-b))); }
one_qemu_on() { [ "$(qemus "$1")" = 1 ] && [ "$(qemus_total)" = 1 ]; }

t_eq "power on through the centre" 204 "$(capi_status POST "/api/vcenter/vm/$VM/power?action=start")"
t_check "the guest agent reports (tools RUNNING)" t_wait 150 tools_running
ip=""
guest_ip() { ip=$(capi_body GET "/api/vcenter/vm/$VM/guest/identity" | jq -r '.ip_address // empty'); [ -n "$ip" ]; }
t_check "the guest has an address" t_wait 90 guest_ip
guest_ip   # t_check ran it in a subshell
t_check "the guest answers pings before the move" t_wait 20 ip netns exec "$T_PREFIX-net" ping -c1 -W1 "$ip"
# The memory workload: running, passes going on, no bad page (lib.sh).
workload_runs() { [ "$(tools | jq -r .workload.mib)" = 16 ] && t_workload_runs; }
t_check "the guest's memory workload runs on 16 MiB" t_wait 60 workload_runs
t_workload_clean "boot"

# --- the dry run ----------------------------------------------------------------
body="{\"placement\":{\"host\":\"$HB\"}}"
r=$(capi POST "/api/vcenter/vm/$VM?action=relocate&check_only=true" "$body")
t_eq "check_only answers 200 with kind VMOTION" "200 VMOTION" "${r%% *} $(echo "${r#* }" | jq -r .kind)"
t_eq "... and no error" 0 "$(echo "${r#* }" | jq '[.issues[] | select(.severity == "ERROR")] | length')"
t_eq "maintenance mode on esx-b" 204 "$(capi_status POST "/api/vcenter/host/$HB?action=enter-maintenance")"
r=$(capi_body POST "/api/vcenter/vm/$VM?action=relocate&check_only=true" "$body")
t_eq "check_only lists host-maintenance as an ERROR" ERROR \
    "$(echo "$r" | jq -r '.issues[] | select(.code == "host-maintenance") | .severity')"
out=$(vireo vm migrate mig-01 --host esx-b --check 2>&1); rc=$?
t_eq "vireo vm migrate --check exits 6 and prints the reason" "6 1" "$rc $(echo "$out" | grep -c '^ERROR   host-maintenance: ')"
r=$(capi POST "/api/vcenter/vm/$VM?action=relocate" "$body")
t_eq "relocate into maintenance is refused (400 NOT_ALLOWED_IN_CURRENT_STATE)" "400 NOT_ALLOWED_IN_CURRENT_STATE" \
    "${r%% *} $(echo "${r#* }" | jq -r .error_type)"
t_eq "maintenance mode off" 204 "$(capi_status POST "/api/vcenter/host/$HB?action=exit-maintenance")"

# --- a powered-off VM is a cold migration (tests/e2e/cold-migration.sh) -------------
r=$(capi POST "/api/vcenter/vm/$OFF?action=relocate&check_only=true" "$body")
t_eq "a powered-off VM's dry run: kind COLD, no error" "200 COLD 0" \
    "${r%% *} $(echo "${r#* }" | jq -r '"\(.kind) \([.issues[] | select(.severity == "ERROR")] | length)"')"
SH=$(capi_body GET '/api/vcenter/datastore?names=shared' | jq -r '.[0].datastore')
# (placement.host + placement.datastore is vMotion + Storage vMotion now:
# tests/e2e/xvmotion.sh.)
r=$(capi POST "/api/vcenter/vm/$VM?action=relocate" "{\"placement\":{\"host\":\"$HB\"},\"vireo_migration\":{\"downtime_ms\":0}}")
t_eq "a policy out of range (downtime_ms 0): 400 INVALID_ARGUMENT" "400 INVALID_ARGUMENT" \
    "${r%% *} $(echo "${r#* }" | jq -r .error_type)"
r=$(capi POST "/api/vcenter/vm/$VM?action=relocate" "{\"placement\":{\"host\":\"$HB\"},\"vireo_migration\":{\"speed\":1}}")
t_match "an unknown policy member: 400 naming it" "^400 .*vireo_migration.speed is not a migration policy setting" \
    "${r%% *} $(echo "${r#* }" | jq -r '.messages[0].default_message')"

# --- the move, with a client pinging the guest -------------------------------------
sleep 2
bid=$(tools | jq -r .boot_id)
up1=$(tools | jq -r .uptime_seconds)
ip netns exec "$T_PREFIX-net" ping -i 0.2 -W 1 "$ip" >"$T_STATE/ping.log" 2>&1 &
pinger=$!
sleep 2
start=$(date +%s.%N)
out=$(vireo vm migrate mig-01 --host esx-b --downtime 300 2>"$T_STATE/migrate.err"); rc=$?
end=$(date +%s.%N)
t_eq "vireo vm migrate mig-01 --host esx-b succeeds" 0 "$rc"
t_match "... and says what it did" "Migrated mig-01 to esx-b" "$out"
echo "# $(echo "$out" | tail -1) (CLI wall time $(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.1f", b - a}') s)"
TASK=$(capi_body GET "/api/vireo/events?object=$VM" | jq -r '[.[] | select(.type == "VmMigratedEvent")][0].task')
info=$(capi_body GET "/api/cis/tasks/$TASK")
t_eq "the task SUCCEEDED at 100%" "SUCCEEDED 100" "$(echo "$info" | jq -r '"\(.status) \(.progress.completed)"')"
t_match "... its result has the downtime" '^[0-9]+$' "$(echo "$info" | jq -r .result.downtime_ms)"
echo "# perform: $(echo "$info" | jq -c '.result')"
t_eq "... and the policy's effect: budget 300 ms (--downtime), passes, throttle, no post-copy" "300 true true false" \
    "$(echo "$info" | jq -r '.result | "\(.downtime_budget_ms) \(.dirty_sync_count >= 1) \(.max_throttle_pct >= 0) \(.postcopy)"')"
t_eq "the inventory places the VM on esx-b" "1 0" "$(vm_host "$HB") $(vm_host "$HA")"
t_eq "... powered on" POWERED_ON "$(capi_body GET "/api/vcenter/vm?vms=$VM" | jq -r '.[0].power_state')"
t_check "exactly one QEMU runs the guest, on esx-b" t_wait 15 one_qemu_on esx-b
t_check "the guest agent reports through the centre from esx-b" t_wait 30 tools_running
t_eq "the guest did not reboot (same boot id)" "$bid" "$(tools | jq -r .boot_id)"
up2=$(tools | jq -r .uptime_seconds)
t_eq "its uptime went on" 1 "$(awk -v a="$up1" -v b="$up2" 'BEGIN {print (b > a) ? 1 : 0}')"
t_check "the guest answers pings after the move" t_wait 10 ip netns exec "$T_PREFIX-net" ping -c1 -W1 "$ip"
t_workload_clean "the move to esx-b"
sleep 2
kill "$pinger" 2>/dev/null; wait "$pinger" 2>/dev/null
last_seq=$(grep -o 'icmp_seq=[0-9]*' "$T_STATE/ping.log" | tail -1 | cut -d= -f2)
sent=$(grep -o 'icmp_seq=[0-9]*' "$T_STATE/ping.log" | wc -l)
gap=$(grep -o 'icmp_seq=[0-9]*' "$T_STATE/ping.log" | cut -d= -f2 | awk 'NR>1 && $1-p>m {m=$1-p} {p=$1} END {print m+0}')
t_match "the pinging client's replies resumed after the move" '^[0-9]+$' "$last_seq"
echo "# ping: $sent replies, longest gap $gap × 0.2 s"
t_eq "a VmMigratedEvent names both hosts" 1 \
    "$(capi_body GET "/api/vireo/events?object=$VM" | jq '[.[] | select(.type == "VmMigratedEvent" and (.message | test("esx-a to esx-b")))] | length')"

# --- two relocates at once: one runs (back to esx-a), the other is 409 --------------
# The move back asks for post-copy after one pass, throttle off and a 1 ms
# budget no pre-copy of a busy guest meets: post-copy must run.
back="{\"placement\":{\"host\":\"$HA\"},\"vireo_migration\":{\"downtime_ms\":1,\"throttle\":false,\"postcopy\":true,\"postcopy_after_passes\":1}}"
(capi POST "/api/vcenter/vm/$VM?action=relocate&vmw-task=true" "$back" >"$T_STATE/r1") & p1=$!
(capi POST "/api/vcenter/vm/$VM?action=relocate&vmw-task=true" "$back" >"$T_STATE/r2") & p2=$!
wait $p1 $p2
codes=$(cat "$T_STATE/r1" "$T_STATE/r2" | cut -d' ' -f1 | sort | tr '\n' ' ')
t_eq "two relocates of one VM at once: one 202, one 409" "202 409 " "$codes"
TASK2=$(cat "$T_STATE/r1" "$T_STATE/r2" | grep '^202' | cut -d' ' -f2- | tr -d '"')
t_check "vireo task wait follows the second move" vireo task wait "$TASK2"
info=$(capi_body GET "/api/cis/tasks/$TASK2")
echo "# perform (post-copy asked): $(echo "$info" | jq -c '.result')"
t_eq "... it switched to post-copy (throttle off, max throttle 0)" "true 0" \
    "$(echo "$info" | jq -r '.result | "\(.postcopy) \(.max_throttle_pct)"')"
t_eq "the VM is back on esx-a" "1 0" "$(vm_host "$HA") $(vm_host "$HB")"
t_check "exactly one QEMU runs the guest, on esx-a" t_wait 15 one_qemu_on esx-a
t_check "the guest agent reports from esx-a" t_wait 30 tools_running
t_eq "still the same boot" "$bid" "$(tools | jq -r .boot_id)"
t_workload_clean "the post-copy move back to esx-a"
t_eq "no duplicate VM was left in the inventory" 1 "$(capi_body GET '/api/vcenter/vm' | jq '[.[] | select(.name | startswith("mig-01"))] | length')"

# --- a step that fails: the VM stays on the source ----------------------------------
# Someone registered the guest's folder on esx-b by hand: prepare fails there.
STRAY=$(VIREO_URL="https://$B:$LAB_PORT" api_body POST '/api/vcenter/vm?action=register' \
    '{"name":"stray","datastore":"shared","path":"mig-01/mig-01.vmx"}' | tr -d '"')
r=$(capi POST "/api/vcenter/vm/$VM?action=relocate" "$body")
msg=$(echo "${r#* }" | jq -r '.messages[0].default_message')
echo "# $msg"
t_match "a relocate failing at prepare answers 400" '^400$' "${r%% *}"
t_match "... naming the step and the host" "failed at step prepare on esx-b" "$msg"
t_match "... and where the VM runs" "still runs on esx-a" "$msg"
t_eq "the inventory still places the VM on esx-a" 1 "$(vm_host "$HA")"
t_check "one QEMU, on esx-a" t_wait 15 one_qemu_on esx-a
t_check "the guest runs on (tools RUNNING)" t_wait 30 tools_running
t_eq "... the same boot" "$bid" "$(tools | jq -r .boot_id)"
t_eq "a VmFailedMigrateEvent is logged" 1 \
    "$(capi_body GET "/api/vireo/events?object=$VM" | jq '[.[] | select(.type == "VmFailedMigrateEvent")] | length')"
VIREO_URL="https://$B:$LAB_PORT" api_status POST "/api/vcenter/vm/$STRAY?action=unregister" >/dev/null

# --- Storage vMotion through the centre: disks shared -> local-a and back -----------
LA=$(capi_body GET '/api/vcenter/datastore?names=local-a' | jq -r '.[0].datastore')
LB=$(capi_body GET '/api/vcenter/datastore?names=local-b' | jq -r '.[0].datastore')
r=$(capi POST "/api/vcenter/vm/$VM?action=relocate" "{\"placement\":{\"datastore\":\"$LB\"}}")
t_eq "a datastore the VM's host does not mount: 400 INVALID_ARGUMENT" "400 INVALID_ARGUMENT" \
    "${r%% *} $(echo "${r#* }" | jq -r .error_type)"
r=$(capi POST "/api/vcenter/vm/$OFF?action=relocate&check_only=true" "{\"placement\":{\"datastore\":\"$LA\"}}")
t_eq "a new datastore for a powered-off VM is a cold migration (dry run)" "200 COLD" \
    "${r%% *} $(echo "${r#* }" | jq -r .kind)"
disks() { find "$DS/$1/mig-01" -name '*.vmdk' 2>/dev/null | wc -l; }
n_disks=$(disks shared)
t_match "the guest's disks are on shared" '^[1-9][0-9]*$' "$n_disks"
out=$(vireo vm migrate mig-01 --datastore local-a 2>"$T_STATE/svmotion.err"); rc=$?
t_eq "vireo vm migrate mig-01 --datastore local-a succeeds" 0 "$rc"
t_match "... and says what it did" "Moved the disks of mig-01 to local-a" "$out"
TASK3=$(capi_body GET "/api/vireo/events?object=$VM" | jq -r '[.[] | select(.type == "VmMigratedEvent" and (.message | test("storage moved to local-a")))][0].task')
info=$(capi_body GET "/api/cis/tasks/$TASK3")
t_eq "the task vm.relocate.storage SUCCEEDED" "vm.relocate.storage SUCCEEDED" \
    "$(echo "$info" | jq -r '"\(.operation) \(.status)"')"
t_eq "the disks' files moved to local-a" "$n_disks 0" "$(disks local-a) $(disks shared)"
t_eq "the guest did not reboot (same boot id)" "$bid" "$(tools | jq -r .boot_id)"
t_check "it still answers pings" t_wait 10 ip netns exec "$T_PREFIX-net" ping -c1 -W1 "$ip"
r=$(capi POST "/api/vcenter/vm/$VM?action=relocate&vmw-task=true" "{\"placement\":{\"host\":\"$HA\",\"datastore\":\"$SH\"}}")
t_eq "back to shared (same host given): 202 with a task" 202 "${r%% *}"
t_check "vireo task wait follows it" vireo task wait "$(echo "${r#* }" | tr -d '"')"
t_eq "the disks are back on shared" "$n_disks 0" "$(disks shared) $(disks local-a)"
t_eq "... the same boot" "$bid" "$(tools | jq -r .boot_id)"

t_finish
