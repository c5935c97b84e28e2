/* migration-policy.h — a live migration's convergence policy (docs/migration.md
 * "Convergence"): the downtime budget, step-by-step vCPU throttling, opt-in
 * post-copy, the bandwidth cap and the time limit. The centre takes it from
 * the relocate body ("vireo_migration") and hands it to both hosts; the pure
 * decision of what to do next, given QEMU's progress, lives here too.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define MIGRATION_POLICY_DOWNTIME_MS 500
#define MIGRATION_POLICY_THROTTLE_INITIAL_PCT 30
#define MIGRATION_POLICY_THROTTLE_INCREMENT_PCT 20
#define MIGRATION_POLICY_THROTTLE_MAX_PCT 99
#define MIGRATION_POLICY_POSTCOPY_AFTER_PASSES 10
/* 10 Gb/s: the vMotion link the centre's cost model charges (see
 * migration.md "Convergence" for why not QEMU's 128 MiB/s). */
#define MIGRATION_POLICY_BANDWIDTH_MIB_S 1192
#define MIGRATION_POLICY_TIME_LIMIT_S 600
/* Below the centre's 900 s wait for perform's answer. */
#define MIGRATION_POLICY_TIME_LIMIT_MAX_S 840

typedef struct {
    gint64 downtime_ms;            /* switch over when what remains fits */
    gboolean throttle;             /* QEMU auto-converge */
    gint64 throttle_initial_pct;
    gint64 throttle_increment_pct;
    gint64 throttle_max_pct;
    gboolean postcopy;             /* opt-in: a failure after the switch loses the VM */
    gint64 postcopy_after_passes;  /* dirty-sync passes after the first full copy */
    gint64 bandwidth_mib_s;
    gint64 time_limit_s;           /* pre-copy not done by then: cancelled */
} MigrationPolicy;

/* Vireo's defaults. */
void migration_policy_init(MigrationPolicy *policy);

/* Reads the members present in o over the policy's current values (all are
 * optional; an unknown member or a value out of range is an error naming
 * where, e.g. "vireo_migration"). */
gboolean migration_policy_read(MigrationPolicy *policy, JsonObject *o, const char *where, GError **error);

/* The relocate body's Vireo extension member that carries the policy. */
#define MIGRATION_POLICY_MEMBER "vireo_migration"

/* Vireo's defaults, then body.vireo_migration over them when present
 * (body may be NULL). */
gboolean migration_policy_from_body(MigrationPolicy *policy, JsonObject *body, GError **error);

/* Every member, as migration_policy_read takes them. */
JsonObject *migration_policy_to_json(const MigrationPolicy *policy);

/* What QEMU's query-migrate said at one poll, and what the watcher
 * remembers between polls. */
typedef struct {
    gint64 elapsed_ms;
    gint64 passes;                 /* ram.dirty-sync-count */
    gint64 throttle_pct;           /* cpu-throttle-percentage now */
    gint64 max_throttle_pct;       /* highest seen */
    gint64 pass_at_max_throttle;   /* passes when the maximum was first reached; 0: not yet */
    gboolean postcopy_started;
} MigrationProgress;

typedef enum {
    MIGRATION_ACTION_NONE,
    MIGRATION_ACTION_START_POSTCOPY,
    MIGRATION_ACTION_CANCEL,
    MIGRATION_ACTION_N
} MigrationAction;

const char *migration_action_to_string(MigrationAction action);

/* Takes one poll's numbers into progress (the maxima) and says what to do:
 * cancel past the time limit (unless post-copy started: it cannot go back),
 * start post-copy (when allowed) once the guest was at the maximum throttle
 * for a whole pass or postcopy_after_passes passes went by. */
MigrationAction migration_policy_decide(const MigrationPolicy *policy, MigrationProgress *progress,
                                        gint64 elapsed_ms, gint64 passes, gint64 throttle_pct);

G_END_DECLS
