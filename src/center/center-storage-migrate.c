/* center-storage-migrate.c — Storage vMotion through the centre: a running
 * VM's disks (placement.datastore: all of them; disks: each its own) move to
 * other datastores of its host. The host's relocate runs the block mirrors
 * (vm-storage-migrate.c); the centre starts it without waiting and polls
 * relocate-status, so a copy may last longer than one host request.
 *
 *   relocate {"vireo_async": true} ─202─▶ relocate-status every 0.5 s
 *   (RUNNING: task progress "N% of M MiB") ─▶ SUCCEEDED: inventory, event
 *                                           ─▶ FAILED: the host's error
 */
#include "center-storage-migrate.h"

#include "json-util.h"
#include "migration-space.h"
#include "vireo-error.h"


#define POLL_MS 500
/* Unanswered status polls in a row before the task gives up watching. */
#define MAX_POLL_FAILURES 20

static JsonObject *
member_object(JsonObject *o, const char *member)
{
    JsonNode *n = o ? json_object_get_member(o, member) : NULL;
    return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

StoreObject *
center_storage_target_datastore(Center *c, ApiRequest *request, const StoreObject *vm, const char *host,
                                const char *id, gboolean check_only)
{
    g_autoptr(StoreObject) ds = store_object_get(c->store, id, NULL);
    if (!ds || !g_str_equal(ds->kind, STORE_KIND_DATASTORE) ||
        !center_can_see(c, api_request_user(request), ds->id)) {
        center_reply_error(request, VIREO_ERROR_NOT_FOUND, "no datastore '%s'", id);
        return NULL;
    }
    if (!center_authorize(c, request, ds->id, "Datastore.AllocateSpace"))
        return NULL;
    g_autoptr(GPtrArray) mounts = store_mount_list(c->store, host, ds->id, NULL);
    const StoreMount *mount = mounts && mounts->len ? g_ptr_array_index(mounts, 0) : NULL;
    if (!check_only && (!mount || !mount->accessible)) {
        g_autoptr(StoreObject) h = store_object_get(c->store, host, NULL);
        center_reply_error(request, VIREO_ERROR_INVALID_ARGUMENT,
                           "datastore %s is not %s on host %s of VM %s; Storage vMotion moves disks "
                           "between datastores of the VM's host", ds->name,
                           mount ? "accessible" : "mounted", h ? h->name : host, vm->name);
        return NULL;
    }
    return g_steal_pointer(&ds);
}

/* ---- the check's free-space part ---------------------------------------------- */

/* Datastore name → guint64* bytes free, for the host's accessible mounts. */
static GHashTable *
free_space_of(Center *c, const char *host)
{
    GHashTable *map = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_autoptr(GPtrArray) mounts = store_mount_list(c->store, host, NULL, NULL);
    for (guint i = 0; mounts && i < mounts->len; i++) {
        const StoreMount *mount = g_ptr_array_index(mounts, i);
        g_autoptr(StoreObject) ds = mount->accessible ? store_object_get(c->store, mount->datastore, NULL) : NULL;
        if (!ds)
            continue;
        guint64 *n = g_new(guint64, 1);
        *n = (guint64)MAX(store_object_attr_int(ds, "free_space", 0), 0);
        g_hash_table_replace(map, g_strdup(ds->name), n);
    }
    return map;
}

static const MigrationDisk *
mvm_disk(const MigrationVm *mvm, const char *label)
{
    for (guint i = 0; i < mvm->disks->len; i++) {
        const MigrationDisk *d = g_ptr_array_index(mvm->disks, i);
        if (g_strcmp0(d->label, label) == 0)
            return d;
    }
    return NULL;
}

void
center_storage_check_space(Center *c, JsonObject *vm_info, const MigrationVm *mvm, const MigrationRequest *req,
                           MigrationReport *report)
{
    if (report->kind != MIGRATION_KIND_STORAGE_VMOTION)
        return;
    JsonObject *disks = member_object(vm_info, "disks");
    g_autoptr(GList) keys = disks ? json_object_get_members(disks) : NULL;
    g_autoptr(GArray) moving = g_array_new(FALSE, TRUE, sizeof(MigrationSpaceDisk));
    for (GList *l = keys; l; l = l->next) {
        JsonObject *d = member_object(disks, l->data);
        const char *label = json_object_get_string_member_with_default(d, "label", l->data);
        const MigrationDisk *md = mvm_disk(mvm, label);
        const char *target = md ? migration_request_target_datastore(req, mvm, md) : NULL;
        if (!target || g_strcmp0(target, md->datastore) == 0)
            continue;
        MigrationSpaceDisk s = {
            .label = label,
            .datastore = target,
            .capacity = (guint64)MAX(json_object_get_int_member_with_default(d, "capacity", 0), 0),
            .used = (guint64)MAX(json_object_get_int_member_with_default(d, "space_used", 0), 0),
            .thin = g_strcmp0(json_object_get_string_member_with_default(d, "provisioning", ""), "THIN") == 0,
        };
        g_array_append_val(moving, s);
    }
    g_autoptr(GHashTable) free_space = free_space_of(c, req->source->id);
    migration_space_check(mvm->name, (const MigrationSpaceDisk *)moving->data, moving->len, free_space, report);
}

/* ---- the task -------------------------------------------------------------------- */

typedef struct {
    Center *c;
    CenterTask *task;
    char *vm;
    char *vm_name;
    char *user;
    char *host;
    char *host_vm;
    char *datastore;        /* placement.datastore's id, NULL: per-disk only */
    char *datastore_name;   /* its name, as sent to the host */
    char *what;             /* "local-a", "Hard disk 2 to local-b": for messages */
    guint timer;
    guint poll_failures;
    gint64 started_us;
    gint64 copied;
    gboolean cancel_requested;
} StorageMove;

/* Task id -> StorageMove* running (borrowed), for the user's cancel. */
static GHashTable *moves;

static void
storage_move_free(StorageMove *s)
{
    g_clear_handle_id(&s->timer, g_source_remove);
    g_free(s->vm);
    g_free(s->vm_name);
    g_free(s->user);
    g_free(s->host);
    g_free(s->host_vm);
    g_free(s->datastore);
    g_free(s->datastore_name);
    g_free(s->what);
    g_free(s);
}

static void
storage_failed(StorageMove *s, const GError *error)
{
    const char *task = center_task_id(s->task);
    g_autoptr(GError) e = g_error_new(VIREO_ERROR, error->domain == VIREO_ERROR ? error->code : VIREO_ERROR_ERROR,
                                      "Storage vMotion of %s (%s) failed: %s%s", s->vm_name, s->what,
                                      s->cancel_requested ? "cancelled by the user; " : "", error->message);
    if (moves)
        g_hash_table_remove(moves, task);
    center_event(s->c, s->user, s->vm, "VmFailedMigrateEvent", TRUE, task, "storage move to %s failed: %s",
                 s->what, error->message);
    center_task_fail(s->task, e);
    center_vm_unlock(s->c, s->vm);
    storage_move_free(s);
}

/* status: the host's last relocate-status, NULL when it answered 204 (every
 * disk and the home already on the datastore). The VM's `datastore` is its
 * home's: it changes only when the host says the home is on the new one. */
static void
storage_succeeded(StorageMove *s, JsonObject *status)
{
    const char *task = center_task_id(s->task);
    gint64 elapsed_ms = (g_get_monotonic_time() - s->started_us) / 1000;
    const char *home = status ? json_object_get_string_member_with_default(status, "home_datastore", NULL)
                              : s->datastore_name;
    gboolean home_moved = status && json_object_get_boolean_member_with_default(status, "home_moved", FALSE);
    const char *home_reason = status ? json_object_get_string_member_with_default(status, "home_reason", NULL)
                                     : NULL;
    if (s->datastore && g_strcmp0(home, s->datastore_name) == 0) {
        JsonObject *o = json_object_new();
        json_object_set_string_member(o, STORE_ATTR_VM_DATASTORE, s->datastore);
        g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
        json_node_take_object(node, o);
        g_autofree char *attrs = json_to_string(node, FALSE);
        g_autoptr(GError) error = NULL;
        if (!store_object_set_attrs(s->c->store, s->vm, attrs, TRUE, &error))
            g_warning("storage move %s: the inventory still places %s's files elsewhere: %s", task, s->vm,
                      error->message);
    }
    center_event(s->c, s->user, s->vm, "VmMigratedEvent", FALSE, task,
                 "storage moved to %s: %" G_GINT64_FORMAT " MiB copied in %.1f s", s->what, s->copied >> 20,
                 elapsed_ms / 1000.0);
    JsonObject *r = json_object_new();
    json_object_set_string_member(r, "kind", "STORAGE_VMOTION");
    json_object_set_string_member(r, "host", s->host);
    json_object_set_int_member(r, "copied_bytes", s->copied);
    json_object_set_int_member(r, "elapsed_ms", elapsed_ms);
    if (s->datastore) {
        json_object_set_boolean_member(r, "home_moved", home_moved);
        if (home_reason)
            json_object_set_string_member(r, "home_reason", home_reason);
    }
    JsonNode *result = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(result, r);
    if (moves)
        g_hash_table_remove(moves, task);
    center_task_succeed(s->task, 200, result);
    center_vm_unlock(s->c, s->vm);
    storage_move_free(s);
}

static void poll_status(StorageMove *s);

static gboolean
poll_again(gpointer data)
{
    StorageMove *s = data;
    s->timer = 0;
    poll_status(s);
    return G_SOURCE_REMOVE;
}

static void
show_progress(StorageMove *s, JsonObject *o)
{
    gint64 done = json_object_get_int_member_with_default(o, "completed_bytes", 0);
    gint64 total = json_object_get_int_member_with_default(o, "total_bytes", 0);
    const char *phase = json_object_get_string_member_with_default(o, "phase", "copying");
    int pct = total > 0 ? (int)(100 * MIN(done, total) / total) : 0;
    g_autofree char *msg = g_strdup_printf("%s: %d%% of %" G_GINT64_FORMAT " MiB", phase, pct, total >> 20);
    s->copied = done;
    center_task_progress(s->task, 5 + pct * 90 / 100, msg);
}

static void
on_status(HostLink *link, guint status, JsonNode *answer, const GError *error, gpointer data)
{
    StorageMove *s = data;
    JsonObject *o = answer && JSON_NODE_HOLDS_OBJECT(answer) ? json_node_get_object(answer) : NULL;
    const char *state = o ? json_object_get_string_member_with_default(o, "state", "") : "";

    if (error || !o) {
        /* A host busy or briefly unreachable: the copy goes on there. */
        gboolean cancelled = error && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
        if (!cancelled && ++s->poll_failures < MAX_POLL_FAILURES) {
            s->timer = g_timeout_add(POLL_MS, poll_again, s);
            return;
        }
        g_autoptr(GError) e = g_error_new(VIREO_ERROR, VIREO_ERROR_SERVICE_UNAVAILABLE,
                                          "lost track of the copy on host %s (%s); look at the VM there",
                                          s->host, error ? error->message : "no answer");
        storage_failed(s, e);
        return;
    }
    s->poll_failures = 0;
    show_progress(s, o);
    if (g_str_equal(state, "SUCCEEDED")) {
        storage_succeeded(s, o);
    } else if (g_str_equal(state, "FAILED")) {
        JsonObject *e = member_object(o, "error");
        const char *type = e ? json_object_get_string_member_with_default(e, "error_type", "ERROR") : "ERROR";
        g_autoptr(GError) err = g_error_new_literal(VIREO_ERROR, vireo_error_type_from_name(type),
                                                    e ? json_object_get_string_member_with_default(e, "message", "?")
                                                      : "the host gave no reason");
        storage_failed(s, err);
    } else {
        s->timer = g_timeout_add(POLL_MS, poll_again, s);
    }
}

static void
poll_status(StorageMove *s)
{
    g_autofree char *seg = g_uri_escape_string(s->host_vm, NULL, TRUE);
    g_autofree char *path = g_strdup_printf("/api/vcenter/vm/%s?action=relocate-status", seg);
    HostLink *link = center_host_link(s->c, s->host, NULL);
    if (!link) {
        g_autoptr(GError) e = g_error_new(VIREO_ERROR, VIREO_ERROR_SERVICE_UNAVAILABLE,
                                          "host %s is no longer managed", s->host);
        storage_failed(s, e);
        return;
    }
    host_link_request(link, "GET", path, NULL, on_status, s);
}

static void
on_started(HostLink *link, guint status, JsonNode *answer, const GError *error, gpointer data)
{
    StorageMove *s = data;
    if (error) {
        storage_failed(s, error);
        return;
    }
    if (status != 202) {   /* 204: every disk was already there */
        storage_succeeded(s, NULL);
        return;
    }
    JsonObject *o = answer && JSON_NODE_HOLDS_OBJECT(answer) ? json_node_get_object(answer) : NULL;
    gint64 total = o ? json_object_get_int_member_with_default(o, "total_bytes", 0) : 0;
    g_autofree char *msg = g_strdup_printf("copying: 0%% of %" G_GINT64_FORMAT " MiB", total >> 20);
    center_task_progress(s->task, 5, msg);
    s->timer = g_timeout_add(POLL_MS, poll_again, s);
}

/* The host's body: its datastores by name (the centre names a datastore as
 * the host that reported it first), per-disk entries by disk key. Appends
 * to `what` which disks move where. NULL with the request answered when
 * the user may not allocate space on a per-disk datastore. */
static JsonObject *
host_body(Center *c, ApiRequest *request, const CenterStorageRequest *req, GString *what)
{
    g_autoptr(JsonObject) body = json_object_new();
    json_object_set_boolean_member(body, "vireo_async", TRUE);
    gint64 speed = 0;
    g_autoptr(GError) error = NULL;
    if (req->body && (!json_util_get_int(req->body, "speed_limit_MiB_per_second", "spec", &speed, &error) || speed < 0)) {
        if (!error)
            error = g_error_new_literal(VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                                        "spec.speed_limit_MiB_per_second is negative");
        api_request_reply_error(request, error);
        return NULL;
    }
    if (speed > 0)
        json_object_set_int_member(body, "speed_limit_MiB_per_second", speed);
    if (req->datastore) {
        JsonObject *placement = json_object_new();
        json_object_set_string_member(placement, "datastore", req->datastore->name);
        json_object_set_object_member(body, "placement", placement);
        g_string_append(what, req->datastore->name);
    }
    JsonObject *known = member_object(req->vm_info, "disks");
    g_autoptr(GList) keys = req->disks ? json_object_get_members(req->disks) : NULL;
    JsonObject *disks = keys ? json_object_new() : NULL;
    if (disks)
        json_object_set_object_member(body, "disks", disks);
    for (GList *l = keys; l; l = l->next) {
        JsonObject *entry = member_object(req->disks, l->data);
        const char *id = entry ? json_object_get_string_member_with_default(entry, "datastore", NULL) : NULL;
        g_autoptr(StoreObject) ds = id ? store_object_get(c->store, id, NULL) : NULL;
        if (!ds) {
            center_reply_error(request, VIREO_ERROR_NOT_FOUND, "no datastore '%s'", id ? id : "");
            return NULL;
        }
        if (!center_authorize(c, request, ds->id, "Datastore.AllocateSpace"))
            return NULL;
        JsonObject *to = json_object_new();
        json_object_set_string_member(to, "datastore", ds->name);
        json_object_set_object_member(disks, l->data, to);
        JsonObject *disk = member_object(known, l->data);
        const char *label = disk ? json_object_get_string_member_with_default(disk, "label", l->data) : l->data;
        g_string_append_printf(what, "%s%s to %s", what->len ? ", " : "", label, ds->name);
    }
    return g_steal_pointer(&body);
}

void
center_storage_migration_start(Center *c, ApiRequest *request, const CenterStorageRequest *req)
{
    g_autoptr(GString) what = g_string_new(NULL);
    g_autoptr(JsonObject) body = host_body(c, request, req, what);
    if (!body) {
        center_vm_unlock(c, req->vm->id);
        return;
    }
    CenterTask *task = center_task_begin(c, request, "vm.relocate.storage", "VirtualMachine", req->vm->id);
    if (!task) {
        center_vm_unlock(c, req->vm->id);
        return;
    }
    center_vm_lock_set_task(c, req->vm->id, task);
    StorageMove *s = g_new0(StorageMove, 1);
    s->c = c;
    s->task = task;
    s->vm = g_strdup(req->vm->id);
    s->vm_name = g_strdup(req->vm->name);
    s->user = g_strdup(api_request_user(request));
    s->host = g_strdup(req->host->id);
    s->host_vm = g_strdup(req->host_vm);
    s->datastore = req->datastore ? g_strdup(req->datastore->id) : NULL;
    s->datastore_name = req->datastore ? g_strdup(req->datastore->name) : NULL;
    s->what = g_strdup(what->str);
    s->started_us = g_get_monotonic_time();
    if (!moves)
        moves = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_hash_table_replace(moves, g_strdup(center_task_id(task)), s);
    center_task_progress(task, 2, "starting the copy on the host");
    g_autofree char *seg = g_uri_escape_string(req->host_vm, NULL, TRUE);
    g_autofree char *path = g_strdup_printf("/api/vcenter/vm/%s?action=relocate", seg);
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_set_object(node, body);
    host_link_request(center_host_link(c, req->host->id, NULL), "POST", path, node, on_started, s);
}

/* ---- cancel by the user ---------------------------------------------------------- */

static void
on_cancel_relocate(HostLink *link, guint status, JsonNode *answer, const GError *error, gpointer data)
{
    g_autofree char *task = data;
    /* Refused (the switch to the new disks began): the task ends as the
     * host's copy does. */
    if (error)
        g_message("storage move %s: the host did not cancel: %s", task, error->message);
}

gboolean
center_storage_migration_cancel(Center *c, const char *task, GError **error)
{
    StorageMove *s = moves ? g_hash_table_lookup(moves, task) : NULL;
    HostLink *link = s ? center_host_link(c, s->host, error) : NULL;
    if (!s || !link)
        return FALSE;
    s->cancel_requested = TRUE;
    center_task_progress(s->task, 5, "cancelling (requested by the user)");
    g_autofree char *seg = g_uri_escape_string(s->host_vm, NULL, TRUE);
    g_autofree char *path = g_strdup_printf("/api/vcenter/vm/%s?action=cancel-relocate", seg);
    host_link_request(link, "POST", path, NULL, on_cancel_relocate, g_strdup(task));
    return TRUE;
}
