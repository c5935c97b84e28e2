/* cmd-inventory.c — browsing and shaping a centre's inventory: `vireo ls`
 * and `vireo info` by path, `datacenter create|rm`, `folder create|rm`,
 * `cluster ls|create|rm|info|evc`. Paths are resolved by inventory-path.c.
 */
#include "cli.h"

#include <string.h>

#include "vireo-error.h"

/* {"k1": v1, "k2": v2}, members whose value is NULL left out. */
static JsonNode *
inv_body(const char *k1, const char *v1, const char *k2, const char *v2)
{
    JsonObject *obj = json_object_new();
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);

    if (v1)
        json_object_set_string_member(obj, k1, v1);
    if (v2)
        json_object_set_string_member(obj, k2, v2);
    json_node_take_object(node, obj);
    return node;
}

static char *
inv_detail_path(CliInvKind kind, const char *id)
{
    g_autofree char *segment = api_client_escape_segment(id);

    return g_strdup_printf("%s/%s", cli_inv_kind_collection(kind), segment);
}

/* ---- ls ---- */

static void
ls_entries(gpointer options, GArray *entries)
{
    GOptionEntry l = { "long", 'l', 0, G_OPTION_ARG_NONE, &((CliLsOptions *)options)->longer,
                       "long listing: kind, id and state (-l)", NULL };

    g_array_append_val(entries, l);
}

static JsonNode *
ls_json(GPtrArray *objs)
{
    JsonArray *array = json_array_new();
    JsonNode *node = json_node_new(JSON_NODE_ARRAY);

    for (guint i = 0; i < objs->len; i++) {
        CliInvObject *o = g_ptr_array_index(objs, i);
        JsonObject *e = json_object_new();
        json_object_set_string_member(e, "path", o->path ? o->path : o->name);
        json_object_set_string_member(e, "name", o->name);
        json_object_set_string_member(e, "kind", cli_inv_kind_name(o->kind));
        json_object_set_string_member(e, "id", o->id);
        if (o->state)
            json_object_set_string_member(e, "state", o->state);
        json_array_add_object_element(array, e);
    }
    json_node_take_array(node, array);
    return node;
}

static void
ls_format(GPtrArray *objs, gboolean longer, GString *out)
{
    const char *headers[] = { "PATH", "KIND", "ID", "STATE", NULL };
    g_autoptr(CliTable) table = cli_table_new(headers);

    for (guint i = 0; i < objs->len; i++) {
        CliInvObject *o = g_ptr_array_index(objs, i);
        const char *shown = o->path ? o->path : o->name ? o->name : o->id;
        const char *row[] = { shown, cli_inv_kind_name(o->kind), o->id,
                              o->kind == CLI_INV_VM ? cli_power_state_word(o->state) : o->state };
        if (longer)
            cli_table_add(table, row);
        else
            g_string_append_printf(out, "%s\n", shown);
    }
    if (longer)
        cli_table_render(table, out);
}

static gboolean
ls_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    CliLsOptions *o = options;
    CliInvLister lister = cli_inventory_lister(ctx);
    g_autoptr(CliInvObject) obj = cli_inv_resolve_any(&lister, args[0] ? args[0] : "/", error);
    g_autoptr(GPtrArray) objs = NULL;

    if (!obj)
        return FALSE;
    if (obj->kind == CLI_INV_VM || obj->kind == CLI_INV_HOST || obj->kind == CLI_INV_DATASTORE ||
        obj->kind == CLI_INV_NETWORK) {
        objs = g_ptr_array_new_with_free_func((GDestroyNotify)cli_inv_object_free);
        g_ptr_array_add(objs, g_steal_pointer(&obj));   /* like ls of a file */
    } else if (!(objs = cli_inv_children(&lister, obj, error))) {
        return FALSE;
    }
    if (ctx->settings.json) {
        g_autoptr(JsonNode) node = ls_json(objs);
        cli_json_append(ctx->out, node);
    } else {
        ls_format(objs, o->longer, ctx->out);
    }
    return TRUE;
}

