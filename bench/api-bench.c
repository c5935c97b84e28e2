/* api-bench.c — benchmarks of vireo-centerd's API, each against a baseline
 * measured in the same run: the VM list of a large inventory against the same
 * query straight on the SQLite file, and create / power on / power off /
 * delete at several concurrencies against the same requests sent straight to
 * the host's vireo-hostd. bench/api.sh builds the lab and runs the modes:
 *
 *   vireo-api-bench seed DB N         a fresh centre database with N VMs
 *   vireo-api-bench list …            part 1: lists (see --help)
 *   vireo-api-bench ops …             part 2: VM operations
 *
 * Requests go out through one libsoup session per endpoint, asynchronously,
 * so up to --concurrency of them are in flight at once.
 */
#include <libsoup/soup.h>
#include <json-glib/json-glib.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

/* ---- Seeding the centre's database ---------------------------------------- */

/* A VM's attributes as the centre stores them for a VM it imported from a
 * host (center-hosts.c): where it runs, its files, its state and size. */
static char *
seed_vm_attrs(guint i, const char *host, const char *ds, const char *pool)
{
    return g_strdup_printf(
        "{\"host\":\"%s\",\"host_vm_id\":\"vm-%u\",\"datastore\":\"%s\",\"resource_pool\":\"%s\","
        "\"vmx_path\":\"[seed-ds] vm-%u/vm-%u.vmx\",\"power_state\":\"%s\",\"cpu_count\":%u,"
        "\"memory_size_MiB\":%u,\"template\":false}",
        host, i, ds, pool, i, i, i % 3 == 0 ? "POWERED_ON" : "POWERED_OFF", 1 + i % 4, 256 * (1 + i % 4));
}

/* A datacenter with one standalone host that stays disconnected (the centre
 * never reaches 192.0.2.10, a documentation address), its datastore, and
 * n_vms VMs in the datacenter's VM folder named vm-1 … vm-N. */
static gboolean
seed_objects(Store *store, guint n_vms, GError **error)
{
    g_autofree char *dc = NULL, *host = NULL, *ds = NULL;
    if (!store_object_create(store, STORE_KIND_DATACENTER, "dc-bench", STORE_ROOT_FOLDER, NULL, &dc, error))
        return FALSE;
    g_autofree char *vm_folder = store_datacenter_folder(store, dc, STORE_FOLDER_VM, error);
    g_autofree char *host_folder = vm_folder ? store_datacenter_folder(store, dc, STORE_FOLDER_HOST, error) : NULL;
    g_autofree char *ds_folder = host_folder ? store_datacenter_folder(store, dc, STORE_FOLDER_DATASTORE, error) : NULL;
    if (!ds_folder ||
        !store_object_create(store, STORE_KIND_HOST, "esx-seed", host_folder,
                             "{\"address\":\"192.0.2.10\",\"port\":8443,\"user_name\":\"root\","
                             "\"password\":\"unused\",\"disconnected\":true}", &host, error) ||
        !store_object_create(store, STORE_KIND_DATASTORE, "seed-ds", ds_folder,
                             "{\"uuid\":\"5eed0000-0000-4000-8000-000000000001\",\"type\":\"VMFS\","
                             "\"capacity\":1099511627776,\"free_space\":549755813888}", &ds, error) ||
        !store_mount_set(store, host, ds, "/vmfs/volumes/seed-ds", TRUE, error))
        return FALSE;
    g_autofree char *pool = store_root_resource_pool(store, host, error);
    if (!pool)
        return FALSE;
    for (guint i = 1; i <= n_vms; i++) {
        g_autofree char *name = g_strdup_printf("vm-%u", i);
        g_autofree char *attrs = seed_vm_attrs(i, host, ds, pool);
        g_autofree char *id = NULL;
        if (!store_object_create(store, STORE_KIND_VM, name, vm_folder, attrs, &id, error))
            return FALSE;
    }
    return TRUE;
}

