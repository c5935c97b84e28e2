/* store-sqlite-objects.c — the inventory in SQLite: objects, their ids and
 * hierarchy, vCenter's placement and naming rules, and the objects a
 * datacenter, cluster or standalone host is made with.
 */
#include "store-sqlite-private.h"

#define OBJECT_COLUMNS \
    "id, kind, name, parent, datacenter, attrs, system, created_us, modified_us"

typedef struct {
    const char *kind;
    const char *prefix;     /* NULL: by folder type */
} KindInfo;

static const KindInfo kinds[] = {
    { STORE_KIND_DATACENTER, "datacenter-" },
    { STORE_KIND_FOLDER, NULL },
    { STORE_KIND_CLUSTER, "domain-c" },
    { STORE_KIND_HOST, "host-" },
    { STORE_KIND_DATASTORE, "datastore-" },
    { STORE_KIND_NETWORK, "network-" },
    { STORE_KIND_RESOURCE_POOL, "resgroup-" },
    { STORE_KIND_VM, "vm-" },
};

typedef struct {
    const char *type;
    const char *prefix;
    const char *dc_folder_name;     /* the name of a datacenter's root folder */
} FolderInfo;

static const FolderInfo folder_types[] = {
    { STORE_FOLDER_DATACENTER, "group-d", NULL },
    { STORE_FOLDER_VM, "group-v", "vm" },
    { STORE_FOLDER_HOST, "group-h", "host" },
    { STORE_FOLDER_DATASTORE, "group-s", "datastore" },
    { STORE_FOLDER_NETWORK, "group-n", "network" },
};

static const KindInfo *
kind_info(const char *kind)
{
    for (guint i = 0; kind != NULL && i < G_N_ELEMENTS(kinds); i++) {
        if (strcmp(kinds[i].kind, kind) == 0)
            return &kinds[i];
    }
    return NULL;
}

static const FolderInfo *
folder_info(const char *type)
{
    for (guint i = 0; type != NULL && i < G_N_ELEMENTS(folder_types); i++) {
        if (strcmp(folder_types[i].type, type) == 0)
            return &folder_types[i];
    }
    return NULL;
}

static gboolean
named_per_datacenter(const char *kind)
{
    return g_str_equal(kind, STORE_KIND_HOST) || g_str_equal(kind, STORE_KIND_DATASTORE) ||
           g_str_equal(kind, STORE_KIND_NETWORK);
}

static StoreObject *
object_from_row(sqlite3_stmt *stmt)
{
    StoreObject *o = g_new0(StoreObject, 1);
    o->id = sq_col_text(stmt, 0);
    o->kind = sq_col_text(stmt, 1);
    o->name = sq_col_text(stmt, 2);
    o->parent = sq_col_text(stmt, 3);
    o->datacenter = sq_col_text(stmt, 4);
    o->attrs_json = sq_col_text(stmt, 5);
    o->system = sqlite3_column_int(stmt, 6) != 0;
    o->created_us = sqlite3_column_int64(stmt, 7);
    o->modified_us = sqlite3_column_int64(stmt, 8);
    return o;
}

static StoreObject *
load(SqliteStore *s, const char *id, const char *role, GError **error)
{
    g_autoptr(sqlite3_stmt) stmt = sq_prepare(s, error,
        "SELECT " OBJECT_COLUMNS " FROM objects WHERE id = ?", "s", id);
    if (stmt == NULL)
        return NULL;
    int row = sq_step_row(s, stmt, error);
    if (row == 0)
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "%s %s does not exist", role, id);
    return row == 1 ? object_from_row(stmt) : NULL;
}

static gboolean
is_folder_of(const StoreObject *o, const char *type)
{
    if (!g_str_equal(o->kind, STORE_KIND_FOLDER))
        return FALSE;
    g_autofree char *t = store_object_attr_string(o, STORE_ATTR_FOLDER_TYPE);
    return g_strcmp0(t, type) == 0;
}

