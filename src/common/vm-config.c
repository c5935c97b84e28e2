/* vm-config.c — the VM configuration model: constructors, copies, look-ups,
 * device keys, validation, enum string tables, guest OS names, MACs and UUIDs.
 * Pure code: no I/O, no clock, no randomness of its own.
 */
#include "vm-config.h"
#include "vireo-error.h"

#include <string.h>

/* ---- enum string tables ------------------------------------------------ */

static gboolean
lookup_name(const char *const *table, guint n, const char *s, int *out)
{
    if (s == NULL)
        return FALSE;
    for (guint i = 0; i < n; i++) {
        if (table[i] != NULL && g_ascii_strcasecmp(table[i], s) == 0) {
            *out = (int)i;
            return TRUE;
        }
    }
    return FALSE;
}

static const char *
table_name(const char *const *table, guint n, int value)
{
    if (value < 0 || (guint)value >= n)
        return NULL;
    return table[value];
}

/* Declares NAME_to_string/NAME_from_string over a table indexed by the enum. */
#define VM_ENUM_TABLE(prefix, Type, table)                                   \
    const char *prefix##_to_string(Type v)                                  \
    {                                                                        \
        return table_name(table, G_N_ELEMENTS(table), (int)v);              \
    }                                                                        \
    gboolean prefix##_from_string(const char *s, Type *out)                 \
    {                                                                        \
        int v;                                                               \
        if (!lookup_name(table, G_N_ELEMENTS(table), s, &v))                 \
            return FALSE;                                                    \
        *out = (Type)v;                                                      \
        return TRUE;                                                         \
    }

static const char *const power_state_names[] = {
    [VM_POWER_STATE_POWERED_OFF] = "POWERED_OFF",
    [VM_POWER_STATE_POWERED_ON] = "POWERED_ON",
    [VM_POWER_STATE_SUSPENDED] = "SUSPENDED",
};
VM_ENUM_TABLE(vm_power_state, VmPowerState, power_state_names)

static const char *const firmware_names[] = {
    [VM_FIRMWARE_BIOS] = "BIOS",
    [VM_FIRMWARE_EFI] = "EFI",
};
VM_ENUM_TABLE(vm_firmware, VmFirmware, firmware_names)

static const char *const bus_names[] = {
    [VM_BUS_IDE] = "IDE",
    [VM_BUS_SCSI] = "SCSI",
    [VM_BUS_SATA] = "SATA",
    [VM_BUS_NVME] = "NVME",
    [VM_BUS_VIRTIO] = "VIRTIO",
};
VM_ENUM_TABLE(vm_bus, VmBus, bus_names)

static const char *const bus_prefixes[] = {
    [VM_BUS_IDE] = "ide",
    [VM_BUS_SCSI] = "scsi",
    [VM_BUS_SATA] = "sata",
    [VM_BUS_NVME] = "nvme",
    [VM_BUS_VIRTIO] = "virtio",
};

const char *
vm_bus_vmx_prefix(VmBus bus)
{
    return table_name(bus_prefixes, G_N_ELEMENTS(bus_prefixes), (int)bus);
}

static const char *const scsi_type_names[] = {
    [VM_SCSI_PVSCSI] = "PVSCSI",
    [VM_SCSI_LSILOGICSAS] = "LSILOGICSAS",
    [VM_SCSI_LSILOGIC] = "LSILOGIC",
    [VM_SCSI_BUSLOGIC] = "BUSLOGIC",
    [VM_SCSI_VIRTIO] = "VIRTIO",
};
VM_ENUM_TABLE(vm_scsi_type, VmScsiType, scsi_type_names)

static const char *const scsi_type_vmx_names[] = {
    [VM_SCSI_PVSCSI] = "pvscsi",
    [VM_SCSI_LSILOGICSAS] = "lsisas1068",
    [VM_SCSI_LSILOGIC] = "lsilogic",
    [VM_SCSI_BUSLOGIC] = "buslogic",
    [VM_SCSI_VIRTIO] = "virtio-scsi",
};

