/* vm-migrate.c — this host's side of a live migration (docs/migration.md):
 * the source's begin / perform and the destination's prepare / finish, as
 * internal API endpoints the centre drives (confirm and cancel:
 * vm-migrate-end.c).
 *
 *   source:      begin ──▶ perform ──▶ confirm          (cancel: resume)
 *   destination:      prepare ──▶ finish                 (cancel: kill, unregister)
 *
 * A source whose copy completed stays paused (QEMU's postmigrate) until the
 * centre confirms or cancels; it never resumes by itself, so at most one
 * copy of the guest runs. The destination QEMU is started with -S and its
 * hostd resumes the guest the moment the last pages land, on QEMU's event
 * (vm-migrate-journal.c), so the hand-over adds no round trip to the centre
 * to the pause the guest sees. Confirm and cancel: vm-migrate-end.c.
 *
 * Encrypted vMotion: the centre hands both sides the same one-time
 * pre-shared key ("psk" in prepare and perform). Each side writes it where
 * QEMU's tls-creds-psk reads it (<run dir>/keys.psk, 0600), adds the
 * credentials object and sets the migration's tls-creds before the channel
 * opens; the file goes when the step that needed it ends.
 */
#include "api.h"
#include "inventory.h"
#include "json-util.h"
#include "qemu-process.h"
#include "qmp-client.h"
#include "vireo-error.h"
#include "vm-launch.h"
#include "mig-files.h"
#include "vm-migrate-converge.h"
#include "vm-migrate-journal.h"
#include "vm-migrate-nbd.h"
#include "vm-migrate-private.h"

#include <string.h>

#define MIG_TLS_ID "vireo-mig-tls"
/* A copy whose sent bytes do not move for this long is cancelled. */
#define MIGRATION_STALL_S 20

typedef struct {
    Host *host;
    Vm *vm;
    ApiRequest *request;
    QmpClient *connecting;
    char *listen;           /* destination: the vMotion address */
    guint tries;
    guint timer;
    gint64 started_us;
    char *psk_identity;     /* NULL: a plain channel */
    gboolean tls_server;
    void (*after_tls)(gpointer op);
    MigrationPolicy policy;  /* the body's "policy" over Vireo's defaults */
    gboolean postcopy_ready; /* destination: QEMU took postcopy-ram */
    VmConvergeWatch *watch;  /* source: the copy's convergence watcher */
    guint stall_s;           /* source: no progress for this long cancels the copy */
} MigOp;

static void
mig_op_free(MigOp *op)
{
    g_clear_handle_id(&op->timer, g_source_remove);
    if (op->request)
        api_request_unref(op->request);
    g_free(op->listen);
    g_free(op->psk_identity);
    g_clear_pointer(&op->watch, vm_converge_watch_free);
    g_free(op);
}

/* The body's "policy" (migration-policy.h) over op->policy. */
static gboolean
policy_take(MigOp *op, JsonObject *body, GError **error)
{
    JsonObject *policy = NULL;
    if (!json_util_get_object(body, "policy", "spec", &policy, error))
        return FALSE;
    return !policy || migration_policy_read(&op->policy, policy, "spec.policy", error);
}

/* ---- the pre-shared key ---------------------------------------------------- */

static void
psk_remove(Vm *vm)
{
    if (vm)
        mig_psk_remove(vm->run_dir);
}

/* Takes the body's "psk" {"identity", "key"} (none: a plain channel) and
 * writes it where QEMU reads it (mig-files.c). */
static gboolean
psk_take(Vm *vm, JsonObject *body, char **identity_out, GError **error)
{
    JsonObject *psk = NULL;
    if (!json_util_get_object(body, "psk", "spec", &psk, error))
        return FALSE;
    /* A host configured without migration TLS takes no key: its prepare
     * answers "encrypted": false and the centre decides (required fails). */
    if (!psk || !vm->host->config->vmotion_encryption)
        return TRUE;
    return mig_psk_write(psk, vm->run_dir, identity_out, error);
}

static void
mig_fail(MigOp *op, const char *what, const GError *error)
{
    g_autoptr(GError) e = g_error_new(VIREO_ERROR, vireo_error_code_of(error), "%s: %s", what,
                                      error->message);
    if (op->vm)
        vm_log(op->vm, "migration: %s", e->message);
    psk_remove(op->vm);
    api_request_reply_error(op->request, e);
    mig_op_free(op);
}

/* ---- the channel's TLS (either side) --------------------------------------- */

