/* inventory.h — the host's small persistent inventory: which VMs are
 * registered (id -> .vmx path) and the stable ids of datastores and port
 * groups. Kept in <state_dir>/inventory.ini, rewritten atomically on change.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct Inventory Inventory;

Inventory *inventory_load(const char *path, GError **error);
void inventory_free(Inventory *inv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Inventory, inventory_free)

/* The VMs registered: a list of ids (transfer container; strings borrowed). */
GPtrArray *inventory_vm_ids(Inventory *inv);
const char *inventory_vm_vmx(Inventory *inv, const char *vm_id);
/* Registers a .vmx and returns its new id "vm-N" (N never reused). */
char *inventory_add_vm(Inventory *inv, const char *vmx_path, GError **error);
gboolean inventory_remove_vm(Inventory *inv, const char *vm_id, GError **error);
gboolean inventory_set_vm_vmx(Inventory *inv, const char *vm_id, const char *vmx_path, GError **error);

/* Stable ids for named objects of a kind ("datastore", "network"): the same
 * name always gets the same id ("datastore-1"). Saved on first use. */
const char *inventory_object_id(Inventory *inv, const char *kind, const char *name);
/* The name an id was given, or NULL. */
const char *inventory_object_name(Inventory *inv, const char *kind, const char *id);

G_END_DECLS