const char *
vm_scsi_type_vmx_name(VmScsiType type)
{
    return table_name(scsi_type_vmx_names, G_N_ELEMENTS(scsi_type_vmx_names), (int)type);
}

gboolean
vm_scsi_type_from_vmx_name(const char *s, VmScsiType *out)
{
    int v;
    if (!lookup_name(scsi_type_vmx_names, G_N_ELEMENTS(scsi_type_vmx_names), s, &v))
        return FALSE;
    *out = (VmScsiType)v;
    return TRUE;
}

static const char *const provisioning_names[] = {
    [VM_DISK_PROVISIONING_THIN] = "THIN",
    [VM_DISK_PROVISIONING_THICK_LAZY_ZEROED] = "THICK_LAZY_ZEROED",
    [VM_DISK_PROVISIONING_THICK_EAGER_ZEROED] = "THICK_EAGER_ZEROED",
};
VM_ENUM_TABLE(vm_disk_provisioning, VmDiskProvisioning, provisioning_names)

static const char *const disk_mode_vmx_names[] = {
    [VM_DISK_MODE_PERSISTENT] = "persistent",
    [VM_DISK_MODE_INDEPENDENT_PERSISTENT] = "independent-persistent",
    [VM_DISK_MODE_INDEPENDENT_NONPERSISTENT] = "independent-nonpersistent",
};

const char *
vm_disk_mode_vmx_name(VmDiskMode mode)
{
    return table_name(disk_mode_vmx_names, G_N_ELEMENTS(disk_mode_vmx_names), (int)mode);
}

gboolean
vm_disk_mode_from_vmx_name(const char *s, VmDiskMode *out)
{
    int v;
    if (!lookup_name(disk_mode_vmx_names, G_N_ELEMENTS(disk_mode_vmx_names), s, &v))
        return FALSE;
    *out = (VmDiskMode)v;
    return TRUE;
}

static const char *const nic_type_names[] = {
    [VM_NIC_VMXNET3] = "VMXNET3",
    [VM_NIC_E1000] = "E1000",
    [VM_NIC_E1000E] = "E1000E",
    [VM_NIC_PCNET32] = "PCNET32",
    [VM_NIC_VMXNET2] = "VMXNET2",
    [VM_NIC_VIRTIO] = "VIRTIO",
};
VM_ENUM_TABLE(vm_nic_type, VmNicType, nic_type_names)

static const char *const nic_type_vmx_names[] = {
    [VM_NIC_VMXNET3] = "vmxnet3",
    [VM_NIC_E1000] = "e1000",
    [VM_NIC_E1000E] = "e1000e",
    [VM_NIC_PCNET32] = "vlance",
    [VM_NIC_VMXNET2] = "vmxnet",
    [VM_NIC_VIRTIO] = "virtio",
};

const char *
vm_nic_type_vmx_name(VmNicType type)
{
    return table_name(nic_type_vmx_names, G_N_ELEMENTS(nic_type_vmx_names), (int)type);
}

gboolean
vm_nic_type_from_vmx_name(const char *s, VmNicType *out)
{
    int v;
    /* "vmxnet2" is what some tools write for the enhanced vmxnet; same device. */
    if (s != NULL && g_ascii_strcasecmp(s, "vmxnet2") == 0) {
        *out = VM_NIC_VMXNET2;
        return TRUE;
    }
    if (!lookup_name(nic_type_vmx_names, G_N_ELEMENTS(nic_type_vmx_names), s, &v))
        return FALSE;
    *out = (VmNicType)v;
    return TRUE;
}

static const char *const mac_type_names[] = {
    [VM_MAC_GENERATED] = "GENERATED",
    [VM_MAC_MANUAL] = "MANUAL",
};
VM_ENUM_TABLE(vm_mac_type, VmMacType, mac_type_names)

