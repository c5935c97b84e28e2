/* vm-power.c — the VM power state machine (diagram in vm.h).
 *
 * Transitions and the functions that perform them:
 *   POWERED_OFF → POWERED_ON   vm_power_start → launch → qmp_connected → started
 *   SUSPENDED   → POWERED_ON   vm_power_start → launch → qmp_connected → resume_incoming → started
 *   POWERED_ON  → SUSPENDED    vm_power_suspend → suspend_stopped → suspend_migrating → quit
 *   POWERED_ON  → POWERED_OFF  vm_power_stop (quit, then SIGKILL after 10 s),
 *                              guest shutdown, or QEMU dying: on_qemu_exit
 *   SUSPENDED   → POWERED_OFF  vm_power_stop discards the .vmss
 * Whatever fails half-way is undone: a QEMU that was started is killed, taps
 * and sockets are removed, and the VM stays in the state it was in.
 */
#include "vm-power.h"
#include "vm-migrate-journal.h"
#include "guest-agent.h"
#include "qemu-process.h"
#include "qmp-client.h"
#include "vireo-error.h"
#include "vm-launch.h"
#include "vm-spec.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define QMP_CONNECT_TRIES 100   /* × 100 ms */
#define STOP_KILL_TIMEOUT_MS 10000

typedef struct {
    Vm *vm;
    VmDoneFunc done;
    gpointer data;
    int fd;                    /* .vmss being written or read */
    char *tmp_path;
    guint tries;
    guint timer;
    QmpClient *connecting;     /* while connecting to a new QEMU's monitor */
} PowerOp;

static PowerOp *
power_op_new(Vm *vm, VmDoneFunc done, gpointer data)
{
    PowerOp *op = g_new0(PowerOp, 1);
    op->vm = vm;
    op->done = done;
    op->data = data;
    op->fd = -1;
    return op;
}

/* Completes op: ends the VM's operation, reports, frees. */
static void
power_op_finish(PowerOp *op, const GError *error)
{
    if (op->fd >= 0)
        close(op->fd);
    if (op->tmp_path) {
        unlink(op->tmp_path);
        g_free(op->tmp_path);
    }
    g_clear_handle_id(&op->timer, g_source_remove);
    vm_end_operation(op->vm);
    if (error)
        vm_log(op->vm, "operation failed: %s", error->message);
    if (op->done)
        op->done(op->vm, error, op->data);
    g_free(op);
}

static void
power_op_fail(PowerOp *op, const char *what, GError *error)
{
    g_prefix_error(&error, "%s: ", what);
    power_op_finish(op, error);
    g_error_free(error);
}

gint64
vm_power_memory_in_use(Host *host)
{
    gint64 sum = 0;
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, host->vms);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        Vm *vm = value;
        if (vm->power_state == VM_POWER_STATE_POWERED_ON || vm->process)
            sum += vm->config->memory_mib;
    }
    return sum;
}

/* ---- QEMU exit ---------------------------------------------------------- */

static PowerOp *
take_exit_waiter(Vm *vm)
{
    PowerOp *op = vm->exit_waiter;
    vm->exit_waiter = NULL;
    return op;
}

static gboolean
release_process(gpointer data)
{
    qemu_process_free(data);
    return G_SOURCE_REMOVE;
}

typedef struct {
    Host *host;
    char *id;
} Forget;

static gboolean
forget_vm(gpointer data)
{
    Forget *f = data;
    Vm *vm = g_hash_table_lookup(f->host->vms, f->id);
    if (vm && vm->unregister_when_off && !vm->process)
        vm_manager_unregister(f->host, vm, NULL);
    g_free(f->id);
    g_free(f);
    return G_SOURCE_REMOVE;
}

