/* center-cold-migrate.c — runs a cold migration as a task: a powered-off or
 * suspended VM to another host and/or datastore (docs/migration.md, "Cold
 * migration"). With nothing to copy (the files stay on a datastore both
 * hosts see) the destination registers the folder and the source forgets
 * it; otherwise the destination pulls every file from the source over NBD
 * (TLS with a one-time key), verifies it, registers the copy, and only then
 * the source unregisters the VM and deletes its files.
 *
 *   EXPORT ──▶ IMPORT ──▶ COPY (status polled) ──▶ COMMIT dst ──▶ COMMIT src ──▶ SUCCEEDED
 *   EXPORT ─────────────(nothing to copy)────────▶ COMMIT dst ──▶ COMMIT src
 *     │          │            │                        │              │
 *     └──────────┴────────────┴──── fail ──────────────┘              └─▶ FAILED, VM on the
 *                     │                                                    destination (source
 *                     ▼                                                    files left)
 *        ABORT destination (if import was sent: deletes the copy),
 *        ABORT source (stops the exports) ──▶ FAILED, VM intact on the source
 *
 *   step answered          → on_reply() → next step
 *   COPY answered RUNNING  → progress, poll again in POLL_MS
 *   step failed            → undo_next() → cold_end()
 *   COMMIT dst answered    → inventory_move() (the VM is the destination's now)
 */
#include "center-cold-migrate.h"
#include "center-migrate.h"

#include "json-util.h"
#include "vireo-error.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>

#define POLL_MS 500
#define PSK_BYTES 32
/* Cost units (migration-check.h's resources): a copy is a Storage vMotion's
 * 4 per host and 16 per datastore; a move without copy a vMotion's 1. */
#define COLD_COST_COPY_HOST 4
#define COLD_COST_MOVE_HOST 1
#define COLD_COST_COPY_DATASTORE 16
#define COLD_COST_STAY_DATASTORE 1

typedef enum {
    COLD_EXPORT,
    COLD_IMPORT,
    COLD_COPY,
    COLD_COMMIT_DESTINATION,
    COLD_COMMIT_SOURCE,
    COLD_N,
} ColdStep;

static const struct {
    const char *action;
    const char *name;      /* in messages */
    gboolean on_destination;
    int percent;
    const char *doing;
} steps[COLD_N] = {
    [COLD_EXPORT] = { "export", "export", FALSE, 5, "export: holding the VM on the source and serving its files" },
    [COLD_IMPORT] = { "import", "import", TRUE, 10, "import: creating the VM's folder on the destination" },
    [COLD_COPY] = { "status", "copy", TRUE, 10, "copy: copying the VM's files" },
    [COLD_COMMIT_DESTINATION] = { "commit", "register", TRUE, 92, "register: the destination registers the verified copy" },
    [COLD_COMMIT_SOURCE] = { "commit", "unregister", FALSE, 96,
                             "unregister: the source unregisters the VM and deletes its old files" },
};

typedef struct {
    Center *c;
    CenterTask *task;
    char *vm, *vm_name, *user;
    char *source, *source_name, *source_vm;
    char *destination, *destination_name, *destination_pool;
    char *from_datastore;     /* home datastore names, for messages */
    char *to_datastore;
    char *datastore;          /* the centre's id of the new home, NULL: stays */
    JsonObject *disk_targets; /* disk key → datastore name (every disk) */
    gboolean copy;
    ColdStep step;
    gboolean import_sent;
    gboolean registered;      /* the destination has the VM */
    JsonObject *exported;     /* export's answer */
    char *destination_vm;
    gint64 copied, total;
    gint64 started_us, copy_started_us, copy_ms;
    guint timer;
    int undo_stage;
    char *psk_key;
    GError *failure;
    char *id;                 /* the task's id, also the migration's */
    MigrationDemand *demand;  /* charged while it runs (center-migrate.c's slots) */
    gboolean cancel_requested;
    gboolean pending;         /* a host did not answer: center-cold-recover.c settles it */
} ColdMigration;