/* ---- info ---- */

/* "free_space" → "Free space". */
static char *
info_label(const char *member)
{
    char *label = g_strdup(member);

    g_strdelimit(label, "_", ' ');
    label[0] = g_ascii_toupper(label[0]);
    return label;
}

/* Scalar members as fields (sizes in binary units), string lists joined. */
static void
info_generic(CliInvObject *obj, JsonObject *detail, GString *out)
{
    g_autoptr(CliFields) fields = cli_fields_new();
    g_autoptr(GList) members = detail ? json_object_get_members(detail) : NULL;

    cli_fields_add(fields, "Path", obj->path);
    cli_fields_add(fields, "Kind", cli_inv_kind_name(obj->kind));
    cli_fields_add(fields, "Id", obj->id);
    for (GList *m = members; m; m = m->next) {
        JsonNode *node = json_object_get_member(detail, m->data);
        g_autofree char *label = info_label(m->data);
        g_autofree char *text = NULL;
        gboolean size = strstr(m->data, "capacity") || strstr(m->data, "space");

        if (JSON_NODE_HOLDS_ARRAY(node)) {
            g_autoptr(GString) list = g_string_new(NULL);
            JsonArray *a = json_node_get_array(node);
            for (guint i = 0; i < json_array_get_length(a); i++) {
                JsonNode *e = json_array_get_element(a, i);
                if (JSON_NODE_HOLDS_VALUE(e) && json_node_get_value_type(e) == G_TYPE_STRING)
                    g_string_append_printf(list, "%s%s", list->len ? ", " : "", json_node_get_string(e));
            }
            text = g_strdup(list->len ? list->str : "-");
        } else if (JSON_NODE_HOLDS_VALUE(node) && size && json_node_get_value_type(node) == G_TYPE_INT64) {
            text = cli_size_format((guint64)MAX(json_node_get_int(node), 0));
        } else if (JSON_NODE_HOLDS_VALUE(node)) {
            text = json_to_string(node, FALSE);
            if (json_node_get_value_type(node) == G_TYPE_STRING)
                g_free(text), text = g_strdup(json_node_get_string(node));
        }
        if (g_str_equal(m->data, "name") || g_str_equal(m->data, cli_inv_kind_name(obj->kind)))
            continue;   /* shown as Name / Id */
        cli_fields_add(fields, label, text);
    }
    g_string_append_printf(out, "Name:  %s\n", obj->name ? obj->name : cli_json_str(detail, "name") ? cli_json_str(detail, "name") : "-");
    cli_fields_render(fields, out);
}

/* The list element of a kind that has no detail request (folders, networks). */
static JsonNode *
info_from_list(CliContext *ctx, CliInvObject *obj, GError **error)
{
    static const char *const members[] = { [CLI_INV_FOLDER] = "folder", [CLI_INV_NETWORK] = "network" };
    g_autoptr(JsonNode) list = cli_get(ctx, cli_inv_kind_collection(obj->kind), NULL, error);
    JsonArray *a = list && JSON_NODE_HOLDS_ARRAY(list) ? json_node_get_array(list) : NULL;

    for (guint i = 0; a && i < json_array_get_length(a); i++) {
        JsonNode *e = json_array_get_element(a, i);
        if (JSON_NODE_HOLDS_OBJECT(e) && g_strcmp0(cli_json_str(json_node_get_object(e), members[obj->kind]), obj->id) == 0)
            return json_node_copy(e);
    }
    if (list)
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "no %s has the id '%s'", cli_inv_kind_name(obj->kind),
                    obj->id);
    return NULL;
}

static void cluster_format(CliInvObject *obj, JsonObject *detail, JsonNode *hosts, GString *out);

