/* vm-hardware.c — /api/vcenter/vm/{vm}/hardware/{disk,ethernet,cdrom}: add,
 * edit and remove devices of a powered-off VM. Each change is made on a copy
 * of the configuration and becomes the VM's only once the .vmx is saved. */
#include "api.h"
#include "datastore.h"
#include "json-util.h"
#include "vireo-error.h"
#include "vm-config-vmx.h"
#include "vm-create.h"
#include "vm-launch.h"
#include "vm-spec.h"

#include <stdlib.h>
#include <string.h>

typedef enum { DEV_DISK, DEV_NIC, DEV_CDROM } DevKind;

static const char *const kind_member[] = { "disk", "nic", "cdrom" };

static void
reply_code(ApiRequest *request, VireoErrorCode code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static void
reply_code(ApiRequest *request, VireoErrorCode code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_autoptr(GError) error = g_error_new_literal(VIREO_ERROR, code, msg);
    api_request_reply_error(request, error);
}

/* The VM, when it may be edited now (powered off, not busy). */
static Vm *
editable_vm(ApiRequest *request, Host *host)
{
    Vm *vm = api_lookup_vm(request, host);
    if (!vm)
        return NULL;
    if (vm->power_state != VM_POWER_STATE_POWERED_OFF) {
        reply_code(request, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                   "virtual machine %s is %s; power it off to change its hardware", vm->id,
                   vm_power_state_to_string(vm->power_state));
        return NULL;
    }
    if (vm->operation) {
        g_autoptr(GError) error = NULL;
        vm_begin_operation(vm, "edit", &error);
        api_request_reply_error(request, error);
        return NULL;
    }
    return vm;
}

/* Saves config as the VM's new configuration; on failure the VM keeps its old one. */
static gboolean
commit_config(Vm *vm, VmConfig *config, GError **error)
{
    if (!vm_config_validate(config, error))
        return FALSE;
    g_autofree char *before = vmx_to_string(vm->vmx);
    vm_config_to_vmx(config, vm->vmx);
    if (!vmx_save(vm->vmx, vm->vmx_path, error)) {
        vmx_free(vm->vmx);
        vm->vmx = vmx_parse(before, strlen(before), NULL);
        return FALSE;
    }
    vm_config_free(vm->config);
    vm->config = config;
    return TRUE;
}

static gboolean
parse_key(ApiRequest *request, const char *param, int *key)
{
    const char *s = api_request_param(request, param);
    gint64 v = 0;
    if (!s || !g_ascii_string_to_signed(s, 10, 0, G_MAXINT, &v, NULL)) {
        reply_code(request, VIREO_ERROR_NOT_FOUND, "no device '%s'", s ? s : "");
        return FALSE;
    }
    *key = (int)v;
    return TRUE;
}

static gpointer
find_device(VmConfig *c, DevKind kind, int key)
{
    if (kind == DEV_NIC)
        return key >= 4000 ? vm_config_find_nic(c, key - 4000) : NULL;
    VmBus bus;
    int ctl, unit;
    if (!vm_disk_key_parse(key, &bus, &ctl, &unit))
        return NULL;
    return kind == DEV_DISK ? (gpointer)vm_config_find_disk(c, bus, ctl, unit)
                            : (gpointer)vm_config_find_cdrom(c, bus, ctl, unit);
}

static JsonNode *
device_json(Vm *vm, DevKind kind, gpointer dev)
{
    switch (kind) {
    case DEV_DISK: return vm_spec_disk_json(vm, dev);
    case DEV_NIC: return vm_spec_nic_json(vm, dev);
    case DEV_CDROM: return vm_spec_cdrom_json(vm, dev);
    }
    return NULL;
}

static int
device_key(DevKind kind, gpointer dev)
{
    if (kind == DEV_NIC)
        return vm_nic_key(((VmNic *)dev)->index);
    if (kind == DEV_DISK)
        return vm_disk_key(((VmDisk *)dev)->bus, ((VmDisk *)dev)->controller, ((VmDisk *)dev)->unit);
    return vm_disk_key(((VmCdrom *)dev)->bus, ((VmCdrom *)dev)->controller, ((VmCdrom *)dev)->unit);
}

static GPtrArray *
devices_of(VmConfig *c, DevKind kind)
{
    return kind == DEV_DISK ? c->disks : kind == DEV_NIC ? c->nics : c->cdroms;
}

static void
device_list(ApiRequest *request, Host *host, DevKind kind)
{
    Vm *vm = api_lookup_vm(request, host);
    if (!vm)
        return;
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_array(b);
    GPtrArray *devs = devices_of(vm->config, kind);
    for (guint i = 0; i < devs->len; i++) {
        g_autofree char *key = g_strdup_printf("%d", device_key(kind, g_ptr_array_index(devs, i)));
        json_builder_begin_object(b);
        json_builder_set_member_name(b, kind_member[kind]);
        json_builder_add_string_value(b, key);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    api_request_reply_json(request, 200, json_builder_get_root(b));
}

static void
device_get(ApiRequest *request, Host *host, DevKind kind, const char *param)
{
    Vm *vm = api_lookup_vm(request, host);
    int key = 0;
    if (!vm || !parse_key(request, param, &key))
        return;
    gpointer dev = find_device(vm->config, kind, key);
    if (!dev) {
        reply_code(request, VIREO_ERROR_NOT_FOUND, "virtual machine %s has no %s %d", vm->id,
                   kind_member[kind], key);
        return;
    }
    api_request_reply_json(request, 200, device_json(vm, kind, dev));
}

static char *
vm_base_name(Vm *vm)
{
    g_autofree char *base = g_path_get_basename(vm->vmx_path);
    char *dot = strrchr(base, '.');
    if (dot)
        *dot = '\0';
    return g_steal_pointer(&base);
}

/* A device add: parsed on the main loop; a new disk's files are written by
 * qemu-img in a worker thread (an eager-zeroed disk takes a while), with the
 * VM held busy meanwhile; the configuration is saved when they are there. */
typedef struct {
    Vm *vm;
    ApiRequest *request;
    DevKind kind;
    VmConfig *config;
    int key;
    VmSpecNewDisk *new_disk;
} AddJob;

static void
add_job_finish(AddJob *job, GError *error)
{
    Vm *vm = job->vm;
    if (!error && !commit_config(vm, g_steal_pointer(&job->config), &error) && job->new_disk) {
        g_autofree char *desc = g_strdup_printf("%s/%s.vmdk", vm->dir, job->new_disk->base_name);
        datastore_delete_disk(desc, NULL);
    }
    if (error) {
        api_request_reply_error(job->request, error);
        g_error_free(error);
    } else {
        vm_log(vm, "%s %d added by %s", kind_member[job->kind], job->key, api_request_user(job->request));
        g_autofree char *k = g_strdup_printf("%d", job->key);
        api_request_reply_json(job->request, 201, json_util_string_node(k));
    }
    g_clear_pointer(&job->config, vm_config_free);
    vm_spec_new_disk_free(job->new_disk);
    api_request_unref(job->request);
    g_free(job);
}

static void
add_disk_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
    AddJob *job = data;
    GError *error = NULL;
    if (vm_create_disk_files(job->vm->dir, job->new_disk, "lsilogic", &error))
        g_task_return_boolean(task, TRUE);
    else
        g_task_return_error(task, error);
}

static void
add_disk_done(GObject *source, GAsyncResult *res, gpointer data)
{
    AddJob *job = data;
    GError *error = NULL;
    g_task_propagate_boolean(G_TASK(res), &error);
    vm_end_operation(job->vm);
    add_job_finish(job, error);
}

static void
device_add(ApiRequest *request, Host *host, DevKind kind)
{
    Vm *vm = editable_vm(request, host);
    JsonObject *o = vm ? api_body_object(request, TRUE) : NULL;
    if (!o)
        return;
    AddJob *job = g_new0(AddJob, 1);
    job->vm = vm;
    job->request = api_request_ref(request);
    job->kind = kind;
    job->config = vm_config_copy(vm->config);
    GError *error = NULL;
    gpointer dev = NULL;
    g_autofree char *base = vm_base_name(vm);
    gboolean ok = FALSE;
    if (kind == DEV_DISK && (ok = vm_spec_add_disk(host, job->config, o, "spec", base, &job->new_disk, &error)))
        dev = g_ptr_array_index(job->config->disks, job->config->disks->len - 1);
    else if (kind == DEV_NIC)
        ok = vm_spec_add_nic(host, job->config, o, "spec", (VmNic **)&dev, &error);
    else if (kind == DEV_CDROM)
        ok = vm_spec_add_cdrom(host, job->config, o, "spec", (VmCdrom **)&dev, &error);
    if (ok)
        job->key = device_key(kind, dev);
    if (!ok || !job->new_disk || !vm_begin_operation(vm, "add disk", &error)) {
        add_job_finish(job, error);
        return;
    }
    GTask *task = g_task_new(NULL, NULL, add_disk_done, job);
    g_task_set_task_data(task, job, NULL);
    g_task_run_in_thread(task, add_disk_thread);
    g_object_unref(task);
}

static gboolean
disk_update(Vm *vm, VmDisk *disk, JsonObject *o, GError **error)
{
    gint64 capacity = -1;
    if (!json_util_get_int(o, "capacity", "spec", &capacity, error))
        return FALSE;
    if (capacity < 0) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "spec.capacity: give the disk's new size in bytes");
        return FALSE;
    }
    g_autofree char *desc = host_resolve_datastore_path(vm->host, disk->file_name, vm->dir, NULL, error);
    return desc && datastore_grow_disk(desc, (guint64)capacity, error);
}

