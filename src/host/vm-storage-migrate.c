/* vm-storage-migrate.c — Storage vMotion on one host: a running VM's disks
 * move to another datastore of this host through QEMU's block mirror while
 * the guest keeps running (docs/migration.md, "Storage vMotion on a host").
 *
 *   prepare (new descriptor + flat) ─▶ blockdev-add ─▶ blockdev-mirror (every
 *   moving disk at once) ─▶ all READY ─▶ block-job-complete (pivot) ─▶ all
 *   concluded ─▶ .vmx fileName rewritten ─▶ old nodes closed, old files deleted
 *   ─▶ placement.datastore: the home follows (vm-home-move.c)
 *
 * Any error (ENOSPC on the target, QEMU gone) or a cancel before the pivot
 * cancels every job, drops the new nodes and deletes the new files: the VM
 * stays on its source disks and its .vmx is untouched.
 */
#include "api.h"
#include "datastore.h"
#include "json-util.h"
#include "qmp-client.h"
#include "vireo-error.h"
#include "vm-home-move.h"
#include "vm-launch.h"
#include "vm-storage-progress.h"
#include "vmdk.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#define POLL_MS 100

typedef struct {
    VmDisk *disk;
    char *id;            /* "scsi0-0": the device id the argv builder gives */
    char *source_node;   /* the device's current format node */
    char *old_desc;
    char *base;          /* "guest-01" of guest-01.vmdk */
    guint64 capacity;
    VmDiskProvisioning provisioning;
    char *adapter;       /* ddb.adapterType, kept on the copy */
    char *dir;           /* destination folder */
    char *new_desc;
    char *new_data;
    char *new_file_name; /* "/vmfs/volumes/ds2/guest-01/guest-01.vmdk" */
    char *file_node;
    char *node;
    char *job;
    gint64 offset, len;  /* the job's current-progress and total-progress */
    gboolean dir_made, files_made, file_added, node_added, job_started, ready, concluded;
} DiskMove;

typedef struct Relocation Relocation;
typedef void (*StepFunc)(Relocation *r);

/* A QMP command of a batch run one after the other (cleanup steps). */
typedef struct {
    char *command;
    JsonObject *args;
} Pending;

struct Relocation {
    Host *host;
    Vm *vm;
    ApiRequest *request;
    GPtrArray *moves;    /* DiskMove* */
    guint step;          /* index of the move the current QMP call is for */
    guint timer;
    guint polls;
    GQueue pending;      /* Pending*: a batch in progress */
    StepFunc then;       /* what runs after the batch */
    gboolean completing; /* block-job-complete sent: past the point of no return */
    gboolean cancel_requested;
    gboolean rolling_back;
    GError *error;       /* the first failure; the rollback then runs */
    gint64 started_us;
    gint64 speed_limit;  /* bytes/s per disk copy, 0: none */
    gboolean async;      /* answered 202 at the start; the end is a status record */
    const HostDatastoreConfig *home_ds; /* placement.datastore: the home follows */
    gboolean home_moved;
    char *home_reason;   /* why the home stayed, or NULL */
};

/* Vm* → Relocation*: at most one per VM (vm_begin_operation). */
static GHashTable *relocations;

static void
disk_move_free(DiskMove *m)
{
    g_free(m->id);
    g_free(m->source_node);
    g_free(m->old_desc);
    g_free(m->base);
    g_free(m->dir);
    g_free(m->adapter);
    g_free(m->new_desc);
    g_free(m->new_data);
    g_free(m->new_file_name);
    g_free(m->file_node);
    g_free(m->node);
    g_free(m->job);
    g_free(m);
}

static void
pending_free(gpointer p)
{
    Pending *c = p;
    g_free(c->command);
    if (c->args)
        json_object_unref(c->args);
    g_free(c);
}

static void
relocation_free(Relocation *r)
{
    g_clear_handle_id(&r->timer, g_source_remove);
    g_hash_table_remove(relocations, r->vm);
    if (r->request)
        api_request_unref(r->request);
    g_ptr_array_unref(r->moves);
    g_queue_clear_full(&r->pending, pending_free);
    g_clear_error(&r->error);
    g_free(r->home_reason);
    g_free(r);
}

