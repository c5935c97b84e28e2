/* vm-migration-wait.c — waiting for a QEMU migration stream to end: the
 * suspend to a .vmss, the resume from one, and a live migration's memory
 * copy all poll query-migrate until it completes or fails; a live copy's
 * convergence watcher also sees each poll in between. */
#include "vm-migrate-converge.h"
#include "vm-power.h"
#include "qmp-client.h"
#include "vireo-error.h"

typedef struct {
    Vm *vm;
    guint interval_ms;
    VmMigrationProgressFunc progress;   /* NULL: none */
    VmMigrationWaitFunc done;
    gpointer data;
} Wait;

static void wait_poll(Wait *w);

static void
wait_end(Wait *w, JsonObject *info, GError *error)
{
    w->done(w->vm, info, error, w->data);
    g_free(w);
}

static void
on_query(GObject *source, GAsyncResult *res, gpointer data)
{
    Wait *w = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = qmp_client_execute_finish(NULL, res, &error);
    if (!r) {
        wait_end(w, NULL, error);
        return;
    }
    JsonObject *info = json_node_get_object(r);
    const char *status = json_object_get_string_member_with_default(info, "status", "");
    if (g_str_equal(status, "completed")) {
        wait_end(w, info, NULL);
    } else if (g_str_equal(status, "failed") || g_str_equal(status, "cancelled")) {
        g_autoptr(GError) e = g_error_new(VIREO_ERROR, VIREO_ERROR_ERROR, "%s",
                                          json_object_get_string_member_with_default(info, "error-desc", status));
        wait_end(w, NULL, e);
    } else {
        if (w->progress)
            w->progress(w->vm, info, w->data);
        g_timeout_add_once(w->interval_ms, (GSourceOnceFunc)wait_poll, w);
    }
}

static void
wait_poll(Wait *w)
{
    if (!w->vm->qmp) {
        g_autoptr(GError) e = g_error_new(VIREO_ERROR, VIREO_ERROR_ERROR, "QEMU went away");
        wait_end(w, NULL, e);
        return;
    }
    qmp_client_execute_async(w->vm->qmp, "query-migrate", NULL, -1, NULL, on_query, w);
}

void
vm_migration_wait_watched(Vm *vm, guint interval_ms, VmMigrationProgressFunc progress,
                          VmMigrationWaitFunc done, gpointer data)
{
    Wait *w = g_new0(Wait, 1);
    w->vm = vm;
    w->interval_ms = interval_ms;
    w->progress = progress;
    w->done = done;
    w->data = data;
    wait_poll(w);
}

void
vm_migration_wait(Vm *vm, guint interval_ms, VmMigrationWaitFunc done, gpointer data)
{
    vm_migration_wait_watched(vm, interval_ms, NULL, done, data);
}
