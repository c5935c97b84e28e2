/* vm-migrate.c — this host's side of a live migration (docs/migration.md):
 * the source's begin / perform / confirm and the destination's prepare /
 * finish, plus cancel on either, as internal API endpoints the centre
 * drives.
 *
 *   source:      begin ──▶ perform ──▶ confirm          (cancel: resume)
 *   destination:      prepare ──▶ finish                 (cancel: kill, unregister)
 *
 * A source whose copy completed stays paused (QEMU's postmigrate) until the
 * centre confirms or cancels; it never resumes by itself, so at most one
 * copy of the guest runs. The destination QEMU resumes the guest the moment
 * the last pages land (it is started without -S), so the hand-over adds no
 * round trip to the pause the guest sees.
 */
#include "api.h"
#include "inventory.h"
#include "json-util.h"
#include "qemu-process.h"
#include "qmp-client.h"
#include "vireo-error.h"
#include "vm-launch.h"

#include <signal.h>
#include <string.h>

typedef struct {
    Host *host;
    Vm *vm;
    ApiRequest *request;
    QmpClient *connecting;
    char *listen;           /* destination: the vMotion address */
    guint tries;
    guint timer;
    gint64 started_us;
} MigOp;

static void
mig_op_free(MigOp *op)
{
    g_clear_handle_id(&op->timer, g_source_remove);
    if (op->request)
        api_request_unref(op->request);
    g_free(op->listen);
    g_free(op);
}

static void
mig_fail(MigOp *op, const char *what, const GError *error)
{
    g_autoptr(GError) e = g_error_new(VIREO_ERROR, vireo_error_code_of(error), "%s: %s", what,
                                      error->message);
    if (op->vm)
        vm_log(op->vm, "migration: %s", e->message);
    api_request_reply_error(op->request, e);
    mig_op_free(op);
}

static Vm *
migration_vm(Host *host, ApiRequest *request, JsonObject **body)
{
    g_autoptr(GError) error = NULL;
    JsonObject *o = api_body_object(request, TRUE);
    const char *mid = NULL;
    if (!o)
        return NULL;
    if (!json_util_get_string(o, "migration", "spec", &mid, &error) || !mid) {
        api_request_reply_error(request, error ? error : g_error_new(VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT, "give the migration id"));
        return NULL;
    }
    *body = o;
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, host->vms);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        Vm *vm = value;
        if (g_strcmp0(vm->migration, mid) == 0)
            return vm;
    }
    g_set_error(&error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "no migration %s on this host", mid);
    api_request_reply_error(request, error);
    return NULL;
}

/* ---- begin (source) ------------------------------------------------------ */

static void
mig_begin(ApiRequest *request, gpointer data)
{
    Host *host = data;
    JsonObject *o = api_body_object(request, TRUE);
    const char *id = NULL, *mid = NULL;
    g_autoptr(GError) error = NULL;
    if (!o || !json_util_get_string(o, "vm", "spec", &id, &error) ||
        !json_util_get_string(o, "migration", "spec", &mid, &error)) {
        if (o)
            api_request_reply_error(request, error);
        return;
    }
    Vm *vm = vm_manager_lookup(host, id, &error);
    if (vm && vm->power_state != VM_POWER_STATE_POWERED_ON)
        g_set_error(&error, VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                    "virtual machine %s is %s; vMotion moves running VMs", id,
                    vm_power_state_to_string(vm->power_state));
    g_autofree char *op = g_strdup_printf("migration %s", mid ? mid : "");
    if (!error && (!mid || !vm_begin_operation(vm, op, &error)) && !error)
        error = g_error_new(VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT, "give the migration id");
    if (error) {
        api_request_reply_error(request, error);
        return;
    }
    vm->migration = g_strdup(mid);
    vm->migration_source = TRUE;
    vm_log(vm, "migration %s: begin (source)", mid);
    g_autofree char *path = host_datastore_path_of(host, vm->vmx_path);
    JsonObject *r = json_object_new();
    json_object_set_string_member(r, "vmx_path", path ? path : vm->vmx_path);
    json_object_set_string_member(r, "name", vm->config->name);
    json_object_set_int_member(r, "memory_MiB", vm->config->memory_mib);
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, r);
    api_request_reply_json(request, 200, node);
}

