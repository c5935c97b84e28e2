/* test-cli-center.c — `vireo` against vireo-centerd: inventory paths walked
 * over a fake inventory that answers the list filters of docs/api-center.md
 * (nested folders, clusters, pools, names with '/', ambiguous names,
 * missing parents), task progress lines and outcomes, `host add`'s address
 * and thumbprint handling, parsing of the new commands, and centre
 * detection, its cache and a task followed to its end on a soup server.
 */
#include <libsoup/soup.h>
#include <string.h>

#include "cli.h"

/* ---- the fake inventory ---- */

typedef struct {
    CliInvKind kind;
    const char *id, *name;
    const char *parent;   /* folder, datacenter (its four folders), cluster or pool */
    const char *type;     /* folders: their type; datastores, networks: their datacenter */
    const char *extra;    /* VMs: their resource pool */
} FakeObj;

static const FakeObj fake_inventory[] = {
    { CLI_INV_FOLDER, "group-d20", "Lab", "group-d1", "DATACENTER", NULL },
    { CLI_INV_DATACENTER, "datacenter-2", "dc1", "group-d1", NULL, NULL },
    { CLI_INV_FOLDER, "group-v4", "vm", "datacenter-2", "VIRTUAL_MACHINE", NULL },
    { CLI_INV_FOLDER, "group-h5", "host", "datacenter-2", "HOST", NULL },
    { CLI_INV_FOLDER, "group-s6", "datastore", "datacenter-2", "DATASTORE", NULL },
    { CLI_INV_FOLDER, "group-n7", "network", "datacenter-2", "NETWORK", NULL },
    { CLI_INV_FOLDER, "group-v13", "prod", "group-v4", "VIRTUAL_MACHINE", NULL },
    { CLI_INV_FOLDER, "group-v14", "a/b", "group-v13", "VIRTUAL_MACHINE", NULL },
    { CLI_INV_VM, "vm-42", "web-01", "group-v13", NULL, "resgroup-9" },
    { CLI_INV_VM, "vm-43", "db", "group-v4", NULL, "resgroup-9" },
    { CLI_INV_VM, "vm-44", "batch", "group-v4", NULL, "resgroup-30" },
    { CLI_INV_CLUSTER, "domain-c8", "cluster1", "group-h5", NULL, NULL },
    { CLI_INV_RESOURCE_POOL, "resgroup-9", "Resources", "domain-c8", NULL, NULL },
    { CLI_INV_RESOURCE_POOL, "resgroup-30", "gold", "resgroup-9", NULL, NULL },
    { CLI_INV_HOST, "host-10", "host-a", "domain-c8", NULL, NULL },
    { CLI_INV_HOST, "host-11", "host-b", "domain-c8", NULL, NULL },
    { CLI_INV_HOST, "host-12", "host-c", "group-h5", NULL, NULL },
    { CLI_INV_DATASTORE, "datastore-3", "shared", NULL, "datacenter-2", NULL },
    { CLI_INV_NETWORK, "network-5", "VM Network", NULL, "datacenter-2", NULL },
    { CLI_INV_DATACENTER, "datacenter-21", "dc2", "group-d20", NULL, NULL },
    { CLI_INV_FOLDER, "group-v22", "vm", "datacenter-21", "VIRTUAL_MACHINE", NULL },
    { CLI_INV_FOLDER, "group-h23", "host", "datacenter-21", "HOST", NULL },
    { CLI_INV_FOLDER, "group-s24", "datastore", "datacenter-21", "DATASTORE", NULL },
    { CLI_INV_FOLDER, "group-n25", "network", "datacenter-21", "NETWORK", NULL },
    { CLI_INV_VM, "vm-50", "web-01", "group-v22", NULL, NULL },
    { CLI_INV_HOST, "host-51", "host-a", "group-h23", NULL, NULL },
};

typedef struct {
    int requests;
    GPtrArray *log;   /* "path?k=v&…" of each request */
} FakeLister;

static const char *const id_members[] = {
    [CLI_INV_FOLDER] = "folder", [CLI_INV_DATACENTER] = "datacenter", [CLI_INV_CLUSTER] = "cluster",
    [CLI_INV_HOST] = "host", [CLI_INV_VM] = "vm", [CLI_INV_DATASTORE] = "datastore",
    [CLI_INV_NETWORK] = "network", [CLI_INV_RESOURCE_POOL] = "resource_pool",
};

static const FakeObj *
fake_find(const char *id)
{
    for (guint i = 0; i < G_N_ELEMENTS(fake_inventory); i++) {
        if (g_str_equal(fake_inventory[i].id, id))
            return &fake_inventory[i];
    }
    return NULL;
}

/* TRUE when the query has no `name` filter or one of its values is value. */
static gboolean
fake_filter(const char *const *query, const char *name, const char *value)
{
    gboolean present = FALSE;

    for (guint i = 0; query && query[i]; i += 2) {
        if (!g_str_equal(query[i], name))
            continue;
        present = TRUE;
        if (g_strcmp0(query[i + 1], value) == 0)
            return TRUE;
    }
    return !present;
}

/* The folder a host is in: its own, or its cluster's (so a host folder's
 * list includes clustered hosts, which the CLI must not show there). */