static const char *const cdrom_backing_names[] = {
    [VM_CDROM_ISO_FILE] = "ISO_FILE",
    [VM_CDROM_HOST_DEVICE] = "HOST_DEVICE",
    [VM_CDROM_CLIENT_DEVICE] = "CLIENT_DEVICE",
};
VM_ENUM_TABLE(vm_cdrom_backing, VmCdromBacking, cdrom_backing_names)

/* ---- constructors ------------------------------------------------------ */

VmConfig *
vm_config_new(void)
{
    VmConfig *config = g_new0(VmConfig, 1);

    config->guest_os = g_strdup("other-64");
    config->hardware_version = 19;
    config->cpu_count = 1;
    config->cores_per_socket = 1;
    config->memory_mib = 32;
    config->firmware = VM_FIRMWARE_BIOS;
    config->scsi_adapters = g_ptr_array_new_with_free_func(g_free);
    config->disks = g_ptr_array_new_with_free_func((GDestroyNotify)vm_disk_free);
    config->cdroms = g_ptr_array_new_with_free_func((GDestroyNotify)vm_cdrom_free);
    config->nics = g_ptr_array_new_with_free_func((GDestroyNotify)vm_nic_free);
    return config;
}

void
vm_config_free(VmConfig *config)
{
    if (config == NULL)
        return;
    g_free(config->name);
    g_free(config->guest_os);
    g_free(config->nvram);
    g_free(config->uuid_bios);
    g_free(config->uuid_instance);
    g_ptr_array_unref(config->scsi_adapters);
    g_ptr_array_unref(config->disks);
    g_ptr_array_unref(config->cdroms);
    g_ptr_array_unref(config->nics);
    g_free(config->customization);
    g_free(config->annotation);
    g_free(config);
}

VmDisk *
vm_disk_new(VmBus bus, int controller, int unit, const char *file_name)
{
    VmDisk *disk = g_new0(VmDisk, 1);

    disk->bus = bus;
    disk->controller = controller;
    disk->unit = unit;
    disk->file_name = g_strdup(file_name);
    disk->mode = VM_DISK_MODE_PERSISTENT;
    disk->capacity_bytes = -1;
    return disk;
}

void
vm_disk_free(VmDisk *disk)
{
    if (disk == NULL)
        return;
    g_free(disk->file_name);
    g_free(disk);
}

VmCdrom *
vm_cdrom_new(VmBus bus, int controller, int unit)
{
    VmCdrom *cdrom = g_new0(VmCdrom, 1);

    cdrom->bus = bus;
    cdrom->controller = controller;
    cdrom->unit = unit;
    cdrom->backing = VM_CDROM_CLIENT_DEVICE;
    cdrom->start_connected = TRUE;
    return cdrom;
}

void
vm_cdrom_free(VmCdrom *cdrom)
{
    if (cdrom == NULL)
        return;
    g_free(cdrom->file_name);
    g_free(cdrom);
}

VmNic *
vm_nic_new(int index, VmNicType type, const char *network_name)
{
    VmNic *nic = g_new0(VmNic, 1);

    nic->index = index;
    nic->type = type;
    nic->network_name = g_strdup(network_name);
    nic->mac_type = VM_MAC_GENERATED;
    nic->start_connected = TRUE;
    return nic;
}

void
vm_nic_free(VmNic *nic)
{
    if (nic == NULL)
        return;
    g_free(nic->network_name);
    g_free(nic->mac_address);
    g_free(nic);
}

static gpointer
copy_scsi(gconstpointer src, gpointer unused)
{
    return g_memdup2(src, sizeof(VmScsiAdapter));
}

static gpointer
copy_disk(gconstpointer src, gpointer unused)
{
    const VmDisk *d = src;
    VmDisk *disk = vm_disk_new(d->bus, d->controller, d->unit, d->file_name);

    disk->mode = d->mode;
    disk->capacity_bytes = d->capacity_bytes;
    return disk;
}