/* ---- prepare (destination) ----------------------------------------------- */

static void
on_incoming_address(GObject *source, GAsyncResult *res, gpointer data)
{
    MigOp *op = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = qmp_client_execute_finish(NULL, res, &error);
    if (!r) {
        mig_fail(op, "the incoming QEMU has no address", error);
        return;
    }
    JsonObject *info = json_node_get_object(r);
    JsonArray *addrs = json_object_has_member(info, "socket-address")
                           ? json_object_get_array_member(info, "socket-address") : NULL;
    JsonObject *a = addrs && json_array_get_length(addrs) ? json_array_get_object_element(addrs, 0) : NULL;
    const char *port = a ? json_object_get_string_member_with_default(a, "port", NULL) : NULL;
    if (!port) {
        g_autoptr(GError) e = g_error_new(VIREO_ERROR, VIREO_ERROR_ERROR, "QEMU reported no port");
        mig_fail(op, "prepare", e);
        return;
    }
    g_autofree char *uri = g_strdup_printf("tcp:%s:%s", op->listen, port);
    vm_log(op->vm, "migration %s: prepared, waiting on %s", op->vm->migration, uri);
    JsonObject *o = json_object_new();
    json_object_set_string_member(o, "vm", op->vm->id);
    json_object_set_string_member(o, "uri", uri);
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, o);
    api_request_reply_json(op->request, 200, node);
    mig_op_free(op);
}

static void
on_incoming_started(GObject *source, GAsyncResult *res, gpointer data)
{
    MigOp *op = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = qmp_client_execute_finish(NULL, res, &error);
    if (!r) {
        mig_fail(op, "the destination QEMU refused the incoming channel", error);
        return;
    }
    qmp_client_execute_async(op->vm->qmp, "query-migrate", NULL, -1, NULL, on_incoming_address, op);
}

static gboolean try_connect(gpointer data);

static void
on_dest_qmp(GObject *source, GAsyncResult *res, gpointer data)
{
    MigOp *op = data;
    QmpClient *qmp = g_steal_pointer(&op->connecting);
    g_autoptr(GError) error = NULL;
    if (!qmp_client_connect_finish(qmp, res, &error)) {
        qmp_client_free(qmp);
        if (op->vm->process && ++op->tries < 100) {
            op->timer = g_timeout_add(100, try_connect, op);
            return;
        }
        mig_fail(op, "the destination QEMU did not start", error);
        return;
    }
    vm_power_attach_channels(op->vm, qmp);
    g_autofree char *uri = g_strdup_printf("tcp:%s:0", op->listen);
    JsonObject *args = json_object_new();
    json_object_set_string_member(args, "uri", uri);
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, args);
    qmp_client_execute_async(qmp, "migrate-incoming", node, -1, NULL, on_incoming_started, op);
}

static gboolean
try_connect(gpointer data)
{
    MigOp *op = data;
    op->timer = 0;
    if (!op->vm->process) {
        g_autoptr(GError) e = g_error_new(VIREO_ERROR, VIREO_ERROR_ERROR,
                                          "it exited at once; see vmware.log");
        mig_fail(op, "the destination QEMU did not start", e);
        return G_SOURCE_REMOVE;
    }
    g_autofree char *socket = vm_launch_qmp_socket(op->vm);
    op->connecting = qmp_client_new();
    qmp_client_connect_async(op->connecting, socket, NULL, on_dest_qmp, op);
    return G_SOURCE_REMOVE;
}

