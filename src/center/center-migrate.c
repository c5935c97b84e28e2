/* center-migrate.c — runs an accepted vMotion: waits for concurrency slots,
 * drives the five host steps of docs/migration.md through the host links,
 * records them in the task, undoes a failed attempt and moves the VM in the
 * inventory once the destination runs it.
 *
 * Invariant: at most one copy of the VM runs; until the destination has
 * finished, any failure leaves (or brings back) the guest on the source.
 *
 *   QUEUED --slots--> BEGIN --> PREPARE --> PERFORM --> FINISH --> CONFIRM --> SUCCEEDED
 *                       |          |           |           |           |
 *                       +----------+-----------+-----------+           +--> FAILED, VM on the
 *                                  | fail                                   destination (source
 *                                  v                                        not cleaned)
 *                     UNDO: cancel destination (if prepare was sent),
 *                           cancel source --> FAILED, VM on the source
 *
 *   slots free           → pump() → step_send(BEGIN)
 *   step answered        → on_step_reply() → step_done() → next step
 *   step failed          → undo_next() (one cancel after the other) → migration_end()
 *   finish answered      → inventory_move() (the VM is the destination's now)
 *   any end              → migration_end(): task, event, slots, VM lock, next queued
 *
 * Encryption: unless the VM's mode is disabled, each attempt gets a
 * one-time random key, sent to the destination in prepare and to the source
 * in perform (over the hosts' authenticated links) and nowhere else: not
 * in the task, events or logs. A destination whose prepare answer does not
 * say "encrypted" fails a required migration; an opportunistic one then
 * runs in clear.
 */
#include "center-migrate.h"

#include "json-util.h"
#include "vireo-error.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>

#define PSK_BYTES 32

struct CenterMigrations {
    MigrationCosts *costs;
    MigrationQueue *queue;
    GPtrArray *waiting;          /* Migration* queued, in order (borrowed) */
    GHashTable *performing;      /* source host id -> number of performs in flight */
    guint pump_idle;
};

typedef enum {
    STEP_BEGIN,
    STEP_PREPARE,
    STEP_PERFORM,
    STEP_FINISH,
    STEP_CONFIRM,
    STEP_N,
} Step;

/* What each step is sent with and how far the task is when it starts (the
 * memory copy is most of the time; perform answers only at its end). */
static const struct {
    const char *action;
    gboolean on_destination;
    int percent;
    const char *doing;
} steps[STEP_N] = {
    [STEP_BEGIN] = { "begin", FALSE, 5, "begin: holding the VM on the source" },
    [STEP_PREPARE] = { "prepare", TRUE, 15, "prepare: starting the receiving VM on the destination" },
    [STEP_PERFORM] = { "perform", FALSE, 20, "perform: copying memory, then switching over" },
    [STEP_FINISH] = { "finish", TRUE, 95, "finish: the destination takes the VM" },
    [STEP_CONFIRM] = { "confirm", FALSE, 98, "confirm: stopping the paused copy on the source" },
};

typedef struct {
    Center *c;
    CenterMigrationSpec spec;
    CenterTask *task;
    MigrationDemand *demand;     /* while queued: the queue's; then ours (charged) */
    Step step;
    gboolean prepare_sent;
    gboolean finished;           /* the destination runs the VM */
    char *vmx_path;              /* begin's answer */
    char *destination_vm;        /* prepare's answer */
    char *uri;
    JsonNode *stats;             /* perform's answer */
    gint64 started_us;
    GError *failure;
    int undo_stage;              /* 0: destination next, 1: source next, 2: done */
    char *psk_key;               /* hex; NULL: in clear (disabled, or no destination TLS) */
    gboolean encrypted;          /* the destination listens for TLS with psk_key */
} Migration;

static void step_send(Migration *m, Step step);
static void step_failed(Migration *m, Step step, const GError *error);
static void migration_end(Migration *m);

void
center_migration_spec_clear(CenterMigrationSpec *spec)
{
    g_clear_pointer(&spec->vm, g_free);
    g_clear_pointer(&spec->vm_name, g_free);
    g_clear_pointer(&spec->user, g_free);
    g_clear_pointer(&spec->source, g_free);
    g_clear_pointer(&spec->source_name, g_free);
    g_clear_pointer(&spec->source_vm, g_free);
    g_clear_pointer(&spec->destination, g_free);
    g_clear_pointer(&spec->destination_name, g_free);
    g_clear_pointer(&spec->destination_pool, g_free);
}

