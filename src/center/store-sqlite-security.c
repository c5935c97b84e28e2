/* store-sqlite-security.c — who may do what, in SQLite: local users and
 * their groups, roles (built-in ones immutable) and permissions on objects.
 * Deciding effective privileges is the centre's authorisation code's job.
 */
#include "store-sqlite-private.h"

/* Reads the single text column of every row into a NULL-terminated vector. */
static GStrv
collect_strv(SqliteStore *s, GError **error, const char *sql, const char *key)
{
    g_autoptr(sqlite3_stmt) stmt = sq_prepare(s, error, sql, "s", key);
    if (stmt == NULL)
        return NULL;
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        g_strv_builder_add(b, (const char *) sqlite3_column_text(stmt, 0));
    if (rc != SQLITE_DONE) {
        sq_error(s, "cannot read", error);
        return NULL;
    }
    return g_strv_builder_end(b);
}

static gboolean
insert_all(SqliteStore *s, const char *sql, const char *key, const char *const *values,
           const char *what, GError **error)
{
    for (guint i = 0; values != NULL && values[i] != NULL; i++) {
        if (!sq_check_name(values[i], what, error) ||
            sq_run(s, error, sql, "ss", key, values[i]) < 0)
            return FALSE;
    }
    return TRUE;
}

static gboolean
exists(SqliteStore *s, const char *sql, const char *key, GError **error)
{
    return sq_int(s, error, 0, sql, "s", key) > 0;
}

/* ---- Users ---- */

static gboolean
sqlite_user_create(Store *store, const char *name, const char *hash, const char *const *groups,
                   GError **error)
{
    SqliteStore *s = SQ(store);
    if (!sq_check_name(name, "the user name", error) || !sq_begin(s, error))
        return FALSE;
    GError *local = NULL;
    gboolean ok = !exists(s, "SELECT 1 FROM users WHERE name = ?", name, &local) && !local;
    if (!ok && local == NULL)
        g_set_error(&local, VIREO_ERROR, VIREO_ERROR_ALREADY_EXISTS,
                    "a user named '%s' already exists", name);
    ok = ok && sq_run(s, &local, "INSERT INTO users VALUES (?, ?)", "ss", name, hash) >= 0 &&
         insert_all(s, "INSERT OR IGNORE INTO user_groups VALUES (?, ?)", name, groups,
                    "a group name", &local);
    if (local != NULL)
        g_propagate_error(error, local);
    return sq_end(s, ok, error);
}

static StoreUser *
load_user(SqliteStore *s, const char *name, GError **error)
{
    g_autoptr(sqlite3_stmt) stmt = sq_prepare(s, error,
        "SELECT name, password_hash FROM users WHERE name = ?", "s", name);
    int row = stmt ? sq_step_row(s, stmt, error) : -1;
    if (row == 0)
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "user '%s' does not exist", name);
    if (row != 1)
        return NULL;
    g_autoptr(StoreUser) u = g_new0(StoreUser, 1);
    u->name = sq_col_text(stmt, 0);
    u->password_hash = sq_col_text(stmt, 1);
    u->groups = collect_strv(s, error,
        "SELECT grp FROM user_groups WHERE user = ? ORDER BY grp", name);
    return u->groups ? g_steal_pointer(&u) : NULL;
}

static StoreUser *
sqlite_user_get(Store *store, const char *name, GError **error)
{
    SqliteStore *s = SQ(store);
    g_autoptr(GRecMutexLocker) locker = g_rec_mutex_locker_new(&s->lock);
    return load_user(s, name, error);
}

static GPtrArray *
sqlite_user_list(Store *store, GError **error)
{
    SqliteStore *s = SQ(store);
    g_autoptr(GRecMutexLocker) locker = g_rec_mutex_locker_new(&s->lock);
    g_auto(GStrv) names = collect_strv(s, error,
        "SELECT name FROM users WHERE ?1 IS NULL ORDER BY name", NULL);
    if (names == NULL)
        return NULL;
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify) store_user_free);
    for (guint i = 0; names[i] != NULL; i++) {
        StoreUser *u = load_user(s, names[i], error);
        if (u == NULL)
            return NULL;
        g_ptr_array_add(out, u);
    }
    return g_steal_pointer(&out);
}

