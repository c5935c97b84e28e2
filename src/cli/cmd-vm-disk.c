/* cmd-vm-disk.c — `vireo vm disk ls|add|rm|grow`: a VM's virtual disks. */
#include "cli.h"

static gboolean
disk_ls_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    return cli_device_ls(ctx, args[0], "disks", error);
}

typedef struct {
    char *existing;
} DiskAddOptions;

static void
disk_add_entries(gpointer options, GArray *entries)
{
    DiskAddOptions *o = options;

    CLI_OPTION(entries, "existing", G_OPTION_ARG_STRING, &o->existing,
               "attach this existing disk instead of making one", "\"[ds] path.vmdk\"[:bus]");
}

static gboolean
disk_add_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    DiskAddOptions *o = options;
    g_autofree char *path = NULL;
    g_autoptr(JsonNode) info = NULL;
    g_autoptr(JsonNode) spec = NULL;
    g_autoptr(JsonArray) one = json_array_new();

    if (!o->existing == !args[1]) {
        g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "give either SIZE[:prov][:bus] or --existing, not both");
        return FALSE;
    }
    spec = o->existing ? cli_spec_existing_disk(o->existing, error) : cli_spec_disk(args[1], error);
    if (!spec || !(info = cli_vm_fetch(ctx, args[0], &path, error)))
        return FALSE;
    json_array_add_element(one, json_node_ref(spec));
    cli_spec_assign_units(one, NULL, json_node_get_object(info));
    return cli_device_request(ctx, path, "disk", NULL, "POST", NULL, spec, "Added the disk", error);
}


static void
disk_rm_entries(gpointer options, GArray *entries)
{
    DiskRmOptions *o = options;

    CLI_OPTION(entries, "delete-files", G_OPTION_ARG_NONE, &o->delete_files,
               "also delete the disk's files from the datastore", NULL);
}

static gboolean
disk_rm_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    DiskRmOptions *o = options;
    const char *query[] = { "delete_file", "true", NULL };
    g_autofree char *path = NULL;
    g_autoptr(JsonNode) info = cli_vm_fetch(ctx, args[0], &path, error);
    g_autofree char *key = info ? cli_device_key(json_node_get_object(info), "disks", args[1], error) : NULL;

    if (!key)
        return FALSE;
    return cli_device_request(ctx, path, "disk", key, "DELETE", o->delete_files ? query : NULL, NULL,
                              o->delete_files ? "Removed the disk and deleted its files" : "Removed the disk",
                              error);
}

static gboolean
disk_grow_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    guint64 bytes = 0;
    g_autofree char *path = NULL;
    g_autoptr(JsonNode) info = NULL;
    g_autofree char *key = NULL;
    g_autoptr(JsonObject) body = json_object_new();
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);

    if (!cli_size_parse(args[2], &bytes, error))
        return FALSE;
    if (!(info = cli_vm_fetch(ctx, args[0], &path, error)) ||
        !(key = cli_device_key(json_node_get_object(info), "disks", args[1], error)))
        return FALSE;
    json_object_set_int_member(body, "capacity", (gint64)bytes);
    json_node_set_object(node, body);
    return cli_device_request(ctx, path, "disk", key, "PATCH", NULL, node, "Grew the disk", error);
}

const CliCommand cli_vm_disk_commands[] = {
    { "vm disk ls", "VM", "List a VM's disks", 1, 1, 0, NULL, disk_ls_run },
    { "vm disk add", "VM [SIZE[:prov][:bus]]", "Add a new disk (or --existing one) to a powered-off VM",
      1, 2, sizeof(DiskAddOptions), disk_add_entries, disk_add_run },
    { "vm disk rm", "VM DISK", "Detach a disk (DISK: key like 2000 or label like \"Hard disk 1\")",
      2, 2, sizeof(DiskRmOptions), disk_rm_entries, disk_rm_run },
    { "vm disk grow", "VM DISK SIZE", "Grow a disk to SIZE (e.g. 20G)", 3, 3, 0, NULL, disk_grow_run },
    { NULL },
};
