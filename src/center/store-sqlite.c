/* store-sqlite.c — the SQLite backend of the centre's store: opening the
 * database (WAL, synchronous=FULL, foreign keys), applying migrations,
 * transactions, integrity checks, and the statement helpers the other
 * store-sqlite-*.c files use.
 */
#include "store-sqlite-private.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 10000

/* ---- Helpers ---- */

void
sq_error(SqliteStore *s, const char *what, GError **error)
{
    g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "%s: %s (database %s)", what,
                sqlite3_errmsg(s->db), s->path);
}

gint64
sq_now(void)
{
    return g_get_real_time();
}

sqlite3_stmt *
sq_prepare_va(SqliteStore *s, GError **error, const char *sql, const char *types, va_list ap)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        sq_error(s, "cannot prepare a statement", error);
        return NULL;
    }
    for (int i = 0; types != NULL && types[i] != '\0'; i++) {
        int rc;
        if (types[i] == 's') {
            const char *v = va_arg(ap, const char *);
            rc = v != NULL ? sqlite3_bind_text(stmt, i + 1, v, -1, SQLITE_TRANSIENT)
                           : sqlite3_bind_null(stmt, i + 1);
        } else if (types[i] == 'i') {
            rc = sqlite3_bind_int64(stmt, i + 1, va_arg(ap, gint64));
        } else {
            g_assert(types[i] == 'b');
            rc = sqlite3_bind_int(stmt, i + 1, va_arg(ap, int));
        }
        if (rc != SQLITE_OK) {
            sq_error(s, "cannot bind a value", error);
            sqlite3_finalize(stmt);
            return NULL;
        }
    }
    return stmt;
}

sqlite3_stmt *
sq_prepare(SqliteStore *s, GError **error, const char *sql, const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    sqlite3_stmt *stmt = sq_prepare_va(s, error, sql, types, ap);
    va_end(ap);
    return stmt;
}

gint64
sq_run(SqliteStore *s, GError **error, const char *sql, const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    g_autoptr(sqlite3_stmt) stmt = sq_prepare_va(s, error, sql, types, ap);
    va_end(ap);
    if (stmt == NULL)
        return -1;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        ;
    if (rc != SQLITE_DONE) {
        sq_error(s, "cannot write", error);
        return -1;
    }
    return sqlite3_changes64(s->db);
}

int
sq_step_row(SqliteStore *s, sqlite3_stmt *stmt, GError **error)
{
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    sq_error(s, "cannot read", error);
    return -1;
}

gint64
sq_int(SqliteStore *s, GError **error, gint64 def, const char *sql, const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    g_autoptr(sqlite3_stmt) stmt = sq_prepare_va(s, error, sql, types, ap);
    va_end(ap);
    if (stmt == NULL)
        return -1;
    int row = sq_step_row(s, stmt, error);
    if (row < 0)
        return -1;
    return row == 1 ? sqlite3_column_int64(stmt, 0) : def;
}

char *
sq_col_text(sqlite3_stmt *stmt, int col)
{
    return g_strdup((const char *) sqlite3_column_text(stmt, col));
}

gboolean
sq_check_name(const char *name, const char *what, GError **error)
{
    if (name == NULL || *name == '\0') {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT, "%s must not be empty",
                    what);
        return FALSE;
    }
    if (strlen(name) > 255 || !g_utf8_validate(name, -1, NULL)) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "%s must be valid UTF-8 of at most 255 bytes", what);
        return FALSE;
    }
    for (const char *p = name; *p != '\0'; p = g_utf8_next_char(p)) {
        if (g_unichar_iscntrl(g_utf8_get_char(p))) {
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                        "%s must not contain control characters", what);
            return FALSE;
        }
    }
    return TRUE;
}

gboolean
sq_check_json(SqliteStore *s, const char *json, gboolean must_be_object, const char *what,
              GError **error)
{
    g_autoptr(sqlite3_stmt) stmt = sq_prepare(s, error,
        "SELECT json_valid(?1), CASE WHEN json_valid(?1) THEN json_type(?1) = 'object' END", "s", json);
    if (stmt == NULL || sq_step_row(s, stmt, error) != 1)
        return FALSE;
    if (sqlite3_column_int(stmt, must_be_object ? 1 : 0))
        return TRUE;
    g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT, "%s must be %s", what,
                must_be_object ? "a JSON object" : "valid JSON");
    return FALSE;
}

