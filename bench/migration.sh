#!/bin/bash
# migration.sh — live migration: Vireo's vMotion (relocate through the centre,
# two hosts on a shared datastore) against a plain QEMU pre-copy migration
# with QEMU's defaults (two qemu-system-x86_64, QMP `migrate`), in one run, on
# the same guest (the template, 512 MiB, vireo-memwrite rewriting N MiB from
# boot) for each working set; prints both rows and the ratios vireo/qemu.
# Needs root, a built tree (VIREO_BUILD_ROOT) and the guest template
# (VIREO_TEMPLATE, default images/out/vireo-template).
#
#   bench/migration.sh [--sets 0,16,64,256] [--limit S] [--warmup S]
#   --limit: a migration not done after S seconds (default 120) is cancelled
#            and counted as not converged; --warmup: seconds of workload
#            before each migration (default 5).
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SETS=0,16,64,256 LIMIT=120 WARMUP=5 MEM=512
while [ $# -gt 0 ]; do
    case $1 in
        --sets) SETS=$2; shift ;;
        --limit) LIMIT=$2; shift ;;
        --warmup) WARMUP=$2; shift ;;
        -h|--help) sed -n '2,13s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
export LAB_BUILD=${VIREO_BUILD_ROOT:-$ROOT/build}
. "$ROOT/scripts/lab-lib.sh"
TEMPLATE=${VIREO_TEMPLATE:-$ROOT/images/out/vireo-template}
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 1; }
[ -f "$TEMPLATE/vireo-template.vmx" ] || { echo "build the template first (images/build-template.sh)" >&2; exit 1; }
grep -q workload_mib "$ROOT/images/rootfs/etc/init.d/rcS" || { echo "the template's init has no workload hook" >&2; exit 1; }
for b in "$LAB_BUILD/src/center/vireo-centerd" "$LAB_BUILD/src/host/vireo-hostd"; do
    [ -x "$b" ] || { echo "$b is not built (ninja -C $LAB_BUILD)" >&2; exit 1; }
done
command -v socat >/dev/null || apt-get install -y -qq socat >/dev/null

P=mg$((RANDOM % 100)) N=$((100 + (RANDOM % 70) * 2))
STATE=$(mktemp -d /tmp/vireo-bench.XXXXXX)
PASSWORD=bench-$RANDOM-$RANDOM
# Processes started here (QEMUs, loggers, pollers), also from the $(...)
# subshells the runs are measured in: killed on exit.
track() { echo "$1" >>"$STATE/pids"; }
cleanup() {
    local p
    for p in $(cat "$STATE/pids" 2>/dev/null); do kill "$p" 2>/dev/null; done
    lab_down "$P" "$STATE" esx-a esx-b center >/dev/null 2>&1
    if [ -n "${VIREO_BENCH_KEEP:-}" ]; then echo "state kept in $STATE"; else rm -rf "$STATE"; fi
}
trap cleanup EXIT
log() { echo "# $*" >&2; }

# The guest: the template with 512 MiB and the workload asked for through
# its customization (the .vmx's guestinfo.vireo.customization, which hostd
# hands to QEMU as fw_cfg opt/org.vireo/customization; see
# docs/guest-template.md).
make_guest() {   # DST NAME MIB
    lab_copy_vm "$TEMPLATE" "$1" "$2"
    sed -i "s/^memSize = .*/memSize = \"$MEM\"/" "$1/$2.vmx"
    echo "guestinfo.vireo.customization = \"{|22workload_mib|22:$3}\"" >>"$1/$2.vmx"
}

