/* migration-check.c — the compatibility check run before any migration:
 * decides the kind (cold, vMotion, Storage vMotion, both) and lists every
 * reason the move would fail or deserves a warning, each naming what to do.
 * Pure code: no I/O, clock or process. Costs and the queue: migration-cost.c.
 */
#include "migration-check.h"
#include "vireo-error.h"

#include <gio/gio.h>
#include <string.h>

/* ---- enum string tables ------------------------------------------------ */

static const char *const kind_names[] = {
    [MIGRATION_KIND_NONE] = "none",
    [MIGRATION_KIND_COLD] = "cold",
    [MIGRATION_KIND_VMOTION] = "vmotion",
    [MIGRATION_KIND_STORAGE_VMOTION] = "storage-vmotion",
    [MIGRATION_KIND_VMOTION_STORAGE_VMOTION] = "vmotion-storage-vmotion",
};

static const char *const encryption_names[] = {
    [MIGRATION_ENCRYPTION_DISABLED] = "disabled",
    [MIGRATION_ENCRYPTION_OPPORTUNISTIC] = "opportunistic",
    [MIGRATION_ENCRYPTION_REQUIRED] = "required",
};

static const char *const connection_names[] = {
    [MIGRATION_HOST_CONNECTED] = "connected",
    [MIGRATION_HOST_DISCONNECTED] = "disconnected",
    [MIGRATION_HOST_NOT_RESPONDING] = "not-responding",
};

static const char *const severity_names[] = {
    [MIGRATION_SEVERITY_ERROR] = "error",
    [MIGRATION_SEVERITY_WARNING] = "warning",
};

static const char *const issue_names[] = {
    [MIGRATION_ISSUE_SAME_PLACEMENT] = "same-placement",
    [MIGRATION_ISSUE_DISK_UNKNOWN] = "disk-unknown",
    [MIGRATION_ISSUE_HOST_NOT_RESPONDING] = "host-not-responding",
    [MIGRATION_ISSUE_HOST_MAINTENANCE] = "host-maintenance",
    [MIGRATION_ISSUE_DATASTORE_UNREACHABLE] = "datastore-unreachable",
    [MIGRATION_ISSUE_PORTGROUP_MISSING] = "portgroup-missing",
    [MIGRATION_ISSUE_MEMORY_INSUFFICIENT] = "memory-insufficient",
    [MIGRATION_ISSUE_CDROM_HOST_LOCAL] = "cdrom-host-local",
    [MIGRATION_ISSUE_VMOTION_NOT_CONFIGURED] = "vmotion-not-configured",
    [MIGRATION_ISSUE_VMOTION_ADDRESS_FAMILY] = "vmotion-address-family",
    [MIGRATION_ISSUE_VMOTION_LINK_SLOW] = "vmotion-link-slow",
    [MIGRATION_ISSUE_CPU_INCOMPATIBLE] = "cpu-incompatible",
    [MIGRATION_ISSUE_CPU_UNKNOWN] = "cpu-unknown",
    [MIGRATION_ISSUE_ENCRYPTION_REQUIRED_UNSUPPORTED] = "encryption-required-unsupported",
    [MIGRATION_ISSUE_ENCRYPTION_UNAVAILABLE] = "encryption-unavailable",
    [MIGRATION_ISSUE_DATASTORE_SPACE] = "datastore-space",
    [MIGRATION_ISSUE_DATASTORE_OVERCOMMIT] = "datastore-overcommit",
};

static const char *
table_name(const char *const *table, guint n, int value)
{
    return value >= 0 && (guint)value < n ? table[value] : NULL;
}

#define NAME_OF(table, v) table_name(table, G_N_ELEMENTS(table), (int)(v))

