#!/bin/bash
# vmotion-encrypted.sh — encrypted vMotion (docs/migration.md, faults M8/M9):
# an opportunistic move carries no QEMU migration magic "QEVM" on the wire
# while a disabled one does (so the capture check can fail); the key is in
# no task, event or leftover file; a wrong or missing key on the incoming
# side fails the copy with the guest still on the source; random bytes on
# the incoming port do not stop the real migration.
. "$(dirname "$0")/lib.sh"
t_require_root
t_require_template
[ -x "$LAB_BUILD/src/center/vireo-centerd" ] || t_skip_all "vireo-centerd is not built"
command -v tcpdump >/dev/null || t_skip_all "tcpdump is not installed (scripts/install-deps.sh)"

DS="$T_STATE/datastores"
mkdir -p "$DS/local-a" "$DS/local-b" "$DS/shared"
t_lab_host esx-a 1 "local-a=$DS/local-a" "shared=$DS/shared" || { t_not_ok "hosts start"; t_finish; exit 1; }
t_lab_host esx-b 2 "local-b=$DS/local-b" "shared=$DS/shared" || { t_not_ok "hosts start"; t_finish; exit 1; }
A=$(lab_host_addr "$T_NET" 1)
B=$(lab_host_addr "$T_NET" 2)
hapi() { local h=$1; shift; VIREO_URL="https://$h:$LAB_PORT" api "$@"; }

lab_copy_vm "$T_TEMPLATE" "$DS/shared/enc-01" enc-01
VMX="$DS/shared/enc-01/enc-01.vmx"
sed -i '/^migrate\.encryptionMode/d' "$VMX"   # VMware's default: opportunistic
VIREO_URL="https://$A:$LAB_PORT" t_check "the guest is registered on esx-a" \
    vireo vm register --datastore shared enc-01/enc-01.vmx --name enc-01

t_center_cluster "$A" "$B" || { t_not_ok "the centre starts"; t_finish; exit 1; }
HA=$(capi_body GET '/api/vcenter/host?names=esx-a' | jq -r '.[0].host')
HB=$(capi_body GET '/api/vcenter/host?names=esx-b' | jq -r '.[0].host')
VM=$(capi_body GET '/api/vcenter/vm?names=enc-01' | jq -r '.[0].vm')
t_match "both hosts and the guest are in the inventory" '^host-[0-9]+ host-[0-9]+ vm-[0-9]+$' "$HA $HB $VM"
export VIREO_URL=$T_CENTER_URL VIREO_USERNAME=administrator VIREO_PASSWORD=$T_PASSWORD

tools() { capi_body GET "/api/vcenter/vm/$VM/tools"; }
tools_running() { [ "$(tools | jq -r .run_state)" = RUNNING ]; }
qemus() { pgrep -f "qemu-system.*$T_STATE/$1/" | wc -l; }
one_qemu_on() { [ "$(qemus "$1")" = 1 ] && [ "$(($(qemus esx-a) + $(qemus esx-b)))" = 1 ]; }
host_vm() { hapi "$1" GET /api/vcenter/vm | cut -d' ' -f2- | jq -r '[.[] | select(.name == "enc-01") | .vm][0] // empty'; }
no_vm_on() { [ -z "$(host_vm "$1")" ]; }
no_psk_left() { [ -z "$(find "$T_STATE" -name keys.psk 2>/dev/null)" ]; }
key() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

t_eq "power on through the centre" 204 "$(capi_status POST "/api/vcenter/vm/$VM/power?action=start")"
t_check "the guest agent reports (tools RUNNING)" t_wait 150 tools_running
bid=$(tools | jq -r .boot_id)
t_eq "esx-a describes the VM's mode: opportunistic (no migrate.encryptionMode)" opportunistic \
    "$(hapi "$A" GET "/api/vcenter/vm/$(host_vm "$A")" | cut -d' ' -f2- | jq -r .migrate_encryption)"
r=$(capi_body POST "/api/vcenter/vm/$VM?action=relocate&check_only=true" "{\"placement\":{\"host\":\"$HB\"}}")
t_eq "the check no longer warns encryption-unavailable" 0 \
    "$(echo "$r" | jq '[.issues[] | select(.code | startswith("encryption"))] | length')"

