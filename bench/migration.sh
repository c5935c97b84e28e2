#!/bin/bash
# migration.sh — live migration: Vireo's vMotion (relocate through the centre,
# two hosts on a shared datastore) against a plain QEMU pre-copy migration
# with QEMU's defaults (two qemu-system-x86_64, QMP `migrate`), in one run, on
# the same guest (the template, 512 MiB, vireo-memwrite rewriting N MiB from
# boot) for each working set; prints both rows and the ratios vireo/qemu.
# Then Storage vMotion of a running VM's 1 GiB disk holding 256 MiB (host API
# relocate with placement.datastore) against qemu-img convert of that disk.
# Needs root, a built tree (VIREO_BUILD_ROOT) and the guest template
# (VIREO_TEMPLATE, default images/out/vireo-template).
#
#   bench/migration.sh [--sets 0,16,64,256] [--limit S] [--warmup S] [--svmotion-reps N]
#   --limit: a migration not done after S seconds (default 120) is cancelled
#            and counted as not converged (Vireo: its policy's time limit);
#            --warmup: seconds of workload before each migration (default 5);
#            --svmotion-reps: Storage vMotions each way (default 3, 0: none).
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SETS=0,16,64,256 LIMIT=120 WARMUP=5 MEM=512 SVREPS=3
while [ $# -gt 0 ]; do
    case $1 in
        --sets) SETS=$2; shift ;;
        --limit) LIMIT=$2; shift ;;
        --warmup) WARMUP=$2; shift ;;
        --svmotion-reps) SVREPS=$2; shift ;;
        -h|--help) sed -n '2,18s/^# \{0,1\}//p' "$0"; exit 0 ;;
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
# The RAM size is hostd's for a TCG guest: 4 KiB more than asked, or QEMU 7.2
# loses guest writes during the migration (src/common/qemu-argv.c).
qemu_args() {   # DIR NAME — the guest as a plain QEMU; the same devices hostd gives it, minus the NIC
    echo -nodefaults -no-user-config -machine q35 -accel tcg,tb-size=256 -cpu qemu64 -m "$((MEM * 1024 + 4))k" \
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
plain_run() {   # MIB → prints "total_ms downtime_ms transferred ram converged gap errors throttle passes"
    local mib=$1 d="$STATE/plain-$1" port=$((20000 + RANDOM % 20000)) src dst t0 st info last="" conv=0
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
        # An answer lost to a busy machine (empty) is asked again.
        info=$(qmp "$d/src.qmp" '{"execute":"query-migrate"}' || true)
        [ -n "$info" ] || { info=$last; sleep 0.2; continue; }
        last=$info
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
        '"\(.return["total-time"] // "-") \(.return.downtime // "-") \(.return.ram.transferred // "-") \(.return.ram.total // "-") \($c) \($g) \($e) \(.return["cpu-throttle-percentage"] // 0) \(.return.ram["dirty-sync-count"] // "-")"'
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
    # Vireo's default policy; its time limit is the bench's --limit.
    task=$(lab_center_api POST "/api/vcenter/vm/$vm?action=relocate&vmw-task=true" \
        "{\"placement\":{\"host\":\"$HB\"},\"vireo_migration\":{\"time_limit_seconds\":$LIMIT}}" | tr -d '"')
    for _ in $(seq 1 $(((LIMIT + 30) * 4))); do
        info=$(lab_center_api GET "/api/cis/tasks/$task")
        st=$(echo "$info" | jq -r .status)
        case $st in SUCCEEDED) conv=1; break ;; FAILED) break ;; esac
        sleep 0.25
        awk -v a="$t0" -v b="$EPOCHREALTIME" -v l="$((LIMIT + 30))" 'BEGIN {exit !(b - a > l)}' && break
    done
    if [ "$conv" = 0 ] && [ "$st" != FAILED ]; then
        # The time limit did not end it: cancel the copy on the source host; the centre then fails the task.
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
    [ "$conv" = 1 ] || echo "$info" | jq -r '"# vireo: \(.error.messages[0].default_message // .status)"' >&2
    echo "$info" | jq -r --arg c "$conv" --arg g "$gap" --arg e "${errs:-?}" \
        '"\(.result.total_time_ms // "-") \(.result.downtime_ms // "-") \(.result.transferred_bytes // "-") \(.result.ram_bytes // "-") \($c) \($g) \($e) \(.result.max_throttle_pct // "-") \(.result.dirty_sync_count // "-")"'
}

