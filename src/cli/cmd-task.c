/* cmd-task.c — tasks on vireo-centerd: telling a centre from a host (cached
 * per URL), sending long operations with ?vmw-task=true and following them
 * with a progress bar, and `vireo task ls|info|wait`.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vireo-error.h"

#define TASK_POLL_MICROSECONDS 250000
#define TASK_BAR_WIDTH 10

const CliCommand *
cli_command_in(const CliCommand *table, const char *path)
{
    for (const CliCommand *c = table; c->path; c++) {
        if (g_str_equal(c->path, path))
            return c;
    }
    return NULL;
}

/* ---- centre or host ---- */

char *
cli_server_kind_path(const char *url)
{
    g_autofree char *key = g_strdup_printf("server-kind\n%s", url ? url : "");
    g_autofree char *hash = g_compute_checksum_for_string(G_CHECKSUM_SHA256, key, -1);
    g_autofree char *name = g_strconcat(hash, ".kind", NULL);

    return g_build_filename(g_get_user_cache_dir(), "vireo", "sessions", name, NULL);
}

char *
cli_server_kind_load(const char *url)
{
    g_autofree char *path = cli_server_kind_path(url);
    g_autofree char *text = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return NULL;
    g_strstrip(text);
    return g_str_equal(text, "center") || g_str_equal(text, "host") ? g_steal_pointer(&text) : NULL;
}

gboolean
cli_server_kind_save(const char *url, const char *kind, GError **error)
{
    g_autofree char *path = cli_server_kind_path(url);
    g_autofree char *dir = g_path_get_dirname(path);

    if (g_mkdir_with_parents(dir, 0700) != 0) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "cannot make %s", dir);
        return FALSE;
    }
    return g_file_set_contents_full(path, kind, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

gboolean
cli_server_is_center(CliContext *ctx, gboolean *is_center, GError **error)
{
    g_autofree char *kind = cli_server_kind_load(ctx->settings.url);
    g_autoptr(JsonNode) answer = NULL;
    GError *local = NULL;

    if (!kind) {
        if (cli_call(ctx, "GET", "/api/vcenter/datacenter", NULL, NULL, &answer, &local))
            kind = g_strdup("center");
        else if (g_error_matches(local, VIREO_ERROR, VIREO_ERROR_NOT_FOUND))
            kind = g_strdup("host");
        else {
            g_propagate_error(error, local);
            return FALSE;
        }
        g_clear_error(&local);
        /* Only a speed-up: a cache that cannot be written costs one request. */
        cli_server_kind_save(ctx->settings.url, kind, NULL);
    }
    *is_center = g_str_equal(kind, "center");
    return TRUE;
}

static JsonNode *
task_lister_get(gpointer data, const char *path, const char *const *query, GError **error)
{
    return cli_get(data, path, query, error);
}

CliInvLister
cli_inventory_lister(CliContext *ctx)
{
    CliInvLister lister = { task_lister_get, ctx };

    return lister;
}

char *
cli_inventory_resolve_id(CliContext *ctx, CliInvKind want, const char *folder_type, const char *text, GError **error)
{
    CliInvLister lister = cli_inventory_lister(ctx);
    g_autoptr(CliInvObject) obj = cli_inv_resolve(&lister, want, folder_type, text, error);

    return obj ? g_strdup(obj->id) : NULL;
}

/* ---- task infos ---- */

static const char *
task_message(JsonObject *info)
{
    const char *text = cli_json_str(cli_json_obj(info, "progress"), "message");

    if (!text || !*text)
        text = cli_json_str(cli_json_obj(info, "description"), "default_message");
    if (!text || !*text)
        text = cli_json_str(info, "operation");
    return text ? text : "";
}

/* How much of the task is done, 0 … 1. */
static double
task_fraction(JsonObject *info)
{
    JsonObject *progress = cli_json_obj(info, "progress");
    gint64 total = cli_json_int(progress, "total");
    gint64 done = cli_json_int(progress, "completed");

    if (g_strcmp0(cli_json_str(info, "status"), "SUCCEEDED") == 0)
        return 1.0;
    if (total <= 0 || done < 0)
        return 0.0;
    return CLAMP((double)done / (double)total, 0.0, 1.0);
}

static int
task_percent(JsonObject *info)
{
    return (int)(task_fraction(info) * 100.0);
}

char *
cli_task_progress_line(JsonObject *info, guint bar_width)
{
    GString *out = g_string_new(NULL);
    const char *status = cli_json_str(info, "status");
    int percent = task_percent(info);

    if (bar_width) {
        guint filled = (guint)(task_fraction(info) * bar_width);
        g_string_append_c(out, '[');
        for (guint i = 0; i < bar_width; i++)
            g_string_append_c(out, i < filled ? '#' : ' ');
        g_string_append(out, "] ");
    }
    g_string_append_printf(out, "%d%%%s%s", percent, *task_message(info) ? " " : "", task_message(info));
    if (g_strcmp0(status, "FAILED") == 0)
        g_string_append(out, ": failed");
    else if (g_strcmp0(status, "CANCELED") == 0)
        g_string_append(out, ": canceled");
    return g_string_free(out, FALSE);
}

gboolean
cli_task_is_done(JsonObject *info)
{
    const char *status = cli_json_str(info, "status");

    return g_strcmp0(status, "SUCCEEDED") == 0 || g_strcmp0(status, "FAILED") == 0 ||
           g_strcmp0(status, "CANCELED") == 0;
}

/* The task's error: vSphere's error shape, or a bare message. */
static void
task_set_error(JsonObject *info, GError **error)
{
    JsonNode *node = info ? json_object_get_member(info, "error") : NULL;
    JsonObject *obj = node && JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
    const char *type = cli_json_str(obj, "error_type");
    const char *message = NULL;
    JsonNode *messages = obj ? json_object_get_member(obj, "messages") : NULL;

    if (messages && JSON_NODE_HOLDS_ARRAY(messages) && json_array_get_length(json_node_get_array(messages))) {
        JsonNode *first = json_array_get_element(json_node_get_array(messages), 0);
        if (JSON_NODE_HOLDS_OBJECT(first))
            message = cli_json_str(json_node_get_object(first), "default_message");
    }
    if (!message)
        message = cli_json_str(obj, "message");
    if (!message && node && JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == G_TYPE_STRING)
        message = json_node_get_string(node);
    g_set_error(error, VIREO_ERROR, type ? vireo_error_type_from_name(type) : VIREO_ERROR_ERROR, "%s: %s",
                task_message(info), message ? message : type ? type : "the task failed");
}

gboolean
cli_task_outcome(JsonObject *info, GError **error)
{
    const char *status = cli_json_str(info, "status");

    if (g_strcmp0(status, "SUCCEEDED") == 0)
        return TRUE;
    if (g_strcmp0(status, "FAILED") == 0)
        task_set_error(info, error);
    else if (g_strcmp0(status, "CANCELED") == 0)
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "%s: the task was canceled", task_message(info));
    else
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_UNEXPECTED_INPUT, "the task has not ended (status %s)",
                    status ? status : "missing");
    return FALSE;
}

