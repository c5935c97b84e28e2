/* test-evc.c — EVC: the mode table (checked against this machine's QEMU when
 * it has one), the join / raise / lower / compatibility rules, and the host
 * side that asks QEMU what it can give.
 *
 * VIREO_EVC_REGENERATE=1 test-evc rewrites src/common/evc-features.h from
 * the QEMU on PATH (static expansion of each mode's model under TCG).
 */
#include <signal.h>
#include "cpu-features.h"
#include "evc.h"
#include "host-config.h"
#include "vireo-error.h"

#include <glib/gstdio.h>
#include <string.h>

/* ---- helpers ---------------------------------------------------------------- */

static const EvcMode *
mode(const char *id)
{
    const EvcMode *m = evc_mode_lookup(id);
    g_assert_nonnull(m);
    return m;
}

static const char *const *
features_of(const char *id)
{
    const char *const *f = evc_mode_features(mode(id));
    g_assert_nonnull(f);
    return f;
}

/* A mode's features minus some, as a host lacking them would report. */
static GStrv
features_without(const char *id, const char *const *drop)
{
    GPtrArray *out = g_ptr_array_new();
    const char *const *f = features_of(id);
    for (guint i = 0; f[i]; i++) {
        if (!drop || !g_strv_contains(drop, f[i]))
            g_ptr_array_add(out, g_strdup(f[i]));
    }
    g_ptr_array_add(out, NULL);
    return (GStrv)g_ptr_array_free(out, FALSE);
}

static char *
joined(const char *const *v)
{
    return g_strjoinv(",", (char **)v);
}

static void
assert_missing(const char *const *wanted, const char *const *have, const char *expect)
{
    g_auto(GStrv) missing = evc_missing_features(wanted, have);
    g_autofree char *got = joined((const char *const *)missing);
    g_assert_cmpstr(got, ==, expect);
}

static const char *
qemu_binary(void)
{
    static char *path;
    if (!path)
        path = g_find_program_in_path("qemu-system-x86_64");
    return path;
}

/* ---- the table ---------------------------------------------------------------- */

static void
test_lookup(void)
{
    g_assert_cmpstr(mode("intel-nehalem")->qemu_model, ==, "Nehalem-v1");
    g_assert_true(evc_mode_lookup("NEHALEM") == mode("intel-nehalem"));
    g_assert_true(evc_mode_lookup("opteron-g2") == mode("amd-opteron-g2"));
    g_assert_true(evc_mode_lookup("zen") == mode("amd-zen"));
    g_assert_cmpstr(mode("intel-merom")->qemu_alias, ==, "Conroe");
    g_assert_cmpstr(mode("intel-haswell")->qemu_model, ==, "Haswell-v2");
    g_assert_cmpstr(mode("amd-zen3")->qemu_model, ==, "EPYC-Milan-v1");
    g_assert_null(evc_mode_lookup("intel-pentium"));
    g_assert_null(evc_mode_lookup("intel-"));
    g_assert_null(evc_mode_lookup(""));
    g_assert_null(evc_mode_lookup(NULL));
}

static void
test_table(void)
{
    static const char *const intel[] = { "intel-merom", "intel-penryn", "intel-nehalem",
        "intel-westmere", "intel-sandybridge", "intel-ivybridge", "intel-haswell",
        "intel-broadwell", "intel-skylake", "intel-cascadelake", "intel-icelake", NULL };
    static const char *const amd[] = { "amd-opteron-g1", "amd-opteron-g2", "amd-opteron-g3",
        "amd-opteron-g4", "amd-opteron-g5", "amd-zen", "amd-zen2", "amd-zen3", "amd-zen4", NULL };
    g_autoptr(GPtrArray) in = evc_modes_for_vendor(EVC_VENDOR_INTEL);
    g_autoptr(GPtrArray) am = evc_modes_for_vendor(EVC_VENDOR_AMD);
    gsize n = 0;

    evc_modes(&n);
    g_assert_cmpuint(n, ==, g_strv_length((char **)intel) + g_strv_length((char **)amd));
    g_assert_cmpuint(in->len, ==, g_strv_length((char **)intel));
    g_assert_cmpuint(am->len, ==, g_strv_length((char **)amd));
    for (guint i = 0; i < in->len; i++)
        g_assert_cmpstr(((const EvcMode *)in->pdata[i])->id, ==, intel[i]);
    for (guint i = 0; i < am->len; i++)
        g_assert_cmpstr(((const EvcMode *)am->pdata[i])->id, ==, amd[i]);
    g_assert_true(g_str_has_prefix(evc_features_qemu_version(), "7.2."));
    /* Every mode has its feature set, sorted and without repeats, except
     * Zen 4: QEMU 7.2 has no EPYC-Genoa. */
    const EvcMode *modes = evc_modes(&n);
    for (gsize m = 0; m < n; m++) {
        const char *const *f = evc_mode_features(&modes[m]);
        if (g_str_equal(modes[m].id, "amd-zen4")) {
            g_assert_null(f);
            g_assert_false(evc_mode_is_available(&modes[m]));
            continue;
        }
        g_assert_nonnull(f);
        g_assert_cmpuint(g_strv_length((char **)f), >, 20);
        for (guint i = 1; f[i]; i++)
            g_assert_cmpint(strcmp(f[i - 1], f[i]), <, 0);
    }
}

