/* cmd-event.c — `vireo event ls`: the centre's event log (who did what to
 * which object, and how it ended), newest first.
 */
#include "cli.h"

typedef struct {
    char *object;
    char *user;
    char *since;
    int limit;
} EventLsOptions;

static void
event_ls_entries(gpointer options, GArray *entries)
{
    EventLsOptions *o = options;

    CLI_OPTION(entries, "object", G_OPTION_ARG_STRING, &o->object, "only events on this object (path, id or name)",
               "OBJ");
    CLI_OPTION(entries, "user", G_OPTION_ARG_STRING, &o->user, "only events caused by this user", "U");
    CLI_OPTION(entries, "since", G_OPTION_ARG_STRING, &o->since, "only events at or after this time (ISO 8601)",
               "TIME");
    CLI_OPTION(entries, "limit", G_OPTION_ARG_INT, &o->limit, "at most N events", "N");
}

static void
event_format(JsonNode *list, GString *out)
{
    const char *headers[] = { "TIME", "USER", "OBJECT", "TYPE", "RESULT", "MESSAGE", NULL };
    g_autoptr(CliTable) table = cli_table_new(headers);
    JsonArray *events = JSON_NODE_HOLDS_ARRAY(list) ? json_node_get_array(list) : NULL;

    for (guint i = 0; events && i < json_array_get_length(events); i++) {
        JsonNode *e = json_array_get_element(events, i);
        JsonObject *ev = JSON_NODE_HOLDS_OBJECT(e) ? json_node_get_object(e) : NULL;
        const char *object = cli_json_str(ev, "object_name") ? cli_json_str(ev, "object_name")
                                                              : cli_json_str(ev, "object");
        const char *row[] = { cli_json_str(ev, "time"), cli_json_str(ev, "user"), object, cli_json_str(ev, "type"),
                              cli_json_str(ev, "result"), cli_json_str(ev, "message") };
        cli_table_add(table, row);
    }
    cli_table_render(table, out);
}

static gboolean
event_ls_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    EventLsOptions *o = options;
    CliInvLister lister = cli_inventory_lister(ctx);
    g_autoptr(CliInvObject) object = NULL;
    g_autofree char *limit = o->limit > 0 ? g_strdup_printf("%d", o->limit) : NULL;
    const char *query[9] = { NULL };
    guint q = 0;
    g_autoptr(JsonNode) list = NULL;

    if (o->limit < 0) {
        g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "--limit must be a positive number");
        return FALSE;
    }
    if (o->object && !(object = cli_inv_resolve_any(&lister, o->object, error)))
        return FALSE;
    if (object) {
        query[q++] = "object";
        query[q++] = object->id;
    }
    if (o->user) {
        query[q++] = "user";
        query[q++] = o->user;
    }
    if (o->since) {
        query[q++] = "since";
        query[q++] = o->since;
    }
    if (limit) {
        query[q++] = "limit";
        query[q++] = limit;
    }
    if (!(list = cli_get(ctx, "/api/vireo/events", query, error)))
        return FALSE;
    if (ctx->settings.json)
        cli_json_append(ctx->out, list);
    else
        event_format(list, ctx->out);
    return TRUE;
}

const CliCommand cli_event_commands[] = {
    { "event ls", "", "List the centre's events, newest first", 0, 0, sizeof(EventLsOptions), event_ls_entries,
      event_ls_run },
    { NULL },
};
