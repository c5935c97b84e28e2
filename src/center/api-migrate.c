/* api-migrate.c — POST /api/vcenter/vm/{vm}?action=relocate on the centre:
 * vSphere's RelocateVM_Task for a running VM to another host on shared
 * storage (vMotion), and its dry run (check_only=true), or to another
 * datastore of its host (Storage vMotion, forwarded to the host). It authorizes the
 * request, reads what the compatibility check needs from the inventory and
 * both hosts, runs migration_check() and hands an accepted migration to
 * center-migrate.c.
 */
#include "center-evc.h"
#include "center-migrate.h"
#include "center-cold-migrate.h"
#include "center-migrate-nbd.h"
#include "center-storage-migrate.h"

#include "json-util.h"
#include "vireo-error.h"

#include <string.h>

/* vireo-hostd manages one host, always called this (as ESXi's ha-host). */
#define HOSTD_HOST_ID "ha-host"
/* The vMotion link's speed when nothing says it: a 10 Gb/s NIC. */
#define DEFAULT_VMOTION_LINK_MBPS 10000

typedef struct {
    Center *c;
    ApiRequest *request;
    gboolean check_only;
    gboolean locked;           /* the VM is locked for this request */
    StoreObject *vm;
    StoreObject *source;
    StoreObject *destination;
    char *source_vm;           /* the VM's id on the source host */
    char *destination_pool;    /* NULL when the VM keeps its pool */
    StoreObject *datastore;    /* placement.datastore with another host, or NULL */
    MigrationPolicy policy;    /* the body's vireo_migration over the defaults */
    JsonObject *disks;         /* the body's per-disk datastores (cold only), borrowed */
    JsonNode *vm_info;         /* GET of the VM on the source */
    JsonNode *source_info;     /* GET of each host */
    JsonNode *destination_info;
    GError *error;             /* the first failed GET */
    int pending;
} Relocate;

static void
relocate_free(Relocate *r)
{
    if (r->locked)
        center_vm_unlock(r->c, r->vm->id);
    api_request_unref(r->request);
    store_object_free(r->vm);
    store_object_free(r->source);
    store_object_free(r->destination);
    store_object_free(r->datastore);
    g_free(r->source_vm);
    g_free(r->destination_pool);
    g_clear_pointer(&r->vm_info, json_node_unref);
    g_clear_pointer(&r->source_info, json_node_unref);
    g_clear_pointer(&r->destination_info, json_node_unref);
    g_clear_error(&r->error);
    g_free(r);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Relocate, relocate_free)

/* ---- the request ------------------------------------------------------------ */

/* placement.host and placement.datastore of the body (borrowed, either may
 * be NULL, not both); every other member is a migration not built yet.
 * FALSE and an error when the body is wrong. */
static gboolean
relocate_placement(JsonNode *body, const char **host, const char **datastore, GError **error)
{
    JsonObject *spec = body ? json_util_expect_object(body, "body", error) : NULL;
    JsonObject *placement = NULL;

    *host = *datastore = NULL;
    if (body && !spec)
        return FALSE;
    if (spec && !json_util_get_object(spec, "placement", "spec", &placement, error))
        return FALSE;
    /* vireo_migration (the convergence policy) is read by vm_relocate. */
    g_autoptr(GList) top = spec ? json_object_get_members(spec) : NULL;
    for (GList *l = top; l; l = l->next) {
        if (g_str_equal(l->data, "placement") || g_str_equal(l->data, MIGRATION_POLICY_MEMBER) ||
            g_str_equal(l->data, "disks") ||  /* per-disk datastores (vm_relocate) */
            g_str_equal(l->data, "speed_limit_MiB_per_second"))   /* Storage vMotion's copy (center-storage-migrate.c) */
            continue;
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_UNSUPPORTED,
                    "not built yet: relocate with \"%s\"; only placement.host (vMotion on shared "
                    "storage) and placement.datastore (Storage vMotion) are", (const char *)l->data);
        return FALSE;
    }
    g_autoptr(GList) members = placement ? json_object_get_members(placement) : NULL;
    for (GList *l = members; l; l = l->next)
        if (!g_str_equal(l->data, "host") && !g_str_equal(l->data, "datastore")) {
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_UNSUPPORTED,
                        "not built yet: placement.%s (cold migration, or a move to another folder, "
                        "pool or cluster); give placement.host or placement.datastore",
                        (const char *)l->data);
            return FALSE;
        }
    if (placement && (!json_util_get_string(placement, "host", "spec.placement", host, error) ||
                      !json_util_get_string(placement, "datastore", "spec.placement", datastore, error)))
        return FALSE;
    if (!*host && !*datastore && !(spec && json_object_has_member(spec, "disks"))) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "give the destination: {\"placement\": {\"host\": \"host-N\"}} or "
                    "{\"placement\": {\"datastore\": \"datastore-N\"}}");
        return FALSE;
    }
    return TRUE;
}

