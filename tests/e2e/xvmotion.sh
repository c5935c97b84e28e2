#!/bin/bash
# xvmotion.sh — vMotion + Storage vMotion through vireo-centerd, between two
# hosts that share no datastore: the template guest (its system disk and a
# thin data disk of known content that the guest never writes) on
# esx-a/local-a moves to esx-b/local-b with `vireo vm migrate --host
# --datastore` while a client pings it, then back (progress followed on the
# task); the check wants the TARGET datastore on the destination; faults: a
# destination datastore too small (tmpfs), a folder already there.
. "$(dirname "$0")/lib.sh"
t_require_root
t_require_template
[ -x "$LAB_BUILD/src/center/vireo-centerd" ] || t_skip_all "vireo-centerd is not built"
command -v qemu-img >/dev/null || t_skip_all "qemu-img is not installed"

DS="$T_STATE/datastores"
mkdir -p "$DS/local-a" "$DS/local-b" "$DS/tiny-b"
mount -t tmpfs -o size=8m tmpfs "$DS/tiny-b" || t_skip_all "cannot mount a tmpfs"
t_lab_host esx-a 1 "local-a=$DS/local-a" || { t_not_ok "hosts start"; t_finish; exit 1; }
t_lab_host esx-b 2 "local-b=$DS/local-b" "tiny-b=$DS/tiny-b" || { t_not_ok "hosts start"; t_finish; exit 1; }
A=$(lab_host_addr "$T_NET" 1)
B=$(lab_host_addr "$T_NET" 2)

# The guest on local-a, with a second, thin disk: 32 MiB holding 8 MiB of
# random bytes at 4 MiB (the guest does not mount it: its data stays known).
lab_copy_vm "$T_TEMPLATE" "$DS/local-a/xv-01" xv-01
t_workload_vmx "$DS/local-a/xv-01/xv-01.vmx" 16
V="$DS/local-a/xv-01"
truncate -s 32M "$V/xv-01_1-flat.vmdk"
head -c 8M /dev/urandom | dd of="$V/xv-01_1-flat.vmdk" bs=1M seek=4 conv=notrunc status=none
sed -e 's/RW 131072 VMFS "xv-01-flat.vmdk"/RW 65536 VMFS "xv-01_1-flat.vmdk"/' -e '/ddb.uuid/d' -e '/ddb.longContentID/d' \
    "$V/xv-01.vmdk" >"$V/xv-01_1.vmdk"
printf 'scsi0:1.present = "TRUE"\nscsi0:1.deviceType = "scsi-hardDisk"\nscsi0:1.fileName = "xv-01_1.vmdk"\n' >>"$V/xv-01.vmx"
cp --sparse=always "$V/xv-01_1-flat.vmdk" "$T_STATE/data-ref.raw"
used_kib() { du -k "$1" | cut -f1; }
data_used=$(used_kib "$V/xv-01_1-flat.vmdk")
VIREO_URL="https://$A:$LAB_PORT" t_check "the guest is registered on esx-a (local-a)" \
    vireo vm register --datastore local-a xv-01/xv-01.vmx --name xv-01

t_center_cluster "$A" "$B" || { t_not_ok "the centre starts"; t_finish; exit 1; }
HA=$(capi_body GET '/api/vcenter/host?names=esx-a' | jq -r '.[0].host')
HB=$(capi_body GET '/api/vcenter/host?names=esx-b' | jq -r '.[0].host')
VM=$(capi_body GET '/api/vcenter/vm?names=xv-01' | jq -r '.[0].vm')
LA=$(capi_body GET '/api/vcenter/datastore?names=local-a' | jq -r '.[0].datastore')
LB=$(capi_body GET '/api/vcenter/datastore?names=local-b' | jq -r '.[0].datastore')
TB=$(capi_body GET '/api/vcenter/datastore?names=tiny-b' | jq -r '.[0].datastore')
t_match "hosts, VM and datastores are in the inventory" '^host-[0-9]+ host-[0-9]+ vm-[0-9]+ datastore-[0-9]+ datastore-[0-9]+ datastore-[0-9]+$' \
    "$HA $HB $VM $LA $LB $TB"

export VIREO_URL=$T_CENTER_URL VIREO_USERNAME=administrator VIREO_PASSWORD=$T_PASSWORD

