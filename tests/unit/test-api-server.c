/* test-api-server.c — a real ApiServer on 127.0.0.1 over HTTPS, driven by a
 * libsoup client and by raw TLS connections: sessions, routing, limits,
 * error shapes, asynchronous answers and hostile input. Also json-util.
 */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <string.h>

#include "api-server.h"
#include "json-util.h"
#include "password.h"
#include "tls-cert.h"
#include "vireo-error.h"

static GTlsCertificate *test_cert;
static char *test_thumbprint;
static char *root_hash;

typedef struct {
    ApiServer *server;
    SoupSession *session;
    guint port;
    char *token;
    guint slow_answered;   /* async replies the slow handler sent */
    ApiRequest *parked;    /* held by the park handler until the test answers */
} Fixture;

typedef struct {
    guint status;
    char *body;
    JsonNode *json;
    char *allow;
} Reply;

static void
reply_free(Reply *r)
{
    g_free(r->body);
    g_clear_pointer(&r->json, json_node_unref);
    g_free(r->allow);
    g_free(r);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Reply, reply_free)

/* ---- handlers ----------------------------------------------------------- */

static gboolean
auth_root(const char *user, const char *password, gpointer data)
{
    /* As a daemon does: unknown users still cost a hash, wrong ones fail. */
    gboolean known = g_str_equal(user, "root");
    gboolean ok = password_verify(password, root_hash);
    return known && ok;
}

static void
reply_string(ApiRequest *request, const char *s)
{
    api_request_reply_json(request, 200, json_util_string_node(s));
}

static void
handle_list(ApiRequest *request, gpointer data)
{
    reply_string(request, "list");
}

static void
handle_thing(ApiRequest *request, gpointer data)
{
    reply_string(request, api_request_param(request, "thing"));
}

static void
handle_power(ApiRequest *request, gpointer data)
{
    g_autofree char *s = g_strdup_printf("%s:%s", (const char *)data, api_request_param(request, "vm"));
    reply_string(request, s);
}

static void
handle_query(ApiRequest *request, gpointer data)
{
    g_auto(GStrv) names = api_request_query_all(request, "names");
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "names");
    if (names) {
        json_builder_begin_array(b);
        for (guint i = 0; names[i]; i++)
            json_builder_add_string_value(b, names[i]);
        json_builder_end_array(b);
    } else {
        json_builder_add_null_value(b);
    }
    json_builder_set_member_name(b, "x");
    const char *x = api_request_query(request, "x");
    if (x)
        json_builder_add_string_value(b, x);
    else
        json_builder_add_null_value(b);
    json_builder_set_member_name(b, "user");
    json_builder_add_string_value(b, api_request_user(request));
    json_builder_end_object(b);
    api_request_reply_json(request, 200, json_builder_get_root(b));
}

static void
handle_echo(ApiRequest *request, gpointer data)
{
    JsonNode *body = api_request_body(request);
    if (!body) {
        reply_string(request, "no body");
        return;
    }
    api_request_reply_json(request, 200, json_node_copy(body));
}

/* A VM spec read the way real handlers read theirs. */
static void
handle_spec(ApiRequest *request, gpointer data)
{
    g_autoptr(GError) error = NULL;
    JsonObject *spec = json_util_expect_object(api_request_body(request), "spec", &error);
    JsonObject *cpu = NULL;
    gint64 count = 1;
    const char *name = NULL;

    if (!spec || !json_util_get_string(spec, "name", "spec", &name, &error) ||
        !json_util_get_object(spec, "cpu", "spec", &cpu, &error) ||
        !json_util_get_int(cpu, "count", "spec.cpu", &count, &error)) {
        api_request_reply_error(request, error);
        return;
    }
    g_autofree char *s = g_strdup_printf("%s/%" G_GINT64_FORMAT, name ? name : "-", count);
    reply_string(request, s);
}

typedef struct {
    Fixture *fixture;
    ApiRequest *request;
} SlowReply;

static gboolean
slow_reply_cb(gpointer data)
{
    SlowReply *slow = data;
    reply_string(slow->request, "slow");
    slow->fixture->slow_answered++;
    /* A second answer is ignored. */
    api_request_reply_empty(slow->request, 204);
    api_request_unref(slow->request);
    g_free(slow);
    return G_SOURCE_REMOVE;
}

static void
handle_slow(ApiRequest *request, gpointer data)
{
    SlowReply *slow = g_new0(SlowReply, 1);
    slow->fixture = data;
    slow->request = api_request_ref(request);
    const char *ms = api_request_query(request, "ms");
    g_timeout_add(ms ? (guint)atoi(ms) : 300, slow_reply_cb, slow);
}

/* Keeps the request until the test answers it, so tests control timing. */
static void
handle_park(ApiRequest *request, gpointer data)
{
    Fixture *f = data;
    g_assert_null(f->parked);
    f->parked = api_request_ref(request);
}

static void
answer_parked(Fixture *f)
{
    g_assert_nonnull(f->parked);
    reply_string(f->parked, "parked");
    g_clear_pointer(&f->parked, api_request_unref);
}

static void
handle_forgetful(ApiRequest *request, gpointer data)
{
    /* Returns without answering and without keeping a reference. */
}

static void
handle_fail(ApiRequest *request, gpointer data)
{
    g_autoptr(GError) error = g_error_new(VIREO_ERROR, VIREO_ERROR_RESOURCE_BUSY, "VM is busy");
    api_request_reply_error(request, error);
}

/* ---- fixture and client ------------------------------------------------- */

