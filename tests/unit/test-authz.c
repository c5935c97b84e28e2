/* test-authz.c — vCenter's permission rules over a realistic inventory: a
 * table of roles × objects × operations (propagation, child override, user
 * over group, group union, NoAccess, unknown roles), the privilege catalogue,
 * and the table of what each documented API request needs. */
#include <string.h>

#include "authz.h"

/* ---- The inventory -------------------------------------------------------
 * group-d1 (root folder)
 *   datacenter-2
 *     group-v4 (VM folder)    group-v13 "prod": vm-42, vm-43
 *                             group-v14 "dev":  vm-44
 *                             vm-45
 *     group-h5 (host folder)  domain-c8: host-10, host-11, resgroup-9 (its pool)
 *                             host-12 (standalone)
 *     group-s6 (datastores)   datastore-20, datastore-21
 *     group-n7 (networks)     network-22
 */
static const char *const tree[][2] = {
    { "datacenter-2", "group-d1" },
    { "group-v4", "datacenter-2" }, { "group-h5", "datacenter-2" },
    { "group-s6", "datacenter-2" }, { "group-n7", "datacenter-2" },
    { "group-v13", "group-v4" }, { "group-v14", "group-v4" },
    { "vm-42", "group-v13" }, { "vm-43", "group-v13" }, { "vm-44", "group-v14" },
    { "vm-45", "group-v4" },
    { "domain-c8", "group-h5" }, { "host-10", "domain-c8" }, { "host-11", "domain-c8" },
    { "resgroup-9", "domain-c8" }, { "host-12", "group-h5" },
    { "datastore-20", "group-s6" }, { "datastore-21", "group-s6" },
    { "network-22", "group-n7" },
};

static const char *
parent_of(const char *object)
{
    for (gsize i = 0; i < G_N_ELEMENTS(tree); i++) {
        if (strcmp(tree[i][0], object) == 0)
            return tree[i][1];
    }
    return NULL;
}

/* {object, parent, …, group-d1, NULL}; an id not in the tree fails the test,
 * so a typo cannot make a row pass by accident. */
static GPtrArray *
ancestry_of(const char *object)
{
    GPtrArray *chain = g_ptr_array_new();

    if (strcmp(object, "group-d1") != 0 && !parent_of(object))
        g_error("test bug: %s is not in the inventory", object);
    for (const char *o = object; o; o = parent_of(o))
        g_ptr_array_add(chain, (gpointer)o);
    g_ptr_array_add(chain, NULL);
    return chain;
}

/* ---- Users, groups, roles ------------------------------------------------ */

static const char *const alice_groups[] = { "ops", NULL };
static const char *const bob_groups[] = { "devs", "ops", NULL };
static const char *const carol_groups[] = { "devs", "contractors", NULL };

static const char *const *
groups_of(const char *user)
{
    if (strcmp(user, "alice") == 0)
        return alice_groups;
    if (strcmp(user, "bob") == 0)
        return bob_groups;
    if (strcmp(user, "carol") == 0)
        return carol_groups;
    return NULL;  /* dave: no group */
}

static const char *const power_on[] = { "VirtualMachine.Interact.PowerOn", NULL };
static const char *const snapshot[] = { "VirtualMachine.State.CreateSnapshot", NULL };
static const char *const vm_create[] = { "VirtualMachine.Inventory.Create", NULL };
static const char *const allocate[] = { "Datastore.AllocateSpace", NULL };
static const char *const pool_user[] = { "Resource.AssignVMToPool", NULL };
static const char *const net_user[] = { "Network.Assign", NULL };
static const char *const maintenance[] = { "Host.Config.Maintenance", NULL };
static const char *const bogus[] = { "VirtualMachine.Interact.PowerOn", "Made.Up.Privilege", NULL };

/* The stored roles also try to redefine two built-ins: that must change
 * nothing, in every scenario. */
static const AuthzRole custom_roles[] = {
    { "PowerUser", power_on },
    { "SnapshotTaker", snapshot },
    { "VmCreator", vm_create },
    { "DatastoreConsumer", allocate },
    { "PoolUser", pool_user },
    { "NetworkUser", net_user },
    { "HostMaintainer", maintenance },
    { "WithBogus", bogus },
    { "Administrator", (const char *const[]) { "System.Read", NULL } },
    { "NoAccess", power_on },
};

/* ---- Operations, as the daemon checks them ------------------------------ */

typedef struct {
    const char *name;
    const char *method, *pattern, *action;  /* NULL method: authz_can_see */
} Op;

static const Op ops[] = {
    { "see" },
    { "read", "GET", "/api/vcenter/vm/{vm}", NULL },
    { "power-on", "POST", "/api/vcenter/vm/{vm}/power", "start" },
    { "power-off", "POST", "/api/vcenter/vm/{vm}/power", "stop" },
    { "guest-shutdown", "POST", "/api/vcenter/vm/{vm}/guest/power", "shutdown" },
    { "freeze", "POST", "/api/vcenter/vm/{vm}/guest/filesystem", "freeze" },
    { "delete-vm", "DELETE", "/api/vcenter/vm/{vm}", NULL },
    { "create-vm", "POST", "/api/vcenter/vm", NULL },
    { "add-disk", "POST", "/api/vcenter/vm/{vm}/hardware/disk", NULL },
    { "create-folder", "POST", "/api/vcenter/folder", NULL },
    { "enter-maintenance", "POST", "/api/vcenter/host/{host}", "enter-maintenance" },
    { "grant", "POST", "/api/vireo/permissions", NULL },
    { "edit-roles", "POST", "/api/vireo/roles", NULL },
};

