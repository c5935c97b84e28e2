/* migration-space.c — the free-space part of a Storage vMotion's check:
 * vSphere refuses a move whose thick disks do not fit the destination and
 * warns when thin disks could grow past what is free there.
 */
#include "migration-space.h"

G_GNUC_PRINTF(4, 5) static void
add(MigrationReport *report, MigrationSeverity severity, MigrationIssueCode code, const char *fmt, ...)
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

/* What the disks going to one datastore need: now (thick capacity, thin
 * data) and at most (every capacity). */
static void
need_on(const MigrationSpaceDisk *disks, guint n, const char *ds, guint64 *now, guint64 *most,
        GString *thick, GString *thin)
{
    *now = *most = 0;
    for (guint i = 0; i < n; i++) {
        if (g_strcmp0(disks[i].datastore, ds) != 0)
            continue;
        *now += disks[i].thin ? disks[i].used : disks[i].capacity;
        *most += MAX(disks[i].capacity, disks[i].used);
        GString *list = disks[i].thin ? thin : thick;
        g_string_append_printf(list, "%s%s", list->len ? ", " : "", disks[i].label);
    }
}

void
migration_space_check(const char *vm_name, const MigrationSpaceDisk *disks, guint n_disks,
                      GHashTable *free_space, MigrationReport *report)
{
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < n_disks; i++) {
        const char *ds = disks[i].datastore;
        const guint64 *free_bytes = ds && free_space ? g_hash_table_lookup(free_space, ds) : NULL;
        if (!free_bytes || !g_hash_table_add(seen, (gpointer)ds))
            continue;
        g_autoptr(GString) thick = g_string_new(NULL);
        g_autoptr(GString) thin = g_string_new(NULL);
        guint64 now = 0, most = 0;
        need_on(disks, n_disks, ds, &now, &most, thick, thin);
        if (now > *free_bytes)
            add(report, MIGRATION_SEVERITY_ERROR, MIGRATION_ISSUE_DATASTORE_SPACE,
                "Datastore %s has %" G_GUINT64_FORMAT " MiB free but VM %s's disks moving there need "
                "%" G_GUINT64_FORMAT " MiB (%s%s%s%s%s): free space on %s or choose another datastore.",
                ds, *free_bytes >> 20, vm_name, now >> 20, thick->len ? "thick: " : "", thick->str,
                thick->len && thin->len ? "; " : "", thin->len ? "thin, their data: " : "", thin->str, ds);
        else if (most > *free_bytes)
            add(report, MIGRATION_SEVERITY_WARNING, MIGRATION_ISSUE_DATASTORE_OVERCOMMIT,
                "The thin disks of VM %s moving to datastore %s (%s) may grow to %" G_GUINT64_FORMAT
                " MiB in all, more than its %" G_GUINT64_FORMAT " MiB free: the guest's writes would "
                "fail once it is full; free space there or keep an eye on it.",
                vm_name, ds, thin->str, most >> 20, *free_bytes >> 20);
    }
}