static const char *
fake_host_folder(const FakeObj *o)
{
    const FakeObj *parent = fake_find(o->parent);

    return parent && parent->kind == CLI_INV_CLUSTER ? parent->parent : o->parent;
}

static gboolean
fake_matches(const FakeObj *o, CliInvKind kind, const char *const *query)
{
    const char *folder = o->kind == CLI_INV_HOST ? fake_host_folder(o) : o->parent;

    if (o->kind != kind || !fake_filter(query, "names", o->name))
        return FALSE;
    switch (kind) {
    case CLI_INV_FOLDER:
        return fake_filter(query, "parent_folders", o->parent) && fake_filter(query, "type", o->type);
    case CLI_INV_HOST:
        return fake_filter(query, "folders", folder) && fake_filter(query, "clusters", o->parent);
    case CLI_INV_VM:
        return fake_filter(query, "folders", o->parent) && fake_filter(query, "resource_pools", o->extra);
    case CLI_INV_DATASTORE:
    case CLI_INV_NETWORK:
        return fake_filter(query, "datacenters", o->type);
    default:
        return fake_filter(query, "folders", o->parent);
    }
}

static JsonNode *
fake_detail(const FakeObj *o)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "name");
    json_builder_add_string_value(b, o->name);
    for (guint i = 0; i < G_N_ELEMENTS(fake_inventory); i++) {
        const FakeObj *c = &fake_inventory[i];
        g_autofree char *member = NULL;
        if (g_strcmp0(c->parent, o->id) != 0)
            continue;
        if (o->kind == CLI_INV_DATACENTER) {
            member = g_strdup_printf("%s_folder", c->name);
            json_builder_set_member_name(b, member);
            json_builder_add_string_value(b, c->id);
        } else if (o->kind == CLI_INV_CLUSTER && c->kind == CLI_INV_RESOURCE_POOL) {
            json_builder_set_member_name(b, "resource_pool");
            json_builder_add_string_value(b, c->id);
        }
    }
    if (o->kind == CLI_INV_RESOURCE_POOL) {
        json_builder_set_member_name(b, "resource_pools");
        json_builder_begin_array(b);
        for (guint i = 0; i < G_N_ELEMENTS(fake_inventory); i++) {
            if (fake_inventory[i].kind == CLI_INV_RESOURCE_POOL && g_strcmp0(fake_inventory[i].parent, o->id) == 0)
                json_builder_add_string_value(b, fake_inventory[i].id);
        }
        json_builder_end_array(b);
    }
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

static JsonNode *
fake_list(CliInvKind kind, const char *const *query)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_array(b);
    for (guint i = 0; i < G_N_ELEMENTS(fake_inventory); i++) {
        const FakeObj *o = &fake_inventory[i];
        if (!fake_matches(o, kind, query))
            continue;
        json_builder_begin_object(b);
        json_builder_set_member_name(b, id_members[kind]);
        json_builder_add_string_value(b, o->id);
        json_builder_set_member_name(b, "name");
        json_builder_add_string_value(b, o->name);
        if (kind == CLI_INV_FOLDER) {
            json_builder_set_member_name(b, "type");
            json_builder_add_string_value(b, o->type);
        } else if (kind == CLI_INV_VM) {
            json_builder_set_member_name(b, "power_state");
            json_builder_add_string_value(b, "POWERED_ON");
        }
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    return json_builder_get_root(b);
}

static JsonNode *
fake_get(gpointer data, const char *path, const char *const *query, GError **error)
{
    FakeLister *fake = data;
    g_autoptr(GString) line = g_string_new(path);

    for (guint i = 0; query && query[i]; i += 2)
        g_string_append_printf(line, "%c%s=%s", i ? '&' : '?', query[i], query[i + 1]);
    g_ptr_array_add(fake->log, g_strdup(line->str));
    fake->requests++;
    for (int k = 0; k < CLI_INV_N_KINDS; k++) {
        const char *collection = cli_inv_kind_collection((CliInvKind)k);
        const FakeObj *o;
        if (g_str_equal(path, collection))
            return fake_list((CliInvKind)k, query);
        if (g_str_has_prefix(path, collection) && path[strlen(collection)] == '/' &&
            (o = fake_find(path + strlen(collection) + 1)) && o->kind == (CliInvKind)k)
            return fake_detail(o);
    }
    g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "no such path %s", path);
    return NULL;
}

typedef struct {
    FakeLister fake;
    CliInvLister lister;
} Fixture;

static void
fixture_init(Fixture *f)
{
    f->fake.requests = 0;
    f->fake.log = g_ptr_array_new_with_free_func(g_free);
    f->lister.get = fake_get;
    f->lister.data = &f->fake;
}

static void
fixture_clear(Fixture *f)
{
    g_ptr_array_unref(f->fake.log);
}

/* ---- paths ---- */

