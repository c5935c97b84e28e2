/* datastore.c — VM folders and disks on a datastore directory. */
#include "datastore.h"
#include "vireo-error.h"
#include "vmdk.h"

#include <errno.h>
#include <gio/gio.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

gboolean
datastore_stats(const char *path, guint64 *capacity, guint64 *free_space, GError **error)
{
    struct statvfs st;
    if (statvfs(path, &st) != 0) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "datastore %s: %s", path,
                    g_strerror(errno));
        return FALSE;
    }
    *capacity = (guint64)st.f_blocks * st.f_frsize;
    *free_space = (guint64)st.f_bavail * st.f_frsize;
    return TRUE;
}

char *
datastore_escape_name(const char *vm_name)
{
    GString *s = g_string_new(NULL);
    for (const unsigned char *p = (const unsigned char *)vm_name; *p; p++) {
        if (*p == '/' || *p == '\\' || *p == '%' || *p < 0x20 || *p == 0x7f)
            g_string_append_printf(s, "%%%02x", *p);
        else
            g_string_append_c(s, (char)*p);
    }
    if (s->len == 0 || g_str_equal(s->str, ".") || g_str_equal(s->str, "..")) {
        g_string_prepend(s, "vm");
    }
    return g_string_free(s, FALSE);
}

static gboolean
run_qemu_img(const char *const *argv, GError **error)
{
    g_autofree char *err = NULL;
    int status = 0;
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                      NULL, NULL, NULL, &err, &status, error))
        return FALSE;
    if (!g_spawn_check_wait_status(status, NULL)) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "qemu-img %s failed: %s", argv[1],
                    err ? g_strstrip(err) : "");
        return FALSE;
    }
    return TRUE;
}

static const char *
preallocation_of(VmDiskProvisioning p)
{
    switch (p) {
    case VM_DISK_PROVISIONING_THICK_LAZY_ZEROED: return "preallocation=falloc";
    case VM_DISK_PROVISIONING_THICK_EAGER_ZEROED: return "preallocation=full";
    case VM_DISK_PROVISIONING_THIN: break;
    }
    return "preallocation=off";
}

gboolean
datastore_create_disk(const char *dir, const char *base, guint64 capacity_bytes,
                      VmDiskProvisioning provisioning, const char *adapter_type, GError **error)
{
    g_autofree char *desc_name = g_strdup_printf("%s.vmdk", base);
    g_autofree char *flat_name = g_strdup_printf("%s-flat.vmdk", base);
    g_autofree char *desc_path = g_build_filename(dir, desc_name, NULL);
    g_autofree char *flat_path = g_build_filename(dir, flat_name, NULL);
    if (g_file_test(desc_path, G_FILE_TEST_EXISTS) || g_file_test(flat_path, G_FILE_TEST_EXISTS)) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ALREADY_EXISTS, "disk %s already exists",
                    desc_path);
        return FALSE;
    }
    g_autoptr(VmdkDescriptor) desc = NULL;
    guint8 uuid[16];
    capacity_bytes = (capacity_bytes + 511) / 512 * 512;
    g_autofree char *size = g_strdup_printf("%" G_GUINT64_FORMAT, capacity_bytes);
    const char *argv[] = { "qemu-img", "create", "-q", "-f", "raw", "-o",
                           preallocation_of(provisioning), flat_path, size, NULL };
    if (!run_qemu_img(argv, error))
        goto undo_flat;

    for (int i = 0; i < 16; i++)
        uuid[i] = (guint8)g_random_int_range(0, 256);
    desc = vmdk_descriptor_new_flat(
        flat_name, capacity_bytes, adapter_type ? adapter_type : "lsilogic",
        provisioning == VM_DISK_PROVISIONING_THIN, uuid, g_random_int());
    if (provisioning == VM_DISK_PROVISIONING_THICK_EAGER_ZEROED)
        vmdk_descriptor_set_ddb(desc, "ddb.vireo.eagerZeroed", "1");
    if (!vmdk_descriptor_save(desc, desc_path, error))
        goto undo_flat;
    return TRUE;

