#!/bin/bash
# boot-heartbeat.sh — power-on to first guest heartbeat: Vireo (API power-on
# to the host seeing vireo-tools' first heartbeat) against plain
# qemu-system-x86_64 booting the same disk to the same point (process start
# to the first heartbeat line on the agent's socket). Both run in this one
# run, alternately, so the machine's noise hits both; prints medians and
# the ratio Vireo / QEMU. Needs root and a built tree + guest template.
#
#   bench/boot-heartbeat.sh [--runs N]     (default 3)
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=3
case ${1:-} in
    --runs) RUNS=$2 ;;
    -h|--help) sed -n '2,9s/^# \{0,1\}//p' "$0"; exit 0 ;;
esac
export LAB_BUILD=${VIREO_BUILD_ROOT:-$ROOT/build}
. "$ROOT/scripts/lab-lib.sh"
TEMPLATE=$ROOT/images/out/vireo-template
[ -f "$TEMPLATE/vireo-template.vmx" ] || { echo "build the template first (scripts/run-tests or images/build-template.sh)" >&2; exit 1; }

P=bh$((RANDOM % 100)) N=$((100 + (RANDOM % 70) * 2))
STATE=$(mktemp -d /tmp/vireo-bench.XXXXXX)
PASSWORD=bench-$RANDOM
trap 'lab_down "$P" "$STATE" esx-a >/dev/null 2>&1; rm -rf "$STATE"' EXIT

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# --- plain QEMU ---------------------------------------------------------------
mkdir -p "$STATE/plain"
cp --sparse=always "$TEMPLATE/vireo-template-flat.vmdk" "$STATE/plain/disk.raw"
plain_once() {
    local sock="$STATE/plain/agent.sock" t0 t1 pid
    rm -f "$sock"
    t0=$(now)
    qemu-system-x86_64 -nodefaults -no-user-config -machine q35 -accel tcg,tb-size=256 -cpu qemu64 \
        -m 256 -display none -device pvscsi,id=scsi0 \
        -blockdev '{"driver":"file","filename":"'"$STATE/plain/disk.raw"'","node-name":"f0"}' \
        -blockdev '{"driver":"raw","file":"f0","node-name":"d0"}' \
        -device scsi-hd,bus=scsi0.0,drive=d0,bootindex=1 \
        -device virtio-serial-pci -chardev socket,id=t,path="$sock",server=on,wait=off \
        -device virtserialport,chardev=t,name=org.vireo.tools.0 &
    pid=$!
    while [ ! -S "$sock" ]; do sleep 0.01; done
    timeout 120 socat -u "UNIX-CONNECT:$sock" - | grep -m1 -q '"heartbeat"'
    t1=$(now)
    kill "$pid"; wait "$pid" 2>/dev/null
    echo "$t1 - $t0" | bc -l
}

# --- Vireo --------------------------------------------------------------------
lab_net_up "$P" "$N" "$STATE" >/dev/null
lab_host_up "$P" "$N" 1 esx-a "$STATE" "$PASSWORD" "ds=$STATE/ds" >/dev/null || exit 1
URL="https://$(lab_host_addr "$N" 1):$LAB_PORT"
lab_copy_vm "$TEMPLATE" "$STATE/ds/bench" bench
TOKEN=$(curl -sk -X POST -u "root:$PASSWORD" "$URL/api/session" | tr -d '"')
call() { curl -sk -X "$1" -H "vmware-api-session-id: $TOKEN" "$URL$2"; }
VM=$(curl -sk -X POST -H "vmware-api-session-id: $TOKEN" -H 'Content-Type: application/json' \
    --data '{"datastore":"ds","path":"bench/bench.vmx"}' "$URL/api/vcenter/vm?action=register" | tr -d '"')
vireo_once() {
    local t0 t1 i
    t0=$(now)
    call POST "/api/vcenter/vm/$VM/power?action=start" >/dev/null
    for i in $(seq 1 2400); do
        [ "$(call GET "/api/vcenter/vm/$VM/tools" | jq -r .heartbeats)" -ge 1 ] 2>/dev/null && break
        sleep 0.05
    done
    t1=$(now)
    call POST "/api/vcenter/vm/$VM/power?action=stop" >/dev/null
    echo "$t1 - $t0" | bc -l
}

command -v bc >/dev/null || apt-get install -y -qq bc >/dev/null
: >"$STATE/plain.times"; : >"$STATE/vireo.times"
for r in $(seq 1 "$RUNS"); do
    plain_once >>"$STATE/plain.times"
    vireo_once >>"$STATE/vireo.times"
    printf 'run %d: qemu %.2f s, vireo %.2f s\n' "$r" "$(tail -1 "$STATE/plain.times")" "$(tail -1 "$STATE/vireo.times")"
done
q=$(median <"$STATE/plain.times")
v=$(median <"$STATE/vireo.times")
printf 'power-on to first heartbeat (median of %d): qemu %.2f s, vireo %.2f s, ratio vireo/qemu %.3f\n' \
    "$RUNS" "$q" "$v" "$(echo "$v / $q" | bc -l)"