static void
device_patch(ApiRequest *request, Host *host, DevKind kind, const char *param)
{
    Vm *vm = editable_vm(request, host);
    int key = 0;
    if (!vm || !parse_key(request, param, &key))
        return;
    JsonObject *o = api_body_object(request, TRUE);
    if (!o)
        return;
    g_autoptr(VmConfig) c = vm_config_copy(vm->config);
    gpointer dev = find_device(c, kind, key);
    g_autoptr(GError) error = NULL;
    if (!dev) {
        reply_code(request, VIREO_ERROR_NOT_FOUND, "virtual machine %s has no %s %d", vm->id,
                   kind_member[kind], key);
        return;
    }
    gboolean ok = kind == DEV_DISK ? disk_update(vm, dev, o, &error)
                : kind == DEV_NIC ? vm_spec_update_nic(host, c, dev, o, &error)
                                  : vm_spec_update_cdrom(host, dev, o, &error);
    if (ok && kind != DEV_DISK)
        ok = commit_config(vm, g_steal_pointer(&c), &error);
    if (!ok) {
        api_request_reply_error(request, error);
        return;
    }
    vm_log(vm, "%s %d changed by %s", kind_member[kind], key, api_request_user(request));
    api_request_reply_empty(request, 204);
}

static void
device_delete(ApiRequest *request, Host *host, DevKind kind, const char *param)
{
    Vm *vm = editable_vm(request, host);
    int key = 0;
    if (!vm || !parse_key(request, param, &key))
        return;
    g_autoptr(VmConfig) c = vm_config_copy(vm->config);
    gpointer dev = find_device(c, kind, key);
    g_autoptr(GError) error = NULL;
    if (!dev) {
        reply_code(request, VIREO_ERROR_NOT_FOUND, "virtual machine %s has no %s %d", vm->id,
                   kind_member[kind], key);
        return;
    }
    g_autofree char *desc = NULL;
    if (kind == DEV_DISK && g_strcmp0(api_request_query(request, "delete_file"), "true") == 0)
        desc = host_resolve_datastore_path(host, ((VmDisk *)dev)->file_name, vm->dir, NULL, NULL);
    g_ptr_array_remove(devices_of(c, kind), dev);
    if (!commit_config(vm, g_steal_pointer(&c), &error)) {
        api_request_reply_error(request, error);
        return;
    }
    if (desc && !datastore_delete_disk(desc, &error)) {
        api_request_reply_error(request, error);
        return;
    }
    vm_log(vm, "%s %d removed by %s", kind_member[kind], key, api_request_user(request));
    api_request_reply_empty(request, 204);
}

