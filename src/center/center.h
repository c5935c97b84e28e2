/* center.h — the state of one vireo-centerd: its configuration, store,
 * host links and the operations running on VMs. One Center per process,
 * owned by center-main.c; the API handlers borrow it.
 */
#pragma once

#include <glib.h>
#include "api-server.h"
#include "authz.h"
#include "host-link.h"
#include "store.h"
#include "vireo-error.h"

G_BEGIN_DECLS

typedef struct {
    char *name;
    char *listen_address;
    guint port;
    char *state_dir;
    char *admin_user;           /* the first administrator, made at first start */
    char *admin_password_hash;
    guint heartbeat_ms;         /* host heartbeat interval */
    guint heartbeat_misses;
    guint reconcile_seconds;    /* how often every host's inventory is read again */
} CenterConfig;

void center_config_free(CenterConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CenterConfig, center_config_free)
/* [center] name, listen, port, state_dir, heartbeat_ms, heartbeat_misses;
 * reconcile_seconds; [admin] user, password_hash. */
CenterConfig *center_config_load(const char *path, GError **error);

typedef struct {
    CenterConfig *config;
    Store *store;
    char *thumbprint;
    GHashTable *links;          /* host id -> HostLink* (owned) */
    GHashTable *vm_locks;       /* vm id -> task id holding it (owned strings) */
    /* Permissions, roles and users read once and reused until a change to
     * any of them (center_security_changed) — a list of 10,000 VMs checks
     * each one. */
    GPtrArray *cached_permissions;  /* StorePermission* */
    GPtrArray *cached_roles;        /* StoreRole* */
    GHashTable *cached_groups;      /* user -> GStrv of groups */
    struct CenterMigrations *migrations; /* slots and queue of vMotions (center-migrate.c) */
} Center;

/* Drops the cached security data: call after changing users, roles or
 * permissions. */
void center_security_changed(Center *center);

/* ---- authorization (center-authz.c) ---- */

/* Whether user may do privilege on object. */
gboolean center_allowed(Center *center, const char *user, const char *object,
                        const char *privilege);
gboolean center_can_see(Center *center, const char *user, const char *object);
/* The same for an object of a list: the ancestors of each parent are read
 * once per list (parent_chains: parent id -> GPtrArray, made with
 * g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_ptr_array_unref)). */
gboolean center_can_see_listed(Center *center, const char *user, const StoreObject *obj,
                               GHashTable *parent_chains);
/* Answers 403 (or 404 when the user cannot see the object) and returns
 * FALSE when user lacks privilege on object. */
gboolean center_authorize(Center *center, ApiRequest *request, const char *object,
                          const char *privilege);

/* ---- tasks and per-VM locks (center-tasks.c) ---- */

typedef struct CenterTask CenterTask;

/* Starts a task for request (RUNNING). When the request asked for
 * vmw-task=true the request is answered 202 with the task id now; else the
 * answer waits for center_task_succeed/fail. */
CenterTask *center_task_begin(Center *center, ApiRequest *request, const char *operation,
                              const char *target_type, const char *target_id);
const char *center_task_id(CenterTask *task);
void center_task_progress(CenterTask *task, int percent, const char *message);
/* status: the HTTP status for a synchronous answer (204 with result NULL). */
void center_task_succeed(CenterTask *task, guint status, JsonNode *result);
void center_task_fail(CenterTask *task, const GError *error);

/* One operation per VM: FALSE + 409 answered when another task holds it. */
gboolean center_vm_lock(Center *center, ApiRequest *request, const char *vm,
                        CenterTask *task);
/* Records which task holds a VM locked with task NULL. */
void center_vm_lock_set_task(Center *center, const char *vm, CenterTask *task);
void center_vm_unlock(Center *center, const char *vm);

/* An event in the log. */
void center_event(Center *center, const char *user, const char *object, const char *type,
                  gboolean error, const char *task, const char *format, ...) G_GNUC_PRINTF(7, 8);

/* ---- hosts (center-hosts.c) ---- */

HostLink *center_host_link(Center *center, const char *host, GError **error);
/* Opens (and keeps) the link of a host object from the credentials stored in
 * its attributes: address, port, user_name, password, thumbprint. */
HostLink *center_host_link_open(Center *center, const StoreObject *host_obj);
/* Re-creates the links of every host in the store (start-up). */
void center_hosts_start(Center *center);
/* Reads every connected host's inventory again and reconciles (periodic). */
void center_hosts_reconcile_all(Center *center);
/* Applies a snapshot to the inventory (import or reconcile). */
void center_hosts_apply_snapshot(Center *center, const char *host, HostSnapshot *snap);

/* ---- API (api-*.c) ---- */

void center_api_inventory_register(ApiServer *server, Center *center);
void center_api_hosts_register(ApiServer *server, Center *center);
void center_api_vm_register(ApiServer *server, Center *center);
void center_api_vm_create_register(ApiServer *server, Center *center);
void center_api_admin_register(ApiServer *server, Center *center);
/* POST /api/vcenter/vm/{vm}?action=relocate (api-migrate.c). */
void center_api_migrate_register(ApiServer *server, Center *center);

/* Helpers shared by handlers. */
void center_reply_error(ApiRequest *request, VireoErrorCode code, const char *format, ...)
    G_GNUC_PRINTF(3, 4);
/* The object named by the path parameter param, of kind; NULL + 404 answered. */
StoreObject *center_lookup(Center *center, ApiRequest *request, const char *param,
                           const char *kind);
/* A JSON array node of strings. */
JsonNode *center_string_array(GPtrArray *strings);

G_END_DECLS
