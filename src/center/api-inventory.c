/* api-inventory.c — datacenters, folders, clusters, datastores, networks and
 * resource pools on the centre (docs/api-center.md). Lists leave out what
 * the user cannot see. */
#include "center.h"
#include "center-evc.h"
#include "json-util.h"
#include "vireo-error.h"

#include <string.h>

static gboolean
matches(GStrv wanted, const char *value)
{
    return !wanted || (value && g_strv_contains((const char *const *)wanted, value));
}

static void
reply_array(ApiRequest *request, JsonArray *arr)
{
    JsonNode *node = json_node_new(JSON_NODE_ARRAY);
    json_node_take_array(node, arr);
    api_request_reply_json(request, 200, node);
}

static void
reply_object(ApiRequest *request, JsonObject *o)
{
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, o);
    api_request_reply_json(request, 200, node);
}

/* Objects of kind the user may see, filtered by names / datacenters / parents. */
static GPtrArray *
visible(Center *c, ApiRequest *request, const char *kind, const char *parents_param)
{
    g_auto(GStrv) names = api_request_query_all(request, "names");
    g_auto(GStrv) dcs = api_request_query_all(request, "datacenters");
    g_auto(GStrv) parents = parents_param ? api_request_query_all(request, parents_param) : NULL;
    StoreObjectFilter f = { .kind = kind };
    g_autoptr(GPtrArray) all = store_object_list(c->store, &f, NULL);
    GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)store_object_free);
    for (guint i = 0; all && i < all->len; i++) {
        StoreObject *o = g_ptr_array_index(all, i);
        if (!matches(names, o->name) || !matches(dcs, o->datacenter) || !matches(parents, o->parent) ||
            !center_can_see(c, api_request_user(request), o->id))
            continue;
        g_ptr_array_add(out, g_ptr_array_steal_index(all, i--));
    }
    return out;
}

static char *
create_child(Center *c, ApiRequest *request, const char *kind, const char *name,
             const char *parent, const char *attrs, const char *privilege, const char *event)
{
    if (!name || !*name || strlen(name) > 80) {
        center_reply_error(request, VIREO_ERROR_INVALID_ARGUMENT, "give a name (1-80 bytes)");
        return NULL;
    }
    g_autoptr(StoreObject) p = parent ? store_object_get(c->store, parent, NULL) : NULL;
    if (!p) {
        center_reply_error(request, VIREO_ERROR_NOT_FOUND, "no parent '%s'", parent ? parent : "");
        return NULL;
    }
    if (!center_authorize(c, request, p->id, privilege))
        return NULL;
    char *id = NULL;
    g_autoptr(GError) error = NULL;
    if (!store_object_create(c->store, kind, name, p->id, attrs, &id, &error)) {
        api_request_reply_error(request, error);
        return NULL;
    }
    center_event(c, api_request_user(request), id, event, FALSE, NULL, "%s %s created in %s",
                 kind, name, p->name);
    api_request_reply_json(request, 201, json_util_string_node(id));
    return id;
}

static gboolean
body_strings(ApiRequest *request, const char *m1, const char **v1, const char *m2, const char **v2)
{
    g_autoptr(GError) error = NULL;
    JsonObject *o = json_util_expect_object(api_request_body(request), "spec", &error);
    if (!o || !json_util_get_string(o, m1, "spec", v1, &error) ||
        (m2 && !json_util_get_string(o, m2, "spec", v2, &error))) {
        api_request_reply_error(request, error);
        return FALSE;
    }
    return TRUE;
}

static void
delete_object(Center *c, ApiRequest *request, const char *param, const char *kind,
              const char *privilege)
{
    g_autoptr(StoreObject) o = center_lookup(c, request, param, kind);
    if (!o || !center_authorize(c, request, o->parent ? o->parent : o->id, privilege))
        return;
    g_autoptr(GError) error = NULL;
    if (!store_object_delete(c->store, o->id, FALSE, &error)) {
        api_request_reply_error(request, error);
        return;
    }
    center_event(c, api_request_user(request), o->id, "ObjectRemovedEvent", FALSE, NULL,
                 "%s %s removed", kind, o->name);
    api_request_reply_empty(request, 204);
}

/* ---- datacenters ---- */

static void
datacenter_list(ApiRequest *request, gpointer data)
{
    g_autoptr(GPtrArray) dcs = visible(data, request, STORE_KIND_DATACENTER, "folders");
    JsonArray *arr = json_array_new();
    for (guint i = 0; i < dcs->len; i++) {
        StoreObject *o = g_ptr_array_index(dcs, i);
        JsonObject *e = json_object_new();
        json_object_set_string_member(e, "datacenter", o->id);
        json_object_set_string_member(e, "name", o->name);
        json_array_add_object_element(arr, e);
    }
    reply_array(request, arr);
}