# Heartbeat arrival times: "EPOCH uptime_ms mib passes errors", one a line.
hb_fields() {
    jq -rR --unbuffered 'fromjson? | select(.type == "heartbeat") |
        "\(.uptime_ms) \(.workload.mib // 0) \(.workload.passes // 0) \(.workload.errors // 0)"'
}
stamp() { while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done; }
# The longest interval between distinct heartbeats (by guest uptime) seen on
# any of the files, from FROM on.
max_gap() {   # FROM FILES...
    local from=$1; shift
    cat "$@" | sort -n -k1,1 | awk -v f="$from" '$1 >= f && !seen[$2]++ {
        if (n++ && $1 - p > m) m = $1 - p; p = $1 } END { if (n < 2) print "-"; else printf "%.2f", m }'
}
# Workload running with at least one full pass in FILE (or no workload asked).
workload_ready() { [ "$2" = 0 ] && [ -s "$1" ] || awk -v m="$2" '$3 == m && $4 >= 1 {ok=1} END {exit !ok}' "$1"; }
wait_for() { local _; for _ in $(seq 1 "$1"); do "${@:2}" && return 0; sleep 0.5; done; return 1; }

# --- plain QEMU ---------------------------------------------------------------
qemu_args() {   # DIR NAME — the guest as a plain QEMU; the same devices hostd gives it, minus the NIC
    echo -nodefaults -no-user-config -machine q35 -accel tcg,tb-size=256 -cpu qemu64 -m "$MEM" \
        -display none -device pvscsi,id=scsi0 \
        -blockdev "{\"driver\":\"file\",\"filename\":\"$1/disk.raw\",\"node-name\":\"f0\"}" \
        -blockdev '{"driver":"raw","file":"f0","node-name":"d0"}' \
        -device scsi-hd,bus=scsi0.0,drive=d0,bootindex=1 \
        -fw_cfg "name=opt/org.vireo/customization,file=$1/cust.json" \
        -device virtio-serial-pci -chardev "socket,id=t,path=$1/$2.agent,server=on,wait=off" \
        -device virtserialport,chardev=t,name=org.vireo.tools.0 \
        -qmp "unix:$1/$2.qmp,server=on,wait=off" -serial "file:$1/$2.serial"
}
# One QMP command on a fresh connection; prints the "return" or "error" line.
qmp() {   # SOCKET JSON
    { echo '{"execute":"qmp_capabilities"}'; echo "$2"; sleep 0.3; } |
        socat - "UNIX-CONNECT:$1" | grep -E '"(return|error)"' | tail -1
}
dst_running() { [ "$(qmp "$1/dst.qmp" '{"execute":"query-status"}' | jq -r .return.status)" = running ]; }
# Logs the heartbeats of an agent port (appending); OUT.socat has socat's pid.
agent_log() {   # SOCKET OUT
    ( socat -u "UNIX-CONNECT:$1" - 2>/dev/null & echo $! >"$2.socat"; wait ) | hb_fields | stamp >>"$2" &
    track $!
    sleep 0.2
    track "$(cat "$2.socat")"
}
plain_run() {   # MIB → prints "total_ms downtime_ms transferred ram converged gap errors"
    local mib=$1 d="$STATE/plain-$1" port=$((20000 + RANDOM % 20000)) src dst t0 st info conv=0
    mkdir -p "$d"
    : >"$d/src.hb"; : >"$d/dst.hb"
    cp --sparse=always "$TEMPLATE/vireo-template-flat.vmdk" "$d/disk.raw"
    echo "{\"workload_mib\":$mib}" >"$d/cust.json"
    # shellcheck disable=SC2046
    setsid qemu-system-x86_64 $(qemu_args "$d" src) >"$d/src.log" 2>&1 & src=$!
    track "$src"
    wait_for 40 test -S "$d/src.agent" || { log "plain: QEMU did not start"; return 1; }
    agent_log "$d/src.agent" "$d/src.hb"
    wait_for 300 workload_ready "$d/src.hb" "$mib" || { log "plain: no heartbeat with the workload"; return 1; }
    sleep "$WARMUP"
    # shellcheck disable=SC2046
    setsid qemu-system-x86_64 $(qemu_args "$d" dst) -incoming "tcp:127.0.0.1:$port" >"$d/dst.log" 2>&1 & dst=$!
    track "$dst"
    wait_for 40 test -S "$d/dst.agent" || { log "plain: destination QEMU did not start"; return 1; }
    sleep 1
    qmp "$d/src.qmp" '{"execute":"query-migrate-parameters"}' |
        jq -r '.return | "# plain QEMU defaults: downtime-limit \(.["downtime-limit"]) ms, max-bandwidth \(.["max-bandwidth"] / 1048576) MiB/s"' >&2
    t0=$EPOCHREALTIME
    qmp "$d/src.qmp" "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"tcp:127.0.0.1:$port\"}}" >"$d/migrate.out"
    for _ in $(seq 1 $((LIMIT * 2))); do
        info=$(qmp "$d/src.qmp" '{"execute":"query-migrate"}')
        st=$(echo "$info" | jq -r '.return.status // "error"')
        case $st in completed) conv=1; break ;; failed|error|cancelled) break ;; esac
        sleep 0.2
        awk -v a="$t0" -v b="$EPOCHREALTIME" -v l="$LIMIT" 'BEGIN {exit !(b - a > l)}' && break
    done
    if [ "$conv" = 0 ]; then
        echo "$info" >"$d/last-query.json"
        qmp "$d/src.qmp" '{"execute":"migrate_cancel"}' >/dev/null
        sleep 2
    else
        # The destination's agent port is opened once the guest runs there,
        # as hostd does at finish (a client connected during the incoming
        # migration was not always seen by the guest).
        wait_for 20 dst_running "$d"
        agent_log "$d/dst.agent" "$d/dst.hb"
        if ! wait_for 6 test -s "$d/dst.hb"; then
            log "plain: no heartbeat on the destination's agent port after 3 s; connecting again"
            kill "$(cat "$d/dst.hb.socat")" 2>/dev/null
            agent_log "$d/dst.agent" "$d/dst.hb"
        fi
        sleep 4
    fi
    touch "$d/dst.hb"
    echo "$info" >"$d/query-migrate.json"
    local errs gap
    gap=$(max_gap "$t0" "$d/src.hb" "$d/dst.hb")
    errs=$(cat "$d/src.hb" "$d/dst.hb" | sort -n | tail -1 | awk '{print $5}')
    echo "$info" | jq -r --arg c "$conv" --arg g "$gap" --arg e "${errs:-?}" \
        '"\(.return["total-time"] // "-") \(.return.downtime // "-") \(.return.ram.transferred // "-") \(.return.ram.total // "-") \($c) \($g) \($e)"'
    kill "$src" "$dst" 2>/dev/null; wait "$src" "$dst" 2>/dev/null
    return 0
}

