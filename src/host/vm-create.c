/* vm-create.c — a new VM: folder, disks (qemu-img), .vmx; undone on failure. */
#include "vm-create.h"
#include "vireo-build-config.h"
#include "datastore.h"
#include "inventory.h"
#include "vireo-error.h"
#include "vm-config-vmx.h"
#include "vm-power.h"

#include <errno.h>
#include <gio/gio.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

typedef struct {
    Host *host;
    VmSpec *spec;
    char *dir;
    char *vmx_path;
    VmCreateDone done;
    gpointer data;
} CreateJob;

static void
create_job_free(CreateJob *job)
{
    vm_spec_free(job->spec);
    g_free(job->dir);
    g_free(job->vmx_path);
    g_free(job);
}

static const char *
adapter_of(const VmConfig *c, const VmDisk *disk)
{
    if (disk->bus == VM_BUS_IDE)
        return "ide";
    if (disk->bus == VM_BUS_SCSI) {
        VmScsiAdapter *a = vm_config_find_scsi(c, disk->controller);
        if (a && a->type == VM_SCSI_BUSLOGIC)
            return "buslogic";
    }
    return "lsilogic";
}

static guint64
thick_bytes(GPtrArray *new_disks)
{
    guint64 sum = 0;
    for (guint i = 0; i < new_disks->len; i++) {
        const VmSpecNewDisk *nd = g_ptr_array_index(new_disks, i);
        if (nd->provisioning != VM_DISK_PROVISIONING_THIN)
            sum += nd->capacity;
    }
    return sum;
}

static gboolean
check_space(const char *path, guint64 needed, GError **error)
{
    guint64 capacity = 0, free_space = 0;
    if (needed == 0)
        return TRUE;
    if (!datastore_stats(path, &capacity, &free_space, error))
        return FALSE;
    if (needed > free_space) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_UNABLE_TO_ALLOCATE_RESOURCE,
                    "thick-provisioned disks need %" G_GUINT64_FORMAT " bytes but the datastore "
                    "has %" G_GUINT64_FORMAT " bytes free; use THIN provisioning or free space",
                    needed, free_space);
        return FALSE;
    }
    return TRUE;
}

gboolean
vm_create_disk_files(const char *dir, const VmSpecNewDisk *nd, const char *adapter,
                     GError **error)
{
    if (nd->provisioning != VM_DISK_PROVISIONING_THIN && !check_space(dir, nd->capacity, error))
        return FALSE;
    return datastore_create_disk(dir, nd->base_name, nd->capacity, nd->provisioning, adapter, error);
}

static void
fill_identity(VmConfig *c)
{
    if (!c->uuid_bios)
        c->uuid_bios = g_uuid_string_random();
    if (!c->uuid_instance)
        c->uuid_instance = g_uuid_string_random();
}

static gboolean
write_vmx(CreateJob *job, GError **error)
{
    g_autoptr(Vmx) vmx = vmx_new();
    vmx_set(vmx, ".encoding", "UTF-8");
    vmx_set(vmx, "config.version", "8");
    fill_identity(job->spec->config);
    vm_config_to_vmx(job->spec->config, vmx);
    vmx_set(vmx, "vireo.createdBy", "vireo-hostd " VIREO_VERSION);
    return vmx_save(vmx, job->vmx_path, error);
}

static void
create_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
    CreateJob *job = data;
    GError *error = NULL;
    if (g_mkdir(job->dir, 0755) != 0) {
        g_task_return_new_error(task, VIREO_ERROR,
                                errno == EEXIST ? VIREO_ERROR_ALREADY_EXISTS : VIREO_ERROR_ERROR,
                                "cannot create the VM folder %s: %s", job->dir, g_strerror(errno));
        return;
    }
    for (guint i = 0; i < job->spec->new_disks->len; i++) {
        const VmSpecNewDisk *nd = g_ptr_array_index(job->spec->new_disks, i);
        if (!datastore_create_disk(job->dir, nd->base_name, nd->capacity, nd->provisioning,
                                   adapter_of(job->spec->config, nd->disk), &error))
            goto undo_folder;
    }
    if (!write_vmx(job, &error))
        goto undo_folder;
    g_task_return_boolean(task, TRUE);
    return;

undo_folder:
    {
        g_autoptr(GError) ignored = NULL;
        if (!datastore_remove_folder(job->dir, &ignored))
            g_warning("cannot remove %s after a failed create: %s", job->dir, ignored->message);
    }
    g_task_return_error(task, error);
}

static void
create_finished(GObject *source, GAsyncResult *res, gpointer data)
{
    CreateJob *job = data;
    g_autoptr(GError) error = NULL;
    Vm *vm = NULL;
    if (g_task_propagate_boolean(G_TASK(res), &error)) {
        g_autofree char *id = inventory_add_vm(job->host->inventory, job->vmx_path, &error);
        if (id)
            vm = vm_load(job->host, id, job->vmx_path, &error);
        if (vm) {
            g_hash_table_insert(job->host->vms, vm->id, vm);
            vm_log(vm, "created as %s", vm->id);
        } else {
            if (id)
                inventory_remove_vm(job->host->inventory, id, NULL);
            datastore_remove_folder(job->dir, NULL);
        }
    }
    job->done(job->host, vm, error, job->data);
    create_job_free(job);
}

void
vm_create(Host *host, VmSpec *spec, VmCreateDone done, gpointer user_data)
{
    CreateJob *job = g_new0(CreateJob, 1);
    job->host = host;
    job->spec = spec;
    job->done = done;
    job->data = user_data;
    job->dir = g_build_filename(spec->datastore->path, spec->folder, NULL);
    g_autofree char *file = g_strdup_printf("%s.vmx", spec->folder);
    job->vmx_path = g_build_filename(job->dir, file, NULL);
    g_autoptr(GError) error = NULL;
    if (g_file_test(job->dir, G_FILE_TEST_EXISTS)) {
        error = g_error_new(VIREO_ERROR, VIREO_ERROR_ALREADY_EXISTS,
                            "datastore %s already has a folder '%s'; choose another name or "
                            "placement.folder", spec->datastore->name, spec->folder);
    } else {
        check_space(spec->datastore->path, thick_bytes(spec->new_disks), &error);
    }
    if (error) {
        done(host, NULL, error, user_data);
        create_job_free(job);
        return;
    }
    GTask *task = g_task_new(NULL, NULL, create_finished, job);
    g_task_set_task_data(task, job, NULL);
    g_task_run_in_thread(task, create_thread);
    g_object_unref(task);
}
