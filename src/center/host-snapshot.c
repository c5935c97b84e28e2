/* host-snapshot.c — gathers what one vireo-hostd holds (host facts,
 * datastores, port groups, VMs) into a HostSnapshot through a GET function,
 * so the same code runs on the link's worker and against canned answers.
 */
#include "host-link.h"

#include <string.h>

#include "api-client.h"
#include "vireo-error.h"

static void
datastore_free(gpointer data)
{
    HostSnapshotDatastore *ds = data;

    g_free(ds->id);
    g_free(ds->uuid);
    g_free(ds->name);
    g_free(ds->path);
    g_free(ds->type);
    g_free(ds);
}

static void
network_free(gpointer data)
{
    HostSnapshotNetwork *net = data;

    g_free(net->id);
    g_free(net->name);
    g_free(net->vswitch);
    g_free(net);
}

static void
vm_free(gpointer data)
{
    HostSnapshotVm *vm = data;

    g_free(vm->id);
    g_free(vm->name);
    g_free(vm->power_state);
    g_free(vm->vmx_path);
    g_free(vm->datastore);
    g_clear_pointer(&vm->info, json_node_unref);
    g_free(vm);
}

void
host_snapshot_free(HostSnapshot *snap)
{
    if (!snap)
        return;
    g_free(snap->host_id);
    g_free(snap->name);
    g_free(snap->thumbprint);
    g_free(snap->version);
    g_free(snap->accelerator);
    g_free(snap->vmotion_address);
    g_free(snap->cpu_model);
    g_ptr_array_unref(snap->datastores);
    g_ptr_array_unref(snap->networks);
    g_ptr_array_unref(snap->vms);
    g_free(snap);
}

const HostSnapshotVm *
host_snapshot_find_vm(const HostSnapshot *snap, const char *id)
{
    for (guint i = 0; id && i < snap->vms->len; i++) {
        const HostSnapshotVm *vm = g_ptr_array_index(snap->vms, i);
        if (g_str_equal(vm->id, id))
            return vm;
    }
    return NULL;
}

/* Lenient readers: a host's answer that lacks an optional member, or has
 * it with another type, reads as empty rather than failing the snapshot. */
static char *
get_str(JsonObject *obj, const char *member)
{
    JsonNode *node = obj ? json_object_get_member(obj, member) : NULL;

    if (!node || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
        return NULL;
    return g_strdup(json_node_get_string(node));
}

static gint64
get_int(JsonObject *obj, const char *member)
{
    JsonNode *node = obj ? json_object_get_member(obj, member) : NULL;

    if (!node || !JSON_NODE_HOLDS_VALUE(node))
        return 0;
    if (json_node_get_value_type(node) == G_TYPE_DOUBLE)
        return (gint64)json_node_get_double(node);
    return json_node_get_value_type(node) == G_TYPE_INT64 ? json_node_get_int(node) : 0;
}

static gboolean
get_bool(JsonObject *obj, const char *member)
{
    JsonNode *node = obj ? json_object_get_member(obj, member) : NULL;

    return node && JSON_NODE_HOLDS_VALUE(node) &&
           json_node_get_value_type(node) == G_TYPE_BOOLEAN && json_node_get_boolean(node);
}

static JsonObject *
get_obj(JsonObject *obj, const char *member)
{
    JsonNode *node = obj ? json_object_get_member(obj, member) : NULL;

    return node && JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
}

static gboolean
unexpected(const char *path, const char *what, GError **error)
{
    g_set_error(error, VIREO_ERROR, VIREO_ERROR_UNEXPECTED_INPUT,
                "the host's answer to GET %s is not %s", path, what);
    return FALSE;
}

/* GET path expecting an array of objects, each with a string id_member;
 * returns the ids in order. */
static GPtrArray *
get_ids(HostSnapshotGetFunc get, gpointer data, const char *path, const char *id_member,
        GError **error)
{
    g_autoptr(JsonNode) answer = NULL;
    g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);

    if (!get(path, &answer, data, error))
        return NULL;
    if (!answer || !JSON_NODE_HOLDS_ARRAY(answer)) {
        unexpected(path, "a list", error);
        return NULL;
    }
    JsonArray *list = json_node_get_array(answer);
    for (guint i = 0; i < json_array_get_length(list); i++) {
        JsonNode *item = json_array_get_element(list, i);
        char *id = JSON_NODE_HOLDS_OBJECT(item) ? get_str(json_node_get_object(item), id_member) : NULL;
        if (!id || !*id) {
            g_free(id);
            unexpected(path, "a list of objects with ids", error);
            return NULL;
        }
        g_ptr_array_add(ids, id);
    }
    return g_steal_pointer(&ids);
}

