/* cmd-network.c — `vireo network ls`: the port groups VMs can attach to. */
#include "cli.h"

static gboolean
network_ls_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    g_autoptr(JsonNode) list = cli_get(ctx, "/api/vcenter/network", NULL, error);
    const char *headers[] = { "NAME", "NETWORK", "TYPE", "VLAN", "VSWITCH", NULL };
    g_autoptr(CliTable) table = cli_table_new(headers);
    JsonArray *nets;

    if (!list)
        return FALSE;
    if (ctx->settings.json) {
        cli_json_append(ctx->out, list);
        return TRUE;
    }
    nets = JSON_NODE_HOLDS_ARRAY(list) ? json_node_get_array(list) : NULL;
    for (guint i = 0; nets && i < json_array_get_length(nets); i++) {
        JsonObject *n = json_array_get_object_element(nets, i);
        gint64 vlan = cli_json_int(n, "vlan_id");
        g_autofree char *vlan_text = vlan >= 0 ? g_strdup_printf("%" G_GINT64_FORMAT, vlan) : NULL;
        const char *row[] = { cli_json_str(n, "name"), cli_json_str(n, "network"), cli_json_str(n, "type"),
                              vlan_text, cli_json_str(n, "vswitch") };
        cli_table_add(table, row);
    }
    cli_table_render(table, ctx->out);
    return TRUE;
}

const CliCommand cli_network_commands[] = {
    { "network ls", "", "List networks (port groups)", 0, 0, 0, NULL, network_ls_run },
    { NULL },
};
