#!/bin/bash
# center.sh — vireo-centerd managing two hosts: adding hosts with vCenter's
# thumbprint check, the imported inventory (one shared datastore, one
# network), VM create with cluster placement as a task, forwarding and the
# one-operation-per-VM rule, permissions (ReadOnly, custom role, NoAccess),
# maintenance mode, a frozen host (NOT_RESPONDING and back, reconciled), a
# kill -9 of the centre under writes, and rebuilding a lost database.
. "$(dirname "$0")/lib.sh"
t_require_root
[ -x "$LAB_BUILD/src/center/vireo-centerd" ] || t_skip_all "vireo-centerd is not built"

DS="$T_STATE/datastores"
mkdir -p "$DS/local-a" "$DS/local-b" "$DS/shared"
t_lab_host esx-a 1 "local-a=$DS/local-a" "shared=$DS/shared" || { t_not_ok "hosts start"; t_finish; exit 1; }
t_lab_host esx-b 2 "local-b=$DS/local-b" "shared=$DS/shared" || { t_not_ok "hosts start"; t_finish; exit 1; }
# A VM on esx-a before the centre knows the host: it must be imported.
VIREO_URL="https://$(lab_host_addr "$T_NET" 1):$LAB_PORT" api_body POST /api/vcenter/vm \
    '{"name":"pre-01","placement":{"datastore":"local-a"},"memory":{"size_MiB":64},"disks":[{"new_vmdk":{"capacity":1048576}}]}' >/dev/null
t_lab_center || { t_not_ok "the centre starts"; t_finish; exit 1; }
t_ok "the centre starts and answers a login"

A=$(lab_host_addr "$T_NET" 1)
B=$(lab_host_addr "$T_NET" 2)

# --- authentication ---------------------------------------------------------
for path in /api/vcenter/datacenter /api/vcenter/host /api/vcenter/vm /api/cis/tasks /api/vireo/events; do
    t_eq "GET $path without a session is 401" 401 "$(curl -sk -o /dev/null -w '%{http_code}' "$T_CENTER_URL$path")"
done

# --- inventory skeleton -----------------------------------------------------
r=$(capi POST /api/vcenter/datacenter '{"name":"dc1"}')
t_eq "a datacenter is created" 201 "${r%% *}"
DC=$(echo "${r#* }" | tr -d '"')
t_match "... with a vCenter-style id" '^datacenter-[0-9]+$' "$DC"
HF=$(capi_body GET "/api/vcenter/datacenter/$DC" | jq -r .host_folder)
VF=$(capi_body GET "/api/vcenter/datacenter/$DC" | jq -r .vm_folder)
t_match "it has its host and VM folders" '^group-h[0-9]+ group-v[0-9]+$' "$HF $VF"
CL=$(capi_body POST /api/vcenter/cluster "{\"name\":\"cluster1\",\"folder\":\"$HF\"}" | tr -d '"')
t_match "a cluster is created" '^domain-c[0-9]+$' "$CL"

# --- adding hosts: the thumbprint -------------------------------------------
add_body() { jq -cn --arg h "$1" --arg p "$T_PASSWORD" --arg c "$CL" --arg t "${2:-}" \
    '{hostname:$h, port:8443, user_name:"root", password:$p, cluster:$c} + (if $t == "" then {} else {thumbprint:$t} end)'; }
r=$(capi POST /api/vcenter/host "$(add_body "$A")")
t_eq "adding a host without its thumbprint is refused (400)" 400 "${r%% *}"
TP=$(echo "${r#* }" | jq -r '.messages[0].default_message' | grep -oE '([0-9A-F]{2}:){31}[0-9A-F]{2}' | head -1)
REAL=$(echo | openssl s_client -connect "$A:8443" 2>/dev/null | openssl x509 -noout -fingerprint -sha256 | cut -d= -f2)
t_eq "... and the answer names the host's real thumbprint" "$REAL" "$TP"
r=$(capi POST /api/vcenter/host "$(add_body "$A" "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF")")
t_eq "a wrong thumbprint is refused" 400 "${r%% *}"
r=$(capi POST /api/vcenter/host "$(add_body "$A" "$TP")")
t_eq "the right thumbprint adds the host (201)" 201 "${r%% *}"
HA=$(echo "${r#* }" | tr -d '"')
lab_center_add_host "$CL" "$B" "$T_PASSWORD" >/dev/null
HB=$(capi_body GET '/api/vcenter/host?names=esx-b' | jq -r '.[0].host')
t_match "the second host is added" '^host-[0-9]+$' "$HB"
t_eq "adding a managed host again is refused" 400 "$(capi_status POST /api/vcenter/host "$(add_body "$A" "$TP")")"
t_eq "both hosts are CONNECTED" "CONNECTED CONNECTED" "$(capi_body GET /api/vcenter/host | jq -r '[.[].connection_state] | join(" ")')"