void
center_migrations_init(Center *c)
{
    if (c->migrations)
        return;
    c->migrations = g_new0(struct CenterMigrations, 1);
    c->migrations->costs = migration_costs_new(NULL);
    c->migrations->queue = migration_queue_new();
    c->migrations->waiting = g_ptr_array_new();
    c->migrations->performing = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
}

/* ---- the one-time key ------------------------------------------------------ */

static void
psk_forget(Migration *m)
{
    if (m->psk_key)
        memset(m->psk_key, 0, strlen(m->psk_key));
    g_clear_pointer(&m->psk_key, g_free);
}

/* A fresh key for an attempt; FALSE (with the error) when the system's
 * random generator fails: then no migration, encrypted or not. */
static gboolean
psk_generate(Migration *m, GError **error)
{
    guint8 bytes[PSK_BYTES];
    int rc = gnutls_rnd(GNUTLS_RND_KEY, bytes, sizeof(bytes));
    if (rc < 0) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "cannot make the migration's key: %s",
                    gnutls_strerror(rc));
        return FALSE;
    }
    GString *hex = g_string_sized_new(2 * PSK_BYTES);
    for (guint i = 0; i < PSK_BYTES; i++)
        g_string_append_printf(hex, "%02x", bytes[i]);
    memset(bytes, 0, sizeof(bytes));
    psk_forget(m);
    m->psk_key = g_string_free(hex, FALSE);
    return TRUE;
}

static void
psk_add(Migration *m, JsonObject *o)
{
    JsonObject *psk = json_object_new();
    g_autofree char *identity = g_strdup_printf("vireo-%s", center_task_id(m->task));
    json_object_set_string_member(psk, "identity", identity);
    json_object_set_string_member(psk, "key", m->psk_key);
    json_object_set_object_member(o, "psk", psk);
}

static void
migration_free(Migration *m)
{
    center_migration_spec_clear(&m->spec);
    if (m->demand)
        migration_demand_free(m->demand);
    g_free(m->vmx_path);
    g_free(m->destination_vm);
    g_free(m->uri);
    if (m->stats)
        json_node_unref(m->stats);
    g_clear_error(&m->failure);
    psk_forget(m);
    g_free(m);
}

/* ---- the queue ------------------------------------------------------------ */

static void
migration_start(Migration *m)
{
    g_autoptr(GError) error = NULL;
    if (m->spec.encryption != MIGRATION_ENCRYPTION_DISABLED && !psk_generate(m, &error)) {
        m->step = STEP_BEGIN;
        step_failed(m, STEP_BEGIN, error);
        migration_end(m);
        return;
    }
    step_send(m, STEP_BEGIN);
}

static void
pump(Center *c)
{
    struct CenterMigrations *ms = c->migrations;
    MigrationDemand *demand = NULL;
    Migration *m;

    while ((m = migration_queue_next_startable(ms->queue, ms->costs, &demand))) {
        g_ptr_array_remove(ms->waiting, m);
        m->demand = demand;
        m->started_us = g_get_monotonic_time();
        migration_start(m);
    }
    for (guint i = 0; i < ms->waiting->len; i++) {
        Migration *w = g_ptr_array_index(ms->waiting, i);
        g_autofree char *why = migration_queue_describe(ms->queue, ms->costs, w);
        center_task_progress(w->task, 0, why);
    }
}

static gboolean
pump_idle(gpointer data)
{
    Center *c = data;
    c->migrations->pump_idle = 0;
    pump(c);
    return G_SOURCE_REMOVE;
}

void
center_migration_submit(Center *c, CenterMigrationSpec *spec, MigrationDemand *demand,
                        CenterTask *task)
{
    Migration *m = g_new0(Migration, 1);
    m->c = c;
    m->spec = *spec;
    memset(spec, 0, sizeof(*spec));
    m->task = task;
    g_ptr_array_add(c->migrations->waiting, m);
    migration_queue_push(c->migrations->queue, demand, m);
    pump(c);
}

/* ---- the perform timeout -------------------------------------------------- */