static char *
task_path(const char *task)
{
    g_autofree char *segment = api_client_escape_segment(task);

    return g_strdup_printf("/api/cis/tasks/%s", segment);
}

/* One progress update on stderr: redrawn in place on a terminal, a new
 * line per change otherwise. */
static void
task_draw(JsonObject *info, gboolean tty, char **last)
{
    g_autofree char *line = cli_task_progress_line(info, tty ? TASK_BAR_WIDTH : 0);

    if (g_strcmp0(line, *last) == 0)
        return;
    if (tty)
        fprintf(stderr, "\r%s\033[K", line);
    else
        fprintf(stderr, "%s\n", line);
    fflush(stderr);
    g_free(*last);
    *last = g_steal_pointer(&line);
}

gboolean
cli_task_wait(CliContext *ctx, const char *task, JsonNode **info_out, GError **error)
{
    g_autofree char *path = task_path(task);
    g_autofree char *last = NULL;
    gboolean tty = isatty(STDERR_FILENO);
    g_autoptr(JsonNode) info = NULL;

    for (;;) {
        g_clear_pointer(&info, json_node_unref);
        if (!(info = cli_get(ctx, path, NULL, error))) {
            if (tty && last)
                fputc('\n', stderr);
            return FALSE;
        }
        if (!JSON_NODE_HOLDS_OBJECT(info)) {
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_UNEXPECTED_INPUT, "task %s: the answer is not an object", task);
            return FALSE;
        }
        task_draw(json_node_get_object(info), tty, &last);
        if (cli_task_is_done(json_node_get_object(info)))
            break;
        g_usleep(TASK_POLL_MICROSECONDS);
    }
    if (tty)
        fputc('\n', stderr);
    if (!cli_task_outcome(json_node_get_object(info), error))
        return FALSE;
    if (info_out)
        *info_out = g_steal_pointer(&info);
    return TRUE;
}

