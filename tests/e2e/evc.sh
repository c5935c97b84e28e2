#!/bin/bash
# evc.sh — EVC in a cluster through vireo-centerd: esx-a (the machine's TCG
# CPU, up to intel-westmere) and esx-b narrowed by evc_max to intel-nehalem
# make a cluster whose max EVC mode is intel-nehalem; westmere is refused
# naming esx-b, nehalem is set (and survives a hostd restart); the template
# guest powered on in the cluster runs QEMU with -cpu Nehalem-v1,enforce and shows
# its mode; it vMotions to esx-b and back keeping it; lowering the mode while
# it runs is refused naming it; esx-c (narrowed to intel-merom) cannot join;
# disabling works once it is off, and its next power-on is outside EVC.
. "$(dirname "$0")/lib.sh"
t_require_root
t_require_template
[ -x "$LAB_BUILD/src/center/vireo-centerd" ] || t_skip_all "vireo-centerd is not built"

DS="$T_STATE/datastores"
mkdir -p "$DS/shared" "$DS/local-c"

# narrow HOST MODE — makes a started host report the CPU of an older one
# (evc_max in its [host] configuration) and restarts its vireo-hostd.
narrow() {
    local dir="$T_STATE/$1" index=$3
    sed -i "/^\[host\]/a evc_max = $2" "$dir/hostd.ini"
    touch -d '+2 seconds' "$dir/hostd.ini"
    lab_hostd_start "$T_PREFIX-$1" "$dir" "$dir/hostd.ini"
    lab_wait_api "$(lab_host_addr "$T_NET" "$index")" root "$T_PASSWORD"
}

t_lab_host esx-a 1 "shared=$DS/shared" || { t_not_ok "hosts start"; t_finish; exit 1; }
t_lab_host esx-b 2 "shared=$DS/shared" || { t_not_ok "hosts start"; t_finish; exit 1; }
t_lab_host esx-c 3 "local-c=$DS/local-c" || { t_not_ok "hosts start"; t_finish; exit 1; }
narrow esx-b intel-nehalem 2 || { t_not_ok "esx-b restarts narrowed"; t_finish; exit 1; }
narrow esx-c intel-merom 3 || { t_not_ok "esx-c restarts narrowed"; t_finish; exit 1; }
A=$(lab_host_addr "$T_NET" 1)
B=$(lab_host_addr "$T_NET" 2)
C=$(lab_host_addr "$T_NET" 3)
hapi() { local url=$1; shift; VIREO_URL="https://$url:$LAB_PORT" api_body "$@"; }
t_eq "esx-b reports intel-nehalem as its newest mode (evc_max)" intel-nehalem \
    "$(hapi "$B" GET /api/vireo/host/evc | jq -r .max_mode)"
t_match "esx-a supports intel-westmere (TCG)" '"intel-westmere"' \
    "$(hapi "$A" GET /api/vireo/host/evc | jq -c .evc_modes)"

lab_copy_vm "$T_TEMPLATE" "$DS/shared/evc-01" evc-01
VIREO_URL="https://$A:$LAB_PORT" t_check "the guest is registered on esx-a" \
    vireo vm register --datastore shared evc-01/evc-01.vmx --name evc-01

t_center_cluster "$A" "$B" || { t_not_ok "the centre starts"; t_finish; exit 1; }
HA=$(capi_body GET '/api/vcenter/host?names=esx-a' | jq -r '.[0].host')
HB=$(capi_body GET '/api/vcenter/host?names=esx-b' | jq -r '.[0].host')
VM=$(capi_body GET '/api/vcenter/vm?names=evc-01' | jq -r '.[0].vm')
t_match "both hosts and the guest are in the centre" '^host-[0-9]+ host-[0-9]+ vm-[0-9]+$' "$HA $HB $VM"
export VIREO_URL=$T_CENTER_URL VIREO_USERNAME=administrator VIREO_PASSWORD=$T_PASSWORD

# --- the cluster's modes -------------------------------------------------------------
cl=$(capi_body GET "/api/vcenter/cluster/$CL")
t_eq "GET cluster: EVC off, max mode intel-nehalem (esx-b's)" "null intel-nehalem" \
    "$(echo "$cl" | jq -r '"\(.evc_mode) \(.max_evc_mode)"')"
