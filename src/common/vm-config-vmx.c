/* vm-config-vmx.c — the mapping between a .vmx (Vmx) and a VmConfig.
 *
 * Reading takes VMware's defaults for absent keys; writing merges into the
 * existing Vmx: modelled keys are rewritten, every other key stays, and the
 * keys of devices no longer in the config are removed.
 */
#include "vm-config-vmx.h"
#include "vireo-error.h"

#include <string.h>

#define MAX_CONTROLLERS 4
#define MAX_NICS 10

/* What sits at a disk position of the .vmx. OTHER is a device Vireo does not
 * model (scsi-passthru, a disk on a missing controller, ...): its keys are
 * left alone. */
typedef enum {
    SLOT_NONE,
    SLOT_DISK,
    SLOT_CDROM,
    SLOT_OTHER,
} SlotKind;

static const char *
node_get(const Vmx *vmx, const char *node, const char *field)
{
    g_autofree char *key = g_strdup_printf("%s.%s", node, field);
    return vmx_get(vmx, key);
}

static gboolean
node_get_bool(const Vmx *vmx, const char *node, const char *field, gboolean def)
{
    g_autofree char *key = g_strdup_printf("%s.%s", node, field);
    return vmx_get_bool(vmx, key, def);
}

static void
node_set(Vmx *vmx, const char *node, const char *field, const char *value)
{
    g_autofree char *key = g_strdup_printf("%s.%s", node, field);
    vmx_set(vmx, key, value);
}

static gboolean
controller_present(const Vmx *vmx, VmBus bus, int controller)
{
    g_autofree char *key = NULL;

    if (bus == VM_BUS_IDE)
        return TRUE;     /* the IDE channels are part of the chipset */
    if (bus == VM_BUS_VIRTIO)
        return controller == 0;
    key = g_strdup_printf("%s%d.present", vm_bus_vmx_prefix(bus), controller);
    return vmx_get_bool(vmx, key, FALSE);
}

static gboolean
is_disk_type(const char *device_type)
{
    return g_ascii_strcasecmp(device_type, "scsi-hardDisk") == 0 ||
           g_ascii_strcasecmp(device_type, "ata-hardDisk") == 0 ||
           g_ascii_strcasecmp(device_type, "disk") == 0;
}

static gboolean
is_cdrom_type(const char *device_type)
{
    return g_ascii_strcasecmp(device_type, "cdrom-image") == 0 ||
           g_ascii_strcasecmp(device_type, "atapi-cdrom") == 0 ||
           g_ascii_strcasecmp(device_type, "cdrom-raw") == 0;
}

static SlotKind
classify_slot(const Vmx *vmx, VmBus bus, int controller, int unit)
{
    g_autofree char *node = vm_device_node(bus, controller, unit);
    const char *type = node_get(vmx, node, "deviceType");
    const char *file = node_get(vmx, node, "fileName");

    if (!node_get_bool(vmx, node, "present", FALSE))
        return SLOT_NONE;
    if (!controller_present(vmx, bus, controller))
        return SLOT_OTHER;
    if (type != NULL)
        return is_disk_type(type) ? SLOT_DISK : is_cdrom_type(type) ? SLOT_CDROM : SLOT_OTHER;
    if (file != NULL) {
        g_autofree char *lower = g_ascii_strdown(file, -1);
        if (g_str_has_suffix(lower, ".vmdk"))
            return SLOT_DISK;
    }
    return SLOT_OTHER;
}

/* "<prefix><digits>" then optionally ":<digits>", then ".present", for any
 * numbers (range is checked by the caller). */
static gboolean
parse_present_key(const char *key, VmBus *bus, int *controller, int *unit)
{
    for (int b = VM_BUS_IDE; b <= VM_BUS_VIRTIO; b++) {
        const char *prefix = vm_bus_vmx_prefix((VmBus)b);
        gsize len = strlen(prefix);
        const char *p = key + len;
        char *end;
        guint64 n;

        if (g_ascii_strncasecmp(key, prefix, len) != 0 || !g_ascii_isdigit(*p))
            continue;
        n = g_ascii_strtoull(p, &end, 10);
        *controller = (int)MIN(n, 9999);
        *unit = -1;
        if (*end == ':' && g_ascii_isdigit(end[1])) {
            n = g_ascii_strtoull(end + 1, &end, 10);
            *unit = (int)MIN(n, 9999);
        }
        if (g_ascii_strcasecmp(end, ".present") != 0)
            return FALSE;
        *bus = (VmBus)b;
        return TRUE;
    }
    return FALSE;
}