typedef struct {
    const char *user;
    const char *op;
    const char *object;     /* the path's object, or the target folder */
    gboolean expect;
    const char *datastore;  /* for requests that place files; default datastore-20 */
} Row;

typedef struct {
    const char *name;
    const AuthzPermission *perms;
    gsize n_perms;
    const Row *rows;
    gsize n_rows;
} Scenario;

static gboolean
allowed_on(const char *object, const char *privilege, const AuthzPermission *perms,
           gsize n_perms, const char *user)
{
    g_autoptr(GPtrArray) chain = ancestry_of(object);
    g_autoptr(AuthzResult) r = authz_evaluate((const char *const *)chain->pdata, perms, n_perms,
                                              custom_roles, G_N_ELEMENTS(custom_roles),
                                              user, groups_of(user));
    return privilege ? authz_allows(r, privilege) : authz_can_see(r);
}

/* The object a requirement is checked on, resolved as the daemon would for
 * this row's request. */
static const char *
resolve_target(const AuthzRequirement *req, const Row *row)
{
    switch (req->target) {
    case AUTHZ_TARGET_OBJECT:
    case AUTHZ_TARGET_TARGET_FOLDER:
    case AUTHZ_TARGET_NAMED_OBJECT:
    case AUTHZ_TARGET_CLUSTER:
    case AUTHZ_TARGET_EACH_LISTED:
        return row->object;
    case AUTHZ_TARGET_PARENT:
        return parent_of(row->object);
    case AUTHZ_TARGET_DATASTORE:
        return row->datastore ? row->datastore : "datastore-20";
    case AUTHZ_TARGET_RESOURCE_POOL:
        return "resgroup-9";
    case AUTHZ_TARGET_NETWORK:
        return "network-22";
    case AUTHZ_TARGET_ROOT:
        return "group-d1";
    default:
        g_error("unexpected target %d", req->target);
    }
}

static const Op *
op_lookup(const char *name)
{
    for (gsize i = 0; i < G_N_ELEMENTS(ops); i++) {
        if (strcmp(ops[i].name, name) == 0)
            return &ops[i];
    }
    g_error("test bug: unknown operation %s", name);
}

static gboolean
row_allowed(const Row *row, const AuthzPermission *perms, gsize n_perms)
{
    const Op *op = op_lookup(row->op);
    const AuthzRequirement *req;

    if (!op->method)
        return allowed_on(row->object, NULL, perms, n_perms, row->user);
    req = authz_route_requirements(op->method, op->pattern, op->action);
    g_assert_nonnull(req);
    g_assert_nonnull(req->privilege);  /* every operation here needs a privilege */
    for (; req->privilege; req++) {
        if (!allowed_on(resolve_target(req, row), req->privilege, perms, n_perms, row->user))
            return FALSE;
    }
    return TRUE;
}

/* ---- The scenarios --------------------------------------------------------- */

#define P(obj, who, grp, role, prop) { obj, who, grp, role, prop }
#define USER FALSE
#define GROUP TRUE
#define SCENARIO(n, p, r) { n, p, G_N_ELEMENTS(p), r, G_N_ELEMENTS(r) }

static const AuthzPermission propagation_perms[] = {
    P("datacenter-2", "alice", USER, "Administrator", TRUE),
    P("group-v4", "bob", USER, "ReadOnly", FALSE),
};
static const Row propagation_rows[] = {
    { "alice", "power-on", "vm-42", TRUE },
    { "alice", "enter-maintenance", "host-10", TRUE },
    { "alice", "create-vm", "group-v13", TRUE },
    { "alice", "see", "datastore-21", TRUE },
    { "alice", "see", "group-d1", FALSE },        /* a grant reaches down, not up */
    { "alice", "create-folder", "group-d1", FALSE },
    { "bob", "see", "group-v4", TRUE },
    { "bob", "see", "vm-45", FALSE },              /* not propagated */
    { "bob", "see", "group-v13", FALSE },
    { "bob", "power-on", "group-v4", FALSE },      /* ReadOnly */
    { "dave", "see", "vm-42", FALSE },             /* no permission: nothing visible */
    { "dave", "see", "group-d1", FALSE },
};