static int
seed_main(const char *db, guint n_vms)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(Store) store = store_open_sqlite(db, &error);
    gboolean ok = store && store_transaction_begin(store, &error);
    if (ok && !(ok = seed_objects(store, n_vms, &error)))
        store_transaction_rollback(store);
    ok = ok && store_transaction_commit(store, &error);
    if (!ok) {
        fprintf(stderr, "vireo-api-bench: seeding %s: %s\n", db, error->message);
        return 1;
    }
    printf("seeded %s: datacenter dc-bench, host esx-seed (disconnected), %u VMs\n", db, n_vms);
    return 0;
}

/* ---- HTTP: batches of requests with N in flight ---------------------------- */

typedef struct {
    SoupSession *session;
    char *base;             /* https://address:port */
    char *token;            /* vmware-api-session-id, once logged in */
} Endpoint;

typedef struct {
    char *method;
    char *path;
    char *body;             /* JSON, or NULL */
    char *basic_auth;       /* "user:password" for a login, or NULL */
    guint expect;           /* the status that means success */
    gint64 start_us;
    double ms;              /* latency */
    guint status;           /* 0: transport error */
    GBytes *answer;
} Call;

typedef struct {
    Endpoint *ep;
    Call *calls;
    guint n, next, done, in_flight, concurrency;
    GMainLoop *loop;
    guint failed;
    char *first_error;
} Batch;

typedef struct {
    Batch *batch;
    Call *call;
    SoupMessage *msg;
} Pending;

static void
call_clear(Call *c)
{
    g_free(c->method);
    g_free(c->path);
    g_free(c->body);
    g_free(c->basic_auth);
    g_clear_pointer(&c->answer, g_bytes_unref);
}

static void
calls_free(Call *calls, guint n)
{
    for (guint i = 0; calls && i < n; i++)
        call_clear(&calls[i]);
    g_free(calls);
}

static void
call_set(Call *c, const char *method, guint expect, const char *body, const char *path_format, ...)
    G_GNUC_PRINTF(5, 6);

static void
call_set(Call *c, const char *method, guint expect, const char *body, const char *path_format, ...)
{
    va_list ap;
    va_start(ap, path_format);
    c->path = g_strdup_vprintf(path_format, ap);
    va_end(ap);
    c->method = g_strdup(method);
    c->expect = expect;
    c->body = g_strdup(body);
}

/* The lab's certificates are self-signed; trust is not what is measured. */
static gboolean
on_accept_certificate(SoupMessage *msg, GTlsCertificate *cert, GTlsCertificateFlags errors, gpointer data)
{
    return TRUE;
}

static SoupMessage *
call_message(Endpoint *ep, const Call *c)
{
    g_autofree char *url = g_strconcat(ep->base, c->path, NULL);
    SoupMessage *msg = soup_message_new(c->method, url);
    g_signal_connect(msg, "accept-certificate", G_CALLBACK(on_accept_certificate), NULL);
    SoupMessageHeaders *h = soup_message_get_request_headers(msg);
    if (ep->token)
        soup_message_headers_replace(h, "vmware-api-session-id", ep->token);
    if (c->basic_auth) {
        g_autofree char *b64 = g_base64_encode((const guchar *)c->basic_auth, strlen(c->basic_auth));
        g_autofree char *value = g_strconcat("Basic ", b64, NULL);
        soup_message_headers_replace(h, "Authorization", value);
    }
    if (c->body) {
        g_autoptr(GBytes) body = g_bytes_new(c->body, strlen(c->body));
        soup_message_set_request_body_from_bytes(msg, "application/json", body);
    }
    return msg;
}

static void batch_fill(Batch *b);

static void
batch_note_failure(Batch *b, const Call *c, const GError *error)
{
    b->failed++;
    if (b->first_error)
        return;
    gsize len = 0;
    const char *data = c->answer ? g_bytes_get_data(c->answer, &len) : NULL;
    b->first_error = g_strdup_printf("%s %s: %s %u (expected %u) %.*s", c->method, c->path,
                                     error ? error->message : "status", c->status, c->expect,
                                     (int)MIN(len, 300), data ? data : "");
}

