/* inventory-path.h — govc-style inventory paths on vireo-centerd
 * (/dc1/host/cluster1/host-a, /dc1/vm/web-01) turned into object ids and back.
 *
 * Everything here asks the server only through a CliInvLister, a GET
 * function the caller supplies, so the walk is unit-tested against a fake
 * inventory with no server (tests/unit/test-cli-center.c).
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum {
    CLI_INV_FOLDER,
    CLI_INV_DATACENTER,
    CLI_INV_CLUSTER,
    CLI_INV_HOST,
    CLI_INV_VM,
    CLI_INV_DATASTORE,
    CLI_INV_NETWORK,
    CLI_INV_RESOURCE_POOL,
    CLI_INV_N_KINDS
} CliInvKind;

/* "folder", "datacenter", "cluster", "host", "vm", "datastore", "network",
 * "resource pool". */
const char *cli_inv_kind_name(CliInvKind kind);
/* "/api/vcenter/vm" ... : the list endpoint; GET <it>/<id> is the detail. */
const char *cli_inv_kind_collection(CliInvKind kind);
/* The kind an id has by its shape (vm-42, host-10, domain-c8, group-v4,
 * datastore-3, network-5, resgroup-9, datacenter-2); FALSE when none. */
gboolean cli_inv_kind_of_id(const char *text, CliInvKind *kind);

/* The root folder of a centre's inventory (vCenter's id for it). */
#define CLI_INV_ROOT_FOLDER "group-d1"

typedef struct {
    CliInvKind kind;
    char *id;
    char *name;          /* NULL when the object was given by id */
    char *path;          /* NULL when not reached through a path */
    char *folder_type;   /* folders: VIRTUAL_MACHINE, HOST, DATASTORE, NETWORK, DATACENTER */
    char *datacenter;    /* the datacenter's id, when the path went through one */
    char *state;         /* power state, connection state or type, for `ls -l` */
    gboolean dc_top;     /* one of a datacenter's four folders */
} CliInvObject;

void cli_inv_object_free(CliInvObject *obj);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CliInvObject, cli_inv_object_free)

/* GET path?query → the JSON answer (transfer full), or NULL and error. */
typedef JsonNode *(*CliInvGetFunc)(gpointer data, const char *path, const char *const *query, GError **error);
typedef struct {
    CliInvGetFunc get;
    gpointer data;
} CliInvLister;

/* "/dc1/vm/a%2fb" → {"dc1", "vm", "a/b"}; "/" → {}. A path must start with
 * '/'; "." and ".." are not understood. Usage error otherwise. */
char **cli_inv_path_split(const char *path, GError **error);
/* parent + "/" + name with '%' and '/' in the name escaped as %25 and %2f. */
char *cli_inv_path_join(const char *parent, const char *name);

/* The object a path names (NOT_FOUND naming the missing part; an ambiguous
 * component is INVALID_ARGUMENT listing the ids). */
CliInvObject *cli_inv_resolve_path(const CliInvLister *lister, const char *path, GError **error);
/* What `ls` shows under obj (CliInvObject*, owned by the array). Objects
 * that hold nothing (VMs, hosts, datastores, networks) have no children. */
GPtrArray *cli_inv_children(const CliInvLister *lister, const CliInvObject *obj, GError **error);

/* An object of kind `want` given as a path (starts with '/'), an id, or a
 * name that must be unique among objects of that kind. folder_type
 * (nullable) restricts folders to one type. Errors: NOT_FOUND; a name
 * several objects have is INVALID_ARGUMENT listing their ids; a path or id
 * of another kind is a usage error. */
CliInvObject *cli_inv_resolve(const CliInvLister *lister, CliInvKind want, const char *folder_type,
                              const char *text, GError **error);
/* Any kind: a path, an id, or a name unique across all kinds. */
CliInvObject *cli_inv_resolve_any(const CliInvLister *lister, const char *text, GError **error);

G_END_DECLS