static gpointer
copy_cdrom(gconstpointer src, gpointer unused)
{
    const VmCdrom *c = src;
    VmCdrom *cdrom = vm_cdrom_new(c->bus, c->controller, c->unit);

    cdrom->backing = c->backing;
    cdrom->file_name = g_strdup(c->file_name);
    cdrom->start_connected = c->start_connected;
    return cdrom;
}

static gpointer
copy_nic(gconstpointer src, gpointer unused)
{
    const VmNic *n = src;
    VmNic *nic = vm_nic_new(n->index, n->type, n->network_name);

    nic->mac_type = n->mac_type;
    nic->mac_address = g_strdup(n->mac_address);
    nic->start_connected = n->start_connected;
    return nic;
}

static void
replace_array(GPtrArray **dst, GPtrArray *src, GCopyFunc copy, GDestroyNotify free_func)
{
    g_ptr_array_unref(*dst);
    *dst = g_ptr_array_copy(src, copy, NULL);
    g_ptr_array_set_free_func(*dst, free_func);
}

VmConfig *
vm_config_copy(const VmConfig *config)
{
    VmConfig *copy = vm_config_new();

    g_free(copy->guest_os);
    copy->name = g_strdup(config->name);
    copy->guest_os = g_strdup(config->guest_os);
    copy->hardware_version = config->hardware_version;
    copy->cpu_count = config->cpu_count;
    copy->cores_per_socket = config->cores_per_socket;
    copy->memory_mib = config->memory_mib;
    copy->firmware = config->firmware;
    copy->efi_secure_boot = config->efi_secure_boot;
    copy->nvram = g_strdup(config->nvram);
    copy->uuid_bios = g_strdup(config->uuid_bios);
    copy->uuid_instance = g_strdup(config->uuid_instance);
    copy->template = config->template;
    copy->sata_adapters = config->sata_adapters;
    copy->nvme_adapters = config->nvme_adapters;
    copy->customization = g_strdup(config->customization);
    copy->annotation = g_strdup(config->annotation);
    replace_array(&copy->scsi_adapters, config->scsi_adapters, copy_scsi, g_free);
    replace_array(&copy->disks, config->disks, copy_disk, (GDestroyNotify)vm_disk_free);
    replace_array(&copy->cdroms, config->cdroms, copy_cdrom, (GDestroyNotify)vm_cdrom_free);
    replace_array(&copy->nics, config->nics, copy_nic, (GDestroyNotify)vm_nic_free);
    return copy;
}

/* ---- positions and device keys ---------------------------------------- */

typedef struct {
    int max_controller;      /* inclusive */
    int max_unit;            /* inclusive */
    int key_base;
    int key_stride;          /* keys per controller */
} BusLimits;

static const BusLimits bus_limits[] = {
    [VM_BUS_IDE] = { 1, 1, 3000, 2 },
    [VM_BUS_SCSI] = { 3, 15, 2000, 16 },
    [VM_BUS_SATA] = { 3, 29, 16000, 30 },
    [VM_BUS_NVME] = { 3, 14, 31000, 15 },
    [VM_BUS_VIRTIO] = { 0, 31, 40000, 32 },
};

static gboolean
position_in_range(VmBus bus, int controller, int unit)
{
    if ((guint)bus >= G_N_ELEMENTS(bus_limits))
        return FALSE;
    if (controller < 0 || controller > bus_limits[bus].max_controller)
        return FALSE;
    if (unit < 0 || unit > bus_limits[bus].max_unit)
        return FALSE;
    /* Unit 7 is the SCSI controller's own id. */
    return !(bus == VM_BUS_SCSI && unit == 7);
}

char *
vm_device_node(VmBus bus, int controller, int unit)
{
    return g_strdup_printf("%s%d:%d", vm_bus_vmx_prefix(bus), controller, unit);
}

