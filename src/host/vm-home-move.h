/* vm-home-move.h — the last step of a Storage vMotion with
 * placement.datastore: a running VM's home (.vmx, .vmsd, vmware.log) follows
 * its disks to the new datastore (docs/migration.md, "Storage vMotion on a host").
 */
#pragma once

#include "host.h"
#include "vm.h"

G_BEGIN_DECLS

/* Moves vm's home into <ds>/<same folder name> and re-points the VM (its
 * vmx_path, dir, datastore, inventory.ini entry; the id stays). TRUE with
 * *kept_reason NULL: moved; TRUE with *kept_reason set: deliberately left
 * where it is (EFI, already there); FALSE: failed, the VM is untouched in
 * its old home and nothing is left on ds but what was there before. */
gboolean vm_home_move(Vm *vm, const HostDatastoreConfig *ds, char **kept_reason, GError **error);

G_END_DECLS
