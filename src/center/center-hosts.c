/* center-hosts.c — the centre's managed hosts: their links, and their
 * inventory (datastores, networks, VMs) imported from snapshots and
 * reconciled whenever a host comes back.
 *
 * A datastore seen by several hosts (same .vireo-datastore uuid) is one
 * datastore with several mounts; a port group name is one network per
 * datacenter, as standard port groups are in vCenter.
 */
#include "center.h"
#include "center-evc.h"
#include "json-util.h"
#include "vireo-error.h"

#include <string.h>

static char *
attrs_of(JsonBuilder *b)
{
    g_autoptr(JsonNode) node = json_builder_get_root(b);
    return json_util_to_string(node, FALSE);
}

static void
set_string(JsonBuilder *b, const char *key, const char *value)
{
    json_builder_set_member_name(b, key);
    if (value)
        json_builder_add_string_value(b, value);
    else
        json_builder_add_null_value(b);
}

static void
set_int(JsonBuilder *b, const char *key, gint64 value)
{
    json_builder_set_member_name(b, key);
    json_builder_add_int_value(b, value);
}

/* The centre's datastore for one the host reports, created when new. */
static char *
import_datastore(Center *c, const char *host, const char *dc, const HostSnapshotDatastore *d)
{
    g_autofree char *uuid = d->uuid ? g_strdup(d->uuid) : g_strdup_printf("%s:%s", host, d->path);
    char *id = store_datastore_find_by_uuid(c->store, uuid, NULL);
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    set_string(b, STORE_ATTR_DATASTORE_UUID, uuid);
    set_string(b, "type", d->type ? d->type : "VMFS");
    set_int(b, "capacity", d->capacity);
    set_int(b, "free_space", d->free_space);
    set_int(b, "provisioned_space", d->provisioned);
    json_builder_end_object(b);
    g_autofree char *attrs = attrs_of(b);
    if (id) {
        store_object_set_attrs(c->store, id, attrs, TRUE, NULL);
    } else {
        g_autofree char *folder = store_datacenter_folder(c->store, dc, STORE_FOLDER_DATASTORE, NULL);
        g_autoptr(GError) error = NULL;
        if (!store_object_create(c->store, STORE_KIND_DATASTORE, d->name, folder, attrs, &id, &error))
            g_warning("datastore %s of %s not imported: %s", d->name, host, error->message);
    }
    if (id)
        store_mount_set(c->store, host, id, d->path, d->accessible, NULL);
    return id;
}

static char *
import_network(Center *c, const char *host, const char *dc, const HostSnapshotNetwork *n)
{
    char *id = store_network_find_by_name(c->store, dc, n->name, NULL);
    if (!id) {
        g_autofree char *folder = store_datacenter_folder(c->store, dc, STORE_FOLDER_NETWORK, NULL);
        g_autoptr(JsonBuilder) b = json_builder_new();
        json_builder_begin_object(b);
        set_string(b, "type", "STANDARD_PORTGROUP");
        json_builder_end_object(b);
        g_autofree char *attrs = attrs_of(b);
        store_object_create(c->store, STORE_KIND_NETWORK, n->name, folder, attrs, &id, NULL);
    }
    if (id)
        store_host_network_add(c->store, host, id, NULL);
    return id;
}

/* The attributes of a VM as the host reports it. */
static char *
vm_attrs(Center *c, const char *host, const StoreObject *host_obj, const HostSnapshot *snap,
         const HostSnapshotVm *v, GHashTable *ds_by_name)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    set_string(b, STORE_ATTR_VM_HOST, host);
    set_string(b, STORE_ATTR_VM_HOST_REF, v->id);
    set_string(b, STORE_ATTR_VM_VMX_PATH, v->vmx_path);
    set_string(b, STORE_ATTR_VM_DATASTORE, v->datastore ? g_hash_table_lookup(ds_by_name, v->datastore) : NULL);
    set_string(b, "power_state", v->power_state);
    set_int(b, "cpu_count", v->cpu_count);
    set_int(b, "memory_size_MiB", v->memory_mib);
    json_builder_set_member_name(b, STORE_ATTR_VM_TEMPLATE);
    json_builder_add_boolean_value(b, v->template);
    g_autofree char *owner = host_obj->parent ? g_strdup(host_obj->parent) : NULL;
    StoreObject *parent = owner ? store_object_get(c->store, owner, NULL) : NULL;
    const char *pool_owner = parent && g_str_equal(parent->kind, STORE_KIND_CLUSTER) ? owner : host;
    g_autofree char *pool = store_root_resource_pool(c->store, pool_owner, NULL);
    store_object_free(parent);
    set_string(b, STORE_ATTR_VM_RESOURCE_POOL, pool);
    json_builder_end_object(b);
    return attrs_of(b);
}

