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
#include "center-storage-migrate.h"
#include "center-migrate-nbd.h"
#include "center-cold-migrate.h"

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
    GHashTable *running;         /* migration id -> Migration* started, not ended (borrowed) */
    GPtrArray *pending;          /* Migration* whose end waits for a host to answer */
    guint retry_timer;
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
    char *id;                    /* the migration's id: its task's */
    gboolean destination_clean;  /* the destination answered its cancel: no copy runs there */
    gboolean pending;            /* a host did not answer the undo: retried until it does */
    gboolean recovered;          /* taken from its record after a restart: no task */
    gboolean cancel_requested;   /* the user cancelled the task */
    gboolean source_settled;     /* the source answered its cancel: the guest runs there */
    gboolean reported;           /* the task and the event say how it ended */
    gboolean unlocked;           /* the VM's lock is released */
    gboolean retrying;           /* a pending one being asked again */
    /* Another kind queued for the same slots (center_migration_enqueue):
     * only its task and demand are used here. */
    CenterMigrationStart external;
    gpointer external_data;
} Migration;

static void step_send(Migration *m, Step step);
static void step_failed(Migration *m, Step step, const GError *error);
static void migration_end(Migration *m);
static void migrations_recover(Center *c);
static void record_save(Migration *m);
static void progress(Migration *m, int percent, const char *message);

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
    g_clear_pointer(&spec->datastore, g_free);
    g_clear_pointer(&spec->datastore_name, g_free);
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
    c->migrations->running = g_hash_table_new(g_str_hash, g_str_equal);
    c->migrations->pending = g_ptr_array_new();
    migrations_recover(c);
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
    g_autofree char *identity = g_strdup_printf("vireo-%s", m->id);
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
    center_nbd_forget(m->id);
    g_free(m->id);
    g_free(m);
}

/* ---- the queue ------------------------------------------------------------ */

static void
migration_start(Migration *m)
{
    g_autoptr(GError) error = NULL;
    g_hash_table_insert(m->c->migrations->running, m->id, m);
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
        if (m->external) {
            m->external(m->external_data, demand);
            migration_free(m);
            continue;
        }
        m->demand = demand;
        m->started_us = g_get_monotonic_time();
        migration_start(m);
    }
    for (guint i = 0; i < ms->waiting->len; i++) {
        Migration *w = g_ptr_array_index(ms->waiting, i);
        g_autofree char *why = migration_queue_describe(ms->queue, ms->costs, w);
        progress(w, 0, why);
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
    m->id = g_strdup(center_task_id(task));
    g_ptr_array_add(c->migrations->waiting, m);
    migration_queue_push(c->migrations->queue, demand, m);
    pump(c);
}

void
center_migration_enqueue(Center *c, CenterTask *task, MigrationDemand *demand, CenterMigrationStart start,
                         gpointer data)
{
    Migration *m = g_new0(Migration, 1);
    m->c = c;
    m->task = task;
    m->id = g_strdup(center_task_id(task));
    m->external = start;
    m->external_data = data;
    g_ptr_array_add(c->migrations->waiting, m);
    migration_queue_push(c->migrations->queue, demand, m);
    pump(c);
}

