#!/bin/bash
# migration-faults.sh — vMotion under faults (issue 4's list), each ending
# with exactly one QEMU running the guest, the inventory naming the host it
# really runs on, the same boot, no journal left on the hosts and the VM
# free for the next migration:
#   - kill -9 of the destination vireo-hostd + its QEMU mid-copy;
#   - kill -9 of the source vireo-hostd during prepare, during the copy, and
#     while the destination finishes (then restarted);
#   - kill -9 of vireo-centerd mid-copy (then restarted);
#   - the vMotion link cut mid-copy (the source's watchdog ends the copy),
#     then restored;
#   - a cancel by the user; a power-off during the migration.
# The copy is slowed to ~3 MB/s on the source's vMotion interface (tc) so
# that each fault lands inside it.
. "$(dirname "$0")/lib.sh"
t_require_root
t_require_template
[ -x "$LAB_BUILD/src/center/vireo-centerd" ] || t_skip_all "vireo-centerd is not built"

DS="$T_STATE/datastores"
mkdir -p "$DS/shared"
t_lab_host esx-a 1 "shared=$DS/shared" || { t_not_ok "hosts start"; t_finish; exit 1; }
t_lab_host esx-b 2 "shared=$DS/shared" || { t_not_ok "hosts start"; t_finish; exit 1; }
A=$(lab_host_addr "$T_NET" 1)
B=$(lab_host_addr "$T_NET" 2)
lab_copy_vm "$T_TEMPLATE" "$DS/shared/mig-01" mig-01
VIREO_URL="https://$A:$LAB_PORT" t_check "the guest is registered on esx-a" \
    vireo vm register --datastore shared mig-01/mig-01.vmx --name mig-01

t_center_cluster "$A" "$B" || { t_not_ok "the centre starts"; t_finish; exit 1; }
declare -A HID
HID[esx-a]=$(capi_body GET '/api/vcenter/host?names=esx-a' | jq -r '.[0].host')
HID[esx-b]=$(capi_body GET '/api/vcenter/host?names=esx-b' | jq -r '.[0].host')
VM=$(capi_body GET '/api/vcenter/vm?names=mig-01' | jq -r '.[0].vm')
t_match "the guest is in the inventory" '^vm-[0-9]+$' "$VM"
export VIREO_URL=$T_CENTER_URL VIREO_USERNAME=administrator VIREO_PASSWORD=$T_PASSWORD