/* task id → ColdMigration*, started and not ended (for cancel). */
static GHashTable *running;

static void step_send(ColdMigration *m, ColdStep step);
static void cold_end(ColdMigration *m);

static void
cold_free(ColdMigration *m)
{
    g_clear_handle_id(&m->timer, g_source_remove);
    g_free(m->vm);
    g_free(m->vm_name);
    g_free(m->user);
    g_free(m->source);
    g_free(m->source_name);
    g_free(m->source_vm);
    g_free(m->destination);
    g_free(m->destination_name);
    g_free(m->destination_pool);
    g_free(m->from_datastore);
    g_free(m->to_datastore);
    g_free(m->datastore);
    if (m->disk_targets)
        json_object_unref(m->disk_targets);
    if (m->exported)
        json_object_unref(m->exported);
    g_free(m->destination_vm);
    if (m->psk_key)
        memset(m->psk_key, 0, strlen(m->psk_key));
    g_free(m->psk_key);
    g_clear_error(&m->failure);
    g_free(m->id);
    if (m->demand)
        migration_demand_free(m->demand);
    g_free(m);
}

/* ---- what moves ---------------------------------------------------------------- */

static JsonObject *
member_object(JsonObject *o, const char *member)
{
    JsonNode *n = o ? json_object_get_member(o, member) : NULL;
    return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

/* "local-a" of "[local-a] web/web.vmdk". */
static char *
datastore_of_path(const char *path)
{
    const char *end = path && path[0] == '[' ? strchr(path, ']') : NULL;
    return end ? g_strndup(path + 1, end - path - 1) : NULL;
}

static char *
disk_datastore(JsonObject *disk)
{
    JsonObject *backing = member_object(disk, "backing");
    return datastore_of_path(backing ? json_object_get_string_member_with_default(backing, "vmdk_file", NULL) : NULL);
}

/* The datastore a request names, when the user sees it; NULL + NOT_FOUND. */
static StoreObject *
visible_datastore(Center *c, const char *user, const char *id, GError **error)
{
    g_autoptr(StoreObject) ds = id ? store_object_get(c->store, id, NULL) : NULL;
    if (!ds || !g_str_equal(ds->kind, STORE_KIND_DATASTORE) || !center_can_see(c, user, ds->id)) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "no datastore '%s'", id ? id : "");
        return NULL;
    }
    return g_steal_pointer(&ds);
}

/* Calls f for each per-disk entry of the request: key, its disk in vm_info
 * and the datastore's name. FALSE + an error for an unknown one. */
static gboolean
each_disk_target(Center *c, const char *user, JsonObject *vm_info, JsonObject *disks,
                 void (*f)(const char *key, JsonObject *disk, const char *ds, gpointer data), gpointer data,
                 GError **error)
{
    JsonObject *known = member_object(vm_info, "disks");
    g_autoptr(GList) keys = disks ? json_object_get_members(disks) : NULL;
    for (GList *l = keys; l; l = l->next) {
        JsonObject *disk = member_object(known, l->data);
        JsonObject *entry = member_object(disks, l->data);
        const char *id = entry ? json_object_get_string_member_with_default(entry, "datastore", NULL) : NULL;
        if (!disk || !id) {
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                        "disks.%s: %s", (const char *)l->data,
                        disk ? "give {\"datastore\": \"datastore-N\"}" : "the VM has no such disk");
            return FALSE;
        }
        g_autoptr(StoreObject) ds = visible_datastore(c, user, id, error);
        if (!ds)
            return FALSE;
        f(l->data, disk, ds->name, data);
    }
    return TRUE;
}

static void
add_label(const char *key, JsonObject *disk, const char *ds, gpointer data)
{
    const char *label = json_object_get_string_member_with_default(disk, "label", NULL);
    g_hash_table_replace(data, g_strdup(label ? label : key), g_strdup(ds));
}