static gboolean
range_error(GError **error, const char *key, const char *what)
{
    g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                "%s: %s; Vireo cannot run this VM until it is moved or removed in the .vmx", key, what);
    return FALSE;
}

/* ---- reading ----------------------------------------------------------- */

static gboolean
read_scsi(const Vmx *vmx, VmConfig *config, int index, GError **error)
{
    g_autofree char *key = g_strdup_printf("scsi%d.virtualDev", index);
    const char *dev = vmx_get(vmx, key);
    VmScsiAdapter *adapter = g_new0(VmScsiAdapter, 1);

    adapter->index = index;
    adapter->type = VM_SCSI_LSILOGIC;   /* VMware's default when virtualDev is absent */
    if (dev != NULL && !vm_scsi_type_from_vmx_name(dev, &adapter->type)) {
        g_free(adapter);
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "%s = \"%s\" is not a SCSI controller Vireo knows: use pvscsi, lsisas1068, "
                    "lsilogic, buslogic or virtio-scsi", key, dev);
        return FALSE;
    }
    g_ptr_array_add(config->scsi_adapters, adapter);
    return TRUE;
}

static void
read_disk(const Vmx *vmx, VmConfig *config, VmBus bus, int controller, int unit)
{
    g_autofree char *node = vm_device_node(bus, controller, unit);
    VmDisk *disk = vm_disk_new(bus, controller, unit, node_get(vmx, node, "fileName"));
    const char *mode = node_get(vmx, node, "mode");

    /* Older products' "nonpersistent" is today's independent-nonpersistent;
     * "undoable"/"append" have no equivalent and run as persistent. */
    if (mode != NULL && g_ascii_strcasecmp(mode, "nonpersistent") == 0)
        disk->mode = VM_DISK_MODE_INDEPENDENT_NONPERSISTENT;
    else if (mode != NULL)
        vm_disk_mode_from_vmx_name(mode, &disk->mode);
    g_ptr_array_add(config->disks, disk);
}

static void
read_cdrom(const Vmx *vmx, VmConfig *config, VmBus bus, int controller, int unit)
{
    g_autofree char *node = vm_device_node(bus, controller, unit);
    VmCdrom *cdrom = vm_cdrom_new(bus, controller, unit);
    const char *type = node_get(vmx, node, "deviceType");
    const char *file = node_get(vmx, node, "fileName");

    cdrom->start_connected = node_get_bool(vmx, node, "startConnected", TRUE);
    if (node_get_bool(vmx, node, "clientDevice", FALSE) || file == NULL || file[0] == '\0') {
        cdrom->backing = VM_CDROM_CLIENT_DEVICE;
    } else if (g_ascii_strcasecmp(type, "cdrom-image") == 0) {
        cdrom->backing = VM_CDROM_ISO_FILE;
        cdrom->file_name = g_strdup(file);
    } else if (g_str_has_prefix(file, "/dev/") || g_str_has_prefix(file, "/vmfs/devices/")) {
        cdrom->backing = VM_CDROM_HOST_DEVICE;
        cdrom->file_name = g_strdup(file);
    } else {
        /* "emptyBackingString", "auto detect", "CD/DVD drive 0": nothing inserted. */
        cdrom->backing = VM_CDROM_CLIENT_DEVICE;
    }
    g_ptr_array_add(config->cdroms, cdrom);
}

static char *
lower_mac(const char *mac)
{
    return mac != NULL && mac[0] != '\0' ? g_ascii_strdown(mac, -1) : NULL;
}

static gboolean
read_nic(const Vmx *vmx, VmConfig *config, int index, GError **error)
{
    g_autofree char *node = g_strdup_printf("ethernet%d", index);
    const char *dev = node_get(vmx, node, "virtualDev");
    const char *addr_type = node_get(vmx, node, "addressType");
    VmNicType type = VM_NIC_E1000;   /* VMware's default when virtualDev is absent */
    VmNic *nic;

    if (dev != NULL && !vm_nic_type_from_vmx_name(dev, &type)) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "%s.virtualDev = \"%s\" is not a network adapter Vireo knows: use vmxnet3, "
                    "e1000, e1000e, vlance or virtio", node, dev);
        return FALSE;
    }
    nic = vm_nic_new(index, type, node_get(vmx, node, "networkName"));
    nic->start_connected = node_get_bool(vmx, node, "startConnected", TRUE);
    if (addr_type != NULL && g_ascii_strcasecmp(addr_type, "static") == 0) {
        nic->mac_type = VM_MAC_MANUAL;
        nic->mac_address = lower_mac(node_get(vmx, node, "address"));
    } else {
        nic->mac_type = VM_MAC_GENERATED;
        nic->mac_address = lower_mac(node_get(vmx, node, "generatedAddress"));
    }
    g_ptr_array_add(config->nics, nic);
    return TRUE;
}

