/* vm-migrate-nbd-mirror.c — vMotion + Storage vMotion, the source's disks:
 * each disk mirrored to the destination's NBD export while the guest runs,
 * then completed (without pivot) while the guest is paused before QEMU's
 * switch-over, as libvirt does for migrations without shared storage.
 *
 *   query-block ─▶ per disk: blockdev-add nbd node, blockdev-mirror sync=full
 *   ─▶ all READY ─▶ pause-before-switchover on ─▶ migrate (vm-migrate.c)
 *   ─▶ "pre-switchover": block-job-cancel each READY job (it completes: the
 *      target is consistent), job-dismiss, blockdev-del ─▶ migrate-continue
 *   ─▶ "completed": the copy is the destination's (confirm deletes ours)
 *
 * Any failure (a job's error, a refused command, the migration failed or
 * cancelled) cancels every job (force) and deletes the NBD nodes: the guest
 * never stopped writing its own disks, which stay the truth.
 */
#include "vm-migrate-nbd-private.h"

#include "json-util.h"
#include "vireo-error.h"

#include <string.h>

#define JOB_POLL_MS 100
#define MIGRATE_POLL_MS 50
#define CONCLUDE_TRIES 100   /* 10 s for cancelled jobs to end */

typedef struct Mirror Mirror;
typedef void (*MirrorStep)(Mirror *m);

/* One run on the source: the mirror phase, or the wait for the memory copy. */
struct Mirror {
    Vm *vm;
    NbdMove *mv;
    VmNbdDoneFunc done;           /* NULL: the switch-over (errors kept on the move) */
    gpointer data;
    guint step;                   /* the disk being set up */
    guint polls;
    GQueue pending;               /* JsonObject* {"execute", "arguments"} */
    MirrorStep then;
    GError *error;
    gboolean switching;
};

static void
mirror_free(Mirror *m)
{
    g_queue_clear_full(&m->pending, (GDestroyNotify)json_object_unref);
    g_clear_error(&m->error);
    g_free(m);
}

static void
mirror_set_error(Mirror *m, const GError *error, const char *what)
{
    if (m->error)
        return;
    m->error = g_error_new(VIREO_ERROR, error ? vireo_error_code_of(error) : VIREO_ERROR_ERROR, "%s%s%s",
                           what, error ? ": " : "", error ? error->message : "");
}

/* Ends a run: the callback, then the move is forgotten when it was cancelled. */
static void
on_quiet_reset(GObject *source, GAsyncResult *res, gpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = nbd_qmp_finish(res, &error);
    (void)r; /* a stopped source (confirm) does not need it any more */
}

static void
mirror_end(Mirror *m)
{
    NbdMove *mv = m->mv;
    mv->busy = FALSE;
    if (m->error) {
        mv->phase = NBD_PHASE_FAILED;
        if (!mv->error)
            mv->error = g_error_copy(m->error);
    }
    if (m->done)
        m->done(m->vm, m->error, m->data);
    if (mv->cancel_requested)
        nbd_move_remove(mv);
    mirror_free(m);
}

/* ---- batches of commands (cleanup: errors logged, never fatal) ------------ */

static void batch_next(Mirror *m);

static void
batch_add(Mirror *m, const char *command, JsonObject *args)
{
    JsonObject *c = json_object_new();
    json_object_set_string_member(c, "execute", command);
    if (args)
        json_object_set_object_member(c, "arguments", args);
    g_queue_push_tail(&m->pending, c);
}

static JsonObject *
arg1(const char *member, const char *value)
{
    JsonObject *a = json_object_new();
    json_object_set_string_member(a, member, value);
    return a;
}

static void
on_batch_step(GObject *source, GAsyncResult *res, gpointer data)
{
    Mirror *m = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = nbd_qmp_finish(res, &error);
    if (!r && m->vm->qmp)
        vm_log(m->vm, "migration %s: %s", m->mv->migration, error->message);
    batch_next(m);
}

static void
batch_next(Mirror *m)
{
    g_autoptr(JsonObject) c = g_queue_pop_head(&m->pending);
    if (!c) {
        m->then(m);
        return;
    }
    JsonObject *args = json_object_has_member(c, "arguments") ? json_object_get_object_member(c, "arguments") : NULL;
    nbd_qmp(m->vm, json_object_get_string_member(c, "execute"), args ? json_object_ref(args) : NULL,
            on_batch_step, m);
}

