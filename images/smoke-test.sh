#!/bin/bash
# smoke-test.sh — boots the built template under QEMU (TCG) the way a host
# would, and checks the guest agent end to end: hello, heartbeats with an IP
# address, ping, then shutdown and QEMU exiting. Needs only bash, socat and
# qemu-system-x86_64.
#
#   images/smoke-test.sh [--vm-dir images/out/vireo-template] [--disk-bus pvscsi|virtio-blk|ide]
#                        [--nic vmxnet3|e1000|e1000e|virtio] [--customization FILE]
#                        [--expect-host-name NAME] [--expect-ip ADDR] [--timeout SECONDS]
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
vm_dir=$here/out/vireo-template
disk_bus=pvscsi nic=vmxnet3 customization="" expect_host="" expect_ip="" timeout=180

while [ $# -gt 0 ]; do
    case $1 in
        --vm-dir) vm_dir=$2; shift 2 ;;
        --disk-bus) disk_bus=$2; shift 2 ;;
        --nic) nic=$2; shift 2 ;;
        --customization) customization=$2; shift 2 ;;
        --expect-host-name) expect_host=$2; shift 2 ;;
        --expect-ip) expect_ip=$2; shift 2 ;;
        --timeout) timeout=$2; shift 2 ;;
        -h|--help) sed -n '2,9s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) echo "smoke-test: unknown option $1" >&2; exit 2 ;;
    esac
done

flat=$(ls "$vm_dir"/*-flat.vmdk 2>/dev/null | head -1)
[ -n "$flat" ] || { echo "smoke-test: no *-flat.vmdk in $vm_dir (run images/build-template.sh)" >&2; exit 2; }
if ! command -v socat >/dev/null; then
    [ "$(id -u)" = 0 ] && apt-get install -y socat >/dev/null 2>&1
    command -v socat >/dev/null || { echo "smoke-test: socat is required" >&2; exit 2; }
fi

tmp=$(mktemp -d /tmp/vireo-smoke.XXXXXX)
sock=$tmp/agent.sock serial=$tmp/serial.log
passed=0 failed=0 qemu_pid="" agent_pid=""
cleanup() {
    [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null
    [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null && wait "$qemu_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

check() { # check DESCRIPTION CONDITION-EXIT-STATUS
    if [ "$2" = 0 ]; then echo "ok - $1"; passed=$((passed + 1)); else echo "FAIL - $1"; failed=$((failed + 1)); fi
}
finish() {
    if [ "$failed" -gt 0 ]; then
        echo "--- last lines of the serial console ($serial):"
        tail -n 30 "$serial" 2>/dev/null
    fi
    echo "smoke-test: $passed passed, $failed failed"
    exit $((failed > 0))
}
elapsed() { # seconds since QEMU started, with one decimal
    local now=${EPOCHREALTIME/[.,]/}
    echo "$(( (now - start_us) / 1000000 )).$(( (now - start_us) / 100000 % 10 ))"
}

case $disk_bus in
    pvscsi) disk_dev=(-device pvscsi,id=scsi0 -device scsi-hd,drive=d0,bus=scsi0.0,bootindex=0) ;;
    virtio-blk) disk_dev=(-device virtio-blk-pci,drive=d0,bootindex=0) ;;
    ide) disk_dev=(-device ide-hd,drive=d0,bus=ide.0,bootindex=0) ;;
    *) echo "smoke-test: unknown disk bus $disk_bus" >&2; exit 2 ;;
esac
case $nic in
    vmxnet3|e1000|e1000e) nic_dev=$nic ;;
    virtio) nic_dev=virtio-net-pci ;;
    *) echo "smoke-test: unknown nic $nic" >&2; exit 2 ;;
esac
fw_cfg=()
[ -n "$customization" ] && fw_cfg=(-fw_cfg "name=opt/org.vireo/customization,file=$customization")

start_us=${EPOCHREALTIME/[.,]/}
qemu-system-x86_64 -nodefaults -machine q35 -accel tcg -m 256 -display none \
    -drive "file=$flat,format=raw,if=none,id=d0,snapshot=on" "${disk_dev[@]}" \
    -netdev user,id=n0 -device "$nic_dev,netdev=n0" \
    -device virtio-serial-pci \
    -chardev "socket,id=agent,path=$sock,server=on,wait=off" \
    -device virtserialport,chardev=agent,name=org.vireo.tools.0 \
    "${fw_cfg[@]}" -serial "file:$serial" >"$tmp/qemu.log" 2>&1 &
qemu_pid=$!
echo "smoke-test: booting $flat ($disk_bus, $nic) under TCG, serial log $serial"

for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
coproc AGENT { socat - "UNIX-CONNECT:$sock" 2>/dev/null; }
agent_pid=$AGENT_PID
exec {to_agent}>&"${AGENT[1]}" {from_agent}<&"${AGENT[0]}"

# Reads agent lines until one matches the pattern (ERE); it lands in $line.
line=""
wait_for() {
    local pattern=$1 deadline=$(( ${EPOCHREALTIME%[.,]*} + $2 ))
    while [ "${EPOCHREALTIME%[.,]*}" -lt "$deadline" ]; do
        if IFS= read -r -t 1 line <&"$from_agent"; then
            [[ $line =~ $pattern ]] && return 0
        elif ! kill -0 "$qemu_pid" 2>/dev/null; then
            return 1
        fi
    done
    return 1
}

wait_for '"type":"hello"' "$timeout"; check "hello received after $(elapsed) s" $?
wait_for '"type":"heartbeat"' 10; check "first heartbeat after $(elapsed) s" $?
wait_for '"ip_addresses":\["[0-9]' 60; check "heartbeat with an IPv4 address after $(elapsed) s" $?
echo "  $line"
[[ $line =~ \"family\":\"LINUX\" ]]; check "family LINUX" $?
if [ -n "$expect_host" ]; then [[ $line == *"\"host_name\":\"$expect_host\""* ]]; check "host name $expect_host" $?; fi
if [ -n "$expect_ip" ]; then [[ $line == *"\"$expect_ip\""* ]]; check "address $expect_ip" $?; fi

echo '{"type":"command","id":1,"command":"ping"}' >&"$to_agent"
wait_for '"type":"reply","id":1,' 30; [[ $line == *'"ok":true'* ]]; check "ping answered" $?
echo '{"type":"command","id":2,"command":"shutdown"}' >&"$to_agent"
wait_for '"type":"reply","id":2,' 30; [[ $line == *'"ok":true'* ]]; check "shutdown acknowledged" $?
for _ in $(seq 600); do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$qemu_pid" 2>/dev/null; then
    check "QEMU exited after shutdown" 1
else
    wait "$qemu_pid"; rc=$?; qemu_pid=""
    check "QEMU exited (status $rc) $(elapsed) s after start" "$rc"
fi
finish
