/* cmd-center-host.c — hosts in a centre's inventory: `vireo host add` (with
 * vCenter's thumbprint check), `host rm`, `host maintenance enter|exit`,
 * `host reconnect|disconnect`, and `host ls|info` that also show
 * maintenance and cluster on a centre (on a host they are cmd-host.c's).
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include "vireo-error.h"

gboolean
cli_host_address_parse(const char *text, char **host, guint *port, GError **error)
{
    g_autofree char *name = NULL;
    const char *port_text = NULL;
    const char *colon = text ? strchr(text, ':') : NULL;
    guint64 value = 0;

    if (text && text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close && (close[1] == '\0' || close[1] == ':')) {
            name = g_strndup(text + 1, (gsize)(close - text - 1));
            port_text = close[1] ? close + 2 : NULL;
        }
    } else if (text && colon && colon == strrchr(text, ':')) {
        name = g_strndup(text, (gsize)(colon - text));
        port_text = colon + 1;
    } else if (text) {
        name = g_strdup(text);   /* a bare IPv6 address has several ':' */
    }
    if (!name || !*name || (port_text && !g_ascii_string_to_unsigned(port_text, 10, 1, 65535, &value, NULL))) {
        g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE,
                    "'%s' is not a host address: give NAME, NAME:PORT, IP:PORT or [IPv6]:PORT", text ? text : "");
        return FALSE;
    }
    *host = g_steal_pointer(&name);
    *port = (guint)value;
    return TRUE;
}

char *
cli_host_thumbprint_in(const char *message, const char *except)
{
    g_autoptr(GRegex) regex = g_regex_new("[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){19,31}(?![0-9A-Fa-f:])", 0, 0, NULL);
    g_autoptr(GMatchInfo) match = NULL;
    g_autofree char *skip = except ? api_client_normalize_thumbprint(except) : NULL;

    if (!message)
        return NULL;
    g_regex_match(regex, message, 0, &match);
    for (; g_match_info_matches(match); g_match_info_next(match, NULL)) {
        g_autofree char *text = g_match_info_fetch(match, 0);
        g_autofree char *normal = api_client_normalize_thumbprint(text);
        if (normal && g_strcmp0(normal, skip) != 0)
            return g_steal_pointer(&normal);
    }
    return NULL;
}

char *
cli_host_thumbprint_advice(const char *thumbprint, const char *given)
{
    if (given)
        return g_strdup_printf("The host's certificate thumbprint is %s, not %s; check it, then run again "
                               "with --thumbprint %s", thumbprint, given, thumbprint);
    return g_strdup_printf("The host's certificate thumbprint is %s; check it, then run again with "
                           "--thumbprint %s (or --accept-thumbprint)", thumbprint, thumbprint);
}

/* ---- host add ---- */

static void
host_add_entries(gpointer options, GArray *entries)
{
    HostAddOptions *o = options;

    CLI_OPTION(entries, "username", G_OPTION_ARG_STRING, &o->username, "user on the host (required)", "U");
    CLI_OPTION(entries, "password", G_OPTION_ARG_STRING, &o->password, "that user's password (required)", "P");
    CLI_OPTION(entries, "cluster", G_OPTION_ARG_STRING, &o->cluster, "join this cluster (path, id or name)", "PATH");
    CLI_OPTION(entries, "folder", G_OPTION_ARG_STRING, &o->folder, "a standalone host in this host folder", "PATH");
    CLI_OPTION(entries, "thumbprint", G_OPTION_ARG_STRING, &o->thumbprint,
               "the SHA-256 thumbprint of the host's certificate, checked", "AB:CD:..");
    CLI_OPTION(entries, "accept-thumbprint", G_OPTION_ARG_NONE, &o->accept_thumbprint,
               "accept whatever thumbprint the host shows (prints it)", NULL);
    CLI_OPTION(entries, "async", G_OPTION_ARG_NONE, &o->async, "print the task id and return at once", NULL);
}