static void
test_path_split_join(void)
{
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) parts = cli_inv_path_split("/dc1//vm/a%2fb/", &error);
    g_auto(GStrv) root = cli_inv_path_split("/", &error);
    g_autofree char *joined = cli_inv_path_join("/dc1/vm", "a/b%c");
    g_autofree char *top = cli_inv_path_join("/", "dc1");
    CliInvKind kind;

    g_assert_no_error(error);
    g_assert_cmpuint(g_strv_length(parts), ==, 3);
    g_assert_cmpstr(parts[2], ==, "a/b");
    g_assert_cmpuint(g_strv_length(root), ==, 0);
    g_assert_cmpstr(joined, ==, "/dc1/vm/a%2fb%25c");
    g_assert_cmpstr(top, ==, "/dc1");
    g_assert_null(cli_inv_path_split("dc1/vm", &error));
    g_assert_error(error, CLI_ERROR, CLI_ERROR_USAGE);
    g_clear_error(&error);
    g_assert_null(cli_inv_path_split("/dc1/../dc2", &error));
    g_assert_error(error, CLI_ERROR, CLI_ERROR_USAGE);

    static const struct {
        const char *id;
        int kind;   /* -1: not an id */
    } ids[] = {
        { "vm-42", CLI_INV_VM }, { "host-10", CLI_INV_HOST }, { "domain-c8", CLI_INV_CLUSTER },
        { "group-v4", CLI_INV_FOLDER }, { "group-d1", CLI_INV_FOLDER }, { "datastore-3", CLI_INV_DATASTORE },
        { "network-5", CLI_INV_NETWORK }, { "resgroup-9", CLI_INV_RESOURCE_POOL },
        { "datacenter-2", CLI_INV_DATACENTER }, { "web-01", -1 }, { "vm-", -1 }, { "vm-4x", -1 },
        { "group-vv4", -1 }, { "host-a", -1 }, { "domain-8", -1 },
    };
    for (guint i = 0; i < G_N_ELEMENTS(ids); i++) {
        gboolean is_id = cli_inv_kind_of_id(ids[i].id, &kind);
        g_assert_cmpint(is_id, ==, ids[i].kind >= 0);
        if (is_id)
            g_assert_cmpint(kind, ==, ids[i].kind);
    }
}

static void
test_resolve_paths(void)
{
    static const struct {
        const char *path;
        const char *id;
        CliInvKind kind;
    } good[] = {
        { "/", "group-d1", CLI_INV_FOLDER },
        { "/dc1", "datacenter-2", CLI_INV_DATACENTER },
        { "/dc1/vm", "group-v4", CLI_INV_FOLDER },
        { "//dc1//vm/", "group-v4", CLI_INV_FOLDER },
        { "/dc1/vm/prod/web-01", "vm-42", CLI_INV_VM },
        { "/dc1/vm/prod/a%2fb", "group-v14", CLI_INV_FOLDER },
        { "/dc1/host/cluster1", "domain-c8", CLI_INV_CLUSTER },
        { "/dc1/host/cluster1/host-a", "host-10", CLI_INV_HOST },
        { "/dc1/host/host-c", "host-12", CLI_INV_HOST },
        { "/dc1/host/cluster1/Resources", "resgroup-9", CLI_INV_RESOURCE_POOL },
        { "/dc1/host/cluster1/Resources/gold", "resgroup-30", CLI_INV_RESOURCE_POOL },
        { "/dc1/host/cluster1/Resources/gold/batch", "vm-44", CLI_INV_VM },
        { "/dc1/datastore/shared", "datastore-3", CLI_INV_DATASTORE },
        { "/dc1/network/VM Network", "network-5", CLI_INV_NETWORK },
        { "/Lab/dc2/vm/web-01", "vm-50", CLI_INV_VM },
        { "/Lab/dc2/host/host-a", "host-51", CLI_INV_HOST },
    };
    static const struct {
        const char *path;
        const char *mentions;
    } missing[] = {
        { "/nodc", "nothing named 'nodc'" },
        { "/dc1/bogus", "/dc1 has nothing named 'bogus'" },
        { "/dc1/vm/missing/web-01", "/dc1/vm has nothing named 'missing'" },
        { "/dc1/vm/prod/web-01/disk", "/dc1/vm/prod/web-01 is a vm" },
        { "/dc1/host/cluster1/host-z", "/dc1/host/cluster1 has nothing named 'host-z'" },
        { "/dc2/vm", "nothing named 'dc2'" },   /* dc2 is in the Lab folder */
    };
    Fixture f;

    fixture_init(&f);
    for (guint i = 0; i < G_N_ELEMENTS(good); i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(CliInvObject) obj = cli_inv_resolve_path(&f.lister, good[i].path, &error);
        g_assert_no_error(error);
        g_assert_cmpstr(obj->id, ==, good[i].id);
        g_assert_cmpint(obj->kind, ==, good[i].kind);
    }
    for (guint i = 0; i < G_N_ELEMENTS(missing); i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(CliInvObject) obj = cli_inv_resolve_path(&f.lister, missing[i].path, &error);
        g_assert_null(obj);
        g_assert_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND);
        if (!strstr(error->message, missing[i].mentions))
            g_error("%s: '%s' does not say '%s'", missing[i].path, error->message, missing[i].mentions);
        g_assert_cmpint(cli_exit_code_for_error(error), ==, CLI_EXIT_NOT_FOUND);
    }
    fixture_clear(&f);
}