undo_flat:
    unlink(flat_path);
    unlink(desc_path);
    return FALSE;
}

gboolean
datastore_grow_disk(const char *desc_path, guint64 capacity_bytes, GError **error)
{
    g_autoptr(VmdkDescriptor) desc = vmdk_descriptor_load(desc_path, error);
    if (!desc)
        return FALSE;
    g_autofree char *dir = g_path_get_dirname(desc_path);
    g_autofree char *data = NULL;
    const char *format = NULL;
    if (!vmdk_descriptor_resolve_extent(desc, dir, &data, &format, error))
        return FALSE;
    if (!g_str_equal(format, "raw") || desc->extents->len != 1) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_UNSUPPORTED,
                    "only flat disks can be grown; %s is %s", desc_path, desc->create_type);
        return FALSE;
    }
    guint64 current = vmdk_descriptor_capacity(desc);
    if (capacity_bytes < current) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "a disk can only grow: %" G_GUINT64_FORMAT " bytes is less than its "
                    "capacity %" G_GUINT64_FORMAT, capacity_bytes, current);
        return FALSE;
    }
    capacity_bytes = (capacity_bytes + 511) / 512 * 512;
    g_autofree char *size = g_strdup_printf("%" G_GUINT64_FORMAT, capacity_bytes);
    const char *argv[] = { "qemu-img", "resize", "-q", "-f", "raw", data, size, NULL };
    if (!run_qemu_img(argv, error))
        return FALSE;
    VmdkExtent *ext = g_ptr_array_index(desc->extents, 0);
    ext->sectors = capacity_bytes / 512;
    return vmdk_descriptor_save(desc, desc_path, error);
}

gboolean
datastore_delete_disk(const char *desc_path, GError **error)
{
    g_autoptr(VmdkDescriptor) desc = vmdk_descriptor_load(desc_path, error);
    if (!desc)
        return FALSE;
    g_autofree char *dir = g_path_get_dirname(desc_path);
    for (guint i = 0; i < desc->extents->len; i++) {
        VmdkExtent *ext = g_ptr_array_index(desc->extents, i);
        if (!ext->file_name || strchr(ext->file_name, '/') || g_str_equal(ext->file_name, ".."))
            continue;
        g_autofree char *p = g_build_filename(dir, ext->file_name, NULL);
        unlink(p);
    }
    if (unlink(desc_path) != 0 && errno != ENOENT) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "cannot delete %s: %s", desc_path,
                    g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

guint64
datastore_file_used_bytes(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return 0;
    return (guint64)st.st_blocks * 512;
}

VmDiskProvisioning
datastore_disk_provisioning(const char *desc_path)
{
    g_autoptr(VmdkDescriptor) desc = vmdk_descriptor_load(desc_path, NULL);
    if (!desc)
        return VM_DISK_PROVISIONING_THIN;
    const char *thin = vmdk_descriptor_ddb(desc, "ddb.thinProvisioned");
    if (thin && g_str_equal(thin, "1"))
        return VM_DISK_PROVISIONING_THIN;
    const char *eager = vmdk_descriptor_ddb(desc, "ddb.vireo.eagerZeroed");
    if (eager && g_str_equal(eager, "1"))
        return VM_DISK_PROVISIONING_THICK_EAGER_ZEROED;
    return VM_DISK_PROVISIONING_THICK_LAZY_ZEROED;
}

gboolean
datastore_remove_folder(const char *dir, GError **error)
{
    struct stat st;
    if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "%s is not a VM folder", dir);
        return FALSE;
    }
    g_autoptr(GDir) d = g_dir_open(dir, 0, error);
    if (!d)
        return FALSE;
    const char *name;
    while ((name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(dir, name, NULL);
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_RESOURCE_IN_USE,
                        "%s holds a folder (%s); not removing it", dir, name);
            return FALSE;
        }
        if (unlink(p) != 0) {
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "cannot delete %s: %s", p,
                        g_strerror(errno));
            return FALSE;
        }
    }
    if (rmdir(dir) != 0) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "cannot remove %s: %s", dir,
                    g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}
