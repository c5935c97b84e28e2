/* vm-cold-journal.h — what this host is doing in each cold migration,
 * written durably before it acts (<state_dir>/cold-migrations/<id>-<role>.json),
 * so that a vireo-hostd killed mid-copy cleans up after itself when it
 * starts again: the source's qemu-nbd exports and keys, the destination's
 * partial copy (docs/migration.md, "Cold migration").
 */
#pragma once

#include "api.h"
#include "vm.h"

G_BEGIN_DECLS

/* Journal states: source "exporting" → "exported" → "committing";
 * destination "importing" → "committing" → "committed". */

/* Writes (replaces) the journal of a migration's role; adds "migration",
 * "role" and "time" to o (borrowed). */
gboolean cold_journal_write(Host *host, const char *migration, const char *role, JsonObject *o, GError **error);
/* The journal, or NULL (none here). */
JsonObject *cold_journal_read(Host *host, const char *migration, const char *role);
void cold_journal_remove(Host *host, const char *migration, const char *role);
/* Sets "state" (and the journal is rewritten); FALSE with a warning logged
 * when it cannot be written. */
gboolean cold_journal_set_state(Host *host, JsonObject *journal, const char *state);

/* Kills (SIGKILL) every qemu-nbd / qemu-img whose command line names
 * run_dir (their TLS key folder, unique to one migration and role) and
 * waits up to 2 s for them to go; returns how many were killed. */
guint cold_processes_kill(const char *run_dir);

/* The registered VM whose .vmx is vmx_path, or NULL. */
Vm *cold_vm_by_vmx(Host *host, const char *vmx_path);

/* Destination side of the recovery: deletes what an unfinished import
 * journal lists (files, then the folders it created, newest first). */
void cold_journal_undo_import(JsonObject *journal);

/* Called once at registration: after the VMs are loaded (first iteration
 * of the main loop), each journal a killed vireo-hostd left is settled:
 * see vm-cold-journal.c. recover_source is vm-cold-migrate.c's. */
void cold_journal_schedule_recovery(Host *host, void (*recover_source)(Host *host, JsonObject *journal));

G_END_DECLS