/* The memory copy answers only at its end, so the source link waits longer
 * than for an ordinary request while any perform is in flight on it. */
static void
perform_timeout(Center *c, const char *host, gboolean starting)
{
    GHashTable *t = c->migrations->performing;
    guint n = GPOINTER_TO_UINT(g_hash_table_lookup(t, host));
    HostLink *link = center_host_link(c, host, NULL);

    n = starting ? n + 1 : (n ? n - 1 : 0);
    if (n)
        g_hash_table_replace(t, g_strdup(host), GUINT_TO_POINTER(n));
    else
        g_hash_table_remove(t, host);
    if (link)
        host_link_set_request_timeout(link, n ? CENTER_MIGRATION_PERFORM_TIMEOUT_S
                                              : HOST_LINK_DEFAULT_REQUEST_TIMEOUT_S);
}

/* ---- the steps ------------------------------------------------------------ */

static JsonNode *
step_body(Migration *m, Step step)
{
    JsonObject *o = json_object_new();
    json_object_set_string_member(o, "migration", center_task_id(m->task));
    switch (step) {
    case STEP_BEGIN:
        json_object_set_string_member(o, "vm", m->spec.source_vm);
        break;
    case STEP_PREPARE:
        json_object_set_string_member(o, "vmx_path", m->vmx_path);
        json_object_set_string_member(o, "name", m->spec.vm_name);
        if (m->psk_key)
            psk_add(m, o);
        break;
    case STEP_PERFORM:
        json_object_set_string_member(o, "uri", m->uri);
        json_object_set_int_member(o, "downtime_ms", CENTER_MIGRATION_DOWNTIME_MS);
        if (m->encrypted)
            psk_add(m, o);
        break;
    default:
        break;
    }
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, o);
    return node;
}

/* A failure of a step, named for the user: which step, on which host, and
 * where the VM runs now. */
static void
step_failed(Migration *m, Step step, const GError *error)
{
    const char *side = steps[step].on_destination ? m->spec.destination_name : m->spec.source_name;
    VireoErrorCode code = error->domain == VIREO_ERROR ? (VireoErrorCode)error->code : VIREO_ERROR_ERROR;
    g_autofree char *what = g_strdup_printf("vMotion of %s from %s to %s failed at step %s on %s: %s",
                                            m->spec.vm_name, m->spec.source_name,
                                            m->spec.destination_name, steps[step].action, side,
                                            error->message);
    if (m->failure)
        return;
    if (m->finished)
        m->failure = g_error_new(VIREO_ERROR, code,
                                 "%s. %s runs on %s, but its paused copy on %s must be cleaned: "
                                 "%s stops it when it sees the VM runs elsewhere",
                                 what, m->spec.vm_name, m->spec.destination_name,
                                 m->spec.source_name, m->spec.source_name);
    else
        m->failure = g_error_new(VIREO_ERROR, code, "%s. %s still runs on %s", what,
                                 m->spec.vm_name, m->spec.source_name);
}

static void undo_next(Migration *m);

/* Ends a failed step: before the destination took the VM, both sides are
 * cancelled; after, there is nothing to undo (the VM lives there). */
static void
step_abort(Migration *m, Step step, const GError *error)
{
    step_failed(m, step, error);
    if (m->finished)
        migration_end(m);
    else
        undo_next(m);
}

static void
on_cancel_reply(HostLink *link, guint status, JsonNode *answer, const GError *error, gpointer data)
{
    Migration *m = data;
    if (error)
        g_warning("migration %s: cancel on %s: %s", center_task_id(m->task),
                  m->undo_stage == 1 ? m->spec.destination_name : m->spec.source_name, error->message);
    undo_next(m);
}

/* Undoes a failed attempt, one side after the other: the destination first
 * (its incoming QEMU must be gone before the source resumes the guest). The
 * destination is cancelled whenever prepare was sent: a prepare that timed
 * out may still have started QEMU there. */