static gboolean
parse_small_uint(const char *s, const char **end, int *out)
{
    gint64 v = 0;
    const char *p = s;

    while (g_ascii_isdigit(*p) && p - s < 4)
        v = v * 10 + (*p++ - '0');
    if (p == s || g_ascii_isdigit(*p))
        return FALSE;
    *out = (int)v;
    *end = p;
    return TRUE;
}

gboolean
vm_device_node_parse(const char *node, VmBus *bus, int *controller, int *unit)
{
    const char *p = NULL;
    int c, u;

    if (node == NULL)
        return FALSE;
    for (guint b = 0; b < G_N_ELEMENTS(bus_prefixes); b++) {
        gsize len = strlen(bus_prefixes[b]);
        if (g_ascii_strncasecmp(node, bus_prefixes[b], len) != 0)
            continue;
        p = node + len;
        if (!parse_small_uint(p, &p, &c) || *p != ':')
            return FALSE;
        if (!parse_small_uint(p + 1, &p, &u) || *p != '\0')
            return FALSE;
        if (!position_in_range((VmBus)b, c, u))
            return FALSE;
        *bus = (VmBus)b;
        *controller = c;
        *unit = u;
        return TRUE;
    }
    return FALSE;
}

int
vm_disk_key(VmBus bus, int controller, int unit)
{
    if (!position_in_range(bus, controller, unit))
        return -1;
    return bus_limits[bus].key_base + bus_limits[bus].key_stride * controller + unit;
}

gboolean
vm_disk_key_parse(int key, VmBus *bus, int *controller, int *unit)
{
    for (guint b = 0; b < G_N_ELEMENTS(bus_limits); b++) {
        const BusLimits *l = &bus_limits[b];
        int offset = key - l->key_base;

        if (offset < 0 || offset >= l->key_stride * (l->max_controller + 1))
            continue;
        if (!position_in_range((VmBus)b, offset / l->key_stride, offset % l->key_stride))
            return FALSE;
        *bus = (VmBus)b;
        *controller = offset / l->key_stride;
        *unit = offset % l->key_stride;
        return TRUE;
    }
    return FALSE;
}

int
vm_nic_key(int index)
{
    return 4000 + index;
}

/* ---- look-ups ---------------------------------------------------------- */

VmDisk *
vm_config_find_disk(const VmConfig *config, VmBus bus, int controller, int unit)
{
    for (guint i = 0; i < config->disks->len; i++) {
        VmDisk *d = g_ptr_array_index(config->disks, i);
        if (d->bus == bus && d->controller == controller && d->unit == unit)
            return d;
    }
    return NULL;
}

VmCdrom *
vm_config_find_cdrom(const VmConfig *config, VmBus bus, int controller, int unit)
{
    for (guint i = 0; i < config->cdroms->len; i++) {
        VmCdrom *c = g_ptr_array_index(config->cdroms, i);
        if (c->bus == bus && c->controller == controller && c->unit == unit)
            return c;
    }
    return NULL;
}

VmNic *
vm_config_find_nic(const VmConfig *config, int index)
{
    for (guint i = 0; i < config->nics->len; i++) {
        VmNic *n = g_ptr_array_index(config->nics, i);
        if (n->index == index)
            return n;
    }
    return NULL;
}

VmScsiAdapter *
vm_config_find_scsi(const VmConfig *config, int index)
{
    for (guint i = 0; i < config->scsi_adapters->len; i++) {
        VmScsiAdapter *a = g_ptr_array_index(config->scsi_adapters, i);
        if (a->index == index)
            return a;
    }
    return NULL;
}

gboolean
vm_config_slot_used(const VmConfig *config, VmBus bus, int controller, int unit)
{
    return vm_config_find_disk(config, bus, controller, unit) != NULL ||
           vm_config_find_cdrom(config, bus, controller, unit) != NULL;
}

static gint
cmp_scsi(gconstpointer a, gconstpointer b)
{
    const VmScsiAdapter *x = *(VmScsiAdapter *const *)a, *y = *(VmScsiAdapter *const *)b;
    return x->index - y->index;
}

