/* The authorization engine of vireo-centerd, as vCenter's: the privilege
 * catalogue, the built-in roles, the evaluation of permissions along an
 * object's ancestry, and the privileges each API request needs.
 * Pure code: plain structs in, plain results out; no I/O, clock or database. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* ---- Privileges (privileges.c) ---------------------------------------- */

typedef struct {
    const char *id;           /* vSphere's id: "VirtualMachine.Interact.PowerOn" */
    const char *description;  /* one line: what it allows */
} AuthzPrivilege;

/* The whole catalogue, sorted by id, terminated by an entry whose id is NULL. */
const AuthzPrivilege *authz_privileges(void);
/* The ids alone, sorted, NULL-terminated; static, do not free. */
const char *const *authz_privileges_all(void);
gboolean authz_privilege_known(const char *id);
/* NULL for an id not in the catalogue. */
const char *authz_privilege_description(const char *id);

/* Every role except NoAccess holds these three, as in vCenter: a role cannot
 * be made that lets its holder act on an object without seeing it. */
#define AUTHZ_PRIV_ANONYMOUS "System.Anonymous"
#define AUTHZ_PRIV_VIEW      "System.View"
#define AUTHZ_PRIV_READ      "System.Read"

/* ---- Roles (privileges.c) ----------------------------------------------- */

#define AUTHZ_ROLE_ADMINISTRATOR "Administrator"
#define AUTHZ_ROLE_READ_ONLY     "ReadOnly"
#define AUTHZ_ROLE_NO_ACCESS     "NoAccess"

typedef struct {
    const char *name;
    const char *const *privileges;  /* NULL-terminated; may be NULL (none) */
} AuthzRole;

/* Administrator (every privilege), ReadOnly (System.*), NoAccess (none, and
 * it denies). Static; *n_roles receives 3. */
const AuthzRole *authz_builtin_roles(gsize *n_roles);
gboolean authz_role_is_builtin(const char *name);

/* ---- Evaluation (authz.c) ----------------------------------------------- */

/* One permission: principal holds role on object (and, when propagate, on
 * everything below it). group: principal names a group, not a user. */
typedef struct {
    const char *object;
    const char *principal;
    gboolean group;
    const char *role;
    gboolean propagate;
} AuthzPermission;

typedef struct {
    /* Object id at which the decision was taken (the object itself or the
     * nearest ancestor with an applicable permission); NULL when no
     * permission applied anywhere (→ no access). */
    char *decided_on;
    /* The permissions that decided, borrowed from the caller's array: the
     * result must not outlive it. Empty when nothing applied. */
    GPtrArray *permissions;
    /* Role names of those permissions, sorted, without duplicates. */
    GStrv roles;
    /* TRUE when the decision is "no access": a NoAccess role (or a role name
     * that is not in the table) decided, or nothing applied. */
    gboolean no_access;
    /* The effective privilege ids (keys, owned; values unused). */
    GHashTable *privileges;
} AuthzResult;

void authz_result_free(AuthzResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AuthzResult, authz_result_free)

/* What user (a member of user_groups, NULL-terminated, may be NULL) may do on
 * ancestry[0], given ancestry = {object, parent, …, root folder, NULL}.
 *
 * vCenter's rules:
 *  - walk from the object up; at each level only the permissions set on that
 *    object count: all of them on the object itself, and on an ancestor only
 *    those with propagate;
 *  - the nearest level holding a permission that applies to the user
 *    (directly or through one of its groups) decides alone: a child's
 *    permission overrides its parents';
 *  - at that level, the user's own permissions override its groups'; the
 *    group permissions are otherwise combined (union of privileges), except
 *    that a NoAccess among them makes the result no access;
 *  - no applicable permission anywhere → no access;
 *  - a role name found neither in roles nor among the built-ins is taken as
 *    NoAccess (fail closed). Built-in names always mean the built-in roles,
 *    whatever roles holds. Privileges not in the catalogue are ignored.
 * Never returns NULL. */
AuthzResult *authz_evaluate(const char *const *ancestry,
                            const AuthzPermission *perms, gsize n_perms,
                            const AuthzRole *roles, gsize n_roles,
                            const char *user, const char *const *user_groups);

gboolean authz_allows(const AuthzResult *result, const char *privilege);
/* The object may be listed and read: System.Read or System.View. */
gboolean authz_can_see(const AuthzResult *result);
/* The effective privileges, sorted; free with g_strfreev. */
GStrv authz_result_privileges(const AuthzResult *result);

/* ---- Privileges per API request (privileges.c) ---------------------------- */

/* Which object's permissions decide a requirement. */
typedef enum {
    AUTHZ_TARGET_OBJECT,         /* the object the path names ({vm}, {host}, …;
                                  * for /api/cis/tasks/{task}, the task's target) */
    AUTHZ_TARGET_PARENT,         /* the folder (or cluster) holding that object */
    AUTHZ_TARGET_TARGET_FOLDER,  /* the folder a new object goes into (body) */
    AUTHZ_TARGET_DATASTORE,      /* the datastore the request names or uses */
    AUTHZ_TARGET_RESOURCE_POOL,  /* the pool a VM goes into (given, or the root
                                  * pool of the chosen cluster / host) */
    AUTHZ_TARGET_NETWORK,        /* each network the request names (none: no check) */
    AUTHZ_TARGET_CLUSTER,        /* the cluster the request names */
    AUTHZ_TARGET_NAMED_OBJECT,   /* the object in the body or ?object= (permissions) */
    AUTHZ_TARGET_ROOT,           /* the root folder: global settings, roles, users */
    AUTHZ_TARGET_EACH_LISTED,    /* a list: each item the user cannot see is left out */
    AUTHZ_TARGET_LAST
} AuthzTarget;

const char *authz_target_to_string(AuthzTarget target);

typedef struct {
    const char *method;     /* "GET", "POST", "PATCH", "DELETE" */
    const char *pattern;    /* "/api/vcenter/vm/{vm}/power" */
    /* The ?action= value, NULL for a request without one. A few requests need
     * other privileges depending on what their body or query asks; the caller
     * then passes the variant "with:<what>" instead: "with:cluster" (POST
     * /api/vcenter/host into a cluster), "with:existing" (POST …/hardware/disk
     * with an existing VMDK backing), "with:delete-file" (DELETE
     * …/hardware/disk/{disk}?delete_file=true), "with:other-user" (GET
     * /api/vireo/permissions/effective for a user other than the caller). */
    const char *action;
    const char *privilege;  /* NULL only in the terminating entry */
    AuthzTarget target;
} AuthzRequirement;

/* All the requirements of one request, terminated by an entry whose privilege
 * is NULL (a request that needs only a session has just the terminator).
 * Every requirement must hold. NULL when the request is not in the table:
 * the caller must refuse it (fail closed). pattern may name its {params}
 * differently from the table: any {…} segment matches any other. Static. */
const AuthzRequirement *authz_route_requirements(const char *method, const char *pattern,
                                                 const char *action);
/* The whole table, terminated by an entry whose method is NULL. */
const AuthzRequirement *authz_route_table(void);

G_END_DECLS