tools() { capi_body GET "/api/vcenter/vm/$VM/tools"; }
tools_running() { [ "$(tools | jq -r .run_state)" = RUNNING ]; }
qemus() { pgrep -f "qemu-system.*$T_STATE/$1/" | wc -l; }
running_on() {   # the one host whose QEMU runs the guest, or "none"/"both"
    local a b
    a=$(qemus esx-a) b=$(qemus esx-b)
    if [ "$a" = 1 ] && [ "$b" = 0 ]; then echo esx-a
    elif [ "$a" = 0 ] && [ "$b" = 1 ]; then echo esx-b
    else echo "a=$a,b=$b"; fi
}
inventory_host() {
    local n
    for n in esx-a esx-b; do
        [ "$(capi_body GET "/api/vcenter/vm?hosts=${HID[$n]}" | jq --arg v "$VM" '[.[] | select(.vm == $v)] | length')" = 1 ] &&
            echo "$n"
    done
}
resolved() {   # resolved [TASK]: a VmMigrationResolvedEvent (of TASK)
    capi_body GET "/api/vireo/events?object=$VM" |
        jq -e --arg t "${1:-}" '[.[] | select(.type == "VmMigrationResolvedEvent" and ($t == "" or .task == $t))] | length >= 1' >/dev/null
}
vms_on_b() { [ "$(VIREO_URL="https://$B:$LAB_PORT" api_body GET /api/vcenter/vm | jq length)" = 0 ]; }
# One QEMU, on the host the inventory names, running (not paused).
settled_on() {
    local where
    where=$(running_on)
    [ "$where" = "$1" ] && [ "$(inventory_host)" = "$1" ] && tools_running
}
# Journals of migrations not finished (a destination keeps "finished" ones a day).
journals() { grep -L '"step":"finished"' "$T_STATE"/esx-*/state/migrations/*.json 2>/dev/null | wc -l; }
no_journals() { [ "$(journals)" = 0 ]; }
hostd_pid() { lab_hostd_pid "$T_STATE/$1"; }
hostd_restart() {
    lab_hostd_start "$T_PREFIX-$1" "$T_STATE/$1" "$T_STATE/$1/hostd.ini"
    lab_wait_api "$(lab_host_addr "$T_NET" "$2")" root "$T_PASSWORD" >/dev/null
}
other() { [ "$1" = esx-a ] && echo esx-b || echo esx-a; }
index_of() { [ "$1" = esx-a ] && echo 1 || echo 2; }
slow() {    # the source's vMotion interface at ~3 MB/s
    ip netns exec "$T_PREFIX-$1" tc qdisc replace dev vmk1 root tbf rate 24mbit burst 64kb latency 2s
}
fast() { ip netns exec "$T_PREFIX-$1" tc qdisc del dev vmk1 root 2>/dev/null || true; }
relocate_async() {  # prints the task id
    capi_body POST "/api/vcenter/vm/$VM?action=relocate&vmw-task=true" \
        "{\"placement\":{\"host\":\"${HID[$1]}\"}}" | tr -d '"'
}
task_state() { capi_body GET "/api/cis/tasks/$1" | jq -r .status; }
task_ended() { case $(task_state "$1") in SUCCEEDED|FAILED) return 0;; esac; return 1; }
task_message() { capi_body GET "/api/cis/tasks/$1" | jq -r '.error.messages[0].default_message // .progress.message // ""'; }
in_copy() { capi_body GET "/api/cis/tasks/$1" | jq -r .progress.message | grep -q '^perform'; }
copying_bytes() {   # the source QEMU is sending
    [ "$(capi_body GET "/api/cis/tasks/$1" | jq -r .progress.message | cut -c1-7)" = perform ] && sleep 2
}
# After a fault: where it runs, the same boot, no journals, free to move.
check_settled() {
    local name=$1 where=$2
    # A migration left pending (a host had not answered) is settled by the
    # centre when it does: then the VM is free again.
    if [ -n "${T:-}" ] && task_message "$T" | grep -q "see the events"; then
        t_check "$name: the centre settles the pending migration (VmMigrationResolvedEvent)" t_wait 60 resolved "$T"
    fi
    t_check "$name: one QEMU, on $where, as the inventory says" t_wait 60 settled_on "$where"
    t_eq "$name: the same boot" "$BOOT" "$(tools | jq -r .boot_id)"
    t_check "$name: no migration journal left on the hosts" t_wait 30 no_journals
}

t_eq "power on through the centre" 204 "$(capi_status POST "/api/vcenter/vm/$VM/power?action=start")"
t_check "the guest agent reports (tools RUNNING)" t_wait 150 tools_running
BOOT=$(tools | jq -r .boot_id)
HERE=esx-a

# --- 1. kill -9 of the destination hostd and its QEMU mid-copy --------------------
slow "$HERE"
T=$(relocate_async esx-b)
t_check "1: the copy starts" t_wait 60 copying_bytes "$T"
lab_kill9 "$T_STATE/esx-b"
pkill -9 -f "qemu-system.*$T_STATE/esx-b/" || true
t_check "1: the task ends" t_wait 60 task_ended "$T"
t_eq "1: ... FAILED" FAILED "$(task_state "$T")"
t_match "1: ... saying the VM still runs on esx-a" "still runs on esx-a" "$(task_message "$T")"
t_check "1: one QEMU, on esx-a, as the inventory says (esx-b down)" t_wait 30 settled_on esx-a
hostd_restart esx-b 2
t_check "1: after esx-b's restart, it has no copy of the VM registered" t_wait 30 vms_on_b
t_check "1: the centre settles the migration (VmMigrationResolvedEvent)" t_wait 30 resolved "$T"
check_settled 1 esx-a
fast "$HERE"

# --- 2. kill -9 of the source hostd while the destination prepares ------------------
# The destination is frozen (SIGSTOP) the moment the task is accepted, so the
# migration waits in prepare (begin, on the source, is sent first).
T=$(relocate_async esx-b)
kill -STOP "$(hostd_pid esx-b)"
stepped() { capi_body GET "/api/cis/tasks/$T" | jq -r .progress.message | grep -q '^prepare'; }
t_check "2: the migration is in prepare" t_wait 30 stepped
lab_kill9 "$T_STATE/esx-a"
hostd_restart esx-a 1
kill -CONT "$(hostd_pid esx-b)"
t_check "2: the task ends" t_wait 90 task_ended "$T"
t_eq "2: ... FAILED (the restarted source let go of it)" FAILED "$(task_state "$T")"
check_settled 2 esx-a

# --- 3. kill -9 of the source hostd mid-copy ---------------------------------------
slow esx-a
T=$(relocate_async esx-b)
t_check "3: the copy starts" t_wait 60 copying_bytes "$T"
lab_kill9 "$T_STATE/esx-a"
sleep 2
hostd_restart esx-a 1
fast esx-a    # the copy (still driven by QEMU) completes, or was cancelled
t_check "3: the task ends" t_wait 120 task_ended "$T"
where=$(running_on)
echo "# 3: task $(task_state "$T"); the guest runs on $where: $(task_message "$T")"
t_check "3: the migration settles (one QEMU, inventory agrees)" t_wait 90 settled_on "$where"
check_settled 3 "$where"
HERE=$where

# --- 4. kill -9 of the source hostd while the destination finishes ------------------
THERE=$(other "$HERE")
slow "$HERE"
T=$(relocate_async "$THERE")
t_check "4: the copy starts" t_wait 60 copying_bytes "$T"
kill -STOP "$(hostd_pid "$THERE")"     # finish cannot answer; the guest waits paused there
fast "$HERE"
finishing() { capi_body GET "/api/cis/tasks/$T" | jq -r .progress.message | grep -q '^finish'; }
t_check "4: the copy completed, the destination is asked to finish" t_wait 120 finishing
lab_kill9 "$T_STATE/$HERE"
hostd_restart "$HERE" "$(index_of "$HERE")"
kill -CONT "$(hostd_pid "$THERE")"
t_check "4: the task ends" t_wait 90 task_ended "$T"
echo "# 4: task $(task_state "$T"): $(task_message "$T")"
t_check "4: the guest ends on the destination (it had arrived there)" t_wait 90 settled_on "$THERE"
check_settled 4 "$THERE"
HERE=$THERE

# --- 5. kill -9 of the centre mid-copy, then restarted -----------------------------
THERE=$(other "$HERE")
slow "$HERE"
T=$(relocate_async "$THERE")
t_check "5: the copy starts" t_wait 60 copying_bytes "$T"
lab_kill9 "$T_STATE/center"
sleep 1
lab_center_up "$T_NET" "$T_STATE" "$T_PASSWORD" >/dev/null
t_center_new_sessions
fast "$HERE"
t_eq "5: the interrupted task is FAILED after the restart" FAILED "$(task_state "$T")"
t_check "5: the centre settles the migration (VmMigrationResolvedEvent)" t_wait 60 resolved "$T"
where=$(running_on)
echo "# 5: the guest runs on $where: $(capi_body GET "/api/vireo/events?object=$VM" | jq -r '[.[] | select(.type == "VmMigrationResolvedEvent")][0].message')"
check_settled 5 "$where"
HERE=$where

# --- 6. the vMotion link cut mid-copy, then restored -------------------------------
THERE=$(other "$HERE")
slow "$HERE"
T=$(relocate_async "$THERE")
t_check "6: the copy starts" t_wait 60 copying_bytes "$T"
ip link set "${T_PREFIX}v$(index_of "$HERE")" down
t_check "6: the watchdog ends the stalled copy; the task FAILED" t_wait 90 task_ended "$T"
t_eq "6: ... FAILED" FAILED "$(task_state "$T")"
t_match "6: ... saying the copy made no progress" "made no progress for [0-9]+ s" "$(task_message "$T")"
ip link set "${T_PREFIX}v$(index_of "$HERE")" up
vmotion_path() { ip netns exec "$T_PREFIX-$HERE" ping -c1 -W1 "$(lab_host_vmotion_addr "$T_NET" "$(index_of "$THERE")")"; }
t_check "6: the vMotion link carries traffic again" t_wait 30 vmotion_path
check_settled 6 "$HERE"
fast "$HERE"

# --- 7. cancel by the user; power-off during a migration ----------------------------
slow "$HERE"
T=$(relocate_async "$THERE")
t_check "7: the copy starts" t_wait 60 copying_bytes "$T"
r=$(capi POST "/api/vcenter/vm/$VM/power?action=stop")
t_eq "7: a power-off during the migration: 409 RESOURCE_BUSY" "409 RESOURCE_BUSY" \
    "${r%% *} $(echo "${r#* }" | jq -r .error_type)"
r=$(VIREO_URL="https://$(lab_host_addr "$T_NET" "$(index_of "$HERE")"):$LAB_PORT" \
    api POST "/api/vcenter/vm/$(VIREO_URL="https://$(lab_host_addr "$T_NET" "$(index_of "$HERE")"):$LAB_PORT" api_body GET /api/vcenter/vm | jq -r '.[0].vm')/power?action=stop")
t_eq "7: ... also straight on the source host: 409" 409 "${r%% *}"
t_eq "7: the user cancels the task: 204" 204 "$(capi_status POST "/api/cis/tasks/$T?action=cancel")"
t_check "7: the task ends" t_wait 60 task_ended "$T"
t_eq "7: ... FAILED" FAILED "$(task_state "$T")"
t_match "7: ... cancelled by the user" "cancelled by the user" "$(task_message "$T")"
fast "$HERE"
check_settled 7 "$HERE"
r=$(capi POST "/api/cis/tasks/$T?action=cancel")
t_eq "7: cancelling an ended task: 400" 400 "${r%% *}"

# --- and a clean move after all of it ------------------------------------------------
out=$(vireo vm migrate mig-01 --host "$THERE" 2>&1); rc=$?
t_eq "after the faults, a vMotion to $THERE succeeds" 0 "$rc"
check_settled final "$THERE"

t_finish