/* GET path expecting an object (*out keeps the node alive). */
static JsonObject *
get_object(HostSnapshotGetFunc get, gpointer data, const char *path, JsonNode **out,
           GError **error)
{
    if (!get(path, out, data, error))
        return NULL;
    if (!*out || !JSON_NODE_HOLDS_OBJECT(*out)) {
        unexpected(path, "an object", error);
        return NULL;
    }
    return json_node_get_object(*out);
}

static gboolean
gather_host(HostSnapshot *snap, HostSnapshotGetFunc get, gpointer data, GError **error)
{
    g_autoptr(GPtrArray) ids = get_ids(get, data, "/api/vcenter/host", "host", error);
    g_autoptr(JsonNode) node = NULL;

    if (!ids)
        return FALSE;
    if (ids->len != 1)
        return unexpected("/api/vcenter/host", "one host (is this a vireo-hostd?)", error);
    g_autofree char *escaped = api_client_escape_segment(g_ptr_array_index(ids, 0));
    g_autofree char *path = g_strconcat("/api/vcenter/host/", escaped, NULL);
    JsonObject *o = get_object(get, data, path, &node, error);
    if (!o)
        return FALSE;
    snap->host_id = g_strdup(g_ptr_array_index(ids, 0));
    snap->name = get_str(o, "name");
    snap->thumbprint = get_str(o, "thumbprint");
    snap->version = get_str(o, "version");
    snap->accelerator = get_str(o, "accelerator");
    snap->vmotion_address = get_str(o, "vmotion_address");
    snap->cpu_count = get_int(get_obj(o, "cpu"), "count");
    snap->cpu_model = get_str(get_obj(o, "cpu"), "model");
    snap->memory_mib = get_int(get_obj(o, "memory"), "size_MiB");
    snap->memory_free_mib = get_int(get_obj(o, "memory"), "free_MiB");
    return TRUE;
}

static gboolean
gather_datastores(HostSnapshot *snap, HostSnapshotGetFunc get, gpointer data, GError **error)
{
    g_autoptr(GPtrArray) ids = get_ids(get, data, "/api/vcenter/datastore", "datastore", error);

    if (!ids)
        return FALSE;
    for (guint i = 0; i < ids->len; i++) {
        g_autoptr(JsonNode) node = NULL;
        g_autofree char *escaped = api_client_escape_segment(g_ptr_array_index(ids, i));
        g_autofree char *path = g_strconcat("/api/vcenter/datastore/", escaped, NULL);
        JsonObject *o = get_object(get, data, path, &node, error);
        if (!o)
            return FALSE;
        HostSnapshotDatastore *ds = g_new0(HostSnapshotDatastore, 1);
        ds->id = g_strdup(g_ptr_array_index(ids, i));
        ds->uuid = get_str(o, "uuid");
        ds->name = get_str(o, "name");
        ds->path = get_str(o, "path");
        ds->type = get_str(o, "type");
        ds->accessible = get_bool(o, "accessible");
        ds->capacity = get_int(o, "capacity");
        ds->free_space = get_int(o, "free_space");
        ds->provisioned = get_int(o, "provisioned_space");
        g_ptr_array_add(snap->datastores, ds);
    }
    return TRUE;
}