# capture_start HOST FILE / capture_stop: the migration channel as the
# destination's management interface sees it (the API's TLS port left out).
capture_start() {
    ip netns exec "$T_PREFIX-$1" tcpdump -i vmk1 -s 256 -U -w "$2" "tcp and not port $LAB_PORT" 2>/dev/null &
    capture=$!
    sleep 1
}
capture_stop() { sleep 1; kill "$capture"; wait "$capture" 2>/dev/null; }
packets() { tcpdump -r "$1" 2>/dev/null | wc -l; }
has_qevm() { grep -qa QEVM "$1"; }
last_task() {
    capi_body GET "/api/vireo/events?object=$VM" | jq -r '[.[] | select(.type == "VmMigratedEvent")][0].task'
}

# --- M9: an opportunistic move is encrypted on the wire ---------------------------
capture_start esx-b "$T_STATE/enc.pcap"
t_check "vireo vm migrate enc-01 --host esx-b (opportunistic) succeeds" vireo vm migrate enc-01 --host esx-b
capture_stop
TASK=$(last_task)
enc=$(capi_body GET "/api/cis/tasks/$TASK")
echo "# encrypted: $(echo "$enc" | jq -c '.result | {total_time_ms, downtime_ms, setup_time_ms, transferred_bytes, elapsed_ms}')"
t_eq "the task SUCCEEDED and says the copy was encrypted" "SUCCEEDED true" "$(echo "$enc" | jq -r '"\(.status) \(.result.encrypted)"')"
n=$(packets "$T_STATE/enc.pcap")
t_eq "the capture on esx-b saw the migration ($n packets)" 1 "$([ "$n" -gt 1000 ] && echo 1 || echo 0)"
t_check "... with no QEVM magic in it" bash -c "! grep -qa QEVM '$T_STATE/enc.pcap'"
t_match "the VmMigratedEvent says encrypted" "with vMotion \(encrypted\)" \
    "$(capi_body GET "/api/vireo/events?object=$VM" | jq -r '[.[] | select(.type == "VmMigratedEvent")][0].message')"
