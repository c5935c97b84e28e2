/* cli-spec.c — turns the CLI's compact device specs ("10G:thin:scsi",
 * "VM Network:e1000:00:50:56:00:00:01") into the JSON specs of docs/api.md,
 * and numbers new devices on their controllers. Pure: no I/O.
 */
#include "cli.h"

#include <string.h>

typedef struct {
    const char *word;
    const char *api;
} SpecWord;

static const SpecWord spec_buses[] = {
    { "scsi", "SCSI" }, { "sata", "SATA" }, { "nvme", "NVME" }, { "virtio", "VIRTIO" }, { "ide", "IDE" },
};
static const SpecWord spec_provisionings[] = {
    { "thin", "THIN" }, { "thick-lazy", "THICK_LAZY_ZEROED" }, { "thick", "THICK_LAZY_ZEROED" },
    { "thick-eager", "THICK_EAGER_ZEROED" },
};
static const SpecWord spec_nic_types[] = {
    { "vmxnet3", "VMXNET3" }, { "e1000", "E1000" }, { "e1000e", "E1000E" },
    { "pcnet32", "PCNET32" }, { "vlance", "PCNET32" }, { "virtio", "VIRTIO" },
};
static const SpecWord spec_scsi_types[] = {
    { "pvscsi", "PVSCSI" }, { "lsilogicsas", "LSILOGICSAS" }, { "lsilogic", "LSILOGIC" },
    { "buslogic", "BUSLOGIC" }, { "virtio", "VIRTIO" },
};

static const char *
spec_lookup(const SpecWord *table, gsize n, const char *word)
{
    for (gsize i = 0; word && i < n; i++) {
        if (g_ascii_strcasecmp(table[i].word, word) == 0 || g_str_equal(table[i].api, word))
            return table[i].api;
    }
    return NULL;
}

#define SPEC_LOOKUP(table, word) spec_lookup(table, G_N_ELEMENTS(table), word)

const char *
cli_spec_scsi_type(const char *word)
{
    return SPEC_LOOKUP(spec_scsi_types, word);
}

static JsonNode *
spec_object_node(JsonObject *obj)
{
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);

    json_node_take_object(node, obj);
    return node;
}

JsonNode *
cli_spec_disk(const char *text, GError **error)
{
    g_auto(GStrv) parts = g_strsplit(text, ":", -1);
    const char *bus = "SCSI";
    const char *provisioning = "THIN";
    guint64 capacity = 0;
    JsonObject *disk, *vmdk;

    if (!parts[0] || !cli_size_parse(parts[0], &capacity, error))
        return NULL;
    if (capacity == 0) {
        g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "disk '%s': the size must not be 0", text);
        return NULL;
    }
    for (guint i = 1; parts[i]; i++) {
        const char *b = SPEC_LOOKUP(spec_buses, parts[i]);
        const char *p = SPEC_LOOKUP(spec_provisionings, parts[i]);
        if (b)
            bus = b;
        else if (p)
            provisioning = p;
        else {
            g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE,
                        "disk '%s': '%s' is neither a provisioning (thin, thick-lazy, thick-eager) "
                        "nor a bus (scsi, sata, nvme, virtio, ide)", text, parts[i]);
            return NULL;
        }
    }
    disk = json_object_new();
    json_object_set_string_member(disk, "type", bus);
    vmdk = json_object_new();
    json_object_set_int_member(vmdk, "capacity", (gint64)capacity);
    json_object_set_string_member(vmdk, "provisioning", provisioning);
    json_object_set_object_member(disk, "new_vmdk", vmdk);
    return spec_object_node(disk);
}

static JsonObject *
spec_backing(const char *type, const char *member, const char *value)
{
    JsonObject *backing = json_object_new();

    json_object_set_string_member(backing, "type", type);
    if (member)
        json_object_set_string_member(backing, member, value);
    return backing;
}