/* The root pool a VM moved to host lands in: its cluster's, or the
 * standalone host's own. */
static char *
host_root_pool(Center *c, const StoreObject *host)
{
    g_autoptr(StoreObject) parent = host->parent ? store_object_get(c->store, host->parent, NULL) : NULL;
    gboolean clustered = parent && g_str_equal(parent->kind, STORE_KIND_CLUSTER);
    return store_root_resource_pool(c->store, clustered ? parent->id : host->id, NULL);
}

/* Resource.HotMigrate (or ColdMigrate) on the VM, and
 * Resource.AssignVMToPool on the pool it would land in when that changes,
 * as vCenter asks for RelocateVM_Task. */
static gboolean
relocate_authorize(Relocate *r)
{
    g_autofree char *state = store_object_attr_string(r->vm, "power_state");
    g_autofree char *pool = store_object_attr_string(r->vm, STORE_ATTR_VM_RESOURCE_POOL);
    g_autofree char *target = host_root_pool(r->c, r->destination);
    const char *privilege = g_strcmp0(state, "POWERED_ON") == 0 ? "Resource.HotMigrate"
                                                                : "Resource.ColdMigrate";

    if (!center_authorize(r->c, r->request, r->vm->id, privilege))
        return FALSE;
    if (target && g_strcmp0(target, pool) != 0) {
        if (!center_authorize(r->c, r->request, target, "Resource.AssignVMToPool"))
            return FALSE;
        r->destination_pool = g_steal_pointer(&target);
    }
    return TRUE;
}

static gboolean
host_connected(Center *c, const char *host)
{
    HostLink *link = center_host_link(c, host, NULL);
    return link && host_link_get_state(link) == HOST_LINK_STATE_CONNECTED;
}

/* ---- the inputs of the check ------------------------------------------------ */

/* "shared" of "[shared] web/web.vmdk"; NULL for a path outside datastores. */
static char *
datastore_of_path(const char *path)
{
    const char *end = path && path[0] == '[' ? strchr(path, ']') : NULL;
    return end ? g_strndup(path + 1, end - path - 1) : NULL;
}