static DiskMove *
current(Relocation *r)
{
    return g_ptr_array_index(r->moves, r->step);
}

static JsonNode *
obj_node(JsonObject *o)
{
    JsonNode *n = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(n, o);
    return n;
}

static void
qmp(Relocation *r, const char *command, JsonObject *args, GAsyncReadyCallback cb)
{
    if (!r->vm->qmp) {
        /* QEMU is gone: answer as QMP would, from the main loop. */
        if (args)
            json_object_unref(args);
        GTask *t = g_task_new(NULL, NULL, cb, r);
        g_task_return_new_error(t, G_IO_ERROR, G_IO_ERROR_CLOSED, "the VM's QEMU is gone");
        g_object_unref(t);
        return;
    }
    qmp_client_execute_async(r->vm->qmp, command, args ? obj_node(args) : NULL, -1, NULL, cb, r);
}

/* Results of qmp(): a GTask when QEMU was gone, else the client's own. */
static JsonNode *
qmp_finish(GAsyncResult *res, GError **error)
{
    if (G_IS_TASK(res))
        return g_task_propagate_pointer(G_TASK(res), error);
    return qmp_client_execute_finish(NULL, res, error);
}

static void
set_error(Relocation *r, const GError *error, const char *format, ...) G_GNUC_PRINTF(3, 4);

static void
set_error(Relocation *r, const GError *error, const char *format, ...)
{
    if (r->error)
        return;
    va_list ap;
    va_start(ap, format);
    g_autofree char *what = g_strdup_vprintf(format, ap);
    va_end(ap);
    if (error)
        r->error = g_error_new(VIREO_ERROR, vireo_error_code_of(error), "%s: %s", what,
                               error->message);
    else
        r->error = g_error_new_literal(VIREO_ERROR, VIREO_ERROR_ERROR, what);
}

/* ---- the end: answer ------------------------------------------------------ */

static void
finish(Relocation *r)
{
    double secs = (g_get_monotonic_time() - r->started_us) / 1e6;
    if (r->error)
        vm_log(r->vm, "relocate: failed after %.1f s, the VM stays on its disks: %s", secs,
               r->error->message);
    else
        vm_log(r->vm, "relocate: %u disk(s) moved in %.1f s", r->moves->len, secs);
    storage_progress_set_home(r->vm->id, r->vm->datastore, r->home_ds != NULL, r->home_moved,
                              r->home_reason);
    storage_progress_end(r->vm->id, r->error, (gint64)(secs * 1000));
    if (r->request && r->error)
        api_request_reply_error(r->request, r->error);
    else if (r->request)
        api_request_reply_empty(r->request, 204);
    vm_end_operation(r->vm);
    relocation_free(r);
}

/* ---- batches of cleanup commands (errors logged, never fatal) ------------- */

static void batch_next(Relocation *r);

static void
batch_add(Relocation *r, const char *command, const char *member, const char *value)
{
    Pending *c = g_new0(Pending, 1);
    c->command = g_strdup(command);
    c->args = json_object_new();
    json_object_set_string_member(c->args, member, value);
    if (g_str_equal(command, "block-job-cancel"))
        json_object_set_boolean_member(c->args, "force", TRUE);
    g_queue_push_tail(&r->pending, c);
}

static void
on_batch_step(GObject *source, GAsyncResult *res, gpointer data)
{
    Relocation *r = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) ret = qmp_finish(res, &error);
    if (!ret && r->vm->qmp)
        vm_log(r->vm, "relocate: cleanup step failed: %s", error->message);
    batch_next(r);
}

static void
batch_next(Relocation *r)
{
    Pending *c = g_queue_pop_head(&r->pending);
    if (!c) {
        r->then(r);
        return;
    }
    qmp(r, c->command, g_steal_pointer(&c->args), on_batch_step);
    pending_free(c);
}

static void
batch_run(Relocation *r, StepFunc then)
{
    r->then = then;
    batch_next(r);
}

/* ---- rollback: cancel jobs, drop new nodes, delete new files -------------- */