const char *migration_kind_to_string(MigrationKind k) { return NAME_OF(kind_names, k); }
const char *migration_encryption_to_string(MigrationEncryption m) { return NAME_OF(encryption_names, m); }
const char *migration_host_connection_to_string(MigrationHostConnection s) { return NAME_OF(connection_names, s); }
const char *migration_severity_to_string(MigrationSeverity s) { return NAME_OF(severity_names, s); }
const char *migration_issue_code_to_string(MigrationIssueCode c) { return NAME_OF(issue_names, c); }

gboolean
migration_encryption_from_string(const char *s, MigrationEncryption *out)
{
    for (guint i = 0; s != NULL && i < G_N_ELEMENTS(encryption_names); i++) {
        if (g_ascii_strcasecmp(s, encryption_names[i]) == 0) {
            *out = (MigrationEncryption)i;
            return TRUE;
        }
    }
    return FALSE;
}

/* ---- inputs ------------------------------------------------------------- */

static void
disk_free(gpointer p)
{
    MigrationDisk *d = p;
    g_free(d->label);
    g_free(d->datastore);
    g_free(d);
}

static void
nic_free(gpointer p)
{
    MigrationNic *n = p;
    g_free(n->label);
    g_free(n->port_group);
    g_free(n);
}

static void
cdrom_free(gpointer p)
{
    MigrationCdrom *c = p;
    g_free(c->label);
    g_free(c->iso_datastore);
    g_free(c);
}

MigrationVm *
migration_vm_new(const char *name, VmPowerState power_state, guint64 memory_mib,
                 const char *home_datastore)
{
    MigrationVm *vm = g_new0(MigrationVm, 1);
    vm->name = g_strdup(name);
    vm->power_state = power_state;
    vm->memory_mib = memory_mib;
    vm->home_datastore = g_strdup(home_datastore);
    vm->disks = g_ptr_array_new_with_free_func(disk_free);
    vm->nics = g_ptr_array_new_with_free_func(nic_free);
    vm->cdroms = g_ptr_array_new_with_free_func(cdrom_free);
    vm->encryption = MIGRATION_ENCRYPTION_OPPORTUNISTIC;
    return vm;
}

void
migration_vm_free(MigrationVm *vm)
{
    if (vm == NULL)
        return;
    g_free(vm->name);
    g_free(vm->home_datastore);
    g_ptr_array_unref(vm->disks);
    g_ptr_array_unref(vm->nics);
    g_ptr_array_unref(vm->cdroms);
    g_strfreev(vm->cpu_features);
    g_free(vm->evc_mode);
    g_free(vm);
}

void
migration_vm_add_disk(MigrationVm *vm, const char *label, const char *datastore)
{
    MigrationDisk *d = g_new0(MigrationDisk, 1);
    d->label = g_strdup(label);
    d->datastore = g_strdup(datastore);
    g_ptr_array_add(vm->disks, d);
}

void
migration_vm_add_nic(MigrationVm *vm, const char *label, const char *port_group)
{
    MigrationNic *n = g_new0(MigrationNic, 1);
    n->label = g_strdup(label);
    n->port_group = g_strdup(port_group);
    g_ptr_array_add(vm->nics, n);
}

void
migration_vm_add_cdrom(MigrationVm *vm, const char *label, MigrationCdromBacking backing,
                       const char *iso_datastore, gboolean connected)
{
    MigrationCdrom *c = g_new0(MigrationCdrom, 1);
    c->label = g_strdup(label);
    c->backing = backing;
    c->iso_datastore = g_strdup(iso_datastore);
    c->connected = connected;
    g_ptr_array_add(vm->cdroms, c);
}

MigrationHost *
migration_host_new(const char *id, const char *name)
{
    MigrationHost *h = g_new0(MigrationHost, 1);
    h->id = g_strdup(id);
    h->name = g_strdup(name != NULL ? name : id);
    h->connection_state = MIGRATION_HOST_CONNECTED;
    return h;
}