static const AuthzPermission override_perms[] = {
    P("datacenter-2", "alice", USER, "Administrator", TRUE),
    P("group-v13", "alice", USER, "ReadOnly", TRUE),
    P("datacenter-2", "bob", USER, "ReadOnly", TRUE),
    P("group-v14", "bob", USER, "Administrator", TRUE),
};
static const Row override_rows[] = {
    { "alice", "see", "vm-42", TRUE },
    { "alice", "power-on", "vm-42", FALSE },      /* read-only under group-v13 */
    { "alice", "delete-vm", "vm-43", FALSE },
    { "alice", "create-vm", "group-v13", FALSE },
    { "alice", "power-on", "vm-44", TRUE },       /* elsewhere still Administrator */
    { "alice", "delete-vm", "vm-45", TRUE },
    { "alice", "create-vm", "group-v14", TRUE },
    { "bob", "power-on", "vm-44", TRUE },         /* a child may also grant more */
    { "bob", "power-on", "vm-42", FALSE },
    { "bob", "delete-vm", "vm-44", TRUE },
};

static const AuthzPermission user_group_perms[] = {
    P("group-v4", "ops", GROUP, "Administrator", TRUE),
    P("group-v4", "alice", USER, "ReadOnly", TRUE),
    P("group-v4", "devs", GROUP, "Administrator", TRUE),
    P("group-v4", "carol", USER, "NoAccess", TRUE),
    /* A group's permission on a child beats the user's own on the parent:
     * user-over-group holds on one object only. */
    P("datacenter-2", "bob", USER, "Administrator", TRUE),
    P("group-h5", "ops", GROUP, "ReadOnly", TRUE),
};
static const Row user_group_rows[] = {
    { "alice", "power-on", "vm-42", FALSE },      /* own ReadOnly beats ops' Administrator */
    { "alice", "see", "vm-42", TRUE },
    { "bob", "power-on", "vm-42", TRUE },         /* through ops (and devs) */
    { "carol", "see", "vm-42", FALSE },           /* own NoAccess beats devs' Administrator */
    { "bob", "enter-maintenance", "host-10", FALSE },
    { "bob", "see", "host-10", TRUE },
    { "bob", "create-folder", "group-s6", TRUE },
};

static const AuthzPermission union_perms[] = {
    P("group-v4", "devs", GROUP, "PowerUser", TRUE),
    P("group-v4", "ops", GROUP, "SnapshotTaker", TRUE),
};
static const Row union_rows[] = {
    { "bob", "power-on", "vm-42", TRUE },         /* devs + ops */
    { "bob", "freeze", "vm-42", TRUE },
    { "bob", "power-off", "vm-42", FALSE },
    { "carol", "power-on", "vm-44", TRUE },       /* devs only */
    { "carol", "freeze", "vm-44", FALSE },
    { "alice", "power-on", "vm-45", FALSE },      /* ops only */
    { "alice", "freeze", "vm-45", TRUE },
    { "dave", "see", "vm-45", FALSE },
};

static const AuthzPermission group_no_access_perms[] = {
    P("group-v4", "devs", GROUP, "Administrator", TRUE),
    P("group-v4", "contractors", GROUP, "NoAccess", TRUE),
    P("group-v13", "ops", GROUP, "PowerUser", TRUE),
};
static const Row group_no_access_rows[] = {
    { "carol", "see", "vm-44", FALSE },           /* devs' Administrator, contractors' NoAccess */
    { "carol", "power-on", "vm-45", FALSE },
    { "bob", "power-on", "vm-45", TRUE },         /* devs, not a contractor */
    { "bob", "delete-vm", "vm-44", TRUE },
    { "bob", "delete-vm", "vm-42", FALSE },       /* group-v13: ops' PowerUser decides */
    { "bob", "power-on", "vm-42", TRUE },
    { "carol", "see", "vm-42", FALSE },           /* inherits the NoAccess */
};

static const AuthzPermission child_no_access_perms[] = {
    P("group-d1", "alice", USER, "Administrator", TRUE),
    P("group-v13", "alice", USER, "NoAccess", TRUE),
    P("group-d1", "bob", USER, "Administrator", TRUE),
    P("group-v13", "bob", USER, "NoAccess", FALSE),
};
static const Row child_no_access_rows[] = {
    { "alice", "see", "group-v13", FALSE },
    { "alice", "see", "vm-42", FALSE },
    { "alice", "power-on", "vm-43", FALSE },
    { "alice", "power-on", "vm-44", TRUE },
    { "alice", "see", "datastore-20", TRUE },
    { "alice", "edit-roles", "group-d1", TRUE },
    { "bob", "see", "group-v13", FALSE },         /* NoAccess on the folder itself… */
    { "bob", "power-on", "vm-42", TRUE },         /* …not propagated to its VMs */
};

static const AuthzPermission unknown_role_perms[] = {
    P("group-v13", "dave", USER, "Ghost", TRUE),
    P("group-v4", "devs", GROUP, "Administrator", TRUE),
    P("group-v4", "contractors", GROUP, "Ghost", TRUE),
    P("group-v14", "alice", USER, "WithBogus", TRUE),
};
static const Row unknown_role_rows[] = {
    { "dave", "see", "vm-42", FALSE },            /* a role that does not exist grants nothing */
    { "carol", "see", "vm-44", FALSE },           /* …and denies like NoAccess among groups */
    { "bob", "power-on", "vm-44", TRUE },
    { "alice", "power-on", "vm-44", TRUE },       /* an unknown privilege in a role is ignored */
    { "alice", "power-off", "vm-44", FALSE },
};