# --- Vireo --------------------------------------------------------------------
DS="$STATE/datastores"
mkdir -p "$DS/shared" "$DS/local-a" "$DS/local-b"
log "lab: prefix $P, subnet 10.$N.0.0, state $STATE"
lab_net_up "$P" "$N" "$STATE" >/dev/null
lab_host_up "$P" "$N" 1 esx-a "$STATE" "$PASSWORD" "local-a=$DS/local-a" "shared=$DS/shared" >/dev/null || exit 1
lab_host_up "$P" "$N" 2 esx-b "$STATE" "$PASSWORD" "local-b=$DS/local-b" "shared=$DS/shared" >/dev/null || exit 1
A_URL="https://$(lab_host_addr "$N" 1):$LAB_PORT" B_URL="https://$(lab_host_addr "$N" 2):$LAB_PORT"
A_TOK=$(curl -sk -X POST -u "root:$PASSWORD" "$A_URL/api/session" | tr -d '"')
B_TOK=$(curl -sk -X POST -u "root:$PASSWORD" "$B_URL/api/session" | tr -d '"')
hcall() {   # URL METHOD TOKEN PATH [JSON]
    local a=(-sk -m 5 -X "$2" -H "vmware-api-session-id: $3" -H 'Content-Type: application/json')
    [ -n "${5:-}" ] && a+=(--data "$5")
    curl "${a[@]}" "$1$4"
}
IFS=, read -ra SET_LIST <<<"$SETS"
for mib in "${SET_LIST[@]}"; do   # registered before the centre starts: it imports them
    make_guest "$DS/shared/mig-$mib" "mig-$mib" "$mib"
    hcall "$A_URL" POST "$A_TOK" '/api/vcenter/vm?action=register' \
        "{\"datastore\":\"shared\",\"path\":\"mig-$mib/mig-$mib.vmx\",\"name\":\"mig-$mib\"}" >/dev/null