/* vCenter's placement rules: which kind of object may live under which. */
static gboolean
check_parent(SqliteStore *s, const char *kind, const char *folder_type, const StoreObject *p,
             GError **error)
{
    gboolean ok;
    if (g_str_equal(kind, STORE_KIND_DATACENTER))
        ok = is_folder_of(p, STORE_FOLDER_DATACENTER);
    else if (g_str_equal(kind, STORE_KIND_FOLDER))
        ok = is_folder_of(p, folder_type);
    else if (g_str_equal(kind, STORE_KIND_CLUSTER))
        ok = is_folder_of(p, STORE_FOLDER_HOST);
    else if (g_str_equal(kind, STORE_KIND_HOST))
        ok = is_folder_of(p, STORE_FOLDER_HOST) || g_str_equal(p->kind, STORE_KIND_CLUSTER);
    else if (g_str_equal(kind, STORE_KIND_DATASTORE))
        ok = is_folder_of(p, STORE_FOLDER_DATASTORE);
    else if (g_str_equal(kind, STORE_KIND_NETWORK))
        ok = is_folder_of(p, STORE_FOLDER_NETWORK);
    else if (g_str_equal(kind, STORE_KIND_VM))
        ok = is_folder_of(p, STORE_FOLDER_VM);
    else if (g_str_equal(p->kind, STORE_KIND_HOST)) {
        /* A host in a cluster has no pools of its own. */
        g_autoptr(StoreObject) gp = load(s, p->parent, "parent", error);
        if (gp == NULL)
            return FALSE;
        ok = g_str_equal(gp->kind, STORE_KIND_FOLDER);
    } else
        ok = g_str_equal(p->kind, STORE_KIND_CLUSTER) ||
             g_str_equal(p->kind, STORE_KIND_RESOURCE_POOL);
    if (!ok) {
        g_autofree char *pt = store_object_attr_string(p, STORE_ATTR_FOLDER_TYPE);
        g_autofree char *what = pt ? g_strdup_printf("a %s folder", pt)
                                   : g_strdup_printf("a %s", p->kind);
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "a %s%s%s cannot be placed in %s, which is %s", kind,
                    folder_type ? " folder of type " : "", folder_type ? folder_type : "",
                    p->id, what);
    }
    return ok;
}

/* The datacenter an object under parent belongs to. */
static const char *
datacenter_under(const StoreObject *parent)
{
    return g_str_equal(parent->kind, STORE_KIND_DATACENTER) ? parent->id : parent->datacenter;
}

static gboolean
check_unique(SqliteStore *s, const char *kind, const char *name, const char *parent,
             const char *datacenter, const char *self, GError **error)
{
    gboolean per_dc = named_per_datacenter(kind);
    g_autoptr(sqlite3_stmt) stmt = sq_prepare(s, error, per_dc
        ? "SELECT id FROM objects WHERE datacenter IS ?1 AND kind = ?2 AND name = ?3 AND id IS NOT ?4"
        : "SELECT id FROM objects WHERE parent IS ?1 AND kind = ?2 AND name = ?3 AND id IS NOT ?4",
        "ssss", per_dc ? datacenter : parent, kind, name, self);
    if (stmt == NULL)
        return FALSE;
    int row = sq_step_row(s, stmt, error);
    if (row == 1) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ALREADY_EXISTS,
                    "a %s named '%s' already exists in %s (%s)", kind, name,
                    per_dc ? datacenter : parent, sqlite3_column_text(stmt, 0));
    }
    return row == 0;
}

static char *
allocate_id(SqliteStore *s, const char *prefix, gint64 *seq, GError **error)
{
    GError *local = NULL;
    gint64 n = sq_int(s, &local, -1,
        "UPDATE id_counter SET next = next + 1 WHERE name = 'object' RETURNING next - 1", NULL);
    if (local != NULL || n < 0) {
        if (local == NULL)
            g_set_error(&local, VIREO_ERROR, VIREO_ERROR_ERROR, "the id counter is missing");
        g_propagate_error(error, local);
        return NULL;
    }
    *seq = n;
    return g_strdup_printf("%s%" G_GINT64_FORMAT, prefix, n);
}

