/* cmd-security.c — who may do what on vireo-centerd: `privilege ls`,
 * `role ls|info|create|rm`, `user ls|add|rm`, `permission ls|set|rm`.
 * Objects in permissions are given as paths, ids or names.
 */
#include "cli.h"

#include "vireo-error.h"

static JsonArray *
sec_array(JsonNode *node)
{
    return node && JSON_NODE_HOLDS_ARRAY(node) ? json_node_get_array(node) : NULL;
}

/* A list element's name: the string itself or its "name" member. */
static const char *
sec_name(JsonNode *e)
{
    if (JSON_NODE_HOLDS_VALUE(e) && json_node_get_value_type(e) == G_TYPE_STRING)
        return json_node_get_string(e);
    return JSON_NODE_HOLDS_OBJECT(e) ? cli_json_str(json_node_get_object(e), "name") : NULL;
}

static char *
sec_join(JsonObject *obj, const char *member, const char *sep)
{
    JsonArray *a = obj && json_object_has_member(obj, member) ? sec_array(json_object_get_member(obj, member)) : NULL;
    GString *out = g_string_new(NULL);

    for (guint i = 0; a && i < json_array_get_length(a); i++) {
        const char *name = sec_name(json_array_get_element(a, i));
        if (name)
            g_string_append_printf(out, "%s%s", out->len ? sep : "", name);
    }
    return g_string_free(out, out->len == 0);
}

static gboolean
sec_print(CliContext *ctx, JsonNode *node)
{
    cli_json_append(ctx->out, node);
    return TRUE;
}

static char *
sec_path(const char *collection, const char *id)
{
    g_autofree char *segment = api_client_escape_segment(id);

    return g_strdup_printf("%s/%s", collection, segment);
}

/* ---- privileges and roles ---- */

static gboolean
privilege_ls_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    g_autoptr(JsonNode) list = cli_get(ctx, "/api/vireo/privileges", NULL, error);
    JsonArray *a = sec_array(list);

    if (!list)
        return FALSE;
    if (ctx->settings.json)
        return sec_print(ctx, list);
    for (guint i = 0; a && i < json_array_get_length(a); i++) {
        JsonNode *e = json_array_get_element(a, i);
        const char *id = sec_name(e) ? sec_name(e)
                         : JSON_NODE_HOLDS_OBJECT(e) ? cli_json_str(json_node_get_object(e), "id") : NULL;
        if (id)
            g_string_append_printf(ctx->out, "%s\n", id);
    }
    return TRUE;
}

/* The path segment of a role given by name or id: its "role" member when the
 * list has one, else its name. */
static char *
role_id(CliContext *ctx, const char *which, GError **error)
{
    g_autoptr(JsonNode) list = cli_get(ctx, "/api/vireo/roles", NULL, error);
    JsonArray *a = sec_array(list);

    if (!list)
        return NULL;
    for (guint i = 0; a && i < json_array_get_length(a); i++) {
        JsonNode *e = json_array_get_element(a, i);
        JsonObject *r = JSON_NODE_HOLDS_OBJECT(e) ? json_node_get_object(e) : NULL;
        const char *id = cli_json_str(r, "role");
        if (g_strcmp0(sec_name(e), which) == 0 || g_strcmp0(id, which) == 0)
            return g_strdup(id ? id : sec_name(e));
    }
    g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "no role is named '%s' (see `vireo role ls`)", which);
    return NULL;
}

static gboolean
role_ls_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    g_autoptr(JsonNode) list = cli_get(ctx, "/api/vireo/roles", NULL, error);
    const char *headers[] = { "NAME", "PRIVILEGES", NULL };
    g_autoptr(CliTable) table = cli_table_new(headers);
    JsonArray *a = sec_array(list);

    if (!list)
        return FALSE;
    if (ctx->settings.json)
        return sec_print(ctx, list);
    for (guint i = 0; a && i < json_array_get_length(a); i++) {
        JsonNode *e = json_array_get_element(a, i);
        JsonObject *r = JSON_NODE_HOLDS_OBJECT(e) ? json_node_get_object(e) : NULL;
        JsonArray *p = r && json_object_has_member(r, "privileges") ? sec_array(json_object_get_member(r, "privileges"))
                                                                    : NULL;
        g_autofree char *count = p ? g_strdup_printf("%u", json_array_get_length(p)) : NULL;
        const char *row[] = { sec_name(e), count };
        cli_table_add(table, row);
    }
    cli_table_render(table, ctx->out);
    return TRUE;
}

