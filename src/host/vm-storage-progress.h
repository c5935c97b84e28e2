/* vm-storage-progress.h — the state of a VM's Storage vMotion on this host,
 * recorded by vm-storage-migrate.c and answered by
 * GET /api/vcenter/vm/{vm}?action=relocate-status (vm-storage-progress.c).
 */
#pragma once

#include "api-server.h"
#include "host.h"

G_BEGIN_DECLS

typedef enum {
    STORAGE_PROGRESS_RUNNING,   /* "RUNNING" */
    STORAGE_PROGRESS_SUCCEEDED, /* "SUCCEEDED" */
    STORAGE_PROGRESS_FAILED,    /* "FAILED" */
} StorageProgressState;

/* A new move of vm (its id): replaces the last record. */
void storage_progress_start(const char *vm, guint disks, gint64 total);
/* phase: "copying", "switching", "undoing"; total 0 keeps the last. */
void storage_progress_update(const char *vm, const char *phase, gint64 completed, gint64 total);
/* error NULL: SUCCEEDED. The error is copied. */
void storage_progress_end(const char *vm, const GError *error, gint64 elapsed_ms);
/* Where the VM's home is after the move (datastore name) and, when the move
 * named a datastore for the whole VM, whether the home moved there (reason:
 * why not, or NULL). Shown as "home_datastore", "home_moved", "home_reason". */
void storage_progress_set_home(const char *vm, const char *home_datastore, gboolean asked,
                               gboolean moved, const char *reason);

void api_storage_progress_register(ApiServer *server, Host *host);

G_END_DECLS