static void
rollback_files(Relocation *r)
{
    for (guint i = 0; i < r->moves->len; i++) {
        DiskMove *m = g_ptr_array_index(r->moves, i);
        g_autoptr(GError) error = NULL;
        if (m->files_made && !datastore_delete_disk(m->new_desc, &error))
            vm_log(r->vm, "relocate: could not delete %s: %s", m->new_desc, error->message);
        m->files_made = FALSE;
    }
    for (guint i = 0; i < r->moves->len; i++) {
        DiskMove *m = g_ptr_array_index(r->moves, i);
        if (m->dir_made && g_rmdir(m->dir) != 0)
            vm_log(r->vm, "relocate: could not remove %s: %s", m->dir, g_strerror(errno));
        m->dir_made = FALSE;
    }
}

static void
rollback_done(Relocation *r)
{
    rollback_files(r);
    finish(r);
}

/* Every job has concluded (or QEMU is gone): dismiss, drop the new nodes. */
static void
rollback_nodes(Relocation *r)
{
    for (guint i = 0; i < r->moves->len; i++) {
        DiskMove *m = g_ptr_array_index(r->moves, i);
        if (m->job_started)
            batch_add(r, "job-dismiss", "id", m->job);
        if (m->node_added)
            batch_add(r, "blockdev-del", "node-name", m->node);
        if (m->file_added)
            batch_add(r, "blockdev-del", "node-name", m->file_node);
        m->job_started = m->node_added = m->file_added = FALSE;
    }
    batch_run(r, rollback_done);
}

static void poll_jobs(Relocation *r);

static void
rollback(Relocation *r)
{
    g_clear_handle_id(&r->timer, g_source_remove);
    r->rolling_back = TRUE;
    gboolean running = FALSE;
    for (guint i = 0; i < r->moves->len; i++) {
        DiskMove *m = g_ptr_array_index(r->moves, i);
        if (m->job_started && !m->concluded) {
            batch_add(r, "block-job-cancel", "device", m->job);
            running = TRUE;
        }
    }
    /* Cancelling is asynchronous in QEMU: poll until every job concluded
     * before its target node is deleted. */
    r->polls = 0;
    batch_run(r, running && r->vm->qmp ? poll_jobs : rollback_nodes);
}

static void
fail(Relocation *r, const GError *error, const char *format, ...) G_GNUC_PRINTF(3, 4);

static void
fail(Relocation *r, const GError *error, const char *format, ...)
{
    if (!r->error) {
        va_list ap;
        va_start(ap, format);
        g_autofree char *what = g_strdup_vprintf(format, ap);
        va_end(ap);
        set_error(r, error, "%s", what);
    }
    rollback(r);
}

/* ---- after the pivot: .vmx, old nodes and old files ----------------------- */

/* placement.datastore: the home follows the disks (vm-home-move.c). A
 * failure leaves it where it was, the disks moved: the error says both. */
static void
move_home(Relocation *r)
{
    if (!r->home_ds || r->error)
        return;
    g_autoptr(GError) error = NULL;
    g_autofree char *from = g_strdup(r->vm->datastore);
    if (!vm_home_move(r->vm, r->home_ds, &r->home_reason, &error))
        set_error(r, error, "the disks moved to %s but the VM's home stayed on %s", r->home_ds->name, from);
    else if (r->home_reason)
        vm_log(r->vm, "relocate: the home stays on %s: %s", r->vm->datastore, r->home_reason);
    else
        r->home_moved = TRUE;
}

static void
old_files_delete(Relocation *r)
{
    for (guint i = 0; i < r->moves->len; i++) {
        DiskMove *m = g_ptr_array_index(r->moves, i);
        g_autoptr(GError) error = NULL;
        if (!datastore_delete_disk(m->old_desc, &error))
            vm_log(r->vm, "relocate: could not delete %s: %s", m->old_desc, error->message);
    }
    move_home(r);
    finish(r);
}