static JsonObject *
member_object(JsonObject *o, const char *member)
{
    JsonNode *n = o ? json_object_get_member(o, member) : NULL;
    return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

static const char *
member_string(JsonObject *o, const char *member)
{
    return o ? json_object_get_string_member_with_default(o, member, NULL) : NULL;
}

static void
vm_add_devices(MigrationVm *mvm, JsonObject *info)
{
    static const char *const kinds[] = { "disks", "nics", "cdroms" };
    for (guint k = 0; k < G_N_ELEMENTS(kinds); k++) {
        JsonObject *devices = member_object(info, kinds[k]);
        g_autoptr(GList) keys = devices ? json_object_get_members(devices) : NULL;
        for (GList *l = keys; l; l = l->next) {
            JsonObject *d = member_object(devices, l->data);
            JsonObject *backing = member_object(d, "backing");
            const char *label = member_string(d, "label") ? member_string(d, "label") : l->data;
            const char *type = member_string(backing, "type");
            g_autofree char *ds = datastore_of_path(member_string(backing, k == 0 ? "vmdk_file" : "iso_file"));
            if (k == 0) {
                migration_vm_add_disk(mvm, label, ds);
            } else if (k == 1) {
                migration_vm_add_nic(mvm, label, member_string(backing, "network_name"));
            } else {
                const char *state = member_string(d, "state");
                gboolean connected = state ? g_str_equal(state, "CONNECTED")
                                           : json_object_get_boolean_member_with_default(d, "start_connected", FALSE);
                MigrationCdromBacking b = g_strcmp0(type, "HOST_DEVICE") == 0 ? MIGRATION_CDROM_HOST_DEVICE
                                          : g_strcmp0(type, "ISO_FILE") == 0 ? MIGRATION_CDROM_ISO_FILE
                                                                             : MIGRATION_CDROM_CLIENT_DEVICE;
                migration_vm_add_cdrom(mvm, label, b, ds, connected);
            }
        }
    }
}

/* A host's CPU features as it reports them (GET host: cpu.features). */
static GStrv
cpu_features_of(JsonNode *host_info)
{
    JsonObject *cpu = member_object(host_info && JSON_NODE_HOLDS_OBJECT(host_info)
                                    ? json_node_get_object(host_info) : NULL, "cpu");
    JsonNode *n = cpu ? json_object_get_member(cpu, "features") : NULL;
    if (!n || !JSON_NODE_HOLDS_ARRAY(n))
        return NULL;
    JsonArray *a = json_node_get_array(n);
    GStrvBuilder *b = g_strv_builder_new();
    for (guint i = 0; i < json_array_get_length(a); i++) {
        JsonNode *e = json_array_get_element(a, i);
        if (JSON_NODE_HOLDS_VALUE(e) && json_node_get_value_type(e) == G_TYPE_STRING)
            g_strv_builder_add(b, json_node_get_string(e));
    }
    GStrv v = g_strv_builder_end(b);
    g_strv_builder_unref(b);
    return v;
}

/* The VM as the check sees it, from its host's answer. Its CPU: the source
 * host's features, all a VM started there can have been given — a sound
 * bound (a destination that offers them all can run it). */
static MigrationVm *
relocate_vm(Relocate *r)
{
    JsonObject *info = json_node_get_object(r->vm_info);
    const char *state = member_string(info, "power_state");
    VmPowerState ps = VM_POWER_STATE_POWERED_OFF;
    g_autofree char *home = datastore_of_path(member_string(info, "vmx_path"));
    JsonObject *memory = member_object(info, "memory");
    gint64 mib = memory ? json_object_get_int_member_with_default(memory, "size_MiB", 0) : 0;

    if (state)
        vm_power_state_from_string(state, &ps);
    MigrationVm *mvm = migration_vm_new(r->vm->name, ps, (guint64)MAX(mib, 0), home);
    vm_add_devices(mvm, info);
    mvm->cpu_features = cpu_features_of(r->source_info);
    center_evc_migration_vm(mvm, r->vm_info);   /* a VM with an EVC mode: that mode's features */
    /* Absent (a host that does not say): VMware's default. */
    if (member_string(info, "migrate_encryption"))
        migration_encryption_from_string(member_string(info, "migrate_encryption"), &mvm->encryption);
    return mvm;
}

/* Names of the objects a host relates to (mounted datastores or port groups). */
static GStrv
host_related_names(Center *c, const char *host, gboolean datastores)
{
    g_autoptr(GPtrArray) rel = datastores ? store_mount_list(c->store, host, NULL, NULL)
                                          : store_host_network_list(c->store, host, NULL, NULL);
    GStrvBuilder *b = g_strv_builder_new();
    for (guint i = 0; rel && i < rel->len; i++) {
        const StoreMount *mount = datastores ? g_ptr_array_index(rel, i) : NULL;
        const char *id = mount ? mount->datastore : g_ptr_array_index(rel, i);
        g_autoptr(StoreObject) o = (!mount || mount->accessible) ? store_object_get(c->store, id, NULL) : NULL;
        if (o)
            g_strv_builder_add(b, o->name);
    }
    GStrv v = g_strv_builder_end(b);
    g_strv_builder_unref(b);
    return v;
}

static MigrationHost *
relocate_host(Relocate *r, const StoreObject *h, JsonNode *info)
{
    MigrationHost *mh = migration_host_new(h->id, h->name);
    HostLink *link = center_host_link(r->c, h->id, NULL);
    HostLinkState state = link ? host_link_get_state(link) : HOST_LINK_STATE_DISCONNECTED;
    JsonObject *o = info && JSON_NODE_HOLDS_OBJECT(info) ? json_node_get_object(info) : NULL;
    JsonObject *memory = member_object(o, "memory");
    const char *address = member_string(o, "vmotion_address");

    mh->connection_state = state == HOST_LINK_STATE_CONNECTED ? MIGRATION_HOST_CONNECTED
                           : state == HOST_LINK_STATE_NOT_RESPONDING ? MIGRATION_HOST_NOT_RESPONDING
                                                                      : MIGRATION_HOST_DISCONNECTED;
    mh->in_maintenance = store_object_attr_bool(h, "in_maintenance_mode", FALSE);
    mh->free_memory_mib = memory ? (guint64)MAX(json_object_get_int_member_with_default(memory, "free_MiB", 0), 0) : 0;
    mh->datastores = host_related_names(r->c, h->id, TRUE);
    mh->port_groups = host_related_names(r->c, h->id, FALSE);
    mh->vmotion_address = address ? g_strdup(address) : store_object_attr_string(h, "vmotion_address");
    /* The host's hostd.ini vmotion_link_mbps (4 vMotions at once below
     * 10 Gb/s, 8 from there, as vSphere). */
    gint64 mbps = o ? json_object_get_int_member_with_default(o, "vmotion_link_mbps", 0) : 0;
    mh->vmotion_link_mbps = mbps > 0 && mbps <= G_MAXUINT ? (guint)mbps : DEFAULT_VMOTION_LINK_MBPS;
    mh->cpu_features = cpu_features_of(info);
    mh->evc_mode = center_evc_host_mode(r->c, h);
    /* A host says whether it carries migrations over TLS (hostd.ini's
     * vmotion_encryption); one that does not confirm it in its prepare
     * answer is caught there too. */
    mh->supports_encryption = o ? json_object_get_boolean_member_with_default(o, "vmotion_encryption", TRUE) : TRUE;
    return mh;
}

/* {"kind": "VMOTION", "issues": [{"severity": "ERROR", "code", "message"}]} */
static JsonNode *
report_json(const MigrationReport *report)
{
    g_autofree char *kind = g_ascii_strup(migration_kind_to_string(report->kind), -1);
    JsonObject *o = json_object_new();
    JsonArray *issues = json_array_new();

    g_strdelimit(kind, "-", '_');
    json_object_set_string_member(o, "kind", kind);
    for (guint i = 0; i < report->issues->len; i++) {
        const MigrationIssue *issue = g_ptr_array_index(report->issues, i);
        g_autofree char *severity = g_ascii_strup(migration_severity_to_string(issue->severity), -1);
        JsonObject *e = json_object_new();
        json_object_set_string_member(e, "severity", severity);
        json_object_set_string_member(e, "code", migration_issue_code_to_string(issue->code));
        json_object_set_string_member(e, "message", issue->message);
        json_array_add_object_element(issues, e);
    }
    json_object_set_array_member(o, "issues", issues);
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, o);
    return node;
}