static JsonNode *
host_add_body(CliContext *ctx, HostAddOptions *o, const char *address, const char *thumbprint, GError **error)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autofree char *host = NULL;
    g_autofree char *cluster = NULL;
    g_autofree char *folder = NULL;
    guint port = 0;

    if (!cli_host_address_parse(address, &host, &port, error))
        return NULL;
    if ((o->cluster && !(cluster = cli_inventory_resolve_id(ctx, CLI_INV_CLUSTER, NULL, o->cluster, error))) ||
        (o->folder && !(folder = cli_inventory_resolve_id(ctx, CLI_INV_FOLDER, "HOST", o->folder, error))))
        return NULL;
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "hostname");
    json_builder_add_string_value(b, host);
    if (port) {
        json_builder_set_member_name(b, "port");
        json_builder_add_int_value(b, port);
    }
    json_builder_set_member_name(b, "user_name");
    json_builder_add_string_value(b, o->username);
    json_builder_set_member_name(b, "password");
    json_builder_add_string_value(b, o->password);
    if (cluster || folder) {
        json_builder_set_member_name(b, cluster ? "cluster" : "folder");
        json_builder_add_string_value(b, cluster ? cluster : folder);
    }
    json_builder_set_member_name(b, "thumbprint_verification");
    json_builder_add_string_value(b, "THUMBPRINT");
    if (thumbprint) {
        json_builder_set_member_name(b, "thumbprint");
        json_builder_add_string_value(b, thumbprint);
    }
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

/* One attempt; a refused thumbprint comes back in *shown (and no error). */
static gboolean
host_add_try(CliContext *ctx, HostAddOptions *o, const char *address, const char *thumbprint,
             JsonNode **answer, char **task, char **shown, GError **error)
{
    g_autoptr(JsonNode) body = host_add_body(ctx, o, address, thumbprint, error);
    GError *local = NULL;

    if (!body)
        return FALSE;
    if (cli_call_long(ctx, "POST", "/api/vcenter/host", NULL, body, o->async, answer, task, &local))
        return TRUE;
    if (g_error_matches(local, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT) &&
        (*shown = cli_host_thumbprint_in(local->message, thumbprint))) {
        g_error_free(local);
        return TRUE;
    }
    g_propagate_error(error, local);
    return FALSE;
}

static gboolean
host_add_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    HostAddOptions *o = options;
    g_autoptr(JsonNode) answer = NULL;
    g_autofree char *task = NULL;
    g_autofree char *shown = NULL;
    g_autofree char *accepted = NULL;

    if (!o->username || !o->password) {
        g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "host add needs the host's --username and --password");
        return FALSE;
    }
    if (o->cluster && o->folder) {
        g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "give --cluster or --folder, not both");
        return FALSE;
    }
    if (!host_add_try(ctx, o, args[0], o->thumbprint, &answer, &task, &shown, error))
        return FALSE;
    if (shown && o->accept_thumbprint && !o->thumbprint) {
        accepted = g_steal_pointer(&shown);
        fprintf(stderr, "Accepting the host's certificate thumbprint %s\n", accepted);
        if (!host_add_try(ctx, o, args[0], accepted, &answer, &task, &shown, error))
            return FALSE;
    }
    if (shown) {
        g_autofree char *advice = cli_host_thumbprint_advice(shown, o->thumbprint);
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_UNAUTHORIZED, "%s", advice);
        return FALSE;
    }
    if (task) {
        cli_task_started(ctx, task);
    } else if (ctx->settings.json) {
        cli_json_append(ctx->out, answer);
    } else {
        if (accepted)
            g_string_append_printf(ctx->out, "Accepted the host's certificate thumbprint %s.\n", accepted);
        g_string_append_printf(ctx->out, "Added host %s (%s).\n", args[0],
                               answer && JSON_NODE_HOLDS_VALUE(answer) ? json_node_get_string(answer) : "?");
    }
    return TRUE;
}

/* ---- rm, maintenance, reconnect, disconnect ---- */

typedef struct {
    gboolean async;
} HostOpOptions;

static void
host_op_entries(gpointer options, GArray *entries)
{
    CLI_OPTION(entries, "async", G_OPTION_ARG_NONE, &((HostOpOptions *)options)->async,
               "print the task id and return at once", NULL);
}

