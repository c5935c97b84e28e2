/* inventory.c — the host's registered VMs and object ids, in one keyfile.
 *
 *   [vms]              vm-3 = /srv/ds1/web-01/web-01.vmx
 *   [ids]              next-vm = 4, next-datastore = 2, next-network = 2
 *   [datastore]        local1 = datastore-1
 *   [network]          VM Network = network-1
 *
 * Every change is saved before the call returns (temp file + fsync + rename),
 * so an answered registration survives a kill -9.
 */
#include "inventory.h"
#include "vireo-error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

struct Inventory {
    char *path;
    GKeyFile *kf;
};

void
inventory_free(Inventory *inv)
{
    if (!inv)
        return;
    g_free(inv->path);
    g_key_file_unref(inv->kf);
    g_free(inv);
}

static gboolean
inventory_save(Inventory *inv, GError **error)
{
    gsize len = 0;
    g_autofree char *data = g_key_file_to_data(inv->kf, &len, NULL);
    g_autofree char *tmp = g_strdup_printf("%s.tmp", inv->path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "cannot write %s: %s", tmp,
                    g_strerror(errno));
        return FALSE;
    }
    gboolean ok = write(fd, data, len) == (ssize_t)len && fsync(fd) == 0;
    int saved = errno;
    close(fd);
    if (!ok || rename(tmp, inv->path) != 0) {
        if (ok)
            saved = errno;
        unlink(tmp);
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "cannot save the inventory %s: %s",
                    inv->path, g_strerror(saved));
        return FALSE;
    }
    return TRUE;
}

Inventory *
inventory_load(const char *path, GError **error)
{
    g_autoptr(Inventory) inv = g_new0(Inventory, 1);
    inv->path = g_strdup(path);
    inv->kf = g_key_file_new();
    if (g_file_test(path, G_FILE_TEST_EXISTS)) {
        if (!g_key_file_load_from_file(inv->kf, path, G_KEY_FILE_NONE, error)) {
            g_prefix_error(error, "inventory %s: ", path);
            return NULL;
        }
    } else if (!inventory_save(inv, error)) {
        return NULL;
    }
    return g_steal_pointer(&inv);
}

GPtrArray *
inventory_vm_ids(Inventory *inv)
{
    GPtrArray *ids = g_ptr_array_new();
    gsize n = 0;
    g_auto(GStrv) keys = g_key_file_get_keys(inv->kf, "vms", &n, NULL);
    for (gsize i = 0; keys && i < n; i++) {
        /* Return strings that live as long as the keyfile entry: look them up
         * through the object-name table trick is overkill; intern them. */
        g_ptr_array_add(ids, (gpointer)g_intern_string(keys[i]));
    }
    return ids;
}

const char *
inventory_vm_vmx(Inventory *inv, const char *vm_id)
{
    g_autofree char *v = g_key_file_get_string(inv->kf, "vms", vm_id, NULL);
    return v ? g_intern_string(v) : NULL;
}

static gint64
inventory_next(Inventory *inv, const char *kind)
{
    g_autofree char *key = g_strdup_printf("next-%s", kind);
    gint64 n = g_key_file_get_int64(inv->kf, "ids", key, NULL);
    if (n < 1)
        n = 1;
    g_key_file_set_int64(inv->kf, "ids", key, n + 1);
    return n;
}

char *
inventory_add_vm(Inventory *inv, const char *vmx_path, GError **error)
{
    g_autofree char *id = g_strdup_printf("vm-%" G_GINT64_FORMAT, inventory_next(inv, "vm"));
    g_key_file_set_string(inv->kf, "vms", id, vmx_path);
    if (!inventory_save(inv, error)) {
        g_key_file_remove_key(inv->kf, "vms", id, NULL);
        return NULL;
    }
    return g_steal_pointer(&id);
}

gboolean
inventory_remove_vm(Inventory *inv, const char *vm_id, GError **error)
{
    if (!g_key_file_remove_key(inv->kf, "vms", vm_id, NULL)) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "no VM %s", vm_id);
        return FALSE;
    }
    return inventory_save(inv, error);
}

gboolean
inventory_set_vm_vmx(Inventory *inv, const char *vm_id, const char *vmx_path, GError **error)
{
    g_key_file_set_string(inv->kf, "vms", vm_id, vmx_path);
    return inventory_save(inv, error);
}

const char *
inventory_object_id(Inventory *inv, const char *kind, const char *name)
{
    g_autofree char *id = g_key_file_get_string(inv->kf, kind, name, NULL);
    if (!id) {
        id = g_strdup_printf("%s-%" G_GINT64_FORMAT, kind, inventory_next(inv, kind));
        g_key_file_set_string(inv->kf, kind, name, id);
        g_autoptr(GError) error = NULL;
        if (!inventory_save(inv, &error))
            g_warning("%s", error->message);
    }
    return g_intern_string(id);
}

const char *
inventory_object_name(Inventory *inv, const char *kind, const char *id)
{
    gsize n = 0;
    g_auto(GStrv) keys = g_key_file_get_keys(inv->kf, kind, &n, NULL);
    for (gsize i = 0; keys && i < n; i++) {
        g_autofree char *v = g_key_file_get_string(inv->kf, kind, keys[i], NULL);
        if (v && g_str_equal(v, id))
            return g_intern_string(keys[i]);
    }
    return NULL;
}