static void
on_answer(GObject *source, GAsyncResult *result, gpointer data)
{
    Pending *p = data;
    Batch *b = p->batch;
    Call *c = p->call;
    g_autoptr(GError) error = NULL;
    c->answer = soup_session_send_and_read_finish(SOUP_SESSION(source), result, &error);
    c->ms = (double)(g_get_monotonic_time() - c->start_us) / 1000.0;
    c->status = c->answer ? soup_message_get_status(p->msg) : 0;
    if (c->status != c->expect)
        batch_note_failure(b, c, error);
    g_object_unref(p->msg);
    g_free(p);
    b->in_flight--;
    b->done++;
    if (b->done == b->n)
        g_main_loop_quit(b->loop);
    else
        batch_fill(b);
}

static void
batch_fill(Batch *b)
{
    while (b->in_flight < b->concurrency && b->next < b->n) {
        Pending *p = g_new0(Pending, 1);
        p->batch = b;
        p->call = &b->calls[b->next++];
        p->msg = call_message(b->ep, p->call);
        p->call->start_us = g_get_monotonic_time();
        b->in_flight++;
        soup_session_send_and_read_async(b->ep->session, p->msg, G_PRIORITY_DEFAULT, NULL,
                                         on_answer, p);
    }
}

/* Sends calls[0..n) with at most concurrency in flight; returns the wall
 * time in ms and the number of calls that did not get their expected status
 * (*first_error, when given, receives the first such failure). */
static guint
batch_run(Endpoint *ep, Call *calls, guint n, guint concurrency, double *wall_ms, char **first_error)
{
    Batch b = { .ep = ep, .calls = calls, .n = n, .concurrency = MAX(concurrency, 1) };
    b.loop = g_main_loop_new(NULL, FALSE);
    gint64 t0 = g_get_monotonic_time();
    if (n > 0) {
        batch_fill(&b);
        g_main_loop_run(b.loop);
    }
    if (wall_ms)
        *wall_ms = (double)(g_get_monotonic_time() - t0) / 1000.0;
    g_main_loop_unref(b.loop);
    if (first_error)
        *first_error = g_steal_pointer(&b.first_error);
    g_free(b.first_error);
    return b.failed;
}

static gboolean
endpoint_login(Endpoint *ep, const char *user, const char *password)
{
    Call c = { 0 };
    call_set(&c, "POST", 201, NULL, "/api/session");
    c.basic_auth = g_strdup_printf("%s:%s", user, password);
    g_autofree char *err = NULL;
    gboolean ok = batch_run(ep, &c, 1, 1, NULL, &err) == 0;
    if (ok) {
        g_autoptr(JsonParser) parser = json_parser_new();
        gsize len = 0;
        const char *data = g_bytes_get_data(c.answer, &len);
        ok = json_parser_load_from_data(parser, data, (gssize)len, NULL) &&
             JSON_NODE_HOLDS_VALUE(json_parser_get_root(parser));
        if (ok)
            ep->token = g_strdup(json_node_get_string(json_parser_get_root(parser)));
    }
    if (!ok)
        fprintf(stderr, "vireo-api-bench: cannot log in to %s as %s: %s\n", ep->base, user,
                err ? err : "no token in the answer");
    call_clear(&c);
    return ok;
}

static Endpoint *
endpoint_new(const char *base)
{
    Endpoint *ep = g_new0(Endpoint, 1);
    ep->base = g_strdup(base);
    /* One connection per request in flight: HTTP/1.1 has no multiplexing. */
    ep->session = soup_session_new_with_options("max-conns", 256, "max-conns-per-host", 128,
                                                "timeout", 900, "idle-timeout", 900, NULL);
    return ep;
}

static void
endpoint_free(Endpoint *ep)
{
    if (!ep)
        return;
    g_object_unref(ep->session);
    g_free(ep->base);
    g_free(ep->token);
    g_free(ep);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Endpoint, endpoint_free)

/* Opens `concurrency` connections (TLS handshakes included) before a timed
 * batch, so that neither side pays them inside its measurement. */
static void
endpoint_warm_up(Endpoint *ep, guint concurrency)
{
    Call *calls = g_new0(Call, concurrency);
    for (guint i = 0; i < concurrency; i++)
        call_set(&calls[i], "GET", 200, NULL, "/api/session");
    batch_run(ep, calls, concurrency, concurrency, NULL, NULL);
    calls_free(calls, concurrency);
}