static char *
json_folder_type(SqliteStore *s, const char *attrs, GError **error)
{
    g_autoptr(sqlite3_stmt) stmt = sq_prepare(s, error,
        "SELECT json_extract(?, '$.folder_type')", "s", attrs);
    if (stmt == NULL || sq_step_row(s, stmt, error) != 1)
        return NULL;
    return sq_col_text(stmt, 0);
}

static gboolean create_in_tx(SqliteStore *s, const char *kind, const char *name,
                             const char *parent, const char *attrs, gboolean system,
                             char **out_id, GError **error);

/* The objects vCenter makes with a datacenter, a cluster, a standalone host. */
static gboolean
create_companions(SqliteStore *s, const char *kind, const char *id, const StoreObject *parent,
                  GError **error)
{
    if (g_str_equal(kind, STORE_KIND_DATACENTER)) {
        for (guint i = 0; i < G_N_ELEMENTS(folder_types); i++) {
            if (folder_types[i].dc_folder_name == NULL)
                continue;
            g_autofree char *attrs = g_strdup_printf("{\"folder_type\":\"%s\"}",
                                                     folder_types[i].type);
            if (!create_in_tx(s, STORE_KIND_FOLDER, folder_types[i].dc_folder_name, id, attrs,
                              TRUE, NULL, error))
                return FALSE;
        }
        return TRUE;
    }
    if (g_str_equal(kind, STORE_KIND_CLUSTER) ||
        (g_str_equal(kind, STORE_KIND_HOST) && g_str_equal(parent->kind, STORE_KIND_FOLDER)))
        return create_in_tx(s, STORE_KIND_RESOURCE_POOL, "Resources", id, "{}", TRUE, NULL,
                            error);
    return TRUE;
}

/* Creates an object; system objects (made with their parent) skip the
 * placement rules, which forbid folders directly under a datacenter. */
static gboolean
create_in_tx(SqliteStore *s, const char *kind, const char *name, const char *parent_id,
             const char *attrs, gboolean system, char **out_id, GError **error)
{
    const KindInfo *ki = kind_info(kind);
    if (ki == NULL) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "unknown object kind '%s'", kind);
        return FALSE;
    }
    if (!sq_check_name(name, "the name", error) ||
        !sq_check_json(s, attrs, TRUE, "the attributes", error))
        return FALSE;
    g_autoptr(StoreObject) parent = load(s, parent_id, "parent", error);
    if (parent == NULL)
        return FALSE;
    g_autofree char *folder_type = NULL;
    const char *prefix = ki->prefix;
    if (prefix == NULL) {
        folder_type = json_folder_type(s, attrs, error);
        if (folder_type == NULL)
            folder_type = store_object_attr_string(parent, STORE_ATTR_FOLDER_TYPE);
        const FolderInfo *fi = folder_info(folder_type);
        if (fi == NULL) {
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                        "unknown folder type '%s'", folder_type ? folder_type : "");
            return FALSE;
        }
        prefix = fi->prefix;
    }
    if (!system && !check_parent(s, kind, folder_type, parent, error))
        return FALSE;
    const char *dc = datacenter_under(parent);
    if (!check_unique(s, kind, name, parent_id, dc, NULL, error))
        return FALSE;
    gint64 seq = 0;
    g_autofree char *id = allocate_id(s, prefix, &seq, error);
    if (id == NULL)
        return FALSE;
    if (g_str_equal(kind, STORE_KIND_DATACENTER))
        dc = id;
    gint64 now = sq_now();
    if (sq_run(s, error,
               "INSERT INTO objects VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
               " CASE WHEN ?7 IS NULL THEN json(?8) ELSE json_set(?8, '$.folder_type', ?7) END,"
               " ?9, ?10, ?10)", "sissssssbi", id, seq, kind, name, parent_id, dc,
               folder_type, attrs, (int) system, now) < 0)
        return FALSE;
    if (!create_companions(s, kind, id, parent, error))
        return FALSE;
    if (out_id != NULL)
        *out_id = g_steal_pointer(&id);
    return TRUE;
}

