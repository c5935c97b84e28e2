/* test-migration-check.c — the migration compatibility check (every check
 * alone and together, the kind decided, the impossible request) and the
 * concurrency cost model (4 vs 8 vMotions, Storage vMotion costs, the
 * datastore's 128, the queue's order and fairness). Tables of cases. */
#include "migration-check.h"
#include "vireo-error.h"

#include <string.h>

/* ---- fixture: web01 running on esx-a, both hosts alike ------------------ */

typedef struct {
    MigrationVm *vm;
    MigrationHost *src;
    MigrationHost *dst;
    MigrationRequest req;
} Fixture;

static GStrv
list(const char *comma_separated)
{
    return g_strsplit(comma_separated, ",", -1);
}

static void
set_list(GStrv *field, const char *comma_separated)
{
    g_strfreev(*field);
    *field = comma_separated != NULL ? list(comma_separated) : NULL;
}

static MigrationHost *
host_new(const char *id, const char *datastores, const char *vmotion_address)
{
    MigrationHost *h = migration_host_new(id, id);

    h->free_memory_mib = 8192;
    h->datastores = list(datastores);
    h->port_groups = list("VM Network,DMZ");
    h->vmotion_address = g_strdup(vmotion_address);
    h->vmotion_link_mbps = 10000;
    h->cpu_features = list("avx,avx2,sse2,sse4_1,sse4_2");
    h->supports_encryption = TRUE;
    return h;
}

static void
fixture_init(Fixture *f)
{
    f->vm = migration_vm_new("web01", VM_POWER_STATE_POWERED_ON, 2048, "shared");
    migration_vm_add_disk(f->vm, "scsi0:0", "shared");
    migration_vm_add_disk(f->vm, "scsi0:1", "shared");
    migration_vm_add_nic(f->vm, "ethernet0", "VM Network");
    migration_vm_add_cdrom(f->vm, "ide1:0", MIGRATION_CDROM_ISO_FILE, "iso", TRUE);
    f->vm->cpu_features = list("sse2,sse4_1,avx");
    f->src = host_new("esx-a", "shared,local-a,iso", "10.0.0.1");
    f->dst = host_new("esx-b", "shared,local-b,iso", "10.0.0.2");
    f->req.source = f->src;
    f->req.destination = f->dst;
}

static void
fixture_clear(Fixture *f)
{
    migration_vm_free(f->vm);
    migration_host_free(f->src);
    migration_host_free(f->dst);
    if (f->req.disk_datastores != NULL)
        g_hash_table_unref(f->req.disk_datastores);
}

static void
move_disk(Fixture *f, const char *label, const char *datastore)
{
    if (f->req.disk_datastores == NULL)
        f->req.disk_datastores = g_hash_table_new(g_str_hash, g_str_equal);
    g_hash_table_insert(f->req.disk_datastores, (gpointer)label, (gpointer)datastore);
}

static MigrationCdrom *
cdrom0(Fixture *f)
{
    return g_ptr_array_index(f->vm->cdroms, 0);
}

/* ---- mutations, one per case -------------------------------------------- */