static gboolean
host_op(CliContext *ctx, HostOpOptions *o, const char *which, const char *method, const char *action,
        const char *done, GError **error)
{
    g_autofree char *id = cli_inventory_resolve_id(ctx, CLI_INV_HOST, NULL, which, error);
    g_autofree char *segment = id ? api_client_escape_segment(id) : NULL;
    g_autofree char *path = id ? g_strdup_printf("/api/vcenter/host/%s", segment) : NULL;
    g_autofree char *task = NULL;
    const char *query[] = { "action", action, NULL };

    if (!id || !cli_call_long(ctx, method, path, action ? query : NULL, NULL, o->async, NULL, &task, error))
        return FALSE;
    if (task)
        cli_task_started(ctx, task);
    else if (!ctx->settings.json)
        g_string_append_printf(ctx->out, "%s %s.\n", done, which);
    return TRUE;
}

static gboolean
host_rm_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    return host_op(ctx, options, args[0], "DELETE", NULL, "Removed from the inventory (its VMs' files stay):", error);
}

static gboolean
host_maintenance_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    if (g_str_equal(args[0], "enter"))
        return host_op(ctx, options, args[1], "POST", "enter-maintenance", "In maintenance mode:", error);
    if (g_str_equal(args[0], "exit"))
        return host_op(ctx, options, args[1], "POST", "exit-maintenance", "Out of maintenance mode:", error);
    g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "host maintenance takes enter or exit, not '%s'", args[0]);
    return FALSE;
}

static gboolean
host_reconnect_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    return host_op(ctx, options, args[0], "POST", "reconnect", "Reconnected", error);
}

static gboolean
host_disconnect_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    return host_op(ctx, options, args[0], "POST", "disconnect", "Disconnected", error);
}

/* ---- ls / info on a centre ---- */

static JsonNode *
host_detail(CliContext *ctx, const char *id, GError **error)
{
    g_autofree char *segment = api_client_escape_segment(id);
    g_autofree char *path = g_strdup_printf("/api/vcenter/host/%s", segment);

    return cli_get(ctx, path, NULL, error);
}

/* Each host of the list with its detail's maintenance and cluster added. */
static gboolean
host_ls_center(CliContext *ctx, GError **error)
{
    g_autoptr(JsonNode) list = cli_get(ctx, "/api/vcenter/host", NULL, error);
    const char *headers[] = { "NAME", "HOST", "CLUSTER", "CONNECTION", "POWER", "MAINTENANCE", NULL };
    g_autoptr(CliTable) table = cli_table_new(headers);
    JsonArray *hosts = list && JSON_NODE_HOLDS_ARRAY(list) ? json_node_get_array(list) : NULL;

    if (!list)
        return FALSE;
    for (guint i = 0; hosts && i < json_array_get_length(hosts); i++) {
        JsonObject *h = json_array_get_object_element(hosts, i);
        const char *id = cli_json_str(h, "host");
        g_autoptr(JsonNode) info = id ? host_detail(ctx, id, error) : NULL;
        JsonObject *d = info && JSON_NODE_HOLDS_OBJECT(info) ? json_node_get_object(info) : NULL;
        JsonNode *maint = d ? json_object_get_member(d, "in_maintenance_mode") : NULL;
        gboolean in_maint = maint && JSON_NODE_HOLDS_VALUE(maint) && json_node_get_boolean(maint);

        if (id && !info)
            return FALSE;
        json_object_set_boolean_member(h, "in_maintenance_mode", in_maint);
        if (cli_json_str(d, "cluster"))
            json_object_set_string_member(h, "cluster", cli_json_str(d, "cluster"));
        const char *row[] = { cli_json_str(h, "name"), id, cli_json_str(h, "cluster"),
                              cli_json_str(h, "connection_state"), cli_json_str(h, "power_state"),
                              in_maint ? "yes" : "no" };
        cli_table_add(table, row);
    }
    if (ctx->settings.json)
        cli_json_append(ctx->out, list);
    else
        cli_table_render(table, ctx->out);
    return TRUE;
}