static gboolean
sqlite_object_create(Store *store, const char *kind, const char *name, const char *parent,
                     const char *attrs_json, char **out_id, GError **error)
{
    SqliteStore *s = SQ(store);
    if (!sq_begin(s, error))
        return FALSE;
    gboolean ok = create_in_tx(s, kind, name, parent, attrs_json ? attrs_json : "{}", FALSE,
                               out_id, error);
    return sq_end(s, ok, error);
}

static StoreObject *
sqlite_object_get(Store *store, const char *id, GError **error)
{
    SqliteStore *s = SQ(store);
    g_autoptr(GRecMutexLocker) locker = g_rec_mutex_locker_new(&s->lock);
    return load(s, id, "object", error);
}

static gboolean
valid_attr_name(const char *name)
{
    for (const char *p = name; *p != '\0'; p++) {
        if (!g_ascii_isalnum(*p) && *p != '_' && *p != '-')
            return FALSE;
    }
    return *name != '\0';
}

static GPtrArray *
sqlite_object_list(Store *store, const StoreObjectFilter *f, GError **error)
{
    SqliteStore *s = SQ(store);
    if (f->attr_name != NULL && !valid_attr_name(f->attr_name)) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "invalid attribute name '%s'", f->attr_name);
        return NULL;
    }
    g_autofree char *path = f->attr_name ? g_strdup_printf("$.\"%s\"", f->attr_name) : NULL;
    g_autoptr(GRecMutexLocker) locker = g_rec_mutex_locker_new(&s->lock);
    g_autoptr(sqlite3_stmt) stmt = sq_prepare(s, error,
        "SELECT " OBJECT_COLUMNS " FROM objects WHERE (?1 IS NULL OR kind = ?1)"
        " AND (?2 IS NULL OR parent = ?2) AND (?3 IS NULL OR datacenter = ?3)"
        " AND (?4 IS NULL OR name = ?4)"
        " AND (?5 IS NULL OR (json_type(attrs, ?5) = 'text'"
        "  AND (?6 IS NULL OR json_extract(attrs, ?5) = ?6)))"
        " ORDER BY seq", "ssssss", f->kind, f->parent, f->datacenter, f->name, path,
        f->attr_value);
    if (stmt == NULL)
        return NULL;
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify) store_object_free);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        g_ptr_array_add(out, object_from_row(stmt));
    if (rc != SQLITE_DONE) {
        sq_error(s, "cannot list objects", error);
        return NULL;
    }
    return g_steal_pointer(&out);
}

static GPtrArray *
ancestors(SqliteStore *s, const char *id, GError **error)
{
    g_autoptr(sqlite3_stmt) stmt = sq_prepare(s, error,
        "WITH RECURSIVE up(id, parent, depth) AS ("
        "  SELECT id, parent, 0 FROM objects WHERE id = ?1"
        "  UNION ALL SELECT o.id, o.parent, up.depth + 1 FROM objects o"
        "  JOIN up ON o.id = up.parent)"
        " SELECT id FROM up ORDER BY depth", "s", id);
    if (stmt == NULL)
        return NULL;
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        g_ptr_array_add(out, sq_col_text(stmt, 0));
    if (rc != SQLITE_DONE) {
        sq_error(s, "cannot read ancestors", error);
        return NULL;
    }
    if (out->len == 0) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "object %s does not exist", id);
        return NULL;
    }
    return g_steal_pointer(&out);
}

