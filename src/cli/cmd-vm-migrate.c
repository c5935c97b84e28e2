/* cmd-vm-migrate.c — `vireo vm migrate VM --host HOST`: vMotion of a running
 * VM to another host through vireo-centerd (a task with a progress bar), or
 * with --check the centre's compatibility report without moving anything;
 * `--datastore DS`: Storage vMotion of its disks to another datastore of its host.
 */
#include "cli.h"

#include "vireo-error.h"

typedef struct {
    char *host;
    char *datastore;
    gboolean check;
    gboolean async;
    gint downtime_ms;        /* the convergence policy (0 / FALSE: the centre's default) */
    gboolean no_throttle;
    gboolean postcopy;
    gint bandwidth;
    gint time_limit;
} VmMigrateOptions;

static void
vm_migrate_entries(gpointer options, GArray *entries)
{
    VmMigrateOptions *o = options;

    CLI_OPTION(entries, "host", G_OPTION_ARG_STRING, &o->host, "the destination host (path, id or name)", "HOST");
    CLI_OPTION(entries, "datastore", G_OPTION_ARG_STRING, &o->datastore,
               "move the disks to this datastore of the VM's host (Storage vMotion; path, id or name)", "DS");
    CLI_OPTION(entries, "check", G_OPTION_ARG_NONE, &o->check,
               "only check: list every reason the move would fail, move nothing", NULL);
    CLI_OPTION(entries, "async", G_OPTION_ARG_NONE, &o->async, "print the task id and return at once", NULL);
    CLI_OPTION(entries, "downtime", G_OPTION_ARG_INT, &o->downtime_ms,
               "vMotion: switch over when what remains fits this pause (default 500 ms)", "MS");
    CLI_OPTION(entries, "no-throttle", G_OPTION_ARG_NONE, &o->no_throttle,
               "vMotion: never slow the guest's vCPUs down to converge", NULL);
    CLI_OPTION(entries, "postcopy", G_OPTION_ARG_NONE, &o->postcopy,
               "vMotion: switch to post-copy when pre-copy cannot converge (a failure after the switch loses "
               "the VM)", NULL);
    CLI_OPTION(entries, "bandwidth", G_OPTION_ARG_INT, &o->bandwidth,
               "vMotion: cap the memory copy (default 1192 MiB/s, 10 Gb/s)", "MIB_PER_S");
    CLI_OPTION(entries, "time-limit", G_OPTION_ARG_INT, &o->time_limit,
               "vMotion: cancel a copy that has not converged after this long (default 600 s)", "S");
}

/* The convergence flags as the relocate body's vireo_migration (NULL: none
 * given, the centre's defaults). */
static JsonObject *
vm_migrate_policy(const VmMigrateOptions *o)
{
    if (!o->downtime_ms && !o->no_throttle && !o->postcopy && !o->bandwidth && !o->time_limit)
        return NULL;
    JsonObject *p = json_object_new();
    if (o->downtime_ms)
        json_object_set_int_member(p, "downtime_ms", o->downtime_ms);
    if (o->no_throttle)
        json_object_set_boolean_member(p, "throttle", FALSE);
    if (o->postcopy)
        json_object_set_boolean_member(p, "postcopy", TRUE);
    if (o->bandwidth)
        json_object_set_int_member(p, "bandwidth_MiB_per_second", o->bandwidth);
    if (o->time_limit)
        json_object_set_int_member(p, "time_limit_seconds", o->time_limit);
    return p;
}

/* The report of a check: "vmotion: no issue" or one line per issue. */
static void
vm_migrate_format_report(JsonObject *report, guint *errors, GString *out)
{
    JsonArray *issues = json_object_has_member(report, "issues")
                            ? json_object_get_array_member(report, "issues") : NULL;
    guint n = issues ? json_array_get_length(issues) : 0;
    g_autofree char *kind = g_ascii_strdown(cli_json_str(report, "kind") ? cli_json_str(report, "kind") : "?", -1);

    *errors = 0;
    g_strdelimit(kind, "_", '-');
    g_string_append_printf(out, "Migration kind: %s\n", kind);
    if (n == 0)
        g_string_append(out, "No issue: the VM can move.\n");
    for (guint i = 0; i < n; i++) {
        JsonObject *issue = json_array_get_object_element(issues, i);
        const char *severity = cli_json_str(issue, "severity");
        if (g_strcmp0(severity, "ERROR") == 0)
            (*errors)++;
        g_string_append_printf(out, "%-7s %s: %s\n", severity ? severity : "?",
                               cli_json_str(issue, "code") ? cli_json_str(issue, "code") : "?",
                               cli_json_str(issue, "message") ? cli_json_str(issue, "message") : "");
    }
}

static gboolean
vm_migrate_check(CliContext *ctx, const char *vm, const char *path, JsonNode *body, GError **error)
{
    const char *query[] = { "action", "relocate", "check_only", "true", NULL };
    g_autoptr(JsonNode) answer = NULL;
    g_autoptr(GString) text = g_string_new(NULL);
    guint errors = 0;

    if (!cli_call(ctx, "POST", path, query, body, &answer, error))
        return FALSE;
    if (!answer || !JSON_NODE_HOLDS_OBJECT(answer)) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_UNEXPECTED_INPUT, "the check's answer is not an object");
        return FALSE;
    }
    if (ctx->settings.json)
        cli_json_append(ctx->out, answer);
    vm_migrate_format_report(json_node_get_object(answer), &errors, text);
    if (!ctx->settings.json)
        g_string_append(ctx->out, text->str);
    if (errors) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                    "%s cannot move now: %u error%s above", vm, errors, errors == 1 ? "" : "s");
        return FALSE;
    }
    return TRUE;
}