done
export LAB_CENTER_STATE=$STATE LAB_CENTER_PASSWORD=$PASSWORD
LAB_CENTER_URL="https://$(lab_center_addr "$N"):$LAB_PORT"
export LAB_CENTER_URL
lab_center_up "$N" "$STATE" "$PASSWORD" >/dev/null || exit 1
DC=$(lab_center_api POST /api/vcenter/datacenter '{"name":"dc1"}' | tr -d '"')
HF=$(lab_center_api GET "/api/vcenter/datacenter/$DC" | jq -r .host_folder)
CL=$(lab_center_api POST /api/vcenter/cluster "{\"name\":\"bench\",\"folder\":\"$HF\"}" | tr -d '"')
lab_center_add_host "$CL" "$(lab_host_addr "$N" 1)" "$PASSWORD" >/dev/null 2>&1 || exit 1
lab_center_add_host "$CL" "$(lab_host_addr "$N" 2)" "$PASSWORD" >/dev/null 2>&1 || exit 1
HB=$(lab_center_api GET '/api/vcenter/host?names=esx-b' | jq -r '.[0].host')

# Polls both hosts' view of the guest agent (the centre's link to the source
# is busy during perform): "EPOCH uptime_ms mib passes errors" on each change.
poll_tools() {   # NAME OUT
    local ida idb url tok id
    ida=$(hcall "$A_URL" GET "$A_TOK" "/api/vcenter/vm?names=$1" | jq -r '.[0].vm // empty')
    while :; do
        [ -n "${idb:-}" ] || idb=$(hcall "$B_URL" GET "$B_TOK" "/api/vcenter/vm?names=$1" | jq -r '.[0].vm // empty' 2>/dev/null)
        for url in "$A_URL $A_TOK $ida" "$B_URL $B_TOK ${idb:-}"; do
            read -r url tok id <<<"$url"
            [ -n "$id" ] || continue
            hcall "$url" GET "$tok" "/api/vcenter/vm/$id/tools" | jq -r 'select(.uptime_seconds) |
                "\(.uptime_seconds * 1000 | round) \(.workload.mib // 0) \(.workload.passes // 0) \(.workload.errors // 0)"' 2>/dev/null |
                stamp
        done
        sleep 0.1
    done >>"$2"
}
task_status() { lab_center_api GET "/api/cis/tasks/$1" | jq -r .status; }
task_ended() { [ "$(task_status "$1")" != RUNNING ]; }
vireo_run() {   # MIB → the same fields as plain_run
    local mib=$1 d="$STATE/vireo-$1" vm task info st poller t0 conv=0 gap errs
    mkdir -p "$d"
    : >"$d/tools.hb"
    vm=$(lab_center_api GET "/api/vcenter/vm?names=mig-$mib" | jq -r '.[0].vm')
    lab_center_api POST "/api/vcenter/vm/$vm/power?action=start" >/dev/null || { log "vireo: power on failed"; return 1; }
    poll_tools "mig-$mib" "$d/tools.hb" & poller=$!; track "$poller"
    wait_for 300 workload_ready "$d/tools.hb" "$mib" || { log "vireo: no heartbeat with the workload"; return 1; }
    sleep "$WARMUP"
    t0=$EPOCHREALTIME
    task=$(lab_center_api POST "/api/vcenter/vm/$vm?action=relocate&vmw-task=true" \
        "{\"placement\":{\"host\":\"$HB\"}}" | tr -d '"')
    for _ in $(seq 1 $((LIMIT * 4))); do
        info=$(lab_center_api GET "/api/cis/tasks/$task")
        st=$(echo "$info" | jq -r .status)
        case $st in SUCCEEDED) conv=1; break ;; FAILED) break ;; esac
        sleep 0.25
        awk -v a="$t0" -v b="$EPOCHREALTIME" -v l="$LIMIT" 'BEGIN {exit !(b - a > l)}' && break
    done
    if [ "$conv" = 0 ] && [ "$st" != FAILED ]; then
        # No task cancel yet: cancel the copy on the source host; the centre then fails the task.
        hcall "$A_URL" POST "$A_TOK" '/api/vireo/migration?action=cancel' "{\"migration\":\"$task\"}" >/dev/null
        wait_for 240 task_ended "$task"
        info=$(lab_center_api GET "/api/cis/tasks/$task")
    else
        sleep 4
    fi
    echo "$info" >"$d/task.json"
    kill "$poller" 2>/dev/null; wait "$poller" 2>/dev/null
    gap=$(max_gap "$t0" "$d/tools.hb")
    errs=$(sort -n "$d/tools.hb" | tail -1 | awk '{print $5}')
    lab_center_api POST "/api/vcenter/vm/$vm/power?action=stop" >/dev/null
    echo "$info" | jq -r --arg c "$conv" --arg g "$gap" --arg e "${errs:-?}" \
        '"\(.result.total_time_ms // "-") \(.result.downtime_ms // "-") \(.result.transferred_bytes // "-") \(.result.ram_bytes // "-") \($c) \($g) \($e)"'
}