# --- the imported inventory -------------------------------------------------
t_eq "the shared datastore is one datastore" 1 "$(capi_body GET '/api/vcenter/datastore?names=shared' | jq length)"
SH=$(capi_body GET '/api/vcenter/datastore?names=shared' | jq -r '.[0].datastore')
t_eq "... seen by both hosts" 2 "$(capi_body GET "/api/vcenter/datastore/$SH" | jq '.hosts | length')"
t_eq "three datastores in all" 3 "$(capi_body GET /api/vcenter/datastore | jq length)"
t_eq "one VM Network for both hosts" 1 "$(capi_body GET /api/vcenter/network | jq length)"
PRE=$(capi_body GET '/api/vcenter/vm?names=pre-01' | jq -r '.[0].vm')
t_match "the VM that was on esx-a is imported with a centre id" '^vm-[0-9]+$' "$PRE"
t_eq "... and is found under its host" "$PRE" "$(capi_body GET "/api/vcenter/vm?hosts=$HA" | jq -r '.[0].vm')"
t_eq "... and its cluster" "$PRE" "$(capi_body GET "/api/vcenter/vm?clusters=$CL" | jq -r '.[0].vm')"

# --- VM create through the centre, as a task --------------------------------
NET=$(capi_body GET /api/vcenter/network | jq -r '.[0].network')
spec=$(jq -cn --arg ds "$SH" --arg cl "$CL" --arg f "$VF" --arg n "$NET" \
    '{name:"web-01", placement:{datastore:$ds, cluster:$cl, folder:$f}, memory:{size_MiB:64},
      disks:[{new_vmdk:{capacity:1048576}}], nics:[{backing:{type:"STANDARD_PORTGROUP", network:$n}}]}')
r=$(capi POST '/api/vcenter/vm?vmw-task=true' "$spec")
t_eq "create with vmw-task=true answers 202 at once" 202 "${r%% *}"
TASK=$(echo "${r#* }" | tr -d '"')
t_match "... with a task id" '^task-[0-9]+$' "$TASK"
task_done() { s=$(capi_body GET "/api/cis/tasks/$TASK" | jq -r .status); [ "$s" = SUCCEEDED ] || [ "$s" = FAILED ]; }
t_check "the task finishes" t_wait 30 task_done
info=$(capi_body GET "/api/cis/tasks/$TASK")
t_eq "... SUCCEEDED at 100%" "SUCCEEDED 100" "$(echo "$info" | jq -r '"\(.status) \(.progress.completed)"')"
WEB=$(echo "$info" | jq -r .result)
t_match "... with the new VM's id as result" '^vm-[0-9]+$' "$WEB"
t_check "the VM's folder is on the shared datastore" test -f "$DS/shared/web-01/web-01.vmx"
t_eq "the VM is listed in its folder" "$WEB" "$(capi_body GET "/api/vcenter/vm?folders=$VF&names=web-01" | jq -r '.[0].vm')"
t_eq "GET of the VM is forwarded to its host" web-01 "$(capi_body GET "/api/vcenter/vm/$WEB" | jq -r .name)"
t_eq "the NIC is on VM Network" "VM Network" "$(capi_body GET "/api/vcenter/vm/$WEB" | jq -r '.nics["4000"].backing.network_name')"

# --- power, and one operation at a time per VM ------------------------------
t_eq "power on through the centre answers 204" 204 "$(capi_status POST "/api/vcenter/vm/$WEB/power?action=start")"
t_eq "the inventory shows it POWERED_ON" POWERED_ON "$(capi_body GET "/api/vcenter/vm?vms=$WEB" | jq -r '.[0].power_state')"
t_eq "power off answers 204" 204 "$(capi_status POST "/api/vcenter/vm/$WEB/power?action=stop")"
# A thick eager-zeroed disk takes a while to write; a power-on sent while
# the centre forwards it must be refused with 409, not run alongside.
(capi_status POST "/api/vcenter/vm/$WEB/hardware/disk" \
    '{"type":"SATA","new_vmdk":{"capacity":2147483648,"provisioning":"THICK_EAGER_ZEROED"}}' >"$T_STATE/c1") & p1=$!
