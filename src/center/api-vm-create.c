/* api-vm-create.c — POST /api/vcenter/vm on the centre: placement (host,
 * cluster or pool, datastore, folder), checks, and the create forwarded to
 * the chosen host; the new VM enters the inventory with the centre's id. */
#include "center.h"
#include "json-util.h"
#include "vireo-error.h"

typedef struct {
    Center *c;
    CenterTask *task;
    char *host;
    char *folder;
    char *pool;
    char *datastore;
    char *name;
    char *host_vm;
} Create;

static void
create_free(Create *cr)
{
    g_free(cr->host);
    g_free(cr->folder);
    g_free(cr->pool);
    g_free(cr->datastore);
    g_free(cr->name);
    g_free(cr->host_vm);
    g_free(cr);
}

static gboolean
host_usable(Center *c, const char *host, const char *datastore, GError **error)
{
    g_autoptr(StoreObject) h = store_object_get(c->store, host, NULL);
    HostLink *link = g_hash_table_lookup(c->links, host);
    if (!h || !g_str_equal(h->kind, STORE_KIND_HOST)) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "no host '%s'", host);
        return FALSE;
    }
    if (!link || host_link_get_state(link) != HOST_LINK_STATE_CONNECTED) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_SERVICE_UNAVAILABLE, "host %s is not connected", h->name);
        return FALSE;
    }
    if (store_object_attr_bool(h, "in_maintenance_mode", FALSE)) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                    "host %s is in maintenance mode", h->name);
        return FALSE;
    }
    g_autoptr(GPtrArray) mounts = store_mount_list(c->store, host, datastore, NULL);
    if (!mounts || mounts->len == 0) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "host %s does not see datastore %s", h->name, datastore);
        return FALSE;
    }
    return TRUE;
}

/* A usable host of a cluster (or of the cluster/host owning a pool). */
static char *
pick_host(Center *c, const char *owner, const char *datastore, GError **error)
{
    g_autoptr(StoreObject) o = store_object_get(c->store, owner, NULL);
    if (o && g_str_equal(o->kind, STORE_KIND_RESOURCE_POOL)) {
        g_autoptr(GPtrArray) chain = store_object_ancestors(c->store, owner, NULL);
        for (guint i = 0; chain && i < chain->len; i++) {
            g_autoptr(StoreObject) a = store_object_get(c->store, g_ptr_array_index(chain, i), NULL);
            if (a && (g_str_equal(a->kind, STORE_KIND_CLUSTER) || g_str_equal(a->kind, STORE_KIND_HOST)))
                return pick_host(c, a->id, datastore, error);
        }
    }
    if (o && g_str_equal(o->kind, STORE_KIND_HOST))
        return host_usable(c, o->id, datastore, error) ? g_strdup(o->id) : NULL;
    g_autoptr(GPtrArray) hosts = o ? store_object_children(c->store, o->id, STORE_KIND_HOST, NULL) : NULL;
    for (guint i = 0; hosts && i < hosts->len; i++) {
        StoreObject *h = g_ptr_array_index(hosts, i);
        if (host_usable(c, h->id, datastore, NULL))
            return g_strdup(h->id);
    }
    g_set_error(error, VIREO_ERROR, VIREO_ERROR_UNABLE_TO_ALLOCATE_RESOURCE,
                "no connected host of %s outside maintenance mode sees datastore %s",
                owner, datastore);
    return NULL;
}

