/* migration-cost.c — vSphere's limits on simultaneous migrations: what each
 * migration costs on hosts, their vMotion networks and datastores, a tracker
 * of the cost in flight, and the FIFO queue where a migration over a limit
 * waits for its turn. Pure code: no I/O, clock or process.
 *
 * Costs (vSphere's table; cold migration is Vireo's choice, see
 * docs/migration-checks.md):
 *
 *   kind                     host     network (vMotion link)  datastore
 *   vMotion                  1 each   1 each host             1 on each datastore it uses
 *   Storage vMotion          4        -                       16 on each source and target
 *   vMotion+Storage vMotion  4 each   1 each host             16 moved, 1 staying
 *   cold                     1 each   -                       16 moved, 1 staying if host changes
 *
 *   maxima: host 8, network 4 below 10 Gb/s and 8 from it, datastore 128.
 */
#include "migration-check.h"

#include <string.h>

#define COST_VMOTION_HOST 1
#define COST_STORAGE_VMOTION_HOST 4
#define COST_COLD_HOST 1
#define COST_VMOTION_NETWORK 1
#define COST_VMOTION_DATASTORE 1
#define COST_COPY_DATASTORE 16

static const char *const resource_names[] = {
    [MIGRATION_RESOURCE_HOST] = "host",
    [MIGRATION_RESOURCE_NETWORK] = "network",
    [MIGRATION_RESOURCE_DATASTORE] = "datastore",
};

const char *
migration_resource_to_string(MigrationResource resource)
{
    return (guint)resource < G_N_ELEMENTS(resource_names) ? resource_names[resource] : NULL;
}

void
migration_limits_init_default(MigrationLimits *limits)
{
    limits->network_max_slow = 4;
    limits->network_max_fast = 8;
    limits->fast_link_mbps = 10000;
    limits->host_max = 8;
    limits->datastore_max = 128;
}

/* ---- demands ------------------------------------------------------------ */

static void
charge_free(gpointer p)
{
    MigrationCharge *c = p;
    g_free(c->id);
    g_free(c->name);
    g_free(c);
}

void
migration_demand_free(MigrationDemand *demand)
{
    if (demand == NULL)
        return;
    g_free(demand->vm_name);
    g_ptr_array_unref(demand->charges);
    g_free(demand);
}

const MigrationCharge *
migration_demand_find(const MigrationDemand *demand, MigrationResource resource,
                      const char *id)
{
    for (guint i = 0; i < demand->charges->len; i++) {
        const MigrationCharge *c = g_ptr_array_index(demand->charges, i);
        if (c->resource == resource && g_strcmp0(c->id, id) == 0)
            return c;
    }
    return NULL;
}

/* One charge per resource: a resource touched twice costs the larger
 * amount, as one operation occupies it once. */
static void
charge(MigrationDemand *demand, MigrationResource resource, const char *id,
       const char *name, guint cost, guint link_mbps)
{
    MigrationCharge *c = (MigrationCharge *)migration_demand_find(demand, resource, id);

    if (c == NULL) {
        c = g_new0(MigrationCharge, 1);
        c->resource = resource;
        c->id = g_strdup(id);
        c->name = g_strdup(name);
        c->link_mbps = link_mbps;
        g_ptr_array_add(demand->charges, c);
    }
    c->cost = MAX(c->cost, cost);
}

static void
charge_host(MigrationDemand *demand, const MigrationHost *host, MigrationKind kind)
{
    guint cost = kind == MIGRATION_KIND_COLD ? COST_COLD_HOST
               : kind == MIGRATION_KIND_VMOTION ? COST_VMOTION_HOST
               : COST_STORAGE_VMOTION_HOST;

    /* The network first: a full vMotion link is what a user looks for. */
    if (kind == MIGRATION_KIND_VMOTION || kind == MIGRATION_KIND_VMOTION_STORAGE_VMOTION)
        charge(demand, MIGRATION_RESOURCE_NETWORK, host->id, host->name,
               COST_VMOTION_NETWORK, host->vmotion_link_mbps);
    charge(demand, MIGRATION_RESOURCE_HOST, host->id, host->name, cost, 0);
}

