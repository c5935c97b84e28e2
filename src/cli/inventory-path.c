/* inventory-path.c — walks a centre's inventory the way govc's paths do:
 * root folder → datacenters (and folders) → vm|host|datastore|network →
 * folders, clusters, hosts, "Resources" pools, VMs; and resolves an
 * argument given as a path, an id or a unique name. Only list and detail
 * GETs of docs/api-center.md, through the caller's lister.
 */
#include "inventory-path.h"

#include <string.h>

#include "api-client.h"
#include "cli.h"
#include "vireo-error.h"

typedef struct {
    const char *name;
    const char *collection;
    const char *id_member;   /* the id's member in list answers */
    const char *id_prefix;
    const char *state_member;
} InvKindInfo;

static const InvKindInfo inv_kinds[CLI_INV_N_KINDS] = {
    [CLI_INV_FOLDER] = { "folder", "/api/vcenter/folder", "folder", "group-", "type" },
    [CLI_INV_DATACENTER] = { "datacenter", "/api/vcenter/datacenter", "datacenter", "datacenter-", NULL },
    [CLI_INV_CLUSTER] = { "cluster", "/api/vcenter/cluster", "cluster", "domain-c", NULL },
    [CLI_INV_HOST] = { "host", "/api/vcenter/host", "host", "host-", "connection_state" },
    [CLI_INV_VM] = { "vm", "/api/vcenter/vm", "vm", "vm-", "power_state" },
    [CLI_INV_DATASTORE] = { "datastore", "/api/vcenter/datastore", "datastore", "datastore-", "type" },
    [CLI_INV_NETWORK] = { "network", "/api/vcenter/network", "network", "network-", "type" },
    [CLI_INV_RESOURCE_POOL] = { "resource pool", "/api/vcenter/resource-pool", "resource_pool", "resgroup-", NULL },
};

const char *
cli_inv_kind_name(CliInvKind kind)
{
    return kind < CLI_INV_N_KINDS ? inv_kinds[kind].name : "object";
}

const char *
cli_inv_kind_collection(CliInvKind kind)
{
    return kind < CLI_INV_N_KINDS ? inv_kinds[kind].collection : NULL;
}

gboolean
cli_inv_kind_of_id(const char *text, CliInvKind *kind)
{
    for (int k = 0; text && k < CLI_INV_N_KINDS; k++) {
        const char *rest;
        if (!g_str_has_prefix(text, inv_kinds[k].id_prefix))
            continue;
        rest = text + strlen(inv_kinds[k].id_prefix);
        if (k == CLI_INV_FOLDER && g_ascii_islower(*rest))
            rest++;   /* group-v4, group-h5, group-d1 */
        if (!*rest || strspn(rest, "0123456789") != strlen(rest))
            continue;
        *kind = (CliInvKind)k;
        return TRUE;
    }
    return FALSE;
}

void
cli_inv_object_free(CliInvObject *obj)
{
    if (!obj)
        return;
    g_free(obj->id);
    g_free(obj->name);
    g_free(obj->path);
    g_free(obj->folder_type);
    g_free(obj->datacenter);
    g_free(obj->state);
    g_free(obj);
}

static CliInvObject *
inv_object_new(CliInvKind kind, const char *id, const char *name, const char *parent_path)
{
    CliInvObject *obj = g_new0(CliInvObject, 1);

    obj->kind = kind;
    obj->id = g_strdup(id);
    obj->name = g_strdup(name);
    obj->path = parent_path && name ? cli_inv_path_join(parent_path, name) : NULL;
    return obj;
}

static CliInvObject *
inv_root(void)
{
    CliInvObject *root = inv_object_new(CLI_INV_FOLDER, CLI_INV_ROOT_FOLDER, "", NULL);

    root->path = g_strdup("/");
    root->folder_type = g_strdup("DATACENTER");
    return root;
}

char **
cli_inv_path_split(const char *path, GError **error)
{
    g_auto(GStrv) parts = NULL;
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);

    if (!path || path[0] != '/') {
        g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "'%s' is not an inventory path: paths start with /, "
                    "e.g. /dc1/vm/web-01", path ? path : "");
        return NULL;
    }
    parts = g_strsplit(path, "/", -1);
    for (guint i = 0; parts[i]; i++) {
        g_autofree char *decoded = NULL;
        if (!*parts[i])
            continue;   /* leading, trailing or doubled '/' */
        if (g_str_equal(parts[i], ".") || g_str_equal(parts[i], "..")) {
            g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "'%s': '.' and '..' are not understood in paths", path);
            return NULL;
        }
        decoded = g_uri_unescape_string(parts[i], NULL);
        g_ptr_array_add(out, g_strdup(decoded ? decoded : parts[i]));
    }
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(g_steal_pointer(&out), FALSE);
}