GHashTable *
center_cold_disk_datastores(Center *c, const char *user, JsonObject *vm_info, JsonObject *disks, GError **error)
{
    if (!disks)
        return NULL;
    g_autoptr(GHashTable) map = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    if (!each_disk_target(c, user, vm_info, disks, add_label, map, error))
        return NULL;
    return g_steal_pointer(&map);
}

static void
add_key(const char *key, JsonObject *disk, const char *ds, gpointer data)
{
    json_object_set_string_member(data, key, ds);
}

/* Where each disk ends (per-disk entry, else the new home, else where it
 * is) and whether anything is copied. */
static gboolean
plan_targets(ColdMigration *m, const CenterColdRequest *req, GError **error)
{
    JsonObject *known = member_object(req->vm_info, "disks");
    g_autoptr(GList) keys = known ? json_object_get_members(known) : NULL;
    g_autofree char *home = datastore_of_path(json_object_get_string_member_with_default(req->vm_info, "vmx_path", NULL));
    m->disk_targets = json_object_new();
    m->from_datastore = g_strdup(home ? home : "?");
    m->to_datastore = g_strdup(req->datastore ? req->datastore->name : m->from_datastore);
    m->copy = g_strcmp0(m->to_datastore, m->from_datastore) != 0;
    for (GList *l = keys; l; l = l->next) {
        g_autofree char *now = disk_datastore(member_object(known, l->data));
        const char *target = req->datastore ? req->datastore->name : now;
        json_object_set_string_member(m->disk_targets, l->data, target ? target : "");
    }
    if (!each_disk_target(m->c, m->user, req->vm_info, req->disks, add_key, m->disk_targets, error))
        return FALSE;
    for (GList *l = keys; l; l = l->next) {
        g_autofree char *now = disk_datastore(member_object(known, l->data));
        m->copy |= g_strcmp0(now, json_object_get_string_member(m->disk_targets, l->data)) != 0;
    }
    if (m->copy && g_strcmp0(m->to_datastore, m->from_datastore) == 0) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_UNSUPPORTED,
                    "not built yet: a cold migration that copies disks but leaves the VM's home (.vmx) on %s; "
                    "give placement.datastore to move the home too", m->from_datastore);
        return FALSE;
    }
    return TRUE;
}

/* ---- the one-time key ------------------------------------------------------------ */

/* The copy travels between the hosts' NBD endpoints: always over TLS with a
 * key drawn for this migration and sent only in export and import. */
static gboolean
psk_generate(ColdMigration *m, GError **error)
{
    guint8 bytes[PSK_BYTES];
    int rc = gnutls_rnd(GNUTLS_RND_KEY, bytes, sizeof(bytes));
    if (rc < 0) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "cannot make the migration's key: %s", gnutls_strerror(rc));
        return FALSE;
    }
    GString *hex = g_string_sized_new(2 * PSK_BYTES);
    for (guint i = 0; i < PSK_BYTES; i++)
        g_string_append_printf(hex, "%02x", bytes[i]);
    memset(bytes, 0, sizeof(bytes));
    m->psk_key = g_string_free(hex, FALSE);
    return TRUE;
}

static void
psk_forget(ColdMigration *m)
{
    if (m->psk_key)
        memset(m->psk_key, 0, strlen(m->psk_key));
    g_clear_pointer(&m->psk_key, g_free);
}

static void
psk_add(ColdMigration *m, JsonObject *o)
{
    JsonObject *psk = json_object_new();
    g_autofree char *identity = g_strdup_printf("vireo-%s", center_task_id(m->task));
    json_object_set_string_member(psk, "identity", identity);
    json_object_set_string_member(psk, "key", m->psk_key);
    json_object_set_object_member(o, "psk", psk);
}

/* ---- the record (kept on the VM: a restarted centre settles it) ------------------- */