/* The query with vmw-task=true added. */
static GPtrArray *
task_query(const char *const *query)
{
    GPtrArray *q = g_ptr_array_new();

    for (guint i = 0; query && query[i]; i++)
        g_ptr_array_add(q, (gpointer)query[i]);
    g_ptr_array_add(q, (gpointer) "vmw-task");
    g_ptr_array_add(q, (gpointer) "true");
    g_ptr_array_add(q, NULL);
    return q;
}

gboolean
cli_call_long(CliContext *ctx, const char *method, const char *path, const char *const *query,
              JsonNode *body, gboolean async, JsonNode **answer_out, char **task_out, GError **error)
{
    g_autoptr(GPtrArray) q = NULL;
    g_autoptr(JsonNode) answer = NULL;
    g_autoptr(JsonNode) info = NULL;
    gboolean center = FALSE;
    const char *task;
    JsonNode *result;

    if (!cli_server_is_center(ctx, &center, error))
        return FALSE;
    if (!center && async) {
        g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "--async needs vireo-centerd: a host runs no tasks");
        return FALSE;
    }
    if (!center)
        return cli_call(ctx, method, path, query, body, answer_out, error);
    q = task_query(query);
    if (!cli_call(ctx, method, path, (const char *const *)q->pdata, body, &answer, error))
        return FALSE;
    task = answer && JSON_NODE_HOLDS_VALUE(answer) && json_node_get_value_type(answer) == G_TYPE_STRING
               ? json_node_get_string(answer) : NULL;
    /* An operation the centre finishes at once answers as without the flag. */
    if (!task || !g_str_has_prefix(task, "task-")) {
        if (answer_out)
            *answer_out = g_steal_pointer(&answer);
        return TRUE;
    }
    if (async) {
        if (task_out)
            *task_out = g_strdup(task);
        return TRUE;
    }
    if (!cli_task_wait(ctx, task, &info, error))
        return FALSE;
    result = json_object_get_member(json_node_get_object(info), "result");
    if (answer_out && result && !JSON_NODE_HOLDS_NULL(result))
        *answer_out = json_node_copy(result);
    return TRUE;
}

void
cli_task_started(CliContext *ctx, const char *task)
{
    if (ctx->settings.json) {
        g_autoptr(JsonNode) node = json_node_new(JSON_NODE_VALUE);
        json_node_set_string(node, task);
        cli_json_append(ctx->out, node);
    } else {
        g_string_append_printf(ctx->out, "Started %s (follow it with `vireo task wait %s`).\n", task, task);
    }
}

/* ---- task ls / info / wait ---- */

typedef struct {
    char *state;
    char *target;
} TaskLsOptions;

static void
task_ls_entries(gpointer options, GArray *entries)
{
    TaskLsOptions *o = options;

    CLI_OPTION(entries, "state", G_OPTION_ARG_STRING, &o->state,
               "only tasks in this state: pending, running, succeeded, failed, canceled", "S");
    CLI_OPTION(entries, "target", G_OPTION_ARG_STRING, &o->target, "only tasks on this object (path or id)", "OBJ");
}

static void
task_format_list(JsonNode *list, GString *out)
{
    const char *headers[] = { "TASK", "OPERATION", "TARGET", "USER", "STATUS", "PROGRESS", "STARTED", NULL };
    g_autoptr(CliTable) table = cli_table_new(headers);
    JsonArray *tasks = JSON_NODE_HOLDS_ARRAY(list) ? json_node_get_array(list) : NULL;

    for (guint i = 0; tasks && i < json_array_get_length(tasks); i++) {
        JsonNode *e = json_array_get_element(tasks, i);
        JsonObject *t = JSON_NODE_HOLDS_OBJECT(e) ? json_node_get_object(e) : NULL;
        g_autofree char *percent = t ? g_strdup_printf("%d%%", task_percent(t)) : NULL;
        const char *row[] = { cli_json_str(t, "task"), cli_json_str(t, "operation"),
                              cli_json_str(cli_json_obj(t, "target"), "id"), cli_json_str(t, "user"),
                              cli_json_str(t, "status"), percent, cli_json_str(t, "start_time") };
        cli_table_add(table, row);
    }
    cli_table_render(table, out);
}