static void
test_vendors(void)
{
    EvcVendor v = EVC_VENDOR_ANY;
    g_assert_cmpstr(evc_vendor_to_string(EVC_VENDOR_AMD), ==, "amd");
    g_assert_true(evc_vendor_from_string("Intel", &v));
    g_assert_cmpint(v, ==, EVC_VENDOR_INTEL);
    g_assert_false(evc_vendor_from_string("via", &v));
    g_assert_true(evc_vendor_from_cpuid("AuthenticAMD", &v));
    g_assert_cmpint(v, ==, EVC_VENDOR_AMD);
    g_assert_false(evc_vendor_from_cpuid("HygonGenuine", &v));
    g_assert_cmpstr(evc_vendor_cpuid(EVC_VENDOR_INTEL), ==, "GenuineIntel");
    g_assert_null(evc_vendor_cpuid(EVC_VENDOR_ANY));
}

/* Intel's modes form a line: each covers every older one and adds features.
 * AMD's do not: Opteron G4 dropped MONITOR that G3 had, and Zen dropped
 * the Bulldozer family's FMA4, XOP and TBM, so Zen builds on G3. */
static void
test_ordering(void)
{
    static const char *const lines[][6] = {
        { "intel-merom", "intel-penryn", "intel-nehalem", "intel-westmere", "intel-sandybridge" },
        { "intel-sandybridge", "intel-ivybridge", "intel-haswell", "intel-broadwell",
          "intel-skylake", "intel-cascadelake" },
        { "intel-cascadelake", "intel-icelake" },
        { "amd-opteron-g1", "amd-opteron-g2", "amd-opteron-g3", "amd-zen", "amd-zen2", "amd-zen3" },
        { "amd-opteron-g1", "amd-opteron-g2", "amd-opteron-g4", "amd-opteron-g5" },
    };
    for (guint l = 0; l < G_N_ELEMENTS(lines); l++) {
        for (guint i = 1; i < 6 && lines[l][i]; i++) {
            const EvcMode *older = mode(lines[l][i - 1]), *newer = mode(lines[l][i]);
            g_test_message("%s covers %s", newer->id, older->id);
            g_assert_true(evc_mode_covers(newer, older));
            g_assert_false(evc_mode_covers(older, newer));
            for (guint j = 0; j < i; j++)
                g_assert_true(evc_mode_covers(newer, mode(lines[l][j])));
        }
    }
    assert_missing(features_of("amd-opteron-g3"), features_of("amd-opteron-g4"), "monitor");
    assert_missing(features_of("amd-opteron-g5"), features_of("amd-zen"), "fma4,tbm,xop");
    g_assert_false(evc_mode_covers(mode("amd-zen3"), mode("amd-opteron-g4")));
    g_assert_false(evc_mode_covers(mode("amd-zen4"), mode("amd-zen3")));
    g_assert_false(evc_mode_covers(mode("amd-zen3"), mode("amd-zen4")));
    /* What each generation is known for. */
    assert_missing(features_of("intel-penryn"), features_of("intel-merom"), "cx16,sse4.1");
    assert_missing(features_of("intel-nehalem"), features_of("intel-penryn"), "popcnt,sse4.2");
    assert_missing(features_of("intel-westmere"), features_of("intel-nehalem"),
                   "aes,arat,pclmulqdq");
    g_assert_true(g_strv_contains(features_of("intel-haswell"), "avx2"));
    g_assert_false(g_strv_contains(features_of("intel-haswell"), "rtm"));
    g_assert_false(g_strv_contains(features_of("intel-ivybridge"), "avx2"));
    g_assert_true(g_strv_contains(features_of("intel-skylake"), "avx512f"));
    g_assert_true(g_strv_contains(features_of("intel-cascadelake"), "avx512vnni"));
    g_assert_true(g_strv_contains(features_of("amd-zen"), "sha-ni"));
}

static void
test_missing_features(void)
{
    const char *wanted[] = { "sse4.2", "aes", "fpu", "aes", "avx", NULL };
    const char *have[] = { "fpu", "avx", NULL };
    assert_missing(wanted, have, "aes,sse4.2");
    assert_missing(wanted, NULL, "aes,avx,fpu,sse4.2");
    assert_missing(NULL, have, "");
    g_auto(GStrv) none = evc_missing_features(have, wanted);
    g_assert_nonnull(none);
    g_assert_null(none[0]);
}

/* ---- hosts ------------------------------------------------------------------------ */

