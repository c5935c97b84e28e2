/* vm-config-validate.c — whether a VmConfig is one Vireo can run: counts,
 * positions, controllers, NICs; errors say what is wrong and what to do. */
#include "vm-config.h"
#include "vireo-error.h"
#include <string.h>

/* ---- validation -------------------------------------------------------- */

#define VM_NAME_MAX_BYTES 80
#define VM_CPU_MAX 128
#define VM_MEMORY_MIN_MIB 4
#define VM_MEMORY_MAX_MIB (G_GINT64_CONSTANT(4) * 1024 * 1024)
#define VM_NIC_MAX_INDEX 9
#define VM_ADAPTERS_MAX 4

static gboolean
invalid(GError **error, const char *format, ...) G_GNUC_PRINTF(2, 3);

static gboolean
invalid(GError **error, const char *format, ...)
{
    va_list args;
    g_autofree char *message = NULL;

    va_start(args, format);
    message = g_strdup_vprintf(format, args);
    va_end(args);
    g_set_error_literal(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT, message);
    return FALSE;
}

static gboolean
validate_basics(const VmConfig *c, GError **error)
{
    if (c->name == NULL || c->name[0] == '\0')
        return invalid(error, "The VM has no name: give it a name of 1 to %d bytes", VM_NAME_MAX_BYTES);
    if (strlen(c->name) > VM_NAME_MAX_BYTES)
        return invalid(error, "The VM name is %zu bytes long; use at most %d bytes",
                       strlen(c->name), VM_NAME_MAX_BYTES);
    if (c->cpu_count < 1 || c->cpu_count > VM_CPU_MAX)
        return invalid(error, "cpu_count %d is out of range: use 1 to %d virtual CPUs",
                       c->cpu_count, VM_CPU_MAX);
    if (c->cores_per_socket < 1 || c->cpu_count % c->cores_per_socket != 0)
        return invalid(error, "cores_per_socket %d does not divide cpu_count %d: "
                       "use a cores_per_socket that divides the CPU count (1 always does)",
                       c->cores_per_socket, c->cpu_count);
    if (c->memory_mib < VM_MEMORY_MIN_MIB || c->memory_mib > VM_MEMORY_MAX_MIB)
        return invalid(error, "memory size %" G_GINT64_FORMAT " MiB is out of range: "
                       "use %d MiB to %" G_GINT64_FORMAT " MiB (4 TiB)",
                       c->memory_mib, VM_MEMORY_MIN_MIB, VM_MEMORY_MAX_MIB);
    if (c->memory_mib % 4 != 0)
        return invalid(error, "memory size %" G_GINT64_FORMAT " MiB is not a multiple of 4 MiB: "
                       "round it to a multiple of 4", c->memory_mib);
    if (c->hardware_version < 3 || c->hardware_version > 99)
        return invalid(error, "hardware version %d is not a VMware virtual hardware version: "
                       "use one such as 19 (vmx-19)", c->hardware_version);
    if (c->guest_os == NULL || c->guest_os[0] == '\0')
        return invalid(error, "The VM has no guest OS: set one, e.g. OTHER_LINUX_64");
    if ((guint)c->firmware > VM_FIRMWARE_EFI)
        return invalid(error, "Unknown firmware %d: use BIOS or EFI", (int)c->firmware);
    if (c->efi_secure_boot && c->firmware != VM_FIRMWARE_EFI)
        return invalid(error, "Secure boot needs EFI firmware: set boot type EFI or turn secure boot off");
    return TRUE;
}

