/* store.h — the persistent state of vireo-centerd: the inventory (objects and
 * their hierarchy, host/datastore/network relations), tasks, events, users,
 * roles and permissions. The centre calls only the store_* functions below;
 * they dispatch to a backend (SQLite today, PostgreSQL possible later).
 *
 * Durability: a write is on disk when its call returns (one transaction per
 * call, or per store_transaction_begin/commit block). Every function that can
 * fail takes GError **error last, with VIREO_ERROR codes: NOT_FOUND,
 * ALREADY_EXISTS, INVALID_ARGUMENT (bad name, kind, parent, JSON),
 * RESOURCE_IN_USE (deleting something still used or not empty),
 * NOT_ALLOWED_IN_CURRENT_STATE (changing a built-in role, finishing a
 * finished task), ERROR (the database failed; the message names why).
 *
 * Threads: a Store may be used from several threads; calls are serialised.
 * A transaction block belongs to the thread that began it.
 *
 * Ownership: every returned struct, string and array belongs to the caller;
 * arrays free their elements (g_ptr_array_unref).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct Store Store;

/* ---- Opening ----------------------------------------------------------- */

/* Opens (creating if missing) the SQLite database at path and brings its
 * schema up to date. Refuses a database written by a newer vireo-centerd. */
Store *store_open_sqlite(const char *path, GError **error);
void store_close(Store *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Store, store_close)

/* The schema version of the open database. */
int store_schema_version(Store *store);
/* Checks the database's structure (PRAGMA integrity_check and foreign keys). */
gboolean store_integrity_check(Store *store, GError **error);

/* Groups several calls into one atomic, durable transaction. Calls made
 * inside it are atomic each (savepoints) and become durable at commit.
 * Blocks nest: only the outermost commit writes. */
gboolean store_transaction_begin(Store *store, GError **error);
gboolean store_transaction_commit(Store *store, GError **error);
void store_transaction_rollback(Store *store);

/* ---- Objects ----------------------------------------------------------- */

/* Object kinds and the prefix of their ids (one counter for all kinds):
 *   datacenter     datacenter-N   parent: a DATACENTER folder
 *   folder         group-dN (DATACENTER), group-vN (VIRTUAL_MACHINE),
 *                  group-hN (HOST), group-sN (DATASTORE), group-nN (NETWORK)
 *                  parent: a folder of the same type, or a datacenter (its
 *                  four root folders)
 *   cluster        domain-cN      parent: a HOST folder
 *   host           host-N         parent: a HOST folder (standalone) or a cluster
 *   datastore      datastore-N    parent: a DATASTORE folder
 *   network        network-N      parent: a NETWORK folder
 *   resource_pool  resgroup-N     parent: a cluster, a standalone host or a pool
 *   vm             vm-N           parent: a VIRTUAL_MACHINE folder (templates too)
 * The root folder "group-d1" (type DATACENTER) exists from the start.
 *
 * Made with their parent, in the same transaction, and flagged `system`:
 * a datacenter's folders "vm", "host", "datastore", "network"; the root
 * resource pool "Resources" of a cluster and of a standalone host. */
#define STORE_ROOT_FOLDER "group-d1"

#define STORE_KIND_DATACENTER "datacenter"
#define STORE_KIND_FOLDER "folder"
#define STORE_KIND_CLUSTER "cluster"
#define STORE_KIND_HOST "host"
#define STORE_KIND_DATASTORE "datastore"
#define STORE_KIND_NETWORK "network"
#define STORE_KIND_RESOURCE_POOL "resource_pool"
#define STORE_KIND_VM "vm"

/* Folder types (attribute "folder_type" of a folder). */
#define STORE_FOLDER_DATACENTER "DATACENTER"
#define STORE_FOLDER_VM "VIRTUAL_MACHINE"
#define STORE_FOLDER_HOST "HOST"
#define STORE_FOLDER_DATASTORE "DATASTORE"
#define STORE_FOLDER_NETWORK "NETWORK"