char *
cli_inv_path_join(const char *parent, const char *name)
{
    GString *out = g_string_new(parent);

    if (!out->len || out->str[out->len - 1] != '/')
        g_string_append_c(out, '/');
    for (const char *c = name; *c; c++) {
        if (*c == '/')
            g_string_append(out, "%2f");
        else if (*c == '%')
            g_string_append(out, "%25");
        else
            g_string_append_c(out, *c);
    }
    return g_string_free(out, FALSE);
}

/* ---- asking the lister ---- */

static JsonNode *
inv_get(const CliInvLister *lister, const char *path, const char *const *query, JsonNodeType type, GError **error)
{
    g_autoptr(JsonNode) answer = lister->get(lister->data, path, query, error);

    if (!answer)
        return NULL;
    if (JSON_NODE_TYPE(answer) != type) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_UNEXPECTED_INPUT, "the server answered %s with %s",
                    path, type == JSON_NODE_ARRAY ? "something other than a list" : "something other than an object");
        return NULL;
    }
    return g_steal_pointer(&answer);
}

static JsonNode *
inv_detail(const CliInvLister *lister, CliInvKind kind, const char *id, GError **error)
{
    g_autofree char *segment = api_client_escape_segment(id);
    g_autofree char *path = g_strdup_printf("%s/%s", inv_kinds[kind].collection, segment);

    return inv_get(lister, path, NULL, JSON_NODE_OBJECT, error);
}

/* Appends the objects of one list request to out, skipping ids in skip. */
static gboolean
inv_append_list(const CliInvLister *lister, CliInvKind kind, const char *const *query,
                const CliInvObject *parent, GHashTable *skip, GPtrArray *out, GError **error)
{
    g_autoptr(JsonNode) list = inv_get(lister, inv_kinds[kind].collection, query, JSON_NODE_ARRAY, error);
    JsonArray *items = list ? json_node_get_array(list) : NULL;

    if (!list)
        return FALSE;
    for (guint i = 0; i < json_array_get_length(items); i++) {
        JsonNode *item = json_array_get_element(items, i);
        JsonObject *o = JSON_NODE_HOLDS_OBJECT(item) ? json_node_get_object(item) : NULL;
        const char *id = cli_json_str(o, inv_kinds[kind].id_member);
        CliInvObject *child;

        if (!id || !cli_json_str(o, "name") || (skip && g_hash_table_contains(skip, id)))
            continue;
        child = inv_object_new(kind, id, cli_json_str(o, "name"), parent ? parent->path : NULL);
        if (inv_kinds[kind].state_member)
            child->state = g_strdup(cli_json_str(o, inv_kinds[kind].state_member));
        if (kind == CLI_INV_FOLDER)
            child->folder_type = g_strdup(cli_json_str(o, "type"));
        child->datacenter = g_strdup(parent ? parent->datacenter : NULL);
        g_ptr_array_add(out, child);
    }
    return TRUE;
}

/* ---- children of each kind of object ---- */

static gboolean
inv_datacenter_children(const CliInvLister *lister, const CliInvObject *dc, GPtrArray *out, GError **error)
{
    static const struct {
        const char *name, *member, *type;
    } folders[] = {
        { "vm", "vm_folder", "VIRTUAL_MACHINE" }, { "host", "host_folder", "HOST" },
        { "datastore", "datastore_folder", "DATASTORE" }, { "network", "network_folder", "NETWORK" },
    };
    g_autoptr(JsonNode) info = inv_detail(lister, CLI_INV_DATACENTER, dc->id, error);

    if (!info)
        return FALSE;
    for (guint i = 0; i < G_N_ELEMENTS(folders); i++) {
        const char *id = cli_json_str(json_node_get_object(info), folders[i].member);
        CliInvObject *child;
        if (!id)
            continue;
        child = inv_object_new(CLI_INV_FOLDER, id, folders[i].name, dc->path);
        child->folder_type = g_strdup(folders[i].type);
        child->datacenter = g_strdup(dc->id);
        child->dc_top = TRUE;
        g_ptr_array_add(out, child);
    }
    return TRUE;
}