#define DEVICE_HANDLERS(name, kind, param)                                                       \
    static void name##_list(ApiRequest *r, gpointer h) { device_list(r, h, kind); }            \
    static void name##_add(ApiRequest *r, gpointer h) { device_add(r, h, kind); }              \
    static void name##_get(ApiRequest *r, gpointer h) { device_get(r, h, kind, param); }       \
    static void name##_patch(ApiRequest *r, gpointer h) { device_patch(r, h, kind, param); }   \
    static void name##_delete(ApiRequest *r, gpointer h) { device_delete(r, h, kind, param); }

DEVICE_HANDLERS(disk, DEV_DISK, "disk")
DEVICE_HANDLERS(nic, DEV_NIC, "nic")
DEVICE_HANDLERS(cdrom, DEV_CDROM, "cdrom")

void
api_hardware_register(ApiServer *server, Host *host)
{
    static const struct {
        const char *path;
        ApiHandler list, add, get, patch, del;
    } routes[] = {
        { "disk", disk_list, disk_add, disk_get, disk_patch, disk_delete },
        { "ethernet", nic_list, nic_add, nic_get, nic_patch, nic_delete },
        { "cdrom", cdrom_list, cdrom_add, cdrom_get, cdrom_patch, cdrom_delete },
    };
    static const char *const params[] = { "disk", "nic", "cdrom" };
    for (guint i = 0; i < G_N_ELEMENTS(routes); i++) {
        g_autofree char *base = g_strdup_printf("/api/vcenter/vm/{vm}/hardware/%s", routes[i].path);
        g_autofree char *item = g_strdup_printf("%s/{%s}", base, params[i]);
        api_server_add_route(server, "GET", base, NULL, routes[i].list, host);
        api_server_add_route(server, "POST", base, NULL, routes[i].add, host);
        api_server_add_route(server, "GET", item, NULL, routes[i].get, host);
        api_server_add_route(server, "PATCH", item, NULL, routes[i].patch, host);
        api_server_add_route(server, "DELETE", item, NULL, routes[i].del, host);
    }
}