/* ---- deciding ----------------------------------------------------------------- */

/* Starts the accepted migration: its task (answering 202 when asked), the
 * warnings as events, then the queue. */
static void
relocate_start(Relocate *r, const MigrationVm *mvm, const MigrationRequest *req,
               const MigrationReport *report)
{
    const char *user = api_request_user(r->request);
    CenterTask *task = center_task_begin(r->c, r->request, "vm.relocate", "VirtualMachine", r->vm->id);
    if (!task)
        return;
    center_vm_lock_set_task(r->c, r->vm->id, task);
    r->locked = FALSE;   /* the migration releases it */
    for (guint i = 0; i < report->issues->len; i++) {
        const MigrationIssue *issue = g_ptr_array_index(report->issues, i);
        center_event(r->c, user, r->vm->id, "MigrationWarningEvent", FALSE, center_task_id(task), "%s",
                     issue->message);
    }
    CenterMigrationSpec spec = {
        .vm = g_strdup(r->vm->id),
        .vm_name = g_strdup(r->vm->name),
        .user = g_strdup(user),
        .source = g_strdup(r->source->id),
        .source_name = g_strdup(r->source->name),
        .source_vm = g_strdup(r->source_vm),
        .destination = g_strdup(r->destination->id),
        .destination_name = g_strdup(r->destination->name),
        .destination_pool = g_strdup(r->destination_pool),
        /* vMotion + Storage vMotion: the disks go over NBD to this datastore. */
        .datastore = report->kind == MIGRATION_KIND_VMOTION_STORAGE_VMOTION ? g_strdup(r->datastore->id) : NULL,
        .datastore_name = report->kind == MIGRATION_KIND_VMOTION_STORAGE_VMOTION ? g_strdup(r->datastore->name) : NULL,
        .encryption = mvm->encryption,
        .policy = r->policy,
    };
    center_migration_submit(r->c, &spec, migration_demand_new(mvm, req), task);
}