static void m_none(Fixture *f) { (void)f; }
static void m_dst_no_shared(Fixture *f) { set_list(&f->dst->datastores, "local-b,iso"); }
static void m_dst_no_dmz(Fixture *f)
{
    migration_vm_add_nic(f->vm, "ethernet1", "DMZ");
    migration_vm_add_nic(f->vm, "ethernet2", "DMZ");
    migration_vm_add_nic(f->vm, "ethernet3", NULL);   /* not attached: no issue */
    set_list(&f->dst->port_groups, "VM Network");
}
static void m_dst_low_memory(Fixture *f) { f->dst->free_memory_mib = 1024; }
static void m_cd_local_iso(Fixture *f) { g_clear_pointer(&cdrom0(f)->iso_datastore, g_free); }
static void m_cd_host_device_off(Fixture *f)
{
    cdrom0(f)->backing = MIGRATION_CDROM_HOST_DEVICE;
    cdrom0(f)->connected = FALSE;
}
static void m_cd_client(Fixture *f)
{
    cdrom0(f)->backing = MIGRATION_CDROM_CLIENT_DEVICE;
    set_list(&f->dst->datastores, "shared");
}
static void m_cd_iso_unmounted(Fixture *f) { set_list(&f->dst->datastores, "shared,local-b"); }
static void m_dst_ipv6(Fixture *f) { g_free(f->dst->vmotion_address); f->dst->vmotion_address = g_strdup("fd00::2"); }
static void m_both_ipv6(Fixture *f)
{
    m_dst_ipv6(f);
    g_free(f->src->vmotion_address);
    f->src->vmotion_address = g_strdup("fd00::1");
}
static void m_dst_no_vmotion(Fixture *f) { g_clear_pointer(&f->dst->vmotion_address, g_free); }
static void m_src_bad_vmotion(Fixture *f) { g_free(f->src->vmotion_address); f->src->vmotion_address = g_strdup("10.0.0"); }
static void m_dst_slow_link(Fixture *f) { f->dst->vmotion_link_mbps = 100; }
static void m_dst_maintenance(Fixture *f) { f->dst->in_maintenance = TRUE; }
static void m_dst_not_responding(Fixture *f) { f->dst->connection_state = MIGRATION_HOST_NOT_RESPONDING; }
static void m_src_disconnected(Fixture *f) { f->src->connection_state = MIGRATION_HOST_DISCONNECTED; }
static void m_cpu_missing(Fixture *f) { set_list(&f->vm->cpu_features, "sse2,avx512f,aes,avx512bw,avx512f"); }
static void m_evc_same(Fixture *f)
{
    m_cpu_missing(f);
    f->vm->evc_mode = g_strdup("intel-merom");
    f->dst->evc_mode = g_strdup("intel-merom");
}
static void m_evc_mismatch(Fixture *f)
{
    m_cpu_missing(f);
    f->vm->evc_mode = g_strdup("intel-haswell");
    f->dst->evc_mode = g_strdup("intel-merom");
}
static void m_cpu_unknown(Fixture *f) { set_list(&f->vm->cpu_features, NULL); }
static void m_enc_required(Fixture *f)
{
    f->vm->encryption = MIGRATION_ENCRYPTION_REQUIRED;
    f->dst->supports_encryption = FALSE;
}
static void m_enc_opportunistic(Fixture *f) { f->dst->supports_encryption = FALSE; }
static void m_enc_disabled(Fixture *f)
{
    f->vm->encryption = MIGRATION_ENCRYPTION_DISABLED;
    f->dst->supports_encryption = FALSE;
    f->src->supports_encryption = FALSE;
}
static void m_local_disks(Fixture *f)
{
    migration_vm_free(f->vm);
    f->vm = migration_vm_new("db01", VM_POWER_STATE_POWERED_ON, 1024, "local-a");
    migration_vm_add_disk(f->vm, "scsi0:0", "local-a");
    migration_vm_add_disk(f->vm, "scsi0:1", "shared");
    f->vm->cpu_features = list("sse2");
}
static void m_local_disks_moved(Fixture *f) { m_local_disks(f); f->req.datastore = "local-b"; }
static void m_svmotion(Fixture *f) { f->req.destination = NULL; f->req.datastore = "local-a"; }
static void m_svmotion_one_disk(Fixture *f) { f->req.destination = NULL; move_disk(f, "scsi0:1", "local-a"); }
static void m_svmotion_unmounted(Fixture *f) { f->req.destination = NULL; f->req.datastore = "local-b"; }
static void m_svmotion_dst_is_src(Fixture *f)
{
    f->req.destination = f->src;
    f->req.datastore = "local-a";
    m_cpu_missing(f);          /* no host change: no CPU, network or memory check */
    f->src->free_memory_mib = 0;
}
static void m_off(Fixture *f) { f->vm->power_state = VM_POWER_STATE_POWERED_OFF; }
static void m_off_many(Fixture *f)
{
    m_off(f);
    m_dst_no_dmz(f);
    m_dst_low_memory(f);
    m_cpu_missing(f);
    m_dst_ipv6(f);
    m_enc_required(f);
    m_cd_local_iso(f);
    m_dst_maintenance(f);
}
static void m_suspended_low_memory(Fixture *f)
{
    f->vm->power_state = VM_POWER_STATE_SUSPENDED;
    m_dst_low_memory(f);
}
static void m_off_unreachable(Fixture *f) { m_off(f); m_dst_no_shared(f); }
static void m_off_storage_only(Fixture *f) { m_off(f); m_svmotion(f); }
static void m_off_both(Fixture *f) { m_off(f); f->req.datastore = "local-b"; }
static void m_same_host(Fixture *f) { f->req.destination = f->src; }
static void m_same_datastore(Fixture *f) { f->req.destination = NULL; f->req.datastore = "shared"; }
static void m_unknown_disk(Fixture *f) { move_disk(f, "scsi9:9", "local-b"); }
static void m_unknown_disk_only(Fixture *f) { f->req.destination = NULL; m_unknown_disk(f); }
static void m_everything(Fixture *f)
{
    m_dst_maintenance(f);
    m_dst_no_shared(f);
    m_dst_no_dmz(f);
    m_dst_low_memory(f);
    m_cd_local_iso(f);
    m_dst_ipv6(f);
    m_cpu_missing(f);
    m_enc_required(f);
}

