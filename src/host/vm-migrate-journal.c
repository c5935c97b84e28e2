/* vm-migrate-journal.c — the host's migration journal and what it is for:
 * restart recovery, the destination's resume-on-arrival and the status the
 * centre asks when it must decide. (The source's progress watchdog is in
 * the copy's watcher, vm-migrate-converge.c.)
 *
 * The journal is one file per migration, <state_dir>/migrations/<id>.json
 * {"migration","vm","role","step","time"}, written durably before the host
 * acts on a step. After vireo-hostd was killed, vm_migration_recover()
 * reads each one against what QEMU says (libvirt's recovery table, cut to
 * Vireo's steps):
 *
 *   role         step       QEMU now                      then
 *   source       begin      running, no copy going         let go (the centre's next step
 *                perform                                   gets 404 and rolls back)
 *   source       begin      copy going or completed        re-take: busy, in the migration;
 *                perform    (postmigrate, paused)          the centre confirms or cancels
 *   source       confirm    paused copy still there        stop it, unregister
 *   destination  prepare    incoming, not complete         re-take, wait for the copy
 *                           copy complete, paused          journal "resumed", resume: the
 *                                                          source is paused for good
 *                prepare    gone                           unregister (it never ran here)
 *   destination  resumed    running                        re-take until finish
 *   destination  finished   -                              kept a day for status, then gone
 */
#include "vm-migrate-journal.h"

#include "inventory.h"
#include "json-util.h"
#include "mig-files.h"
#include "qemu-process.h"
#include "qmp-client.h"
#include "vireo-error.h"
#include "vm-migrate-nbd.h"
#include "vm-power.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

#define JOURNAL_KEEP_S (24 * 3600)

/* ---- the files ------------------------------------------------------------- */

static char *
journal_dir(Host *host)
{
    return g_build_filename(host->config->state_dir, "migrations", NULL);
}

static char *
journal_path(Host *host, const char *migration)
{
    if (!mig_id_valid(migration))
        return NULL;
    g_autofree char *dir = journal_dir(host);
    g_autofree char *name = g_strconcat(migration, ".json", NULL);
    return g_build_filename(dir, name, NULL);
}

gboolean
vm_migration_journal_write(Vm *vm, const char *step, GError **error)
{
    g_autofree char *dir = journal_dir(vm->host);
    g_autofree char *path = journal_path(vm->host, vm->migration);
    if (!path) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "migration id: give [A-Za-z0-9._-], at most 64 characters");
        return FALSE;
    }
    JsonObject *o = json_object_new();
    json_object_set_string_member(o, "migration", vm->migration);
    json_object_set_string_member(o, "vm", vm->id);
    json_object_set_string_member(o, "role", vm->migration_source ? "source" : "destination");
    json_object_set_string_member(o, "step", step);
    json_object_set_int_member(o, "time", g_get_real_time() / G_USEC_PER_SEC);
    /* The destination of a vMotion + Storage vMotion made the VM's folder:
     * it goes with an incoming copy that died. */
    json_object_set_boolean_member(o, "staged", !vm->migration_source && vm_migrate_nbd_staged(vm));
    gboolean ok = mig_journal_write(dir, path, o, "the migration journal", error);
    json_object_unref(o);
    return ok;
}

char *
vm_migration_journal_step(Host *host, const char *migration, char **vm_id)
{
    g_autofree char *path = journal_path(host, migration);
    JsonObject *o = path ? mig_journal_read(path) : NULL;
    if (!o)
        return NULL;
    char *step = g_strdup(json_object_get_string_member_with_default(o, "step", NULL));
    if (vm_id)
        *vm_id = g_strdup(json_object_get_string_member_with_default(o, "vm", NULL));
    json_object_unref(o);
    return step;
}

void
vm_migration_journal_remove(Host *host, const char *migration)
{
    g_autofree char *path = journal_path(host, migration);
    if (path && g_unlink(path) < 0 && errno != ENOENT)
        g_warning("migration %s: cannot remove %s: %s", migration, path, g_strerror(errno));
}

/* ---- the destination resumes the guest when its copy completed ------------- */

static void
on_incoming_resumed(GObject *source, GAsyncResult *res, gpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = qmp_client_execute_finish(NULL, res, &error);
    g_autofree char *what = data;
    if (!r)
        g_warning("%s: resuming the migrated guest failed: %s", what, error->message);
}

void
vm_migration_resume_incoming(Vm *vm)
{
    g_autoptr(GError) error = NULL;
    if (!vm->migration || vm->migration_source || vm->migration_resumed || !vm->qmp)
        return;
    /* Durable before the guest runs: from here on the VM is this host's
     * whatever happens to vireo-hostd. */
    if (!vm_migration_journal_write(vm, "resumed", &error))
        g_warning("%s: %s (resuming anyway: the source is paused for good)", vm->id, error->message);
    vm->migration_resumed = TRUE;
    vm_log(vm, "migration %s: the copy arrived; the guest runs here", vm->migration);
    qmp_client_execute_async(vm->qmp, "cont", NULL, -1, NULL, on_incoming_resumed, g_strdup(vm->id));
}