JsonNode *
cli_spec_existing_disk(const char *text, GError **error)
{
    g_autofree char *path = g_strdup(text);
    char *colon = strrchr(path, ':');
    const char *bus = "SCSI";
    JsonObject *disk;

    if (colon && SPEC_LOOKUP(spec_buses, colon + 1)) {
        bus = SPEC_LOOKUP(spec_buses, colon + 1);
        *colon = '\0';
    }
    if (!g_str_has_suffix(path, ".vmdk")) {
        g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE,
                    "existing disk '%s': give a datastore path like \"[datastore1] vm/vm.vmdk\"", text);
        return NULL;
    }
    disk = json_object_new();
    json_object_set_string_member(disk, "type", bus);
    json_object_set_object_member(disk, "backing", spec_backing("VMDK_FILE", "vmdk_file", path));
    return spec_object_node(disk);
}

static gboolean
spec_is_mac(const char *text)
{
    if (strlen(text) != 17)
        return FALSE;
    for (int i = 0; i < 17; i++) {
        if (i % 3 == 2 ? text[i] != ':' : !g_ascii_isxdigit(text[i]))
            return FALSE;
    }
    return TRUE;
}

JsonNode *
cli_spec_nic(const char *text, GError **error)
{
    g_autofree char *rest = g_strdup(text);
    gsize len = strlen(rest);
    const char *type = "VMXNET3";
    g_autofree char *mac = NULL;
    char *colon;
    JsonObject *nic;

    if (len > 18 && rest[len - 18] == ':' && spec_is_mac(rest + len - 17)) {
        mac = g_ascii_strdown(rest + len - 17, -1);
        rest[len - 18] = '\0';
    }
    colon = strrchr(rest, ':');
    if (colon && SPEC_LOOKUP(spec_nic_types, colon + 1)) {
        type = SPEC_LOOKUP(spec_nic_types, colon + 1);
        *colon = '\0';
    } else if (colon) {
        g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE,
                    "NIC '%s': '%s' is not an adapter type (vmxnet3, e1000, e1000e, pcnet32, virtio) "
                    "nor a MAC address (00:50:56:xx:xx:xx)", text, colon + 1);
        return NULL;
    }
    if (!*rest) {
        g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "NIC '%s': no port group given", text);
        return NULL;
    }
    nic = json_object_new();
    json_object_set_string_member(nic, "type", type);
    json_object_set_object_member(nic, "backing", spec_backing("STANDARD_PORTGROUP", "network", rest));
    json_object_set_string_member(nic, "mac_type", mac ? "MANUAL" : "GENERATED");
    if (mac)
        json_object_set_string_member(nic, "mac_address", mac);
    json_object_set_boolean_member(nic, "start_connected", TRUE);
    return spec_object_node(nic);
}

JsonNode *
cli_spec_cdrom(const char *iso, GError **error)
{
    JsonObject *cdrom = json_object_new();

    if (iso && !g_str_has_suffix(iso, ".iso") && !g_str_has_suffix(iso, ".ISO")) {
        json_object_unref(cdrom);
        g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE,
                    "ISO '%s': give a datastore path like \"[datastore1] iso/image.iso\"", iso);
        return NULL;
    }
    json_object_set_string_member(cdrom, "type", "SATA");
    if (iso)
        json_object_set_object_member(cdrom, "backing", spec_backing("ISO_FILE", "iso_file", iso));
    else
        json_object_set_object_member(cdrom, "backing", spec_backing("CLIENT_DEVICE", NULL, NULL));
    json_object_set_boolean_member(cdrom, "start_connected", iso != NULL);
    return spec_object_node(cdrom);
}

/* Controller limits per bus type: member name, buses, units per bus. */
static const struct {
    const char *type;
    const char *member;
    int buses, units;
} spec_controllers[] = {
    { "SCSI", "scsi", 4, 16 }, { "SATA", "sata", 4, 30 }, { "NVME", "nvme", 4, 15 }, { "IDE", "ide", 2, 2 },
};

static int
spec_controller_index(const char *type)
{
    for (guint i = 0; type && i < G_N_ELEMENTS(spec_controllers); i++) {
        if (g_str_equal(spec_controllers[i].type, type))
            return (int)i;
    }
    return -1;
}