static const AuthzPermission power_on_only_perms[] = {
    P("group-v13", "dave", USER, "PowerUser", TRUE),
};
static const Row power_on_only_rows[] = {
    { "dave", "power-on", "vm-42", TRUE },
    { "dave", "see", "vm-43", TRUE },             /* every role but NoAccess can read */
    { "dave", "read", "vm-43", TRUE },
    { "dave", "power-off", "vm-42", FALSE },
    { "dave", "guest-shutdown", "vm-42", FALSE },
    { "dave", "delete-vm", "vm-42", FALSE },
    { "dave", "add-disk", "vm-42", FALSE },
    { "dave", "power-on", "vm-44", FALSE },
    { "dave", "see", "group-v4", FALSE },
};

static const AuthzPermission builtin_perms[] = {
    P("group-v13", "alice", USER, "Administrator", TRUE),
    P("group-v14", "alice", USER, "NoAccess", TRUE),
};
static const Row builtin_rows[] = {
    { "alice", "power-on", "vm-42", TRUE },       /* the stored "Administrator" row is ignored */
    { "alice", "grant", "vm-43", TRUE },
    { "alice", "see", "vm-44", FALSE },           /* the stored "NoAccess" row grants nothing */
    { "alice", "power-on", "vm-44", FALSE },
};

static const AuthzPermission placement_perms[] = {
    P("group-v13", "alice", USER, "VmCreator", FALSE),
    P("datastore-20", "alice", USER, "DatastoreConsumer", FALSE),
    P("domain-c8", "alice", USER, "PoolUser", TRUE),
    P("group-n7", "alice", USER, "NetworkUser", TRUE),
    P("domain-c8", "bob", USER, "HostMaintainer", TRUE),
    P("group-v13", "bob", USER, "VmCreator", FALSE),
    P("datastore-20", "bob", USER, "DatastoreConsumer", FALSE),
};
static const Row placement_rows[] = {
    { "alice", "create-vm", "group-v13", TRUE, "datastore-20" },
    { "alice", "create-vm", "group-v13", FALSE, "datastore-21" },
    { "alice", "create-vm", "group-v14", FALSE, "datastore-20" },
    { "bob", "create-vm", "group-v13", FALSE, "datastore-20" },  /* no pool, no network */
    { "bob", "enter-maintenance", "host-10", TRUE },
    { "bob", "enter-maintenance", "host-12", FALSE },
    { "alice", "enter-maintenance", "host-11", FALSE },
};

static const Scenario scenarios[] = {
    SCENARIO("propagation", propagation_perms, propagation_rows),
    SCENARIO("child-override", override_perms, override_rows),
    SCENARIO("user-over-group", user_group_perms, user_group_rows),
    SCENARIO("group-union", union_perms, union_rows),
    SCENARIO("group-no-access-wins", group_no_access_perms, group_no_access_rows),
    SCENARIO("child-no-access", child_no_access_perms, child_no_access_rows),
    SCENARIO("unknown-role", unknown_role_perms, unknown_role_rows),
    SCENARIO("power-on-only", power_on_only_perms, power_on_only_rows),
    SCENARIO("builtin-roles-fixed", builtin_perms, builtin_rows),
    SCENARIO("placement", placement_perms, placement_rows),
};

static void
test_matrix(gconstpointer data)
{
    const Scenario *s = data;
    guint failures = 0;

    for (gsize i = 0; i < s->n_rows; i++) {
        const Row *row = &s->rows[i];
        gboolean got = row_allowed(row, s->perms, s->n_perms);

        if (got != row->expect) {
            g_printerr("%s row %zu: %s %s %s: expected %s, got %s\n", s->name, i, row->user,
                       row->op, row->object, row->expect ? "allowed" : "denied",
                       got ? "allowed" : "denied");
            failures++;
        }
    }
    g_assert_cmpuint(failures, ==, 0);
}

/* Each row can fail: an allowed row is denied without its permissions, and a
 * denied row is allowed to an Administrator of the root folder — so a row is
 * never denied merely because it names a wrong object or operation. */
static void
test_rows_can_fail(void)
{
    for (gsize s = 0; s < G_N_ELEMENTS(scenarios); s++) {
        for (gsize i = 0; i < scenarios[s].n_rows; i++) {
            const Row *row = &scenarios[s].rows[i];
            AuthzPermission admin = P("group-d1", row->user, USER, "Administrator", TRUE);

            if (row->expect)
                g_assert_false(row_allowed(row, NULL, 0));
            else
                g_assert_true(row_allowed(row, &admin, 1));
        }
    }
}

/* ---- What the evaluation reports ------------------------------------------ */

static AuthzResult *
evaluate(const char *object, const AuthzPermission *perms, gsize n, const char *user)
{
    g_autoptr(GPtrArray) chain = ancestry_of(object);
    return authz_evaluate((const char *const *)chain->pdata, perms, n, custom_roles,
                          G_N_ELEMENTS(custom_roles), user, groups_of(user));
}