static gboolean
validate_adapters(const VmConfig *c, GError **error)
{
    for (guint i = 0; i < c->scsi_adapters->len; i++) {
        const VmScsiAdapter *a = g_ptr_array_index(c->scsi_adapters, i);

        if (a->index < 0 || a->index >= VM_ADAPTERS_MAX)
            return invalid(error, "SCSI controller %d is out of range: use bus 0 to %d",
                           a->index, VM_ADAPTERS_MAX - 1);
        if (vm_scsi_type_to_string(a->type) == NULL)
            return invalid(error, "SCSI controller %d has an unknown type: use PVSCSI, LSILOGICSAS or VIRTIO",
                           a->index);
        for (guint j = 0; j < i; j++) {
            const VmScsiAdapter *b = g_ptr_array_index(c->scsi_adapters, j);
            if (b->index == a->index)
                return invalid(error, "Two SCSI controllers use bus %d: give each its own bus number",
                               a->index);
        }
    }
    if (c->sata_adapters < 0 || c->sata_adapters > VM_ADAPTERS_MAX)
        return invalid(error, "%d SATA controllers requested: use 0 to %d",
                       c->sata_adapters, VM_ADAPTERS_MAX);
    if (c->nvme_adapters < 0 || c->nvme_adapters > VM_ADAPTERS_MAX)
        return invalid(error, "%d NVMe controllers requested: use 0 to %d",
                       c->nvme_adapters, VM_ADAPTERS_MAX);
    return TRUE;
}

static const char *const bus_ranges[] = {
    [VM_BUS_IDE] = "IDE positions are ide0:0 to ide1:1",
    [VM_BUS_SCSI] = "SCSI positions are scsi0:0 to scsi3:15, and unit 7 is the controller's own",
    [VM_BUS_SATA] = "SATA positions are sata0:0 to sata3:29",
    [VM_BUS_NVME] = "NVMe positions are nvme0:0 to nvme3:14",
    [VM_BUS_VIRTIO] = "virtio positions are virtio0:0 to virtio0:31",
};

/* Checks one disk or CD-ROM position: in range, on an existing controller. */
static gboolean
validate_position(const VmConfig *c, const char *what, VmBus bus, int controller, int unit,
                  GError **error)
{
    g_autofree char *node = NULL;

    if ((guint)bus > VM_BUS_VIRTIO)
        return invalid(error, "A %s is on an unknown bus: use SCSI, SATA, NVME, IDE or VIRTIO", what);
    node = vm_device_node(bus, controller, unit);
    if (!vm_position_in_range(bus, controller, unit))
        return invalid(error, "%s position %s is out of range: %s", what, node, bus_ranges[bus]);
    if (bus == VM_BUS_SCSI && vm_config_find_scsi(c, controller) == NULL)
        return invalid(error, "%s %s is on SCSI controller %d, which the VM does not have: "
                       "add the controller or move the %s", what, node, controller, what);
    if (bus == VM_BUS_SATA && controller >= c->sata_adapters)
        return invalid(error, "%s %s is on SATA controller %d, but the VM has %d: "
                       "add SATA controllers or move the %s", what, node, controller,
                       c->sata_adapters, what);
    if (bus == VM_BUS_NVME && controller >= c->nvme_adapters)
        return invalid(error, "%s %s is on NVMe controller %d, but the VM has %d: "
                       "add NVMe controllers or move the %s", what, node, controller,
                       c->nvme_adapters, what);
    return TRUE;
}

/* TRUE when two of the first `count` devices seen share a position. */
static gboolean
position_taken_before(const VmConfig *c, guint disk_count, guint cdrom_count,
                      VmBus bus, int controller, int unit)
{
    for (guint i = 0; i < disk_count; i++) {
        const VmDisk *d = g_ptr_array_index(c->disks, i);
        if (d->bus == bus && d->controller == controller && d->unit == unit)
            return TRUE;
    }
    for (guint i = 0; i < cdrom_count; i++) {
        const VmCdrom *d = g_ptr_array_index(c->cdroms, i);
        if (d->bus == bus && d->controller == controller && d->unit == unit)
            return TRUE;
    }
    return FALSE;
}

