/* datastore.h — files on a datastore: space, VM folders, and disks.
 *
 * A datastore is a directory. Disk data is only ever written by qemu-img
 * (thin: sparse; thick lazy: fallocate; thick eager: every byte written);
 * Vireo writes the VMDK descriptors around it.
 */
#pragma once

#include <glib.h>
#include "vm-config.h"

G_BEGIN_DECLS

gboolean datastore_stats(const char *path, guint64 *capacity, guint64 *free_space, GError **error);

/* The folder/file base name VMware would use for a VM name: '/', '\\' and
 * '%' become %2f, %5c, %25, control characters %XX; never "", "." or "..". */
char *datastore_escape_name(const char *vm_name);

/* Creates <dir>/<base>.vmdk (descriptor) and <dir>/<base>-flat.vmdk. Fails
 * with ALREADY_EXISTS when either exists; removes what it wrote on failure. */
gboolean datastore_create_disk(const char *dir, const char *base, guint64 capacity_bytes,
                               VmDiskProvisioning provisioning, const char *adapter_type,
                               GError **error);
/* Grows a Vireo flat disk (descriptor at desc_path) to capacity_bytes. */
gboolean datastore_grow_disk(const char *desc_path, guint64 capacity_bytes, GError **error);
/* Deletes a descriptor and its extent files (only inside its folder). */
gboolean datastore_delete_disk(const char *desc_path, GError **error);

/* Bytes a file occupies on disk (st_blocks * 512), 0 when absent. */
guint64 datastore_file_used_bytes(const char *path);
/* The provisioning a flat disk has, guessed from the descriptor's
 * ddb.thinProvisioned and the extent's allocation. */
VmDiskProvisioning datastore_disk_provisioning(const char *desc_path);

/* Removes a VM folder: the regular files in it, then the folder. Refuses
 * anything that is not a plain directory of files. */
gboolean datastore_remove_folder(const char *dir, GError **error);

G_END_DECLS