static void
on_tls_set(GObject *source, GAsyncResult *res, gpointer data)
{
    MigOp *op = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = qmp_client_execute_finish(NULL, res, &error);
    if (!r) {
        mig_fail(op, "QEMU refused the migration's TLS credentials", error);
        return;
    }
    op->after_tls(op);
}

static void
on_tls_added(GObject *source, GAsyncResult *res, gpointer data)
{
    MigOp *op = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = qmp_client_execute_finish(NULL, res, &error);
    if (!r) {
        mig_fail(op, "QEMU could not load the pre-shared key", error);
        return;
    }
    JsonNode *args = json_from_string("{\"tls-creds\": \"" MIG_TLS_ID "\"}", NULL);
    qmp_client_execute_async(op->vm->qmp, "migrate-set-parameters", args, -1, NULL, on_tls_set, op);
}

static void
on_tls_deleted(GObject *source, GAsyncResult *res, gpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = qmp_client_execute_finish(NULL, res, &error);
    (void)r; /* none left by an earlier migration: nothing to delete */
}

/* Sets the channel up before it opens, then calls next: with the key, a
 * tls-creds-psk object (server on the destination, client on the source)
 * named in tls-creds; without, tls-creds "" (a QEMU that was the source of
 * an earlier encrypted migration still names the old object). */
static void
tls_then(MigOp *op, gboolean server, void (*next)(gpointer op))
{
    QmpClient *qmp = op->vm->qmp;
    op->after_tls = next;
    if (!op->psk_identity) {
        JsonNode *args = json_from_string("{\"tls-creds\": \"\"}", NULL);
        qmp_client_execute_async(qmp, "migrate-set-parameters", args, -1, NULL, on_tls_set, op);
        return;
    }
    qmp_client_execute_async(qmp, "object-del", json_from_string("{\"id\": \"" MIG_TLS_ID "\"}", NULL),
                             -1, NULL, on_tls_deleted, NULL);
    JsonObject *o = json_object_new();
    json_object_set_string_member(o, "qom-type", "tls-creds-psk");
    json_object_set_string_member(o, "id", MIG_TLS_ID);
    json_object_set_string_member(o, "endpoint", server ? "server" : "client");
    json_object_set_string_member(o, "dir", op->vm->run_dir);
    if (!server)
        json_object_set_string_member(o, "username", op->psk_identity);
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, o);
    qmp_client_execute_async(qmp, "object-add", node, -1, NULL, on_tls_added, op);
}

Vm *
vm_migration_lookup(Host *host, ApiRequest *request, JsonObject **body)
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
    Vm *vm = vm_migration_find(host, mid);
    if (!vm) {
        g_set_error(&error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "no migration %s on this host", mid);
        api_request_reply_error(request, error);
    }
    return vm;
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
    if (!vm_migration_journal_write(vm, "begin", &error)) {
        g_clear_pointer(&vm->migration, g_free);
        vm_end_operation(vm);
        api_request_reply_error(request, error);
        return;
    }
    vm_log(vm, "migration %s: begin (source)", mid);
    g_autofree char *path = host_datastore_path_of(host, vm->vmx_path);
    JsonObject *r = json_object_new();
    json_object_set_string_member(r, "vmx_path", path ? path : vm->vmx_path);
    json_object_set_string_member(r, "name", vm->config->name);
    json_object_set_int_member(r, "memory_MiB", vm->config->memory_mib);
    /* vMotion + Storage vMotion: what the destination must create. */
    if (json_object_get_boolean_member_with_default(o, "with_files", FALSE) &&
        !vm_migrate_nbd_describe(vm, r, &error)) {
        json_object_unref(r);
        vm_migration_journal_remove(host, mid);
        g_clear_pointer(&vm->migration, g_free);
        vm_end_operation(vm);
        api_request_reply_error(request, error);
        return;
    }
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
    json_object_set_boolean_member(o, "encrypted", op->psk_identity != NULL);
    json_object_set_boolean_member(o, "postcopy", op->postcopy_ready);
    vm_migrate_nbd_add_answer(op->vm, o);
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
open_incoming(MigOp *op)
{
    g_autofree char *uri = g_strdup_printf("tcp:%s:0", op->listen);
    /* MIGRATION events: the guest is resumed here on "completed". */
    qmp_client_execute_async(op->vm->qmp, "migrate-set-capabilities",
                             json_from_string("{\"capabilities\": [{\"capability\": \"events\", \"state\": true}]}", NULL),
                             -1, NULL, NULL, NULL);
    JsonObject *args = json_object_new();
    json_object_set_string_member(args, "uri", uri);
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, args);
    qmp_client_execute_async(op->vm->qmp, "migrate-incoming", node, -1, NULL, on_incoming_started, op);
}