/* The hosts of the clusters among objs: a host folder's list of hosts may
 * include clustered hosts, which `ls` shows under their cluster only. */
static GHashTable *
inv_clustered_hosts(const CliInvLister *lister, GPtrArray *objs, GError **error)
{
    g_autoptr(GHashTable) ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GPtrArray) query = g_ptr_array_new();
    g_autoptr(GPtrArray) hosts = g_ptr_array_new_with_free_func((GDestroyNotify)cli_inv_object_free);

    for (guint i = 0; i < objs->len; i++) {
        CliInvObject *o = g_ptr_array_index(objs, i);
        if (o->kind == CLI_INV_CLUSTER) {
            g_ptr_array_add(query, (gpointer) "clusters");
            g_ptr_array_add(query, o->id);
        }
    }
    if (!query->len)
        return g_steal_pointer(&ids);
    g_ptr_array_add(query, NULL);
    if (!inv_append_list(lister, CLI_INV_HOST, (const char *const *)query->pdata, NULL, NULL, hosts, error))
        return NULL;
    for (guint i = 0; i < hosts->len; i++)
        g_hash_table_add(ids, g_strdup(((CliInvObject *)g_ptr_array_index(hosts, i))->id));
    return g_steal_pointer(&ids);
}

static gboolean
inv_host_folder_children(const CliInvLister *lister, const CliInvObject *f, GPtrArray *out, GError **error)
{
    const char *by_folder[] = { "folders", f->id, NULL };
    g_autoptr(GHashTable) clustered = NULL;

    if (!inv_append_list(lister, CLI_INV_CLUSTER, by_folder, f, NULL, out, error) ||
        !(clustered = inv_clustered_hosts(lister, out, error)))
        return FALSE;
    return inv_append_list(lister, CLI_INV_HOST, by_folder, f, clustered, out, error);
}

static gboolean
inv_folder_children(const CliInvLister *lister, const CliInvObject *f, GPtrArray *out, GError **error)
{
    const char *subfolders[] = { "parent_folders", f->id, NULL };
    const char *by_folder[] = { "folders", f->id, NULL };
    const char *by_dc[] = { "datacenters", f->datacenter, NULL };
    const char *type = f->folder_type ? f->folder_type : "";

    if (!inv_append_list(lister, CLI_INV_FOLDER, subfolders, f, NULL, out, error))
        return FALSE;
    if (g_str_equal(type, "DATACENTER"))
        return inv_append_list(lister, CLI_INV_DATACENTER, by_folder, f, NULL, out, error);
    if (g_str_equal(type, "VIRTUAL_MACHINE"))
        return inv_append_list(lister, CLI_INV_VM, by_folder, f, NULL, out, error);
    if (g_str_equal(type, "HOST"))
        return inv_host_folder_children(lister, f, out, error);
    /* Datastores and networks have no folder filter in the API: they are
     * shown in their datacenter's own folder. */
    if (g_str_equal(type, "DATASTORE") && f->dc_top && f->datacenter)
        return inv_append_list(lister, CLI_INV_DATASTORE, by_dc, f, NULL, out, error);
    if (g_str_equal(type, "NETWORK") && f->dc_top && f->datacenter)
        return inv_append_list(lister, CLI_INV_NETWORK, by_dc, f, NULL, out, error);
    return TRUE;
}

static gboolean
inv_cluster_children(const CliInvLister *lister, const CliInvObject *c, GPtrArray *out, GError **error)
{
    const char *by_cluster[] = { "clusters", c->id, NULL };
    g_autoptr(JsonNode) info = inv_detail(lister, CLI_INV_CLUSTER, c->id, error);
    const char *pool = info ? cli_json_str(json_node_get_object(info), "resource_pool") : NULL;

    if (!info || !inv_append_list(lister, CLI_INV_HOST, by_cluster, c, NULL, out, error))
        return FALSE;
    if (pool) {
        CliInvObject *rp = inv_object_new(CLI_INV_RESOURCE_POOL, pool, "Resources", c->path);
        rp->datacenter = g_strdup(c->datacenter);
        g_ptr_array_add(out, rp);
    }
    return TRUE;
}

