/* store.c — the backend-independent half of the centre's store: the store_*
 * wrappers that check arguments and call the backend, the structs' free
 * functions, and lookups built from the backend's primitives.
 */
#include "store.h"

#include <json-glib/json-glib.h>

#include "vireo-error.h"

#define B(s) ((s)->backend)

static gboolean
need(const char *value, const char *what, GError **error)
{
    if (value != NULL && *value != '\0')
        return TRUE;
    g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT, "%s is required", what);
    return FALSE;
}

/* ---- Frees ---- */

void
store_object_free(StoreObject *obj)
{
    if (obj == NULL)
        return;
    g_free(obj->id);
    g_free(obj->kind);
    g_free(obj->name);
    g_free(obj->parent);
    g_free(obj->datacenter);
    g_free(obj->attrs_json);
    g_free(obj);
}

void
store_mount_free(StoreMount *mount)
{
    if (mount == NULL)
        return;
    g_free(mount->host);
    g_free(mount->datastore);
    g_free(mount->path);
    g_free(mount);
}

void
store_task_free(StoreTask *task)
{
    if (task == NULL)
        return;
    g_free(task->id);
    g_free(task->operation);
    g_free(task->target_type);
    g_free(task->target_id);
    g_free(task->user);
    g_free(task->progress_message);
    g_free(task->result_json);
    g_free(task->error_json);
    g_free(task);
}

void
store_event_free(StoreEvent *event)
{
    if (event == NULL)
        return;
    g_free(event->user);
    g_free(event->object);
    g_free(event->object_name);
    g_free(event->type);
    g_free(event->message);
    g_free(event->task);
    g_free(event);
}

void
store_user_free(StoreUser *user)
{
    if (user == NULL)
        return;
    g_free(user->name);
    g_free(user->password_hash);
    g_strfreev(user->groups);
    g_free(user);
}

void
store_role_free(StoreRole *role)
{
    if (role == NULL)
        return;
    g_free(role->name);
    g_strfreev(role->privileges);
    g_free(role);
}

void
store_permission_free(StorePermission *perm)
{
    if (perm == NULL)
        return;
    g_free(perm->object);
    g_free(perm->principal);
    g_free(perm->role);
    g_free(perm);
}

/* ---- Attributes ---- */

static JsonNode *
attr_node(const StoreObject *obj, const char *key, JsonParser **parser_out)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    if (obj->attrs_json == NULL || !json_parser_load_from_data(parser, obj->attrs_json, -1, NULL))
        return NULL;
    JsonNode *root = json_parser_get_root(parser);
    if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root))
        return NULL;
    JsonNode *node = json_object_get_member(json_node_get_object(root), key);
    if (node == NULL || !JSON_NODE_HOLDS_VALUE(node))
        return NULL;
    *parser_out = g_steal_pointer(&parser);
    return node;
}

char *
store_object_attr_string(const StoreObject *obj, const char *key)
{
    g_autoptr(JsonParser) parser = NULL;
    JsonNode *node = attr_node(obj, key, &parser);
    if (node == NULL || json_node_get_value_type(node) != G_TYPE_STRING)
        return NULL;
    return g_strdup(json_node_get_string(node));
}

gint64
store_object_attr_int(const StoreObject *obj, const char *key, gint64 def)
{
    g_autoptr(JsonParser) parser = NULL;
    JsonNode *node = attr_node(obj, key, &parser);
    if (node == NULL || json_node_get_value_type(node) != G_TYPE_INT64)
        return def;
    return json_node_get_int(node);
}

gboolean
store_object_attr_bool(const StoreObject *obj, const char *key, gboolean def)
{
    g_autoptr(JsonParser) parser = NULL;
    JsonNode *node = attr_node(obj, key, &parser);
    if (node == NULL || json_node_get_value_type(node) != G_TYPE_BOOLEAN)
        return def;
    return json_node_get_boolean(node);
}

/* ---- Opening, transactions ---- */

void
store_close(Store *store)
{
    if (store != NULL)
        B(store)->close(store);
}

int
store_schema_version(Store *store)
{
    return B(store)->schema_version(store);
}

gboolean
store_integrity_check(Store *store, GError **error)
{
    return B(store)->integrity_check(store, error);
}

gboolean
store_transaction_begin(Store *store, GError **error)
{
    return B(store)->tx_begin(store, error);
}

gboolean
store_transaction_commit(Store *store, GError **error)
{
    return B(store)->tx_commit(store, error);
}

void
store_transaction_rollback(Store *store)
{
    B(store)->tx_rollback(store);
}

/* ---- Objects ---- */