/* Marks the bus/unit of one device (spec or info) as used. */
static void
spec_mark_used(GHashTable *used, JsonObject *device)
{
    int c = spec_controller_index(cli_json_str(device, "type"));
    JsonObject *addr = c >= 0 ? cli_json_obj(device, spec_controllers[c].member) : NULL;

    if (addr)
        g_hash_table_add(used, g_strdup_printf("%d/%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT, c,
                                               cli_json_int(addr, "bus"), cli_json_int(addr, "unit")));
}

static void
spec_mark_existing(GHashTable *used, JsonObject *devices)
{
    g_autoptr(GList) members = devices ? json_object_get_values(devices) : NULL;

    for (GList *l = members; l; l = l->next) {
        if (JSON_NODE_HOLDS_OBJECT(l->data))
            spec_mark_used(used, json_node_get_object(l->data));
    }
}

static void
spec_assign_one(GHashTable *used, JsonObject *device)
{
    int c = spec_controller_index(cli_json_str(device, "type"));

    if (c < 0 || cli_json_obj(device, spec_controllers[c].member))
        return;
    for (int bus = 0; bus < spec_controllers[c].buses; bus++) {
        for (int unit = 0; unit < spec_controllers[c].units; unit++) {
            g_autofree char *key = g_strdup_printf("%d/%d/%d", c, bus, unit);
            if ((c == 0 && unit == 7) || g_hash_table_contains(used, key))
                continue;
            JsonObject *addr = json_object_new();
            json_object_set_int_member(addr, "bus", bus);
            json_object_set_int_member(addr, "unit", unit);
            json_object_set_object_member(device, spec_controllers[c].member, addr);
            g_hash_table_add(used, g_steal_pointer(&key));
            return;
        }
    }
}

void
cli_spec_assign_units(JsonArray *disks, JsonArray *cdroms, JsonObject *existing_vm)
{
    g_autoptr(GHashTable) used = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    JsonArray *lists[] = { disks, cdroms };

    spec_mark_existing(used, cli_json_obj(existing_vm, "disks"));
    spec_mark_existing(used, cli_json_obj(existing_vm, "cdroms"));
    for (guint l = 0; l < G_N_ELEMENTS(lists); l++) {
        for (guint i = 0; lists[l] && i < json_array_get_length(lists[l]); i++)
            spec_mark_used(used, json_array_get_object_element(lists[l], i));
    }
    for (guint l = 0; l < G_N_ELEMENTS(lists); l++) {
        for (guint i = 0; lists[l] && i < json_array_get_length(lists[l]); i++)
            spec_assign_one(used, json_array_get_object_element(lists[l], i));
    }
}

/* "--memory 512" is MiB; "--memory 2G" a size. */
static gboolean
spec_memory_mib(const char *text, gint64 *mib, GError **error)
{
    guint64 bytes = 0;
    const char *p = text;

    while (g_ascii_isdigit(*p))
        p++;
    if (*text && !*p) {
        *mib = g_ascii_strtoll(text, NULL, 10);
    } else if (cli_size_parse(text, &bytes, error)) {
        *mib = (gint64)(bytes / (1024 * 1024));
    } else {
        return FALSE;
    }
    if (*mib < 4) {
        g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "memory '%s': give at least 4 MiB", text);
        return FALSE;
    }
    return TRUE;
}

static gboolean
spec_add_devices(JsonArray *array, char **texts, JsonNode *(*parse)(const char *, GError **),
                 GError **error)
{
    for (guint i = 0; texts && texts[i]; i++) {
        JsonNode *node = parse(texts[i], error);
        if (!node)
            return FALSE;
        json_array_add_element(array, node);
    }
    return TRUE;
}

static JsonObject *
spec_int_object(const char *member, gint64 value, const char *member2, gint64 value2)
{
    JsonObject *obj = json_object_new();

    json_object_set_int_member(obj, member, value);
    if (member2)
        json_object_set_int_member(obj, member2, value2);
    return obj;
}

