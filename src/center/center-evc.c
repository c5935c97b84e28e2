/* center-evc.c — a cluster's EVC mode on the centre: shown, changed after
 * every host agreed, and pushed to each host of the cluster (see
 * center-evc.h). What a host says of its CPU is kept in its attrs so that a
 * cluster's GET can show its highest mode without asking the hosts.
 *
 * Changing a mode (task cluster.evc.configure):
 *
 *   validate ──▶ CHECK: PUT evc {check_only, check_vms} to every host
 *                  │ all allowed                 │ a problem
 *                  ▼                             ▼
 *              APPLY: store the mode, event,   fail, naming each host
 *              PUT evc to every host           and VM in the way
 */
#include "center-evc.h"
#include "evc.h"
#include "json-util.h"

/* ---- reading the store ---------------------------------------------------- */

char *
center_evc_cluster_mode(const StoreObject *cluster)
{
    return store_object_attr_string(cluster, CENTER_EVC_ATTR_MODE);
}

char *
center_evc_host_mode(Center *c, const StoreObject *host_obj)
{
    g_autoptr(StoreObject) parent = host_obj->parent ? store_object_get(c->store, host_obj->parent, NULL)
                                                     : NULL;
    if (!parent || !g_str_equal(parent->kind, STORE_KIND_CLUSTER))
        return NULL;
    return center_evc_cluster_mode(parent);
}

/* A string member, NULL when absent, null or of another type. */
static const char *
string_member(JsonObject *o, const char *member)
{
    JsonNode *n = o ? json_object_get_member(o, member) : NULL;
    if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
        return NULL;
    return json_node_get_string(n);
}

static GStrv
strings_of(JsonObject *o, const char *member)
{
    JsonNode *n = o ? json_object_get_member(o, member) : NULL;
    GStrvBuilder *b = g_strv_builder_new();
    JsonArray *a = n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
    for (guint i = 0; a && i < json_array_get_length(a); i++) {
        JsonNode *e = json_array_get_element(a, i);
        if (JSON_NODE_HOLDS_VALUE(e) && json_node_get_value_type(e) == G_TYPE_STRING)
            g_strv_builder_add(b, json_node_get_string(e));
    }
    GStrv v = g_strv_builder_end(b);
    g_strv_builder_unref(b);
    return v;
}

/* What a host last said of its CPU (its attrs' evc_cpu); FALSE when never. */
static gboolean
host_cpu_of(const StoreObject *h, char **vendor, GStrv *features)
{
    g_autoptr(JsonNode) attrs = json_util_parse(h->attrs_json, -1, 0, NULL);
    JsonObject *o = attrs && JSON_NODE_HOLDS_OBJECT(attrs) ? json_node_get_object(attrs) : NULL;
    JsonNode *cpu = o ? json_object_get_member(o, CENTER_EVC_ATTR_HOST_CPU) : NULL;
    if (!cpu || !JSON_NODE_HOLDS_OBJECT(cpu))
        return FALSE;
    JsonObject *co = json_node_get_object(cpu);
    *vendor = g_strdup(string_member(co, "vendor"));
    *features = strings_of(co, "features");
    return TRUE;
}

static gboolean
host_connected(Center *c, const char *host)
{
    HostLink *link = g_hash_table_lookup(c->links, host);
    return link && host_link_get_state(link) == HOST_LINK_STATE_CONNECTED;
}

void
center_evc_cluster_json(Center *c, const StoreObject *cluster, JsonObject *out)
{
    g_autofree char *mode = center_evc_cluster_mode(cluster);
    g_autoptr(GPtrArray) hosts = store_object_children(c->store, cluster->id, STORE_KIND_HOST, NULL);
    g_autoptr(GArray) cpus = g_array_new(FALSE, TRUE, sizeof(EvcHostCpu));
    g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) owned_v = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);

    for (guint i = 0; hosts && i < hosts->len; i++) {
        StoreObject *h = g_ptr_array_index(hosts, i);
        char *vendor = NULL;
        GStrv features = NULL;
        if (!host_connected(c, h->id) || !host_cpu_of(h, &vendor, &features))
            continue;
        g_ptr_array_add(owned, vendor);
        g_ptr_array_add(owned_v, features);
        EvcHostCpu cpu = { h->name, vendor, (const char *const *)features };
        g_array_append_val(cpus, cpu);
    }
    const EvcMode *max = cpus->len ? evc_cluster_max_mode(EVC_VENDOR_ANY, (EvcHostCpu *)cpus->data,
                                                           cpus->len)
                                   : NULL;
    if (mode)
        json_object_set_string_member(out, "evc_mode", mode);
    else
        json_object_set_null_member(out, "evc_mode");
    if (max)
        json_object_set_string_member(out, "max_evc_mode", max->id);
    else
        json_object_set_null_member(out, "max_evc_mode");
}

