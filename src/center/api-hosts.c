/* api-hosts.c — /api/vcenter/host on the centre: add (with vCenter's
 * thumbprint check), list, get, remove, maintenance mode, connect and
 * disconnect. */
#include "center.h"
#include "center-evc.h"
#include "json-util.h"
#include "tls-cert.h"
#include "vireo-error.h"

#include <gio/gio.h>
#include <string.h>

typedef struct {
    Center *c;
    CenterTask *task;
    char *address;
    guint port;
    char *user;
    char *password;
    char *thumbprint;       /* what the request accepts, normalised */
    char *parent;
    char *host;             /* the new host object */
    HostSnapshot *snapshot; /* read, applied once the host is admitted */
} AddHost;

static void
add_host_free(AddHost *a)
{
    g_free(a->address);
    g_free(a->user);
    g_free(a->password);
    g_free(a->thumbprint);
    g_free(a->parent);
    g_free(a->host);
    if (a->snapshot)
        host_snapshot_free(a->snapshot);
    g_free(a);
}

static char *
normalize_thumbprint(const char *tp)
{
    if (!tp)
        return NULL;
    GString *s = g_string_new(NULL);
    for (const char *p = tp; *p; p++) {
        if (g_ascii_isxdigit(*p)) {
            if (s->len && (s->len + 1) % 3 == 0)
                g_string_append_c(s, ':');
            g_string_append_c(s, g_ascii_toupper(*p));
        }
    }
    return g_string_free(s, FALSE);
}

static const char *
host_state(Center *c, const char *host)
{
    HostLink *link = g_hash_table_lookup(c->links, host);
    return link ? host_link_state_to_string(host_link_get_state(link)) : "DISCONNECTED";
}

static void
add_host_fail(AddHost *a, GError *error)
{
    if (a->host) {
        g_hash_table_remove(a->c->links, a->host);
        store_object_delete(a->c->store, a->host, TRUE, NULL);
    }
    center_task_fail(a->task, error);
    g_error_free(error);
    add_host_free(a);
}

/* The host covers its cluster's EVC mode (center-evc.c): it joins. */
static void
on_evc_admitted(Center *c, const char *host, const GError *error, gpointer data)
{
    AddHost *a = data;
    HostSnapshot *snap = g_steal_pointer(&a->snapshot);
    if (error) {
        host_snapshot_free(snap);
        add_host_fail(a, g_error_copy(error));
        return;
    }
    center_hosts_apply_snapshot(a->c, a->host, snap);
    center_event(a->c, NULL, a->host, "HostAddedEvent", FALSE, center_task_id(a->task),
                 "host %s (%s) added with %u VMs", snap->name, a->address, snap->vms->len);
    host_snapshot_free(snap);
    center_task_succeed(a->task, 201, json_util_string_node(a->host));
    add_host_free(a);
}

static void
on_first_snapshot(HostLink *link, HostSnapshot *snap, const GError *error, gpointer data)
{
    AddHost *a = data;
    if (!snap) {
        add_host_fail(a, g_error_new(VIREO_ERROR, vireo_error_code_of(error),
                                     "cannot read host %s: %s", a->address, error->message));
        return;
    }
    if (snap->name && *snap->name)
        store_object_rename(a->c->store, a->host, snap->name, NULL);
    a->snapshot = snap;
    center_task_progress(a->task, 75, "checking the host against the cluster's EVC mode");
    center_evc_sync_host(a->c, a->host, TRUE, on_evc_admitted, a);
}

static void
connect_host(AddHost *a)
{
    Center *c = a->c;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "address");
    json_builder_add_string_value(b, a->address);
    json_builder_set_member_name(b, "port");
    json_builder_add_int_value(b, a->port);
    json_builder_set_member_name(b, "user_name");
    json_builder_add_string_value(b, a->user);
    json_builder_set_member_name(b, "password");
    json_builder_add_string_value(b, a->password);
    json_builder_set_member_name(b, "thumbprint");
    json_builder_add_string_value(b, a->thumbprint);
    json_builder_end_object(b);
    g_autoptr(JsonNode) node = json_builder_get_root(b);
    g_autofree char *attrs = json_util_to_string(node, FALSE);
    if (!store_object_create(c->store, STORE_KIND_HOST, a->address, a->parent, attrs, &a->host, &error)) {
        add_host_fail(a, g_steal_pointer(&error));
        return;
    }
    g_autoptr(StoreObject) obj = store_object_get(c->store, a->host, NULL);
    HostLink *link = center_host_link_open(c, obj);
    center_task_progress(a->task, 50, "reading the host's inventory");
    host_link_fetch_snapshot(link, on_first_snapshot, a);
}