void
center_migration_release(Center *c, MigrationDemand *demand)
{
    struct CenterMigrations *ms = c->migrations;
    if (!demand)
        return;
    migration_costs_finish(ms->costs, demand);
    migration_demand_free(demand);
    if (!ms->pump_idle)
        ms->pump_idle = g_idle_add(pump_idle, c);
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
    json_object_set_string_member(o, "migration", m->id);
    switch (step) {
    case STEP_BEGIN:
        json_object_set_string_member(o, "vm", m->spec.source_vm);
        center_nbd_begin_body(&m->spec, o);
        break;
    case STEP_PREPARE:
        json_object_set_string_member(o, "vmx_path", m->vmx_path);
        json_object_set_string_member(o, "name", m->spec.vm_name);
        if (m->psk_key)
            psk_add(m, o);
        json_object_set_object_member(o, "policy", migration_policy_to_json(&m->spec.policy));
        center_nbd_prepare_body(&m->spec, m->id, o);
        break;
    case STEP_PERFORM:
        json_object_set_string_member(o, "uri", m->uri);
        json_object_set_int_member(o, "downtime_ms", m->spec.policy.downtime_ms);
        json_object_set_object_member(o, "policy", migration_policy_to_json(&m->spec.policy));
        if (m->encrypted)
            psk_add(m, o);
        center_nbd_perform_body(&m->spec, m->id, o);
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
    /* Where the VM runs is added when the migration ends (failure_message). */
    if (!m->failure)
        m->failure = g_error_new(VIREO_ERROR, code, "%s", what);
}

static void undo_next(Migration *m);

/* Ends a failed step: before the destination took the VM, both sides are
 * cancelled; after, there is nothing to undo (the VM lives there). */
static void
step_abort(Migration *m, Step step, const GError *error)
{
    if (m->finished) {
        /* The VM runs on the destination: only the source's paused copy is
         * left, stopped when the source answers (asked again). */
        g_warning("migration %s: %s on %s: %s (asked again later)", m->id, steps[step].action,
                  m->spec.source_name, error->message);
        m->pending = TRUE;
        migration_end(m);
        return;
    }
    step_failed(m, step, error);
    undo_next(m);
}

/* The destination's answer to cancel decides: 204 — no copy of the guest
 * runs there (killed, or never started), so the source may resume it;
 * 400 — the copy completed and the guest runs there: the migration goes
 * forward (finish, confirm) instead of back. A host that does not answer
 * leaves the migration pending: retried until it does (retry_pending), the
 * source never resuming a completed copy meanwhile. */
static void
on_cancel_reply(HostLink *link, guint status, JsonNode *answer, const GError *error, gpointer data)
{
    Migration *m = data;
    gboolean destination = m->undo_stage == 1;
    gboolean answered = status >= 200 && status < 500;
    if (error)
        g_warning("migration %s: cancel on %s: %s", m->id,
                  destination ? m->spec.destination_name : m->spec.source_name, error->message);
    if (!answered) {
        m->pending = TRUE;
    } else if (destination && error) {
        g_message("migration %s: %s runs on %s already; finishing the migration instead", m->id,
                  m->spec.vm_name, m->spec.destination_name);
        g_clear_error(&m->failure);
        step_send(m, STEP_FINISH);
        return;
    } else if (destination) {
        m->destination_clean = TRUE;
    } else if (error) {
        m->pending = TRUE;   /* the source's copy completed: it waits for the destination's answer */
    } else {
        m->source_settled = TRUE;
    }
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
        if (destination && (!m->prepare_sent || m->destination_clean))
            continue;
        if (!destination && m->source_settled)
            continue;
        HostLink *link = center_host_link(m->c, destination ? m->spec.destination : m->spec.source, NULL);
        if (!link) {
            m->pending = TRUE;
            continue;
        }
        progress(m, steps[m->step].percent,
                 destination ? "cancel: stopping the receiving VM on the destination"
                             : "cancel: resuming the VM on the source");
        JsonNode *body = step_body(m, STEP_N);
        if (!destination && m->destination_clean)
            json_object_set_boolean_member(json_node_get_object(body), "destination_clean", TRUE);
        host_link_request(link, "POST", "/api/vireo/migration?action=cancel", body, on_cancel_reply, m);
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
    center_nbd_inventory(&m->spec, o);
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, o);
    g_autofree char *attrs = json_util_to_string(node, FALSE);
    if (dup && !g_str_equal(dup, m->spec.vm)) {
        g_message("migration %s: %s was also imported as %s by a reconcile; removed",
                  m->id, m->spec.vm, dup);
        store_object_delete(store, dup, TRUE, NULL);
    }
    if (!store_object_set_attrs(store, m->spec.vm, attrs, TRUE, &error))
        g_warning("migration %s: the inventory still places %s on %s: %s", m->id,
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
    g_autofree char *storage = m->spec.datastore ? g_strdup_printf(" and Storage vMotion to %s", m->spec.datastore_name)
                                                 : g_strdup("");
    center_event(m->c, m->spec.user, m->spec.vm, "VmMigratedEvent", FALSE, m->id,
                 "migrated from %s to %s with vMotion%s (%s): memory copied in %" G_GINT64_FORMAT
                 " ms, downtime %" G_GINT64_FORMAT " ms, %" G_GINT64_FORMAT " MiB transferred",
                 m->spec.source_name, m->spec.destination_name, storage, m->encrypted ? "encrypted" : "not encrypted",
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
              m->id, m->spec.destination_name);
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
        if (!missing)
            center_nbd_take_begin(&m->spec, m->id, o, &missing);
    } else if (step == STEP_PREPARE) {
        m->destination_vm = g_strdup(o ? json_object_get_string_member_with_default(o, "vm", NULL) : NULL);
        m->uri = g_strdup(o ? json_object_get_string_member_with_default(o, "uri", NULL) : NULL);
        missing = !m->destination_vm ? "vm" : !m->uri ? "uri" : NULL;
        if (!missing)
            center_nbd_take_prepare(&m->spec, m->id, o, &missing);
        m->encrypted = m->psk_key && o && json_object_get_boolean_member_with_default(o, "encrypted", FALSE);
        /* A destination that cannot take a post-copy gets a pre-copy. */
        m->spec.policy.postcopy &= o && json_object_get_boolean_member_with_default(o, "postcopy", FALSE);
        if (!missing && !encryption_settled(m))
            return FALSE;
    } else if (step == STEP_FINISH && o && !m->destination_vm) {
        /* Finished after a restart or a lost answer: the destination names it. */
        m->destination_vm = g_strdup(json_object_get_string_member_with_default(o, "vm", NULL));
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

    if (step == STEP_PERFORM) {
        perform_timeout(m->c, m->spec.source, FALSE);
        center_nbd_perform_ended(m->id);
    }
    /* A confirm the source does not know of: it was done (or its hostd
     * restarted and stopped the paused copy itself). Any other failure of
     * a confirm is asked again later: the VM runs on the destination. */
    if (error && step == STEP_CONFIRM && status != 404) {
        g_warning("migration %s: confirm on %s: %s (asked again later)", m->id, m->spec.source_name,
                  error->message);
        m->pending = TRUE;
        migration_end(m);
        return;
    }
    if (error && step == STEP_CONFIRM)
        error = NULL;
    g_autoptr(GError) cancelled = NULL;
    if (m->cancel_requested && step < STEP_FINISH)
        error = cancelled = g_error_new(VIREO_ERROR, VIREO_ERROR_ERROR, "cancelled by the user");
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
        progress(m, 90, done);
    }
    step_send(m, step + 1);
}

