#!/bin/bash
# hostd-api.sh — vireo-hostd's API without booting guests: authentication,
# inventory, VM create with thin/thick disks and space checks, hostile names,
# registering folders (VMware's and broken ones), state errors, hardware edits.
. "$(dirname "$0")/lib.sh"
t_require_root

DS="$T_STATE/ds1"
SMALL="$T_STATE/small"
mkdir -p "$DS" "$SMALL"
mount -t tmpfs -o size=64m tmpfs "$SMALL"
t_lab_host esx-a 1 "ds1=$DS" "small=$SMALL" || { t_not_ok "host starts"; t_finish; exit 1; }
t_ok "host starts and answers a login"

# --- authentication ---------------------------------------------------------
for path in /api/vcenter/vm /api/vcenter/host /api/vcenter/datastore /api/vcenter/network /api/vcenter/vm/vm-1/power; do
    t_eq "GET $path without a session is 401" 401 \
        "$(curl -sk -o /dev/null -w '%{http_code}' "$VIREO_URL$path")"
done
t_eq "a wrong password is refused" 401 \
    "$(curl -sk -o /dev/null -w '%{http_code}' -X POST -u root:wrong "$VIREO_URL/api/session")"
t_eq "a made-up session is refused" 401 \
    "$(curl -sk -o /dev/null -w '%{http_code}' -H 'vmware-api-session-id: 0123' "$VIREO_URL/api/vcenter/vm")"

# --- host, certificate, datastores, networks -------------------------------
cert_tp=$(echo | openssl s_client -connect "${VIREO_URL#https://}" 2>/dev/null | openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2)
api_tp=$(api_body GET /api/vcenter/host | jq -r '.[0].thumbprint')
if [ -n "$cert_tp" ]; then
    t_eq "the API's thumbprint is the served certificate's SHA-256" "$cert_tp" "$api_tp"
else
    t_match "the API shows a SHA-256 thumbprint" '^([0-9A-F]{2}:){31}[0-9A-F]{2}$' "$api_tp"
fi
t_eq "host info names the host" esx-a "$(api_body GET /api/vcenter/host | jq -r '.[0].name')"
t_eq "the accelerator is TCG here (kvm_pvm is detected)" TCG "$(api_body GET /api/vcenter/host/ha-host | jq -r .accelerator)"
t_eq "two datastores are listed" "ds1 small" "$(api_body GET /api/vcenter/datastore | jq -r '[.[].name] | join(" ")')"
small_cap=$(api_body GET /api/vcenter/datastore | jq -r '.[] | select(.name=="small") | .capacity')
t_eq "the small datastore's capacity is the tmpfs size" 67108864 "$small_cap"
t_eq "the port group is listed" "VM Network" "$(api_body GET /api/vcenter/network | jq -r '.[0].name')"

# --- create: thin, thick lazy, thick eager ----------------------------------
spec() { # name datastore provisioning capacity
    printf '{"name":"%s","guest_OS":"OTHER_LINUX_64","placement":{"datastore":"%s"},"cpu":{"count":1},"memory":{"size_MiB":64},"disks":[{"new_vmdk":{"capacity":%s,"provisioning":"%s"}}],"nics":[{"type":"VMXNET3","backing":{"type":"STANDARD_PORTGROUP","network":"VM Network"}}]}' "$1" "$2" "$4" "$3"
}
for prov in THIN THICK_LAZY_ZEROED THICK_EAGER_ZEROED; do
    name="disk-$(echo $prov | tr 'A-Z_' 'a-z-')"
    r=$(api POST /api/vcenter/vm "$(spec "$name" ds1 $prov 33554432)")
    t_eq "create with a $prov disk answers 201" 201 "${r%% *}"
    id=$(echo "${r#* }" | tr -d '"')
    flat="$DS/$name/$name-flat.vmdk"
    used=$(( $(stat -c %b "$flat") * 512 ))
    size=$(stat -c %s "$flat")
    t_eq "$prov: the flat file has the capacity" 33554432 "$size"
    if [ $prov = THIN ]; then
        t_check "THIN: the flat file is sparse (used $used bytes)" test "$used" -lt 1048576
    else
        t_check "$prov: the flat file is allocated (used $used bytes)" test "$used" -ge 33554432
    fi
    t_eq "$prov: the API reports the provisioning" "$prov" \
        "$(api_body GET "/api/vcenter/vm/$id" | jq -r '.disks["2000"].provisioning')"
    t_eq "$prov: the API reports the space used" "$used" \
        "$(api_body GET "/api/vcenter/vm/$id" | jq -r '.disks["2000"].space_used')"
    t_check "$prov: the descriptor is a VMware vmfs descriptor" grep -q 'createType="vmfs"' "$DS/$name/$name.vmdk"
