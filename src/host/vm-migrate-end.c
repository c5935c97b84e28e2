/* vm-migrate-end.c — how a live migration ends on a host (docs/migration.md):
 * the source's confirm (stop the paused copy, forget or delete the VM), cancel
 * on either side (the destination kills its incoming copy unless the guest
 * already runs there; the source cancels its copy and resumes the guest only
 * when that is safe), and the answers given from the journal to a centre
 * that asks again after a restart or a lost answer.
 */
#include "vm-migrate-private.h"

#include "json-util.h"
#include "mig-files.h"
#include "qemu-process.h"
#include "qmp-client.h"
#include "vireo-error.h"
#include "vm-migrate-journal.h"
#include "vm-migrate-nbd.h"
#include "vm-power.h"

#include <signal.h>

JsonNode *
vm_migration_ref_json(const char *id)
{
    JsonObject *o = json_object_new();
    json_object_set_string_member(o, "vm", id);
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, o);
    return node;
}

/* A finish or cancel for a migration no VM here is in any more, answered
 * from the journal so that the centre may ask again after a restart or a
 * lost answer: finish of one that finished → 200 {"vm"}; cancel of one
 * whose guest was resumed here → 400 (it runs here); cancel of one unknown
 * here → 204 (nothing to undo). TRUE when it answered. */
gboolean
vm_migration_settled(Host *host, ApiRequest *request, gboolean cancel)
{
    JsonObject *o = api_body_object(request, TRUE);
    const char *mid = o ? json_object_get_string_member_with_default(o, "migration", NULL) : NULL;
    if (!mid || !o)
        return o == NULL;
    if (vm_migration_find(host, mid))
        return FALSE;
    g_autofree char *vm_id = NULL;
    g_autofree char *step = vm_migration_journal_step(host, mid, &vm_id);
    gboolean here = g_strcmp0(step, "finished") == 0 || g_strcmp0(step, "resumed") == 0;
    if (cancel && here)
        api_request_reply_error(request, g_error_new(VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                                                     "migration %s completed: the VM runs on this host as %s",
                                                     mid, vm_id ? vm_id : "?"));
    else if (here)
        api_request_reply_json(request, 200, vm_migration_ref_json(vm_id ? vm_id : ""));
    else if (cancel)
        api_request_reply_empty(request, 204);
    return cancel || here;
}

/* ---- confirm (source) ------------------------------------------------------- */

static void
on_source_gone(Vm *vm, const GError *error, gpointer data)
{
    ApiRequest *request = data;
    Host *host = vm->host;
    g_autofree char *mid = g_strdup(vm->migration);
    g_autoptr(GError) local = NULL;
    /* The files are the destination's now: forget the VM, keep them;
     * unless they were copied to the destination's datastore: delete them. */
    gboolean copied = vm_migrate_nbd_confirm(vm);
    if (!(copied ? vm_manager_destroy(host, vm, &local) : vm_manager_unregister(host, vm, &local)))
        g_warning("migration %s: %s", mid, local->message);
    vm_migration_journal_remove(host, mid);
    api_request_reply_empty(request, 204);
    api_request_unref(request);
}

static void
mig_confirm(ApiRequest *request, gpointer data)
{
    JsonObject *o = NULL;
    Vm *vm = vm_migration_lookup(data, request, &o);
    if (!vm)
        return;
    if (!vm->migration_source) {
        api_request_reply_error(request, g_error_new(VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                                                     "this host is not the source of migration %s", vm->migration));
        return;
    }
    vm_log(vm, "migration %s: confirmed; stopping the source copy", vm->migration);
    g_autoptr(GError) error = NULL;
    if (!vm_migration_journal_write(vm, "confirm", &error))
        g_warning("%s: %s", vm->id, error->message);
    mig_psk_remove(vm->run_dir);
    vm_end_operation(vm);
    vm_power_stop(vm, on_source_gone, api_request_ref(request));
}

/* The source's `cont` after a cancel, retried while the destination QEMU
 * (killed, but not yet gone) still holds the disk lock. The VM is looked up
 * again each time: it may have been unregistered meanwhile. */
typedef struct {
    Host *host;
    char *vm;
    guint tries;
} Resume;

#define RESUME_TRIES 50
#define RESUME_WAIT_MS 100

static gboolean resume_source(gpointer data);

static Resume *
resume_new(Host *host, Vm *vm)
{
    Resume *rs = g_new0(Resume, 1);
    rs->host = host;
    rs->vm = g_strdup(vm->id);
    return rs;
}

static void
on_resumed(GObject *source, GAsyncResult *res, gpointer data)
{
    Resume *rs = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = qmp_client_execute_finish(NULL, res, &error);
    Vm *vm = vm_manager_lookup(rs->host, rs->vm, NULL);
    if (!r && vm && ++rs->tries < RESUME_TRIES) {
        g_timeout_add(RESUME_WAIT_MS, resume_source, rs);
        return;
    }
    if (!r && vm)
        vm_log(vm, "migration cancelled, but the source could not resume: %s", error->message);
    g_free(rs->vm);
    g_free(rs);
}