static void
mig_prepare(ApiRequest *request, gpointer data)
{
    Host *host = data;
    JsonObject *o = api_body_object(request, TRUE);
    const char *mid = NULL, *path = NULL, *name = NULL;
    g_autoptr(GError) error = NULL;
    if (!o || !json_util_get_string(o, "migration", "spec", &mid, &error) ||
        !json_util_get_string(o, "vmx_path", "spec", &path, &error) ||
        !json_util_get_string(o, "name", "spec", &name, &error)) {
        if (o)
            api_request_reply_error(request, error);
        return;
    }
    g_autofree char *abs = mid && path ? host_resolve_datastore_path(host, path, NULL, NULL, &error) : NULL;
    Vm *vm = abs ? vm_manager_register(host, abs, name, &error) : NULL;
    g_autofree char *opname = g_strdup_printf("migration %s", mid ? mid : "");
    if (vm && !vm_begin_operation(vm, opname, &error))
        vm = NULL;
    if (!vm) {
        api_request_reply_error(request, error ? error : g_error_new(VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT, "give migration, vmx_path and name"));
        return;
    }
    vm->migration = g_strdup(mid);
    vm->migration_source = FALSE;
    g_autoptr(VmLaunch) launch = vm_launch_prepare(vm, TRUE, &error);
    g_autofree char *log = g_build_filename(vm->dir, "vmware.log", NULL);
    QemuProcess *process = launch ? qemu_process_spawn(vm_launch_argv(launch), log, &error) : NULL;
    if (!process) {
        vm_end_operation(vm);
        vm_manager_unregister(host, vm, NULL);
        api_request_reply_error(request, error);
        return;
    }
    vm_log(vm, "migration %s: prepare (destination)", mid);
    vm_power_attach_process(vm, process);
    MigOp *op = g_new0(MigOp, 1);
    op->host = host;
    op->vm = vm;
    op->request = api_request_ref(request);
    op->listen = g_strdup(host->config->vmotion_address ? host->config->vmotion_address
                                                         : host->config->listen_address);
    op->timer = g_timeout_add(50, try_connect, op);
}

/* ---- perform (source) ---------------------------------------------------- */

static gboolean poll_out(gpointer data);

static void
reply_stats(MigOp *op, JsonObject *info)
{
    JsonObject *ram = json_object_has_member(info, "ram") ? json_object_get_object_member(info, "ram") : NULL;
    JsonObject *r = json_object_new();
    json_object_set_int_member(r, "total_time_ms", json_object_get_int_member_with_default(info, "total-time", 0));
    json_object_set_int_member(r, "downtime_ms", json_object_get_int_member_with_default(info, "downtime", 0));
    json_object_set_int_member(r, "setup_time_ms", json_object_get_int_member_with_default(info, "setup-time", 0));
    json_object_set_int_member(r, "transferred_bytes", ram ? json_object_get_int_member_with_default(ram, "transferred", 0) : 0);
    json_object_set_int_member(r, "ram_bytes", ram ? json_object_get_int_member_with_default(ram, "total", 0) : 0);
    json_object_set_int_member(r, "dirty_sync_count", ram ? json_object_get_int_member_with_default(ram, "dirty-sync-count", 0) : 0);
    vm_log(op->vm, "migration %s: copy complete (total %" G_GINT64_FORMAT " ms, downtime %" G_GINT64_FORMAT " ms)",
           op->vm->migration, json_object_get_int_member(r, "total_time_ms"),
           json_object_get_int_member(r, "downtime_ms"));
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, r);
    api_request_reply_json(op->request, 200, node);
    mig_op_free(op);
}

static void
on_query_out(GObject *source, GAsyncResult *res, gpointer data)
{
    MigOp *op = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = qmp_client_execute_finish(NULL, res, &error);
    if (!r) {
        mig_fail(op, "perform", error);
        return;
    }
    JsonObject *info = json_node_get_object(r);
    const char *status = json_object_get_string_member_with_default(info, "status", "");
    if (g_str_equal(status, "completed")) {
        reply_stats(op, info);
    } else if (g_str_equal(status, "failed") || g_str_equal(status, "cancelled")) {
        g_autoptr(GError) e = g_error_new(VIREO_ERROR, VIREO_ERROR_ERROR, "%s",
                                          json_object_get_string_member_with_default(info, "error-desc", status));
        mig_fail(op, "the memory copy failed; the VM runs on the source", e);
    } else {
        op->timer = g_timeout_add(50, poll_out, op);
    }
}