static void
on_qemu_exit(QemuProcess *process, const char *reason, gpointer data)
{
    Vm *vm = data;
    if (vm->process != process)
        return;
    g_idle_add(release_process, vm->process);
    vm->process = NULL;
    g_clear_pointer(&vm->agent, guest_agent_free);
    g_clear_pointer(&vm->qmp, qmp_client_free);
    vm_launch_cleanup(vm);

    g_clear_pointer(&vm->power_state_reason, g_free);
    if (vm->suspending) {
        vm->power_state = VM_POWER_STATE_SUSPENDED;
        vm_log(vm, "suspended");
    } else {
        vm->power_state = VM_POWER_STATE_POWERED_OFF;
        if (vm->stop_requested)
            vm_log(vm, "powered off");
        else if (vm->guest_shutdown)
            vm_log(vm, "the guest OS shut down");
        else {
            vm->power_state_reason = g_strdup_printf("QEMU %s unexpectedly", reason);
            vm_log(vm, "powered off: %s", vm->power_state_reason);
        }
    }
    vm->stop_requested = vm->guest_shutdown = vm->suspending = FALSE;
    if (vm->unregister_when_off) {
        Forget *f = g_new0(Forget, 1);
        f->host = vm->host;
        f->id = g_strdup(vm->id);
        g_idle_add(forget_vm, f);
    }
    PowerOp *op = take_exit_waiter(vm);
    if (op)
        power_op_finish(op, NULL);
}

static void
on_qmp_event(QmpClient *client, const char *event, JsonObject *data, gpointer user_data)
{
    Vm *vm = user_data;
    if (g_str_equal(event, "SHUTDOWN")) {
        if (data && json_object_has_member(data, "guest") &&
            json_object_get_boolean_member(data, "guest"))
            vm->guest_shutdown = TRUE;
    } else if (g_str_equal(event, "RESET")) {
        vm_log(vm, "reset");
    } else if (g_str_equal(event, "MIGRATION")) {
        vm_migration_on_event(vm, data);
    } else if (g_str_equal(event, "BLOCK_IO_ERROR")) {
        vm_log(vm, "disk I/O error: %s",
               data && json_object_has_member(data, "reason")
                   ? json_object_get_string_member(data, "reason") : "unknown");
    }
}

void
vm_power_attach_process(Vm *vm, QemuProcess *process)
{
    vm->process = process;
    qemu_process_set_exit_func(process, on_qemu_exit, vm);
}

static void
attach_channels(Vm *vm, QmpClient *qmp)
{
    vm->qmp = qmp;
    qmp_client_set_event_func(qmp, on_qmp_event, vm);
    g_autofree char *agent_socket = vm_launch_agent_socket(vm);
    vm->agent = guest_agent_new(agent_socket);
    guest_agent_start(vm->agent);
}

/* ---- recovery ----------------------------------------------------------- */

void
vm_power_recover(Vm *vm)
{
    g_autofree char *pid_file = vm_launch_pid_file(vm);
    g_autoptr(GError) error = NULL;
    QemuProcess *process = NULL;
    if (g_file_test(pid_file, G_FILE_TEST_EXISTS))
        process = qemu_process_attach(pid_file, &error);
    if (process) {
        g_autofree char *qmp_socket = vm_launch_qmp_socket(vm);
        QmpClient *qmp = qmp_client_new();
        if (qmp_client_connect_sync(qmp, qmp_socket, 5000, &error)) {
            vm->process = process;
            qemu_process_set_exit_func(process, on_qemu_exit, vm);
            attach_channels(vm, qmp);
            vm->power_state = VM_POWER_STATE_POWERED_ON;
            vm_log(vm, "vireo-hostd re-attached to the running QEMU (pid %d)",
                   qemu_process_pid(process));
            return;
        }
        g_warning("%s: QEMU %d runs but its monitor does not answer: %s", vm->id,
                  qemu_process_pid(process), error->message);
        qmp_client_free(qmp);
        /* A QEMU we cannot control must not run a VM we report as off. */
        qemu_process_kill(process, SIGKILL);
        qemu_process_free(process);
        vm->power_state_reason = g_strdup("QEMU did not answer after vireo-hostd restarted; it was stopped");
    } else if (g_file_test(pid_file, G_FILE_TEST_EXISTS)) {
        vm->power_state_reason = g_strdup("QEMU exited while vireo-hostd was not running");
        vm_log(vm, "powered off: %s", vm->power_state_reason);
    }
    vm_launch_cleanup(vm);
    g_autofree char *vmss = vm_vmss_path(vm);
    vm->power_state = g_file_test(vmss, G_FILE_TEST_IS_REGULAR) ? VM_POWER_STATE_SUSPENDED
                                                                 : VM_POWER_STATE_POWERED_OFF;
}