/* A destination that cannot take a post-copy says so in its answer
 * ("postcopy": false) and receives a pre-copy. */
static void
on_incoming_policy(Vm *vm, const GError *error, gpointer data)
{
    MigOp *op = data;
    op->postcopy_ready = op->policy.postcopy && !error;
    if (error)
        vm_log(vm, "migration %s: no post-copy here: %s", vm->migration, error->message);
    open_incoming(op);
}

static void
start_incoming(gpointer data)
{
    MigOp *op = data;
    if (op->policy.postcopy)
        vm_converge_setup_destination(op->vm, &op->policy, on_incoming_policy, op);
    else
        open_incoming(op);
}

/* vMotion + Storage vMotion: the staged disks are served over NBD (TLS
 * with the channel's server credentials) before the incoming channel opens. */
static void
on_disks_served(Vm *vm, const GError *error, gpointer data)
{
    MigOp *op = data;
    if (error)
        mig_fail(op, "the destination cannot receive the disks", error);
    else
        start_incoming(op);
}

static void
serve_then_incoming(gpointer data)
{
    MigOp *op = data;
    vm_migrate_nbd_serve(op->vm, op->listen, op->psk_identity ? MIG_TLS_ID : NULL, on_disks_served, op);
}

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
    tls_then(op, TRUE, vm_migrate_nbd_staged(op->vm) ? serve_then_incoming : start_incoming);
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
    /* A "datastore": the VM's folder is made there (vMotion + Storage vMotion). */
    g_autofree char *abs = mid ? vm_migrate_nbd_stage(host, mid, o, &error) : NULL;
    if (!abs && !error)
        abs = mid && path ? host_resolve_datastore_path(host, path, NULL, NULL, &error) : NULL;
    Vm *vm = abs ? vm_manager_register(host, abs, name, &error) : NULL;
    g_autofree char *opname = g_strdup_printf("migration %s", mid ? mid : "");
    if (vm && !vm_begin_operation(vm, opname, &error))
        vm = NULL;
    if (!vm) {
        vm_migrate_nbd_abandon(host, mid);
        api_request_reply_error(request, error ? error : g_error_new(VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT, "give migration, vmx_path and name"));
        return;
    }
    vm->migration = g_strdup(mid);
    vm->migration_source = FALSE;
    vm_migrate_nbd_staged(vm);
    vm->migration_resumed = FALSE;
    g_autofree char *identity = NULL;
    g_autoptr(VmLaunch) launch = vm_migration_journal_write(vm, "prepare", &error)
                                     ? vm_launch_prepare(vm, TRUE, &error) : NULL;
    if (launch && !psk_take(vm, o, &identity, &error))
        g_clear_pointer(&launch, vm_launch_free);
    g_autofree char *log = g_build_filename(vm->dir, "vmware.log", NULL);
    QemuProcess *process = launch ? qemu_process_spawn(vm_launch_argv(launch), log, &error) : NULL;
    if (!process) {
        psk_remove(vm);
        vm_migration_journal_remove(host, mid);
        vm_end_operation(vm);
        vm_manager_unregister(host, vm, NULL);
        vm_migrate_nbd_abandon(host, mid);
        api_request_reply_error(request, error);
        return;
    }
    vm_log(vm, "migration %s: prepare (destination)", mid);
    vm_power_attach_process(vm, process);
    MigOp *op = g_new0(MigOp, 1);
    op->host = host;
    op->vm = vm;
    op->request = api_request_ref(request);
    op->psk_identity = g_steal_pointer(&identity);
    migration_policy_init(&op->policy);
    if (!policy_take(op, o, &error)) {
        vm_log(vm, "migration %s: %s; no post-copy", mid, error->message);
        migration_policy_init(&op->policy);
        g_clear_error(&error);
    }
    op->listen = g_strdup(host->config->vmotion_address ? host->config->vmotion_address
                                                         : host->config->listen_address);
    op->timer = g_timeout_add(50, try_connect, op);
}