/* Attribute names the store itself reads (others are free-form JSON). */
#define STORE_ATTR_FOLDER_TYPE "folder_type"
#define STORE_ATTR_DATASTORE_UUID "uuid"      /* datastore: its .vireo-datastore uuid */
#define STORE_ATTR_VM_HOST "host"             /* vm: host-N it is registered on */
#define STORE_ATTR_VM_HOST_REF "host_vm_id"   /* vm: its id on that host */
#define STORE_ATTR_VM_DATASTORE "datastore"   /* vm: datastore-N of its files */
#define STORE_ATTR_VM_RESOURCE_POOL "resource_pool"
#define STORE_ATTR_VM_VMX_PATH "vmx_path"
#define STORE_ATTR_VM_TEMPLATE "template"     /* vm: true for a template */

typedef struct {
    char *id;           /* "vm-42" */
    char *kind;         /* STORE_KIND_* */
    char *name;
    char *parent;       /* NULL only for the root folder */
    char *datacenter;   /* the datacenter it is in (its own id for a
                         * datacenter); NULL above datacenters */
    char *attrs_json;   /* a JSON object, "{}" when empty */
    gboolean system;    /* made by the store with its parent; removed with it */
    gint64 created_us;  /* wall clock, µs since the epoch */
    gint64 modified_us;
} StoreObject;

void store_object_free(StoreObject *obj);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(StoreObject, store_object_free)

/* Reads a top-level attribute of attrs_json; NULL/def when absent or of
 * another type. */
char *store_object_attr_string(const StoreObject *obj, const char *key);
gint64 store_object_attr_int(const StoreObject *obj, const char *key, gint64 def);
gboolean store_object_attr_bool(const StoreObject *obj, const char *key, gboolean def);

/* Creates an object under parent and returns its new id in *out_id. The
 * datacenter is the parent's. attrs_json: a JSON object or NULL ("{}"); a
 * folder without "folder_type" takes its parent's type. Names: valid UTF-8,
 * 1-255 bytes; unique per datacenter for hosts, datastores and networks,
 * among siblings of the same kind for everything else (ALREADY_EXISTS). */
gboolean store_object_create(Store *store, const char *kind, const char *name,
                             const char *parent, const char *attrs_json,
                             char **out_id, GError **error);
StoreObject *store_object_get(Store *store, const char *id, GError **error);

/* NULL fields match anything. attr_name/attr_value match a top-level string
 * attribute (e.g. vms with "host" = "host-10"); attr_name alone matches
 * objects that have that attribute as a string. */
typedef struct {
    const char *kind;
    const char *parent;
    const char *datacenter;
    const char *name;
    const char *attr_name;
    const char *attr_value;
} StoreObjectFilter;

/* Objects matching filter (NULL: all), in creation order. */
GPtrArray *store_object_list(Store *store, const StoreObjectFilter *filter, GError **error);
/* Direct children of id, of kind (NULL: any), in creation order. */
GPtrArray *store_object_children(Store *store, const char *id, const char *kind, GError **error);
/* Ids from id itself up to group-d1, both included (array of char *). */
GPtrArray *store_object_ancestors(Store *store, const char *id, GError **error);

gboolean store_object_rename(Store *store, const char *id, const char *name, GError **error);
/* Moves id under new_parent (same rules as create; not into itself or below). */
gboolean store_object_move(Store *store, const char *id, const char *new_parent, GError **error);
/* merge: RFC 7396 merge patch (a null value removes a key); otherwise the
 * attributes are replaced by attrs_json. */
gboolean store_object_set_attrs(Store *store, const char *id, const char *attrs_json,
                                gboolean merge, GError **error);
/* Deletes id. Without recursive, refuses (RESOURCE_IN_USE) when it has
 * children other than its empty system ones (a datacenter's folders, a
 * cluster's root pool). Relations and permissions on deleted objects go too;
 * the root folder cannot be deleted. */
gboolean store_object_delete(Store *store, const char *id, gboolean recursive, GError **error);

/* The id of a datacenter's root folder of a type (STORE_FOLDER_VM, …). */
char *store_datacenter_folder(Store *store, const char *datacenter, const char *folder_type,
                              GError **error);
/* The root resource pool of a cluster or standalone host. */
char *store_root_resource_pool(Store *store, const char *cluster_or_host, GError **error);

/* ---- Relations --------------------------------------------------------- */

/* A datastore mounted on a host. */
typedef struct {
    char *host;
    char *datastore;
    char *path;         /* where the host mounts it */
    gboolean accessible;
} StoreMount;

void store_mount_free(StoreMount *mount);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(StoreMount, store_mount_free)

