/* cpu-features.c — learns what CPU this host can give its VMs by asking QEMU
 * itself (see cpu-features.h): the admission test of EVC is QEMU's own
 * "unavailable-features", so Vireo never guesses from /proc/cpuinfo.
 */
#include "cpu-features.h"
#include <unistd.h>
#include <glib/gstdio.h>

#include "json-util.h"
#include "vireo-error.h"

#include <gio/gio.h>
#include <string.h>

#define CPU_FEATURES_CACHE_NAME "cpu-features.json"
#define CPU_FEATURES_QEMU_TIMEOUT_S 30

/* ---- one QEMU session ----------------------------------------------------- */

void
qemu_cpu_models_free(QemuCpuModels *models)
{
    if (!models)
        return;
    g_free(models->qemu_version);
    g_hash_table_unref(models->unavailable);
    g_hash_table_unref(models->expansions);
    g_hash_table_unref(models->vendors);
    g_free(models);
}

typedef struct {
    gboolean done;
    gboolean timed_out;
    char *output;
    char *errors;
    GError *error;
} SessionWait;

static void
on_communicated(GObject *source, GAsyncResult *result, gpointer data)
{
    SessionWait *wait = data;
    g_subprocess_communicate_utf8_finish(G_SUBPROCESS(source), result, &wait->output, &wait->errors,
                                         &wait->error);
    wait->done = TRUE;
}

static gboolean
on_timeout(gpointer data)
{
    ((SessionWait *)data)->timed_out = TRUE;
    return G_SOURCE_REMOVE;
}

/* Feeds input to argv's stdin and returns its stdout (and its stderr in
 * *errors), in a private main context so that the caller's loop does not run
 * meanwhile; a QEMU that hangs (a broken /dev/kvm) is killed after the
 * timeout. */
static char *
run_session(const char *const *argv, const char *input, char **errors, GError **error)
{
    g_autoptr(GMainContext) context = g_main_context_new();
    SessionWait wait = { 0 };

    /* The session is fed from a file, not a pipe: a binary that exits before
     * reading it (not QEMU, or a QEMU that refuses its options) must not
     * turn into EPIPE and lose what it printed on stderr. */
    g_autofree char *input_path = NULL;
    int fd = g_file_open_tmp("vireo-qmp-XXXXXX", &input_path, error);
    if (fd < 0)
        return NULL;
    close(fd);
    if (!g_file_set_contents(input_path, input, -1, error)) {
        g_unlink(input_path);
        return NULL;
    }
    g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(
        G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
    g_subprocess_launcher_set_stdin_file_path(launcher, input_path);
    g_main_context_push_thread_default(context);
    g_autoptr(GSubprocess) proc = g_subprocess_launcher_spawnv(launcher, argv, error);
    g_unlink(input_path);
    if (proc) {
        g_autoptr(GSource) timer = g_timeout_source_new_seconds(CPU_FEATURES_QEMU_TIMEOUT_S);
        g_source_set_callback(timer, on_timeout, &wait, NULL);
        g_source_attach(timer, context);
        g_subprocess_communicate_utf8_async(proc, NULL, NULL, on_communicated, &wait);
        while (!wait.done && !wait.timed_out)
            g_main_context_iteration(context, TRUE);
        g_source_destroy(timer);
        if (!wait.done) {
            g_subprocess_force_exit(proc);
            while (!wait.done)
                g_main_context_iteration(context, TRUE);
        }
    }
    g_main_context_pop_thread_default(context);
    if (!proc)
        return NULL;
    *errors = wait.errors;
    if (wait.timed_out) {
        g_clear_error(&wait.error);
        g_free(wait.output);
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_TIMED_OUT,
                    "%s did not answer about its CPU models within %d s", argv[0],
                    CPU_FEATURES_QEMU_TIMEOUT_S);
        return NULL;
    }
    if (wait.error) {
        g_propagate_error(error, wait.error);
        g_free(wait.output);
        return NULL;
    }
    return wait.output;
}

static char *
session_input(const char *const *expand)
{
    GString *in = g_string_new("{\"execute\":\"qmp_capabilities\"}\n"
                               "{\"execute\":\"query-version\",\"id\":\"version\"}\n"
                               "{\"execute\":\"query-cpu-definitions\",\"id\":\"definitions\"}\n");
    for (guint i = 0; expand && expand[i]; i++) {
        g_autoptr(JsonNode) name = json_util_string_node(expand[i]);
        g_autofree char *quoted = json_util_to_string(name, FALSE);
        g_string_append_printf(in, "{\"execute\":\"query-cpu-model-expansion\",\"id\":%s,"
                               "\"arguments\":{\"type\":\"static\",\"model\":{\"name\":%s}}}\n",
                               quoted, quoted);
    }
    g_string_append(in, "{\"execute\":\"quit\"}\n");
    return g_string_free(in, FALSE);
}

