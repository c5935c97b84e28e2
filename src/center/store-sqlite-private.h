/* store-sqlite-private.h — what the files of the SQLite backend share: the
 * connection, the statement helpers, the transaction discipline and the
 * per-area vtable fillers. Not for use outside store-sqlite*.c.
 */
#pragma once

#include <sqlite3.h>

#include "store.h"
#include "vireo-error.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(sqlite3_stmt, sqlite3_finalize)

typedef struct {
    Store parent;           /* first: a SqliteStore is a Store */
    sqlite3 *db;
    char *path;
    GRecMutex lock;         /* serialises calls; held through a transaction block */
    guint depth;            /* open transactions/savepoints */
    int version;
    guint event_limit;
} SqliteStore;

#define SQ(store) ((SqliteStore *) (store))

/* Sets error from the connection's last failure: "what: sqlite's message". */
void sq_error(SqliteStore *s, const char *what, GError **error);

/* Prepares sql and binds the variadic arguments described by types, one
 * char per parameter: 's' const char * (NULL binds NULL), 'i' gint64,
 * 'b' int. Returns NULL with error on failure. */
sqlite3_stmt *sq_prepare(SqliteStore *s, GError **error, const char *sql, const char *types, ...);
sqlite3_stmt *sq_prepare_va(SqliteStore *s, GError **error, const char *sql, const char *types,
                            va_list ap);
/* Prepares, binds and steps sql to completion; returns the number of rows
 * changed, or -1 with error. */
gint64 sq_run(SqliteStore *s, GError **error, const char *sql, const char *types, ...);
/* Steps a statement that returns at most one row: 1 row, 0 none, -1 error. */
int sq_step_row(SqliteStore *s, sqlite3_stmt *stmt, GError **error);
/* The first column of the first row as an integer; def when there is none,
 * -1 with error set on failure (check error). */
gint64 sq_int(SqliteStore *s, GError **error, gint64 def, const char *sql, const char *types, ...);
/* A text column, duplicated (NULL stays NULL). */
char *sq_col_text(sqlite3_stmt *stmt, int col);

/* One atomic unit: BEGIN IMMEDIATE at the outermost level, a savepoint
 * inside. sq_begin takes the lock; sq_end(ok) commits or rolls back, drops
 * the lock and returns ok && the commit worked. */
gboolean sq_begin(SqliteStore *s, GError **error);
gboolean sq_end(SqliteStore *s, gboolean ok, GError **error);

/* Names: valid UTF-8, 1-255 bytes, no control characters. */
gboolean sq_check_name(const char *name, const char *what, GError **error);
/* A JSON text that is an object (INVALID_ARGUMENT otherwise). */
gboolean sq_check_json(SqliteStore *s, const char *json, gboolean must_be_object,
                       const char *what, GError **error);

gint64 sq_now(void);

/* Fill the backend's vtable, one area per file. */
void store_sqlite_objects_init(StoreBackend *b);     /* calls relations_init */
void store_sqlite_relations_init(StoreBackend *b);
void store_sqlite_activity_init(StoreBackend *b);
void store_sqlite_security_init(StoreBackend *b);

/* Migrations, in order; migration i brings the schema to version i + 1. */
extern const char *const store_sqlite_migrations[];
extern const guint store_sqlite_n_migrations;