static gboolean
gather_networks(HostSnapshot *snap, HostSnapshotGetFunc get, gpointer data, GError **error)
{
    g_autoptr(JsonNode) answer = NULL;
    const char *path = "/api/vcenter/network";

    if (!get(path, &answer, data, error))
        return FALSE;
    if (!answer || !JSON_NODE_HOLDS_ARRAY(answer))
        return unexpected(path, "a list", error);
    JsonArray *list = json_node_get_array(answer);
    for (guint i = 0; i < json_array_get_length(list); i++) {
        JsonNode *item = json_array_get_element(list, i);
        JsonObject *o = JSON_NODE_HOLDS_OBJECT(item) ? json_node_get_object(item) : NULL;
        g_autofree char *id = get_str(o, "network");
        if (!id || !*id)
            return unexpected(path, "a list of objects with ids", error);
        HostSnapshotNetwork *net = g_new0(HostSnapshotNetwork, 1);
        net->id = g_steal_pointer(&id);
        net->name = get_str(o, "name");
        net->vlan = get_int(o, "vlan_id");
        net->vswitch = get_str(o, "vswitch");
        g_ptr_array_add(snap->networks, net);
    }
    return TRUE;
}

/* "[local1] web-01/web-01.vmx" → "local1"; NULL without brackets. */
static char *
vmx_path_datastore(const char *vmx_path)
{
    const char *end = vmx_path && vmx_path[0] == '[' ? strchr(vmx_path, ']') : NULL;

    return end ? g_strndup(vmx_path + 1, (gsize)(end - vmx_path - 1)) : NULL;
}

static HostSnapshotVm *
vm_from_info(const char *id, JsonNode *info)
{
    JsonObject *o = json_node_get_object(info);
    HostSnapshotVm *vm = g_new0(HostSnapshotVm, 1);

    vm->id = g_strdup(id);
    vm->name = get_str(o, "name");
    vm->power_state = get_str(o, "power_state");
    vm->cpu_count = get_int(get_obj(o, "cpu"), "count");
    vm->memory_mib = get_int(get_obj(o, "memory"), "size_MiB");
    vm->vmx_path = get_str(o, "vmx_path");
    vm->datastore = vmx_path_datastore(vm->vmx_path);
    vm->template = get_bool(o, "template");
    vm->info = json_node_ref(info);
    return vm;
}

static gboolean
gather_vms(HostSnapshot *snap, HostSnapshotGetFunc get, gpointer data, GError **error)
{
    g_autoptr(GPtrArray) ids = get_ids(get, data, "/api/vcenter/vm", "vm", error);

    if (!ids)
        return FALSE;
    for (guint i = 0; i < ids->len; i++) {
        const char *id = g_ptr_array_index(ids, i);
        g_autoptr(JsonNode) node = NULL;
        g_autoptr(GError) local = NULL;
        g_autofree char *escaped = api_client_escape_segment(id);
        g_autofree char *path = g_strconcat("/api/vcenter/vm/", escaped, NULL);
        if (!get_object(get, data, path, &node, &local)) {
            /* Deleted between the list and now: it is simply not there. */
            if (g_error_matches(local, VIREO_ERROR, VIREO_ERROR_NOT_FOUND))
                continue;
            g_propagate_error(error, g_steal_pointer(&local));
            return FALSE;
        }
        g_ptr_array_add(snap->vms, vm_from_info(id, node));
    }
    return TRUE;
}

HostSnapshot *
host_snapshot_gather(HostSnapshotGetFunc get, gpointer data, GError **error)
{
    g_autoptr(HostSnapshot) snap = g_new0(HostSnapshot, 1);

    snap->datastores = g_ptr_array_new_with_free_func(datastore_free);
    snap->networks = g_ptr_array_new_with_free_func(network_free);
    snap->vms = g_ptr_array_new_with_free_func(vm_free);
    if (!gather_host(snap, get, data, error) || !gather_datastores(snap, get, data, error) ||
        !gather_networks(snap, get, data, error) || !gather_vms(snap, get, data, error))
        return NULL;
    return g_steal_pointer(&snap);
}