static void
batch_run(Mirror *m, MirrorStep then)
{
    m->then = then;
    batch_next(m);
}

/* ---- the jobs: poll query-jobs ---------------------------------------------- */

static void
read_jobs(Mirror *m, JsonArray *jobs)
{
    for (guint i = 0; i < m->mv->disks->len; i++) {
        NbdDisk *d = g_ptr_array_index(m->mv->disks, i);
        JsonObject *job = NULL;
        for (guint j = 0; d->job_started && jobs && j < json_array_get_length(jobs); j++) {
            JsonObject *o = json_array_get_object_element(jobs, j);
            if (g_strcmp0(json_object_get_string_member_with_default(o, "id", ""), d->job) == 0)
                job = o;
        }
        if (!job) {
            d->concluded = d->job_started; /* gone: ended and dismissed */
            continue;
        }
        const char *status = json_object_get_string_member_with_default(job, "status", "");
        d->done_bytes = json_object_get_int_member_with_default(job, "current-progress", 0);
        d->total_bytes = json_object_get_int_member_with_default(job, "total-progress", 0);
        d->ready = g_str_equal(status, "ready");
        d->concluded = g_str_equal(status, "concluded") || g_str_equal(status, "null");
        const char *err = json_object_get_string_member_with_default(job, "error", NULL);
        if (err && !d->job_error)
            d->job_error = g_strdup(err);
    }
}

typedef void (*JobsFunc)(Mirror *m, const GError *error);

typedef struct {
    Mirror *m;
    JobsFunc then;
} JobsQuery;

static void
on_jobs(GObject *source, GAsyncResult *res, gpointer data)
{
    g_autofree JobsQuery *q = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = nbd_qmp_finish(res, &error);
    if (r)
        read_jobs(q->m, JSON_NODE_HOLDS_ARRAY(r) ? json_node_get_array(r) : NULL);
    q->then(q->m, error);
}

static void
query_jobs(Mirror *m, JobsFunc then)
{
    JobsQuery *q = g_new0(JobsQuery, 1);
    q->m = m;
    q->then = then;
    nbd_qmp(m->vm, "query-jobs", NULL, on_jobs, q);
}

static gboolean
all_concluded(Mirror *m)
{
    for (guint i = 0; i < m->mv->disks->len; i++) {
        NbdDisk *d = g_ptr_array_index(m->mv->disks, i);
        if (d->job_started && !d->concluded)
            return FALSE;
    }
    return TRUE;
}

/* ---- cleanup: cancel, wait until concluded, dismiss, delete nodes --------- */

static JsonObject *
switchover_pause(gboolean on)
{
    JsonObject *cap = json_object_new();
    json_object_set_string_member(cap, "capability", "pause-before-switchover");
    json_object_set_boolean_member(cap, "state", on);
    JsonArray *caps = json_array_new();
    json_array_add_object_element(caps, cap);
    JsonObject *a = json_object_new();
    json_object_set_array_member(a, "capabilities", caps);
    return a;
}

/* reset: QEMU is done migrating, so the pause before switch-over can be
 * turned off again (a later plain vMotion must not stop there). */
static void
cleanup_nodes(Mirror *m, gboolean reset, MirrorStep then)
{
    for (guint i = 0; i < m->mv->disks->len; i++) {
        NbdDisk *d = g_ptr_array_index(m->mv->disks, i);
        if (d->job_started)
            batch_add(m, "job-dismiss", arg1("id", d->job));
        if (d->node_added)
            batch_add(m, "blockdev-del", arg1("node-name", d->target_node));
        d->job_started = d->node_added = d->ready = FALSE;
    }
    if (reset)
        batch_add(m, "migrate-set-capabilities", switchover_pause(FALSE));
    batch_run(m, then);
}

static void cleanup_poll(Mirror *m, const GError *error);

static gboolean
cleanup_again(gpointer data)
{
    query_jobs(data, cleanup_poll);
    return G_SOURCE_REMOVE;
}

static void
cleanup_ended(Mirror *m)
{
    mirror_end(m);
}

static void
cleanup_poll(Mirror *m, const GError *error)
{
    if (!error && !all_concluded(m) && ++m->polls < CONCLUDE_TRIES && m->vm->qmp) {
        g_timeout_add(JOB_POLL_MS, cleanup_again, m);
        return;
    }
    cleanup_nodes(m, TRUE, cleanup_ended);
}