static void
import_vms(Center *c, const char *host, const StoreObject *host_obj, HostSnapshot *snap,
           GHashTable *ds_by_name)
{
    StoreObjectFilter f = { .kind = STORE_KIND_VM, .attr_name = STORE_ATTR_VM_HOST, .attr_value = host };
    g_autoptr(GPtrArray) known_objs = store_object_list(c->store, &f, NULL);
    guint n = known_objs ? known_objs->len : 0;
    g_autofree HostKnownVm *known = g_new0(HostKnownVm, n + 1);
    g_autoptr(GPtrArray) strings = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < n; i++) {
        StoreObject *o = g_ptr_array_index(known_objs, i);
        char *ref = store_object_attr_string(o, STORE_ATTR_VM_HOST_REF);
        char *ps = store_object_attr_string(o, "power_state");
        char *vmx = store_object_attr_string(o, STORE_ATTR_VM_VMX_PATH);
        g_ptr_array_add(strings, ref);
        g_ptr_array_add(strings, ps);
        g_ptr_array_add(strings, vmx);
        known[i] = (HostKnownVm){ o->id, ref, o->name, ps, vmx };
    }
    g_autoptr(HostReconcile) diff = host_reconcile_diff(snap, known, n);
    g_autofree char *vm_folder = store_datacenter_folder(c->store, host_obj->datacenter, STORE_FOLDER_VM, NULL);
    for (guint i = 0; i < diff->removed->len; i++) {
        const char *id = g_ptr_array_index(diff->removed, i);
        store_object_delete(c->store, id, TRUE, NULL);
        center_event(c, NULL, id, "VmRemovedEvent", FALSE, NULL, "no longer registered on %s", host_obj->name);
    }
    for (guint i = 0; i < diff->added->len; i++) {
        const HostSnapshotVm *v = host_snapshot_find_vm(snap, g_ptr_array_index(diff->added, i));
        g_autofree char *attrs = vm_attrs(c, host, host_obj, snap, v, ds_by_name);
        g_autofree char *id = NULL;
        g_autoptr(GError) error = NULL;
        if (!store_object_create(c->store, STORE_KIND_VM, v->name, vm_folder, attrs, &id, &error) &&
            g_error_matches(error, VIREO_ERROR, VIREO_ERROR_ALREADY_EXISTS)) {
            /* Two hosts may each have a VM of one name; in one folder the
             * second is told apart by its host, as vCenter appends (1). */
            g_autofree char *other = g_strdup_printf("%s (%s)", v->name, host_obj->name);
            g_clear_error(&error);
            store_object_create(c->store, STORE_KIND_VM, other, vm_folder, attrs, &id, &error);
        }
        if (!id) {
            g_warning("VM %s of %s not imported: %s", v->name, host_obj->name, error->message);
            continue;
        }
        center_event(c, NULL, id, "VmDiscoveredEvent", FALSE, NULL, "discovered on %s", host_obj->name);
    }
    for (guint i = 0; i < diff->changed->len; i++) {
        HostReconcileChange *ch = g_ptr_array_index(diff->changed, i);
        const HostSnapshotVm *v = host_snapshot_find_vm(snap, ch->host_id);
        g_autofree char *attrs = vm_attrs(c, host, host_obj, snap, v, ds_by_name);
        store_object_set_attrs(c->store, ch->centre_id, attrs, TRUE, NULL);
        if (ch->fields & HOST_RECONCILE_NAME)
            store_object_rename(c->store, ch->centre_id, ch->name, NULL);
    }
}

