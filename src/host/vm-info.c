/* vm-info.c — a VM and its devices as the vSphere API shows them (docs/api.md). */
#include "vm-spec.h"

#include <gio/gio.h>
#include "datastore.h"
#include "inventory.h"
#include "migration-check.h"
#include "qemu-argv.h"
#include "vm-launch.h"
#include "host-evc.h"

static const char *
bus_member(VmBus bus)
{
    switch (bus) {
    case VM_BUS_IDE: return "ide";
    case VM_BUS_SCSI: return "scsi";
    case VM_BUS_SATA: return "sata";
    case VM_BUS_NVME: return "nvme";
    case VM_BUS_VIRTIO: return "virtio";
    }
    return "scsi";
}

static void
add_position(JsonBuilder *b, VmBus bus, int controller, int unit)
{
    json_builder_set_member_name(b, "type");
    json_builder_add_string_value(b, vm_bus_to_string(bus));
    json_builder_set_member_name(b, bus_member(bus));
    json_builder_begin_object(b);
    if (bus == VM_BUS_IDE) {
        json_builder_set_member_name(b, "primary");
        json_builder_add_boolean_value(b, controller == 0);
        json_builder_set_member_name(b, "master");
        json_builder_add_boolean_value(b, unit == 0);
    }
    json_builder_set_member_name(b, "bus");
    json_builder_add_int_value(b, controller);
    json_builder_set_member_name(b, "unit");
    json_builder_add_int_value(b, unit);
    json_builder_end_object(b);
}

static void
member_string(JsonBuilder *b, const char *name, const char *value)
{
    json_builder_set_member_name(b, name);
    if (value)
        json_builder_add_string_value(b, value);
    else
        json_builder_add_null_value(b);
}

static void
member_int(JsonBuilder *b, const char *name, gint64 value)
{
    json_builder_set_member_name(b, name);
    json_builder_add_int_value(b, value);
}

/* A .vmx file name as "[datastore] path" when it can be, else as written. */
static char *
display_path(Vm *vm, const char *file_name, char **abs_out)
{
    g_autofree char *abs = host_resolve_datastore_path(vm->host, file_name, vm->dir, NULL, NULL);
    char *shown = abs ? host_datastore_path_of(vm->host, abs) : NULL;
    if (abs_out)
        *abs_out = g_steal_pointer(&abs);
    return shown ? shown : g_strdup(file_name);
}

static int
disk_number(Vm *vm, const VmDisk *disk)
{
    for (guint i = 0; i < vm->config->disks->len; i++)
        if (g_ptr_array_index(vm->config->disks, i) == disk)
            return (int)i + 1;
    return 0;
}

JsonNode *
vm_spec_disk_json(Vm *vm, const VmDisk *disk)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    g_autofree char *label = g_strdup_printf("Hard disk %d", disk_number(vm, disk));
    member_string(b, "label", label);
    add_position(b, disk->bus, disk->controller, disk->unit);
    g_autofree char *abs = NULL;
    g_autofree char *shown = display_path(vm, disk->file_name, &abs);
    json_builder_set_member_name(b, "backing");
    json_builder_begin_object(b);
    member_string(b, "type", "VMDK_FILE");
    member_string(b, "vmdk_file", shown);
    json_builder_end_object(b);
    g_autofree char *data = NULL;
    const char *format = NULL;
    gint64 capacity = -1;
    if (vm_launch_resolve_disk(vm, disk, NULL, &data, &format, NULL)) {
        capacity = disk->capacity_bytes;
        if (g_str_equal(format, "raw")) {
            g_autoptr(GFile) f = g_file_new_for_path(data);
            g_autoptr(GFileInfo) info = g_file_query_info(f, G_FILE_ATTRIBUTE_STANDARD_SIZE,
                                                          G_FILE_QUERY_INFO_NONE, NULL, NULL);
            if (info)
                capacity = g_file_info_get_size(info);
        }
        member_int(b, "space_used", (gint64)datastore_file_used_bytes(data));
        member_string(b, "provisioning", vm_disk_provisioning_to_string(
                                             datastore_disk_provisioning(abs)));
    }
    if (capacity >= 0)
        member_int(b, "capacity", capacity);
    member_string(b, "disk_mode", vm_disk_mode_vmx_name(disk->mode));
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