static char *
supported_ids(const EvcHostCpu *host)
{
    g_autoptr(GPtrArray) modes = evc_supported_modes(host);
    g_autoptr(GString) out = g_string_new(NULL);
    for (guint i = 0; i < modes->len; i++)
        g_string_append_printf(out, "%s%s", i ? "," : "", ((const EvcMode *)modes->pdata[i])->id);
    return g_string_free(g_steal_pointer(&out), FALSE);
}

/* An emulated CPU (TCG) with Nehalem's features: Intel modes up to Nehalem,
 * and AMD's first Opteron, whose features Merom already had. */
static void
test_host_supports(void)
{
    EvcHostCpu host = { "esx-a", NULL, features_of("intel-nehalem") };
    g_autofree char *reason = NULL;
    g_autofree char *ids = supported_ids(&host);

    g_assert_cmpstr(ids, ==, "intel-merom,intel-penryn,intel-nehalem,amd-opteron-g1");
    g_assert_true(evc_host_supports(mode("intel-nehalem"), &host, NULL));
    g_assert_false(evc_host_supports(mode("intel-westmere"), &host, &reason));
    g_assert_cmpstr(reason, ==, "esx-a lacks aes, arat, pclmulqdq of intel-westmere");
    g_clear_pointer(&reason, g_free);
    g_assert_false(evc_host_supports(mode("amd-zen4"), &host, &reason));
    g_assert_nonnull(strstr(reason, "EPYC-Genoa"));
    g_assert_true(evc_highest_supported(EVC_VENDOR_INTEL, &host) == mode("intel-nehalem"));
    g_assert_true(evc_highest_supported(EVC_VENDOR_AMD, &host) == mode("amd-opteron-g1"));
    g_assert_true(evc_highest_supported(EVC_VENDOR_ANY, &host) == mode("intel-nehalem"));
}

/* A real AMD CPU (KVM) takes no Intel mode whatever its features, and a Zen 2
 * has none of Bulldozer's FMA4/XOP, so not Opteron G4/G5. */
static void
test_host_vendor(void)
{
    g_auto(GStrv) all = NULL;
    g_autoptr(GPtrArray) every = g_ptr_array_new();
    gsize n = 0;
    const EvcMode *modes = evc_modes(&n);
    for (gsize m = 0; m < n; m++) {
        const char *const *f = evc_mode_features(&modes[m]);
        for (guint i = 0; f && i < g_strv_length((char **)f); i++)
            g_ptr_array_add(every, (gpointer)f[i]);
    }
    g_ptr_array_add(every, NULL);
    EvcHostCpu amd_all = { "esx-amd", "AuthenticAMD", (const char *const *)every->pdata };
    EvcHostCpu zen2 = { "esx-z", "AuthenticAMD", features_of("amd-zen2") };
    g_autofree char *reason = NULL;
    g_autofree char *ids = supported_ids(&zen2);

    g_assert_false(evc_host_supports(mode("intel-merom"), &amd_all, &reason));
    g_assert_nonnull(strstr(reason, "esx-amd has a AuthenticAMD CPU"));
    g_assert_true(evc_host_supports(mode("amd-opteron-g5"), &amd_all, NULL));
    g_assert_cmpstr(ids, ==, "amd-opteron-g1,amd-opteron-g2,amd-opteron-g3,amd-zen,amd-zen2");
    g_assert_true(evc_highest_supported(EVC_VENDOR_ANY, &zen2) == mode("amd-zen2"));
    g_assert_null(evc_highest_supported(EVC_VENDOR_INTEL, &zen2));
}

/* What a host whose CPU lacks AVX2 (a configuration's narrowing) reports. */
static void
test_host_narrowed(void)
{
    const char *drop[] = { "avx2", NULL };
    g_auto(GStrv) f = features_without("intel-haswell", drop);
    EvcHostCpu host = { "esx-c", "GenuineIntel", (const char *const *)f };
    g_autofree char *reason = NULL;

    g_assert_true(evc_highest_supported(EVC_VENDOR_INTEL, &host) == mode("intel-ivybridge"));
    g_assert_false(evc_host_supports(mode("intel-haswell"), &host, &reason));
    g_assert_cmpstr(reason, ==, "esx-c lacks avx2 of intel-haswell");
}

