/* test-evc-cluster.c — EVC applied to clusters: what keeps one host (and
 * the VMs it runs) from taking a mode, the mode a starting VM runs at (fresh
 * power-on against resume and incoming vMotion), the refusal phrases, and
 * the migration check fed with a VM's recorded mode (center-evc.c). */
#include "center-evc.h"
#include "evc.h"

#include <string.h>

static const EvcMode *
mode(const char *id)
{
    const EvcMode *m = evc_mode_lookup(id);
    g_assert_nonnull(m);
    return m;
}

/* A host whose CPU is exactly a mode, as evc_max narrows one. */
static EvcHostCpu
host_at(const char *name, const char *id)
{
    return (EvcHostCpu){ name, "GenuineIntel", evc_mode_features(mode(id)) };
}

static char *
joined(GPtrArray *problems)
{
    g_ptr_array_add(problems, NULL);
    char *text = g_strjoinv(" | ", (char **)problems->pdata);
    g_ptr_array_remove_index(problems, problems->len - 1);
    return text;
}

static void
test_host_problems(void)
{
    EvcHostCpu b = host_at("esx-b", "intel-nehalem");
    gboolean in_way = TRUE;

    g_autoptr(GPtrArray) none = evc_host_change_problems(mode("nehalem"), &b, NULL, 0, &in_way);
    g_assert_cmpuint(none->len, ==, 0);
    g_assert_false(in_way);
    g_autoptr(GPtrArray) off = evc_host_change_problems(NULL, &b, NULL, 0, NULL);
    g_assert_cmpuint(off->len, ==, 0);

    /* Westmere adds AES and PCLMULQDQ: the host names what it lacks and its
     * highest mode, which is what an administrator can set instead. */
    g_autoptr(GPtrArray) p = evc_host_change_problems(mode("westmere"), &b, NULL, 0, &in_way);
    g_assert_cmpuint(p->len, ==, 1);
    g_assert_false(in_way);
    const char *s = g_ptr_array_index(p, 0);
    g_assert_nonnull(strstr(s, "esx-b lacks"));
    g_assert_nonnull(strstr(s, "aes"));
    g_assert_nonnull(strstr(s, "pclmulqdq"));
    g_assert_nonnull(strstr(s, "of intel-westmere"));
    g_assert_true(g_str_has_suffix(s, "(its highest EVC mode is intel-nehalem)"));

    /* An AMD mode on an Intel host: the vendor, and no AMD mode at all. */
    g_autoptr(GPtrArray) amd = evc_host_change_problems(mode("opteron-g1"), &b, NULL, 0, NULL);
    g_assert_cmpuint(amd->len, ==, 1);
    g_assert_nonnull(strstr(g_ptr_array_index(amd, 0), "GenuineIntel"));
    g_assert_true(g_str_has_suffix(g_ptr_array_index(amd, 0), "(its highest EVC mode is none)"));
}

static void
test_host_problems_vms(void)
{
    EvcHostCpu a = host_at("esx-a", "intel-westmere");
    const EvcRunningVm vms[] = {
        { "web", "intel-nehalem", NULL },
        { "db", "intel-merom", NULL },
        { "old", NULL, evc_mode_features(mode("penryn")) },
    };
    gboolean in_way = FALSE;

    /* Lowering to Penryn: only the VM at Nehalem uses more. */
    g_autoptr(GPtrArray) p = evc_host_change_problems(mode("penryn"), &a, vms, 3, &in_way);
    g_autofree char *text = joined(p);
    g_assert_cmpuint(p->len, ==, 1);
    g_assert_true(in_way);
    g_assert_true(g_str_has_prefix(text, "VM web runs at intel-nehalem and uses "));
    g_assert_nonnull(strstr(text, "sse4.2"));

    /* Lowering to Merom: the VM outside EVC is in the way too. */
    g_autoptr(GPtrArray) q = evc_host_change_problems(mode("merom"), &a, vms, 3, &in_way);
    g_autofree char *text2 = joined(q);
    g_assert_cmpuint(q->len, ==, 2);
    g_assert_nonnull(strstr(text2, "VM old runs outside EVC and uses"));

    /* Raising covers every running VM. */
    g_autoptr(GPtrArray) r = evc_host_change_problems(mode("westmere"), &a, vms, 3, &in_way);
    g_assert_cmpuint(r->len, ==, 0);
    g_assert_false(in_way);
}

typedef struct {
    const char *name;
    const char *host_mode;   /* NULL: EVC off on the host */
    const char *recorded;    /* the VM's vireo.evc.mode */
    gboolean resume;
    gboolean ok;
    const char *expected;    /* mode id, NULL: none */
    const char *reason_has;
} StartCase;

static const StartCase start_cases[] = {
    { "power-on-takes-host-mode", "intel-nehalem", NULL, FALSE, TRUE, "intel-nehalem", NULL },
    { "power-on-replaces-record", "intel-merom", "intel-nehalem", FALSE, TRUE, "intel-merom", NULL },
    { "power-on-without-evc", NULL, "intel-nehalem", FALSE, TRUE, NULL, NULL },
    { "vmotion-keeps-record", "intel-merom", "intel-nehalem", TRUE, TRUE, "intel-nehalem", NULL },
    { "vmotion-into-evc-host", "intel-nehalem", NULL, TRUE, TRUE, NULL, NULL },
    { "resume-outside-evc", NULL, "intel-penryn", TRUE, TRUE, "intel-penryn", NULL },
    { "resume-unknown-record", NULL, "intel-pentium", TRUE, FALSE, NULL, "'intel-pentium', which is unknown" },
    { "resume-unavailable-record", NULL, "amd-zen4", TRUE, FALSE, NULL, "EPYC-Genoa" },
};