static char *
children_text(Fixture *f, const char *path)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(CliInvObject) obj = cli_inv_resolve_path(&f->lister, path, &error);
    g_autoptr(GPtrArray) children = obj ? cli_inv_children(&f->lister, obj, &error) : NULL;
    GString *out = g_string_new(NULL);

    g_assert_no_error(error);
    for (guint i = 0; i < children->len; i++) {
        CliInvObject *c = g_ptr_array_index(children, i);
        g_string_append_printf(out, "%s%s=%s", i ? " " : "", c->path, c->id);
    }
    return g_string_free(out, FALSE);
}

static void
test_children(void)
{
    static const struct {
        const char *path, *listing;
    } cases[] = {
        { "/", "/Lab=group-d20 /dc1=datacenter-2" },
        { "/dc1", "/dc1/vm=group-v4 /dc1/host=group-h5 /dc1/datastore=group-s6 /dc1/network=group-n7" },
        { "/dc1/vm", "/dc1/vm/prod=group-v13 /dc1/vm/db=vm-43 /dc1/vm/batch=vm-44" },
        { "/dc1/vm/prod", "/dc1/vm/prod/a%2fb=group-v14 /dc1/vm/prod/web-01=vm-42" },
        /* Clustered hosts are under their cluster, not beside it. */
        { "/dc1/host", "/dc1/host/cluster1=domain-c8 /dc1/host/host-c=host-12" },
        { "/dc1/host/cluster1",
          "/dc1/host/cluster1/host-a=host-10 /dc1/host/cluster1/host-b=host-11 /dc1/host/cluster1/Resources=resgroup-9" },
        { "/dc1/host/cluster1/Resources",
          "/dc1/host/cluster1/Resources/gold=resgroup-30 /dc1/host/cluster1/Resources/web-01=vm-42 "
          "/dc1/host/cluster1/Resources/db=vm-43" },
        { "/dc1/datastore", "/dc1/datastore/shared=datastore-3" },
        { "/dc1/network", "/dc1/network/VM Network=network-5" },
        { "/Lab", "/Lab/dc2=datacenter-21" },
        { "/Lab/dc2/datastore", "" },
        { "/dc1/vm/prod/web-01", "" },
    };
    Fixture f;

    fixture_init(&f);
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *text = children_text(&f, cases[i].path);
        if (!g_str_equal(text, cases[i].listing))
            g_error("ls %s:\n got: %s\nwant: %s", cases[i].path, text, cases[i].listing);
    }
    fixture_clear(&f);
}

