/* api-host.c — /api/vcenter/host, /datastore and /network for this host. */
#include "api.h"
#include "cpu-features.h"
#include "datastore.h"
#include "inventory.h"
#include "vireo-build-config.h"
#include "vireo-error.h"
#include "vm-launch.h"

#include <gio/gio.h>
#include <unistd.h>

static void
member_string(JsonBuilder *b, const char *name, const char *value)
{
    json_builder_set_member_name(b, name);
    json_builder_add_string_value(b, value ? value : "");
}

static void
member_int(JsonBuilder *b, const char *name, gint64 value)
{
    json_builder_set_member_name(b, name);
    json_builder_add_int_value(b, value);
}

static void
host_summary(JsonBuilder *b, Host *host)
{
    member_string(b, "host", host->id);
    member_string(b, "name", host->config->host_name);
    member_string(b, "connection_state", "CONNECTED");
    member_string(b, "power_state", "POWERED_ON");
    member_string(b, "thumbprint", host->thumbprint);
}

static void
member_strv(JsonBuilder *b, const char *name, const char *const *values)
{
    json_builder_set_member_name(b, name);
    json_builder_begin_array(b);
    for (guint i = 0; values && values[i]; i++)
        json_builder_add_string_value(b, values[i]);
    json_builder_end_array(b);
}

/* What EVC needs to know of this host (docs/evc.md); vendor only when the
 * CPU has one of its own (under KVM, or narrowed by evc_max). */
static void
host_cpu_features_json(JsonBuilder *b, Host *host)
{
    const HostCpuFeatures *cpu = cpu_features_of_host(host);
    g_auto(GStrv) modes = cpu_features_evc_modes(cpu);
    if (cpu->vendor)
        member_string(b, "vendor", cpu->vendor);
    member_strv(b, "features", (const char *const *)cpu->features);
    member_strv(b, "evc_modes", (const char *const *)modes);
}

static gint64
machine_memory_mib(void)
{
    return (gint64)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE) / (1024 * 1024);
}

static void
host_list(ApiRequest *request, gpointer data)
{
    Host *host = data;
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_array(b);
    json_builder_begin_object(b);
    host_summary(b, host);
    json_builder_end_object(b);
    json_builder_end_array(b);
    api_request_reply_json(request, 200, json_builder_get_root(b));
}

static void
host_get(ApiRequest *request, gpointer data)
{
    Host *host = data;
    const char *id = api_request_param(request, "host");
    if (g_strcmp0(id, host->id) != 0 && g_strcmp0(id, host->config->host_name) != 0) {
        g_autoptr(GError) error = g_error_new(VIREO_ERROR, VIREO_ERROR_NOT_FOUND,
                                              "no host '%s' here; this is %s", id, host->id);
        api_request_reply_error(request, error);
        return;
    }
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    host_summary(b, host);
    member_string(b, "version", VIREO_VERSION);
    member_string(b, "accelerator", qemu_accel_to_string(host->accel));
    member_string(b, "accelerator_reason", host->accel_reason);
    member_string(b, "vmotion_address", host->config->vmotion_address);
    json_builder_set_member_name(b, "vmotion_encryption");
    json_builder_add_boolean_value(b, host->config->vmotion_encryption);
    member_int(b, "vmotion_link_mbps", host->config->vmotion_link_mbps);
    json_builder_set_member_name(b, "cpu");
    json_builder_begin_object(b);
    member_int(b, "count", g_get_num_processors());
    member_string(b, "model", host->config->cpu_model ? host->config->cpu_model : "qemu64");
    host_cpu_features_json(b, host);
    json_builder_end_object(b);
    gint64 total = host->config->memory_mib > 0 ? host->config->memory_mib : machine_memory_mib();
    json_builder_set_member_name(b, "memory");
    json_builder_begin_object(b);
    member_int(b, "size_MiB", total);
    member_int(b, "free_MiB", total - vm_power_memory_in_use(host));
    json_builder_end_object(b);
    json_builder_end_object(b);
    api_request_reply_json(request, 200, json_builder_get_root(b));
}

/* Bytes of all disks whose data lies on datastore ds: thin or thick, their
 * full capacity, so that over-commit shows. */
static guint64
provisioned_bytes(Host *host, const HostDatastoreConfig *ds)
{
    guint64 sum = 0;
    g_autofree char *prefix = g_strconcat(ds->path, "/", NULL);
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, host->vms);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        Vm *vm = value;
        for (guint i = 0; i < vm->config->disks->len; i++) {
            g_autofree char *data = NULL;
            const char *format = NULL;
            if (!vm_launch_resolve_disk(vm, g_ptr_array_index(vm->config->disks, i), NULL,
                                        &data, &format, NULL) || !g_str_has_prefix(data, prefix))
                continue;
            g_autoptr(GFile) f = g_file_new_for_path(data);
            g_autoptr(GFileInfo) info = g_file_query_info(f, G_FILE_ATTRIBUTE_STANDARD_SIZE,
                                                          G_FILE_QUERY_INFO_NONE, NULL, NULL);
            if (info)
                sum += (guint64)g_file_info_get_size(info);
        }
    }
    return sum;
}