static gint
cmp_nic(gconstpointer a, gconstpointer b)
{
    const VmNic *x = *(VmNic *const *)a, *y = *(VmNic *const *)b;
    return x->index - y->index;
}

static gint
cmp_disk(gconstpointer a, gconstpointer b)
{
    const VmDisk *x = *(VmDisk *const *)a, *y = *(VmDisk *const *)b;
    return vm_disk_key(x->bus, x->controller, x->unit) - vm_disk_key(y->bus, y->controller, y->unit);
}

static gint
cmp_cdrom(gconstpointer a, gconstpointer b)
{
    const VmCdrom *x = *(VmCdrom *const *)a, *y = *(VmCdrom *const *)b;
    return vm_disk_key(x->bus, x->controller, x->unit) - vm_disk_key(y->bus, y->controller, y->unit);
}

void
vm_config_sort_devices(VmConfig *config)
{
    g_ptr_array_sort(config->scsi_adapters, cmp_scsi);
    g_ptr_array_sort(config->nics, cmp_nic);
    g_ptr_array_sort(config->disks, cmp_disk);
    g_ptr_array_sort(config->cdroms, cmp_cdrom);
}

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

    if ((guint)bus >= G_N_ELEMENTS(bus_limits))
        return invalid(error, "A %s is on an unknown bus: use SCSI, SATA, NVME, IDE or VIRTIO", what);
    node = vm_device_node(bus, controller, unit);
    if (!position_in_range(bus, controller, unit))
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

/* ---- guest OS names ---------------------------------------------------- */

/* vSphere Automation API GuestOS ids and the .vmx guestOS names VMware writes
 * for them. The first row for an API id is the one written. */