static void
vm_migrate_print_done(CliContext *ctx, const char *vm, const VmMigrateOptions *opts, JsonNode *stats)
{
    JsonObject *o = stats && JSON_NODE_HOLDS_OBJECT(stats) ? json_node_get_object(stats) : NULL;

    if (ctx->settings.json) {
        if (stats)
            cli_json_append(ctx->out, stats);
        return;
    }
    if (o && g_strcmp0(cli_json_str(o, "kind"), "COLD") == 0) {
        /* A cold migration: files copied (or re-registered), no memory. */
        g_autofree char *copied = cli_size_format((guint64)MAX(cli_json_int(o, "copied_bytes"), 0));
        g_string_append_printf(ctx->out, "Migrated %s (cold) to %s%s%s.\n", vm, opts->host ? opts->host : "",
                               opts->host && opts->datastore ? ", " : "", opts->datastore ? opts->datastore : "");
        g_string_append_printf(ctx->out, "%s copied in %.1f s; %.1f s in all.\n",
                               json_object_get_boolean_member_with_default(o, "files_copied", FALSE) ? copied : "No file",
                               cli_json_int(o, "copy_time_ms") / 1000.0, cli_json_int(o, "elapsed_ms") / 1000.0);
        return;
    }
    if (o && g_strcmp0(cli_json_str(o, "kind"), "STORAGE_VMOTION") == 0) {
        /* Storage vMotion: disks mirrored on the host, no memory moved. */
        g_autofree char *copied = cli_size_format((guint64)MAX(cli_json_int(o, "copied_bytes"), 0));
        g_string_append_printf(ctx->out, "Moved the disks of %s to %s: %s copied in %.1f s.\n", vm,
                               opts->datastore, copied, cli_json_int(o, "elapsed_ms") / 1000.0);
        return;
    }
    if (opts->host)
        g_string_append_printf(ctx->out, "Migrated %s to %s.\n", vm, opts->host);
    else
        g_string_append_printf(ctx->out, "Moved the disks of %s to %s.\n", vm, opts->datastore);
    if (o) {
        g_autofree char *moved = cli_size_format((guint64)MAX(cli_json_int(o, "transferred_bytes"), 0));
        g_string_append_printf(ctx->out,
                               "Memory copied in %.1f s (%s), downtime %" G_GINT64_FORMAT " ms; "
                               "%.1f s in all.\n",
                               cli_json_int(o, "total_time_ms") / 1000.0, moved, cli_json_int(o, "downtime_ms"),
                               cli_json_int(o, "elapsed_ms") / 1000.0);
        if (opts->host)
            g_string_append_printf(ctx->out, "%" G_GINT64_FORMAT " passes, vCPU throttle reached %" G_GINT64_FORMAT
                                   " %%, %s.\n", cli_json_int(o, "dirty_sync_count"),
                                   cli_json_int(o, "max_throttle_pct"),
                                   json_object_get_boolean_member_with_default(o, "postcopy", FALSE)
                                       ? "finished in post-copy" : "no post-copy");
    }
}

static gboolean
vm_migrate_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    VmMigrateOptions *o = options;
    gboolean center = FALSE;
    g_autofree char *vm = NULL;
    g_autofree char *host = NULL;
    g_autofree char *ds = NULL;
    g_autofree char *path = NULL;
    g_autofree char *task = NULL;
    g_autoptr(JsonNode) stats = NULL;
    const char *query[] = { "action", "relocate", NULL };

    if (!o->host && !o->datastore) {
        g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE,
                    "give the destination with --host HOST or --datastore DS");
        return FALSE;
    }
    if (!cli_server_is_center(ctx, &center, error))
        return FALSE;
    if (!center) {
        g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "vm migrate needs vireo-centerd; %s is a host",
                    ctx->settings.url);
        return FALSE;
    }
    if (!(vm = cli_inventory_resolve_id(ctx, CLI_INV_VM, NULL, args[0], error)) ||
        (o->host && !(host = cli_inventory_resolve_id(ctx, CLI_INV_HOST, NULL, o->host, error))) ||
        (o->datastore && !(ds = cli_inventory_resolve_id(ctx, CLI_INV_DATASTORE, NULL, o->datastore, error))))
        return FALSE;
    g_autofree char *segment = api_client_escape_segment(vm);
    path = g_strdup_printf("/api/vcenter/vm/%s", segment);
    JsonObject *placement = json_object_new();
    if (host)
        json_object_set_string_member(placement, "host", host);
    if (ds)
        json_object_set_string_member(placement, "datastore", ds);
    JsonObject *spec = json_object_new();
    json_object_set_object_member(spec, "placement", placement);
    JsonObject *policy = vm_migrate_policy(o);
    if (policy)
        json_object_set_object_member(spec, "vireo_migration", policy);
    g_autoptr(JsonNode) body = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(body, spec);
    if (o->check)
        return vm_migrate_check(ctx, args[0], path, body, error);
    if (!cli_call_long(ctx, "POST", path, query, body, o->async, &stats, &task, error))
        return FALSE;
    if (task)
        cli_task_started(ctx, task);
    else
        vm_migrate_print_done(ctx, args[0], o, stats);
    return TRUE;
}

const CliCommand cli_vm_migrate_commands[] = {
    { "vm migrate", "VM", "Move a running VM to another host (--host: vMotion) or its disks to another datastore "
      "(--datastore: Storage vMotion), or a powered-off or suspended one (cold migration); centre only; "
      "--check: dry run", 1, 1,
      sizeof(VmMigrateOptions), vm_migrate_entries, vm_migrate_run },
    { NULL },
};