static void
pivoted(Relocation *r)
{
    for (guint i = 0; i < r->moves->len; i++) {
        DiskMove *m = g_ptr_array_index(r->moves, i);
        g_free(m->disk->file_name);
        m->disk->file_name = g_strdup(m->new_file_name);
        m->files_made = FALSE;
    }
    g_autoptr(GError) error = NULL;
    if (!vm_save_config(r->vm, &error)) {
        /* The guest already writes the new files: keep everything. */
        set_error(r, error, "the disks moved but the .vmx could not be saved");
        finish(r);
        return;
    }
    /* Close the old nodes (created by -blockdev, so the monitor holds them
     * until blockdev-del) before their files are deleted. */
    for (guint i = 0; i < r->moves->len; i++) {
        DiskMove *m = g_ptr_array_index(r->moves, i);
        batch_add(r, "job-dismiss", "id", m->job);
        batch_add(r, "blockdev-del", "node-name", m->source_node);
        if (g_str_has_prefix(m->source_node, "drive-")) {
            g_autofree char *file = g_strconcat("file-", m->source_node + 6, NULL);
            batch_add(r, "blockdev-del", "node-name", file);
        }
        m->job_started = FALSE;
    }
    batch_run(r, old_files_delete);
}

/* ---- the mirror jobs: poll until READY, pivot, poll until concluded ------- */

static gboolean
poll_again(gpointer data)
{
    Relocation *r = data;
    r->timer = 0;
    poll_jobs(r);
    return G_SOURCE_REMOVE;
}

/* Reads one query-jobs answer into the moves; FALSE when a job failed. */
static void
read_jobs(Relocation *r, JsonArray *jobs)
{
    for (guint i = 0; i < r->moves->len; i++) {
        DiskMove *m = g_ptr_array_index(r->moves, i);
        JsonObject *job = NULL;
        for (guint j = 0; jobs && j < json_array_get_length(jobs); j++) {
            JsonObject *o = json_array_get_object_element(jobs, j);
            if (g_strcmp0(json_object_get_string_member_with_default(o, "id", ""), m->job) == 0)
                job = o;
        }
        const char *status = job ? json_object_get_string_member_with_default(job, "status", "") : "null";
        const char *err = job ? json_object_get_string_member_with_default(job, "error", NULL) : NULL;
        if (job) {
            m->offset = json_object_get_int_member_with_default(job, "current-progress", m->offset);
            m->len = json_object_get_int_member_with_default(job, "total-progress", m->len);
        }
        m->ready = g_str_equal(status, "ready");
        m->concluded = g_str_equal(status, "concluded") || g_str_equal(status, "null");
        if (m->concluded && !job && !r->rolling_back)
            set_error(r, NULL, "disk %s: the mirror job disappeared", m->id);
        if (m->concluded && err && !r->rolling_back && !r->error)
            r->error = g_error_new(VIREO_ERROR,
                                   strstr(err, "No space left") ? VIREO_ERROR_UNABLE_TO_ALLOCATE_RESOURCE
                                                                : VIREO_ERROR_ERROR,
                                   "disk %s: copying to %s failed: %s", m->id, m->new_data, err);
        if (m->concluded && !err && !r->completing && !r->rolling_back)
            set_error(r, NULL, "disk %s: the mirror ended before the pivot", m->id);
    }
}

static void
on_complete_sent(Relocation *r)
{
    r->timer = g_timeout_add(POLL_MS, poll_again, r);
}

/* The sum of every job's progress, for relocate-status. */
static void
report_progress(Relocation *r)
{
    gint64 done = 0, total = 0;
    for (guint i = 0; i < r->moves->len; i++) {
        DiskMove *m = g_ptr_array_index(r->moves, i);
        done += m->offset;
        total += MAX(m->len, m->offset);
    }
    const char *phase = r->rolling_back ? "undoing" : r->completing ? "switching" : "copying";
    storage_progress_update(r->vm->id, phase, done, total);
}

