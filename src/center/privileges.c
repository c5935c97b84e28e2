/* vSphere's privilege vocabulary as Vireo uses it: the catalogue of privilege
 * ids, the built-in roles, and the table of what each API request needs on
 * which object. Static data and lookups only. */
#include "authz.h"

#include <string.h>

/* Sorted by id (checked by the unit test), so the list reads like vCenter's
 * role editor and lookups can bsearch. */
static const AuthzPrivilege privilege_table[] = {
    { "Authorization.ModifyPermissions", "Grant, change and remove permissions on an object" },
    { "Authorization.ModifyRoles", "Create, edit and delete custom roles" },
    { "Datacenter.Create", "Create a datacenter in a folder" },
    { "Datacenter.Delete", "Remove an empty datacenter" },
    { "Datacenter.Move", "Move a datacenter to another folder" },
    { "Datacenter.Rename", "Rename a datacenter" },
    { "Datastore.AllocateSpace", "Place VM disks and files on the datastore (create, add disk, grow)" },
    { "Datastore.Browse", "Browse the datastore's files" },
    { "Datastore.DeleteFile", "Delete files from the datastore" },
    { "Datastore.FileManagement", "Low-level file operations on the datastore (copy, move, upload)" },
    { "Folder.Create", "Create a folder" },
    { "Folder.Delete", "Remove an empty folder" },
    { "Folder.Move", "Move a folder" },
    { "Folder.Rename", "Rename a folder" },
    { "Global.CancelTask", "Cancel a running task" },
    { "Global.LogEvent", "Log a user-defined event on an object" },
    { "Global.Settings", "Read and change the centre's settings" },
    { "Host.Config.Connection", "Disconnect and reconnect a host" },
    { "Host.Config.Maintenance", "Put a host into and out of maintenance mode" },
    { "Host.Config.Network", "Configure a host's virtual switches and port groups" },
    { "Host.Config.Storage", "Configure a host's datastores" },
    { "Host.Inventory.AddHostToCluster", "Add a host to a cluster" },
    { "Host.Inventory.AddStandaloneHost", "Add a standalone host to a host folder" },
    { "Host.Inventory.CreateCluster", "Create a cluster in a host folder" },
    { "Host.Inventory.DeleteCluster", "Remove a cluster" },
    { "Host.Inventory.EditCluster", "Change a cluster's settings (DRS, HA)" },
    { "Host.Inventory.RemoveHostFromCluster", "Remove a host from the inventory or from its cluster" },
    { "Host.Local.ManageUserGroups", "Create and delete local users and set their groups" },
    { "Network.Assign", "Connect a VM's network adapter to the network" },
    { "Resource.AssignVMToPool", "Place a VM in the resource pool" },
    { "Resource.ColdMigrate", "Migrate a powered-off or suspended VM" },
    { "Resource.CreatePool", "Create a resource pool" },
    { "Resource.DeletePool", "Remove a resource pool" },
    { "Resource.HotMigrate", "Migrate a running VM (vMotion)" },
    { "Sessions.TerminateSession", "End other users' sessions" },
    { "System.Anonymous", "Part of every role except NoAccess" },
    { "System.Read", "Read the object's configuration and state" },
    { "System.View", "See the object in the inventory" },
    { "Task.Create", "Create an extension task" },
    { "Task.Update", "Update an extension task" },
    { "VirtualMachine.Config.AddExistingDisk", "Attach an existing virtual disk" },
    { "VirtualMachine.Config.AddNewDisk", "Create and attach a new virtual disk" },
    { "VirtualMachine.Config.AddRemoveDevice", "Add or remove a device other than a disk (NIC, CD-ROM)" },
    { "VirtualMachine.Config.CPUCount", "Change the number of virtual CPUs" },
    { "VirtualMachine.Config.DiskExtend", "Grow a virtual disk" },
    { "VirtualMachine.Config.EditDevice", "Change a device's settings (backing, MAC, connect at power on)" },
    { "VirtualMachine.Config.Memory", "Change the memory size" },
    { "VirtualMachine.Config.RemoveDisk", "Detach (and optionally delete) a virtual disk" },
    { "VirtualMachine.Config.Rename", "Rename the VM" },
    { "VirtualMachine.Config.Settings", "Change other settings (boot, guest OS, advanced)" },
    { "VirtualMachine.GuestOperations.Execute", "Run programs in the guest" },
    { "VirtualMachine.GuestOperations.Modify", "Change files in the guest" },
    { "VirtualMachine.GuestOperations.Query", "Read files and processes in the guest" },
    { "VirtualMachine.Interact.ConsoleInteract", "Use the VM's console (keyboard, mouse, screen)" },
    { "VirtualMachine.Interact.DeviceConnection", "Connect and disconnect a running VM's devices" },
    { "VirtualMachine.Interact.GuestControl", "Control the guest through the guest agent" },
    { "VirtualMachine.Interact.PowerOff", "Power off (hard, or guest shutdown)" },
    { "VirtualMachine.Interact.PowerOn", "Power on, or resume a suspended VM" },
    { "VirtualMachine.Interact.Reset", "Reset (hard, or guest reboot)" },
    { "VirtualMachine.Interact.SetCDMedia", "Change the CD-ROM's medium" },
    { "VirtualMachine.Interact.Suspend", "Suspend (hard, or guest standby)" },
    { "VirtualMachine.Inventory.Create", "Create a VM in the folder" },
    { "VirtualMachine.Inventory.Delete", "Delete a VM and its files" },
    { "VirtualMachine.Inventory.Move", "Move a VM to another folder" },
    { "VirtualMachine.Inventory.Register", "Register an existing VM's files into the folder" },
    { "VirtualMachine.Inventory.Unregister", "Remove a VM from the inventory, keeping its files" },
    { "VirtualMachine.Provisioning.Clone", "Clone the VM" },
    { "VirtualMachine.Provisioning.DeployTemplate", "Deploy a VM from the template" },
    { "VirtualMachine.Provisioning.MarkAsTemplate", "Turn the VM into a template" },
    { "VirtualMachine.Provisioning.MarkAsVM", "Turn the template back into a VM" },
    { "VirtualMachine.State.CreateSnapshot", "Take a snapshot (and quiesce the guest's filesystems)" },
    { "VirtualMachine.State.RemoveSnapshot", "Delete a snapshot" },
    { "VirtualMachine.State.RevertToSnapshot", "Revert to a snapshot" },
    { NULL, NULL },
};