/* The disk copy's progress during perform (vMotion + Storage vMotion). */
static void
nbd_progress(gpointer data, int percent, const char *message)
{
    progress(data, percent, message);
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
    if (m->cancel_requested && step < STEP_FINISH) {
        g_autoptr(GError) e = g_error_new(VIREO_ERROR, VIREO_ERROR_ERROR, "cancelled by the user");
        step_abort(m, step, e);
        return;
    }
    progress(m, steps[step].percent, steps[step].doing);
    if (step == STEP_PREPARE)
        m->prepare_sent = TRUE;
    record_save(m);   /* durable before the host acts on the step */
    if (step == STEP_PERFORM) {
        perform_timeout(m->c, host, TRUE);
        center_nbd_perform_started(m->c, &m->spec, m->id, nbd_progress, m);
    }
    g_autofree char *path = g_strdup_printf("/api/vireo/migration?action=%s", steps[step].action);
    host_link_request(link, "POST", path, step_body(m, step), on_step_reply, m);
}

/* ---- the end -------------------------------------------------------------- */

static void
progress(Migration *m, int percent, const char *message)
{
    if (m->task)
        center_task_progress(m->task, percent, message);
}

/* The task's result: perform's statistics, with the hosts and the time of
 * all five steps. */
static JsonNode *
migration_result(Migration *m)
{
    JsonNode *node = m->stats ? json_node_copy(m->stats) : json_node_new(JSON_NODE_OBJECT);
    if (!m->stats)
        json_node_take_object(node, json_object_new());
    JsonObject *o = json_node_get_object(node);
    json_object_set_string_member(o, "source_host", m->spec.source);
    json_object_set_string_member(o, "destination_host", m->spec.destination);
    json_object_set_int_member(o, "elapsed_ms", (g_get_monotonic_time() - m->started_us) / 1000);
    return node;
}

