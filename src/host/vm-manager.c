/* vm-manager.c — the registry of VMs on this host: loading them from the
 * inventory at start-up, registering and unregistering .vmx files, deleting
 * VMs, one-operation-at-a-time locking, and each VM's vmware.log. */
#include "vm.h"
#include "datastore.h"
#include "guest-agent.h"
#include "inventory.h"
#include "qmp-client.h"
#include "vireo-error.h"
#include "vm-config-vmx.h"
#include "vm-power.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

void
vm_free(Vm *vm)
{
    if (!vm)
        return;
    g_clear_pointer(&vm->agent, guest_agent_free);
    g_clear_pointer(&vm->qmp, qmp_client_free);
    g_free(vm->id);
    g_free(vm->vmx_path);
    g_free(vm->dir);
    g_free(vm->datastore);
    g_clear_pointer(&vm->vmx, vmx_free);
    g_clear_pointer(&vm->config, vm_config_free);
    g_free(vm->power_state_reason);
    g_free(vm->operation);
    g_free(vm->run_dir);
    g_free(vm->migration);
    g_free(vm);
}

static const char *
datastore_of_path(Host *host, const char *path)
{
    for (guint i = 0; i < host->config->datastores->len; i++) {
        const HostDatastoreConfig *ds = g_ptr_array_index(host->config->datastores, i);
        g_autofree char *prefix = g_strconcat(ds->path, "/", NULL);
        if (g_str_has_prefix(path, prefix))
            return ds->name;
    }
    return NULL;
}

Vm *
vm_load(Host *host, const char *id, const char *vmx_path, GError **error)
{
    const char *ds = datastore_of_path(host, vmx_path);
    if (!ds) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND,
                    "%s is not on a datastore of this host", vmx_path);
        return NULL;
    }
    g_autoptr(Vmx) vmx = vmx_load(vmx_path, error);
    if (!vmx)
        return NULL;
    g_autoptr(VmConfig) config = vm_config_from_vmx(vmx, error);
    if (!config) {
        g_prefix_error(error, "%s: ", vmx_path);
        return NULL;
    }
    Vm *vm = g_new0(Vm, 1);
    vm->host = host;
    vm->id = g_strdup(id);
    vm->vmx_path = g_strdup(vmx_path);
    vm->dir = g_path_get_dirname(vmx_path);
    vm->datastore = g_strdup(ds);
    vm->vmx = g_steal_pointer(&vmx);
    vm->config = g_steal_pointer(&config);
    vm->config->template = g_str_has_suffix(vmx_path, ".vmtx");
    vm->run_dir = g_build_filename(host->run_dir, id, NULL);
    vm->power_state = VM_POWER_STATE_POWERED_OFF;
    return vm;
}

gboolean
vm_save_config(Vm *vm, GError **error)
{
    vm_config_to_vmx(vm->config, vm->vmx);
    return vmx_save(vm->vmx, vm->vmx_path, error);
}

gboolean
vm_manager_load(Host *host, GError **error)
{
    g_autoptr(GPtrArray) ids = inventory_vm_ids(host->inventory);
    for (guint i = 0; i < ids->len; i++) {
        const char *id = g_ptr_array_index(ids, i);
        const char *path = inventory_vm_vmx(host->inventory, id);
        g_autoptr(GError) local = NULL;
        Vm *vm = vm_load(host, id, path, &local);
        if (!vm) {
            /* A VM whose files vanished stays registered as inaccessible in
             * vSphere; here it is reported and skipped, not dropped. */
            g_warning("VM %s (%s) cannot be loaded: %s", id, path, local->message);
            continue;
        }
        g_hash_table_insert(host->vms, vm->id, vm);
        vm_power_recover(vm);
    }
    return TRUE;
}

Vm *
vm_manager_lookup(Host *host, const char *id, GError **error)
{
    Vm *vm = id ? g_hash_table_lookup(host->vms, id) : NULL;
    if (!vm)
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "no virtual machine '%s' on this host",
                    id ? id : "");
    return vm;
}

gboolean
vm_begin_operation(Vm *vm, const char *operation, GError **error)
{
    if (vm->operation) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_RESOURCE_BUSY,
                    "virtual machine %s is busy: %s is in progress; retry when it ends",
                    vm->id, vm->operation);
        return FALSE;
    }
    vm->operation = g_strdup(operation);
    return TRUE;
}