static gint
compare_strings(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Takes the array's strings (sorted, NULL-terminated) and frees it. */
static GStrv
strv_sorted(GPtrArray *items)
{
    g_ptr_array_sort(items, compare_strings);
    g_ptr_array_add(items, NULL);
    return (GStrv)g_ptr_array_free(items, FALSE);
}

static GStrv
strings_of(JsonArray *array)
{
    GPtrArray *out = g_ptr_array_new();
    for (guint i = 0; array && i < json_array_get_length(array); i++) {
        JsonNode *n = json_array_get_element(array, i);
        if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING)
            g_ptr_array_add(out, g_strdup(json_node_get_string(n)));
    }
    return strv_sorted(out);
}

/* A static expansion lists the model's features as booleans; the other
 * properties (family, model-id, vendor...) are not features. */
static GStrv
enabled_features(JsonObject *props)
{
    GPtrArray *out = g_ptr_array_new();
    g_autoptr(GList) names = props ? json_object_get_members(props) : NULL;
    for (GList *l = names; l; l = l->next) {
        JsonNode *n = json_object_get_member(props, l->data);
        if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_BOOLEAN &&
            json_node_get_boolean(n))
            g_ptr_array_add(out, g_strdup(l->data));
    }
    return strv_sorted(out);
}

static void
take_definitions(QemuCpuModels *models, JsonArray *defs)
{
    for (guint i = 0; defs && i < json_array_get_length(defs); i++) {
        JsonObject *d = json_array_get_object_element(defs, i);
        const char *name = d ? json_object_get_string_member_with_default(d, "name", NULL) : NULL;
        if (!name)
            continue;
        JsonArray *lacks = json_object_has_member(d, "unavailable-features")
                           ? json_object_get_array_member(d, "unavailable-features") : NULL;
        g_hash_table_replace(models->unavailable, g_strdup(name), strings_of(lacks));
    }
}

static void
take_version(QemuCpuModels *models, JsonObject *ret)
{
    JsonObject *q = json_object_has_member(ret, "qemu") ? json_object_get_object_member(ret, "qemu")
                                                        : NULL;
    if (q)
        models->qemu_version = g_strdup_printf(
            "%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT,
            json_object_get_int_member_with_default(q, "major", 0),
            json_object_get_int_member_with_default(q, "minor", 0),
            json_object_get_int_member_with_default(q, "micro", 0));
}

/* One reply line; replies to our commands carry the id we gave them. A
 * model QEMU does not have answers with an error and is left out. */
static void
take_reply(QemuCpuModels *models, JsonObject *reply)
{
    const char *id = json_object_get_string_member_with_default(reply, "id", NULL);
    JsonNode *ret = json_object_get_member(reply, "return");
    if (!id || !ret)
        return;
    if (g_str_equal(id, "version") && JSON_NODE_HOLDS_OBJECT(ret)) {
        take_version(models, json_node_get_object(ret));
    } else if (g_str_equal(id, "definitions") && JSON_NODE_HOLDS_ARRAY(ret)) {
        take_definitions(models, json_node_get_array(ret));
    } else if (JSON_NODE_HOLDS_OBJECT(ret)) {
        JsonObject *model = json_object_has_member(json_node_get_object(ret), "model")
                            ? json_object_get_object_member(json_node_get_object(ret), "model")
                            : NULL;
        JsonObject *props = model && json_object_has_member(model, "props")
                            ? json_object_get_object_member(model, "props") : NULL;
        if (!props)
            return;
        g_hash_table_replace(models->expansions, g_strdup(id), enabled_features(props));
        const char *vendor = json_object_get_string_member_with_default(props, "vendor", NULL);
        if (vendor)
            g_hash_table_replace(models->vendors, g_strdup(id), g_strdup(vendor));
    }
}

static QemuCpuModels *
qemu_cpu_models_new(void)
{
    QemuCpuModels *models = g_new0(QemuCpuModels, 1);
    models->unavailable = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                                (GDestroyNotify)g_strfreev);
    models->expansions = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                               (GDestroyNotify)g_strfreev);
    models->vendors = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    return models;
}

static const char *
accel_arg(QemuAccel accel)
{
    return accel == QEMU_ACCEL_KVM ? "kvm" : "tcg";
}