static void
decide(Relocation *r)
{
    gboolean all_ready = TRUE, all_concluded = TRUE;
    report_progress(r);
    for (guint i = 0; i < r->moves->len; i++) {
        DiskMove *m = g_ptr_array_index(r->moves, i);
        all_ready = all_ready && m->ready;
        all_concluded = all_concluded && m->concluded;
    }
    if (r->rolling_back) {
        if (all_concluded || ++r->polls > 100)
            rollback_nodes(r);
        else
            r->timer = g_timeout_add(POLL_MS, poll_again, r);
        return;
    }
    if (r->completing) {
        if (!all_concluded) {
            r->timer = g_timeout_add(POLL_MS, poll_again, r);
        } else if (r->error) {
            /* A pivot failed after READY: rare; QEMU keeps the source. */
            finish(r);
        } else {
            pivoted(r);
        }
        return;
    }
    if (r->error || r->cancel_requested) {
        if (!r->error)
            r->error = g_error_new(VIREO_ERROR, VIREO_ERROR_ERROR,
                                   "the relocation was cancelled");
        rollback(r);
        return;
    }
    if (!all_ready) {
        r->timer = g_timeout_add(POLL_MS, poll_again, r);
        return;
    }
    /* Every disk is in sync and mirrored writes keep it so: pivot them all. */
    vm_log(r->vm, "relocate: every disk in sync after %.1f s, switching",
           (g_get_monotonic_time() - r->started_us) / 1e6);
    r->completing = TRUE;
    for (guint i = 0; i < r->moves->len; i++)
        batch_add(r, "block-job-complete", "device", ((DiskMove *)g_ptr_array_index(r->moves, i))->job);
    batch_run(r, on_complete_sent);
}

static void
on_jobs(GObject *source, GAsyncResult *res, gpointer data)
{
    Relocation *r = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) ret = qmp_finish(res, &error);
    if (!ret) {
        set_error(r, error, "asking QEMU about the copy");
        if (r->rolling_back || r->completing)
            r->rolling_back ? rollback_nodes(r) : finish(r);
        else
            rollback(r);
        return;
    }
    read_jobs(r, JSON_NODE_HOLDS_ARRAY(ret) ? json_node_get_array(ret) : NULL);
    decide(r);
}

static void
poll_jobs(Relocation *r)
{
    qmp(r, "query-jobs", NULL, on_jobs);
}

/* ---- start: per disk blockdev-add (file, raw), blockdev-mirror ------------ */

static void start_next(Relocation *r);

static void
on_started(GObject *source, GAsyncResult *res, gpointer data)
{
    Relocation *r = data;
    DiskMove *m = current(r);
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) ret = qmp_finish(res, &error);
    if (!ret) {
        fail(r, error, "disk %s", m->id);
        return;
    }
    if (!m->file_added)
        m->file_added = TRUE;
    else if (!m->node_added)
        m->node_added = TRUE;
    else {
        m->job_started = TRUE;
        r->step++;
    }
    start_next(r);
}

static void
start_next(Relocation *r)
{
    if (r->cancel_requested) {
        set_error(r, NULL, "the relocation was cancelled");
        rollback(r);
        return;
    }
    if (r->step >= r->moves->len) {
        poll_jobs(r);
        return;
    }
    DiskMove *m = current(r);
    JsonObject *a = json_object_new();
    if (!m->file_added) {
        json_object_set_string_member(a, "driver", "file");
        json_object_set_string_member(a, "filename", m->new_data);
        json_object_set_string_member(a, "node-name", m->file_node);
        /* The mirror writes the source's holes as zeroes: with unmap they
         * stay holes in a thin copy; a thick copy keeps its allocation. */
        if (m->provisioning == VM_DISK_PROVISIONING_THIN)
            json_object_set_string_member(a, "discard", "unmap");
        qmp(r, "blockdev-add", a, on_started);
    } else if (!m->node_added) {
        json_object_set_string_member(a, "driver", "raw");
        json_object_set_string_member(a, "file", m->file_node);
        json_object_set_string_member(a, "node-name", m->node);
        if (m->provisioning == VM_DISK_PROVISIONING_THIN)
            json_object_set_string_member(a, "discard", "unmap");
        qmp(r, "blockdev-add", a, on_started);
    } else {
        json_object_set_string_member(a, "job-id", m->job);
        json_object_set_string_member(a, "device", m->source_node);
        json_object_set_string_member(a, "target", m->node);
        json_object_set_string_member(a, "sync", "full");
        /* Kept after it ends, so a failure's message can be read. */
        json_object_set_boolean_member(a, "auto-dismiss", FALSE);
        if (r->speed_limit > 0)
            json_object_set_int_member(a, "speed", r->speed_limit);
        qmp(r, "blockdev-mirror", a, on_started);
    }
}

/* The device's current format node: "drive-<id>" as the argv builder named
 * it, or the node an earlier relocation pivoted to. */