static void
probe_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
    AddHost *a = data;
    char *tp = NULL;
    GError *error = NULL;
    if (host_link_probe_sync(a->address, a->port, &tp, &error))
        g_task_return_pointer(task, tp, g_free);
    else
        g_task_return_error(task, error);
}

static void
on_probed(GObject *source, GAsyncResult *res, gpointer data)
{
    AddHost *a = data;
    GError *error = NULL;
    g_autofree char *tp = g_task_propagate_pointer(G_TASK(res), &error);
    g_autofree char *seen = normalize_thumbprint(tp);
    if (!tp) {
        add_host_fail(a, g_error_new(VIREO_ERROR, VIREO_ERROR_SERVICE_UNAVAILABLE,
                                     "cannot reach host %s:%u: %s", a->address, a->port,
                                     error->message));
        g_error_free(error);
        return;
    }
    if (!a->thumbprint || g_strcmp0(a->thumbprint, seen) != 0) {
        add_host_fail(a, g_error_new(VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                                     "The host's certificate thumbprint is %s; %s. Check it, then "
                                     "add the host again with \"thumbprint\": \"%s\"", seen,
                                     a->thumbprint ? "it is not the one given" : "none was given",
                                     seen));
        return;
    }
    connect_host(a);
}

static gboolean
host_already_managed(Center *c, const char *address, guint port)
{
    StoreObjectFilter f = { .kind = STORE_KIND_HOST, .attr_name = "address", .attr_value = address };
    g_autoptr(GPtrArray) hosts = store_object_list(c->store, &f, NULL);
    for (guint i = 0; hosts && i < hosts->len; i++)
        if (store_object_attr_int(g_ptr_array_index(hosts, i), "port", 8443) == port)
            return TRUE;
    return FALSE;
}

/* The folder or cluster a new host goes into, and the privilege that needs. */
static char *
add_host_parent(Center *c, ApiRequest *request, const char *folder, const char *cluster)
{
    const char *parent = cluster ? cluster : folder;
    g_autofree char *fallback = NULL;
    if (!parent) {
        StoreObjectFilter f = { .kind = STORE_KIND_DATACENTER };
        g_autoptr(GPtrArray) dcs = store_object_list(c->store, &f, NULL);
        if (!dcs || dcs->len != 1) {
            center_reply_error(request, VIREO_ERROR_INVALID_ARGUMENT,
                               "say where the host goes: \"folder\" (a host folder) or \"cluster\"");
            return NULL;
        }
        parent = fallback = store_datacenter_folder(c->store, ((StoreObject *)g_ptr_array_index(dcs, 0))->id,
                                                    STORE_FOLDER_HOST, NULL);
    }
    g_autoptr(StoreObject) p = store_object_get(c->store, parent, NULL);
    g_autofree char *type = p ? store_object_attr_string(p, STORE_ATTR_FOLDER_TYPE) : NULL;
    gboolean ok = p && (g_str_equal(p->kind, STORE_KIND_CLUSTER) ||
                        (g_str_equal(p->kind, STORE_KIND_FOLDER) &&
                         g_strcmp0(type, STORE_FOLDER_HOST) == 0));
    if (!ok) {
        center_reply_error(request, VIREO_ERROR_INVALID_ARGUMENT,
                           "'%s' is not a host folder or a cluster", parent);
        return NULL;
    }
    const char *priv = g_str_equal(p->kind, STORE_KIND_CLUSTER) ? "Host.Inventory.AddHostToCluster"
                                                                : "Host.Inventory.AddStandaloneHost";
    if (!center_authorize(c, request, p->id, priv))
        return NULL;
    return g_strdup(p->id);
}