static void
relocate_decide(Relocate *r)
{
    g_autoptr(GError) error = NULL;

    if (r->error) {
        g_prefix_error(&r->error, "cannot read what the migration check needs: ");
        api_request_reply_error(r->request, r->error);
        return;
    }
    g_autoptr(MigrationVm) mvm = relocate_vm(r);
    g_autoptr(MigrationHost) src = relocate_host(r, r->source, r->source_info);
    g_autoptr(MigrationHost) dst = relocate_host(r, r->destination, r->destination_info);
    /* Per-disk datastores (cold migration), by the labels the check knows. */
    g_autoptr(GHashTable) disk_ds = center_cold_disk_datastores(r->c, api_request_user(r->request),
                                                                json_node_get_object(r->vm_info), r->disks, &error);
    if (r->disks && !disk_ds) {
        api_request_reply_error(r->request, error);
        return;
    }
    /* With a datastore the check wants it mounted on the destination. */
    MigrationRequest req = { .source = src, .destination = dst,
                             .datastore = r->datastore ? r->datastore->name : NULL, .disk_datastores = disk_ds };
    g_autoptr(MigrationReport) report = migration_check(mvm, &req);
    center_storage_check_space(r->c, json_node_get_object(r->vm_info), mvm, &req, report);

    if (r->check_only) {
        api_request_reply_json(r->request, 200, report_json(report));
        return;
    }
    if (report->kind == MIGRATION_KIND_COLD) {
        /* Off or suspended: files copied or re-registered (center-cold-migrate.c). */
        CenterColdRequest cold = { r->vm, r->source, r->destination, r->datastore, r->source_vm,
                                   r->destination_pool, json_node_get_object(r->vm_info), r->disks };
        if (!migration_report_to_error(report, &error)) {
            api_request_reply_error(r->request, error);
            return;
        }
        r->locked = FALSE;   /* the cold migration takes the lock over */
        center_cold_migration_start(r->c, r->request, &cold);
        return;
    }
    if (!migration_report_to_error(report, &error)) {
        api_request_reply_error(r->request, error);
        return;
    }
    if (report->kind == MIGRATION_KIND_STORAGE_VMOTION) {
        /* Running, same host: the host mirrors the disks (center-storage-migrate.c). */
        CenterStorageRequest sv = { r->vm, r->source, r->source_vm, r->datastore,
                                    json_node_get_object(r->vm_info), r->disks,
                                    api_request_body(r->request) ? json_node_get_object(api_request_body(r->request)) : NULL };
        r->locked = FALSE;   /* the move takes the lock over */
        center_storage_migration_start(r->c, r->request, &sv);
        return;
    }
    relocate_start(r, mvm, &req, report);
}