static JsonNode *
answer_json(const Call *c)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    gsize len = 0;
    const char *data = c->answer ? g_bytes_get_data(c->answer, &len) : NULL;
    if (!data || !json_parser_load_from_data(parser, data, (gssize)len, NULL))
        return NULL;
    return json_node_copy(json_parser_get_root(parser));
}

/* ---- Statistics and tables ---------------------------------------------- */

typedef struct {
    guint n, concurrency, failed;
    double ops_per_s, p50, p99;
} Stats;

static int
compare_double(gconstpointer a, gconstpointer b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted values. */
static double
percentile(const double *sorted, guint n, double p)
{
    if (n == 0)
        return 0;
    guint rank = (guint)(p / 100.0 * n + 0.999999);
    return sorted[CLAMP(rank, 1, n) - 1];
}

static Stats
stats_of(const double *ms, guint n, guint concurrency, double wall_ms, guint failed)
{
    g_autofree double *sorted = g_memdup2(ms, sizeof(double) * MAX(n, 1));
    qsort(sorted, n, sizeof(double), compare_double);
    Stats s = { n, concurrency, failed, wall_ms > 0 ? n * 1000.0 / wall_ms : 0,
                percentile(sorted, n, 50), percentile(sorted, n, 99) };
    return s;
}

static Stats
stats_of_calls(const Call *calls, guint n, guint concurrency, double wall_ms, guint failed)
{
    g_autofree double *ms = g_new0(double, MAX(n, 1));
    for (guint i = 0; i < n; i++)
        ms[i] = calls[i].ms;
    return stats_of(ms, n, concurrency, wall_ms, failed);
}

static void
print_header(const char *title)
{
    printf("\n%s\n", title);
    printf("%-46s %6s %5s %9s %10s %10s  %s\n", "what", "count", "conc", "ops/s", "p50 ms",
           "p99 ms", "ratio");
}

static void
print_row(const char *what, const Stats *s, const char *ratio)
{
    printf("%-46s %6u %5u %9.2f %10.2f %10.2f  %s%s\n", what, s->n, s->concurrency, s->ops_per_s,
           s->p50, s->p99, ratio ? ratio : "", s->failed ? "  (FAILED requests: see above)" : "");
}

/* ---- Part 1: lists ------------------------------------------------------- */

/* What GET /api/vcenter/vm answers, built straight from the database: the
 * rows of sql (one optional text parameter), their attributes parsed with
 * json-glib, the answer serialised. Returns the JSON; *count the elements. */
static char *
sql_list_json(sqlite3 *db, const char *sql, const char *param, guint *count)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
        g_error("cannot prepare %s: %s", sql, sqlite3_errmsg(db));
    if (param)
        sqlite3_bind_text(stmt, 1, param, -1, SQLITE_TRANSIENT);
    JsonArray *arr = json_array_new();
    g_autoptr(JsonParser) parser = json_parser_new();
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        const char *attrs = (const char *)sqlite3_column_text(stmt, 2);
        JsonObject *a = json_parser_load_from_data(parser, attrs, -1, NULL) &&
                        JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))
                            ? json_node_get_object(json_parser_get_root(parser)) : NULL;
        JsonObject *e = json_object_new();
        json_object_set_string_member(e, "vm", (const char *)sqlite3_column_text(stmt, 0));
        json_object_set_string_member(e, "name", (const char *)sqlite3_column_text(stmt, 1));
        json_object_set_string_member(e, "power_state",
            a ? json_object_get_string_member_with_default(a, "power_state", "POWERED_OFF") : "POWERED_OFF");
        json_object_set_int_member(e, "cpu_count", a ? json_object_get_int_member_with_default(a, "cpu_count", 1) : 1);
        json_object_set_int_member(e, "memory_size_MiB",
                                   a ? json_object_get_int_member_with_default(a, "memory_size_MiB", 0) : 0);
        json_array_add_object_element(arr, e);
    }
    sqlite3_finalize(stmt);
    *count = json_array_get_length(arr);
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_ARRAY);
    json_node_take_array(node, arr);
    return json_to_string(node, FALSE);
}