static gboolean
poll_out(gpointer data)
{
    MigOp *op = data;
    op->timer = 0;
    if (!op->vm->qmp) {
        g_autoptr(GError) e = g_error_new(VIREO_ERROR, VIREO_ERROR_ERROR, "the source QEMU went away");
        mig_fail(op, "perform", e);
        return G_SOURCE_REMOVE;
    }
    qmp_client_execute_async(op->vm->qmp, "query-migrate", NULL, -1, NULL, on_query_out, op);
    return G_SOURCE_REMOVE;
}

static void
on_migrate(GObject *source, GAsyncResult *res, gpointer data)
{
    MigOp *op = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = qmp_client_execute_finish(NULL, res, &error);
    if (!r) {
        mig_fail(op, "QEMU refused to start the copy", error);
        return;
    }
    poll_out(op);
}

static void
on_parameters(GObject *source, GAsyncResult *res, gpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = qmp_client_execute_finish(NULL, res, &error);
    (void)r; /* a refused parameter leaves QEMU's default: not fatal */
}

static void
mig_perform(ApiRequest *request, gpointer data)
{
    JsonObject *o = NULL;
    Vm *vm = migration_vm(data, request, &o);
    if (!vm)
        return;
    const char *uri = NULL;
    gint64 downtime = 500;
    g_autoptr(GError) error = NULL;
    if (!json_util_get_string(o, "uri", "spec", &uri, &error) ||
        !json_util_get_int(o, "downtime_ms", "spec", &downtime, &error) || !uri ||
        !g_str_has_prefix(uri, "tcp:")) {
        api_request_reply_error(request, error ? error : g_error_new(VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT, "give the destination's uri (tcp:address:port)"));
        return;
    }
    if (!vm->migration_source || !vm->qmp) {
        api_request_reply_error(request, g_error_new(VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                                                     "this host is not the source of migration %s", vm->migration));
        return;
    }
    MigOp *op = g_new0(MigOp, 1);
    op->host = data;
    op->vm = vm;
    op->request = api_request_ref(request);
    vm_log(vm, "migration %s: perform to %s (downtime budget %" G_GINT64_FORMAT " ms)", vm->migration, uri, downtime);
    g_autofree char *params = g_strdup_printf("{\"downtime-limit\": %" G_GINT64_FORMAT "}", CLAMP(downtime, 1, 60000));
    qmp_client_execute_async(vm->qmp, "migrate-set-parameters", json_from_string(params, NULL), -1, NULL,
                             on_parameters, NULL);
    JsonObject *args = json_object_new();
    json_object_set_string_member(args, "uri", uri);
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, args);
    qmp_client_execute_async(vm->qmp, "migrate", node, -1, NULL, on_migrate, op);
}

/* ---- finish (destination) ------------------------------------------------ */

static void
on_announced(GObject *source, GAsyncResult *res, gpointer data)
{
    MigOp *op = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = qmp_client_execute_finish(NULL, res, &error);
    if (!r)
        vm_log(op->vm, "migration: announcing the MAC addresses failed: %s", error->message);
    Vm *vm = op->vm;
    vm->power_state = VM_POWER_STATE_POWERED_ON;
    vm_log(vm, "migration %s: finished; the VM runs here", vm->migration);
    g_clear_pointer(&vm->migration, g_free);
    vm_end_operation(vm);
    api_request_reply_empty(op->request, 204);
    mig_op_free(op);
}

static void
on_dest_status(GObject *source, GAsyncResult *res, gpointer data)
{
    MigOp *op = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = qmp_client_execute_finish(NULL, res, &error);
    const char *status = r ? json_object_get_string_member_with_default(json_node_get_object(r), "status", "") : "";
    if (!g_str_equal(status, "running")) {
        g_autoptr(GError) e = error ? g_error_copy(error)
                                    : g_error_new(VIREO_ERROR, VIREO_ERROR_ERROR, "the guest is %s, not running", status);
        mig_fail(op, "finish", e);
        return;
    }
    JsonNode *args = json_from_string("{\"initial\": 50, \"max\": 550, \"rounds\": 5, \"step\": 100}", NULL);
    qmp_client_execute_async(op->vm->qmp, "announce-self", args, -1, NULL, on_announced, op);
}