void
vm_end_operation(Vm *vm)
{
    g_clear_pointer(&vm->operation, g_free);
}

void
vm_log(Vm *vm, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    g_autofree char *msg = g_strdup_vprintf(format, ap);
    va_end(ap);
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *ts = g_date_time_format_iso8601(now);
    g_autofree char *line = g_strdup_printf("%s| vireo| %s\n", ts, msg);
    g_autofree char *path = g_build_filename(vm->dir, "vmware.log", NULL);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
        if (write(fd, line, strlen(line)) < 0)
            g_debug("vmware.log: %s", g_strerror(errno));
        close(fd);
    }
    g_message("%s: %s", vm->id, msg);
}

char *
vm_vmss_path(Vm *vm)
{
    g_autofree char *base = g_path_get_basename(vm->vmx_path);
    char *dot = strrchr(base, '.');
    if (dot)
        *dot = '\0';
    g_autofree char *name = g_strdup_printf("%s.vmss", base);
    return g_build_filename(vm->dir, name, NULL);
}

static gboolean
vmx_registered(Host *host, const char *vmx_path)
{
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, host->vms);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        if (g_str_equal(((Vm *)value)->vmx_path, vmx_path))
            return TRUE;
    }
    return FALSE;
}

Vm *
vm_manager_register(Host *host, const char *vmx_path, const char *name, GError **error)
{
    if (!g_str_has_suffix(vmx_path, ".vmx") && !g_str_has_suffix(vmx_path, ".vmtx")) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "'%s' is not a .vmx or .vmtx file", vmx_path);
        return NULL;
    }
    if (!g_file_test(vmx_path, G_FILE_TEST_IS_REGULAR)) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "no file %s", vmx_path);
        return NULL;
    }
    if (vmx_registered(host, vmx_path)) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ALREADY_EXISTS,
                    "%s is already registered", vmx_path);
        return NULL;
    }
    /* Load before registering: a malformed file is refused, not half-added. */
    Vm *vm = vm_load(host, "vm-new", vmx_path, error);
    if (!vm)
        return NULL;
    g_autofree char *id = inventory_add_vm(host->inventory, vmx_path, error);
    if (!id) {
        vm_free(vm);
        return NULL;
    }
    g_free(vm->id);
    vm->id = g_strdup(id);
    g_free(vm->run_dir);
    vm->run_dir = g_build_filename(host->run_dir, id, NULL);
    if (name && *name && g_strcmp0(name, vm->config->name) != 0) {
        g_free(vm->config->name);
        vm->config->name = g_strdup(name);
        g_autoptr(GError) local = NULL;
        if (!vm_save_config(vm, &local))
            g_warning("%s: cannot save its new name: %s", id, local->message);
    }
    g_hash_table_insert(host->vms, vm->id, vm);
    vm_power_recover(vm);
    vm_log(vm, "registered as %s from %s", vm->id, vmx_path);
    return vm;
}

gboolean
vm_manager_unregister(Host *host, Vm *vm, GError **error)
{
    if (vm->power_state == VM_POWER_STATE_POWERED_ON) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                    "virtual machine %s is powered on; power it off first", vm->id);
        return FALSE;
    }
    if (!inventory_remove_vm(host->inventory, vm->id, error))
        return FALSE;
    vm_log(vm, "unregistered");
    g_hash_table_remove(host->vms, vm->id);
    return TRUE;
}

gboolean
vm_manager_destroy(Host *host, Vm *vm, GError **error)
{
    if (vm->power_state != VM_POWER_STATE_POWERED_OFF) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                    "virtual machine %s is %s; power it off first", vm->id,
                    vm_power_state_to_string(vm->power_state));
        return FALSE;
    }
    /* Disks that live in other folders (attached existing disks) are
     * detached, not deleted, as vSphere keeps disks it did not create there. */
    g_autofree char *dir = g_strdup(vm->dir);
    if (!inventory_remove_vm(host->inventory, vm->id, error))
        return FALSE;
    g_hash_table_remove(host->vms, vm->id);
    return datastore_remove_folder(dir, error);
}