static gboolean
info_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    CliInvLister lister = cli_inventory_lister(ctx);
    g_autoptr(CliInvObject) obj = cli_inv_resolve_any(&lister, args[0], error);
    g_autofree char *path = obj ? inv_detail_path(obj->kind, obj->id) : NULL;
    g_autoptr(JsonNode) detail = NULL;
    g_autoptr(JsonNode) hosts = NULL;
    const char *by_cluster[] = { "clusters", obj ? obj->id : NULL, NULL };

    if (!obj)
        return FALSE;
    if (obj->kind == CLI_INV_FOLDER || obj->kind == CLI_INV_NETWORK)
        detail = obj->id && g_str_equal(obj->id, CLI_INV_ROOT_FOLDER) ? inv_body("folder", obj->id, "type", "DATACENTER")
                                                                      : info_from_list(ctx, obj, error);
    else
        detail = cli_get(ctx, path, NULL, error);
    if (!detail || (obj->kind == CLI_INV_CLUSTER && !(hosts = cli_get(ctx, "/api/vcenter/host", by_cluster, error))))
        return FALSE;
    if (ctx->settings.json)
        cli_json_append(ctx->out, detail);
    else if (obj->kind == CLI_INV_VM)
        cli_format_vm_info(detail, ctx->out);
    else if (obj->kind == CLI_INV_HOST)
        cli_format_host_info(detail, ctx->out);
    else if (obj->kind == CLI_INV_CLUSTER && JSON_NODE_HOLDS_OBJECT(detail))
        cluster_format(obj, json_node_get_object(detail), hosts, ctx->out);
    else
        info_generic(obj, JSON_NODE_HOLDS_OBJECT(detail) ? json_node_get_object(detail) : NULL, ctx->out);
    return TRUE;
}

/* ---- datacenter, folder, cluster ---- */

static gboolean
inv_create(CliContext *ctx, CliInvKind kind, JsonNode *body, const char *shown, GError **error)
{
    g_autoptr(JsonNode) id = NULL;

    if (!cli_call(ctx, "POST", cli_inv_kind_collection(kind), NULL, body, &id, error))
        return FALSE;
    if (ctx->settings.json)
        cli_json_append(ctx->out, id);
    else
        g_string_append_printf(ctx->out, "Created %s %s (%s).\n", cli_inv_kind_name(kind), shown,
                               id && JSON_NODE_HOLDS_VALUE(id) ? json_node_get_string(id) : "?");
    return TRUE;
}

static gboolean
inv_remove(CliContext *ctx, CliInvKind kind, const char *folder_type, const char *text, GError **error)
{
    g_autofree char *id = cli_inventory_resolve_id(ctx, kind, folder_type, text, error);
    g_autofree char *path = id ? inv_detail_path(kind, id) : NULL;

    if (!id || !cli_call(ctx, "DELETE", path, NULL, NULL, NULL, error))
        return FALSE;
    if (!ctx->settings.json)
        g_string_append_printf(ctx->out, "Removed %s %s.\n", cli_inv_kind_name(kind), text);
    return TRUE;
}

/* "/dc1/host/cluster1" → the folder /dc1/host (of folder_type) and "cluster1". */
static CliInvObject *
inv_parent_folder(CliContext *ctx, const char *path, const char *folder_type, char **name, GError **error)
{
    g_auto(GStrv) parts = cli_inv_path_split(path, error);
    g_autofree char *parent_path = g_strdup("/");
    CliInvLister lister = cli_inventory_lister(ctx);
    guint n = parts ? g_strv_length(parts) : 0;
    g_autoptr(CliInvObject) parent = NULL;

    if (!parts)
        return NULL;
    if (!n) {
        g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "'%s' names the root; give the new object's path", path);
        return NULL;
    }
    for (guint i = 0; i + 1 < n; i++) {
        char *longer = cli_inv_path_join(parent_path, parts[i]);
        g_free(parent_path);
        parent_path = longer;
    }
    *name = g_strdup(parts[n - 1]);
    parent = cli_inv_resolve_path(&lister, parent_path, error);
    if (parent && parent->kind == CLI_INV_DATACENTER) {
        g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "a datacenter holds only its vm, host, datastore and "
                    "network folders: create it in %s/vm, %s/host, …", parent_path, parent_path);
        return NULL;
    }
    if (parent && (parent->kind != CLI_INV_FOLDER || (folder_type && g_strcmp0(parent->folder_type, folder_type)))) {
        g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "%s is a %s%s%s, not a%s%s folder", parent_path,
                    parent->folder_type ? parent->folder_type : "", parent->folder_type ? " " : "",
                    cli_inv_kind_name(parent->kind), folder_type ? " " : "", folder_type ? folder_type : "");
        return NULL;
    }
    return g_steal_pointer(&parent);
}

