#!/bin/bash
# api.sh — benchmarks of vireo-centerd's API in a private lab (one host,
# one centre), each against a baseline measured in the same run:
#   1. GET /api/vcenter/vm with --vms VMs in the inventory (seeded straight
#      into a fresh database before the centre starts) against the same
#      query on the SQLite file (sqlite3 + json-glib in-process);
#   2. create / power on / power off / delete at each concurrency level,
#      through the centre against the same requests straight to the host.
# Needs root and a built tree (VIREO_BUILD_ROOT, default build/); builds nothing.
#
#   bench/api.sh [--vms N] [--reps N] [--budget S] [--count N] [--levels 1,8,32]
#                [--only list|ops] [--perf]
#   --perf: records vireo-centerd with perf(1) during part 1 and prints the top.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VMS=10000 REPS=20 BUDGET=300 COUNT=32 LEVELS=1,8,32 ONLY="" PERF=""
while [ $# -gt 0 ]; do
    case $1 in
        --vms) VMS=$2; shift ;;
        --reps) REPS=$2; shift ;;
        --budget) BUDGET=$2; shift ;;
        --count) COUNT=$2; shift ;;
        --levels) LEVELS=$2; shift ;;
        --only) ONLY=$2; shift ;;
        --perf) PERF=1 ;;
        -h|--help) sed -n '2,13s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
export LAB_BUILD=${VIREO_BUILD_ROOT:-$ROOT/build}
. "$ROOT/scripts/lab-lib.sh"
BENCH=$LAB_BUILD/bench/vireo-api-bench
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 1; }
for b in "$BENCH" "$LAB_BUILD/src/center/vireo-centerd" "$LAB_BUILD/src/host/vireo-hostd"; do
    [ -x "$b" ] || { echo "$b is not built (ninja -C $LAB_BUILD)" >&2; exit 1; }
done

# A prefix and subnet of our own, so the demo lab and the tests are never met.
P=ab$((RANDOM % 100)) N=$((100 + (RANDOM % 70) * 2))
STATE=$(mktemp -d /tmp/vireo-bench.XXXXXX)
PASSWORD=bench-$RANDOM-$RANDOM
cleanup() {
    lab_down "$P" "$STATE" esx-a center >/dev/null 2>&1
    if [ -n "${VIREO_BENCH_KEEP:-}" ]; then echo "state kept in $STATE"; else rm -rf "$STATE"; fi
}
trap cleanup EXIT
export LAB_CENTER_STATE=$STATE LAB_CENTER_PASSWORD=$PASSWORD
export LAB_CENTER_URL="https://$(lab_center_addr "$N"):$LAB_PORT"
HOST_ADDR=$(lab_host_addr "$N" 1)
HOST_URL="https://$HOST_ADDR:$LAB_PORT"

echo "lab: prefix $P, subnet 10.$N.0.0, state $STATE"
lab_net_up "$P" "$N" "$STATE" >/dev/null
lab_host_up "$P" "$N" 1 esx-a "$STATE" "$PASSWORD" "ds=$STATE/ds" >/dev/null || exit 1
# The inventory is seeded before the centre first opens it (lab_center_up
# puts the centre's state in $STATE/center/state).
mkdir -p "$STATE/center/state"
DB=$STATE/center/state/inventory.db
"$BENCH" seed "$DB" "$VMS" || exit 1
lab_center_up "$N" "$STATE" "$PASSWORD" || exit 1
CPID=$(cat "$STATE/center/hostd.pid")

DC=$(lab_center_api GET '/api/vcenter/datacenter?names=dc-bench' | jq -r '.[0].datacenter')
HF=$(lab_center_api GET "/api/vcenter/datacenter/$DC" | jq -r .host_folder)
VF=$(lab_center_api GET "/api/vcenter/datacenter/$DC" | jq -r .vm_folder)
CL=$(lab_center_api POST /api/vcenter/cluster "{\"name\":\"bench\",\"folder\":\"$HF\"}" | tr -d '"')
lab_center_add_host "$CL" "$HOST_ADDR" "$PASSWORD" >/dev/null 2>&1 || { echo "adding the host failed" >&2; exit 1; }
HID=$(lab_center_api GET '/api/vcenter/host?names=esx-a' | jq -r '.[0].host')
DSID=$(lab_center_api GET '/api/vcenter/datastore?names=ds' | jq -r '.[0].datastore')
echo "centre: $LAB_CENTER_URL (pid $CPID), host esx-a = $HID, datastore ds = $DSID, VM folder $VF"

rc=0
if [ "$ONLY" != ops ]; then
    if [ -n "$PERF" ]; then
        perf record -F 499 --call-graph dwarf,16384 -o "$STATE/perf.data" -p "$CPID" >/dev/null 2>&1 &
        PERFPID=$!
    fi
    "$BENCH" list --center "$LAB_CENTER_URL" --center-password "$PASSWORD" --db "$DB" \
        --vms "$VMS" --reps "$REPS" --budget "$BUDGET" || rc=1
    if [ -n "$PERF" ]; then
        kill -INT "$PERFPID"; wait "$PERFPID" 2>/dev/null
        echo; echo "perf: where vireo-centerd spent its time during part 1 (with callees, top 40)"
        perf report -i "$STATE/perf.data" --children --sort symbol -g none --stdio 2>/dev/null |
            grep -E '^ +[0-9]' | head -40
    fi
fi
if [ "$ONLY" != list ]; then
    "$BENCH" ops --center "$LAB_CENTER_URL" --center-password "$PASSWORD" \
        --host "$HOST_URL" --host-password "$PASSWORD" --host-datastore ds \
        --center-host "$HID" --center-datastore "$DSID" --center-folder "$VF" \
        --count "$COUNT" --levels "$LEVELS" || rc=1
    # Every VM of the run was stopped and deleted: no QEMU may be left.
    left=$(ip netns pids "$P-esx-a" 2>/dev/null | xargs -r ps -o comm= -p | grep -c qemu)
    [ "$left" = 0 ] || { echo "FAILED: $left QEMU process(es) left running on esx-a" >&2; rc=1; }
    vms_left=$(curl -sk -H "vmware-api-session-id: $(curl -sk -X POST -u "root:$PASSWORD" "$HOST_URL/api/session" | tr -d '"')" \
        "$HOST_URL/api/vcenter/vm" | jq length)
    [ "$vms_left" = 0 ] || { echo "FAILED: $vms_left VM(s) left on esx-a" >&2; rc=1; }
fi
exit $rc