typedef struct {
    const char *what;       /* row label of the centre's request */
    const char *path;
    const char *param;      /* the name filtered on, or NULL */
    guint expect_count;
    const char *baselines[2][2];    /* label, SQL (NULL: none) */
} ListCase;

#define VM_ROWS "SELECT id, name, attrs FROM objects"

/* The centre's answer must hold what the baseline built: same count, same first VM. */
static gboolean
list_answer_ok(const Call *c, guint expect_count, const char *baseline_json)
{
    g_autoptr(JsonNode) got = answer_json(c);
    g_autoptr(JsonNode) want = json_from_string(baseline_json, NULL);
    if (!got || !JSON_NODE_HOLDS_ARRAY(got) || !want)
        return FALSE;
    JsonArray *g = json_node_get_array(got), *w = json_node_get_array(want);
    if (json_array_get_length(g) != expect_count || json_array_get_length(w) != expect_count)
        return FALSE;
    if (expect_count == 0)
        return TRUE;
    JsonObject *g0 = json_array_get_object_element(g, 0), *w0 = json_array_get_object_element(w, 0);
    return g_strcmp0(json_object_get_string_member_with_default(g0, "vm", ""),
                     json_object_get_string_member_with_default(w0, "vm", "-")) == 0 &&
           g_strcmp0(json_object_get_string_member_with_default(g0, "power_state", ""),
                     json_object_get_string_member_with_default(w0, "power_state", "-")) == 0;
}

/* One repetition of the baselines; returns the first one's JSON (to check
 * the centre's answer against) when keep. */
static char *
list_baselines_once(sqlite3 *db, const ListCase *lc, double **base_ms, guint rep, gboolean keep)
{
    g_autofree char *first = NULL;
    for (guint k = 0; k < 2 && lc->baselines[k][1]; k++) {
        guint count = 0;
        gint64 t0 = g_get_monotonic_time();
        g_autofree char *json = sql_list_json(db, lc->baselines[k][1], lc->param, &count);
        base_ms[k][rep] = (double)(g_get_monotonic_time() - t0) / 1000.0;
        if (count != lc->expect_count)
            g_printerr("%s: %u VMs, expected %u\n", lc->baselines[k][0], count, lc->expect_count);
        if (k == 0 && keep)
            first = g_steal_pointer(&json);
    }
    return g_steal_pointer(&first);
}

static void
list_print(const ListCase *lc, const Call *calls, guint done, guint failed, double **base_ms)
{
    double total = 0;
    for (guint i = 0; i < done; i++)
        total += calls[i].ms;
    Stats centre = stats_of_calls(calls, done, 1, total, failed);
    print_row(lc->what, &centre, NULL);
    for (guint k = 0; k < 2 && lc->baselines[k][1]; k++) {
        double t = 0;
        for (guint i = 0; i < done; i++)
            t += base_ms[k][i];
        Stats base = stats_of(base_ms[k], done, 1, t, 0);
        g_autofree char *ratio = g_strdup_printf("vireo/baseline p50 time %.1fx (lower is better)",
                                                 base.p50 > 0 ? centre.p50 / base.p50 : 0);
        print_row(lc->baselines[k][0], &base, ratio);
    }
}

/* Centre and baselines alternately, rep by rep, so the machine's noise
 * falls on both. The centre stops early once it has used budget_s (at least
 * 3 reps). The first and last answers are checked against the baseline's. */
