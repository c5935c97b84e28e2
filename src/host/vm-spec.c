/* vm-spec.c — reading the API's VM and device specs into a VmConfig. */
#include "vm-spec.h"
#include "datastore.h"
#include "json-util.h"
#include "vireo-error.h"

#include <string.h>

#define MIB (G_GUINT64_CONSTANT(1) << 20)

void
vm_spec_new_disk_free(VmSpecNewDisk *nd)
{
    if (!nd)
        return;
    g_free(nd->base_name);
    g_free(nd);
}

void
vm_spec_free(VmSpec *spec)
{
    if (!spec)
        return;
    vm_config_free(spec->config);
    g_free(spec->folder);
    g_ptr_array_unref(spec->new_disks);
    g_free(spec);
}

static gboolean
invalid(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static gboolean
invalid(GError **error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT, msg);
    return FALSE;
}

/* The first free (controller, unit) on bus. */
static gboolean
next_free_slot(const VmConfig *c, VmBus bus, int *controller, int *unit)
{
    static const int units[] = { [VM_BUS_IDE] = 2, [VM_BUS_SCSI] = 16, [VM_BUS_SATA] = 30,
                                 [VM_BUS_NVME] = 15, [VM_BUS_VIRTIO] = 32 };
    static const int controllers[] = { [VM_BUS_IDE] = 2, [VM_BUS_SCSI] = 4, [VM_BUS_SATA] = 4,
                                       [VM_BUS_NVME] = 4, [VM_BUS_VIRTIO] = 1 };
    int first = *controller >= 0 ? *controller : 0;
    int last = *controller >= 0 ? *controller : controllers[bus] - 1;
    for (int ctl = first; ctl <= last; ctl++) {
        for (int u = 0; u < units[bus]; u++) {
            if (bus == VM_BUS_SCSI && u == 7)
                continue;
            if (!vm_config_slot_used(c, bus, ctl, u)) {
                *controller = ctl;
                *unit = u;
                return TRUE;
            }
        }
    }
    return FALSE;
}

/* Ensures the controller a device needs exists (SCSI gets a PVSCSI). */
static void
ensure_controller(VmConfig *c, VmBus bus, int controller)
{
    if (bus == VM_BUS_SCSI && !vm_config_find_scsi(c, controller)) {
        VmScsiAdapter *a = g_new0(VmScsiAdapter, 1);
        a->index = controller;
        a->type = VM_SCSI_PVSCSI;
        g_ptr_array_add(c->scsi_adapters, a);
    } else if (bus == VM_BUS_SATA && c->sata_adapters <= controller) {
        c->sata_adapters = controller + 1;
    } else if (bus == VM_BUS_NVME && c->nvme_adapters <= controller) {
        c->nvme_adapters = controller + 1;
    }
}

/* Reads the type and the optional {bus, unit} position of a disk or CD-ROM. */
static gboolean
parse_position(JsonObject *obj, const char *where, VmBus def, VmBus *bus, int *controller,
               int *unit, GError **error)
{
    const char *type = NULL;
    if (!json_util_get_string(obj, "type", where, &type, error))
        return FALSE;
    *bus = def;
    if (type && !vm_bus_from_string(type, bus))
        return invalid(error, "%s.type: '%s' is not one of SCSI, SATA, NVME, IDE, VIRTIO", where, type);
    *controller = -1;
    *unit = -1;
    static const char *members[] = { [VM_BUS_IDE] = "ide", [VM_BUS_SCSI] = "scsi",
                                     [VM_BUS_SATA] = "sata", [VM_BUS_NVME] = "nvme",
                                     [VM_BUS_VIRTIO] = "virtio" };
    JsonObject *pos = NULL;
    if (!json_util_get_object(obj, members[*bus], where, &pos, error))
        return FALSE;
    if (pos) {
        gint64 b = -1, u = -1;
        g_autofree char *w = g_strdup_printf("%s.%s", where, members[*bus]);
        if (!json_util_get_int(pos, "bus", w, &b, error) ||
            !json_util_get_int(pos, "unit", w, &u, error))
            return FALSE;
        if (*bus == VM_BUS_IDE && json_object_has_member(pos, "primary"))
            b = json_object_get_boolean_member_with_default(pos, "primary", TRUE) ? 0 : 1;
        if (*bus == VM_BUS_IDE && json_object_has_member(pos, "master"))
            u = json_object_get_boolean_member_with_default(pos, "master", TRUE) ? 0 : 1;
        if (b < -1 || b > 3 || u < -1 || u > 31)
            return invalid(error, "%s: bus or unit out of range", w);
        *controller = (int)b;
        *unit = (int)u;
    }
    return TRUE;
}