static void
cleanup_cancelled(Mirror *m)
{
    m->polls = 0;
    query_jobs(m, cleanup_poll);
}

/* Undoes everything the mirror set up, then ends the run with m->error. */
static void
mirror_fail(Mirror *m, const GError *error, const char *what)
{
    mirror_set_error(m, error, what);
    vm_log(m->vm, "migration %s: %s; cancelling the disk copies", m->mv->migration, m->error->message);
    for (guint i = 0; i < m->mv->disks->len; i++) {
        NbdDisk *d = g_ptr_array_index(m->mv->disks, i);
        if (d->job_started && !d->concluded) {
            JsonObject *a = arg1("device", d->job);
            json_object_set_boolean_member(a, "force", TRUE);
            batch_add(m, "block-job-cancel", a);
        }
    }
    batch_run(m, cleanup_cancelled);
}

/* A job's error message as an error: ENOSPC on the destination is the
 * user's to fix (a bigger datastore), as for Storage vMotion. */
static GError *
job_error_new(const NbdDisk *d)
{
    if (!d || !d->job_error)
        return NULL;
    gboolean full = strstr(d->job_error, "No space left") != NULL;
    return g_error_new_literal(VIREO_ERROR, full ? VIREO_ERROR_UNABLE_TO_ALLOCATE_RESOURCE : VIREO_ERROR_ERROR,
                               d->job_error);
}

/* The first job error, or NULL. */
static const NbdDisk *
failed_disk(Mirror *m)
{
    for (guint i = 0; i < m->mv->disks->len; i++) {
        NbdDisk *d = g_ptr_array_index(m->mv->disks, i);
        if (d->job_error || (d->concluded && !d->ready && !m->switching))
            return d;
    }
    return NULL;
}

/* ---- the mirror phase ------------------------------------------------------- */

static void mirror_poll(Mirror *m, const GError *error);

static gboolean
mirror_again(gpointer data)
{
    query_jobs(data, mirror_poll);
    return G_SOURCE_REMOVE;
}

static void
on_armed(GObject *source, GAsyncResult *res, gpointer data)
{
    Mirror *m = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = nbd_qmp_finish(res, &error);
    if (!r) {
        mirror_fail(m, error, "QEMU cannot pause before the switch-over");
        return;
    }
    mirror_end(m);
}

static void
mirror_poll(Mirror *m, const GError *error)
{
    NbdMove *mv = m->mv;
    const NbdDisk *bad = error ? NULL : failed_disk(m);
    if (error || bad || mv->cancel_requested) {
        g_autofree char *what = bad ? g_strdup_printf("the copy of disk %s to the destination failed", bad->device)
                                    : g_strdup(error ? "asking QEMU about the disk copies" : "the migration was cancelled");
        g_autoptr(GError) e = job_error_new(bad);
        mirror_fail(m, error ? error : e, what);
        return;
    }
    gboolean ready = TRUE;
    for (guint i = 0; i < mv->disks->len; i++)
        ready = ready && ((NbdDisk *)g_ptr_array_index(mv->disks, i))->ready;
    if (!ready) {
        g_timeout_add(JOB_POLL_MS, mirror_again, m);
        return;
    }
    mv->ready_us = g_get_monotonic_time();
    mv->phase = NBD_PHASE_MEMORY;
    vm_log(m->vm, "migration %s: every disk in sync with the destination after %.1f s; copying memory",
           mv->migration, (mv->ready_us - mv->started_us) / 1e6);
    nbd_qmp(m->vm, "migrate-set-capabilities", switchover_pause(TRUE), on_armed, m);
}

static void start_next(Mirror *m);

static void
on_started(GObject *source, GAsyncResult *res, gpointer data)
{
    Mirror *m = data;
    NbdDisk *d = g_ptr_array_index(m->mv->disks, m->step);
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = nbd_qmp_finish(res, &error);
    if (!r) {
        g_autofree char *what = g_strdup_printf("%s of disk %s", d->node_added ? "the mirror" : "the NBD connection",
                                                d->device);
        mirror_fail(m, error, what);
        return;
    }
    if (!d->node_added) {
        d->node_added = TRUE;
    } else {
        d->job_started = TRUE;
        m->step++;
    }
    start_next(m);
}