static gboolean
read_counts(const Vmx *vmx, VmConfig *config, GError **error)
{
    const char *fw = vmx_get(vmx, "firmware");

    config->hardware_version = (int)vmx_get_int(vmx, "virtualHW.version", 4);
    config->cpu_count = (int)vmx_get_int(vmx, "numvcpus", 1);
    config->cores_per_socket = (int)vmx_get_int(vmx, "cpuid.coresPerSocket", 1);
    config->memory_mib = vmx_get_int(vmx, "memSize", 32);
    if (config->cpu_count < 1 || config->cpu_count > 128)
        return range_error(error, "numvcpus", "the vCPU count must be 1 to 128");
    if (config->cores_per_socket < 1 || config->cores_per_socket > 128)
        return range_error(error, "cpuid.coresPerSocket", "cores per socket must be 1 to 128");
    if (config->memory_mib < 1 || config->memory_mib > G_GINT64_CONSTANT(4) * 1024 * 1024)
        return range_error(error, "memSize", "the memory size must be 4 MiB to 4 TiB");
    if (fw == NULL || g_ascii_strcasecmp(fw, "bios") == 0)
        config->firmware = VM_FIRMWARE_BIOS;
    else if (g_ascii_strcasecmp(fw, "efi") == 0)
        config->firmware = VM_FIRMWARE_EFI;
    else
        return range_error(error, "firmware", "the firmware must be \"bios\" or \"efi\"");
    config->efi_secure_boot = vmx_get_bool(vmx, "uefi.secureBoot.enabled", FALSE);
    return TRUE;
}

static void
read_identity(const Vmx *vmx, VmConfig *config)
{
    const char *guest = vmx_get(vmx, "guestOS");

    config->name = g_strdup(vmx_get(vmx, "displayName"));
    g_free(config->guest_os);
    config->guest_os = g_strdup(guest != NULL && guest[0] != '\0' ? guest : "other");
    config->nvram = g_strdup(vmx_get(vmx, "nvram"));
    /* A malformed UUID is left out (and left alone in the file). */
    config->uuid_bios = vm_uuid_from_vmx(vmx_get(vmx, "uuid.bios"));
    config->uuid_instance = vm_uuid_from_vmx(vmx_get(vmx, "vc.uuid"));
    config->annotation = g_strdup(vmx_get(vmx, "annotation"));
    config->customization = g_strdup(vmx_get(vmx, "guestinfo.vireo.customization"));
}

/* One `<bus>N[:M].present = "TRUE"` key. */
static gboolean
read_present(const Vmx *vmx, VmConfig *config, const char *key, VmBus bus, int c, int u,
             GError **error)
{
    SlotKind kind;

    if (u < 0) {
        if (bus == VM_BUS_IDE || bus == VM_BUS_VIRTIO)
            return TRUE;
        if (c >= MAX_CONTROLLERS)
            return range_error(error, key, "controllers are numbered 0 to 3");
        if (bus == VM_BUS_SCSI)
            return read_scsi(vmx, config, c, error);
        if (bus == VM_BUS_SATA)
            config->sata_adapters = MAX(config->sata_adapters, c + 1);
        else
            config->nvme_adapters = MAX(config->nvme_adapters, c + 1);
        return TRUE;
    }
    if (vm_disk_key(bus, c, u) < 0) {
        g_autofree char *what = g_strdup_printf("position %s%d:%d is out of range (SCSI units are "
                                                "0-15 except 7, SATA 0-29, NVMe 0-14, IDE 0-1)",
                                                vm_bus_vmx_prefix(bus), c, u);
        return range_error(error, key, what);
    }
    kind = classify_slot(vmx, bus, c, u);
    if (kind == SLOT_DISK)
        read_disk(vmx, config, bus, c, u);
    else if (kind == SLOT_CDROM)
        read_cdrom(vmx, config, bus, c, u);
    return TRUE;
}