static gboolean
place(VmConfig *c, VmBus bus, int *controller, int *unit, const char *where, GError **error)
{
    if (*unit < 0) {
        if (!next_free_slot(c, bus, controller, unit))
            return invalid(error, "%s: no free %s slot left", where, vm_bus_to_string(bus));
    } else {
        if (*controller < 0)
            *controller = 0;
        if (vm_config_slot_used(c, bus, *controller, *unit)) {
            g_autofree char *node = vm_device_node(bus, *controller, *unit);
            return invalid(error, "%s: %s is already taken by another device", where, node);
        }
    }
    ensure_controller(c, bus, *controller);
    return TRUE;
}

static char *
disk_base_name(const VmConfig *c, const char *base)
{
    for (int i = 0;; i++) {
        g_autofree char *cand = i == 0 ? g_strdup(base) : g_strdup_printf("%s_%d", base, i);
        g_autofree char *file = g_strdup_printf("%s.vmdk", cand);
        gboolean used = FALSE;
        for (guint d = 0; d < c->disks->len && !used; d++) {
            const VmDisk *disk = g_ptr_array_index(c->disks, d);
            used = g_strcmp0(disk->file_name, file) == 0;
        }
        if (!used)
            return g_steal_pointer(&cand);
    }
}

static gboolean
parse_new_vmdk(JsonObject *nv, const char *where, const VmConfig *c, const char *base,
               VmSpecNewDisk *nd, GError **error)
{
    g_autofree char *w = g_strdup_printf("%s.new_vmdk", where);
    gint64 capacity = 0;
    const char *prov = NULL, *name = NULL;
    if (!json_util_get_int(nv, "capacity", w, &capacity, error) ||
        !json_util_get_string(nv, "provisioning", w, &prov, error) ||
        !json_util_get_string(nv, "name", w, &name, error))
        return FALSE;
    if (capacity <= 0)
        return invalid(error, "%s.capacity: give the new disk's size in bytes (> 0)", w);
    if (capacity > (gint64)62 << 40)
        return invalid(error, "%s.capacity: %" G_GINT64_FORMAT " bytes is more than 62 TiB", w, capacity);
    nd->capacity = (guint64)capacity;
    nd->provisioning = VM_DISK_PROVISIONING_THIN;
    if (prov && !vm_disk_provisioning_from_string(prov, &nd->provisioning))
        return invalid(error, "%s.provisioning: '%s' is not THIN, THICK_LAZY_ZEROED or "
                       "THICK_EAGER_ZEROED", w, prov);
    if (name) {
        g_autofree char *esc = datastore_escape_name(name);
        if (g_str_has_suffix(esc, ".vmdk"))
            esc[strlen(esc) - 5] = '\0';
        nd->base_name = disk_base_name(c, esc);
    } else {
        nd->base_name = disk_base_name(c, base);
    }
    return TRUE;
}