static gboolean
spec_vm_hardware(JsonObject *spec, const CliVmCreateOptions *o, GError **error)
{
    gint64 mib = 512;
    const char *firmware = o->firmware ? o->firmware : "bios";
    JsonObject *boot;

    if (o->cpus < 0 || o->cores_per_socket < 0 ||
        (o->cpus > 0 && o->cores_per_socket > 0 && o->cpus % o->cores_per_socket != 0)) {
        g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE,
                    "--cpus must be a positive multiple of --cores-per-socket");
        return FALSE;
    }
    if (o->memory && !spec_memory_mib(o->memory, &mib, error))
        return FALSE;
    if (g_ascii_strcasecmp(firmware, "bios") != 0 && g_ascii_strcasecmp(firmware, "efi") != 0) {
        g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "--firmware is bios or efi, not '%s'", firmware);
        return FALSE;
    }
    boot = json_object_new();
    json_object_set_string_member(boot, "type", g_ascii_strcasecmp(firmware, "efi") == 0 ? "EFI" : "BIOS");
    json_object_set_object_member(spec, "boot", boot);
    json_object_set_object_member(spec, "cpu",
                                  spec_int_object("count", o->cpus > 0 ? o->cpus : 1, "cores_per_socket",
                                                  o->cores_per_socket > 0 ? o->cores_per_socket : 1));
    json_object_set_object_member(spec, "memory", spec_int_object("size_MiB", mib, NULL, 0));
    return TRUE;
}

static gboolean
spec_vm_devices(JsonObject *spec, const CliVmCreateOptions *o, GError **error)
{
    g_autoptr(JsonArray) disks = json_array_new();
    g_autoptr(JsonArray) nics = json_array_new();
    g_autoptr(JsonArray) cdroms = json_array_new();

    if (o->scsi) {
        const char *type = cli_spec_scsi_type(o->scsi);
        JsonArray *adapters = json_array_new();
        JsonObject *adapter = json_object_new();
        if (!type) {
            json_array_unref(adapters);
            json_object_unref(adapter);
            g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE,
                        "--scsi is pvscsi, lsilogicsas, lsilogic, buslogic or virtio, not '%s'", o->scsi);
            return FALSE;
        }
        json_object_set_string_member(adapter, "type", type);
        json_array_add_object_element(adapters, adapter);
        json_object_set_array_member(spec, "scsi_adapters", adapters);
    }
    if (!spec_add_devices(disks, o->disks, cli_spec_disk, error) ||
        !spec_add_devices(disks, o->existing_disks, cli_spec_existing_disk, error) ||
        !spec_add_devices(nics, o->nics, cli_spec_nic, error))
        return FALSE;
    if (o->iso) {
        JsonNode *cdrom = cli_spec_cdrom(o->iso, error);
        if (!cdrom)
            return FALSE;
        json_array_add_element(cdroms, cdrom);
    }
    cli_spec_assign_units(disks, cdroms, NULL);
    json_object_set_array_member(spec, "disks", g_steal_pointer(&disks));
    json_object_set_array_member(spec, "nics", g_steal_pointer(&nics));
    json_object_set_array_member(spec, "cdroms", g_steal_pointer(&cdroms));
    return TRUE;
}

JsonNode *
cli_spec_vm_create(const char *name, const CliVmCreateOptions *o, GError **error)
{
    g_autoptr(JsonObject) spec = json_object_new();
    JsonObject *placement;
    g_autofree char *guest = g_ascii_strup(o->guest_os ? o->guest_os : "OTHER_LINUX_64", -1);

    if (!o->datastore) {
        g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "vm create needs --datastore DS");
        return NULL;
    }
    json_object_set_string_member(spec, "name", name);
    json_object_set_string_member(spec, "guest_OS", guest);
    placement = json_object_new();
    json_object_set_string_member(placement, "datastore", o->datastore);
    if (o->folder)
        json_object_set_string_member(placement, "folder", o->folder);
    json_object_set_object_member(spec, "placement", placement);
    if (!spec_vm_hardware(spec, o, error) || !spec_vm_devices(spec, o, error))
        return NULL;
    return spec_object_node(g_steal_pointer(&spec));
}
