# lab-lib.sh — building a datacenter of Vireo hosts on one Linux machine.
# Sourced by scripts/vireo-lab (the demo lab) and tests/e2e/lib.sh (each test
# gets its own lab under a unique prefix).
#
# Layout, for prefix P and subnet index N:
#   netns P-net     the physical network: bridge "pswitch0" 10.N.0.1/24 with
#                   dnsmasq handing out 10.N.0.100-250 (VMs get addresses as
#                   on a real network). Also where a client pings VMs from.
#   bridge Pmg      in the root namespace, 10.(N+1).0.1/24: the management
#                   network; the CLI and tests reach hosts' APIs through it.
#   netns P-<host>  one per host: mgmt0 10.(N+1).0.(10+i) (API), vmnic0 the
#                   uplink of its vSwitch0 (a veth whose peer is on pswitch0),
#                   and vireo-hostd with its QEMUs.
# Interface names stay within Linux's 15 characters: keep P short (<= 6).

LAB_BUILD=${LAB_BUILD:-${VIREO_BUILD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build}}
LAB_PORT=${LAB_PORT:-8443}

lab_log() { echo "lab: $*" >&2; }

lab_ns_exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$1"; }

# lab_net_up PREFIX N STATE_DIR
lab_net_up() {
    local p=$1 n=$2 state=$3 ns="$1-net" mg="$1mg"
    mkdir -p "$state"
    if ! lab_ns_exists "$ns"; then
        ip netns add "$ns"
        ip -n "$ns" link set lo up
        ip -n "$ns" link add pswitch0 type bridge
        ip -n "$ns" addr add "10.$n.0.1/24" dev pswitch0
        ip -n "$ns" link set pswitch0 up
    fi
    if ! ip link show "$mg" >/dev/null 2>&1; then
        ip link add "$mg" type bridge
        ip addr add "10.$((n + 1)).0.1/24" dev "$mg"
        ip link set "$mg" up
    fi
    local pidf="$state/dnsmasq.pid"
    if [ ! -s "$pidf" ] || ! kill -0 "$(cat "$pidf")" 2>/dev/null; then
        ip netns exec "$ns" /usr/sbin/dnsmasq --no-resolv --no-hosts --bind-interfaces \
            --interface=pswitch0 --except-interface=lo \
            --dhcp-range="10.$n.0.100,10.$n.0.250,255.255.255.0,12h" \
            --dhcp-option=option:router,"10.$n.0.1" \
            --dhcp-leasefile="$state/dnsmasq.leases" --pid-file="$pidf" \
            --log-facility="$state/dnsmasq.log" --log-dhcp
    fi
}

# lab_password_hash PASSWORD — the crypt(3) hash hostd's config wants.
lab_password_hash() {
    printf '%s\n' "$1" | "$LAB_BUILD/src/host/vireo-hostd" --hash-password
}

# lab_host_addr N INDEX — a host's management address.
lab_host_addr() { echo "10.$(($1 + 1)).0.$((10 + $2))"; }
# lab_host_vmotion_addr N INDEX — its vMotion address (vmk1), on a network of
# its own: migration traffic never shares the management link.
lab_host_vmotion_addr() { echo "10.$(($1 + 1)).1.$((10 + $2))"; }

# lab_vmotion_link PREFIX N INDEX NS — vmk1 in the host, its peer
# (PREFIXvINDEX, the one a test cuts) on the root vMotion bridge PREFIXvb.
lab_vmotion_link() {
    local p=$1 n=$2 i=$3 ns=$4
    if ! ip link show "${p}vb" >/dev/null 2>&1; then
        ip link add "${p}vb" type bridge
        ip link set "${p}vb" up
    fi
    ip -n "$ns" link show vmk1 >/dev/null 2>&1 && return 0
    ip link add "${p}v$i" type veth peer name vmk1 netns "$ns"
    ip link set "${p}v$i" master "${p}vb" up
    ip -n "$ns" addr add "$(lab_host_vmotion_addr "$n" "$i")/24" dev vmk1
    ip -n "$ns" link set vmk1 up
}