static gboolean
parse_existing_vmdk(Host *host, JsonObject *backing, const char *where, char **file_name,
                    GError **error)
{
    const char *vmdk = NULL;
    g_autofree char *w = g_strdup_printf("%s.backing", where);
    if (!json_util_get_string(backing, "vmdk_file", w, &vmdk, error))
        return FALSE;
    if (!vmdk)
        return invalid(error, "%s.vmdk_file: give the disk as \"[datastore] folder/disk.vmdk\"", w);
    const char *ds = NULL;
    g_autofree char *abs = host_resolve_datastore_path(host, vmdk, NULL, &ds, error);
    if (!abs)
        return FALSE;
    if (!g_str_has_suffix(abs, ".vmdk") || !g_file_test(abs, G_FILE_TEST_IS_REGULAR)) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "%s: no disk %s", w, vmdk);
        return FALSE;
    }
    const HostDatastoreConfig *dsc = host_config_find_datastore(host->config, ds);
    *file_name = g_strdup_printf("/vmfs/volumes/%s/%s", ds, abs + strlen(dsc->path) + 1);
    return TRUE;
}

gboolean
vm_spec_add_disk(Host *host, VmConfig *c, JsonObject *obj, const char *where, const char *base,
                 VmSpecNewDisk **out_new, GError **error)
{
    VmBus bus;
    int controller, unit;
    if (!parse_position(obj, where, VM_BUS_SCSI, &bus, &controller, &unit, error))
        return FALSE;
    JsonObject *nv = NULL, *backing = NULL;
    if (!json_util_get_object(obj, "new_vmdk", where, &nv, error) ||
        !json_util_get_object(obj, "backing", where, &backing, error))
        return FALSE;
    if (!nv == !backing)
        return invalid(error, "%s: give either new_vmdk (a new disk) or backing (an existing "
                       ".vmdk), not %s", where, nv ? "both" : "neither");
    g_autoptr(GError) local = NULL;
    g_autofree char *file_name = NULL;
    VmSpecNewDisk *nd = NULL;
    if (nv) {
        nd = g_new0(VmSpecNewDisk, 1);
        if (!parse_new_vmdk(nv, where, c, base, nd, error)) {
            vm_spec_new_disk_free(nd);
            return FALSE;
        }
        file_name = g_strdup_printf("%s.vmdk", nd->base_name);
    } else if (!parse_existing_vmdk(host, backing, where, &file_name, error)) {
        return FALSE;
    }
    if (!place(c, bus, &controller, &unit, where, error)) {
        vm_spec_new_disk_free(nd);
        return FALSE;
    }
    VmDisk *disk = vm_disk_new(bus, controller, unit, file_name);
    disk->capacity_bytes = nd ? (gint64)nd->capacity : -1;
    g_ptr_array_add(c->disks, disk);
    if (nd)
        nd->disk = disk;
    if (out_new)
        *out_new = nd;
    else
        vm_spec_new_disk_free(nd);
    return TRUE;
}

char *
vm_spec_unique_mac(Host *host, const VmConfig *also)
{
    for (;;) {
        g_autofree char *mac = vm_mac_generate(g_random_int());
        gboolean used = FALSE;
        GHashTableIter it;
        gpointer value;
        g_hash_table_iter_init(&it, host->vms);
        while (!used && g_hash_table_iter_next(&it, NULL, &value)) {
            VmConfig *c = ((Vm *)value)->config;
            for (guint i = 0; i < c->nics->len && !used; i++)
                used = !g_ascii_strcasecmp(((VmNic *)g_ptr_array_index(c->nics, i))->mac_address
                                               ? ((VmNic *)g_ptr_array_index(c->nics, i))->mac_address : "", mac);
        }
        for (guint i = 0; also && i < also->nics->len && !used; i++) {
            const VmNic *n = g_ptr_array_index(also->nics, i);
            used = n->mac_address && !g_ascii_strcasecmp(n->mac_address, mac);
        }
        if (!used)
            return g_steal_pointer(&mac);
    }
}