static gboolean
role_info_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    g_autofree char *id = role_id(ctx, args[0], error);
    g_autofree char *path = id ? sec_path("/api/vireo/roles", id) : NULL;
    g_autoptr(JsonNode) info = path ? cli_get(ctx, path, NULL, error) : NULL;
    JsonObject *r = info && JSON_NODE_HOLDS_OBJECT(info) ? json_node_get_object(info) : NULL;
    g_autofree char *privileges = r ? sec_join(r, "privileges", "\n  ") : NULL;

    if (!info)
        return FALSE;
    if (ctx->settings.json)
        return sec_print(ctx, info);
    g_string_append_printf(ctx->out, "Name:        %s\n", cli_json_str(r, "name") ? cli_json_str(r, "name") : args[0]);
    g_string_append_printf(ctx->out, "Privileges:%s%s\n", privileges ? "\n  " : "  ", privileges ? privileges : "none");
    return TRUE;
}

typedef struct {
    char **privileges;
} RoleCreateOptions;

static void
role_create_entries(gpointer options, GArray *entries)
{
    CLI_OPTION(entries, "privilege", G_OPTION_ARG_STRING_ARRAY, &((RoleCreateOptions *)options)->privileges,
               "a privilege id (VirtualMachine.Interact.PowerOn, …; see `vireo privilege ls`), "
               "repeatable or comma-separated", "P");
}

static gboolean
role_create_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    RoleCreateOptions *o = options;
    g_autoptr(JsonObject) body = json_object_new();
    JsonArray *privileges = json_array_new();
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
    g_autoptr(JsonNode) answer = NULL;

    json_object_set_string_member(body, "name", args[0]);
    for (guint i = 0; o->privileges && o->privileges[i]; i++) {
        g_auto(GStrv) parts = g_strsplit(o->privileges[i], ",", -1);
        for (guint j = 0; parts[j]; j++) {
            if (*g_strstrip(parts[j]))
                json_array_add_string_element(privileges, parts[j]);
        }
    }
    json_object_set_array_member(body, "privileges", privileges);
    json_node_set_object(node, body);
    if (!cli_call(ctx, "POST", "/api/vireo/roles", NULL, node, &answer, error))
        return FALSE;
    if (ctx->settings.json)
        return sec_print(ctx, answer);
    g_string_append_printf(ctx->out, "Created role %s with %u privileges.\n", args[0],
                           json_array_get_length(privileges));
    return TRUE;
}

static gboolean
sec_delete(CliContext *ctx, const char *collection, const char *id, const char *done, GError **error)
{
    g_autofree char *path = sec_path(collection, id);

    if (!cli_call(ctx, "DELETE", path, NULL, NULL, NULL, error))
        return FALSE;
    if (!ctx->settings.json)
        g_string_append_printf(ctx->out, "%s %s.\n", done, id);
    return TRUE;
}

static gboolean
role_rm_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    g_autofree char *id = role_id(ctx, args[0], error);

    return id && sec_delete(ctx, "/api/vireo/roles", id, "Removed role", error);
}

/* ---- users ---- */

static gboolean
user_ls_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    g_autoptr(JsonNode) list = cli_get(ctx, "/api/vireo/users", NULL, error);
    const char *headers[] = { "NAME", "GROUPS", NULL };
    g_autoptr(CliTable) table = cli_table_new(headers);
    JsonArray *a = sec_array(list);

    if (!list)
        return FALSE;
    if (ctx->settings.json)
        return sec_print(ctx, list);
    for (guint i = 0; a && i < json_array_get_length(a); i++) {
        JsonNode *e = json_array_get_element(a, i);
        g_autofree char *groups = JSON_NODE_HOLDS_OBJECT(e) ? sec_join(json_node_get_object(e), "groups", ", ") : NULL;
        const char *row[] = { sec_name(e), groups };
        cli_table_add(table, row);
    }
    cli_table_render(table, ctx->out);
    return TRUE;
}