void
migration_host_free(MigrationHost *h)
{
    if (h == NULL)
        return;
    g_free(h->id);
    g_free(h->name);
    g_strfreev(h->datastores);
    g_strfreev(h->port_groups);
    g_free(h->vmotion_address);
    g_strfreev(h->cpu_features);
    g_free(h->evc_mode);
    g_free(h);
}

/* ---- placement and kind ------------------------------------------------- */

static gboolean
strv_has(const char *const *strv, const char *s)
{
    return strv != NULL && s != NULL && g_strv_contains(strv, s);
}

const MigrationHost *
migration_request_target_host(const MigrationRequest *request)
{
    return request->destination != NULL ? request->destination : request->source;
}

const char *
migration_request_target_datastore(const MigrationRequest *request, const MigrationVm *vm,
                                   const MigrationDisk *disk)
{
    if (disk != NULL && request->disk_datastores != NULL) {
        const char *own = g_hash_table_lookup(request->disk_datastores, disk->label);
        if (own != NULL)
            return own;
    }
    if (request->datastore != NULL)
        return request->datastore;
    return disk != NULL ? disk->datastore : vm->home_datastore;
}

static gboolean
host_changes(const MigrationRequest *request)
{
    return request->destination != NULL &&
           g_strcmp0(request->destination->id, request->source->id) != 0;
}

static gboolean
storage_changes(const MigrationVm *vm, const MigrationRequest *request)
{
    if (g_strcmp0(migration_request_target_datastore(request, vm, NULL), vm->home_datastore) != 0)
        return TRUE;
    for (guint i = 0; i < vm->disks->len; i++) {
        const MigrationDisk *d = g_ptr_array_index(vm->disks, i);
        if (g_strcmp0(migration_request_target_datastore(request, vm, d), d->datastore) != 0)
            return TRUE;
    }
    return FALSE;
}

MigrationKind
migration_kind_decide(const MigrationVm *vm, const MigrationRequest *request)
{
    gboolean host = host_changes(request);
    gboolean storage = storage_changes(vm, request);

    if (!host && !storage)
        return MIGRATION_KIND_NONE;
    if (vm->power_state != VM_POWER_STATE_POWERED_ON)
        return MIGRATION_KIND_COLD;
    if (host && storage)
        return MIGRATION_KIND_VMOTION_STORAGE_VMOTION;
    return host ? MIGRATION_KIND_VMOTION : MIGRATION_KIND_STORAGE_VMOTION;
}

/* ---- the report --------------------------------------------------------- */

static void
issue_free(gpointer p)
{
    MigrationIssue *issue = p;
    g_free(issue->message);
    g_free(issue);
}

void
migration_report_free(MigrationReport *report)
{
    if (report == NULL)
        return;
    g_ptr_array_unref(report->issues);
    g_free(report);
}

G_GNUC_PRINTF(4, 5) static void
add_issue(MigrationReport *report, MigrationSeverity severity, MigrationIssueCode code,
          const char *fmt, ...)
{
    MigrationIssue *issue = g_new0(MigrationIssue, 1);
    va_list ap;

    issue->severity = severity;
    issue->code = code;
    va_start(ap, fmt);
    issue->message = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_ptr_array_add(report->issues, issue);
}

guint
migration_report_count(const MigrationReport *report, MigrationSeverity severity)
{
    guint n = 0;
    for (guint i = 0; i < report->issues->len; i++) {
        const MigrationIssue *issue = g_ptr_array_index(report->issues, i);
        n += issue->severity == severity;
    }
    return n;
}

const MigrationIssue *
migration_report_find(const MigrationReport *report, MigrationIssueCode code)
{
    for (guint i = 0; i < report->issues->len; i++) {
        const MigrationIssue *issue = g_ptr_array_index(report->issues, i);
        if (issue->code == code)
            return issue;
    }
    return NULL;
}

