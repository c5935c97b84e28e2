/* center-storage-migrate.h — the centre's side of a Storage vMotion (a
 * running VM's disks, all or some, to other datastores of its own host,
 * docs/migration.md "Storage vMotion through the centre"): the target
 * datastore, the free-space part of the check, and the task that drives the
 * host's relocate and polls its progress.
 */
#pragma once

#include "center.h"
#include "migration-check.h"

G_BEGIN_DECLS

/* A checked Storage vMotion. Everything is borrowed for the call. */
typedef struct {
    const StoreObject *vm;
    const StoreObject *host;        /* the VM's host */
    const char *host_vm;            /* the VM's id there */
    const StoreObject *datastore;   /* placement.datastore, NULL: only per-disk ones */
    JsonObject *vm_info;            /* the host's GET of the VM */
    JsonObject *disks;              /* the request's {"key": {"datastore": id}}, or NULL */
    JsonObject *body;               /* the request's body (speed_limit_MiB_per_second) */
} CenterStorageRequest;

/* placement.datastore of a Storage vMotion: NULL with the request answered
 * when it is unknown or hidden (404), the user lacks Datastore.AllocateSpace
 * (403) or, unless check_only (where the check reports it), the VM's host
 * does not mount it accessibly (400 INVALID_ARGUMENT). */
StoreObject *center_storage_target_datastore(Center *center, ApiRequest *request, const StoreObject *vm,
                                             const char *host, const char *id, gboolean check_only);

/* Adds the free-space issues (migration-space.h) for a STORAGE_VMOTION
 * report: each moving disk's size from vm_info, each datastore's free space
 * as the inventory last heard it from the hosts. */
void center_storage_check_space(Center *center, JsonObject *vm_info, const MigrationVm *mvm,
                                const MigrationRequest *req, MigrationReport *report);

/* Starts the move as a task "vm.relocate.storage" (202 when the request
 * asked for a task). The VM must be locked for the request; the move takes
 * the lock over and releases it when it ends. */
void center_storage_migration_start(Center *center, ApiRequest *request, const CenterStorageRequest *req);

/* The user's cancel of a running Storage vMotion task: asks its host to
 * cancel the relocation (the guest keeps its disks where they were; the task
 * FAILS "cancelled by the user"). FALSE without an error when task is not a
 * Storage vMotion; FALSE with one when it is, but cannot be cancelled. */
gboolean center_storage_migration_cancel(Center *center, const char *task, GError **error);

G_END_DECLS
