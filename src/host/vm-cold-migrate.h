/* vm-cold-migrate.h — this host's side of a cold migration (a powered-off or
 * suspended VM moving to another host and/or datastore, docs/migration.md
 * "Cold migration"): the source exports the VM's files over NBD
 * (vm-cold-migrate.c), the destination copies and verifies them
 * (vm-cold-import.c). Internal API under /api/vireo/cold-migration.
 */
#pragma once

#include "api.h"

G_BEGIN_DECLS

/* Files up to this size travel inside the JSON of the host calls (base64);
 * larger ones (the .vmss, a long vmware.log) go over NBD like the disks. */
#define COLD_INLINE_FILE_MAX (64 * 1024)
/* The most inline bytes one migration carries (the host API takes 1 MiB). */
#define COLD_INLINE_TOTAL_MAX (512 * 1024)

/* Registers both sides' endpoints (export, import, status, commit, abort). */
void api_cold_migration_register(ApiServer *server, Host *host);

/* The destination's endpoints (vm-cold-import.c), routed by
 * api_cold_migration_register on "role": "destination". */
void cold_import_start(Host *host, ApiRequest *request, JsonObject *body);
void cold_import_status(Host *host, ApiRequest *request, JsonObject *body);
void cold_import_commit(Host *host, ApiRequest *request, JsonObject *body);
void cold_import_abort(Host *host, ApiRequest *request, JsonObject *body);

/* Writes "identity:key\n" to <dir>/keys.psk (0600), as QEMU's
 * tls-creds-psk reads it, from the body's "psk" {"identity", "key"}.
 * FALSE with INVALID_ARGUMENT when it is missing or malformed. *identity
 * receives the identity (newly allocated). */
gboolean cold_psk_write(JsonObject *body, const char *dir, char **identity, GError **error);

/* The --object value of a tls-creds-psk reading dir (commas doubled, as
 * QEMU's option syntax needs). username NULL for a server. */
char *cold_tls_object(const char *dir, const char *username);

/* Removes a private run folder and the files in it (keys). */
void cold_run_dir_remove(const char *dir);

G_END_DECLS