gboolean
migration_report_to_error(const MigrationReport *report, GError **error)
{
    g_autoptr(GString) text = g_string_new(NULL);
    VireoErrorCode code = VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE;
    guint errors = 0;

    for (guint i = 0; i < report->issues->len; i++) {
        const MigrationIssue *issue = g_ptr_array_index(report->issues, i);
        if (issue->severity != MIGRATION_SEVERITY_ERROR)
            continue;
        if (errors++ > 0)
            g_string_append(text, "; ");
        g_string_append(text, issue->message);
        if (issue->code == MIGRATION_ISSUE_DISK_UNKNOWN)
            code = VIREO_ERROR_INVALID_ARGUMENT;
        else if (issue->code == MIGRATION_ISSUE_SAME_PLACEMENT && errors == 1)
            code = VIREO_ERROR_ALREADY_IN_DESIRED_STATE;
        else if (code == VIREO_ERROR_ALREADY_IN_DESIRED_STATE)
            code = VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE;
    }
    if (errors == 0)
        return TRUE;
    g_set_error_literal(error, VIREO_ERROR, code, text->str);
    return FALSE;
}

/* ---- feature sets ------------------------------------------------------- */

static gint
compare_strings(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

GStrv
migration_features_missing(const char *const *wanted, const char *const *offered)
{
    g_autoptr(GHashTable) have = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GPtrArray) missing = g_ptr_array_new();

    for (guint i = 0; offered != NULL && offered[i] != NULL; i++)
        g_hash_table_add(have, (gpointer)offered[i]);
    for (guint i = 0; wanted != NULL && wanted[i] != NULL; i++) {
        if (g_hash_table_contains(have, wanted[i]))
            continue;
        g_hash_table_add(have, (gpointer)wanted[i]); /* list a duplicate once */
        g_ptr_array_add(missing, g_strdup(wanted[i]));
    }
    g_ptr_array_sort(missing, compare_strings);
    g_ptr_array_add(missing, NULL);
    return (GStrv)g_ptr_array_free(g_steal_pointer(&missing), FALSE);
}

/* ---- the checks --------------------------------------------------------- */

/* What every check needs to know about the move. */
typedef struct {
    const MigrationVm *vm;
    const MigrationRequest *request;
    const MigrationHost *source;
    const MigrationHost *target;   /* where the VM ends */
    MigrationKind kind;
    gboolean host_changes;
    gboolean live;                 /* a running VM changes host */
} CheckContext;

static MigrationSeverity
live_error(const CheckContext *cx)
{
    return cx->live ? MIGRATION_SEVERITY_ERROR : MIGRATION_SEVERITY_WARNING;
}

static void
check_disk_names(const CheckContext *cx, MigrationReport *report)
{
    GHashTableIter iter;
    gpointer label;

    if (cx->request->disk_datastores == NULL)
        return;
    g_autoptr(GPtrArray) unknown = g_ptr_array_new();
    g_hash_table_iter_init(&iter, cx->request->disk_datastores);
    while (g_hash_table_iter_next(&iter, &label, NULL)) {
        gboolean found = FALSE;
        for (guint i = 0; i < cx->vm->disks->len && !found; i++) {
            const MigrationDisk *d = g_ptr_array_index(cx->vm->disks, i);
            found = g_strcmp0(d->label, label) == 0;
        }
        if (!found)
            g_ptr_array_add(unknown, label);
    }
    g_ptr_array_sort(unknown, compare_strings);   /* hash order is not stable */
    for (guint i = 0; i < unknown->len; i++)
        add_issue(report, MIGRATION_SEVERITY_ERROR, MIGRATION_ISSUE_DISK_UNKNOWN,
                  "VM %s has no disk %s: name its disks by their labels "
                  "(for example scsi0:0) in the per-disk datastore list.",
                  cx->vm->name, (const char *)g_ptr_array_index(unknown, i));
}