static gboolean
resume_source(gpointer data)
{
    Resume *rs = data;
    Vm *vm = vm_manager_lookup(rs->host, rs->vm, NULL);
    if (vm && vm->qmp) {
        qmp_client_execute_async(vm->qmp, "cont", NULL, -1, NULL, on_resumed, rs);
    } else {
        g_free(rs->vm);
        g_free(rs);
    }
    return G_SOURCE_REMOVE;
}

static void
on_cancelled(GObject *source, GAsyncResult *res, gpointer data)
{
    Resume *rs = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = qmp_client_execute_finish(NULL, res, &error);
    /* A copy that completed left the guest paused; the centre cancels the
     * destination first, and QEMU's disk lock refuses `cont` while another
     * QEMU holds the disk. */
    resume_source(rs);
}

/* The source lets go of the migration and resumes the guest (if its QEMU
 * is still there). */
static void
source_release(Host *host, Vm *vm)
{
    vm_log(vm, "migration %s: cancelled on the source", vm->migration);
    vm_migrate_nbd_cancel(vm);
    vm_migration_journal_remove(host, vm->migration);
    g_clear_pointer(&vm->migration, g_free);
    vm_end_operation(vm);
    mig_psk_remove(vm->run_dir);
    if (vm->qmp)
        qmp_client_execute_async(vm->qmp, "migrate_cancel", NULL, -1, NULL, on_cancelled, resume_new(host, vm));
}

typedef struct {
    ApiRequest *request;
    Host *host;
    char *vm;
    char *migration;
    gboolean destination_clean;
} SourceCancel;

/* A copy that completed left the guest paused here and complete there: it
 * is resumed here only when the centre says the destination's copy is gone
 * (its cancel answered), never on a guess. */
static void
on_source_copy_state(GObject *source, GAsyncResult *res, gpointer data)
{
    SourceCancel *sc = data;
    g_autoptr(JsonNode) r = qmp_client_execute_finish(NULL, res, NULL);
    const char *copy = r ? json_object_get_string_member_with_default(json_node_get_object(r), "status", "") : "";
    Vm *vm = vm_manager_lookup(sc->host, sc->vm, NULL);
    if (vm && g_strcmp0(vm->migration, sc->migration) != 0)
        vm = NULL;
    if (vm && g_str_equal(copy, "completed") && !sc->destination_clean) {
        api_request_reply_error(sc->request,
            g_error_new(VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                        "the copy of migration %s completed: the guest stays paused here until the "
                        "destination's copy is known to be gone (cancel it there first)", sc->migration));
    } else {
        if (vm)
            source_release(sc->host, vm);
        api_request_reply_empty(sc->request, 204);
    }
    api_request_unref(sc->request);
    g_free(sc->vm);
    g_free(sc->migration);
    g_free(sc);
}

static void
destination_cancel(ApiRequest *request, Host *host, Vm *vm)
{
    if (vm->migration_resumed) {
        api_request_reply_error(request, g_error_new(VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                                                     "migration %s completed: the guest runs on this host as %s",
                                                     vm->migration, vm->id));
        return;
    }
    vm_log(vm, "migration %s: cancelled on the destination", vm->migration);
    vm_migrate_nbd_cancel(vm);
    vm_migration_journal_remove(host, vm->migration);
    g_clear_pointer(&vm->migration, g_free);
    vm_end_operation(vm);
    mig_psk_remove(vm->run_dir);
    vm->stop_requested = TRUE;
    if (vm->process)
        qemu_process_kill(vm->process, SIGKILL);
    /* Unregistered once its QEMU is gone (vm_manager_unregister refuses a
     * running VM); the exit watch turns it off first. */
    vm->unregister_when_off = TRUE;
    if (!vm->process)
        vm_manager_unregister(host, vm, NULL);
    api_request_reply_empty(request, 204);
}

/* cancel {"migration", "destination_clean"?}: the destination kills its
 * incoming copy unless the guest already runs there (409); the source
 * cancels its copy and resumes the guest (see on_source_copy_state). */
static void
mig_cancel(ApiRequest *request, gpointer data)
{
    Host *host = data;
    JsonObject *o = NULL;
    if (vm_migration_settled(host, request, TRUE))
        return;
    Vm *vm = vm_migration_lookup(host, request, &o);
    if (!vm)
        return;
    if (!vm->migration_source) {
        destination_cancel(request, host, vm);
        return;
    }
    if (!vm->qmp) {
        source_release(host, vm);
        api_request_reply_empty(request, 204);
        return;
    }
    SourceCancel *sc = g_new0(SourceCancel, 1);
    sc->request = api_request_ref(request);
    sc->host = host;
    sc->vm = g_strdup(vm->id);
    sc->migration = g_strdup(vm->migration);
    sc->destination_clean = json_object_get_boolean_member_with_default(o, "destination_clean", FALSE);
    qmp_client_execute_async(vm->qmp, "query-migrate", NULL, -1, NULL, on_source_copy_state, sc);
}

void
vm_migration_end_register(ApiServer *server, Host *host)
{
    api_server_add_route(server, "POST", "/api/vireo/migration", "confirm", mig_confirm, host);
    api_server_add_route(server, "POST", "/api/vireo/migration", "cancel", mig_cancel, host);
}