static void
host_add(ApiRequest *request, gpointer data)
{
    Center *c = data;
    g_autoptr(GError) error = NULL;
    JsonObject *o = json_util_expect_object(api_request_body(request), "spec", &error);
    const char *hostname = NULL, *user = NULL, *password = NULL, *folder = NULL, *cluster = NULL,
               *tp = NULL;
    gint64 port = 8443;
    if (!o || !json_util_get_string(o, "hostname", "spec", &hostname, &error) ||
        !json_util_get_int(o, "port", "spec", &port, &error) ||
        !json_util_get_string(o, "user_name", "spec", &user, &error) ||
        !json_util_get_string(o, "password", "spec", &password, &error) ||
        !json_util_get_string(o, "folder", "spec", &folder, &error) ||
        !json_util_get_string(o, "cluster", "spec", &cluster, &error) ||
        !json_util_get_string(o, "thumbprint", "spec", &tp, &error)) {
        api_request_reply_error(request, error);
        return;
    }
    if (!hostname || !user || !password || port <= 0 || port > 65535) {
        center_reply_error(request, VIREO_ERROR_INVALID_ARGUMENT,
                           "give hostname, user_name and password of the host (and port 1-65535)");
        return;
    }
    if (host_already_managed(c, hostname, (guint)port)) {
        center_reply_error(request, VIREO_ERROR_ALREADY_EXISTS, "host %s:%u is already managed",
                           hostname, (guint)port);
        return;
    }
    char *parent = add_host_parent(c, request, folder, cluster);
    if (!parent)
        return;
    AddHost *a = g_new0(AddHost, 1);
    a->c = c;
    a->address = g_strdup(hostname);
    a->port = (guint)port;
    a->user = g_strdup(user);
    a->password = g_strdup(password);
    a->thumbprint = normalize_thumbprint(tp);
    a->parent = parent;
    a->task = center_task_begin(c, request, "host.add", "HostSystem", NULL);
    if (!a->task) {
        add_host_free(a);
        return;
    }
    GTask *t = g_task_new(NULL, NULL, on_probed, a);
    g_task_set_task_data(t, a, NULL);
    g_task_run_in_thread(t, probe_thread);
    g_object_unref(t);
}

static gboolean
matches(GStrv wanted, const char *value)
{
    return !wanted || (value && g_strv_contains((const char *const *)wanted, value));
}

static void
host_list(ApiRequest *request, gpointer data)
{
    Center *c = data;
    g_auto(GStrv) names = api_request_query_all(request, "names");
    g_auto(GStrv) clusters = api_request_query_all(request, "clusters");
    g_auto(GStrv) folders = api_request_query_all(request, "folders");
    g_auto(GStrv) dcs = api_request_query_all(request, "datacenters");
    g_auto(GStrv) states = api_request_query_all(request, "connection_states");
    StoreObjectFilter f = { .kind = STORE_KIND_HOST };
    g_autoptr(GPtrArray) hosts = store_object_list(c->store, &f, NULL);
    JsonArray *arr = json_array_new();
    for (guint i = 0; hosts && i < hosts->len; i++) {
        StoreObject *h = g_ptr_array_index(hosts, i);
        const char *state = host_state(c, h->id);
        if (!matches(names, h->name) || !matches(dcs, h->datacenter) || !matches(states, state) ||
            (clusters && !matches(clusters, h->parent)) || (folders && !matches(folders, h->parent)) ||
            !center_can_see(c, api_request_user(request), h->id))
            continue;
        JsonObject *e = json_object_new();
        json_object_set_string_member(e, "host", h->id);
        json_object_set_string_member(e, "name", h->name);
        json_object_set_string_member(e, "connection_state", state);
        json_object_set_string_member(e, "power_state", "POWERED_ON");
        json_array_add_object_element(arr, e);
    }
    JsonNode *node = json_node_new(JSON_NODE_ARRAY);
    json_node_take_array(node, arr);
    api_request_reply_json(request, 200, node);
}

static void
host_get(ApiRequest *request, gpointer data)
{
    Center *c = data;
    g_autoptr(StoreObject) h = center_lookup(c, request, "host", STORE_KIND_HOST);
    if (!h)
        return;
    JsonObject *o = json_object_new();
    json_object_set_string_member(o, "name", h->name);
    json_object_set_string_member(o, "connection_state", host_state(c, h->id));
    json_object_set_string_member(o, "power_state", "POWERED_ON");
    json_object_set_boolean_member(o, "in_maintenance_mode",
                                   store_object_attr_bool(h, "in_maintenance_mode", FALSE));
    g_autofree char *tp = store_object_attr_string(h, "thumbprint");
    g_autofree char *addr = store_object_attr_string(h, "address");
    json_object_set_string_member(o, "thumbprint", tp ? tp : "");
    json_object_set_string_member(o, "address", addr ? addr : "");
    g_autoptr(StoreObject) parent = store_object_get(c->store, h->parent, NULL);
    if (parent && g_str_equal(parent->kind, STORE_KIND_CLUSTER))
        json_object_set_string_member(o, "cluster", parent->id);
    g_autoptr(GPtrArray) mounts = store_mount_list(c->store, h->id, NULL, NULL);
    JsonArray *ds = json_array_new();
    for (guint i = 0; mounts && i < mounts->len; i++)
        json_array_add_string_element(ds, ((StoreMount *)g_ptr_array_index(mounts, i))->datastore);
    json_object_set_array_member(o, "datastores", ds);
    g_autoptr(GPtrArray) nets = store_host_network_list(c->store, h->id, NULL, NULL);
    json_object_set_member(o, "networks", center_string_array(nets));
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, o);
    api_request_reply_json(request, 200, node);
}