static JsonObject *
record_build(ColdMigration *m)
{
    JsonObject *r = json_object_new();
    const char *vmx = m->exported ? json_object_get_string_member_with_default(m->exported, "vmx_path", NULL) : NULL;
    json_object_set_string_member(r, "kind", "cold");
    json_object_set_string_member(r, "migration", m->id);
    json_object_set_string_member(r, "vm", m->vm);
    json_object_set_string_member(r, "step", m->step < COLD_N ? steps[m->step].name : "end");
    json_object_set_string_member(r, "vm_name", m->vm_name);
    json_object_set_string_member(r, "user", m->user ? m->user : "");
    json_object_set_string_member(r, "source", m->source);
    json_object_set_string_member(r, "source_name", m->source_name);
    json_object_set_string_member(r, "source_vm", m->source_vm);
    json_object_set_string_member(r, "destination", m->destination);
    json_object_set_string_member(r, "destination_name", m->destination_name);
    json_object_set_string_member(r, "from_datastore", m->from_datastore);
    json_object_set_string_member(r, "to_datastore", m->to_datastore);
    json_object_set_boolean_member(r, "copy", m->copy);
    json_object_set_boolean_member(r, "import_sent", m->import_sent);
    json_object_set_boolean_member(r, "registered", m->registered);
    if (m->destination_pool)
        json_object_set_string_member(r, "destination_pool", m->destination_pool);
    if (m->datastore)
        json_object_set_string_member(r, "datastore", m->datastore);
    if (m->destination_vm)
        json_object_set_string_member(r, "destination_vm", m->destination_vm);
    if (vmx)
        json_object_set_string_member(r, "vmx_path", vmx);
    return r;
}

static void
record_save(ColdMigration *m)
{
    g_autoptr(JsonObject) r = record_build(m);
    center_migration_record_save(m->c->store, m->vm, r);
}

/* ---- the slots: what it costs (vSphere: a copy costs like a Storage
 * vMotion on hosts and datastores, a host-only move like a vMotion) -------- */

static void
charge(MigrationDemand *d, MigrationResource resource, const char *id, const char *name, guint cost)
{
    MigrationCharge *c = (MigrationCharge *)migration_demand_find(d, resource, id);
    if (!c) {
        c = g_new0(MigrationCharge, 1);
        c->resource = resource;
        c->id = g_strdup(id);
        c->name = g_strdup(name);
        g_ptr_array_add(d->charges, c);
    }
    c->cost = MAX(c->cost, cost);
}

static void
charge_free(gpointer p)
{
    MigrationCharge *c = p;
    g_free(c->id);
    g_free(c->name);
    g_free(c);
}

static void
charge_file(ColdMigration *m, MigrationDemand *d, const char *from, const char *to)
{
    if (!from || !to || !*from || !*to)
        return;
    if (!g_str_equal(from, to)) {
        charge(d, MIGRATION_RESOURCE_DATASTORE, from, from, COLD_COST_COPY_DATASTORE);
        charge(d, MIGRATION_RESOURCE_DATASTORE, to, to, COLD_COST_COPY_DATASTORE);
    } else if (!g_str_equal(m->source, m->destination)) {
        charge(d, MIGRATION_RESOURCE_DATASTORE, from, from, COLD_COST_STAY_DATASTORE);
    }
}