static gboolean
apply_nic_fields(Host *host, VmConfig *c, VmNic *nic, JsonObject *obj, const char *where,
                 GError **error)
{
    const char *type = NULL, *mac_type = NULL, *mac = NULL;
    gboolean connected = nic->start_connected;
    JsonObject *backing = NULL;
    if (!json_util_get_string(obj, "type", where, &type, error) ||
        !json_util_get_string(obj, "mac_type", where, &mac_type, error) ||
        !json_util_get_string(obj, "mac_address", where, &mac, error) ||
        !json_util_get_bool(obj, "start_connected", where, &connected, error) ||
        !json_util_get_object(obj, "backing", where, &backing, error))
        return FALSE;
    if (type && !vm_nic_type_from_string(type, &nic->type))
        return invalid(error, "%s.type: '%s' is not one of VMXNET3, E1000, E1000E, PCNET32, VIRTIO",
                       where, type);
    if (backing) {
        const char *network = NULL;
        g_autofree char *w = g_strdup_printf("%s.backing", where);
        if (!json_util_get_string(backing, "network", w, &network, error))
            return FALSE;
        const HostPortgroupConfig *pg = host_lookup_portgroup(host, network);
        if (!pg) {
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND,
                        "%s.network: no port group '%s' on this host", w, network ? network : "");
            return FALSE;
        }
        g_free(nic->network_name);
        nic->network_name = g_strdup(pg->name);
    }
    VmMacType mt = nic->mac_type;
    if (mac_type && !vm_mac_type_from_string(mac_type, &mt))
        return invalid(error, "%s.mac_type: '%s' is not MANUAL or GENERATED", where, mac_type);
    if (mac && !mac_type)
        mt = VM_MAC_MANUAL;
    if (mt == VM_MAC_MANUAL) {
        if (!mac && !nic->mac_address)
            return invalid(error, "%s.mac_address: a MANUAL MAC needs an address", where);
        if (mac && !vm_mac_is_valid(mac))
            return invalid(error, "%s.mac_address: '%s' is not a unicast MAC address", where, mac);
        if (mac) {
            g_free(nic->mac_address);
            nic->mac_address = g_ascii_strdown(mac, -1);
        }
    } else if (mt != nic->mac_type || !nic->mac_address) {
        g_free(nic->mac_address);
        nic->mac_address = vm_spec_unique_mac(host, c);
    }
    nic->mac_type = mt;
    nic->start_connected = connected;
    return TRUE;
}

gboolean
vm_spec_add_nic(Host *host, VmConfig *c, JsonObject *obj, const char *where, VmNic **out,
                GError **error)
{
    int index = 0;
    while (vm_config_find_nic(c, index))
        index++;
    if (index > 9)
        return invalid(error, "%s: a VM has at most 10 network adapters", where);
    VmNic *nic = vm_nic_new(index, VM_NIC_VMXNET3, NULL);
    nic->start_connected = TRUE;
    nic->mac_type = VM_MAC_GENERATED;
    if (!apply_nic_fields(host, c, nic, obj, where, error))
        goto undo_nic;
    if (!nic->network_name) {
        const HostPortgroupConfig *pg = host->config->portgroups->len
            ? g_ptr_array_index(host->config->portgroups, 0) : NULL;
        if (!pg) {
            invalid(error, "%s.backing.network: this host has no port group", where);
            goto undo_nic;
        }
        nic->network_name = g_strdup(pg->name);
    }
    if (out)
        *out = nic;
    g_ptr_array_add(c->nics, nic);
    return TRUE;

undo_nic:
    vm_nic_free(nic);
    return FALSE;
}

gboolean
vm_spec_update_nic(Host *host, VmConfig *c, VmNic *nic, JsonObject *obj, GError **error)
{
    if (json_object_has_member(obj, "type"))
        return invalid(error, "a network adapter's type cannot change; remove it and add another");
    return apply_nic_fields(host, c, nic, obj, "spec", error);
}