static char *
source_node_of(JsonArray *blocks, const char *id)
{
    g_autofree char *prefix = g_strdup_printf("/machine/peripheral/%s/", id);
    for (guint i = 0; blocks && i < json_array_get_length(blocks); i++) {
        JsonObject *b = json_array_get_object_element(blocks, i);
        const char *qdev = json_object_get_string_member_with_default(b, "qdev", "");
        if (!g_str_equal(qdev, id) && !g_str_has_prefix(qdev, prefix))
            continue;
        JsonObject *in = json_object_has_member(b, "inserted") ? json_object_get_object_member(b, "inserted") : NULL;
        const char *node = in ? json_object_get_string_member_with_default(in, "node-name", NULL) : NULL;
        if (node)
            return g_strdup(node);
    }
    return g_strdup_printf("drive-%s", id);
}

static void
on_blocks(GObject *source, GAsyncResult *res, gpointer data)
{
    Relocation *r = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) ret = qmp_finish(res, &error);
    if (!ret) {
        fail(r, error, "asking QEMU for the VM's disks");
        return;
    }
    for (guint i = 0; i < r->moves->len; i++) {
        DiskMove *m = g_ptr_array_index(r->moves, i);
        m->source_node = source_node_of(JSON_NODE_HOLDS_ARRAY(ret) ? json_node_get_array(ret) : NULL, m->id);
    }
    r->step = 0;
    start_next(r);
}

/* ---- prepare: which disks move where, destination files ------------------ */

static DiskMove *
move_new(Vm *vm, VmDisk *disk, const HostDatastoreConfig *ds, GError **error)
{
    static guint serial;
    g_autofree char *desc = NULL, *data = NULL;
    const char *format = NULL;
    if (!vm_launch_resolve_disk(vm, disk, &desc, &data, &format, error))
        return NULL;
    g_autofree char *bus = g_ascii_strdown(vm_bus_to_string(disk->bus), -1);
    g_autofree char *id = g_strdup_printf("%s%d-%d", bus, disk->controller, disk->unit);
    if (!g_str_equal(format, "raw")) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_UNSUPPORTED,
                    "disk %s is a %s disk; only flat disks can be relocated", id, format);
        return NULL;
    }
    g_autoptr(VmdkDescriptor) d = vmdk_descriptor_load(desc, error);
    if (!d)
        return NULL;
    g_autofree char *folder = g_path_get_basename(vm->dir);
    g_autofree char *dir = g_build_filename(ds->path, folder, NULL);
    g_autofree char *old_dir = g_path_get_dirname(desc);
    if (g_str_equal(old_dir, dir))
        return NULL; /* already there */
    DiskMove *m = g_new0(DiskMove, 1);
    g_autofree char *name = g_path_get_basename(desc);
    m->base = g_str_has_suffix(name, ".vmdk") ? g_strndup(name, strlen(name) - 5) : g_strdup(name);
    m->disk = disk;
    m->capacity = vmdk_descriptor_capacity(d);
    m->provisioning = datastore_disk_provisioning(desc);
    m->adapter = g_strdup(vmdk_descriptor_ddb(d, "ddb.adapterType"));
    m->id = g_steal_pointer(&id);
    m->old_desc = g_steal_pointer(&desc);
    m->dir = g_steal_pointer(&dir);
    g_autofree char *desc_name = g_strdup_printf("%s.vmdk", m->base);
    g_autofree char *flat_name = g_strdup_printf("%s-flat.vmdk", m->base);
    m->new_desc = g_build_filename(m->dir, desc_name, NULL);
    m->new_data = g_build_filename(m->dir, flat_name, NULL);
    m->new_file_name = g_strdup_printf("/vmfs/volumes/%s/%s/%s", ds->name, folder, desc_name);
    serial++;
    m->file_node = g_strdup_printf("file-%s-r%u", m->id, serial);
    m->node = g_strdup_printf("drive-%s-r%u", m->id, serial);
    m->job = g_strdup_printf("relocate-%s-r%u", m->id, serial);
    return m;
}