typedef struct {
    char *password;
    char **groups;
} UserAddOptions;

static void
user_add_entries(gpointer options, GArray *entries)
{
    UserAddOptions *o = options;

    CLI_OPTION(entries, "password", G_OPTION_ARG_STRING, &o->password, "the new user's password (required)", "P");
    CLI_OPTION(entries, "group", G_OPTION_ARG_STRING_ARRAY, &o->groups, "a group the user is in, repeatable", "G");
}

static gboolean
user_add_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    UserAddOptions *o = options;
    g_autoptr(JsonObject) body = json_object_new();
    JsonArray *groups = json_array_new();
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
    g_autoptr(JsonNode) answer = NULL;

    if (!o->password) {
        json_array_unref(groups);
        g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "user add needs the new user's --password");
        return FALSE;
    }
    json_object_set_string_member(body, "name", args[0]);
    json_object_set_string_member(body, "password", o->password);
    for (guint i = 0; o->groups && o->groups[i]; i++)
        json_array_add_string_element(groups, o->groups[i]);
    json_object_set_array_member(body, "groups", groups);
    json_node_set_object(node, body);
    if (!cli_call(ctx, "POST", "/api/vireo/users", NULL, node, &answer, error))
        return FALSE;
    if (ctx->settings.json)
        return answer ? sec_print(ctx, answer) : TRUE;
    g_string_append_printf(ctx->out, "Added user %s.\n", args[0]);
    return TRUE;
}

static gboolean
user_rm_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    return sec_delete(ctx, "/api/vireo/users", args[0], "Removed user", error);
}

/* ---- permissions ---- */

static void
permission_entries(gpointer options, GArray *entries, gboolean set)
{
    PermissionOptions *o = options;

    CLI_OPTION(entries, "object", G_OPTION_ARG_STRING, &o->object, "the inventory object (path, id or name; / is the root)",
               "OBJ");
    CLI_OPTION(entries, "principal", G_OPTION_ARG_STRING, &o->principal, "the user or group", "P");
    CLI_OPTION(entries, "group", G_OPTION_ARG_NONE, &o->group, "the principal is a group", NULL);
    if (!set)
        return;
    CLI_OPTION(entries, "role", G_OPTION_ARG_STRING, &o->role, "the role given (see `vireo role ls`)", "R");
    CLI_OPTION(entries, "no-propagate", G_OPTION_ARG_NONE, &o->no_propagate,
               "apply to the object only, not to what is below it", NULL);
}

static void
permission_ls_entries(gpointer options, GArray *entries)
{
    CLI_OPTION(entries, "object", G_OPTION_ARG_STRING, &((PermissionOptions *)options)->object,
               "only permissions set on this object (path, id or name)", "OBJ");
}

static void
permission_set_entries(gpointer options, GArray *entries)
{
    permission_entries(options, entries, TRUE);
}

static void
permission_rm_entries(gpointer options, GArray *entries)
{
    permission_entries(options, entries, FALSE);
}

static char *
permission_object(CliContext *ctx, const char *text, GError **error)
{
    CliInvLister lister = cli_inventory_lister(ctx);
    g_autoptr(CliInvObject) obj = cli_inv_resolve_any(&lister, text, error);

    return obj ? g_strdup(obj->id) : NULL;
}

