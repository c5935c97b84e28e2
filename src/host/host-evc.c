/* host-evc.c — this host's EVC mode (set by the centre, kept in
 * <state_dir>/evc.json) and the CPU model its VMs start with under it; the
 * internal API the centre pushes the mode with. The rules themselves are
 * evc.c's; this file only applies them to this host and its VMs.
 */
#include "host-evc.h"
#include "api.h"
#include "cpu-features.h"
#include "json-util.h"
#include "vireo-error.h"

#define HOST_EVC_STATE_FILE "evc.json"

/* One host per process, as cpu_features_of_host() assumes too. */
static struct {
    gboolean loaded;
    const EvcMode *mode;
} host_evc;

static char *
state_file(Host *host)
{
    return g_build_filename(host->config->state_dir, HOST_EVC_STATE_FILE, NULL);
}

/* A file that cannot be read leaves EVC off and says so: the centre pushes
 * the cluster's mode again as soon as it reconciles this host. */
static const EvcMode *
load_mode(Host *host)
{
    g_autofree char *path = state_file(host);
    g_autofree char *text = NULL;
    g_autoptr(GError) error = NULL;

    if (!g_file_get_contents(path, &text, NULL, &error)) {
        if (!g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            g_warning("EVC mode not read: %s", error->message);
        return NULL;
    }
    g_autoptr(JsonNode) node = json_util_parse(text, -1, 4, &error);
    JsonObject *o = node ? json_util_expect_object(node, "evc.json", &error) : NULL;
    const char *id = NULL;
    if (!o || !json_util_get_string(o, "mode", "evc.json", &id, &error)) {
        g_warning("EVC mode not read from %s: %s", path, error->message);
        return NULL;
    }
    const EvcMode *mode = evc_mode_lookup(id);
    if (id && !mode)
        g_warning("%s names EVC mode '%s', which is unknown; EVC is off", path, id);
    return mode;
}

const EvcMode *
host_evc_mode(Host *host)
{
    if (!host_evc.loaded) {
        host_evc.mode = load_mode(host);
        host_evc.loaded = TRUE;
    }
    return host_evc.mode;
}

gboolean
host_evc_set_mode(Host *host, const EvcMode *mode, GError **error)
{
    g_autofree char *path = state_file(host);
    g_autoptr(JsonBuilder) b = json_builder_new();

    if (host_evc_mode(host) == mode)
        return TRUE;
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "mode");
    if (mode)
        json_builder_add_string_value(b, mode->id);
    else
        json_builder_add_null_value(b);
    json_builder_end_object(b);
    g_autoptr(JsonNode) node = json_builder_get_root(b);
    g_autofree char *text = json_util_to_string(node, TRUE);
    if (!g_file_set_contents(path, text, -1, error))
        return FALSE;
    host_evc.mode = mode;
    return TRUE;
}

const char *
host_evc_vm_mode(Vm *vm)
{
    return vm->vmx ? vmx_get(vm->vmx, HOST_EVC_VMX_KEY) : NULL;
}

GPtrArray *
host_evc_problems(Host *host, const EvcMode *wanted, gboolean check_vms, gboolean *vm_in_way)
{
    const HostCpuFeatures *cpu = cpu_features_of_host(host);
    EvcHostCpu evc = cpu_features_as_evc(cpu, host->config->host_name);
    g_autoptr(GArray) vms = g_array_new(FALSE, TRUE, sizeof(EvcRunningVm));
    GHashTableIter it;
    gpointer value;

    g_hash_table_iter_init(&it, host->vms);
    while (check_vms && g_hash_table_iter_next(&it, NULL, &value)) {
        Vm *vm = value;
        if (vm->power_state != VM_POWER_STATE_POWERED_ON &&
            vm->power_state != VM_POWER_STATE_SUSPENDED)
            continue;
        /* A VM started outside EVC is judged by all the host could have
         * given it: a bound, since its own model's features are not kept. */
        EvcRunningVm r = { vm->config->name, host_evc_vm_mode(vm),
                           (const char *const *)cpu->features };
        g_array_append_val(vms, r);
    }
    return evc_host_change_problems(wanted, &evc, (const EvcRunningVm *)vms->data, vms->len,
                                    vm_in_way);
}

/* Whether this host can run a VM at mode: a resume's CPU state needs every
 * feature of it, and a host whose CPU shrank (evc_max) since the centre set
 * its mode must not start VMs at it. */
static gboolean
host_runs_mode(Host *host, const EvcMode *mode, GError **error)
{
    EvcHostCpu evc = cpu_features_as_evc(cpu_features_of_host(host), host->config->host_name);
    g_autofree char *why = NULL;

    if (evc_host_supports(mode, &evc, &why))
        return TRUE;
    g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                "EVC mode %s cannot run on this host: %s", mode->id, why);
    return FALSE;
}

gboolean
host_evc_launch_model(Vm *vm, gboolean resume, const char *default_model, const char **model,
                      gboolean *enforce, GError **error)
{
    const char *recorded = host_evc_vm_mode(vm);
    const EvcMode *mode = NULL;
    g_autofree char *why = NULL;

    *model = default_model;
    *enforce = FALSE;
    if (!evc_mode_for_start(host_evc_mode(vm->host), recorded, resume, &mode, &why)) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                    "%s cannot start: %s", vm->config->name, why);
        return FALSE;
    }
    if (mode && !host_runs_mode(vm->host, mode, error))
        return FALSE;
    if (!resume && g_strcmp0(recorded, mode ? mode->id : NULL) != 0) {
        if (mode)
            vmx_set(vm->vmx, HOST_EVC_VMX_KEY, mode->id);
        else
            vmx_remove(vm->vmx, HOST_EVC_VMX_KEY);
        /* Saved now: the destination of a vMotion reads the mode from the
         * .vmx on the shared datastore. */
        if (!vmx_save(vm->vmx, vm->vmx_path, error))
            return FALSE;
        if (mode)
            vm_log(vm, "EVC mode %s: the CPU is %s", mode->id, mode->qemu_model);
    }
    if (mode) {
        *model = mode->qemu_model;
        *enforce = TRUE;
    }
    return TRUE;
}