typedef struct {
    char *folder;
} DatacenterCreateOptions;

static void
datacenter_create_entries(gpointer options, GArray *entries)
{
    CLI_OPTION(entries, "folder", G_OPTION_ARG_STRING, &((DatacenterCreateOptions *)options)->folder,
               "a datacenter folder to put it in (default: the root)", "PATH");
}

static gboolean
datacenter_create_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    DatacenterCreateOptions *o = options;
    g_autofree char *folder = o->folder ? cli_inventory_resolve_id(ctx, CLI_INV_FOLDER, "DATACENTER", o->folder, error)
                                        : NULL;
    g_autoptr(JsonNode) body = NULL;

    if (o->folder && !folder)
        return FALSE;
    body = inv_body("name", args[0], "folder", folder);
    return inv_create(ctx, CLI_INV_DATACENTER, body, args[0], error);
}

static gboolean
datacenter_rm_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    return inv_remove(ctx, CLI_INV_DATACENTER, NULL, args[0], error);
}

static gboolean
folder_create_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    g_autofree char *name = NULL;
    g_autoptr(CliInvObject) parent = inv_parent_folder(ctx, args[0], NULL, &name, error);
    g_autoptr(JsonNode) body = NULL;

    if (!parent)
        return FALSE;
    body = inv_body("name", name, "parent_folder", parent->id);
    return inv_create(ctx, CLI_INV_FOLDER, body, args[0], error);
}

static gboolean
folder_rm_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    return inv_remove(ctx, CLI_INV_FOLDER, NULL, args[0], error);
}

static gboolean
cluster_create_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    g_autofree char *name = NULL;
    g_autoptr(CliInvObject) parent = inv_parent_folder(ctx, args[0], "HOST", &name, error);
    g_autoptr(JsonNode) body = NULL;

    if (!parent)
        return FALSE;
    body = inv_body("name", name, "folder", parent->id);
    return inv_create(ctx, CLI_INV_CLUSTER, body, args[0], error);
}

static gboolean
cluster_rm_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    return inv_remove(ctx, CLI_INV_CLUSTER, NULL, args[0], error);
}

/* An EVC member of a cluster's GET; absent_text when it is null. */
static const char *
evc_shown(JsonObject *detail, const char *member, const char *absent_text)
{
    JsonNode *n = detail ? json_object_get_member(detail, member) : NULL;
    if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
        return absent_text;
    return json_node_get_string(n);
}