/* ---- perform (source) ---------------------------------------------------- */


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
    json_object_set_boolean_member(r, "encrypted", op->psk_identity != NULL);
    if (op->watch)
        vm_converge_watch_report(op->watch, r);
    vm_migrate_nbd_add_stats(op->vm, r);
    psk_remove(op->vm);
    vm_log(op->vm, "migration %s: copy complete (total %" G_GINT64_FORMAT " ms, downtime %" G_GINT64_FORMAT " ms)",
           op->vm->migration, json_object_get_int_member(r, "total_time_ms"),
           json_object_get_int_member(r, "downtime_ms"));
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, r);
    api_request_reply_json(op->request, 200, node);
    mig_op_free(op);
}

static void
on_disks_undone(Vm *vm, const GError *error, gpointer data)
{
    mig_fail(data, "the disk copy failed; the VM runs on the source", error);
}

static void
on_copy_done(Vm *vm, JsonObject *info, const GError *error, gpointer data)
{
    MigOp *op = data;
    /* Mirrored disks: undone first when the copy failed. */
    if (!vm_migrate_nbd_copy_done(vm, error, on_disks_undone, op))
        return;
    g_autoptr(GError) why = error && op->watch ? vm_converge_watch_explain(op->watch) : NULL;
    if (why)
        mig_fail(op, "perform", why);
    else if (error)
        mig_fail(op, "the memory copy failed; the VM runs on the source", error);
    else
        reply_stats(op, info);
}

static void
on_copy_progress(Vm *vm, JsonObject *info, gpointer data)
{
    MigOp *op = data;
    vm_converge_watch_poll(op->watch, info);
    vm_migrate_nbd_copy_progress(vm, info);
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
    op->watch = vm_converge_watch_new(op->vm, &op->policy, op->stall_s);
    vm_migration_wait_watched(op->vm, 50, on_copy_progress, on_copy_done, op);
}

static void start_migrate(gpointer data);

static void
on_disks_mirrored(Vm *vm, const GError *error, gpointer data)
{
    if (error)
        mig_fail(data, "the disks could not be copied to the destination; the VM runs on the source", error);
    else
        start_migrate(data);
}

/* vMotion + Storage vMotion: every disk in sync on the destination (over
 * NBD, with the channel's client credentials) before memory is copied. */
static void
mirror_then_migrate(gpointer data)
{
    MigOp *op = data;
    vm_migrate_nbd_mirror(op->vm, op->psk_identity ? MIG_TLS_ID : NULL, on_disks_mirrored, op);
}

/* The convergence policy is set before the channel's TLS and the copy. */
static void
on_source_policy(Vm *vm, const GError *error, gpointer data)
{
    MigOp *op = data;
    if (error) {
        mig_fail(op, "the migration's convergence policy", error);
        return;
    }
    tls_then(op, FALSE, vm_migrate_nbd_planned(vm) ? mirror_then_migrate : start_migrate);
}

/* op->listen holds the destination's uri on the source. */
static void
start_migrate(gpointer data)
{
    MigOp *op = data;
    JsonObject *args = json_object_new();
    json_object_set_string_member(args, "uri", op->listen);
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, args);
    qmp_client_execute_async(op->vm->qmp, "migrate", node, -1, NULL, on_migrate, op);
}

static void
mig_perform(ApiRequest *request, gpointer data)
{
    JsonObject *o = NULL;
    Vm *vm = vm_migration_lookup(data, request, &o);
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
    g_autofree char *identity = NULL;
    gint64 stall_s = MIGRATION_STALL_S;
    if (!json_util_get_int(o, "stall_timeout_s", "spec", &stall_s, &error) ||
        !vm_migration_journal_write(vm, "perform", &error) || !psk_take(vm, o, &identity, &error) ||
        !vm_migrate_nbd_plan(vm, o, &error)) {
        api_request_reply_error(request, error);
        return;
    }
    MigOp *op = g_new0(MigOp, 1);
    op->host = data;
    op->vm = vm;
    op->stall_s = (guint)CLAMP(stall_s, 2, 3600);
    op->request = api_request_ref(request);
    op->psk_identity = g_steal_pointer(&identity);
    op->listen = g_strdup(uri);
    migration_policy_init(&op->policy);
    op->policy.downtime_ms = CLAMP(downtime, 1, 60000);
    if (!policy_take(op, o, &error)) {
        mig_fail(op, "perform", error);
        return;
    }
    /* Mirrored disks complete while the source is paused: the guest may
     * not run on the destination before (post-copy would). */
    if (vm_migrate_nbd_planned(vm))
        op->policy.postcopy = FALSE;
    vm_log(vm, "migration %s: perform to %s (downtime budget %" G_GINT64_FORMAT " ms, throttle %s, post-copy %s, "
           "%" G_GINT64_FORMAT " MiB/s, limit %" G_GINT64_FORMAT " s, %s)", vm->migration, uri,
           op->policy.downtime_ms, op->policy.throttle ? "on" : "off", op->policy.postcopy ? "allowed" : "off",
           op->policy.bandwidth_mib_s, op->policy.time_limit_s, op->psk_identity ? "encrypted" : "not encrypted");
    vm_converge_setup_source(vm, &op->policy, on_source_policy, op);
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
    psk_remove(vm);
    g_autoptr(GError) jerror = NULL;
    if (!vm_migration_journal_write(vm, "finished", &jerror))
        g_warning("%s: %s", vm->id, jerror->message);
    vm->migration_resumed = FALSE;
    g_clear_pointer(&vm->migration, g_free);
    vm_end_operation(vm);
    api_request_reply_json(op->request, 200, vm_migration_ref_json(vm->id));
    mig_op_free(op);
}