typedef struct {
    Relocate *r;
    JsonNode **target;
} Gather;

static void gather_done(Relocate *r);

static void
on_gathered(HostLink *link, guint status, JsonNode *answer, const GError *error, gpointer data)
{
    g_autofree Gather *g = data;
    Relocate *r = g->r;

    if (error && !r->error)
        r->error = g_error_copy(error);
    else if (!error && answer)
        *g->target = json_node_copy(answer);
    gather_done(r);
}

/* Counts an answer; the last one decides and ends the request. */
static void
gather_done(Relocate *r)
{
    if (--r->pending > 0)
        return;
    if (!r->error && (!r->vm_info || !JSON_NODE_HOLDS_OBJECT(r->vm_info)))
        r->error = g_error_new(VIREO_ERROR, VIREO_ERROR_UNEXPECTED_INPUT,
                               "host %s did not describe VM %s", r->source->name, r->vm->name);
    relocate_decide(r);
    relocate_free(r);
}

/* A GET on a host whose answer lands in *target; the check runs when the
 * last one is answered. */
static void
gather(Relocate *r, const char *host, const char *path, JsonNode **target)
{
    Gather *g = g_new0(Gather, 1);
    g->r = r;
    g->target = target;
    r->pending++;
    host_link_request(center_host_link(r->c, host, NULL), "GET", path, NULL, on_gathered, g);
}

/* Reads the VM and both hosts (the destination only when it answers: the
 * check reports it otherwise). */
static void
relocate_gather(Relocate *r)
{
    g_autofree char *vm_seg = g_uri_escape_string(r->source_vm, NULL, TRUE);
    g_autofree char *vm_path = g_strconcat("/api/vcenter/vm/", vm_seg, NULL);
    const char *host_path = "/api/vcenter/host/" HOSTD_HOST_ID;
    gboolean dst = host_connected(r->c, r->destination->id);

    /* Counted before any request goes: no answer may end it early. */
    r->pending = 1;
    gather(r, r->source->id, vm_path, &r->vm_info);
    gather(r, r->source->id, host_path, &r->source_info);
    if (dst)
        gather(r, r->destination->id, host_path, &r->destination_info);
    gather_done(r);
}

/* The checks that need no host: the objects, the privileges, the source's
 * link and the VM's lock. FALSE when the request was answered. */
static gboolean
relocate_prepare(Relocate *r, const char *host)
{
    Center *c = r->c;
    g_autofree char *source = NULL;

    r->destination = store_object_get(c->store, host, NULL);
    if (!r->destination || !g_str_equal(r->destination->kind, STORE_KIND_HOST) ||
        !center_can_see(c, api_request_user(r->request), r->destination->id)) {
        center_reply_error(r->request, VIREO_ERROR_NOT_FOUND, "no host '%s'", host);
        return FALSE;
    }
    source = store_object_attr_string(r->vm, STORE_ATTR_VM_HOST);
    r->source_vm = store_object_attr_string(r->vm, STORE_ATTR_VM_HOST_REF);
    r->source = source ? store_object_get(c->store, source, NULL) : NULL;
    if (!r->source || !r->source_vm) {
        center_reply_error(r->request, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                           "VM %s is on no managed host", r->vm->name);
        return FALSE;
    }
    if (!relocate_authorize(r))
        return FALSE;
    if (!host_connected(c, r->source->id)) {
        center_reply_error(r->request, VIREO_ERROR_SERVICE_UNAVAILABLE,
                           "host %s of VM %s is not connected; try again when it is",
                           r->source->name, r->vm->name);
        return FALSE;
    }
    if (!r->check_only && !center_vm_lock(c, r->request, r->vm->id, NULL))
        return FALSE;
    r->locked = !r->check_only;
    return TRUE;
}

