/* vm-migrate-journal.h — what this host is doing in each live migration,
 * written to disk before it acts, so that a vireo-hostd killed mid-migration
 * finds the step it was in when it starts again (docs/migration.md,
 * "Restart recovery"); the destination's resume-on-arrival.
 */
#pragma once
#include "api.h"
#include "vm.h"

G_BEGIN_DECLS

/* Steps as recorded: "begin", "perform", "confirm" (source); "prepare",
 * "resumed", "finished" (destination). */
gboolean vm_migration_journal_write(Vm *vm, const char *step, GError **error);
/* The journal's step for a migration, or NULL (none here). */
char *vm_migration_journal_step(Host *host, const char *migration, char **vm_id);
void vm_migration_journal_remove(Host *host, const char *migration);

/* The VM taking part in migration on this host now, or NULL. */
Vm *vm_migration_find(Host *host, const char *migration);

/* After vm_manager_load(): re-takes the migrations a killed vireo-hostd
 * left, or lets go of those that cannot go on (see the .c). */
void vm_migration_recover(Host *host);

/* Destination: QEMU's MIGRATION event. The incoming QEMU runs with -S; the
 * guest is resumed here the moment its copy completed, or a post-copy
 * switched over (journal "resumed" first), unless a cancel came before —
 * both happen on this thread, so either the guest runs here and cancel is
 * refused, or it never ran here. */
void vm_migration_on_event(Vm *vm, JsonObject *data);
void vm_migration_resume_incoming(Vm *vm);

/* POST /api/vireo/migration?action=status {"migration"}: where this host is
 * in it (live or from its journal). */
void api_migration_status(ApiRequest *request, gpointer host);

G_END_DECLS