/* The spec as the host wants it: placement by its names, networks by name. */
static JsonNode *
host_spec(Center *c, JsonObject *spec, const char *datastore_name)
{
    JsonNode *copy = json_node_new(JSON_NODE_OBJECT);
    json_node_set_object(copy, spec);
    JsonNode *node = json_node_copy(copy);
    json_node_unref(copy);
    JsonObject *o = json_node_get_object(node);
    JsonObject *placement = json_object_new();
    json_object_set_string_member(placement, "datastore", datastore_name);
    json_object_set_object_member(o, "placement", placement);
    JsonArray *nics = json_object_has_member(o, "nics") ? json_object_get_array_member(o, "nics") : NULL;
    for (guint i = 0; nics && i < json_array_get_length(nics); i++) {
        JsonNode *n = json_array_get_element(nics, i);
        JsonObject *b = JSON_NODE_HOLDS_OBJECT(n) && json_object_has_member(json_node_get_object(n), "backing")
                            ? json_object_get_object_member(json_node_get_object(n), "backing") : NULL;
        const char *net = b ? json_object_get_string_member_with_default(b, "network", NULL) : NULL;
        g_autoptr(StoreObject) no = net ? store_object_get(c->store, net, NULL) : NULL;
        if (no && g_str_equal(no->kind, STORE_KIND_NETWORK))
            json_object_set_string_member(b, "network", no->name);
    }
    return node;
}

static void
on_created_info(HostLink *link, guint status, JsonNode *answer, const GError *error, gpointer data)
{
    Create *cr = data;
    Center *c = cr->c;
    JsonObject *info = answer && JSON_NODE_HOLDS_OBJECT(answer) ? json_node_get_object(answer) : NULL;
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    const char *keys[][2] = { { STORE_ATTR_VM_HOST, cr->host }, { STORE_ATTR_VM_HOST_REF, cr->host_vm },
                              { STORE_ATTR_VM_DATASTORE, cr->datastore },
                              { STORE_ATTR_VM_RESOURCE_POOL, cr->pool },
                              { STORE_ATTR_VM_VMX_PATH, info ? json_object_get_string_member_with_default(info, "vmx_path", NULL) : NULL },
                              { "power_state", "POWERED_OFF" } };
    for (guint i = 0; i < G_N_ELEMENTS(keys); i++) {
        json_builder_set_member_name(b, keys[i][0]);
        json_builder_add_string_value(b, keys[i][1] ? keys[i][1] : "");
    }
    JsonObject *cpu = info && json_object_has_member(info, "cpu") ? json_object_get_object_member(info, "cpu") : NULL;
    JsonObject *mem = info && json_object_has_member(info, "memory") ? json_object_get_object_member(info, "memory") : NULL;
    json_builder_set_member_name(b, "cpu_count");
    json_builder_add_int_value(b, cpu ? json_object_get_int_member_with_default(cpu, "count", 1) : 1);
    json_builder_set_member_name(b, "memory_size_MiB");
    json_builder_add_int_value(b, mem ? json_object_get_int_member_with_default(mem, "size_MiB", 0) : 0);
    json_builder_end_object(b);
    g_autoptr(JsonNode) attrs_node = json_builder_get_root(b);
    g_autofree char *attrs = json_util_to_string(attrs_node, FALSE);
    g_autofree char *id = store_vm_find_by_host_ref(c->store, cr->host, cr->host_vm, NULL);
    g_autoptr(GError) local = NULL;
    if (id) {
        /* A reconcile saw the new VM first: it is the same VM; put it where
         * the request placed it. */
        store_object_set_attrs(c->store, id, attrs, TRUE, NULL);
        store_object_move(c->store, id, cr->folder, NULL);
        store_object_rename(c->store, id, cr->name, NULL);
        center_task_succeed(cr->task, 201, json_util_string_node(id));
    } else if (!store_object_create(c->store, STORE_KIND_VM, cr->name, cr->folder, attrs, &id, &local)) {
        center_task_fail(cr->task, local);
    } else {
        center_event(c, NULL, id, "VmCreatedEvent", FALSE, center_task_id(cr->task), "created on host %s", cr->host);
        center_task_succeed(cr->task, 201, json_util_string_node(id));
    }
    create_free(cr);
}

static void
on_host_created(HostLink *link, guint status, JsonNode *answer, const GError *error, gpointer data)
{
    Create *cr = data;
    if (error || !answer || !JSON_NODE_HOLDS_VALUE(answer)) {
        g_autoptr(GError) e = error ? g_error_copy(error)
                                    : g_error_new(VIREO_ERROR, VIREO_ERROR_ERROR, "the host answered no id");
        center_task_fail(cr->task, e);
        create_free(cr);
        return;
    }
    cr->host_vm = g_strdup(json_node_get_string(answer));
    center_task_progress(cr->task, 80, "registering in the inventory");
    g_autofree char *path = g_strdup_printf("/api/vcenter/vm/%s", cr->host_vm);
    host_link_request(link, "GET", path, NULL, on_created_info, cr);
}

