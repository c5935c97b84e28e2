/* api-vm.c — /api/vcenter/vm: list, create, get, delete, register,
 * unregister, power, guest power and identity, tools. */
#include "api.h"
#include "guest-agent.h"
#include "inventory.h"
#include "json-util.h"
#include "vireo-error.h"
#include "vm-create.h"
#include "vm-spec.h"

#include <string.h>

static void
reply_error(ApiRequest *request, VireoErrorCode code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static void
reply_error(ApiRequest *request, VireoErrorCode code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_autoptr(GError) error = g_error_new_literal(VIREO_ERROR, code, msg);
    api_request_reply_error(request, error);
}

Vm *
api_lookup_vm(ApiRequest *request, Host *host)
{
    g_autoptr(GError) error = NULL;
    Vm *vm = vm_manager_lookup(host, api_request_param(request, "vm"), &error);
    if (!vm)
        api_request_reply_error(request, error);
    return vm;
}

void
api_reply_done(Vm *vm, const GError *error, gpointer user_data)
{
    ApiRequest *request = user_data;
    if (error)
        api_request_reply_error(request, error);
    else
        api_request_reply_empty(request, 204);
    api_request_unref(request);
}

JsonObject *
api_body_object(ApiRequest *request, gboolean required)
{
    JsonNode *body = api_request_body(request);
    if (!body && !required)
        return NULL;
    g_autoptr(GError) error = NULL;
    JsonObject *o = json_util_expect_object(body, "body", &error);
    if (!o)
        api_request_reply_error(request, error);
    return o;
}

static gboolean
matches(GStrv wanted, const char *a, const char *b)
{
    if (!wanted)
        return TRUE;
    for (int i = 0; wanted[i]; i++)
        if (g_strcmp0(wanted[i], a) == 0 || (b && g_strcmp0(wanted[i], b) == 0))
            return TRUE;
    return FALSE;
}

static gint
compare_vm_ids(gconstpointer a, gconstpointer b)
{
    const Vm *x = *(Vm *const *)a, *y = *(Vm *const *)b;
    return (gint)(g_ascii_strtoll(x->id + 3, NULL, 10) - g_ascii_strtoll(y->id + 3, NULL, 10));
}

static void
vm_list(ApiRequest *request, gpointer data)
{
    Host *host = data;
    g_auto(GStrv) names = api_request_query_all(request, "names");
    g_auto(GStrv) ids = api_request_query_all(request, "vms");
    g_auto(GStrv) states = api_request_query_all(request, "power_states");
    g_auto(GStrv) datastores = api_request_query_all(request, "datastores");
    g_autoptr(GPtrArray) vms = g_ptr_array_new();
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, host->vms);
    while (g_hash_table_iter_next(&it, NULL, &value))
        g_ptr_array_add(vms, value);
    g_ptr_array_sort(vms, compare_vm_ids);
    JsonArray *arr = json_array_new();
    for (guint i = 0; i < vms->len; i++) {
        Vm *vm = g_ptr_array_index(vms, i);
        const HostDatastoreConfig *ds = host_config_find_datastore(host->config, vm->datastore);
        const char *ds_id = inventory_object_id(host->inventory, "datastore", ds->name);
        if (!matches(names, vm->config->name, NULL) || !matches(ids, vm->id, NULL) ||
            !matches(states, vm_power_state_to_string(vm->power_state), NULL) ||
            !matches(datastores, ds->name, ds_id))
            continue;
        json_array_add_element(arr, vm_spec_summary_json(vm));
    }
    JsonNode *node = json_node_new(JSON_NODE_ARRAY);
    json_node_take_array(node, arr);
    api_request_reply_json(request, 200, node);
}

static void
created(Host *host, Vm *vm, const GError *error, gpointer data)
{
    ApiRequest *request = data;
    if (error)
        api_request_reply_error(request, error);
    else
        api_request_reply_json(request, 201, json_util_string_node(vm->id));
    api_request_unref(request);
}

static void
vm_create_handler(ApiRequest *request, gpointer data)
{
    Host *host = data;
    g_autoptr(GError) error = NULL;
    VmSpec *spec = vm_spec_parse(host, api_request_body(request), &error);
    if (!spec) {
        api_request_reply_error(request, error);
        return;
    }
    vm_create(host, spec, created, api_request_ref(request));
}