/* ---- pushing the mode to one host ---------------------------------------- */

typedef struct {
    Center *c;
    char *host;
    char *host_name;
    char *cluster_name;
    char *mode;
    gboolean admit;
    CenterEvcDone done;
    gpointer data;
} Sync;

static void
sync_free(Sync *s)
{
    g_free(s->host);
    g_free(s->host_name);
    g_free(s->cluster_name);
    g_free(s->mode);
    g_free(s);
}

/* Keeps {mode, max_mode, vendor, features, evc_modes} of a host's answer. */
static void
keep_host_cpu(Center *c, const char *host, JsonNode *answer)
{
    static const char *const keys[] = { "mode", "max_mode", "vendor", "features", "evc_modes" };
    JsonObject *a = answer && JSON_NODE_HOLDS_OBJECT(answer) ? json_node_get_object(answer) : NULL;
    if (!a)
        return;
    JsonObject *cpu = json_object_new();
    for (guint i = 0; i < G_N_ELEMENTS(keys); i++) {
        JsonNode *n = json_object_get_member(a, keys[i]);
        if (n)
            json_object_set_member(cpu, keys[i], json_node_copy(n));
    }
    JsonObject *patch = json_object_new();
    /* A merge patch merges objects member by member: drop the old one first
     * so that a vendor the host no longer reports goes too. */
    json_object_set_object_member(patch, CENTER_EVC_ATTR_HOST_CPU, cpu);
    g_autoptr(JsonNode) clear = json_node_new(JSON_NODE_OBJECT);
    JsonObject *nulls = json_object_new();
    json_object_set_null_member(nulls, CENTER_EVC_ATTR_HOST_CPU);
    json_node_take_object(clear, nulls);
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, patch);
    g_autofree char *clear_text = json_util_to_string(clear, FALSE);
    g_autofree char *text = json_util_to_string(node, FALSE);
    store_object_set_attrs(c->store, host, clear_text, TRUE, NULL);
    store_object_set_attrs(c->store, host, text, TRUE, NULL);
}

static void
on_synced(HostLink *link, guint status, JsonNode *answer, const GError *error, gpointer data)
{
    Sync *s = data;
    g_autoptr(GError) failure = NULL;

    if (!error) {
        keep_host_cpu(s->c, s->host, answer);
    } else if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
        failure = g_error_copy(error);
    } else if (s->admit && s->mode) {
        failure = g_error_new(VIREO_ERROR, vireo_error_code_of(error),
                              "Host %s cannot join cluster %s, whose EVC mode is %s: %s",
                              s->host_name, s->cluster_name, s->mode, error->message);
    } else if (s->mode) {
        failure = g_error_copy(error);
        center_event(s->c, NULL, s->host, "EvcHostIncompatibleEvent", TRUE, NULL,
                     "host %s did not take EVC mode %s of cluster %s: %s", s->host_name, s->mode,
                     s->cluster_name, error->message);
    } else {
        /* Outside EVC nothing depends on the host's answer. */
        g_message("host %s: EVC off not confirmed: %s", s->host_name, error->message);
    }
    if (s->done)
        s->done(s->c, s->host, failure, s->data);
    sync_free(s);
}

static JsonNode *
put_body(const char *mode, gboolean check_only, gboolean check_vms)
{
    JsonObject *o = json_object_new();
    if (mode)
        json_object_set_string_member(o, "mode", mode);
    else
        json_object_set_null_member(o, "mode");
    json_object_set_boolean_member(o, "check_only", check_only);
    json_object_set_boolean_member(o, "check_vms", check_vms);
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, o);
    return node;
}

