/* api-vm-center.c — /api/vcenter/vm on the centre: lists from the
 * inventory, create with placement, and every per-VM operation checked
 * (permissions, one operation per VM, host connected) and forwarded to the
 * host that runs the VM, as a task. */
#include "center.h"
#include "json-util.h"
#include "vireo-error.h"

#include <string.h>

static gboolean
matches(GStrv wanted, const char *value)
{
    return !wanted || (value && g_strv_contains((const char *const *)wanted, value));
}

static const char *
attr(JsonObject *attrs, const char *key)
{
    return attrs ? json_object_get_string_member_with_default(attrs, key, NULL) : NULL;
}

static void
vm_list(ApiRequest *request, gpointer data)
{
    Center *c = data;
    static const char *const filters[][2] = {
        { "hosts", STORE_ATTR_VM_HOST }, { "resource_pools", STORE_ATTR_VM_RESOURCE_POOL },
        { "power_states", "power_state" }, { "datastores", STORE_ATTR_VM_DATASTORE },
    };
    GStrv wanted[G_N_ELEMENTS(filters)];
    for (guint k = 0; k < G_N_ELEMENTS(filters); k++)
        wanted[k] = api_request_query_all(request, filters[k][0]);
    g_auto(GStrv) names = api_request_query_all(request, "names");
    g_auto(GStrv) ids = api_request_query_all(request, "vms");
    g_auto(GStrv) dcs = api_request_query_all(request, "datacenters");
    g_auto(GStrv) folders = api_request_query_all(request, "folders");
    g_auto(GStrv) clusters = api_request_query_all(request, "clusters");
    StoreObjectFilter f = { .kind = STORE_KIND_VM };
    /* One name asked for: let the store's index find it. */
    if (names && names[0] && !names[1])
        f.name = names[0];
    g_autoptr(GPtrArray) vms = store_object_list(c->store, &f, NULL);
    g_autoptr(GHashTable) chains = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                                         (GDestroyNotify)g_ptr_array_unref);
    JsonArray *arr = json_array_new();
    for (guint i = 0; vms && i < vms->len; i++) {
        StoreObject *o = g_ptr_array_index(vms, i);
        if (!matches(names, o->name) || !matches(ids, o->id) || !matches(dcs, o->datacenter) ||
            !matches(folders, o->parent))
            continue;
        g_autoptr(JsonNode) attrs_node = json_from_string(o->attrs_json, NULL);
        JsonObject *attrs = attrs_node && JSON_NODE_HOLDS_OBJECT(attrs_node) ? json_node_get_object(attrs_node) : NULL;
        gboolean ok = TRUE;
        for (guint k = 0; ok && k < G_N_ELEMENTS(filters); k++)
            ok = !wanted[k] || matches(wanted[k], attr(attrs, filters[k][1]));
        if (ok && clusters) {
            g_autoptr(StoreObject) h = attr(attrs, STORE_ATTR_VM_HOST)
                                           ? store_object_get(c->store, attr(attrs, STORE_ATTR_VM_HOST), NULL) : NULL;
            ok = h && matches(clusters, h->parent);
        }
        if (!ok || !center_can_see_listed(c, api_request_user(request), o, chains))
            continue;
        const char *ps = attr(attrs, "power_state");
        JsonObject *e = json_object_new();
        json_object_set_string_member(e, "vm", o->id);
        json_object_set_string_member(e, "name", o->name);
        json_object_set_string_member(e, "power_state", ps ? ps : "POWERED_OFF");
        json_object_set_int_member(e, "cpu_count", attrs ? json_object_get_int_member_with_default(attrs, "cpu_count", 1) : 1);
        json_object_set_int_member(e, "memory_size_MiB", attrs ? json_object_get_int_member_with_default(attrs, "memory_size_MiB", 0) : 0);
        json_array_add_object_element(arr, e);
    }
    for (guint k = 0; k < G_N_ELEMENTS(filters); k++)
        g_strfreev(wanted[k]);
    JsonNode *node = json_node_new(JSON_NODE_ARRAY);
    json_node_take_array(node, arr);
    api_request_reply_json(request, 200, node);
}

/* ---- forwarding --------------------------------------------------------- */

typedef struct {
    Center *c;
    ApiRequest *request;       /* for GETs answered directly */
    CenterTask *task;          /* for changes */
    char *vm;
    char *host;
    char *host_vm;
    char *operation;
    char *user;
    gboolean deletes;          /* success removes the VM from the inventory */
} Forward;