static void
datacenter_create(ApiRequest *request, gpointer data)
{
    const char *name = NULL, *folder = NULL;
    if (body_strings(request, "name", &name, "folder", &folder))
        g_free(create_child(data, request, STORE_KIND_DATACENTER, name,
                            folder ? folder : STORE_ROOT_FOLDER, NULL, "Datacenter.Create",
                            "DatacenterCreatedEvent"));
}

static void
datacenter_get(ApiRequest *request, gpointer data)
{
    Center *c = data;
    g_autoptr(StoreObject) o = center_lookup(c, request, "datacenter", STORE_KIND_DATACENTER);
    if (!o)
        return;
    JsonObject *r = json_object_new();
    json_object_set_string_member(r, "name", o->name);
    static const char *const types[][2] = {
        { "datastore_folder", STORE_FOLDER_DATASTORE }, { "host_folder", STORE_FOLDER_HOST },
        { "network_folder", STORE_FOLDER_NETWORK }, { "vm_folder", STORE_FOLDER_VM },
    };
    for (guint i = 0; i < G_N_ELEMENTS(types); i++) {
        g_autofree char *f = store_datacenter_folder(c->store, o->id, types[i][1], NULL);
        json_object_set_string_member(r, types[i][0], f ? f : "");
    }
    reply_object(request, r);
}

static void
datacenter_delete(ApiRequest *request, gpointer data)
{
    delete_object(data, request, "datacenter", STORE_KIND_DATACENTER, "Datacenter.Delete");
}

/* ---- folders ---- */

static void
folder_list(ApiRequest *request, gpointer data)
{
    g_auto(GStrv) types = api_request_query_all(request, "type");
    g_autoptr(GPtrArray) folders = visible(data, request, STORE_KIND_FOLDER, "parent_folders");
    JsonArray *arr = json_array_new();
    for (guint i = 0; i < folders->len; i++) {
        StoreObject *o = g_ptr_array_index(folders, i);
        g_autofree char *type = store_object_attr_string(o, STORE_ATTR_FOLDER_TYPE);
        if (!matches(types, type))
            continue;
        JsonObject *e = json_object_new();
        json_object_set_string_member(e, "folder", o->id);
        json_object_set_string_member(e, "name", o->name);
        json_object_set_string_member(e, "type", type ? type : "");
        if (o->parent)
            json_object_set_string_member(e, "parent", o->parent);
        json_array_add_object_element(arr, e);
    }
    reply_array(request, arr);
}

static void
folder_create(ApiRequest *request, gpointer data)
{
    Center *c = data;
    const char *name = NULL, *parent = NULL;
    if (!body_strings(request, "name", &name, "parent_folder", &parent))
        return;
    g_autoptr(StoreObject) p = parent ? store_object_get(c->store, parent, NULL) : NULL;
    if (!p || !g_str_equal(p->kind, STORE_KIND_FOLDER)) {
        center_reply_error(request, VIREO_ERROR_NOT_FOUND, "no folder '%s' to create it in",
                           parent ? parent : "");
        return;
    }
    g_autofree char *type = store_object_attr_string(p, STORE_ATTR_FOLDER_TYPE);
    g_autofree char *attrs = g_strdup_printf("{\"%s\": \"%s\"}", STORE_ATTR_FOLDER_TYPE, type);
    g_free(create_child(c, request, STORE_KIND_FOLDER, name, p->id, attrs, "Folder.Create",
                        "FolderCreatedEvent"));
}

static void
folder_delete(ApiRequest *request, gpointer data)
{
    delete_object(data, request, "folder", STORE_KIND_FOLDER, "Folder.Delete");
}

/* ---- clusters ---- */

static void
cluster_list(ApiRequest *request, gpointer data)
{
    g_autoptr(GPtrArray) clusters = visible(data, request, STORE_KIND_CLUSTER, "folders");
    JsonArray *arr = json_array_new();
    for (guint i = 0; i < clusters->len; i++) {
        StoreObject *o = g_ptr_array_index(clusters, i);
        JsonObject *e = json_object_new();
        json_object_set_string_member(e, "cluster", o->id);
        json_object_set_string_member(e, "name", o->name);
        json_object_set_boolean_member(e, "ha_enabled", FALSE);
        json_object_set_boolean_member(e, "drs_enabled", FALSE);
        json_array_add_object_element(arr, e);
    }
    reply_array(request, arr);
}

