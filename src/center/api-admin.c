/* api-admin.c — tasks (/api/cis/tasks), events, privileges, roles, users and
 * permissions on the centre. */
#include "center.h"
#include "center-migrate.h"
#include "json-util.h"
#include "password.h"
#include "vireo-error.h"

static char *
iso_time(gint64 us)
{
    if (us <= 0)
        return NULL;
    g_autoptr(GDateTime) t = g_date_time_new_from_unix_utc(us / G_USEC_PER_SEC);
    return g_date_time_format_iso8601(t);
}

static void
set_opt_string(JsonObject *o, const char *key, const char *value)
{
    if (value)
        json_object_set_string_member(o, key, value);
}

static JsonObject *
task_json(StoreTask *t)
{
    JsonObject *o = json_object_new();
    JsonObject *desc = json_object_new();
    json_object_set_string_member(desc, "id", t->operation);
    json_object_set_string_member(desc, "default_message", t->operation);
    json_object_set_object_member(o, "description", desc);
    json_object_set_string_member(o, "operation", t->operation);
    if (t->target_id) {
        JsonObject *target = json_object_new();
        json_object_set_string_member(target, "type", t->target_type ? t->target_type : "");
        json_object_set_string_member(target, "id", t->target_id);
        json_object_set_object_member(o, "target", target);
    }
    set_opt_string(o, "user", t->user);
    json_object_set_string_member(o, "status", store_task_state_to_string(t->state));
    JsonObject *progress = json_object_new();
    json_object_set_int_member(progress, "total", 100);
    json_object_set_int_member(progress, "completed", t->progress);
    set_opt_string(progress, "message", t->progress_message);
    json_object_set_object_member(o, "progress", progress);
    g_autofree char *start = iso_time(t->start_us), *end = iso_time(t->end_us);
    set_opt_string(o, "start_time", start);
    set_opt_string(o, "end_time", end);
    if (t->result_json) {
        JsonNode *r = json_from_string(t->result_json, NULL);
        if (r)
            json_object_set_member(o, "result", r);
    }
    if (t->error_json) {
        JsonNode *e = json_from_string(t->error_json, NULL);
        if (e)
            json_object_set_member(o, "error", e);
    }
    return o;
}

static void
task_get(ApiRequest *request, gpointer data)
{
    Center *c = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(StoreTask) t = store_task_get(c->store, api_request_param(request, "task"), &error);
    if (!t) {
        api_request_reply_error(request, error);
        return;
    }
    if (g_strcmp0(t->user, api_request_user(request)) != 0 &&
        !center_allowed(c, api_request_user(request), STORE_ROOT_FOLDER, "System.Read") &&
        !(t->target_id && center_can_see(c, api_request_user(request), t->target_id))) {
        center_reply_error(request, VIREO_ERROR_NOT_FOUND, "no task '%s'", t->id);
        return;
    }
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, task_json(t));
    api_request_reply_json(request, 200, node);
}

/* POST /api/cis/tasks/{task}?action=cancel: the user who started the task,
 * or one with Global.CancelTask; only migrations can be cancelled. */
static void
task_cancel(ApiRequest *request, gpointer data)
{
    Center *c = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(StoreTask) t = store_task_get(c->store, api_request_param(request, "task"), &error);
    const char *user = api_request_user(request);
    if (t && g_strcmp0(t->user, user) != 0 && !(t->target_id && center_can_see(c, user, t->target_id)))
        g_clear_pointer(&t, store_task_free);
    if (!t) {
        center_reply_error(request, VIREO_ERROR_NOT_FOUND, "no task '%s'", api_request_param(request, "task"));
        return;
    }
    if (g_strcmp0(t->user, user) != 0 &&
        !center_authorize(c, request, t->target_id ? t->target_id : STORE_ROOT_FOLDER, "Global.CancelTask"))
        return;
    if (!center_migration_cancel(c, t->id, &error)) {
        api_request_reply_error(request, error);
        return;
    }
    api_request_reply_empty(request, 204);
}