done
t_check "the .vmx reads as VMware's (displayName, pvscsi, vmxnet3, generated MAC)" \
    grep -q 'ethernet0.virtualDev = "vmxnet3"' "$DS/disk-thin/disk-thin.vmx"
mac=$(api_body GET /api/vcenter/vm/vm-1 | jq -r '.nics["4000"].mac_address')
t_match "the generated MAC is in VMware's 00:50:56 range" '^00:50:56:[0-3][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}$' "$mac"

# --- space checks -----------------------------------------------------------
r=$(api POST /api/vcenter/vm "$(spec too-big small THICK_LAZY_ZEROED 134217728)")
t_eq "a thick disk larger than the free space is refused with 400" 400 "${r%% *}"
t_eq "... as UNABLE_TO_ALLOCATE_RESOURCE" UNABLE_TO_ALLOCATE_RESOURCE "$(echo "${r#* }" | jq -r .error_type)"
t_check "... and nothing was written" test ! -e "$SMALL/too-big"
r=$(api POST /api/vcenter/vm "$(spec overcommit small THIN 1073741824)")
t_eq "a thin disk larger than the datastore is allowed (over-commit)" 201 "${r%% *}"
prov=$(api_body GET /api/vcenter/datastore | jq -r '.[] | select(.name=="small") | .provisioned_space')
t_check "the over-commit is visible: provisioned $prov > capacity $small_cap" test "$prov" -gt "$small_cap"

# --- hostile names ----------------------------------------------------------
hostile='web,01=x"y
-z'
body=$(jq -cn --arg n "$hostile" '{name:$n, placement:{datastore:"ds1"}, memory:{size_MiB:64}, disks:[{new_vmdk:{capacity:1048576}}]}')
r=$(api POST /api/vcenter/vm "$body")
t_eq "a name with , = \" newline and a leading - is accepted" 201 "${r%% *}"
hid=$(echo "${r#* }" | tr -d '"')
t_eq "... and stored verbatim" "$hostile" "$(api_body GET "/api/vcenter/vm/$hid" | jq -r .name)"
t_check "... in an escaped folder that stays inside the datastore" test -d "$DS/web,01=x\"y%0a-z"
body=$(jq -cn '{name:"-leading", placement:{datastore:"ds1", folder:"../../escape"}}')
r=$(api POST /api/vcenter/vm "$body")
t_check "a folder name with ../ cannot leave the datastore" test ! -e "$T_STATE/escape" -a ! -e "$DS/../escape"

# --- malformed and hostile input --------------------------------------------
t_eq "malformed JSON is 400" 400 "$(api_status POST /api/vcenter/vm '{"name": ')"
t_eq "wrong types are 400" 400 "$(api_status POST /api/vcenter/vm '{"name": 12}')"
t_eq "an unknown datastore is 404" 404 "$(api_status POST /api/vcenter/vm '{"name":"x","placement":{"datastore":"nope"}}')"
deep=$(printf '[%.0s' $(seq 1 5000))
t_eq "deeply nested JSON is 400" 400 "$(api_status POST /api/vcenter/vm "$deep")"
t_eq "an unknown VM is 404" 404 "$(api_status GET /api/vcenter/vm/vm-999)"
t_eq "the error has vSphere's shape" NOT_FOUND "$(api_body GET /api/vcenter/vm/vm-999 | jq -r .error_type)"

# --- register: a VMware folder, a malformed .vmx, an escaping extent --------
mkdir -p "$DS/esxi-sample"
cp "$E2E_SOURCE/../shared/corpus/vmx/esxi/sample.vmx" "$DS/esxi-sample/sample.vmx" 2>/dev/null ||
    cp "${VIREO_CORPUS:-/work/shared/corpus}/vmx/esxi/sample.vmx" "$DS/esxi-sample/sample.vmx"
r=$(api POST '/api/vcenter/vm?action=register' '{"datastore":"ds1","path":"esxi-sample/sample.vmx"}')
t_eq "a .vmx from a real ESXi datastore registers" 201 "${r%% *}"
sid=$(echo "${r#* }" | tr -d '"')
info=$(api_body GET "/api/vcenter/vm/$sid")
t_eq "... with its name" "test flo" "$(echo "$info" | jq -r .name)"
t_eq "... its 2 vCPUs and 1024 MiB" "2 1024" "$(echo "$info" | jq -r '"\(.cpu.count) \(.memory.size_MiB)"')"
t_match "... and the LSI Logic substitution reported" "LSILOGIC" "$(echo "$info" | jq -r '.substitutions | join(" ")')"
r=$(api POST "/api/vcenter/vm/$sid/power?action=start")
t_eq "powering on a VM whose disk is missing fails clearly (400/404/500 with a message)" "true" \
    "$(echo "${r#* }" | jq -r '(.messages[0].default_message | length) > 0')"
t_eq "... and it stays powered off" POWERED_OFF "$(api_body GET "/api/vcenter/vm/$sid/power" | jq -r .state)"

mkdir -p "$DS/broken"
printf 'displayName = "broken\nmemSize = = 3\n' >"$DS/broken/broken.vmx"
t_eq "a malformed .vmx is refused" 400 "$(api_status POST '/api/vcenter/vm?action=register' '{"datastore":"ds1","path":"broken/broken.vmx"}')"
t_eq "... and not registered" 0 "$(api_body GET '/api/vcenter/vm?names=broken' | jq length)"

mkdir -p "$DS/escape"
cat >"$DS/escape/escape.vmx" <<'VMX'
displayName = "escape"
memSize = "64"
scsi0.present = "TRUE"
scsi0.virtualDev = "pvscsi"
scsi0:0.present = "TRUE"
scsi0:0.fileName = "escape.vmdk"
VMX
printf '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="vmfs"\nRW 2048 VMFS "../../../../etc/shadow"\n' >"$DS/escape/escape.vmdk"
r=$(api POST '/api/vcenter/vm?action=register' '{"datastore":"ds1","path":"escape/escape.vmx"}')
eid=$(echo "${r#* }" | tr -d '"')
r=$(api POST "/api/vcenter/vm/$eid/power?action=start")
t_eq "a disk whose extent leaves the VM folder is refused at power on" 400 "${r%% *}"
t_match "... saying why" "outside|leave|\.\." "$(echo "${r#* }" | jq -r '.messages[0].default_message')"
t_eq "... and no QEMU was started for it" "" "$(qemu_pids_of "$T_STATE/esx-a/state/run/$eid/qemu.pid")"

mkdir -p "$DS/garbage"
sed 's/escape.vmdk/garbage.vmdk/' "$DS/escape/escape.vmx" | sed 's/"escape"/"garbage"/' >"$DS/garbage/garbage.vmx"
head -c 3000 /dev/urandom >"$DS/garbage/garbage.vmdk"
gid=$(api_body POST '/api/vcenter/vm?action=register' '{"datastore":"ds1","path":"garbage/garbage.vmx"}' | tr -d '"')
r=$(api POST "/api/vcenter/vm/$gid/power?action=start")
t_eq "a VMDK descriptor that is garbage is refused at power on with 400" 400 "${r%% *}"
t_match "... naming the disk" "garbage.vmdk" "$(echo "${r#* }" | jq -r '.messages[0].default_message')"

# --- a datastore that fills up mid-create leaves nothing behind -------------
TINY="$T_STATE/tiny"
mkdir -p "$TINY"
mount -t tmpfs -o size=8m,nr_inodes=4 tmpfs "$TINY"
kill "$(cat "$T_STATE/esx-a/hostd.pid")"; wait "$(cat "$T_STATE/esx-a/hostd.pid")" 2>/dev/null
sed -i "s|^\\[vswitch vSwitch0\\]|[datastore tiny]\npath = $TINY\n\n[vswitch vSwitch0]|" "$T_STATE/esx-a/hostd.ini"
lab_hostd_start "$T_PREFIX-esx-a" "$T_STATE/esx-a" "$T_STATE/esx-a/hostd.ini"
lab_wait_api "$(lab_host_addr "$T_NET" 1)" root "$T_PASSWORD"
t_new_session
r=$(api POST /api/vcenter/vm "$(spec full tiny THIN 1048576)")
t_match "a create that runs out of room on the datastore fails" "^(4|5)[0-9][0-9]$" "${r%% *}"
t_match "... with a message" "." "$(echo "${r#* }" | jq -r '.messages[0].default_message')"
t_eq "... and leaves no half-created folder" "" "$(ls -A "$TINY" | grep -vx .vireo-datastore)"
t_eq "... nor a registered VM" 0 "$(api_body GET '/api/vcenter/vm?names=full' | jq length)"

# --- power state errors -----------------------------------------------------
r=$(api POST /api/vcenter/vm/vm-1/power?action=stop)
t_eq "stopping a powered-off VM is 400" 400 "${r%% *}"
t_eq "... ALREADY_IN_DESIRED_STATE" ALREADY_IN_DESIRED_STATE "$(echo "${r#* }" | jq -r .error_type)"
r=$(api POST /api/vcenter/vm/vm-1/power?action=suspend)
t_eq "suspending a powered-off VM is 400 NOT_ALLOWED_IN_CURRENT_STATE" "400 NOT_ALLOWED_IN_CURRENT_STATE" \
    "${r%% *} $(echo "${r#* }" | jq -r .error_type)"
t_eq "guest identity of a powered-off VM is 503" 503 "$(api_status GET /api/vcenter/vm/vm-1/guest/identity)"

# --- hardware while powered off ---------------------------------------------
r=$(api POST /api/vcenter/vm/vm-1/hardware/disk '{"type":"SATA","new_vmdk":{"capacity":2097152}}')
t_eq "adding a SATA disk answers 201" 201 "${r%% *}"
key=$(echo "${r#* }" | tr -d '"')
t_eq "... keyed as vSphere keys SATA disks" 16000 "$key"
t_check "... its files exist" test -f "$DS/disk-thin/disk-thin_1-flat.vmdk"
t_eq "growing it answers 204" 204 "$(api_status PATCH "/api/vcenter/vm/vm-1/hardware/disk/$key" '{"capacity":4194304}')"
t_eq "... and the flat file grew" 4194304 "$(stat -c %s "$DS/disk-thin/disk-thin_1-flat.vmdk")"
t_eq "removing it with its files answers 204" 204 "$(api_status DELETE "/api/vcenter/vm/vm-1/hardware/disk/$key?delete_file=true")"
t_check "... and the files are gone" test ! -e "$DS/disk-thin/disk-thin_1-flat.vmdk"
r=$(api POST /api/vcenter/vm/vm-1/hardware/ethernet '{"type":"E1000E","mac_type":"MANUAL","mac_address":"00:50:56:01:02:03"}')
t_eq "adding an E1000E NIC with a manual MAC answers 201" "201 \"4001\"" "$r"
t_check "... written to the .vmx" grep -qi 'ethernet1.address = "00:50:56:01:02:03"' "$DS/disk-thin/disk-thin.vmx"
t_eq "a NIC on a missing port group is 404" 404 \
    "$(api_status POST /api/vcenter/vm/vm-1/hardware/ethernet '{"backing":{"type":"STANDARD_PORTGROUP","network":"nope"}}')"

# --- EFI firmware and a CD-ROM with an ISO from the datastore ---------------
mkdir -p "$DS/iso"
head -c 1048576 /dev/zero >"$DS/iso/tiny.iso"
body='{"name":"efi-01","placement":{"datastore":"ds1"},"boot":{"type":"EFI"},"memory":{"size_MiB":128},
  "disks":[{"type":"NVME","new_vmdk":{"capacity":1048576}}],
  "cdroms":[{"type":"SATA","backing":{"type":"ISO_FILE","iso_file":"[ds1] iso/tiny.iso"},"start_connected":true}]}'
r=$(api POST /api/vcenter/vm "$body")
t_eq "an EFI VM with an NVMe disk and an ISO is created" 201 "${r%% *}"
fid=$(echo "${r#* }" | tr -d '"')
t_check "... its .vmx says EFI and the ISO" grep -q 'sata0:0.deviceType = "cdrom-image"' "$DS/efi-01/efi-01.vmx"
t_eq "... and the API shows the ISO as a datastore path" "[ds1] iso/tiny.iso" \
    "$(api_body GET "/api/vcenter/vm/$fid" | jq -r '.cdroms["16000"].backing.iso_file')"
t_eq "it powers on (QEMU starts OVMF)" 204 "$(api_status POST "/api/vcenter/vm/$fid/power?action=start")"
t_check "... with its own EFI variables next to the .vmx" test -s "$DS/efi-01/efi-01.nvram"
t_eq "... and one QEMU" 1 "$(qemu_pids_of "$T_STATE/esx-a/state/run/$fid/qemu.pid" | wc -l)"
t_eq "powering it off answers 204" 204 "$(api_status POST "/api/vcenter/vm/$fid/power?action=stop")"
t_eq "... and no QEMU is left" 0 "$(qemu_pids_of "$T_STATE/esx-a/state/run/$fid/qemu.pid" | wc -l)"
r=$(api POST /api/vcenter/vm '{"name":"bad-iso","placement":{"datastore":"ds1"},"cdroms":[{"backing":{"type":"ISO_FILE","iso_file":"[ds1] ../../etc/passwd"}}]}')
t_eq "an ISO path that leaves the datastore is refused" 400 "${r%% *}"

# --- delete -----------------------------------------------------------------
t_eq "deleting a powered-off VM answers 204" 204 "$(api_status DELETE /api/vcenter/vm/vm-3)"
t_check "... and its folder is gone" test ! -e "$DS/disk-thick-eager-zeroed"

# --- restart keeps the inventory --------------------------------------------
before=$(api_body GET /api/vcenter/vm | jq -c '[.[].vm]')
kill "$(cat "$T_STATE/esx-a/hostd.pid")"
sleep 1
lab_hostd_start "$T_PREFIX-esx-a" "$T_STATE/esx-a" "$T_STATE/esx-a/hostd.ini"
lab_wait_api "$(lab_host_addr "$T_NET" 1)" root "$T_PASSWORD"
t_new_session
t_eq "after a restart the same VMs are registered" "$before" "$(api_body GET /api/vcenter/vm | jq -c '[.[].vm]')"

t_finish
