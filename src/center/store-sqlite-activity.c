/* store-sqlite-activity.c — what happens in the centre, in SQLite: tasks
 * (their state machine is drawn in store.h) and the bounded event log.
 */
#include "store-sqlite-private.h"

#define TASK_COLUMNS \
    "num, operation, target_type, target_id, user, state, progress, progress_message," \
    " queued_us, start_us, end_us, result, error"
#define UNFINISHED "state IN ('PENDING', 'RUNNING')"

/* "task-7" → 7; 0 when id is not a task id. */
static gint64
task_num(const char *id)
{
    guint64 n = 0;
    if (!g_str_has_prefix(id, "task-") ||
        !g_ascii_string_to_unsigned(id + 5, 10, 1, G_MAXINT64, &n, NULL))
        return 0;
    return (gint64) n;
}

static StoreTask *
task_from_row(sqlite3_stmt *stmt)
{
    StoreTask *t = g_new0(StoreTask, 1);
    t->id = g_strdup_printf("task-%lld", (long long) sqlite3_column_int64(stmt, 0));
    t->operation = sq_col_text(stmt, 1);
    t->target_type = sq_col_text(stmt, 2);
    t->target_id = sq_col_text(stmt, 3);
    t->user = sq_col_text(stmt, 4);
    StoreTaskState state = STORE_TASK_FAILED;
    store_task_state_from_string((const char *) sqlite3_column_text(stmt, 5), &state);
    t->state = state;
    t->progress = sqlite3_column_int(stmt, 6);
    t->progress_message = sq_col_text(stmt, 7);
    t->queued_us = sqlite3_column_int64(stmt, 8);
    t->start_us = sqlite3_column_int64(stmt, 9);
    t->end_us = sqlite3_column_int64(stmt, 10);
    t->result_json = sq_col_text(stmt, 11);
    t->error_json = sq_col_text(stmt, 12);
    return t;
}

static char *
sqlite_task_create(Store *store, const char *operation, const char *target_type,
                   const char *target_id, const char *user, GError **error)
{
    SqliteStore *s = SQ(store);
    if (!sq_begin(s, error))
        return NULL;
    gboolean ok = sq_run(s, error,
        "INSERT INTO tasks (operation, target_type, target_id, user, state, queued_us)"
        " VALUES (?, ?, ?, ?, 'PENDING', ?)", "ssssi", operation, target_type, target_id, user,
        sq_now()) >= 0;
    gint64 num = sqlite3_last_insert_rowid(s->db);
    /* Unfinished tasks are never pruned: someone still waits for them. */
    ok = ok && sq_run(s, error,
        "DELETE FROM tasks WHERE num IN (SELECT num FROM tasks WHERE NOT " UNFINISHED
        " ORDER BY num DESC LIMIT -1 OFFSET ?)", "i", (gint64) STORE_TASKS_KEPT) >= 0;
    if (!sq_end(s, ok, error))
        return NULL;
    return g_strdup_printf("task-%" G_GINT64_FORMAT, num);
}

/* Runs an update of task id that applies only in some states; tells
 * NOT_FOUND from "not in a state where this applies". */
static gboolean
task_update(SqliteStore *s, const char *id, const char *what, GError **error, const char *sql,
            const char *types, ...)
{
    if (!sq_begin(s, error))
        return FALSE;
    va_list ap;
    va_start(ap, types);
    g_autoptr(sqlite3_stmt) stmt = sq_prepare_va(s, error, sql, types, ap);
    va_end(ap);
    gboolean ok = stmt != NULL && sqlite3_step(stmt) == SQLITE_DONE;
    if (stmt != NULL && !ok)
        sq_error(s, "cannot update the task", error);
    if (ok && sqlite3_changes(s->db) == 0) {
        ok = FALSE;
        g_autoptr(sqlite3_stmt) q = sq_prepare(s, error, "SELECT state FROM tasks WHERE num = ?",
                                               "i", task_num(id));
        int row = q ? sq_step_row(s, q, error) : -1;
        if (row == 0)
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "task %s does not exist", id);
        else if (row == 1)
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                        "task %s is %s: it cannot %s", id, sqlite3_column_text(q, 0), what);
    }
    return sq_end(s, ok, error);
}

static gboolean
sqlite_task_start(Store *store, const char *id, GError **error)
{
    return task_update(SQ(store), id, "start", error,
        "UPDATE tasks SET state = 'RUNNING', start_us = ? WHERE num = ? AND state = 'PENDING'",
        "ii", sq_now(), task_num(id));
}

static gboolean
sqlite_task_set_progress(Store *store, const char *id, int progress, const char *message,
                         GError **error)
{
    return task_update(SQ(store), id, "make progress", error,
        "UPDATE tasks SET progress = ?, progress_message = ? WHERE num = ? AND " UNFINISHED,
        "isi", (gint64) progress, message, task_num(id));
}

static gboolean
sqlite_task_finish(Store *store, const char *id, StoreTaskState state, const char *result_json,
                   const char *error_json, GError **error)
{
    SqliteStore *s = SQ(store);
    if ((result_json && !sq_check_json(s, result_json, FALSE, "the task's result", error)) ||
        (error_json && !sq_check_json(s, error_json, FALSE, "the task's error", error)))
        return FALSE;
    return task_update(s, id, "finish again", error,
        "UPDATE tasks SET state = ?1, end_us = ?2,"
        " start_us = CASE WHEN start_us = 0 THEN ?2 ELSE start_us END,"
        " progress = CASE WHEN ?1 = 'SUCCEEDED' THEN 100 ELSE progress END,"
        " result = json(?3), error = json(?4) WHERE num = ?5 AND " UNFINISHED,
        "sissi", store_task_state_to_string(state), sq_now(), result_json, error_json,
        task_num(id));
}