static void
task_list(ApiRequest *request, gpointer data)
{
    Center *c = data;
    g_auto(GStrv) states = api_request_query_all(request, "states");
    guint mask = 0;
    for (int i = 0; states && states[i]; i++) {
        StoreTaskState s;
        if (store_task_state_from_string(states[i], &s))
            mask |= STORE_TASK_STATE_BIT(s);
    }
    g_autoptr(GPtrArray) tasks = store_task_list(c->store, mask, api_request_query(request, "targets"), NULL);
    JsonArray *arr = json_array_new();
    for (guint i = 0; tasks && i < tasks->len; i++) {
        StoreTask *t = g_ptr_array_index(tasks, i);
        if (g_strcmp0(t->user, api_request_user(request)) != 0 &&
            !(t->target_id && center_can_see(c, api_request_user(request), t->target_id)))
            continue;
        JsonObject *o = task_json(t);
        json_object_set_string_member(o, "task", t->id);
        json_array_add_object_element(arr, o);
    }
    JsonNode *node = json_node_new(JSON_NODE_ARRAY);
    json_node_take_array(node, arr);
    api_request_reply_json(request, 200, node);
}

static void
event_list(ApiRequest *request, gpointer data)
{
    Center *c = data;
    StoreEventQuery q = { 0 };
    q.object = api_request_query(request, "object");
    q.user = api_request_query(request, "user");
    const char *limit = api_request_query(request, "limit");
    q.limit = limit ? (guint)CLAMP(g_ascii_strtoll(limit, NULL, 10), 1, 10000) : 200;
    g_autoptr(GPtrArray) events = store_event_query(c->store, &q, NULL);
    JsonArray *arr = json_array_new();
    for (guint i = 0; events && i < events->len; i++) {
        StoreEvent *e = g_ptr_array_index(events, i);
        if (e->object && !center_can_see(c, api_request_user(request), e->object) &&
            !center_allowed(c, api_request_user(request), STORE_ROOT_FOLDER, "System.Read"))
            continue;
        JsonObject *o = json_object_new();
        json_object_set_int_member(o, "key", e->key);
        g_autofree char *t = iso_time(e->time_us);
        set_opt_string(o, "time", t);
        set_opt_string(o, "user", e->user);
        set_opt_string(o, "object", e->object);
        set_opt_string(o, "object_name", e->object_name);
        set_opt_string(o, "type", e->type);
        set_opt_string(o, "message", e->message);
        json_object_set_string_member(o, "result", e->error ? "error" : "success");
        set_opt_string(o, "task", e->task);
        json_array_add_object_element(arr, o);
    }
    JsonNode *node = json_node_new(JSON_NODE_ARRAY);
    json_node_take_array(node, arr);
    api_request_reply_json(request, 200, node);
}

static void
privilege_list(ApiRequest *request, gpointer data)
{
    JsonArray *arr = json_array_new();
    for (const char *const *p = authz_privileges_all(); *p; p++)
        json_array_add_string_element(arr, *p);
    JsonNode *node = json_node_new(JSON_NODE_ARRAY);
    json_node_take_array(node, arr);
    api_request_reply_json(request, 200, node);
}

static void
role_list(ApiRequest *request, gpointer data)
{
    Center *c = data;
    g_autoptr(GPtrArray) roles = store_role_list(c->store, NULL);
    JsonArray *arr = json_array_new();
    for (guint i = 0; roles && i < roles->len; i++) {
        StoreRole *r = g_ptr_array_index(roles, i);
        JsonObject *o = json_object_new();
        json_object_set_string_member(o, "name", r->name);
        json_object_set_boolean_member(o, "system", r->system);
        JsonArray *privs = json_array_new();
        for (int k = 0; r->privileges[k]; k++)
            json_array_add_string_element(privs, r->privileges[k]);
        json_object_set_array_member(o, "privileges", privs);
        json_array_add_object_element(arr, o);
    }
    JsonNode *node = json_node_new(JSON_NODE_ARRAY);
    json_node_take_array(node, arr);
    api_request_reply_json(request, 200, node);
}

static GStrv
string_list(JsonObject *o, const char *member, GError **error)
{
    JsonArray *arr = NULL;
    if (!json_util_get_array(o, member, "spec", &arr, error))
        return NULL;
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();
    for (guint i = 0; arr && i < json_array_get_length(arr); i++) {
        JsonNode *n = json_array_get_element(arr, i);
        if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING) {
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT, "spec.%s[%u] must be a string", member, i);
            return NULL;
        }
        g_strv_builder_add(b, json_node_get_string(n));
    }
    return g_strv_builder_end(b);
}

