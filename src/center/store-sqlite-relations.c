/* store-sqlite-relations.c — relations between inventory objects in SQLite:
 * which host mounts which datastore (and where), which host has which
 * network. Rows go with either object (ON DELETE CASCADE).
 */
#include "store-sqlite-private.h"

/* NOT_FOUND unless id exists; INVALID_ARGUMENT unless it is of kind. */
static gboolean
check_kind(SqliteStore *s, const char *id, const char *kind, GError **error)
{
    g_autoptr(sqlite3_stmt) stmt = sq_prepare(s, error,
        "SELECT kind FROM objects WHERE id = ?", "s", id);
    if (stmt == NULL)
        return FALSE;
    int row = sq_step_row(s, stmt, error);
    if (row == 0)
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "%s %s does not exist", kind, id);
    if (row != 1)
        return FALSE;
    if (g_strcmp0((const char *) sqlite3_column_text(stmt, 0), kind) != 0) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT, "%s is not a %s", id, kind);
        return FALSE;
    }
    return TRUE;
}

static gboolean
sqlite_mount_set(Store *store, const char *host, const char *datastore, const char *path,
                 gboolean accessible, GError **error)
{
    SqliteStore *s = SQ(store);
    if (!sq_begin(s, error))
        return FALSE;
    gboolean ok = check_kind(s, host, STORE_KIND_HOST, error) &&
                  check_kind(s, datastore, STORE_KIND_DATASTORE, error) &&
                  sq_run(s, error,
                         "INSERT INTO mounts VALUES (?, ?, ?, ?) ON CONFLICT (host, datastore)"
                         " DO UPDATE SET path = excluded.path, accessible = excluded.accessible",
                         "sssb", host, datastore, path, (int) accessible) >= 0;
    return sq_end(s, ok, error);
}

static gboolean
delete_one(SqliteStore *s, const char *sql, const char *a, const char *b, const char *what,
           GError **error)
{
    if (!sq_begin(s, error))
        return FALSE;
    gint64 n = sq_run(s, error, sql, "ss", a, b);
    if (n == 0)
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "%s has no %s %s", a, what, b);
    return sq_end(s, n > 0, error);
}

static gboolean
sqlite_mount_remove(Store *store, const char *host, const char *datastore, GError **error)
{
    return delete_one(SQ(store), "DELETE FROM mounts WHERE host = ? AND datastore = ?", host,
                      datastore, "mount of datastore", error);
}

static GPtrArray *
sqlite_mount_list(Store *store, const char *host, const char *datastore, GError **error)
{
    SqliteStore *s = SQ(store);
    g_autoptr(GRecMutexLocker) locker = g_rec_mutex_locker_new(&s->lock);
    g_autoptr(sqlite3_stmt) stmt = sq_prepare(s, error,
        "SELECT m.host, m.datastore, m.path, m.accessible FROM mounts m"
        " JOIN objects h ON h.id = m.host JOIN objects d ON d.id = m.datastore"
        " WHERE (?1 IS NULL OR m.host = ?1) AND (?2 IS NULL OR m.datastore = ?2)"
        " ORDER BY h.seq, d.seq", "ss", host, datastore);
    if (stmt == NULL)
        return NULL;
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify) store_mount_free);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        StoreMount *m = g_new0(StoreMount, 1);
        m->host = sq_col_text(stmt, 0);
        m->datastore = sq_col_text(stmt, 1);
        m->path = sq_col_text(stmt, 2);
        m->accessible = sqlite3_column_int(stmt, 3) != 0;
        g_ptr_array_add(out, m);
    }
    if (rc != SQLITE_DONE) {
        sq_error(s, "cannot list mounts", error);
        return NULL;
    }
    return g_steal_pointer(&out);
}

static gboolean
sqlite_host_network_add(Store *store, const char *host, const char *network, GError **error)
{
    SqliteStore *s = SQ(store);
    if (!sq_begin(s, error))
        return FALSE;
    gboolean ok = check_kind(s, host, STORE_KIND_HOST, error) &&
                  check_kind(s, network, STORE_KIND_NETWORK, error) &&
                  sq_run(s, error, "INSERT OR IGNORE INTO host_networks VALUES (?, ?)", "ss",
                         host, network) >= 0;
    return sq_end(s, ok, error);
}

static gboolean
sqlite_host_network_remove(Store *store, const char *host, const char *network, GError **error)
{
    return delete_one(SQ(store), "DELETE FROM host_networks WHERE host = ? AND network = ?",
                      host, network, "network", error);
}

static GPtrArray *
sqlite_host_network_list(Store *store, const char *host, const char *network, GError **error)
{
    SqliteStore *s = SQ(store);
    g_autoptr(GRecMutexLocker) locker = g_rec_mutex_locker_new(&s->lock);
    g_autoptr(sqlite3_stmt) stmt = sq_prepare(s, error, host != NULL
        ? "SELECT r.network FROM host_networks r JOIN objects o ON o.id = r.network"
          " WHERE r.host = ? ORDER BY o.seq"
        : "SELECT r.host FROM host_networks r JOIN objects o ON o.id = r.host"
          " WHERE r.network = ? ORDER BY o.seq", "s", host != NULL ? host : network);
    if (stmt == NULL)
        return NULL;
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        g_ptr_array_add(out, sq_col_text(stmt, 0));
    if (rc != SQLITE_DONE) {
        sq_error(s, "cannot list networks", error);
        return NULL;
    }
    return g_steal_pointer(&out);
}

void
store_sqlite_relations_init(StoreBackend *b)
{
    b->mount_set = sqlite_mount_set;
    b->mount_remove = sqlite_mount_remove;
    b->mount_list = sqlite_mount_list;
    b->host_network_add = sqlite_host_network_add;
    b->host_network_remove = sqlite_host_network_remove;
    b->host_network_list = sqlite_host_network_list;
}