static MigrationDemand *
cold_demand(ColdMigration *m, JsonObject *vm_info)
{
    MigrationDemand *d = g_new0(MigrationDemand, 1);
    guint host_cost = m->copy ? COLD_COST_COPY_HOST : COLD_COST_MOVE_HOST;
    JsonObject *known = member_object(vm_info, "disks");
    g_autoptr(GList) keys = known ? json_object_get_members(known) : NULL;
    d->kind = MIGRATION_KIND_COLD;
    d->vm_name = g_strdup(m->vm_name);
    d->charges = g_ptr_array_new_with_free_func(charge_free);
    charge(d, MIGRATION_RESOURCE_HOST, m->source, m->source_name, host_cost);
    charge(d, MIGRATION_RESOURCE_HOST, m->destination, m->destination_name, host_cost);
    charge_file(m, d, m->from_datastore, m->to_datastore);
    for (GList *l = keys; l; l = l->next) {
        g_autofree char *now = disk_datastore(member_object(known, l->data));
        charge_file(m, d, now, json_object_get_string_member_with_default(m->disk_targets, l->data, NULL));
    }
    return d;
}

/* ---- the steps ------------------------------------------------------------------- */

static JsonNode *
step_body(ColdMigration *m, ColdStep step, gboolean destination)
{
    JsonObject *o = json_object_new();
    json_object_set_string_member(o, "migration", center_task_id(m->task));
    json_object_set_string_member(o, "role", destination ? "destination" : "source");
    if (step == COLD_EXPORT) {
        json_object_set_string_member(o, "vm", m->source_vm);
        json_object_set_boolean_member(o, "copy", m->copy);
        /* A disk whose datastore does not change stays (not copied, not deleted). */
        json_object_set_object_member(o, "disks", json_object_ref(m->disk_targets));
        if (m->copy)
            psk_add(m, o);
    } else if (step == COLD_IMPORT) {
        json_object_set_string_member(o, "name", m->vm_name);
        json_object_set_string_member(o, "datastore", m->to_datastore);
        json_object_set_object_member(o, "disks", json_object_ref(m->disk_targets));
        json_object_set_object_member(o, "source", json_object_ref(m->exported));
        psk_add(m, o);
    } else if (step == COLD_COMMIT_DESTINATION && !m->copy) {
        json_object_set_string_member(o, "vmx_path",
                                      json_object_get_string_member_with_default(m->exported, "vmx_path", ""));
        json_object_set_string_member(o, "name", m->vm_name);
    } else if (step == COLD_COMMIT_SOURCE) {
        json_object_set_boolean_member(o, "remove_files", m->copy);
    }
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, o);
    return node;
}

static const char *
step_host_name(ColdMigration *m, ColdStep step)
{
    return steps[step].on_destination ? m->destination_name : m->source_name;
}

static void
step_failed(ColdMigration *m, ColdStep step, const GError *error)
{
    VireoErrorCode code = error->domain == VIREO_ERROR ? (VireoErrorCode)error->code : VIREO_ERROR_ERROR;
    g_autofree char *what = g_strdup_printf("cold migration of %s from %s/%s to %s/%s failed at step %s on %s: %s",
                                            m->vm_name, m->source_name, m->from_datastore, m->destination_name,
                                            m->to_datastore, steps[step].name, step_host_name(m, step),
                                            error->message);
    if (m->failure)
        return;
    if (m->registered && m->pending)
        m->failure = g_error_new(VIREO_ERROR, code,
                                 "%s. %s is registered on %s now; %s unregisters it and deletes its old files "
                                 "when it answers (see the events)", what, m->vm_name, m->destination_name,
                                 m->source_name);
    else if (m->registered)
        m->failure = g_error_new(VIREO_ERROR, code,
                                 "%s. %s is registered on %s now; its old files on %s must be removed by hand",
                                 what, m->vm_name, m->destination_name, m->source_name);
    else
        m->failure = g_error_new(VIREO_ERROR, code, "%s. %s stays on %s, untouched", what, m->vm_name,
                                 m->source_name);
}

static gboolean
answered(guint status)
{
    return status >= 200 && status < 500;
}

static void undo_next(ColdMigration *m);

static void
step_abort(ColdMigration *m, ColdStep step, const GError *error)
{
    step_failed(m, step, error);
    if (m->registered)
        cold_end(m);
    else
        undo_next(m);
}