QemuCpuModels *
cpu_features_query_qemu(const char *qemu_binary, QemuAccel accel, const char *const *expand,
                        GError **error)
{
    const char *argv[] = { qemu_binary, "-machine", "none", "-accel", accel_arg(accel),
                           "-nodefaults", "-display", "none", "-qmp", "stdio", NULL };
    g_autofree char *input = session_input(expand);
    g_autofree char *errors = NULL;
    g_autofree char *output = run_session(argv, input, &errors, error);
    g_autoptr(QemuCpuModels) models = qemu_cpu_models_new();

    if (!output)
        return NULL;
    g_auto(GStrv) lines = g_strsplit(output, "\n", -1);
    for (guint i = 0; lines[i]; i++) {
        g_autoptr(JsonNode) node = json_util_parse(lines[i], -1, 64, NULL);
        if (node && JSON_NODE_HOLDS_OBJECT(node))
            take_reply(models, json_node_get_object(node));
    }
    if (!models->qemu_version || g_hash_table_size(models->unavailable) == 0) {
        g_auto(GStrv) err_lines = g_strsplit(errors ? errors : "", "\n", 2);
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR,
                    "%s -machine none -accel %s gave no list of CPU models%s%s", qemu_binary,
                    accel_arg(accel), err_lines[0] && err_lines[0][0] ? ": " : "",
                    err_lines[0] ? err_lines[0] : "");
        return NULL;
    }
    return g_steal_pointer(&models);
}

/* ---- the host's CPU ------------------------------------------------------- */

void
host_cpu_features_free(HostCpuFeatures *cpu)
{
    if (!cpu)
        return;
    g_free(cpu->qemu_version);
    g_free(cpu->vendor);
    g_strfreev(cpu->features);
    g_free(cpu->narrowed_to);
    g_free(cpu);
}

/* "QEMU emulator version 7.2.22 (Debian ...)" -> "7.2.22": what the cache is
 * keyed by, learnt without starting an emulator. */
static char *
qemu_binary_version(const char *qemu_binary, GError **error)
{
    const char *argv[] = { qemu_binary, "--version", NULL };
    g_autofree char *out = NULL;
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out,
                      NULL, NULL, error))
        return NULL;
    const char *at = strstr(out, "QEMU emulator version ");
    if (!at) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "%s --version printed no QEMU version",
                    qemu_binary);
        return NULL;
    }
    at += strlen("QEMU emulator version ");
    return g_strndup(at, strcspn(at, " \n("));
}

static HostCpuFeatures *
read_cache(const char *path, const char *qemu_binary, const char *version, QemuAccel accel)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return NULL;
    g_autoptr(JsonNode) node = json_util_parse(text, -1, 8, NULL);
    JsonObject *o = node && JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
    if (!o || g_strcmp0(json_object_get_string_member_with_default(o, "qemu_binary", NULL),
                        qemu_binary) != 0 ||
        g_strcmp0(json_object_get_string_member_with_default(o, "qemu_version", NULL),
                  version) != 0 ||
        g_strcmp0(json_object_get_string_member_with_default(o, "accel", NULL),
                  accel_arg(accel)) != 0 ||
        !json_object_has_member(o, "features") ||
        !JSON_NODE_HOLDS_ARRAY(json_object_get_member(o, "features")))
        return NULL;
    HostCpuFeatures *cpu = g_new0(HostCpuFeatures, 1);
    cpu->qemu_version = g_strdup(version);
    cpu->accel = accel;
    cpu->vendor = g_strdup(json_object_get_string_member_with_default(o, "vendor", NULL));
    cpu->features = strings_of(json_object_get_array_member(o, "features"));
    return cpu;
}

/* Not being able to write the cache only costs the next start a QEMU run. */
static void
write_cache(const char *path, const char *qemu_binary, const HostCpuFeatures *cpu)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "qemu_binary");
    json_builder_add_string_value(b, qemu_binary);
    json_builder_set_member_name(b, "qemu_version");
    json_builder_add_string_value(b, cpu->qemu_version);
    json_builder_set_member_name(b, "accel");
    json_builder_add_string_value(b, accel_arg(cpu->accel));
    json_builder_set_member_name(b, "vendor");
    if (cpu->vendor)
        json_builder_add_string_value(b, cpu->vendor);
    else
        json_builder_add_null_value(b);
    json_builder_set_member_name(b, "features");
    json_builder_begin_array(b);
    for (guint i = 0; cpu->features[i]; i++)
        json_builder_add_string_value(b, cpu->features[i]);
    json_builder_end_array(b);
    json_builder_end_object(b);
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    g_autofree char *text = json_util_to_string(root, TRUE);
    g_autoptr(GError) error = NULL;
    if (!g_file_set_contents(path, text, -1, &error))
        g_debug("cpu features not cached: %s", error->message);
}