static void
undo_next(Migration *m)
{
    while (m->undo_stage < 2) {
        gboolean destination = m->undo_stage == 0;
        m->undo_stage++;
        if (destination && !m->prepare_sent)
            continue;
        HostLink *link = center_host_link(m->c, destination ? m->spec.destination : m->spec.source, NULL);
        if (!link)
            continue;
        center_task_progress(m->task, steps[m->step].percent,
                             destination ? "cancel: stopping the receiving VM on the destination"
                                         : "cancel: resuming the VM on the source");
        host_link_request(link, "POST", "/api/vireo/migration?action=cancel", step_body(m, STEP_N),
                          on_cancel_reply, m);
        return;
    }
    migration_end(m);
}

/* The VM is the destination's from the moment it finished: the inventory
 * says so at once. A reconcile of the destination that ran between prepare
 * and finish saw the incoming VM as a new one; that duplicate goes. */
static void
inventory_move(Migration *m)
{
    Store *store = m->c->store;
    g_autoptr(GError) error = NULL;
    g_autofree char *dup = store_vm_find_by_host_ref(store, m->spec.destination, m->destination_vm, NULL);
    JsonObject *o = json_object_new();

    json_object_set_string_member(o, STORE_ATTR_VM_HOST, m->spec.destination);
    json_object_set_string_member(o, STORE_ATTR_VM_HOST_REF, m->destination_vm);
    json_object_set_string_member(o, "power_state", "POWERED_ON");
    if (m->spec.destination_pool)
        json_object_set_string_member(o, STORE_ATTR_VM_RESOURCE_POOL, m->spec.destination_pool);
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, o);
    g_autofree char *attrs = json_util_to_string(node, FALSE);
    if (dup && !g_str_equal(dup, m->spec.vm)) {
        g_message("migration %s: %s was also imported as %s by a reconcile; removed",
                  center_task_id(m->task), m->spec.vm, dup);
        store_object_delete(store, dup, TRUE, NULL);
    }
    if (!store_object_set_attrs(store, m->spec.vm, attrs, TRUE, &error))
        g_warning("migration %s: the inventory still places %s on %s: %s", center_task_id(m->task),
                  m->spec.vm, m->spec.source_name, error->message);
}

static gint64
stat_of(JsonNode *stats, const char *member)
{
    if (!stats || !JSON_NODE_HOLDS_OBJECT(stats))
        return -1;
    return json_object_get_int_member_with_default(json_node_get_object(stats), member, -1);
}

static void
migrated_event(Migration *m)
{
    gint64 bytes = stat_of(m->stats, "transferred_bytes");
    center_event(m->c, m->spec.user, m->spec.vm, "VmMigratedEvent", FALSE, center_task_id(m->task),
                 "migrated from %s to %s with vMotion (%s): memory copied in %" G_GINT64_FORMAT
                 " ms, downtime %" G_GINT64_FORMAT " ms, %" G_GINT64_FORMAT " MiB transferred",
                 m->spec.source_name, m->spec.destination_name, m->encrypted ? "encrypted" : "not encrypted",
                 stat_of(m->stats, "total_time_ms"), stat_of(m->stats, "downtime_ms"),
                 bytes < 0 ? -1 : bytes / (1024 * 1024));
}

/* After prepare: a required migration stops when the destination did not
 * take the key; an opportunistic one goes on in clear. */
static gboolean
encryption_settled(Migration *m)
{
    if (!m->psk_key || m->encrypted)
        return TRUE;
    if (m->spec.encryption == MIGRATION_ENCRYPTION_REQUIRED) {
        g_autoptr(GError) error = g_error_new(VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                                              "the destination cannot encrypt the migration, "
                                              "and the VM requires encrypted vMotion");
        step_abort(m, STEP_PREPARE, error);
        return FALSE;
    }
    g_message("migration %s: %s did not take the key; copying in clear (opportunistic)",
              center_task_id(m->task), m->spec.destination_name);
    psk_forget(m);
    return TRUE;
}

/* Takes a step's answer; FALSE (and the migration aborted) when it lacks
 * what the next step needs. */