tools() { capi_body GET "/api/vcenter/vm/$VM/tools"; }
tools_running() { [ "$(tools | jq -r .run_state)" = RUNNING ]; }
vm_host() { capi_body GET "/api/vcenter/vm?hosts=$1" | jq -r --arg v "$VM" '[.[] | select(.vm == $v)] | length'; }
qemus() { pgrep -f "qemu-system.*$T_STATE/$1/" | wc -l; }
one_qemu_on() { [ "$(qemus "$1")" = 1 ] && [ "$(($(qemus esx-a) + $(qemus esx-b)))" = 1 ]; }
relocate() { capi POST "/api/vcenter/vm/$VM?action=relocate${2:-}" "$1"; }
# The datastore the inventory places the VM's files on (the list's filter).
vm_ds() { local d; for d in "$LA" "$LB" "$TB"; do
    [ "$(capi_body GET "/api/vcenter/vm?datastores=$d" | jq --arg v "$VM" '[.[] | select(.vm == $v)] | length')" = 1 ] && echo "$d"; done; }

t_eq "power on through the centre" 204 "$(capi_status POST "/api/vcenter/vm/$VM/power?action=start")"
t_check "the guest agent reports (tools RUNNING)" t_wait 150 tools_running
ip=""
guest_ip() { ip=$(capi_body GET "/api/vcenter/vm/$VM/guest/identity" | jq -r '.ip_address // empty'); [ -n "$ip" ]; }
t_check "the guest has an address" t_wait 90 guest_ip
guest_ip
t_check "the guest answers pings before the move" t_wait 20 ip netns exec "$T_PREFIX-net" ping -c1 -W1 "$ip"