# lab_host_up PREFIX N INDEX HOST STATE_DIR PASSWORD DATASTORES...
#   DATASTORES: name=path pairs. Starts vireo-hostd in netns PREFIX-HOST.
lab_host_up() {
    local p=$1 n=$2 i=$3 host=$4 state=$5 password=$6
    shift 6
    local ns="$p-$host" addr dir="$state/$host"
    addr=$(lab_host_addr "$n" "$i")
    mkdir -p "$dir"
    if ! lab_ns_exists "$ns"; then
        ip netns add "$ns"
        ip -n "$ns" link set lo up
        # management: mgmt0 in the host, its peer on the root bridge
        ip link add "${p}m$i" type veth peer name mgmt0 netns "$ns"
        ip link set "${p}m$i" master "${p}mg" up
        ip -n "$ns" addr add "$addr/24" dev mgmt0
        ip -n "$ns" link set mgmt0 up
        # VM network uplink: vmnic0 in the host, its peer on the physical switch
        ip link add "${p}u$i" type veth peer name vmnic0 netns "$ns"
        ip link set "${p}u$i" netns "$p-net"
        ip -n "$p-net" link set "${p}u$i" master pswitch0 up
        ip -n "$ns" link set vmnic0 up
    fi
    lab_vmotion_link "$p" "$n" "$i" "$ns"
    local cfg="$dir/hostd.ini"
    {
        echo "[host]"
        echo "name = $host"
        echo "listen = $addr"
        echo "port = $LAB_PORT"
        echo "state_dir = $dir/state"
        echo "accelerator = auto"
        echo "vmotion_address = $(lab_host_vmotion_addr "$n" "$i")"
        # Extra [host] lines, e.g. LAB_HOST_EXTRA="vmotion_encryption = false".
        [ -n "${LAB_HOST_EXTRA:-}" ] && echo "$LAB_HOST_EXTRA"
        echo
        echo "[user root]"
        echo "password_hash = $(lab_password_hash "$password")"
        local ds
        for ds in "$@"; do
            echo
            echo "[datastore ${ds%%=*}]"
            echo "path = ${ds#*=}"
        done
        echo
        echo "[vswitch vSwitch0]"
        echo "bridge = vSwitch0"
        echo "uplink = vmnic0"
        echo
        echo "[portgroup VM Network]"
        echo "vswitch = vSwitch0"
        echo "vlan = 0"
    } >"$cfg.new"
    # Keep the old file (and its hash) when nothing else changed, so reruns are quiet.
    if [ -f "$cfg" ] && diff -q <(grep -v password_hash "$cfg") <(grep -v password_hash "$cfg.new") >/dev/null; then
        rm -f "$cfg.new"
    else
        mv "$cfg.new" "$cfg"
    fi
    lab_hostd_start "$ns" "$dir" "$cfg"
    lab_wait_api "$addr" root "$password"
}

# The daemon's pid while it runs (a killed one not yet reaped is a zombie:
# it does not count).
lab_hostd_pid() {
    local pid
    [ -s "$1/hostd.pid" ] && pid=$(cat "$1/hostd.pid") && [ -r "/proc/$pid/stat" ] &&
        [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] && echo "$pid"
}

# lab_kill9 DIR — kill -9 of the daemon whose pid file is in DIR (a host's
# or the centre's), returning once it is gone: a restart right after must
# not find it still dying and take it for running.
lab_kill9() {
    local pid
    pid=$(lab_hostd_pid "$1") || return 0
    kill -9 "$pid" 2>/dev/null
    while lab_hostd_pid "$1" >/dev/null; do sleep 0.05; done
}

# lab_hostd_start NS DIR CONFIG — starts vireo-hostd unless it runs.
lab_hostd_start() {
    local ns=$1 dir=$2 cfg=$3 pid
    if pid=$(lab_hostd_pid "$dir"); then
        # A rebuilt daemon or a changed config replaces the running one; its
        # VMs keep running and are re-attached.
        [ "$LAB_BUILD/src/host/vireo-hostd" -nt "$dir/hostd.pid" ] || [ "$cfg" -nt "$dir/hostd.pid" ] || return 0
        lab_log "restarting vireo-hostd of $ns (new binary or configuration)"
        kill "$pid"
        while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
    ip netns exec "$ns" setsid "$LAB_BUILD/src/host/vireo-hostd" --config "$cfg" \
        >>"$dir/hostd.log" 2>&1 </dev/null &
    echo $! >"$dir/hostd.pid"
}

# lab_wait_api ADDR USER PASSWORD — waits (60 s) until the API answers a login.
lab_wait_api() {
    local url="https://$1:$LAB_PORT/api/session" t
    for t in $(seq 1 120); do
        if [ "$(curl -sk -o /dev/null -w '%{http_code}' -X POST -u "$2:$3" "$url")" = 201 ]; then
            return 0
        fi
        sleep 0.5
    done
    lab_log "the API at $url did not answer"
    return 1
}

# lab_copy_vm SRC_FOLDER DST_FOLDER NAME — copies a VM folder (sparse), renaming
# its files to NAME as a datastore copy does. Keeps thin disks thin.
lab_copy_vm() {
    local src=$1 dst=$2 name=$3 base f
    base=$(basename "$(ls "$src"/*.vmx)" .vmx)
    mkdir -p "$dst.tmp"
    cp --sparse=always "$src/$base-flat.vmdk" "$dst.tmp/$name-flat.vmdk"
    sed "s/\"$base-flat.vmdk\"/\"$name-flat.vmdk\"/" "$src/$base.vmdk" >"$dst.tmp/$name.vmdk"
    sed -e "s/\"$base.vmdk\"/\"$name.vmdk\"/" -e "s/^displayName = .*/displayName = \"$name\"/" \
        "$src/$base.vmx" >"$dst.tmp/$name.vmx"
    mv "$dst.tmp" "$dst"
}