/* A file that moves costs a copy on both datastores; one that stays costs
 * a vMotion's 1 when the VM changes host (the destination opens it). */
static void
charge_file(MigrationDemand *demand, const char *from, const char *to, gboolean host_changes)
{
    if (from == NULL || to == NULL)
        return;
    if (strcmp(from, to) != 0) {
        charge(demand, MIGRATION_RESOURCE_DATASTORE, from, from, COST_COPY_DATASTORE, 0);
        charge(demand, MIGRATION_RESOURCE_DATASTORE, to, to, COST_COPY_DATASTORE, 0);
    } else if (host_changes) {
        charge(demand, MIGRATION_RESOURCE_DATASTORE, from, from, COST_VMOTION_DATASTORE, 0);
    }
}

MigrationDemand *
migration_demand_new(const MigrationVm *vm, const MigrationRequest *request)
{
    MigrationDemand *demand = g_new0(MigrationDemand, 1);
    const MigrationHost *target = migration_request_target_host(request);
    gboolean host_changes = g_strcmp0(target->id, request->source->id) != 0;

    demand->kind = migration_kind_decide(vm, request);
    demand->vm_name = g_strdup(vm->name);
    demand->charges = g_ptr_array_new_with_free_func(charge_free);
    if (demand->kind == MIGRATION_KIND_NONE)
        return demand;

    charge_host(demand, request->source, demand->kind);
    if (host_changes)
        charge_host(demand, target, demand->kind);
    charge_file(demand, vm->home_datastore,
                migration_request_target_datastore(request, vm, NULL), host_changes);
    for (guint i = 0; i < vm->disks->len; i++) {
        const MigrationDisk *d = g_ptr_array_index(vm->disks, i);
        charge_file(demand, d->datastore,
                    migration_request_target_datastore(request, vm, d), host_changes);
    }
    return demand;
}

/* ---- the tracker -------------------------------------------------------- */

struct _MigrationCosts {
    MigrationLimits limits;
    GHashTable *in_use;   /* resource key -> cost in flight (GUINT_TO_POINTER) */
};

static char *
resource_key(MigrationResource resource, const char *id)
{
    return g_strdup_printf("%s/%s", migration_resource_to_string(resource), id);
}

MigrationCosts *
migration_costs_new(const MigrationLimits *limits)
{
    MigrationCosts *costs = g_new0(MigrationCosts, 1);

    if (limits != NULL)
        costs->limits = *limits;
    else
        migration_limits_init_default(&costs->limits);
    costs->in_use = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    return costs;
}

void
migration_costs_free(MigrationCosts *costs)
{
    if (costs == NULL)
        return;
    g_hash_table_unref(costs->in_use);
    g_free(costs);
}

guint
migration_costs_max(const MigrationCosts *costs, MigrationResource resource, guint link_mbps)
{
    switch (resource) {
    case MIGRATION_RESOURCE_HOST:
        return costs->limits.host_max;
    case MIGRATION_RESOURCE_NETWORK:
        return link_mbps >= costs->limits.fast_link_mbps ? costs->limits.network_max_fast
                                                         : costs->limits.network_max_slow;
    case MIGRATION_RESOURCE_DATASTORE:
    default:
        return costs->limits.datastore_max;
    }
}

guint
migration_costs_in_use(const MigrationCosts *costs, MigrationResource resource, const char *id)
{
    g_autofree char *key = resource_key(resource, id);
    return GPOINTER_TO_UINT(g_hash_table_lookup(costs->in_use, key));
}

static gboolean
charge_fits(const MigrationCosts *costs, const MigrationCharge *c)
{
    guint used = migration_costs_in_use(costs, c->resource, c->id);
    guint max = migration_costs_max(costs, c->resource, c->link_mbps);

    /* An oversized charge runs alone rather than never. */
    return used == 0 || used + c->cost <= max;
}