const AuthzPrivilege *
authz_privileges(void)
{
    return privilege_table;
}

const char *const *
authz_privileges_all(void)
{
    static const char *ids[G_N_ELEMENTS(privilege_table)];
    static gsize filled;

    if (g_once_init_enter(&filled)) {
        for (gsize i = 0; privilege_table[i].id; i++)
            ids[i] = privilege_table[i].id;
        g_once_init_leave(&filled, 1);
    }
    return ids;
}

static int
privilege_compare(const void *key, const void *entry)
{
    return strcmp(key, ((const AuthzPrivilege *)entry)->id);
}

const char *
authz_privilege_description(const char *id)
{
    const AuthzPrivilege *found;

    if (!id)
        return NULL;
    found = bsearch(id, privilege_table, G_N_ELEMENTS(privilege_table) - 1,
                    sizeof(privilege_table[0]), privilege_compare);
    return found ? found->description : NULL;
}

gboolean
authz_privilege_known(const char *id)
{
    return authz_privilege_description(id) != NULL;
}

static const char *const read_only_privileges[] = {
    AUTHZ_PRIV_ANONYMOUS, AUTHZ_PRIV_READ, AUTHZ_PRIV_VIEW, NULL,
};

const AuthzRole *
authz_builtin_roles(gsize *n_roles)
{
    static AuthzRole roles[] = {
        { AUTHZ_ROLE_ADMINISTRATOR, NULL },  /* every privilege: set below */
        { AUTHZ_ROLE_READ_ONLY, read_only_privileges },
        { AUTHZ_ROLE_NO_ACCESS, NULL },
    };
    static gsize filled;

    if (g_once_init_enter(&filled)) {
        roles[0].privileges = authz_privileges_all();
        g_once_init_leave(&filled, 1);
    }
    if (n_roles)
        *n_roles = G_N_ELEMENTS(roles);
    return roles;
}

gboolean
authz_role_is_builtin(const char *name)
{
    return g_strcmp0(name, AUTHZ_ROLE_ADMINISTRATOR) == 0 ||
           g_strcmp0(name, AUTHZ_ROLE_READ_ONLY) == 0 ||
           g_strcmp0(name, AUTHZ_ROLE_NO_ACCESS) == 0;
}