static void
test_cluster_max(void)
{
    EvcHostCpu hosts[] = {
        { "a", "GenuineIntel", features_of("intel-haswell") },
        { "b", "GenuineIntel", features_of("intel-westmere") },
        { "c", "GenuineIntel", features_of("intel-skylake") },
    };
    EvcHostCpu mixed[] = {
        { "a", "GenuineIntel", features_of("intel-haswell") },
        { "z", "AuthenticAMD", features_of("amd-zen3") },
    };
    EvcHostCpu emulated[] = {
        { "tcg", NULL, features_of("intel-icelake") },
        { "kvm", "GenuineIntel", features_of("intel-broadwell") },
    };
    EvcHostCpu amd[] = {
        { "z1", "AuthenticAMD", features_of("amd-zen3") },
        { "z2", "AuthenticAMD", features_of("amd-zen") },
    };
    g_assert_true(evc_cluster_max_mode(EVC_VENDOR_ANY, hosts, 3) == mode("intel-westmere"));
    g_assert_true(evc_cluster_max_mode(EVC_VENDOR_INTEL, hosts, 1) == mode("intel-haswell"));
    g_assert_null(evc_cluster_max_mode(EVC_VENDOR_AMD, hosts, 3));
    g_assert_null(evc_cluster_max_mode(EVC_VENDOR_ANY, mixed, 2));
    g_assert_true(evc_cluster_max_mode(EVC_VENDOR_ANY, emulated, 2) == mode("intel-broadwell"));
    g_assert_true(evc_cluster_max_mode(EVC_VENDOR_ANY, amd, 2) == mode("amd-zen"));
    /* No host yet: anything the table has. */
    g_assert_true(evc_cluster_max_mode(EVC_VENDOR_ANY, NULL, 0) == mode("intel-icelake"));
    g_assert_true(evc_cluster_max_mode(EVC_VENDOR_AMD, NULL, 0) == mode("amd-zen3"));
}

/* ---- changing a cluster's mode ------------------------------------------------------ */

typedef struct {
    const char *name;
    const char *current;        /* NULL: EVC off */
    const char *wanted;         /* NULL: turn off */
    const char *hosts;          /* "mode,mode": one host per mode (names h1, h2...) */
    const char *vms;            /* "name=mode,...": running VMs; mode "-" unrecorded,
                                 * "+mode" outside EVC with that mode's features */
    gboolean ok;
    const char *reason;         /* the exact sentence, when refused */
} ChangeCase;

#define HASWELL_OVER_NEHALEM "abm, aes, arat, avx, avx2, bmi1, bmi2, erms, f16c, fma, " \
    "fsgsbase, invpcid, movbe, pcid, pclmulqdq, rdrand, rdtscp, smep, tsc-deadline, x2apic, " \
    "xsave, xsaveopt"

static const ChangeCase change_cases[] = {
    { "enable-all-cover", NULL, "intel-westmere", "intel-haswell,intel-westmere", "", TRUE, NULL },
    { "enable-host-short", NULL, "intel-westmere", "intel-haswell,intel-nehalem", "", FALSE,
      "Cannot enable EVC mode intel-westmere: h2 lacks aes, arat, pclmulqdq of intel-westmere" },
    { "raise-all-cover", "intel-nehalem", "intel-haswell", "intel-haswell,intel-skylake",
      "web=intel-nehalem", TRUE, NULL },
    { "raise-host-short", "intel-nehalem", "intel-haswell",
      "intel-haswell,intel-ivybridge,intel-skylake,intel-nehalem", "web=intel-nehalem", FALSE,
      "Cannot raise the EVC mode from intel-nehalem to intel-haswell: h2 lacks abm, avx2, bmi1, "
      "bmi2, fma, invpcid, movbe, pcid of intel-haswell; h4 lacks " HASWELL_OVER_NEHALEM
      " of intel-haswell" },
    { "lower-vm-uses-higher", "intel-haswell", "intel-nehalem", "intel-haswell,intel-haswell",
      "web=intel-haswell,db=intel-nehalem", FALSE,
      "Cannot lower the EVC mode from intel-haswell to intel-nehalem: VM web runs at "
      "intel-haswell and uses " HASWELL_OVER_NEHALEM " (power those VMs off or move them out "
      "of the cluster first)" },
    { "lower-vms-within", "intel-haswell", "intel-nehalem", "intel-haswell,intel-haswell",
      "db=intel-nehalem,old=intel-merom", TRUE, NULL },
    { "lower-no-vm", "intel-haswell", "intel-merom", "intel-haswell", "", TRUE, NULL },
    { "lower-unrecorded", "intel-haswell", "intel-merom", "intel-haswell", "x=-", FALSE,
      "Cannot lower the EVC mode from intel-haswell to intel-merom: VM x runs with a CPU "
      "feature set that was not recorded (power those VMs off or move them out of the cluster "
      "first)" },
    { "disable-with-vms", "intel-haswell", NULL, "intel-haswell", "web=intel-haswell", TRUE, NULL },
    { "same-mode", "intel-haswell", "intel-haswell", "intel-westmere", "", TRUE, NULL },
    { "zen4-absent", "amd-zen3", "amd-zen4", "amd-zen3", "", FALSE,
      "EVC mode amd-zen4 needs QEMU's EPYC-Genoa CPU model, which QEMU 7.2.22 does not have" },
    { "enable-vm-outside-within", NULL, "intel-nehalem", "intel-haswell", "a=+intel-penryn",
      TRUE, NULL },
    { "enable-vm-outside-beyond", NULL, "intel-merom", "intel-haswell", "a=+intel-penryn", FALSE,
      "Cannot enable EVC mode intel-merom: VM a runs outside EVC and uses cx16, sse4.1 (power "
      "those VMs off or move them out of the cluster first)" },
    { "change-vendor", "intel-merom", "amd-opteron-g2", "intel-westmere", "v=intel-merom", FALSE,
      "Cannot change the EVC mode from intel-merom to amd-opteron-g2: h1 lacks svm of "
      "amd-opteron-g2; VM v runs at intel-merom and uses ssse3 (power those VMs off or move "
      "them out of the cluster first)" },
    { "unknown-vm-mode", "intel-merom", "intel-penryn", "intel-penryn", "v=intel-p4", FALSE,
      "Cannot raise the EVC mode from intel-merom to intel-penryn: VM v runs at EVC mode "
      "'intel-p4', which is unknown (power those VMs off or move them out of the cluster "
      "first)" },
};