static void
vm_register_handler(ApiRequest *request, gpointer data)
{
    Host *host = data;
    JsonObject *o = api_body_object(request, TRUE);
    if (!o)
        return;
    g_autoptr(GError) error = NULL;
    const char *name = NULL, *ds = NULL, *path = NULL, *ds_path = NULL;
    if (!json_util_get_string(o, "name", "spec", &name, &error) ||
        !json_util_get_string(o, "datastore", "spec", &ds, &error) ||
        !json_util_get_string(o, "path", "spec", &path, &error) ||
        !json_util_get_string(o, "datastore_path", "spec", &ds_path, &error)) {
        api_request_reply_error(request, error);
        return;
    }
    g_autofree char *full = NULL;
    if (ds_path) {
        full = g_strdup(ds_path);
    } else if (ds && path) {
        const HostDatastoreConfig *dsc = host_lookup_datastore(host, ds);
        if (!dsc) {
            reply_error(request, VIREO_ERROR_NOT_FOUND, "no datastore '%s' on this host", ds);
            return;
        }
        full = g_strdup_printf("[%s] %s", dsc->name, path);
    } else {
        reply_error(request, VIREO_ERROR_INVALID_ARGUMENT,
                    "give datastore and path (the .vmx inside the datastore), or datastore_path");
        return;
    }
    g_autofree char *abs = host_resolve_datastore_path(host, full, NULL, NULL, &error);
    Vm *vm = abs ? vm_manager_register(host, abs, name, &error) : NULL;
    if (!vm) {
        api_request_reply_error(request, error);
        return;
    }
    api_request_reply_json(request, 201, json_util_string_node(vm->id));
}

static void
vm_get(ApiRequest *request, gpointer data)
{
    Vm *vm = api_lookup_vm(request, data);
    if (vm)
        api_request_reply_json(request, 200, vm_spec_info_json(vm));
}

static void
vm_delete(ApiRequest *request, gpointer data)
{
    Host *host = data;
    Vm *vm = api_lookup_vm(request, host);
    g_autoptr(GError) error = NULL;
    if (!vm)
        return;
    if (!vm_begin_operation(vm, "delete", &error)) {
        api_request_reply_error(request, error);
        return;
    }
    if (!vm_manager_destroy(host, vm, &error)) {
        if (g_hash_table_contains(host->vms, api_request_param(request, "vm")))
            vm_end_operation(vm);
        api_request_reply_error(request, error);
        return;
    }
    api_request_reply_empty(request, 204);
}

static void
vm_unregister(ApiRequest *request, gpointer data)
{
    Host *host = data;
    Vm *vm = api_lookup_vm(request, host);
    g_autoptr(GError) error = NULL;
    if (!vm)
        return;
    if (vm->operation) {
        vm_begin_operation(vm, "unregister", &error);
    } else {
        vm_manager_unregister(host, vm, &error);
    }
    if (error)
        api_request_reply_error(request, error);
    else
        api_request_reply_empty(request, 204);
}

static void
power_get(ApiRequest *request, gpointer data)
{
    Vm *vm = api_lookup_vm(request, data);
    if (!vm)
        return;
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "state");
    json_builder_add_string_value(b, vm_power_state_to_string(vm->power_state));
    if (vm->power_state_reason) {
        json_builder_set_member_name(b, "reason");
        json_builder_add_string_value(b, vm->power_state_reason);
    }
    json_builder_end_object(b);
    api_request_reply_json(request, 200, json_builder_get_root(b));
}

static void
power_action(ApiRequest *request, gpointer data)
{
    Vm *vm = api_lookup_vm(request, data);
    if (!vm)
        return;
    const char *action = api_request_query(request, "action");
    typedef void (*Op)(Vm *, VmDoneFunc, gpointer);
    static const struct { const char *name; Op op; } ops[] = {
        { "start", vm_power_start }, { "stop", vm_power_stop },
        { "suspend", vm_power_suspend }, { "reset", vm_power_reset },
    };
    for (guint i = 0; i < G_N_ELEMENTS(ops); i++) {
        if (g_strcmp0(action, ops[i].name) == 0) {
            vm_log(vm, "%s requested by %s", action, api_request_user(request));
            ops[i].op(vm, api_reply_done, api_request_ref(request));
            return;
        }
    }
    reply_error(request, VIREO_ERROR_INVALID_ARGUMENT,
                "action must be start, stop, suspend or reset");
}

static void
guest_power_action(ApiRequest *request, gpointer data)
{
    Vm *vm = api_lookup_vm(request, data);
    if (!vm)
        return;
    const char *action = api_request_query(request, "action");
    if (g_strcmp0(action, "shutdown") != 0 && g_strcmp0(action, "reboot") != 0) {
        reply_error(request, VIREO_ERROR_INVALID_ARGUMENT, "action must be shutdown or reboot");
        return;
    }
    vm_guest_command(vm, action, api_reply_done, api_request_ref(request));
}

static void
guest_filesystem_action(ApiRequest *request, gpointer data)
{
    Vm *vm = api_lookup_vm(request, data);
    if (!vm)
        return;
    const char *action = api_request_query(request, "action");
    if (g_strcmp0(action, "freeze") != 0 && g_strcmp0(action, "thaw") != 0) {
        reply_error(request, VIREO_ERROR_INVALID_ARGUMENT, "action must be freeze or thaw");
        return;
    }
    vm_guest_command(vm, action, api_reply_done, api_request_ref(request));
}

static gboolean
agent_info(Vm *vm, GuestAgentInfo *info)
{
    memset(info, 0, sizeof *info);
    if (vm->power_state != VM_POWER_STATE_POWERED_ON || !vm->agent)
        return FALSE;
    guest_agent_get_info(vm->agent, info);
    return info->running;
}

