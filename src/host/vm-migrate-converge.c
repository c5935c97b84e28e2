/* vm-migrate-converge.c — a live migration's convergence policy on this
 * host's QEMU (docs/migration.md "Convergence"). Throttling is QEMU's
 * auto-converge: at each dirty-sync pass where the guest dirtied more than
 * half of what was sent, QEMU raises the vCPU throttle by a step, as
 * vSphere's Stun During Page Send does. The watcher adds what QEMU does not
 * do by itself: post-copy once pre-copy is spent, and the time limit.
 *
 *   pre-copy ──(throttle steps)──▶ completed
 *      │  └─(policy.postcopy, passes or max throttle spent)─▶ postcopy-active ─▶ completed
 *      └─(time limit, not in post-copy)─▶ migrate_cancel: the guest runs on at the source
 */
#include "vm-migrate-converge.h"

#include "qmp-client.h"
#include "vireo-error.h"

/* ---- setting QEMU up ------------------------------------------------------ */

typedef struct {
    Vm *vm;
    VmConvergeReadyFunc done;
    gpointer data;
    JsonNode *parameters;    /* sent after the capabilities; NULL: none */
} Setup;

static void
setup_end(Setup *s, const GError *error)
{
    s->done(s->vm, error, s->data);
    if (s->parameters)
        json_node_unref(s->parameters);
    g_free(s);
}

static void
on_parameters(GObject *source, GAsyncResult *res, gpointer data)
{
    Setup *s = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = qmp_client_execute_finish(NULL, res, &error);
    if (!r)
        g_prefix_error(&error, "QEMU refused the migration's parameters: ");
    setup_end(s, r ? NULL : error);
}

static void
on_capabilities(GObject *source, GAsyncResult *res, gpointer data)
{
    Setup *s = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = qmp_client_execute_finish(NULL, res, &error);
    if (!r) {
        g_prefix_error(&error, "QEMU refused the migration's capabilities: ");
        setup_end(s, error);
        return;
    }
    if (!s->parameters || !s->vm->qmp) {
        setup_end(s, NULL);
        return;
    }
    qmp_client_execute_async(s->vm->qmp, "migrate-set-parameters", g_steal_pointer(&s->parameters), -1, NULL,
                             on_parameters, s);
}

static JsonNode *
capabilities(gboolean throttle, gboolean postcopy)
{
    g_autofree char *json = g_strdup_printf(
        "{\"capabilities\": [{\"capability\": \"auto-converge\", \"state\": %s},"
        " {\"capability\": \"postcopy-ram\", \"state\": %s}]}",
        throttle ? "true" : "false", postcopy ? "true" : "false");
    return json_from_string(json, NULL);
}

static void
setup_start(Vm *vm, JsonNode *caps, JsonNode *parameters, VmConvergeReadyFunc done, gpointer data)
{
    Setup *s = g_new0(Setup, 1);
    s->vm = vm;
    s->done = done;
    s->data = data;
    s->parameters = parameters;
    if (!vm->qmp) {
        g_autoptr(GError) e = g_error_new(VIREO_ERROR, VIREO_ERROR_ERROR, "QEMU went away");
        json_node_unref(caps);
        setup_end(s, e);
        return;
    }
    qmp_client_execute_async(vm->qmp, "migrate-set-capabilities", caps, -1, NULL, on_capabilities, s);
}

void
vm_converge_setup_source(Vm *vm, const MigrationPolicy *policy, VmConvergeReadyFunc done, gpointer data)
{
    JsonObject *p = json_object_new();
    json_object_set_int_member(p, "downtime-limit", policy->downtime_ms);
    json_object_set_int_member(p, "max-bandwidth", policy->bandwidth_mib_s * 1024 * 1024);
    json_object_set_int_member(p, "cpu-throttle-initial", policy->throttle_initial_pct);
    json_object_set_int_member(p, "cpu-throttle-increment", policy->throttle_increment_pct);
    json_object_set_int_member(p, "max-cpu-throttle", policy->throttle_max_pct);
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, p);
    setup_start(vm, capabilities(policy->throttle, policy->postcopy), node, done, data);
}

void
vm_converge_setup_destination(Vm *vm, const MigrationPolicy *policy, VmConvergeReadyFunc done, gpointer data)
{
    /* auto-converge is the source's business; the incoming side only has to
     * agree on post-copy (QEMU checks userfaultfd here). */
    setup_start(vm, capabilities(FALSE, policy->postcopy), NULL, done, data);
}

/* ---- the watcher ---------------------------------------------------------- */

struct VmConvergeWatch {
    Vm *vm;
    MigrationPolicy policy;
    MigrationProgress progress;
    gint64 started_us;
    guint stall_s;
    gint64 last_bytes;           /* ram.transferred at the last poll */
    gint64 last_move_us;         /* when it last changed */
    gboolean stalled;            /* cancelled by us: no progress for stall_s */
    gboolean cancelled;          /* by us, at the time limit or stalled */
    gboolean asked;              /* a command is in flight: do not send another */
    gboolean postcopy_refused;   /* migrate-start-postcopy failed: not asked again */
};

VmConvergeWatch *
vm_converge_watch_new(Vm *vm, const MigrationPolicy *policy, guint stall_s)
{
    VmConvergeWatch *w = g_new0(VmConvergeWatch, 1);
    w->vm = vm;
    w->policy = *policy;
    w->started_us = w->last_move_us = g_get_monotonic_time();
    w->stall_s = MAX(stall_s, 2);
    return w;
}