static void
role_create(ApiRequest *request, gpointer data)
{
    Center *c = data;
    if (!center_authorize(c, request, STORE_ROOT_FOLDER, "Authorization.ModifyRoles"))
        return;
    g_autoptr(GError) error = NULL;
    JsonObject *o = json_util_expect_object(api_request_body(request), "spec", &error);
    const char *name = NULL;
    g_auto(GStrv) privs = o && json_util_get_string(o, "name", "spec", &name, &error)
                              ? string_list(o, "privileges", &error) : NULL;
    for (int i = 0; privs && privs[i] && !error; i++)
        if (!authz_privilege_known(privs[i]))
            error = g_error_new(VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT, "unknown privilege '%s' "
                                "(GET /api/vireo/privileges lists them)", privs[i]);
    if (!error && (!name || !store_role_create(c->store, name, (const char *const *)privs, &error)) && !error)
        error = g_error_new(VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT, "give the role a name");
    if (error) {
        api_request_reply_error(request, error);
        return;
    }
    center_security_changed(c);
    center_event(c, api_request_user(request), NULL, "RoleAddedEvent", FALSE, NULL, "role %s created", name);
    api_request_reply_json(request, 201, json_util_string_node(name));
}

static void
role_delete(ApiRequest *request, gpointer data)
{
    Center *c = data;
    if (!center_authorize(c, request, STORE_ROOT_FOLDER, "Authorization.ModifyRoles"))
        return;
    g_autoptr(GError) error = NULL;
    if (!store_role_delete(c->store, api_request_param(request, "role"), &error)) {
        api_request_reply_error(request, error);
        return;
    }
    center_security_changed(c);
    api_request_reply_empty(request, 204);
}

static void
user_create(ApiRequest *request, gpointer data)
{
    Center *c = data;
    if (!center_authorize(c, request, STORE_ROOT_FOLDER, "Host.Local.ManageUserGroups"))
        return;
    g_autoptr(GError) error = NULL;
    JsonObject *o = json_util_expect_object(api_request_body(request), "spec", &error);
    const char *name = NULL, *password = NULL;
    if (o && json_util_get_string(o, "name", "spec", &name, &error) &&
        json_util_get_string(o, "password", "spec", &password, &error) && (!name || !password))
        error = g_error_new(VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT, "give name and password");
    g_auto(GStrv) groups = !error ? string_list(o, "groups", &error) : NULL;
    g_autofree char *hash = !error ? password_hash(password, &error) : NULL;
    if (error || !store_user_create(c->store, name, hash, (const char *const *)groups, &error)) {
        api_request_reply_error(request, error);
        return;
    }
    center_security_changed(c);
    center_event(c, api_request_user(request), NULL, "AccountCreatedEvent", FALSE, NULL, "user %s created", name);
    api_request_reply_json(request, 201, json_util_string_node(name));
}

static void
user_list(ApiRequest *request, gpointer data)
{
    Center *c = data;
    if (!center_authorize(c, request, STORE_ROOT_FOLDER, "Host.Local.ManageUserGroups"))
        return;
    g_autoptr(GPtrArray) users = store_user_list(c->store, NULL);
    JsonArray *arr = json_array_new();
    for (guint i = 0; users && i < users->len; i++) {
        StoreUser *u = g_ptr_array_index(users, i);
        JsonObject *o = json_object_new();
        json_object_set_string_member(o, "name", u->name);
        JsonArray *groups = json_array_new();
        for (int k = 0; u->groups[k]; k++)
            json_array_add_string_element(groups, u->groups[k]);
        json_object_set_array_member(o, "groups", groups);
        json_array_add_object_element(arr, o);
    }
    JsonNode *node = json_node_new(JSON_NODE_ARRAY);
    json_node_take_array(node, arr);
    api_request_reply_json(request, 200, node);
}

static void
user_delete(ApiRequest *request, gpointer data)
{
    Center *c = data;
    if (!center_authorize(c, request, STORE_ROOT_FOLDER, "Host.Local.ManageUserGroups"))
        return;
    g_autoptr(GError) error = NULL;
    if (!store_user_delete(c->store, api_request_param(request, "user"), &error)) {
        api_request_reply_error(request, error);
        return;
    }
    center_security_changed(c);
    api_request_reply_empty(request, 204);
}