/* ---- start and resume --------------------------------------------------- */

static void start_fail(PowerOp *op, const char *what, GError *error);

static void
on_set_link(GObject *source, GAsyncResult *res, gpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = qmp_client_execute_finish(NULL, res, &error);
    if (!r)
        g_warning("set_link %s: %s", (const char *)data, error->message);
    g_free(data);
}

/* A NIC not connected at power-on has its device but no link, as a vSphere
 * adapter with "Connect at power on" unticked. */
static void
disconnect_unconnected_nics(Vm *vm)
{
    for (guint i = 0; i < vm->config->nics->len; i++) {
        const VmNic *nic = g_ptr_array_index(vm->config->nics, i);
        if (nic->start_connected)
            continue;
        g_autofree char *args = g_strdup_printf("{\"name\": \"ethernet%d\", \"up\": false}", nic->index);
        qmp_client_execute_async(vm->qmp, "set_link", json_from_string(args, NULL), -1, NULL,
                                 on_set_link, g_strdup_printf("ethernet%d", nic->index));
    }
}

static void
started(PowerOp *op)
{
    Vm *vm = op->vm;
    if (op->fd < 0)
        disconnect_unconnected_nics(vm);
    vm->power_state = VM_POWER_STATE_POWERED_ON;
    g_clear_pointer(&vm->power_state_reason, g_free);
    if (op->fd >= 0) {
        /* Resumed: the suspended state is consumed, as on ESXi. */
        g_autofree char *vmss = vm_vmss_path(vm);
        unlink(vmss);
        vmx_remove(vm->vmx, "checkpoint.vmState");
        g_autoptr(GError) error = NULL;
        if (!vmx_save(vm->vmx, vm->vmx_path, &error))
            g_warning("%s: %s", vm->id, error->message);
        vm_log(vm, "resumed from %s", vmss);
    } else {
        vm_log(vm, "powered on (QEMU pid %d)", qemu_process_pid(vm->process));
    }
    power_op_finish(op, NULL);
}

static void
on_cont(GObject *source, GAsyncResult *res, gpointer data)
{
    PowerOp *op = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = qmp_client_execute_finish(NULL, res, &error);
    if (!r) {
        start_fail(op, "cannot run the resumed VM", g_steal_pointer(&error));
        return;
    }
    started(op);
}

static void
on_incoming_done(Vm *vm, JsonObject *info, const GError *error, gpointer data)
{
    PowerOp *op = data;
    if (error) {
        start_fail(op, "cannot restore the suspended state", g_error_copy(error));
        return;
    }
    qmp_client_execute_async(vm->qmp, "cont", NULL, -1, NULL, on_cont, op);
}

static void
on_migrate_incoming(GObject *source, GAsyncResult *res, gpointer data)
{
    PowerOp *op = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = qmp_client_execute_finish(NULL, res, &error);
    if (!r) {
        start_fail(op, "cannot restore the suspended state", g_steal_pointer(&error));
        return;
    }
    vm_migration_wait(op->vm, 100, on_incoming_done, op);
}