# lab_down PREFIX STATE_DIR HOSTS... — stops daemons and QEMUs, removes namespaces.
lab_down() {
    local p=$1 state=$2 h pid
    shift 2
    for h in "$@"; do
        if pid=$(lab_hostd_pid "$state/$h"); then kill "$pid" 2>/dev/null || true; fi
        for pid in $(ip netns pids "$p-$h" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
        ip netns del "$p-$h" 2>/dev/null || true
    done
    if [ -s "$state/dnsmasq.pid" ]; then kill "$(cat "$state/dnsmasq.pid")" 2>/dev/null || true; fi
    for pid in $(ip netns pids "$p-net" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$p-net" 2>/dev/null || true
    ip link del "${p}mg" 2>/dev/null || true
    ip link del "${p}vb" 2>/dev/null || true
    rm -f "$state/.lab-center-token"
}

# ---- the management server ---------------------------------------------------

# lab_center_addr N — the centre's address: the root namespace's end of the
# management network.
lab_center_addr() { echo "10.$(($1 + 1)).0.1"; }

# lab_center_up N STATE_DIR PASSWORD — starts vireo-centerd (root namespace)
# with the administrator "administrator".
lab_center_up() {
    local n=$1 state=$2 password=$3 dir="$2/center" addr
    addr=$(lab_center_addr "$n")
    mkdir -p "$dir"
    local cfg="$dir/center.ini"
    {
        echo "[center]"
        echo "name = vc-lab"
        echo "listen = $addr"
        echo "port = $LAB_PORT"
        echo "state_dir = $dir/state"
        echo "heartbeat_ms = ${LAB_HEARTBEAT_MS:-2000}"
        echo "heartbeat_misses = 3"
        echo "reconcile_seconds = ${LAB_RECONCILE_SECONDS:-10}"
        echo
        echo "[admin]"
        echo "user = administrator"
        echo "password_hash = $(printf '%s\n' "$password" | "$LAB_BUILD/src/center/vireo-centerd" --hash-password)"
    } >"$cfg.new"
    if [ -f "$cfg" ] && diff -q <(grep -v password_hash "$cfg") <(grep -v password_hash "$cfg.new") >/dev/null; then
        rm -f "$cfg.new"
    else
        mv "$cfg.new" "$cfg"
    fi
    local pid
    if pid=$(lab_hostd_pid "$dir"); then
        if [ "$LAB_BUILD/src/center/vireo-centerd" -nt "$dir/hostd.pid" ] || [ "$cfg" -nt "$dir/hostd.pid" ]; then
            lab_log "restarting vireo-centerd (new binary or configuration)"
            kill "$pid"
            while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
        fi
    fi
    if ! lab_hostd_pid "$dir" >/dev/null; then
        setsid "$LAB_BUILD/src/center/vireo-centerd" --config "$cfg" >>"$dir/centerd.log" 2>&1 </dev/null &
        echo $! >"$dir/hostd.pid"
    fi
    lab_wait_api "$addr" administrator "$password"
}

# lab_center_api METHOD PATH [JSON] — a call to the centre (LAB_CENTER_URL,
# LAB_CENTER_PASSWORD); prints the body, fails on a status >= 400.
lab_center_api() {
    local token_file="${LAB_CENTER_STATE:-/tmp}/.lab-center-token" out status try
    for try in 1 2; do
        [ -s "$token_file" ] || curl -sk -X POST -u "administrator:$LAB_CENTER_PASSWORD" \
            "$LAB_CENTER_URL/api/session" | tr -d '"' >"$token_file"
        local args=(-sk -X "$1" -H "vmware-api-session-id: $(cat "$token_file")" -w '\n%{http_code}')
        [ -n "${3:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
        out=$(curl "${args[@]}" "$LAB_CENTER_URL$2")
        status=$(echo "$out" | tail -1)
        # A restarted centre forgot the session: log in again once.
        [ "$status" = 401 ] && [ "$try" = 1 ] && { rm -f "$token_file"; continue; }
        break
    done
    echo "$out" | sed '$d'
    [ "$status" -lt 400 ]
}

# lab_center_add_host CLUSTER_ID ADDRESS PASSWORD — adds a host to the
# cluster, accepting the thumbprint the centre reports (as an administrator
# would after checking it), unless it is already managed.
lab_center_add_host() {
    local cluster=$1 addr=$2 password=$3 body out tp
    body=$(jq -cn --arg h "$addr" --arg p "$password" --arg c "$cluster" \
        '{hostname:$h, port:8443, user_name:"root", password:$p, cluster:$c}')
    out=$(lab_center_api POST /api/vcenter/host "$body") && { echo "$out"; return 0; }
    echo "$out" | grep -q "already managed" && return 0
    tp=$(echo "$out" | jq -r '.messages[0].default_message' | grep -oE '([0-9A-F]{2}:){31}[0-9A-F]{2}' | head -1)
    [ -n "$tp" ] || { lab_log "adding $addr failed: $out"; return 1; }
    lab_log "accepting the certificate thumbprint of $addr: $tp"
    lab_center_api POST /api/vcenter/host "$(echo "$body" | jq -c --arg t "$tp" '. + {thumbprint:$t}')"
}