static void
guest_power_get(ApiRequest *request, gpointer data)
{
    Vm *vm = api_lookup_vm(request, data);
    if (!vm)
        return;
    GuestAgentInfo info;
    gboolean running = agent_info(vm, &info);
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "state");
    json_builder_add_string_value(b, running ? "RUNNING" : "NOT_RUNNING");
    json_builder_set_member_name(b, "operations_ready");
    json_builder_add_boolean_value(b, running);
    json_builder_end_object(b);
    api_request_reply_json(request, 200, json_builder_get_root(b));
}

static void
guest_identity(ApiRequest *request, gpointer data)
{
    Vm *vm = api_lookup_vm(request, data);
    if (!vm)
        return;
    GuestAgentInfo info;
    if (!agent_info(vm, &info)) {
        reply_error(request, VIREO_ERROR_SERVICE_UNAVAILABLE,
                    "the guest tools (vireo-tools) are not running in virtual machine %s", vm->id);
        return;
    }
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "name");
    json_builder_add_string_value(b, info.os_name ? info.os_name : "");
    json_builder_set_member_name(b, "family");
    json_builder_add_string_value(b, info.family ? info.family : "OTHER");
    json_builder_set_member_name(b, "full_name");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "default_message");
    json_builder_add_string_value(b, info.os_full_name ? info.os_full_name : "");
    json_builder_set_member_name(b, "id");
    json_builder_add_string_value(b, "vireo.guest.os.full_name");
    json_builder_set_member_name(b, "args");
    json_builder_begin_array(b);
    json_builder_end_array(b);
    json_builder_end_object(b);
    json_builder_set_member_name(b, "host_name");
    json_builder_add_string_value(b, info.host_name ? info.host_name : "");
    if (info.ip_addresses && info.ip_addresses[0]) {
        json_builder_set_member_name(b, "ip_address");
        json_builder_add_string_value(b, info.ip_addresses[0]);
    }
    json_builder_end_object(b);
    api_request_reply_json(request, 200, json_builder_get_root(b));
}

static void
tools_get(ApiRequest *request, gpointer data)
{
    Vm *vm = api_lookup_vm(request, data);
    if (!vm)
        return;
    GuestAgentInfo info;
    gboolean running = agent_info(vm, &info);
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "run_state");
    json_builder_add_string_value(b, running ? "RUNNING" : "NOT_RUNNING");
    if (info.version) {
        json_builder_set_member_name(b, "version");
        json_builder_add_string_value(b, info.version);
    }
    if (info.last_heartbeat_us) {
        g_autoptr(GDateTime) t = g_date_time_new_from_unix_utc(info.last_heartbeat_us / G_USEC_PER_SEC);
        g_autofree char *ts = g_date_time_format_iso8601(t);
        json_builder_set_member_name(b, "last_heartbeat");
        json_builder_add_string_value(b, ts);
        json_builder_set_member_name(b, "uptime_seconds");
        json_builder_add_double_value(b, info.uptime_ms / 1000.0);
        json_builder_set_member_name(b, "boot_id");
        json_builder_add_string_value(b, info.boot_id ? info.boot_id : "");
    }
    json_builder_set_member_name(b, "heartbeats");
    json_builder_add_int_value(b, (gint64)info.heartbeats);
    g_autofree char *workload = vm->agent ? guest_agent_dup_workload_json(vm->agent) : NULL;
    JsonNode *w = workload ? json_from_string(workload, NULL) : NULL;
    if (w) {
        json_builder_set_member_name(b, "workload");
        json_builder_add_value(b, w);
    }
    json_builder_end_object(b);
    api_request_reply_json(request, 200, json_builder_get_root(b));
}

void
api_vm_register(ApiServer *server, Host *host)
{
    api_server_add_route(server, "GET", "/api/vcenter/vm", NULL, vm_list, host);
    api_server_add_route(server, "POST", "/api/vcenter/vm", "register", vm_register_handler, host);
    api_server_add_route(server, "POST", "/api/vcenter/vm", NULL, vm_create_handler, host);
    api_server_add_route(server, "GET", "/api/vcenter/vm/{vm}", NULL, vm_get, host);
    api_server_add_route(server, "DELETE", "/api/vcenter/vm/{vm}", NULL, vm_delete, host);
    api_server_add_route(server, "POST", "/api/vcenter/vm/{vm}", "unregister", vm_unregister, host);
    api_server_add_route(server, "GET", "/api/vcenter/vm/{vm}/power", NULL, power_get, host);
    api_server_add_route(server, "POST", "/api/vcenter/vm/{vm}/power", NULL, power_action, host);
    api_server_add_route(server, "GET", "/api/vcenter/vm/{vm}/guest/power", NULL, guest_power_get, host);
    api_server_add_route(server, "POST", "/api/vcenter/vm/{vm}/guest/power", NULL,
                         guest_power_action, host);
    api_server_add_route(server, "POST", "/api/vcenter/vm/{vm}/guest/filesystem", NULL,
                         guest_filesystem_action, host);
    api_server_add_route(server, "GET", "/api/vcenter/vm/{vm}/guest/identity", NULL,
                         guest_identity, host);
    api_server_add_route(server, "GET", "/api/vcenter/vm/{vm}/tools", NULL, tools_get, host);
}
