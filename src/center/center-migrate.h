/* center-migrate.h — the centre's side of a vMotion once it is checked and
 * allowed: the concurrency slots and the queue (migration-cost.c), and the
 * five steps driven on the two hosts (docs/migration.md). api-migrate.c
 * decides whether a migration may run; this runs it.
 */
#pragma once

#include "center.h"
#include "migration-check.h"
#include "migration-policy.h"

G_BEGIN_DECLS

/* One accepted migration. The strings are filled by the caller; the
 * migration owns them once submitted. */
typedef struct {
    char *vm;                 /* the centre's id: "vm-42" */
    char *vm_name;
    char *user;
    char *source;             /* host-N */
    char *source_name;
    char *source_vm;          /* the VM's id on the source host */
    char *destination;        /* host-N */
    char *destination_name;
    char *destination_pool;   /* the destination's root resource pool, NULL to keep the VM's */
    MigrationEncryption encryption; /* the VM's migrate.encryptionMode */
    char *datastore;          /* datastore-N: the disks move there too (vMotion + Storage vMotion), or NULL */
    char *datastore_name;     /* its name, as the destination knows it */
    MigrationPolicy policy;   /* convergence: the relocate body's vireo_migration over the defaults */
} CenterMigrationSpec;

void center_migration_spec_clear(CenterMigrationSpec *spec);

/* Makes the centre's cost tracker and queue (once, at registration). */
void center_migrations_init(Center *center);

/* Runs a migration: queued until its demand fits the limits (the task then
 * says what it waits for), then driven step by step. Takes the spec's
 * strings (the struct is cleared), the demand and the task; the VM must be
 * locked for the task: the lock is released when the migration ends. */
void center_migration_submit(Center *center, CenterMigrationSpec *spec, MigrationDemand *demand,
                             CenterTask *task);

/* Another kind of migration (cold: center-cold-migrate.c) waiting in the
 * same queue for the same slots: start(data, demand) is called once the
 * demand (taken) fits — the caller then owns it and gives it back with
 * center_migration_release() when the migration ends — or with demand NULL
 * when the user cancelled the task while it waited. */
typedef void (*CenterMigrationStart)(gpointer data, MigrationDemand *demand);
void center_migration_enqueue(Center *center, CenterTask *task, MigrationDemand *demand,
                              CenterMigrationStart start, gpointer data);
void center_migration_release(Center *center, MigrationDemand *demand);

/* The user's cancel of a migration task (POST /api/cis/tasks/{task}?action=cancel):
 * a queued one ends at once; a running one is undone after its current
 * step (during the copy: the destination's copy is stopped first, which
 * ends it). FALSE when it is not a migration, or too late (finish sent). */
gboolean center_migration_cancel(Center *center, const char *task, GError **error);

/* center-migrate-record.c: a migration's step kept on its VM (durable before
 * each step is sent), found again at start. record: borrowed. */
void center_migration_record_save(Store *store, const char *vm, JsonObject *record);
void center_migration_record_clear(Store *store, const char *vm);
GPtrArray *center_migration_records(Store *store);   /* JsonObject*, each with its "vm" */

/* Seconds between attempts to settle a migration whose host did not answer. */
#define CENTER_MIGRATION_RETRY_S 3

/* The budget a switch-over may take (docs/migration.md). */
#define CENTER_MIGRATION_DOWNTIME_MS 500
/* Seconds the source may take to answer perform (the whole memory copy). */
#define CENTER_MIGRATION_PERFORM_TIMEOUT_S 900

G_END_DECLS