/* ---- What each request needs ---------------------------------------------
 * One row per requirement; a request's rows are consecutive and end with a
 * row whose privilege is NULL. The privileges are those vSphere documents for
 * the same operation (vSphere Automation API and the vSphere security guide),
 * including its "pair with the parent" rule for removals. */

#define REQ(m, p, a, priv, t) { m, p, a, priv, AUTHZ_TARGET_##t }
#define END(m, p, a)          { m, p, a, NULL, AUTHZ_TARGET_OBJECT }
#define READ_LIST(p)  REQ("GET", p, NULL, "System.Read", EACH_LISTED), END("GET", p, NULL)
#define READ_OBJ(p)   REQ("GET", p, NULL, "System.Read", OBJECT), END("GET", p, NULL)
#define ON_OBJ(m, p, a, priv) REQ(m, p, a, priv, OBJECT), END(m, p, a)
#define SESSION_ONLY(m, p) END(m, p, NULL)

#define VM "/api/vcenter/vm/{vm}"
#define HW VM "/hardware"

static const AuthzRequirement route_table[] = {
    /* Sessions: any authenticated user. */
    SESSION_ONLY("POST", "/api/session"),
    SESSION_ONLY("GET", "/api/session"),
    SESSION_ONLY("DELETE", "/api/session"),

    /* Inventory: datacenters, folders, clusters. */
    READ_LIST("/api/vcenter/datacenter"),
    REQ("POST", "/api/vcenter/datacenter", NULL, "Datacenter.Create", TARGET_FOLDER),
    END("POST", "/api/vcenter/datacenter", NULL),
    READ_OBJ("/api/vcenter/datacenter/{datacenter}"),
    REQ("DELETE", "/api/vcenter/datacenter/{datacenter}", NULL, "Datacenter.Delete", OBJECT),
    REQ("DELETE", "/api/vcenter/datacenter/{datacenter}", NULL, "Datacenter.Delete", PARENT),
    END("DELETE", "/api/vcenter/datacenter/{datacenter}", NULL),
    READ_LIST("/api/vcenter/folder"),
    REQ("POST", "/api/vcenter/folder", NULL, "Folder.Create", TARGET_FOLDER),
    END("POST", "/api/vcenter/folder", NULL),
    READ_OBJ("/api/vcenter/folder/{folder}"),
    REQ("DELETE", "/api/vcenter/folder/{folder}", NULL, "Folder.Delete", OBJECT),
    REQ("DELETE", "/api/vcenter/folder/{folder}", NULL, "Folder.Delete", PARENT),
    END("DELETE", "/api/vcenter/folder/{folder}", NULL),
    READ_LIST("/api/vcenter/cluster"),
    REQ("POST", "/api/vcenter/cluster", NULL, "Host.Inventory.CreateCluster", TARGET_FOLDER),
    END("POST", "/api/vcenter/cluster", NULL),
    READ_OBJ("/api/vcenter/cluster/{cluster}"),
    ON_OBJ("DELETE", "/api/vcenter/cluster/{cluster}", NULL, "Host.Inventory.DeleteCluster"),
    /* EVC mode (vSphere: ClusterEVCManager.ConfigureEvcMode_Task). */
    ON_OBJ("PATCH", "/api/vcenter/cluster/{cluster}", NULL, "Host.Inventory.EditCluster"),

    /* Hosts. */
    READ_LIST("/api/vcenter/host"),
    REQ("POST", "/api/vcenter/host", NULL, "Host.Inventory.AddStandaloneHost", TARGET_FOLDER),
    END("POST", "/api/vcenter/host", NULL),
    REQ("POST", "/api/vcenter/host", "with:cluster", "Host.Inventory.AddHostToCluster", CLUSTER),
    END("POST", "/api/vcenter/host", "with:cluster"),
    READ_OBJ("/api/vcenter/host/{host}"),
    REQ("DELETE", "/api/vcenter/host/{host}", NULL, "Host.Inventory.RemoveHostFromCluster", OBJECT),
    REQ("DELETE", "/api/vcenter/host/{host}", NULL, "Host.Inventory.RemoveHostFromCluster", PARENT),
    END("DELETE", "/api/vcenter/host/{host}", NULL),
    ON_OBJ("POST", "/api/vcenter/host/{host}", "enter-maintenance", "Host.Config.Maintenance"),
    ON_OBJ("POST", "/api/vcenter/host/{host}", "exit-maintenance", "Host.Config.Maintenance"),
    ON_OBJ("POST", "/api/vcenter/host/{host}", "reconnect", "Host.Config.Connection"),
    ON_OBJ("POST", "/api/vcenter/host/{host}", "disconnect", "Host.Config.Connection"),

    /* Storage, networks, resource pools. */
    READ_LIST("/api/vcenter/datastore"),
    READ_OBJ("/api/vcenter/datastore/{datastore}"),
    READ_LIST("/api/vcenter/network"),
    READ_OBJ("/api/vcenter/network/{network}"),
    READ_LIST("/api/vcenter/resource-pool"),
    READ_OBJ("/api/vcenter/resource-pool/{resource_pool}"),

    /* VMs: create and register, as vSphere's CreateVM_Task / RegisterVM_Task. */
    READ_LIST("/api/vcenter/vm"),
    REQ("POST", "/api/vcenter/vm", NULL, "VirtualMachine.Inventory.Create", TARGET_FOLDER),
    REQ("POST", "/api/vcenter/vm", NULL, "Resource.AssignVMToPool", RESOURCE_POOL),
    REQ("POST", "/api/vcenter/vm", NULL, "Datastore.AllocateSpace", DATASTORE),
    REQ("POST", "/api/vcenter/vm", NULL, "Network.Assign", NETWORK),
    END("POST", "/api/vcenter/vm", NULL),
    REQ("POST", "/api/vcenter/vm", "register", "VirtualMachine.Inventory.Register", TARGET_FOLDER),
    REQ("POST", "/api/vcenter/vm", "register", "Resource.AssignVMToPool", RESOURCE_POOL),
    END("POST", "/api/vcenter/vm", "register"),
    READ_OBJ(VM),
    REQ("DELETE", VM, NULL, "VirtualMachine.Inventory.Delete", OBJECT),
    REQ("DELETE", VM, NULL, "VirtualMachine.Inventory.Delete", PARENT),
    END("DELETE", VM, NULL),
    REQ("POST", VM, "unregister", "VirtualMachine.Inventory.Unregister", OBJECT),
    REQ("POST", VM, "unregister", "VirtualMachine.Inventory.Unregister", PARENT),
    END("POST", VM, "unregister"),

    /* Power, hard and through the guest: vSphere asks the same privilege for
     * ShutdownGuest as for PowerOff, RebootGuest as Reset, StandbyGuest as
     * Suspend — the outcome for the VM's users is the same. */
    READ_OBJ(VM "/power"),
    ON_OBJ("POST", VM "/power", "start", "VirtualMachine.Interact.PowerOn"),
    ON_OBJ("POST", VM "/power", "stop", "VirtualMachine.Interact.PowerOff"),
    ON_OBJ("POST", VM "/power", "suspend", "VirtualMachine.Interact.Suspend"),
    ON_OBJ("POST", VM "/power", "reset", "VirtualMachine.Interact.Reset"),
    READ_OBJ(VM "/guest/power"),
    ON_OBJ("POST", VM "/guest/power", "shutdown", "VirtualMachine.Interact.PowerOff"),
    ON_OBJ("POST", VM "/guest/power", "reboot", "VirtualMachine.Interact.Reset"),
    ON_OBJ("POST", VM "/guest/power", "standby", "VirtualMachine.Interact.Suspend"),
    READ_OBJ(VM "/guest/identity"),
    READ_OBJ(VM "/tools"),
    /* Freezing the guest's filesystems is what a quiesced snapshot does;
     * whoever may take snapshots may quiesce, and nobody else. */
    ON_OBJ("POST", VM "/guest/filesystem", "freeze", "VirtualMachine.State.CreateSnapshot"),
    ON_OBJ("POST", VM "/guest/filesystem", "thaw", "VirtualMachine.State.CreateSnapshot"),

    /* Migration (vSphere's RelocateVM_Task): a running VM needs HotMigrate,
     * one powered off or suspended ColdMigrate ("with:cold"); a new pool
     * AssignVMToPool, a new datastore AllocateSpace there ("with:datastore").
     * The handler (api-migrate.c) picks the variant. */
    REQ("POST", VM, "relocate", "Resource.HotMigrate", OBJECT),
    REQ("POST", VM, "relocate", "Resource.AssignVMToPool", RESOURCE_POOL),
    END("POST", VM, "relocate"),
    REQ("POST", VM, "with:cold", "Resource.ColdMigrate", OBJECT),
    REQ("POST", VM, "with:cold", "Resource.AssignVMToPool", RESOURCE_POOL),
    END("POST", VM, "with:cold"),
    ON_OBJ("POST", VM, "with:datastore", "Datastore.AllocateSpace"),

    /* Hardware. */
    READ_OBJ(HW "/cpu"),
    ON_OBJ("PATCH", HW "/cpu", NULL, "VirtualMachine.Config.CPUCount"),
    READ_OBJ(HW "/memory"),
    ON_OBJ("PATCH", HW "/memory", NULL, "VirtualMachine.Config.Memory"),
    READ_OBJ(HW "/disk"),
    REQ("POST", HW "/disk", NULL, "VirtualMachine.Config.AddNewDisk", OBJECT),
    REQ("POST", HW "/disk", NULL, "Datastore.AllocateSpace", DATASTORE),
    END("POST", HW "/disk", NULL),
    ON_OBJ("POST", HW "/disk", "with:existing", "VirtualMachine.Config.AddExistingDisk"),
    READ_OBJ(HW "/disk/{disk}"),
    REQ("PATCH", HW "/disk/{disk}", NULL, "VirtualMachine.Config.DiskExtend", OBJECT),
    REQ("PATCH", HW "/disk/{disk}", NULL, "Datastore.AllocateSpace", DATASTORE),
    END("PATCH", HW "/disk/{disk}", NULL),
    ON_OBJ("DELETE", HW "/disk/{disk}", NULL, "VirtualMachine.Config.RemoveDisk"),
    REQ("DELETE", HW "/disk/{disk}", "with:delete-file", "VirtualMachine.Config.RemoveDisk", OBJECT),
    REQ("DELETE", HW "/disk/{disk}", "with:delete-file", "Datastore.DeleteFile", DATASTORE),
    END("DELETE", HW "/disk/{disk}", "with:delete-file"),
    READ_OBJ(HW "/ethernet"),
    REQ("POST", HW "/ethernet", NULL, "VirtualMachine.Config.AddRemoveDevice", OBJECT),
    REQ("POST", HW "/ethernet", NULL, "Network.Assign", NETWORK),
    END("POST", HW "/ethernet", NULL),
    READ_OBJ(HW "/ethernet/{nic}"),
    REQ("PATCH", HW "/ethernet/{nic}", NULL, "VirtualMachine.Config.EditDevice", OBJECT),
    REQ("PATCH", HW "/ethernet/{nic}", NULL, "Network.Assign", NETWORK),
    END("PATCH", HW "/ethernet/{nic}", NULL),
    ON_OBJ("DELETE", HW "/ethernet/{nic}", NULL, "VirtualMachine.Config.AddRemoveDevice"),
    READ_OBJ(HW "/cdrom"),
    ON_OBJ("POST", HW "/cdrom", NULL, "VirtualMachine.Config.AddRemoveDevice"),
    READ_OBJ(HW "/cdrom/{cdrom}"),
    ON_OBJ("PATCH", HW "/cdrom/{cdrom}", NULL, "VirtualMachine.Config.EditDevice"),
    ON_OBJ("DELETE", HW "/cdrom/{cdrom}", NULL, "VirtualMachine.Config.AddRemoveDevice"),

    /* Tasks and events: visible where their object is. */
    READ_LIST("/api/cis/tasks"),
    READ_OBJ("/api/cis/tasks/{task}"),
    /* Cancel: the task's own user needs nothing more; anyone else needs
     * Global.CancelTask on the task's object ("with:other-user"). */
    END("POST", "/api/cis/tasks/{task}", "cancel"),
    ON_OBJ("POST", "/api/cis/tasks/{task}", "with:other-user", "Global.CancelTask"),
    READ_LIST("/api/vireo/events"),

    /* Security. Every session may read the catalogue and the roles, as every
     * vCenter session may read the AuthorizationManager's lists. */
    SESSION_ONLY("GET", "/api/vireo/privileges"),
    SESSION_ONLY("GET", "/api/vireo/roles"),
    SESSION_ONLY("GET", "/api/vireo/roles/{role}"),
    REQ("POST", "/api/vireo/roles", NULL, "Authorization.ModifyRoles", ROOT),
    END("POST", "/api/vireo/roles", NULL),
    REQ("PATCH", "/api/vireo/roles/{role}", NULL, "Authorization.ModifyRoles", ROOT),
    END("PATCH", "/api/vireo/roles/{role}", NULL),
    REQ("DELETE", "/api/vireo/roles/{role}", NULL, "Authorization.ModifyRoles", ROOT),
    END("DELETE", "/api/vireo/roles/{role}", NULL),
    REQ("GET", "/api/vireo/users", NULL, "System.Read", ROOT),
    END("GET", "/api/vireo/users", NULL),
    REQ("POST", "/api/vireo/users", NULL, "Host.Local.ManageUserGroups", ROOT),
    END("POST", "/api/vireo/users", NULL),
    REQ("DELETE", "/api/vireo/users/{user}", NULL, "Host.Local.ManageUserGroups", ROOT),
    END("DELETE", "/api/vireo/users/{user}", NULL),
    READ_LIST("/api/vireo/permissions"),
    REQ("POST", "/api/vireo/permissions", NULL, "Authorization.ModifyPermissions", NAMED_OBJECT),
    END("POST", "/api/vireo/permissions", NULL),
    REQ("DELETE", "/api/vireo/permissions", NULL, "Authorization.ModifyPermissions", NAMED_OBJECT),
    END("DELETE", "/api/vireo/permissions", NULL),
    /* Anyone may ask what they themselves may do where they can see; asking
     * about someone else is for those who manage permissions there. */
    REQ("GET", "/api/vireo/permissions/effective", NULL, "System.Read", NAMED_OBJECT),
    END("GET", "/api/vireo/permissions/effective", NULL),
    REQ("GET", "/api/vireo/permissions/effective", "with:other-user", "System.Read", NAMED_OBJECT),
    REQ("GET", "/api/vireo/permissions/effective", "with:other-user",
        "Authorization.ModifyPermissions", NAMED_OBJECT),
    END("GET", "/api/vireo/permissions/effective", "with:other-user"),

    { NULL, NULL, NULL, NULL, AUTHZ_TARGET_OBJECT },
};