gboolean
store_object_create(Store *store, const char *kind, const char *name, const char *parent,
                    const char *attrs_json, char **out_id, GError **error)
{
    if (!need(kind, "kind", error) || !need(parent, "parent", error))
        return FALSE;
    return B(store)->object_create(store, kind, name, parent, attrs_json, out_id, error);
}

StoreObject *
store_object_get(Store *store, const char *id, GError **error)
{
    if (!need(id, "object id", error))
        return NULL;
    return B(store)->object_get(store, id, error);
}

GPtrArray *
store_object_list(Store *store, const StoreObjectFilter *filter, GError **error)
{
    StoreObjectFilter any = { 0 };
    return B(store)->object_list(store, filter != NULL ? filter : &any, error);
}

GPtrArray *
store_object_children(Store *store, const char *id, const char *kind, GError **error)
{
    g_autoptr(StoreObject) obj = store_object_get(store, id, error);
    if (obj == NULL)
        return NULL;
    StoreObjectFilter f = { .parent = id, .kind = kind };
    return B(store)->object_list(store, &f, error);
}

GPtrArray *
store_object_ancestors(Store *store, const char *id, GError **error)
{
    if (!need(id, "object id", error))
        return NULL;
    return B(store)->object_ancestors(store, id, error);
}

gboolean
store_object_rename(Store *store, const char *id, const char *name, GError **error)
{
    if (!need(id, "object id", error))
        return FALSE;
    return B(store)->object_rename(store, id, name, error);
}

gboolean
store_object_move(Store *store, const char *id, const char *new_parent, GError **error)
{
    if (!need(id, "object id", error) || !need(new_parent, "new parent", error))
        return FALSE;
    return B(store)->object_move(store, id, new_parent, error);
}

gboolean
store_object_set_attrs(Store *store, const char *id, const char *attrs_json, gboolean merge,
                       GError **error)
{
    if (!need(id, "object id", error) || !need(attrs_json, "attributes", error))
        return FALSE;
    return B(store)->object_set_attrs(store, id, attrs_json, merge, error);
}

gboolean
store_object_delete(Store *store, const char *id, gboolean recursive, GError **error)
{
    if (!need(id, "object id", error))
        return FALSE;
    return B(store)->object_delete(store, id, recursive, error);
}

/* The only object of a filter, or NOT_FOUND with message. */
static char *
find_one(Store *store, const StoreObjectFilter *f, const char *message, GError **error)
{
    g_autoptr(GPtrArray) found = store_object_list(store, f, error);
    if (found == NULL)
        return NULL;
    if (found->len == 0) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "%s", message);
        return NULL;
    }
    return g_strdup(((StoreObject *) found->pdata[0])->id);
}

char *
store_datacenter_folder(Store *store, const char *datacenter, const char *folder_type,
                        GError **error)
{
    if (!need(datacenter, "datacenter", error) || !need(folder_type, "folder type", error))
        return NULL;
    StoreObjectFilter f = { .kind = STORE_KIND_FOLDER, .parent = datacenter,
                            .attr_name = STORE_ATTR_FOLDER_TYPE, .attr_value = folder_type };
    g_autofree char *msg = g_strdup_printf("datacenter %s has no %s folder", datacenter,
                                           folder_type);
    return find_one(store, &f, msg, error);
}

char *
store_root_resource_pool(Store *store, const char *cluster_or_host, GError **error)
{
    if (!need(cluster_or_host, "cluster or host", error))
        return NULL;
    g_autoptr(GPtrArray) pools = store_object_children(store, cluster_or_host,
                                                       STORE_KIND_RESOURCE_POOL, error);
    if (pools == NULL)
        return NULL;
    for (guint i = 0; i < pools->len; i++) {
        StoreObject *p = pools->pdata[i];
        if (p->system)
            return g_strdup(p->id);
    }
    g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND,
                "%s has no root resource pool (a host in a cluster uses the cluster's)",
                cluster_or_host);
    return NULL;
}

/* ---- Relations ---- */

gboolean
store_mount_set(Store *store, const char *host, const char *datastore, const char *path,
                gboolean accessible, GError **error)
{
    if (!need(host, "host", error) || !need(datastore, "datastore", error) ||
        !need(path, "mount path", error))
        return FALSE;
    return B(store)->mount_set(store, host, datastore, path, accessible, error);
}

gboolean
store_mount_remove(Store *store, const char *host, const char *datastore, GError **error)
{
    if (!need(host, "host", error) || !need(datastore, "datastore", error))
        return FALSE;
    return B(store)->mount_remove(store, host, datastore, error);
}

GPtrArray *
store_mount_list(Store *store, const char *host, const char *datastore, GError **error)
{
    return B(store)->mount_list(store, host, datastore, error);
}

