/* center-migrate-nbd.h — the centre's part of vMotion + Storage vMotion (a
 * running VM to another host AND another datastore, no shared storage):
 * what the five steps carry besides a vMotion's (begin: the VM's files;
 * prepare: the target datastore and those files; perform: the destination's
 * NBD exports), the disk copy's progress during perform, its timeout, and
 * the inventory afterwards. State per migration id, kept here.
 */
#pragma once

#include "center-migrate.h"

G_BEGIN_DECLS

/* placement.datastore of a relocate that also changes host: the datastore
 * if the user sees it and may allocate space on it; NULL with the request
 * answered (404, 403) otherwise. */
StoreObject *center_nbd_target_datastore(Center *c, ApiRequest *request, const char *id);

/* Members added to a step's body (the spec names a datastore). */
void center_nbd_begin_body(const CenterMigrationSpec *spec, JsonObject *body);
void center_nbd_prepare_body(const CenterMigrationSpec *spec, const char *migration, JsonObject *body);
void center_nbd_perform_body(const CenterMigrationSpec *spec, const char *migration, JsonObject *body);

/* Takes begin's "files" / prepare's "nbd"; FALSE with *missing set to the
 * member the answer lacks. */
gboolean center_nbd_take_begin(const CenterMigrationSpec *spec, const char *migration, JsonObject *answer,
                               const char **missing);
gboolean center_nbd_take_prepare(const CenterMigrationSpec *spec, const char *migration, JsonObject *answer,
                                 const char **missing);

typedef void (*CenterNbdProgressFunc)(gpointer data, int percent, const char *message);

/* perform sent: the source's link waits long enough for the disks, and the
 * copy's progress is asked every second and reported (20%..85%). */
void center_nbd_perform_started(Center *c, const CenterMigrationSpec *spec, const char *migration,
                                CenterNbdProgressFunc report, gpointer data);
/* perform answered (or failed): no more progress. */
void center_nbd_perform_ended(const char *migration);

/* The inventory after finish: the VM's datastore is the target. */
void center_nbd_inventory(const CenterMigrationSpec *spec, JsonObject *attrs);

/* The migration ended: its state goes. */
void center_nbd_forget(const char *migration);

G_END_DECLS