/* The destination of a disk: the per-disk entry, else the placement. */
static const HostDatastoreConfig *
target_of(Host *host, JsonObject *body, VmDisk *disk, GError **error)
{
    JsonObject *placement = NULL, *disks = NULL, *entry = NULL;
    const char *name = NULL;
    if (!json_util_get_object(body, "placement", "spec", &placement, error) ||
        !json_util_get_object(body, "disks", "spec", &disks, error))
        return NULL;
    g_autofree char *key = g_strdup_printf("%d", vm_disk_key(disk->bus, disk->controller, disk->unit));
    if (disks && !json_util_get_object(disks, key, "spec.disks", &entry, error))
        return NULL;
    if (entry && !json_util_get_string(entry, "datastore", "spec.disks.*", &name, error))
        return NULL;
    if (!name && placement && !json_util_get_string(placement, "datastore", "spec.placement", &name, error))
        return NULL;
    if (!name)
        return NULL;
    const HostDatastoreConfig *ds = host_lookup_datastore(host, name);
    if (!ds)
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "datastore %s is not on this host", name);
    return ds;
}

/* Thick disks need their whole capacity free on the destination; thin ones
 * may go anywhere (like vSphere, which then lets them fill the datastore). */
static gboolean
check_space(Relocation *r, GError **error)
{
    g_autoptr(GHashTable) need = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    for (guint i = 0; i < r->moves->len; i++) {
        DiskMove *m = g_ptr_array_index(r->moves, i);
        if (m->provisioning == VM_DISK_PROVISIONING_THIN)
            continue;
        g_autofree char *parent = g_path_get_dirname(m->dir);
        guint64 *n = g_hash_table_lookup(need, parent);
        if (!n) {
            n = g_new0(guint64, 1);
            g_hash_table_insert(need, g_strdup(parent), n);
        }
        *n += m->capacity;
        guint64 cap = 0, free_space = 0;
        if (!datastore_stats(parent, &cap, &free_space, error))
            return FALSE;
        if (*n > free_space) {
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_UNABLE_TO_ALLOCATE_RESOURCE,
                        "not enough space on %s: the thick disks need %" G_GUINT64_FORMAT
                        " MiB, %" G_GUINT64_FORMAT " MiB are free", parent, *n >> 20, free_space >> 20);
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean
make_files(Relocation *r, GError **error)
{
    for (guint i = 0; i < r->moves->len; i++) {
        DiskMove *m = g_ptr_array_index(r->moves, i);
        if (g_mkdir(m->dir, 0755) == 0) {
            m->dir_made = TRUE;
        } else if (errno != EEXIST) {
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "cannot create %s: %s", m->dir,
                        g_strerror(errno));
            return FALSE;
        }
        if (!datastore_create_disk(m->dir, m->base, m->capacity,
                                   m->provisioning, m->adapter, error))
            return FALSE;
        m->files_made = TRUE;
    }
    return TRUE;
}

/* ---- API ------------------------------------------------------------------ */

static Relocation *
relocation_plan(Host *host, Vm *vm, JsonObject *body, GError **error)
{
    Relocation *r = g_new0(Relocation, 1);
    r->host = host;
    r->vm = vm;
    r->moves = g_ptr_array_new_with_free_func((GDestroyNotify)disk_move_free);
    g_queue_init(&r->pending);
    r->started_us = g_get_monotonic_time();
    g_hash_table_insert(relocations, vm, r);
    for (guint i = 0; i < vm->config->disks->len; i++) {
        VmDisk *disk = g_ptr_array_index(vm->config->disks, i);
        GError *local = NULL;
        const HostDatastoreConfig *ds = target_of(host, body, disk, &local);
        DiskMove *m = ds ? move_new(vm, disk, ds, &local) : NULL;
        if (local) {
            g_propagate_error(error, local);
            relocation_free(r);
            return NULL;
        }
        if (m)
            g_ptr_array_add(r->moves, m);
    }
    JsonObject *placement = NULL;
    const char *name = NULL;
    if (json_util_get_object(body, "placement", "spec", &placement, error) &&
        (!placement || json_util_get_string(placement, "datastore", "spec.placement", &name, error)) &&
        name && !(r->home_ds = host_lookup_datastore(host, name)))
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "datastore %s is not on this host", name);
    if (error && *error) {
        relocation_free(r);
        return NULL;
    }
    return r;
}

/* The move is under way: a caller that asked not to wait gets 202 and
 * reads relocate-status (vm-storage-progress.c); the others wait for 204. */
