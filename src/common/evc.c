/* evc.c — the EVC mode table and the pure rules over it (see evc.h).
 * The feature sets come from evc-features.h, generated from QEMU by
 * tests/unit/test-evc.c; this file only names the modes and decides.
 */
#include "evc.h"

#include <string.h>

typedef struct {
    const char *model;
    const char *const *features;
} EvcModelFeatures;

#include "evc-features.h"

static const char *const vendor_names[] = { "intel", "amd", "any" };
static const char *const vendor_cpuids[] = { "GenuineIntel", "AuthenticAMD", NULL };

/* Versions are fixed: an unversioned name ("Haswell") follows the machine
 * type, and a cluster's baseline must not move under it. The TSX-less
 * versions are used from Haswell on, as microcode has turned TSX off on most
 * such CPUs. */
static const EvcMode mode_table[] = {
    { "intel-merom", EVC_VENDOR_INTEL, "Intel Merom Generation", "Conroe-v1", "Conroe" },
    { "intel-penryn", EVC_VENDOR_INTEL, "Intel Penryn Generation", "Penryn-v1", "Penryn" },
    { "intel-nehalem", EVC_VENDOR_INTEL, "Intel Nehalem Generation", "Nehalem-v1", "Nehalem" },
    { "intel-westmere", EVC_VENDOR_INTEL, "Intel Westmere Generation", "Westmere-v1", "Westmere" },
    { "intel-sandybridge", EVC_VENDOR_INTEL, "Intel Sandy Bridge Generation", "SandyBridge-v1",
      "SandyBridge" },
    { "intel-ivybridge", EVC_VENDOR_INTEL, "Intel Ivy Bridge Generation", "IvyBridge-v1",
      "IvyBridge" },
    { "intel-haswell", EVC_VENDOR_INTEL, "Intel Haswell Generation", "Haswell-v2",
      "Haswell-noTSX" },
    { "intel-broadwell", EVC_VENDOR_INTEL, "Intel Broadwell Generation", "Broadwell-v2",
      "Broadwell-noTSX" },
    { "intel-skylake", EVC_VENDOR_INTEL, "Intel Skylake Generation", "Skylake-Server-v3",
      "Skylake-Server-noTSX-IBRS" },
    { "intel-cascadelake", EVC_VENDOR_INTEL, "Intel Cascade Lake Generation",
      "Cascadelake-Server-v3", "Cascadelake-Server-noTSX" },
    { "intel-icelake", EVC_VENDOR_INTEL, "Intel Ice Lake Generation", "Icelake-Server-v4",
      "Icelake-Server" },
    { "amd-opteron-g1", EVC_VENDOR_AMD, "AMD Opteron Generation 1", "Opteron_G1-v1", "Opteron_G1" },
    { "amd-opteron-g2", EVC_VENDOR_AMD, "AMD Opteron Generation 2", "Opteron_G2-v1", "Opteron_G2" },
    { "amd-opteron-g3", EVC_VENDOR_AMD, "AMD Opteron Generation 3", "Opteron_G3-v1", "Opteron_G3" },
    { "amd-opteron-g4", EVC_VENDOR_AMD, "AMD Opteron Generation 4", "Opteron_G4-v1", "Opteron_G4" },
    { "amd-opteron-g5", EVC_VENDOR_AMD, "AMD Opteron \"Piledriver\" Generation", "Opteron_G5-v1",
      "Opteron_G5" },
    { "amd-zen", EVC_VENDOR_AMD, "AMD Zen Generation", "EPYC-v1", "EPYC" },
    { "amd-zen2", EVC_VENDOR_AMD, "AMD Zen 2 Generation", "EPYC-Rome-v1", "EPYC-Rome" },
    { "amd-zen3", EVC_VENDOR_AMD, "AMD Zen 3 Generation", "EPYC-Milan-v1", "EPYC-Milan" },
    { "amd-zen4", EVC_VENDOR_AMD, "AMD Zen 4 Generation", "EPYC-Genoa-v1", "EPYC-Genoa" },
};

/* ---- vendors ------------------------------------------------------------ */

const char *
evc_vendor_to_string(EvcVendor vendor)
{
    return (guint)vendor < G_N_ELEMENTS(vendor_names) ? vendor_names[vendor] : NULL;
}

