/* center-evc.h — EVC in the centre's clusters: the mode a cluster holds (its
 * attrs' "evc_mode"), the highest mode its connected hosts support, changing
 * the mode after every host agrees, and pushing it to each host of the
 * cluster (PUT /api/vireo/host/evc) whenever the host joins, reconnects or
 * is reconciled. The rules are evc.c's; docs/evc.md describes the whole.
 */
#pragma once

#include "center.h"
#include "migration-check.h"

G_BEGIN_DECLS

/* The cluster attribute holding the mode id (absent or null: EVC off). */
#define CENTER_EVC_ATTR_MODE "evc_mode"
/* The host attribute keeping what the host last said of its CPU and mode:
 * {mode, max_mode, vendor, features, evc_modes}. */
#define CENTER_EVC_ATTR_HOST_CPU "evc_cpu"

/* The mode id of a cluster, or NULL. */
char *center_evc_cluster_mode(const StoreObject *cluster);
/* The mode of the cluster host_obj is in, or NULL (standalone, EVC off). */
char *center_evc_host_mode(Center *center, const StoreObject *host_obj);

/* Adds "evc_mode" (null: off) and "max_evc_mode" (the newest mode every
 * connected host of the cluster supports; null when none is known) to a
 * cluster's GET. */
void center_evc_cluster_json(Center *center, const StoreObject *cluster, JsonObject *out);

/* PATCH of a cluster's "evc_mode" to wanted (NULL: disable) — the caller has
 * authorized Host.Inventory.EditCluster. Refuses an unknown or unavailable
 * mode; else, as task cluster.evc.configure, asks every host whether it and
 * its running VMs can take the mode, and only when all can, stores it, logs
 * ClusterReconfiguredEvent and pushes it to every connected host. Answers
 * the request. */
void center_evc_configure(Center *center, ApiRequest *request, const StoreObject *cluster,
                          const char *wanted);

/* error: NULL when the host took its cluster's mode. */
typedef void (*CenterEvcDone)(Center *center, const char *host, const GError *error,
                              gpointer user_data);

/* Pushes the mode of the host's cluster (or "off") to it and keeps what it
 * answers of its CPU. admit (a host being added): its running VMs must be
 * within the mode too, and the error (NOT_ALLOWED_IN_CURRENT_STATE) names
 * the host's highest mode. Without admit a refusal is logged as an event.
 * Outside an EVC cluster a host that cannot be reached is no error. done
 * may be NULL. */
void center_evc_sync_host(Center *center, const char *host, gboolean admit, CenterEvcDone done,
                          gpointer user_data);

/* The migration check's view of a VM's CPU: the mode it records in its GET
 * (cpu.evc_mode) and that mode's features, replacing what vm had. Nothing
 * changes for a VM without a known mode. */
void center_evc_migration_vm(MigrationVm *vm, JsonNode *vm_info);

G_END_DECLS