static void
test_resolve_arguments(void)
{
    Fixture f;
    g_autoptr(GError) error = NULL;
    CliInvObject *obj;
    int before;

    fixture_init(&f);
    /* A unique name. */
    obj = cli_inv_resolve(&f.lister, CLI_INV_VM, NULL, "db", &error);
    g_assert_no_error(error);
    g_assert_cmpstr(obj->id, ==, "vm-43");
    cli_inv_object_free(obj);
    obj = cli_inv_resolve(&f.lister, CLI_INV_CLUSTER, NULL, "cluster1", &error);
    g_assert_cmpstr(obj->id, ==, "domain-c8");
    cli_inv_object_free(obj);
    /* A name two VMs have: refused, naming both. */
    g_assert_null(cli_inv_resolve(&f.lister, CLI_INV_VM, NULL, "web-01", &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT);
    g_assert_nonnull(strstr(error->message, "vm-42"));
    g_assert_nonnull(strstr(error->message, "vm-50"));
    g_clear_error(&error);
    /* ... but its path is fine. */
    obj = cli_inv_resolve(&f.lister, CLI_INV_VM, NULL, "/Lab/dc2/vm/web-01", &error);
    g_assert_no_error(error);
    g_assert_cmpstr(obj->id, ==, "vm-50");
    cli_inv_object_free(obj);
    g_assert_null(cli_inv_resolve(&f.lister, CLI_INV_HOST, NULL, "nobody", &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND);
    g_clear_error(&error);
    /* An id is taken as it is, without asking. */
    before = f.fake.requests;
    obj = cli_inv_resolve(&f.lister, CLI_INV_VM, NULL, "vm-42", &error);
    g_assert_no_error(error);
    g_assert_cmpstr(obj->id, ==, "vm-42");
    g_assert_cmpint(f.fake.requests, ==, before);
    cli_inv_object_free(obj);
    /* Another kind's id or path is a usage error. */
    g_assert_null(cli_inv_resolve(&f.lister, CLI_INV_VM, NULL, "host-10", &error));
    g_assert_error(error, CLI_ERROR, CLI_ERROR_USAGE);
    g_clear_error(&error);
    g_assert_null(cli_inv_resolve(&f.lister, CLI_INV_HOST, NULL, "/dc1/vm", &error));
    g_assert_error(error, CLI_ERROR, CLI_ERROR_USAGE);
    g_clear_error(&error);
    /* A folder of the wrong type. */
    g_assert_null(cli_inv_resolve(&f.lister, CLI_INV_FOLDER, "HOST", "/dc1/vm/prod", &error));
    g_assert_error(error, CLI_ERROR, CLI_ERROR_USAGE);
    g_clear_error(&error);
    /* Folder names are looked up within the type: "vm" is two folders, one per datacenter. */
    g_assert_null(cli_inv_resolve(&f.lister, CLI_INV_FOLDER, "VIRTUAL_MACHINE", "vm", &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT);
    g_clear_error(&error);
    obj = cli_inv_resolve(&f.lister, CLI_INV_FOLDER, "VIRTUAL_MACHINE", "prod", &error);
    g_assert_cmpstr(obj->id, ==, "group-v13");
    cli_inv_object_free(obj);
    /* Any kind. */
    obj = cli_inv_resolve_any(&f.lister, "shared", &error);
    g_assert_no_error(error);
    g_assert_cmpint(obj->kind, ==, CLI_INV_DATASTORE);
    cli_inv_object_free(obj);
    g_assert_null(cli_inv_resolve_any(&f.lister, "host-a", &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT);
    g_clear_error(&error);
    fixture_clear(&f);
}

/* ---- tasks ---- */

static JsonObject *
json_obj(const char *text)
{
    g_autoptr(JsonNode) node = json_from_string(text, NULL);

    g_assert_nonnull(node);
    return json_object_ref(json_node_get_object(node));
}

static void
test_progress_lines(void)
{
    static const struct {
        const char *info;
        guint width;
        const char *line;
    } cases[] = {
        { "{\"status\": \"RUNNING\", \"progress\": {\"total\": 100, \"completed\": 50, \"message\": \"Powering on web-01\"}}",
          10, "[#####     ] 50% Powering on web-01" },
        { "{\"status\": \"RUNNING\", \"progress\": {\"total\": 100, \"completed\": 50, \"message\": \"Powering on web-01\"}}",
          0, "50% Powering on web-01" },
        { "{\"status\": \"PENDING\", \"description\": {\"id\": \"vm.create\", \"default_message\": \"Create VM\"},"
          " \"operation\": \"create\"}", 4, "[    ] 0% Create VM" },
        { "{\"status\": \"RUNNING\", \"operation\": \"vm.power.start\", \"progress\": {\"total\": 8, \"completed\": 3}}",
          8, "[###     ] 37% vm.power.start" },
        { "{\"status\": \"SUCCEEDED\", \"description\": {\"default_message\": \"Add host\"}}", 10,
          "[##########] 100% Add host" },
        { "{\"status\": \"RUNNING\", \"progress\": {\"total\": 10, \"completed\": 99, \"message\": \"x\"}}", 2,
          "[##] 100% x" },
        { "{\"status\": \"FAILED\", \"progress\": {\"total\": 100, \"completed\": 20, \"message\": \"Copying disk\"}}", 5,
          "[#    ] 20% Copying disk: failed" },
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(JsonObject) info = json_obj(cases[i].info);
        g_autofree char *line = cli_task_progress_line(info, cases[i].width);
        g_assert_cmpstr(line, ==, cases[i].line);
    }
}

static void
test_task_outcome(void)
{
    g_autoptr(JsonObject) ok = json_obj("{\"status\": \"SUCCEEDED\", \"result\": \"vm-42\"}");
    g_autoptr(JsonObject) busy = json_obj(
        "{\"status\": \"FAILED\", \"description\": {\"default_message\": \"Power on web-01\"},"
        " \"error\": {\"error_type\": \"RESOURCE_BUSY\", \"messages\": [{\"id\": \"x\","
        " \"default_message\": \"task-3 (vm.clone) holds web-01\"}]}}");
    g_autoptr(JsonObject) state = json_obj("{\"status\": \"FAILED\", \"error\": {\"error_type\": "
                                           "\"NOT_ALLOWED_IN_CURRENT_STATE\", \"messages\": []}}");
    g_autoptr(JsonObject) canceled = json_obj("{\"status\": \"CANCELED\", \"operation\": \"vm.migrate\"}");
    g_autoptr(JsonObject) running = json_obj("{\"status\": \"RUNNING\"}");
    g_autoptr(GError) error = NULL;

    g_assert_true(cli_task_is_done(ok));
    g_assert_true(cli_task_outcome(ok, &error));
    g_assert_no_error(error);
    g_assert_false(cli_task_outcome(busy, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_RESOURCE_BUSY);
    g_assert_cmpstr(error->message, ==, "Power on web-01: task-3 (vm.clone) holds web-01");
    g_assert_cmpint(cli_exit_code_for_error(error), ==, CLI_EXIT_BUSY);
    g_clear_error(&error);
    g_assert_false(cli_task_outcome(state, &error));
    g_assert_cmpint(cli_exit_code_for_error(error), ==, CLI_EXIT_STATE);
    g_clear_error(&error);
    g_assert_true(cli_task_is_done(canceled));
    g_assert_false(cli_task_outcome(canceled, &error));
    g_assert_cmpint(cli_exit_code_for_error(error), ==, CLI_EXIT_ERROR);
    g_assert_nonnull(strstr(error->message, "canceled"));
    g_clear_error(&error);
    g_assert_false(cli_task_is_done(running));
}

/* ---- host add ---- */

#define TP_A "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"
#define TP_B "11:22:33:44:55:66:77:88:99:00:11:22:33:44:55:66:77:88:99:00:11:22:33:44:55:66:77:88:99:00:11:22"

static void
test_host_add_pure(void)
{
    static const struct {
        const char *text, *host;
        guint port;
    } good[] = {
        { "esx1", "esx1", 0 }, { "10.0.0.5:8443", "10.0.0.5", 8443 }, { "[fe80::1]:443", "fe80::1", 443 },
        { "fe80::1", "fe80::1", 0 }, { "[::1]", "::1", 0 },
    };
    static const char *const bad[] = { "", ":8443", "esx1:0", "esx1:70000", "esx1:http", "[::1", "[::1]x" };
    g_autoptr(GError) error = NULL;
    g_autofree char *lower = NULL;
    g_autofree char *advice = NULL;
    g_autofree char *wrong = NULL;

    for (guint i = 0; i < G_N_ELEMENTS(good); i++) {
        g_autofree char *host = NULL;
        guint port = 99;
        g_assert_true(cli_host_address_parse(good[i].text, &host, &port, &error));
        g_assert_cmpstr(host, ==, good[i].host);
        g_assert_cmpuint(port, ==, good[i].port);
    }
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *host = NULL;
        guint port;
        g_assert_false(cli_host_address_parse(bad[i], &host, &port, &error));
        g_assert_error(error, CLI_ERROR, CLI_ERROR_USAGE);
        g_clear_error(&error);
    }
    /* The centre's message names the thumbprint; a given wrong one is skipped. */
    lower = g_ascii_strdown(TP_A, -1);
    g_autofree char *message = g_strdup_printf("the host's certificate has thumbprint %s; give it as thumbprint", lower);
    g_autofree char *found = cli_host_thumbprint_in(message, NULL);
    g_assert_cmpstr(found, ==, TP_A);
    g_autofree char *both = g_strdup_printf("thumbprint %s does not match the host's %s.", TP_B, TP_A);
    g_autofree char *other = cli_host_thumbprint_in(both, TP_B);
    g_assert_cmpstr(other, ==, TP_A);
    g_assert_null(cli_host_thumbprint_in("bad password for root", NULL));
    g_assert_null(cli_host_thumbprint_in("MAC 00:50:56:00:00:01 is taken", NULL));
    advice = cli_host_thumbprint_advice(TP_A, NULL);
    g_assert_cmpstr(advice, ==, "The host's certificate thumbprint is " TP_A "; check it, then run again with "
                                "--thumbprint " TP_A " (or --accept-thumbprint)");
    wrong = cli_host_thumbprint_advice(TP_A, TP_B);
    g_assert_cmpstr(wrong, ==, "The host's certificate thumbprint is " TP_A ", not " TP_B "; check it, then run "
                               "again with --thumbprint " TP_A);
}

/* ---- parsing ---- */

static CliInvocation *
parse(const char *line, GError **error)
{
    g_auto(GStrv) words = NULL;
    g_autofree char *full = g_strconcat("vireo ", line, NULL);
    CliInvocation *inv = NULL;
    int argc;

    g_assert_true(g_shell_parse_argv(full, &argc, &words, NULL));
    if (!cli_parse(argc, words, &inv, error)) {
        cli_invocation_free(inv);
        return NULL;
    }
    return inv;
}

static void
test_parse_center_commands(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(CliInvocation) add = parse("host add 10.0.0.5:8443 --username root --password pw --cluster "
                                         "/dc1/host/cluster1 --thumbprint " TP_A " --url https://c:8443 --json",
                                         &error);
    g_assert_no_error(error);
    g_assert_cmpstr(add->command->path, ==, "host add");
    HostAddOptions *ho = add->options;
    g_assert_cmpstr(ho->username, ==, "root");     /* the host's, not the centre's login */
    g_assert_cmpstr(ho->password, ==, "pw");
    g_assert_cmpstr(ho->thumbprint, ==, TP_A);
    g_assert_cmpstr(ho->cluster, ==, "/dc1/host/cluster1");
    g_assert_null(add->flags.username);
    g_assert_null(add->flags.password);
    g_assert_null(add->flags.thumbprint);
    g_assert_cmpstr(add->flags.url, ==, "https://c:8443");
    g_assert_true(add->flags.json);

    /* Elsewhere --password stays the global one. */
    g_autoptr(CliInvocation) power = parse("vm power /dc1/vm/prod/web-01 on --password secret --async", &error);
    g_assert_no_error(error);
    g_assert_cmpstr(power->flags.password, ==, "secret");
    g_assert_cmpstr(power->args[0], ==, "/dc1/vm/prod/web-01");

    g_autoptr(CliInvocation) create = parse("vm create web-02 --datastore /dc1/datastore/shared --cluster cluster1 "
                                            "--folder /dc1/vm/prod --cpus 2 --async", &error);
    g_assert_no_error(error);
    CenterVmCreateOptions *vo = create->options;
    g_assert_cmpstr(vo->base.datastore, ==, "/dc1/datastore/shared");
    g_assert_cmpstr(vo->base.folder, ==, "/dc1/vm/prod");
    g_assert_cmpint(vo->base.cpus, ==, 2);
    g_assert_cmpstr(vo->cluster, ==, "cluster1");
    g_assert_true(vo->async);

    g_autoptr(CliInvocation) ls = parse("ls -l /dc1/vm", &error);
    g_assert_no_error(error);
    g_assert_true(((CliLsOptions *)ls->options)->longer);
    g_assert_cmpstr(ls->args[0], ==, "/dc1/vm");

    g_autoptr(CliInvocation) perm = parse("permission set --object /dc1 --principal ops --group --role ReadOnly "
                                          "--no-propagate", &error);
    g_assert_no_error(error);
    PermissionOptions *po = perm->options;
    g_assert_cmpstr(po->object, ==, "/dc1");
    g_assert_cmpstr(po->principal, ==, "ops");
    g_assert_true(po->group);
    g_assert_cmpstr(po->role, ==, "ReadOnly");
    g_assert_true(po->no_propagate);

    g_autoptr(CliInvocation) user = parse("user add alice --password pw1 --group ops --group dev", &error);
    g_assert_no_error(error);
    g_assert_null(user->flags.password);
    g_assert_cmpstr(user->args[0], ==, "alice");

    g_autoptr(CliInvocation) maint = parse("host maintenance enter /dc1/host/cluster1/host-a", &error);
    g_assert_no_error(error);
    g_assert_cmpstr(maint->command->path, ==, "host maintenance");
    g_assert_cmpstr(maint->args[1], ==, "/dc1/host/cluster1/host-a");

    g_autoptr(CliInvocation) help = parse("task --help", &error);
    g_assert_no_error(error);
    g_assert_nonnull(strstr(help->help_text, "task wait TASK"));

    static const char *const usage_errors[] = {
        "host add", "host maintenance enter", "task info", "task wait a b", "ls / /dc1", "info",
        "cluster create", "event ls --limit many", "role create", "vm create web --pool",
    };
    for (guint i = 0; i < G_N_ELEMENTS(usage_errors); i++) {
        g_autoptr(CliInvocation) inv = parse(usage_errors[i], &error);
        if (inv)
            g_error("'%s' parsed", usage_errors[i]);
        g_assert_error(error, CLI_ERROR, CLI_ERROR_USAGE);
        g_clear_error(&error);
    }
    /* A replaced command is listed once. */
    g_autofree char *vm_help = cli_help_text("vm");
    const char *first = strstr(vm_help, "vm create NAME");
    g_assert_nonnull(first);
    g_assert_null(strstr(first + 1, "vm create NAME"));
}

/* ---- against a soup server: detection, its cache, a task ---- */

typedef struct {
    gboolean center;
    int datacenter_gets;
    int task_polls;
    char *last_query;
} FakeCenter;

static void
reply(SoupServerMessage *msg, guint status, const char *body)
{
    soup_server_message_set_status(msg, status, NULL);
    if (body)
        soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_COPY, body, strlen(body));
}

static void
center_handle(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query, gpointer data)
{
    FakeCenter *fc = data;
    const char *method = soup_server_message_get_method(msg);

    if (g_str_equal(path, "/api/session")) {
        reply(msg, 201, "\"token-1\"");
    } else if (g_str_equal(path, "/api/vcenter/datacenter")) {
        fc->datacenter_gets++;
        if (fc->center)
            reply(msg, 200, "[]");
        else
            reply(msg, 404, "{\"error_type\": \"NOT_FOUND\", \"messages\": []}");
    } else if (fc->center && g_str_equal(path, "/api/vcenter/vm") && g_str_equal(method, "POST")) {
        g_free(fc->last_query);
        fc->last_query = g_strdup(query ? g_hash_table_lookup(query, "vmw-task") : NULL);
        reply(msg, 202, "\"task-7\"");
    } else if (g_str_equal(path, "/api/cis/tasks/task-7")) {
        fc->task_polls++;
        reply(msg, 200, fc->task_polls < 3
            ? "{\"status\": \"RUNNING\", \"progress\": {\"total\": 100, \"completed\": 40, \"message\": \"Creating\"}}"
            : "{\"status\": \"SUCCEEDED\", \"result\": \"vm-42\", \"progress\": {\"total\": 100, \"completed\": 100}}");
    } else if (g_str_equal(path, "/api/cis/tasks/task-8")) {
        reply(msg, 200, "{\"status\": \"FAILED\", \"description\": {\"default_message\": \"Power on\"},"
                        " \"error\": {\"error_type\": \"NOT_ALLOWED_IN_CURRENT_STATE\","
                        " \"messages\": [{\"default_message\": \"host-10 is in maintenance mode\"}]}}");
    } else {
        reply(msg, 404, "{\"error_type\": \"NOT_FOUND\", \"messages\": [{\"default_message\": \"nothing here\"}]}");
    }
}

typedef struct {
    char *url;
    int done;
    gboolean first, second;
    GError *error;
    JsonNode *answer;
    GError *failed;
} CenterJob;

static gpointer
center_thread(gpointer data)
{
    CenterJob *job = data;
    CliContext ctx;
    g_autoptr(JsonObject) spec = json_object_new();
    g_autoptr(JsonNode) body = json_node_init_object(json_node_alloc(), spec);

    for (int round = 0; round < 2; round++) {
        cli_context_init(&ctx);
        ctx.settings.url = g_strdup(job->url);
        ctx.settings.username = g_strdup("root");
        ctx.settings.password = g_strdup("pw");
        if (!cli_server_is_center(&ctx, round ? &job->second : &job->first, &job->error))
            break;
        if (round && job->first &&
            cli_call_long(&ctx, "POST", "/api/vcenter/vm", NULL, body, FALSE, &job->answer, NULL, &job->error))
            cli_task_wait(&ctx, "task-8", NULL, &job->failed);
        cli_context_clear(&ctx);
    }
    g_atomic_int_set(&job->done, 1);
    g_main_context_wakeup(NULL);
    return NULL;
}

static void
run_center(FakeCenter *fc, CenterJob *job)
{
    g_autoptr(SoupServer) server = soup_server_new(NULL, NULL);
    g_autoptr(GError) error = NULL;
    g_autoslist(GUri) uris = NULL;
    GThread *thread;

    soup_server_add_handler(server, NULL, center_handle, fc, NULL);
    g_assert_true(soup_server_listen_local(server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error));
    uris = soup_server_get_uris(server);
    job->url = g_strdup_printf("http://127.0.0.1:%d", g_uri_get_port(uris->data));
    thread = g_thread_new("cli-center", center_thread, job);
    while (!g_atomic_int_get(&job->done))
        g_main_context_iteration(NULL, TRUE);
    g_thread_join(thread);
}

static void
test_center_detection_and_task(void)
{
    FakeCenter center = { .center = TRUE };
    FakeCenter host = { .center = FALSE };
    CenterJob on_center = { 0 };
    CenterJob on_host = { 0 };
    g_autofree char *kind = NULL;
    g_autofree char *host_kind = NULL;

    run_center(&center, &on_center);
    g_assert_no_error(on_center.error);
    g_assert_true(on_center.first);
    g_assert_true(on_center.second);
    g_assert_cmpint(center.datacenter_gets, ==, 1);   /* the second run used the cache */
    kind = cli_server_kind_load(on_center.url);
    g_assert_cmpstr(kind, ==, "center");
    /* The long operation went as a task and its result came back. */
    g_assert_cmpstr(center.last_query, ==, "true");
    g_assert_cmpint(center.task_polls, ==, 3);
    g_assert_cmpstr(json_node_get_string(on_center.answer), ==, "vm-42");
    g_assert_error(on_center.failed, VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE);
    g_assert_cmpstr(on_center.failed->message, ==, "Power on: host-10 is in maintenance mode");

    run_center(&host, &on_host);
    g_assert_no_error(on_host.error);
    g_assert_false(on_host.first);
    g_assert_false(on_host.second);
    g_assert_cmpint(host.datacenter_gets, ==, 1);
    host_kind = cli_server_kind_load(on_host.url);
    g_assert_cmpstr(host_kind, ==, "host");

    g_free(on_center.url);
    g_free(on_host.url);
    g_free(center.last_query);
    json_node_unref(on_center.answer);
    g_clear_error(&on_center.failed);
}

static void
test_cached_kind_needs_no_server(void)
{
    CliContext ctx;
    gboolean center = FALSE;
    g_autoptr(GError) error = NULL;
    g_autofree char *path = cli_server_kind_path("http://127.0.0.1:1");

    g_assert_true(g_str_has_prefix(path, g_getenv("XDG_CACHE_HOME")));
    g_assert_true(cli_server_kind_save("http://127.0.0.1:1", "center", &error));
    cli_context_init(&ctx);
    ctx.settings.url = g_strdup("http://127.0.0.1:1");   /* nothing listens there */
    g_assert_true(cli_server_is_center(&ctx, &center, &error));
    g_assert_no_error(error);
    g_assert_true(center);
    /* A host runs no tasks: --async is refused before any request. */
    g_assert_true(cli_server_kind_save("http://127.0.0.1:1", "host", &error));
    g_assert_false(cli_call_long(&ctx, "POST", "/api/vcenter/vm/vm-1/power", NULL, NULL, TRUE, NULL, NULL, &error));
    g_assert_error(error, CLI_ERROR, CLI_ERROR_USAGE);
    cli_context_clear(&ctx);
    g_assert_null(cli_server_kind_load("http://127.0.0.1:2"));
}

int
main(int argc, char **argv)
{
    g_autofree char *cache = g_dir_make_tmp("vireo-cli-center-XXXXXX", NULL);

    /* Before anything asks GLib for the cache folder. */
    g_setenv("XDG_CACHE_HOME", cache, TRUE);
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cli-center/path-split-join", test_path_split_join);
    g_test_add_func("/cli-center/resolve-paths", test_resolve_paths);
    g_test_add_func("/cli-center/children", test_children);
    g_test_add_func("/cli-center/resolve-arguments", test_resolve_arguments);
    g_test_add_func("/cli-center/progress-lines", test_progress_lines);
    g_test_add_func("/cli-center/task-outcome", test_task_outcome);
    g_test_add_func("/cli-center/host-add", test_host_add_pure);
    g_test_add_func("/cli-center/parse", test_parse_center_commands);
    g_test_add_func("/cli-center/detection-and-task", test_center_detection_and_task);
    g_test_add_func("/cli-center/cached-kind", test_cached_kind_needs_no_server);
    return g_test_run();
}