/* Runs an update of one user; NOT_FOUND when there is no such user. */
static gboolean
user_must_exist(SqliteStore *s, const char *name, GError **error)
{
    GError *local = NULL;
    if (exists(s, "SELECT 1 FROM users WHERE name = ?", name, &local))
        return TRUE;
    if (local == NULL)
        g_set_error(&local, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "user '%s' does not exist", name);
    g_propagate_error(error, local);
    return FALSE;
}

static gboolean
sqlite_user_set_password(Store *store, const char *name, const char *hash, GError **error)
{
    SqliteStore *s = SQ(store);
    if (!sq_begin(s, error))
        return FALSE;
    gboolean ok = user_must_exist(s, name, error) &&
                  sq_run(s, error, "UPDATE users SET password_hash = ? WHERE name = ?", "ss",
                         hash, name) >= 0;
    return sq_end(s, ok, error);
}

static gboolean
sqlite_user_set_groups(Store *store, const char *name, const char *const *groups,
                       GError **error)
{
    SqliteStore *s = SQ(store);
    if (!sq_begin(s, error))
        return FALSE;
    gboolean ok = user_must_exist(s, name, error) &&
                  sq_run(s, error, "DELETE FROM user_groups WHERE user = ?", "s", name) >= 0 &&
                  insert_all(s, "INSERT OR IGNORE INTO user_groups VALUES (?, ?)", name, groups,
                             "a group name", error);
    return sq_end(s, ok, error);
}

static gboolean
sqlite_user_delete(Store *store, const char *name, GError **error)
{
    SqliteStore *s = SQ(store);
    if (!sq_begin(s, error))
        return FALSE;
    gboolean ok = user_must_exist(s, name, error) &&
                  sq_run(s, error, "DELETE FROM permissions WHERE principal = ? AND NOT is_group",
                         "s", name) >= 0 &&
                  sq_run(s, error, "DELETE FROM users WHERE name = ?", "s", name) >= 0;
    return sq_end(s, ok, error);
}

static GStrv
sqlite_group_members(Store *store, const char *group, GError **error)
{
    SqliteStore *s = SQ(store);
    g_autoptr(GRecMutexLocker) locker = g_rec_mutex_locker_new(&s->lock);
    return collect_strv(s, error, "SELECT user FROM user_groups WHERE grp = ? ORDER BY user",
                        group);
}

/* ---- Roles ---- */

static StoreRole *
load_role(SqliteStore *s, const char *name, GError **error)
{
    g_autoptr(sqlite3_stmt) stmt = sq_prepare(s, error,
        "SELECT name, system FROM roles WHERE name = ?", "s", name);
    int row = stmt ? sq_step_row(s, stmt, error) : -1;
    if (row == 0)
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "role '%s' does not exist", name);
    if (row != 1)
        return NULL;
    g_autoptr(StoreRole) r = g_new0(StoreRole, 1);
    r->name = sq_col_text(stmt, 0);
    r->system = sqlite3_column_int(stmt, 1) != 0;
    r->privileges = collect_strv(s, error,
        "SELECT privilege FROM role_privileges WHERE role = ? ORDER BY privilege", name);
    return r->privileges ? g_steal_pointer(&r) : NULL;
}

static gboolean
sqlite_role_create(Store *store, const char *name, const char *const *privileges,
                   GError **error)
{
    SqliteStore *s = SQ(store);
    if (!sq_check_name(name, "the role name", error) || !sq_begin(s, error))
        return FALSE;
    GError *local = NULL;
    gboolean ok = !exists(s, "SELECT 1 FROM roles WHERE name = ?", name, &local) && !local;
    if (!ok && local == NULL)
        g_set_error(&local, VIREO_ERROR, VIREO_ERROR_ALREADY_EXISTS,
                    "a role named '%s' already exists", name);
    ok = ok && sq_run(s, &local, "INSERT INTO roles VALUES (?, 0)", "s", name) >= 0 &&
         insert_all(s, "INSERT OR IGNORE INTO role_privileges VALUES (?, ?)", name, privileges,
                    "a privilege id", &local);
    if (local != NULL)
        g_propagate_error(error, local);
    return sq_end(s, ok, error);
}