static void
test_result_details(void)
{
    g_autoptr(AuthzResult) ro = evaluate("vm-42", override_perms, G_N_ELEMENTS(override_perms), "alice");
    g_autoptr(AuthzResult) un = evaluate("vm-42", union_perms, G_N_ELEMENTS(union_perms), "bob");
    g_autoptr(AuthzResult) no = evaluate("vm-42", group_no_access_perms,
                                         G_N_ELEMENTS(group_no_access_perms), "carol");
    g_autoptr(AuthzResult) none = evaluate("vm-42", NULL, 0, "dave");
    g_auto(GStrv) ro_privs = authz_result_privileges(ro);
    g_auto(GStrv) un_privs = authz_result_privileges(un);
    g_auto(GStrv) none_privs = authz_result_privileges(none);
    const char *const system[] = { "System.Anonymous", "System.Read", "System.View", NULL };
    const char *const both[] = { "System.Anonymous", "System.Read", "System.View",
                                 "VirtualMachine.Interact.PowerOn",
                                 "VirtualMachine.State.CreateSnapshot", NULL };

    g_assert_cmpstr(ro->decided_on, ==, "group-v13");
    g_assert_cmpuint(ro->permissions->len, ==, 1);
    g_assert_true(ro->permissions->pdata[0] == &override_perms[1]);
    g_assert_cmpstrv(ro->roles, ((const char *const[]) { "ReadOnly", NULL }));
    g_assert_cmpstrv(ro_privs, system);
    g_assert_false(ro->no_access);

    g_assert_cmpstr(un->decided_on, ==, "group-v4");
    g_assert_cmpuint(un->permissions->len, ==, 2);
    g_assert_cmpstrv(un->roles, ((const char *const[]) { "PowerUser", "SnapshotTaker", NULL }));
    g_assert_cmpstrv(un_privs, both);

    g_assert_true(no->no_access);
    g_assert_cmpstr(no->decided_on, ==, "group-v4");
    g_assert_cmpstrv(no->roles, ((const char *const[]) { "Administrator", "NoAccess", NULL }));
    g_assert_cmpuint(g_hash_table_size(no->privileges), ==, 0);
    g_assert_false(authz_allows(no, "VirtualMachine.Interact.PowerOn"));

    g_assert_null(none->decided_on);
    g_assert_true(none->no_access);
    g_assert_cmpuint(g_strv_length(none_privs), ==, 0);
    g_assert_cmpuint(g_strv_length(none->roles), ==, 0);
    g_assert_false(authz_can_see(none));
}

static void
test_administrator_has_everything(void)
{
    const AuthzPermission admin = P("group-d1", "dave", USER, "Administrator", TRUE);
    g_autoptr(AuthzResult) r = evaluate("vm-44", &admin, 1, "dave");
    g_auto(GStrv) privs = authz_result_privileges(r);

    g_assert_cmpstrv(privs, authz_privileges_all());
    g_assert_false(authz_allows(r, "Made.Up.Privilege"));
    g_assert_false(authz_allows(r, NULL));
}

/* ---- The catalogue and the built-in roles ------------------------------------ */

