/* mig-files.h — the small files every kind of migration keeps on a host:
 * the one-time key QEMU's tls-creds-psk and qemu-nbd read, and the durable
 * JSON journals a restarted vireo-hostd recovers from (vm-migrate-journal.c,
 * vm-cold-journal.c).
 */
#pragma once
#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* A migration id or key identity: [A-Za-z0-9._-], 1 to 64 characters, not
 * starting with '.' (it names files). */
gboolean mig_id_valid(const char *id);

/* Writes psk {"identity", "key" (16 to 64 bytes in hex)} as QEMU reads it,
 * "identity:hexkey" in <dir>/keys.psk, readable by us alone; *identity is
 * the identity. The key is wiped from our memory once written. */
gboolean mig_psk_write(JsonObject *psk, const char *dir, char **identity, GError **error);
void mig_psk_remove(const char *dir);

/* Writes o to path (in dir, made 0700 if missing) durably: fsync, then
 * rename, so that a reader after a crash sees the old or the new file. what
 * names the journal in errors. */
gboolean mig_journal_write(const char *dir, const char *path, JsonObject *o, const char *what,
                           GError **error);
/* The journal at path, or NULL (missing or unreadable). */
JsonObject *mig_journal_read(const char *path);

G_END_DECLS