static void
on_getfd_incoming(GObject *source, GAsyncResult *res, gpointer data)
{
    PowerOp *op = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = qmp_client_execute_finish(NULL, res, &error);
    if (!r) {
        start_fail(op, "cannot pass the suspended state to QEMU", g_steal_pointer(&error));
        return;
    }
    JsonNode *args = json_from_string("{\"uri\": \"fd:vmss\"}", NULL);
    qmp_client_execute_async(op->vm->qmp, "migrate-incoming", args, -1, NULL,
                             on_migrate_incoming, op);
}

static void
resume_incoming(PowerOp *op)
{
    g_autofree char *vmss = vm_vmss_path(op->vm);
    op->fd = open(vmss, O_RDONLY | O_CLOEXEC);
    if (op->fd < 0) {
        start_fail(op, "cannot open the suspended state",
                   g_error_new(VIREO_ERROR, VIREO_ERROR_ERROR, "%s: %s", vmss, g_strerror(errno)));
        return;
    }
    JsonNode *args = json_from_string("{\"fdname\": \"vmss\"}", NULL);
    qmp_client_execute_async(op->vm->qmp, "getfd", args, op->fd, NULL, on_getfd_incoming, op);
}

static gboolean try_qmp_connect(gpointer data);

static void
on_qmp_connected(GObject *source, GAsyncResult *res, gpointer data)
{
    PowerOp *op = data;
    QmpClient *qmp = g_steal_pointer(&op->connecting);
    g_autoptr(GError) error = NULL;
    if (!qmp_client_connect_finish(qmp, res, &error)) {
        qmp_client_free(qmp);
        if (op->vm->process && ++op->tries < QMP_CONNECT_TRIES) {
            op->timer = g_timeout_add(100, try_qmp_connect, op);
            return;
        }
        start_fail(op, "QEMU did not start", g_steal_pointer(&error));
        return;
    }
    attach_channels(op->vm, qmp);
    if (op->vm->power_state == VM_POWER_STATE_SUSPENDED)
        resume_incoming(op);
    else
        started(op);
}

static gboolean
try_qmp_connect(gpointer data)
{
    PowerOp *op = data;
    op->timer = 0;
    if (!op->vm->process) {
        start_fail(op, "QEMU did not start",
                   g_error_new(VIREO_ERROR, VIREO_ERROR_ERROR,
                               "it exited at once; see vmware.log in the VM's folder"));
        return G_SOURCE_REMOVE;
    }
    g_autofree char *socket = vm_launch_qmp_socket(op->vm);
    op->connecting = qmp_client_new();
    qmp_client_connect_async(op->connecting, socket, NULL, on_qmp_connected, op);
    return G_SOURCE_REMOVE;
}

static void
start_fail(PowerOp *op, const char *what, GError *error)
{
    Vm *vm = op->vm;
    if (vm->process) {
        vm->stop_requested = TRUE;
        qemu_process_set_exit_func(vm->process, NULL, NULL);
        qemu_process_kill(vm->process, SIGKILL);
        g_idle_add(release_process, vm->process);
        vm->process = NULL;
    }
    g_clear_pointer(&vm->agent, guest_agent_free);
    g_clear_pointer(&vm->qmp, qmp_client_free);
    vm_launch_cleanup(vm);
    vm->stop_requested = FALSE;
    power_op_fail(op, what, error);
}

/* As ESXi does at first power-on: a generated MAC for every NIC that has
 * none, a BIOS UUID, saved in the .vmx before QEMU sees them. */
static gboolean
fill_generated_identity(Vm *vm, GError **error)
{
    gboolean changed = FALSE;
    for (guint i = 0; i < vm->config->nics->len; i++) {
        VmNic *nic = g_ptr_array_index(vm->config->nics, i);
        if (nic->mac_address && vm_mac_is_valid(nic->mac_address))
            continue;
        g_free(nic->mac_address);
        nic->mac_address = vm_spec_unique_mac(vm->host, NULL);
        nic->mac_type = VM_MAC_GENERATED;
        changed = TRUE;
    }
    if (!vm->config->uuid_bios) {
        vm->config->uuid_bios = g_uuid_string_random();
        changed = TRUE;
    }
    return !changed || vm_save_config(vm, error);
}