VmConfig *
vm_config_from_vmx(const Vmx *vmx, GError **error)
{
    g_autoptr(VmConfig) config = vm_config_new();
    g_autoptr(GPtrArray) keys = vmx_keys(vmx);

    read_identity(vmx, config);
    if (!read_counts(vmx, config, error))
        return NULL;
    for (guint i = 0; i < keys->len; i++) {
        const char *key = g_ptr_array_index(keys, i);
        VmBus bus;
        int c, u, n;
        char *end;

        if (!vmx_get_bool(vmx, key, FALSE))
            continue;
        if (parse_present_key(key, &bus, &c, &u)) {
            if (!read_present(vmx, config, key, bus, c, u, error))
                return NULL;
        } else if (g_ascii_strncasecmp(key, "ethernet", 8) == 0 && g_ascii_isdigit(key[8])) {
            guint64 big = g_ascii_strtoull(key + 8, &end, 10);
            n = (int)MIN(big, 9999);
            if (g_ascii_strcasecmp(end, ".present") != 0)
                continue;
            if (n >= MAX_NICS) {
                range_error(error, key, "network adapters are ethernet0 to ethernet9");
                return NULL;
            }
            if (!read_nic(vmx, config, n, error))
                return NULL;
        }
    }
    vm_config_sort_devices(config);
    return g_steal_pointer(&config);
}

/* ---- writing ----------------------------------------------------------- */

static void
set_or_remove(Vmx *vmx, const char *key, const char *value)
{
    if (value != NULL)
        vmx_set(vmx, key, value);
    else
        vmx_remove(vmx, key);
}

/* Writes a default-TRUE flag only where it matters, so ESXi files stay as they were. */
static void
set_flag(Vmx *vmx, const char *key, gboolean value, gboolean def)
{
    if (value != def || vmx_get(vmx, key) != NULL)
        vmx_set_bool(vmx, key, value);
}

static void
remove_device(Vmx *vmx, const char *node)
{
    g_autofree char *prefix = g_strdup_printf("%s.", node);
    g_autofree char *sched = g_strdup_printf("sched.%s.", node);

    vmx_remove_prefix(vmx, prefix);
    vmx_remove_prefix(vmx, sched);
}

static void
write_basics(const VmConfig *config, Vmx *vmx)
{
    g_autofree char *uuid_bios = config->uuid_bios ? vm_uuid_to_vmx(config->uuid_bios) : NULL;
    g_autofree char *uuid_vc = config->uuid_instance ? vm_uuid_to_vmx(config->uuid_instance) : NULL;

    if (vmx_get(vmx, "config.version") == NULL)
        vmx_set(vmx, "config.version", "8");
    vmx_set_int(vmx, "virtualHW.version", config->hardware_version);
    if (config->name != NULL)
        vmx_set(vmx, "displayName", config->name);
    if (config->guest_os != NULL)
        vmx_set(vmx, "guestOS", config->guest_os);
    vmx_set_int(vmx, "numvcpus", config->cpu_count);
    vmx_set_int(vmx, "cpuid.coresPerSocket", config->cores_per_socket);
    vmx_set_int(vmx, "memSize", config->memory_mib);
    if (config->firmware == VM_FIRMWARE_EFI)
        vmx_set(vmx, "firmware", "efi");
    else if (vmx_get(vmx, "firmware") != NULL)
        vmx_set(vmx, "firmware", "bios");
    set_flag(vmx, "uefi.secureBoot.enabled", config->efi_secure_boot, FALSE);
    set_or_remove(vmx, "nvram", config->nvram);
    if (uuid_bios != NULL)
        vmx_set(vmx, "uuid.bios", uuid_bios);
    if (uuid_vc != NULL)
        vmx_set(vmx, "vc.uuid", uuid_vc);
    set_or_remove(vmx, "annotation", config->annotation);
    set_or_remove(vmx, "guestinfo.vireo.customization", config->customization);
}

static void
write_controllers(const VmConfig *config, Vmx *vmx)
{
    for (int n = 0; n < MAX_CONTROLLERS; n++) {
        g_autofree char *scsi = g_strdup_printf("scsi%d", n);
        g_autofree char *sata = g_strdup_printf("sata%d", n);
        g_autofree char *nvme = g_strdup_printf("nvme%d", n);
        g_autofree char *scsi_prefix = g_strdup_printf("scsi%d.", n);
        g_autofree char *sata_prefix = g_strdup_printf("sata%d.", n);
        g_autofree char *nvme_prefix = g_strdup_printf("nvme%d.", n);
        VmScsiAdapter *adapter = vm_config_find_scsi(config, n);

        if (adapter != NULL) {
            node_set(vmx, scsi, "present", "TRUE");
            node_set(vmx, scsi, "virtualDev", vm_scsi_type_vmx_name(adapter->type));
        } else {
            vmx_remove_prefix(vmx, scsi_prefix);
        }
        if (n < config->sata_adapters)
            node_set(vmx, sata, "present", "TRUE");
        else
            vmx_remove_prefix(vmx, sata_prefix);
        if (n < config->nvme_adapters)
            node_set(vmx, nvme, "present", "TRUE");
        else
            vmx_remove_prefix(vmx, nvme_prefix);
    }
}

