/* host.c — look-ups over the host's datastores and port groups, and the
 * "[datastore] path" notation VMware uses for files. */
#include "host.h"
#include "inventory.h"
#include "vireo-error.h"

#include <string.h>

const HostDatastoreConfig *
host_lookup_datastore(Host *host, const char *name_or_id)
{
    if (!name_or_id)
        return NULL;
    const HostDatastoreConfig *ds = host_config_find_datastore(host->config, name_or_id);
    if (ds)
        return ds;
    const char *name = inventory_object_name(host->inventory, "datastore", name_or_id);
    return name ? host_config_find_datastore(host->config, name) : NULL;
}

const HostPortgroupConfig *
host_lookup_portgroup(Host *host, const char *name_or_id)
{
    if (!name_or_id)
        return NULL;
    const HostPortgroupConfig *pg = host_config_find_portgroup(host->config, name_or_id);
    if (pg)
        return pg;
    const char *name = inventory_object_name(host->inventory, "network", name_or_id);
    return name ? host_config_find_portgroup(host->config, name) : NULL;
}

/* TRUE when rel is a relative path whose components are never "." or "..". */
static gboolean
relative_path_is_safe(const char *rel)
{
    if (!rel || !*rel || rel[0] == '/')
        return FALSE;
    g_auto(GStrv) parts = g_strsplit(rel, "/", -1);
    for (int i = 0; parts[i]; i++) {
        if (g_str_equal(parts[i], "..") || g_str_equal(parts[i], "."))
            return FALSE;
    }
    return TRUE;
}

static char *
resolve_in_datastore(const HostDatastoreConfig *ds, const char *rel, GError **error)
{
    if (!relative_path_is_safe(rel)) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "the path '%s' leaves datastore %s; give a path inside it", rel, ds->name);
        return NULL;
    }
    g_autofree char *path = g_build_filename(ds->path, rel, NULL);
    /* A symlink inside the datastore must not lead out of it. */
    g_autofree char *real = realpath(path, NULL);
    g_autofree char *real_ds = realpath(ds->path, NULL);
    if (real && real_ds) {
        g_autofree char *prefix = g_strconcat(real_ds, "/", NULL);
        if (!g_str_has_prefix(real, prefix)) {
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                        "the path '%s' resolves outside datastore %s", rel, ds->name);
            return NULL;
        }
    }
    return g_steal_pointer(&path);
}

char *
host_resolve_datastore_path(Host *host, const char *path, const char *vm_dir,
                            const char **out_datastore, GError **error)
{
    if (!path || !*path || strchr(path, '\n')) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT, "empty or invalid path");
        return NULL;
    }
    if (path[0] == '[') {
        const char *close = strchr(path, ']');
        if (!close) {
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                        "'%s' is not a datastore path; write it as \"[datastore] folder/file\"",
                        path);
            return NULL;
        }
        g_autofree char *name = g_strndup(path + 1, close - path - 1);
        const char *rel = close + 1;
        while (*rel == ' ')
            rel++;
        const HostDatastoreConfig *ds = host_lookup_datastore(host, g_strstrip(name));
        if (!ds) {
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND,
                        "no datastore '%s' on this host", name);
            return NULL;
        }
        if (out_datastore)
            *out_datastore = ds->name;
        return resolve_in_datastore(ds, rel, error);
    }
    if (g_str_has_prefix(path, "/vmfs/volumes/")) {
        /* ESXi's own notation, with the datastore's name as ESXi links it. */
        const char *name_start = path + strlen("/vmfs/volumes/");
        const char *slash = strchr(name_start, '/');
        g_autofree char *name = slash ? g_strndup(name_start, slash - name_start) : NULL;
        const HostDatastoreConfig *ds = name ? host_lookup_datastore(host, name) : NULL;
        if (!ds) {
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND,
                        "'%s' is on datastore '%s', which this host does not have", path,
                        name ? name : "");
            return NULL;
        }
        if (out_datastore)
            *out_datastore = ds->name;
        return resolve_in_datastore(ds, slash + 1, error);
    }
    if (path[0] == '/') {
        for (guint i = 0; i < host->config->datastores->len; i++) {
            const HostDatastoreConfig *ds = g_ptr_array_index(host->config->datastores, i);
            g_autofree char *prefix = g_strconcat(ds->path, "/", NULL);
            if (g_str_has_prefix(path, prefix)) {
                if (out_datastore)
                    *out_datastore = ds->name;
                return resolve_in_datastore(ds, path + strlen(prefix), error);
            }
        }
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "'%s' is not on a datastore of this host", path);
        return NULL;
    }
    if (!vm_dir || strchr(path, '/') || g_str_equal(path, "..") || g_str_equal(path, ".")) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "'%s': give a file in the VM's folder or a \"[datastore] path\"", path);
        return NULL;
    }
    if (out_datastore)
        *out_datastore = NULL;
    return g_build_filename(vm_dir, path, NULL);
}

char *
host_datastore_path_of(Host *host, const char *abs_path)
{
    for (guint i = 0; i < host->config->datastores->len; i++) {
        const HostDatastoreConfig *ds = g_ptr_array_index(host->config->datastores, i);
        g_autofree char *prefix = g_strconcat(ds->path, "/", NULL);
        if (g_str_has_prefix(abs_path, prefix))
            return g_strdup_printf("[%s] %s", ds->name, abs_path + strlen(prefix));
    }
    return NULL;
}