gboolean
store_host_network_add(Store *store, const char *host, const char *network, GError **error)
{
    if (!need(host, "host", error) || !need(network, "network", error))
        return FALSE;
    return B(store)->host_network_add(store, host, network, error);
}

gboolean
store_host_network_remove(Store *store, const char *host, const char *network, GError **error)
{
    if (!need(host, "host", error) || !need(network, "network", error))
        return FALSE;
    return B(store)->host_network_remove(store, host, network, error);
}

GPtrArray *
store_host_network_list(Store *store, const char *host, const char *network, GError **error)
{
    if ((host == NULL) == (network == NULL)) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "give either a host or a network");
        return NULL;
    }
    return B(store)->host_network_list(store, host, network, error);
}

char *
store_datastore_find_by_uuid(Store *store, const char *uuid, GError **error)
{
    if (!need(uuid, "datastore uuid", error))
        return NULL;
    StoreObjectFilter f = { .kind = STORE_KIND_DATASTORE,
                            .attr_name = STORE_ATTR_DATASTORE_UUID, .attr_value = uuid };
    g_autofree char *msg = g_strdup_printf("no datastore has uuid %s", uuid);
    return find_one(store, &f, msg, error);
}

char *
store_network_find_by_name(Store *store, const char *datacenter, const char *name, GError **error)
{
    if (!need(datacenter, "datacenter", error) || !need(name, "network name", error))
        return NULL;
    StoreObjectFilter f = { .kind = STORE_KIND_NETWORK, .datacenter = datacenter, .name = name };
    g_autofree char *msg = g_strdup_printf("datacenter %s has no network named '%s'",
                                           datacenter, name);
    return find_one(store, &f, msg, error);
}

char *
store_vm_find_by_host_ref(Store *store, const char *host, const char *host_vm_id, GError **error)
{
    if (!need(host, "host", error) || !need(host_vm_id, "host's VM id", error))
        return NULL;
    StoreObjectFilter f = { .kind = STORE_KIND_VM, .attr_name = STORE_ATTR_VM_HOST_REF,
                            .attr_value = host_vm_id };
    g_autoptr(GPtrArray) vms = store_object_list(store, &f, error);
    if (vms == NULL)
        return NULL;
    for (guint i = 0; i < vms->len; i++) {
        StoreObject *vm = vms->pdata[i];
        g_autofree char *on = store_object_attr_string(vm, STORE_ATTR_VM_HOST);
        if (g_strcmp0(on, host) == 0)
            return g_strdup(vm->id);
    }
    g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND,
                "no VM in the inventory is %s on %s", host_vm_id, host);
    return NULL;
}

/* ---- Tasks ---- */

static const char *const task_state_names[STORE_TASK_N_STATES] = {
    [STORE_TASK_PENDING] = "PENDING",
    [STORE_TASK_RUNNING] = "RUNNING",
    [STORE_TASK_SUCCEEDED] = "SUCCEEDED",
    [STORE_TASK_FAILED] = "FAILED",
    [STORE_TASK_CANCELED] = "CANCELED",
};

const char *
store_task_state_to_string(StoreTaskState state)
{
    if ((guint) state >= STORE_TASK_N_STATES)
        return "UNKNOWN";
    return task_state_names[state];
}

gboolean
store_task_state_from_string(const char *s, StoreTaskState *out)
{
    for (guint i = 0; s != NULL && i < STORE_TASK_N_STATES; i++) {
        if (g_ascii_strcasecmp(s, task_state_names[i]) == 0) {
            *out = i;
            return TRUE;
        }
    }
    return FALSE;
}

char *
store_task_create(Store *store, const char *operation, const char *target_type,
                  const char *target_id, const char *user, GError **error)
{
    if (!need(operation, "operation", error))
        return NULL;
    return B(store)->task_create(store, operation, target_type, target_id, user, error);
}

gboolean
store_task_start(Store *store, const char *id, GError **error)
{
    if (!need(id, "task id", error))
        return FALSE;
    return B(store)->task_start(store, id, error);
}

gboolean
store_task_set_progress(Store *store, const char *id, int progress, const char *message,
                        GError **error)
{
    if (!need(id, "task id", error))
        return FALSE;
    return B(store)->task_set_progress(store, id, CLAMP(progress, 0, 100), message, error);
}

gboolean
store_task_finish(Store *store, const char *id, StoreTaskState state, const char *result_json,
                  const char *error_json, GError **error)
{
    if (!need(id, "task id", error))
        return FALSE;
    if (state != STORE_TASK_SUCCEEDED && state != STORE_TASK_FAILED &&
        state != STORE_TASK_CANCELED) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "a task finishes as SUCCEEDED, FAILED or CANCELED, not %s",
                    store_task_state_to_string(state));
        return FALSE;
    }
    return B(store)->task_finish(store, id, state, result_json, error_json, error);
}