static void
fixture_setup(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;

    f->server = api_server_new(test_cert, auth_root, NULL);
    api_server_add_route(f->server, "GET", "/api/things", NULL, handle_list, NULL);
    api_server_add_route(f->server, "GET", "/api/things/{thing}", NULL, handle_thing, NULL);
    api_server_add_route(f->server, "POST", "/api/vm/{vm}", NULL, handle_power, "generic");
    api_server_add_route(f->server, "POST", "/api/vm/{vm}", "clone", handle_power, "clone");
    api_server_add_route(f->server, "POST", "/api/vm/{vm}/power", "start", handle_power, "start");
    api_server_add_route(f->server, "POST", "/api/vm/{vm}/power", "stop", handle_power, "stop");
    api_server_add_route(f->server, "GET", "/api/query", NULL, handle_query, NULL);
    api_server_add_route(f->server, "POST", "/api/echo", NULL, handle_echo, NULL);
    api_server_add_route(f->server, "POST", "/api/spec", NULL, handle_spec, NULL);
    api_server_add_route(f->server, "GET", "/api/slow", NULL, handle_slow, f);
    api_server_add_route(f->server, "GET", "/api/park", NULL, handle_park, f);
    api_server_add_route(f->server, "GET", "/api/forgetful", NULL, handle_forgetful, NULL);
    api_server_add_route(f->server, "GET", "/api/fail", NULL, handle_fail, NULL);
    api_server_add_public_route(f->server, "GET", "/api/public", NULL, handle_list, NULL);
    g_assert_true(api_server_listen(f->server, "127.0.0.1", 0, &error));
    g_assert_no_error(error);
    f->port = api_server_port(f->server);
    g_assert_cmpuint(f->port, >, 0);
    f->session = soup_session_new_with_options("timeout", 20, NULL);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
    g_object_unref(f->session);
    api_server_free(f->server);
    g_free(f->token);
    /* Let closed connections and pending sources finish. */
    while (g_main_context_iteration(NULL, FALSE))
        ;
}

static gboolean
accept_our_cert(SoupMessage *msg, GTlsCertificate *peer, GTlsCertificateFlags errors, gpointer data)
{
    /* Pinned by thumbprint, as a vSphere client pins a host. */
    g_autofree char *t = tls_cert_thumbprint(peer);
    return g_strcmp0(t, test_thumbprint) == 0;
}

typedef struct {
    GMainLoop *loop;
    GBytes *bytes;
    GError *error;
} Pending;

static void
read_done(GObject *source, GAsyncResult *result, gpointer data)
{
    Pending *p = data;
    p->bytes = soup_session_send_and_read_finish(SOUP_SESSION(source), result, &p->error);
    g_main_loop_quit(p->loop);
}

static SoupMessage *
new_message(Fixture *f, const char *method, const char *path, const char *token)
{
    g_autofree char *url = g_strdup_printf("https://127.0.0.1:%u%s", f->port, path);
    SoupMessage *msg = soup_message_new(method, url);
    g_assert_nonnull(msg);
    if (token)
        soup_message_headers_append(soup_message_get_request_headers(msg), "vmware-api-session-id",
                                    token);
    g_signal_connect(msg, "accept-certificate", G_CALLBACK(accept_our_cert), NULL);
    return msg;
}

static Reply *
finish_reply(SoupMessage *msg, GBytes *bytes)
{
    Reply *r = g_new0(Reply, 1);
    gsize len = 0;
    const char *data = g_bytes_get_data(bytes, &len);
    r->status = soup_message_get_status(msg);
    r->body = g_strndup(data ? data : "", len);
    r->allow = g_strdup(soup_message_headers_get_one(soup_message_get_response_headers(msg), "Allow"));
    if (len > 0)
        r->json = json_from_string(r->body, NULL);
    return r;
}

static Reply *
send_message(Fixture *f, SoupMessage *msg)
{
    Pending p = { g_main_loop_new(NULL, FALSE), NULL, NULL };
    soup_session_send_and_read_async(f->session, msg, G_PRIORITY_DEFAULT, NULL, read_done, &p);
    g_main_loop_run(p.loop);
    g_main_loop_unref(p.loop);
    g_assert_no_error(p.error);
    Reply *r = finish_reply(msg, p.bytes);
    g_bytes_unref(p.bytes);
    return r;
}

static Reply *
request(Fixture *f, const char *method, const char *path, const char *token, const char *body,
        gssize len)
{
    g_autoptr(SoupMessage) msg = new_message(f, method, path, token);
    if (body) {
        g_autoptr(GBytes) b = g_bytes_new(body, len < 0 ? strlen(body) : (gsize)len);
        soup_message_set_request_body_from_bytes(msg, "application/json", b);
    }
    return send_message(f, msg);
}

static Reply *
login(Fixture *f, const char *user, const char *password)
{
    g_autoptr(SoupMessage) msg = new_message(f, "POST", "/api/session", NULL);
    g_autofree char *pair = g_strdup_printf("%s:%s", user, password);
    g_autofree char *b64 = g_base64_encode((const guchar *)pair, strlen(pair));
    g_autofree char *header = g_strdup_printf("Basic %s", b64);
    soup_message_headers_append(soup_message_get_request_headers(msg), "Authorization", header);
    return send_message(f, msg);
}

static void
login_root(Fixture *f)
{
    g_autoptr(Reply) r = login(f, "root", "vmware");
    g_assert_cmpuint(r->status, ==, 201);
    g_assert_true(JSON_NODE_HOLDS_VALUE(r->json));
    f->token = g_strdup(json_node_get_string(r->json));
}