static void
test_catalogue(void)
{
    static const char *const required[] = {
        "System.Anonymous", "System.View", "System.Read", "Global.CancelTask",
        "Global.LogEvent", "Global.Settings", "Folder.Create", "Folder.Delete",
        "Folder.Rename", "Folder.Move", "Datacenter.Create", "Datacenter.Delete",
        "Datacenter.Rename", "Datacenter.Move", "Host.Inventory.AddStandaloneHost",
        "Host.Inventory.AddHostToCluster", "Host.Inventory.RemoveHostFromCluster",
        "Host.Inventory.CreateCluster", "Host.Inventory.DeleteCluster",
        "Host.Inventory.EditCluster", "Host.Config.Maintenance", "Host.Config.Connection",
        "Host.Config.Storage", "Host.Config.Network", "Datastore.AllocateSpace",
        "Datastore.Browse", "Datastore.FileManagement", "Datastore.DeleteFile",
        "Network.Assign", "Resource.AssignVMToPool", "Resource.HotMigrate",
        "Resource.ColdMigrate", "Resource.CreatePool", "Resource.DeletePool",
        "VirtualMachine.Inventory.Create", "VirtualMachine.Inventory.Delete",
        "VirtualMachine.Inventory.Register", "VirtualMachine.Inventory.Unregister",
        "VirtualMachine.Inventory.Move", "VirtualMachine.Interact.PowerOn",
        "VirtualMachine.Interact.PowerOff", "VirtualMachine.Interact.Suspend",
        "VirtualMachine.Interact.Reset", "VirtualMachine.Interact.ConsoleInteract",
        "VirtualMachine.Interact.DeviceConnection", "VirtualMachine.Interact.GuestControl",
        "VirtualMachine.Config.AddNewDisk", "VirtualMachine.Config.AddExistingDisk",
        "VirtualMachine.Config.RemoveDisk", "VirtualMachine.Config.AddRemoveDevice",
        "VirtualMachine.Config.EditDevice", "VirtualMachine.Config.DiskExtend",
        "VirtualMachine.Config.CPUCount", "VirtualMachine.Config.Memory",
        "VirtualMachine.Config.Settings", "VirtualMachine.Config.Rename",
        "VirtualMachine.GuestOperations.Query", "VirtualMachine.GuestOperations.Modify",
        "VirtualMachine.GuestOperations.Execute", "VirtualMachine.Provisioning.Clone",
        "VirtualMachine.Provisioning.DeployTemplate", "VirtualMachine.Provisioning.MarkAsTemplate",
        "VirtualMachine.Provisioning.MarkAsVM", "VirtualMachine.State.CreateSnapshot",
        "VirtualMachine.State.RevertToSnapshot", "VirtualMachine.State.RemoveSnapshot",
        "Sessions.TerminateSession", "Task.Create", "Task.Update",
        "Authorization.ModifyRoles", "Authorization.ModifyPermissions",
    };
    const AuthzPrivilege *all = authz_privileges();
    const char *const *ids = authz_privileges_all();
    gsize n = 0;

    for (gsize i = 0; i < G_N_ELEMENTS(required); i++)
        g_assert_true(authz_privilege_known(required[i]));
    for (; all[n].id; n++) {
        g_assert_cmpstr(ids[n], ==, all[n].id);
        g_assert_nonnull(all[n].description);
        g_assert_cmpuint(strlen(all[n].description), >, 10);
        if (n > 0)
            g_assert_cmpint(strcmp(all[n - 1].id, all[n].id), <, 0);  /* sorted, unique */
    }
    g_assert_null(ids[n]);
    g_assert_cmpuint(n, >=, G_N_ELEMENTS(required));
    g_assert_false(authz_privilege_known("VirtualMachine.Interact"));
    g_assert_false(authz_privilege_known("virtualmachine.interact.poweron"));
    g_assert_false(authz_privilege_known(""));
    g_assert_false(authz_privilege_known(NULL));
    g_assert_cmpstr(authz_privilege_description("Resource.HotMigrate"), ==,
                    "Migrate a running VM (vMotion)");
}

static void
test_builtin_roles(void)
{
    gsize n = 0;
    const AuthzRole *roles = authz_builtin_roles(&n);

    g_assert_cmpuint(n, ==, 3);
    g_assert_cmpstr(roles[0].name, ==, "Administrator");
    g_assert_cmpstrv(roles[0].privileges, authz_privileges_all());
    g_assert_cmpstr(roles[1].name, ==, "ReadOnly");
    g_assert_cmpstrv(roles[1].privileges,
                     ((const char *const[]) { "System.Anonymous", "System.Read", "System.View", NULL }));
    g_assert_cmpstr(roles[2].name, ==, "NoAccess");
    g_assert_true(roles[2].privileges == NULL);
    g_assert_true(authz_role_is_builtin("NoAccess"));
    g_assert_false(authz_role_is_builtin("PowerUser"));
    g_assert_false(authz_role_is_builtin("administrator"));
}

/* ---- What each request needs ------------------------------------------------ */

static void
assert_requires(const char *method, const char *pattern, const char *action,
                const char *const *expected /* "privilege@target" pairs */)
{
    const AuthzRequirement *req = authz_route_requirements(method, pattern, action);
    g_autoptr(GPtrArray) got = g_ptr_array_new_with_free_func(g_free);

    g_assert_nonnull(req);
    for (; req->privilege; req++)
        g_ptr_array_add(got, g_strdup_printf("%s@%s", req->privilege,
                                             authz_target_to_string(req->target)));
    g_ptr_array_add(got, NULL);
    g_assert_cmpstrv((const char *const *)got->pdata, expected);
}