static gboolean
task_ls_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    TaskLsOptions *o = options;
    g_autofree char *state = o->state ? g_ascii_strup(o->state, -1) : NULL;
    g_autoptr(CliInvObject) target = NULL;
    const char *query[5] = { NULL };
    guint q = 0;
    g_autoptr(JsonNode) list = NULL;
    CliInvLister lister = cli_inventory_lister(ctx);

    if (state) {
        query[q++] = "states";
        query[q++] = state;
    }
    if (o->target) {
        if (!(target = cli_inv_resolve_any(&lister, o->target, error)))
            return FALSE;
        query[q++] = "targets";
        query[q++] = target->id;
    }
    if (!(list = cli_get(ctx, "/api/cis/tasks", query, error)))
        return FALSE;
    if (ctx->settings.json)
        cli_json_append(ctx->out, list);
    else
        task_format_list(list, ctx->out);
    return TRUE;
}

static void
task_format_info(const char *id, JsonObject *t, GString *out)
{
    g_autoptr(CliFields) fields = cli_fields_new();
    g_autofree char *percent = g_strdup_printf("%d%%", task_percent(t));
    JsonObject *target = cli_json_obj(t, "target");
    g_autofree char *target_text = target ? g_strdup_printf("%s (%s)", cli_json_str(target, "id"),
                                                            cli_json_str(target, "type")) : NULL;
    JsonNode *result = json_object_get_member(t, "result");
    g_autofree char *result_text = result && !JSON_NODE_HOLDS_NULL(result) ? json_to_string(result, FALSE) : NULL;
    g_autoptr(GError) failure = NULL;

    if (g_strcmp0(cli_json_str(t, "status"), "FAILED") == 0)
        cli_task_outcome(t, &failure);
    cli_fields_add(fields, "Task", id);
    cli_fields_add(fields, "Description", cli_json_str(cli_json_obj(t, "description"), "default_message"));
    cli_fields_add(fields, "Operation", cli_json_str(t, "operation"));
    cli_fields_add(fields, "Target", target_text);
    cli_fields_add(fields, "User", cli_json_str(t, "user"));
    cli_fields_add(fields, "Status", cli_json_str(t, "status"));
    cli_fields_add(fields, "Progress", percent);
    cli_fields_add(fields, "Message", cli_json_str(cli_json_obj(t, "progress"), "message"));
    cli_fields_add(fields, "Started", cli_json_str(t, "start_time"));
    cli_fields_add(fields, "Ended", cli_json_str(t, "end_time"));
    cli_fields_add(fields, "Result", result_text);
    cli_fields_add(fields, "Error", failure ? failure->message : NULL);
    cli_fields_render(fields, out);
}

static gboolean
task_info_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    g_autofree char *path = task_path(args[0]);
    g_autoptr(JsonNode) info = cli_get(ctx, path, NULL, error);

    if (!info)
        return FALSE;
    if (ctx->settings.json)
        cli_json_append(ctx->out, info);
    else if (JSON_NODE_HOLDS_OBJECT(info))
        task_format_info(args[0], json_node_get_object(info), ctx->out);
    return TRUE;
}

static gboolean
task_wait_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    g_autoptr(JsonNode) info = NULL;
    JsonNode *result;

    if (!cli_task_wait(ctx, args[0], &info, error))
        return FALSE;
    if (ctx->settings.json) {
        cli_json_append(ctx->out, info);
        return TRUE;
    }
    result = json_object_get_member(json_node_get_object(info), "result");
    if (result && JSON_NODE_HOLDS_VALUE(result) && json_node_get_value_type(result) == G_TYPE_STRING)
        g_string_append_printf(ctx->out, "Task %s succeeded: %s.\n", args[0], json_node_get_string(result));
    else
        g_string_append_printf(ctx->out, "Task %s succeeded.\n", args[0]);
    return TRUE;
}

const CliCommand cli_task_commands[] = {
    { "task ls", "", "List the centre's tasks", 0, 0, sizeof(TaskLsOptions), task_ls_entries, task_ls_run },
    { "task info", "TASK", "Show a task: operation, target, status, progress, result or error", 1, 1, 0, NULL,
      task_info_run },
    { "task wait", "TASK", "Wait for a task to end, showing its progress; exits as the task ended", 1, 1, 0, NULL,
      task_wait_run },
    { NULL },
};
