/* center-cold-recover.c — settles a cold migration that could not end
 * normally: one a restart of vireo-centerd interrupted (its record on the
 * VM, center_migration_records), or one whose host did not answer its abort
 * or commit. The rule (docs/migration.md, "Cold migration"): before the
 * destination registered the VM, both sides abort and the VM stays on the
 * source; once the destination registered it (or was asked to: it answers
 * a repeated commit with the VM), the source unregisters it and deletes its
 * files. A host that does not answer is asked again every
 * CENTER_MIGRATION_RETRY_S seconds; the VM stays locked meanwhile.
 *
 *   registered ─────────────▶ commit source ──────────────────────▶ settled (destination)
 *   step "register" ──▶ commit destination ─ok─▶ inventory moved ─┘
 *                                │ refused
 *   earlier steps ─────────▶ abort destination ──▶ abort source ──▶ settled (source)
 */
#include "center-cold-migrate.h"
#include "center-migrate.h"

#include "json-util.h"
#include "vireo-error.h"

typedef struct {
    Center *c;
    JsonObject *r;         /* the record */
    gboolean restarted;
    int abort_stage;       /* 0: destination next, 1: source next, 2: done */
    guint timer;
} ColdSettle;

static void settle_step(ColdSettle *s);

static const char *
rec(ColdSettle *s, const char *member)
{
    return json_object_get_string_member_with_default(s->r, member, "");
}

static gboolean
rec_bool(ColdSettle *s, const char *member)
{
    return json_object_get_boolean_member_with_default(s->r, member, FALSE);
}

static gboolean
answered(guint status)
{
    return status >= 200 && status < 500;
}

void
center_cold_inventory_move(Center *c, JsonObject *r, const char *power_state)
{
    const char *vm = json_object_get_string_member_with_default(r, "vm", NULL);
    const char *mid = json_object_get_string_member_with_default(r, "migration", "?");
    const char *destination = json_object_get_string_member_with_default(r, "destination", NULL);
    const char *destination_vm = json_object_get_string_member_with_default(r, "destination_vm", NULL);
    const char *datastore = json_object_get_string_member_with_default(r, "datastore", NULL);
    const char *pool = json_object_get_string_member_with_default(r, "destination_pool", NULL);
    g_autoptr(GError) error = NULL;
    if (!vm || !destination || !destination_vm)
        return;
    /* A reconcile of the destination that ran meanwhile imported it as a new VM: that duplicate goes. */
    g_autofree char *dup = store_vm_find_by_host_ref(c->store, destination, destination_vm, NULL);
    JsonObject *o = json_object_new();
    json_object_set_string_member(o, STORE_ATTR_VM_HOST, destination);
    json_object_set_string_member(o, STORE_ATTR_VM_HOST_REF, destination_vm);
    if (power_state)
        json_object_set_string_member(o, "power_state", power_state);
    if (datastore)
        json_object_set_string_member(o, STORE_ATTR_VM_DATASTORE, datastore);
    if (pool)
        json_object_set_string_member(o, STORE_ATTR_VM_RESOURCE_POOL, pool);
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, o);
    g_autofree char *attrs = json_util_to_string(node, FALSE);
    if (dup && !g_str_equal(dup, vm)) {
        g_message("cold migration %s: %s was also imported as %s by a reconcile; removed", mid, vm, dup);
        store_object_delete(c->store, dup, TRUE, NULL);
    }
    if (!store_object_set_attrs(c->store, vm, attrs, TRUE, &error))
        g_warning("cold migration %s: the inventory still places %s on its source: %s", mid, vm, error->message);
}

static void
settle_free(ColdSettle *s)
{
    g_clear_handle_id(&s->timer, g_source_remove);
    json_object_unref(s->r);
    g_free(s);
}

static void
settle_done(ColdSettle *s, gboolean on_destination)
{
    const char *name = rec(s, "vm_name");
    center_event(s->c, NULL, rec(s, "vm"), "VmMigrationResolvedEvent", FALSE, rec(s, "migration"),
                 "the interrupted cold migration of %s (%s) is settled: %s is on %s", name, rec(s, "migration"),
                 name, on_destination ? rec(s, "destination_name") : rec(s, "source_name"));
    center_migration_record_clear(s->c->store, rec(s, "vm"));
    center_vm_unlock(s->c, rec(s, "vm"));
    settle_free(s);
}

static gboolean
on_retry(gpointer data)
{
    ColdSettle *s = data;
    s->timer = 0;
    settle_step(s);
    return G_SOURCE_REMOVE;
}

static void
retry_later(ColdSettle *s)
{
    s->timer = g_timeout_add_seconds(CENTER_MIGRATION_RETRY_S, on_retry, s);
}