static void
mig_finish(ApiRequest *request, gpointer data)
{
    JsonObject *o = NULL;
    Vm *vm = migration_vm(data, request, &o);
    if (!vm)
        return;
    if (vm->migration_source || !vm->qmp) {
        api_request_reply_error(request, g_error_new(VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                                                     "this host is not the destination of migration %s", vm->migration));
        return;
    }
    MigOp *op = g_new0(MigOp, 1);
    op->host = data;
    op->vm = vm;
    op->request = api_request_ref(request);
    qmp_client_execute_async(vm->qmp, "query-status", NULL, -1, NULL, on_dest_status, op);
}

/* ---- confirm (source) and cancel (either) --------------------------------- */

static void
on_source_gone(Vm *vm, const GError *error, gpointer data)
{
    ApiRequest *request = data;
    Host *host = vm->host;
    g_autofree char *mid = g_strdup(vm->migration);
    g_autoptr(GError) local = NULL;
    /* The files are the destination's now: forget the VM, keep them. */
    if (!vm_manager_unregister(host, vm, &local))
        g_warning("migration %s: %s", mid, local->message);
    api_request_reply_empty(request, 204);
    api_request_unref(request);
}

static void
mig_confirm(ApiRequest *request, gpointer data)
{
    JsonObject *o = NULL;
    Vm *vm = migration_vm(data, request, &o);
    if (!vm)
        return;
    if (!vm->migration_source) {
        api_request_reply_error(request, g_error_new(VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                                                     "this host is not the source of migration %s", vm->migration));
        return;
    }
    vm_log(vm, "migration %s: confirmed; stopping the source copy", vm->migration);
    vm_end_operation(vm);
    vm_power_stop(vm, on_source_gone, api_request_ref(request));
}

static void
on_resumed(GObject *source, GAsyncResult *res, gpointer data)
{
    Vm *vm = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = qmp_client_execute_finish(NULL, res, &error);
    if (!r)
        vm_log(vm, "migration cancelled, but the source could not resume: %s", error->message);
}

static void
on_cancelled(GObject *source, GAsyncResult *res, gpointer data)
{
    Vm *vm = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = qmp_client_execute_finish(NULL, res, &error);
    /* A copy that completed left the guest paused; the centre cancels the
     * destination first, and QEMU's disk lock refuses `cont` while another
     * QEMU holds the disk. */
    if (vm->qmp)
        qmp_client_execute_async(vm->qmp, "cont", NULL, -1, NULL, on_resumed, vm);
}

static void
mig_cancel(ApiRequest *request, gpointer data)
{
    Host *host = data;
    JsonObject *o = NULL;
    Vm *vm = migration_vm(host, request, &o);
    if (!vm)
        return;
    vm_log(vm, "migration %s: cancelled on the %s", vm->migration, vm->migration_source ? "source" : "destination");
    g_clear_pointer(&vm->migration, g_free);
    vm_end_operation(vm);
    if (vm->migration_source) {
        if (vm->qmp)
            qmp_client_execute_async(vm->qmp, "migrate_cancel", NULL, -1, NULL, on_cancelled, vm);
    } else {
        vm->stop_requested = TRUE;
        if (vm->process)
            qemu_process_kill(vm->process, SIGKILL);
        /* Unregistered once its QEMU is gone (vm_manager_unregister refuses a
         * running VM); the exit watch turns it off first. */
        vm->unregister_when_off = TRUE;
        if (!vm->process)
            vm_manager_unregister(host, vm, NULL);
    }
    api_request_reply_empty(request, 204);
}

void
api_migration_register(ApiServer *server, Host *host)
{
    api_server_add_route(server, "POST", "/api/vireo/migration", "begin", mig_begin, host);
    api_server_add_route(server, "POST", "/api/vireo/migration", "prepare", mig_prepare, host);
    api_server_add_route(server, "POST", "/api/vireo/migration", "perform", mig_perform, host);
    api_server_add_route(server, "POST", "/api/vireo/migration", "finish", mig_finish, host);
    api_server_add_route(server, "POST", "/api/vireo/migration", "confirm", mig_confirm, host);
    api_server_add_route(server, "POST", "/api/vireo/migration", "cancel", mig_cancel, host);
}