/* Checks vSphere's error shape and returns default_message. */
static const char *
assert_error(Reply *r, guint status, const char *error_type)
{
    g_assert_cmpuint(r->status, ==, status);
    g_assert_nonnull(r->json);
    JsonObject *obj = json_node_get_object(r->json);
    g_assert_cmpstr(json_object_get_string_member(obj, "error_type"), ==, error_type);
    JsonArray *messages = json_object_get_array_member(obj, "messages");
    g_assert_cmpuint(json_array_get_length(messages), ==, 1);
    JsonObject *m = json_array_get_object_element(messages, 0);
    g_assert_true(g_str_has_prefix(json_object_get_string_member(m, "id"), "vireo."));
    g_assert_true(JSON_NODE_HOLDS_ARRAY(json_object_get_member(m, "args")));
    return json_object_get_string_member(m, "default_message");
}

static const char *
reply_str(Reply *r)
{
    g_assert_nonnull(r->json);
    g_assert_true(JSON_NODE_HOLDS_VALUE(r->json));
    return json_node_get_string(r->json);
}

/* ---- sessions ----------------------------------------------------------- */

static void
test_unauthenticated(Fixture *f, gconstpointer data)
{
    static const char *const routes[][2] = {
        { "GET", "/api/things" },          { "GET", "/api/things/a" },
        { "POST", "/api/vm/vm-1/power?action=start" }, { "POST", "/api/vm/vm-1" },
        { "GET", "/api/query" },           { "POST", "/api/echo" },
        { "GET", "/api/slow" },            { "GET", "/api/session" },
        { "DELETE", "/api/session" },      { "GET", "/api/nonexistent" },
        { "PUT", "/api/things" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(routes); i++) {
        g_autoptr(Reply) none = request(f, routes[i][0], routes[i][1], NULL, NULL, 0);
        assert_error(none, 401, "UNAUTHENTICATED");
        g_autoptr(Reply) bogus = request(f, routes[i][0], routes[i][1], "deadbeef", NULL, 0);
        assert_error(bogus, 401, "UNAUTHENTICATED");
    }
    g_autoptr(Reply) pub = request(f, "GET", "/api/public", NULL, NULL, 0);
    g_assert_cmpuint(pub->status, ==, 200);
    g_assert_cmpuint(f->slow_answered, ==, 0);
}

static void
test_login(Fixture *f, gconstpointer data)
{
    g_autoptr(Reply) wrong = login(f, "root", "vmware1");
    g_assert_cmpstr(assert_error(wrong, 401, "UNAUTHENTICATED"), ==, "Wrong user name or password");
    g_autoptr(Reply) unknown = login(f, "admin", "vmware");
    assert_error(unknown, 401, "UNAUTHENTICATED");
    g_autoptr(Reply) empty = login(f, "root", "");
    assert_error(empty, 401, "UNAUTHENTICATED");
    g_autoptr(Reply) noauth = request(f, "POST", "/api/session", NULL, NULL, 0);
    assert_error(noauth, 401, "UNAUTHENTICATED");

    g_autoptr(SoupMessage) msg = new_message(f, "POST", "/api/session", NULL);
    soup_message_headers_append(soup_message_get_request_headers(msg), "Authorization",
                                "Basic !!!not-base64");
    g_autoptr(Reply) garbage = send_message(f, msg);
    assert_error(garbage, 401, "UNAUTHENTICATED");

    g_autoptr(Reply) ok = login(f, "root", "vmware");
    g_assert_cmpuint(ok->status, ==, 201);
    const char *token = reply_str(ok);
    g_assert_cmpuint(strlen(token), ==, 64);
    for (const char *p = token; *p; p++)
        g_assert_true(g_ascii_isxdigit(*p));

    g_autoptr(Reply) again = login(f, "root", "vmware");
    g_assert_cmpstr(reply_str(again), !=, token);
}

static void
test_session_use_and_delete(Fixture *f, gconstpointer data)
{
    login_root(f);
    g_autoptr(Reply) info = request(f, "GET", "/api/session", f->token, NULL, 0);
    g_assert_cmpuint(info->status, ==, 200);
    JsonObject *obj = json_node_get_object(info->json);
    g_assert_cmpstr(json_object_get_string_member(obj, "user"), ==, "root");
    g_autoptr(GDateTime) created =
        g_date_time_new_from_iso8601(json_object_get_string_member(obj, "created_time"), NULL);
    g_autoptr(GDateTime) accessed =
        g_date_time_new_from_iso8601(json_object_get_string_member(obj, "last_accessed_time"), NULL);
    g_assert_nonnull(created);
    g_assert_nonnull(accessed);
    g_assert_cmpint(g_date_time_compare(created, accessed), <=, 0);
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_assert_cmpint(g_date_time_difference(now, created), <, 60 * G_TIME_SPAN_SECOND);

    g_autoptr(Reply) list = request(f, "GET", "/api/query", f->token, NULL, 0);
    g_assert_cmpuint(list->status, ==, 200);
    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(list->json), "user"), ==,
                    "root");

    g_autoptr(Reply) del = request(f, "DELETE", "/api/session", f->token, NULL, 0);
    g_assert_cmpuint(del->status, ==, 204);
    g_assert_cmpstr(del->body, ==, "");
    g_autoptr(Reply) after = request(f, "GET", "/api/things", f->token, NULL, 0);
    assert_error(after, 401, "UNAUTHENTICATED");
    g_autoptr(Reply) info2 = request(f, "GET", "/api/session", f->token, NULL, 0);
    assert_error(info2, 401, "UNAUTHENTICATED");
}