static void
start_next(Mirror *m)
{
    NbdMove *mv = m->mv;
    if (mv->cancel_requested) {
        mirror_fail(m, NULL, "the migration was cancelled");
        return;
    }
    if (m->step >= mv->disks->len) {
        query_jobs(m, mirror_poll);
        return;
    }
    NbdDisk *d = g_ptr_array_index(mv->disks, m->step);
    JsonObject *a = json_object_new();
    if (!d->node_added) {
        JsonObject *server = json_object_new();
        g_autofree char *port = g_strdup_printf("%u", mv->nbd_port);
        json_object_set_string_member(server, "type", "inet");
        json_object_set_string_member(server, "host", mv->nbd_host);
        json_object_set_string_member(server, "port", port);
        json_object_set_string_member(a, "driver", "nbd");
        json_object_set_string_member(a, "node-name", d->target_node);
        json_object_set_object_member(a, "server", server);
        json_object_set_string_member(a, "export", d->export_name);
        if (mv->tls_creds)
            json_object_set_string_member(a, "tls-creds", mv->tls_creds);
        nbd_qmp(m->vm, "blockdev-add", a, on_started, m);
        return;
    }
    json_object_set_string_member(a, "job-id", d->job);
    json_object_set_string_member(a, "device", d->source_node);
    json_object_set_string_member(a, "target", d->target_node);
    json_object_set_string_member(a, "sync", "full");
    /* blockdev-mirror always unmaps where the source reads zeroes: a thin
     * copy keeps its holes; a thick one is allocated again at finish. */
    json_object_set_boolean_member(a, "auto-dismiss", FALSE);
    nbd_qmp(m->vm, "blockdev-mirror", a, on_started, m);
}

/* The device's current format node: "drive-<id>", or the node a Storage
 * vMotion on this host pivoted to. */
static char *
source_node_of(JsonArray *blocks, const char *id)
{
    g_autofree char *prefix = g_strdup_printf("/machine/peripheral/%s/", id);
    for (guint i = 0; blocks && i < json_array_get_length(blocks); i++) {
        JsonObject *b = json_array_get_object_element(blocks, i);
        const char *qdev = json_object_get_string_member_with_default(b, "qdev", "");
        JsonObject *in = json_object_has_member(b, "inserted") ? json_object_get_object_member(b, "inserted") : NULL;
        const char *node = in ? json_object_get_string_member_with_default(in, "node-name", NULL) : NULL;
        if ((g_str_equal(qdev, id) || g_str_has_prefix(qdev, prefix)) && node)
            return g_strdup(node);
    }
    return g_strdup_printf("drive-%s", id);
}

static void
on_blocks(GObject *source, GAsyncResult *res, gpointer data)
{
    Mirror *m = data;
    static guint serial;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = nbd_qmp_finish(res, &error);
    if (!r) {
        mirror_fail(m, error, "asking QEMU for the VM's disks");
        return;
    }
    serial++;
    for (guint i = 0; i < m->mv->disks->len; i++) {
        NbdDisk *d = g_ptr_array_index(m->mv->disks, i);
        g_free(d->source_node);
        g_free(d->target_node);
        g_free(d->job);
        d->source_node = source_node_of(JSON_NODE_HOLDS_ARRAY(r) ? json_node_get_array(r) : NULL, d->device);
        d->target_node = g_strdup_printf("nbd-%s-x%u", d->device, serial);
        d->job = g_strdup_printf("xvmotion-%s-x%u", d->device, serial);
    }
    start_next(m);
}

static Mirror *
mirror_new(Vm *vm, NbdMove *mv, gpointer data)
{
    Mirror *m = g_new0(Mirror, 1);
    m->vm = vm;
    m->mv = mv;
    m->data = data;
    g_queue_init(&m->pending);
    mv->busy = TRUE;
    return m;
}