sleep 0.1
r=$(capi POST "/api/vcenter/vm/$WEB/power?action=start")
wait $p1
t_eq "a second operation on a VM while one runs gets 409; the first completes" "201 409" "$(cat "$T_STATE/c1") ${r%% *}"
t_match "... naming the task that holds the VM" "task-[0-9]+" "$(echo "${r#* }" | jq -r '.messages[0].default_message')"
t_eq "power on afterwards answers 204" 204 "$(capi_status POST "/api/vcenter/vm/$WEB/power?action=start")"
# The 2 GiB disk is not needed any more.
capi_status POST "/api/vcenter/vm/$WEB/power?action=stop" >/dev/null
capi_status DELETE "/api/vcenter/vm/$WEB/hardware/disk/16000?delete_file=true" >/dev/null
capi_status POST "/api/vcenter/vm/$WEB/power?action=start" >/dev/null
t_eq "power off answers 204 again" 204 "$(capi_status POST "/api/vcenter/vm/$WEB/power?action=stop")"
t_eq "events record the operations" true \
    "$(capi_body GET "/api/vireo/events?object=$WEB" | jq '[.[] | select(.type=="TaskSucceededEvent")] | length >= 2')"

# --- malformed input ---------------------------------------------------------
t_eq "malformed JSON is 400" 400 "$(capi_status POST /api/vcenter/datacenter '{"name": ')"
t_eq "wrong types are 400" 400 "$(capi_status POST /api/vcenter/datacenter '{"name": []}')"
t_eq "deep nesting is 400" 400 "$(capi_status POST /api/vcenter/datacenter "$(printf '[%.0s' $(seq 1 3000))")"

# --- permissions -------------------------------------------------------------
t_eq "a user is created" 201 "$(capi_status POST /api/vireo/users '{"name":"op","password":"op-pass-1"}')"
t_eq "without any permission it sees no VM" 0 "$(capi_body GET /api/vcenter/vm "" op op-pass-1 | jq length)"
t_match "... and cannot power one on (403/404)" '^40[34]$' "$(capi_status POST "/api/vcenter/vm/$WEB/power?action=start" "" op op-pass-1)"
t_eq "ReadOnly on the VM folder is granted" 204 \
    "$(capi_status POST /api/vireo/permissions "{\"object\":\"$VF\",\"principal\":\"op\",\"role\":\"ReadOnly\",\"propagate\":true}")"
t_eq "... then it sees the VMs of the folder" 2 "$(capi_body GET /api/vcenter/vm "" op op-pass-1 | jq length)"
t_eq "... but may not power them on (403)" 403 "$(capi_status POST "/api/vcenter/vm/$WEB/power?action=start" "" op op-pass-1)"
t_eq "... and nothing changed" POWERED_OFF "$(capi_body GET "/api/vcenter/vm?vms=$WEB" | jq -r '.[0].power_state')"
t_eq "a custom role with power-on is created" 201 \
    "$(capi_status POST /api/vireo/roles '{"name":"Operator","privileges":["VirtualMachine.Interact.PowerOn","VirtualMachine.Interact.PowerOff"]}')"
capi_status POST /api/vireo/permissions "{\"object\":\"$WEB\",\"principal\":\"op\",\"role\":\"Operator\"}" >/dev/null
t_eq "Operator on the VM (child overrides the folder's ReadOnly): power on works" 204 \
    "$(capi_status POST "/api/vcenter/vm/$WEB/power?action=start" "" op op-pass-1)"
t_eq "... power off too" 204 "$(capi_status POST "/api/vcenter/vm/$WEB/power?action=stop" "" op op-pass-1)"
t_eq "... but not on the other VM" 403 "$(capi_status POST "/api/vcenter/vm/$PRE/power?action=start" "" op op-pass-1)"
capi_status POST /api/vireo/permissions "{\"object\":\"$PRE\",\"principal\":\"op\",\"role\":\"NoAccess\"}" >/dev/null
t_eq "NoAccess on a VM hides it from the list" "$WEB" "$(capi_body GET /api/vcenter/vm "" op op-pass-1 | jq -r '[.[].vm] | join(" ")')"
t_eq "the user may not create datacenters" 403 "$(capi_status POST /api/vcenter/datacenter '{"name":"dc-x"}' op op-pass-1)"
t_eq "... nor grant itself permissions" 403 \
    "$(capi_status POST /api/vireo/permissions "{\"object\":\"group-d1\",\"principal\":\"op\",\"role\":\"Administrator\"}" op op-pass-1)"

# --- maintenance mode --------------------------------------------------------
host_of_web=$(capi_body GET /api/vcenter/vm | jq -r --arg w "$WEB" '.[] | select(.vm==$w) | .vm' >/dev/null; \
    capi_body GET "/api/vcenter/vm?hosts=$HA" | jq -r --arg w "$WEB" 'if any(.[]; .vm==$w) then "A" else "B" end')
H=$([ "$host_of_web" = A ] && echo "$HA" || echo "$HB")
t_eq "entering maintenance mode answers 204" 204 "$(capi_status POST "/api/vcenter/host/$H?action=enter-maintenance")"
t_eq "no VM may power on on a host in maintenance" 400 "$(capi_status POST "/api/vcenter/vm/$WEB/power?action=start")"
t_eq "exiting maintenance mode answers 204" 204 "$(capi_status POST "/api/vcenter/host/$H?action=exit-maintenance")"

# --- a frozen host: NOT_RESPONDING within a bound, then reconciled ----------
state_of() { capi_body GET "/api/vcenter/host?names=$1" | jq -r '.[0].connection_state'; }
is_host_state() { [ "$(state_of "$1")" = "$2" ]; }
HPID=$(cat "$T_STATE/esx-a/hostd.pid")
kill -STOP "$HPID"
t0=$(date +%s)
t_check "a SIGSTOPped host is NOT_RESPONDING within 15 s" t_wait 15 is_host_state esx-a NOT_RESPONDING
t_ok "... (after $(( $(date +%s) - t0 )) s)"
r=$(capi GET "/api/vcenter/vm/$PRE/power")
t_eq "operations on its VMs fail clearly (503)" 503 "${r%% *}"
t_match "... naming the host" "esx-a" "$(echo "${r#* }" | jq -r '.messages[0].default_message')"
kill -CONT "$HPID"
# While it was away, a VM was unregistered from it directly.
t_check "it comes back CONNECTED" t_wait 20 is_host_state esx-a CONNECTED
VIREO_URL="https://$A:$LAB_PORT" api_status POST "/api/vcenter/vm/vm-1?action=unregister" >/dev/null
capi_status POST "/api/vcenter/host/$HA?action=disconnect" >/dev/null
capi_status POST "/api/vcenter/host/$HA?action=reconnect" >/dev/null
gone() { [ "$(capi_body GET '/api/vcenter/vm?names=pre-01' | jq length)" = 0 ]; }
t_check "after a reconnect the centre reconciles (the unregistered VM leaves)" t_wait 20 gone

# --- kill -9 of the centre under writes ---------------------------------------
: >"$T_STATE/acked"
(for i in $(seq 1 400); do
    r=$(capi POST /api/vcenter/folder "{\"name\":\"f$i\",\"parent_folder\":\"$VF\"}")
    [ "${r%% *}" = 201 ] && echo "${r#* }" | tr -d '"' >>"$T_STATE/acked"
done) & writer=$!
sleep 3
lab_kill9 "$T_STATE/center"
wait $writer 2>/dev/null
n_acked=$(wc -l <"$T_STATE/acked")
t_check "some writes were answered before the kill ($n_acked)" test "$n_acked" -gt 0
t_eq "the database passes integrity_check" ok "$(sqlite3 "$T_STATE/center/state/inventory.db" 'PRAGMA integrity_check')"
lab_center_up "$T_NET" "$T_STATE" "$T_PASSWORD" >/dev/null
t_center_new_sessions
have=$(capi_body GET "/api/vcenter/folder?parent_folders=$VF" | jq -r '.[].folder' | sort)
missing=$(comm -23 <(sort "$T_STATE/acked") <(echo "$have"))
t_eq "every write answered 201 survived the kill" "" "$missing"
t_eq "no task is left running after the restart" 0 "$(capi_body GET '/api/cis/tasks?states=RUNNING' | jq length)"

# --- a lost database: re-adding the hosts rebuilds the VMs -------------------
kill "$(cat "$T_STATE/center/hostd.pid")"; sleep 1
rm -f "$T_STATE/center/state/inventory.db"*
lab_center_up "$T_NET" "$T_STATE" "$T_PASSWORD" >/dev/null
t_center_new_sessions
DC=$(capi_body POST /api/vcenter/datacenter '{"name":"dc1"}' | tr -d '"')
HF=$(capi_body GET "/api/vcenter/datacenter/$DC" | jq -r .host_folder)
for addr in "$A" "$B"; do
    b=$(jq -cn --arg h "$addr" --arg p "$T_PASSWORD" --arg f "$HF" '{hostname:$h, port:8443, user_name:"root", password:$p, folder:$f}')
    tp=$(capi_body POST /api/vcenter/host "$b" | jq -r '.messages[0].default_message' | grep -oE '([0-9A-F]{2}:){31}[0-9A-F]{2}' | head -1)
    capi_status POST /api/vcenter/host "$(echo "$b" | jq -c --arg t "$tp" '. + {thumbprint:$t}')" >/dev/null
done
t_eq "after the database was lost, re-adding the hosts brings web-01 back" 1 \
    "$(capi_body GET '/api/vcenter/vm?names=web-01' | jq length)"

t_finish