static void
test_change(gconstpointer data)
{
    const ChangeCase *c = data;
    g_auto(GStrv) host_modes = g_strsplit(c->hosts, ",", -1);
    g_auto(GStrv) vm_specs = c->vms[0] ? g_strsplit(c->vms, ",", -1) : g_new0(char *, 1);
    guint nh = g_strv_length(host_modes), nv = g_strv_length(vm_specs);
    g_autofree EvcHostCpu *hosts = g_new0(EvcHostCpu, nh);
    g_autofree EvcRunningVm *vms = g_new0(EvcRunningVm, nv);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *reason = NULL;

    for (guint i = 0; i < nh; i++) {
        char *name = g_strdup_printf("h%u", i + 1);
        g_ptr_array_add(names, name);
        hosts[i] = (EvcHostCpu){ name, NULL, features_of(host_modes[i]) };
    }
    for (guint i = 0; i < nv; i++) {
        char *eq = strchr(vm_specs[i], '=');
        *eq = '\0';
        vms[i].name = vm_specs[i];
        if (eq[1] == '+')
            vms[i].features = features_of(eq + 2);
        else if (eq[1] != '-')
            vms[i].evc_mode = eq + 1;
    }
    const EvcMode *current = c->current ? mode(c->current) : NULL;
    const EvcMode *wanted = c->wanted ? mode(c->wanted) : NULL;
    gboolean ok = evc_can_set_mode(current, wanted, hosts, nh, vms, nv, &reason);
    g_assert_cmpint(ok, ==, c->ok);
    g_assert_cmpstr(reason, ==, c->reason);
}

/* ---- VMs without EVC ------------------------------------------------------------------ */

static void
test_vm_compatible(void)
{
    g_auto(GStrv) missing = NULL;
    g_assert_false(evc_vm_compatible(features_of("intel-nehalem"), features_of("intel-merom"),
                                     &missing));
    g_autofree char *list = joined((const char *const *)missing);
    g_assert_cmpstr(list, ==, "cx16,popcnt,sse4.1,sse4.2");
    g_clear_pointer(&missing, g_strfreev);
    g_assert_true(evc_vm_compatible(features_of("intel-merom"), features_of("intel-nehalem"),
                                    &missing));
    g_assert_nonnull(missing);
    g_assert_null(missing[0]);
    g_assert_true(evc_vm_compatible(features_of("amd-opteron-g1"), features_of("intel-merom"),
                                    NULL));
    g_assert_false(evc_vm_compatible(features_of("amd-opteron-g2"), features_of("intel-merom"),
                                     NULL));
}

/* ---- the host side ----------------------------------------------------------------- */

static HostCpuFeatures *
host_cpu_with(const char *const *features, const char *vendor)
{
    HostCpuFeatures *cpu = g_new0(HostCpuFeatures, 1);
    cpu->qemu_version = g_strdup("7.2.22");
    cpu->vendor = g_strdup(vendor);
    cpu->features = g_strdupv((char **)features);
    return cpu;
}

/* evc_max: an emulated CPU that can give everything reports Nehalem's
 * features and vendor, and so only the modes a Nehalem host has. */
static void
test_narrow(void)
{
    g_autoptr(GPtrArray) every = g_ptr_array_new();
    gsize n = 0;
    const EvcMode *modes = evc_modes(&n);
    for (gsize m = 0; m < n; m++) {
        const char *const *f = evc_mode_features(&modes[m]);
        for (guint i = 0; f && f[i]; i++)
            g_ptr_array_add(every, (gpointer)f[i]);
    }
    g_ptr_array_add(every, NULL);
    g_autoptr(HostCpuFeatures) cpu = host_cpu_with((const char *const *)every->pdata, NULL);
    g_auto(GStrv) before = cpu_features_evc_modes(cpu);
    g_assert_cmpuint(g_strv_length(before), ==, n - 1);   /* all but Zen 4 */

    cpu_features_narrow(cpu, mode("intel-nehalem"));
    g_auto(GStrv) after = cpu_features_evc_modes(cpu);
    g_autofree char *ids = g_strjoinv(",", after);
    g_autofree char *got = joined((const char *const *)cpu->features);
    g_autofree char *want = joined(features_of("intel-nehalem"));
    g_assert_cmpstr(ids, ==, "intel-merom,intel-penryn,intel-nehalem");
    g_assert_cmpstr(got, ==, want);
    g_assert_cmpstr(cpu->vendor, ==, "GenuineIntel");
    g_assert_cmpstr(cpu->narrowed_to, ==, "intel-nehalem");
    EvcHostCpu evc = cpu_features_as_evc(cpu, "esx-n");
    g_assert_true(evc_highest_supported(EVC_VENDOR_ANY, &evc) == mode("intel-nehalem"));
}