static void
forward_free(Forward *f)
{
    if (f->task)
        center_vm_unlock(f->c, f->vm);
    if (f->request)
        api_request_unref(f->request);
    g_free(f->vm);
    g_free(f->host);
    g_free(f->host_vm);
    g_free(f->operation);
    g_free(f->user);
    g_free(f);
}

/* The privilege a per-VM request needs, from its method, path and action. */
static const char *
vm_privilege(const char *method, const char *rest, const char *action)
{
    static const struct { const char *method, *rest, *action, *privilege; } table[] = {
        { "POST", "/power", "start", "VirtualMachine.Interact.PowerOn" },
        { "POST", "/power", "stop", "VirtualMachine.Interact.PowerOff" },
        { "POST", "/power", "suspend", "VirtualMachine.Interact.Suspend" },
        { "POST", "/power", "reset", "VirtualMachine.Interact.Reset" },
        { "POST", "/guest/power", "shutdown", "VirtualMachine.Interact.PowerOff" },
        { "POST", "/guest/power", "reboot", "VirtualMachine.Interact.Reset" },
        { "POST", "/guest/filesystem", NULL, "VirtualMachine.GuestOperations.Modify" },
        { "POST", "/hardware/disk", NULL, "VirtualMachine.Config.AddNewDisk" },
        { "PATCH", "/hardware/disk/", NULL, "VirtualMachine.Config.DiskExtend" },
        { "DELETE", "/hardware/disk/", NULL, "VirtualMachine.Config.RemoveDisk" },
        { "POST", "/hardware/", NULL, "VirtualMachine.Config.AddRemoveDevice" },
        { "DELETE", "/hardware/", NULL, "VirtualMachine.Config.AddRemoveDevice" },
        { "PATCH", "/hardware/", NULL, "VirtualMachine.Config.EditDevice" },
        { "DELETE", "", NULL, "VirtualMachine.Inventory.Delete" },
        { "POST", "", "unregister", "VirtualMachine.Inventory.Unregister" },
    };
    if (g_str_equal(method, "GET"))
        return "System.Read";
    for (guint i = 0; i < G_N_ELEMENTS(table); i++) {
        gboolean prefix = g_str_has_suffix(table[i].rest, "/");
        if (g_str_equal(method, table[i].method) &&
            (prefix ? g_str_has_prefix(rest, table[i].rest) : g_str_equal(rest, table[i].rest)) &&
            (!table[i].action || g_strcmp0(action, table[i].action) == 0))
            return table[i].privilege;
    }
    return "VirtualMachine.Config.Settings";
}

static void
refresh_vm(Center *c, const char *vm, JsonNode *power)
{
    if (!power || !JSON_NODE_HOLDS_OBJECT(power))
        return;
    const char *state = json_object_get_string_member_with_default(json_node_get_object(power), "state", NULL);
    if (!state)
        return;
    g_autofree char *attrs = g_strdup_printf("{\"power_state\": \"%s\"}", state);
    store_object_set_attrs(c->store, vm, attrs, TRUE, NULL);
}

static void
on_power_refreshed(HostLink *link, guint status, JsonNode *answer, const GError *error, gpointer data)
{
    Forward *f = data;
    if (!error)
        refresh_vm(f->c, f->vm, answer);
    forward_free(f);
}

static void
on_forwarded(HostLink *link, guint status, JsonNode *answer, const GError *error, gpointer data)
{
    Forward *f = data;
    if (!f->task) {
        if (error)
            api_request_reply_error(f->request, error);
        else if (answer)
            api_request_reply_json(f->request, status, json_node_copy(answer));
        else
            api_request_reply_empty(f->request, status ? status : 204);
        forward_free(f);
        return;
    }
    center_event(f->c, f->user, f->vm, error ? "TaskFailedEvent" : "TaskSucceededEvent", error != NULL,
                 center_task_id(f->task), "%s: %s", f->operation, error ? error->message : "done");
    if (error)
        center_task_fail(f->task, error);
    else
        center_task_succeed(f->task, status ? status : 204, answer ? json_node_copy(answer) : NULL);
    f->task = NULL;
    center_vm_unlock(f->c, f->vm);
    if (!error && f->deletes) {
        store_object_delete(f->c->store, f->vm, TRUE, NULL);
        forward_free(f);
        return;
    }
    /* Keep the inventory's power state true to the host. */
    g_autofree char *path = g_strdup_printf("/api/vcenter/vm/%s/power", f->host_vm);
    host_link_request(link, "GET", path, NULL, on_power_refreshed, f);
}

