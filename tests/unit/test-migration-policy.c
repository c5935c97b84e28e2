/* test-migration-policy.c — the convergence policy: Vireo's defaults, the
 * relocate body's vireo_migration read over them (and its refusals), the
 * round trip centre → host, and the decision table (post-copy after N
 * passes or a pass at the maximum throttle, the time limit, no way back
 * from post-copy). */
#include "migration-policy.h"
#include "vireo-error.h"

static JsonObject *
parse(const char *json)
{
    g_autoptr(JsonNode) node = json_from_string(json, NULL);
    g_assert_nonnull(node);
    return json_object_ref(json_node_get_object(node));
}

static void
test_defaults(void)
{
    MigrationPolicy p;
    g_autoptr(GError) error = NULL;
    g_assert_true(migration_policy_from_body(&p, NULL, &error));
    g_assert_cmpint(p.downtime_ms, ==, 500);
    g_assert_true(p.throttle);
    g_assert_false(p.postcopy);
    g_assert_cmpint(p.throttle_initial_pct, ==, 30);
    g_assert_cmpint(p.throttle_increment_pct, ==, 20);
    g_assert_cmpint(p.throttle_max_pct, ==, 99);
    g_assert_cmpint(p.bandwidth_mib_s, ==, 1192);
    g_assert_cmpint(p.time_limit_s, ==, 600);
}

static void
test_read(void)
{
    MigrationPolicy p;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonObject) body = parse("{\"placement\": {\"host\": \"host-2\"}, \"vireo_migration\": "
                                       "{\"downtime_ms\": 300, \"throttle\": false, \"postcopy\": true, "
                                       "\"postcopy_after_passes\": 3, \"time_limit_seconds\": 60}}");
    g_assert_true(migration_policy_from_body(&p, body, &error));
    g_assert_no_error(error);
    g_assert_cmpint(p.downtime_ms, ==, 300);
    g_assert_false(p.throttle);
    g_assert_true(p.postcopy);
    g_assert_cmpint(p.postcopy_after_passes, ==, 3);
    g_assert_cmpint(p.time_limit_s, ==, 60);
    g_assert_cmpint(p.bandwidth_mib_s, ==, 1192); /* untouched: the default */

    /* What the centre sends the hosts reads back the same. */
    g_autoptr(JsonObject) sent = migration_policy_to_json(&p);
    MigrationPolicy q;
    migration_policy_init(&q);
    g_assert_true(migration_policy_read(&q, sent, "spec.policy", &error));
    g_assert_cmpint(q.downtime_ms, ==, 300);
    g_assert_false(q.throttle);
    g_assert_true(q.postcopy);
    g_assert_cmpint(q.postcopy_after_passes, ==, 3);
    g_assert_cmpint(q.time_limit_s, ==, 60);
    g_assert_cmpint(q.throttle_max_pct, ==, p.throttle_max_pct);
    g_assert_cmpint(q.bandwidth_mib_s, ==, p.bandwidth_mib_s);
}

static void
test_refused(void)
{
    static const struct {
        const char *json;
        const char *message_part;
    } cases[] = {
        { "{\"vireo_migration\": {\"downtime\": 300}}", "vireo_migration.downtime is not" },
        { "{\"vireo_migration\": {\"downtime_ms\": 0}}", "downtime_ms must be from 1" },
        { "{\"vireo_migration\": {\"throttle_max_pct\": 100}}", "throttle_max_pct must be" },
        { "{\"vireo_migration\": {\"throttle_initial_pct\": 60, \"throttle_max_pct\": 50}}", "must not exceed" },
        { "{\"vireo_migration\": {\"time_limit_seconds\": 900}}", "time_limit_seconds must be from 10 to 840" },
        { "{\"vireo_migration\": {\"postcopy\": \"yes\"}}", "postcopy" },
        { "{\"vireo_migration\": [1]}", "vireo_migration" },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        MigrationPolicy p;
        g_autoptr(GError) error = NULL;
        g_autoptr(JsonObject) body = parse(cases[i].json);
        g_assert_false(migration_policy_from_body(&p, body, &error));
        g_assert_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT);
        if (!strstr(error->message, cases[i].message_part))
            g_error("%s: \"%s\" lacks \"%s\"", cases[i].json, error->message, cases[i].message_part);
    }
}