void
center_evc_sync_host(Center *c, const char *host, gboolean admit, CenterEvcDone done,
                     gpointer user_data)
{
    g_autoptr(StoreObject) h = store_object_get(c->store, host, NULL);
    g_autoptr(StoreObject) parent = h && h->parent ? store_object_get(c->store, h->parent, NULL) : NULL;
    HostLink *link = h ? center_host_link(c, host, NULL) : NULL;
    Sync *s = g_new0(Sync, 1);

    s->c = c;
    s->host = g_strdup(host);
    s->host_name = g_strdup(h ? h->name : host);
    s->admit = admit;
    s->done = done;
    s->data = user_data;
    if (parent && g_str_equal(parent->kind, STORE_KIND_CLUSTER)) {
        s->cluster_name = g_strdup(parent->name);
        s->mode = center_evc_cluster_mode(parent);
    }
    if (!link) {
        g_autoptr(GError) error = g_error_new(VIREO_ERROR, VIREO_ERROR_NOT_FOUND,
                                              "no managed host %s", host);
        on_synced(NULL, 0, NULL, error, s);
        return;
    }
    host_link_request(link, "PUT", "/api/vireo/host/evc", put_body(s->mode, FALSE, admit),
                      on_synced, s);
}

/* ---- changing a cluster's mode -------------------------------------------- */

typedef struct {
    Center *c;
    CenterTask *task;
    char *user;
    char *cluster;
    char *cluster_name;
    const EvcMode *current;
    const EvcMode *wanted;
    GPtrArray *hosts;      /* char *: host ids */
    GPtrArray *problems;   /* char * */
    gboolean vm_in_way;
    guint pending;
} Configure;

static void
configure_free(Configure *cf)
{
    g_free(cf->user);
    g_free(cf->cluster);
    g_free(cf->cluster_name);
    g_ptr_array_unref(cf->hosts);
    g_ptr_array_unref(cf->problems);
    g_free(cf);
}

static void
on_applied(Center *c, const char *host, const GError *error, gpointer data)
{
    Configure *cf = data;
    if (--cf->pending > 0)
        return;
    center_task_succeed(cf->task, 204, NULL);
    configure_free(cf);
}

static void
apply(Configure *cf)
{
    JsonObject *patch = json_object_new();
    if (cf->wanted)
        json_object_set_string_member(patch, CENTER_EVC_ATTR_MODE, cf->wanted->id);
    else
        json_object_set_null_member(patch, CENTER_EVC_ATTR_MODE);
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, patch);
    g_autofree char *text = json_util_to_string(node, FALSE);
    g_autoptr(GError) error = NULL;
    if (!store_object_set_attrs(cf->c->store, cf->cluster, text, TRUE, &error)) {
        center_task_fail(cf->task, error);
        configure_free(cf);
        return;
    }
    center_event(cf->c, cf->user, cf->cluster, "ClusterReconfiguredEvent", FALSE,
                 center_task_id(cf->task), "EVC mode of cluster %s changed from %s to %s",
                 cf->cluster_name, cf->current ? cf->current->id : "disabled",
                 cf->wanted ? cf->wanted->id : "disabled");
    cf->pending = cf->hosts->len + 1;   /* + 1: held until every push is queued */
    for (guint i = 0; i < cf->hosts->len; i++)
        center_evc_sync_host(cf->c, g_ptr_array_index(cf->hosts, i), FALSE, on_applied, cf);
    on_applied(cf->c, NULL, NULL, cf);
}

static void
checks_done(Configure *cf)
{
    if (cf->problems->len == 0) {
        apply(cf);
        return;
    }
    g_ptr_array_add(cf->problems, NULL);
    g_autofree char *list = g_strjoinv("; ", (char **)cf->problems->pdata);
    g_autofree char *phrase = evc_change_phrase(cf->current, cf->wanted);
    g_autoptr(GError) error = g_error_new(
        VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE, "%s in cluster %s: %s%s", phrase,
        cf->cluster_name, list,
        cf->vm_in_way ? " (power those VMs off or move them out of the cluster first)" : "");
    center_task_fail(cf->task, error);
    configure_free(cf);
}

static void
on_checked(HostLink *link, guint status, JsonNode *answer, const GError *error, gpointer data)
{
    Configure *cf = data;
    JsonObject *a = answer && JSON_NODE_HOLDS_OBJECT(answer) ? json_node_get_object(answer) : NULL;

    if (error || !a) {
        g_ptr_array_add(cf->problems, g_strdup_printf("a host did not answer: %s",
                                                      error ? error->message : "no answer"));
    } else if (!json_object_get_boolean_member_with_default(a, "allowed", FALSE)) {
        g_auto(GStrv) problems = strings_of(a, "problems");
        for (guint i = 0; problems[i]; i++)
            g_ptr_array_add(cf->problems, g_strdup(problems[i]));
        cf->vm_in_way |= json_object_get_boolean_member_with_default(a, "vm_in_way", FALSE);
    }
    if (--cf->pending == 0)
        checks_done(cf);
}