JsonNode *
vm_spec_nic_json(Vm *vm, const VmNic *nic)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    g_autofree char *label = g_strdup_printf("Network adapter %d", nic->index + 1);
    member_string(b, "label", label);
    member_string(b, "type", vm_nic_type_to_string(nic->type));
    member_string(b, "mac_type", vm_mac_type_to_string(nic->mac_type));
    member_string(b, "mac_address", nic->mac_address);
    json_builder_set_member_name(b, "start_connected");
    json_builder_add_boolean_value(b, nic->start_connected);
    json_builder_set_member_name(b, "backing");
    json_builder_begin_object(b);
    member_string(b, "type", "STANDARD_PORTGROUP");
    const HostPortgroupConfig *pg = host_lookup_portgroup(vm->host, nic->network_name);
    member_string(b, "network", pg ? inventory_object_id(vm->host->inventory, "network", pg->name) : NULL);
    member_string(b, "network_name", nic->network_name);
    json_builder_end_object(b);
    gboolean connected = vm->power_state == VM_POWER_STATE_POWERED_ON && nic->start_connected && pg;
    member_string(b, "state", connected ? "CONNECTED" : "NOT_CONNECTED");
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

JsonNode *
vm_spec_cdrom_json(Vm *vm, const VmCdrom *cd)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    int n = 1;
    for (guint i = 0; i < vm->config->cdroms->len; i++)
        if (g_ptr_array_index(vm->config->cdroms, i) == cd)
            n = (int)i + 1;
    g_autofree char *label = g_strdup_printf("CD/DVD drive %d", n);
    member_string(b, "label", label);
    add_position(b, cd->bus, cd->controller, cd->unit);
    json_builder_set_member_name(b, "start_connected");
    json_builder_add_boolean_value(b, cd->start_connected);
    json_builder_set_member_name(b, "backing");
    json_builder_begin_object(b);
    member_string(b, "type", vm_cdrom_backing_to_string(cd->backing));
    if (cd->backing == VM_CDROM_ISO_FILE && cd->file_name) {
        g_autofree char *shown = display_path(vm, cd->file_name, NULL);
        member_string(b, "iso_file", shown);
    }
    json_builder_end_object(b);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

JsonNode *
vm_spec_summary_json(Vm *vm)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    member_string(b, "vm", vm->id);
    member_string(b, "name", vm->config->name);
    member_string(b, "power_state", vm_power_state_to_string(vm->power_state));
    member_int(b, "cpu_count", vm->config->cpu_count);
    member_int(b, "memory_size_MiB", vm->config->memory_mib);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

static void
add_keyed(JsonBuilder *b, const char *member, int key, JsonNode *node)
{
    (void)member;
    g_autofree char *k = g_strdup_printf("%d", key);
    json_builder_set_member_name(b, k);
    json_builder_add_value(b, node);
}

static void
add_devices(JsonBuilder *b, Vm *vm)
{
    VmConfig *c = vm->config;
    json_builder_set_member_name(b, "scsi_adapters");
    json_builder_begin_object(b);
    for (guint i = 0; i < c->scsi_adapters->len; i++) {
        const VmScsiAdapter *a = g_ptr_array_index(c->scsi_adapters, i);
        g_autofree char *k = g_strdup_printf("%d", 1000 + a->index);
        g_autofree char *label = g_strdup_printf("SCSI controller %d", a->index);
        json_builder_set_member_name(b, k);
        json_builder_begin_object(b);
        member_string(b, "label", label);
        member_string(b, "type", vm_scsi_type_to_string(a->type));
        json_builder_set_member_name(b, "scsi");
        json_builder_begin_object(b);
        member_int(b, "bus", a->index);
        json_builder_end_object(b);
        json_builder_end_object(b);
    }
    json_builder_end_object(b);
    json_builder_set_member_name(b, "disks");
    json_builder_begin_object(b);
    for (guint i = 0; i < c->disks->len; i++) {
        const VmDisk *d = g_ptr_array_index(c->disks, i);
        add_keyed(b, "disks", vm_disk_key(d->bus, d->controller, d->unit), vm_spec_disk_json(vm, d));
    }
    json_builder_end_object(b);
    json_builder_set_member_name(b, "nics");
    json_builder_begin_object(b);
    for (guint i = 0; i < c->nics->len; i++) {
        const VmNic *n = g_ptr_array_index(c->nics, i);
        add_keyed(b, "nics", vm_nic_key(n->index), vm_spec_nic_json(vm, n));
    }
    json_builder_end_object(b);
    json_builder_set_member_name(b, "cdroms");
    json_builder_begin_object(b);
    for (guint i = 0; i < c->cdroms->len; i++) {
        const VmCdrom *cd = g_ptr_array_index(c->cdroms, i);
        add_keyed(b, "cdroms", vm_disk_key(cd->bus, cd->controller, cd->unit),
                  vm_spec_cdrom_json(vm, cd));
    }
    json_builder_end_object(b);
}

