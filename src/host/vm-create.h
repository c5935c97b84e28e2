/* vm-create.h — making a new VM folder from a spec, all or nothing. */
#pragma once

#include "vm-spec.h"

G_BEGIN_DECLS

typedef void (*VmCreateDone)(Host *host, Vm *vm, const GError *error, gpointer user_data);

/* Checks space, then (in a worker thread) creates the folder, the disks and
 * the .vmx; registers the VM. On failure the folder is removed entirely.
 * Takes ownership of spec. */
void vm_create(Host *host, VmSpec *spec, VmCreateDone done, gpointer user_data);

/* Creates new_disk's files in dir, after checking the datastore has room for
 * a thick disk. Blocking (qemu-img); used by disk add. */
gboolean vm_create_disk_files(const char *dir, const VmSpecNewDisk *nd, const char *adapter,
                              GError **error);

G_END_DECLS
