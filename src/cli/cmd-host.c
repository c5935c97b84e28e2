/* cmd-host.c — `vireo host ls` and `vireo host info`: the hosts a server
 * knows (a host agent knows itself).
 */
#include "cli.h"

#include "vireo-error.h"

static char *
host_mib_text(gint64 mib)
{
    return mib < 0 ? NULL : cli_size_format((guint64)mib * 1024 * 1024);
}

void
cli_format_host_info(JsonNode *info, GString *out)
{
    JsonObject *obj = JSON_NODE_HOLDS_OBJECT(info) ? json_node_get_object(info) : NULL;
    JsonObject *cpu = cli_json_obj(obj, "cpu");
    JsonObject *memory = cli_json_obj(obj, "memory");
    g_autoptr(CliFields) fields = cli_fields_new();
    g_autofree char *cpu_text = NULL;
    g_autofree char *mem_size = host_mib_text(cli_json_int(memory, "size_MiB"));
    g_autofree char *mem_free = host_mib_text(cli_json_int(memory, "free_MiB"));
    g_autofree char *mem_text = NULL;

    if (cpu)
        cpu_text = g_strdup_printf("%" G_GINT64_FORMAT " x %s", cli_json_int(cpu, "count"),
                                   cli_json_str(cpu, "model") ? cli_json_str(cpu, "model") : "CPU");
    if (mem_size)
        mem_text = g_strdup_printf("%s (%s free)", mem_size, mem_free ? mem_free : "?");
    cli_fields_add(fields, "Name", cli_json_str(obj, "name"));
    cli_fields_add(fields, "Host", cli_json_str(obj, "host"));
    cli_fields_add(fields, "Connection state", cli_json_str(obj, "connection_state"));
    cli_fields_add(fields, "Power state", cli_json_str(obj, "power_state"));
    cli_fields_add(fields, "Version", cli_json_str(obj, "version"));
    cli_fields_add(fields, "Thumbprint", cli_json_str(obj, "thumbprint"));
    cli_fields_add(fields, "Accelerator", cli_json_str(obj, "accelerator"));
    cli_fields_add(fields, "CPU", cpu_text);
    cli_fields_add(fields, "Memory", mem_text);
    cli_fields_add(fields, "vMotion address", cli_json_str(obj, "vmotion_address"));
    cli_fields_render(fields, out);
}

static gboolean
host_ls_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    g_autoptr(JsonNode) list = cli_get(ctx, "/api/vcenter/host", NULL, error);
    const char *headers[] = { "NAME", "HOST", "CONNECTION", "POWER", "THUMBPRINT", NULL };
    g_autoptr(CliTable) table = cli_table_new(headers);
    JsonArray *hosts;

    if (!list)
        return FALSE;
    if (ctx->settings.json) {
        cli_json_append(ctx->out, list);
        return TRUE;
    }
    hosts = JSON_NODE_HOLDS_ARRAY(list) ? json_node_get_array(list) : NULL;
    for (guint i = 0; hosts && i < json_array_get_length(hosts); i++) {
        JsonObject *h = json_array_get_object_element(hosts, i);
        const char *row[] = { cli_json_str(h, "name"), cli_json_str(h, "host"),
                              cli_json_str(h, "connection_state"), cli_json_str(h, "power_state"),
                              cli_json_str(h, "thumbprint") };
        cli_table_add(table, row);
    }
    cli_table_render(table, ctx->out);
    return TRUE;
}

/* The id of the host named or identified by `which`, or of the only host. */
static char *
host_resolve(CliContext *ctx, const char *which, GError **error)
{
    g_autoptr(JsonNode) list = cli_get(ctx, "/api/vcenter/host", NULL, error);
    JsonArray *hosts = list && JSON_NODE_HOLDS_ARRAY(list) ? json_node_get_array(list) : NULL;
    guint n = hosts ? json_array_get_length(hosts) : 0;

    if (!list)
        return NULL;
    for (guint i = 0; which && i < n; i++) {
        JsonObject *h = json_array_get_object_element(hosts, i);
        if (g_strcmp0(cli_json_str(h, "name"), which) == 0 || g_strcmp0(cli_json_str(h, "host"), which) == 0)
            return g_strdup(cli_json_str(h, "host"));
    }
    if (!which && n == 1 && cli_json_str(json_array_get_object_element(hosts, 0), "host"))
        return g_strdup(cli_json_str(json_array_get_object_element(hosts, 0), "host"));
    if (!which)
        g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE,
                    "the server has %u hosts: name one (see `vireo host ls`)", n);
    else
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "no host is named '%s'", which);
    return NULL;
}

static gboolean
host_info_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    g_autofree char *id = host_resolve(ctx, args[0], error);
    g_autofree char *segment = NULL;
    g_autofree char *path = NULL;
    g_autoptr(JsonNode) info = NULL;

    if (!id)
        return FALSE;
    segment = api_client_escape_segment(id);
    path = g_strdup_printf("/api/vcenter/host/%s", segment);
    info = cli_get(ctx, path, NULL, error);
    if (!info)
        return FALSE;
    if (ctx->settings.json)
        cli_json_append(ctx->out, info);
    else
        cli_format_host_info(info, ctx->out);
    return TRUE;
}

const CliCommand cli_host_commands[] = {
    { "host ls", "", "List the hosts", 0, 0, 0, NULL, host_ls_run },
    { "host info", "[HOST]", "Show a host: state, thumbprint, accelerator, CPU and memory "
      "(HOST may be left out when there is one)", 0, 1, 0, NULL, host_info_run },
    { NULL },
};