/* Where the VM is, said after a failure. */
static char *
failure_message(Migration *m)
{
    const char *vm = m->spec.vm_name, *src = m->spec.source_name, *dst = m->spec.destination_name;
    if (m->finished)
        return g_strdup_printf("%s. %s runs on %s; its paused copy on %s is stopped when %s answers",
                               m->failure->message, vm, dst, src, src);
    if (m->pending && !m->source_settled && m->destination_clean)
        return g_strdup_printf("%s. %s's copy was stopped, so %s stays on %s: Vireo resumes it there when "
                               "%s answers (see the events)", m->failure->message, dst, vm, src, src);
    if (m->pending && !m->source_settled)
        return g_strdup_printf("%s. %s is held on %s until %s answers whether the guest arrived there; "
                               "Vireo then finishes or rolls back the migration (see the events)",
                               m->failure->message, vm, src, dst);
    return g_strdup_printf("%s. %s still runs on %s", m->failure->message, vm, src);
}

/* The task and the event, once; the slots go back at the same time. */
static void
migration_report(Migration *m)
{
    Center *c = m->c;
    struct CenterMigrations *ms = c->migrations;
    if (m->reported)
        return;
    m->reported = TRUE;
    if (m->failure) {
        g_autofree char *text = failure_message(m);
        g_autoptr(GError) e = g_error_new(VIREO_ERROR, vireo_error_code_of(m->failure), "%s", text);
        center_event(c, m->spec.user, m->spec.vm, "VmFailedMigrateEvent", TRUE, m->id, "%s", text);
        if (m->task)
            center_task_fail(m->task, e);
    } else if (m->task) {
        center_task_succeed(m->task, 200, migration_result(m));
    }
    m->task = NULL;
    if (m->demand) {
        migration_costs_finish(ms->costs, m->demand);
        g_clear_pointer(&m->demand, migration_demand_free);
    }
    /* Not from here: the next migration may start (and fail) at once. */
    if (!ms->pump_idle)
        ms->pump_idle = g_idle_add(pump_idle, c);
}

static gboolean retry_pending(gpointer data);

static void
migration_end(Migration *m)
{
    Center *c = m->c;
    struct CenterMigrations *ms = c->migrations;
    gboolean was_pending = g_ptr_array_find(ms->pending, m, NULL);

    migration_report(m);
    /* The VM is free again once where it runs is known. */
    if (!m->unlocked && (!m->pending || m->source_settled || m->finished)) {
        m->unlocked = TRUE;
        center_vm_unlock(c, m->spec.vm);
    }
    if (m->pending) {
        m->retrying = FALSE;
        if (!was_pending)
            g_ptr_array_add(ms->pending, m);
        if (!ms->retry_timer)
            ms->retry_timer = g_timeout_add_seconds(CENTER_MIGRATION_RETRY_S, retry_pending, c);
        return;
    }
    if (was_pending)
        center_event(c, NULL, m->spec.vm, "VmMigrationResolvedEvent", FALSE, m->id,
                     "the interrupted vMotion of %s (%s) is settled: %s runs on %s", m->spec.vm_name,
                     m->id, m->spec.vm_name, m->finished ? m->spec.destination_name : m->spec.source_name);
    g_ptr_array_remove(ms->pending, m);
    g_hash_table_remove(ms->running, m->id);
    center_migration_record_clear(c->store, m->spec.vm);
    migration_free(m);
}