static const struct {
    const char *api;
    const char *vmx;
} guest_os_table[] = {
    { "OTHER", "other" },
    { "OTHER_64", "other-64" },
    { "DOS", "dos" },
    { "WIN_31", "win31" },
    { "WIN_95", "win95" },
    { "WIN_98", "win98" },
    { "WIN_ME", "winme" },
    { "WIN_NT", "winnt" },
    { "WIN_2000_PRO", "win2000pro" },
    { "WIN_2000_SERV", "win2000serv" },
    { "WIN_XP_PRO", "winxppro" },
    { "WIN_XP_PRO_64", "winxppro-64" },
    { "WIN_NET_STANDARD", "winnetstandard" },
    { "WIN_NET_STANDARD_64", "winnetstandard-64" },
    { "WIN_NET_ENTERPRISE", "winnetenterprise" },
    { "WIN_NET_ENTERPRISE_64", "winnetenterprise-64" },
    { "WIN_VISTA", "winvista" },
    { "WIN_VISTA_64", "winvista-64" },
    { "WINDOWS_7", "windows7" },
    { "WINDOWS_7_64", "windows7-64" },
    { "WINDOWS_7_SERVER_64", "windows7srv-64" },
    { "WINDOWS_8", "windows8" },
    { "WINDOWS_8_64", "windows8-64" },
    { "WINDOWS_8_SERVER_64", "windows8srv-64" },
    { "WINDOWS_9", "windows9" },
    { "WINDOWS_9_64", "windows9-64" },
    { "WINDOWS_9_SERVER_64", "windows9srv-64" },
    { "WINDOWS_2019SERVER_64", "windows2019srv-64" },
    { "WINDOWS_2019SERVER_NEXT_64", "windows2019srvNext-64" },
    { "WINDOWS_2022_SERVER_NEXT_64", "windows2022srvNext-64" },
    { "WINDOWS_11_64", "windows11-64" },
    { "WINDOWS_12_64", "windows12-64" },
    { "WINDOWS_HYPERV", "winhyperv" },
    { "FREEBSD", "freebsd" },
    { "FREEBSD_64", "freebsd-64" },
    { "FREEBSD_11_64", "freebsd11-64" },
    { "FREEBSD_12_64", "freebsd12-64" },
    { "FREEBSD_13_64", "freebsd13-64" },
    { "FREEBSD_14_64", "freebsd14-64" },
    { "REDHAT", "redhat" },
    { "RHEL_2", "rhel2" },
    { "RHEL_3", "rhel3" },
    { "RHEL_3_64", "rhel3-64" },
    { "RHEL_4", "rhel4" },
    { "RHEL_4_64", "rhel4-64" },
    { "RHEL_5", "rhel5" },
    { "RHEL_5_64", "rhel5-64" },
    { "RHEL_6", "rhel6" },
    { "RHEL_6_64", "rhel6-64" },
    { "RHEL_7", "rhel7" },
    { "RHEL_7_64", "rhel7-64" },
    { "RHEL_8_64", "rhel8-64" },
    { "RHEL_9_64", "rhel9-64" },
    { "CENTOS", "centos" },
    { "CENTOS_64", "centos-64" },
    { "CENTOS_6", "centos6" },
    { "CENTOS_6_64", "centos6-64" },
    { "CENTOS_7_64", "centos7-64" },
    { "CENTOS_8_64", "centos8-64" },
    { "CENTOS_9_64", "centos9-64" },
    { "ORACLE_LINUX", "oraclelinux" },
    { "ORACLE_LINUX_64", "oraclelinux-64" },
    { "ORACLE_LINUX_7_64", "oraclelinux7-64" },
    { "ORACLE_LINUX_8_64", "oraclelinux8-64" },
    { "ORACLE_LINUX_9_64", "oraclelinux9-64" },
    { "ROCKYLINUX_64", "rockylinux-64" },
    { "ALMALINUX_64", "almalinux-64" },
    { "SLES", "sles" },
    { "SLES_64", "sles-64" },
    { "SLES_11_64", "sles11-64" },
    { "SLES_12_64", "sles12-64" },
    { "SLES_15_64", "sles15-64" },
    { "SLES_16_64", "sles16-64" },
    { "DEBIAN_6", "debian6" },
    { "DEBIAN_6_64", "debian6-64" },
    { "DEBIAN_7", "debian7" },
    { "DEBIAN_7_64", "debian7-64" },
    { "DEBIAN_8", "debian8" },
    { "DEBIAN_8_64", "debian8-64" },
    { "DEBIAN_9", "debian9" },
    { "DEBIAN_9_64", "debian9-64" },
    { "DEBIAN_10", "debian10" },
    { "DEBIAN_10_64", "debian10-64" },
    { "DEBIAN_11", "debian11" },
    { "DEBIAN_11_64", "debian11-64" },
    { "DEBIAN_12", "debian12" },
    { "DEBIAN_12_64", "debian12-64" },
    { "UBUNTU", "ubuntu" },
    { "UBUNTU_64", "ubuntu-64" },
    { "FEDORA", "fedora" },
    { "FEDORA_64", "fedora-64" },
    { "COREOS_64", "coreos-64" },
    { "VMWARE_PHOTON_64", "vmware-photon-64" },
    { "AMAZONLINUX2_64", "amazonlinux2-64" },
    { "AMAZONLINUX3_64", "amazonlinux3-64" },
    { "OTHER_24X_LINUX", "other24xlinux" },
    { "OTHER_24X_LINUX_64", "other24xlinux-64" },
    { "OTHER_26X_LINUX", "other26xlinux" },
    { "OTHER_26X_LINUX_64", "other26xlinux-64" },
    { "OTHER_3X_LINUX", "other3xlinux" },
    { "OTHER_3X_LINUX_64", "other3xlinux-64" },
    { "OTHER_4X_LINUX", "other4xlinux" },
    { "OTHER_4X_LINUX_64", "other4xlinux-64" },
    { "OTHER_5X_LINUX", "other5xlinux" },
    { "OTHER_5X_LINUX_64", "other5xlinux-64" },
    { "OTHER_6X_LINUX", "other6xlinux" },
    { "OTHER_6X_LINUX_64", "other6xlinux-64" },
    { "OTHER_LINUX", "otherlinux" },
    { "OTHER_LINUX_64", "otherlinux-64" },
    { "SOLARIS_10", "solaris10" },
    { "SOLARIS_10_64", "solaris10-64" },
    { "SOLARIS_11_64", "solaris11-64" },
    { "DARWIN_64", "darwin-64" },
};