/* The identity vireo-hostd wrote in the datastore at start (main.c): read
 * at each answer, as another host sharing the folder may have written it. */
static char *
datastore_uuid(const HostDatastoreConfig *ds)
{
    g_autofree char *path = g_build_filename(ds->path, ".vireo-datastore", NULL);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return NULL;
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (guint i = 0; lines[i]; i++) {
        char *line = g_strstrip(lines[i]);
        if (*line && *line != '#')
            return g_uuid_string_is_valid(line) ? g_ascii_strdown(line, -1) : NULL;
    }
    return NULL;
}

static void
datastore_json(JsonBuilder *b, Host *host, const HostDatastoreConfig *ds, gboolean detail)
{
    guint64 capacity = 0, free_space = 0;
    gboolean ok = datastore_stats(ds->path, &capacity, &free_space, NULL);
    if (!detail)
        member_string(b, "datastore", inventory_object_id(host->inventory, "datastore", ds->name));
    member_string(b, "name", ds->name);
    g_autofree char *uuid = datastore_uuid(ds);
    if (uuid)
        member_string(b, "uuid", uuid);
    member_string(b, "type", "VMFS");
    member_int(b, "capacity", (gint64)capacity);
    member_int(b, "free_space", (gint64)free_space);
    member_int(b, "provisioned_space", (gint64)provisioned_bytes(host, ds));
    if (detail) {
        json_builder_set_member_name(b, "accessible");
        json_builder_add_boolean_value(b, ok);
        json_builder_set_member_name(b, "thin_provisioning_supported");
        json_builder_add_boolean_value(b, TRUE);
        member_string(b, "path", ds->path);
    }
}

static void
datastore_list(ApiRequest *request, gpointer data)
{
    Host *host = data;
    g_auto(GStrv) names = api_request_query_all(request, "names");
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_array(b);
    for (guint i = 0; i < host->config->datastores->len; i++) {
        const HostDatastoreConfig *ds = g_ptr_array_index(host->config->datastores, i);
        if (names && !g_strv_contains((const char *const *)names, ds->name))
            continue;
        json_builder_begin_object(b);
        datastore_json(b, host, ds, FALSE);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    api_request_reply_json(request, 200, json_builder_get_root(b));
}

static void
datastore_get(ApiRequest *request, gpointer data)
{
    Host *host = data;
    const char *id = api_request_param(request, "datastore");
    const HostDatastoreConfig *ds = host_lookup_datastore(host, id);
    if (!ds) {
        g_autoptr(GError) error = g_error_new(VIREO_ERROR, VIREO_ERROR_NOT_FOUND,
                                              "no datastore '%s' on this host", id);
        api_request_reply_error(request, error);
        return;
    }
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    datastore_json(b, host, ds, TRUE);
    json_builder_end_object(b);
    api_request_reply_json(request, 200, json_builder_get_root(b));
}

static void
network_list(ApiRequest *request, gpointer data)
{
    Host *host = data;
    g_auto(GStrv) names = api_request_query_all(request, "names");
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_array(b);
    for (guint i = 0; i < host->config->portgroups->len; i++) {
        const HostPortgroupConfig *pg = g_ptr_array_index(host->config->portgroups, i);
        if (names && !g_strv_contains((const char *const *)names, pg->name))
            continue;
        json_builder_begin_object(b);
        member_string(b, "network", inventory_object_id(host->inventory, "network", pg->name));
        member_string(b, "name", pg->name);
        member_string(b, "type", "STANDARD_PORTGROUP");
        member_int(b, "vlan_id", pg->vlan_id);
        member_string(b, "vswitch", pg->vswitch);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    api_request_reply_json(request, 200, json_builder_get_root(b));
}

void
api_host_register(ApiServer *server, Host *host)
{
    cpu_features_of_host(host);   /* at start: the first GET must not wait for QEMU */
    api_server_add_route(server, "GET", "/api/vcenter/host", NULL, host_list, host);
    api_server_add_route(server, "GET", "/api/vcenter/host/{host}", NULL, host_get, host);
    api_server_add_route(server, "GET", "/api/vcenter/datastore", NULL, datastore_list, host);
    api_server_add_route(server, "GET", "/api/vcenter/datastore/{datastore}", NULL, datastore_get, host);
    api_server_add_route(server, "GET", "/api/vcenter/network", NULL, network_list, host);
}