static void
cluster_format(CliInvObject *obj, JsonObject *detail, JsonNode *hosts, GString *out)
{
    g_autoptr(CliFields) fields = cli_fields_new();
    const char *headers[] = { "HOST", "NAME", "CONNECTION", "POWER", NULL };
    g_autoptr(CliTable) table = cli_table_new(headers);
    JsonArray *list = hosts && JSON_NODE_HOLDS_ARRAY(hosts) ? json_node_get_array(hosts) : NULL;

    cli_fields_add(fields, "Name", cli_json_str(detail, "name"));
    cli_fields_add(fields, "Cluster", obj->id);
    cli_fields_add(fields, "Path", obj->path);
    cli_fields_add(fields, "Resource pool", cli_json_str(detail, "resource_pool"));
    cli_fields_add(fields, "EVC mode", evc_shown(detail, "evc_mode", "disabled"));
    cli_fields_add(fields, "Max EVC mode", evc_shown(detail, "max_evc_mode", "unknown"));
    cli_fields_render(fields, out);
    for (guint i = 0; list && i < json_array_get_length(list); i++) {
        JsonObject *h = json_array_get_object_element(list, i);
        const char *row[] = { cli_json_str(h, "host"), cli_json_str(h, "name"), cli_json_str(h, "connection_state"),
                              cli_json_str(h, "power_state") };
        cli_table_add(table, row);
    }
    g_string_append_c(out, '\n');
    if (list && json_array_get_length(list))
        cli_table_render(table, out);
    else
        g_string_append(out, "No hosts.\n");
}

static gboolean
cluster_info_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    CliInvLister lister = cli_inventory_lister(ctx);
    g_autoptr(CliInvObject) obj = cli_inv_resolve(&lister, CLI_INV_CLUSTER, NULL, args[0], error);
    g_autofree char *path = obj ? inv_detail_path(CLI_INV_CLUSTER, obj->id) : NULL;
    g_autoptr(JsonNode) detail = path ? cli_get(ctx, path, NULL, error) : NULL;
    const char *by_cluster[] = { "clusters", obj ? obj->id : NULL, NULL };
    g_autoptr(JsonNode) hosts = detail ? cli_get(ctx, "/api/vcenter/host", by_cluster, error) : NULL;

    if (!hosts)
        return FALSE;
    if (ctx->settings.json)
        cli_json_append(ctx->out, detail);
    else
        cluster_format(obj, JSON_NODE_HOLDS_OBJECT(detail) ? json_node_get_object(detail) : NULL, hosts,
                       ctx->out);
    return TRUE;
}

typedef struct {
    char *mode;
    gboolean disable;
    gboolean async;
} ClusterEvcOptions;

static void
cluster_evc_entries(gpointer options, GArray *entries)
{
    ClusterEvcOptions *o = options;
    CLI_OPTION(entries, "mode", G_OPTION_ARG_STRING, &o->mode,
               "set, raise or lower the cluster's EVC mode (intel-nehalem, nehalem, amd-zen2, …)",
               "MODE");
    CLI_OPTION(entries, "disable", G_OPTION_ARG_NONE, &o->disable, "turn EVC off", NULL);
    CLI_OPTION(entries, "async", G_OPTION_ARG_NONE, &o->async, "print the task id and return at once",
               NULL);
}

/* `cluster evc CLUSTER [--mode M | --disable]`: without an option, shows
 * the mode and the highest mode the cluster's hosts support. */
static gboolean
cluster_evc_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    ClusterEvcOptions *o = options;
    CliInvLister lister = cli_inventory_lister(ctx);
    g_autoptr(CliInvObject) obj = NULL;
    g_autofree char *path = NULL;
    g_autofree char *task = NULL;

    if (o->mode && o->disable) {
        g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "give --mode or --disable, not both");
        return FALSE;
    }
    if (!(obj = cli_inv_resolve(&lister, CLI_INV_CLUSTER, NULL, args[0], error)))
        return FALSE;
    path = inv_detail_path(CLI_INV_CLUSTER, obj->id);
    if (!o->mode && !o->disable) {
        g_autoptr(JsonNode) detail = cli_get(ctx, path, NULL, error);
        JsonObject *d = detail && JSON_NODE_HOLDS_OBJECT(detail) ? json_node_get_object(detail) : NULL;
        if (!detail)
            return FALSE;
        if (ctx->settings.json)
            cli_json_append(ctx->out, detail);
        else
            g_string_append_printf(ctx->out, "EVC mode: %s\nMax EVC mode: %s\n",
                                   evc_shown(d, "evc_mode", "disabled"),
                                   evc_shown(d, "max_evc_mode", "unknown"));
        return TRUE;
    }
    JsonObject *spec = json_object_new();
    if (o->mode)
        json_object_set_string_member(spec, "evc_mode", o->mode);
    else
        json_object_set_null_member(spec, "evc_mode");
    g_autoptr(JsonNode) body = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(body, spec);
    if (!cli_call_long(ctx, "PATCH", path, NULL, body, o->async, NULL, &task, error))
        return FALSE;
    if (task)
        cli_task_started(ctx, task);
    else if (!ctx->settings.json && o->mode)
        g_string_append_printf(ctx->out, "EVC mode of %s set to %s.\n", args[0], o->mode);
    else if (!ctx->settings.json)
        g_string_append_printf(ctx->out, "EVC disabled on %s.\n", args[0]);
    return TRUE;
}