static HostConfig *
config_with_evc_max(const char *value, GError **error)
{
    g_autofree char *text = g_strdup_printf("[host]\nname = esx-a\nstate_dir = /tmp/x\n"
                                            "evc_max = %s\n[user root]\npassword_hash = $6$s$h\n",
                                            value);
    return host_config_parse(text, strlen(text), error);
}

static void
test_config_evc_max(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(HostConfig) c = config_with_evc_max("Nehalem   # an older CPU", &error);
    g_assert_no_error(error);
    g_assert_cmpstr(c->evc_max, ==, "intel-nehalem");

    g_autoptr(HostConfig) bad = config_with_evc_max("pentium4", &error);
    g_assert_null(bad);
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT);
    g_assert_nonnull(strstr(error->message, "[host] evc_max: 'pentium4' is not an EVC mode"));
    g_clear_error(&error);
    g_autoptr(HostConfig) absent = config_with_evc_max("amd-zen4", &error);
    g_assert_null(absent);
    g_assert_nonnull(strstr(error->message, "EPYC-Genoa"));
}

/* A binary that is not QEMU, or no binary, is an error that names it. */
static void
test_probe_errors(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("test-evc-XXXXXX", NULL);
    g_autofree char *fake = g_build_filename(dir, "fake-qemu", NULL);
    g_assert_true(g_file_set_contents(fake, "#!/bin/sh\n[ \"$1\" = --version ] && "
                                      "echo 'QEMU emulator version 9.9.9' && exit 0\n"
                                      "echo 'qemu: no such machine' >&2; exit 1\n", -1, NULL));
    g_assert_cmpint(g_chmod(fake, 0755), ==, 0);

    g_assert_null(cpu_features_probe("/nonexistent/qemu", QEMU_ACCEL_TCG, dir, &error));
    g_assert_nonnull(error);
    g_clear_error(&error);
    g_assert_null(cpu_features_probe("/bin/true", QEMU_ACCEL_TCG, dir, &error));
    g_assert_nonnull(strstr(error->message, "printed no QEMU version"));
    g_clear_error(&error);
    g_assert_null(cpu_features_probe(fake, QEMU_ACCEL_TCG, dir, &error));
    g_assert_nonnull(strstr(error->message, "gave no list of CPU models: qemu: no such machine"));
    g_autofree char *cache = g_build_filename(dir, "cpu-features.json", NULL);
    g_assert_false(g_file_test(cache, G_FILE_TEST_EXISTS));
    g_unlink(fake);
    g_rmdir(dir);
}

/* ---- against this machine's QEMU ------------------------------------------------------- */

static gboolean
need_qemu(void)
{
    if (qemu_binary())
        return TRUE;
    g_test_skip("no qemu-system-x86_64 on PATH");
    return FALSE;
}

static QemuCpuModels *
query_all_models(void)
{
    gsize n = 0;
    const EvcMode *modes = evc_modes(&n);
    g_autoptr(GPtrArray) names = g_ptr_array_new();
    g_autoptr(GError) error = NULL;
    for (gsize m = 0; m < n; m++)
        g_ptr_array_add(names, (gpointer)modes[m].qemu_model);
    g_ptr_array_add(names, (gpointer)"max");
    g_ptr_array_add(names, NULL);
    QemuCpuModels *models = cpu_features_query_qemu(qemu_binary(), QEMU_ACCEL_TCG,
                                                    (const char *const *)names->pdata, &error);
    g_assert_no_error(error);
    return models;
}

/* The committed table is what this QEMU gives each model (same major.minor
 * as the table was made from; other versions are another table). */
static void
test_live_table(void)
{
    if (!need_qemu())
        return;
    g_autoptr(QemuCpuModels) models = query_all_models();
    g_auto(GStrv) live = g_strsplit(models->qemu_version, ".", 3);
    g_auto(GStrv) table = g_strsplit(evc_features_qemu_version(), ".", 3);
    if (g_strv_length(live) < 2 || g_strv_length(table) < 2 || g_strcmp0(live[0], table[0]) ||
        g_strcmp0(live[1], table[1])) {
        g_test_skip("the table is for another QEMU version");
        return;
    }
    gsize n = 0;
    const EvcMode *modes = evc_modes(&n);
    g_test_message("a mode whose features differ from QEMU %s's: regenerate the table with "
                   "VIREO_EVC_REGENERATE=1 test-evc", models->qemu_version);
    for (gsize m = 0; m < n; m++) {
        const char *const *f = g_hash_table_lookup(models->expansions, modes[m].qemu_model);
        g_autofree char *got = f ? joined(f) : NULL;
        g_autofree char *want = evc_mode_features(&modes[m]) ? joined(evc_mode_features(&modes[m]))
                                                             : NULL;
        g_test_message("%s (%s)", modes[m].id, modes[m].qemu_model);
        g_assert_cmpstr(got, ==, want);
        g_assert_true(g_hash_table_contains(models->unavailable, modes[m].qemu_model) == (f != NULL));
    }
    g_assert_cmpstr(g_hash_table_lookup(models->vendors, "Nehalem-v1"), ==, "GenuineIntel");
    g_assert_cmpstr(g_hash_table_lookup(models->vendors, "EPYC-v1"), ==, "AuthenticAMD");
}

