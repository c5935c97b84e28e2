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
    local cfg="$dir/hostd.ini"
    {
        echo "[host]"
        echo "name = $host"
        echo "listen = $addr"
        echo "port = $LAB_PORT"
        echo "state_dir = $dir/state"
        echo "accelerator = auto"
        echo "vmotion_address = $addr"
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

lab_hostd_pid() { [ -s "$1/hostd.pid" ] && kill -0 "$(cat "$1/hostd.pid")" 2>/dev/null && cat "$1/hostd.pid"; }

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
        pid=$(lab_hostd_pid "$state/$h") && kill "$pid" 2>/dev/null
        for pid in $(ip netns pids "$p-$h" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
        ip netns del "$p-$h" 2>/dev/null
    done
    [ -s "$state/dnsmasq.pid" ] && kill "$(cat "$state/dnsmasq.pid")" 2>/dev/null
    for pid in $(ip netns pids "$p-net" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    ip netns del "$p-net" 2>/dev/null
    ip link del "${p}mg" 2>/dev/null
    true
}
