# lib.sh — end-to-end test helpers: a private lab per test (its own network
# namespaces, bridge, DHCP and state folder under a unique prefix), TAP output,
# and the CLI/API wrappers tests drive Vireo with. Sourced by tests/e2e/*.sh.

set -u
E2E_SOURCE=${VIREO_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
export LAB_BUILD=${VIREO_BUILD_ROOT:-$E2E_SOURCE/build}
. "$E2E_SOURCE/scripts/lab-lib.sh"

T_N=0
T_FAILED=0
# A short unique prefix (interface names are limited to 15 characters) and a
# subnet of its own, so tests never meet the demo lab or each other.
T_PREFIX="t$(printf '%04x' $((RANDOM % 65536)))"
T_NET=$((100 + (RANDOM % 70) * 2))
T_STATE=$(mktemp -d /tmp/vireo-e2e.XXXXXX)
T_PASSWORD="pw-$RANDOM-$RANDOM"
T_HOSTS=()
export HOME="$T_STATE/home"
mkdir -p "$HOME"

t_ok() { T_N=$((T_N + 1)); echo "ok $T_N - $*"; }
t_not_ok() {
    T_N=$((T_N + 1)); T_FAILED=$((T_FAILED + 1)); echo "not ok $T_N - $1"
    shift
    [ $# -gt 0 ] && printf '#   %s\n' "$@"
    return 0
}
# t_check DESC CMD... — passes when CMD succeeds.
t_check() {
    local d=$1 out
    shift
    if out=$("$@" 2>&1); then t_ok "$d"; else t_not_ok "$d" "command: $*" "$(echo "$out" | tail -5)"; fi
}
# t_eq DESC EXPECTED ACTUAL
t_eq() { if [ "$2" = "$3" ]; then t_ok "$1"; else t_not_ok "$1" "expected: $2" "actual:   $3"; fi; }
# t_match DESC REGEX ACTUAL
t_match() { if [[ $3 =~ $2 ]]; then t_ok "$1"; else t_not_ok "$1" "expected to match: $2" "actual: $3"; fi; }
t_skip_all() { echo "1..0 # SKIP $*"; exit 0; }

t_cleanup() {
    lab_down "$T_PREFIX" "$T_STATE" "${T_HOSTS[@]}" >/dev/null 2>&1
    # Datastores may be tmpfs mounts made by the test.
    grep " $T_STATE" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
    if [ "$T_FAILED" -gt 0 ] || [ -n "${VIREO_E2E_KEEP:-}" ]; then
        echo "# state kept for inspection: $T_STATE"
        find "$T_STATE" -name hostd.log -o -name vmware.log | while read -r f; do
            echo "# --- $f (last lines)"; tail -15 "$f" | sed 's/^/#   /'
        done
    else
        rm -rf "$T_STATE"
    fi
}

t_finish() {
    echo "1..$T_N"
    [ "$T_FAILED" -eq 0 ]
}

t_require_root() {
    [ "$(id -u)" = 0 ] || t_skip_all "needs root (network namespaces, taps)"
    [ -x "$LAB_BUILD/src/host/vireo-hostd" ] || t_skip_all "vireo-hostd is not built in $LAB_BUILD"
}

# t_lab_host NAME INDEX DATASTORES... — starts a host in this test's lab and
# points the CLI at it.
t_lab_host() {
    local name=$1 index=$2
    shift 2
    [ ${#T_HOSTS[@]} -eq 0 ] && lab_net_up "$T_PREFIX" "$T_NET" "$T_STATE"
    T_HOSTS+=("$name")
    lab_host_up "$T_PREFIX" "$T_NET" "$index" "$name" "$T_STATE" "$T_PASSWORD" "$@" || return 1
    export VIREO_URL="https://$(lab_host_addr "$T_NET" "$index"):$LAB_PORT"
    export VIREO_USERNAME=root VIREO_PASSWORD=$T_PASSWORD VIREO_INSECURE=1
}

# The template VM folder built by images/build-template.sh.
T_TEMPLATE=${VIREO_TEMPLATE:-$E2E_SOURCE/images/out/vireo-template}
t_require_template() {
    [ -f "$T_TEMPLATE/vireo-template.vmx" ] ||
        t_skip_all "the guest template is not built ($T_TEMPLATE); run images/build-template.sh"
}

vireo() { "$LAB_BUILD/src/cli/vireo" "$@"; }

# api METHOD PATH [JSON] — raw API call; prints "STATUS BODY".
# The session token is kept in a file: api runs in command substitutions.
T_TOKEN_FILE="$T_STATE/api-token"
t_new_session() { rm -f "$T_TOKEN_FILE"*; }
api() {
    local method=$1 path=$2 body=${3:-} out token
    local T_TOKEN_FILE="$T_TOKEN_FILE-$(echo "$VIREO_URL" | md5sum | cut -c1-8)"
    [ -s "$T_TOKEN_FILE" ] ||
        curl -sk -X POST -u "root:$T_PASSWORD" "$VIREO_URL/api/session" | tr -d '"' >"$T_TOKEN_FILE"
    token=$(cat "$T_TOKEN_FILE")
    local args=(-sk -X "$method" -H "vmware-api-session-id: $token" -w '\n%{http_code}')
    [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
    out=$(curl "${args[@]}" "$VIREO_URL$path")
    echo "$(echo "$out" | tail -1) $(echo "$out" | sed '$d')"
}
api_status() { api "$@" | cut -d' ' -f1; }
api_body() { api "$@" | cut -d' ' -f2-; }

# t_wait SECONDS CMD... — retries CMD every second until it succeeds.
t_wait() {
    local limit=$1 i
    shift
    for ((i = 0; i < limit; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 1
    done
    return 1
}

# The QEMU processes running a VM folder (matched on its pid file path).
qemu_pids_of() { pgrep -f "qemu-system.*$1" || true; }

trap t_cleanup EXIT

# t_lab_center — starts vireo-centerd for this test's lab (hosts must be up
# first) and points LAB_CENTER_* / capi at it.
T_CENTER_URL=""
t_lab_center() {
    export LAB_HEARTBEAT_MS=${LAB_HEARTBEAT_MS:-1000}
    lab_center_up "$T_NET" "$T_STATE" "$T_PASSWORD" || return 1
    T_HOSTS+=("center")
    T_CENTER_URL="https://$(lab_center_addr "$T_NET"):$LAB_PORT"
    export LAB_CENTER_URL=$T_CENTER_URL LAB_CENTER_PASSWORD=$T_PASSWORD LAB_CENTER_STATE=$T_STATE
}

# The guest's memory workload (vireo-memwrite writing MIB continuously and
# verifying every page, docs/guest-agent.md), started by the customization
# workload_mib: t_workload_vmx VMX MIB before the VM is registered. The
# checks read the agent's report through the test's own `tools` function.
t_workload_vmx() { echo "guestinfo.vireo.customization = \"{|22workload_mib|22:$2}\"" >>"$1"; }
t_workload_passes() { tools | jq -r '.workload.passes // 0'; }
t_workload_runs() { [ "$(tools | jq -r '.workload.running')" = true ] && [ "$(t_workload_passes)" -ge 1 ]; }
# t_workload_clean WHEN — passes grow and no page was found wrong.
t_workload_clean() {
    local p1 p2 e
    p1=$(t_workload_passes); sleep 3; p2=$(t_workload_passes); e=$(tools | jq -r '.workload.errors')
    t_eq "the memory workload runs on after $1: passes grow ($p1 → $p2), errors 0" "1 0" \
        "$(awk -v a="$p1" -v b="$p2" 'BEGIN {print (b > a) ? 1 : 0}') $e"
}

# t_center_cluster HOST_ADDR... — the centre (t_lab_center) with datacenter
# dc1 and cluster cluster1 holding these hosts; sets DC, HF (its host
# folder) and CL.
t_center_cluster() {
    t_lab_center || return 1
    DC=$(capi_body POST /api/vcenter/datacenter '{"name":"dc1"}' | tr -d '"')
    HF=$(capi_body GET "/api/vcenter/datacenter/$DC" | jq -r .host_folder)
    CL=$(capi_body POST /api/vcenter/cluster "{\"name\":\"cluster1\",\"folder\":\"$HF\"}" | tr -d '"')
    local addr
    for addr in "$@"; do lab_center_add_host "$CL" "$addr" "$T_PASSWORD" >/dev/null; done
}

# capi METHOD PATH [JSON] [USER PASSWORD] — a call to the centre; prints
# "STATUS BODY". Sessions are cached per user.
capi() {
    local method=$1 path=$2 body=${3:-} user=${4:-administrator} pw=${5:-$T_PASSWORD} out
    local tf="$T_STATE/ctoken-$user"
    [ -s "$tf" ] || curl -sk -X POST -u "$user:$pw" "$T_CENTER_URL/api/session" | tr -d '"' >"$tf"
    local args=(-sk -X "$method" -H "vmware-api-session-id: $(cat "$tf")" -w '\n%{http_code}')
    [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
    out=$(curl "${args[@]}" "$T_CENTER_URL$path")
    echo "$(echo "$out" | tail -1) $(echo "$out" | sed '$d')"
}
capi_status() { capi "$@" | cut -d' ' -f1; }
capi_body() { capi "$@" | cut -d' ' -f2-; }
t_center_new_sessions() { rm -f "$T_STATE"/ctoken-*; }
