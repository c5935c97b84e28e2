/* test-center-store.c — the centre's SQLite store on real database files:
 * migrations and versions, ids, vCenter's hierarchy and naming rules,
 * relations, tasks, events, security, transactions, damage detection, and
 * durability when the writer is killed with SIGKILL mid-stream.
 */
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "store.h"
#include "vireo-error.h"

typedef struct {
    char *dir;
    char *path;
    Store *store;
} Fixture;

static void
fixture_setup(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    f->dir = g_dir_make_tmp("vireo-store-XXXXXX", &error);
    g_assert_no_error(error);
    f->path = g_build_filename(f->dir, "center.db", NULL);
    f->store = store_open_sqlite(f->path, &error);
    g_assert_no_error(error);
    g_assert_nonnull(f->store);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
    g_clear_pointer(&f->store, store_close);
    g_autoptr(GDir) dir = g_dir_open(f->dir, 0, NULL);
    const char *name;
    while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
        g_autofree char *p = g_build_filename(f->dir, name, NULL);
        g_unlink(p);
    }
    g_rmdir(f->dir);
    g_free(f->dir);
    g_free(f->path);
}

static void
reopen(Fixture *f)
{
    g_autoptr(GError) error = NULL;
    g_clear_pointer(&f->store, store_close);
    f->store = store_open_sqlite(f->path, &error);
    g_assert_no_error(error);
}

/* Creates an object and returns its id, asserting success. */
static char *
mk(Store *s, const char *kind, const char *name, const char *parent, const char *attrs)
{
    g_autoptr(GError) error = NULL;
    char *id = NULL;
    gboolean ok = store_object_create(s, kind, name, parent, attrs, &id, &error);
    g_assert_no_error(error);
    g_assert_true(ok);
    g_assert_nonnull(id);
    return id;
}

static void
assert_create_fails(Store *s, const char *kind, const char *name, const char *parent,
                    const char *attrs, VireoErrorCode code)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *id = NULL;
    g_assert_false(store_object_create(s, kind, name, parent, attrs, &id, &error));
    g_assert_error(error, VIREO_ERROR, (gint) code);
    g_assert_null(id);
}

static gboolean
object_exists(Store *s, const char *id)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(StoreObject) o = store_object_get(s, id, &error);
    if (o == NULL)
        g_assert_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND);
    return o != NULL;
}

static char *
dc_folder(Store *s, const char *dc, const char *type)
{
    g_autoptr(GError) error = NULL;
    char *id = store_datacenter_folder(s, dc, type, &error);
    g_assert_no_error(error);
    return id;
}

/* ---- Opening and migrations ---- */

static void
test_migrations_from_empty(Fixture *f, gconstpointer data)
{
    g_assert_cmpint(store_schema_version(f->store), >=, 1);
    g_autoptr(GError) error = NULL;
    g_autoptr(StoreObject) root = store_object_get(f->store, STORE_ROOT_FOLDER, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(root->kind, ==, "folder");
    g_assert_null(root->parent);
    g_autofree char *type = store_object_attr_string(root, STORE_ATTR_FOLDER_TYPE);
    g_assert_cmpstr(type, ==, "DATACENTER");
    g_assert_true(store_integrity_check(f->store, &error));

    /* The file is private (password hashes) and in WAL mode. */
    GStatBuf st;
    g_assert_cmpint(g_stat(f->path, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 0077, ==, 0);
    sqlite3 *db = NULL;
    g_assert_cmpint(sqlite3_open(f->path, &db), ==, SQLITE_OK);
    sqlite3_stmt *stmt = NULL;
    sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, NULL);
    g_assert_cmpint(sqlite3_step(stmt), ==, SQLITE_ROW);
    g_assert_cmpstr((const char *) sqlite3_column_text(stmt, 0), ==, "wal");
    sqlite3_finalize(stmt);
    sqlite3_prepare_v2(db, "SELECT version FROM schema_version", -1, &stmt, NULL);
    g_assert_cmpint(sqlite3_step(stmt), ==, SQLITE_ROW);
    g_assert_cmpint(sqlite3_column_int(stmt, 0), ==, store_schema_version(f->store));
    sqlite3_finalize(stmt);
    sqlite3_close(db);
}

static void
test_reopen_keeps_data(Fixture *f, gconstpointer data)
{
    g_autofree char *dc = mk(f->store, "datacenter", "DC1", STORE_ROOT_FOLDER, NULL);
    g_autofree char *vmf = dc_folder(f->store, dc, STORE_FOLDER_VM);
    g_autofree char *vm = mk(f->store, "vm", "web", vmf, "{\"cpu\":2}");
    int version = store_schema_version(f->store);
    reopen(f);
    g_assert_cmpint(store_schema_version(f->store), ==, version);
    g_autoptr(GError) error = NULL;
    g_autoptr(StoreObject) o = store_object_get(f->store, vm, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(o->name, ==, "web");
    g_assert_cmpstr(o->parent, ==, vmf);
    g_assert_cmpstr(o->datacenter, ==, dc);
    g_assert_cmpint(store_object_attr_int(o, "cpu", 0), ==, 2);
    /* Ids are never reused, not even after a delete and a restart. */
    g_assert_true(store_object_delete(f->store, vm, FALSE, &error));
    reopen(f);
    g_autofree char *vm2 = mk(f->store, "vm", "web", vmf, NULL);
    g_assert_cmpstr(vm2, !=, vm);
    g_assert_cmpint(atoi(vm2 + 3), >, atoi(vm + 3));
}

static void
test_newer_schema_refused(Fixture *f, gconstpointer data)
{
    int version = store_schema_version(f->store);
    g_clear_pointer(&f->store, store_close);
    sqlite3 *db = NULL;
    g_assert_cmpint(sqlite3_open(f->path, &db), ==, SQLITE_OK);
    g_autofree char *sql = g_strdup_printf("UPDATE schema_version SET version = %d",
                                           version + 5);
    g_assert_cmpint(sqlite3_exec(db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
    sqlite3_close(db);

    g_autoptr(GError) error = NULL;
    g_autoptr(Store) s = store_open_sqlite(f->path, &error);
    g_assert_null(s);
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE);
    g_assert_nonnull(strstr(error->message, "newer"));
    g_autofree char *want = g_strdup_printf("version %d", version + 5);
    g_assert_nonnull(strstr(error->message, want));

    /* A file that is not a database is refused too, naming it. */
    g_autofree char *junk = g_build_filename(f->dir, "junk.db", NULL);
    g_assert_true(g_file_set_contents(junk, "this is not an SQLite database, not at all", -1,
                                      NULL));
    g_clear_error(&error);
    g_autoptr(Store) s2 = store_open_sqlite(junk, &error);
    g_assert_null(s2);
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_ERROR);
    g_assert_nonnull(strstr(error->message, junk));
    f->store = store_open_sqlite(f->path, NULL);    /* stays NULL: teardown copes */
    g_assert_null(f->store);
}

/* ---- Ids and hierarchy ---- */

static gboolean
has_prefix_number(const char *id, const char *prefix)
{
    if (!g_str_has_prefix(id, prefix))
        return FALSE;
    const char *n = id + strlen(prefix);
    guint64 v;
    return g_ascii_string_to_unsigned(n, 10, 1, G_MAXINT64, &v, NULL);
}

static void
test_id_allocation(Fixture *f, gconstpointer data)
{
    Store *s = f->store;
    g_autofree char *dc = mk(s, "datacenter", "DC", STORE_ROOT_FOLDER, NULL);
    g_autofree char *vmf = dc_folder(s, dc, STORE_FOLDER_VM);
    g_autofree char *hf = dc_folder(s, dc, STORE_FOLDER_HOST);
    g_autofree char *sf = dc_folder(s, dc, STORE_FOLDER_DATASTORE);
    g_autofree char *nf = dc_folder(s, dc, STORE_FOLDER_NETWORK);
    g_autofree char *cl = mk(s, "cluster", "C", hf, NULL);
    g_autoptr(GError) error = NULL;
    g_autofree char *pool = store_root_resource_pool(s, cl, &error);
    g_assert_no_error(error);
    g_autofree char *h1 = mk(s, "host", "esx1", cl, NULL);
    g_autofree char *h2 = mk(s, "host", "esx2", hf, NULL);
    g_autofree char *h2pool = store_root_resource_pool(s, h2, &error);
    g_assert_no_error(error);
    g_autofree char *ds = mk(s, "datastore", "ds1", sf, NULL);
    g_autofree char *net = mk(s, "network", "VM Network", nf, NULL);
    g_autofree char *vm = mk(s, "vm", "vm1", vmf, NULL);
    g_autofree char *sub = mk(s, "folder", "prod", vmf, NULL);
    g_autofree char *dcf = mk(s, "folder", "EU", STORE_ROOT_FOLDER, NULL);

    const struct { const char *id, *prefix; } want[] = {
        { dc, "datacenter-" }, { vmf, "group-v" }, { hf, "group-h" }, { sf, "group-s" },
        { nf, "group-n" }, { cl, "domain-c" }, { pool, "resgroup-" }, { h1, "host-" },
        { h2, "host-" }, { h2pool, "resgroup-" }, { ds, "datastore-" }, { net, "network-" },
        { vm, "vm-" }, { sub, "group-v" }, { dcf, "group-d" },
    };
    /* One counter for all kinds: every number appears once. */
    g_autoptr(GHashTable) numbers = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
        g_assert_true(has_prefix_number(want[i].id, want[i].prefix));
        const char *n = want[i].id + strlen(want[i].prefix);
        g_assert_false(g_hash_table_contains(numbers, n));
        g_hash_table_add(numbers, g_strdup(n));
    }
    g_assert_cmpstr(dc, ==, "datacenter-2");    /* group-d1 took 1 */
    g_assert_cmpstr(vmf, ==, "group-v3");
    g_autoptr(StoreObject) o = store_object_get(s, sub, &error);
    g_autofree char *type = store_object_attr_string(o, STORE_ATTR_FOLDER_TYPE);
    g_assert_cmpstr(type, ==, STORE_FOLDER_VM);   /* inherited from its parent */
    /* A host in a cluster has no pool of its own. */
    g_autofree char *none = store_root_resource_pool(s, h1, &error);
    g_assert_null(none);
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND);
}

