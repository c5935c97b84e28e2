/* center-migrate-record.c — a migration's progress kept on its VM in the
 * inventory ("vireo_migration", a JSON text attribute), written before each
 * step is sent, so that a vireo-centerd killed mid-migration finds it at
 * start and finishes or rolls it back (center-migrate.c, "Recovery").
 */
#include "center-migrate.h"

#include "json-util.h"

#define RECORD_ATTR "vireo_migration"

void
center_migration_record_save(Store *store, const char *vm, JsonObject *record)
{
    g_autoptr(JsonNode) rn = json_node_new(JSON_NODE_OBJECT);
    json_node_set_object(rn, record);
    g_autofree char *text = json_util_to_string(rn, FALSE);
    g_autoptr(JsonNode) patch = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(patch, json_object_new());
    json_object_set_string_member(json_node_get_object(patch), RECORD_ATTR, text);
    g_autofree char *attrs = json_util_to_string(patch, FALSE);
    g_autoptr(GError) error = NULL;
    if (!store_object_set_attrs(store, vm, attrs, TRUE, &error))
        g_warning("%s: the migration's step is not recorded: %s", vm, error->message);
}

void
center_migration_record_clear(Store *store, const char *vm)
{
    g_autoptr(GError) error = NULL;
    if (!store_object_set_attrs(store, vm, "{\"" RECORD_ATTR "\": null}", TRUE, &error))
        g_warning("%s: the migration's record stays: %s", vm, error->message);
}

GPtrArray *
center_migration_records(Store *store)
{
    StoreObjectFilter filter = { .kind = STORE_KIND_VM, .attr_name = RECORD_ATTR };
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) vms = store_object_list(store, &filter, &error);
    GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)json_object_unref);
    if (!vms)
        g_warning("cannot list unfinished migrations: %s", error->message);
    for (guint i = 0; vms && i < vms->len; i++) {
        StoreObject *o = g_ptr_array_index(vms, i);
        g_autofree char *text = store_object_attr_string(o, RECORD_ATTR);
        g_autoptr(JsonNode) node = text ? json_util_parse(text, -1, 4, NULL) : NULL;
        if (!node || !JSON_NODE_HOLDS_OBJECT(node))
            continue;
        JsonObject *r = json_object_ref(json_node_get_object(node));
        json_object_set_string_member(r, "vm", o->id);
        g_ptr_array_add(out, r);
    }
    return out;
}
