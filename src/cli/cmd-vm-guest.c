/* cmd-vm-guest.c — operations that go through the guest agent (vireo-tools):
 * graceful shutdown and reboot, guest identity, waiting for an IP address
 * (as govc vm.ip does), and the agent's own state.
 */
#include "cli.h"

#include "vireo-error.h"

static gboolean
guest_power(CliContext *ctx, const char *vm, const char *action, const char *done, GError **error)
{
    const char *query[] = { "action", action, NULL };
    g_autofree char *path = cli_vm_path(ctx, vm, "/guest/power", error);

    if (!path || !cli_call(ctx, "POST", path, query, NULL, NULL, error))
        return FALSE;
    if (!ctx->settings.json)
        g_string_append_printf(ctx->out, "%s %s.\n", done, vm);
    return TRUE;
}

static gboolean
guest_shutdown_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    return guest_power(ctx, args[0], "shutdown", "Asked the guest to shut down:", error);
}

static gboolean
guest_reboot_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    return guest_power(ctx, args[0], "reboot", "Asked the guest to reboot:", error);
}

static void
guest_format_identity(JsonObject *id, GString *out)
{
    g_autoptr(CliFields) fields = cli_fields_new();

    cli_fields_add(fields, "Host name", cli_json_str(id, "host_name"));
    cli_fields_add(fields, "IP address", cli_json_str(id, "ip_address"));
    cli_fields_add(fields, "OS", cli_json_str(cli_json_obj(id, "full_name"), "default_message"));
    cli_fields_add(fields, "OS name", cli_json_str(id, "name"));
    cli_fields_add(fields, "OS family", cli_json_str(id, "family"));
    cli_fields_render(fields, out);
}

static gboolean
guest_identity_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    g_autofree char *path = cli_vm_path(ctx, args[0], "/guest/identity", error);
    g_autoptr(JsonNode) id = path ? cli_get(ctx, path, NULL, error) : NULL;

    if (!id)
        return FALSE;
    if (ctx->settings.json)
        cli_json_append(ctx->out, id);
    else
        guest_format_identity(JSON_NODE_HOLDS_OBJECT(id) ? json_node_get_object(id) : NULL, ctx->out);
    return TRUE;
}

typedef struct {
    int wait;
} GuestIpOptions;

static void
guest_ip_entries(gpointer options, GArray *entries)
{
    GuestIpOptions *o = options;

    CLI_OPTION(entries, "wait", G_OPTION_ARG_INT, &o->wait,
               "keep asking for up to this many seconds until the guest reports an address", "SECONDS");
}

/* One look at the identity: TRUE with *answer when it has an address; FALSE
 * with error when asking again cannot help; FALSE without error otherwise. */
static gboolean
guest_ip_try(CliContext *ctx, const char *path, JsonNode **answer, GError **error)
{
    GError *local = NULL;
    g_autoptr(JsonNode) id = cli_get(ctx, path, NULL, &local);
    const char *ip;

    if (!id) {
        if (g_error_matches(local, VIREO_ERROR, VIREO_ERROR_SERVICE_UNAVAILABLE)) {
            g_clear_error(&local);
            return FALSE;
        }
        g_propagate_error(error, local);
        return FALSE;
    }
    ip = JSON_NODE_HOLDS_OBJECT(id) ? cli_json_str(json_node_get_object(id), "ip_address") : NULL;
    if (!ip || !*ip)
        return FALSE;
    *answer = g_steal_pointer(&id);
    return TRUE;
}

static gboolean
guest_ip_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    GuestIpOptions *o = options;
    g_autofree char *path = cli_vm_path(ctx, args[0], "/guest/identity", error);
    gint64 deadline = g_get_monotonic_time() + (gint64)MAX(o->wait, 0) * G_USEC_PER_SEC;
    g_autoptr(JsonNode) id = NULL;
    GError *local = NULL;

    if (!path)
        return FALSE;
    while (!guest_ip_try(ctx, path, &id, &local)) {
        if (local) {
            g_propagate_error(error, local);
            return FALSE;
        }
        if (g_get_monotonic_time() >= deadline) {
            g_set_error(error, VIREO_ERROR, o->wait > 0 ? VIREO_ERROR_TIMED_OUT : VIREO_ERROR_SERVICE_UNAVAILABLE,
                        o->wait > 0 ? "%s reported no IP address within %d s"
                                    : "%s has no IP address yet (guest tools not running or no address); "
                                      "use --wait SECONDS to wait for one", args[0], o->wait);
            return FALSE;
        }
        g_usleep(G_USEC_PER_SEC);
    }
    if (ctx->settings.json)
        cli_json_append(ctx->out, id);
    else
        g_string_append_printf(ctx->out, "%s\n", cli_json_str(json_node_get_object(id), "ip_address"));
    return TRUE;
}

static gboolean
guest_tools_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    g_autofree char *path = cli_vm_path(ctx, args[0], "/tools", error);
    g_autoptr(JsonNode) tools = path ? cli_get(ctx, path, NULL, error) : NULL;
    g_autoptr(CliFields) fields = cli_fields_new();
    JsonObject *t;

    if (!tools)
        return FALSE;
    if (ctx->settings.json) {
        cli_json_append(ctx->out, tools);
        return TRUE;
    }
    t = JSON_NODE_HOLDS_OBJECT(tools) ? json_node_get_object(tools) : NULL;
    gint64 beats = cli_json_int(t, "heartbeats");
    gint64 uptime = cli_json_int(t, "uptime_seconds");
    g_autofree char *beats_text = beats >= 0 ? g_strdup_printf("%" G_GINT64_FORMAT, beats) : NULL;
    g_autofree char *uptime_text = uptime >= 0 ? g_strdup_printf("%" G_GINT64_FORMAT " s", uptime) : NULL;
    cli_fields_add(fields, "Run state", cli_json_str(t, "run_state"));
    cli_fields_add(fields, "Version", cli_json_str(t, "version"));
    cli_fields_add(fields, "Last heartbeat", cli_json_str(t, "last_heartbeat"));
    cli_fields_add(fields, "Heartbeats", beats_text);
    cli_fields_add(fields, "Guest uptime", uptime_text);
    cli_fields_render(fields, ctx->out);
    return TRUE;
}

const CliCommand cli_vm_guest_commands[] = {
    { "vm shutdown", "VM", "Ask the guest OS to shut down (needs vireo-tools)", 1, 1, 0, NULL, guest_shutdown_run },
    { "vm reboot", "VM", "Ask the guest OS to reboot (needs vireo-tools)", 1, 1, 0, NULL, guest_reboot_run },
    { "vm guest", "VM", "Show the guest's identity: host name, IP address, OS", 1, 1, 0, NULL, guest_identity_run },
    { "vm ip", "VM", "Print the guest's IP address", 1, 1, sizeof(GuestIpOptions), guest_ip_entries, guest_ip_run },
    { "vm tools", "VM", "Show the state of the guest agent (vireo-tools)", 1, 1, 0, NULL, guest_tools_run },
    { NULL },
};