static void
on_abort_reply(HostLink *link, guint status, JsonNode *answer, const GError *error, gpointer data)
{
    ColdMigration *m = data;
    if (error)
        g_warning("cold migration %s: abort: %s", m->id, error->message);
    m->pending |= !answered(status);
    undo_next(m);
}

/* The destination first (its partial copy goes), then the source (its
 * exports stop, the VM is free again). */
static void
undo_next(ColdMigration *m)
{
    while (m->undo_stage < 2) {
        gboolean destination = m->undo_stage == 0;
        m->undo_stage++;
        if (destination && !m->import_sent)
            continue;
        HostLink *link = center_host_link(m->c, destination ? m->destination : m->source, NULL);
        if (!link) {
            m->pending = TRUE;
            continue;
        }
        center_task_progress(m->task, steps[m->step].percent,
                             destination ? "abort: deleting the partial copy on the destination"
                                         : "abort: releasing the VM on the source");
        host_link_request(link, "POST", "/api/vireo/cold-migration?action=abort", step_body(m, COLD_N, destination),
                          on_abort_reply, m);
        return;
    }
    cold_end(m);
}

/* ---- the inventory and the end ----------------------------------------------------- */

static void
inventory_move(ColdMigration *m, const char *power_state)
{
    g_autoptr(JsonObject) r = record_build(m);
    center_cold_inventory_move(m->c, r, power_state);
}

static JsonNode *
cold_result(ColdMigration *m)
{
    JsonObject *o = json_object_new();
    json_object_set_string_member(o, "kind", "COLD");
    json_object_set_string_member(o, "source_host", m->source);
    json_object_set_string_member(o, "destination_host", m->destination);
    json_object_set_string_member(o, "datastore", m->to_datastore);
    json_object_set_boolean_member(o, "files_copied", m->copy);
    json_object_set_int_member(o, "copied_bytes", m->copy ? m->total : 0);
    json_object_set_int_member(o, "copy_time_ms", m->copy_ms);
    json_object_set_int_member(o, "elapsed_ms", (g_get_monotonic_time() - m->started_us) / 1000);
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, o);
    return node;
}

static void
cold_end(ColdMigration *m)
{
    const char *task = center_task_id(m->task);
    if (m->failure) {
        center_event(m->c, m->user, m->vm, "VmFailedRelocateEvent", TRUE, task, "%s", m->failure->message);
        center_task_fail(m->task, m->failure);
    } else {
        center_event(m->c, m->user, m->vm, "VmRelocatedEvent", FALSE, task,
                     "relocated from %s/%s to %s/%s (cold): %" G_GINT64_FORMAT " MiB copied in %.1f s",
                     m->source_name, m->from_datastore, m->destination_name, m->to_datastore,
                     m->copy ? m->total >> 20 : 0, m->copy_ms / 1000.0);
        center_task_succeed(m->task, 200, cold_result(m));
    }
    g_hash_table_remove(running, m->id);
    center_migration_release(m->c, g_steal_pointer(&m->demand));
    if (m->pending) {
        /* A host did not answer: asked again until it does (the VM stays locked). */
        g_autoptr(JsonObject) r = record_build(m);
        center_cold_settle(m->c, r, FALSE);
    } else {
        center_migration_record_clear(m->c->store, m->vm);
        center_vm_unlock(m->c, m->vm);
    }
    cold_free(m);
}

/* ---- answers ------------------------------------------------------------------------ */

static gboolean
poll_status(gpointer data)
{
    ColdMigration *m = data;
    m->timer = 0;
    step_send(m, COLD_COPY);
    return G_SOURCE_REMOVE;
}