static StoreRole *
sqlite_role_get(Store *store, const char *name, GError **error)
{
    SqliteStore *s = SQ(store);
    g_autoptr(GRecMutexLocker) locker = g_rec_mutex_locker_new(&s->lock);
    return load_role(s, name, error);
}

static GPtrArray *
sqlite_role_list(Store *store, GError **error)
{
    SqliteStore *s = SQ(store);
    g_autoptr(GRecMutexLocker) locker = g_rec_mutex_locker_new(&s->lock);
    g_auto(GStrv) names = collect_strv(s, error,
        "SELECT name FROM roles WHERE ?1 IS NULL ORDER BY name", NULL);
    if (names == NULL)
        return NULL;
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify) store_role_free);
    for (guint i = 0; names[i] != NULL; i++) {
        StoreRole *r = load_role(s, names[i], error);
        if (r == NULL)
            return NULL;
        g_ptr_array_add(out, r);
    }
    return g_steal_pointer(&out);
}

/* A role that exists and is not built in. */
static gboolean
role_changeable(SqliteStore *s, const char *name, const char *change, GError **error)
{
    g_autoptr(StoreRole) r = load_role(s, name, error);
    if (r == NULL)
        return FALSE;
    if (r->system) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                    "role '%s' is built in and cannot be %s", name, change);
        return FALSE;
    }
    return TRUE;
}

static gboolean
role_update_in_tx(SqliteStore *s, const char *name, const char *new_name,
                  const char *const *privileges, GError **error)
{
    if (!role_changeable(s, name, "changed", error))
        return FALSE;
    if (privileges != NULL &&
        (sq_run(s, error, "DELETE FROM role_privileges WHERE role = ?", "s", name) < 0 ||
         !insert_all(s, "INSERT OR IGNORE INTO role_privileges VALUES (?, ?)", name, privileges,
                     "a privilege id", error)))
        return FALSE;
    if (new_name == NULL || g_str_equal(new_name, name))
        return TRUE;
    if (!sq_check_name(new_name, "the role name", error))
        return FALSE;
    GError *local = NULL;
    if (exists(s, "SELECT 1 FROM roles WHERE name = ?", new_name, &local) || local != NULL) {
        if (local == NULL)
            g_set_error(&local, VIREO_ERROR, VIREO_ERROR_ALREADY_EXISTS,
                        "a role named '%s' already exists", new_name);
        g_propagate_error(error, local);
        return FALSE;
    }
    /* Privileges and permissions follow by ON UPDATE CASCADE. */
    return sq_run(s, error, "UPDATE roles SET name = ? WHERE name = ?", "ss", new_name,
                  name) >= 0;
}

static gboolean
sqlite_role_update(Store *store, const char *name, const char *new_name,
                   const char *const *privileges, GError **error)
{
    SqliteStore *s = SQ(store);
    if (!sq_begin(s, error))
        return FALSE;
    return sq_end(s, role_update_in_tx(s, name, new_name, privileges, error), error);
}

static gboolean
role_delete_in_tx(SqliteStore *s, const char *name, GError **error)
{
    if (!role_changeable(s, name, "deleted", error))
        return FALSE;
    gint64 used = sq_int(s, error, 0, "SELECT count(*) FROM permissions WHERE role = ?", "s",
                         name);
    if (used > 0)
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_RESOURCE_IN_USE,
                    "role '%s' is used by %" G_GINT64_FORMAT " permission(s): remove them first",
                    name, used);
    return used == 0 && sq_run(s, error, "DELETE FROM roles WHERE name = ?", "s", name) >= 0;
}

static gboolean
sqlite_role_delete(Store *store, const char *name, GError **error)
{
    SqliteStore *s = SQ(store);
    if (!sq_begin(s, error))
        return FALSE;
    return sq_end(s, role_delete_in_tx(s, name, error), error);
}

