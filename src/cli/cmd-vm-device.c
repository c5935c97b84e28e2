/* cmd-vm-device.c — what the device commands (disk, nic, cdrom) share:
 * reading a VM's info, naming a device by key or label, printing device
 * tables, and sending one device request.
 */
#include "cli.h"

#include "vireo-error.h"

static const struct {
    const char *kind;     /* member of the VM info */
    const char *noun;     /* for messages */
} device_kinds[] = {
    { "scsi_adapters", "SCSI controller" }, { "disks", "disk" }, { "nics", "network adapter" },
    { "cdroms", "CD/DVD drive" },
};

/* "SCSI 0:0" from a device's scsi/sata/nvme/ide member. */
static char *
device_address(JsonObject *dev)
{
    static const char *const buses[] = { "scsi", "sata", "nvme", "ide" };

    for (guint i = 0; i < G_N_ELEMENTS(buses); i++) {
        JsonObject *addr = cli_json_obj(dev, buses[i]);
        g_autofree char *upper = g_ascii_strup(buses[i], -1);
        if (addr && cli_json_int(addr, "unit") >= 0)
            return g_strdup_printf("%s %" G_GINT64_FORMAT ":%" G_GINT64_FORMAT, upper,
                                   cli_json_int(addr, "bus"), cli_json_int(addr, "unit"));
        if (addr)
            return g_strdup_printf("bus %" G_GINT64_FORMAT, cli_json_int(addr, "bus"));
    }
    return NULL;
}

static char *
device_details(const char *kind, JsonObject *dev)
{
    JsonObject *backing = cli_json_obj(dev, "backing");

    if (g_str_equal(kind, "disks")) {
        gint64 capacity = cli_json_int(dev, "capacity");
        g_autofree char *size = capacity >= 0 ? cli_size_format((guint64)capacity) : g_strdup("?");
        const char *prov = cli_json_str(dev, "provisioning");
        g_autofree char *prov_lower = prov ? g_ascii_strdown(prov, -1) : NULL;
        return g_strdup_printf("%s %s %s", size, prov_lower ? prov_lower : "",
                               cli_json_str(backing, "vmdk_file") ? cli_json_str(backing, "vmdk_file") : "");
    }
    if (g_str_equal(kind, "nics")) {
        const char *net = cli_json_str(backing, "network_name");
        return g_strdup_printf("%s %s %s", net ? net : cli_json_str(backing, "network") ? cli_json_str(backing, "network") : "?",
                               cli_json_str(dev, "mac_address") ? cli_json_str(dev, "mac_address") : "",
                               cli_json_str(dev, "state") ? cli_json_str(dev, "state") : "");
    }
    if (g_str_equal(kind, "cdroms")) {
        const char *iso = cli_json_str(backing, "iso_file");
        return g_strdup(iso ? iso : "(empty)");
    }
    return NULL;
}

void
cli_format_devices(JsonObject *vm, const char *kind, GString *out)
{
    const char *headers[] = { "DEVICE", "KEY", "TYPE", "ADDRESS", "DETAILS", NULL };
    g_autoptr(CliTable) table = cli_table_new(headers);

    for (guint k = 0; k < G_N_ELEMENTS(device_kinds); k++) {
        JsonObject *devices = cli_json_obj(vm, device_kinds[k].kind);
        g_autoptr(GList) keys = devices ? json_object_get_members(devices) : NULL;
        if (kind && !g_str_equal(kind, device_kinds[k].kind))
            continue;
        keys = g_list_sort(keys, (GCompareFunc)g_strcmp0);
        for (GList *l = keys; l; l = l->next) {
            JsonObject *dev = cli_json_obj(devices, l->data);
            g_autofree char *address = device_address(dev);
            g_autofree char *details = device_details(device_kinds[k].kind, dev);
            if (details)
                g_strstrip(details);
            const char *row[] = { cli_json_str(dev, "label"), l->data, cli_json_str(dev, "type"), address, details };
            cli_table_add(table, row);
        }
    }
    cli_table_render(table, out);
}

char *
cli_device_key(JsonObject *vm, const char *kind, const char *which, GError **error)
{
    JsonObject *devices = cli_json_obj(vm, kind);
    g_autoptr(GList) keys = devices ? json_object_get_members(devices) : NULL;
    const char *noun = kind;

    for (guint k = 0; k < G_N_ELEMENTS(device_kinds); k++) {
        if (g_str_equal(device_kinds[k].kind, kind))
            noun = device_kinds[k].noun;
    }
    if (!which && g_list_length(keys) == 1)
        return g_strdup(keys->data);
    if (!which) {
        g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "the VM has %u of kind %s: say which (key or label)",
                    g_list_length(keys), noun);
        return NULL;
    }
    for (GList *l = keys; l; l = l->next) {
        JsonObject *dev = cli_json_obj(devices, l->data);
        if (g_str_equal(l->data, which) || g_strcmp0(cli_json_str(dev, "label"), which) == 0)
            return g_strdup(l->data);
    }
    g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "the VM has no %s '%s'", noun, which);
    return NULL;
}

JsonNode *
cli_vm_fetch(CliContext *ctx, const char *vm, char **path_out, GError **error)
{
    g_autofree char *path = cli_vm_path(ctx, vm, NULL, error);
    JsonNode *info = path ? cli_get(ctx, path, NULL, error) : NULL;

    if (info && !JSON_NODE_HOLDS_OBJECT(info)) {
        json_node_unref(info);
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_UNEXPECTED_INPUT, "the server's VM info is not an object");
        return NULL;
    }
    if (info && path_out)
        *path_out = g_steal_pointer(&path);
    return info;
}

gboolean
cli_device_ls(CliContext *ctx, const char *vm, const char *kind, GError **error)
{
    g_autoptr(JsonNode) info = cli_vm_fetch(ctx, vm, NULL, error);
    JsonObject *obj = info ? json_node_get_object(info) : NULL;

    if (!info)
        return FALSE;
    if (ctx->settings.json) {
        JsonNode *devices = json_object_get_member(obj, kind);
        g_autoptr(JsonNode) empty = json_node_init_object(json_node_alloc(), json_object_new());
        cli_json_append(ctx->out, devices ? devices : empty);
    } else {
        cli_format_devices(obj, kind, ctx->out);
    }
    return TRUE;
}

gboolean
cli_device_request(CliContext *ctx, const char *vm_path, const char *hardware, const char *key,
                   const char *method, const char *const *query, JsonNode *body, const char *done,
                   GError **error)
{
    g_autofree char *path = key ? g_strdup_printf("%s/hardware/%s/%s", vm_path, hardware, key)
                                : g_strdup_printf("%s/hardware/%s", vm_path, hardware);
    g_autoptr(JsonNode) answer = NULL;

    if (!cli_call(ctx, method, path, query, body, &answer, error))
        return FALSE;
    if (ctx->settings.json)
        cli_json_append(ctx->out, answer);
    else if (answer && JSON_NODE_HOLDS_VALUE(answer) && json_node_get_value_type(answer) == G_TYPE_STRING)
        g_string_append_printf(ctx->out, "%s (%s).\n", done, json_node_get_string(answer));
    else
        g_string_append_printf(ctx->out, "%s.\n", done);
    return TRUE;
}