/* A status answer: progress while copying; TRUE once verified. */
static gboolean
copy_progress(ColdMigration *m, JsonObject *o)
{
    const char *state = json_object_get_string_member_with_default(o, "state", "");
    const char *phase = json_object_get_string_member_with_default(o, "phase", "");
    m->copied = json_object_get_int_member_with_default(o, "copied_bytes", 0);
    m->total = json_object_get_int_member_with_default(o, "total_bytes", m->total);
    if (g_str_equal(state, "VERIFIED")) {
        m->copy_ms = (g_get_monotonic_time() - m->copy_started_us) / 1000;
        return TRUE;
    }
    int percent = 10 + (int)(m->total > 0 ? 80 * MIN(m->copied, m->total) / m->total : 0);
    g_autofree char *msg = g_strdup_printf("copy: %s: %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " MiB copied",
                                           phase, m->copied >> 20, m->total >> 20);
    center_task_progress(m->task, percent, msg);
    m->timer = g_timeout_add(POLL_MS, poll_status, m);
    return FALSE;
}

static void
on_reply(HostLink *link, guint status, JsonNode *answer, const GError *error, gpointer data)
{
    ColdMigration *m = data;
    JsonObject *o = answer && JSON_NODE_HOLDS_OBJECT(answer) ? json_node_get_object(answer) : NULL;
    ColdStep step = m->step;

    g_autoptr(GError) own = NULL;
    if (step == COLD_COMMIT_SOURCE && error && !answered(status))
        m->pending = TRUE;   /* asked again: the source unregisters and deletes when it answers */
    if (step == COLD_COMMIT_SOURCE && status == 404)
        error = NULL;        /* nothing of it left there (e.g. a repeated commit) */
    if (!error && m->cancel_requested && step < COLD_COMMIT_DESTINATION)
        error = own = g_error_new(VIREO_ERROR, VIREO_ERROR_ERROR, "cancelled by the user");
    if (!error && !o && step != COLD_COMMIT_SOURCE)
        error = own = g_error_new(VIREO_ERROR, VIREO_ERROR_UNEXPECTED_INPUT, "the host's answer is not an object");
    if (!error && step == COLD_COMMIT_DESTINATION && !json_object_get_string_member_with_default(o, "vm", NULL))
        error = own = g_error_new(VIREO_ERROR, VIREO_ERROR_UNEXPECTED_INPUT, "the host's answer has no \"vm\"");
    if (error) {
        step_abort(m, step, error);
        return;
    }
    switch (step) {
    case COLD_EXPORT:
        m->exported = json_object_ref(o);
        step_send(m, m->copy ? COLD_IMPORT : COLD_COMMIT_DESTINATION);
        return;
    case COLD_IMPORT:
        m->total = json_object_get_int_member_with_default(o, "total_bytes", 0);
        m->copy_started_us = g_get_monotonic_time();
        step_send(m, COLD_COPY);
        return;
    case COLD_COPY:
        if (copy_progress(m, o))
            step_send(m, COLD_COMMIT_DESTINATION);
        return;
    case COLD_COMMIT_DESTINATION:
        m->registered = TRUE;
        m->destination_vm = g_strdup(json_object_get_string_member(o, "vm"));
        psk_forget(m);
        inventory_move(m, json_object_get_string_member_with_default(o, "power_state", NULL));
        step_send(m, COLD_COMMIT_SOURCE);
        return;
    default:
        cold_end(m);
    }
}

static void
step_send(ColdMigration *m, ColdStep step)
{
    gboolean destination = steps[step].on_destination;
    g_autoptr(GError) error = NULL;
    HostLink *link = center_host_link(m->c, destination ? m->destination : m->source, &error);

    m->step = step;
    if (!link && step == COLD_COMMIT_SOURCE)
        m->pending = TRUE;
    if (!link) {
        step_abort(m, step, error);
        return;
    }
    if (m->cancel_requested && step < COLD_COMMIT_DESTINATION) {
        g_autoptr(GError) e = g_error_new(VIREO_ERROR, VIREO_ERROR_ERROR, "cancelled by the user");
        step_abort(m, step, e);
        return;
    }
    if (step != COLD_COPY)
        center_task_progress(m->task, steps[step].percent, steps[step].doing);
    if (step == COLD_IMPORT)
        m->import_sent = TRUE;
    if (step != COLD_COPY)
        record_save(m);   /* durable before the host acts on the step */
    g_autofree char *path = g_strdup_printf("/api/vireo/cold-migration?action=%s", steps[step].action);
    host_link_request(link, "POST", path, step_body(m, step, destination), on_reply, m);
}

