#!/bin/bash
# center-load.sh — the centre under 200 concurrent clients mixing reads and
# conflicting writes (no 5xx, no leaked descriptors, the one-operation-per-VM
# rule holds), and a kill -9 of the centre while a task runs (the task is
# marked FAILED after the restart and the host's result is reconciled).
. "$(dirname "$0")/lib.sh"
t_require_root
[ -x "$LAB_BUILD/src/center/vireo-centerd" ] || t_skip_all "vireo-centerd is not built"

DS="$T_STATE/ds"
mkdir -p "$DS"
t_lab_host esx-a 1 "ds=$DS" || { t_not_ok "host starts"; t_finish; exit 1; }
t_lab_center || { t_not_ok "centre starts"; t_finish; exit 1; }
DC=$(capi_body POST /api/vcenter/datacenter '{"name":"dc1"}' | tr -d '"')
HF=$(capi_body GET "/api/vcenter/datacenter/$DC" | jq -r .host_folder)
VF=$(capi_body GET "/api/vcenter/datacenter/$DC" | jq -r .vm_folder)
CL=$(capi_body POST /api/vcenter/cluster "{\"name\":\"c1\",\"folder\":\"$HF\"}" | tr -d '"')
lab_center_add_host "$CL" "$(lab_host_addr "$T_NET" 1)" "$T_PASSWORD" >/dev/null
DSID=$(capi_body GET /api/vcenter/datastore | jq -r '.[0].datastore')
spec() { jq -cn --arg n "$1" --arg ds "$DSID" --arg cl "$CL" '{name:$n, placement:{datastore:$ds, cluster:$cl}, memory:{size_MiB:16}}'; }
VM=$(capi_body POST /api/vcenter/vm "$(spec load-01)" | tr -d '"')
t_match "a VM to fight over is created" '^vm-[0-9]+$' "$VM"
CPID=$(cat "$T_STATE/center/hostd.pid")
fds_before=$(ls /proc/"$CPID"/fd | wc -l)

# --- 200 concurrent clients ---------------------------------------------------
TOKEN=$(curl -sk -X POST -u "administrator:$T_PASSWORD" "$T_CENTER_URL/api/session" | tr -d '"')
client() {
    local i=$1 m p b=""
    case $((i % 5)) in
        0) m=GET p=/api/vcenter/vm ;;
        1) m=GET p=/api/vcenter/host ;;
        2) m=POST p="/api/vcenter/vm/$VM/power?action=start" ;;
        3) m=POST p="/api/vcenter/vm/$VM/power?action=stop" ;;
        4) m=POST p=/api/vcenter/folder b="{\"name\":\"load-$i\",\"parent_folder\":\"$VF\"}" ;;
    esac
    curl -sk -o /dev/null -w '%{http_code}\n' -X "$m" -H "vmware-api-session-id: $TOKEN" \
        ${b:+-H 'Content-Type: application/json' --data-binary "$b"} --max-time 60 "$T_CENTER_URL$p"
}
export -f client
export VM VF TOKEN T_CENTER_URL
seq 1 200 | xargs -P 200 -I{} bash -c 'client {}' >"$T_STATE/codes"
t_eq "200 requests were answered" 200 "$(grep -c . "$T_STATE/codes")"
t_eq "none answered 5xx" 0 "$(grep -c '^5' "$T_STATE/codes")"
t_eq "none went unanswered" 0 "$(grep -c '^000' "$T_STATE/codes")"
t_eq "every folder create succeeded once" 40 "$(capi_body GET "/api/vcenter/folder?parent_folders=$VF" | jq '[.[] | select(.name | startswith("load-"))] | length')"
sleep 3
fds_after=$(ls /proc/"$CPID"/fd | wc -l)
t_check "no descriptors leaked ($fds_before before, $fds_after after)" test "$fds_after" -le $((fds_before + 10))
t_check "the VM is free again: an operation succeeds" \
    t_wait 20 bash -c "[ \"\$(curl -sk -o /dev/null -w '%{http_code}' -X POST -H 'vmware-api-session-id: $TOKEN' '$T_CENTER_URL/api/vcenter/vm/$VM/power?action=stop')\" != 409 ]"
state_ok() {
    local inv host
    inv=$(capi_body GET "/api/vcenter/vm?vms=$VM" | jq -r '.[0].power_state')
    host=$(api_body GET /api/vcenter/vm/vm-1/power | jq -r .state)
    [ "$inv" = "$host" ]
}
t_check "the inventory's power state is the host's" t_wait 10 state_ok

# --- kill -9 of the centre while a task runs ---------------------------------
big=$(jq -cn --arg ds "$DSID" --arg cl "$CL" '{name:"slow-01", placement:{datastore:$ds, cluster:$cl}, memory:{size_MiB:16},
      disks:[{new_vmdk:{capacity:2147483648, provisioning:"THICK_EAGER_ZEROED"}}]}')
r=$(capi POST '/api/vcenter/vm?vmw-task=true' "$big")
TASK=$(echo "${r#* }" | tr -d '"')
t_eq "a slow create starts as a task" 202 "${r%% *}"
sleep 0.3
lab_kill9 "$T_STATE/center"
lab_center_up "$T_NET" "$T_STATE" "$T_PASSWORD" >/dev/null
t_center_new_sessions
info=$(capi_body GET "/api/cis/tasks/$TASK")
t_eq "after the restart the interrupted task is FAILED" FAILED "$(echo "$info" | jq -r .status)"
t_match "... saying why" "restarted" "$(echo "$info" | jq -r '.error.messages[0].default_message')"
imported() { [ "$(capi_body GET '/api/vcenter/vm?names=slow-01' | jq length)" = 1 ]; }
t_check "the VM the host finished creating is reconciled into the inventory" t_wait 60 imported
t_eq "the database passes integrity_check" ok "$(sqlite3 "$T_STATE/center/state/inventory.db" 'PRAGMA integrity_check')"

t_finish