static gboolean
admit(Vm *vm, GError **error)
{
    gint64 limit = vm->host->config->memory_mib;
    if (limit <= 0)
        return TRUE;
    gint64 used = vm_power_memory_in_use(vm->host);
    if (used + vm->config->memory_mib > limit) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_UNABLE_TO_ALLOCATE_RESOURCE,
                    "not enough memory on host %s: the VM needs %" G_GINT64_FORMAT " MiB, %"
                    G_GINT64_FORMAT " MiB of %" G_GINT64_FORMAT " MiB are in use",
                    vm->host->config->host_name, vm->config->memory_mib, used, limit);
        return FALSE;
    }
    return TRUE;
}

void
vm_power_start(Vm *vm, VmDoneFunc done, gpointer data)
{
    g_autoptr(GError) error = NULL;
    if (vm->power_state == VM_POWER_STATE_POWERED_ON) {
        error = g_error_new(VIREO_ERROR, VIREO_ERROR_ALREADY_IN_DESIRED_STATE,
                            "virtual machine %s is already powered on", vm->id);
    } else if (vm->config->template) {
        error = g_error_new(VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                            "%s is a template; templates cannot be powered on", vm->id);
    } else if (admit(vm, &error) && fill_generated_identity(vm, &error)) {
        vm_begin_operation(vm, "power on", &error);
    }
    if (error) {
        done(vm, error, data);
        return;
    }
    PowerOp *op = power_op_new(vm, done, data);
    gboolean resume = vm->power_state == VM_POWER_STATE_SUSPENDED;
    g_autoptr(VmLaunch) launch = vm_launch_prepare(vm, resume, &error);
    if (!launch) {
        power_op_fail(op, "cannot power on", g_steal_pointer(&error));
        return;
    }
    g_autofree char *cmd = g_strjoinv(" ", (char **)vm_launch_argv(launch));
    vm_log(vm, "%s: %s", resume ? "resuming" : "powering on", cmd);
    g_autofree char *log = g_build_filename(vm->dir, "vmware.log", NULL);
    vm->process = qemu_process_spawn(vm_launch_argv(launch), log, &error);
    if (!vm->process) {
        start_fail(op, "cannot start QEMU", g_steal_pointer(&error));
        return;
    }
    qemu_process_set_exit_func(vm->process, on_qemu_exit, vm);
    op->timer = g_timeout_add(50, try_qmp_connect, op);
}

/* ---- stop, reset -------------------------------------------------------- */

static gboolean
stop_kill(gpointer data)
{
    PowerOp *op = data;
    op->timer = 0;
    if (op->vm->process) {
        vm_log(op->vm, "QEMU did not quit within %d s; killing it", STOP_KILL_TIMEOUT_MS / 1000);
        qemu_process_kill(op->vm->process, SIGKILL);
    }
    return G_SOURCE_REMOVE;
}

static void
on_quit(GObject *source, GAsyncResult *res, gpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = qmp_client_execute_finish(NULL, res, &error);
    /* QEMU may close the monitor before answering; the exit watch decides. */
}

static void
request_quit(PowerOp *op)
{
    Vm *vm = op->vm;
    vm->stop_requested = TRUE;
    vm->exit_waiter = op;
    op->timer = g_timeout_add(STOP_KILL_TIMEOUT_MS, stop_kill, op);
    if (vm->qmp && qmp_client_is_connected(vm->qmp))
        qmp_client_execute_async(vm->qmp, "quit", NULL, -1, NULL, on_quit, NULL);
    else
        qemu_process_kill(vm->process, SIGTERM);
}