static void
cluster_create(ApiRequest *request, gpointer data)
{
    const char *name = NULL, *folder = NULL;
    if (body_strings(request, "name", &name, "folder", &folder))
        g_free(create_child(data, request, STORE_KIND_CLUSTER, name, folder, NULL,
                            "Host.Inventory.CreateCluster", "ClusterCreatedEvent"));
}

static void
cluster_get(ApiRequest *request, gpointer data)
{
    Center *c = data;
    g_autoptr(StoreObject) o = center_lookup(c, request, "cluster", STORE_KIND_CLUSTER);
    if (!o)
        return;
    JsonObject *r = json_object_new();
    json_object_set_string_member(r, "name", o->name);
    g_autofree char *pool = store_root_resource_pool(c->store, o->id, NULL);
    json_object_set_string_member(r, "resource_pool", pool ? pool : "");
    g_autoptr(GPtrArray) hosts = store_object_children(c->store, o->id, STORE_KIND_HOST, NULL);
    JsonArray *ids = json_array_new();
    for (guint i = 0; hosts && i < hosts->len; i++)
        json_array_add_string_element(ids, ((StoreObject *)g_ptr_array_index(hosts, i))->id);
    json_object_set_array_member(r, "hosts", ids);
    center_evc_cluster_json(c, o, r);
    reply_object(request, r);
}

/* PATCH {"evc_mode": MODE | null}: the one setting a cluster has so far
 * (vSphere's ConfigureEvcMode / DisableEvcMode, docs/evc.md). */
static void
cluster_update(ApiRequest *request, gpointer data)
{
    Center *c = data;
    g_autoptr(StoreObject) o = center_lookup(c, request, "cluster", STORE_KIND_CLUSTER);
    if (!o || !center_authorize(c, request, o->id, "Host.Inventory.EditCluster"))
        return;
    g_autoptr(GError) error = NULL;
    JsonObject *spec = json_util_expect_object(api_request_body(request), "spec", &error);
    const char *mode = NULL;
    if (!spec || !json_util_get_string(spec, "evc_mode", "spec", &mode, &error)) {
        api_request_reply_error(request, error);
        return;
    }
    if (!json_object_has_member(spec, "evc_mode") || json_object_get_size(spec) != 1) {
        center_reply_error(request, VIREO_ERROR_INVALID_ARGUMENT,
                           "give {\"evc_mode\": MODE} or {\"evc_mode\": null}: EVC is the one "
                           "cluster setting that can be changed");
        return;
    }
    center_evc_configure(c, request, o, mode);
}

static void
cluster_delete(ApiRequest *request, gpointer data)
{
    delete_object(data, request, "cluster", STORE_KIND_CLUSTER, "Host.Inventory.DeleteCluster");
}

/* ---- datastores, networks, resource pools ---- */

static void
datastore_entry(Center *c, JsonObject *e, StoreObject *o)
{
    g_autofree char *type = store_object_attr_string(o, "type");
    json_object_set_string_member(e, "name", o->name);
    json_object_set_string_member(e, "type", type ? type : "VMFS");
    json_object_set_int_member(e, "capacity", store_object_attr_int(o, "capacity", 0));
    json_object_set_int_member(e, "free_space", store_object_attr_int(o, "free_space", 0));
}

static void
datastore_list(ApiRequest *request, gpointer data)
{
    Center *c = data;
    g_autoptr(GPtrArray) list = visible(c, request, STORE_KIND_DATASTORE, "folders");
    JsonArray *arr = json_array_new();
    for (guint i = 0; i < list->len; i++) {
        StoreObject *o = g_ptr_array_index(list, i);
        JsonObject *e = json_object_new();
        json_object_set_string_member(e, "datastore", o->id);
        datastore_entry(c, e, o);
        json_array_add_object_element(arr, e);
    }
    reply_array(request, arr);
}

static void
datastore_get(ApiRequest *request, gpointer data)
{
    Center *c = data;
    g_autoptr(StoreObject) o = center_lookup(c, request, "datastore", STORE_KIND_DATASTORE);
    if (!o)
        return;
    JsonObject *r = json_object_new();
    datastore_entry(c, r, o);
    json_object_set_int_member(r, "provisioned_space", store_object_attr_int(o, "provisioned_space", 0));
    g_autoptr(GPtrArray) mounts = store_mount_list(c->store, NULL, o->id, NULL);
    JsonArray *hosts = json_array_new();
    gboolean accessible = FALSE;
    for (guint i = 0; mounts && i < mounts->len; i++) {
        StoreMount *m = g_ptr_array_index(mounts, i);
        json_array_add_string_element(hosts, m->host);
        accessible |= m->accessible;
    }
    json_object_set_array_member(r, "hosts", hosts);
    json_object_set_boolean_member(r, "accessible", accessible);
    reply_object(request, r);
}