static void
test_route_examples(void)
{
    assert_requires("POST", "/api/vcenter/vm/{vm}/power", "start",
                    (const char *const[]) { "VirtualMachine.Interact.PowerOn@object", NULL });
    assert_requires("POST", "/api/vcenter/vm/{vm}/guest/power", "shutdown",
                    (const char *const[]) { "VirtualMachine.Interact.PowerOff@object", NULL });
    assert_requires("POST", "/api/vcenter/vm/{vm}/guest/power", "reboot",
                    (const char *const[]) { "VirtualMachine.Interact.Reset@object", NULL });
    assert_requires("POST", "/api/vcenter/vm", NULL, (const char *const[]) {
        "VirtualMachine.Inventory.Create@target folder", "Resource.AssignVMToPool@resource pool",
        "Datastore.AllocateSpace@datastore", "Network.Assign@network", NULL });
    assert_requires("POST", "/api/vcenter/host/{host}", "enter-maintenance",
                    (const char *const[]) { "Host.Config.Maintenance@object", NULL });
    assert_requires("POST", "/api/vcenter/host", "with:cluster",
                    (const char *const[]) { "Host.Inventory.AddHostToCluster@cluster", NULL });
    assert_requires("DELETE", "/api/vcenter/vm/{vm}", NULL, (const char *const[]) {
        "VirtualMachine.Inventory.Delete@object", "VirtualMachine.Inventory.Delete@parent folder",
        NULL });
    assert_requires("GET", "/api/vcenter/vm", NULL,
                    (const char *const[]) { "System.Read@each listed object", NULL });
    assert_requires("GET", "/api/vcenter/datastore/{datastore}", NULL,
                    (const char *const[]) { "System.Read@object", NULL });
    assert_requires("POST", "/api/vireo/permissions", NULL,
                    (const char *const[]) { "Authorization.ModifyPermissions@named object", NULL });
    /* Only a session: the terminator alone. */
    assert_requires("GET", "/api/session", NULL, (const char *const[]) { NULL });
    /* Parameter names do not matter; unknown requests and actions are refused. */
    assert_requires("POST", "/api/vcenter/vm/{id}/power", "stop",
                    (const char *const[]) { "VirtualMachine.Interact.PowerOff@object", NULL });
    g_assert_null(authz_route_requirements("POST", "/api/vcenter/vm/{vm}/power", "explode"));
    g_assert_null(authz_route_requirements("POST", "/api/vcenter/vm/{vm}/power", NULL));
    g_assert_null(authz_route_requirements("PUT", "/api/vcenter/vm/{vm}", NULL));
    g_assert_null(authz_route_requirements("GET", "/api/vcenter/vm/{vm}/powe", NULL));
    g_assert_null(authz_route_requirements("GET", "/api/vcenter/vm/vm-42", NULL));
    g_assert_null(authz_route_requirements(NULL, "/api/vcenter/vm", NULL));
    g_assert_null(authz_target_to_string(AUTHZ_TARGET_LAST));
}

/* Each request has one run of rows ending in its terminator, every privilege
 * is in the catalogue, and no request appears twice. */
static void
test_route_table_sound(void)
{
    const AuthzRequirement *t = authz_route_table();
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    gsize i = 0;

    while (t[i].method) {
        const AuthzRequirement *first = &t[i];
        char *key = g_strdup_printf("%s %s ?%s", first->method, first->pattern,
                                    first->action ? first->action : "");

        g_assert_true(g_hash_table_add(seen, key));
        g_assert_true(authz_route_requirements(first->method, first->pattern, first->action) == first);
        for (; t[i].privilege; i++) {
            g_assert_cmpstr(t[i].method, ==, first->method);
            g_assert_cmpstr(t[i].pattern, ==, first->pattern);
            g_assert_cmpstr(t[i].action, ==, first->action);
            g_assert_true(authz_privilege_known(t[i].privilege));
            g_assert_nonnull(authz_target_to_string(t[i].target));
        }
        g_assert_cmpstr(t[i].method, ==, first->method);  /* the run's terminator */
        g_assert_cmpstr(t[i].pattern, ==, first->pattern);
        i++;
    }
    g_assert_cmpuint(g_hash_table_size(seen), >, 60);
}

/* Every request the API documents (as `METHOD /api/…[?action=x]` in
 * docs/api.md and docs/api-center.md) has its requirements in the table. */
static void
test_documented_routes_covered(void)
{
    const char *root = g_getenv("VIREO_SOURCE_ROOT");
    const char *docs[] = { "api.md", "api-center.md" };
    g_autoptr(GRegex) re = g_regex_new(
        "`((?:GET|POST|PATCH|PUT|DELETE)(?:\\\\?\\|(?:GET|POST|PATCH|PUT|DELETE))*) "
        "(/api/[A-Za-z0-9_/{}-]*[A-Za-z0-9_}])(?:\\?action=([a-z-]+))?", 0, 0, NULL);
    guint checked = 0;

    g_assert_nonnull(re);
    for (gsize d = 0; d < G_N_ELEMENTS(docs); d++) {
        g_autofree char *path = g_build_filename(root ? root : ".", "docs", docs[d], NULL);
        g_autofree char *text = NULL;
        g_autoptr(GMatchInfo) m = NULL;

        if (!g_file_get_contents(path, &text, NULL, NULL)) {
            g_test_skip("docs not found (set VIREO_SOURCE_ROOT)");
            return;
        }
        g_regex_match(re, text, 0, &m);
        for (; g_match_info_matches(m); g_match_info_next(m, NULL)) {
            g_autofree char *methods = g_match_info_fetch(m, 1);
            g_autofree char *pattern = g_match_info_fetch(m, 2);
            g_autofree char *action = g_match_info_fetch(m, 3);
            g_auto(GStrv) each = g_strsplit_set(methods, "\\|", -1);

            for (char **meth = each; *meth; meth++) {
                if (!**meth)
                    continue;
                if (!authz_route_requirements(*meth, pattern, action && *action ? action : NULL))
                    g_error("%s: %s %s%s%s has no requirements in the authz table", docs[d],
                            *meth, pattern, action && *action ? "?action=" : "",
                            action ? action : "");
                checked++;
            }
        }
    }
    g_assert_cmpuint(checked, >, 30);
}

/* The requests the docs abbreviate ("…?action=stop", "GET|POST …/hardware/
 * ethernet"), which the pattern above cannot read. */
