/* cmd-vm-cdrom.c — `vireo vm cdrom ls|add|insert|eject|rm`: CD/DVD drives
 * and the ISO images in them.
 */
#include "cli.h"

static gboolean
cdrom_ls_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    return cli_device_ls(ctx, args[0], "cdroms", error);
}

static gboolean
cdrom_add_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    g_autoptr(JsonNode) spec = cli_spec_cdrom(args[1], error);
    g_autofree char *path = NULL;
    g_autoptr(JsonNode) info = spec ? cli_vm_fetch(ctx, args[0], &path, error) : NULL;
    g_autoptr(JsonArray) one = json_array_new();

    if (!info)
        return FALSE;
    json_array_add_element(one, json_node_ref(spec));
    cli_spec_assign_units(NULL, one, json_node_get_object(info));
    return cli_device_request(ctx, path, "cdrom", NULL, "POST", NULL, spec, "Added the CD/DVD drive", error);
}

typedef struct {
    char *device;
} CdromDeviceOptions;

static void
cdrom_device_entries(gpointer options, GArray *entries)
{
    CdromDeviceOptions *o = options;

    CLI_OPTION(entries, "device", G_OPTION_ARG_STRING, &o->device,
               "which drive (key like 16000 or label); needed when the VM has several", "CDROM");
}

/* The body of PATCH …/hardware/cdrom/{cdrom}: an ISO, or NULL to eject. */
JsonNode *
cli_spec_cdrom_media(const char *iso, GError **error)
{
    g_autoptr(JsonNode) spec = cli_spec_cdrom(iso, error);
    JsonObject *body;

    if (!spec)
        return NULL;
    body = json_object_new();
    json_object_set_member(body, "backing",
                           json_node_copy(json_object_get_member(json_node_get_object(spec), "backing")));
    if (iso)
        json_object_set_boolean_member(body, "start_connected", TRUE);
    return json_node_init_object(json_node_alloc(), body);
}

static gboolean
cdrom_media(CliContext *ctx, const char *vm, const char *device, const char *iso, GError **error)
{
    g_autoptr(JsonNode) body = cli_spec_cdrom_media(iso, error);
    g_autofree char *path = NULL;
    g_autoptr(JsonNode) info = body ? cli_vm_fetch(ctx, vm, &path, error) : NULL;
    g_autofree char *key = info ? cli_device_key(json_node_get_object(info), "cdroms", device, error) : NULL;

    if (!key)
        return FALSE;
    return cli_device_request(ctx, path, "cdrom", key, "PATCH", NULL, body,
                              iso ? "Inserted the image" : "Ejected the image", error);
}

static gboolean
cdrom_insert_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    return cdrom_media(ctx, args[0], ((CdromDeviceOptions *)options)->device, args[1], error);
}

static gboolean
cdrom_eject_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    return cdrom_media(ctx, args[0], ((CdromDeviceOptions *)options)->device, NULL, error);
}

static gboolean
cdrom_rm_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    g_autofree char *path = NULL;
    g_autoptr(JsonNode) info = cli_vm_fetch(ctx, args[0], &path, error);
    g_autofree char *key = info ? cli_device_key(json_node_get_object(info), "cdroms", args[1], error) : NULL;

    if (!key)
        return FALSE;
    return cli_device_request(ctx, path, "cdrom", key, "DELETE", NULL, NULL, "Removed the CD/DVD drive", error);
}

const CliCommand cli_vm_cdrom_commands[] = {
    { "vm cdrom ls", "VM", "List a VM's CD/DVD drives", 1, 1, 0, NULL, cdrom_ls_run },
    { "vm cdrom add", "VM [\"[ds] path.iso\"]", "Add a SATA CD/DVD drive, empty or with an image", 1, 2, 0, NULL,
      cdrom_add_run },
    { "vm cdrom insert", "VM \"[ds] path.iso\"", "Put an ISO image in a drive", 2, 2,
      sizeof(CdromDeviceOptions), cdrom_device_entries, cdrom_insert_run },
    { "vm cdrom eject", "VM", "Empty a drive", 1, 1, sizeof(CdromDeviceOptions), cdrom_device_entries,
      cdrom_eject_run },
    { "vm cdrom rm", "VM CDROM", "Remove a CD/DVD drive (key like 16000 or label)", 2, 2, 0, NULL, cdrom_rm_run },
    { NULL },
};
