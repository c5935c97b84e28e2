/* vm-migrate-private.h — what vm-migrate.c (begin, prepare, perform,
 * finish) and vm-migrate-end.c (confirm, cancel) share.
 */
#pragma once
#include "api.h"
#include "vm.h"

G_BEGIN_DECLS

/* The VM in the body's "migration" on this host; NULL after answering the
 * request (400 without an id, 404 when no VM here is in that migration). */
Vm *vm_migration_lookup(Host *host, ApiRequest *request, JsonObject **body);

/* {"vm": id}: finish's answer. */
JsonNode *vm_migration_ref_json(const char *id);

/* A finish (cancel FALSE) or cancel for a migration no VM here is in any
 * more, answered from the journal; TRUE when it answered the request. */
gboolean vm_migration_settled(Host *host, ApiRequest *request, gboolean cancel);

/* Routes confirm and cancel. */
void vm_migration_end_register(ApiServer *server, Host *host);

G_END_DECLS