typedef struct {
    const char *name;
    void (*mutate)(Fixture *f);
    MigrationKind kind;
    const char *issues;   /* "E:code W:code …" in report order; "" for none */
    const char *needle;   /* in the first issue's message, or NULL */
} CheckCase;

#define VM MIGRATION_KIND_VMOTION
#define SVM MIGRATION_KIND_STORAGE_VMOTION
#define BOTH MIGRATION_KIND_VMOTION_STORAGE_VMOTION
#define COLD MIGRATION_KIND_COLD
#define NONE MIGRATION_KIND_NONE

static const CheckCase check_cases[] = {
    { "vmotion-clean", m_none, VM, "", NULL },
    { "datastore-unreachable", m_dst_no_shared, VM, "E:datastore-unreachable",
      "Host esx-b cannot access datastore shared, which holds its configuration file, "
      "disk scsi0:0, disk scsi0:1 of VM web01" },
    { "portgroup-missing", m_dst_no_dmz, VM, "E:portgroup-missing",
      "Host esx-b has no port group \"DMZ\", used by ethernet1, ethernet2 of VM web01" },
    { "memory-insufficient", m_dst_low_memory, VM, "E:memory-insufficient",
      "Host esx-b has 1024 MiB of memory free but VM web01 needs 2048 MiB" },
    { "cdrom-local-iso", m_cd_local_iso, VM, "E:cdrom-host-local",
      "CD/DVD drive ide1:0 of VM web01 uses an image on host esx-a's own disk" },
    { "cdrom-host-device-disconnected", m_cd_host_device_off, VM, "W:cdrom-host-local",
      "physical drive of host esx-a" },
    { "cdrom-client-device", m_cd_client, VM, "", NULL },
    { "cdrom-iso-unmounted", m_cd_iso_unmounted, VM, "E:cdrom-host-local",
      "an image on datastore iso, which host esx-b cannot reach" },
    { "vmotion-ipv4-ipv6", m_dst_ipv6, VM, "E:vmotion-address-family",
      "host esx-a (10.0.0.1, IPv4) and host esx-b (fd00::2, IPv6)" },
    { "vmotion-ipv6-ipv6", m_both_ipv6, VM, "", NULL },
    { "vmotion-no-interface", m_dst_no_vmotion, VM, "E:vmotion-not-configured",
      "Host esx-b has no vMotion interface" },
    { "vmotion-bad-address", m_src_bad_vmotion, VM, "E:vmotion-not-configured",
      "\"10.0.0\" is not an IPv4 or IPv6 address" },
    { "vmotion-slow-link", m_dst_slow_link, VM, "W:vmotion-link-slow", "100 Mb/s" },
    { "host-maintenance", m_dst_maintenance, VM, "E:host-maintenance",
      "destination host esx-b is in maintenance mode" },
    { "host-not-responding", m_dst_not_responding, VM, "E:host-not-responding",
      "destination host esx-b is not responding" },
    { "source-disconnected", m_src_disconnected, VM, "E:host-not-responding",
      "source host esx-a is disconnected" },
    { "cpu-missing", m_cpu_missing, VM, "E:cpu-incompatible",
      "lacks features VM web01 runs with: aes, avx512bw, avx512f." },
    { "cpu-evc-same-mode", m_evc_same, VM, "", NULL },
    { "cpu-evc-other-mode", m_evc_mismatch, VM, "E:cpu-incompatible",
      "aes, avx512bw, avx512f (VM EVC mode intel-haswell, host esx-b EVC mode intel-merom)" },
    { "cpu-unknown", m_cpu_unknown, VM, "W:cpu-unknown", "not checked" },
    { "encryption-required", m_enc_required, VM, "E:encryption-required-unsupported",
      "VM web01 requires encrypted vMotion but host esx-b cannot encrypt" },
    { "encryption-opportunistic", m_enc_opportunistic, VM, "W:encryption-unavailable",
      "unencrypted" },
    { "encryption-disabled", m_enc_disabled, VM, "", NULL },
    { "impossible-no-shared-storage", m_local_disks, VM, "E:datastore-unreachable",
      "Host esx-b cannot access datastore local-a, which holds its configuration file, "
      "disk scsi0:0 of VM db01: also choose a datastore that esx-b mounts, so the disks "
      "move with the VM (vMotion + Storage vMotion)" },
    { "vmotion-and-storage", m_local_disks_moved, BOTH, "", NULL },
    { "storage-vmotion-all", m_svmotion, SVM, "", NULL },
    { "storage-vmotion-one-disk", m_svmotion_one_disk, SVM, "", NULL },
    { "storage-vmotion-unmounted", m_svmotion_unmounted, SVM, "E:datastore-unreachable",
      "Datastore local-b, chosen for its configuration file, disk scsi0:0, disk scsi0:1 of "
      "VM web01, is not mounted on host esx-a" },
    { "storage-vmotion-explicit-same-host", m_svmotion_dst_is_src, SVM, "", NULL },
    { "cold-clean", m_off, COLD, "", NULL },
    { "cold-warnings-only", m_off_many, COLD,
      "W:host-maintenance W:portgroup-missing W:cdrom-host-local",
      "will not power on until the host leaves maintenance mode" },
    { "cold-suspended-memory", m_suspended_low_memory, COLD, "W:memory-insufficient",
      "suspended VM web01 needs 2048 MiB to resume" },
    { "cold-unreachable", m_off_unreachable, COLD, "E:datastore-unreachable",
      "so the files are copied there" },
    { "cold-storage-only", m_off_storage_only, COLD, "", NULL },
    { "cold-host-and-storage", m_off_both, COLD, "", NULL },
    { "same-host", m_same_host, NONE, "E:same-placement", "VM web01 is already on host esx-a" },
    { "same-datastore", m_same_datastore, NONE, "E:same-placement", NULL },
    { "unknown-disk", m_unknown_disk, VM, "E:disk-unknown", "VM web01 has no disk scsi9:9" },
    { "unknown-disk-only", m_unknown_disk_only, NONE, "E:disk-unknown E:same-placement", NULL },
    { "all-at-once", m_everything, VM,
      "E:host-maintenance E:datastore-unreachable E:portgroup-missing E:memory-insufficient "
      "E:cdrom-host-local E:vmotion-address-family E:cpu-incompatible "
      "E:encryption-required-unsupported", NULL },
};