/* ---- pending migrations and recovery ---------------------------------------- */

/* Asks again, every CENTER_MIGRATION_RETRY_S, the hosts that did not answer:
 * a finished migration's confirm, else the undo from the start (both
 * cancels are idempotent on the hosts). */
static gboolean
retry_pending(gpointer data)
{
    Center *c = data;
    struct CenterMigrations *ms = c->migrations;
    g_autoptr(GPtrArray) now = g_ptr_array_copy(ms->pending, NULL, NULL);
    for (guint i = 0; i < now->len; i++) {
        Migration *m = g_ptr_array_index(now, i);
        if (m->retrying)
            continue;
        m->retrying = TRUE;
        m->pending = FALSE;
        m->undo_stage = 0;
        if (m->finished)
            step_send(m, STEP_CONFIRM);
        else
            undo_next(m);
    }
    if (ms->pending->len)
        return G_SOURCE_CONTINUE;
    ms->retry_timer = 0;
    return G_SOURCE_REMOVE;
}

static void
record_save(Migration *m)
{
    JsonObject *r = json_object_new();
    json_object_set_string_member(r, "migration", m->id);
    json_object_set_string_member(r, "step", m->step < STEP_N ? steps[m->step].action : "end");
    json_object_set_boolean_member(r, "prepare_sent", m->prepare_sent);
    json_object_set_boolean_member(r, "finished", m->finished);
    json_object_set_string_member(r, "vm_name", m->spec.vm_name);
    json_object_set_string_member(r, "user", m->spec.user ? m->spec.user : "");
    json_object_set_string_member(r, "source", m->spec.source);
    json_object_set_string_member(r, "source_name", m->spec.source_name);
    json_object_set_string_member(r, "source_vm", m->spec.source_vm);
    json_object_set_string_member(r, "destination", m->spec.destination);
    json_object_set_string_member(r, "destination_name", m->spec.destination_name);
    if (m->destination_vm)
        json_object_set_string_member(r, "destination_vm", m->destination_vm);
    if (m->spec.destination_pool)
        json_object_set_string_member(r, "destination_pool", m->spec.destination_pool);
    center_migration_record_save(m->c->store, m->spec.vm, r);
    json_object_unref(r);
}

static char *
record_string(JsonObject *r, const char *member)
{
    const char *s = json_object_get_string_member_with_default(r, member, NULL);
    return s && *s ? g_strdup(s) : NULL;
}

/* At start: each migration a previous run left unfinished (its task was
 * failed as interrupted) is settled as a pending one. */