# --- Storage vMotion against qemu-img convert -----------------------------------
# A VM on esx-a with one thin 1 GiB disk holding 256 MiB of random data
# (written into its flat file before power-on; the VM sits in its BIOS, the
# copy does not need a guest) moves local-a → shared → local-a … through
# hostd's relocate; each move is timed from the request to its 204, and
# alternates with `qemu-img convert -O raw` of the same flat file to the same
# destination datastore (thin, as the move's target).
svmotion_bench() {
    [ "$SVREPS" -gt 0 ] || return 0
    local vm flat dir to t0 t1 i code vt=() ct=()
    log "Storage vMotion: 1 GiB disk, 256 MiB of data, $SVREPS moves each way"
    vm=$(hcall "$A_URL" POST "$A_TOK" /api/vcenter/vm \
        '{"name":"svm-bench","placement":{"datastore":"local-a"},"memory":{"size_MiB":64},"disks":[{"new_vmdk":{"capacity":1073741824}}]}' | tr -d '"')
    flat=$(find "$DS/local-a/svm-bench" -name '*-flat.vmdk' | head -1)
    [ -n "$flat" ] || { log "svmotion: the VM's disk was not created"; return 1; }
    dd if=/dev/urandom of="$flat" bs=1M count=256 conv=notrunc status=none
    hcall "$A_URL" POST "$A_TOK" "/api/vcenter/vm/$vm/power?action=start" >/dev/null
    sleep 2
    for i in $(seq 1 $((SVREPS * 2))); do
        if [ $((i % 2)) = 1 ]; then to=shared; else to=local-a; fi
        t0=$EPOCHREALTIME
        code=$(curl -sk -m 300 -o "$STATE/svmotion.out" -w '%{http_code}' -X POST -H "vmware-api-session-id: $A_TOK" \
            -H 'Content-Type: application/json' --data "{\"placement\":{\"datastore\":\"$to\"}}" \
            "$A_URL/api/vcenter/vm/$vm?action=relocate")
        t1=$EPOCHREALTIME
        [ "$code" = 204 ] || { log "svmotion to $to: $code $(cat "$STATE/svmotion.out")"; return 1; }
        vt+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')")
        flat=$(find "$DS/$to/svm-bench" -name '*-flat.vmdk' | head -1)
        dir="$DS/$(if [ "$to" = shared ]; then echo local-a; else echo shared; fi)/svm-bench-convert"
        mkdir -p "$dir"; rm -f "$dir/disk.raw"; sync
        t0=$EPOCHREALTIME
        qemu-img convert -U -f raw -O raw "$flat" "$dir/disk.raw"
        sync -f "$dir/disk.raw"
        t1=$EPOCHREALTIME
        ct+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')")
    done
    hcall "$A_URL" POST "$A_TOK" "/api/vcenter/vm/$vm/power?action=stop" >/dev/null
    local vm_med cv_med
    vm_med=$(printf '%s\n' "${vt[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}')
    cv_med=$(printf '%s\n' "${ct[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}')
    echo
    echo "Storage vMotion of a running VM's 1 GiB thin disk holding 256 MiB (local-a <-> shared, one file system)"
    echo "  vireo relocate (request to 204), s:  ${vt[*]}   median $vm_med"
    echo "  qemu-img convert + sync, s:          ${ct[*]}   median $cv_med"
    echo "  ratio vireo/convert (median): $(awk -v a="$vm_med" -v b="$cv_med" 'BEGIN {printf "%.2f", a / b}') (lower is better)"
}

# --- the table ----------------------------------------------------------------
row() {   # LABEL total down xfer ram conv gap errs throttle passes
    awk -v l="$1" -v t="$2" -v d="$3" -v x="$4" -v r="$5" -v c="$6" -v g="$7" -v e="$8" -v h="$9" -v p="${10}" 'BEGIN {
        printf "  %-6s %9s %9s %9s %7s %5s %6s %6s %5s %6s\n", l, (t == "-" ? "-" : sprintf("%.2f", t / 1000)), d,
            (x == "-" ? "-" : sprintf("%.0f", x / 1048576)), (x == "-" || r == "-" ? "-" : sprintf("%.2f", x / r)),
            (c == 1 ? "yes" : "NO"), g, e, h, p }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) printf "%9s", "-"; else printf "%9.2f", a / b }'; }
echo "guest: template, $MEM MiB, vireo-memwrite on N MiB from boot; limit $LIMIT s; QEMU: $(qemu-system-x86_64 --version | head -1)"
echo "plain QEMU: QMP migrate with QEMU's defaults; Vireo: relocate through the centre with Vireo's default policy"
echo "(downtime budget 500 ms, throttle 30 % + 20 % per pass up to 99 %, 1192 MiB/s, no post-copy)"
rc=0
for mib in "${SET_LIST[@]}"; do
    log "working set $mib MiB: plain QEMU"
    q=$(plain_run "$mib") || { q="- - - - 0 - ? - -"; rc=1; }
    log "working set $mib MiB: Vireo"
    v=$(vireo_run "$mib") || { v="- - - - 0 - ? - -"; rc=1; }
    read -r qt qd qx qr qc qg qe qh qp <<<"$q"
    read -r vt vd vx vr vc vg ve vh vp <<<"$v"
    echo
    echo "working set $mib MiB"
    printf '  %-6s %9s %9s %9s %7s %5s %6s %6s %5s %6s\n' "" "total s" "down ms" "sent MiB" "sent/ram" "conv" "gap s" \
        "errors" "thr %" "passes"
    row qemu "$qt" "$qd" "$qx" "$qr" "$qc" "$qg" "$qe" "$qh" "$qp"
    row vireo "$vt" "$vd" "$vx" "$vr" "$vc" "$vg" "$ve" "$vh" "$vp"
    printf '  %-6s %9s %9s %9s %7s %5s %6s\n' "v/q" "$(ratio "$vt" "$qt")" "$(ratio "$vd" "$qd")" "$(ratio "$vx" "$qx")" \
        "" "" "$(ratio "$vg" "$qg")"
done
echo
echo "total: start of the migration to its end as QEMU / the task reports it; down: downtime as QEMU reports it;"
echo "sent/ram: bytes sent / guest RAM (QEMU's ram.total); gap: longest interval between guest heartbeats seen by the"
echo "host side from the start (1 s when nothing is lost; Vireo's are polled from the hosts' API every ~0.2 s);"
echo "errors: pages the workload found torn or lost after the move; thr %: the highest vCPU throttle (plain: QEMU's"
echo "auto-converge is off by default, 0); passes: dirty-sync passes. Ratios vireo/qemu, lower is better."
svmotion_bench || rc=1
exit $rc