static gboolean
step_take_answer(Migration *m, Step step, JsonNode *answer)
{
    JsonObject *o = answer && JSON_NODE_HOLDS_OBJECT(answer) ? json_node_get_object(answer) : NULL;
    const char *missing = NULL;

    if (step == STEP_BEGIN) {
        m->vmx_path = g_strdup(o ? json_object_get_string_member_with_default(o, "vmx_path", NULL) : NULL);
        missing = m->vmx_path ? NULL : "vmx_path";
    } else if (step == STEP_PREPARE) {
        m->destination_vm = g_strdup(o ? json_object_get_string_member_with_default(o, "vm", NULL) : NULL);
        m->uri = g_strdup(o ? json_object_get_string_member_with_default(o, "uri", NULL) : NULL);
        missing = !m->destination_vm ? "vm" : !m->uri ? "uri" : NULL;
        m->encrypted = m->psk_key && o && json_object_get_boolean_member_with_default(o, "encrypted", FALSE);
        if (!missing && !encryption_settled(m))
            return FALSE;
    } else if (step == STEP_PERFORM) {
        m->stats = o ? json_node_copy(answer) : json_node_new(JSON_NODE_OBJECT);
        if (!o)
            json_node_take_object(m->stats, json_object_new());
    }
    if (missing) {
        g_autoptr(GError) error = g_error_new(VIREO_ERROR, VIREO_ERROR_UNEXPECTED_INPUT,
                                              "the host's answer has no \"%s\"", missing);
        step_abort(m, step, error);
    }
    return missing == NULL;
}

static void
on_step_reply(HostLink *link, guint status, JsonNode *answer, const GError *error, gpointer data)
{
    Migration *m = data;
    Step step = m->step;

    if (step == STEP_PERFORM)
        perform_timeout(m->c, m->spec.source, FALSE);
    if (error) {
        step_abort(m, step, error);
        return;
    }
    if (!step_take_answer(m, step, answer))
        return;
    if (step == STEP_FINISH) {
        m->finished = TRUE;
        inventory_move(m);
        migrated_event(m);
    }
    if (step == STEP_CONFIRM) {
        migration_end(m);
        return;
    }
    if (step == STEP_PERFORM) {
        g_autofree char *done = g_strdup_printf("perform: switched over after %" G_GINT64_FORMAT
                                                " ms, downtime %" G_GINT64_FORMAT " ms",
                                                stat_of(m->stats, "total_time_ms"),
                                                stat_of(m->stats, "downtime_ms"));
        center_task_progress(m->task, 90, done);
    }
    step_send(m, step + 1);
}

static void
step_send(Migration *m, Step step)
{
    const char *host = steps[step].on_destination ? m->spec.destination : m->spec.source;
    g_autoptr(GError) error = NULL;
    HostLink *link = center_host_link(m->c, host, &error);

    m->step = step;
    if (!link) {
        step_abort(m, step, error);
        return;
    }
    center_task_progress(m->task, steps[step].percent, steps[step].doing);
    if (step == STEP_PREPARE)
        m->prepare_sent = TRUE;
    if (step == STEP_PERFORM)
        perform_timeout(m->c, host, TRUE);
    g_autofree char *path = g_strdup_printf("/api/vireo/migration?action=%s", steps[step].action);
    host_link_request(link, "POST", path, step_body(m, step), on_step_reply, m);
}

/* ---- the end -------------------------------------------------------------- */

/* The task's result: perform's statistics, with the hosts and the time of
 * all five steps. */
static JsonNode *
migration_result(Migration *m)
{
    JsonNode *node = json_node_copy(m->stats);
    JsonObject *o = json_node_get_object(node);
    json_object_set_string_member(o, "source_host", m->spec.source);
    json_object_set_string_member(o, "destination_host", m->spec.destination);
    json_object_set_int_member(o, "elapsed_ms", (g_get_monotonic_time() - m->started_us) / 1000);
    return node;
}

static void
migration_end(Migration *m)
{
    Center *c = m->c;
    struct CenterMigrations *ms = c->migrations;

    if (m->failure) {
        center_event(c, m->spec.user, m->spec.vm, "VmFailedMigrateEvent", TRUE, center_task_id(m->task),
                     "%s", m->failure->message);
        center_task_fail(m->task, m->failure);
    } else {
        center_task_succeed(m->task, 200, migration_result(m));
    }
    m->task = NULL;
    center_vm_unlock(c, m->spec.vm);
    if (m->demand)
        migration_costs_finish(ms->costs, m->demand);
    /* Not from here: the next migration may start (and fail) at once. */
    if (!ms->pump_idle)
        ms->pump_idle = g_idle_add(pump_idle, c);
    migration_free(m);
}