/* ---- the start ----------------------------------------------------------------------- */

/* Its turn in center-migrate.c's queue came (demand charged), or the user
 * cancelled it while it waited (demand NULL). */
static void
on_slots(gpointer data, MigrationDemand *demand)
{
    ColdMigration *m = data;
    if (!running)
        running = g_hash_table_new(g_str_hash, g_str_equal);
    g_hash_table_insert(running, m->id, m);
    if (!demand) {
        m->failure = g_error_new(VIREO_ERROR, VIREO_ERROR_ERROR, "cold migration of %s cancelled by the user while "
                                 "it waited in the queue. %s stays on %s, untouched", m->vm_name, m->vm_name,
                                 m->source_name);
        cold_end(m);
        return;
    }
    m->demand = demand;
    m->started_us = g_get_monotonic_time();
    step_send(m, COLD_EXPORT);
}

void
center_cold_migration_start(Center *c, ApiRequest *request, const CenterColdRequest *req)
{
    g_autoptr(GError) error = NULL;
    ColdMigration *m = g_new0(ColdMigration, 1);
    *m = (ColdMigration){
        .c = c, .vm = g_strdup(req->vm->id), .vm_name = g_strdup(req->vm->name),
        .user = g_strdup(api_request_user(request)), .source = g_strdup(req->source->id),
        .source_name = g_strdup(req->source->name), .source_vm = g_strdup(req->source_vm),
        .destination = g_strdup(req->destination->id), .destination_name = g_strdup(req->destination->name),
        .destination_pool = g_strdup(req->destination_pool),
        .datastore = req->datastore ? g_strdup(req->datastore->id) : NULL,
        .started_us = g_get_monotonic_time(),
    };
    if (!plan_targets(m, req, &error) || (m->copy && !psk_generate(m, &error))) {
        center_vm_unlock(c, m->vm);
        api_request_reply_error(request, error);
        cold_free(m);
        return;
    }
    m->task = center_task_begin(c, request, "vm.relocate.cold", "VirtualMachine", m->vm);
    if (!m->task) {
        center_vm_unlock(c, m->vm);
        cold_free(m);
        return;
    }
    center_vm_lock_set_task(c, m->vm, m->task);
    m->id = g_strdup(center_task_id(m->task));
    center_migrations_init(c);
    center_migration_enqueue(c, m->task, cold_demand(m, req->vm_info), on_slots, m);
}

/* ---- cancel by the user ------------------------------------------------------------ */

gboolean
center_cold_migration_cancel(Center *c, const char *task, GError **error)
{
    ColdMigration *m = running ? g_hash_table_lookup(running, task) : NULL;
    if (!m || m->failure) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                    "task %s is not a running migration; it cannot be cancelled", task);
        return FALSE;
    }
    if (m->registered || m->step >= COLD_COMMIT_DESTINATION) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                    "too late to cancel %s: %s is being registered on %s", task, m->vm_name, m->destination_name);
        return FALSE;
    }
    m->cancel_requested = TRUE;
    center_task_progress(m->task, steps[m->step].percent, "cancelling (requested by the user)");
    if (m->timer) {
        /* Between two polls of the copy: undone now (the destination's
         * abort kills qemu-img and deletes the partial copy). */
        g_autoptr(GError) e = g_error_new(VIREO_ERROR, VIREO_ERROR_ERROR, "cancelled by the user");
        g_clear_handle_id(&m->timer, g_source_remove);
        step_abort(m, m->step, e);
    }
    return TRUE;
}
