/* cmd-datastore.c — `vireo datastore ls` and `vireo datastore info`: space in
 * human units, with thin over-commit (provisioned beyond capacity) shown.
 */
#include "cli.h"

#include "vireo-error.h"

static char *
datastore_size(JsonObject *obj, const char *member)
{
    gint64 bytes = cli_json_int(obj, member);

    return bytes < 0 ? NULL : cli_size_format((guint64)bytes);
}

/* "150%" of capacity provisioned, with a note when over-committed. */
static char *
datastore_overcommit(JsonObject *obj)
{
    gint64 capacity = cli_json_int(obj, "capacity");
    gint64 provisioned = cli_json_int(obj, "provisioned_space");

    if (capacity <= 0 || provisioned < 0)
        return NULL;
    return g_strdup_printf("%.0f%%%s", 100.0 * (double)provisioned / (double)capacity,
                           provisioned > capacity ? " over-committed" : "");
}

void
cli_format_datastore_list(JsonNode *list, GString *out)
{
    const char *headers[] = { "NAME", "TYPE", "CAPACITY", "FREE", "PROVISIONED", "PROVISIONED/CAPACITY", NULL };
    g_autoptr(CliTable) table = cli_table_new(headers);
    JsonArray *stores = JSON_NODE_HOLDS_ARRAY(list) ? json_node_get_array(list) : NULL;

    for (guint i = 0; stores && i < json_array_get_length(stores); i++) {
        JsonObject *d = json_array_get_object_element(stores, i);
        g_autofree char *capacity = datastore_size(d, "capacity");
        g_autofree char *free_space = datastore_size(d, "free_space");
        g_autofree char *provisioned = datastore_size(d, "provisioned_space");
        g_autofree char *ratio = datastore_overcommit(d);
        const char *row[] = { cli_json_str(d, "name"), cli_json_str(d, "type"), capacity,
                              free_space, provisioned, ratio };
        cli_table_add(table, row);
    }
    cli_table_render(table, out);
}

static gboolean
datastore_ls_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    g_autoptr(JsonNode) list = cli_get(ctx, "/api/vcenter/datastore", NULL, error);

    if (!list)
        return FALSE;
    if (ctx->settings.json)
        cli_json_append(ctx->out, list);
    else
        cli_format_datastore_list(list, ctx->out);
    return TRUE;
}

static char *
datastore_resolve(CliContext *ctx, const char *which, GError **error)
{
    g_autoptr(JsonNode) list = cli_get(ctx, "/api/vcenter/datastore", NULL, error);
    JsonArray *stores = list && JSON_NODE_HOLDS_ARRAY(list) ? json_node_get_array(list) : NULL;

    if (!list)
        return NULL;
    for (guint i = 0; stores && i < json_array_get_length(stores); i++) {
        JsonObject *d = json_array_get_object_element(stores, i);
        if (g_strcmp0(cli_json_str(d, "name"), which) == 0 || g_strcmp0(cli_json_str(d, "datastore"), which) == 0)
            return g_strdup(cli_json_str(d, "datastore"));
    }
    g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "no datastore is named '%s'", which);
    return NULL;
}

static gboolean
datastore_info_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    g_autofree char *id = datastore_resolve(ctx, args[0], error);
    g_autofree char *segment = id ? api_client_escape_segment(id) : NULL;
    g_autofree char *path = NULL;
    g_autoptr(JsonNode) info = NULL;
    g_autoptr(CliFields) fields = cli_fields_new();
    JsonObject *d;

    if (!id)
        return FALSE;
    path = g_strdup_printf("/api/vcenter/datastore/%s", segment);
    if (!(info = cli_get(ctx, path, NULL, error)))
        return FALSE;
    if (ctx->settings.json) {
        cli_json_append(ctx->out, info);
        return TRUE;
    }
    d = JSON_NODE_HOLDS_OBJECT(info) ? json_node_get_object(info) : NULL;
    g_autofree char *capacity = datastore_size(d, "capacity");
    g_autofree char *free_space = datastore_size(d, "free_space");
    g_autofree char *provisioned = datastore_size(d, "provisioned_space");
    g_autofree char *ratio = datastore_overcommit(d);
    cli_fields_add(fields, "Name", cli_json_str(d, "name") ? cli_json_str(d, "name") : args[0]);
    cli_fields_add(fields, "Datastore", id);
    cli_fields_add(fields, "Type", cli_json_str(d, "type"));
    cli_fields_add(fields, "Path", cli_json_str(d, "path"));
    if (d && json_object_has_member(d, "accessible"))
        cli_fields_add(fields, "Accessible", json_object_get_boolean_member(d, "accessible") ? "yes" : "no");
    cli_fields_add(fields, "Capacity", capacity);
    cli_fields_add(fields, "Free", free_space);
    cli_fields_add(fields, "Provisioned", provisioned);
    cli_fields_add(fields, "Provisioned/capacity", ratio);
    cli_fields_render(fields, ctx->out);
    return TRUE;
}

const CliCommand cli_datastore_commands[] = {
    { "datastore ls", "", "List datastores with capacity, free and provisioned space", 0, 0, 0, NULL,
      datastore_ls_run },
    { "datastore info", "NAME", "Show one datastore", 1, 1, 0, NULL, datastore_info_run },
    { NULL },
};