static gboolean
cluster_ls_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    g_autoptr(JsonNode) list = cli_get(ctx, "/api/vcenter/cluster", NULL, error);
    const char *headers[] = { "NAME", "CLUSTER", "HA", "DRS", NULL };
    g_autoptr(CliTable) table = cli_table_new(headers);
    JsonArray *a = list && JSON_NODE_HOLDS_ARRAY(list) ? json_node_get_array(list) : NULL;

    if (!list)
        return FALSE;
    for (guint i = 0; a && i < json_array_get_length(a); i++) {
        JsonObject *c = json_array_get_object_element(a, i);
        const char *row[] = { cli_json_str(c, "name"), cli_json_str(c, "cluster"),
                              json_object_get_boolean_member_with_default(c, "ha_enabled", FALSE) ? "on" : "off",
                              json_object_get_boolean_member_with_default(c, "drs_enabled", FALSE) ? "on" : "off" };
        cli_table_add(table, row);
    }
    if (ctx->settings.json)
        cli_json_append(ctx->out, list);
    else
        cli_table_render(table, ctx->out);
    return TRUE;
}

const CliCommand cli_inventory_commands[] = {
    { "ls", "[PATH]", "List what an inventory path holds (/, /dc1, /dc1/vm, /dc1/host/cluster1, …)", 0, 1,
      sizeof(CliLsOptions), ls_entries, ls_run },
    { "info", "PATH|ID|NAME", "Show any inventory object", 1, 1, 0, NULL, info_run },
    { "datacenter create", "NAME", "Create a datacenter (and its vm, host, datastore, network folders)", 1, 1,
      sizeof(DatacenterCreateOptions), datacenter_create_entries, datacenter_create_run },
    { "datacenter rm", "DATACENTER", "Remove an empty datacenter", 1, 1, 0, NULL, datacenter_rm_run },
    { "folder create", "PATH", "Create a folder; its parent must exist (/dc1/vm/prod)", 1, 1, 0, NULL,
      folder_create_run },
    { "folder rm", "FOLDER", "Remove an empty folder", 1, 1, 0, NULL, folder_rm_run },
    { "cluster ls", "", "List clusters", 0, 0, 0, NULL, cluster_ls_run },
    { "cluster create", "PATH", "Create a cluster in a host folder (/dc1/host/cluster1)", 1, 1, 0, NULL,
      cluster_create_run },
    { "cluster rm", "CLUSTER", "Remove a cluster that has no hosts", 1, 1, 0, NULL, cluster_rm_run },
    { "cluster info", "CLUSTER", "Show a cluster: resource pool, EVC mode and hosts", 1, 1, 0, NULL,
      cluster_info_run },
    { "cluster evc", "CLUSTER", "Show a cluster's EVC mode, or set, raise, lower (--mode) or disable it",
      1, 1, sizeof(ClusterEvcOptions), cluster_evc_entries, cluster_evc_run },
    { NULL },
};