gboolean
vm_migrate_nbd_plan(Vm *vm, JsonObject *body, GError **error)
{
    JsonObject *nbd = NULL, *exports = NULL;
    const char *host = NULL;
    gint64 port = 0;
    if (!json_util_get_object(body, "nbd", "spec", &nbd, error))
        return FALSE;
    if (!nbd)
        return TRUE;
    NbdMove *mv = nbd_move_of(vm);
    if (!mv || !mv->source || mv->busy) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                    "begin did not describe the VM's files for a copy to another datastore");
        return FALSE;
    }
    if (!json_util_get_string(nbd, "host", "spec.nbd", &host, error) ||
        !json_util_get_int(nbd, "port", "spec.nbd", &port, error) ||
        !json_util_get_object(nbd, "exports", "spec.nbd", &exports, error))
        return FALSE;
    for (guint i = 0; i < mv->disks->len; i++) {
        NbdDisk *d = g_ptr_array_index(mv->disks, i);
        const char *name = exports ? json_object_get_string_member_with_default(exports, d->device, NULL) : NULL;
        if (!name) {
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT, "nbd.exports has no disk %s", d->device);
            return FALSE;
        }
        g_free(d->export_name);
        d->export_name = g_strdup(name);
    }
    if (!host || port <= 0 || port > 65535) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT, "give nbd.host and nbd.port");
        return FALSE;
    }
    g_free(mv->nbd_host);
    mv->nbd_host = g_strdup(host);
    mv->nbd_port = (guint)port;
    mv->phase = NBD_PHASE_NONE;
    mv->cancel_requested = mv->switched = FALSE;
    g_clear_error(&mv->error);
    return TRUE;
}

gboolean
vm_migrate_nbd_planned(Vm *vm)
{
    NbdMove *mv = nbd_move_of(vm);
    return mv && mv->source && mv->nbd_port;
}

void
vm_migrate_nbd_mirror(Vm *vm, const char *tls_creds, VmNbdDoneFunc done, gpointer data)
{
    NbdMove *mv = nbd_move_of(vm);
    Mirror *m = mirror_new(vm, mv, data);
    m->done = done;
    g_free(mv->tls_creds);
    mv->tls_creds = g_strdup(tls_creds);
    mv->started_us = g_get_monotonic_time();
    mv->phase = NBD_PHASE_MIRRORING;
    for (guint i = 0; i < mv->disks->len; i++) {
        NbdDisk *d = g_ptr_array_index(mv->disks, i);
        d->node_added = d->job_started = d->ready = d->concluded = FALSE;
        g_clear_pointer(&d->job_error, g_free);
        d->done_bytes = d->total_bytes = 0;
    }
    vm_log(vm, "migration %s: mirroring %u disk(s) to %s:%u (%s)", mv->migration, mv->disks->len,
           mv->nbd_host, mv->nbd_port, tls_creds ? "TLS" : "in clear");
    nbd_qmp(vm, "query-block", NULL, on_blocks, m);
}

/* ---- the switch-over: mirrors completed while the guest is paused -------- */

static void
on_continued(GObject *source, GAsyncResult *res, gpointer data)
{
    Mirror *m = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = nbd_qmp_finish(res, &error);
    if (!r)
        mirror_set_error(m, error, "QEMU refused to continue the switch-over");
    mirror_end(m);
}

static void
switch_continue(Mirror *m)
{
    m->mv->switch_us = g_get_monotonic_time();
    m->mv->switched = TRUE;
    nbd_qmp(m->vm, "migrate-continue", arg1("state", "pre-switchover"), on_continued, m);
}

static void
on_migrate_cancelled(GObject *source, GAsyncResult *res, gpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = nbd_qmp_finish(res, &error);
    mirror_end(data);
}

static void switch_poll(Mirror *m, const GError *error);

static gboolean
switch_again(gpointer data)
{
    query_jobs(data, switch_poll);
    return G_SOURCE_REMOVE;
}

/* The guest is paused: every job flushes what it had and ends. A job that
 * fails here fails the migration (migrate_cancel): the copy's end then
 * undoes the rest and the guest resumes on its own disks. */
static void
switch_poll(Mirror *m, const GError *error)
{
    const NbdDisk *bad = error ? NULL : failed_disk(m);
    if (!error && !bad && !all_concluded(m) && ++m->polls < CONCLUDE_TRIES) {
        g_timeout_add(JOB_POLL_MS / 10, switch_again, m);
        return;
    }
    if (error || bad || !all_concluded(m)) {
        g_autoptr(GError) e = job_error_new(bad);
        mirror_set_error(m, error ? error : e, "the disk copies did not complete at the switch-over");
        nbd_qmp(m->vm, "migrate_cancel", NULL, on_migrate_cancelled, m);
        return;
    }
    cleanup_nodes(m, FALSE, switch_continue);
}

static void
switch_started(Mirror *m)
{
    m->polls = 0;
    query_jobs(m, switch_poll);
}

/* At the pause before switch-over (guest stopped): block-job-cancel on a
 * READY mirror ends it without pivot, its target identical to the source. */