static void
network_list(ApiRequest *request, gpointer data)
{
    g_autoptr(GPtrArray) list = visible(data, request, STORE_KIND_NETWORK, "folders");
    JsonArray *arr = json_array_new();
    for (guint i = 0; i < list->len; i++) {
        StoreObject *o = g_ptr_array_index(list, i);
        JsonObject *e = json_object_new();
        json_object_set_string_member(e, "network", o->id);
        json_object_set_string_member(e, "name", o->name);
        json_object_set_string_member(e, "type", "STANDARD_PORTGROUP");
        json_array_add_object_element(arr, e);
    }
    reply_array(request, arr);
}

static void
pool_list(ApiRequest *request, gpointer data)
{
    g_auto(GStrv) owners = api_request_query_all(request, "clusters");
    g_auto(GStrv) hosts = api_request_query_all(request, "hosts");
    g_autoptr(GPtrArray) list = visible(data, request, STORE_KIND_RESOURCE_POOL, "parent_resource_pools");
    JsonArray *arr = json_array_new();
    for (guint i = 0; i < list->len; i++) {
        StoreObject *o = g_ptr_array_index(list, i);
        if ((owners && !matches(owners, o->parent)) || (hosts && !matches(hosts, o->parent)))
            continue;
        JsonObject *e = json_object_new();
        json_object_set_string_member(e, "resource_pool", o->id);
        json_object_set_string_member(e, "name", o->name);
        json_array_add_object_element(arr, e);
    }
    reply_array(request, arr);
}

static void
pool_get(ApiRequest *request, gpointer data)
{
    Center *c = data;
    g_autoptr(StoreObject) o = center_lookup(c, request, "resource_pool", STORE_KIND_RESOURCE_POOL);
    if (!o)
        return;
    JsonObject *r = json_object_new();
    json_object_set_string_member(r, "name", o->name);
    g_autoptr(GPtrArray) kids = store_object_children(c->store, o->id, STORE_KIND_RESOURCE_POOL, NULL);
    JsonArray *ids = json_array_new();
    for (guint i = 0; kids && i < kids->len; i++)
        json_array_add_string_element(ids, ((StoreObject *)g_ptr_array_index(kids, i))->id);
    json_object_set_array_member(r, "resource_pools", ids);
    reply_object(request, r);
}

void
center_api_inventory_register(ApiServer *s, Center *c)
{
    api_server_add_route(s, "GET", "/api/vcenter/datacenter", NULL, datacenter_list, c);
    api_server_add_route(s, "POST", "/api/vcenter/datacenter", NULL, datacenter_create, c);
    api_server_add_route(s, "GET", "/api/vcenter/datacenter/{datacenter}", NULL, datacenter_get, c);
    api_server_add_route(s, "DELETE", "/api/vcenter/datacenter/{datacenter}", NULL, datacenter_delete, c);
    api_server_add_route(s, "GET", "/api/vcenter/folder", NULL, folder_list, c);
    api_server_add_route(s, "POST", "/api/vcenter/folder", NULL, folder_create, c);
    api_server_add_route(s, "DELETE", "/api/vcenter/folder/{folder}", NULL, folder_delete, c);
    api_server_add_route(s, "GET", "/api/vcenter/cluster", NULL, cluster_list, c);
    api_server_add_route(s, "POST", "/api/vcenter/cluster", NULL, cluster_create, c);
    api_server_add_route(s, "GET", "/api/vcenter/cluster/{cluster}", NULL, cluster_get, c);
    api_server_add_route(s, "PATCH", "/api/vcenter/cluster/{cluster}", NULL, cluster_update, c);
    api_server_add_route(s, "DELETE", "/api/vcenter/cluster/{cluster}", NULL, cluster_delete, c);
    api_server_add_route(s, "GET", "/api/vcenter/datastore", NULL, datastore_list, c);
    api_server_add_route(s, "GET", "/api/vcenter/datastore/{datastore}", NULL, datastore_get, c);
    api_server_add_route(s, "GET", "/api/vcenter/network", NULL, network_list, c);
    api_server_add_route(s, "GET", "/api/vcenter/resource-pool", NULL, pool_list, c);
    api_server_add_route(s, "GET", "/api/vcenter/resource-pool/{resource_pool}", NULL, pool_get, c);
}
