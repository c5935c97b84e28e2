/* vm-migrate-nbd.h — vMotion + Storage vMotion (no shared storage needed):
 * the disks go to the destination's new datastore over NBD while the guest
 * runs, then its memory as in any vMotion (docs/migration.md). These are the
 * hooks vm-migrate.c calls at each of its five steps; the state of one such
 * migration lives in vm-migrate-nbd.c, keyed by the migration id.
 */
#pragma once

#include <json-glib/json-glib.h>
#include "api.h"
#include "vm-power.h"

G_BEGIN_DECLS

typedef void (*VmNbdDoneFunc)(Vm *vm, const GError *error, gpointer data);

/* The progress route (POST /api/vireo/migration?action=mirror-progress). */
void vm_migrate_nbd_register(ApiServer *server, Host *host);

/* begin (source), when the body asks "with_files": adds "files" to the
 * answer: the folder and .vmx names, the .vmx text, the .nvram (base64, when
 * there is one) and each disk (vmx key, device id, base name, capacity,
 * provisioning, adapter). Only flat disks can move. */
gboolean vm_migrate_nbd_describe(Vm *vm, JsonObject *answer, GError **error);

/* prepare (destination), when the body names a "datastore": creates the VM's
 * folder there (ALREADY_EXISTS when it exists), its .vmx naming the new
 * disks, the .nvram and empty disks of the same capacity and provisioning.
 * Returns the new .vmx path; NULL and no error when the body names no
 * datastore (shared storage); NULL and an error when it failed (nothing
 * left behind). */
char *vm_migrate_nbd_stage(Host *host, const char *migration, JsonObject *body, GError **error);
/* prepare failed after staging: the folder goes now (its VM is not running). */
void vm_migrate_nbd_abandon(Host *host, const char *migration);
/* TRUE when this migration staged the VM here (prepare serves its disks). */
gboolean vm_migrate_nbd_staged(Vm *vm);
/* prepare (destination): an NBD server on address (TLS with tls_creds, an
 * endpoint=server object, unless NULL) exporting each staged disk writable. */
void vm_migrate_nbd_serve(Vm *vm, const char *address, const char *tls_creds, VmNbdDoneFunc done,
                          gpointer data);
/* Adds "nbd": {"host", "port", "exports": {device: export}} to prepare's answer. */
void vm_migrate_nbd_add_answer(Vm *vm, JsonObject *answer);

/* perform (source): takes the body's "nbd" (none: shared storage, FALSE
 * only on a malformed one). */
gboolean vm_migrate_nbd_plan(Vm *vm, JsonObject *body, GError **error);
gboolean vm_migrate_nbd_planned(Vm *vm);
/* perform (source): mirrors every disk to its export (tls_creds: an
 * endpoint=client object, or NULL) until all are in sync, then arms QEMU's
 * pause before switch-over. On error every job and node is gone again. */
void vm_migrate_nbd_mirror(Vm *vm, const char *tls_creds, VmNbdDoneFunc done, gpointer data);
/* perform (source), each poll of the memory copy: at QEMU's pause before
 * switch-over the mirrors complete without pivot, their nodes go, and the
 * copy continues. */
void vm_migrate_nbd_copy_progress(Vm *vm, JsonObject *info);
/* perform (source), the copy ended: TRUE when the caller goes on at once
 * (the disks were switched, or no disks move); FALSE when the mirrors are
 * being undone: done then runs with the reason. */
gboolean vm_migrate_nbd_copy_done(Vm *vm, const GError *error, VmNbdDoneFunc done, gpointer data);
/* Adds the disk copy's statistics to perform's answer. */
void vm_migrate_nbd_add_stats(Vm *vm, JsonObject *answer);

/* finish (destination): stops the NBD server; the VM's folder is its own. */
void vm_migrate_nbd_finish(Vm *vm);
/* confirm (source): TRUE when the disks were copied away: the caller then
 * destroys the VM's folder; disks outside it are deleted here. */
gboolean vm_migrate_nbd_confirm(Vm *vm);
/* cancel (either side), before vm->migration is cleared: the source's
 * mirrors are cancelled and their nodes removed; the destination's folder is
 * removed once its VM is unregistered. */
void vm_migrate_nbd_cancel(Vm *vm);

G_END_DECLS
