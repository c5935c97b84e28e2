/* migration-space.h — whether the datastores a Storage vMotion copies disks
 * to can hold them (migration-space.c): pure, added to a migration_check()
 * report as errors (thick disks and thin disks' data that do not fit) and
 * warnings (thin disks that could outgrow the free space later).
 */
#pragma once

#include "migration-check.h"

G_BEGIN_DECLS

/* A disk that changes datastore. */
typedef struct {
    const char *label;      /* "Hard disk 2" */
    const char *datastore;  /* where it goes (a name) */
    guint64 capacity;       /* bytes */
    guint64 used;           /* bytes allocated now: what a thin copy takes */
    gboolean thin;
} MigrationSpaceDisk;

/* free_space: datastore name → guint64* bytes free; a datastore absent from
 * it is not checked. Adds datastore-space (ERROR) when a datastore cannot take
 * its thick disks' capacity plus its thin disks' data, else
 * datastore-overcommit (WARNING) when it cannot take every disk's capacity. */
void migration_space_check(const char *vm_name, const MigrationSpaceDisk *disks, guint n_disks,
                           GHashTable *free_space, MigrationReport *report);

G_END_DECLS