static gboolean
list_case_run(Endpoint *ep, sqlite3 *db, const ListCase *lc, guint reps, double budget_s)
{
    g_autofree double *ms0 = g_new0(double, reps);
    g_autofree double *ms1 = g_new0(double, reps);
    double *base_ms[2] = { ms0, ms1 };
    Call *calls = g_new0(Call, reps);
    guint done = 0, failed = 0;
    double spent_ms = 0;
    gboolean ok = TRUE;
    for (; done < reps && (done < 3 || spent_ms < budget_s * 1000); done++) {
        gboolean check = done == 0 || done + 1 == reps;
        g_autofree char *want = list_baselines_once(db, lc, base_ms, done, check);
        call_set(&calls[done], "GET", 200, NULL, "%s", lc->path);
        g_autofree char *err = NULL;
        failed += batch_run(ep, &calls[done], 1, 1, NULL, &err);
        spent_ms += calls[done].ms;
        if (err && failed == 1)
            g_printerr("%s: %s\n", lc->what, err);
        if (want && calls[done].status == 200 && !list_answer_ok(&calls[done], lc->expect_count, want)) {
            g_printerr("%s: the centre's answer differs from the baseline's (count or first VM)\n", lc->what);
            ok = FALSE;
        }
    }
    list_print(lc, calls, done, failed, base_ms);
    calls_free(calls, reps);
    return ok && failed == 0;
}

static int
list_main(const char *url, const char *user, const char *password, const char *db_path, guint n_vms,
          guint reps, double budget_s)
{
    g_autoptr(Endpoint) ep = endpoint_new(url);
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "vireo-api-bench: cannot open %s: %s\n", db_path, sqlite3_errmsg(db));
        return 1;
    }
    if (!endpoint_login(ep, user, password))
        return 1;
    endpoint_warm_up(ep, 1);
    g_autofree char *title = g_strdup_printf(
        "1. VM lists, %u VMs in the inventory (one request at a time; baseline: the same query "
        "straight on %s with sqlite3 + json-glib, in-process)", n_vms, db_path);
    print_header(title);
    const ListCase cases[] = {
        { "centre GET /api/vcenter/vm (all)", "/api/vcenter/vm", NULL, n_vms,
          { { "  baseline: SELECT all VMs + JSON", VM_ROWS " WHERE kind = 'vm' ORDER BY seq" }, { NULL, NULL } } },
        { "centre GET /api/vcenter/vm?names=vm-5000", "/api/vcenter/vm?names=vm-5000", "vm-5000", n_vms >= 5000,
          { { "  baseline: indexed (kind, name) lookup", VM_ROWS " WHERE kind = 'vm' AND name = ?1 ORDER BY seq" },
            { "  baseline: unindexed (full table scan)", VM_ROWS " NOT INDEXED WHERE kind = 'vm' AND name = ?1 ORDER BY seq" } } },
    };
    gboolean ok = TRUE;
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++)
        ok = list_case_run(ep, db, &cases[i], reps, budget_s) && ok;
    sqlite3_close(db);
    return ok ? 0 : 1;
}

/* ---- Part 2: VM operations -------------------------------------------------- */

typedef enum { OP_CREATE, OP_POWER_ON, OP_POWER_OFF, OP_DELETE, OP_N } Op;

static const char *const op_names[OP_N] = {
    [OP_CREATE] = "create", [OP_POWER_ON] = "power on", [OP_POWER_OFF] = "power off",
    [OP_DELETE] = "delete",
};

typedef struct {
    Endpoint *ep;
    const char *label;          /* "host" / "centre" */
    const char *name_prefix;    /* VM names: <prefix><level>-<i> */
    char *placement;            /* the spec's "placement" object */
} Side;

static void
op_calls(Op op, const Side *side, guint level, char **ids, Call *calls, guint n)
{
    for (guint i = 0; i < n; i++) {
        if (op == OP_CREATE) {
            g_autofree char *spec = g_strdup_printf(
                "{\"name\":\"%s%u-%02u\",\"guest_OS\":\"OTHER_LINUX_64\",\"placement\":%s,"
                "\"cpu\":{\"count\":1},\"memory\":{\"size_MiB\":16}}",
                side->name_prefix, level, i, side->placement);
            call_set(&calls[i], "POST", 201, spec, "/api/vcenter/vm");
        } else if (op == OP_DELETE) {
            call_set(&calls[i], "DELETE", 204, NULL, "/api/vcenter/vm/%s", ids[i]);
        } else {
            call_set(&calls[i], "POST", 204, NULL, "/api/vcenter/vm/%s/power?action=%s", ids[i],
                     op == OP_POWER_ON ? "start" : "stop");
        }
    }
}

