/* vm-migrate-converge.h — applies a migration's convergence policy
 * (migration-policy.h) to this host's QEMU: the capabilities and parameters
 * set before the stream opens, and a watcher that reads every
 * query-migrate of the copy to throttle, start post-copy or give up.
 */
#pragma once

#include "migration-policy.h"
#include "vm-power.h"

G_BEGIN_DECLS

typedef void (*VmConvergeReadyFunc)(Vm *vm, const GError *error, gpointer data);

/* Source, before `migrate`: auto-converge (throttle), postcopy-ram, and the
 * downtime budget, bandwidth and throttle steps as parameters. */
void vm_converge_setup_source(Vm *vm, const MigrationPolicy *policy, VmConvergeReadyFunc done, gpointer data);

/* Destination, before `migrate-incoming`: postcopy-ram when the policy asks
 * for it (both sides must have it before the stream starts). An error means
 * this QEMU cannot receive a post-copy (no userfaultfd). */
void vm_converge_setup_destination(Vm *vm, const MigrationPolicy *policy, VmConvergeReadyFunc done,
                                   gpointer data);

/* One copy's watcher on the source: fed each query-migrate answer, it acts
 * on migration_policy_decide's verdict and remembers what happened. */
typedef struct VmConvergeWatch VmConvergeWatch;

/* stall_s: a copy whose transferred bytes do not move for that long (a cut
 * vMotion link) is cancelled; the guest runs on at the source. */
VmConvergeWatch *vm_converge_watch_new(Vm *vm, const MigrationPolicy *policy, guint stall_s);
void vm_converge_watch_free(VmConvergeWatch *watch);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmConvergeWatch, vm_converge_watch_free)

void vm_converge_watch_poll(VmConvergeWatch *watch, JsonObject *info);

/* Adds the policy's effect to perform's answer: max_throttle_pct,
 * postcopy (used or not), dirty_sync_count (passes). */
void vm_converge_watch_report(VmConvergeWatch *watch, JsonObject *stats);

/* The copy ended in error: when the watcher cancelled it (time limit, or
 * no progress), an error that says so (else NULL). */
GError *vm_converge_watch_explain(VmConvergeWatch *watch);

/* vm_migration_wait with a look at every poll before the end (in
 * vm-migration-wait.c). */
typedef void (*VmMigrationProgressFunc)(Vm *vm, JsonObject *info, gpointer data);
void vm_migration_wait_watched(Vm *vm, guint interval_ms, VmMigrationProgressFunc progress,
                               VmMigrationWaitFunc done, gpointer data);

G_END_DECLS