gboolean
evc_vendor_from_string(const char *text, EvcVendor *out)
{
    for (guint i = 0; text && i < G_N_ELEMENTS(vendor_names); i++) {
        if (g_ascii_strcasecmp(text, vendor_names[i]) == 0) {
            *out = (EvcVendor)i;
            return TRUE;
        }
    }
    return FALSE;
}

const char *
evc_vendor_cpuid(EvcVendor vendor)
{
    return (guint)vendor < G_N_ELEMENTS(vendor_cpuids) ? vendor_cpuids[vendor] : NULL;
}

gboolean
evc_vendor_from_cpuid(const char *cpuid_vendor, EvcVendor *out)
{
    for (guint i = 0; cpuid_vendor && i < G_N_ELEMENTS(vendor_cpuids); i++) {
        if (vendor_cpuids[i] && g_str_equal(cpuid_vendor, vendor_cpuids[i])) {
            *out = (EvcVendor)i;
            return TRUE;
        }
    }
    return FALSE;
}

/* ---- the table ---------------------------------------------------------- */

const EvcMode *
evc_modes(gsize *n_modes)
{
    *n_modes = G_N_ELEMENTS(mode_table);
    return mode_table;
}

const EvcMode *
evc_mode_lookup(const char *id)
{
    const EvcMode *found = NULL;
    guint matches = 0;

    if (!id)
        return NULL;
    for (guint i = 0; i < G_N_ELEMENTS(mode_table); i++) {
        const char *full = mode_table[i].id;
        const char *bare = strchr(full, '-') + 1;
        if (g_ascii_strcasecmp(id, full) == 0)
            return &mode_table[i];
        if (g_ascii_strcasecmp(id, bare) == 0) {
            found = &mode_table[i];
            matches++;
        }
    }
    return matches == 1 ? found : NULL;
}

GPtrArray *
evc_modes_for_vendor(EvcVendor vendor)
{
    GPtrArray *out = g_ptr_array_new();
    for (guint i = 0; i < G_N_ELEMENTS(mode_table); i++) {
        if (mode_table[i].vendor == vendor)
            g_ptr_array_add(out, (gpointer)&mode_table[i]);
    }
    return out;
}

const char *const *
evc_mode_features(const EvcMode *mode)
{
    for (guint i = 0; mode && evc_model_features[i].model; i++) {
        if (g_str_equal(evc_model_features[i].model, mode->qemu_model))
            return evc_model_features[i].features;
    }
    return NULL;
}

gboolean
evc_mode_is_available(const EvcMode *mode)
{
    return evc_mode_features(mode) != NULL;
}

const char *
evc_features_qemu_version(void)
{
    return EVC_FEATURES_QEMU_VERSION;
}

/* ---- feature sets ------------------------------------------------------- */

static GHashTable *
feature_set(const char *const *features)
{
    GHashTable *set = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; features && features[i]; i++)
        g_hash_table_add(set, (gpointer)features[i]);
    return set;
}