void
vm_migration_on_event(Vm *vm, JsonObject *data)
{
    const char *status = data ? json_object_get_string_member_with_default(data, "status", "") : "";
    /* A post-copy's switch-over hands the guest over before the copy ends:
     * from then on it can run only here (the source holds no whole copy). */
    if (vm->migration && !vm->migration_source &&
        (g_str_equal(status, "completed") || g_str_equal(status, "postcopy-active")))
        vm_migration_resume_incoming(vm);
}

/* ---- status ----------------------------------------------------------------- */

typedef struct {
    ApiRequest *request;
    Host *host;
    char *vm;
    JsonObject *out;
} StatusOp;

static void
status_reply(StatusOp *op)
{
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, op->out);
    api_request_reply_json(op->request, 200, node);
    api_request_unref(op->request);
    g_free(op->vm);
    g_free(op);
}

static void
on_status_migrate(GObject *source, GAsyncResult *res, gpointer data)
{
    StatusOp *op = data;
    g_autoptr(JsonNode) r = qmp_client_execute_finish(NULL, res, NULL);
    const char *copy = r ? json_object_get_string_member_with_default(json_node_get_object(r), "status", "none")
                         : "unknown";
    json_object_set_string_member(op->out, "copy", copy);
    status_reply(op);
}

static void
on_status_run(GObject *source, GAsyncResult *res, gpointer data)
{
    StatusOp *op = data;
    g_autoptr(JsonNode) r = qmp_client_execute_finish(NULL, res, NULL);
    const char *run = r ? json_object_get_string_member_with_default(json_node_get_object(r), "status", "")
                        : "unknown";
    json_object_set_string_member(op->out, "run_state", run);
    Vm *vm = vm_manager_lookup(op->host, op->vm, NULL);
    if (vm && vm->qmp)
        qmp_client_execute_async(vm->qmp, "query-migrate", NULL, -1, NULL, on_status_migrate, op);
    else
        status_reply(op);
}

Vm *
vm_migration_find(Host *host, const char *migration)
{
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, host->vms);
    while (g_hash_table_iter_next(&it, NULL, &value))
        if (g_strcmp0(((Vm *)value)->migration, migration) == 0)
            return value;
    return NULL;
}

/* {"role","step","vm","live","resumed","run_state","copy"}: run_state and
 * copy are QEMU's (query-status, query-migrate) while the VM is in the
 * migration here. 404 when this host knows nothing of it. */
void
api_migration_status(ApiRequest *request, gpointer data)
{
    Host *host = data;
    JsonObject *body = api_body_object(request, TRUE);
    const char *mid = NULL;
    g_autoptr(GError) error = NULL;
    if (!body || !json_util_get_string(body, "migration", "spec", &mid, &error) || !mid) {
        if (body)
            api_request_reply_error(request, error ? error : g_error_new(VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                                                                         "give the migration id"));
        return;
    }
    g_autofree char *vm_id = NULL;
    g_autofree char *step = vm_migration_journal_step(host, mid, &vm_id);
    Vm *vm = vm_migration_find(host, mid);
    if (!vm && !step) {
        api_request_reply_error(request, g_error_new(VIREO_ERROR, VIREO_ERROR_NOT_FOUND,
                                                     "no migration %s on this host", mid));
        return;
    }
    StatusOp *op = g_new0(StatusOp, 1);
    op->request = api_request_ref(request);
    op->host = host;
    op->out = json_object_new();
    json_object_set_string_member(op->out, "step", step ? step : "unknown");
    json_object_set_boolean_member(op->out, "live", vm != NULL);
    if (!vm) {
        Vm *gone = vm_id ? vm_manager_lookup(host, vm_id, NULL) : NULL;
        json_object_set_string_member(op->out, "vm", vm_id ? vm_id : "");
        json_object_set_string_member(op->out, "power_state",
                                      gone ? vm_power_state_to_string(gone->power_state) : "UNREGISTERED");
        status_reply(op);
        return;
    }
    op->vm = g_strdup(vm->id);
    json_object_set_string_member(op->out, "vm", vm->id);
    json_object_set_string_member(op->out, "role", vm->migration_source ? "source" : "destination");
    json_object_set_boolean_member(op->out, "resumed", vm->migration_resumed);
    if (vm->qmp)
        qmp_client_execute_async(vm->qmp, "query-status", NULL, -1, NULL, on_status_run, op);
    else
        status_reply(op);
}

/* ---- recovery at start ---------------------------------------------------- */

/* The "status" member of command's answer ("" when QEMU does not answer). */
static char *
qmp_status(Vm *vm, const char *command)
{
    g_autoptr(JsonNode) r = vm->qmp ? qmp_client_execute_sync(vm->qmp, command, NULL, -1, 5000, NULL) : NULL;
    return g_strdup(r ? json_object_get_string_member_with_default(json_node_get_object(r), "status", "") : "");
}