static void
write_disk(const VmDisk *disk, Vmx *vmx, SlotKind before)
{
    g_autofree char *node = vm_device_node(disk->bus, disk->controller, disk->unit);
    g_autofree char *mode_key = g_strdup_printf("%s.mode", node);
    const char *old_mode = vmx_get(vmx, mode_key);
    VmDiskMode parsed = VM_DISK_MODE_PERSISTENT;
    gboolean vmdk_name = disk->file_name && g_str_has_suffix(disk->file_name, ".vmdk");

    if (before != SLOT_DISK)
        remove_device(vmx, node);
    node_set(vmx, node, "present", "TRUE");
    if (disk->bus == VM_BUS_SCSI)
        node_set(vmx, node, "deviceType", "scsi-hardDisk");
    else if (disk->bus == VM_BUS_IDE)
        node_set(vmx, node, "deviceType", "ata-hardDisk");
    else if (!vmdk_name)
        node_set(vmx, node, "deviceType", "disk");
    node_set(vmx, node, "fileName", disk->file_name);
    /* Keep a mode key that already says the same thing (or one Vireo reads as persistent). */
    if (old_mode != NULL && g_ascii_strcasecmp(old_mode, "nonpersistent") == 0)
        parsed = VM_DISK_MODE_INDEPENDENT_NONPERSISTENT;
    else if (old_mode != NULL)
        vm_disk_mode_from_vmx_name(old_mode, &parsed);
    if (parsed != disk->mode)
        vmx_set(vmx, mode_key, vm_disk_mode_vmx_name(disk->mode));
}

static void
write_cdrom(const VmCdrom *cdrom, Vmx *vmx, SlotKind before)
{
    g_autofree char *node = vm_device_node(cdrom->bus, cdrom->controller, cdrom->unit);
    g_autofree char *type_key = g_strdup_printf("%s.deviceType", node);
    g_autofree char *client_key = g_strdup_printf("%s.clientDevice", node);
    g_autofree char *connected_key = g_strdup_printf("%s.startConnected", node);
    const char *old_type = vmx_get(vmx, type_key);

    if (before != SLOT_CDROM)
        remove_device(vmx, node);
    node_set(vmx, node, "present", "TRUE");
    switch (cdrom->backing) {
    case VM_CDROM_ISO_FILE:
        vmx_set(vmx, type_key, "cdrom-image");
        node_set(vmx, node, "fileName", cdrom->file_name);
        vmx_remove(vmx, client_key);
        break;
    case VM_CDROM_HOST_DEVICE:
        if (before != SLOT_CDROM || old_type == NULL || g_ascii_strcasecmp(old_type, "cdrom-raw") != 0)
            vmx_set(vmx, type_key, "atapi-cdrom");
        node_set(vmx, node, "fileName", cdrom->file_name);
        vmx_remove(vmx, client_key);
        break;
    default:
        vmx_set(vmx, type_key, "atapi-cdrom");
        node_set(vmx, node, "fileName", "emptyBackingString");
        vmx_set(vmx, client_key, "TRUE");
        break;
    }
    set_flag(vmx, connected_key, cdrom->start_connected, TRUE);
}

static void
write_storage(const VmConfig *config, Vmx *vmx, GHashTable *before)
{
    GHashTableIter iter;
    gpointer key, value;

    /* Positions that held a disk or CD-ROM and hold nothing now lose their keys. */
    g_hash_table_iter_init(&iter, before);
    while (g_hash_table_iter_next(&iter, &key, &value)) {
        VmBus bus;
        int c, u;
        vm_disk_key_parse(GPOINTER_TO_INT(key), &bus, &c, &u);
        if (!vm_config_slot_used(config, bus, c, u)) {
            g_autofree char *node = vm_device_node(bus, c, u);
            remove_device(vmx, node);
        }
    }
    for (guint i = 0; i < config->disks->len; i++) {
        const VmDisk *d = g_ptr_array_index(config->disks, i);
        int k = vm_disk_key(d->bus, d->controller, d->unit);
        write_disk(d, vmx, GPOINTER_TO_INT(g_hash_table_lookup(before, GINT_TO_POINTER(k))));
    }
    for (guint i = 0; i < config->cdroms->len; i++) {
        const VmCdrom *d = g_ptr_array_index(config->cdroms, i);
        int k = vm_disk_key(d->bus, d->controller, d->unit);
        write_cdrom(d, vmx, GPOINTER_TO_INT(g_hash_table_lookup(before, GINT_TO_POINTER(k))));
    }
}