void
vm_migrate_nbd_copy_progress(Vm *vm, JsonObject *info)
{
    NbdMove *mv = nbd_move_of(vm);
    const char *status = json_object_get_string_member_with_default(info, "status", "");
    if (!mv || !mv->source || mv->busy || mv->phase != NBD_PHASE_MEMORY || !g_str_equal(status, "pre-switchover"))
        return;
    Mirror *m = mirror_new(vm, mv, NULL);
    m->switching = TRUE;
    mv->phase = NBD_PHASE_SWITCHING;
    mv->pause_us = g_get_monotonic_time();
    vm_log(vm, "migration %s: guest paused for the switch-over; completing the disk copies", mv->migration);
    for (guint i = 0; i < mv->disks->len; i++) {
        NbdDisk *d = g_ptr_array_index(mv->disks, i);
        if (d->job_started)
            batch_add(m, "block-job-cancel", arg1("device", d->job));
    }
    batch_run(m, switch_started);
}

/* ---- the copy's end ---------------------------------------------------------- */

typedef struct {
    Vm *vm;
    GError *error;
    VmNbdDoneFunc done;
    gpointer data;
} CopyEnd;

static void copy_undo(CopyEnd *ce);

static gboolean
copy_undo_later(gpointer data)
{
    copy_undo(data);
    return G_SOURCE_REMOVE;
}

/* Waits for a switch-over still running (a cancel came meanwhile), then
 * cancels the jobs and deletes the nodes. */
static void
copy_undo(CopyEnd *ce)
{
    NbdMove *mv = nbd_move_of(ce->vm);
    if (mv && mv->busy) {
        g_timeout_add(JOB_POLL_MS, copy_undo_later, ce);
        return;
    }
    if (!mv) {
        ce->done(ce->vm, ce->error, ce->data);
    } else {
        Mirror *m = mirror_new(ce->vm, mv, ce->data);
        m->done = ce->done;
        mirror_fail(m, ce->error, "the memory copy failed");
    }
    g_clear_error(&ce->error);
    g_free(ce);
}

gboolean
vm_migrate_nbd_copy_done(Vm *vm, const GError *error, VmNbdDoneFunc done, gpointer data)
{
    NbdMove *mv = nbd_move_of(vm);
    if (!mv || !mv->source)
        return TRUE;
    if (!error && mv->switched) {
        mv->phase = NBD_PHASE_COPIED;
        mv->copied_us = g_get_monotonic_time();
        nbd_qmp(vm, "migrate-set-capabilities", switchover_pause(FALSE), on_quiet_reset, NULL);
        return TRUE;
    }
    CopyEnd *ce = g_new0(CopyEnd, 1);
    ce->vm = vm;
    ce->done = done;
    ce->data = data;
    /* The switch-over's own failure explains best why the copy ended. */
    ce->error = mv->error ? g_error_copy(mv->error)
                : error ? g_error_copy(error)
                        : g_error_new_literal(VIREO_ERROR, VIREO_ERROR_ERROR,
                                              "the memory copy completed before the disks were switched");
    copy_undo(ce);
    return FALSE;
}

void
vm_migrate_nbd_add_stats(Vm *vm, JsonObject *answer)
{
    NbdMove *mv = nbd_move_of(vm);
    if (!mv || !mv->source || mv->phase != NBD_PHASE_COPIED)
        return;
    gint64 bytes = 0;
    for (guint i = 0; i < mv->disks->len; i++)
        bytes += ((NbdDisk *)g_ptr_array_index(mv->disks, i))->total_bytes;
    json_object_set_int_member(answer, "disks", mv->disks->len);
    /* The jobs' work: every byte of each disk, holes and zeroes included. */
    json_object_set_int_member(answer, "disk_bytes", bytes);
    json_object_set_int_member(answer, "disk_copy_ms", (mv->ready_us - mv->started_us) / 1000);
    /* What completing the mirrors added to the guest's pause. */
    json_object_set_int_member(answer, "disk_completion_ms", (mv->switch_us - mv->pause_us) / 1000);
}

void
nbd_mirror_cancel(Vm *vm, NbdMove *mv)
{
    if (mv->busy) {
        /* The run sees it at its next poll (the mirror phase) or through
         * the migration's "cancelled" (the wait), undoes and forgets. */
        mv->cancel_requested = TRUE;
        return;
    }
    nbd_move_remove(mv);
}