static void
host_delete(ApiRequest *request, gpointer data)
{
    Center *c = data;
    g_autoptr(StoreObject) h = center_lookup(c, request, "host", STORE_KIND_HOST);
    if (!h || !center_authorize(c, request, h->parent, "Host.Inventory.RemoveHostFromCluster"))
        return;
    g_autoptr(GError) error = NULL;
    g_hash_table_remove(c->links, h->id);
    if (!store_object_delete(c->store, h->id, TRUE, &error)) {
        api_request_reply_error(request, error);
        return;
    }
    center_event(c, api_request_user(request), h->id, "HostRemovedEvent", FALSE, NULL,
                 "host %s removed from the inventory", h->name);
    api_request_reply_empty(request, 204);
}

static void
host_set_flag(ApiRequest *request, Center *c, const char *flag, gboolean value,
              const char *privilege, const char *event)
{
    g_autoptr(StoreObject) h = center_lookup(c, request, "host", STORE_KIND_HOST);
    if (!h || !center_authorize(c, request, h->id, privilege))
        return;
    g_autofree char *attrs = g_strdup_printf("{\"%s\": %s}", flag, value ? "true" : "false");
    g_autoptr(GError) error = NULL;
    if (!store_object_set_attrs(c->store, h->id, attrs, TRUE, &error)) {
        api_request_reply_error(request, error);
        return;
    }
    center_event(c, api_request_user(request), h->id, event, FALSE, NULL, "%s", event);
    api_request_reply_empty(request, 204);
}

static void
host_enter_maintenance(ApiRequest *r, gpointer c)
{
    host_set_flag(r, c, "in_maintenance_mode", TRUE, "Host.Config.Maintenance", "EnteredMaintenanceModeEvent");
}

static void
host_exit_maintenance(ApiRequest *r, gpointer c)
{
    host_set_flag(r, c, "in_maintenance_mode", FALSE, "Host.Config.Maintenance", "ExitMaintenanceModeEvent");
}

static void
host_disconnect(ApiRequest *r, gpointer data)
{
    Center *c = data;
    HostLink *link = g_hash_table_lookup(c->links, api_request_param(r, "host") ? api_request_param(r, "host") : "");
    host_set_flag(r, c, "disconnected", TRUE, "Host.Config.Connection", "HostDisconnectedEvent");
    if (link && api_request_answered(r))
        host_link_disconnect(link);
}

static void
host_reconnect(ApiRequest *r, gpointer data)
{
    Center *c = data;
    HostLink *link = g_hash_table_lookup(c->links, api_request_param(r, "host") ? api_request_param(r, "host") : "");
    host_set_flag(r, c, "disconnected", FALSE, "Host.Config.Connection", "HostConnectedEvent");
    if (link)
        host_link_reconnect(link);
}

void
center_api_hosts_register(ApiServer *server, Center *c)
{
    api_server_add_route(server, "GET", "/api/vcenter/host", NULL, host_list, c);
    api_server_add_route(server, "POST", "/api/vcenter/host", NULL, host_add, c);
    api_server_add_route(server, "GET", "/api/vcenter/host/{host}", NULL, host_get, c);
    api_server_add_route(server, "DELETE", "/api/vcenter/host/{host}", NULL, host_delete, c);
    api_server_add_route(server, "POST", "/api/vcenter/host/{host}", "enter-maintenance",
                         host_enter_maintenance, c);
    api_server_add_route(server, "POST", "/api/vcenter/host/{host}", "exit-maintenance",
                         host_exit_maintenance, c);
    api_server_add_route(server, "POST", "/api/vcenter/host/{host}", "disconnect", host_disconnect, c);
    api_server_add_route(server, "POST", "/api/vcenter/host/{host}", "reconnect", host_reconnect, c);
}