static void
check_one_host_state(const MigrationHost *host, const char *role, MigrationReport *report)
{
    if (host->connection_state == MIGRATION_HOST_DISCONNECTED)
        add_issue(report, MIGRATION_SEVERITY_ERROR, MIGRATION_ISSUE_HOST_NOT_RESPONDING,
                  "The %s host %s is disconnected: reconnect it, then retry the migration.",
                  role, host->name);
    else if (host->connection_state == MIGRATION_HOST_NOT_RESPONDING)
        add_issue(report, MIGRATION_SEVERITY_ERROR, MIGRATION_ISSUE_HOST_NOT_RESPONDING,
                  "The %s host %s is not responding: check that vireo-hostd runs there and "
                  "that the centre can reach it, then retry the migration.",
                  role, host->name);
}

static void
check_host_state(const CheckContext *cx, MigrationReport *report)
{
    check_one_host_state(cx->source, "source", report);
    if (!cx->host_changes)
        return;
    check_one_host_state(cx->target, "destination", report);
    if (cx->target->in_maintenance)
        add_issue(report, live_error(cx), MIGRATION_ISSUE_HOST_MAINTENANCE,
                  cx->live ? "The destination host %s is in maintenance mode: take it out of "
                             "maintenance mode or choose another host."
                           : "The destination host %s is in maintenance mode: VM %s can be "
                             "moved there but will not power on until the host leaves "
                             "maintenance mode.",
                  cx->target->name, cx->vm->name);
}

/* Appends "disk scsi0:0" or "its configuration file" to a list of items. */
static void
append_item(GString *items, const char *item)
{
    if (items->len > 0)
        g_string_append(items, ", ");
    g_string_append(items, item);
}

static void
report_unreachable(const CheckContext *cx, const char *datastore, gboolean chosen,
                   const char *items, MigrationReport *report)
{
    const char *t = cx->target->name;

    if (chosen)
        add_issue(report, MIGRATION_SEVERITY_ERROR, MIGRATION_ISSUE_DATASTORE_UNREACHABLE,
                  "Datastore %s, chosen for %s of VM %s, is not mounted on host %s: "
                  "choose a datastore that %s mounts.",
                  datastore, items, cx->vm->name, t, t);
    else if (cx->live)
        add_issue(report, MIGRATION_SEVERITY_ERROR, MIGRATION_ISSUE_DATASTORE_UNREACHABLE,
                  "Host %s cannot access datastore %s, which holds %s of VM %s: also choose "
                  "a datastore that %s mounts, so the disks move with the VM "
                  "(vMotion + Storage vMotion), or mount %s on %s.",
                  t, datastore, items, cx->vm->name, t, datastore, t);
    else
        add_issue(report, MIGRATION_SEVERITY_ERROR, MIGRATION_ISSUE_DATASTORE_UNREACHABLE,
                  "Host %s cannot access datastore %s, which holds %s of VM %s: also choose "
                  "a datastore that %s mounts, so the files are copied there, or mount %s "
                  "on %s.",
                  t, datastore, items, cx->vm->name, t, datastore, t);
}

/* Every datastore the VM's files end on must be mounted where it ends.
 * One issue per datastore, naming the files on it. */
static void
check_datastores(const CheckContext *cx, MigrationReport *report)
{
    const MigrationVm *vm = cx->vm;
    g_autoptr(GPtrArray) seen = g_ptr_array_new();

    for (int i = -1; i < (int)vm->disks->len; i++) {
        const MigrationDisk *first = i < 0 ? NULL : g_ptr_array_index(vm->disks, i);
        const char *ds = migration_request_target_datastore(cx->request, vm, first);
        if (ds == NULL || strv_has((const char *const *)cx->target->datastores, ds) ||
            g_ptr_array_find_with_equal_func(seen, ds, g_str_equal, NULL))
            continue;
        g_ptr_array_add(seen, (gpointer)ds);

        g_autoptr(GString) items = g_string_new(NULL);
        gboolean chosen = FALSE;
        for (int j = i; j < (int)vm->disks->len; j++) {
            const MigrationDisk *d = j < 0 ? NULL : g_ptr_array_index(vm->disks, j);
            if (g_strcmp0(migration_request_target_datastore(cx->request, vm, d), ds) != 0)
                continue;
            g_autofree char *item = d != NULL ? g_strdup_printf("disk %s", d->label)
                                              : g_strdup("its configuration file");
            append_item(items, item);
            chosen = chosen || g_strcmp0(ds, d != NULL ? d->datastore : vm->home_datastore) != 0;
        }
        report_unreachable(cx, ds, chosen, items->str, report);
    }
}