const char *
vm_guest_os_to_api(const char *vmx_guest_os)
{
    for (guint i = 0; vmx_guest_os != NULL && i < G_N_ELEMENTS(guest_os_table); i++) {
        if (g_ascii_strcasecmp(guest_os_table[i].vmx, vmx_guest_os) == 0)
            return guest_os_table[i].api;
    }
    return "OTHER";
}

gboolean
vm_guest_os_from_api(const char *api_id, const char **vmx_guest_os)
{
    for (guint i = 0; api_id != NULL && i < G_N_ELEMENTS(guest_os_table); i++) {
        if (g_ascii_strcasecmp(guest_os_table[i].api, api_id) == 0) {
            *vmx_guest_os = guest_os_table[i].vmx;
            return TRUE;
        }
    }
    return FALSE;
}

/* ---- MAC addresses ----------------------------------------------------- */

char *
vm_mac_generate(guint32 random_bits)
{
    /* VMware's "static" range: 00:50:56, then 22 bits (first byte 00-3f). */
    return g_strdup_printf("00:50:56:%02x:%02x:%02x",
                           (random_bits >> 16) & 0x3f, (random_bits >> 8) & 0xff,
                           random_bits & 0xff);
}

gboolean
vm_mac_is_valid(const char *mac)
{
    guint8 bytes[6];
    gboolean nonzero = FALSE;

    if (mac == NULL || strlen(mac) != 17)
        return FALSE;
    for (int i = 0; i < 6; i++) {
        const char *p = mac + 3 * i;
        if (!g_ascii_isxdigit(p[0]) || !g_ascii_isxdigit(p[1]))
            return FALSE;
        if (i < 5 && p[2] != ':')
            return FALSE;
        bytes[i] = (guint8)(g_ascii_xdigit_value(p[0]) << 4 | g_ascii_xdigit_value(p[1]));
        nonzero |= bytes[i] != 0;
    }
    /* Bit 0 of the first byte set means multicast/broadcast. */
    return nonzero && (bytes[0] & 1) == 0;
}

/* ---- UUIDs ------------------------------------------------------------- */

/* Collects exactly 32 hex digits from s, skipping the separators allowed by
 * `separators`; FALSE on anything else. */
static gboolean
uuid_hex_digits(const char *s, const char *separators, char out[33])
{
    int n = 0;

    for (const char *p = s; *p != '\0'; p++) {
        if (strchr(separators, *p) != NULL)
            continue;
        if (!g_ascii_isxdigit(*p) || n == 32)
            return FALSE;
        out[n++] = g_ascii_tolower(*p);
    }
    out[n] = '\0';
    return n == 32;
}

char *
vm_uuid_to_vmx(const char *canonical)
{
    char hex[33];
    GString *s;

    if (canonical == NULL || !g_uuid_string_is_valid(canonical) ||
        !uuid_hex_digits(canonical, "-", hex))
        return NULL;
    s = g_string_sized_new(48);
    for (int i = 0; i < 16; i++) {
        if (i > 0)
            g_string_append_c(s, i == 8 ? '-' : ' ');
        g_string_append_len(s, hex + 2 * i, 2);
    }
    return g_string_free(s, FALSE);
}

char *
vm_uuid_from_vmx(const char *vmx_form)
{
    char hex[33];

    if (vmx_form == NULL || !uuid_hex_digits(vmx_form, " -", hex))
        return NULL;
    return g_strdup_printf("%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}