static void
settle_send(ColdSettle *s, gboolean destination, const char *action, HostLinkReply callback)
{
    HostLink *link = center_host_link(s->c, rec(s, destination ? "destination" : "source"), NULL);
    if (!link) {
        retry_later(s);
        return;
    }
    JsonObject *o = json_object_new();
    json_object_set_string_member(o, "migration", rec(s, "migration"));
    json_object_set_string_member(o, "role", destination ? "destination" : "source");
    if (g_str_equal(action, "commit") && !destination)
        json_object_set_boolean_member(o, "remove_files", rec_bool(s, "copy"));
    if (g_str_equal(action, "commit") && destination && !rec_bool(s, "copy")) {
        json_object_set_string_member(o, "vmx_path", rec(s, "vmx_path"));
        json_object_set_string_member(o, "name", rec(s, "vm_name"));
    }
    JsonNode *body = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(body, o);
    g_autofree char *path = g_strdup_printf("/api/vireo/cold-migration?action=%s", action);
    host_link_request(link, "POST", path, body, callback, s);
}

static void
on_source_commit(HostLink *link, guint status, JsonNode *answer, const GError *error, gpointer data)
{
    ColdSettle *s = data;
    if (!answered(status)) {
        retry_later(s);
        return;
    }
    if (error && status != 404)
        g_warning("cold migration %s: the source's commit: %s; its old files on %s may need removing by hand",
                  rec(s, "migration"), error->message, rec(s, "source_name"));
    settle_done(s, TRUE);
}

static void
on_destination_commit(HostLink *link, guint status, JsonNode *answer, const GError *error, gpointer data)
{
    ColdSettle *s = data;
    JsonObject *o = !error && answer && JSON_NODE_HOLDS_OBJECT(answer) ? json_node_get_object(answer) : NULL;
    const char *vm = o ? json_object_get_string_member_with_default(o, "vm", NULL) : NULL;
    if (vm) {
        json_object_set_string_member(s->r, "destination_vm", vm);
        json_object_set_boolean_member(s->r, "registered", TRUE);
        center_cold_inventory_move(s->c, s->r, json_object_get_string_member_with_default(o, "power_state", NULL));
        center_migration_record_save(s->c->store, rec(s, "vm"), s->r);
    } else if (answered(status)) {
        /* The destination has no verified copy to register: roll back. */
        json_object_set_string_member(s->r, "step", "copy");
        json_object_set_boolean_member(s->r, "import_sent", TRUE);
    } else {
        retry_later(s);
        return;
    }
    settle_step(s);
}

static void
on_abort(HostLink *link, guint status, JsonNode *answer, const GError *error, gpointer data)
{
    ColdSettle *s = data;
    if (!answered(status)) {
        retry_later(s);
        return;
    }
    if (error)
        g_warning("cold migration %s: abort: %s", rec(s, "migration"), error->message);
    s->abort_stage++;
    settle_step(s);
}

static void
settle_step(ColdSettle *s)
{
    if (rec_bool(s, "registered"))
        settle_send(s, FALSE, "commit", on_source_commit);
    else if (g_str_equal(rec(s, "step"), "register"))
        settle_send(s, TRUE, "commit", on_destination_commit);
    else if (s->abort_stage == 0 && !rec_bool(s, "import_sent")) {
        s->abort_stage = 1;   /* nothing was sent to the destination */
        settle_step(s);
    } else if (s->abort_stage == 0)
        settle_send(s, TRUE, "abort", on_abort);
    else if (s->abort_stage == 1)
        settle_send(s, FALSE, "abort", on_abort);
    else
        settle_done(s, FALSE);
}

void
center_cold_settle(Center *c, JsonObject *record, gboolean restarted)
{
    ColdSettle *s = g_new0(ColdSettle, 1);
    s->c = c;
    s->r = json_object_ref(record);
    s->restarted = restarted;
    g_message("cold migration %s of %s: %s at step %s; settling it", rec(s, "migration"), rec(s, "vm_name"),
              restarted ? "interrupted by a restart of vireo-centerd" : "a host did not answer", rec(s, "step"));
    g_hash_table_replace(c->vm_locks, g_strdup(rec(s, "vm")), g_strdup(rec(s, "migration")));
    if (restarted)
        retry_later(s);   /* the host links connect first */
    else
        settle_step(s);
}

void
center_cold_migrations_recover(Center *c)
{
    g_autoptr(GPtrArray) records = center_migration_records(c->store);
    for (guint i = 0; i < records->len; i++) {
        JsonObject *r = g_ptr_array_index(records, i);
        if (g_strcmp0(json_object_get_string_member_with_default(r, "kind", NULL), "cold") != 0)
            continue;
        if (!json_object_has_member(r, "migration") || !json_object_has_member(r, "source") ||
            !json_object_has_member(r, "destination")) {
            g_warning("%s: an unreadable cold migration record; dropped",
                      json_object_get_string_member_with_default(r, "vm", "?"));
            center_migration_record_clear(c->store, json_object_get_string_member_with_default(r, "vm", ""));
            continue;
        }
        center_cold_settle(c, r, TRUE);
    }
}