static void
test_session_expires(Fixture *f, gconstpointer data)
{
    api_server_set_session_idle_seconds(f->server, 1);
    login_root(f);
    g_autoptr(Reply) fresh = request(f, "GET", "/api/things", f->token, NULL, 0);
    g_assert_cmpuint(fresh->status, ==, 200);
    g_usleep(600 * 1000);
    /* Use keeps it alive: 1.2 s after login, but 0.6 s after last use. */
    g_autoptr(Reply) used = request(f, "GET", "/api/things", f->token, NULL, 0);
    g_assert_cmpuint(used->status, ==, 200);
    g_usleep(600 * 1000);
    g_autoptr(Reply) still = request(f, "GET", "/api/things", f->token, NULL, 0);
    g_assert_cmpuint(still->status, ==, 200);
    g_usleep(1300 * 1000);
    g_autoptr(Reply) expired = request(f, "GET", "/api/things", f->token, NULL, 0);
    assert_error(expired, 401, "UNAUTHENTICATED");
}

/* ---- routing ------------------------------------------------------------ */

static void
test_not_found_and_method(Fixture *f, gconstpointer data)
{
    login_root(f);
    g_autoptr(Reply) nf = request(f, "GET", "/api/nonexistent", f->token, NULL, 0);
    g_assert_nonnull(strstr(assert_error(nf, 404, "NOT_FOUND"), "/api/nonexistent"));
    g_autoptr(Reply) deep = request(f, "GET", "/api/things/a/b", f->token, NULL, 0);
    assert_error(deep, 404, "NOT_FOUND");

    g_autoptr(Reply) put = request(f, "PUT", "/api/things", f->token, "{}", -1);
    assert_error(put, 405, "INVALID_ARGUMENT");
    g_assert_cmpstr(put->allow, ==, "GET");
    g_autoptr(Reply) sess = request(f, "PATCH", "/api/session", f->token, NULL, 0);
    assert_error(sess, 405, "INVALID_ARGUMENT");
    g_assert_nonnull(strstr(sess->allow, "DELETE"));

    g_autoptr(Reply) busy = request(f, "GET", "/api/fail", f->token, NULL, 0);
    g_assert_cmpstr(assert_error(busy, 409, "RESOURCE_BUSY"), ==, "VM is busy");
}

static void
test_actions(Fixture *f, gconstpointer data)
{
    login_root(f);
    g_autoptr(Reply) start = request(f, "POST", "/api/vm/vm-1/power?action=start", f->token, NULL, 0);
    g_assert_cmpstr(reply_str(start), ==, "start:vm-1");
    g_autoptr(Reply) stop = request(f, "POST", "/api/vm/vm-2/power?action=stop", f->token, NULL, 0);
    g_assert_cmpstr(reply_str(stop), ==, "stop:vm-2");
    g_autoptr(Reply) bad = request(f, "POST", "/api/vm/vm-1/power?action=explode", f->token, NULL, 0);
    const char *msg = assert_error(bad, 400, "INVALID_ARGUMENT");
    g_assert_nonnull(strstr(msg, "start"));
    g_assert_nonnull(strstr(msg, "stop"));
    g_autoptr(Reply) none = request(f, "POST", "/api/vm/vm-1/power", f->token, NULL, 0);
    assert_error(none, 400, "INVALID_ARGUMENT");

    /* The action route wins although the generic one was added first. */
    g_autoptr(Reply) clone = request(f, "POST", "/api/vm/vm-3?action=clone", f->token, NULL, 0);
    g_assert_cmpstr(reply_str(clone), ==, "clone:vm-3");
    g_autoptr(Reply) generic = request(f, "POST", "/api/vm/vm-3", f->token, NULL, 0);
    g_assert_cmpstr(reply_str(generic), ==, "generic:vm-3");
    g_autoptr(Reply) other = request(f, "POST", "/api/vm/vm-3?action=other", f->token, NULL, 0);
    g_assert_cmpstr(reply_str(other), ==, "generic:vm-3");
}

static void
test_params_decoded(Fixture *f, gconstpointer data)
{
    login_root(f);
    g_autoptr(Reply) plain = request(f, "GET", "/api/things/vm-42", f->token, NULL, 0);
    g_assert_cmpstr(reply_str(plain), ==, "vm-42");
    g_autoptr(Reply) enc = request(f, "GET", "/api/things/VM%20Network%2Fa%25b", f->token, NULL, 0);
    g_assert_cmpstr(reply_str(enc), ==, "VM Network/a%b");
    g_autoptr(Reply) utf = request(f, "GET", "/api/things/caf%C3%A9", f->token, NULL, 0);
    g_assert_cmpstr(reply_str(utf), ==, "caf\xc3\xa9");
    g_autoptr(Reply) trailing = request(f, "GET", "/api/things/", f->token, NULL, 0);
    g_assert_cmpstr(reply_str(trailing), ==, "list");

    g_autoptr(Reply) nul = request(f, "GET", "/api/things/a%00b", f->token, NULL, 0);
    assert_error(nul, 400, "INVALID_ARGUMENT");
    g_autoptr(Reply) latin1 = request(f, "GET", "/api/things/caf%E9", f->token, NULL, 0);
    assert_error(latin1, 400, "INVALID_ARGUMENT");
    /* A {param} is never "." or "..": URI normalisation removes the segment
     * (then another route, or none, matches) or the server refuses it. */
    static const char *const dots[] = { "/api/things/%2E%2E", "/api/things/%2e", "/api/things/..",
                                        "/api/things/." };
    for (guint i = 0; i < G_N_ELEMENTS(dots); i++) {
        g_autoptr(Reply) r = request(f, "GET", dots[i], f->token, NULL, 0);
        if (r->status == 200)
            g_assert_cmpstr(reply_str(r), ==, "list");
        else
            assert_error(r, r->status, r->status == 400 ? "INVALID_ARGUMENT" : "NOT_FOUND");
    }
}

