/* center-cold-migrate.h — the centre's side of a cold migration (a
 * powered-off or suspended VM to another host and/or datastore,
 * docs/migration.md "Cold migration"): what api-migrate.c hands over once
 * the check passed, and the per-disk datastores of a request.
 */
#pragma once

#include "center.h"

G_BEGIN_DECLS

/* A checked cold migration. Everything is borrowed for the call. */
typedef struct {
    const StoreObject *vm;
    const StoreObject *source;
    const StoreObject *destination;   /* the source itself for a datastore-only move */
    const StoreObject *datastore;     /* the new home datastore, NULL: the home stays */
    const char *source_vm;            /* the VM's id on the source */
    const char *destination_pool;     /* NULL: the VM keeps its pool */
    JsonObject *vm_info;              /* the source's GET of the VM */
    JsonObject *disks;                /* the request's {"key": {"datastore": id}}, or NULL */
} CenterColdRequest;

/* The request's per-disk datastores as the check wants them: disk label
 * (as vm_info names it) → datastore name. NULL with no "disks"; NULL and
 * an error (NOT_FOUND, INVALID_ARGUMENT) for an unknown disk or datastore,
 * or one the user cannot see. */
GHashTable *center_cold_disk_datastores(Center *center, const char *user, JsonObject *vm_info,
                                        JsonObject *disks, GError **error);

/* Starts the migration as a task "vm.relocate.cold" on the VM (answering
 * 202 when the request asked for a task). The VM must be locked for the
 * request; the migration takes the lock over and releases it when it ends.
 * Refuses (answering the request) a copy that would land on the folder it
 * copies from. */
void center_cold_migration_start(Center *center, ApiRequest *request, const CenterColdRequest *req);

G_END_DECLS