void
vm_power_stop(Vm *vm, VmDoneFunc done, gpointer data)
{
    g_autoptr(GError) error = NULL;
    if (vm->power_state == VM_POWER_STATE_POWERED_OFF) {
        error = g_error_new(VIREO_ERROR, VIREO_ERROR_ALREADY_IN_DESIRED_STATE,
                            "virtual machine %s is already powered off", vm->id);
    } else {
        vm_begin_operation(vm, "power off", &error);
    }
    if (error) {
        done(vm, error, data);
        return;
    }
    PowerOp *op = power_op_new(vm, done, data);
    if (vm->power_state == VM_POWER_STATE_SUSPENDED) {
        g_autofree char *vmss = vm_vmss_path(vm);
        unlink(vmss);
        vmx_remove(vm->vmx, "checkpoint.vmState");
        if (!vmx_save(vm->vmx, vm->vmx_path, &error)) {
            power_op_fail(op, "cannot power off", g_steal_pointer(&error));
            return;
        }
        vm->power_state = VM_POWER_STATE_POWERED_OFF;
        vm_log(vm, "powered off; the suspended state was discarded");
        power_op_finish(op, NULL);
        return;
    }
    vm_log(vm, "power off requested");
    request_quit(op);
}

static void
on_reset(GObject *source, GAsyncResult *res, gpointer data)
{
    PowerOp *op = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = qmp_client_execute_finish(NULL, res, &error);
    if (!r) {
        power_op_fail(op, "cannot reset", g_steal_pointer(&error));
        return;
    }
    power_op_finish(op, NULL);
}

static gboolean
require_on(Vm *vm, const char *what, GError **error)
{
    if (vm->power_state == VM_POWER_STATE_POWERED_ON && vm->qmp)
        return TRUE;
    g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                "cannot %s virtual machine %s: it is %s", what, vm->id,
                vm_power_state_to_string(vm->power_state));
    return FALSE;
}

void
vm_power_reset(Vm *vm, VmDoneFunc done, gpointer data)
{
    g_autoptr(GError) error = NULL;
    if (!require_on(vm, "reset", &error) || !vm_begin_operation(vm, "reset", &error)) {
        done(vm, error, data);
        return;
    }
    vm_log(vm, "reset requested");
    PowerOp *op = power_op_new(vm, done, data);
    qmp_client_execute_async(vm->qmp, "system_reset", NULL, -1, NULL, on_reset, op);
}

/* ---- suspend ------------------------------------------------------------ */

static void
suspend_fail(PowerOp *op, const char *what, GError *error)
{
    /* The guest was paused for the save: let it run again. */
    if (op->vm->qmp)
        qmp_client_execute_async(op->vm->qmp, "cont", NULL, -1, NULL, on_quit, NULL);
    op->vm->suspending = FALSE;
    power_op_fail(op, what, error);
}

static void
suspend_saved(PowerOp *op)
{
    Vm *vm = op->vm;
    g_autoptr(GError) error = NULL;
    g_autofree char *vmss = vm_vmss_path(vm);
    if (fsync(op->fd) != 0 || rename(op->tmp_path, vmss) != 0) {
        suspend_fail(op, "cannot write the suspended state",
                     g_error_new(VIREO_ERROR, VIREO_ERROR_ERROR, "%s: %s", vmss,
                                 g_strerror(errno)));
        return;
    }
    g_clear_pointer(&op->tmp_path, g_free);
    g_autofree char *base = g_path_get_basename(vmss);
    vmx_set(vm->vmx, "checkpoint.vmState", base);
    if (!vmx_save(vm->vmx, vm->vmx_path, &error)) {
        unlink(vmss);
        suspend_fail(op, "cannot record the suspended state", g_steal_pointer(&error));
        return;
    }
    vm->suspending = TRUE;
    request_quit(op);
    vm->stop_requested = TRUE;
}