/* ---- Permissions ---- */

static gboolean
permission_set_in_tx(SqliteStore *s, const StorePermission *p, GError **error)
{
    g_autoptr(StoreRole) role = load_role(s, p->role, error);
    if (role == NULL || !sq_check_name(p->principal, "the principal", error))
        return FALSE;
    GError *local = NULL;
    if (!exists(s, "SELECT 1 FROM objects WHERE id = ?", p->object, &local)) {
        if (local == NULL)
            g_set_error(&local, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "object %s does not exist",
                        p->object);
        g_propagate_error(error, local);
        return FALSE;
    }
    return sq_run(s, error,
        "INSERT INTO permissions VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (object, principal, is_group)"
        " DO UPDATE SET role = excluded.role, propagate = excluded.propagate",
        "ssbsb", p->object, p->principal, (int) p->is_group, p->role, (int) p->propagate) >= 0;
}

static gboolean
sqlite_permission_set(Store *store, const StorePermission *perm, GError **error)
{
    SqliteStore *s = SQ(store);
    if (!sq_begin(s, error))
        return FALSE;
    return sq_end(s, permission_set_in_tx(s, perm, error), error);
}

static gboolean
sqlite_permission_delete(Store *store, const char *object, const char *principal,
                         gboolean is_group, GError **error)
{
    SqliteStore *s = SQ(store);
    if (!sq_begin(s, error))
        return FALSE;
    gint64 n = sq_run(s, error,
        "DELETE FROM permissions WHERE object = ? AND principal = ? AND is_group = ?", "ssb",
        object, principal, (int) is_group);
    if (n == 0)
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND,
                    "%s '%s' has no permission on %s", is_group ? "group" : "user", principal,
                    object);
    return sq_end(s, n > 0, error);
}

static GPtrArray *
sqlite_permission_list(Store *store, const char *object, const char *principal, GError **error)
{
    SqliteStore *s = SQ(store);
    g_autoptr(GRecMutexLocker) locker = g_rec_mutex_locker_new(&s->lock);
    g_autoptr(sqlite3_stmt) stmt = sq_prepare(s, error,
        "SELECT p.object, p.principal, p.is_group, p.role, p.propagate FROM permissions p"
        " JOIN objects o ON o.id = p.object"
        " WHERE (?1 IS NULL OR p.object = ?1) AND (?2 IS NULL OR p.principal = ?2)"
        " ORDER BY o.seq, p.principal, p.is_group", "ss", object, principal);
    if (stmt == NULL)
        return NULL;
    g_autoptr(GPtrArray) out =
        g_ptr_array_new_with_free_func((GDestroyNotify) store_permission_free);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        StorePermission *p = g_new0(StorePermission, 1);
        p->object = sq_col_text(stmt, 0);
        p->principal = sq_col_text(stmt, 1);
        p->is_group = sqlite3_column_int(stmt, 2) != 0;
        p->role = sq_col_text(stmt, 3);
        p->propagate = sqlite3_column_int(stmt, 4) != 0;
        g_ptr_array_add(out, p);
    }
    if (rc != SQLITE_DONE) {
        sq_error(s, "cannot list permissions", error);
        return NULL;
    }
    return g_steal_pointer(&out);
}

void
store_sqlite_security_init(StoreBackend *b)
{
    b->user_create = sqlite_user_create;
    b->user_get = sqlite_user_get;
    b->user_list = sqlite_user_list;
    b->user_set_password = sqlite_user_set_password;
    b->user_set_groups = sqlite_user_set_groups;
    b->user_delete = sqlite_user_delete;
    b->group_members = sqlite_group_members;
    b->role_create = sqlite_role_create;
    b->role_get = sqlite_role_get;
    b->role_list = sqlite_role_list;
    b->role_update = sqlite_role_update;
    b->role_delete = sqlite_role_delete;
    b->permission_set = sqlite_permission_set;
    b->permission_delete = sqlite_permission_delete;
    b->permission_list = sqlite_permission_list;
}