static void
migrations_recover(Center *c)
{
    struct CenterMigrations *ms = c->migrations;
    g_autoptr(GPtrArray) records = center_migration_records(c->store);
    for (guint i = 0; i < records->len; i++) {
        JsonObject *r = g_ptr_array_index(records, i);
        if (g_strcmp0(json_object_get_string_member_with_default(r, "kind", NULL), "cold") == 0)
            continue;   /* center-cold-recover.c settles those */
        Migration *m = g_new0(Migration, 1);
        m->c = c;
        m->id = record_string(r, "migration");
        m->spec.vm = record_string(r, "vm");
        m->spec.vm_name = record_string(r, "vm_name");
        m->spec.user = record_string(r, "user");
        m->spec.source = record_string(r, "source");
        m->spec.source_name = record_string(r, "source_name");
        m->spec.source_vm = record_string(r, "source_vm");
        m->spec.destination = record_string(r, "destination");
        m->spec.destination_name = record_string(r, "destination_name");
        m->spec.destination_pool = record_string(r, "destination_pool");
        m->destination_vm = record_string(r, "destination_vm");
        m->prepare_sent = json_object_get_boolean_member_with_default(r, "prepare_sent", TRUE);
        m->finished = json_object_get_boolean_member_with_default(r, "finished", FALSE);
        m->step = m->finished ? STEP_CONFIRM : STEP_PERFORM;
        m->started_us = g_get_monotonic_time();
        if (!m->id || !m->spec.vm || !m->spec.source || !m->spec.destination) {
            g_warning("%s: an unreadable migration record; dropped", m->spec.vm ? m->spec.vm : "?");
            if (m->spec.vm)
                center_migration_record_clear(c->store, m->spec.vm);
            migration_free(m);
            continue;
        }
        g_message("migration %s of %s was interrupted by a restart (step %s); settling it",
                  m->id, m->spec.vm_name, json_object_get_string_member_with_default(r, "step", "?"));
        m->failure = g_error_new(VIREO_ERROR, VIREO_ERROR_ERROR, "vireo-centerd restarted during the vMotion");
        m->reported = TRUE;
        m->pending = TRUE;
        g_hash_table_replace(c->vm_locks, g_strdup(m->spec.vm), g_strdup(m->id));
        g_hash_table_insert(ms->running, m->id, m);
        g_ptr_array_add(ms->pending, m);
    }
    if (ms->pending->len && !ms->retry_timer)
        ms->retry_timer = g_timeout_add_seconds(1, retry_pending, c);
    center_cold_migrations_recover(c);
}

/* ---- cancel by the user ------------------------------------------------------ */

static void
on_early_cancel(HostLink *link, guint status, JsonNode *answer, const GError *error, gpointer data)
{
    g_free(data);
}

gboolean
center_migration_cancel(Center *c, const char *task, GError **error)
{
    struct CenterMigrations *ms = c->migrations;
    Migration *m = ms ? g_hash_table_lookup(ms->running, task) : NULL;
    for (guint i = 0; !m && ms && i < ms->waiting->len; i++) {
        Migration *w = g_ptr_array_index(ms->waiting, i);
        if (g_str_equal(w->id, task)) {
            migration_queue_remove(ms->queue, w);
            g_ptr_array_remove_index(ms->waiting, i);
            if (w->external) {
                w->external(w->external_data, NULL);
                migration_free(w);
                return TRUE;
            }
            w->step = STEP_BEGIN;
            w->failure = g_error_new(VIREO_ERROR, VIREO_ERROR_ERROR, "vMotion of %s cancelled by the user "
                                     "while it waited in the queue", w->spec.vm_name);
            w->source_settled = TRUE;
            migration_end(w);
            return TRUE;
        }
    }
    if (!m && center_storage_migration_cancel(c, task, error))
        return TRUE;
    if (!m && error && *error)
        return FALSE;
    if (!m)
        return center_cold_migration_cancel(c, task, error);
    if (m->reported) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                    "task %s is not a running migration; it cannot be cancelled", task);
        return FALSE;
    }
    if (m->finished || m->step >= STEP_FINISH) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                    "too late to cancel %s: %s already runs on %s", task, m->spec.vm_name,
                    m->spec.destination_name);
        return FALSE;
    }
    m->cancel_requested = TRUE;
    progress(m, steps[m->step].percent, "cancelling (requested by the user)");
    /* During the copy: the destination's incoming QEMU goes first, which
     * ends the copy on the source (perform then fails and the undo runs). */
    HostLink *link = m->step == STEP_PERFORM ? center_host_link(c, m->spec.destination, NULL) : NULL;
    if (link)
        host_link_request(link, "POST", "/api/vireo/migration?action=cancel", step_body(m, STEP_N),
                          on_early_cancel, g_strdup(m->id));
    return TRUE;
}