/* ---- Transactions ---- */

static gboolean
sq_exec(SqliteStore *s, const char *sql, const char *what, GError **error)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK)
        return TRUE;
    sq_error(s, what, error);
    return FALSE;
}

gboolean
sq_begin(SqliteStore *s, GError **error)
{
    g_rec_mutex_lock(&s->lock);
    /* IMMEDIATE takes the write lock now, so a transaction never fails
     * half-way on another connection's write. */
    if (!sq_exec(s, s->depth == 0 ? "BEGIN IMMEDIATE" : "SAVEPOINT op",
                 "cannot begin a transaction", error)) {
        g_rec_mutex_unlock(&s->lock);
        return FALSE;
    }
    s->depth++;
    return TRUE;
}

gboolean
sq_end(SqliteStore *s, gboolean ok, GError **error)
{
    g_assert(s->depth > 0);
    s->depth--;
    if (ok) {
        ok = sq_exec(s, s->depth == 0 ? "COMMIT" : "RELEASE op", "cannot commit", error);
    }
    if (!ok) {
        sqlite3_exec(s->db, s->depth == 0 ? "ROLLBACK" : "ROLLBACK TO op; RELEASE op",
                     NULL, NULL, NULL);
    }
    g_rec_mutex_unlock(&s->lock);
    return ok;
}

static gboolean
sqlite_tx_begin(Store *store, GError **error)
{
    return sq_begin(SQ(store), error);
}

static gboolean
sqlite_tx_commit(Store *store, GError **error)
{
    SqliteStore *s = SQ(store);
    if (s->depth == 0) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                    "no transaction to commit");
        return FALSE;
    }
    return sq_end(s, TRUE, error);
}

static void
sqlite_tx_rollback(Store *store)
{
    SqliteStore *s = SQ(store);
    if (s->depth > 0)
        sq_end(s, FALSE, NULL);
}

/* ---- Integrity ---- */

/* Collects the rows of a check pragma that are not "ok". */
static gboolean
run_check(SqliteStore *s, const char *pragma, GString *problems, GError **error)
{
    g_autoptr(sqlite3_stmt) stmt = sq_prepare(s, error, pragma, NULL);
    if (stmt == NULL)
        return FALSE;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        g_autofree char *row = sq_col_text(stmt, 0);
        if (sqlite3_column_count(stmt) > 1) {
            g_free(row);
            row = g_strdup_printf("row %lld of %s breaks a foreign key",
                                  (long long) sqlite3_column_int64(stmt, 1),
                                  sqlite3_column_text(stmt, 0));
        }
        if (g_strcmp0(row, "ok") != 0 && problems->len < 2000)
            g_string_append_printf(problems, "%s%s", problems->len ? "; " : "", row);
    }
    if (rc != SQLITE_DONE) {
        sq_error(s, "cannot check the database", error);
        return FALSE;
    }
    return TRUE;
}

static gboolean
sqlite_integrity_check(Store *store, GError **error)
{
    SqliteStore *s = SQ(store);
    g_autoptr(GRecMutexLocker) locker = g_rec_mutex_locker_new(&s->lock);
    g_autoptr(GString) problems = g_string_new(NULL);
    if (!run_check(s, "PRAGMA integrity_check", problems, error) ||
        !run_check(s, "PRAGMA foreign_key_check", problems, error))
        return FALSE;
    if (problems->len > 0) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR,
                    "database %s is damaged: %s; restore it from a backup", s->path,
                    problems->str);
        return FALSE;
    }
    return TRUE;
}

/* ---- Opening and migrations ---- */

static int
read_version(SqliteStore *s, GError **error)
{
    GError *local = NULL;
    gint64 has = sq_int(s, &local, 0,
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
        NULL);
    if (local != NULL) {
        g_propagate_error(error, local);
        return -1;
    }
    if (has == 0)
        return 0;
    gint64 v = sq_int(s, &local, 0, "SELECT max(version) FROM schema_version", NULL);
    if (local != NULL) {
        g_propagate_error(error, local);
        return -1;
    }
    return (int) v;
}