#define FINISH_WAIT_MS 50
#define FINISH_WAIT_TRIES 200   /* 10 s */

static gboolean query_dest_status(gpointer data);

static void
on_dest_status(GObject *source, GAsyncResult *res, gpointer data)
{
    MigOp *op = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = qmp_client_execute_finish(NULL, res, &error);
    const char *status = r ? json_object_get_string_member_with_default(json_node_get_object(r), "status", "") : "";
    /* The source reports the copy complete once it has sent the last
     * bytes; over TLS the destination may still be reading them. */
    /* -S: "paused" once the copy is complete, until resumed on its event. */
    if (g_str_equal(status, "paused"))
        vm_migration_resume_incoming(op->vm);
    if ((g_str_equal(status, "inmigrate") || g_str_equal(status, "paused")) && ++op->tries < FINISH_WAIT_TRIES) {
        op->timer = g_timeout_add(FINISH_WAIT_MS, query_dest_status, op);
        return;
    }
    if (!g_str_equal(status, "running")) {
        g_autoptr(GError) e = error ? g_error_copy(error)
                                    : g_error_new(VIREO_ERROR, VIREO_ERROR_ERROR, "the guest is %s, not running", status);
        mig_fail(op, "finish", e);
        return;
    }
    JsonNode *args = json_from_string("{\"initial\": 50, \"max\": 550, \"rounds\": 5, \"step\": 100}", NULL);
    qmp_client_execute_async(op->vm->qmp, "announce-self", args, -1, NULL, on_announced, op);
}

static gboolean
query_dest_status(gpointer data)
{
    MigOp *op = data;
    op->timer = 0;
    if (!op->vm->qmp) {
        g_autoptr(GError) e = g_error_new(VIREO_ERROR, VIREO_ERROR_ERROR, "the destination QEMU went away");
        mig_fail(op, "finish", e);
        return G_SOURCE_REMOVE;
    }
    qmp_client_execute_async(op->vm->qmp, "query-status", NULL, -1, NULL, on_dest_status, op);
    return G_SOURCE_REMOVE;
}

static void
mig_finish(ApiRequest *request, gpointer data)
{
    JsonObject *o = NULL;
    if (vm_migration_settled(data, request, FALSE))
        return;
    Vm *vm = vm_migration_lookup(data, request, &o);
    if (!vm)
        return;
    if (vm->migration_source || !vm->qmp) {
        api_request_reply_error(request, g_error_new(VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                                                     "this host is not the destination of migration %s", vm->migration));
        return;
    }
    vm_migrate_nbd_finish(vm);
    MigOp *op = g_new0(MigOp, 1);
    op->host = data;
    op->vm = vm;
    op->request = api_request_ref(request);
    query_dest_status(op);
}

void
api_migration_register(ApiServer *server, Host *host)
{
    api_server_add_route(server, "POST", "/api/vireo/migration", "begin", mig_begin, host);
    vm_migrate_nbd_register(server, host);
    api_server_add_route(server, "POST", "/api/vireo/migration", "prepare", mig_prepare, host);
    api_server_add_route(server, "POST", "/api/vireo/migration", "perform", mig_perform, host);
    api_server_add_route(server, "POST", "/api/vireo/migration", "finish", mig_finish, host);
    vm_migration_end_register(server, host);
    api_server_add_route(server, "POST", "/api/vireo/migration", "status", api_migration_status, host);
}
