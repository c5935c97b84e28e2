/* vm-cold-journal.c — the cold migration journal of this host and its
 * recovery after a kill -9 (docs/migration.md, "Cold migration").
 *
 * One file per migration and role, <state_dir>/cold-migrations/<id>-<role>.json,
 * a sibling of the live migration journal's folder (which reads every file
 * of its own). At start, once the VMs are loaded:
 *
 *   role         state        then
 *   source       exporting    kill its qemu-nbd, remove the keys, forget it
 *                             (the centre never had the export's answer)
 *   source       exported     kill its qemu-nbd, remove the keys; kept so the
 *                             centre's commit (delete) or abort (204) still works
 *   source       committing   finish the commit: unregister, delete the files
 *   destination  importing    kill its qemu-img, delete every file and folder
 *                             the import planned to create, forget it
 *   destination  committing   registered? → committed; else as importing
 *   destination  committed    kept a day, so a repeated commit answers the VM
 */
#include "vm-cold-journal.h"

#include "mig-files.h"

#include "json-util.h"
#include "vireo-error.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

#define JOURNAL_KEEP_S (24 * 3600)

static char *
journal_dir(Host *host)
{
    return g_build_filename(host->config->state_dir, "cold-migrations", NULL);
}

static char *
journal_path(Host *host, const char *migration, const char *role)
{
    g_autofree char *dir = journal_dir(host);
    g_autofree char *name = g_strdup_printf("%s-%s.json", migration, role);
    return g_build_filename(dir, name, NULL);
}

gboolean
cold_journal_write(Host *host, const char *migration, const char *role, JsonObject *o, GError **error)
{
    g_autofree char *dir = journal_dir(host);
    g_autofree char *path = journal_path(host, migration, role);
    json_object_set_string_member(o, "migration", migration);
    json_object_set_string_member(o, "role", role);
    json_object_set_int_member(o, "time", g_get_real_time() / G_USEC_PER_SEC);
    return mig_journal_write(dir, path, o, "the cold migration journal", error);
}

JsonObject *
cold_journal_read(Host *host, const char *migration, const char *role)
{
    g_autofree char *path = journal_path(host, migration, role);
    return mig_journal_read(path);
}

void
cold_journal_remove(Host *host, const char *migration, const char *role)
{
    g_autofree char *path = journal_path(host, migration, role);
    if (g_unlink(path) < 0 && errno != ENOENT)
        g_warning("cannot remove %s: %s", path, g_strerror(errno));
}

gboolean
cold_journal_set_state(Host *host, JsonObject *journal, const char *state)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *mid = g_strdup(json_object_get_string_member_with_default(journal, "migration", ""));
    g_autofree char *role = g_strdup(json_object_get_string_member_with_default(journal, "role", ""));
    json_object_set_string_member(journal, "state", state);
    if (cold_journal_write(host, mid, role, journal, &error))
        return TRUE;
    g_warning("cold migration %s: %s", mid, error->message);
    return FALSE;
}

/* ---- processes ------------------------------------------------------------------ */

static gboolean
names_run_dir(const char *pid, const char *run_dir)
{
    g_autofree char *path = g_build_filename("/proc", pid, "cmdline", NULL);
    g_autofree char *text = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &text, &len, NULL) || len == 0)
        return FALSE;
    for (gsize i = 0; i + 1 < len; i++)
        if (text[i] == '\0')
            text[i] = ' ';
    g_autofree char *needle = g_strdup_printf("dir=%s", run_dir);
    const char *at = strstr(text, needle);
    char after = at ? at[strlen(needle)] : 'x';
    return (strstr(text, "qemu-nbd") || strstr(text, "qemu-img")) && (after == ',' || after == ' ' || !after);
}

static GArray *
find_processes(const char *run_dir)
{
    GArray *pids = g_array_new(FALSE, FALSE, sizeof(pid_t));
    g_autoptr(GDir) d = g_dir_open("/proc", 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        if (strspn(name, "0123456789") != strlen(name) || !names_run_dir(name, run_dir))
            continue;
        pid_t pid = (pid_t)g_ascii_strtoll(name, NULL, 10);
        g_array_append_val(pids, pid);
    }
    return pids;
}

guint
cold_processes_kill(const char *run_dir)
{
    g_autoptr(GArray) pids = find_processes(run_dir);
    for (guint i = 0; i < pids->len; i++) {
        pid_t pid = g_array_index(pids, pid_t, i);
        g_message("cold migration: killing %d, left serving or copying %s", (int)pid, run_dir);
        kill(pid, SIGKILL);
    }
    for (int tries = 0; pids->len && tries < 20; tries++) {
        g_autoptr(GArray) left = find_processes(run_dir);
        if (!left->len)
            break;
        g_usleep(100 * 1000);
    }
    return pids->len;
}

