/* migration-policy.c — reading, writing and applying a live migration's
 * convergence policy (migration-policy.h). Pure: no I/O, no clock; the
 * host's watcher (src/host/vm-migrate-converge.c) feeds it QEMU's numbers.
 */
#include "migration-policy.h"

#include "json-util.h"
#include "vireo-error.h"

static const char *const action_names[MIGRATION_ACTION_N] = {
    [MIGRATION_ACTION_NONE] = "none",
    [MIGRATION_ACTION_START_POSTCOPY] = "start-postcopy",
    [MIGRATION_ACTION_CANCEL] = "cancel",
};

const char *
migration_action_to_string(MigrationAction action)
{
    return action < MIGRATION_ACTION_N ? action_names[action] : "unknown";
}

void
migration_policy_init(MigrationPolicy *policy)
{
    *policy = (MigrationPolicy){
        .downtime_ms = MIGRATION_POLICY_DOWNTIME_MS,
        .throttle = TRUE,
        .throttle_initial_pct = MIGRATION_POLICY_THROTTLE_INITIAL_PCT,
        .throttle_increment_pct = MIGRATION_POLICY_THROTTLE_INCREMENT_PCT,
        .throttle_max_pct = MIGRATION_POLICY_THROTTLE_MAX_PCT,
        .postcopy = FALSE,
        .postcopy_after_passes = MIGRATION_POLICY_POSTCOPY_AFTER_PASSES,
        .bandwidth_mib_s = MIGRATION_POLICY_BANDWIDTH_MIB_S,
        .time_limit_s = MIGRATION_POLICY_TIME_LIMIT_S,
    };
}

/* The integer members with their JSON names and ranges (QEMU's own limits
 * for the throttle: initial and max 1-99, increment 1-100). */
typedef struct {
    const char *name;
    gsize offset;
    gint64 min, max;
} IntMember;

static const IntMember int_members[] = {
    { "downtime_ms", G_STRUCT_OFFSET(MigrationPolicy, downtime_ms), 1, 60000 },
    { "throttle_initial_pct", G_STRUCT_OFFSET(MigrationPolicy, throttle_initial_pct), 1, 99 },
    { "throttle_increment_pct", G_STRUCT_OFFSET(MigrationPolicy, throttle_increment_pct), 1, 100 },
    { "throttle_max_pct", G_STRUCT_OFFSET(MigrationPolicy, throttle_max_pct), 1, 99 },
    { "postcopy_after_passes", G_STRUCT_OFFSET(MigrationPolicy, postcopy_after_passes), 1, 1000 },
    { "bandwidth_MiB_per_second", G_STRUCT_OFFSET(MigrationPolicy, bandwidth_mib_s), 1, 1024 * 1024 },
    { "time_limit_seconds", G_STRUCT_OFFSET(MigrationPolicy, time_limit_s), 10, MIGRATION_POLICY_TIME_LIMIT_MAX_S },
};

static const struct {
    const char *name;
    gsize offset;
} bool_members[] = {
    { "throttle", G_STRUCT_OFFSET(MigrationPolicy, throttle) },
    { "postcopy", G_STRUCT_OFFSET(MigrationPolicy, postcopy) },
};

static gboolean
known_member(const char *name)
{
    for (gsize i = 0; i < G_N_ELEMENTS(int_members); i++)
        if (g_str_equal(name, int_members[i].name))
            return TRUE;
    for (gsize i = 0; i < G_N_ELEMENTS(bool_members); i++)
        if (g_str_equal(name, bool_members[i].name))
            return TRUE;
    return FALSE;
}

gboolean
migration_policy_read(MigrationPolicy *policy, JsonObject *o, const char *where, GError **error)
{
    g_autoptr(GList) names = json_object_get_members(o);
    for (GList *l = names; l; l = l->next) {
        if (!known_member(l->data)) {
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                        "%s.%s is not a migration policy setting (see docs/migration.md, Convergence)",
                        where, (const char *)l->data);
            return FALSE;
        }
    }
    for (gsize i = 0; i < G_N_ELEMENTS(int_members); i++) {
        const IntMember *m = &int_members[i];
        gint64 *value = G_STRUCT_MEMBER_P(policy, m->offset);
        if (!json_util_get_int(o, m->name, where, value, error))
            return FALSE;
        if (*value < m->min || *value > m->max) {
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                        "%s.%s must be from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT, where, m->name,
                        m->min, m->max);
            return FALSE;
        }
    }
    for (gsize i = 0; i < G_N_ELEMENTS(bool_members); i++)
        if (!json_util_get_bool(o, bool_members[i].name, where,
                                G_STRUCT_MEMBER_P(policy, bool_members[i].offset), error))
            return FALSE;
    if (policy->throttle_initial_pct > policy->throttle_max_pct) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "%s.throttle_initial_pct must not exceed throttle_max_pct", where);
        return FALSE;
    }
    return TRUE;
}

gboolean
migration_policy_from_body(MigrationPolicy *policy, JsonObject *body, GError **error)
{
    JsonObject *o = NULL;
    migration_policy_init(policy);
    if (body && !json_util_get_object(body, MIGRATION_POLICY_MEMBER, "spec", &o, error))
        return FALSE;
    return !o || migration_policy_read(policy, o, MIGRATION_POLICY_MEMBER, error);
}

JsonObject *
migration_policy_to_json(const MigrationPolicy *policy)
{
    JsonObject *o = json_object_new();
    for (gsize i = 0; i < G_N_ELEMENTS(int_members); i++)
        json_object_set_int_member(o, int_members[i].name,
                                   G_STRUCT_MEMBER(gint64, policy, int_members[i].offset));
    for (gsize i = 0; i < G_N_ELEMENTS(bool_members); i++)
        json_object_set_boolean_member(o, bool_members[i].name,
                                       G_STRUCT_MEMBER(gboolean, policy, bool_members[i].offset));
    return o;
}

MigrationAction
migration_policy_decide(const MigrationPolicy *policy, MigrationProgress *progress, gint64 elapsed_ms,
                        gint64 passes, gint64 throttle_pct)
{
    progress->elapsed_ms = elapsed_ms;
    progress->passes = MAX(progress->passes, passes);
    progress->throttle_pct = throttle_pct;
    progress->max_throttle_pct = MAX(progress->max_throttle_pct, throttle_pct);
    if (policy->throttle && throttle_pct >= policy->throttle_max_pct && !progress->pass_at_max_throttle)
        progress->pass_at_max_throttle = progress->passes;

    if (progress->postcopy_started)
        return MIGRATION_ACTION_NONE; /* the destination runs the guest: no way back */
    if (elapsed_ms >= policy->time_limit_s * 1000)
        return MIGRATION_ACTION_CANCEL;
    if (!policy->postcopy || progress->passes < 2)
        return MIGRATION_ACTION_NONE; /* the first pass copies everything once */
    /* Pass 1 is the full copy; each further sync is one more pass over
     * what the guest dirtied meanwhile. */
    gboolean passes_spent = progress->passes - 1 >= policy->postcopy_after_passes;
    gboolean max_throttle_spent = progress->pass_at_max_throttle &&
                                  progress->passes > progress->pass_at_max_throttle;
    return passes_spent || max_throttle_spent ? MIGRATION_ACTION_START_POSTCOPY : MIGRATION_ACTION_NONE;
}