static gboolean
apply_cdrom_fields(Host *host, VmCdrom *cd, JsonObject *obj, const char *where, GError **error)
{
    JsonObject *backing = NULL;
    gboolean connected = cd->start_connected;
    if (!json_util_get_object(obj, "backing", where, &backing, error) ||
        !json_util_get_bool(obj, "start_connected", where, &connected, error))
        return FALSE;
    if (backing) {
        g_autofree char *w = g_strdup_printf("%s.backing", where);
        const char *type = NULL, *iso = NULL;
        if (!json_util_get_string(backing, "type", w, &type, error) ||
            !json_util_get_string(backing, "iso_file", w, &iso, error))
            return FALSE;
        VmCdromBacking b = iso ? VM_CDROM_ISO_FILE : VM_CDROM_CLIENT_DEVICE;
        if (type && !vm_cdrom_backing_from_string(type, &b))
            return invalid(error, "%s.type: '%s' is not ISO_FILE, HOST_DEVICE or CLIENT_DEVICE", w, type);
        g_clear_pointer(&cd->file_name, g_free);
        if (b == VM_CDROM_ISO_FILE) {
            if (!iso)
                return invalid(error, "%s.iso_file: give the image as \"[datastore] path.iso\"", w);
            const char *ds = NULL;
            g_autofree char *abs = host_resolve_datastore_path(host, iso, NULL, &ds, error);
            if (!abs)
                return FALSE;
            if (!g_file_test(abs, G_FILE_TEST_IS_REGULAR)) {
                g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "%s: no file %s", w, iso);
                return FALSE;
            }
            const HostDatastoreConfig *dsc = host_config_find_datastore(host->config, ds);
            cd->file_name = g_strdup_printf("/vmfs/volumes/%s/%s", ds, abs + strlen(dsc->path) + 1);
        } else if (b == VM_CDROM_HOST_DEVICE) {
            return invalid(error, "%s: host CD/DVD devices are not supported; use an ISO image", w);
        }
        cd->backing = b;
    }
    cd->start_connected = connected;
    return TRUE;
}

gboolean
vm_spec_add_cdrom(Host *host, VmConfig *c, JsonObject *obj, const char *where, VmCdrom **out,
                  GError **error)
{
    VmBus bus;
    int controller, unit;
    if (!parse_position(obj, where, VM_BUS_SATA, &bus, &controller, &unit, error))
        return FALSE;
    if (bus == VM_BUS_NVME || bus == VM_BUS_VIRTIO)
        return invalid(error, "%s.type: a CD/DVD drive is on SATA, IDE or SCSI", where);
    VmCdrom *cd = vm_cdrom_new(bus, 0, 0);
    cd->backing = VM_CDROM_CLIENT_DEVICE;
    cd->start_connected = TRUE;
    if (!apply_cdrom_fields(host, cd, obj, where, error) ||
        !place(c, bus, &controller, &unit, where, error)) {
        vm_cdrom_free(cd);
        return FALSE;
    }
    cd->controller = controller;
    cd->unit = unit;
    if (out)
        *out = cd;
    g_ptr_array_add(c->cdroms, cd);
    return TRUE;
}

gboolean
vm_spec_update_cdrom(Host *host, VmCdrom *cdrom, JsonObject *obj, GError **error)
{
    return apply_cdrom_fields(host, cdrom, obj, "spec", error);
}

/* ---- the create spec ---------------------------------------------------- */