static char *
issues_string(const MigrationReport *report)
{
    g_autoptr(GString) s = g_string_new(NULL);

    for (guint i = 0; i < report->issues->len; i++) {
        const MigrationIssue *issue = g_ptr_array_index(report->issues, i);
        g_string_append_printf(s, "%s%c:%s", i > 0 ? " " : "",
                               issue->severity == MIGRATION_SEVERITY_ERROR ? 'E' : 'W',
                               migration_issue_code_to_string(issue->code));
    }
    return g_string_free(g_steal_pointer(&s), FALSE);
}

static void
test_check_case(gconstpointer data)
{
    const CheckCase *c = data;
    Fixture f = { 0 };

    fixture_init(&f);
    c->mutate(&f);
    g_autoptr(MigrationReport) report = migration_check(f.vm, &f.req);
    g_autofree char *got = issues_string(report);

    g_assert_cmpstr(got, ==, c->issues);
    g_assert_cmpstr(migration_kind_to_string(report->kind), ==, migration_kind_to_string(c->kind));
    g_assert_cmpint(migration_kind_decide(f.vm, &f.req), ==, c->kind);
    if (c->needle != NULL) {
        const MigrationIssue *first = g_ptr_array_index(report->issues, 0);
        if (strstr(first->message, c->needle) == NULL)
            g_error("message \"%s\" lacks \"%s\"", first->message, c->needle);
    }
    /* Every message names the VM or a host and says what to do. */
    for (guint i = 0; i < report->issues->len; i++) {
        const MigrationIssue *issue = g_ptr_array_index(report->issues, i);
        g_assert_nonnull(strchr(issue->message, ':'));
        g_assert_true(g_str_has_suffix(issue->message, "."));
    }
    fixture_clear(&f);
}

/* The report as the API's error: every error listed, the right error_type. */
static void
test_report_to_error(void)
{
    static const struct {
        void (*mutate)(Fixture *f);
        int code;           /* -1: no error */
        guint separators;   /* "; " between errors */
    } rows[] = {
        { m_none, -1, 0 },
        { m_enc_opportunistic, -1, 0 },   /* a warning is no error */
        { m_same_host, VIREO_ERROR_ALREADY_IN_DESIRED_STATE, 0 },
        { m_unknown_disk_only, VIREO_ERROR_INVALID_ARGUMENT, 1 },
        { m_dst_no_shared, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE, 0 },
        { m_everything, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE, 7 },
    };

    for (guint i = 0; i < G_N_ELEMENTS(rows); i++) {
        Fixture f = { 0 };
        g_autoptr(GError) error = NULL;

        fixture_init(&f);
        rows[i].mutate(&f);
        g_autoptr(MigrationReport) report = migration_check(f.vm, &f.req);
        gboolean ok = migration_report_to_error(report, &error);
        if (rows[i].code < 0) {
            g_assert_no_error(error);
            g_assert_true(ok);
        } else {
            g_assert_false(ok);
            g_assert_error(error, VIREO_ERROR, rows[i].code);
            g_auto(GStrv) parts = g_strsplit(error->message, "; ", -1);
            g_assert_cmpuint(g_strv_length(parts), ==, rows[i].separators + 1);
            g_assert_cmpuint(migration_report_count(report, MIGRATION_SEVERITY_ERROR), ==,
                             rows[i].separators + 1);
        }
        fixture_clear(&f);
    }
}

