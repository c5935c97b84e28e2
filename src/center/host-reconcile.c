/* host-reconcile.c — what changed on a host while the centre was not looking:
 * the centre's VMs of that host against a HostSnapshot. Pure: no I/O, so it
 * is tested with tables.
 */
#include "host-link.h"

static void
change_free(gpointer data)
{
    HostReconcileChange *c = data;

    g_free(c->centre_id);
    g_free(c->host_id);
    g_free(c->name);
    g_free(c->power_state);
    g_free(c->vmx_path);
    g_free(c);
}

void
host_reconcile_free(HostReconcile *diff)
{
    if (!diff)
        return;
    g_ptr_array_unref(diff->added);
    g_ptr_array_unref(diff->removed);
    g_ptr_array_unref(diff->changed);
    g_free(diff);
}

static HostReconcileFields
fields_that_differ(const HostKnownVm *known, const HostSnapshotVm *vm)
{
    HostReconcileFields fields = 0;

    if (g_strcmp0(known->name, vm->name) != 0)
        fields |= HOST_RECONCILE_NAME;
    if (g_strcmp0(known->power_state, vm->power_state) != 0)
        fields |= HOST_RECONCILE_POWER_STATE;
    if (g_strcmp0(known->host_id, vm->id) != 0)
        fields |= HOST_RECONCILE_HOST_ID;
    if (g_strcmp0(known->vmx_path, vm->vmx_path) != 0)
        fields |= HOST_RECONCILE_VMX_PATH;
    return fields;
}

typedef enum { MATCH_ID_AND_PATH, MATCH_PATH, MATCH_ID } MatchRule;

static gboolean
same_vm(const HostKnownVm *known, const HostSnapshotVm *vm, MatchRule rule)
{
    gboolean id = known->host_id && *known->host_id && g_strcmp0(known->host_id, vm->id) == 0;
    gboolean path = known->vmx_path && *known->vmx_path && g_strcmp0(known->vmx_path, vm->vmx_path) == 0;

    return rule == MATCH_ID_AND_PATH ? id && path : rule == MATCH_PATH ? path : id;
}

/* Index of the first snapshot VM no other known VM has claimed that is
 * this known VM by the rule, or -1. */
static gint
find_unclaimed(const HostSnapshot *snap, const gboolean *claimed, const HostKnownVm *known,
               MatchRule rule)
{
    for (guint i = 0; i < snap->vms->len; i++) {
        if (!claimed[i] && same_vm(known, g_ptr_array_index(snap->vms, i), rule))
            return (gint)i;
    }
    return -1;
}

static void
record_match(HostReconcile *diff, const HostKnownVm *known, const HostSnapshotVm *vm)
{
    HostReconcileFields fields = fields_that_differ(known, vm);
    HostReconcileChange *c;

    if (!fields)
        return;
    c = g_new0(HostReconcileChange, 1);
    c->centre_id = g_strdup(known->centre_id);
    c->host_id = g_strdup(vm->id);
    c->name = g_strdup(vm->name);
    c->power_state = g_strdup(vm->power_state);
    c->vmx_path = g_strdup(vm->vmx_path);
    c->fields = fields;
    g_ptr_array_add(diff->changed, c);
}

HostReconcile *
host_reconcile_diff(const HostSnapshot *snap, const HostKnownVm *known, gsize n_known)
{
    HostReconcile *diff = g_new0(HostReconcile, 1);
    g_autofree gboolean *claimed = g_new0(gboolean, snap->vms->len + 1);
    g_autofree gint *match = g_new(gint, n_known + 1);

    diff->added = g_ptr_array_new_with_free_func(g_free);
    diff->removed = g_ptr_array_new_with_free_func(g_free);
    diff->changed = g_ptr_array_new_with_free_func(change_free);
    /* Strictest rule first for every known VM, so that a looser match
     * never takes a VM that another known VM is by a stricter one: a VM
     * re-registered on the host keeps its files (path) and gets a new id; a
     * host whose inventory was reset may give an old id to other files. */
    for (gsize k = 0; k < n_known; k++)
        match[k] = -1;
    for (MatchRule rule = MATCH_ID_AND_PATH; rule <= MATCH_ID; rule++) {
        for (gsize k = 0; k < n_known; k++) {
            if (match[k] >= 0)
                continue;
            match[k] = find_unclaimed(snap, claimed, &known[k], rule);
            if (match[k] >= 0)
                claimed[match[k]] = TRUE;
        }
    }
    for (gsize k = 0; k < n_known; k++) {
        if (match[k] < 0)
            g_ptr_array_add(diff->removed, g_strdup(known[k].centre_id));
        else
            record_match(diff, &known[k], g_ptr_array_index(snap->vms, match[k]));
    }
    for (guint i = 0; i < snap->vms->len; i++) {
        if (!claimed[i])
            g_ptr_array_add(diff->added,
                            g_strdup(((const HostSnapshotVm *)g_ptr_array_index(snap->vms, i))->id));
    }
    return diff;
}
