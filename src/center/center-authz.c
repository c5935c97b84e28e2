/* center-authz.c — the store's permissions and roles, evaluated with
 * authz.c's rules for one user on one object. */
#include "center.h"
#include "vireo-error.h"

void
center_security_changed(Center *center)
{
    g_clear_pointer(&center->cached_permissions, g_ptr_array_unref);
    g_clear_pointer(&center->cached_roles, g_ptr_array_unref);
    g_clear_pointer(&center->cached_groups, g_hash_table_unref);
}

/* The groups of user (borrowed from the cache); NULL for an unknown user. */
static const char *const *
user_groups(Center *center, const char *user, gboolean *known)
{
    if (!center->cached_groups)
        center->cached_groups = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                                      (GDestroyNotify)g_strfreev);
    GStrv groups = NULL;
    if (g_hash_table_lookup_extended(center->cached_groups, user, NULL, (gpointer *)&groups)) {
        *known = groups != NULL;
        return (const char *const *)groups;
    }
    g_autoptr(StoreUser) u = store_user_get(center->store, user, NULL);
    groups = u ? g_strdupv(u->groups) : NULL;
    g_hash_table_insert(center->cached_groups, g_strdup(user), groups);
    *known = groups != NULL;
    return (const char *const *)groups;
}

static AuthzResult *evaluate_chain(Center *center, const char *user, GPtrArray *ancestors);

static AuthzResult *
evaluate(Center *center, const char *user, const char *object)
{
    g_autoptr(GPtrArray) ancestors = store_object_ancestors(center->store, object, NULL);
    return ancestors ? evaluate_chain(center, user, ancestors) : NULL;
}

gboolean
center_can_see_listed(Center *center, const char *user, const StoreObject *obj,
                      GHashTable *parent_chains)
{
    if (!obj->parent)
        return center_can_see(center, user, obj->id);
    GPtrArray *above = g_hash_table_lookup(parent_chains, obj->parent);
    if (!above) {
        above = store_object_ancestors(center->store, obj->parent, NULL);
        if (!above)
            return FALSE;
        g_hash_table_insert(parent_chains, g_strdup(obj->parent), above);
    }
    g_autoptr(GPtrArray) chain = g_ptr_array_new();
    g_ptr_array_add(chain, obj->id);
    for (guint i = 0; i < above->len; i++)
        g_ptr_array_add(chain, g_ptr_array_index(above, i));
    g_autoptr(AuthzResult) r = evaluate_chain(center, user, chain);
    return r && authz_can_see(r);
}

static AuthzResult *
evaluate_chain(Center *center, const char *user, GPtrArray *ancestors)
{
    g_autoptr(GPtrArray) chain = g_ptr_array_new();
    for (guint i = 0; i < ancestors->len; i++)
        g_ptr_array_add(chain, g_ptr_array_index(ancestors, i));
    g_ptr_array_add(chain, NULL);

    if (!center->cached_permissions)
        center->cached_permissions = store_permission_list(center->store, NULL, NULL, NULL);
    if (!center->cached_roles)
        center->cached_roles = store_role_list(center->store, NULL);
    GPtrArray *perms = center->cached_permissions, *roles = center->cached_roles;
    gboolean known = FALSE;
    const char *const *groups = user_groups(center, user, &known);
    if (!perms || !roles || !known)
        return NULL;
    g_autofree AuthzPermission *ap = g_new0(AuthzPermission, perms->len + 1);
    for (guint i = 0; i < perms->len; i++) {
        StorePermission *p = g_ptr_array_index(perms, i);
        ap[i] = (AuthzPermission){ p->object, p->principal, p->is_group, p->role, p->propagate };
    }
    g_autofree AuthzRole *ar = g_new0(AuthzRole, roles->len + 1);
    for (guint i = 0; i < roles->len; i++) {
        StoreRole *r = g_ptr_array_index(roles, i);
        ar[i] = (AuthzRole){ r->name, (const char *const *)r->privileges };
    }
    return authz_evaluate((const char *const *)chain->pdata, ap, perms->len, ar, roles->len,
                          user, groups);
}

gboolean
center_allowed(Center *center, const char *user, const char *object, const char *privilege)
{
    g_autoptr(AuthzResult) r = user && object ? evaluate(center, user, object) : NULL;
    return r && authz_allows(r, privilege);
}

gboolean
center_can_see(Center *center, const char *user, const char *object)
{
    g_autoptr(AuthzResult) r = user && object ? evaluate(center, user, object) : NULL;
    return r && authz_can_see(r);
}

gboolean
center_authorize(Center *center, ApiRequest *request, const char *object, const char *privilege)
{
    const char *user = api_request_user(request);
    g_autoptr(AuthzResult) r = user && object ? evaluate(center, user, object) : NULL;
    if (r && authz_allows(r, privilege))
        return TRUE;
    if (!r || !authz_can_see(r))
        center_reply_error(request, VIREO_ERROR_UNAUTHORIZED,
                           "%s may not do %s here, or the object does not exist",
                           user ? user : "(nobody)", privilege);
    else
        center_reply_error(request, VIREO_ERROR_UNAUTHORIZED,
                           "%s lacks the privilege %s on %s", user, privilege, object);
    return FALSE;
}