/* got: an array of ids (strings) or, with objects, of StoreObject. */
static void
assert_ids_of(GPtrArray *got, gboolean objects, const char *const *want)
{
    guint n = g_strv_length((char **) want);
    g_assert_nonnull(got);
    g_assert_cmpuint(got->len, ==, n);
    for (guint i = 0; i < n; i++) {
        const char *id = objects ? ((StoreObject *) got->pdata[i])->id : got->pdata[i];
        g_assert_cmpstr(id, ==, want[i]);
    }
}

#define assert_ids(got, ...) assert_ids_of(got, TRUE, __VA_ARGS__)
#define assert_strs(got, ...) assert_ids_of(got, FALSE, __VA_ARGS__)

static void
test_hierarchy_and_placement(Fixture *f, gconstpointer data)
{
    Store *s = f->store;
    g_autoptr(GError) error = NULL;
    g_autofree char *dc = mk(s, "datacenter", "DC", STORE_ROOT_FOLDER, NULL);
    g_autofree char *vmf = dc_folder(s, dc, STORE_FOLDER_VM);
    g_autofree char *hf = dc_folder(s, dc, STORE_FOLDER_HOST);
    g_autofree char *sub = mk(s, "folder", "prod", vmf, NULL);
    g_autofree char *vm = mk(s, "vm", "web", sub, NULL);
    g_autofree char *cl = mk(s, "cluster", "C", hf, NULL);
    g_autofree char *h1 = mk(s, "host", "esx1", cl, NULL);

    g_autoptr(GPtrArray) up = store_object_ancestors(s, vm, &error);
    assert_strs(up, (const char *const[]) { vm, sub, vmf, dc, STORE_ROOT_FOLDER, NULL });
    g_autoptr(GPtrArray) kids = store_object_children(s, vmf, NULL, &error);
    assert_ids(kids, (const char *const[]) { sub, NULL });
    g_autoptr(GPtrArray) dcs = store_object_children(s, dc, "folder", &error);
    g_assert_cmpuint(dcs->len, ==, 4);
    g_autoptr(GPtrArray) cl_kids = store_object_children(s, cl, "host", &error);
    assert_ids(cl_kids, (const char *const[]) { h1, NULL });

    /* vCenter's placement rules. */
    assert_create_fails(s, "vm", "x", hf, NULL, VIREO_ERROR_INVALID_ARGUMENT);
    assert_create_fails(s, "folder", "x", dc, NULL, VIREO_ERROR_INVALID_ARGUMENT);
    assert_create_fails(s, "folder", "x", vmf, "{\"folder_type\":\"HOST\"}",
                        VIREO_ERROR_INVALID_ARGUMENT);
    assert_create_fails(s, "datacenter", "x", vmf, NULL, VIREO_ERROR_INVALID_ARGUMENT);
    assert_create_fails(s, "resource_pool", "x", h1, NULL, VIREO_ERROR_INVALID_ARGUMENT);
    assert_create_fails(s, "cluster", "x", cl, NULL, VIREO_ERROR_INVALID_ARGUMENT);
    assert_create_fails(s, "gizmo", "x", vmf, NULL, VIREO_ERROR_INVALID_ARGUMENT);
    assert_create_fails(s, "vm", "x", "group-v999", NULL, VIREO_ERROR_NOT_FOUND);
    g_autoptr(GPtrArray) missing = store_object_ancestors(s, "vm-999", &error);
    g_assert_null(missing);
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND);
    g_clear_error(&error);

    /* Moves follow the same rules and never make a cycle. */
    g_assert_true(store_object_move(s, vm, vmf, &error));
    g_autoptr(StoreObject) moved = store_object_get(s, vm, &error);
    g_assert_cmpstr(moved->parent, ==, vmf);
    g_autofree char *deep = mk(s, "folder", "deep", sub, NULL);
    g_assert_false(store_object_move(s, sub, deep, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT);
    g_clear_error(&error);
    g_assert_false(store_object_move(s, vm, hf, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT);
    g_clear_error(&error);
    g_autofree char *dc2 = mk(s, "datacenter", "DC2", STORE_ROOT_FOLDER, NULL);
    g_autofree char *vmf2 = dc_folder(s, dc2, STORE_FOLDER_VM);
    g_assert_false(store_object_move(s, vm, vmf2, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT);
    g_clear_error(&error);
    g_assert_false(store_object_move(s, vmf, sub, &error));   /* a system folder */
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE);
    g_clear_error(&error);

    /* A host leaving its cluster gets a root pool; joining one loses it. */
    g_assert_true(store_object_move(s, h1, hf, &error));
    g_autofree char *pool = store_root_resource_pool(s, h1, &error);
    g_assert_no_error(error);
    g_assert_true(store_object_move(s, h1, cl, &error));
    g_assert_no_error(error);
    g_assert_false(object_exists(s, pool));
}

static void
test_names_unique(Fixture *f, gconstpointer data)
{
    Store *s = f->store;
    g_autoptr(GError) error = NULL;
    g_autofree char *dc = mk(s, "datacenter", "DC", STORE_ROOT_FOLDER, NULL);
    g_autofree char *dc2 = mk(s, "datacenter", "DC2", STORE_ROOT_FOLDER, NULL);
    assert_create_fails(s, "datacenter", "DC", STORE_ROOT_FOLDER, NULL,
                        VIREO_ERROR_ALREADY_EXISTS);
    g_autofree char *vmf = dc_folder(s, dc, STORE_FOLDER_VM);
    g_autofree char *hf = dc_folder(s, dc, STORE_FOLDER_HOST);
    g_autofree char *hf2 = dc_folder(s, dc2, STORE_FOLDER_HOST);
    g_autofree char *sub = mk(s, "folder", "prod", vmf, NULL);
    g_autofree char *vm = mk(s, "vm", "web", vmf, NULL);
    assert_create_fails(s, "vm", "web", vmf, NULL, VIREO_ERROR_ALREADY_EXISTS);
    g_autofree char *vm_b = mk(s, "vm", "web", sub, NULL);   /* another folder: fine */
    g_autofree char *folder_web = mk(s, "folder", "web", vmf, NULL);   /* another kind */
    g_autofree char *other = mk(s, "vm", "db", vmf, NULL);
    g_assert_false(store_object_rename(s, other, "web", &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_ALREADY_EXISTS);
    g_clear_error(&error);
    g_assert_false(store_object_move(s, vm_b, vmf, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_ALREADY_EXISTS);
    g_clear_error(&error);
    g_assert_true(store_object_rename(s, other, "db2", &error));
    g_assert_true(store_object_rename(s, other, "db2", &error));   /* its own name */

    /* Hosts are unique in a datacenter, whatever their folder. */
    g_autofree char *hsub = mk(s, "folder", "rack1", hf, NULL);
    g_autofree char *h = mk(s, "host", "esx1", hf, NULL);
    assert_create_fails(s, "host", "esx1", hsub, NULL, VIREO_ERROR_ALREADY_EXISTS);
    g_autofree char *h_dc2 = mk(s, "host", "esx1", hf2, NULL);
    g_assert_no_error(error);
}

static void
test_delete_rules(Fixture *f, gconstpointer data)
{
    Store *s = f->store;
    g_autoptr(GError) error = NULL;
    g_autofree char *dc = mk(s, "datacenter", "DC", STORE_ROOT_FOLDER, NULL);
    g_autofree char *vmf = dc_folder(s, dc, STORE_FOLDER_VM);
    g_autofree char *hf = dc_folder(s, dc, STORE_FOLDER_HOST);
    g_autofree char *vm = mk(s, "vm", "web", vmf, NULL);
    g_autofree char *cl = mk(s, "cluster", "C", hf, NULL);
    g_autofree char *pool = store_root_resource_pool(s, cl, &error);
    g_autofree char *h = mk(s, "host", "esx1", cl, NULL);

    g_assert_false(store_object_delete(s, dc, FALSE, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_RESOURCE_IN_USE);
    g_clear_error(&error);
    g_assert_false(store_object_delete(s, cl, FALSE, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_RESOURCE_IN_USE);
    g_clear_error(&error);
    g_assert_false(store_object_delete(s, vmf, TRUE, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE);
    g_clear_error(&error);
    g_assert_false(store_object_delete(s, STORE_ROOT_FOLDER, TRUE, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE);
    g_clear_error(&error);
    g_assert_false(store_object_delete(s, "vm-4242", FALSE, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND);
    g_clear_error(&error);

    /* An empty cluster goes with its root pool. */
    g_assert_true(store_object_delete(s, h, FALSE, &error));
    g_assert_true(store_object_delete(s, cl, FALSE, &error));
    g_assert_no_error(error);
    g_assert_false(object_exists(s, pool));
    /* A datacenter holding only its empty folders is empty. */
    g_assert_true(store_object_delete(s, vm, FALSE, &error));
    g_assert_true(store_object_delete(s, dc, FALSE, &error));
    g_assert_no_error(error);
    g_assert_false(object_exists(s, vmf));

    /* recursive takes everything below. */
    g_autofree char *dc2 = mk(s, "datacenter", "DC2", STORE_ROOT_FOLDER, NULL);
    g_autofree char *vmf2 = dc_folder(s, dc2, STORE_FOLDER_VM);
    g_autofree char *sub = mk(s, "folder", "prod", vmf2, NULL);
    g_autofree char *vm2 = mk(s, "vm", "db", sub, NULL);
    g_assert_true(store_object_delete(s, dc2, TRUE, &error));
    g_assert_no_error(error);
    g_assert_false(object_exists(s, vm2));
    g_assert_false(object_exists(s, sub));
    StoreObjectFilter all = { 0 };
    g_autoptr(GPtrArray) left = store_object_list(s, &all, &error);
    assert_ids(left, (const char *const[]) { STORE_ROOT_FOLDER, NULL });
    g_assert_true(store_integrity_check(s, &error));
}

static void
test_attrs_and_filters(Fixture *f, gconstpointer data)
{
    Store *s = f->store;
    g_autoptr(GError) error = NULL;
    g_autofree char *dc = mk(s, "datacenter", "DC", STORE_ROOT_FOLDER, NULL);
    g_autofree char *vmf = dc_folder(s, dc, STORE_FOLDER_VM);
    g_autofree char *a = mk(s, "vm", "a", vmf, "{\"host\":\"host-10\",\"cpu\":1,\"x\":true}");
    g_autofree char *b = mk(s, "vm", "b", vmf, "{\"host\":\"host-11\"}");
    g_autofree char *c = mk(s, "vm", "c", vmf, "{\"host\":10}");   /* not a string */

    g_assert_true(store_object_set_attrs(s, a, "{\"cpu\":4,\"x\":null,\"mem\":512}", TRUE,
                                         &error));
    g_autoptr(StoreObject) oa = store_object_get(s, a, &error);
    g_assert_cmpint(store_object_attr_int(oa, "cpu", 0), ==, 4);
    g_assert_cmpint(store_object_attr_int(oa, "mem", 0), ==, 512);
    g_assert_true(store_object_attr_bool(oa, "x", TRUE));       /* removed: default */
    g_autofree char *host = store_object_attr_string(oa, "host");
    g_assert_cmpstr(host, ==, "host-10");
    g_assert_true(store_object_set_attrs(s, b, "{\"only\":\"this\"}", FALSE, &error));
    g_autoptr(StoreObject) ob = store_object_get(s, b, &error);
    g_autofree char *bh = store_object_attr_string(ob, "host");
    g_assert_null(bh);
    /* A folder keeps its type whatever is written. */
    g_assert_true(store_object_set_attrs(s, vmf, "{\"folder_type\":\"HOST\"}", FALSE, &error));
    g_autofree char *still = dc_folder(s, dc, STORE_FOLDER_VM);
    g_assert_cmpstr(still, ==, vmf);

    g_assert_false(store_object_set_attrs(s, a, "[1,2]", TRUE, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT);
    g_clear_error(&error);
    g_assert_false(store_object_set_attrs(s, a, "{broken", TRUE, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT);
    g_clear_error(&error);
    assert_create_fails(s, "vm", "d", vmf, "\"text\"", VIREO_ERROR_INVALID_ARGUMENT);

    StoreObjectFilter on10 = { .kind = "vm", .attr_name = "host", .attr_value = "host-10" };
    g_autoptr(GPtrArray) got = store_object_list(s, &on10, &error);
    assert_ids(got, (const char *const[]) { a, NULL });
    StoreObjectFilter by_name = { .datacenter = dc, .name = "c" };
    g_autoptr(GPtrArray) got2 = store_object_list(s, &by_name, &error);
    assert_ids(got2, (const char *const[]) { c, NULL });
    StoreObjectFilter has_host = { .kind = "vm", .attr_name = "host" };
    g_autoptr(GPtrArray) got4 = store_object_list(s, &has_host, &error);
    assert_ids(got4, (const char *const[]) { a, NULL });   /* b lost it, c's is a number */
    StoreObjectFilter bad = { .attr_name = "a\"b" };
    g_autoptr(GPtrArray) got3 = store_object_list(s, &bad, &error);
    g_assert_null(got3);
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT);
}

/* ---- Relations ---- */

static void
test_relations(Fixture *f, gconstpointer data)
{
    Store *s = f->store;
    g_autoptr(GError) error = NULL;
    g_autofree char *dc = mk(s, "datacenter", "DC", STORE_ROOT_FOLDER, NULL);
    g_autofree char *hf = dc_folder(s, dc, STORE_FOLDER_HOST);
    g_autofree char *sf = dc_folder(s, dc, STORE_FOLDER_DATASTORE);
    g_autofree char *nf = dc_folder(s, dc, STORE_FOLDER_NETWORK);
    g_autofree char *vmf = dc_folder(s, dc, STORE_FOLDER_VM);
    g_autofree char *h1 = mk(s, "host", "esx1", hf, NULL);
    g_autofree char *h2 = mk(s, "host", "esx2", hf, NULL);
    g_autofree char *ds = mk(s, "datastore", "shared", sf, "{\"uuid\":\"5f3c-aa\"}");
    g_autofree char *ds2 = mk(s, "datastore", "local", sf, "{\"uuid\":\"77-bb\"}");
    g_autofree char *net = mk(s, "network", "VM Network", nf, NULL);

    g_assert_true(store_mount_set(s, h1, ds, "/srv/shared", TRUE, &error));
    g_assert_true(store_mount_set(s, h2, ds, "/mnt/shared", FALSE, &error));
    g_assert_true(store_mount_set(s, h1, ds2, "/srv/local", TRUE, &error));
    g_assert_true(store_mount_set(s, h2, ds, "/mnt/shared2", TRUE, &error));   /* update */
    g_assert_no_error(error);
    g_autoptr(GPtrArray) of_ds = store_mount_list(s, NULL, ds, &error);
    g_assert_cmpuint(of_ds->len, ==, 2);
    StoreMount *m = of_ds->pdata[1];
    g_assert_cmpstr(m->host, ==, h2);
    g_assert_cmpstr(m->path, ==, "/mnt/shared2");
    g_assert_true(m->accessible);
    g_autoptr(GPtrArray) of_h1 = store_mount_list(s, h1, NULL, &error);
    g_assert_cmpuint(of_h1->len, ==, 2);
    g_assert_false(store_mount_set(s, ds, h1, "/x", TRUE, &error));   /* swapped */
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT);
    g_clear_error(&error);
    g_assert_false(store_mount_set(s, "host-999", ds, "/x", TRUE, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_true(store_mount_remove(s, h1, ds2, &error));
    g_assert_false(store_mount_remove(s, h1, ds2, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND);
    g_clear_error(&error);

    g_assert_true(store_host_network_add(s, h1, net, &error));
    g_assert_true(store_host_network_add(s, h2, net, &error));
    g_assert_true(store_host_network_add(s, h2, net, &error));   /* idempotent */
    g_autoptr(GPtrArray) hosts = store_host_network_list(s, NULL, net, &error);
    assert_strs(hosts, (const char *const[]) { h1, h2, NULL });

    g_autofree char *by_uuid = store_datastore_find_by_uuid(s, "77-bb", &error);
    g_assert_cmpstr(by_uuid, ==, ds2);
    g_autofree char *nope = store_datastore_find_by_uuid(s, "00-00", &error);
    g_assert_null(nope);
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_autofree char *by_name = store_network_find_by_name(s, dc, "VM Network", &error);
    g_assert_cmpstr(by_name, ==, net);

    g_autofree char *vm = mk(s, "vm", "web", vmf, NULL);
    g_autofree char *attrs = g_strdup_printf("{\"host\":\"%s\",\"host_vm_id\":\"vm-3\"}", h2);
    g_assert_true(store_object_set_attrs(s, vm, attrs, TRUE, &error));
    g_autofree char *found = store_vm_find_by_host_ref(s, h2, "vm-3", &error);
    g_assert_cmpstr(found, ==, vm);
    g_autofree char *wrong_host = store_vm_find_by_host_ref(s, h1, "vm-3", &error);
    g_assert_null(wrong_host);
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND);
    g_clear_error(&error);

    /* Relations go with their objects. */
    g_assert_true(store_object_delete(s, h2, FALSE, &error));
    g_autoptr(GPtrArray) after = store_mount_list(s, NULL, ds, &error);
    g_assert_cmpuint(after->len, ==, 1);
    g_autoptr(GPtrArray) hosts2 = store_host_network_list(s, NULL, net, &error);
    assert_strs(hosts2, (const char *const[]) { h1, NULL });
    g_assert_true(store_integrity_check(s, &error));
}

/* ---- Tasks ---- */

static void
test_tasks(Fixture *f, gconstpointer data)
{
    Store *s = f->store;
    g_autoptr(GError) error = NULL;
    g_autofree char *t1 = store_task_create(s, "vm.power.start", "VirtualMachine", "vm-42",
                                            "alice", &error);
    g_autofree char *t2 = store_task_create(s, "vm.delete", "VirtualMachine", "vm-43", "bob",
                                            &error);
    g_autofree char *t3 = store_task_create(s, "host.add", "HostSystem", NULL, "alice", &error);
    g_assert_no_error(error);
    g_assert_true(g_str_has_prefix(t1, "task-"));
    g_assert_cmpstr(t1, !=, t2);

    g_autoptr(StoreTask) p = store_task_get(s, t1, &error);
    g_assert_cmpint(p->state, ==, STORE_TASK_PENDING);
    g_assert_cmpint(p->queued_us, >, 0);
    g_assert_cmpint(p->start_us, ==, 0);
    g_assert_true(store_task_start(s, t1, &error));
    g_assert_true(store_task_set_progress(s, t1, 40, "copying disk", &error));
    g_assert_true(store_task_finish(s, t1, STORE_TASK_SUCCEEDED, "{\"ok\":true}", NULL, &error));
    g_assert_no_error(error);
    g_autoptr(StoreTask) done = store_task_get(s, t1, &error);
    g_assert_cmpint(done->state, ==, STORE_TASK_SUCCEEDED);
    g_assert_cmpint(done->progress, ==, 100);
    g_assert_cmpstr(done->progress_message, ==, "copying disk");
    g_assert_cmpint(done->end_us, >=, done->start_us);
    g_assert_cmpint(done->start_us, >=, done->queued_us);
    g_assert_cmpstr(done->result_json, ==, "{\"ok\":true}");
    g_assert_cmpstr(done->user, ==, "alice");

    /* A finished task never changes. */
    g_assert_false(store_task_finish(s, t1, STORE_TASK_FAILED, NULL, NULL, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE);
    g_clear_error(&error);
    g_assert_false(store_task_start(s, t1, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE);
    g_clear_error(&error);
    g_assert_false(store_task_start(s, "task-9999", &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_false(store_task_finish(s, t2, STORE_TASK_RUNNING, NULL, NULL, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT);
    g_clear_error(&error);
    g_assert_false(store_task_finish(s, t2, STORE_TASK_FAILED, NULL, "{oops", &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT);
    g_clear_error(&error);
    g_assert_true(store_task_start(s, t2, &error));

    g_autoptr(GPtrArray) all = store_task_list(s, 0, NULL, &error);
    g_assert_cmpuint(all->len, ==, 3);
    g_assert_cmpstr(((StoreTask *) all->pdata[0])->id, ==, t3);   /* newest first */
    g_autoptr(GPtrArray) open = store_task_list(s, STORE_TASK_STATE_BIT(STORE_TASK_PENDING) |
                                                STORE_TASK_STATE_BIT(STORE_TASK_RUNNING),
                                                NULL, &error);
    g_assert_cmpuint(open->len, ==, 2);
    g_autoptr(GPtrArray) on43 = store_task_list(s, 0, "vm-43", &error);
    g_assert_cmpuint(on43->len, ==, 1);
    g_assert_cmpstr(((StoreTask *) on43->pdata[0])->id, ==, t2);

    /* A restart fails what was unfinished, and only that. */
    reopen(f);
    s = f->store;
    guint n = 0;
    g_assert_true(store_tasks_fail_unfinished(s, "vireo-centerd restarted while the task ran",
                                              &n, &error));
    g_assert_cmpuint(n, ==, 2);
    g_autoptr(StoreTask) failed = store_task_get(s, t2, &error);
    g_assert_cmpint(failed->state, ==, STORE_TASK_FAILED);
    g_assert_cmpint(failed->end_us, >, 0);
    g_assert_nonnull(strstr(failed->error_json, "vireo-centerd restarted while the task ran"));
    g_assert_nonnull(strstr(failed->error_json, "\"error_type\":\"ERROR\""));
    g_autoptr(StoreTask) still = store_task_get(s, t1, &error);
    g_assert_cmpint(still->state, ==, STORE_TASK_SUCCEEDED);
    g_autofree char *t4 = store_task_create(s, "x", NULL, NULL, NULL, &error);
    g_assert_cmpint(atoi(t4 + 5), >, atoi(t3 + 5));

    StoreTaskState st;
    g_assert_true(store_task_state_from_string("CANCELED", &st));
    g_assert_cmpint(st, ==, STORE_TASK_CANCELED);
    g_assert_false(store_task_state_from_string("DONE", &st));
}

/* ---- Events ---- */

static gint64
append(Store *s, const char *user, const char *object, const char *type, gint64 time_us)
{
    g_autoptr(GError) error = NULL;
    StoreEvent e = { .time_us = time_us, .user = (char *) user, .object = (char *) object,
                     .object_name = (char *) "name", .type = (char *) type,
                     .message = (char *) "it happened", .error = g_str_equal(type, "Fail") };
    gint64 key = store_event_append(s, &e, &error);
    g_assert_no_error(error);
    g_assert_cmpint(key, >, 0);
    return key;
}

static void
test_events(Fixture *f, gconstpointer data)
{
    Store *s = f->store;
    g_autoptr(GError) error = NULL;
    gint64 k1 = append(s, "alice", "vm-42", "VmPoweredOnEvent", 1000);
    gint64 k2 = append(s, "bob", "vm-43", "Fail", 2000);
    gint64 k3 = append(s, "alice", "vm-43", "VmPoweredOffEvent", 3000);
    gint64 k4 = append(s, "alice", "vm-42", "VmRenamedEvent", 0);   /* now */
    g_assert_cmpint(k1, <, k2);
    g_assert_cmpint(k3, <, k4);

    g_autoptr(GPtrArray) all = store_event_query(s, NULL, &error);
    g_assert_cmpuint(all->len, ==, 4);
    StoreEvent *newest = all->pdata[0];
    g_assert_cmpint(newest->key, ==, k4);
    g_assert_cmpint(newest->time_us, >, 3000);
    StoreEventQuery q = { .object = "vm-43" };
    g_autoptr(GPtrArray) o43 = store_event_query(s, &q, &error);
    g_assert_cmpuint(o43->len, ==, 2);
    g_assert_cmpint(((StoreEvent *) o43->pdata[0])->key, ==, k3);
    StoreEvent *fail = o43->pdata[1];
    g_assert_true(fail->error);
    g_assert_cmpstr(fail->user, ==, "bob");
    g_assert_cmpstr(fail->message, ==, "it happened");
    StoreEventQuery q2 = { .user = "alice", .since_us = 2000, .limit = 10 };
    g_autoptr(GPtrArray) recent = store_event_query(s, &q2, &error);
    g_assert_cmpuint(recent->len, ==, 2);
    StoreEventQuery q3 = { .limit = 1 };
    g_autoptr(GPtrArray) first = store_event_query(s, &q3, &error);
    g_assert_cmpuint(first->len, ==, 1);

    /* The log is bounded: the newest events stay. */
    store_set_event_limit(s, 50);
    gint64 last = 0;
    for (int i = 0; i < 120; i++)
        last = append(s, "carol", "vm-1", "Tick", 0);
    g_autoptr(GPtrArray) kept = store_event_query(s, NULL, &error);
    g_assert_cmpuint(kept->len, ==, 50);
    g_assert_cmpint(((StoreEvent *) kept->pdata[0])->key, ==, last);
    g_assert_cmpint(((StoreEvent *) kept->pdata[49])->key, ==, last - 49);
}

/* ---- Security ---- */

static void
test_roles(Fixture *f, gconstpointer data)
{
    Store *s = f->store;
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) roles = store_role_list(s, &error);
    g_assert_cmpuint(roles->len, ==, 3);
    g_autoptr(StoreRole) ro = store_role_get(s, STORE_ROLE_READ_ONLY, &error);
    g_assert_true(ro->system);
    g_assert_true(g_strv_contains((const char *const *) ro->privileges, "System.Read"));
    g_autoptr(StoreRole) admin = store_role_get(s, STORE_ROLE_ADMIN, &error);
    g_assert_true(g_strv_contains((const char *const *) admin->privileges, STORE_PRIVILEGE_ALL));
    g_autoptr(StoreRole) na = store_role_get(s, STORE_ROLE_NO_ACCESS, &error);
    g_assert_cmpuint(g_strv_length(na->privileges), ==, 0);

    const char *const privs[] = { "VirtualMachine.Interact.PowerOn", "System.Read", NULL };
    for (guint i = 0; i < roles->len; i++) {
        const char *name = ((StoreRole *) roles->pdata[i])->name;
        g_assert_false(store_role_update(s, name, NULL, privs, &error));
        g_assert_error(error, VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE);
        g_clear_error(&error);
        g_assert_false(store_role_update(s, name, "Renamed", NULL, &error));
        g_assert_error(error, VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE);
        g_clear_error(&error);
        g_assert_false(store_role_delete(s, name, &error));
        g_assert_error(error, VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE);
        g_clear_error(&error);
    }
    g_autoptr(StoreRole) ro2 = store_role_get(s, STORE_ROLE_READ_ONLY, &error);
    g_assert_cmpuint(g_strv_length(ro2->privileges), ==, g_strv_length(ro->privileges));

    g_assert_true(store_role_create(s, "Operator", privs, &error));
    g_assert_false(store_role_create(s, "Operator", NULL, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_ALREADY_EXISTS);
    g_clear_error(&error);
    g_assert_false(store_role_update(s, "Operator", STORE_ROLE_ADMIN, NULL, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_ALREADY_EXISTS);
    g_clear_error(&error);
    const char *const fewer[] = { "System.View", NULL };
    g_assert_true(store_role_update(s, "Operator", "Ops", fewer, &error));
    g_assert_no_error(error);
    g_autoptr(StoreRole) ops = store_role_get(s, "Ops", &error);
    g_assert_cmpstrv(ops->privileges, fewer);
    g_autoptr(StoreRole) gone = store_role_get(s, "Operator", &error);
    g_assert_null(gone);
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_true(store_role_delete(s, "Ops", &error));
    g_assert_no_error(error);
}

static void
test_users_and_permissions(Fixture *f, gconstpointer data)
{
    Store *s = f->store;
    g_autoptr(GError) error = NULL;
    const char *const groups[] = { "ops", "dev", NULL };
    g_assert_true(store_user_create(s, "alice", "$6$salt$hash", groups, &error));
    g_assert_true(store_user_create(s, "bob", "$6$x$y", NULL, &error));
    g_assert_false(store_user_create(s, "alice", "$6$z", NULL, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_ALREADY_EXISTS);
    g_clear_error(&error);
    g_autoptr(StoreUser) alice = store_user_get(s, "alice", &error);
    const char *const sorted[] = { "dev", "ops", NULL };
    g_assert_cmpstrv(alice->groups, sorted);
    g_assert_true(store_user_set_password(s, "alice", "$6$new$hash", &error));
    const char *const just_ops[] = { "ops", NULL };
    g_assert_true(store_user_set_groups(s, "bob", just_ops, &error));
    g_auto(GStrv) members = store_group_members(s, "ops", &error);
    const char *const both[] = { "alice", "bob", NULL };
    g_assert_cmpstrv(members, both);
    g_autoptr(StoreUser) alice2 = store_user_get(s, "alice", &error);
    g_assert_cmpstr(alice2->password_hash, ==, "$6$new$hash");

    g_autofree char *dc = mk(s, "datacenter", "DC", STORE_ROOT_FOLDER, NULL);
    StorePermission p = { .object = dc, .principal = "alice", .is_group = FALSE,
                          .role = STORE_ROLE_READ_ONLY, .propagate = TRUE };
    g_assert_true(store_permission_set(s, &p, &error));
    p.role = (char *) STORE_ROLE_ADMIN;
    p.propagate = FALSE;
    g_assert_true(store_permission_set(s, &p, &error));     /* upsert */
    StorePermission g = { .object = STORE_ROOT_FOLDER, .principal = "alice", .is_group = TRUE,
                          .role = STORE_ROLE_NO_ACCESS, .propagate = TRUE };
    g_assert_true(store_permission_set(s, &g, &error));    /* a group of the same name */
    g_assert_no_error(error);
    g_autoptr(GPtrArray) on_dc = store_permission_list(s, dc, NULL, &error);
    g_assert_cmpuint(on_dc->len, ==, 1);
    StorePermission *got = on_dc->pdata[0];
    g_assert_cmpstr(got->role, ==, STORE_ROLE_ADMIN);
    g_assert_false(got->propagate);
    g_autoptr(GPtrArray) of_alice = store_permission_list(s, NULL, "alice", &error);
    g_assert_cmpuint(of_alice->len, ==, 2);

    StorePermission bad = p;
    bad.role = (char *) "Nobody";
    g_assert_false(store_permission_set(s, &bad, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND);
    g_clear_error(&error);
    bad = p;
    bad.object = (char *) "vm-777";
    g_assert_false(store_permission_set(s, &bad, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND);
    g_clear_error(&error);

    /* A role in use cannot go. */
    g_assert_true(store_role_create(s, "Custom", NULL, &error));
    StorePermission c = { .object = dc, .principal = "bob", .role = "Custom", .propagate = TRUE };
    g_assert_true(store_permission_set(s, &c, &error));
    g_assert_false(store_role_delete(s, "Custom", &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_RESOURCE_IN_USE);
    g_clear_error(&error);
    g_assert_true(store_role_update(s, "Custom", "Custom2", NULL, &error));
    g_autoptr(GPtrArray) of_bob = store_permission_list(s, NULL, "bob", &error);
    g_assert_cmpstr(((StorePermission *) of_bob->pdata[0])->role, ==, "Custom2");

    g_assert_true(store_permission_delete(s, STORE_ROOT_FOLDER, "alice", TRUE, &error));
    g_assert_false(store_permission_delete(s, STORE_ROOT_FOLDER, "alice", TRUE, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND);
    g_clear_error(&error);
    /* A user's permissions go with the user; an object's with the object. */
    g_assert_true(store_user_delete(s, "alice", &error));
    g_autoptr(GPtrArray) left = store_permission_list(s, NULL, "alice", &error);
    g_assert_cmpuint(left->len, ==, 0);
    g_assert_true(store_object_delete(s, dc, FALSE, &error));
    g_autoptr(GPtrArray) none = store_permission_list(s, NULL, NULL, &error);
    g_assert_cmpuint(none->len, ==, 0);
    g_assert_true(store_role_delete(s, "Custom2", &error));
    g_assert_false(store_user_delete(s, "alice", &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND);
}

/* ---- Transactions ---- */

static void
test_transactions(Fixture *f, gconstpointer data)
{
    Store *s = f->store;
    g_autoptr(GError) error = NULL;
    g_assert_true(store_transaction_begin(s, &error));
    g_autofree char *dc = mk(s, "datacenter", "Gone", STORE_ROOT_FOLDER, NULL);
    g_autofree char *t = store_task_create(s, "x", NULL, NULL, NULL, &error);
    /* A failing call inside the block undoes only itself. */
    assert_create_fails(s, "datacenter", "Gone", STORE_ROOT_FOLDER, NULL,
                        VIREO_ERROR_ALREADY_EXISTS);
    g_assert_true(object_exists(s, dc));
    store_transaction_rollback(s);
    g_assert_false(object_exists(s, dc));
    g_autoptr(StoreTask) nt = store_task_get(s, t, &error);
    g_assert_null(nt);
    g_clear_error(&error);

    g_assert_true(store_transaction_begin(s, &error));
    g_assert_true(store_transaction_begin(s, &error));     /* nested */
    g_autofree char *dc2 = mk(s, "datacenter", "Kept", STORE_ROOT_FOLDER, NULL);
    g_assert_true(store_transaction_commit(s, &error));
    g_assert_true(store_transaction_commit(s, &error));
    g_assert_false(store_transaction_commit(s, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE);
    g_clear_error(&error);
    reopen(f);
    g_assert_true(object_exists(f->store, dc2));
}

/* ---- Damage, crashes, hostile input ---- */

static void
test_integrity_detects_damage(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dc = mk(f->store, "datacenter", "DC", STORE_ROOT_FOLDER, NULL);
    g_autofree char *vmf = dc_folder(f->store, dc, STORE_FOLDER_VM);
    for (int i = 0; i < 300; i++) {
        g_autofree char *name = g_strdup_printf("vm with a rather long name number %d", i);
        g_autofree char *id = mk(f->store, "vm", name, vmf, "{\"note\":\"padding padding\"}");
    }
    g_assert_true(store_integrity_check(f->store, &error));
    g_clear_pointer(&f->store, store_close);   /* checkpoints the WAL into the file */

    /* Scribble over the middle of the file, keeping page 1 (the header). */
    int fd = g_open(f->path, O_RDWR, 0);
    g_assert_cmpint(fd, >=, 0);
    off_t size = lseek(fd, 0, SEEK_END);
    g_assert_cmpint(size, >, 8 * 4096);
    char junk[4096];
    memset(junk, 0xA5, sizeof junk);
    for (off_t off = 2 * 4096; off < size; off += 3 * 4096)
        g_assert_cmpint(pwrite(fd, junk, sizeof junk, off), ==, sizeof junk);
    close(fd);

    f->store = store_open_sqlite(f->path, &error);
    if (f->store != NULL)
        g_assert_false(store_integrity_check(f->store, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_ERROR);
    g_test_message("damage reported as: %s", error->message);
}

/* The child: writes objects as fast as it can, printing each id once the
 * call that made it has returned. */
static void G_GNUC_NORETURN
crash_writer(const char *path, const char *folder, int out_fd)
{
    g_autoptr(GError) error = NULL;
    Store *s = store_open_sqlite(path, &error);
    if (s == NULL)
        _exit(2);
    for (guint i = 0;; i++) {
        g_autofree char *name = g_strdup_printf("vm %u of %d", i, getpid());
        g_autofree char *id = NULL;
        if (!store_object_create(s, "vm", name, folder, "{\"x\":1}", &id, NULL))
            _exit(3);
        g_autofree char *task = store_task_create(s, "vm.create", "VirtualMachine", id, "w",
                                                  NULL);
        if (task == NULL || !store_task_start(s, task, NULL))
            _exit(4);
        g_autofree char *line = g_strdup_printf("%s\n", id);
        if (write(out_fd, line, strlen(line)) != (ssize_t) strlen(line))
            _exit(5);
    }
}

static void
test_kill9_durability(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dc = mk(f->store, "datacenter", "DC", STORE_ROOT_FOLDER, NULL);
    g_autofree char *vmf = dc_folder(f->store, dc, STORE_FOLDER_VM);
    g_clear_pointer(&f->store, store_close);
    g_autoptr(GPtrArray) acked = g_ptr_array_new_with_free_func(g_free);

    for (int round = 0; round < 3; round++) {
        int fds[2];
        g_assert_cmpint(pipe(fds), ==, 0);
        pid_t pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
            close(fds[0]);
            crash_writer(f->path, vmf, fds[1]);
        }
        close(fds[1]);
        /* Kill it after a random number of answered writes. */
        int want = g_test_rand_int_range(5, 60);
        g_autoptr(GString) buf = g_string_new(NULL);
        int lines = 0;
        char chunk[256];
        while (lines < want) {
            ssize_t n = read(fds[0], chunk, sizeof chunk);
            g_assert_cmpint(n, >, 0);
            for (ssize_t i = 0; i < n; i++)
                lines += chunk[i] == '\n';
            g_string_append_len(buf, chunk, n);
        }
        g_usleep(g_test_rand_int_range(0, 20000));
        kill(pid, SIGKILL);
        int status = 0;
        waitpid(pid, &status, 0);
        g_assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        ssize_t n;
        while ((n = read(fds[0], chunk, sizeof chunk)) > 0)
            g_string_append_len(buf, chunk, n);
        close(fds[0]);
        g_auto(GStrv) ids = g_strsplit(buf->str, "\n", -1);
        /* Only whole lines count: the last piece is "" or a torn write. */
        for (guint i = 0; ids[i] != NULL && ids[i + 1] != NULL; i++)
            g_ptr_array_add(acked, g_strdup(ids[i]));

        f->store = store_open_sqlite(f->path, &error);
        g_assert_no_error(error);
        g_assert_true(store_integrity_check(f->store, &error));
        g_assert_no_error(error);
        for (guint i = 0; i < acked->len; i++) {
            g_autoptr(StoreObject) o = store_object_get(f->store, acked->pdata[i], &error);
            g_assert_no_error(error);
            g_assert_cmpstr(o->parent, ==, vmf);
        }
        guint failed = 0;
        g_assert_true(store_tasks_fail_unfinished(f->store, "restarted", &failed, &error));
        g_assert_cmpuint(failed, >=, (guint) want);
        g_autoptr(GPtrArray) open = store_task_list(f->store,
            STORE_TASK_STATE_BIT(STORE_TASK_PENDING) | STORE_TASK_STATE_BIT(STORE_TASK_RUNNING),
            NULL, &error);
        g_assert_cmpuint(open->len, ==, 0);
        g_clear_pointer(&f->store, store_close);
    }
    g_test_message("%u acknowledged writes survived 3 kills", acked->len);
    f->store = store_open_sqlite(f->path, &error);
}

static void
test_hostile_input(Fixture *f, gconstpointer data)
{
    Store *s = f->store;
    g_autoptr(GError) error = NULL;
    g_autofree char *dc = mk(s, "datacenter", "DC'); DROP TABLE objects;--", STORE_ROOT_FOLDER,
                             NULL);
    g_autofree char *vmf = dc_folder(s, dc, STORE_FOLDER_VM);
    const char *weird[] = {
        "it's \"quoted\" \\ back",
        "%s%n%x",
        "Ünïcödé 名前 😀 مرحبا",
        "e\xcc\x81 combining",      /* e + combining acute */
        "\xef\xbb\xbf" "bom",
        "a/b\\c%2f",
        "\xf4\x8f\xbf\xbf" "max code point",
    };
    for (guint i = 0; i < G_N_ELEMENTS(weird); i++) {
        g_autofree char *id = mk(s, "vm", weird[i], vmf, NULL);
        g_autoptr(StoreObject) o = store_object_get(s, id, &error);
        g_assert_cmpstr(o->name, ==, weird[i]);
        StoreObjectFilter by = { .name = weird[i] };
        g_autoptr(GPtrArray) found = store_object_list(s, &by, &error);
        g_assert_cmpuint(found->len, ==, 1);
    }
    g_autoptr(StoreObject) d = store_object_get(s, dc, &error);
    g_assert_cmpstr(d->name, ==, "DC'); DROP TABLE objects;--");

    assert_create_fails(s, "vm", "", vmf, NULL, VIREO_ERROR_INVALID_ARGUMENT);
    assert_create_fails(s, "vm", NULL, vmf, NULL, VIREO_ERROR_INVALID_ARGUMENT);
    assert_create_fails(s, "vm", "bad \xff\xfe utf8", vmf, NULL, VIREO_ERROR_INVALID_ARGUMENT);
    assert_create_fails(s, "vm", "tab\there", vmf, NULL, VIREO_ERROR_INVALID_ARGUMENT);
    assert_create_fails(s, "vm", "\xed\xa0\x80 surrogate", vmf, NULL,
                        VIREO_ERROR_INVALID_ARGUMENT);
    g_autofree char *long_ok = g_strnfill(255, 'x');
    g_autofree char *long_bad = g_strnfill(256, 'x');
    g_autofree char *lid = mk(s, "vm", long_ok, vmf, NULL);
    assert_create_fails(s, "vm", long_bad, vmf, NULL, VIREO_ERROR_INVALID_ARGUMENT);
    g_assert_false(store_user_create(s, "x\ny", "h", NULL, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT);
    g_clear_error(&error);
    g_assert_false(store_object_set_attrs(s, lid, "{\"a\":1}garbage", TRUE, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT);
    g_clear_error(&error);

    /* 10,000 objects in one transaction, then listed whole and filtered. */
    gint64 t0 = g_get_monotonic_time();
    g_assert_true(store_transaction_begin(s, &error));
    for (int i = 0; i < 10000; i++) {
        g_autofree char *name = g_strdup_printf("bulk-%05d", i);
        g_autofree char *id = mk(s, "vm", name, vmf, "{\"host\":\"host-77\"}");
    }
    g_assert_true(store_transaction_commit(s, &error));
    gint64 t1 = g_get_monotonic_time();
    StoreObjectFilter vms = { .kind = "vm", .parent = vmf };
    g_autoptr(GPtrArray) all = store_object_list(s, &vms, &error);
    g_assert_cmpuint(all->len, ==, 10000 + G_N_ELEMENTS(weird) + 1);
    StoreObjectFilter on77 = { .kind = "vm", .attr_name = "host", .attr_value = "host-77" };
    g_autoptr(GPtrArray) some = store_object_list(s, &on77, &error);
    g_assert_cmpuint(some->len, ==, 10000);
    gint64 t2 = g_get_monotonic_time();
    g_test_message("10000 creates: %.0f ms; two lists: %.0f ms", (t1 - t0) / 1000.0,
                   (t2 - t1) / 1000.0);
    g_assert_true(store_integrity_check(s, &error));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
    ADD("/center-store/migrations-from-empty", test_migrations_from_empty);
    ADD("/center-store/reopen-keeps-data", test_reopen_keeps_data);
    ADD("/center-store/newer-schema-refused", test_newer_schema_refused);
    ADD("/center-store/id-allocation", test_id_allocation);
    ADD("/center-store/hierarchy-and-placement", test_hierarchy_and_placement);
    ADD("/center-store/names-unique", test_names_unique);
    ADD("/center-store/delete-rules", test_delete_rules);
    ADD("/center-store/attrs-and-filters", test_attrs_and_filters);
    ADD("/center-store/relations", test_relations);
    ADD("/center-store/tasks", test_tasks);
    ADD("/center-store/events", test_events);
    ADD("/center-store/roles", test_roles);
    ADD("/center-store/users-and-permissions", test_users_and_permissions);
    ADD("/center-store/transactions", test_transactions);
    ADD("/center-store/integrity-detects-damage", test_integrity_detects_damage);
    ADD("/center-store/kill9-durability", test_kill9_durability);
    ADD("/center-store/hostile-input", test_hostile_input);
    return g_test_run();
}