static void
vm_forward(ApiRequest *request, gpointer data)
{
    Center *c = data;
    g_autoptr(StoreObject) vm = center_lookup(c, request, "vm", STORE_KIND_VM);
    if (!vm)
        return;
    const char *method = api_request_method(request);
    const char *path = api_request_path(request);
    const char *rest = path + strlen("/api/vcenter/vm/") + strlen(vm->id);
    const char *action = api_request_query(request, "action");
    if (!center_authorize(c, request, vm->id, vm_privilege(method, rest, action)))
        return;
    g_autofree char *host = store_object_attr_string(vm, STORE_ATTR_VM_HOST);
    g_autofree char *host_vm = store_object_attr_string(vm, STORE_ATTR_VM_HOST_REF);
    g_autoptr(GError) error = NULL;
    HostLink *link = host ? center_host_link(c, host, &error) : NULL;
    if (!link || host_link_get_state(link) != HOST_LINK_STATE_CONNECTED) {
        g_autoptr(StoreObject) h = host ? store_object_get(c->store, host, NULL) : NULL;
        center_reply_error(request, VIREO_ERROR_SERVICE_UNAVAILABLE,
                           "host %s of virtual machine %s is %s; try again when it is connected",
                           h ? h->name : "?", vm->name,
                           link ? host_link_state_to_string(host_link_get_state(link)) : "not managed");
        return;
    }
    gboolean change = !g_str_equal(method, "GET");
    if (change && g_str_equal(rest, "/power") && g_strcmp0(action, "start") == 0) {
        g_autoptr(StoreObject) h = store_object_get(c->store, host, NULL);
        if (h && store_object_attr_bool(h, "in_maintenance_mode", FALSE)) {
            center_reply_error(request, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                               "host %s is in maintenance mode: no virtual machine may power on there",
                               h->name);
            return;
        }
    }
    if (change && !center_vm_lock(c, request, vm->id, NULL))
        return;
    Forward *f = g_new0(Forward, 1);
    f->c = c;
    f->vm = g_strdup(vm->id);
    f->host = g_strdup(host);
    f->host_vm = g_strdup(host_vm);
    f->user = g_strdup(api_request_user(request));
    f->operation = g_strdup_printf("%s %s%s%s%s", method, vm->name, rest, action ? " " : "", action ? action : "");
    f->deletes = change && (g_str_equal(rest, "") || g_strcmp0(action, "unregister") == 0);
    if (change) {
        f->task = center_task_begin(c, request, f->operation, "VirtualMachine", vm->id);
        if (!f->task) {
            center_vm_unlock(c, vm->id);
            forward_free(f);
            return;
        }
        center_vm_lock_set_task(c, vm->id, f->task);
    } else {
        f->request = api_request_ref(request);
    }
    GString *target = g_string_new("/api/vcenter/vm/");
    g_string_append(target, host_vm);
    g_string_append(target, rest);
    const char *params[] = { "action", "delete_file", NULL };
    for (int i = 0; params[i]; i++) {
        const char *v = api_request_query(request, params[i]);
        if (v) {
            g_autofree char *esc = g_uri_escape_string(v, NULL, TRUE);
            g_string_append_printf(target, "%c%s=%s", strchr(target->str, '?') ? '&' : '?', params[i], esc);
        }
    }
    JsonNode *body = api_request_body(request);
    host_link_request(link, method, target->str, body ? json_node_copy(body) : NULL, on_forwarded, f);
    g_string_free(target, TRUE);
}

void
center_api_vm_register(ApiServer *s, Center *c)
{
    static const char *const paths[] = {
        "/api/vcenter/vm/{vm}", "/api/vcenter/vm/{vm}/power", "/api/vcenter/vm/{vm}/guest/power",
        "/api/vcenter/vm/{vm}/guest/identity", "/api/vcenter/vm/{vm}/guest/filesystem",
        "/api/vcenter/vm/{vm}/tools", "/api/vcenter/vm/{vm}/hardware/disk",
        "/api/vcenter/vm/{vm}/hardware/disk/{disk}", "/api/vcenter/vm/{vm}/hardware/ethernet",
        "/api/vcenter/vm/{vm}/hardware/ethernet/{nic}", "/api/vcenter/vm/{vm}/hardware/cdrom",
        "/api/vcenter/vm/{vm}/hardware/cdrom/{cdrom}",
    };
    static const char *const methods[] = { "GET", "POST", "PATCH", "DELETE" };
    api_server_add_route(s, "GET", "/api/vcenter/vm", NULL, vm_list, c);
    center_api_vm_create_register(s, c);
    center_api_migrate_register(s, c);
    for (guint i = 0; i < G_N_ELEMENTS(paths); i++)
        for (guint m = 0; m < G_N_ELEMENTS(methods); m++)
            api_server_add_route(s, methods[m], paths[i], NULL, vm_forward, c);
}