/* The host's report supports a mode exactly when QEMU lists its model with
 * no unavailable feature; under TCG that is Merom to Westmere and Opteron
 * G1/G2 (docs: "Known to work on these machines"). */
static void
test_live_admission(void)
{
    if (!need_qemu())
        return;
    g_autoptr(QemuCpuModels) models = query_all_models();
    g_autoptr(GError) error = NULL;
    g_autoptr(HostCpuFeatures) cpu = cpu_features_probe(qemu_binary(), QEMU_ACCEL_TCG, NULL,
                                                         &error);
    g_assert_no_error(error);
    g_assert_null(cpu->vendor);
    EvcHostCpu host = cpu_features_as_evc(cpu, "this machine");
    gsize n = 0;
    const EvcMode *modes = evc_modes(&n);
    for (gsize m = 0; m < n; m++) {
        const char *const *lacks = g_hash_table_lookup(models->unavailable, modes[m].qemu_model);
        g_autofree char *why = NULL;
        gboolean supported = evc_host_supports(&modes[m], &host, &why);
        g_test_message("%s: %s", modes[m].id, supported ? "supported" : why);
        g_assert_cmpint(supported, ==, lacks && !lacks[0]);
    }
    g_auto(GStrv) ids = cpu_features_evc_modes(cpu);
    g_autofree char *list = g_strjoinv(",", ids);
    g_assert_cmpstr(list, ==, "intel-merom,intel-penryn,intel-nehalem,intel-westmere,"
                              "amd-opteron-g1,amd-opteron-g2");
    /* TCG's "max" alone already has every feature of the usable models. */
    g_auto(GStrv) beyond = evc_missing_features((const char *const *)cpu->features,
                                                g_hash_table_lookup(models->expansions, "max"));
    g_assert_null(beyond[0]);
}

/* The answer is kept in the state folder for the same QEMU binary, version
 * and accelerator, and asked again when the version changes. */