/* The VM's encrypted vMotion mode, VMware's migrate.encryptionMode (absent:
 * opportunistic). A value we cannot read counts as required: whoever wrote
 * it wanted encryption, and required is the mode that cannot leak. */
static const char *
vm_migrate_encryption(Vm *vm)
{
    const char *v = vm->vmx ? vmx_get(vm->vmx, "migrate.encryptionMode") : NULL;
    MigrationEncryption mode = MIGRATION_ENCRYPTION_OPPORTUNISTIC;
    if (v && !migration_encryption_from_string(v, &mode))
        mode = MIGRATION_ENCRYPTION_REQUIRED;
    return migration_encryption_to_string(mode);
}

JsonNode *
vm_spec_info_json(Vm *vm)
{
    VmConfig *c = vm->config;
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    member_string(b, "name", c->name);
    member_string(b, "power_state", vm_power_state_to_string(vm->power_state));
    member_string(b, "guest_OS", vm_guest_os_to_api(c->guest_os));
    json_builder_set_member_name(b, "identity");
    json_builder_begin_object(b);
    member_string(b, "name", c->name);
    member_string(b, "bios_uuid", c->uuid_bios);
    member_string(b, "instance_uuid", c->uuid_instance);
    json_builder_end_object(b);
    g_autofree char *hw = g_strdup_printf("VMX_%02d", c->hardware_version);
    json_builder_set_member_name(b, "hardware");
    json_builder_begin_object(b);
    member_string(b, "version", hw);
    json_builder_end_object(b);
    json_builder_set_member_name(b, "boot");
    json_builder_begin_object(b);
    member_string(b, "type", vm_firmware_to_string(c->firmware));
    json_builder_end_object(b);
    json_builder_set_member_name(b, "cpu");
    json_builder_begin_object(b);
    member_int(b, "count", c->cpu_count);
    member_int(b, "cores_per_socket", c->cores_per_socket);
    json_builder_set_member_name(b, "evc_mode");   /* docs/evc.md */
    if (host_evc_vm_mode(vm))
        json_builder_add_string_value(b, host_evc_vm_mode(vm));
    else
        json_builder_add_null_value(b);
    json_builder_end_object(b);
    json_builder_set_member_name(b, "memory");
    json_builder_begin_object(b);
    member_int(b, "size_MiB", c->memory_mib);
    json_builder_end_object(b);
    add_devices(b, vm);
    g_autofree char *vmx = host_datastore_path_of(vm->host, vm->vmx_path);
    member_string(b, "vmx_path", vmx);
    member_string(b, "migrate_encryption", vm_migrate_encryption(vm));
    json_builder_set_member_name(b, "template");
    json_builder_add_boolean_value(b, c->template);
    json_builder_set_member_name(b, "substitutions");
    json_builder_begin_array(b);
    g_autoptr(GPtrArray) subs = qemu_argv_substitutions(c);
    for (guint i = 0; subs && i < subs->len; i++)
        json_builder_add_string_value(b, g_ptr_array_index(subs, i));
    json_builder_end_array(b);
    if (vm->power_state_reason)
        member_string(b, "power_state_reason", vm->power_state_reason);
    if (vm->operation)
        member_string(b, "operation", vm->operation);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}