static gboolean
parse_hardware(JsonObject *o, VmConfig *c, GError **error)
{
    const char *guest = NULL, *hw = NULL;
    JsonObject *boot = NULL, *cpu = NULL, *mem = NULL;
    if (!json_util_get_string(o, "guest_OS", "spec", &guest, error) ||
        !json_util_get_string(o, "hardware_version", "spec", &hw, error) ||
        !json_util_get_object(o, "boot", "spec", &boot, error) ||
        !json_util_get_object(o, "cpu", "spec", &cpu, error) ||
        !json_util_get_object(o, "memory", "spec", &mem, error))
        return FALSE;
    const char *vmx_guest = "other4xlinux-64";
    if (guest && !vm_guest_os_from_api(guest, &vmx_guest))
        return invalid(error, "spec.guest_OS: '%s' is not a guest OS identifier this host "
                       "knows (e.g. OTHER_LINUX_64, DEBIAN_12_64, WINDOWS_9_64)", guest);
    g_free(c->guest_os);
    c->guest_os = g_strdup(vmx_guest);
    c->hardware_version = 19;
    if (hw) {
        gint64 v = 0;
        if (!g_str_has_prefix(hw, "VMX_") || !g_ascii_string_to_signed(hw + 4, 10, 4, 21, &v, NULL))
            return invalid(error, "spec.hardware_version: '%s' is not VMX_04 ... VMX_21", hw);
        c->hardware_version = (int)v;
    }
    const char *fw = NULL;
    if (boot && !json_util_get_string(boot, "type", "spec.boot", &fw, error))
        return FALSE;
    if (fw && !vm_firmware_from_string(fw, &c->firmware))
        return invalid(error, "spec.boot.type: '%s' is not BIOS or EFI", fw);
    gint64 count = 1, cores = 1, mib = 256;
    if ((cpu && (!json_util_get_int(cpu, "count", "spec.cpu", &count, error) ||
                 !json_util_get_int(cpu, "cores_per_socket", "spec.cpu", &cores, error))) ||
        (mem && !json_util_get_int(mem, "size_MiB", "spec.memory", &mib, error)))
        return FALSE;
    if (count < 1 || count > 128 || cores < 1 || cores > 128 || mib < 4 || mib > (G_GINT64_CONSTANT(4) << 20))
        return invalid(error, "spec.cpu/memory: CPUs 1-128, memory 4 MiB - 4 TiB");
    c->cpu_count = (int)count;
    c->cores_per_socket = (int)cores;
    c->memory_mib = mib;
    return TRUE;
}

static gboolean
parse_scsi_adapters(JsonArray *arr, VmConfig *c, GError **error)
{
    for (guint i = 0; arr && i < json_array_get_length(arr); i++) {
        g_autofree char *where = g_strdup_printf("spec.scsi_adapters[%u]", i);
        JsonObject *o = json_util_expect_object(json_array_get_element(arr, i), where, error);
        if (!o)
            return FALSE;
        const char *type = NULL;
        gint64 bus = -1;
        JsonObject *scsi = NULL;
        if (!json_util_get_string(o, "type", where, &type, error) ||
            !json_util_get_object(o, "scsi", where, &scsi, error) ||
            (scsi && !json_util_get_int(scsi, "bus", where, &bus, error)))
            return FALSE;
        if (bus < 0)
            bus = (gint64)i;
        if (bus > 3 || vm_config_find_scsi(c, (int)bus))
            return invalid(error, "%s: SCSI bus %" G_GINT64_FORMAT " is out of range or taken", where, bus);
        VmScsiAdapter *a = g_new0(VmScsiAdapter, 1);
        a->index = (int)bus;
        a->type = VM_SCSI_PVSCSI;
        g_ptr_array_add(c->scsi_adapters, a);
        if (type && !vm_scsi_type_from_string(type, &a->type))
            return invalid(error, "%s.type: '%s' is not PVSCSI, LSILOGICSAS, LSILOGIC, BUSLOGIC or VIRTIO",
                           where, type);
    }
    return TRUE;
}

typedef gboolean (*DeviceParser)(Host *, VmConfig *, JsonObject *, const char *, const char *,
                                 GPtrArray *, GError **);

static gboolean
parse_disk_entry(Host *h, VmConfig *c, JsonObject *o, const char *where, const char *base,
                 GPtrArray *new_disks, GError **error)
{
    VmSpecNewDisk *nd = NULL;
    if (!vm_spec_add_disk(h, c, o, where, base, &nd, error))
        return FALSE;
    if (nd)
        g_ptr_array_add(new_disks, nd);
    return TRUE;
}