static void
test_start(gconstpointer data)
{
    const StartCase *c = data;
    const EvcMode *host_mode = c->host_mode ? mode(c->host_mode) : NULL;
    const EvcMode *out = (const EvcMode *)0x1;
    g_autofree char *reason = NULL;

    g_assert_cmpint(evc_mode_for_start(host_mode, c->recorded, c->resume, &out, &reason), ==, c->ok);
    g_assert_cmpstr(out ? out->id : NULL, ==, c->expected);
    if (c->reason_has)
        g_assert_nonnull(strstr(reason, c->reason_has));
    else
        g_assert_null(reason);
}

static void
test_phrases(void)
{
    g_autofree char *raise = evc_change_phrase(mode("merom"), mode("nehalem"));
    g_autofree char *lower = evc_change_phrase(mode("nehalem"), mode("merom"));
    g_autofree char *enable = evc_change_phrase(NULL, mode("penryn"));
    g_autofree char *disable = evc_change_phrase(mode("penryn"), NULL);
    g_autofree char *change = evc_change_phrase(mode("opteron-g5"), mode("zen"));

    g_assert_cmpstr(raise, ==, "Cannot raise the EVC mode from intel-merom to intel-nehalem");
    g_assert_cmpstr(lower, ==, "Cannot lower the EVC mode from intel-nehalem to intel-merom");
    g_assert_cmpstr(enable, ==, "Cannot enable EVC mode intel-penryn");
    g_assert_cmpstr(disable, ==, "Cannot disable EVC");
    g_assert_cmpstr(change, ==, "Cannot change the EVC mode from amd-opteron-g5 to amd-zen");
}

/* ---- the migration check with a VM's recorded mode ---------------------- */

static JsonNode *
vm_info(const char *evc_mode)
{
    g_autofree char *text = evc_mode ? g_strdup_printf("{\"cpu\": {\"count\": 1, \"evc_mode\": \"%s\"}}",
                                                       evc_mode)
                                     : g_strdup("{\"cpu\": {\"count\": 1, \"evc_mode\": null}}");
    return json_from_string(text, NULL);
}

static MigrationHost *
host_new(const char *name, const char *features_of_mode)
{
    MigrationHost *h = migration_host_new(name, name);
    h->datastores = g_strsplit("shared", ",", -1);
    h->port_groups = g_strsplit("VM Network", ",", -1);
    h->vmotion_address = g_strdup(g_str_equal(name, "esx-a") ? "10.0.0.1" : "10.0.0.2");
    h->free_memory_mib = 4096;
    h->cpu_features = g_strdupv((char **)evc_mode_features(mode(features_of_mode)));
    return h;
}

/* dest_max: the destination's CPU; dest_evc: its cluster's mode. */
static MigrationReport *
check(const char *vm_mode, const char *dest_max, const char *dest_evc)
{
    g_autoptr(MigrationVm) vm = migration_vm_new("web", VM_POWER_STATE_POWERED_ON, 256, "shared");
    g_autoptr(MigrationHost) src = host_new("esx-a", "intel-westmere");
    g_autoptr(MigrationHost) dst = host_new("esx-b", dest_max);
    g_autoptr(JsonNode) info = vm_info(vm_mode);

    /* Without a mode the VM is judged by all its source host could give. */
    vm->cpu_features = g_strdupv(src->cpu_features);
    center_evc_migration_vm(vm, info);
    g_assert_cmpstr(vm->evc_mode, ==, vm_mode);
    dst->evc_mode = g_strdup(dest_evc);
    MigrationRequest req = { .source = src, .destination = dst };
    return migration_check(vm, &req);
}

static void
test_migration(void)
{
    /* The VM's mode, not its source host's CPU, is what the destination
     * must cover: a Nehalem host can take a VM at Nehalem from a Westmere
     * host, in the same EVC cluster or not. */
    g_autoptr(MigrationReport) same = check("intel-nehalem", "intel-nehalem", "intel-nehalem");
    g_assert_null(migration_report_find(same, MIGRATION_ISSUE_CPU_INCOMPATIBLE));
    g_autoptr(MigrationReport) outside = check("intel-nehalem", "intel-westmere", NULL);
    g_assert_null(migration_report_find(outside, MIGRATION_ISSUE_CPU_INCOMPATIBLE));

    /* A destination below the VM's mode is refused, naming what it lacks. */
    g_autoptr(MigrationReport) below = check("intel-nehalem", "intel-penryn", NULL);
    const MigrationIssue *issue = migration_report_find(below, MIGRATION_ISSUE_CPU_INCOMPATIBLE);
    g_assert_nonnull(issue);
    g_assert_nonnull(strstr(issue->message, "sse4.2"));
    g_assert_nonnull(strstr(issue->message, "VM EVC mode intel-nehalem"));

    /* Without a mode the old comparison stays: Westmere's features on a
     * Nehalem host are refused. */
    g_autoptr(MigrationReport) plain = check(NULL, "intel-nehalem", NULL);
    g_assert_nonnull(migration_report_find(plain, MIGRATION_ISSUE_CPU_INCOMPATIBLE));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/evc-cluster/host-problems", test_host_problems);
    g_test_add_func("/evc-cluster/host-problems/vms", test_host_problems_vms);
    for (guint i = 0; i < G_N_ELEMENTS(start_cases); i++) {
        g_autofree char *path = g_strdup_printf("/evc-cluster/start/%s", start_cases[i].name);
        g_test_add_data_func(path, &start_cases[i], test_start);
    }
    g_test_add_func("/evc-cluster/phrases", test_phrases);
    g_test_add_func("/evc-cluster/migration", test_migration);
    return g_test_run();
}