static void
test_abbreviated_routes_covered(void)
{
    static const char *const requests[][3] = {
        { "POST", "/api/vcenter/vm/{vm}/power", "stop" },
        { "POST", "/api/vcenter/vm/{vm}/power", "suspend" },
        { "POST", "/api/vcenter/vm/{vm}/power", "reset" },
        { "POST", "/api/vcenter/vm/{vm}/guest/power", "reboot" },
        { "POST", "/api/vcenter/vm/{vm}/guest/filesystem", "thaw" },
        { "POST", "/api/vcenter/host/{host}", "exit-maintenance" },
        { "POST", "/api/vcenter/host/{host}", "disconnect" },
        { "GET", "/api/vcenter/resource-pool/{rp}", NULL },
        { "POST", "/api/vcenter/vm/{vm}/hardware/disk", NULL },
        { "GET", "/api/vcenter/vm/{vm}/hardware/disk/{disk}", NULL },
        { "PATCH", "/api/vcenter/vm/{vm}/hardware/disk/{disk}", NULL },
        { "DELETE", "/api/vcenter/vm/{vm}/hardware/disk/{disk}", NULL },
        { "GET", "/api/vcenter/vm/{vm}/hardware/ethernet", NULL },
        { "POST", "/api/vcenter/vm/{vm}/hardware/ethernet", NULL },
        { "GET", "/api/vcenter/vm/{vm}/hardware/ethernet/{nic}", NULL },
        { "PATCH", "/api/vcenter/vm/{vm}/hardware/ethernet/{nic}", NULL },
        { "DELETE", "/api/vcenter/vm/{vm}/hardware/ethernet/{nic}", NULL },
        { "GET", "/api/vcenter/vm/{vm}/hardware/cdrom", NULL },
        { "POST", "/api/vcenter/vm/{vm}/hardware/cdrom", NULL },
        { "GET", "/api/vcenter/vm/{vm}/hardware/cdrom/{cdrom}", NULL },
        { "PATCH", "/api/vcenter/vm/{vm}/hardware/cdrom/{cdrom}", NULL },
        { "DELETE", "/api/vcenter/vm/{vm}/hardware/cdrom/{cdrom}", NULL },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(requests); i++) {
        const AuthzRequirement *req = authz_route_requirements(requests[i][0], requests[i][1],
                                                               requests[i][2]);
        if (!req || !req->privilege)
            g_error("%s %s ?%s: no privilege required", requests[i][0], requests[i][1],
                    requests[i][2] ? requests[i][2] : "");
        if (strcmp(requests[i][0], "GET") == 0)
            g_assert_cmpstr(req->privilege, ==, "System.Read");
        else
            g_assert_cmpstr(req->privilege, !=, "System.Read");
    }
}

/* docs/permissions.md lists every privilege, and names no other. */
static void
test_user_doc_matches(void)
{
    const char *root = g_getenv("VIREO_SOURCE_ROOT");
    g_autofree char *path = g_build_filename(root ? root : ".", "docs", "permissions.md", NULL);
    g_autofree char *text = NULL;
    g_autoptr(GRegex) re = g_regex_new("`((?:System|Global|Folder|Datacenter|Host|Datastore|"
                                       "Network|Resource|VirtualMachine|Sessions|Task|"
                                       "Authorization)\\.[A-Za-z.]+)`", 0, 0, NULL);
    g_autoptr(GMatchInfo) m = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL)) {
        g_test_skip("docs/permissions.md not found (set VIREO_SOURCE_ROOT)");
        return;
    }
    for (const char *const *id = authz_privileges_all(); *id; id++) {
        g_autofree char *quoted = g_strdup_printf("| `%s` |", *id);
        if (!strstr(text, quoted))
            g_error("docs/permissions.md does not list %s", *id);
    }
    g_regex_match(re, text, 0, &m);
    for (; g_match_info_matches(m); g_match_info_next(m, NULL)) {
        g_autofree char *id = g_match_info_fetch(m, 1);
        if (!authz_privilege_known(id))
            g_error("docs/permissions.md names %s, which is not a privilege", id);
    }
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (gsize i = 0; i < G_N_ELEMENTS(scenarios); i++) {
        g_autofree char *name = g_strdup_printf("/authz/matrix/%s", scenarios[i].name);
        g_test_add_data_func(name, &scenarios[i], test_matrix);
    }
    g_test_add_func("/authz/rows-can-fail", test_rows_can_fail);
    g_test_add_func("/authz/result-details", test_result_details);
    g_test_add_func("/authz/administrator", test_administrator_has_everything);
    g_test_add_func("/authz/catalogue", test_catalogue);
    g_test_add_func("/authz/builtin-roles", test_builtin_roles);
    g_test_add_func("/authz/routes/examples", test_route_examples);
    g_test_add_func("/authz/routes/table", test_route_table_sound);
    g_test_add_func("/authz/routes/documented", test_documented_routes_covered);
    g_test_add_func("/authz/routes/abbreviated", test_abbreviated_routes_covered);
    g_test_add_func("/authz/user-doc", test_user_doc_matches);
    return g_test_run();
}