static gint
compare_strings(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

GStrv
evc_missing_features(const char *const *wanted, const char *const *have)
{
    g_autoptr(GHashTable) have_set = feature_set(have);
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    GPtrArray *missing = g_ptr_array_new();

    for (guint i = 0; wanted && wanted[i]; i++) {
        if (!g_hash_table_contains(have_set, wanted[i]) && g_hash_table_add(seen, (gpointer)wanted[i]))
            g_ptr_array_add(missing, g_strdup(wanted[i]));
    }
    g_ptr_array_sort(missing, compare_strings);
    g_ptr_array_add(missing, NULL);
    return (GStrv)g_ptr_array_free(missing, FALSE);
}

gboolean
evc_mode_covers(const EvcMode *mode, const EvcMode *other)
{
    const char *const *have = evc_mode_features(mode);
    const char *const *wanted = evc_mode_features(other);
    if (!have || !wanted)
        return FALSE;
    g_auto(GStrv) missing = evc_missing_features(wanted, have);
    return missing[0] == NULL;
}

gboolean
evc_vm_compatible(const char *const *vm_features, const char *const *dest_features,
                  GStrv *missing)
{
    g_auto(GStrv) lacks = evc_missing_features(vm_features, dest_features);
    gboolean ok = lacks[0] == NULL;
    if (missing)
        *missing = g_steal_pointer(&lacks);
    return ok;
}

static char *
unavailable_reason(const EvcMode *mode)
{
    return g_strdup_printf("EVC mode %s needs QEMU's %s CPU model, which QEMU %s does not have",
                           mode->id, mode->qemu_alias, EVC_FEATURES_QEMU_VERSION);
}

/* ---- hosts -------------------------------------------------------------- */

static char *
joined(const char *const *items)
{
    return g_strjoinv(", ", (char **)items);
}

gboolean
evc_host_supports(const EvcMode *mode, const EvcHostCpu *host, char **reason)
{
    const char *name = host->name ? host->name : "the host";
    const char *const *features = evc_mode_features(mode);
    EvcVendor vendor;

    if (!features) {
        if (reason)
            *reason = unavailable_reason(mode);
        return FALSE;
    }
    if (host->vendor && (!evc_vendor_from_cpuid(host->vendor, &vendor) || vendor != mode->vendor)) {
        if (reason)
            *reason = g_strdup_printf("%s has a %s CPU and %s is a mode for %s CPUs", name,
                                      host->vendor, mode->id, evc_vendor_cpuid(mode->vendor));
        return FALSE;
    }
    g_auto(GStrv) missing = evc_missing_features(features, host->features);
    if (missing[0]) {
        if (reason) {
            g_autofree char *list = joined((const char *const *)missing);
            *reason = g_strdup_printf("%s lacks %s of %s", name, list, mode->id);
        }
        return FALSE;
    }
    return TRUE;
}

/* The vendor whose modes an emulated CPU is asked about when none is named:
 * Intel, listed first as vSphere lists it. */
static EvcVendor
vendor_of_host(const EvcHostCpu *host)
{
    EvcVendor vendor = EVC_VENDOR_INTEL;
    if (host->vendor && !evc_vendor_from_cpuid(host->vendor, &vendor))
        return EVC_VENDOR_ANY;   /* a vendor no mode is for */
    return vendor;
}

const EvcMode *
evc_highest_supported(EvcVendor vendor, const EvcHostCpu *host)
{
    return evc_cluster_max_mode(vendor, host, 1);
}

GPtrArray *
evc_supported_modes(const EvcHostCpu *host)
{
    GPtrArray *out = g_ptr_array_new();
    for (guint i = 0; i < G_N_ELEMENTS(mode_table); i++) {
        if (evc_host_supports(&mode_table[i], host, NULL))
            g_ptr_array_add(out, (gpointer)&mode_table[i]);
    }
    return out;
}

/* The vendor the hosts share: EVC_VENDOR_ANY when they mix vendors (or one
 * has a vendor no mode is for), Intel when every CPU is emulated. */
static EvcVendor
common_vendor(const EvcHostCpu *hosts, gsize n_hosts)
{
    const char *seen = NULL;
    for (gsize i = 0; i < n_hosts; i++) {
        if (!hosts[i].vendor)
            continue;
        if (seen && !g_str_equal(seen, hosts[i].vendor))
            return EVC_VENDOR_ANY;
        seen = hosts[i].vendor;
    }
    for (gsize i = 0; i < n_hosts; i++) {
        if (hosts[i].vendor)
            return vendor_of_host(&hosts[i]);
    }
    return EVC_VENDOR_INTEL;
}

/* Newest = last in table order: within a vendor the table runs oldest to
 * newest, and where two modes do not cover each other (Opteron G5 and Zen)
 * no real CPU has both. */
const EvcMode *
evc_cluster_max_mode(EvcVendor vendor, const EvcHostCpu *hosts, gsize n_hosts)
{
    const EvcMode *best = NULL;

    if (vendor == EVC_VENDOR_ANY)
        vendor = common_vendor(hosts, n_hosts);
    if (vendor == EVC_VENDOR_ANY)
        return NULL;
    for (guint i = 0; i < G_N_ELEMENTS(mode_table); i++) {
        const EvcMode *mode = &mode_table[i];
        gboolean all = mode->vendor == vendor && evc_mode_is_available(mode);
        for (gsize h = 0; all && h < n_hosts; h++)
            all = evc_host_supports(mode, &hosts[h], NULL);
        if (all)
            best = mode;
    }
    return best;
}

/* ---- changing a cluster's mode ----------------------------------------- */

char *
evc_change_phrase(const EvcMode *current, const EvcMode *wanted)
{
    if (!wanted)
        return g_strdup("Cannot disable EVC");
    if (!current)
        return g_strdup_printf("Cannot enable EVC mode %s", wanted->id);
    const char *verb = evc_mode_covers(wanted, current) ? "raise"
                       : evc_mode_covers(current, wanted) ? "lower" : "change";
    return g_strdup_printf("Cannot %s the EVC mode from %s to %s", verb, current->id, wanted->id);
}

char *
evc_vm_obstacle(const EvcRunningVm *vm, const EvcMode *wanted)
{
    const EvcMode *vm_mode = evc_mode_lookup(vm->evc_mode);
    const char *const *features = vm_mode ? evc_mode_features(vm_mode) : vm->features;
    const char *name = vm->name ? vm->name : "a running VM";

    if (vm->evc_mode && !vm_mode)
        return g_strdup_printf("VM %s runs at EVC mode '%s', which is unknown", name,
                               vm->evc_mode);
    if (!features)
        return g_strdup_printf("VM %s runs with a CPU feature set that was not recorded", name);
    g_auto(GStrv) missing = evc_missing_features(features, evc_mode_features(wanted));
    if (!missing[0])
        return NULL;
    g_autofree char *list = joined((const char *const *)missing);
    if (vm_mode)
        return g_strdup_printf("VM %s runs at %s and uses %s", name, vm_mode->id, list);
    return g_strdup_printf("VM %s runs outside EVC and uses %s", name, list);
}

gboolean
evc_can_set_mode(const EvcMode *current, const EvcMode *wanted,
                 const EvcHostCpu *hosts, gsize n_hosts,
                 const EvcRunningVm *vms, gsize n_vms, char **reason)
{
    g_autoptr(GString) problems = g_string_new(NULL);
    gboolean vm_in_way = FALSE;
    char *why = NULL;

    if (!wanted || wanted == current)
        return TRUE;   /* turning EVC off takes no feature from a running VM */
    if (!evc_mode_is_available(wanted)) {
        if (reason)
            *reason = unavailable_reason(wanted);
        return FALSE;
    }
    for (gsize i = 0; i < n_hosts; i++) {
        if (!evc_host_supports(wanted, &hosts[i], &why)) {
            g_string_append_printf(problems, "%s%s", problems->len ? "; " : "", why);
            g_free(why);
        }
    }
    for (gsize i = 0; i < n_vms; i++) {
        if ((why = evc_vm_obstacle(&vms[i], wanted))) {
            g_string_append_printf(problems, "%s%s", problems->len ? "; " : "", why);
            g_free(why);
            vm_in_way = TRUE;
        }
    }
    if (problems->len == 0)
        return TRUE;
    if (reason) {
        g_autofree char *phrase = evc_change_phrase(current, wanted);
        *reason = g_strdup_printf("%s: %s%s", phrase, problems->str,
                                  vm_in_way ? " (power those VMs off or move them out of the "
                                              "cluster first)" : "");
    }
    return FALSE;
}

/* ---- one host, and the VMs that start on it ----------------------------- */

GPtrArray *
evc_host_change_problems(const EvcMode *wanted, const EvcHostCpu *host,
                         const EvcRunningVm *vms, gsize n_vms, gboolean *vm_in_way)
{
    GPtrArray *problems = g_ptr_array_new_with_free_func(g_free);
    char *why = NULL;

    if (vm_in_way)
        *vm_in_way = FALSE;
    if (!wanted)
        return problems;
    if (!evc_host_supports(wanted, host, &why)) {
        const EvcMode *best = evc_highest_supported(wanted->vendor, host);
        g_ptr_array_add(problems, g_strdup_printf("%s (its highest EVC mode is %s)", why,
                                                  best ? best->id : "none"));
        g_free(why);
    }
    for (gsize i = 0; i < n_vms; i++) {
        if ((why = evc_vm_obstacle(&vms[i], wanted))) {
            g_ptr_array_add(problems, why);
            if (vm_in_way)
                *vm_in_way = TRUE;
        }
    }
    return problems;
}

gboolean
evc_mode_for_start(const EvcMode *host_mode, const char *recorded, gboolean resume,
                   const EvcMode **out, char **reason)
{
    *out = NULL;
    if (!resume) {
        *out = host_mode;
        return TRUE;
    }
    if (!recorded)
        return TRUE;
    const EvcMode *mode = evc_mode_lookup(recorded);
    if (!mode || !evc_mode_is_available(mode)) {
        if (reason)
            *reason = mode ? unavailable_reason(mode)
                           : g_strdup_printf("the VM records EVC mode '%s', which is unknown",
                                             recorded);
        return FALSE;
    }
    *out = mode;
    return TRUE;
}
