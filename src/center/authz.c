/* Evaluation of vCenter-style permissions: given an object's ancestry, the
 * permissions, the roles, a user and its groups, which permissions decide and
 * what the user may do there. Pure: no I/O, no clock, no database. */
#include "authz.h"

#include <string.h>

void
authz_result_free(AuthzResult *result)
{
    if (!result)
        return;
    g_free(result->decided_on);
    g_ptr_array_unref(result->permissions);
    g_strfreev(result->roles);
    g_hash_table_unref(result->privileges);
    g_free(result);
}

/* Built-in names first: built-in roles cannot be redefined by the caller's
 * table (a stored row named "Administrator" with fewer privileges must not
 * shadow the real one, nor a "NoAccess" row gain privileges). */
static const AuthzRole *
role_lookup(const char *name, const AuthzRole *roles, gsize n_roles)
{
    gsize n_builtin = 0;
    const AuthzRole *builtin = authz_builtin_roles(&n_builtin);

    if (!name)
        return NULL;
    for (gsize i = 0; i < n_builtin; i++) {
        if (strcmp(builtin[i].name, name) == 0)
            return &builtin[i];
    }
    for (gsize i = 0; i < n_roles; i++) {
        if (g_strcmp0(roles[i].name, name) == 0)
            return &roles[i];
    }
    return NULL;
}

/* Does p, set on the object at this level, reach user? Permissions inherited
 * from an ancestor reach only when they propagate. */
static gboolean
permission_applies(const AuthzPermission *p, const char *object, gboolean inherited,
                   const char *user, const char *const *user_groups)
{
    if (!p->object || !p->principal || strcmp(p->object, object) != 0)
        return FALSE;
    if (inherited && !p->propagate)
        return FALSE;
    if (p->group)
        return user_groups && g_strv_contains(user_groups, p->principal);
    return user && strcmp(p->principal, user) == 0;
}

static void
add_role_privileges(GHashTable *privileges, const AuthzRole *role)
{
    static const char *const system_privileges[] = {
        AUTHZ_PRIV_ANONYMOUS, AUTHZ_PRIV_VIEW, AUTHZ_PRIV_READ,
    };

    /* vCenter puts System.Anonymous, .View and .Read in every role but
     * NoAccess: whoever may act on an object may see it. */
    for (gsize i = 0; i < G_N_ELEMENTS(system_privileges); i++)
        g_hash_table_add(privileges, g_strdup(system_privileges[i]));
    for (const char *const *p = role->privileges; p && *p; p++) {
        if (authz_privilege_known(*p))
            g_hash_table_add(privileges, g_strdup(*p));
    }
}

static int
compare_strings(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted, without duplicates; the strings are copied. */
static GStrv
sorted_unique(GPtrArray *names)
{
    g_autoptr(GStrvBuilder) builder = g_strv_builder_new();

    g_ptr_array_sort(names, compare_strings);
    for (guint i = 0; i < names->len; i++) {
        if (i == 0 || strcmp(names->pdata[i], names->pdata[i - 1]) != 0)
            g_strv_builder_add(builder, names->pdata[i]);
    }
    return g_strv_builder_end(builder);
}

/* The deciding level's permissions (all the user's own, or else all its
 * groups'): privileges are combined, but one NoAccess — or a role that does
 * not exist — denies everything. */
static void
decide(AuthzResult *result, GPtrArray *deciding, const AuthzRole *roles, gsize n_roles)
{
    g_autoptr(GPtrArray) role_names = g_ptr_array_new();
    gboolean denied = FALSE;

    for (guint i = 0; i < deciding->len; i++) {
        const AuthzPermission *p = deciding->pdata[i];
        const AuthzRole *role = role_lookup(p->role, roles, n_roles);

        g_ptr_array_add(result->permissions, (gpointer)p);
        g_ptr_array_add(role_names, (gpointer)(p->role ? p->role : ""));
        if (!role || strcmp(role->name, AUTHZ_ROLE_NO_ACCESS) == 0)
            denied = TRUE;
        else
            add_role_privileges(result->privileges, role);
    }
    g_strfreev(result->roles);
    result->roles = sorted_unique(role_names);
    result->no_access = denied;
    if (denied)
        g_hash_table_remove_all(result->privileges);
}

AuthzResult *
authz_evaluate(const char *const *ancestry,
               const AuthzPermission *perms, gsize n_perms,
               const AuthzRole *roles, gsize n_roles,
               const char *user, const char *const *user_groups)
{
    AuthzResult *result = g_new0(AuthzResult, 1);

    result->permissions = g_ptr_array_new();
    result->roles = g_new0(char *, 1);
    result->no_access = TRUE;
    result->privileges = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

    for (gsize level = 0; ancestry && ancestry[level]; level++) {
        g_autoptr(GPtrArray) own = g_ptr_array_new();
        g_autoptr(GPtrArray) groups = g_ptr_array_new();

        for (gsize i = 0; i < n_perms; i++) {
            const AuthzPermission *p = &perms[i];

            if (!permission_applies(p, ancestry[level], level > 0, user, user_groups))
                continue;
            g_ptr_array_add(p->group ? groups : own, (gpointer)p);
        }
        if (own->len == 0 && groups->len == 0)
            continue;  /* nothing here for this user: the parent may decide */
        decide(result, own->len > 0 ? own : groups, roles, n_roles);
        result->decided_on = g_strdup(ancestry[level]);
        break;
    }
    return result;
}

gboolean
authz_allows(const AuthzResult *result, const char *privilege)
{
    if (!result || !privilege || result->no_access)
        return FALSE;
    return g_hash_table_contains(result->privileges, privilege);
}

gboolean
authz_can_see(const AuthzResult *result)
{
    return authz_allows(result, AUTHZ_PRIV_READ) || authz_allows(result, AUTHZ_PRIV_VIEW);
}

GStrv
authz_result_privileges(const AuthzResult *result)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new();
    GHashTableIter iter;
    gpointer key;

    g_hash_table_iter_init(&iter, result->privileges);
    while (g_hash_table_iter_next(&iter, &key, NULL))
        g_ptr_array_add(names, key);
    return sorted_unique(names);
}