# The key is 64 hex digits: none in the task, the events or any log.
t_eq "no key in the task, the events, or the centre's, hosts' and VM's logs" 0 \
    "$( (echo "$enc"; capi_body GET "/api/vireo/events?object=$VM"; cat "$T_STATE"/*/*.log "$VMX" "${VMX%/*}/vmware.log") |
        grep -caiE '[0-9a-f]{64}')"
t_check "no keys.psk is left on either host" t_wait 5 no_psk_left
t_check "exactly one QEMU runs the guest, on esx-b" t_wait 15 one_qemu_on esx-b
t_check "the guest runs on (tools RUNNING)" t_wait 30 tools_running
t_eq "... the same boot" "$bid" "$(tools | jq -r .boot_id)"

# --- M8: the hosts' steps driven by hand with a bad key ----------------------------
# mig_try ID PREPARE_PSK PERFORM_PSK — begin on esx-b, prepare on esx-a, perform
# on esx-b; prints perform's status; then cancels both sides.
SRC=$(host_vm "$B")
psk() { [ -n "$2" ] && echo ", \"psk\": {\"identity\": \"vireo-$1\", \"key\": \"$2\"}"; }
mig_try() {
    local id=$1 r path uri
    r=$(hapi "$B" POST '/api/vireo/migration?action=begin' "{\"vm\":\"$SRC\",\"migration\":\"$id\"}")
    path=$(echo "${r#* }" | jq -r .vmx_path)
    r=$(hapi "$A" POST '/api/vireo/migration?action=prepare' \
        "{\"migration\":\"$id\",\"vmx_path\":\"$path\",\"name\":\"enc-01\"$(psk "$id" "$2")}")
    uri=$(echo "${r#* }" | jq -r .uri)
    [ -n "${4:-}" ] && "$4" "$uri"
    r=$(hapi "$B" POST '/api/vireo/migration?action=perform' \
        "{\"migration\":\"$id\",\"uri\":\"$uri\",\"downtime_ms\":500$(psk "$id" "$3")}")
    echo "${r%% *} $(echo "${r#* }" | jq -r '.messages[0].default_message // .encrypted' | tr '\n' ' ')"
}
mig_undo() {
    hapi "$A" POST '/api/vireo/migration?action=cancel' "{\"migration\":\"$1\"}" >/dev/null
    hapi "$B" POST '/api/vireo/migration?action=cancel' "{\"migration\":\"$1\"}" >/dev/null
}
no_qemu_on() { [ "$(qemus "$1")" = 0 ]; }
source_intact() {
    t_check "$1: no QEMU left on esx-a" t_wait 15 no_qemu_on esx-a
    t_check "$1: esx-a unregistered the incoming VM" t_wait 10 no_vm_on "$A"
    t_check "$1: one QEMU, on esx-b" t_wait 15 one_qemu_on esx-b
    t_check "$1: the guest runs on esx-b (tools RUNNING)" t_wait 30 tools_running
    t_eq "$1: the same boot" "$bid" "$(tools | jq -r .boot_id)"
    t_check "$1: no keys.psk left" t_wait 5 no_psk_left
}

out=$(mig_try t-wrong "$(key)" "$(key)"); echo "# wrong key: $out"
t_match "a wrong key on the incoming side: perform fails (TLS handshake)" '^[45][0-9][0-9] .*TLS' "$out"
mig_undo t-wrong
source_intact "wrong key"

out=$(mig_try t-nokey "" "$(key)"); echo "# no key: $out"
t_match "no key on the incoming side (it listens in clear): perform fails" '^[45][0-9][0-9] ' "$out"
mig_undo t-nokey
source_intact "missing key"

# --- disabled: in clear, and the capture shows it ----------------------------------
# The mode is read from the .vmx when a host registers the VM: set it on disk,
# move the VM (esx-a registers it), then the move from esx-a is disabled.
echo 'migrate.encryptionMode = "disabled"' >>"$VMX"
t_check "a move to esx-a (reads the .vmx with mode disabled)" vireo vm migrate enc-01 --host esx-a
t_eq "esx-a describes the VM's mode: disabled" disabled \
    "$(hapi "$A" GET "/api/vcenter/vm/$(host_vm "$A")" | cut -d' ' -f2- | jq -r .migrate_encryption)"
capture_start esx-b "$T_STATE/clear.pcap"
t_check "vireo vm migrate enc-01 --host esx-b (disabled) succeeds" vireo vm migrate enc-01 --host esx-b
capture_stop
clear=$(capi_body GET "/api/cis/tasks/$(last_task)")
echo "# in clear:  $(echo "$clear" | jq -c '.result | {total_time_ms, downtime_ms, setup_time_ms, transferred_bytes, elapsed_ms}')"
t_eq "the task says the copy was not encrypted" "SUCCEEDED false" "$(echo "$clear" | jq -r '"\(.status) \(.result.encrypted)"')"
t_check "the capture of the disabled move has the QEVM magic" has_qevm "$T_STATE/clear.pcap"
t_check "one QEMU, on esx-b" t_wait 15 one_qemu_on esx-b
t_check "the guest runs on (tools RUNNING)" t_wait 30 tools_running
t_eq "... the same boot" "$bid" "$(tools | jq -r .boot_id)"
inventory_one() { [ "$(capi_body GET /api/vcenter/vm | jq '[.[] | select(.name | startswith("enc-01"))] | length')" = 1 ]; }
t_check "one enc-01 in the inventory" t_wait 20 inventory_one

# --- required, against a host that cannot encrypt -----------------------------------
# esx-b restarted with vmotion_encryption = false (an ESXi host without
# encrypted vMotion); the VM, on esx-a, requires encryption.
sed -i 's/^migrate\.encryptionMode = .*/migrate.encryptionMode = "required"/' "$VMX"
t_check "a move to esx-a (reads the .vmx with mode required)" vireo vm migrate enc-01 --host esx-a
t_eq "esx-a describes the VM's mode: required" required \
    "$(hapi "$A" GET "/api/vcenter/vm/$(host_vm "$A")" | cut -d' ' -f2- | jq -r .migrate_encryption)"
restart_b() {
    t_new_session
    LAB_HOST_EXTRA=$1 lab_host_up "$T_PREFIX" "$T_NET" 2 esx-b "$T_STATE" "$T_PASSWORD" \
        "local-b=$DS/local-b" "shared=$DS/shared" >/dev/null
}
b_encrypts() { [ "$(hapi "$B" GET /api/vcenter/host/ha-host | cut -d' ' -f2- | jq -r .vmotion_encryption)" = "$1" ]; }
b_connected() { [ "$(capi_body GET "/api/vcenter/host?names=esx-b" | jq -r '.[0].connection_state')" = CONNECTED ]; }
restart_b "vmotion_encryption = false"
t_check "esx-b reports it cannot encrypt migrations" t_wait 30 b_encrypts false
t_check "... and the centre has it connected" t_wait 30 b_connected
r=$(capi_body POST "/api/vcenter/vm/$VM?action=relocate&check_only=true" "{\"placement\":{\"host\":\"$HB\"}}")
t_eq "check_only: encryption-required-unsupported is an ERROR" ERROR \
    "$(echo "$r" | jq -r '.issues[] | select(.code == "encryption-required-unsupported") | .severity')"
r=$(capi POST "/api/vcenter/vm/$VM?action=relocate" "{\"placement\":{\"host\":\"$HB\"}}")
t_eq "a required move to esx-b is refused (400)" 400 "${r%% *}"
t_match "... saying esx-b cannot encrypt" "requires encrypted vMotion but host esx-b cannot encrypt" \
    "$(echo "${r#* }" | jq -r '.messages[0].default_message')"
t_check "one QEMU, still on esx-a" t_wait 15 one_qemu_on esx-a
t_eq "... the same boot" "$bid" "$(tools | jq -r .boot_id)"
restart_b ""
t_check "esx-b encrypts again after a restart with the default" t_wait 30 b_encrypts true
t_check "... connected" t_wait 30 b_connected
t_check "the required move to esx-b now succeeds" vireo vm migrate enc-01 --host esx-b
t_eq "... encrypted" "SUCCEEDED true" "$(capi_body GET "/api/cis/tasks/$(last_task)" | jq -r '"\(.status) \(.result.encrypted)"')"

# --- M8: random bytes on the incoming port before the real stream ------------------
noise() {
    local port=${1##*:} host=${1#tcp:}
    host=${host%:*}
    head -c 65536 /dev/urandom | ip netns exec "$T_PREFIX-esx-b" timeout 5 socat -u - "TCP:$host:$port" || true
    sleep 1
}
# Last: a migration that completes here is not the centre's, which then no
# longer knows where the VM runs.
SRC=$(host_vm "$B")
K=$(key)
out=$(mig_try t-noise "$K" "$K" noise); echo "# after noise: $out"
if [[ $out == "200 true"* ]]; then
    t_ok "random bytes on the incoming port: the real migration still completed"
    hapi "$A" POST '/api/vireo/migration?action=finish' '{"migration":"t-noise"}' >/dev/null
    hapi "$B" POST '/api/vireo/migration?action=confirm' '{"migration":"t-noise"}' >/dev/null
    t_check "... one QEMU, on esx-a" t_wait 15 one_qemu_on esx-a
    a_tools() { hapi "$A" GET "/api/vcenter/vm/$(host_vm "$A")/tools" | cut -d' ' -f2-; }
    a_running() { [ "$(a_tools | jq -r .run_state)" = RUNNING ]; }
    t_check "... the guest runs there (tools RUNNING on esx-a)" t_wait 30 a_running
    t_eq "... the same boot" "$bid" "$(a_tools | jq -r .boot_id)"
    t_check "... no keys.psk left" t_wait 5 no_psk_left
else
    t_ok "random bytes on the incoming port: the real migration failed cleanly ($out)"
    mig_undo t-noise
    source_intact "noise"
fi

t_finish