static void
check_port_groups(const CheckContext *cx, MigrationReport *report)
{
    const MigrationVm *vm = cx->vm;
    g_autoptr(GPtrArray) seen = g_ptr_array_new();

    if (!cx->host_changes)
        return;
    for (guint i = 0; i < vm->nics->len; i++) {
        const MigrationNic *nic = g_ptr_array_index(vm->nics, i);
        const char *pg = nic->port_group;
        if (pg == NULL || strv_has((const char *const *)cx->target->port_groups, pg) ||
            g_ptr_array_find_with_equal_func(seen, pg, g_str_equal, NULL))
            continue;
        g_ptr_array_add(seen, (gpointer)pg);

        g_autoptr(GString) items = g_string_new(NULL);
        for (guint j = i; j < vm->nics->len; j++) {
            const MigrationNic *other = g_ptr_array_index(vm->nics, j);
            if (g_strcmp0(other->port_group, pg) == 0)
                append_item(items, other->label);
        }
        add_issue(report, live_error(cx), MIGRATION_ISSUE_PORTGROUP_MISSING,
                  cx->live ? "Host %s has no port group \"%s\", used by %s of VM %s: create it "
                             "on a virtual switch of %s, or connect the adapter to a port "
                             "group %s has."
                           : "Host %s has no port group \"%s\", used by %s of VM %s: create "
                             "it on a virtual switch of %s before powering the VM on there, "
                             "or the adapter stays disconnected (or connect it to a port "
                             "group %s has).",
                  cx->target->name, pg, items->str, vm->name, cx->target->name,
                  cx->target->name);
    }
}

static void
check_memory(const CheckContext *cx, MigrationReport *report)
{
    const MigrationHost *t = cx->target;

    /* A powered-off VM takes no memory until it powers on, and power-on's
     * admission control speaks then; a suspended one needs it to resume. */
    if (!cx->host_changes || cx->vm->power_state == VM_POWER_STATE_POWERED_OFF ||
        cx->vm->memory_mib <= t->free_memory_mib)
        return;
    add_issue(report, live_error(cx), MIGRATION_ISSUE_MEMORY_INSUFFICIENT,
              cx->live ? "Host %s has %" G_GUINT64_FORMAT " MiB of memory free but VM %s needs "
                         "%" G_GUINT64_FORMAT " MiB: choose another host or free memory on %s."
                       : "Host %s has %" G_GUINT64_FORMAT " MiB of memory free but suspended "
                         "VM %s needs %" G_GUINT64_FORMAT " MiB to resume: free memory on %s "
                         "before resuming it there.",
              t->name, t->free_memory_mib, cx->vm->name, cx->vm->memory_mib, t->name);
}