static gboolean
inv_pool_children(const CliInvLister *lister, const CliInvObject *rp, GPtrArray *out, GError **error)
{
    const char *by_pool[] = { "resource_pools", rp->id, NULL };
    g_autoptr(JsonNode) info = inv_detail(lister, CLI_INV_RESOURCE_POOL, rp->id, error);
    JsonNode *pools = info ? json_object_get_member(json_node_get_object(info), "resource_pools") : NULL;
    JsonArray *ids = pools && JSON_NODE_HOLDS_ARRAY(pools) ? json_node_get_array(pools) : NULL;

    if (!info)
        return FALSE;
    for (guint i = 0; ids && i < json_array_get_length(ids); i++) {
        JsonNode *e = json_array_get_element(ids, i);
        const char *id = JSON_NODE_HOLDS_VALUE(e) ? json_node_get_string(e) : NULL;
        g_autoptr(JsonNode) sub = id ? inv_detail(lister, CLI_INV_RESOURCE_POOL, id, error) : NULL;
        CliInvObject *child;
        if (id && !sub)
            return FALSE;
        if (!id || !cli_json_str(json_node_get_object(sub), "name"))
            continue;
        child = inv_object_new(CLI_INV_RESOURCE_POOL, id, cli_json_str(json_node_get_object(sub), "name"), rp->path);
        child->datacenter = g_strdup(rp->datacenter);
        g_ptr_array_add(out, child);
    }
    return inv_append_list(lister, CLI_INV_VM, by_pool, rp, NULL, out, error);
}

GPtrArray *
cli_inv_children(const CliInvLister *lister, const CliInvObject *obj, GError **error)
{
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)cli_inv_object_free);
    gboolean ok = TRUE;

    switch (obj->kind) {
    case CLI_INV_FOLDER:
        ok = inv_folder_children(lister, obj, out, error);
        break;
    case CLI_INV_DATACENTER:
        ok = inv_datacenter_children(lister, obj, out, error);
        break;
    case CLI_INV_CLUSTER:
        ok = inv_cluster_children(lister, obj, out, error);
        break;
    case CLI_INV_RESOURCE_POOL:
        ok = inv_pool_children(lister, obj, out, error);
        break;
    default:
        break;
    }
    return ok ? g_steal_pointer(&out) : NULL;
}

/* ---- resolution ---- */

static char *
inv_ids_text(GPtrArray *objs)
{
    GString *out = g_string_new(NULL);

    for (guint i = 0; i < objs->len; i++)
        g_string_append_printf(out, "%s%s", i ? ", " : "", ((CliInvObject *)g_ptr_array_index(objs, i))->id);
    return g_string_free(out, FALSE);
}

/* The child of parent named name, taken out of its list. */
static CliInvObject *
inv_child_named(const CliInvLister *lister, const CliInvObject *parent, const char *name, GError **error)
{
    g_autoptr(GPtrArray) children = cli_inv_children(lister, parent, error);
    g_autoptr(GPtrArray) found = g_ptr_array_new();

    if (!children)
        return NULL;
    for (guint i = 0; i < children->len; i++) {
        CliInvObject *c = g_ptr_array_index(children, i);
        if (g_strcmp0(c->name, name) == 0)
            g_ptr_array_add(found, c);
    }
    if (found->len > 1) {
        g_autofree char *ids = inv_ids_text(found);
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "%u objects are named '%s' in %s (%s): give an id instead", found->len, name, parent->path, ids);
        return NULL;
    }
    if (!found->len) {
        if (parent->kind == CLI_INV_FOLDER || parent->kind == CLI_INV_DATACENTER ||
            parent->kind == CLI_INV_CLUSTER || parent->kind == CLI_INV_RESOURCE_POOL)
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "%s has nothing named '%s' (see `vireo ls %s`)",
                        parent->path, name, parent->path);
        else
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "%s is a %s: it holds nothing named '%s'",
                        parent->path, cli_inv_kind_name(parent->kind), name);
        return NULL;
    }
    g_ptr_array_set_free_func(children, NULL);
    for (guint i = 0; i < children->len; i++) {
        if (g_ptr_array_index(children, i) != g_ptr_array_index(found, 0))
            cli_inv_object_free(g_ptr_array_index(children, i));
    }
    return g_ptr_array_index(found, 0);
}