static void
retake(Vm *vm, const char *mid, gboolean source)
{
    g_autofree char *op = g_strdup_printf("migration %s", mid);
    vm->migration = g_strdup(mid);
    vm->migration_source = source;
    vm_begin_operation(vm, op, NULL);
}

/* Returns TRUE when the journal stays. */
static gboolean
recover_source(Vm *vm, const char *mid, const char *step)
{
    g_autofree char *copy = qmp_status(vm, "query-migrate");
    if (g_str_equal(step, "confirm")) {
        vm_log(vm, "migration %s: vireo-hostd restarted during confirm; stopping the source copy", mid);
        if (vm->process) {
            vm->stop_requested = TRUE;
            vm->unregister_when_off = TRUE;
            qemu_process_kill(vm->process, SIGKILL);
        } else {
            vm_manager_unregister(vm->host, vm, NULL);
        }
        return FALSE;
    }
    gboolean going = g_str_equal(copy, "active") || g_str_equal(copy, "setup") ||
                     g_str_equal(copy, "device") || g_str_equal(copy, "pre-switchover") ||
                     g_str_equal(copy, "completed");
    if (!going || !vm->qmp) {
        vm_log(vm, "migration %s: vireo-hostd restarted at step %s; no copy was going (%s): the VM "
               "stays here, the migration is let go", mid, step, copy[0] ? copy : "no QEMU");
        return FALSE;
    }
    retake(vm, mid, TRUE);
    vm_log(vm, "migration %s: vireo-hostd restarted at step %s; the copy is %s: waiting for the centre "
           "to confirm or cancel", mid, step, copy);
    return TRUE;
}

static gboolean
recover_destination(Vm *vm, const char *mid, const char *step, gboolean staged)
{
    if (!vm->process || !vm->qmp) {
        vm_log(vm, "migration %s: vireo-hostd restarted at step %s; the incoming QEMU is gone", mid, step);
        if (!g_str_equal(step, "prepare"))
            return FALSE;
        g_autoptr(GError) error = NULL;
        if (!(staged ? vm_manager_destroy(vm->host, vm, &error) : vm_manager_unregister(vm->host, vm, &error)))
            g_warning("migration %s: %s", mid, error->message);
        return FALSE;
    }
    retake(vm, mid, FALSE);
    g_autofree char *run = qmp_status(vm, "query-status");
    g_autofree char *copy = qmp_status(vm, "query-migrate");
    vm_log(vm, "migration %s: vireo-hostd restarted at step %s (QEMU %s, copy %s)", mid, step, run, copy);
    if (g_str_equal(step, "resumed") || g_str_equal(run, "running")) {
        vm->migration_resumed = TRUE;
        vm->power_state = VM_POWER_STATE_POWERED_ON;
        if (!g_str_equal(run, "running"))
            qmp_client_execute_sync(vm->qmp, "cont", NULL, -1, 5000, NULL);
    } else if (g_str_equal(copy, "completed")) {
        vm_migration_resume_incoming(vm);
    }
    return TRUE;
}

static void
recover_one(Host *host, const char *path)
{
    JsonObject *o = mig_journal_read(path);
    const char *mid = o ? json_object_get_string_member_with_default(o, "migration", NULL) : NULL;
    const char *step = o ? json_object_get_string_member_with_default(o, "step", "") : "";
    const char *role = o ? json_object_get_string_member_with_default(o, "role", "") : "";
    const char *vm_id = o ? json_object_get_string_member_with_default(o, "vm", NULL) : NULL;
    gint64 time = o ? json_object_get_int_member_with_default(o, "time", 0) : 0;
    Vm *vm = vm_id ? vm_manager_lookup(host, vm_id, NULL) : NULL;
    gboolean keep = FALSE;

    if (!mid)
        g_warning("%s: not a migration journal; removed", path);
    else if (g_str_equal(step, "finished"))
        keep = g_get_real_time() / G_USEC_PER_SEC - time < JOURNAL_KEEP_S;
    else if (!vm)
        g_message("migration %s: its VM %s is no longer registered here", mid, vm_id ? vm_id : "?");
    else if (g_str_equal(role, "source"))
        keep = recover_source(vm, mid, step);
    else
        keep = recover_destination(vm, mid, step,
                                   json_object_get_boolean_member_with_default(o, "staged", FALSE));
    if (!keep && g_unlink(path) < 0 && errno != ENOENT)
        g_warning("cannot remove %s: %s", path, g_strerror(errno));
    if (o)
        json_object_unref(o);
}

void
vm_migration_recover(Host *host)
{
    g_autofree char *dir = journal_dir(host);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        if (!g_str_has_suffix(name, ".json"))
            continue;
        g_autofree char *path = g_build_filename(dir, name, NULL);
        recover_one(host, path);
    }
}