static void
test_query(Fixture *f, gconstpointer data)
{
    login_root(f);
    g_autoptr(Reply) r = request(f, "GET",
                                 "/api/query?names=a&names=b,c&names.1=d&filter.names.2=e"
                                 "&namesake=z&names.x=y&x=1+2%2B%26&x=second",
                                 f->token, NULL, 0);
    g_assert_cmpuint(r->status, ==, 200);
    JsonObject *obj = json_node_get_object(r->json);
    JsonArray *names = json_object_get_array_member(obj, "names");
    const char *expected[] = { "a", "b", "c", "d", "e" };
    g_assert_cmpuint(json_array_get_length(names), ==, G_N_ELEMENTS(expected));
    for (guint i = 0; i < G_N_ELEMENTS(expected); i++)
        g_assert_cmpstr(json_array_get_string_element(names, i), ==, expected[i]);
    g_assert_cmpstr(json_object_get_string_member(obj, "x"), ==, "1 2+&");

    g_autoptr(Reply) absent = request(f, "GET", "/api/query?other=1", f->token, NULL, 0);
    obj = json_node_get_object(absent->json);
    g_assert_true(json_object_get_null_member(obj, "names"));
    g_assert_true(json_object_get_null_member(obj, "x"));

    g_autoptr(Reply) empty = request(f, "GET", "/api/query?names=", f->token, NULL, 0);
    obj = json_node_get_object(empty->json);
    g_assert_cmpuint(json_array_get_length(json_object_get_array_member(obj, "names")), ==, 0);

    g_autoptr(Reply) bad = request(f, "GET", "/api/query?names=%00", f->token, NULL, 0);
    assert_error(bad, 400, "INVALID_ARGUMENT");
}

/* ---- bodies ------------------------------------------------------------- */

static void
test_body_json(Fixture *f, gconstpointer data)
{
    login_root(f);
    g_autoptr(Reply) ok = request(f, "POST", "/api/echo", f->token, "{\"a\": [1, \"x]{\"]}", -1);
    g_assert_cmpuint(ok->status, ==, 200);
    g_assert_cmpstr(ok->body, ==, "{\"a\":[1,\"x]{\"]}");
    g_autoptr(Reply) none = request(f, "POST", "/api/echo", f->token, NULL, 0);
    g_assert_cmpstr(reply_str(none), ==, "no body");
    g_autoptr(Reply) zero = request(f, "POST", "/api/echo", f->token, "", 0);
    g_assert_cmpstr(reply_str(zero), ==, "no body");

    g_autoptr(Reply) bad = request(f, "POST", "/api/echo", f->token, "{\"a\": ", -1);
    g_assert_nonnull(strstr(assert_error(bad, 400, "INVALID_ARGUMENT"), "JSON"));
    g_autoptr(Reply) text = request(f, "POST", "/api/echo", f->token, "hello", -1);
    assert_error(text, 400, "INVALID_ARGUMENT");
    g_autoptr(Reply) utf = request(f, "POST", "/api/echo", f->token, "\"caf\xe9\"", -1);
    g_assert_nonnull(strstr(assert_error(utf, 400, "INVALID_ARGUMENT"), "UTF-8"));
    g_autoptr(Reply) nul = request(f, "POST", "/api/echo", f->token, "{\"a\":\0 1}", 9);
    assert_error(nul, 400, "INVALID_ARGUMENT");
}

static char *
nested(guint depth)
{
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < depth; i++)
        g_string_append_c(s, '[');
    for (guint i = 0; i < depth; i++)
        g_string_append_c(s, ']');
    return g_string_free(s, FALSE);
}

static void
test_body_limits(Fixture *f, gconstpointer data)
{
    login_root(f);
    gsize big_len = 2 * 1024 * 1024;
    g_autofree char *big = g_malloc(big_len);
    memset(big, ' ', big_len);
    big[0] = '"';
    big[big_len - 1] = '"';
    g_autoptr(Reply) too_big = request(f, "POST", "/api/echo", f->token, big, (gssize)big_len);
    g_assert_nonnull(strstr(assert_error(too_big, 413, "INVALID_ARGUMENT"), "1048576"));

    g_autofree char *deep = nested(100000);
    g_autoptr(Reply) too_deep = request(f, "POST", "/api/echo", f->token, deep, -1);
    g_assert_nonnull(strstr(assert_error(too_deep, 400, "INVALID_ARGUMENT"), "nested"));

    g_autofree char *limit = nested(API_MAX_JSON_DEPTH);
    g_autoptr(Reply) at_limit = request(f, "POST", "/api/echo", f->token, limit, -1);
    g_assert_cmpuint(at_limit->status, ==, 200);
    g_autofree char *over = nested(API_MAX_JSON_DEPTH + 1);
    g_autoptr(Reply) over_limit = request(f, "POST", "/api/echo", f->token, over, -1);
    assert_error(over_limit, 400, "INVALID_ARGUMENT");

    /* Brackets inside strings are text, not nesting. */
    g_autofree char *quoted = g_strdup_printf("[\"%s\\\"\"]", deep);
    g_autoptr(Reply) in_string = request(f, "POST", "/api/echo", f->token, quoted, -1);
    g_assert_cmpuint(in_string->status, ==, 200);

    /* The server is still there. */
    g_autoptr(Reply) after = request(f, "GET", "/api/things", f->token, NULL, 0);
    g_assert_cmpuint(after->status, ==, 200);
}

