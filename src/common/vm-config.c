/* vm-config.c — the VM configuration model: constructors, copies, look-ups,
 * device keys and enum string tables (validation: vm-config-validate.c;
 * guest OS names, MACs and UUIDs: vm-ids.c).
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

gboolean
vm_position_in_range(VmBus bus, int controller, int unit)
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
        if (!vm_position_in_range((VmBus)b, c, u))
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
    if (!vm_position_in_range(bus, controller, unit))
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
        if (!vm_position_in_range((VmBus)b, offset / l->key_stride, offset % l->key_stride))
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