/* Adds or updates the mount of datastore on host. */
gboolean store_mount_set(Store *store, const char *host, const char *datastore,
                         const char *path, gboolean accessible, GError **error);
gboolean store_mount_remove(Store *store, const char *host, const char *datastore, GError **error);
/* Mounts of host and/or datastore (NULL: any), ordered by host then datastore. */
GPtrArray *store_mount_list(Store *store, const char *host, const char *datastore, GError **error);

/* A network (port group) present on a host. */
gboolean store_host_network_add(Store *store, const char *host, const char *network, GError **error);
gboolean store_host_network_remove(Store *store, const char *host, const char *network, GError **error);
/* Ids of the networks of host, or of the hosts of network (the other NULL). */
GPtrArray *store_host_network_list(Store *store, const char *host, const char *network,
                                   GError **error);

/* Lookups; NOT_FOUND when there is none. */
char *store_datastore_find_by_uuid(Store *store, const char *uuid, GError **error);
char *store_network_find_by_name(Store *store, const char *datacenter, const char *name,
                                 GError **error);
char *store_vm_find_by_host_ref(Store *store, const char *host, const char *host_vm_id,
                                GError **error);

/* ---- Tasks ------------------------------------------------------------- */

/* A task's life:
 *
 *   PENDING --start--> RUNNING --finish--> SUCCEEDED | FAILED | CANCELED
 *      \___________________finish_______________/^
 *
 *   create             → store_task_create (PENDING, queued now)
 *   PENDING → RUNNING  → store_task_start (start time now)
 *   progress           → store_task_set_progress (PENDING or RUNNING)
 *   → finished         → store_task_finish (end time now); a finished task
 *                        never changes again (NOT_ALLOWED_IN_CURRENT_STATE)
 *   at start-up        → store_tasks_fail_unfinished
 */
typedef enum {
    STORE_TASK_PENDING,
    STORE_TASK_RUNNING,
    STORE_TASK_SUCCEEDED,
    STORE_TASK_FAILED,
    STORE_TASK_CANCELED,
    STORE_TASK_N_STATES
} StoreTaskState;

const char *store_task_state_to_string(StoreTaskState state);  /* "RUNNING" */
gboolean store_task_state_from_string(const char *s, StoreTaskState *out);
#define STORE_TASK_STATE_BIT(state) (1u << (state))

typedef struct {
    char *id;               /* "task-7" */
    char *operation;        /* "vm.power.start" */
    char *target_type;      /* "VirtualMachine" */
    char *target_id;        /* "vm-42", or NULL */
    char *user;
    StoreTaskState state;
    int progress;           /* 0-100 */
    char *progress_message;
    gint64 queued_us;
    gint64 start_us;        /* 0 until started */
    gint64 end_us;          /* 0 until finished */
    char *result_json;      /* JSON value or NULL */
    char *error_json;       /* the API's error object as JSON, or NULL */
} StoreTask;

void store_task_free(StoreTask *task);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(StoreTask, store_task_free)

/* Records a new PENDING task and returns its id ("task-N", never reused).
 * Keeps at most STORE_TASKS_KEPT finished tasks (the oldest go). */
#define STORE_TASKS_KEPT 10000
char *store_task_create(Store *store, const char *operation, const char *target_type,
                        const char *target_id, const char *user, GError **error);
gboolean store_task_start(Store *store, const char *id, GError **error);
gboolean store_task_set_progress(Store *store, const char *id, int progress,
                                 const char *message, GError **error);
/* state: SUCCEEDED, FAILED or CANCELED; result_json/error_json may be NULL. */
gboolean store_task_finish(Store *store, const char *id, StoreTaskState state,
                           const char *result_json, const char *error_json, GError **error);
StoreTask *store_task_get(Store *store, const char *id, GError **error);
/* Tasks whose state is in state_mask (STORE_TASK_STATE_BIT bits; 0: any) and
 * whose target is target_id (NULL: any), newest first. */
GPtrArray *store_task_list(Store *store, guint state_mask, const char *target_id, GError **error);
/* Marks every PENDING or RUNNING task FAILED with message (an error of type
 * ERROR); *out_count (may be NULL) tells how many. */
gboolean store_tasks_fail_unfinished(Store *store, const char *message, guint *out_count,
                                     GError **error);

/* ---- Events ------------------------------------------------------------ */