static gboolean
permission_ls_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    PermissionOptions *o = options;
    g_autofree char *object = o->object ? permission_object(ctx, o->object, error) : NULL;
    const char *query[] = { "object", object, NULL };
    g_autoptr(JsonNode) list = NULL;
    const char *headers[] = { "OBJECT", "PRINCIPAL", "GROUP", "ROLE", "PROPAGATE", NULL };
    g_autoptr(CliTable) table = cli_table_new(headers);
    JsonArray *a;

    if ((o->object && !object) || !(list = cli_get(ctx, "/api/vireo/permissions", object ? query : NULL, error)))
        return FALSE;
    if (ctx->settings.json)
        return sec_print(ctx, list);
    a = sec_array(list);
    for (guint i = 0; a && i < json_array_get_length(a); i++) {
        JsonObject *p = json_array_get_object_element(a, i);
        const char *row[] = { cli_json_str(p, "object"), cli_json_str(p, "principal"),
                              json_object_get_boolean_member_with_default(p, "group", FALSE) ? "yes" : "no",
                              cli_json_str(p, "role"),
                              json_object_get_boolean_member_with_default(p, "propagate", TRUE) ? "yes" : "no" };
        cli_table_add(table, row);
    }
    cli_table_render(table, ctx->out);
    return TRUE;
}

static gboolean
permission_needs(PermissionOptions *o, gboolean set, GError **error)
{
    if (o->object && o->principal && (!set || o->role))
        return TRUE;
    g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "permission %s needs --object, --principal%s", set ? "set" : "rm",
                set ? " and --role" : "");
    return FALSE;
}

static gboolean
permission_set_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    PermissionOptions *o = options;
    g_autofree char *object = permission_needs(o, TRUE, error) ? permission_object(ctx, o->object, error) : NULL;
    g_autofree char *role = object ? role_id(ctx, o->role, error) : NULL;
    g_autoptr(JsonObject) body = json_object_new();
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);

    if (!role)
        return FALSE;
    json_object_set_string_member(body, "object", object);
    json_object_set_string_member(body, "principal", o->principal);
    json_object_set_boolean_member(body, "group", o->group);
    json_object_set_string_member(body, "role", role);
    json_object_set_boolean_member(body, "propagate", !o->no_propagate);
    json_node_set_object(node, body);
    if (!cli_call(ctx, "POST", "/api/vireo/permissions", NULL, node, NULL, error))
        return FALSE;
    if (!ctx->settings.json)
        g_string_append_printf(ctx->out, "%s %s has role %s on %s%s.\n", o->group ? "Group" : "User", o->principal,
                               o->role, o->object, o->no_propagate ? " (not below it)" : " and below");
    return TRUE;
}

static gboolean
permission_rm_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    PermissionOptions *o = options;
    g_autofree char *object = permission_needs(o, FALSE, error) ? permission_object(ctx, o->object, error) : NULL;
    const char *query[] = { "object", object, "principal", o->principal, "group", o->group ? "true" : "false", NULL };

    if (!object || !cli_call(ctx, "DELETE", "/api/vireo/permissions", query, NULL, NULL, error))
        return FALSE;
    if (!ctx->settings.json)
        g_string_append_printf(ctx->out, "Removed the permission of %s on %s.\n", o->principal, o->object);
    return TRUE;
}

const CliCommand cli_security_commands[] = {
    { "privilege ls", "", "List the privilege ids roles are made of", 0, 0, 0, NULL, privilege_ls_run },
    { "role ls", "", "List roles", 0, 0, 0, NULL, role_ls_run },
    { "role info", "ROLE", "Show a role's privileges", 1, 1, 0, NULL, role_info_run },
    { "role create", "NAME", "Create a role from privileges", 1, 1, sizeof(RoleCreateOptions), role_create_entries,
      role_create_run },
    { "role rm", "ROLE", "Remove a role (not a built-in one)", 1, 1, 0, NULL, role_rm_run },
    { "user ls", "", "List the centre's local users", 0, 0, 0, NULL, user_ls_run },
    { "user add", "NAME", "Add a local user", 1, 1, sizeof(UserAddOptions), user_add_entries, user_add_run },
    { "user rm", "NAME", "Remove a local user", 1, 1, 0, NULL, user_rm_run },
    { "permission ls", "", "List permissions", 0, 0, sizeof(PermissionOptions), permission_ls_entries,
      permission_ls_run },
    { "permission set", "", "Give a user or group a role on an object", 0, 0, sizeof(PermissionOptions),
      permission_set_entries, permission_set_run },
    { "permission rm", "", "Remove a user's or group's permission on an object", 0, 0, sizeof(PermissionOptions),
      permission_rm_entries, permission_rm_run },
    { NULL },
};