static void
test_chunked_body_refused(Fixture *f, gconstpointer data)
{
    login_root(f);
    g_autoptr(SoupMessage) msg = new_message(f, "POST", "/api/echo", f->token);
    g_autoptr(GInputStream) stream = g_memory_input_stream_new_from_data("{}", 2, NULL);
    soup_message_set_request_body(msg, "application/json", stream, -1);
    g_autoptr(Reply) r = send_message(f, msg);
    assert_error(r, 411, "INVALID_ARGUMENT");
}

static void
test_spec_types(Fixture *f, gconstpointer data)
{
    login_root(f);
    g_autoptr(Reply) ok = request(f, "POST", "/api/spec", f->token,
                                  "{\"name\": \"web\", \"cpu\": {\"count\": 2}}", -1);
    g_assert_cmpstr(reply_str(ok), ==, "web/2");
    g_autoptr(Reply) dflt = request(f, "POST", "/api/spec", f->token, "{\"name\": null}", -1);
    g_assert_cmpstr(reply_str(dflt), ==, "-/1");

    g_autoptr(Reply) count = request(f, "POST", "/api/spec", f->token,
                                     "{\"cpu\": {\"count\": \"two\"}}", -1);
    const char *m = assert_error(count, 400, "INVALID_ARGUMENT");
    g_assert_nonnull(strstr(m, "spec.cpu.count"));
    g_assert_nonnull(strstr(m, "integer"));
    g_autoptr(Reply) name = request(f, "POST", "/api/spec", f->token, "{\"name\": 5}", -1);
    g_assert_nonnull(strstr(assert_error(name, 400, "INVALID_ARGUMENT"), "spec.name"));
    g_autoptr(Reply) cpu = request(f, "POST", "/api/spec", f->token, "{\"cpu\": []}", -1);
    g_assert_nonnull(strstr(assert_error(cpu, 400, "INVALID_ARGUMENT"), "spec.cpu"));
    g_autoptr(Reply) array = request(f, "POST", "/api/spec", f->token, "[1]", -1);
    assert_error(array, 400, "INVALID_ARGUMENT");
    g_autoptr(Reply) missing = request(f, "POST", "/api/spec", f->token, NULL, 0);
    assert_error(missing, 400, "INVALID_ARGUMENT");
}

/* ---- asynchronous answers ----------------------------------------------- */

typedef struct {
    GMainLoop *loop;
    GBytes *bytes;
    GError *error;
    gboolean done;
} Flight;

static void
flight_done(GObject *source, GAsyncResult *result, gpointer data)
{
    Flight *fl = data;
    fl->bytes = soup_session_send_and_read_finish(SOUP_SESSION(source), result, &fl->error);
    fl->done = TRUE;
}

static void
start_flight(Fixture *f, SoupMessage *msg, GCancellable *cancel, Flight *fl)
{
    soup_session_send_and_read_async(f->session, msg, G_PRIORITY_DEFAULT, cancel, flight_done, fl);
}

/* Iterates the main loop until *flag, failing after 20 s. */
static void
iterate_until(gboolean *flag, ApiRequest **parked)
{
    gint64 deadline = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
    while (!(flag ? *flag : *parked != NULL)) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_main_context_iteration(NULL, TRUE);
    }
}