/* Device key -> SlotKind of every modelled disk or CD-ROM in vmx now. */
static GHashTable *
modelled_slots(const Vmx *vmx)
{
    GHashTable *slots = g_hash_table_new(NULL, NULL);
    g_autoptr(GPtrArray) keys = vmx_keys(vmx);

    for (guint i = 0; i < keys->len; i++) {
        VmBus bus;
        int c, u;
        SlotKind kind;

        if (!parse_present_key(g_ptr_array_index(keys, i), &bus, &c, &u) || u < 0 ||
            vm_disk_key(bus, c, u) < 0)
            continue;
        kind = classify_slot(vmx, bus, c, u);
        if (kind == SLOT_DISK || kind == SLOT_CDROM)
            g_hash_table_insert(slots, GINT_TO_POINTER(vm_disk_key(bus, c, u)), GINT_TO_POINTER(kind));
    }
    return slots;
}

static void
write_nic(const VmNic *nic, Vmx *vmx)
{
    g_autofree char *node = g_strdup_printf("ethernet%d", nic->index);
    g_autofree char *connected_key = g_strdup_printf("%s.startConnected", node);
    const char *old_network = node_get(vmx, node, "networkName");
    const char *old_type = node_get(vmx, node, "addressType");

    node_set(vmx, node, "present", "TRUE");
    node_set(vmx, node, "virtualDev", vm_nic_type_vmx_name(nic->type));
    if (nic->network_name != NULL && g_strcmp0(old_network, nic->network_name) != 0) {
        g_autofree char *dvs = g_strdup_printf("%s.dvs.", node);
        g_autofree char *opaque = g_strdup_printf("%s.opaqueNetwork.", node);
        /* Moving to a standard port group: the distributed switch binding goes. */
        vmx_remove_prefix(vmx, dvs);
        vmx_remove_prefix(vmx, opaque);
        node_set(vmx, node, "networkName", nic->network_name);
    }
    if (nic->mac_type == VM_MAC_MANUAL) {
        node_set(vmx, node, "addressType", "static");
        node_set(vmx, node, "address", nic->mac_address);
        node_set(vmx, node, "generatedAddress", NULL);
        node_set(vmx, node, "generatedAddressOffset", NULL);
    } else {
        if (old_type == NULL || g_ascii_strcasecmp(old_type, "vpx") != 0)
            node_set(vmx, node, "addressType", "generated");
        if (nic->mac_address != NULL)
            node_set(vmx, node, "generatedAddress", nic->mac_address);
        node_set(vmx, node, "address", NULL);
    }
    set_flag(vmx, connected_key, nic->start_connected, TRUE);
}

static void
write_nics(const VmConfig *config, Vmx *vmx)
{
    g_autoptr(GPtrArray) keys = vmx_keys(vmx);
    g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func(g_free);

    for (guint i = 0; i < keys->len; i++) {
        const char *key = g_ptr_array_index(keys, i);
        char *end;
        guint64 n;

        if (g_ascii_strncasecmp(key, "ethernet", 8) != 0 || !g_ascii_isdigit(key[8]))
            continue;
        n = g_ascii_strtoull(key + 8, &end, 10);
        if (*end == '.' && (n >= MAX_NICS || vm_config_find_nic(config, (int)n) == NULL))
            g_ptr_array_add(gone, g_strndup(key, end - key + 1));
    }
    for (guint i = 0; i < gone->len; i++)
        vmx_remove_prefix(vmx, g_ptr_array_index(gone, i));
    for (guint i = 0; i < config->nics->len; i++)
        write_nic(g_ptr_array_index(config->nics, i), vmx);
}

void
vm_config_to_vmx(const VmConfig *config, Vmx *vmx)
{
    g_autoptr(GHashTable) before = modelled_slots(vmx);

    write_basics(config, vmx);
    write_controllers(config, vmx);
    write_storage(config, vmx, before);
    write_nics(config, vmx);
}
