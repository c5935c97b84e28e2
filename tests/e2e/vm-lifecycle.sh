#!/bin/bash
# vm-lifecycle.sh — the template guest under TCG, driven through the CLI and
# API as an administrator would: power on, the agent's heartbeat and DHCP
# address, ping from the lab network, conflicting operations, suspend/resume
# with the guest's uptime intact, kill -9 of vireo-hostd with the VM running,
# graceful shutdown, QEMU dying, and guest customization.
. "$(dirname "$0")/lib.sh"
t_require_root
t_require_template

DS="$T_STATE/ds1"
mkdir -p "$DS"
t_lab_host esx-a 1 "ds1=$DS" || { t_not_ok "host starts"; t_finish; exit 1; }
lab_copy_vm "$T_TEMPLATE" "$DS/guest-01" guest-01
t_check "the CLI registers the template copy" vireo vm register --datastore ds1 guest-01/guest-01.vmx --name guest-01
vmid=$(vireo vm info guest-01 --json | jq -r '.identity.name' >/dev/null; api_body GET '/api/vcenter/vm?names=guest-01' | jq -r '.[0].vm')

uptime_s() { api_body GET "/api/vcenter/vm/$vmid/tools" | jq -r '.uptime_seconds // 0'; }
boot_id() { api_body GET "/api/vcenter/vm/$vmid/tools" | jq -r '.boot_id // empty'; }
tools_running() { [ "$(api_body GET "/api/vcenter/vm/$vmid/tools" | jq -r .run_state)" = RUNNING ]; }
power_state() { api_body GET "/api/vcenter/vm/$vmid/power" | jq -r .state; }
is_state() { [ "$(power_state)" = "$1" ]; }
guest_host_name_is() { [ "$(api_body GET "/api/vcenter/vm/$vmid/guest/identity" | jq -r .host_name)" = "$1" ]; }

# --- power on: heartbeat, IP, identity --------------------------------------
t_check "vireo vm power on" vireo vm power guest-01 on
t_eq "the VM is POWERED_ON" POWERED_ON "$(power_state)"
t_eq "one QEMU runs it" 1 "$(qemu_pids_of "$T_STATE/esx-a/state/run/$vmid/qemu.pid" | wc -l)"
t_check "the guest agent's heartbeat arrives" t_wait 120 tools_running
ip=$(vireo vm ip guest-01 --wait 90 2>/dev/null | tail -1)
t_match "the guest got an address from the lab's DHCP" "^10\.$T_NET\.0\.[0-9]+$" "$ip"
ident=$(api_body GET "/api/vcenter/vm/$vmid/guest/identity")
t_eq "guest identity: family" LINUX "$(echo "$ident" | jq -r .family)"
t_eq "guest identity: host name" vireo-template "$(echo "$ident" | jq -r .host_name)"
t_eq "guest identity: IP address" "$ip" "$(echo "$ident" | jq -r .ip_address)"
t_check "the guest answers pings on the lab network" \
    t_wait 20 ip netns exec "$T_PREFIX-net" ping -c1 -W1 "$ip"

# --- refused while running; conflicts ---------------------------------------
t_eq "starting a running VM is 400 ALREADY_IN_DESIRED_STATE" "400 ALREADY_IN_DESIRED_STATE" \
    "$(r=$(api POST "/api/vcenter/vm/$vmid/power?action=start"); echo "${r%% *} $(echo "${r#* }" | jq -r .error_type)")"
t_eq "hardware changes while powered on are 400" 400 \
    "$(api_status POST "/api/vcenter/vm/$vmid/hardware/disk" '{"new_vmdk":{"capacity":1048576}}')"
t_eq "deleting a running VM is 400" 400 "$(api_status DELETE "/api/vcenter/vm/$vmid")"
bid0=$(boot_id)
# A suspend takes about a second (the state is written); a reset sent
# while it runs must be refused, not queued or run alongside.
(api_status POST "/api/vcenter/vm/$vmid/power?action=suspend" >"$T_STATE/op1") &
op1=$!
sleep 0.3
api_status POST "/api/vcenter/vm/$vmid/power?action=reset" >"$T_STATE/op2"
wait $op1
t_eq "a second power operation while one runs gets 409; the first completes" "204 409" \
    "$(cat "$T_STATE/op1") $(cat "$T_STATE/op2")"

# Either may have won: the suspend (bring the VM back on) or the reset (wait
# for the new boot), so what follows starts from a settled guest.
if [ "$(power_state)" = SUSPENDED ]; then
    api_status POST "/api/vcenter/vm/$vmid/power?action=start" >/dev/null
else
    rebooted() { b=$(boot_id); [ -n "$b" ] && [ "$b" != "$bid0" ]; }
    t_wait 90 rebooted
fi
t_check "tools run again" t_wait 120 tools_running