const AuthzRequirement *
authz_route_table(void)
{
    return route_table;
}

/* Equal paths, where any "{…}" segment equals any other "{…}" segment. */
static gboolean
pattern_equal(const char *a, const char *b)
{
    while (*a && *b) {
        if (*a == '{' && *b == '{') {
            a = strchr(a, '}');
            b = strchr(b, '}');
            if (!a || !b)
                return FALSE;
        } else if (*a != *b) {
            return FALSE;
        }
        a++;
        b++;
    }
    return *a == *b;
}

const AuthzRequirement *
authz_route_requirements(const char *method, const char *pattern, const char *action)
{
    if (!method || !pattern)
        return NULL;
    for (const AuthzRequirement *r = route_table; r->method; r++) {
        if (strcmp(r->method, method) == 0 && g_strcmp0(r->action, action) == 0 &&
            pattern_equal(r->pattern, pattern))
            return r;
    }
    return NULL;
}

static const char *const target_names[AUTHZ_TARGET_LAST] = {
    [AUTHZ_TARGET_OBJECT] = "object",
    [AUTHZ_TARGET_PARENT] = "parent folder",
    [AUTHZ_TARGET_TARGET_FOLDER] = "target folder",
    [AUTHZ_TARGET_DATASTORE] = "datastore",
    [AUTHZ_TARGET_RESOURCE_POOL] = "resource pool",
    [AUTHZ_TARGET_NETWORK] = "network",
    [AUTHZ_TARGET_CLUSTER] = "cluster",
    [AUTHZ_TARGET_NAMED_OBJECT] = "named object",
    [AUTHZ_TARGET_ROOT] = "root folder",
    [AUTHZ_TARGET_EACH_LISTED] = "each listed object",
};

const char *
authz_target_to_string(AuthzTarget target)
{
    if ((guint)target >= AUTHZ_TARGET_LAST)
        return NULL;
    return target_names[target];
}