static void
vm_relocate(ApiRequest *request, gpointer data)
{
    Center *c = data;
    g_autoptr(GError) error = NULL;
    const char *host = NULL, *datastore = NULL;
    g_autoptr(StoreObject) vm = center_lookup(c, request, "vm", STORE_KIND_VM);
    if (!vm)
        return;
    if (!relocate_placement(api_request_body(request), &host, &datastore, &error)) {
        api_request_reply_error(request, error);
        return;
    }
    g_autofree char *current = store_object_attr_string(vm, STORE_ATTR_VM_HOST);
    /* Off or suspended: a cold migration, checked as the others (the VM's
     * own host when none is given), run by center-cold-migrate.c. */
    g_autofree char *power = store_object_attr_string(vm, "power_state");
    gboolean cold = power && g_strcmp0(power, "POWERED_ON") != 0;
    JsonObject *disks = NULL;
    if (api_request_body(request) && !json_util_get_object(json_node_get_object(api_request_body(request)), "disks",
                                                           "spec", &disks, &error)) {
        api_request_reply_error(request, error);
        return;
    }
    if (disks && !cold && host && g_strcmp0(host, current) != 0) {
        center_reply_error(request, VIREO_ERROR_UNSUPPORTED,
                           "not built yet: per-disk datastores (\"disks\") with a new host for a running VM; "
                           "move the disks first (Storage vMotion), then the VM");
        return;
    }
    g_autoptr(StoreObject) target_ds = NULL;
    if (cold && datastore) {
        if (!(target_ds = center_nbd_target_datastore(c, request, datastore)))
            return;
        datastore = NULL;
    }
    if (cold && !host)
        host = current;
    /* A new host and a datastore: vMotion + Storage vMotion, checked and run
     * as a vMotion whose disks move too (center-migrate-nbd.c). */
    if (datastore && host && g_strcmp0(host, current) != 0) {
        if (!(target_ds = center_nbd_target_datastore(c, request, datastore)))
            return;
        datastore = NULL;
    }
    /* Running, its own host, new datastores: Storage vMotion, checked as
     * the others and run by center-storage-migrate.c. */
    gboolean check_only = g_strcmp0(api_request_query(request, "check_only"), "true") == 0;
    if (!cold && (datastore || disks) && (!host || g_strcmp0(host, current) == 0)) {
        if (!current) {
            center_reply_error(request, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                               "VM %s is on no managed host", vm->name);
            return;
        }
        if (datastore && !(target_ds = center_storage_target_datastore(c, request, vm, current, datastore,
                                                                       check_only)))
            return;
        datastore = NULL;
        host = current;
    }
    g_autoptr(Relocate) r = g_new0(Relocate, 1);
    r->c = c;
    r->request = api_request_ref(request);
    r->vm = g_steal_pointer(&vm);
    r->check_only = check_only;
    r->datastore = g_steal_pointer(&target_ds);
    r->disks = disks;
    if (!migration_policy_from_body(&r->policy, api_request_body(request) ? json_node_get_object(api_request_body(request)) : NULL,
                                    &error)) {
        api_request_reply_error(request, error);
        return;
    }
    if (!relocate_prepare(r, host))
        return;
    relocate_gather(g_steal_pointer(&r));
}

void
center_api_migrate_register(ApiServer *s, Center *c)
{
    center_migrations_init(c);
    api_server_add_route(s, "POST", "/api/vcenter/vm/{vm}", "relocate", vm_relocate, c);
}