static gboolean
quit_loop(gpointer loop)
{
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

static void
run_for(guint ms)
{
    g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
    g_timeout_add(ms, quit_loop, loop);
    g_main_loop_run(loop);
}

static void
test_async_reply(Fixture *f, gconstpointer data)
{
    login_root(f);
    Flight park = { 0 };
    g_autoptr(SoupMessage) parked = new_message(f, "GET", "/api/park", f->token);
    start_flight(f, parked, NULL, &park);
    iterate_until(NULL, &f->parked);

    /* While one request waits for its answer, others are served. */
    g_autoptr(Reply) fast = request(f, "GET", "/api/things", f->token, NULL, 0);
    g_assert_cmpstr(reply_str(fast), ==, "list");
    g_assert_false(park.done);

    answer_parked(f);
    iterate_until(&park.done, NULL);
    g_assert_no_error(park.error);
    g_autoptr(Reply) r = finish_reply(parked, park.bytes);
    g_bytes_unref(park.bytes);
    g_assert_cmpuint(r->status, ==, 200);
    g_assert_cmpstr(reply_str(r), ==, "parked");

    /* And a timer-driven answer, with a second answer ignored. */
    g_autoptr(Reply) slow = request(f, "GET", "/api/slow?ms=50", f->token, NULL, 0);
    g_assert_cmpuint(slow->status, ==, 200);
    g_assert_cmpstr(reply_str(slow), ==, "slow");
    g_assert_cmpuint(f->slow_answered, ==, 1);
}

static void
test_client_disconnects(Fixture *f, gconstpointer data)
{
    login_root(f);
    Flight park = { 0 };
    g_autoptr(GCancellable) cancel = g_cancellable_new();
    g_autoptr(SoupMessage) parked = new_message(f, "GET", "/api/park", f->token);
    start_flight(f, parked, cancel, &park);
    iterate_until(NULL, &f->parked);

    g_cancellable_cancel(cancel);
    soup_session_abort(f->session);
    iterate_until(&park.done, NULL);
    g_assert_error(park.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_clear_error(&park.error);
    run_for(100);

    /* The handler answers into the void; the server lives on. */
    answer_parked(f);
    run_for(50);
    g_autoptr(Reply) after = request(f, "GET", "/api/things", f->token, NULL, 0);
    g_assert_cmpuint(after->status, ==, 200);
}

static void
test_server_freed_while_waiting(Fixture *f, gconstpointer data)
{
    login_root(f);
    Flight park = { 0 };
    g_autoptr(SoupMessage) parked = new_message(f, "GET", "/api/park", f->token);
    start_flight(f, parked, NULL, &park);
    iterate_until(NULL, &f->parked);

    /* A daemon shutting down with a request in flight. */
    api_server_free(f->server);
    f->server = NULL;
    iterate_until(&park.done, NULL);
    g_assert_nonnull(park.error);
    g_clear_error(&park.error);
    answer_parked(f);
}

static void
test_forgotten_request(Fixture *f, gconstpointer data)
{
    login_root(f);
    g_autoptr(Reply) r = request(f, "GET", "/api/forgetful", f->token, NULL, 0);
    assert_error(r, 500, "ERROR");
}

/* ---- raw hostile input over TLS ----------------------------------------- */

typedef struct {
    guint port;
    GPtrArray *status_lines;
    GMainLoop *loop;
} RawRun;

static gboolean
raw_accept(GTlsConnection *conn, GTlsCertificate *peer, GTlsCertificateFlags errors, gpointer d)
{
    return TRUE;
}

/* Sends bytes over a fresh TLS connection; the first response line or "". */
static char *
raw_exchange(guint port, const char *data, gsize len)
{
    g_autoptr(GSocketClient) client = g_socket_client_new();
    g_socket_client_set_timeout(client, 5);
    g_autoptr(GSocketConnection) tcp =
        g_socket_client_connect_to_host(client, "127.0.0.1", (guint16)port, NULL, NULL);
    g_assert_nonnull(tcp);
    g_autoptr(GIOStream) tls = g_tls_client_connection_new(G_IO_STREAM(tcp), NULL, NULL);
    g_assert_nonnull(tls);
    g_signal_connect(tls, "accept-certificate", G_CALLBACK(raw_accept), NULL);
    if (!g_tls_connection_handshake(G_TLS_CONNECTION(tls), NULL, NULL))
        return g_strdup("");
    g_output_stream_write_all(g_io_stream_get_output_stream(tls), data, len, NULL, NULL, NULL);

    GString *line = g_string_new(NULL);
    char c;
    while (line->len < 200 &&
           g_input_stream_read(g_io_stream_get_input_stream(tls), &c, 1, NULL, NULL) == 1 &&
           c != '\r')
        g_string_append_c(line, c);
    g_io_stream_close(tls, NULL, NULL);
    return g_string_free(line, FALSE);
}

static gboolean
raw_finished(gpointer data)
{
    g_main_loop_quit(((RawRun *)data)->loop);
    return G_SOURCE_REMOVE;
}

static gpointer
raw_thread(gpointer data)
{
    RawRun *run = data;
    g_autofree char *huge = g_strnfill(200 * 1024, 'a');
    g_autofree char *huge_req =
        g_strdup_printf("GET /api/things HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", huge);
    static const char nul_path[] = "GET /api/things/a\0b HTTP/1.1\r\nHost: x\r\n\r\n";
    static const char cr_header[] = "GET /api/things HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n";
    static const char bad_length[] = "POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n";
    static const char huge_length[] =
        "POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n";
    static const char bad_escape[] = "GET /api/things/%zz% HTTP/1.1\r\nHost: x\r\n\r\n";
    static const char garbage[] = "\x01\x02\xff\xfe not http at all\r\n\r\n";
    static const char session_get_token_nul[] =
        "GET /api/session HTTP/1.1\r\nHost: x\r\nvmware-api-session-id: a\0b\r\n\r\n";

    g_ptr_array_add(run->status_lines, raw_exchange(run->port, huge_req, strlen(huge_req)));
    g_ptr_array_add(run->status_lines, raw_exchange(run->port, nul_path, sizeof(nul_path) - 1));
    g_ptr_array_add(run->status_lines, raw_exchange(run->port, cr_header, sizeof(cr_header) - 1));
    g_ptr_array_add(run->status_lines, raw_exchange(run->port, bad_length, sizeof(bad_length) - 1));
    g_ptr_array_add(run->status_lines, raw_exchange(run->port, huge_length, sizeof(huge_length) - 1));
    g_ptr_array_add(run->status_lines, raw_exchange(run->port, bad_escape, sizeof(bad_escape) - 1));
    g_ptr_array_add(run->status_lines, raw_exchange(run->port, garbage, sizeof(garbage) - 1));
    g_ptr_array_add(run->status_lines,
                    raw_exchange(run->port, session_get_token_nul, sizeof(session_get_token_nul) - 1));
    g_idle_add(raw_finished, run);
    return NULL;
}

static void
test_hostile_input(Fixture *f, gconstpointer data)
{
    RawRun run = { f->port, g_ptr_array_new_with_free_func(g_free), g_main_loop_new(NULL, FALSE) };
    GThread *thread = g_thread_new("raw-client", raw_thread, &run);
    g_main_loop_run(run.loop);
    g_thread_join(thread);

    g_assert_cmpuint(run.status_lines->len, ==, 8);
    for (guint i = 0; i < run.status_lines->len; i++) {
        const char *line = g_ptr_array_index(run.status_lines, i);
        g_test_message("hostile request %u answered: '%s'", i, line);
        /* Refused (4xx) or the connection closed; never accepted. */
        g_assert_true(line[0] == '\0' || g_str_has_prefix(line, "HTTP/1.1 4") ||
                      g_str_has_prefix(line, "HTTP/1.0 4"));
    }
    g_ptr_array_unref(run.status_lines);
    g_main_loop_unref(run.loop);

    login_root(f);
    g_autoptr(Reply) after = request(f, "GET", "/api/things", f->token, NULL, 0);
    g_assert_cmpuint(after->status, ==, 200);
}

/* ---- json-util on its own ----------------------------------------------- */

static void
test_json_util(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) node = json_util_parse(
        "{\"s\": \"x\", \"i\": 3, \"d\": 4.0, \"f\": 4.5, \"b\": true, \"o\": {}, \"a\": [], \"n\": null}",
        -1, 8, &error);
    g_assert_no_error(error);
    JsonObject *obj = json_util_expect_object(node, "spec", &error);
    g_assert_nonnull(obj);

    const char *s = "unset";
    gint64 i = -1;
    gboolean b = FALSE;
    JsonObject *o = NULL;
    JsonArray *a = NULL;
    g_assert_true(json_util_get_string(obj, "s", "spec", &s, &error));
    g_assert_cmpstr(s, ==, "x");
    g_assert_true(json_util_get_int(obj, "i", "spec", &i, &error));
    g_assert_cmpint(i, ==, 3);
    g_assert_true(json_util_get_int(obj, "d", "spec", &i, &error));
    g_assert_cmpint(i, ==, 4);
    g_assert_true(json_util_get_bool(obj, "b", "spec", &b, &error));
    g_assert_true(b);
    g_assert_true(json_util_get_object(obj, "o", "spec", &o, &error));
    g_assert_nonnull(o);
    g_assert_true(json_util_get_array(obj, "a", "spec", &a, &error));
    g_assert_nonnull(a);
    /* Absent and null leave the default. */
    s = "default";
    g_assert_true(json_util_get_string(obj, "missing", "spec", &s, &error));
    g_assert_true(json_util_get_string(obj, "n", "spec", &s, &error));
    g_assert_cmpstr(s, ==, "default");
    g_assert_no_error(error);

    g_assert_false(json_util_get_int(obj, "f", "spec", &i, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT);
    g_assert_nonnull(strstr(error->message, "spec.f"));
    g_clear_error(&error);
    g_assert_false(json_util_get_int(obj, "s", "spec", &i, &error));
    g_assert_nonnull(strstr(error->message, "got a string"));
    g_clear_error(&error);
    g_assert_false(json_util_get_bool(obj, "i", "spec", &b, &error));
    g_clear_error(&error);
    g_assert_false(json_util_get_string(obj, "o", "spec", &s, &error));
    g_clear_error(&error);
    g_assert_false(json_util_get_object(obj, "a", "spec", &o, &error));
    g_clear_error(&error);
    g_assert_false(json_util_get_array(obj, "o", "spec", &a, &error));
    g_clear_error(&error);
    g_assert_null(json_util_expect_object(NULL, "spec", &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT);
    g_clear_error(&error);

    g_assert_null(json_util_parse("", -1, 8, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT);
    g_clear_error(&error);
    g_assert_null(json_util_parse("[[[1]]]", -1, 2, &error));
    g_assert_nonnull(strstr(error->message, "nested"));
    g_clear_error(&error);
    g_autoptr(JsonNode) ok = json_util_parse("[[[1]]]", -1, 3, &error);
    g_assert_nonnull(ok);

    g_autofree char *compact = json_util_to_string(node, FALSE);
    g_assert_null(strchr(compact, '\n'));
    g_autoptr(JsonNode) str = json_util_string_node("a\"b");
    g_autofree char *quoted = json_util_to_string(str, FALSE);
    g_assert_cmpstr(quoted, ==, "\"a\\\"b\"");
}

static void
quiet_log(const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
    if (g_test_verbose())
        g_test_message("%s", message);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    /* The server's access log: shown with --verbose only. */
    g_log_set_handler("vireo-api", G_LOG_LEVEL_MESSAGE, quiet_log, NULL);

    g_autofree char *dir = g_dir_make_tmp("vireo-api-XXXXXX", NULL);
    g_autofree char *cert_path = g_build_filename(dir, "api.crt", NULL);
    g_autofree char *key_path = g_build_filename(dir, "api.key", NULL);
    const char *names[] = { "localhost", "127.0.0.1", NULL };
    g_autoptr(GError) error = NULL;
    test_cert = tls_cert_load_or_create(cert_path, key_path, "localhost", names, &error);
    g_assert_no_error(error);
    test_thumbprint = tls_cert_thumbprint(test_cert);
    root_hash = password_hash("vmware", &error);
    g_assert_no_error(error);

#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
    ADD("/api-server/unauthenticated", test_unauthenticated);
    ADD("/api-server/login", test_login);
    ADD("/api-server/session-use-and-delete", test_session_use_and_delete);
    ADD("/api-server/session-expires", test_session_expires);
    ADD("/api-server/not-found-and-method", test_not_found_and_method);
    ADD("/api-server/actions", test_actions);
    ADD("/api-server/params-decoded", test_params_decoded);
    ADD("/api-server/query", test_query);
    ADD("/api-server/body-json", test_body_json);
    ADD("/api-server/body-limits", test_body_limits);
    ADD("/api-server/chunked-body", test_chunked_body_refused);
    ADD("/api-server/spec-types", test_spec_types);
    ADD("/api-server/async-reply", test_async_reply);
    ADD("/api-server/client-disconnects", test_client_disconnects);
    ADD("/api-server/server-freed-while-waiting", test_server_freed_while_waiting);
    ADD("/api-server/forgotten-request", test_forgotten_request);
    ADD("/api-server/hostile-input", test_hostile_input);
#undef ADD
    g_test_add_func("/json-util/types", test_json_util);

    int rc = g_test_run();
    g_unlink(cert_path);
    g_unlink(key_path);
    g_rmdir(dir);
    g_object_unref(test_cert);
    g_free(test_thumbprint);
    g_free(root_hash);
    return rc;
}