/* The mode a request names, or an answered error. */
static gboolean
wanted_mode(ApiRequest *request, const char *wanted, const EvcMode **out)
{
    *out = evc_mode_lookup(wanted);
    if (wanted && !*out) {
        gsize n = 0;
        const EvcMode *modes = evc_modes(&n);
        g_autoptr(GString) known = g_string_new(NULL);
        for (gsize i = 0; i < n; i++) {
            if (evc_mode_is_available(&modes[i]))
                g_string_append_printf(known, "%s%s", known->len ? ", " : "", modes[i].id);
        }
        center_reply_error(request, VIREO_ERROR_INVALID_ARGUMENT,
                           "'%s' is not an EVC mode; the known modes are %s (or null to disable "
                           "EVC)", wanted, known->str);
        return FALSE;
    }
    if (*out && !evc_mode_is_available(*out)) {
        center_reply_error(request, VIREO_ERROR_UNSUPPORTED,
                           "EVC mode %s needs QEMU's %s CPU model, which QEMU %s does not have",
                           (*out)->id, (*out)->qemu_alias, evc_features_qemu_version());
        return FALSE;
    }
    return TRUE;
}

/* The cluster's hosts the change goes to; enabling or changing a mode needs
 * every one connected, as vCenter does, since each must be asked. */
static GPtrArray *
cluster_hosts(Center *c, ApiRequest *request, const StoreObject *cluster, gboolean all_connected)
{
    g_autoptr(GPtrArray) hosts = store_object_children(c->store, cluster->id, STORE_KIND_HOST, NULL);
    g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; hosts && i < hosts->len; i++) {
        StoreObject *h = g_ptr_array_index(hosts, i);
        if (host_connected(c, h->id)) {
            g_ptr_array_add(ids, g_strdup(h->id));
        } else if (all_connected) {
            center_reply_error(request, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                               "host %s of cluster %s is not connected: EVC can be configured "
                               "only while every host of the cluster is connected",
                               h->name, cluster->name);
            return NULL;
        }
    }
    return g_steal_pointer(&ids);
}

void
center_evc_configure(Center *c, ApiRequest *request, const StoreObject *cluster, const char *wanted)
{
    const EvcMode *mode = NULL;
    g_autofree char *current = center_evc_cluster_mode(cluster);

    if (!wanted_mode(request, wanted, &mode))
        return;
    if (mode == evc_mode_lookup(current)) {
        api_request_reply_empty(request, 204);
        return;
    }
    GPtrArray *hosts = cluster_hosts(c, request, cluster, mode != NULL);
    if (!hosts)
        return;
    Configure *cf = g_new0(Configure, 1);
    cf->c = c;
    cf->user = g_strdup(api_request_user(request));
    cf->cluster = g_strdup(cluster->id);
    cf->cluster_name = g_strdup(cluster->name);
    cf->current = evc_mode_lookup(current);
    cf->wanted = mode;
    cf->hosts = hosts;
    cf->problems = g_ptr_array_new_with_free_func(g_free);
    cf->task = center_task_begin(c, request, "cluster.evc.configure", "ClusterComputeResource",
                                 cluster->id);
    if (!cf->task) {
        configure_free(cf);
        return;
    }
    if (!mode) {   /* turning EVC off takes no feature from a running VM */
        apply(cf);
        return;
    }
    cf->pending = hosts->len + 1;
    for (guint i = 0; i < hosts->len; i++)
        host_link_request(center_host_link(c, g_ptr_array_index(hosts, i), NULL), "PUT",
                          "/api/vireo/host/evc", put_body(mode->id, TRUE, TRUE), on_checked, cf);
    if (--cf->pending == 0)
        checks_done(cf);
}

/* ---- the migration check's input ------------------------------------------ */

void
center_evc_migration_vm(MigrationVm *vm, JsonNode *vm_info)
{
    JsonObject *info = vm_info && JSON_NODE_HOLDS_OBJECT(vm_info) ? json_node_get_object(vm_info) : NULL;
    JsonNode *cpu = info ? json_object_get_member(info, "cpu") : NULL;
    JsonObject *co = cpu && JSON_NODE_HOLDS_OBJECT(cpu) ? json_node_get_object(cpu) : NULL;
    const EvcMode *mode = evc_mode_lookup(string_member(co, "evc_mode"));
    const char *const *features = evc_mode_features(mode);
    if (!features)
        return;
    g_free(vm->evc_mode);
    vm->evc_mode = g_strdup(mode->id);
    g_strfreev(vm->cpu_features);
    vm->cpu_features = g_strdupv((char **)features);
}