static char *
describe_full(const MigrationCosts *costs, const MigrationCharge *c)
{
    guint used = migration_costs_in_use(costs, c->resource, c->id);
    guint max = migration_costs_max(costs, c->resource, c->link_mbps);

    switch (c->resource) {
    case MIGRATION_RESOURCE_NETWORK:
        if (c->link_mbps == 0)
            return g_strdup_printf("host %s runs %u of %u vMotion slots (vMotion link speed "
                                   "unknown, counted as 1 Gb/s)", c->name, used, max);
        return g_strdup_printf("host %s runs %u of %u vMotion slots (%u Mb/s vMotion link)",
                               c->name, used, max, c->link_mbps);
    case MIGRATION_RESOURCE_HOST:
        return g_strdup_printf("host %s uses %u of %u migration cost units, this migration "
                               "needs %u", c->name, used, max, c->cost);
    case MIGRATION_RESOURCE_DATASTORE:
    default:
        return g_strdup_printf("datastore %s uses %u of %u migration cost units, this "
                               "migration needs %u", c->name, used, max, c->cost);
    }
}

gboolean
migration_costs_can_start(const MigrationCosts *costs, const MigrationDemand *demand,
                          char **waiting_reason)
{
    g_autoptr(GString) why = g_string_new("waiting: ");
    gboolean fits = TRUE;

    for (guint i = 0; i < demand->charges->len; i++) {
        const MigrationCharge *c = g_ptr_array_index(demand->charges, i);
        if (charge_fits(costs, c))
            continue;
        g_autofree char *text = describe_full(costs, c);
        if (!fits)
            g_string_append(why, "; ");
        g_string_append(why, text);
        fits = FALSE;
    }
    if (!fits && waiting_reason != NULL)
        *waiting_reason = g_string_free(g_steal_pointer(&why), FALSE);
    return fits;
}

static void
add_in_use(MigrationCosts *costs, const MigrationCharge *c, gboolean release)
{
    g_autofree char *key = resource_key(c->resource, c->id);
    guint used = GPOINTER_TO_UINT(g_hash_table_lookup(costs->in_use, key));

    if (!release) {
        used += c->cost;
    } else {
        g_return_if_fail(used >= c->cost);
        used -= c->cost;
    }
    if (used == 0)
        g_hash_table_remove(costs->in_use, key);
    else
        g_hash_table_insert(costs->in_use, g_steal_pointer(&key), GUINT_TO_POINTER(used));
}

void
migration_costs_start(MigrationCosts *costs, const MigrationDemand *demand)
{
    for (guint i = 0; i < demand->charges->len; i++)
        add_in_use(costs, g_ptr_array_index(demand->charges, i), FALSE);
}

void
migration_costs_finish(MigrationCosts *costs, const MigrationDemand *demand)
{
    for (guint i = 0; i < demand->charges->len; i++)
        add_in_use(costs, g_ptr_array_index(demand->charges, i), TRUE);
}

/* ---- the queue ---------------------------------------------------------- */

typedef struct {
    MigrationDemand *demand;
    gpointer data;
    GHashTable *reserved;  /* resource keys it found full; sticky until it starts */
} QueueEntry;

struct _MigrationQueue {
    GQueue entries;        /* QueueEntry, oldest first */
};

static void
entry_free(QueueEntry *e)
{
    migration_demand_free(e->demand);
    g_hash_table_unref(e->reserved);
    g_free(e);
}

MigrationQueue *
migration_queue_new(void)
{
    MigrationQueue *queue = g_new0(MigrationQueue, 1);
    g_queue_init(&queue->entries);
    return queue;
}

void
migration_queue_free(MigrationQueue *queue)
{
    if (queue == NULL)
        return;
    g_queue_clear_full(&queue->entries, (GDestroyNotify)entry_free);
    g_free(queue);
}

guint
migration_queue_length(const MigrationQueue *queue)
{
    return queue->entries.length;
}