# --- the table ----------------------------------------------------------------
row() {   # LABEL total down xfer ram conv gap errs
    awk -v l="$1" -v t="$2" -v d="$3" -v x="$4" -v r="$5" -v c="$6" -v g="$7" -v e="$8" 'BEGIN {
        printf "  %-6s %9s %9s %9s %7s %5s %6s %6s\n", l, (t == "-" ? "-" : sprintf("%.2f", t / 1000)), d,
            (x == "-" ? "-" : sprintf("%.0f", x / 1048576)), (x == "-" || r == "-" ? "-" : sprintf("%.2f", x / r)),
            (c == 1 ? "yes" : "NO"), g, e }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) printf "%9s", "-"; else printf "%9.2f", a / b }'; }
echo "guest: template, $MEM MiB, vireo-memwrite on N MiB from boot; limit $LIMIT s; QEMU: $(qemu-system-x86_64 --version | head -1)"
echo "plain QEMU: QMP migrate with QEMU's defaults; Vireo: relocate through the centre (downtime budget 500 ms)"
rc=0
for mib in "${SET_LIST[@]}"; do
    log "working set $mib MiB: plain QEMU"
    q=$(plain_run "$mib") || { q="- - - - 0 - ?"; rc=1; }
    log "working set $mib MiB: Vireo"
    v=$(vireo_run "$mib") || { v="- - - - 0 - ?"; rc=1; }
    read -r qt qd qx qr qc qg qe <<<"$q"
    read -r vt vd vx vr vc vg ve <<<"$v"
    echo
    echo "working set $mib MiB"
    printf '  %-6s %9s %9s %9s %7s %5s %6s %6s\n' "" "total s" "down ms" "sent MiB" "sent/ram" "conv" "gap s" "errors"
    row qemu "$qt" "$qd" "$qx" "$qr" "$qc" "$qg" "$qe"
    row vireo "$vt" "$vd" "$vx" "$vr" "$vc" "$vg" "$ve"
    printf '  %-6s %9s %9s %9s %7s %5s %6s\n' "v/q" "$(ratio "$vt" "$qt")" "$(ratio "$vd" "$qd")" "$(ratio "$vx" "$qx")" \
        "" "" "$(ratio "$vg" "$qg")"
done
echo
echo "total: start of the migration to its end as QEMU / the task reports it; down: downtime as QEMU reports it;"
echo "sent/ram: bytes sent / guest RAM (QEMU's ram.total); gap: longest interval between guest heartbeats seen by the"
echo "host side from the start (1 s when nothing is lost; Vireo's are polled from the hosts' API every ~0.2 s);"
echo "errors: pages the workload found torn or lost after the move. Ratios vireo/qemu, lower is better."
exit $rc