typedef struct {
    gint64 key;             /* increasing; set by the store */
    gint64 time_us;         /* 0 on append: now */
    char *user;
    char *object;           /* "vm-42" (kept after the object is deleted) */
    char *object_name;
    char *type;             /* "VmPoweredOnEvent" */
    char *message;
    gboolean error;         /* result: FALSE "success", TRUE "error" */
    char *task;             /* "task-7" or NULL */
} StoreEvent;

void store_event_free(StoreEvent *event);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(StoreEvent, store_event_free)

/* Appends event (its key and, if 0, time_us are ignored/filled) and returns
 * the new key, or -1 with error. The log keeps the newest
 * store_set_event_limit() events (default STORE_EVENTS_KEPT). */
#define STORE_EVENTS_KEPT 100000
gint64 store_event_append(Store *store, const StoreEvent *event, GError **error);
void store_set_event_limit(Store *store, guint max_events);

typedef struct {
    const char *object;     /* NULL: any */
    const char *user;       /* NULL: any */
    gint64 since_us;        /* 0: any; else events at or after this time */
    guint limit;            /* 0: no limit */
} StoreEventQuery;

/* Events matching query (NULL: all), newest first. */
GPtrArray *store_event_query(Store *store, const StoreEventQuery *query, GError **error);

/* ---- Users, roles, permissions ------------------------------------------ */

typedef struct {
    char *name;
    char *password_hash;    /* crypt(3) string from password.h */
    GStrv groups;           /* never NULL */
} StoreUser;

void store_user_free(StoreUser *user);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(StoreUser, store_user_free)

gboolean store_user_create(Store *store, const char *name, const char *password_hash,
                           const char *const *groups, GError **error);
StoreUser *store_user_get(Store *store, const char *name, GError **error);
GPtrArray *store_user_list(Store *store, GError **error);      /* by name */
gboolean store_user_set_password(Store *store, const char *name, const char *password_hash,
                                 GError **error);
gboolean store_user_set_groups(Store *store, const char *name, const char *const *groups,
                               GError **error);
/* Deletes the user and the permissions given to it as a user. */
gboolean store_user_delete(Store *store, const char *name, GError **error);
/* Names of the users in group, sorted. */
GStrv store_group_members(Store *store, const char *group, GError **error);

/* Built-in roles, made by the first migration; they cannot change. The
 * Administrator role holds every privilege, recorded as STORE_PRIVILEGE_ALL. */
#define STORE_ROLE_ADMIN "Administrator"
#define STORE_ROLE_READ_ONLY "ReadOnly"     /* System.Anonymous, System.Read, System.View */
#define STORE_ROLE_NO_ACCESS "NoAccess"     /* no privilege */
#define STORE_PRIVILEGE_ALL "*"

typedef struct {
    char *name;
    GStrv privileges;       /* sorted, never NULL */
    gboolean system;
} StoreRole;

void store_role_free(StoreRole *role);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(StoreRole, store_role_free)

gboolean store_role_create(Store *store, const char *name, const char *const *privileges,
                           GError **error);
StoreRole *store_role_get(Store *store, const char *name, GError **error);
GPtrArray *store_role_list(Store *store, GError **error);      /* by name */
/* new_name and/or privileges (NULL: unchanged). Not for system roles. */
gboolean store_role_update(Store *store, const char *name, const char *new_name,
                           const char *const *privileges, GError **error);
/* Not for system roles, nor a role that permissions use (RESOURCE_IN_USE). */
gboolean store_role_delete(Store *store, const char *name, GError **error);

typedef struct {
    char *object;           /* an object id */
    char *principal;        /* a user or group name */
    gboolean is_group;
    char *role;
    gboolean propagate;
} StorePermission;

void store_permission_free(StorePermission *perm);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(StorePermission, store_permission_free)

/* Adds, or replaces, the permission of (object, principal, is_group). The
 * object and role must exist (NOT_FOUND). */
gboolean store_permission_set(Store *store, const StorePermission *perm, GError **error);
gboolean store_permission_delete(Store *store, const char *object, const char *principal,
                                 gboolean is_group, GError **error);
/* Permissions on object and/or of principal (NULL: any), by object then principal. */
GPtrArray *store_permission_list(Store *store, const char *object, const char *principal,
                                 GError **error);

/* ---- For backends only -------------------------------------------------- */

