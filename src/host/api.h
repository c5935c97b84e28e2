/* api.h — vireo-hostd's API handlers (docs/api.md), registered on the server. */
#pragma once

#include "api-server.h"
#include "host.h"
#include "vm-power.h"

G_BEGIN_DECLS

void api_host_register(ApiServer *server, Host *host);
void api_vm_register(ApiServer *server, Host *host);
void api_hardware_register(ApiServer *server, Host *host);
void api_migration_register(ApiServer *server, Host *host);
void api_storage_migration_register(ApiServer *server, Host *host); /* vm-storage-migrate.c */

/* Shared by the handlers: the {vm} of the path, or a 404 answer. */
Vm *api_lookup_vm(ApiRequest *request, Host *host);
/* A VmDoneFunc that answers 204 or the error; user_data: the ApiRequest
 * (a reference, released). */
void api_reply_done(Vm *vm, const GError *error, gpointer user_data);
/* Answers INVALID_ARGUMENT when the request has no JSON object body. */
JsonObject *api_body_object(ApiRequest *request, gboolean required);

G_END_DECLS
