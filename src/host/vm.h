/* vm.h — one virtual machine registered on this host, and the registry of them.
 *
 * The .vmx on the datastore is the truth for configuration; the power state
 * is what the host observes (a QEMU process that runs, a .vmss that exists).
 *
 *   Power states and transitions (vm-power.c):
 *
 *              start                      suspend
 *   POWERED_OFF ────────▶ POWERED_ON ─────────────▶ SUSPENDED
 *        ▲   ◀──────────   │    ▲  ◀─────────────────  │
 *        │  stop, guest    │    └──── start (resume) ──┘
 *        │  shutdown,      │ reset (stays on)
 *        │  QEMU died      │
 *        └─────────────────┘
 *
 * One operation at a time: vm_begin_operation() marks the VM busy and any
 * other operation gets RESOURCE_BUSY (409) naming the holder.
 */
#pragma once

#include <glib.h>
#include "host.h"
#include "vm-config.h"
#include "vmx.h"

G_BEGIN_DECLS

typedef struct QemuProcess QemuProcess;
typedef struct QmpClient QmpClient;
typedef struct GuestAgent GuestAgent;

struct Vm {
    Host *host;
    char *id;                  /* "vm-3" */
    char *vmx_path;            /* absolute */
    char *dir;                 /* the VM's folder */
    char *datastore;           /* name of the datastore holding the folder */
    Vmx *vmx;
    VmConfig *config;
    VmPowerState power_state;
    char *power_state_reason;  /* why it last powered off unexpectedly, or NULL */
    char *operation;           /* the operation holding the VM, NULL when free */
    char *run_dir;             /* <host run dir>/<id> */
    QemuProcess *process;      /* while a QEMU runs */
    QmpClient *qmp;
    GuestAgent *agent;
    gboolean stop_requested;   /* Vireo asked QEMU to quit: not a crash */
    gboolean guest_shutdown;   /* QEMU reported a guest-initiated shutdown */
    gboolean suspending;       /* the state is saved; QEMU's exit means SUSPENDED */
    gpointer exit_waiter;      /* the operation that completes when QEMU exits */
    char *migration;           /* the live migration this VM is in, or NULL */
    gboolean migration_source; /* this host is that migration's source */
    gboolean unregister_when_off; /* a cancelled incoming VM: forget it once QEMU is gone */
    gboolean migration_resumed; /* destination: the guest was resumed here (runs here now) */
};

/* Loads every registered VM (vm-manager.c) and re-attaches running QEMUs. */
gboolean vm_manager_load(Host *host, GError **error);
Vm *vm_manager_lookup(Host *host, const char *id, GError **error);

/* Loads the .vmx at vmx_path (absolute, inside a datastore) into a new Vm
 * (not registered). */
Vm *vm_load(Host *host, const char *id, const char *vmx_path, GError **error);
void vm_free(Vm *vm);

/* Writes vm->config into vm->vmx and saves the .vmx atomically. */
gboolean vm_save_config(Vm *vm, GError **error);

gboolean vm_begin_operation(Vm *vm, const char *operation, GError **error);
void vm_end_operation(Vm *vm);

/* Appends a line to the VM's vmware.log: "<time>| vireo| <message>". */
void vm_log(Vm *vm, const char *format, ...) G_GNUC_PRINTF(2, 3);

/* The .vmss path (suspended state) of a VM. */
char *vm_vmss_path(Vm *vm);

/* Registration and removal (vm-manager.c). */
Vm *vm_manager_register(Host *host, const char *vmx_path, const char *name, GError **error);
gboolean vm_manager_unregister(Host *host, Vm *vm, GError **error);
gboolean vm_manager_destroy(Host *host, Vm *vm, GError **error);

G_END_DECLS