static StoreTask *
sqlite_task_get(Store *store, const char *id, GError **error)
{
    SqliteStore *s = SQ(store);
    g_autoptr(GRecMutexLocker) locker = g_rec_mutex_locker_new(&s->lock);
    g_autoptr(sqlite3_stmt) stmt = sq_prepare(s, error,
        "SELECT " TASK_COLUMNS " FROM tasks WHERE num = ?", "i", task_num(id));
    if (stmt == NULL)
        return NULL;
    int row = sq_step_row(s, stmt, error);
    if (row == 0)
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "task %s does not exist", id);
    return row == 1 ? task_from_row(stmt) : NULL;
}

static GPtrArray *
sqlite_task_list(Store *store, guint state_mask, const char *target_id, GError **error)
{
    SqliteStore *s = SQ(store);
    g_autoptr(GString) states = g_string_new(NULL);
    for (guint i = 0; i < STORE_TASK_N_STATES; i++) {
        if (state_mask == 0 || (state_mask & STORE_TASK_STATE_BIT(i)))
            g_string_append_printf(states, "%s'%s'", states->len ? ", " : "",
                                   store_task_state_to_string(i));
    }
    if (states->len == 0)
        g_string_append(states, "NULL");
    g_autofree char *sql = g_strdup_printf("SELECT " TASK_COLUMNS " FROM tasks WHERE state IN"
                                           " (%s) AND (?1 IS NULL OR target_id = ?1)"
                                           " ORDER BY num DESC", states->str);
    g_autoptr(GRecMutexLocker) locker = g_rec_mutex_locker_new(&s->lock);
    g_autoptr(sqlite3_stmt) stmt = sq_prepare(s, error, sql, "s", target_id);
    if (stmt == NULL)
        return NULL;
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify) store_task_free);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        g_ptr_array_add(out, task_from_row(stmt));
    if (rc != SQLITE_DONE) {
        sq_error(s, "cannot list tasks", error);
        return NULL;
    }
    return g_steal_pointer(&out);
}

static gboolean
sqlite_tasks_fail_unfinished(Store *store, const char *message, guint *out_count,
                             GError **error)
{
    SqliteStore *s = SQ(store);
    if (!sq_begin(s, error))
        return FALSE;
    gint64 n = sq_run(s, error,
        "UPDATE tasks SET state = 'FAILED', end_us = ?1,"
        " error = json_object('error_type', 'ERROR', 'messages', json_array(json_object("
        "   'id', 'vireo.center.restarted', 'default_message', ?2, 'args', json_array())))"
        " WHERE " UNFINISHED, "is", sq_now(), message);
    if (!sq_end(s, n >= 0, error))
        return FALSE;
    if (out_count != NULL)
        *out_count = (guint) n;
    return TRUE;
}

/* ---- Events ---- */

static gint64
sqlite_event_append(Store *store, const StoreEvent *e, GError **error)
{
    SqliteStore *s = SQ(store);
    if (!sq_begin(s, error))
        return -1;
    gboolean ok = sq_run(s, error,
        "INSERT INTO events (time_us, user, object, object_name, type, message, error, task)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", "isssssbs", e->time_us ? e->time_us : sq_now(),
        e->user, e->object, e->object_name, e->type, e->message, (int) e->error, e->task) >= 0;
    gint64 key = sqlite3_last_insert_rowid(s->db);
    /* Keys only grow, so the newest event_limit events are a key range. */
    ok = ok && sq_run(s, error, "DELETE FROM events WHERE key <= ?", "i",
                      key - (gint64) s->event_limit) >= 0;
    return sq_end(s, ok, error) ? key : -1;
}

static GPtrArray *
sqlite_event_query(Store *store, const StoreEventQuery *q, GError **error)
{
    SqliteStore *s = SQ(store);
    g_autoptr(GRecMutexLocker) locker = g_rec_mutex_locker_new(&s->lock);
    g_autoptr(sqlite3_stmt) stmt = sq_prepare(s, error,
        "SELECT key, time_us, user, object, object_name, type, message, error, task"
        " FROM events WHERE (?1 IS NULL OR object = ?1) AND (?2 IS NULL OR user = ?2)"
        " AND time_us >= ?3 ORDER BY key DESC LIMIT ?4", "ssii", q->object, q->user,
        q->since_us, q->limit ? (gint64) q->limit : (gint64) -1);
    if (stmt == NULL)
        return NULL;
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify) store_event_free);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        StoreEvent *e = g_new0(StoreEvent, 1);
        e->key = sqlite3_column_int64(stmt, 0);
        e->time_us = sqlite3_column_int64(stmt, 1);
        e->user = sq_col_text(stmt, 2);
        e->object = sq_col_text(stmt, 3);
        e->object_name = sq_col_text(stmt, 4);
        e->type = sq_col_text(stmt, 5);
        e->message = sq_col_text(stmt, 6);
        e->error = sqlite3_column_int(stmt, 7) != 0;
        e->task = sq_col_text(stmt, 8);
        g_ptr_array_add(out, e);
    }
    if (rc != SQLITE_DONE) {
        sq_error(s, "cannot query events", error);
        return NULL;
    }
    return g_steal_pointer(&out);
}

void
store_sqlite_activity_init(StoreBackend *b)
{
    b->task_create = sqlite_task_create;
    b->task_start = sqlite_task_start;
    b->task_set_progress = sqlite_task_set_progress;
    b->task_finish = sqlite_task_finish;
    b->task_get = sqlite_task_get;
    b->task_list = sqlite_task_list;
    b->tasks_fail_unfinished = sqlite_tasks_fail_unfinished;
    b->event_append = sqlite_event_append;
    b->event_query = sqlite_event_query;
}
