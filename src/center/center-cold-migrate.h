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

/* The user's cancel of a cold migration task (center_migration_cancel
 * passes on tasks it does not know): while the copy goes, both sides are
 * aborted and the VM stays on the source; FALSE once the destination was
 * asked to register the copy (too late), or for an unknown task. */
gboolean center_cold_migration_cancel(Center *center, const char *task, GError **error);

/* center-cold-recover.c: settles a cold migration from its record (kind
 * "cold", kept on the VM by center_migration_record_save): before the
 * destination registered the VM both sides abort (the VM stays on the
 * source); after, the source unregisters and deletes. Hosts that do not
 * answer are asked again every CENTER_MIGRATION_RETRY_S; the VM stays locked
 * until then. restarted: the record was found at start (its task is gone). */
void center_cold_settle(Center *center, JsonObject *record, gboolean restarted);
/* At start (center_migrations_init): settles every recorded cold migration. */
void center_cold_migrations_recover(Center *center);
/* The inventory names the destination (host, its id of the VM, the new
 * datastore and pool) from a record with "destination_vm". */
void center_cold_inventory_move(Center *center, JsonObject *record, const char *power_state);

G_END_DECLS