/* ---- GET and PUT /api/vireo/host/evc ------------------------------------- */

static void
member_strv(JsonBuilder *b, const char *name, const char *const *values)
{
    json_builder_set_member_name(b, name);
    json_builder_begin_array(b);
    for (guint i = 0; values && values[i]; i++)
        json_builder_add_string_value(b, values[i]);
    json_builder_end_array(b);
}

static void
member_nullable(JsonBuilder *b, const char *name, const char *value)
{
    json_builder_set_member_name(b, name);
    if (value)
        json_builder_add_string_value(b, value);
    else
        json_builder_add_null_value(b);
}

/* The host's mode and what the centre keeps of its CPU: {mode, max_mode,
 * vendor, features, evc_modes} and, after a check, {allowed, problems,
 * vm_in_way}. */
static JsonNode *
evc_answer(Host *host, GPtrArray *problems, gboolean vm_in_way)
{
    const HostCpuFeatures *cpu = cpu_features_of_host(host);
    EvcHostCpu evc = cpu_features_as_evc(cpu, host->config->host_name);
    const EvcMode *current = host_evc_mode(host);
    const EvcMode *max = evc_highest_supported(EVC_VENDOR_ANY, &evc);
    g_auto(GStrv) modes = cpu_features_evc_modes(cpu);
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    member_nullable(b, "mode", current ? current->id : NULL);
    member_nullable(b, "max_mode", max ? max->id : NULL);
    member_nullable(b, "vendor", cpu->vendor);
    member_strv(b, "features", (const char *const *)cpu->features);
    member_strv(b, "evc_modes", (const char *const *)modes);
    if (problems) {
        json_builder_set_member_name(b, "allowed");
        json_builder_add_boolean_value(b, problems->len == 0);
        json_builder_set_member_name(b, "vm_in_way");
        json_builder_add_boolean_value(b, vm_in_way);
        g_ptr_array_add(problems, NULL);
        member_strv(b, "problems", (const char *const *)problems->pdata);
        g_ptr_array_remove_index(problems, problems->len - 1);
    }
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

static void
evc_get(ApiRequest *request, gpointer data)
{
    api_request_reply_json(request, 200, evc_answer(data, NULL, FALSE));
}

/* The mode a request names: a known mode QEMU has, or null. */
static gboolean
requested_mode(JsonObject *o, const EvcMode **out, GError **error)
{
    const char *id = NULL;

    if (!json_util_get_string(o, "mode", "spec", &id, error))
        return FALSE;
    *out = evc_mode_lookup(id);
    if (id && !*out) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "'%s' is not an EVC mode", id);
        return FALSE;
    }
    if (*out && !evc_mode_is_available(*out)) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_UNSUPPORTED,
                    "EVC mode %s needs QEMU's %s CPU model, which QEMU %s does not have",
                    (*out)->id, (*out)->qemu_alias, evc_features_qemu_version());
        return FALSE;
    }
    return TRUE;
}

/* {"mode": ID|null, "check_only": bool, "check_vms": bool}. The host's CPU
 * must support the mode; with check_vms its running VMs must too. A check
 * answers 200 with allowed/problems; a change that is not allowed answers
 * 400 NOT_ALLOWED_IN_CURRENT_STATE with the problems. */
static void
evc_put(ApiRequest *request, gpointer data)
{
    Host *host = data;
    JsonObject *o = api_body_object(request, TRUE);
    g_autoptr(GError) error = NULL;
    const EvcMode *wanted = NULL;
    gboolean check_only = FALSE, check_vms = FALSE, vm_in_way = FALSE;

    if (!o)
        return;
    if (!requested_mode(o, &wanted, &error) ||
        !json_util_get_bool(o, "check_only", "spec", &check_only, &error) ||
        !json_util_get_bool(o, "check_vms", "spec", &check_vms, &error)) {
        api_request_reply_error(request, error);
        return;
    }
    g_autoptr(GPtrArray) problems = host_evc_problems(host, wanted, check_vms, &vm_in_way);
    if (check_only) {
        api_request_reply_json(request, 200, evc_answer(host, problems, vm_in_way));
        return;
    }
    if (problems->len) {
        g_ptr_array_add(problems, NULL);
        g_autofree char *list = g_strjoinv("; ", (char **)problems->pdata);
        /* Each problem names the host or VM and the mode already. */
        error = g_error_new(VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE, "%s", list);
        api_request_reply_error(request, error);
        return;
    }
    const EvcMode *before = host_evc_mode(host);
    if (!host_evc_set_mode(host, wanted, &error)) {
        api_request_reply_error(request, error);
        return;
    }
    if (before != wanted)
        g_message("EVC mode %s -> %s", before ? before->id : "off", wanted ? wanted->id : "off");
    api_request_reply_json(request, 200, evc_answer(host, NULL, FALSE));
}

void
api_evc_register(ApiServer *server, Host *host)
{
    host_evc_mode(host);   /* read at start, so a broken file is logged once, early */
    api_server_add_route(server, "GET", "/api/vireo/host/evc", NULL, evc_get, host);
    api_server_add_route(server, "PUT", "/api/vireo/host/evc", NULL, evc_put, host);
}