static char *
default_vm_folder(Center *c, const char *datastore)
{
    g_autoptr(StoreObject) ds = store_object_get(c->store, datastore, NULL);
    return ds ? store_datacenter_folder(c->store, ds->datacenter, STORE_FOLDER_VM, NULL) : NULL;
}

static void
vm_create(ApiRequest *request, gpointer data)
{
    Center *c = data;
    g_autoptr(GError) error = NULL;
    JsonObject *spec = json_util_expect_object(api_request_body(request), "spec", &error);
    JsonObject *pl = NULL;
    const char *name = NULL, *ds = NULL, *folder = NULL, *host = NULL, *cluster = NULL, *pool = NULL;
    if (!spec || !json_util_get_string(spec, "name", "spec", &name, &error) ||
        !json_util_get_object(spec, "placement", "spec", &pl, &error) ||
        (pl && (!json_util_get_string(pl, "datastore", "spec.placement", &ds, &error) ||
                !json_util_get_string(pl, "folder", "spec.placement", &folder, &error) ||
                !json_util_get_string(pl, "host", "spec.placement", &host, &error) ||
                !json_util_get_string(pl, "cluster", "spec.placement", &cluster, &error) ||
                !json_util_get_string(pl, "resource_pool", "spec.placement", &pool, &error)))) {
        api_request_reply_error(request, error);
        return;
    }
    g_autoptr(StoreObject) dso = ds ? store_object_get(c->store, ds, NULL) : NULL;
    if (!name || !dso || !g_str_equal(dso->kind, STORE_KIND_DATASTORE) || !(host || cluster || pool)) {
        center_reply_error(request, VIREO_ERROR_INVALID_ARGUMENT,
                           "give name, placement.datastore (a datastore id) and placement.host, "
                           "cluster or resource_pool");
        return;
    }
    g_autofree char *vm_folder = folder ? g_strdup(folder) : default_vm_folder(c, dso->id);
    g_autofree char *chosen = pick_host(c, host ? host : pool ? pool : cluster, dso->id, &error);
    if (!chosen) {
        api_request_reply_error(request, error);
        return;
    }
    g_autoptr(StoreObject) h = store_object_get(c->store, chosen, NULL);
    g_autoptr(StoreObject) owner = store_object_get(c->store, h->parent, NULL);
    g_autofree char *root_pool = store_root_resource_pool(
        c->store, owner && g_str_equal(owner->kind, STORE_KIND_CLUSTER) ? owner->id : chosen, NULL);
    if (!center_authorize(c, request, vm_folder, "VirtualMachine.Inventory.Create") ||
        !center_authorize(c, request, dso->id, "Datastore.AllocateSpace") ||
        !center_authorize(c, request, pool ? pool : root_pool, "Resource.AssignVMToPool"))
        return;
    Create *cr = g_new0(Create, 1);
    cr->c = c;
    cr->host = g_strdup(chosen);
    cr->folder = g_strdup(vm_folder);
    cr->pool = g_strdup(pool ? pool : root_pool);
    cr->datastore = g_strdup(dso->id);
    cr->name = g_strdup(name);
    cr->task = center_task_begin(c, request, "vm.create", "VirtualMachine", NULL);
    if (!cr->task) {
        create_free(cr);
        return;
    }
    center_task_progress(cr->task, 10, "creating on the host");
    HostLink *link = g_hash_table_lookup(c->links, chosen);
    host_link_request(link, "POST", "/api/vcenter/vm", host_spec(c, spec, dso->name), on_host_created, cr);
}

void
center_api_vm_create_register(ApiServer *s, Center *c)
{
    api_server_add_route(s, "POST", "/api/vcenter/vm", NULL, vm_create, c);
}