# --- the check ------------------------------------------------------------------
r=$(relocate "{\"placement\":{\"host\":\"$HB\"}}" "&check_only=true")
t_eq "vMotion alone: datastore-unreachable (local-a is not on esx-b)" "ERROR" \
    "$(echo "${r#* }" | jq -r '.issues[] | select(.code == "datastore-unreachable") | .severity')"
r=$(relocate "{\"placement\":{\"host\":\"$HB\",\"datastore\":\"$LB\"}}" "&check_only=true")
t_eq "host + datastore: kind VMOTION_STORAGE_VMOTION, no error" "200 VMOTION_STORAGE_VMOTION 0" \
    "${r%% *} $(echo "${r#* }" | jq -r '.kind') $(echo "${r#* }" | jq '[.issues[] | select(.severity == "ERROR")] | length')"
r=$(relocate "{\"placement\":{\"host\":\"$HB\",\"datastore\":\"$LA\"}}")
t_eq "a target datastore the destination does not mount: 400 NOT_ALLOWED_IN_CURRENT_STATE" \
    "400 NOT_ALLOWED_IN_CURRENT_STATE" "${r%% *} $(echo "${r#* }" | jq -r .error_type)"
r=$(relocate "{\"placement\":{\"host\":\"$HB\",\"datastore\":\"datastore-999\"}}")
t_eq "an unknown datastore: 404" 404 "${r%% *}"

# --- the move, with a client pinging the guest -----------------------------------
t_check "the guest's memory workload runs" t_wait 60 t_workload_runs
t_workload_clean "boot"
sleep 2
bid=$(tools | jq -r .boot_id)
up1=$(tools | jq -r .uptime_seconds)
ip netns exec "$T_PREFIX-net" ping -i 0.2 -W 1 "$ip" >"$T_STATE/ping.log" 2>&1 &
pinger=$!
sleep 2
start=$(date +%s.%N)
out=$(vireo vm migrate xv-01 --host esx-b --datastore local-b 2>"$T_STATE/migrate.err"); rc=$?
end=$(date +%s.%N)
t_eq "vireo vm migrate xv-01 --host esx-b --datastore local-b succeeds" 0 "$rc"
[ "$rc" = 0 ] || echo "# $(cat "$T_STATE/migrate.err")"
echo "# $(echo "$out" | tail -1) (CLI wall time $(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.1f", b - a}') s)"
TASK=$(capi_body GET "/api/vireo/events?object=$VM" | jq -r '[.[] | select(.type == "VmMigratedEvent")][0].task')
info=$(capi_body GET "/api/cis/tasks/$TASK")
t_eq "the task SUCCEEDED at 100%" "SUCCEEDED 100" "$(echo "$info" | jq -r '"\(.status) \(.progress.completed)"')"
echo "# perform: $(echo "$info" | jq -c '.result')"
t_eq "... its result counts the two disks copied" 2 "$(echo "$info" | jq -r .result.disks)"
t_eq "the inventory places the VM on esx-b" "1 0" "$(vm_host "$HB") $(vm_host "$HA")"
t_eq "... on datastore local-b" "$LB" "$(vm_ds)"
t_check "exactly one QEMU runs the guest, on esx-b" t_wait 15 one_qemu_on esx-b
t_check "the guest agent reports from esx-b" t_wait 30 tools_running
t_eq "the guest did not reboot (same boot id)" "$bid" "$(tools | jq -r .boot_id)"
t_workload_clean "the move to esx-b/local-b"
up2=$(tools | jq -r .uptime_seconds)
t_eq "its uptime went on" 1 "$(awk -v a="$up1" -v b="$up2" 'BEGIN {print (b > a) ? 1 : 0}')"
t_check "the guest answers pings after the move" t_wait 10 ip netns exec "$T_PREFIX-net" ping -c1 -W1 "$ip"
sleep 2
kill "$pinger" 2>/dev/null; wait "$pinger" 2>/dev/null
gap=$(grep -o 'icmp_seq=[0-9]*' "$T_STATE/ping.log" | cut -d= -f2 | awk 'NR>1 && $1-p>m {m=$1-p} {p=$1} END {print m+0}')
t_match "the pinging client's replies resumed" '^[0-9]+$' "$(grep -o 'icmp_seq=[0-9]*' "$T_STATE/ping.log" | tail -1 | cut -d= -f2)"
echo "# ping: $(grep -c icmp_seq "$T_STATE/ping.log") replies, longest gap $gap × 0.2 s"
t_eq "the source folder is gone from local-a" "no" "$([ -e "$DS/local-a/xv-01" ] && echo yes || echo no)"
N="$DS/local-b/xv-01"
t_eq "the VM's files are on local-b (.vmx, 2 disks)" "1 4" "$(ls "$N"/*.vmx | wc -l) $(ls "$N"/*.vmdk | wc -l)"
t_match "the data disk on local-b equals the source's" "identical" \
    "$(qemu-img compare -f raw -F raw "$T_STATE/data-ref.raw" "$N/xv-01_1-flat.vmdk" 2>&1)"
new_used=$(used_kib "$N/xv-01_1-flat.vmdk")
echo "# data disk: ${data_used} KiB used on local-a, ${new_used} KiB on local-b (32768 KiB capacity)"
t_eq "thin stays thin (the copy uses less than half its capacity)" 1 "$([ "$new_used" -lt 16384 ] && echo 1 || echo 0)"
t_eq "the .vmx names the disks in the new folder" 'scsi0:1.fileName = "xv-01_1.vmdk"' \
    "$(grep '^scsi0:1.fileName' "$N/xv-01.vmx")"
t_eq "a VmMigratedEvent says vMotion and Storage vMotion" 1 \
    "$(capi_body GET "/api/vireo/events?object=$VM" | jq '[.[] | select(.type == "VmMigratedEvent" and (.message | test("esx-a to esx-b with vMotion and Storage vMotion to local-b")))] | length')"

# --- back to esx-a/local-a as a task, its progress followed ----------------------
r=$(relocate "{\"placement\":{\"host\":\"$HA\",\"datastore\":\"$LA\"}}" "&vmw-task=true")
t_eq "back to esx-a/local-a: 202 with a task" 202 "${r%% *}"
TASK2=$(echo "${r#* }" | tr -d '"')
: >"$T_STATE/progress.log"
for _ in $(seq 1 600); do
    t=$(capi_body GET "/api/cis/tasks/$TASK2")
    echo "$t" | jq -r '"\(.progress.completed) \(.progress.message | if type == "object" then .default_message else . end)"' >>"$T_STATE/progress.log"
    case $(echo "$t" | jq -r .status) in SUCCEEDED | FAILED) break ;; esac
    sleep 0.2
done
echo "# progress seen: $(sort -un "$T_STATE/progress.log" | cut -c1-60 | tr '\n' '|')"
t_eq "the task SUCCEEDED" SUCCEEDED "$(capi_body GET "/api/cis/tasks/$TASK2" | jq -r .status)"
t_match "its progress showed the disk copy" "perform: (mirroring disks [0-9]+%|disks in sync)" "$(cat "$T_STATE/progress.log")"
t_eq "the VM is back on esx-a, datastore local-a" "1 $LA" "$(vm_host "$HA") $(vm_ds)"
t_check "exactly one QEMU runs the guest, on esx-a" t_wait 15 one_qemu_on esx-a
t_check "the guest agent reports from esx-a" t_wait 30 tools_running
t_eq "still the same boot" "$bid" "$(tools | jq -r .boot_id)"
t_eq "local-b holds nothing of it any more" "no" "$([ -e "$N" ] && echo yes || echo no)"
t_match "the data disk came back unchanged" "identical" \
    "$(qemu-img compare -f raw -F raw "$T_STATE/data-ref.raw" "$DS/local-a/xv-01/xv-01_1-flat.vmdk" 2>&1)"

# --- faults: the VM stays on the source, nothing left on the destination ----------
r=$(relocate "{\"placement\":{\"host\":\"$HB\",\"datastore\":\"$TB\"}}")
msg=$(echo "${r#* }" | jq -r '.messages[0].default_message')
echo "# too small: $msg"
t_match "a destination datastore too small (8 MiB tmpfs): the relocate fails" '^400$' "${r%% *}"
t_match "... during the disk copy, saying why" "No space left on device|space" "$msg"
t_match "... and that the VM still runs on esx-a" "still runs on esx-a" "$msg"
t_eq "the inventory keeps it on esx-a/local-a" "1 $LA" "$(vm_host "$HA") $(vm_ds)"
t_check "one QEMU, on esx-a" t_wait 15 one_qemu_on esx-a
t_check "the guest runs on (tools RUNNING)" t_wait 30 tools_running
t_eq "... the same boot" "$bid" "$(tools | jq -r .boot_id)"
# (.vireo-datastore: the host's own mark on each datastore)
nothing_left() { local f; f=$(find "$DS/tiny-b" -mindepth 1 ! -name .vireo-datastore); echo "$f"; [ -z "$f" ]; }
t_check "nothing is left on tiny-b" t_wait 10 nothing_left
t_eq "the source's files are intact" "identical" \
    "$(qemu-img compare -f raw -F raw "$T_STATE/data-ref.raw" "$DS/local-a/xv-01/xv-01_1-flat.vmdk" 2>&1 | grep -o identical)"

mkdir -p "$N" && echo keep >"$N/notes.txt"
r=$(relocate "{\"placement\":{\"host\":\"$HB\",\"datastore\":\"$LB\"}}")
msg=$(echo "${r#* }" | jq -r '.messages[0].default_message')
echo "# folder exists: $msg"
t_eq "a folder already on the destination: refused (400 ALREADY_EXISTS)" "400 ALREADY_EXISTS" \
    "${r%% *} $(echo "${r#* }" | jq -r .error_type)"
t_match "... at prepare on esx-b, the VM still on esx-a" "prepare on esx-b.*already exists.*still runs on esx-a" "$msg"
t_eq "the existing folder is untouched" "keep notes.txt" "$(cat "$N/notes.txt") $(ls "$N")"
t_check "one QEMU, on esx-a" t_wait 15 one_qemu_on esx-a
t_eq "... the same boot" "$bid" "$(tools | jq -r .boot_id)"
t_check "it still answers pings" t_wait 10 ip netns exec "$T_PREFIX-net" ping -c1 -W1 "$ip"
rm -rf "$N"

# --- kill -9 of the destination's hostd and QEMU mid-copy, then restarted -----------
# The copy is slowed on esx-a's vMotion interface so the kill lands inside it.
ip netns exec "$T_PREFIX-esx-a" tc qdisc replace dev vmk1 root tbf rate 24mbit burst 64kb latency 2s
r=$(relocate "{\"placement\":{\"host\":\"$HB\",\"datastore\":\"$LB\"}}" "&vmw-task=true")
TK=$(echo "${r#* }" | tr -d '"')
performing() { capi_body GET "/api/cis/tasks/$TK" | jq -r '.progress.message // ""' | grep -q '^perform'; }
t_check "kill: the copy to esx-b/local-b starts" t_wait 60 performing
lab_kill9 "$T_STATE/esx-b"
pkill -9 -f "qemu-system.*$T_STATE/esx-b/" || true
ended() { case $(capi_body GET "/api/cis/tasks/$TK" | jq -r .status) in SUCCEEDED|FAILED) return 0;; esac; return 1; }
t_check "kill: the task ends" t_wait 90 ended
t_eq "kill: ... FAILED" FAILED "$(capi_body GET "/api/cis/tasks/$TK" | jq -r .status)"
ip netns exec "$T_PREFIX-esx-a" tc qdisc del dev vmk1 root 2>/dev/null
lab_hostd_start "$T_PREFIX-esx-b" "$T_STATE/esx-b" "$T_STATE/esx-b/hostd.ini"
lab_wait_api "$B" root "$T_PASSWORD" >/dev/null
t_check "kill: after esx-b's restart, nothing of the VM is on local-b" t_wait 30 test ! -e "$N"
t_check "kill: one QEMU, on esx-a" t_wait 30 one_qemu_on esx-a
t_check "kill: the guest runs on (tools RUNNING)" t_wait 30 tools_running
t_eq "kill: ... the same boot" "$bid" "$(tools | jq -r .boot_id)"
t_eq "kill: the inventory keeps it on esx-a/local-a" "1 $LA" "$(vm_host "$HA") $(vm_ds)"

t_finish