Vm *
cold_vm_by_vmx(Host *host, const char *vmx_path)
{
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, host->vms);
    while (vmx_path && g_hash_table_iter_next(&it, NULL, &value))
        if (g_strcmp0(((Vm *)value)->vmx_path, vmx_path) == 0)
            return value;
    return NULL;
}

/* ---- recovery --------------------------------------------------------------------- */

static void
remove_run_dir(const char *dir)
{
    g_autoptr(GDir) d = dir ? g_dir_open(dir, 0, NULL) : NULL;
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(dir, name, NULL);
        g_unlink(p);
    }
    if (dir)
        g_rmdir(dir);
}

void
cold_journal_undo_import(JsonObject *journal)
{
    const char *mid = json_object_get_string_member_with_default(journal, "migration", "?");
    JsonArray *files = json_object_has_member(journal, "files") ? json_object_get_array_member(journal, "files") : NULL;
    JsonArray *dirs = json_object_has_member(journal, "dirs") ? json_object_get_array_member(journal, "dirs") : NULL;
    for (guint i = 0; files && i < json_array_get_length(files); i++) {
        const char *p = json_array_get_string_element(files, i);
        if (p && g_unlink(p) == 0)
            g_message("cold migration %s: removed %s (unfinished copy)", mid, p);
    }
    for (guint i = dirs ? json_array_get_length(dirs) : 0; i > 0; i--) {
        const char *p = json_array_get_string_element(dirs, i - 1);
        if (p && g_rmdir(p) != 0 && errno != ENOENT)
            g_warning("cold migration %s: cannot remove %s: %s", mid, p, g_strerror(errno));
    }
}

/* TRUE: keep the journal. */
static gboolean
recover_destination(Host *host, JsonObject *j, const char *state)
{
    const char *mid = json_object_get_string_member_with_default(j, "migration", "?");
    if (g_str_equal(state, "committing")) {
        Vm *vm = cold_vm_by_vmx(host, json_object_get_string_member_with_default(j, "vmx_path", NULL));
        if (vm) {
            json_object_set_string_member(j, "vm", vm->id);
            return cold_journal_set_state(host, j, "committed");
        }
    }
    if (g_str_equal(state, "committed"))
        return TRUE;
    g_message("cold migration %s: the copy arriving here was interrupted by a restart; deleting it", mid);
    cold_journal_undo_import(j);
    return FALSE;
}

typedef struct {
    Host *host;
    void (*recover_source)(Host *host, JsonObject *journal);
} Recovery;

static void
recover_one(Recovery *r, const char *path)
{
    g_autoptr(JsonObject) j = mig_journal_read(path);
    const char *role = j ? json_object_get_string_member_with_default(j, "role", "") : "";
    const char *state = j ? json_object_get_string_member_with_default(j, "state", "") : "";
    const char *run_dir = j ? json_object_get_string_member_with_default(j, "run_dir", NULL) : NULL;
    gint64 time = j ? json_object_get_int_member_with_default(j, "time", 0) : 0;
    gboolean keep = FALSE;
    if (run_dir) {
        cold_processes_kill(run_dir);
        remove_run_dir(run_dir);
    }
    if (!j || !json_object_has_member(j, "migration"))
        g_warning("%s: not a cold migration journal; removed", path);
    else if (g_get_real_time() / G_USEC_PER_SEC - time > JOURNAL_KEEP_S)
        keep = FALSE;
    else if (g_str_equal(role, "destination"))
        keep = recover_destination(r->host, j, state);
    else if (g_str_equal(role, "source") && !g_str_equal(state, "exporting")) {
        r->recover_source(r->host, j);   /* keeps or removes the journal itself */
        return;
    } else {
        g_message("cold migration %s: the export was interrupted by a restart; the VM is free",
                  json_object_get_string_member(j, "migration"));
    }
    if (!keep && g_unlink(path) < 0 && errno != ENOENT)
        g_warning("cannot remove %s: %s", path, g_strerror(errno));
}

static gboolean
recover_all(gpointer data)
{
    g_autofree Recovery *r = data;
    g_autofree char *dir = journal_dir(r->host);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        if (!g_str_has_suffix(name, ".json"))
            continue;
        g_autofree char *path = g_build_filename(dir, name, NULL);
        recover_one(r, path);
    }
    return G_SOURCE_REMOVE;
}

void
cold_journal_schedule_recovery(Host *host, void (*recover_source)(Host *host, JsonObject *journal))
{
    Recovery *r = g_new0(Recovery, 1);
    r->host = host;
    r->recover_source = recover_source;
    /* main.c loads the VMs after the routes are registered: the first
     * iteration of the main loop, before any request is served. */
    g_idle_add_full(G_PRIORITY_HIGH, recover_all, r, NULL);
}
