/* host.h — the state of one vireo-hostd: its configuration, identity,
 * datastores, networks and VMs. One Host per process, owned by main.c;
 * everything else borrows it.
 */
#pragma once

#include <glib.h>
#include "host-config.h"
#include "qemu-argv.h"

G_BEGIN_DECLS

typedef struct Inventory Inventory;
typedef struct Vm Vm;

typedef struct {
    HostConfig *config;
    char *id;                 /* "ha-host", as an ESXi host calls itself */
    QemuAccel accel;
    char *accel_reason;
    char *thumbprint;
    char *run_dir;            /* <state_dir>/run: sockets, pid files */
    Inventory *inventory;
    GHashTable *vms;          /* id -> Vm* (owned) */
    char *ovmf_code;          /* NULL when OVMF is not installed */
    char *ovmf_vars;
} Host;

/* The datastore a name or "datastore-N" id designates, or NULL. */
const HostDatastoreConfig *host_lookup_datastore(Host *host, const char *name_or_id);
/* The port group a name or "network-N" id designates, or NULL. */
const HostPortgroupConfig *host_lookup_portgroup(Host *host, const char *name_or_id);

/* "[local1] web-01/web-01.vmdk" -> absolute path, when it names a known
 * datastore and stays inside it (no "..", no absolute part). Also accepts a
 * path relative to vm_dir (no "/" in it, no ".."), and an absolute path
 * inside a datastore. NULL + INVALID_ARGUMENT/NOT_FOUND otherwise.
 * *out_datastore (may be NULL) receives the datastore's name (borrowed). */
char *host_resolve_datastore_path(Host *host, const char *path, const char *vm_dir,
                                  const char **out_datastore, GError **error);
/* The "[ds] rel/path" form of an absolute path inside a datastore, or NULL. */
char *host_datastore_path_of(Host *host, const char *abs_path);

G_END_DECLS