/* A backend fills one of these; Store is its first member. The store_*
 * wrappers check arguments common to all backends and call through it. */
typedef struct {
    const char *name;
    void (*close)(Store *s);
    int (*schema_version)(Store *s);
    gboolean (*integrity_check)(Store *s, GError **error);
    gboolean (*tx_begin)(Store *s, GError **error);
    gboolean (*tx_commit)(Store *s, GError **error);
    void (*tx_rollback)(Store *s);

    gboolean (*object_create)(Store *s, const char *kind, const char *name, const char *parent,
                              const char *attrs_json, char **out_id, GError **error);
    StoreObject *(*object_get)(Store *s, const char *id, GError **error);
    GPtrArray *(*object_list)(Store *s, const StoreObjectFilter *f, GError **error);
    GPtrArray *(*object_ancestors)(Store *s, const char *id, GError **error);
    gboolean (*object_rename)(Store *s, const char *id, const char *name, GError **error);
    gboolean (*object_move)(Store *s, const char *id, const char *new_parent, GError **error);
    gboolean (*object_set_attrs)(Store *s, const char *id, const char *attrs_json,
                                 gboolean merge, GError **error);
    gboolean (*object_delete)(Store *s, const char *id, gboolean recursive, GError **error);

    gboolean (*mount_set)(Store *s, const char *host, const char *datastore, const char *path,
                          gboolean accessible, GError **error);
    gboolean (*mount_remove)(Store *s, const char *host, const char *datastore, GError **error);
    GPtrArray *(*mount_list)(Store *s, const char *host, const char *datastore, GError **error);
    gboolean (*host_network_add)(Store *s, const char *host, const char *network, GError **error);
    gboolean (*host_network_remove)(Store *s, const char *host, const char *network,
                                    GError **error);
    GPtrArray *(*host_network_list)(Store *s, const char *host, const char *network,
                                    GError **error);

    char *(*task_create)(Store *s, const char *operation, const char *target_type,
                         const char *target_id, const char *user, GError **error);
    gboolean (*task_start)(Store *s, const char *id, GError **error);
    gboolean (*task_set_progress)(Store *s, const char *id, int progress, const char *message,
                                  GError **error);
    gboolean (*task_finish)(Store *s, const char *id, StoreTaskState state,
                            const char *result_json, const char *error_json, GError **error);
    StoreTask *(*task_get)(Store *s, const char *id, GError **error);
    GPtrArray *(*task_list)(Store *s, guint state_mask, const char *target_id, GError **error);
    gboolean (*tasks_fail_unfinished)(Store *s, const char *message, guint *out_count,
                                      GError **error);

    gint64 (*event_append)(Store *s, const StoreEvent *event, GError **error);
    void (*set_event_limit)(Store *s, guint max_events);
    GPtrArray *(*event_query)(Store *s, const StoreEventQuery *q, GError **error);

    gboolean (*user_create)(Store *s, const char *name, const char *password_hash,
                            const char *const *groups, GError **error);
    StoreUser *(*user_get)(Store *s, const char *name, GError **error);
    GPtrArray *(*user_list)(Store *s, GError **error);
    gboolean (*user_set_password)(Store *s, const char *name, const char *password_hash,
                                  GError **error);
    gboolean (*user_set_groups)(Store *s, const char *name, const char *const *groups,
                                GError **error);
    gboolean (*user_delete)(Store *s, const char *name, GError **error);
    GStrv (*group_members)(Store *s, const char *group, GError **error);

    gboolean (*role_create)(Store *s, const char *name, const char *const *privileges,
                            GError **error);
    StoreRole *(*role_get)(Store *s, const char *name, GError **error);
    GPtrArray *(*role_list)(Store *s, GError **error);
    gboolean (*role_update)(Store *s, const char *name, const char *new_name,
                            const char *const *privileges, GError **error);
    gboolean (*role_delete)(Store *s, const char *name, GError **error);

    gboolean (*permission_set)(Store *s, const StorePermission *perm, GError **error);
    gboolean (*permission_delete)(Store *s, const char *object, const char *principal,
                                  gboolean is_group, GError **error);
    GPtrArray *(*permission_list)(Store *s, const char *object, const char *principal,
                                  GError **error);
} StoreBackend;

struct Store {
    const StoreBackend *backend;
};

G_END_DECLS