void
vm_converge_watch_free(VmConvergeWatch *watch)
{
    g_free(watch);
}

/* The watch outlives its commands: perform frees it only after the copy's
 * end, which QEMU reports after answering every earlier command. */
static void
on_action(GObject *source, GAsyncResult *res, gpointer data)
{
    VmConvergeWatch *w = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = qmp_client_execute_finish(NULL, res, &error);
    w->asked = FALSE;
    if (!r) {
        vm_log(w->vm, "migration: %s failed: %s", w->cancelled ? "migrate_cancel" : "migrate-start-postcopy",
               error->message);
        if (!w->cancelled) {
            w->progress.postcopy_started = FALSE;
            w->postcopy_refused = TRUE;
        }
    }
}

/* The progress watchdog: TRUE when the copy (still "active") has sent
 * nothing for stall_s — a cut or stuck vMotion link. */
static gboolean
stalled(VmConvergeWatch *w, const char *status, JsonObject *ram)
{
    gint64 bytes = ram ? json_object_get_int_member_with_default(ram, "transferred", 0) : 0;
    gint64 now = g_get_monotonic_time();
    if (bytes != w->last_bytes || !g_str_equal(status, "active")) {
        w->last_bytes = bytes;
        w->last_move_us = now;
        return FALSE;
    }
    return now - w->last_move_us >= (gint64)w->stall_s * G_USEC_PER_SEC;
}

void
vm_converge_watch_poll(VmConvergeWatch *w, JsonObject *info)
{
    const char *status = json_object_get_string_member_with_default(info, "status", "");
    JsonObject *ram = json_object_has_member(info, "ram") ? json_object_get_object_member(info, "ram") : NULL;
    gint64 passes = ram ? json_object_get_int_member_with_default(ram, "dirty-sync-count", 0) : 0;
    gint64 throttle = json_object_get_int_member_with_default(info, "cpu-throttle-percentage", 0);
    gint64 elapsed_ms = (g_get_monotonic_time() - w->started_us) / 1000;
    if (g_str_equal(status, "postcopy-active"))
        w->progress.postcopy_started = TRUE;
    if (!w->cancelled && !w->asked && w->vm->qmp && stalled(w, status, ram)) {
        vm_log(w->vm, "migration %s: no progress for %u s (%" G_GINT64_FORMAT " bytes sent); cancelling "
               "the copy, the guest runs on here", w->vm->migration, w->stall_s, w->last_bytes);
        w->stalled = w->cancelled = w->asked = TRUE;
        qmp_client_execute_async(w->vm->qmp, "migrate_cancel", NULL, -1, NULL, on_action, w);
        return;
    }
    MigrationAction action = migration_policy_decide(&w->policy, &w->progress, elapsed_ms, passes, throttle);
    if (action == MIGRATION_ACTION_NONE || w->asked || w->cancelled || !w->vm->qmp ||
        !g_str_equal(status, "active") || (action == MIGRATION_ACTION_START_POSTCOPY && w->postcopy_refused))
        return;
    w->asked = TRUE;
    if (action == MIGRATION_ACTION_START_POSTCOPY) {
        vm_log(w->vm, "migration %s: pre-copy not converging after %" G_GINT64_FORMAT " passes (throttle %"
               G_GINT64_FORMAT " %%); switching to post-copy", w->vm->migration, passes, throttle);
        w->progress.postcopy_started = TRUE;
        qmp_client_execute_async(w->vm->qmp, "migrate-start-postcopy", NULL, -1, NULL, on_action, w);
    } else {
        vm_log(w->vm, "migration %s: not converged within %" G_GINT64_FORMAT " s (%" G_GINT64_FORMAT
               " passes, throttle reached %" G_GINT64_FORMAT " %%); cancelling", w->vm->migration,
               w->policy.time_limit_s, passes, w->progress.max_throttle_pct);
        w->cancelled = TRUE;
        qmp_client_execute_async(w->vm->qmp, "migrate_cancel", NULL, -1, NULL, on_action, w);
    }
}

void
vm_converge_watch_report(VmConvergeWatch *w, JsonObject *stats)
{
    gint64 passes = json_object_get_int_member_with_default(stats, "dirty_sync_count", 0);
    json_object_set_int_member(stats, "max_throttle_pct", w->progress.max_throttle_pct);
    json_object_set_boolean_member(stats, "postcopy", w->progress.postcopy_started);
    json_object_set_int_member(stats, "dirty_sync_count", MAX(passes, w->progress.passes));
    json_object_set_int_member(stats, "downtime_budget_ms", w->policy.downtime_ms);
}

GError *
vm_converge_watch_explain(VmConvergeWatch *w)
{
    if (!w->cancelled)
        return NULL;
    if (w->stalled)
        return g_error_new(VIREO_ERROR, VIREO_ERROR_TIMED_OUT,
                           "the memory copy made no progress for %u s (is the vMotion network down?) "
                           "and was cancelled; the VM runs on the source", w->stall_s);
    return g_error_new(VIREO_ERROR, VIREO_ERROR_TIMED_OUT,
                       "the memory copy did not converge within %" G_GINT64_FORMAT " s (%" G_GINT64_FORMAT
                       " passes, vCPU throttle reached %" G_GINT64_FORMAT " %%%s) and was cancelled; "
                       "the VM runs on the source",
                       w->policy.time_limit_s, w->progress.passes, w->progress.max_throttle_pct,
                       w->policy.throttle ? "" : ", throttling off");
}