static void
relocation_started(Relocation *r, ApiRequest *request)
{
    gint64 total = 0;
    for (guint i = 0; i < r->moves->len; i++)
        total += ((DiskMove *)g_ptr_array_index(r->moves, i))->capacity;
    storage_progress_start(r->vm->id, r->moves->len, total);
    if (!r->async) {
        r->request = api_request_ref(request);
        return;
    }
    JsonObject *o = json_object_new();
    json_object_set_int_member(o, "disks", r->moves->len);
    json_object_set_int_member(o, "total_bytes", total);
    api_request_reply_json(request, 202, obj_node(o));
}

static void
relocate(ApiRequest *request, gpointer data)
{
    Host *host = data;
    g_autoptr(GError) error = NULL;
    Vm *vm = api_lookup_vm(request, host);
    JsonObject *body = vm ? api_body_object(request, TRUE) : NULL;
    if (!body)
        return;
    if (vm->power_state != VM_POWER_STATE_POWERED_ON) {
        error = g_error_new(VIREO_ERROR, VIREO_ERROR_UNSUPPORTED,
                            "virtual machine %s is %s: cold migration is not built yet", vm->id,
                            vm_power_state_to_string(vm->power_state));
        api_request_reply_error(request, error);
        return;
    }
    gint64 speed = 0;
    gboolean async = FALSE;
    if (json_util_get_int(body, "speed_limit_MiB_per_second", "spec", &speed, &error) &&
        json_util_get_bool(body, "vireo_async", "spec", &async, &error) && speed < 0)
        error = g_error_new_literal(VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                                    "spec.speed_limit_MiB_per_second is negative");
    if (error) {
        api_request_reply_error(request, error);
        return;
    }
    if (!vm_begin_operation(vm, "relocate", &error)) {
        api_request_reply_error(request, error);
        return;
    }
    Relocation *r = relocation_plan(host, vm, body, &error);
    if (r && r->moves->len == 0 && r->home_ds && !g_str_equal(r->home_ds->name, vm->datastore)) {
        /* Every disk is there already, the home is not: it alone moves. */
        r->async = async;
        relocation_started(r, request);
        move_home(r);
        finish(r);
        return;
    }
    if (r && r->moves->len == 0) {
        vm_end_operation(vm);
        relocation_free(r);
        api_request_reply_empty(request, 204); /* every disk is there already */
        return;
    }
    if (!r || !check_space(r, &error) || !make_files(r, &error)) {
        if (r) {
            rollback_files(r);
            relocation_free(r);
        }
        vm_end_operation(vm);
        api_request_reply_error(request, error);
        return;
    }
    r->speed_limit = speed * 1024 * 1024;
    r->async = async;
    relocation_started(r, request);
    vm_log(vm, "relocate: moving %u disk(s), first to %s", r->moves->len,
           ((DiskMove *)g_ptr_array_index(r->moves, 0))->new_desc);
    qmp(r, "query-block", NULL, on_blocks);
}

static void
cancel_relocate(ApiRequest *request, gpointer data)
{
    Vm *vm = api_lookup_vm(request, data);
    if (!vm)
        return;
    Relocation *r = g_hash_table_lookup(relocations, vm);
    g_autoptr(GError) error = NULL;
    if (!r)
        error = g_error_new(VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                            "virtual machine %s is not being relocated", vm->id);
    else if (r->completing || r->rolling_back)
        error = g_error_new(VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                            "the relocation of %s is %s and can no longer be cancelled", vm->id,
                            r->completing ? "switching to the new disks" : "already being undone");
    if (error) {
        api_request_reply_error(request, error);
        return;
    }
    r->cancel_requested = TRUE; /* acted on at the next poll or step */
    vm_log(vm, "relocate: cancel requested");
    api_request_reply_empty(request, 204);
}

void
api_storage_migration_register(ApiServer *server, Host *host)
{
    if (!relocations)
        relocations = g_hash_table_new(g_direct_hash, g_direct_equal);
    api_server_add_route(server, "POST", "/api/vcenter/vm/{vm}", "relocate", relocate, host);
    api_server_add_route(server, "POST", "/api/vcenter/vm/{vm}", "cancel-relocate", cancel_relocate, host);
    api_storage_progress_register(server, host);
}