StoreTask *
store_task_get(Store *store, const char *id, GError **error)
{
    if (!need(id, "task id", error))
        return NULL;
    return B(store)->task_get(store, id, error);
}

GPtrArray *
store_task_list(Store *store, guint state_mask, const char *target_id, GError **error)
{
    return B(store)->task_list(store, state_mask, target_id, error);
}

gboolean
store_tasks_fail_unfinished(Store *store, const char *message, guint *out_count, GError **error)
{
    if (!need(message, "message", error))
        return FALSE;
    return B(store)->tasks_fail_unfinished(store, message, out_count, error);
}

/* ---- Events ---- */

gint64
store_event_append(Store *store, const StoreEvent *event, GError **error)
{
    if (event == NULL || !need(event->type, "event type", error))
        return -1;
    return B(store)->event_append(store, event, error);
}

void
store_set_event_limit(Store *store, guint max_events)
{
    B(store)->set_event_limit(store, MAX(max_events, 1));
}

GPtrArray *
store_event_query(Store *store, const StoreEventQuery *query, GError **error)
{
    StoreEventQuery any = { 0 };
    return B(store)->event_query(store, query != NULL ? query : &any, error);
}

/* ---- Users, roles, permissions ---- */

gboolean
store_user_create(Store *store, const char *name, const char *password_hash,
                  const char *const *groups, GError **error)
{
    if (!need(name, "user name", error) || !need(password_hash, "password hash", error))
        return FALSE;
    return B(store)->user_create(store, name, password_hash, groups, error);
}

StoreUser *
store_user_get(Store *store, const char *name, GError **error)
{
    if (!need(name, "user name", error))
        return NULL;
    return B(store)->user_get(store, name, error);
}

GPtrArray *
store_user_list(Store *store, GError **error)
{
    return B(store)->user_list(store, error);
}

gboolean
store_user_set_password(Store *store, const char *name, const char *password_hash,
                        GError **error)
{
    if (!need(name, "user name", error) || !need(password_hash, "password hash", error))
        return FALSE;
    return B(store)->user_set_password(store, name, password_hash, error);
}

gboolean
store_user_set_groups(Store *store, const char *name, const char *const *groups, GError **error)
{
    if (!need(name, "user name", error))
        return FALSE;
    return B(store)->user_set_groups(store, name, groups, error);
}

gboolean
store_user_delete(Store *store, const char *name, GError **error)
{
    if (!need(name, "user name", error))
        return FALSE;
    return B(store)->user_delete(store, name, error);
}

GStrv
store_group_members(Store *store, const char *group, GError **error)
{
    if (!need(group, "group name", error))
        return NULL;
    return B(store)->group_members(store, group, error);
}

gboolean
store_role_create(Store *store, const char *name, const char *const *privileges, GError **error)
{
    if (!need(name, "role name", error))
        return FALSE;
    return B(store)->role_create(store, name, privileges, error);
}

StoreRole *
store_role_get(Store *store, const char *name, GError **error)
{
    if (!need(name, "role name", error))
        return NULL;
    return B(store)->role_get(store, name, error);
}

GPtrArray *
store_role_list(Store *store, GError **error)
{
    return B(store)->role_list(store, error);
}

gboolean
store_role_update(Store *store, const char *name, const char *new_name,
                  const char *const *privileges, GError **error)
{
    if (!need(name, "role name", error))
        return FALSE;
    if (new_name != NULL && !need(new_name, "new role name", error))
        return FALSE;
    return B(store)->role_update(store, name, new_name, privileges, error);
}

gboolean
store_role_delete(Store *store, const char *name, GError **error)
{
    if (!need(name, "role name", error))
        return FALSE;
    return B(store)->role_delete(store, name, error);
}

gboolean
store_permission_set(Store *store, const StorePermission *perm, GError **error)
{
    if (perm == NULL || !need(perm->object, "object", error) ||
        !need(perm->principal, "principal", error) || !need(perm->role, "role", error))
        return FALSE;
    return B(store)->permission_set(store, perm, error);
}

gboolean
store_permission_delete(Store *store, const char *object, const char *principal,
                        gboolean is_group, GError **error)
{
    if (!need(object, "object", error) || !need(principal, "principal", error))
        return FALSE;
    return B(store)->permission_delete(store, object, principal, is_group, error);
}

GPtrArray *
store_permission_list(Store *store, const char *object, const char *principal, GError **error)
{
    return B(store)->permission_list(store, object, principal, error);
}