/* Best effort after a failure: no VM of this run stays on the host. */
static void
side_clean_up(const Side *side, char **ids, guint n)
{
    for (guint pass = 0; pass < 2; pass++) {
        Call *calls = g_new0(Call, n);
        guint k = 0;
        for (guint i = 0; i < n; i++) {
            if (ids[i] && pass == 0)
                call_set(&calls[k++], "POST", 204, NULL, "/api/vcenter/vm/%s/power?action=stop", ids[i]);
            else if (ids[i])
                call_set(&calls[k++], "DELETE", 204, NULL, "/api/vcenter/vm/%s", ids[i]);
        }
        batch_run(side->ep, calls, k, 4, NULL, NULL);
        calls_free(calls, k);
    }
}

/* create → power on → power off → delete of n VMs with `level` in flight;
 * stats[op] receives each phase's numbers. FALSE when a request failed. */
static gboolean
side_run(const Side *side, guint level, guint n, Stats *stats)
{
    g_auto(GStrv) ids = g_new0(char *, n + 1);
    gboolean ok = TRUE;
    endpoint_warm_up(side->ep, level);
    for (Op op = 0; op < OP_N && ok; op++) {
        Call *calls = g_new0(Call, n);
        op_calls(op, side, level, ids, calls, n);
        double wall = 0;
        g_autofree char *err = NULL;
        guint failed = batch_run(side->ep, calls, n, level, &wall, &err);
        stats[op] = stats_of_calls(calls, n, level, wall, failed);
        for (guint i = 0; op == OP_CREATE && i < n; i++) {
            g_autoptr(JsonNode) id = calls[i].status == 201 ? answer_json(&calls[i]) : NULL;
            ids[i] = id && JSON_NODE_HOLDS_VALUE(id) ? g_strdup(json_node_get_string(id)) : NULL;
        }
        if (failed) {
            fprintf(stderr, "%s %s at concurrency %u: %u of %u failed; first: %s\n", side->label,
                    op_names[op], level, failed, n, err);
            ok = FALSE;
        }
        calls_free(calls, n);
    }
    if (!ok)
        side_clean_up(side, ids, n);
    return ok;
}

static int
ops_main(Side *host, Side *centre, guint n, const char *levels_text)
{
    g_auto(GStrv) levels = g_strsplit(levels_text, ",", -1);
    guint n_levels = g_strv_length(levels);
    g_autofree Stats *hs = g_new0(Stats, n_levels * OP_N);
    g_autofree Stats *cs = g_new0(Stats, n_levels * OP_N);
    gboolean ok = TRUE;
    for (guint l = 0; l < n_levels && ok; l++) {
        guint level = (guint)g_ascii_strtoull(levels[l], NULL, 10);
        /* Alternate which side goes first, so a drift in the machine's load
         * does not always favour the same one. */
        Side *first = l % 2 ? centre : host, *second = l % 2 ? host : centre;
        Stats *fs = l % 2 ? cs : hs, *ss = l % 2 ? hs : cs;
        fprintf(stderr, "concurrency %u: %s, then %s …\n", level, first->label, second->label);
        ok = side_run(first, level, n, fs + l * OP_N) && side_run(second, level, n, ss + l * OP_N);
    }
    print_header("2. VM operations (tiny VMs: 16 MiB, no disk, no NIC; power on starts QEMU under "
                 "TCG); baseline: the same requests straight to the host's vireo-hostd");
    for (guint l = 0; l < n_levels; l++) {
        for (Op op = 0; op < OP_N; op++) {
            Stats *h = &hs[l * OP_N + op], *c = &cs[l * OP_N + op];
            if (h->n == 0 || c->n == 0)
                continue;
            g_autofree char *hw = g_strdup_printf("  host   %s", op_names[op]);
            g_autofree char *cw = g_strdup_printf("centre %s", op_names[op]);
            g_autofree char *ratio = g_strdup_printf("centre/host ops/s %.2f (higher is better), p50 %.1fx",
                                                     h->ops_per_s > 0 ? c->ops_per_s / h->ops_per_s : 0,
                                                     h->p50 > 0 ? c->p50 / h->p50 : 0);
            print_row(cw, c, ratio);
            print_row(hw, h, NULL);
        }
    }
    return ok ? 0 : 1;
}