void
center_hosts_apply_snapshot(Center *c, const char *host, HostSnapshot *snap)
{
    g_autoptr(StoreObject) host_obj = store_object_get(c->store, host, NULL);
    if (!host_obj)
        return;
    g_autoptr(GError) error = NULL;
    if (!store_transaction_begin(c->store, &error)) {
        g_warning("host %s: %s", host, error->message);
        return;
    }
    g_autoptr(GHashTable) ds_by_name = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    for (guint i = 0; i < snap->datastores->len; i++) {
        const HostSnapshotDatastore *d = g_ptr_array_index(snap->datastores, i);
        char *id = import_datastore(c, host, host_obj->datacenter, d);
        if (id)
            g_hash_table_insert(ds_by_name, d->name, id);
    }
    for (guint i = 0; i < snap->networks->len; i++)
        g_free(import_network(c, host, host_obj->datacenter, g_ptr_array_index(snap->networks, i)));
    import_vms(c, host, host_obj, snap, ds_by_name);
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    set_string(b, "host_name", snap->name);
    set_string(b, "version", snap->version);
    set_string(b, "accelerator", snap->accelerator);
    set_string(b, "vmotion_address", snap->vmotion_address);
    set_int(b, "cpu_count", snap->cpu_count);
    set_int(b, "memory_size_MiB", snap->memory_mib);
    json_builder_end_object(b);
    g_autofree char *attrs = attrs_of(b);
    store_object_set_attrs(c->store, host, attrs, TRUE, NULL);
    if (!store_transaction_commit(c->store, &error)) {
        store_transaction_rollback(c->store);
        g_warning("host %s: inventory not updated: %s", host, error->message);
    }
}

static void
on_snapshot(HostLink *link, HostSnapshot *snap, const GError *error, gpointer data)
{
    Center *c = data;
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, c->links);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        if (value == link && snap) {
            center_hosts_apply_snapshot(c, key, snap);
            /* A host that was away or restarted gets its cluster's EVC
             * mode again (center-evc.c). */
            center_evc_sync_host(c, key, FALSE, NULL, NULL);
        }
    }
    if (snap)
        host_snapshot_free(snap);
}

static void
on_state(HostLink *link, HostLinkState old_state, HostLinkState new_state, gpointer data)
{
    Center *c = data;
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, c->links);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        if (value != link)
            continue;
        center_event(c, NULL, key, "HostConnectionStateEvent",
                     new_state == HOST_LINK_STATE_NOT_RESPONDING, NULL, "connection state %s → %s",
                     host_link_state_to_string(old_state), host_link_state_to_string(new_state));
    }
}

HostLink *
center_host_link(Center *c, const char *host, GError **error)
{
    HostLink *link = g_hash_table_lookup(c->links, host);
    if (!link)
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "no managed host %s", host);
    return link;
}

/* A link for a host object, from the credentials the centre holds. */
HostLink *
center_host_link_open(Center *c, const StoreObject *host_obj)
{
    g_autofree char *address = store_object_attr_string(host_obj, "address");
    g_autofree char *user = store_object_attr_string(host_obj, "user_name");
    g_autofree char *password = store_object_attr_string(host_obj, "password");
    g_autofree char *thumbprint = store_object_attr_string(host_obj, "thumbprint");
    gint64 port = store_object_attr_int(host_obj, "port", 8443);
    HostLink *link = host_link_new(address, (guint)port, user, password, thumbprint);
    host_link_set_heartbeat(link, c->config->heartbeat_ms, c->config->heartbeat_misses,
                            MAX(1, c->config->heartbeat_ms / 1000));
    host_link_set_state_func(link, on_state, c);
    host_link_set_snapshot_func(link, on_snapshot, c);
    g_hash_table_replace(c->links, g_strdup(host_obj->id), link);
    if (store_object_attr_bool(host_obj, "disconnected", FALSE))
        host_link_disconnect(link);
    return link;
}

void
center_hosts_start(Center *c)
{
    StoreObjectFilter f = { .kind = STORE_KIND_HOST };
    g_autoptr(GPtrArray) hosts = store_object_list(c->store, &f, NULL);
    for (guint i = 0; hosts && i < hosts->len; i++) {
        StoreObject *h = g_ptr_array_index(hosts, i);
        HostLink *link = center_host_link_open(c, h);
        /* What changed while the centre was down (a create it did not see
         * finish, VMs powered off by their guests) is read back now. */
        if (!store_object_attr_bool(h, "disconnected", FALSE))
            host_link_fetch_snapshot(link, on_snapshot, c);
    }
}

void
center_hosts_reconcile_all(Center *c)
{
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, c->links);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        if (host_link_get_state(value) == HOST_LINK_STATE_CONNECTED)
            host_link_fetch_snapshot(value, on_snapshot, c);
    }
}
