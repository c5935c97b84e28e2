/* vm-home-move.c — a running VM's home follows its disks after a Storage
 * vMotion with placement.datastore, as in vSphere: the .vmx is written in
 * <ds>/<folder>/, the .vmsd, vmware.log (and a BIOS VM's unused .nvram) are
 * copied, the VM is re-pointed, then the old files and folder go.
 *
 * Nothing old is removed before the new home is complete and registered, so
 * a failure (ENOSPC on the .vmx) leaves the VM whole in its old home.
 */
#include "vm-home-move.h"

#include "inventory.h"
#include "vireo-error.h"
#include "vm-config-vmx.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

typedef struct {
    char *old_dir, *new_dir;
    char *new_vmx;
    gboolean dir_made;
    GPtrArray *copied; /* basenames written in new_dir */
} HomeMove;

static void
home_move_clear(HomeMove *h)
{
    g_free(h->old_dir);
    g_free(h->new_dir);
    g_free(h->new_vmx);
    g_ptr_array_unref(h->copied);
}

/* Undo: the files written in the new folder, the folder if it was made. */
static void
undo(Vm *vm, HomeMove *h)
{
    for (guint i = 0; i < h->copied->len; i++) {
        g_autofree char *p = g_build_filename(h->new_dir, g_ptr_array_index(h->copied, i), NULL);
        g_unlink(p);
    }
    if (h->dir_made && g_rmdir(h->new_dir) != 0)
        vm_log(vm, "relocate: could not remove %s: %s", h->new_dir, g_strerror(errno));
}

/* A relative name resolves against the .vmx's folder: a disk or ISO that
 * stays behind (per-disk placement) is named absolutely before the .vmx moves. */
static void
pin_relative(Vm *vm, char **file_name, const char *folder)
{
    if (!*file_name || !**file_name || **file_name == '/' || **file_name == '[')
        return;
    char *abs = g_strdup_printf("/vmfs/volumes/%s/%s/%s", vm->datastore, folder, *file_name);
    g_free(*file_name);
    *file_name = abs;
}

static gboolean
copy_file(HomeMove *h, const char *name, GError **error)
{
    g_autofree char *from = g_build_filename(h->old_dir, name, NULL);
    g_autofree char *to = g_build_filename(h->new_dir, name, NULL);
    g_autofree char *data = NULL;
    gsize len = 0;
    if (!g_file_test(from, G_FILE_TEST_IS_REGULAR))
        return TRUE;
    if (!g_file_get_contents(from, &data, &len, error))
        return FALSE;
    g_ptr_array_add(h->copied, g_strdup(name));
    return g_file_set_contents_full(to, data, len, G_FILE_SET_CONTENTS_CONSISTENT, 0644, error);
}

/* The small files of the home besides the .vmx, by name. */
static GPtrArray *
home_files(Vm *vm)
{
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *vmx = g_path_get_basename(vm->vmx_path);
    char *dot = strrchr(vmx, '.');
    g_autofree char *base = dot ? g_strndup(vmx, dot - vmx) : g_strdup(vmx);
    g_ptr_array_add(names, g_strdup_printf("%s.vmsd", base));
    g_ptr_array_add(names, g_strdup("vmware.log"));
    /* A BIOS VM's .nvram is not open in QEMU: it is copied like the rest. */
    g_ptr_array_add(names, vm->config->nvram && !strchr(vm->config->nvram, '/')
                               ? g_strdup(vm->config->nvram) : g_strdup_printf("%s.nvram", base));
    return names;
}