/* ---- main ----------------------------------------------------------------- */

int
main(int argc, char **argv)
{
    g_autofree char *center = NULL, *host = NULL, *db = NULL, *levels = NULL;
    g_autofree char *center_password = NULL, *host_password = NULL;
    g_autofree char *center_host = NULL, *center_ds = NULL, *center_folder = NULL, *host_ds = NULL;
    int vms = 10000, reps = 20, count = 32;
    double budget = 300;
    GOptionEntry entries[] = {
        { "center", 0, 0, G_OPTION_ARG_STRING, &center, "The centre's base URL (https://addr:port)", "URL" },
        { "center-password", 0, 0, G_OPTION_ARG_STRING, &center_password, "administrator's password", "PW" },
        { "db", 0, 0, G_OPTION_ARG_FILENAME, &db, "list: the centre's inventory.db", "FILE" },
        { "vms", 0, 0, G_OPTION_ARG_INT, &vms, "list: VMs in the inventory (10000)", "N" },
        { "reps", 0, 0, G_OPTION_ARG_INT, &reps, "list: repetitions of each list (20)", "N" },
        { "budget", 0, 0, G_OPTION_ARG_DOUBLE, &budget, "list: seconds the centre may take per list kind (300)", "S" },
        { "host", 0, 0, G_OPTION_ARG_STRING, &host, "ops: the host's base URL", "URL" },
        { "host-password", 0, 0, G_OPTION_ARG_STRING, &host_password, "ops: root's password on the host", "PW" },
        { "host-datastore", 0, 0, G_OPTION_ARG_STRING, &host_ds, "ops: the datastore's name on the host", "NAME" },
        { "center-host", 0, 0, G_OPTION_ARG_STRING, &center_host, "ops: the host's id on the centre", "ID" },
        { "center-datastore", 0, 0, G_OPTION_ARG_STRING, &center_ds, "ops: the datastore's id on the centre", "ID" },
        { "center-folder", 0, 0, G_OPTION_ARG_STRING, &center_folder, "ops: the VM folder's id on the centre", "ID" },
        { "count", 0, 0, G_OPTION_ARG_INT, &count, "ops: operations per kind and level (32)", "N" },
        { "levels", 0, 0, G_OPTION_ARG_STRING, &levels, "ops: concurrency levels (1,8,32)", "LIST" },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("seed DB N | list | ops");
    g_option_context_set_summary(ctx, "Benchmarks of vireo-centerd's API against baselines measured in the "
                                      "same run (see bench/README.md; bench/api.sh runs them in a lab).");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(ctx, &argc, &argv, &error) || argc < 2) {
        fprintf(stderr, "vireo-api-bench: %s (see --help)\n", error ? error->message : "give a mode");
        return 2;
    }
    if (g_str_equal(argv[1], "seed") && argc == 4)
        return seed_main(argv[2], (guint)g_ascii_strtoull(argv[3], NULL, 10));
    if (g_str_equal(argv[1], "list") && center && center_password && db)
        return list_main(center, "administrator", center_password, db, (guint)vms, (guint)MAX(reps, 1), budget);
    if (g_str_equal(argv[1], "ops") && center && center_password && host && host_password && host_ds &&
        center_host && center_ds && center_folder) {
        g_autoptr(Endpoint) hep = endpoint_new(host), cep = endpoint_new(center);
        if (!endpoint_login(hep, "root", host_password) || !endpoint_login(cep, "administrator", center_password))
            return 1;
        Side h = { hep, "host", "bench-h", g_strdup_printf("{\"datastore\":\"%s\"}", host_ds) };
        Side c = { cep, "centre", "bench-c",
                   g_strdup_printf("{\"datastore\":\"%s\",\"host\":\"%s\",\"folder\":\"%s\"}", center_ds,
                                   center_host, center_folder) };
        int rc = ops_main(&h, &c, (guint)MAX(count, 1), levels ? levels : "1,8,32");
        g_free(h.placement);
        g_free(c.placement);
        return rc;
    }
    fprintf(stderr, "vireo-api-bench: missing arguments for mode %s (see --help)\n", argv[1]);
    return 2;
}