void
migration_queue_push(MigrationQueue *queue, MigrationDemand *demand, gpointer data)
{
    QueueEntry *e = g_new0(QueueEntry, 1);

    e->demand = demand;
    e->data = data;
    e->reserved = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_queue_push_tail(&queue->entries, e);
}

/* The names of the entry's resources that an earlier entry reserved, or
 * NULL when none is. */
static char *
blocked_by_ahead(const QueueEntry *e, GHashTable *ahead)
{
    g_autoptr(GString) names = NULL;

    for (guint i = 0; i < e->demand->charges->len; i++) {
        const MigrationCharge *c = g_ptr_array_index(e->demand->charges, i);
        g_autofree char *key = resource_key(c->resource, c->id);
        if (!g_hash_table_contains(ahead, key))
            continue;
        if (names == NULL)
            names = g_string_new(NULL);
        else
            g_string_append(names, ", ");
        g_string_append_printf(names, "%s %s", c->resource == MIGRATION_RESOURCE_DATASTORE
                               ? "datastore" : "host", c->name);
    }
    return names != NULL ? g_string_free(g_steal_pointer(&names), FALSE) : NULL;
}

static void
reserve_full(QueueEntry *e, const MigrationCosts *costs)
{
    for (guint i = 0; i < e->demand->charges->len; i++) {
        const MigrationCharge *c = g_ptr_array_index(e->demand->charges, i);
        if (!charge_fits(costs, c))
            g_hash_table_add(e->reserved, resource_key(c->resource, c->id));
    }
}

static void
add_keys(GHashTable *into, GHashTable *from)
{
    GHashTableIter iter;
    gpointer key;

    g_hash_table_iter_init(&iter, from);
    while (g_hash_table_iter_next(&iter, &key, NULL))
        g_hash_table_add(into, key);   /* borrowed from the entry */
}

gpointer
migration_queue_next_startable(MigrationQueue *queue, MigrationCosts *costs,
                               MigrationDemand **demand_out)
{
    g_autoptr(GHashTable) ahead = g_hash_table_new(g_str_hash, g_str_equal);

    for (GList *l = queue->entries.head; l != NULL; l = l->next) {
        QueueEntry *e = l->data;
        g_autofree char *blocked = blocked_by_ahead(e, ahead);

        if (blocked == NULL) {
            if (migration_costs_can_start(costs, e->demand, NULL)) {
                gpointer data = e->data;
                migration_costs_start(costs, e->demand);
                *demand_out = g_steal_pointer(&e->demand);
                g_queue_delete_link(&queue->entries, l);
                entry_free(e);
                return data;
            }
            reserve_full(e, costs);
        }
        add_keys(ahead, e->reserved);
    }
    *demand_out = NULL;
    return NULL;
}

gboolean
migration_queue_remove(MigrationQueue *queue, gpointer data)
{
    for (GList *l = queue->entries.head; l != NULL; l = l->next) {
        QueueEntry *e = l->data;
        if (e->data == data) {
            g_queue_delete_link(&queue->entries, l);
            entry_free(e);
            return TRUE;
        }
    }
    return FALSE;
}

char *
migration_queue_describe(const MigrationQueue *queue, const MigrationCosts *costs,
                         gpointer data)
{
    g_autoptr(GHashTable) ahead = g_hash_table_new(g_str_hash, g_str_equal);
    guint position = 0;

    for (GList *l = queue->entries.head; l != NULL; l = l->next, position++) {
        QueueEntry *e = l->data;
        g_autofree char *full = NULL;
        g_autofree char *blocked = NULL;

        if (e->data != data) {
            add_keys(ahead, e->reserved);
            continue;
        }
        if (!migration_costs_can_start(costs, e->demand, &full))
            return g_strdup_printf("queued (%u ahead); %s", position, full);
        blocked = blocked_by_ahead(e, ahead);
        if (blocked != NULL)
            return g_strdup_printf("queued (%u ahead); waiting for earlier migrations "
                                   "that need %s", position, blocked);
        return g_strdup_printf("queued (%u ahead); ready to start", position);
    }
    return NULL;
}