static void
on_suspend_done(Vm *vm, JsonObject *info, const GError *error, gpointer data)
{
    PowerOp *op = data;
    if (error)
        suspend_fail(op, "cannot suspend",
                     g_error_new(VIREO_ERROR, VIREO_ERROR_ERROR, "saving the state failed: %s",
                                 error->message));
    else
        suspend_saved(op);
}

static void
on_suspend_migrate(GObject *source, GAsyncResult *res, gpointer data)
{
    PowerOp *op = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = qmp_client_execute_finish(NULL, res, &error);
    if (!r) {
        suspend_fail(op, "cannot suspend", g_steal_pointer(&error));
        return;
    }
    vm_migration_wait(op->vm, 100, on_suspend_done, op);
}

static void
on_suspend_getfd(GObject *source, GAsyncResult *res, gpointer data)
{
    PowerOp *op = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = qmp_client_execute_finish(NULL, res, &error);
    if (!r) {
        suspend_fail(op, "cannot suspend", g_steal_pointer(&error));
        return;
    }
    JsonNode *args = json_from_string("{\"uri\": \"fd:vmss\"}", NULL);
    qmp_client_execute_async(op->vm->qmp, "migrate", args, -1, NULL, on_suspend_migrate, op);
}

static void
on_suspend_stopped(GObject *source, GAsyncResult *res, gpointer data)
{
    PowerOp *op = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = qmp_client_execute_finish(NULL, res, &error);
    if (!r) {
        power_op_fail(op, "cannot suspend", g_steal_pointer(&error));
        return;
    }
    JsonNode *args = json_from_string("{\"fdname\": \"vmss\"}", NULL);
    qmp_client_execute_async(op->vm->qmp, "getfd", args, op->fd, NULL, on_suspend_getfd, op);
}

void
vm_power_suspend(Vm *vm, VmDoneFunc done, gpointer data)
{
    g_autoptr(GError) error = NULL;
    if (vm->power_state == VM_POWER_STATE_SUSPENDED) {
        error = g_error_new(VIREO_ERROR, VIREO_ERROR_ALREADY_IN_DESIRED_STATE,
                            "virtual machine %s is already suspended", vm->id);
    } else if (require_on(vm, "suspend", &error)) {
        vm_begin_operation(vm, "suspend", &error);
    }
    if (error) {
        done(vm, error, data);
        return;
    }
    PowerOp *op = power_op_new(vm, done, data);
    g_autofree char *vmss = vm_vmss_path(vm);
    op->tmp_path = g_strdup_printf("%s.tmp", vmss);
    op->fd = open(op->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (op->fd < 0) {
        power_op_fail(op, "cannot suspend",
                      g_error_new(VIREO_ERROR, VIREO_ERROR_ERROR, "cannot create %s: %s",
                                  op->tmp_path, g_strerror(errno)));
        return;
    }
    vm_log(vm, "suspend requested");
    qmp_client_execute_async(vm->qmp, "stop", NULL, -1, NULL, on_suspend_stopped, op);
}

/* ---- guest operations --------------------------------------------------- */

static void
on_guest_command(GObject *source, GAsyncResult *res, gpointer data)
{
    PowerOp *op = data;
    g_autoptr(GError) error = NULL;
    if (!guest_agent_command_finish(NULL, res, &error)) {
        power_op_fail(op, "the guest refused", g_steal_pointer(&error));
        return;
    }
    power_op_finish(op, NULL);
}

void
vm_guest_command(Vm *vm, const char *command, VmDoneFunc done, gpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *what = g_strdup_printf("guest %s", command);
    if (!require_on(vm, what, &error) || !vm_begin_operation(vm, what, &error)) {
        done(vm, error, data);
        return;
    }
    vm_log(vm, "%s requested", what);
    PowerOp *op = power_op_new(vm, done, data);
    guest_agent_command_async(vm->agent, command, 10000, NULL, on_guest_command, op);
}

void
vm_power_attach_channels(Vm *vm, QmpClient *qmp)
{
    attach_channels(vm, qmp);
}