/* The accelerator's own model plus every EVC mode QEMU runs here whole. */
static HostCpuFeatures *
features_from_qemu(const QemuCpuModels *models, QemuAccel accel)
{
    const char *own = accel == QEMU_ACCEL_KVM ? "host" : "max";
    g_autoptr(GHashTable) set = g_hash_table_new(g_str_hash, g_str_equal);
    const char *const *base = g_hash_table_lookup(models->expansions, own);
    gsize n_modes = 0;
    const EvcMode *modes = evc_modes(&n_modes);

    for (guint i = 0; base && base[i]; i++)
        g_hash_table_add(set, (gpointer)base[i]);
    for (gsize m = 0; m < n_modes; m++) {
        const char *const *lacks = g_hash_table_lookup(models->unavailable, modes[m].qemu_model);
        const char *const *features = evc_mode_features(&modes[m]);
        for (guint i = 0; lacks && !lacks[0] && features && features[i]; i++)
            g_hash_table_add(set, (gpointer)features[i]);
    }
    HostCpuFeatures *cpu = g_new0(HostCpuFeatures, 1);
    cpu->qemu_version = g_strdup(models->qemu_version);
    cpu->accel = accel;
    if (accel == QEMU_ACCEL_KVM)
        cpu->vendor = g_strdup(g_hash_table_lookup(models->vendors, own));
    GPtrArray *names = g_ptr_array_new();
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, set);
    while (g_hash_table_iter_next(&it, &key, NULL))
        g_ptr_array_add(names, g_strdup(key));
    cpu->features = strv_sorted(names);
    return cpu;
}

HostCpuFeatures *
cpu_features_probe(const char *qemu_binary, QemuAccel accel, const char *cache_dir,
                   GError **error)
{
    g_autofree char *version = qemu_binary_version(qemu_binary, error);
    g_autofree char *cache = cache_dir ? g_build_filename(cache_dir, CPU_FEATURES_CACHE_NAME, NULL)
                                       : NULL;
    if (!version)
        return NULL;
    if (cache) {
        HostCpuFeatures *cached = read_cache(cache, qemu_binary, version, accel);
        if (cached)
            return cached;
    }
    const char *expand[] = { accel == QEMU_ACCEL_KVM ? "host" : "max", NULL };
    g_autoptr(QemuCpuModels) models = cpu_features_query_qemu(qemu_binary, accel, expand, error);
    if (!models)
        return NULL;
    HostCpuFeatures *cpu = features_from_qemu(models, accel);
    if (cache)
        write_cache(cache, qemu_binary, cpu);
    return cpu;
}

/* Walks the mode's features (sorted, unique) so the result is too. */
void
cpu_features_narrow(HostCpuFeatures *cpu, const EvcMode *mode)
{
    const char *const *allowed = evc_mode_features(mode);
    GPtrArray *kept = g_ptr_array_new();

    for (guint i = 0; allowed && allowed[i]; i++) {
        if (g_strv_contains((const char *const *)cpu->features, allowed[i]))
            g_ptr_array_add(kept, g_strdup(allowed[i]));
    }
    g_strfreev(cpu->features);
    cpu->features = strv_sorted(kept);
    g_free(cpu->vendor);
    cpu->vendor = g_strdup(evc_vendor_cpuid(mode->vendor));
    g_free(cpu->narrowed_to);
    cpu->narrowed_to = g_strdup(mode->id);
}

EvcHostCpu
cpu_features_as_evc(const HostCpuFeatures *cpu, const char *host_name)
{
    return (EvcHostCpu){ .name = host_name, .vendor = cpu->vendor,
                         .features = (const char *const *)cpu->features };
}

GStrv
cpu_features_evc_modes(const HostCpuFeatures *cpu)
{
    EvcHostCpu evc = cpu_features_as_evc(cpu, NULL);
    g_autoptr(GPtrArray) modes = evc_supported_modes(&evc);
    GStrv ids = g_new0(char *, modes->len + 1);
    for (guint i = 0; i < modes->len; i++)
        ids[i] = g_strdup(((const EvcMode *)g_ptr_array_index(modes, i))->id);
    return ids;
}

const HostCpuFeatures *
cpu_features_of_host(Host *host)
{
    static HostCpuFeatures *probed;
    g_autoptr(GError) error = NULL;

    if (probed)
        return probed;
    probed = cpu_features_probe(host->config->qemu_binary, host->accel, host->config->state_dir,
                                &error);
    if (!probed) {
        g_warning("this host reports no CPU feature (so no EVC mode): %s", error->message);
        probed = g_new0(HostCpuFeatures, 1);
        probed->accel = host->accel;
        probed->features = g_new0(char *, 1);
    }
    const EvcMode *max = evc_mode_lookup(host->config->evc_max);
    if (max)
        cpu_features_narrow(probed, max);
    return probed;
}