static void
test_live_cache(void)
{
    if (!need_qemu())
        return;
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("test-evc-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "cpu-features.json", NULL);
    g_autoptr(HostCpuFeatures) first = cpu_features_probe(qemu_binary(), QEMU_ACCEL_TCG, dir,
                                                           &error);
    g_assert_no_error(error);
    g_autofree char *text = NULL;
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_autofree char *version_line = g_strdup_printf("\"qemu_version\" : \"%s\"",
                                                    first->qemu_version);
    g_assert_nonnull(strstr(text, version_line));
    g_assert_nonnull(strstr(text, "\"sse4.2\""));

    /* A cache that says less proves it is read instead of QEMU. */
    g_autofree char *small = g_strdup_printf(
        "{\"qemu_binary\":\"%s\",\"qemu_version\":\"%s\",\"accel\":\"tcg\",\"vendor\":null,"
        "\"features\":[\"sse2\",\"fpu\"]}", qemu_binary(), first->qemu_version);
    g_assert_true(g_file_set_contents(path, small, -1, NULL));
    g_autoptr(HostCpuFeatures) cached = cpu_features_probe(qemu_binary(), QEMU_ACCEL_TCG, dir,
                                                            &error);
    g_assert_no_error(error);
    g_autofree char *got = joined((const char *const *)cached->features);
    g_assert_cmpstr(got, ==, "fpu,sse2");

    g_autofree char *old = g_strdup_printf(
        "{\"qemu_binary\":\"%s\",\"qemu_version\":\"6.2.0\",\"accel\":\"tcg\",\"vendor\":null,"
        "\"features\":[\"sse2\",\"fpu\"]}", qemu_binary());
    g_assert_true(g_file_set_contents(path, old, -1, NULL));
    g_autoptr(HostCpuFeatures) again = cpu_features_probe(qemu_binary(), QEMU_ACCEL_TCG, dir,
                                                           &error);
    g_assert_no_error(error);
    g_assert_cmpstrv(again->features, first->features);
    g_clear_pointer(&text, g_free);
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_assert_nonnull(strstr(text, version_line));
    g_unlink(path);
    g_rmdir(dir);
}

/* ---- the generator -------------------------------------------------------------- */

/* "Skylake-Server-v3" -> "evc_Skylake_Server_v3" */
static char *
array_name(const char *model)
{
    char *name = g_strconcat("evc_", model, NULL);
    for (char *p = name; *p; p++) {
        if (!g_ascii_isalnum(*p))
            *p = '_';
    }
    return name;
}

static void
append_model(GString *out, const char *model, const char *const *features)
{
    g_autofree char *name = array_name(model);
    g_string_append_printf(out, "static const char *const %s[] = {", name);
    gsize col = G_MAXSIZE / 2;
    for (guint i = 0; features[i]; i++) {
        gsize len = strlen(features[i]) + 4;
        if (col + len > 96) {
            g_string_append(out, "\n   ");
            col = 3;
        }
        g_string_append_printf(out, " \"%s\",", features[i]);
        col += len;
    }
    g_string_append(out, "\n    NULL,\n};\n");
}

/* Writes src/common/evc-features.h from the QEMU on PATH. */
static int
regenerate(void)
{
    gsize n = 0;
    const EvcMode *modes = evc_modes(&n);
    g_autoptr(GPtrArray) names = g_ptr_array_new();
    g_autoptr(GError) error = NULL;

    for (gsize m = 0; m < n; m++)
        g_ptr_array_add(names, (gpointer)modes[m].qemu_model);
    g_ptr_array_add(names, NULL);
    if (!qemu_binary()) {
        g_printerr("test-evc: no qemu-system-x86_64 on PATH\n");
        return 1;
    }
    g_autoptr(QemuCpuModels) models = cpu_features_query_qemu(
        qemu_binary(), QEMU_ACCEL_TCG, (const char *const *)names->pdata, &error);
    if (!models) {
        g_printerr("test-evc: %s\n", error->message);
        return 1;
    }
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GString) absent = g_string_new(NULL);
    g_autoptr(GString) index = g_string_new("static const EvcModelFeatures evc_model_features[] = {\n");
    for (gsize m = 0; m < n; m++) {
        const char *const *f = g_hash_table_lookup(models->expansions, modes[m].qemu_model);
        if (!f) {
            g_string_append_printf(absent, " %s", modes[m].qemu_model);
            continue;
        }
        g_autofree char *name = array_name(modes[m].qemu_model);
        append_model(out, modes[m].qemu_model, f);
        g_string_append_printf(index, "    { \"%s\", %s },\n", modes[m].qemu_model, name);
    }
    g_string_append(index, "    { NULL, NULL },\n};\n");
    g_autofree char *text = g_strdup_printf(
        "/* evc-features.h — the feature set of each EVC mode's QEMU CPU model, included\n"
        " * by evc.c only. Generated by `VIREO_EVC_REGENERATE=1 test-evc` from QEMU %s\n"
        " * (query-cpu-model-expansion type=static under TCG, features set to true).\n"
        " * Not in that QEMU:%s. Do not edit: regenerate. */\n"
        "#define EVC_FEATURES_QEMU_VERSION \"%s\"\n\n%s\n%s",
        models->qemu_version, absent->len ? absent->str : " (none)", models->qemu_version,
        out->str, index->str);
    g_autofree char *path = g_build_filename(g_getenv("VIREO_SOURCE_ROOT"), "src", "common",
                                             "evc-features.h", NULL);
    if (!g_file_set_contents(path, text, -1, &error)) {
        g_printerr("test-evc: %s\n", error->message);
        return 1;
    }
    g_print("wrote %s from QEMU %s\n", path, models->qemu_version);
    return 0;
}

int
main(int argc, char **argv)
{
    /* The probe feeds QEMU's stdin; a binary that exits at once (the tests'
     * "not QEMU" cases) must give EPIPE, not kill the test, as in the daemon,
     * which ignores SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    if (g_getenv("VIREO_EVC_REGENERATE"))
        return regenerate();
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/evc/lookup", test_lookup);
    g_test_add_func("/evc/table", test_table);
    g_test_add_func("/evc/vendors", test_vendors);
    g_test_add_func("/evc/ordering", test_ordering);
    g_test_add_func("/evc/missing-features", test_missing_features);
    g_test_add_func("/evc/host/supports", test_host_supports);
    g_test_add_func("/evc/host/vendor", test_host_vendor);
    g_test_add_func("/evc/host/narrowed", test_host_narrowed);
    g_test_add_func("/evc/cluster-max", test_cluster_max);
    for (guint i = 0; i < G_N_ELEMENTS(change_cases); i++) {
        g_autofree char *path = g_strdup_printf("/evc/change/%s", change_cases[i].name);
        g_test_add_data_func(path, &change_cases[i], test_change);
    }
    g_test_add_func("/evc/vm-compatible", test_vm_compatible);
    g_test_add_func("/evc/host/narrow", test_narrow);
    g_test_add_func("/evc/host/config-evc-max", test_config_evc_max);
    g_test_add_func("/evc/host/probe-errors", test_probe_errors);
    g_test_add_func("/evc/live/table", test_live_table);
    g_test_add_func("/evc/live/admission", test_live_admission);
    g_test_add_func("/evc/live/cache", test_live_cache);
    return g_test_run();
}