static void
test_features_missing(void)
{
    static const struct {
        const char *wanted, *offered, *missing;
    } rows[] = {
        { "sse2,avx", "avx,sse2,sse4_2", "" },
        { "sse2,avx2,aes,avx2", "sse2", "aes,avx2" },
        { "x", NULL, "x" },
        { NULL, "x", "" },
    };

    for (guint i = 0; i < G_N_ELEMENTS(rows); i++) {
        g_auto(GStrv) wanted = rows[i].wanted ? list(rows[i].wanted) : NULL;
        g_auto(GStrv) offered = rows[i].offered ? list(rows[i].offered) : NULL;
        g_auto(GStrv) missing = migration_features_missing((const char *const *)wanted,
                                                           (const char *const *)offered);
        g_autofree char *got = g_strjoinv(",", missing);
        g_assert_cmpstr(got, ==, rows[i].missing);
    }
}

/* ---- costs ------------------------------------------------------------- */

static gint
compare_strings(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static char *
charges_string(const MigrationDemand *demand)
{
    g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func(g_free);

    for (guint i = 0; i < demand->charges->len; i++) {
        const MigrationCharge *c = g_ptr_array_index(demand->charges, i);
        g_ptr_array_add(parts, g_strdup_printf("%s/%s=%u",
                        migration_resource_to_string(c->resource), c->id, c->cost));
    }
    g_ptr_array_sort(parts, compare_strings);
    g_ptr_array_add(parts, NULL);
    return g_strjoinv(" ", (char **)parts->pdata);
}

static void
test_demand_charges(void)
{
    static const struct {
        void (*mutate)(Fixture *f);
        MigrationKind kind;
        const char *charges;   /* sorted */
    } rows[] = {
        { m_none, VM, "datastore/shared=1 host/esx-a=1 host/esx-b=1 network/esx-a=1 "
                      "network/esx-b=1" },
        { m_svmotion, SVM, "datastore/local-a=16 datastore/shared=16 host/esx-a=4" },
        { m_svmotion_one_disk, SVM, "datastore/local-a=16 datastore/shared=16 host/esx-a=4" },
        { m_local_disks_moved, BOTH, "datastore/local-a=16 datastore/local-b=16 "
          "datastore/shared=16 host/esx-a=4 host/esx-b=4 network/esx-a=1 network/esx-b=1" },
        { m_off, COLD, "datastore/shared=1 host/esx-a=1 host/esx-b=1" },
        { m_off_storage_only, COLD, "datastore/local-a=16 datastore/shared=16 host/esx-a=1" },
        { m_same_host, NONE, "" },
    };

    for (guint i = 0; i < G_N_ELEMENTS(rows); i++) {
        Fixture f = { 0 };

        fixture_init(&f);
        rows[i].mutate(&f);
        g_autoptr(MigrationDemand) demand = migration_demand_new(f.vm, &f.req);
        g_autofree char *got = charges_string(demand);
        g_assert_cmpstr(got, ==, rows[i].charges);
        g_assert_cmpint(demand->kind, ==, rows[i].kind);
        fixture_clear(&f);
    }
}

/* A running VM `name` on `ds`, moved from host `from` to host `to`
 * (to NULL: Storage vMotion to `target_ds`). */
static MigrationDemand *
demand_for(const char *name, MigrationHost *from, MigrationHost *to, const char *ds,
           const char *target_ds)
{
    g_autoptr(MigrationVm) vm = migration_vm_new(name, VM_POWER_STATE_POWERED_ON, 512, ds);
    MigrationRequest req = { .source = from, .destination = to, .datastore = target_ds };

    migration_vm_add_disk(vm, "scsi0:0", ds);
    return migration_demand_new(vm, &req);
}

static void
assert_has(const char *text, const char *needle)
{
    if (text == NULL || strstr(text, needle) == NULL)
        g_error("\"%s\" lacks \"%s\"", text ? text : "(null)", needle);
}

/* Start vMotions a -> b until one must wait; returns how many started. */
static guint
fill_vmotions(MigrationCosts *costs, MigrationHost *a, MigrationHost *b, GPtrArray *keep,
              char **reason)
{
    for (guint n = 0;; n++) {
        g_autofree char *name = g_strdup_printf("vm%u", n);
        g_autoptr(MigrationDemand) d = demand_for(name, a, b, "shared", NULL);
        if (!migration_costs_can_start(costs, d, reason))
            return n;
        migration_costs_start(costs, d);
        g_ptr_array_add(keep, g_steal_pointer(&d));
    }
}

static void
test_vmotion_slots_by_link(void)
{
    static const struct {
        guint link_mbps;
        guint override_fast;   /* 0: default limits */
        guint expect;
        const char *reason;
    } rows[] = {
        { 1000, 0, 4, "host esx-a runs 4 of 4 vMotion slots (1000 Mb/s vMotion link)" },
        { 10000, 0, 8, "host esx-a runs 8 of 8 vMotion slots (10000 Mb/s vMotion link)" },
        { 25000, 0, 8, "8 of 8 vMotion slots (25000 Mb/s" },
        { 0, 0, 4, "vMotion link speed unknown, counted as 1 Gb/s" },
        { 10000, 6, 6, "host esx-a runs 6 of 6 vMotion slots" },
    };

    for (guint i = 0; i < G_N_ELEMENTS(rows); i++) {
        g_autoptr(MigrationHost) a = host_new("esx-a", "shared", "10.0.0.1");
        g_autoptr(MigrationHost) b = host_new("esx-b", "shared", "10.0.0.2");
        g_autoptr(GPtrArray) running = g_ptr_array_new_with_free_func((GDestroyNotify)migration_demand_free);
        MigrationLimits limits;
        g_autofree char *reason = NULL;

        migration_limits_init_default(&limits);
        if (rows[i].override_fast)
            limits.network_max_fast = rows[i].override_fast;
        g_autoptr(MigrationCosts) costs = migration_costs_new(&limits);
        a->vmotion_link_mbps = rows[i].link_mbps;
        b->vmotion_link_mbps = 100000;   /* the destination is never the limit here */

        g_assert_cmpuint(fill_vmotions(costs, a, b, running, &reason), ==, rows[i].expect);
        assert_has(reason, rows[i].reason);
        g_assert_true(g_str_has_prefix(reason, "waiting: "));
        g_assert_cmpuint(migration_costs_in_use(costs, MIGRATION_RESOURCE_NETWORK, "esx-a"), ==,
                         rows[i].expect);
        g_assert_cmpuint(migration_costs_in_use(costs, MIGRATION_RESOURCE_DATASTORE, "shared"),
                         ==, rows[i].expect);

        /* One finishes: one more may start, and all released leaves nothing. */
        migration_costs_finish(costs, g_ptr_array_index(running, 0));
        g_autoptr(MigrationDemand) next = demand_for("late", a, b, "shared", NULL);
        g_assert_true(migration_costs_can_start(costs, next, NULL));
        for (guint j = 1; j < running->len; j++)
            migration_costs_finish(costs, g_ptr_array_index(running, j));
        g_assert_cmpuint(migration_costs_in_use(costs, MIGRATION_RESOURCE_NETWORK, "esx-a"), ==, 0);
        g_assert_cmpuint(migration_costs_in_use(costs, MIGRATION_RESOURCE_HOST, "esx-b"), ==, 0);
    }
}

/* A host's 8: two Storage vMotions, or one and four vMotions. */
static void
test_storage_vmotion_host_cost(void)
{
    g_autoptr(MigrationHost) a = host_new("esx-a", "shared,t1,t2,t3", "10.0.0.1");
    g_autoptr(MigrationHost) b = host_new("esx-b", "shared", "10.0.0.2");
    g_autoptr(MigrationCosts) costs = migration_costs_new(NULL);
    g_autoptr(MigrationDemand) sv1 = demand_for("s1", a, NULL, "shared", "t1");
    g_autoptr(MigrationDemand) sv2 = demand_for("s2", a, NULL, "shared", "t2");
    g_autoptr(MigrationDemand) sv3 = demand_for("s3", a, NULL, "shared", "t3");
    g_autoptr(GPtrArray) running = g_ptr_array_new_with_free_func((GDestroyNotify)migration_demand_free);
    g_autofree char *reason = NULL;
    g_autofree char *reason2 = NULL;

    g_assert_true(migration_costs_can_start(costs, sv1, NULL));
    migration_costs_start(costs, sv1);
    g_assert_true(migration_costs_can_start(costs, sv2, NULL));
    migration_costs_start(costs, sv2);
    g_assert_false(migration_costs_can_start(costs, sv3, &reason));
    g_assert_cmpstr(reason, ==, "waiting: host esx-a uses 8 of 8 migration cost units, "
                                "this migration needs 4");

    migration_costs_finish(costs, sv2);
    g_assert_cmpuint(fill_vmotions(costs, a, b, running, &reason2), ==, 4);
    assert_has(reason2, "host esx-a uses 8 of 8 migration cost units, this migration needs 1");
    g_assert_cmpuint(migration_costs_in_use(costs, MIGRATION_RESOURCE_DATASTORE, "shared"), ==,
                     16 + 4);
}

/* A datastore's 128: eight Storage vMotions out of it (16 each), spread
 * over hosts so that no host is the limit; then even a vMotion waits. */
static void
test_datastore_limit(void)
{
    g_autoptr(MigrationCosts) costs = migration_costs_new(NULL);
    g_autoptr(GPtrArray) hosts = g_ptr_array_new_with_free_func((GDestroyNotify)migration_host_free);
    g_autoptr(GPtrArray) running = g_ptr_array_new_with_free_func((GDestroyNotify)migration_demand_free);
    g_autofree char *reason = NULL;
    g_autofree char *reason2 = NULL;

    for (guint i = 0; i < 6; i++) {
        g_autofree char *id = g_strdup_printf("esx-%u", i);
        g_ptr_array_add(hosts, host_new(id, "big", "10.0.0.9"));
    }
    for (guint i = 0; i < 8; i++) {
        g_autofree char *name = g_strdup_printf("sv%u", i);
        g_autofree char *target = g_strdup_printf("t%u", i);
        MigrationDemand *d = demand_for(name, g_ptr_array_index(hosts, i / 2), NULL, "big", target);
        g_assert_true(migration_costs_can_start(costs, d, NULL));
        migration_costs_start(costs, d);
        g_ptr_array_add(running, d);
    }
    g_assert_cmpuint(migration_costs_in_use(costs, MIGRATION_RESOURCE_DATASTORE, "big"), ==, 128);

    g_autoptr(MigrationDemand) vmotion = demand_for("late", g_ptr_array_index(hosts, 4),
                                                    g_ptr_array_index(hosts, 5), "big", NULL);
    g_assert_false(migration_costs_can_start(costs, vmotion, &reason));
    g_assert_cmpstr(reason, ==, "waiting: datastore big uses 128 of 128 migration cost units, "
                                "this migration needs 1");
    g_autoptr(MigrationDemand) sv = demand_for("late2", g_ptr_array_index(hosts, 5), NULL,
                                               "big", "t9");
    g_assert_false(migration_costs_can_start(costs, sv, &reason2));
    assert_has(reason2, "datastore big uses 128 of 128");

    migration_costs_finish(costs, g_ptr_array_index(running, 3));
    g_assert_true(migration_costs_can_start(costs, vmotion, NULL));
    g_assert_true(migration_costs_can_start(costs, sv, NULL));
}

/* A limit below one migration's cost slows it, never blocks it forever. */
static void
test_oversized_charge(void)
{
    g_autoptr(MigrationHost) a = host_new("esx-a", "shared,t1,t2", "10.0.0.1");
    MigrationLimits limits;
    migration_limits_init_default(&limits);
    limits.host_max = 2;
    g_autoptr(MigrationCosts) costs = migration_costs_new(&limits);
    g_autoptr(MigrationDemand) sv1 = demand_for("s1", a, NULL, "shared", "t1");
    g_autoptr(MigrationDemand) sv2 = demand_for("s2", a, NULL, "shared", "t2");

    g_assert_true(migration_costs_can_start(costs, sv1, NULL));
    migration_costs_start(costs, sv1);
    g_assert_false(migration_costs_can_start(costs, sv2, NULL));
    migration_costs_finish(costs, sv1);
    g_assert_true(migration_costs_can_start(costs, sv2, NULL));
}

/* FIFO, and fairness: a waiting Storage vMotion keeps later vMotions off
 * its host until it has run, while migrations elsewhere go ahead. */
static void
test_queue_order_and_release(void)
{
    g_autoptr(MigrationHost) a = host_new("esx-a", "shared,t1", "10.0.0.1");
    g_autoptr(MigrationHost) b = host_new("esx-b", "shared", "10.0.0.2");
    g_autoptr(MigrationHost) c = host_new("esx-c", "other", "10.0.0.3");
    g_autoptr(MigrationHost) d = host_new("esx-d", "other", "10.0.0.4");
    g_autoptr(MigrationCosts) costs = migration_costs_new(NULL);
    g_autoptr(MigrationQueue) queue = migration_queue_new();
    g_autoptr(GPtrArray) running = g_ptr_array_new_with_free_func((GDestroyNotify)migration_demand_free);
    MigrationDemand *started = NULL;
    const char *task_sv = "task-sv", *task_v1 = "task-v1", *task_v2 = "task-v2",
               *task_cd = "task-cd";

    for (guint i = 0; i < 6; i++) {   /* esx-a at 6 of 8 */
        g_autofree char *name = g_strdup_printf("r%u", i);
        MigrationDemand *r = demand_for(name, a, b, "shared", NULL);
        migration_costs_start(costs, r);
        g_ptr_array_add(running, r);
    }
    migration_queue_push(queue, demand_for("sv", a, NULL, "shared", "t1"), (gpointer)task_sv);
    migration_queue_push(queue, demand_for("v1", a, b, "shared", NULL), (gpointer)task_v1);
    migration_queue_push(queue, demand_for("v2", a, b, "shared", NULL), (gpointer)task_v2);
    migration_queue_push(queue, demand_for("cd", c, d, "other", NULL), (gpointer)task_cd);
    g_assert_cmpuint(migration_queue_length(queue), ==, 4);

    /* v1 alone would fit (7 of 8) but the Storage vMotion came first. */
    g_assert_true(migration_queue_next_startable(queue, costs, &started) == task_cd);
    g_ptr_array_add(running, started);
    g_assert_null(migration_queue_next_startable(queue, costs, &started));
    g_assert_null(started);

    g_autofree char *says_sv = migration_queue_describe(queue, costs, (gpointer)task_sv);
    g_autofree char *says_v1 = migration_queue_describe(queue, costs, (gpointer)task_v1);
    g_assert_cmpstr(says_sv, ==, "queued (0 ahead); waiting: host esx-a uses 6 of 8 migration "
                                 "cost units, this migration needs 4");
    g_assert_cmpstr(says_v1, ==, "queued (1 ahead); waiting for earlier migrations that need "
                                 "host esx-a");
    g_assert_null(migration_queue_describe(queue, costs, (gpointer)task_cd));

    /* Two vMotions finish: 4 of 8, the Storage vMotion starts (8 of 8). */
    migration_costs_finish(costs, g_ptr_array_index(running, 0));
    g_assert_null(migration_queue_next_startable(queue, costs, &started));
    migration_costs_finish(costs, g_ptr_array_index(running, 1));
    g_assert_true(migration_queue_next_startable(queue, costs, &started) == task_sv);
    g_autoptr(MigrationDemand) sv = g_steal_pointer(&started);
    g_assert_cmpuint(migration_costs_in_use(costs, MIGRATION_RESOURCE_HOST, "esx-a"), ==, 8);
    g_assert_null(migration_queue_next_startable(queue, costs, &started));

    /* It finishes: the vMotions follow in their order. */
    migration_costs_finish(costs, sv);
    g_assert_true(migration_queue_next_startable(queue, costs, &started) == task_v1);
    g_ptr_array_add(running, started);
    g_assert_true(migration_queue_next_startable(queue, costs, &started) == task_v2);
    g_ptr_array_add(running, started);
    g_assert_cmpuint(migration_queue_length(queue), ==, 0);
    g_assert_cmpuint(migration_costs_in_use(costs, MIGRATION_RESOURCE_HOST, "esx-a"), ==, 6);
}

static void
test_queue_remove(void)
{
    g_autoptr(MigrationHost) a = host_new("esx-a", "shared", "10.0.0.1");
    g_autoptr(MigrationHost) b = host_new("esx-b", "shared", "10.0.0.2");
    g_autoptr(MigrationCosts) costs = migration_costs_new(NULL);
    g_autoptr(MigrationQueue) queue = migration_queue_new();
    MigrationDemand *started = NULL;
    int t1, t2;

    migration_queue_push(queue, demand_for("v1", a, b, "shared", NULL), &t1);
    migration_queue_push(queue, demand_for("v2", a, b, "shared", NULL), &t2);
    g_assert_true(migration_queue_remove(queue, &t1));
    g_assert_false(migration_queue_remove(queue, &t1));
    g_autofree char *says = migration_queue_describe(queue, costs, &t2);
    g_assert_cmpstr(says, ==, "queued (0 ahead); ready to start");
    g_assert_true(migration_queue_next_startable(queue, costs, &started) == &t2);
    migration_costs_finish(costs, started);
    migration_demand_free(started);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS(check_cases); i++) {
        g_autofree char *path = g_strdup_printf("/migration/check/%s", check_cases[i].name);
        g_test_add_data_func(path, &check_cases[i], test_check_case);
    }
    g_test_add_func("/migration/check/report-to-error", test_report_to_error);
    g_test_add_func("/migration/check/features-missing", test_features_missing);
    g_test_add_func("/migration/cost/demand-charges", test_demand_charges);
    g_test_add_func("/migration/cost/vmotion-slots-by-link", test_vmotion_slots_by_link);
    g_test_add_func("/migration/cost/storage-vmotion-host", test_storage_vmotion_host_cost);
    g_test_add_func("/migration/cost/datastore-128", test_datastore_limit);
    g_test_add_func("/migration/cost/oversized-charge", test_oversized_charge);
    g_test_add_func("/migration/queue/order-and-release", test_queue_order_and_release);
    g_test_add_func("/migration/queue/remove", test_queue_remove);
    return g_test_run();
}