static gboolean
validate_disks(const VmConfig *c, GError **error)
{
    for (guint i = 0; i < c->disks->len; i++) {
        const VmDisk *d = g_ptr_array_index(c->disks, i);
        g_autofree char *node = NULL;

        if (!validate_position(c, "disk", d->bus, d->controller, d->unit, error))
            return FALSE;
        node = vm_device_node(d->bus, d->controller, d->unit);
        if (position_taken_before(c, i, 0, d->bus, d->controller, d->unit))
            return invalid(error, "Two disks are at %s: move one to a free unit", node);
        if (d->file_name == NULL || d->file_name[0] == '\0')
            return invalid(error, "Disk %s has no file: give it a .vmdk file", node);
        if (vm_disk_mode_vmx_name(d->mode) == NULL)
            return invalid(error, "Disk %s has an unknown mode: use persistent, "
                           "independent-persistent or independent-nonpersistent", node);
    }
    return TRUE;
}

static gboolean
validate_cdroms(const VmConfig *c, GError **error)
{
    for (guint i = 0; i < c->cdroms->len; i++) {
        const VmCdrom *d = g_ptr_array_index(c->cdroms, i);
        g_autofree char *node = NULL;

        if (!validate_position(c, "CD-ROM", d->bus, d->controller, d->unit, error))
            return FALSE;
        node = vm_device_node(d->bus, d->controller, d->unit);
        if (d->bus == VM_BUS_VIRTIO || d->bus == VM_BUS_NVME)
            return invalid(error, "CD-ROM %s: a CD-ROM cannot sit on %s; put it on SATA, IDE or SCSI",
                           node, vm_bus_to_string(d->bus));
        if (position_taken_before(c, c->disks->len, i, d->bus, d->controller, d->unit))
            return invalid(error, "Two devices are at %s: move the CD-ROM to a free unit", node);
        if (vm_cdrom_backing_to_string(d->backing) == NULL)
            return invalid(error, "CD-ROM %s has an unknown backing: use ISO_FILE, HOST_DEVICE "
                           "or CLIENT_DEVICE", node);
        if (d->backing != VM_CDROM_CLIENT_DEVICE && (d->file_name == NULL || d->file_name[0] == '\0'))
            return invalid(error, "CD-ROM %s has backing %s but no file: give the ISO or device path",
                           node, vm_cdrom_backing_to_string(d->backing));
    }
    return TRUE;
}

static gboolean
validate_nics(const VmConfig *c, GError **error)
{
    for (guint i = 0; i < c->nics->len; i++) {
        const VmNic *n = g_ptr_array_index(c->nics, i);

        if (n->index < 0 || n->index > VM_NIC_MAX_INDEX)
            return invalid(error, "Network adapter index %d is out of range: use ethernet0 to ethernet%d",
                           n->index, VM_NIC_MAX_INDEX);
        for (guint j = 0; j < i; j++) {
            const VmNic *m = g_ptr_array_index(c->nics, j);
            if (m->index == n->index)
                return invalid(error, "Two network adapters are ethernet%d: give each its own index",
                               n->index);
        }
        if (vm_nic_type_to_string(n->type) == NULL)
            return invalid(error, "ethernet%d has an unknown type: use VMXNET3, E1000, E1000E, "
                           "PCNET32 or VIRTIO", n->index);
        if (vm_mac_type_to_string(n->mac_type) == NULL)
            return invalid(error, "ethernet%d has an unknown MAC type: use GENERATED or MANUAL", n->index);
        if (n->mac_type == VM_MAC_MANUAL && n->mac_address == NULL)
            return invalid(error, "ethernet%d has a MANUAL MAC type but no address: "
                           "give mac_address, e.g. 00:50:56:00:12:34", n->index);
        if (n->mac_address != NULL && !vm_mac_is_valid(n->mac_address))
            return invalid(error, "ethernet%d: \"%s\" is not a usable MAC address: give six "
                           "colon-separated hex bytes of a unicast address", n->index, n->mac_address);
    }
    return TRUE;
}

gboolean
vm_config_validate(const VmConfig *config, GError **error)
{
    g_return_val_if_fail(config != NULL, FALSE);

    return validate_basics(config, error) &&
           validate_adapters(config, error) &&
           validate_disks(config, error) &&
           validate_cdroms(config, error) &&
           validate_nics(config, error);
}