static void
check_cdroms(const CheckContext *cx, MigrationReport *report)
{
    const MigrationVm *vm = cx->vm;

    if (!cx->host_changes)
        return;
    for (guint i = 0; i < vm->cdroms->len; i++) {
        const MigrationCdrom *cd = g_ptr_array_index(vm->cdroms, i);
        g_autofree char *what = NULL;

        if (cd->backing == MIGRATION_CDROM_HOST_DEVICE)
            what = g_strdup_printf("the physical drive of host %s", cx->source->name);
        else if (cd->backing == MIGRATION_CDROM_ISO_FILE && cd->iso_datastore == NULL)
            what = g_strdup_printf("an image on host %s's own disk", cx->source->name);
        else if (cd->backing == MIGRATION_CDROM_ISO_FILE &&
                 !strv_has((const char *const *)cx->target->datastores, cd->iso_datastore))
            what = g_strdup_printf("an image on datastore %s", cd->iso_datastore);
        else
            continue;
        /* A disconnected drive does not stop the move; it just cannot be
         * connected again on the destination. */
        add_issue(report,
                  cx->live && cd->connected ? MIGRATION_SEVERITY_ERROR : MIGRATION_SEVERITY_WARNING,
                  MIGRATION_ISSUE_CDROM_HOST_LOCAL,
                  "CD/DVD drive %s of VM %s uses %s, which host %s cannot reach: disconnect "
                  "it, or use an ISO image on a datastore that both hosts mount.",
                  cd->label, vm->name, what, cx->target->name);
    }
}

/* The family of a vMotion address, or G_SOCKET_FAMILY_INVALID (with an
 * issue) when the host has no usable vMotion interface. */
static GSocketFamily
vmotion_family(const MigrationHost *host, MigrationReport *report)
{
    g_autoptr(GInetAddress) addr = host->vmotion_address != NULL
        ? g_inet_address_new_from_string(host->vmotion_address) : NULL;

    if (addr == NULL && host->vmotion_address == NULL) {
        add_issue(report, MIGRATION_SEVERITY_ERROR, MIGRATION_ISSUE_VMOTION_NOT_CONFIGURED,
                  "Host %s has no vMotion interface: give it a vMotion address.", host->name);
        return G_SOCKET_FAMILY_INVALID;
    }
    if (addr == NULL) {
        add_issue(report, MIGRATION_SEVERITY_ERROR, MIGRATION_ISSUE_VMOTION_NOT_CONFIGURED,
                  "Host %s has no usable vMotion address (\"%s\" is not an IPv4 or IPv6 "
                  "address): set a valid one.", host->name, host->vmotion_address);
        return G_SOCKET_FAMILY_INVALID;
    }
    if (host->vmotion_link_mbps != 0 && host->vmotion_link_mbps < 1000)
        add_issue(report, MIGRATION_SEVERITY_WARNING, MIGRATION_ISSUE_VMOTION_LINK_SLOW,
                  "The vMotion link of host %s runs at %u Mb/s, below the 1000 Mb/s vMotion "
                  "needs to converge reliably: expect a long migration, or use a faster link.",
                  host->name, host->vmotion_link_mbps);
    return g_inet_address_get_family(addr);
}

static void
check_vmotion_network(const CheckContext *cx, MigrationReport *report)
{
    if (!cx->live)
        return;
    GSocketFamily from = vmotion_family(cx->source, report);
    GSocketFamily to = vmotion_family(cx->target, report);
    if (from == G_SOCKET_FAMILY_INVALID || to == G_SOCKET_FAMILY_INVALID || from == to)
        return;
    add_issue(report, MIGRATION_SEVERITY_ERROR, MIGRATION_ISSUE_VMOTION_ADDRESS_FAMILY,
              "The vMotion addresses of host %s (%s, %s) and host %s (%s, %s) are of "
              "different address families: give both hosts vMotion addresses of the same "
              "family.",
              cx->source->name, cx->source->vmotion_address,
              from == G_SOCKET_FAMILY_IPV6 ? "IPv6" : "IPv4",
              cx->target->name, cx->target->vmotion_address,
              to == G_SOCKET_FAMILY_IPV6 ? "IPv6" : "IPv4");
}