CliInvObject *
cli_inv_resolve_path(const CliInvLister *lister, const char *path, GError **error)
{
    g_auto(GStrv) parts = cli_inv_path_split(path, error);
    g_autoptr(CliInvObject) cur = NULL;

    if (!parts)
        return NULL;
    cur = inv_root();
    for (guint i = 0; parts[i]; i++) {
        CliInvObject *next = inv_child_named(lister, cur, parts[i], error);
        if (!next)
            return NULL;
        if (next->kind == CLI_INV_DATACENTER) {
            g_free(next->datacenter);
            next->datacenter = g_strdup(next->id);
        }
        cli_inv_object_free(cur);
        cur = next;
    }
    return g_steal_pointer(&cur);
}

/* Objects of one kind named name (the server's ?names= filter, checked here). */
static gboolean
inv_find_named(const CliInvLister *lister, CliInvKind kind, const char *folder_type, const char *name,
               GPtrArray *out, GError **error)
{
    const char *query[] = { "names", name, folder_type ? "type" : NULL, folder_type, NULL };
    g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func((GDestroyNotify)cli_inv_object_free);

    if (!inv_append_list(lister, kind, query, NULL, NULL, all, error))
        return FALSE;
    for (guint i = 0; i < all->len; i++) {
        CliInvObject *o = g_ptr_array_index(all, i);
        if (g_strcmp0(o->name, name) == 0 && (!folder_type || g_strcmp0(o->folder_type, folder_type) == 0))
            g_ptr_array_add(out, g_ptr_array_steal_index(all, i--));
    }
    return TRUE;
}

static CliInvObject *
inv_only_match(GPtrArray *found, const char *what, const char *name, GError **error)
{
    g_autofree char *ids = NULL;

    if (found->len == 1)
        return g_ptr_array_steal_index(found, 0);
    if (!found->len) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "no %s is named '%s'", what, name);
        return NULL;
    }
    ids = inv_ids_text(found);
    g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                "%u objects named '%s' match (%s): give a path (see `vireo ls`) or one of these ids",
                found->len, name, ids);
    return NULL;
}

static gboolean
inv_check_kind(const CliInvObject *obj, CliInvKind want, const char *folder_type, const char *text, GError **error)
{
    if (obj->kind != want) {
        g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "'%s' is a %s, not a %s", text,
                    cli_inv_kind_name(obj->kind), cli_inv_kind_name(want));
        return FALSE;
    }
    if (folder_type && obj->folder_type && g_strcmp0(obj->folder_type, folder_type) != 0) {
        g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "'%s' is a %s folder, not a %s folder", text,
                    obj->folder_type, folder_type);
        return FALSE;
    }
    return TRUE;
}

CliInvObject *
cli_inv_resolve(const CliInvLister *lister, CliInvKind want, const char *folder_type,
                const char *text, GError **error)
{
    g_autoptr(CliInvObject) obj = NULL;
    g_autoptr(GPtrArray) found = NULL;
    CliInvKind kind;

    if (text && text[0] == '/') {
        obj = cli_inv_resolve_path(lister, text, error);
        return obj && inv_check_kind(obj, want, folder_type, text, error) ? g_steal_pointer(&obj) : NULL;
    }
    if (cli_inv_kind_of_id(text, &kind)) {
        obj = inv_object_new(kind, text, NULL, NULL);
        return inv_check_kind(obj, want, NULL, text, error) ? g_steal_pointer(&obj) : NULL;
    }
    found = g_ptr_array_new_with_free_func((GDestroyNotify)cli_inv_object_free);
    if (!inv_find_named(lister, want, folder_type, text, found, error))
        return NULL;
    return inv_only_match(found, cli_inv_kind_name(want), text, error);
}

CliInvObject *
cli_inv_resolve_any(const CliInvLister *lister, const char *text, GError **error)
{
    g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func((GDestroyNotify)cli_inv_object_free);
    CliInvKind kind;

    if (text && text[0] == '/')
        return cli_inv_resolve_path(lister, text, error);
    if (cli_inv_kind_of_id(text, &kind))
        return inv_object_new(kind, text, NULL, NULL);
    for (int k = 0; k < CLI_INV_N_KINDS; k++) {
        if (!inv_find_named(lister, (CliInvKind)k, NULL, text, found, error))
            return NULL;
    }
    return inv_only_match(found, "object", text, error);
}