static void
permission_list(ApiRequest *request, gpointer data)
{
    Center *c = data;
    g_autoptr(GPtrArray) perms = store_permission_list(c->store, api_request_query(request, "object"), NULL, NULL);
    JsonArray *arr = json_array_new();
    for (guint i = 0; perms && i < perms->len; i++) {
        StorePermission *p = g_ptr_array_index(perms, i);
        if (!center_can_see(c, api_request_user(request), p->object))
            continue;
        JsonObject *o = json_object_new();
        json_object_set_string_member(o, "object", p->object);
        json_object_set_string_member(o, "principal", p->principal);
        json_object_set_boolean_member(o, "group", p->is_group);
        json_object_set_string_member(o, "role", p->role);
        json_object_set_boolean_member(o, "propagate", p->propagate);
        json_array_add_object_element(arr, o);
    }
    JsonNode *node = json_node_new(JSON_NODE_ARRAY);
    json_node_take_array(node, arr);
    api_request_reply_json(request, 200, node);
}

static void
permission_set(ApiRequest *request, gpointer data)
{
    Center *c = data;
    g_autoptr(GError) error = NULL;
    JsonObject *o = json_util_expect_object(api_request_body(request), "spec", &error);
    StorePermission p = { 0 };
    const char *object = NULL, *principal = NULL, *role = NULL;
    gboolean group = FALSE, propagate = TRUE;
    if (!o || !json_util_get_string(o, "object", "spec", &object, &error) ||
        !json_util_get_string(o, "principal", "spec", &principal, &error) ||
        !json_util_get_string(o, "role", "spec", &role, &error) ||
        !json_util_get_bool(o, "group", "spec", &group, &error) ||
        !json_util_get_bool(o, "propagate", "spec", &propagate, &error)) {
        api_request_reply_error(request, error);
        return;
    }
    if (!object || !principal || !role) {
        center_reply_error(request, VIREO_ERROR_INVALID_ARGUMENT, "give object, principal and role");
        return;
    }
    if (!center_authorize(c, request, object, "Authorization.ModifyPermissions"))
        return;
    p.object = (char *)object;
    p.principal = (char *)principal;
    p.is_group = group;
    p.role = (char *)role;
    p.propagate = propagate;
    if (!store_permission_set(c->store, &p, &error)) {
        api_request_reply_error(request, error);
        return;
    }
    center_security_changed(c);
    center_event(c, api_request_user(request), object, "PermissionAddedEvent", FALSE, NULL,
                 "%s%s has role %s%s", group ? "group " : "", principal, role,
                 propagate ? " (propagating)" : "");
    api_request_reply_empty(request, 204);
}

static void
permission_delete(ApiRequest *request, gpointer data)
{
    Center *c = data;
    const char *object = api_request_query(request, "object");
    const char *principal = api_request_query(request, "principal");
    if (!object || !principal) {
        center_reply_error(request, VIREO_ERROR_INVALID_ARGUMENT, "give ?object= and ?principal=");
        return;
    }
    if (!center_authorize(c, request, object, "Authorization.ModifyPermissions"))
        return;
    g_autoptr(GError) error = NULL;
    if (!store_permission_delete(c->store, object, principal,
                                 g_strcmp0(api_request_query(request, "group"), "true") == 0, &error)) {
        api_request_reply_error(request, error);
        return;
    }
    center_security_changed(c);
    api_request_reply_empty(request, 204);
}

void
center_api_admin_register(ApiServer *s, Center *c)
{
    api_server_add_route(s, "GET", "/api/cis/tasks", NULL, task_list, c);
    api_server_add_route(s, "GET", "/api/cis/tasks/{task}", NULL, task_get, c);
    api_server_add_route(s, "POST", "/api/cis/tasks/{task}", "cancel", task_cancel, c);
    api_server_add_route(s, "GET", "/api/vireo/events", NULL, event_list, c);
    api_server_add_route(s, "GET", "/api/vireo/privileges", NULL, privilege_list, c);
    api_server_add_route(s, "GET", "/api/vireo/roles", NULL, role_list, c);
    api_server_add_route(s, "POST", "/api/vireo/roles", NULL, role_create, c);
    api_server_add_route(s, "DELETE", "/api/vireo/roles/{role}", NULL, role_delete, c);
    api_server_add_route(s, "GET", "/api/vireo/users", NULL, user_list, c);
    api_server_add_route(s, "POST", "/api/vireo/users", NULL, user_create, c);
    api_server_add_route(s, "DELETE", "/api/vireo/users/{user}", NULL, user_delete, c);
    api_server_add_route(s, "GET", "/api/vireo/permissions", NULL, permission_list, c);
    api_server_add_route(s, "POST", "/api/vireo/permissions", NULL, permission_set, c);
    api_server_add_route(s, "DELETE", "/api/vireo/permissions", NULL, permission_delete, c);
}