static GPtrArray *
sqlite_object_ancestors(Store *store, const char *id, GError **error)
{
    SqliteStore *s = SQ(store);
    g_autoptr(GRecMutexLocker) locker = g_rec_mutex_locker_new(&s->lock);
    return ancestors(s, id, error);
}

static gboolean
rename_in_tx(SqliteStore *s, const char *id, const char *name, GError **error)
{
    if (!sq_check_name(name, "the name", error))
        return FALSE;
    g_autoptr(StoreObject) o = load(s, id, "object", error);
    return o != NULL &&
           check_unique(s, o->kind, name, o->parent, o->datacenter, o->id, error) &&
           sq_run(s, error, "UPDATE objects SET name = ?, modified_us = ? WHERE id = ?", "sis",
                  name, sq_now(), id) >= 0;
}

static gboolean
sqlite_object_rename(Store *store, const char *id, const char *name, GError **error)
{
    SqliteStore *s = SQ(store);
    if (!sq_begin(s, error))
        return FALSE;
    return sq_end(s, rename_in_tx(s, id, name, error), error);
}

/* Keeps "every standalone host has a root pool" true across moves. */
static gboolean
fix_host_pool(SqliteStore *s, const StoreObject *host, const StoreObject *new_parent,
              GError **error)
{
    gboolean standalone = g_str_equal(new_parent->kind, STORE_KIND_FOLDER);
    gint64 pools = sq_int(s, error, 0,
        "SELECT count(*) FROM objects WHERE parent = ? AND kind = 'resource_pool' AND system",
        "s", host->id);
    if (pools < 0)
        return FALSE;
    if (standalone && pools == 0)
        return create_in_tx(s, STORE_KIND_RESOURCE_POOL, "Resources", host->id, "{}", TRUE,
                            NULL, error);
    if (standalone || pools == 0)
        return TRUE;
    gint64 used = sq_int(s, error, 0,
        "SELECT count(*) FROM objects p JOIN objects c ON c.parent = p.id"
        " WHERE p.parent = ? AND p.system", "s", host->id);
    if (used != 0) {
        if (used > 0)
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_RESOURCE_IN_USE,
                        "host %s has resource pools of its own: remove them before moving it "
                        "into a cluster", host->id);
        return FALSE;
    }
    return sq_run(s, error, "DELETE FROM objects WHERE parent = ? AND system", "s",
                  host->id) >= 0;
}

static gboolean
move_in_tx(SqliteStore *s, const char *id, const char *new_parent, GError **error)
{
    g_autoptr(StoreObject) o = load(s, id, "object", error);
    g_autoptr(StoreObject) p = o ? load(s, new_parent, "new parent", error) : NULL;
    if (p == NULL)
        return FALSE;
    if (o->system) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                    "%s '%s' was made with %s and stays there", o->kind, o->name,
                    o->parent ? o->parent : "the inventory");
        return FALSE;
    }
    g_autofree char *folder_type = store_object_attr_string(o, STORE_ATTR_FOLDER_TYPE);
    if (!check_parent(s, o->kind, folder_type, p, error))
        return FALSE;
    g_autoptr(GPtrArray) up = ancestors(s, new_parent, error);
    if (up == NULL)
        return FALSE;
    for (guint i = 0; i < up->len; i++) {
        if (g_str_equal(up->pdata[i], id)) {
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                        "cannot move %s into itself or below it", id);
            return FALSE;
        }
    }
    const char *dc = g_str_equal(o->kind, STORE_KIND_DATACENTER) ? o->id : datacenter_under(p);
    if (g_strcmp0(dc, o->datacenter) != 0) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "cannot move %s from datacenter %s to another datacenter", id,
                    o->datacenter);
        return FALSE;
    }
    if (!check_unique(s, o->kind, o->name, p->id, dc, o->id, error) ||
        sq_run(s, error, "UPDATE objects SET parent = ?, modified_us = ? WHERE id = ?", "sis",
               p->id, sq_now(), id) < 0)
        return FALSE;
    return !g_str_equal(o->kind, STORE_KIND_HOST) || fix_host_pool(s, o, p, error);
}