static gboolean
apply_migration(SqliteStore *s, guint index, GError **error)
{
    if (!sq_begin(s, error))
        return FALSE;
    gboolean ok =
        sq_exec(s, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
                "cannot record the schema version", error) &&
        sq_exec(s, store_sqlite_migrations[index], "cannot migrate the schema", error) &&
        sq_run(s, error, "DELETE FROM schema_version", NULL) >= 0 &&
        sq_run(s, error, "INSERT INTO schema_version VALUES (?)", "i",
               (gint64) index + 1) >= 0;
    if (!sq_end(s, ok, error)) {
        g_prefix_error(error, "migration to schema version %u failed: ", index + 1);
        return FALSE;
    }
    s->version = index + 1;
    return TRUE;
}

static gboolean
migrate(SqliteStore *s, GError **error)
{
    int version = read_version(s, error);
    if (version < 0)
        return FALSE;
    if ((guint) version > store_sqlite_n_migrations) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                    "database %s has schema version %d, newer than this vireo-centerd "
                    "knows (%u): run a newer vireo-centerd or restore a backup", s->path,
                    version, store_sqlite_n_migrations);
        return FALSE;
    }
    s->version = version;
    for (guint i = version; i < store_sqlite_n_migrations; i++) {
        if (!apply_migration(s, i, error))
            return FALSE;
    }
    return TRUE;
}

/* The database holds password hashes: create it readable by its owner only
 * (SQLite gives the -wal and -shm files the same mode). */
static gboolean
create_private_file(const char *path, GError **error)
{
    int fd = g_open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        int err = errno;
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "cannot create database %s: %s",
                    path, g_strerror(err));
        return FALSE;
    }
    close(fd);
    return TRUE;
}

static gboolean
configure(SqliteStore *s, GError **error)
{
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    g_autoptr(sqlite3_stmt) stmt = sq_prepare(s, error, "PRAGMA journal_mode = WAL", NULL);
    if (stmt == NULL || sq_step_row(s, stmt, error) != 1)
        return FALSE;
    if (g_ascii_strcasecmp((const char *) sqlite3_column_text(stmt, 0), "wal") != 0) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR,
                    "database %s cannot use write-ahead logging (journal mode %s)", s->path,
                    sqlite3_column_text(stmt, 0));
        return FALSE;
    }
    return sq_exec(s, "PRAGMA synchronous = FULL", "cannot set synchronous", error) &&
           sq_exec(s, "PRAGMA foreign_keys = ON", "cannot enable foreign keys", error);
}

static void
sqlite_close(Store *store)
{
    SqliteStore *s = SQ(store);
    while (s->depth > 0)
        sq_end(s, FALSE, NULL);
    sqlite3_close_v2(s->db);
    g_rec_mutex_clear(&s->lock);
    g_free(s->path);
    g_free(s);
}

static int
sqlite_schema_version(Store *store)
{
    return SQ(store)->version;
}

static void
sqlite_set_event_limit(Store *store, guint max_events)
{
    SQ(store)->event_limit = max_events;
}

static StoreBackend sqlite_backend;

static const StoreBackend *
backend(void)
{
    static gsize once = 0;
    if (g_once_init_enter(&once)) {
        sqlite_backend.name = "sqlite";
        sqlite_backend.close = sqlite_close;
        sqlite_backend.schema_version = sqlite_schema_version;
        sqlite_backend.integrity_check = sqlite_integrity_check;
        sqlite_backend.tx_begin = sqlite_tx_begin;
        sqlite_backend.tx_commit = sqlite_tx_commit;
        sqlite_backend.tx_rollback = sqlite_tx_rollback;
        sqlite_backend.set_event_limit = sqlite_set_event_limit;
        store_sqlite_objects_init(&sqlite_backend);
        store_sqlite_activity_init(&sqlite_backend);
        store_sqlite_security_init(&sqlite_backend);
        g_once_init_leave(&once, 1);
    }
    return &sqlite_backend;
}

Store *
store_open_sqlite(const char *path, GError **error)
{
    g_return_val_if_fail(path != NULL, NULL);
    if (!g_file_test(path, G_FILE_TEST_EXISTS) && !create_private_file(path, error))
        return NULL;
    SqliteStore *s = g_new0(SqliteStore, 1);
    s->parent.backend = backend();
    s->path = g_strdup(path);
    s->event_limit = STORE_EVENTS_KEPT;
    g_rec_mutex_init(&s->lock);
    g_autoptr(Store) store = &s->parent;
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK) {
        sq_error(s, "cannot open", error);
        return NULL;
    }
    sqlite3_extended_result_codes(s->db, 1);
    if (!configure(s, error) || !migrate(s, error))
        return NULL;
    return g_steal_pointer(&store);
}