static gboolean
parse_nic_entry(Host *h, VmConfig *c, JsonObject *o, const char *where, const char *base,
                GPtrArray *new_disks, GError **error)
{
    return vm_spec_add_nic(h, c, o, where, NULL, error);
}

static gboolean
parse_cdrom_entry(Host *h, VmConfig *c, JsonObject *o, const char *where, const char *base,
                  GPtrArray *new_disks, GError **error)
{
    return vm_spec_add_cdrom(h, c, o, where, NULL, error);
}

static gboolean
parse_devices(Host *host, JsonObject *spec, const char *member, DeviceParser parser,
              VmConfig *c, const char *base, GPtrArray *new_disks, GError **error)
{
    JsonArray *arr = NULL;
    if (!json_util_get_array(spec, member, "spec", &arr, error))
        return FALSE;
    for (guint i = 0; arr && i < json_array_get_length(arr); i++) {
        g_autofree char *where = g_strdup_printf("spec.%s[%u]", member, i);
        JsonObject *o = json_util_expect_object(json_array_get_element(arr, i), where, error);
        if (!o || !parser(host, c, o, where, base, new_disks, error))
            return FALSE;
    }
    return TRUE;
}

VmSpec *
vm_spec_parse(Host *host, JsonNode *body, GError **error)
{
    JsonObject *o = json_util_expect_object(body, "spec", error);
    if (!o)
        return NULL;
    g_autoptr(VmSpec) spec = g_new0(VmSpec, 1);
    spec->config = vm_config_new();
    spec->new_disks = g_ptr_array_new_with_free_func((GDestroyNotify)vm_spec_new_disk_free);
    VmConfig *c = spec->config;
    const char *name = NULL, *ds = NULL, *folder = NULL;
    JsonObject *placement = NULL;
    if (!json_util_get_string(o, "name", "spec", &name, error) ||
        !json_util_get_object(o, "placement", "spec", &placement, error) ||
        (placement && (!json_util_get_string(placement, "datastore", "spec.placement", &ds, error) ||
                       !json_util_get_string(placement, "folder", "spec.placement", &folder, error))))
        return NULL;
    if (!name || !*name) {
        invalid(error, "spec.name: give the VM a name");
        return NULL;
    }
    if (strlen(name) > 80) {
        invalid(error, "spec.name: a VM name has at most 80 bytes");
        return NULL;
    }
    if (!ds && host->config->datastores->len == 1)
        ds = ((HostDatastoreConfig *)g_ptr_array_index(host->config->datastores, 0))->name;
    spec->datastore = host_lookup_datastore(host, ds);
    if (!spec->datastore) {
        g_set_error(error, VIREO_ERROR, ds ? VIREO_ERROR_NOT_FOUND : VIREO_ERROR_INVALID_ARGUMENT,
                    ds ? "spec.placement.datastore: no datastore '%s' on this host"
                       : "spec.placement.datastore: say which datastore holds the VM%s", ds ? ds : "");
        return NULL;
    }
    c->name = g_strdup(name);
    spec->folder = datastore_escape_name(folder ? folder : name);
    JsonArray *scsi = NULL;
    if (!parse_hardware(o, c, error) ||
        !json_util_get_array(o, "scsi_adapters", "spec", &scsi, error) ||
        !parse_scsi_adapters(scsi, c, error) ||
        !parse_devices(host, o, "disks", parse_disk_entry, c, spec->folder, spec->new_disks, error) ||
        !parse_devices(host, o, "nics", parse_nic_entry, c, spec->folder, spec->new_disks, error) ||
        !parse_devices(host, o, "cdroms", parse_cdrom_entry, c, spec->folder, spec->new_disks, error))
        return NULL;
    if (!vm_config_validate(c, error))
        return NULL;
    return g_steal_pointer(&spec);
}