static void
check_cpu(const CheckContext *cx, MigrationReport *report)
{
    const MigrationVm *vm = cx->vm;
    const MigrationHost *t = cx->target;

    if (!cx->live)
        return;
    if (vm->evc_mode != NULL && g_strcmp0(vm->evc_mode, t->evc_mode) == 0)
        return;
    if (vm->cpu_features == NULL) {
        add_issue(report, MIGRATION_SEVERITY_WARNING, MIGRATION_ISSUE_CPU_UNKNOWN,
                  "The CPU features VM %s runs with are not known, so its compatibility "
                  "with host %s was not checked: power-cycle the VM to record them, or use "
                  "an EVC cluster.", vm->name, t->name);
        return;
    }
    g_auto(GStrv) missing = migration_features_missing((const char *const *)vm->cpu_features,
                                                       (const char *const *)t->cpu_features);
    if (missing[0] == NULL)
        return;
    g_autofree char *list = g_strjoinv(", ", missing);
    g_autofree char *evc = vm->evc_mode == NULL && t->evc_mode == NULL ? g_strdup("")
        : g_strdup_printf(" (VM EVC mode %s, host %s EVC mode %s)",
                          vm->evc_mode != NULL ? vm->evc_mode : "none", t->name,
                          t->evc_mode != NULL ? t->evc_mode : "none");
    add_issue(report, MIGRATION_SEVERITY_ERROR, MIGRATION_ISSUE_CPU_INCOMPATIBLE,
              "The CPU of host %s lacks features VM %s runs with: %s%s. Put both hosts in a "
              "cluster with the same EVC mode, or power the VM off and migrate it cold.",
              t->name, vm->name, list, evc);
}

static void
check_encryption(const CheckContext *cx, MigrationReport *report)
{
    g_autoptr(GString) lacking = g_string_new(NULL);

    if (!cx->live || cx->vm->encryption == MIGRATION_ENCRYPTION_DISABLED)
        return;
    if (!cx->source->supports_encryption)
        append_item(lacking, cx->source->name);
    if (!cx->target->supports_encryption)
        append_item(lacking, cx->target->name);
    if (lacking->len == 0)
        return;
    if (cx->vm->encryption == MIGRATION_ENCRYPTION_REQUIRED)
        add_issue(report, MIGRATION_SEVERITY_ERROR, MIGRATION_ISSUE_ENCRYPTION_REQUIRED_UNSUPPORTED,
                  "VM %s requires encrypted vMotion but host %s cannot encrypt migrations: "
                  "enable migration TLS on that host, or set the VM's encrypted vMotion to "
                  "opportunistic.", cx->vm->name, lacking->str);
    else
        add_issue(report, MIGRATION_SEVERITY_WARNING, MIGRATION_ISSUE_ENCRYPTION_UNAVAILABLE,
                  "Host %s cannot encrypt migrations, so VM %s's memory will cross the "
                  "vMotion network unencrypted: enable migration TLS there, or set the VM's "
                  "encrypted vMotion to required to refuse such moves.",
                  lacking->str, cx->vm->name);
}

MigrationReport *
migration_check(const MigrationVm *vm, const MigrationRequest *request)
{
    MigrationReport *report = g_new0(MigrationReport, 1);
    CheckContext cx = {
        .vm = vm,
        .request = request,
        .source = request->source,
        .target = migration_request_target_host(request),
        .kind = migration_kind_decide(vm, request),
        .host_changes = host_changes(request),
    };

    cx.live = cx.host_changes && vm->power_state == VM_POWER_STATE_POWERED_ON;
    report->kind = cx.kind;
    report->issues = g_ptr_array_new_with_free_func(issue_free);

    check_disk_names(&cx, report);
    if (cx.kind == MIGRATION_KIND_NONE) {
        add_issue(report, MIGRATION_SEVERITY_ERROR, MIGRATION_ISSUE_SAME_PLACEMENT,
                  "VM %s is already on host %s with its files where asked: choose another "
                  "host or datastore.", vm->name, cx.source->name);
        return report;
    }
    check_host_state(&cx, report);
    check_datastores(&cx, report);
    check_port_groups(&cx, report);
    check_memory(&cx, report);
    check_cdroms(&cx, report);
    check_vmotion_network(&cx, report);
    check_cpu(&cx, report);
    check_encryption(&cx, report);
    return report;
}