static gboolean
sqlite_object_move(Store *store, const char *id, const char *new_parent, GError **error)
{
    SqliteStore *s = SQ(store);
    if (!sq_begin(s, error))
        return FALSE;
    return sq_end(s, move_in_tx(s, id, new_parent, error), error);
}

static gboolean
set_attrs_in_tx(SqliteStore *s, const char *id, const char *attrs, gboolean merge,
                GError **error)
{
    if (!sq_check_json(s, attrs, TRUE, "the attributes", error))
        return FALSE;
    g_autoptr(StoreObject) o = load(s, id, "object", error);
    if (o == NULL)
        return FALSE;
    /* A folder's type is what it is made for: attributes never change it. */
    g_autofree char *folder_type = store_object_attr_string(o, STORE_ATTR_FOLDER_TYPE);
    if (!g_str_equal(o->kind, STORE_KIND_FOLDER))
        g_clear_pointer(&folder_type, g_free);
    return sq_run(s, error,
        "UPDATE objects SET modified_us = ?1, attrs ="
        " (SELECT CASE WHEN ?2 IS NULL THEN v ELSE json_set(v, '$.folder_type', ?2) END"
        "  FROM (SELECT CASE WHEN ?3 THEN json_patch(attrs, ?4) ELSE json(?4) END AS v))"
        " WHERE id = ?5", "isbss", sq_now(), folder_type, (int) merge, attrs, id) >= 0;
}

static gboolean
sqlite_object_set_attrs(Store *store, const char *id, const char *attrs_json, gboolean merge,
                        GError **error)
{
    SqliteStore *s = SQ(store);
    if (!sq_begin(s, error))
        return FALSE;
    return sq_end(s, set_attrs_in_tx(s, id, attrs_json, merge, error), error);
}

static gboolean
delete_in_tx(SqliteStore *s, const char *id, gboolean recursive, GError **error)
{
    g_autoptr(StoreObject) o = load(s, id, "object", error);
    if (o == NULL)
        return FALSE;
    if (o->parent == NULL || o->system) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                    "%s '%s' is part of %s and cannot be deleted on its own", o->kind,
                    o->name, o->parent ? o->parent : "the inventory");
        return FALSE;
    }
    if (!recursive) {
        gint64 held = sq_int(s, error, 0,
            "WITH RECURSIVE below(id) AS ("
            "  SELECT id FROM objects WHERE parent = ?1"
            "  UNION ALL SELECT o.id FROM objects o JOIN below ON o.parent = below.id)"
            " SELECT count(*) FROM objects WHERE id IN below AND NOT system", "s", id);
        if (held < 0)
            return FALSE;
        if (held > 0) {
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_RESOURCE_IN_USE,
                        "%s '%s' is not empty: it holds %" G_GINT64_FORMAT " object(s)",
                        o->kind, o->name, held);
            return FALSE;
        }
    }
    /* Children, relations and permissions go by ON DELETE CASCADE. */
    return sq_run(s, error, "DELETE FROM objects WHERE id = ?", "s", id) >= 0;
}

static gboolean
sqlite_object_delete(Store *store, const char *id, gboolean recursive, GError **error)
{
    SqliteStore *s = SQ(store);
    if (!sq_begin(s, error))
        return FALSE;
    return sq_end(s, delete_in_tx(s, id, recursive, error), error);
}

void
store_sqlite_objects_init(StoreBackend *b)
{
    b->object_create = sqlite_object_create;
    b->object_get = sqlite_object_get;
    b->object_list = sqlite_object_list;
    b->object_ancestors = sqlite_object_ancestors;
    b->object_rename = sqlite_object_rename;
    b->object_move = sqlite_object_move;
    b->object_set_attrs = sqlite_object_set_attrs;
    b->object_delete = sqlite_object_delete;
    store_sqlite_relations_init(b);
}