r=$(capi PATCH "/api/vcenter/cluster/$CL" '{"evc_mode":"westmere"}')
msg=$(echo "${r#* }" | jq -r '.messages[0].default_message')
echo "# $msg"
t_eq "westmere is refused (400 NOT_ALLOWED_IN_CURRENT_STATE)" "400 NOT_ALLOWED_IN_CURRENT_STATE" \
    "${r%% *} $(echo "${r#* }" | jq -r .error_type)"
t_match "... naming esx-b, what it lacks and its highest mode" \
    "esx-b lacks .*aes.* of intel-westmere \(its highest EVC mode is intel-nehalem\)" "$msg"
r=$(capi PATCH "/api/vcenter/cluster/$CL" '{"evc_mode":"pentium"}')
t_eq "an unknown mode: 400 INVALID_ARGUMENT" "400 INVALID_ARGUMENT" "${r%% *} $(echo "${r#* }" | jq -r .error_type)"
t_match "... listing the known ones" "known modes are intel-merom, intel-penryn, .*amd-zen3" \
    "$(echo "${r#* }" | jq -r '.messages[0].default_message')"
r=$(capi PATCH "/api/vcenter/cluster/$CL" '{"evc_mode":"zen4"}')
t_eq "zen4: 400 UNSUPPORTED" "400 UNSUPPORTED" "${r%% *} $(echo "${r#* }" | jq -r .error_type)"
t_match "... QEMU 7.2 lacks EPYC-Genoa" "EPYC-Genoa CPU model, which QEMU 7\.2" \
    "$(echo "${r#* }" | jq -r '.messages[0].default_message')"
capi_status POST /api/vireo/users '{"name":"viewer","password":"viewer-pass-1"}' >/dev/null
capi_status POST /api/vireo/permissions "{\"object\":\"group-d1\",\"principal\":\"viewer\",\"role\":\"ReadOnly\",\"propagate\":true}" >/dev/null
t_eq "a read-only user may not set it (403)" 403 \
    "$(capi_status PATCH "/api/vcenter/cluster/$CL" '{"evc_mode":"nehalem"}' viewer viewer-pass-1)"

out=$(vireo cluster evc cluster1 --mode nehalem 2>"$T_STATE/evc.err"); rc=$?
t_eq "vireo cluster evc cluster1 --mode nehalem" "0 EVC mode of cluster1 set to nehalem." "$rc $out"
t_eq "GET cluster shows intel-nehalem" intel-nehalem "$(capi_body GET "/api/vcenter/cluster/$CL" | jq -r .evc_mode)"
t_match "vireo cluster info shows it" "EVC mode: +intel-nehalem" "$(vireo cluster info cluster1)"
t_eq "a ClusterReconfiguredEvent says so" 1 "$(capi_body GET "/api/vireo/events?object=$CL" |
    jq '[.[] | select(.type == "ClusterReconfiguredEvent" and (.message | test("disabled to intel-nehalem")))] | length')"
t_eq "both hosts hold the mode" "intel-nehalem intel-nehalem" \
    "$(hapi "$A" GET /api/vireo/host/evc | jq -r .mode) $(hapi "$B" GET /api/vireo/host/evc | jq -r .mode)"
kill "$(cat "$T_STATE/esx-b/hostd.pid")"
sleep 1
lab_hostd_start "$T_PREFIX-esx-b" "$T_STATE/esx-b" "$T_STATE/esx-b/hostd.ini"
lab_wait_api "$B" root "$T_PASSWORD"
t_new_session
t_eq "esx-b keeps it across a restart" intel-nehalem "$(hapi "$B" GET /api/vireo/host/evc | jq -r .mode)"
connected() { [ "$(capi_body GET "/api/vcenter/host/$HB" | jq -r .connection_state)" = CONNECTED ]; }
t_check "esx-b is connected again" t_wait 30 connected

# --- a VM in the cluster ----------------------------------------------------------------
qemu_of() { pgrep -f "qemu-system.*$T_STATE/$1/" | head -1; }
cpu_of() { local p; p=$(qemu_of "$1"); [ -n "$p" ] && tr '\0' '\n' <"/proc/$p/cmdline" | grep -A1 -x -- -cpu | tail -1; }
vm_mode() { capi_body GET "/api/vcenter/vm/$VM" | jq -r .cpu.evc_mode; }
tools_running() { [ "$(capi_body GET "/api/vcenter/vm/$VM/tools" | jq -r .run_state)" = RUNNING ]; }
t_eq "power on in the cluster" 204 "$(capi_status POST "/api/vcenter/vm/$VM/power?action=start")"
t_eq "its QEMU runs -cpu Nehalem-v1,enforce (the baseline's model, nothing dropped)" Nehalem-v1,enforce "$(cpu_of esx-a)"
t_eq "the VM shows its mode (cpu.evc_mode)" intel-nehalem "$(vm_mode)"
t_eq "... recorded in its .vmx" 'vireo.evc.mode = "intel-nehalem"' \
    "$(grep '^vireo.evc.mode' "$DS/shared/evc-01/evc-01.vmx")"
t_check "the guest boots with it (tools RUNNING)" t_wait 180 tools_running
bid=$(capi_body GET "/api/vcenter/vm/$VM/tools" | jq -r .boot_id)

r=$(capi_body POST "/api/vcenter/vm/$VM?action=relocate&check_only=true" "{\"placement\":{\"host\":\"$HB\"}}")
t_eq "the dry run finds esx-b compatible (no cpu-incompatible)" 0 \
    "$(echo "$r" | jq '[.issues[] | select(.code == "cpu-incompatible")] | length')"
out=$(vireo vm migrate evc-01 --host esx-b 2>&1); rc=$?
t_eq "vMotion to esx-b" 0 "$rc"
[ "$rc" = 0 ] || echo "# $out"
t_eq "on esx-b QEMU runs -cpu Nehalem-v1,enforce too" Nehalem-v1,enforce "$(cpu_of esx-b)"
t_eq "... and the VM keeps its mode" intel-nehalem "$(vm_mode)"
t_check "the guest runs on esx-b" t_wait 30 tools_running
out=$(vireo vm migrate evc-01 --host esx-a 2>&1); rc=$?
t_eq "vMotion back to esx-a" 0 "$rc"
[ "$rc" = 0 ] || echo "# $out"
t_eq "back on esx-a with -cpu Nehalem-v1,enforce" Nehalem-v1,enforce "$(cpu_of esx-a)"
t_eq "... mode intel-nehalem" intel-nehalem "$(vm_mode)"
t_check "the guest runs on esx-a" t_wait 30 tools_running
t_eq "the same boot throughout" "$bid" "$(capi_body GET "/api/vcenter/vm/$VM/tools" | jq -r .boot_id)"

r=$(capi PATCH "/api/vcenter/cluster/$CL" '{"evc_mode":"merom"}')
msg=$(echo "${r#* }" | jq -r '.messages[0].default_message')
echo "# $msg"
t_eq "lowering to merom while it runs: 400 NOT_ALLOWED_IN_CURRENT_STATE" "400 NOT_ALLOWED_IN_CURRENT_STATE" \
    "${r%% *} $(echo "${r#* }" | jq -r .error_type)"
t_match "... naming the VM and its mode" "Cannot lower the EVC mode from intel-nehalem to intel-merom in cluster cluster1: VM evc-01 runs at intel-nehalem and uses .*sse4\.2" "$msg"
t_eq "the mode stays intel-nehalem" intel-nehalem "$(capi_body GET "/api/vcenter/cluster/$CL" | jq -r .evc_mode)"

# --- a host that cannot cover the mode --------------------------------------------------------
out=$(lab_center_add_host "$CL" "$C" "$T_PASSWORD")
msg=$(echo "$out" | jq -r '.messages[0].default_message // empty' 2>/dev/null)
echo "# $msg"
t_match "esx-c (intel-merom) cannot join, its max mode named" \
    "Host esx-c cannot join cluster cluster1, whose EVC mode is intel-nehalem: esx-c lacks .*sse4\\.2 of intel-nehalem \\(its highest EVC mode is intel-merom\\)" "$msg"
t_eq "... and is not in the inventory" 0 "$(capi_body GET '/api/vcenter/host?names=esx-c' | jq length)"
t_eq "... nor holds a mode" null "$(hapi "$C" GET /api/vireo/host/evc | jq -r .mode)"

# --- disabling ------------------------------------------------------------------------------------
t_eq "power off" 204 "$(capi_status POST "/api/vcenter/vm/$VM/power?action=stop")"
out=$(vireo cluster evc cluster1 --disable 2>"$T_STATE/evc.err"); rc=$?
t_eq "vireo cluster evc cluster1 --disable" "0 EVC disabled on cluster1." "$rc $out"
t_eq "GET cluster: EVC off, max still intel-nehalem" "null intel-nehalem" \
    "$(capi_body GET "/api/vcenter/cluster/$CL" | jq -r '"\(.evc_mode) \(.max_evc_mode)"')"
t_eq "the hosts dropped the mode" "null null" \
    "$(hapi "$A" GET /api/vireo/host/evc | jq -r .mode) $(hapi "$B" GET /api/vireo/host/evc | jq -r .mode)"
t_eq "power on outside EVC" 204 "$(capi_status POST "/api/vcenter/vm/$VM/power?action=start")"
t_eq "QEMU runs the host's own model (qemu64)" qemu64 "$(cpu_of esx-a)"
t_eq "the VM has no mode" null "$(vm_mode)"
t_eq "... and its .vmx no longer records one" 0 "$(grep -c '^vireo.evc.mode' "$DS/shared/evc-01/evc-01.vmx")"
capi_status POST "/api/vcenter/vm/$VM/power?action=stop" >/dev/null

t_finish