/* One poll after another: elapsed ms, passes, throttle → the action. */
typedef struct {
    gint64 elapsed_ms, passes, throttle;
    MigrationAction expect;
} Poll;

static void
run_polls(const MigrationPolicy *p, const Poll *polls, gsize n, MigrationProgress *progress)
{
    for (gsize i = 0; i < n; i++) {
        MigrationAction a = migration_policy_decide(p, progress, polls[i].elapsed_ms, polls[i].passes,
                                                    polls[i].throttle);
        if (a != polls[i].expect)
            g_error("poll %zu: %s, expected %s", i, migration_action_to_string(a),
                    migration_action_to_string(polls[i].expect));
        if (a == MIGRATION_ACTION_START_POSTCOPY)
            progress->postcopy_started = TRUE;
    }
}

static void
test_decide_precopy_only(void)
{
    MigrationPolicy p;
    migration_policy_init(&p);
    p.time_limit_s = 30;
    MigrationProgress progress = { 0 };
    static const Poll polls[] = {
        { 1000, 1, 0, MIGRATION_ACTION_NONE },
        { 5000, 12, 99, MIGRATION_ACTION_NONE },     /* no post-copy allowed: keep throttling */
        { 29999, 40, 99, MIGRATION_ACTION_NONE },
        { 30000, 41, 99, MIGRATION_ACTION_CANCEL },  /* the time limit */
    };
    run_polls(&p, polls, G_N_ELEMENTS(polls), &progress);
    g_assert_cmpint(progress.max_throttle_pct, ==, 99);
    g_assert_cmpint(progress.passes, ==, 41);
}

static void
test_decide_postcopy_at_max_throttle(void)
{
    MigrationPolicy p;
    migration_policy_init(&p);
    p.postcopy = TRUE;
    p.throttle_max_pct = 50;
    MigrationProgress progress = { 0 };
    static const Poll polls[] = {
        { 100, 1, 0, MIGRATION_ACTION_NONE },        /* the first full copy */
        { 900, 3, 20, MIGRATION_ACTION_NONE },
        { 1500, 5, 50, MIGRATION_ACTION_NONE },      /* the maximum, reached in pass 5 */
        { 1600, 5, 50, MIGRATION_ACTION_NONE },      /* give it the whole pass */
        { 2000, 6, 50, MIGRATION_ACTION_START_POSTCOPY },
        { 700000, 6, 50, MIGRATION_ACTION_NONE },    /* post-copy: the time limit no longer cancels */
    };
    run_polls(&p, polls, G_N_ELEMENTS(polls), &progress);
    g_assert_cmpint(progress.pass_at_max_throttle, ==, 5);
}

static void
test_decide_postcopy_after_passes(void)
{
    MigrationPolicy p;
    migration_policy_init(&p);
    p.postcopy = TRUE;
    p.throttle = FALSE;
    p.postcopy_after_passes = 3;
    MigrationProgress progress = { 0 };
    static const Poll polls[] = {
        { 100, 1, 0, MIGRATION_ACTION_NONE },
        { 200, 3, 0, MIGRATION_ACTION_NONE },        /* two passes after the full copy */
        { 300, 4, 0, MIGRATION_ACTION_START_POSTCOPY },
    };
    run_polls(&p, polls, G_N_ELEMENTS(polls), &progress);
    g_assert_cmpint(progress.max_throttle_pct, ==, 0);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/migration-policy/defaults", test_defaults);
    g_test_add_func("/migration-policy/read", test_read);
    g_test_add_func("/migration-policy/refused", test_refused);
    g_test_add_func("/migration-policy/decide/precopy-only", test_decide_precopy_only);
    g_test_add_func("/migration-policy/decide/postcopy-at-max-throttle", test_decide_postcopy_at_max_throttle);
    g_test_add_func("/migration-policy/decide/postcopy-after-passes", test_decide_postcopy_after_passes);
    return g_test_run();
}