static gboolean
host_delegate(CliContext *ctx, const char *path, gpointer options, char **args, gboolean *done, GError **error)
{
    gboolean center = FALSE;

    *done = TRUE;
    if (!cli_server_is_center(ctx, &center, error))
        return FALSE;
    *done = !center;
    return !center ? cli_command_in(cli_host_commands, path)->run(ctx, options, args, error) : TRUE;
}

static gboolean
host_ls_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    gboolean done;
    gboolean ok = host_delegate(ctx, "host ls", options, args, &done, error);

    return done ? ok : host_ls_center(ctx, error);
}

static char *
host_join(JsonObject *obj, const char *member)
{
    JsonNode *node = json_object_get_member(obj, member);
    GString *out = g_string_new(NULL);
    JsonArray *a = node && JSON_NODE_HOLDS_ARRAY(node) ? json_node_get_array(node) : NULL;

    for (guint i = 0; a && i < json_array_get_length(a); i++) {
        JsonNode *e = json_array_get_element(a, i);
        if (JSON_NODE_HOLDS_VALUE(e) && json_node_get_value_type(e) == G_TYPE_STRING)
            g_string_append_printf(out, "%s%s", out->len ? ", " : "", json_node_get_string(e));
    }
    return g_string_free(out, out->len == 0);
}

static gboolean
host_info_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    gboolean done = FALSE;
    gboolean ok;
    g_autofree char *id = NULL;
    g_autoptr(JsonNode) info = NULL;
    g_autoptr(CliFields) fields = cli_fields_new();
    g_autofree char *datastores = NULL;
    g_autofree char *networks = NULL;
    JsonObject *d;

    /* With no HOST the centre's only host is meant: cmd-host.c finds it. */
    if (!args[0])
        return cli_command_in(cli_host_commands, "host info")->run(ctx, options, args, error);
    ok = host_delegate(ctx, "host info", options, args, &done, error);
    if (done)
        return ok;
    if (!(id = cli_inventory_resolve_id(ctx, CLI_INV_HOST, NULL, args[0], error)) ||
        !(info = host_detail(ctx, id, error)))
        return FALSE;
    if (ctx->settings.json || !JSON_NODE_HOLDS_OBJECT(info)) {
        cli_json_append(ctx->out, info);
        return TRUE;
    }
    d = json_node_get_object(info);
    if (!json_object_has_member(d, "host"))
        json_object_set_string_member(d, "host", id);
    cli_format_host_info(info, ctx->out);
    datastores = host_join(d, "datastores");
    networks = host_join(d, "networks");
    cli_fields_add(fields, "Maintenance mode",
                   json_object_get_boolean_member_with_default(d, "in_maintenance_mode", FALSE) ? "yes" : "no");
    cli_fields_add(fields, "Cluster", cli_json_str(d, "cluster"));
    cli_fields_add(fields, "Datastores", datastores);
    cli_fields_add(fields, "Networks", networks);
    cli_fields_render(fields, ctx->out);
    return TRUE;
}

const CliCommand cli_center_host_commands[] = {
    { "host ls", "", "List the hosts (on a centre: with cluster and maintenance mode)", 0, 0, 0, NULL, host_ls_run },
    { "host info", "[HOST]", "Show a host: state, thumbprint, accelerator, CPU and memory "
      "(HOST may be left out when there is one; a path, id or name)", 0, 1, 0, NULL, host_info_run },
    { "host add", "ADDRESS[:PORT]", "Add a host to the centre (checks its certificate's thumbprint)", 1, 1,
      sizeof(HostAddOptions), host_add_entries, host_add_run },
    { "host rm", "HOST", "Remove a host from the centre; its VMs leave the inventory, their files stay", 1, 1,
      sizeof(HostOpOptions), host_op_entries, host_rm_run },
    { "host maintenance", "enter|exit HOST", "Put a host in maintenance mode or take it out", 2, 2,
      sizeof(HostOpOptions), host_op_entries, host_maintenance_run },
    { "host reconnect", "HOST", "Reconnect the centre to a host", 1, 1, sizeof(HostOpOptions), host_op_entries,
      host_reconnect_run },
    { "host disconnect", "HOST", "Disconnect a host (it keeps running its VMs)", 1, 1, sizeof(HostOpOptions),
      host_op_entries, host_disconnect_run },
    { NULL },
};