static gboolean
write_new_home(Vm *vm, HomeMove *h, GPtrArray *names, GError **error)
{
    if (g_mkdir(h->new_dir, 0755) == 0) {
        h->dir_made = TRUE;
    } else if (errno != EEXIST) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "cannot create %s: %s", h->new_dir,
                    g_strerror(errno));
        return FALSE;
    }
    if (g_file_test(h->new_vmx, G_FILE_TEST_EXISTS)) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ALREADY_EXISTS, "%s already exists", h->new_vmx);
        return FALSE;
    }
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *to = g_build_filename(h->new_dir, g_ptr_array_index(names, i), NULL);
        if (g_file_test(to, G_FILE_TEST_EXISTS)) {
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_ALREADY_EXISTS, "%s already exists", to);
            return FALSE;
        }
    }
    g_autofree char *folder = g_path_get_basename(h->old_dir);
    for (guint i = 0; i < vm->config->disks->len; i++)
        pin_relative(vm, &((VmDisk *)g_ptr_array_index(vm->config->disks, i))->file_name, folder);
    for (guint i = 0; vm->config->cdroms && i < vm->config->cdroms->len; i++) {
        VmCdrom *cd = g_ptr_array_index(vm->config->cdroms, i);
        if (cd->backing == VM_CDROM_ISO_FILE)
            pin_relative(vm, &cd->file_name, folder);
    }
    vm_config_to_vmx(vm->config, vm->vmx);
    g_autofree char *vmx_name = g_path_get_basename(h->new_vmx);
    g_ptr_array_add(h->copied, g_strdup(vmx_name));
    if (!vmx_save(vm->vmx, h->new_vmx, error))
        return FALSE;
    for (guint i = 0; i < names->len; i++)
        if (!copy_file(h, g_ptr_array_index(names, i), error))
            return FALSE;
    return inventory_set_vm_vmx(vm->host->inventory, vm->id, h->new_vmx, error);
}

/* The old home's files the VM owned, then its folder if nothing else is left. */
static void
remove_old(Vm *vm, HomeMove *h, const char *old_vmx)
{
    for (guint i = 0; i < h->copied->len; i++) {
        g_autofree char *p = g_build_filename(h->old_dir, g_ptr_array_index(h->copied, i), NULL);
        if (g_unlink(p) != 0 && errno != ENOENT)
            vm_log(vm, "relocate: could not delete %s: %s", p, g_strerror(errno));
    }
    if (g_rmdir(h->old_dir) != 0)
        vm_log(vm, "relocate: the old folder %s stays: %s", h->old_dir, g_strerror(errno));
    vm_log(vm, "relocate: home moved from %s to %s", old_vmx, vm->vmx_path);
}

gboolean
vm_home_move(Vm *vm, const HostDatastoreConfig *ds, char **kept_reason, GError **error)
{
    *kept_reason = NULL;
    if (g_str_equal(vm->datastore, ds->name)) {
        *kept_reason = g_strdup_printf("the home is already on %s", ds->name);
        return TRUE;
    }
    if (vm->config->firmware == VM_FIRMWARE_EFI) {
        *kept_reason = g_strdup("EFI variables (.nvram) are open in the running QEMU");
        return TRUE;
    }
    HomeMove h = {
        .old_dir = g_strdup(vm->dir),
        .copied = g_ptr_array_new_with_free_func(g_free),
    };
    g_autofree char *folder = g_path_get_basename(vm->dir);
    g_autofree char *vmx_name = g_path_get_basename(vm->vmx_path);
    h.new_dir = g_build_filename(ds->path, folder, NULL);
    h.new_vmx = g_build_filename(h.new_dir, vmx_name, NULL);
    g_autoptr(GPtrArray) names = home_files(vm);
    if (!write_new_home(vm, &h, names, error)) {
        undo(vm, &h);
        home_move_clear(&h);
        return FALSE;
    }
    g_autofree char *old_vmx = g_steal_pointer(&vm->vmx_path);
    vm->vmx_path = g_strdup(h.new_vmx);
    g_free(vm->dir);
    vm->dir = g_strdup(h.new_dir);
    g_free(vm->datastore);
    vm->datastore = g_strdup(ds->name);
    remove_old(vm, &h, old_vmx);
    home_move_clear(&h);
    return TRUE;
}