# --- suspend / resume keeps the guest's uptime ------------------------------
sleep 2
up1=$(uptime_s)
bid=$(boot_id)
t_check "vireo vm power suspend" vireo vm power guest-01 suspend
t_eq "the VM is SUSPENDED" SUSPENDED "$(power_state)"
t_check "its state is in the .vmss" test -s "$DS/guest-01/guest-01.vmss"
t_check "the .vmx records the checkpoint" grep -q '^checkpoint.vmState = "guest-01.vmss"' "$DS/guest-01/guest-01.vmx"
t_eq "no QEMU runs while suspended" 0 "$(qemu_pids_of "$T_STATE/esx-a/state/run/$vmid/qemu.pid" | wc -l)"
sleep 3
t_check "vireo vm power on resumes it" vireo vm power guest-01 on
t_check "tools report again after the resume" t_wait 60 tools_running
sleep 2
up2=$(uptime_s)
t_eq "the guest did not reboot (same boot id)" "$bid" "$(boot_id)"
t_check "uptime continued ($up1 s before, $up2 s after)" awk -v a="$up1" -v b="$up2" 'BEGIN { exit !(b > a && b < a + 60) }'
t_check "the .vmss is consumed after the resume" test ! -e "$DS/guest-01/guest-01.vmss"

# --- kill -9 of vireo-hostd: the VM keeps running and is re-attached ---------
qpid=$(qemu_pids_of "$T_STATE/esx-a/state/run/$vmid/qemu.pid")
lab_kill9 "$T_STATE/esx-a"
wait "$(cat "$T_STATE/esx-a/hostd.pid")" 2>/dev/null
sleep 1
t_check "after kill -9 of vireo-hostd the QEMU still runs" kill -0 "$qpid"
t_check "the guest still answers pings" ip netns exec "$T_PREFIX-net" ping -c1 -W2 "$ip"
lab_hostd_start "$T_PREFIX-esx-a" "$T_STATE/esx-a" "$T_STATE/esx-a/hostd.ini"
lab_wait_api "$(lab_host_addr "$T_NET" 1)" root "$T_PASSWORD"
t_new_session
t_eq "the restarted host reports it POWERED_ON" POWERED_ON "$(power_state)"
t_eq "with the same QEMU" "$qpid" "$(qemu_pids_of "$T_STATE/esx-a/state/run/$vmid/qemu.pid")"
t_check "and hears its heartbeat again" t_wait 30 tools_running
t_eq "the guest did not reboot" "$bid" "$(boot_id)"

# --- guest reboot -----------------------------------------------------------
t_check "vireo vm reboot" vireo vm reboot guest-01
new_boot() { b=$(boot_id); [ -n "$b" ] && [ "$b" != "$bid" ]; }
t_check "the guest reboots (a new boot id) and its tools come back" t_wait 90 new_boot
t_eq "the VM stayed POWERED_ON through the guest reboot" POWERED_ON "$(power_state)"
t_eq "with the same QEMU" "$qpid" "$(qemu_pids_of "$T_STATE/esx-a/state/run/$vmid/qemu.pid")"

# --- graceful shutdown ------------------------------------------------------
t_check "vireo vm shutdown" vireo vm shutdown guest-01
t_check "the guest powers itself off" t_wait 60 is_state POWERED_OFF
t_eq "no QEMU is left" 0 "$(qemu_pids_of "$T_STATE/esx-a/state/run/$vmid/qemu.pid" | wc -l)"
t_eq "a guest shutdown is not an error" null "$(api_body GET "/api/vcenter/vm/$vmid" | jq -r '.power_state_reason // null')"

# --- QEMU dying is noticed --------------------------------------------------
t_check "power on again" vireo vm power guest-01 on
kill -9 "$(qemu_pids_of "$T_STATE/esx-a/state/run/$vmid/qemu.pid")"
t_check "a killed QEMU turns the VM POWERED_OFF" t_wait 10 is_state POWERED_OFF
t_match "... with the reason in the API" "signal 9" "$(api_body GET "/api/vcenter/vm/$vmid" | jq -r .power_state_reason)"
t_check "... and in vmware.log" grep -q "signal 9" "$DS/guest-01/vmware.log"

# --- customization: host name and static IP ---------------------------------
static="10.$T_NET.0.50"
printf 'guestinfo.vireo.customization = "{|22host_name|22:|22web-01|22,|22ip_address|22:|22%s|22,|22prefix|22:24,|22gateway|22:|2210.%s.0.1|22}"\n' \
    "$static" "$T_NET" >>"$DS/guest-01/guest-01.vmx"
api_status POST "/api/vcenter/vm/$vmid?action=unregister" >/dev/null
vireo vm register --datastore ds1 guest-01/guest-01.vmx --name guest-01 >/dev/null
vmid=$(api_body GET '/api/vcenter/vm?names=guest-01' | jq -r '.[0].vm')
t_check "power on with a customization" vireo vm power guest-01 on
t_check "tools run" t_wait 120 tools_running
t_check "the guest takes the customized host name" \
    t_wait 30 guest_host_name_is web-01
t_eq "... and the static address" "$static" "$(api_body GET "/api/vcenter/vm/$vmid/guest/identity" | jq -r .ip_address)"
t_check "... reachable on the lab network" t_wait 20 ip netns exec "$T_PREFIX-net" ping -c1 -W1 "$static"
t_check "vireo vm power off" vireo vm power guest-01 off
t_eq "no QEMU is left" 0 "$(qemu_pids_of "$T_STATE/esx-a/state/run/$vmid/qemu.pid" | wc -l)"

t_finish
