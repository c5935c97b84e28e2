/* test-api-client.c — ApiClient against a real libsoup server running in a
 * thread of the test: login and token reuse, vSphere error bodies turned into
 * GErrors, timeouts, and TLS trust (pinned thumbprint, insecure, refused).
 */
#include <libsoup/soup.h>
#include <string.h>

#include "api-client.h"
#include "tls-cert.h"
#include "vireo-error.h"

typedef struct {
    GThread *thread;
    GMainContext *context;
    GMainLoop *loop;
    SoupServer *server;
    GTlsCertificate *certificate; /* NULL: plain http */
    guint port;
    GMutex lock;
    GCond ready;
    gboolean started;
    int logins;                    /* successful POST /api/session */
    int login_attempts;
    GPtrArray *tokens;             /* issued */
    char *last_token_seen;         /* vmware-api-session-id of the last request */
} TestServer;

static void
reply_json(SoupServerMessage *msg, guint status, const char *json)
{
    soup_server_message_set_status(msg, status, NULL);
    soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_COPY, json, strlen(json));
}

static void
reply_error(SoupServerMessage *msg, guint status, const char *type, const char *message)
{
    g_autofree char *json = g_strdup_printf(
        "{\"error_type\": \"%s\", \"messages\": [{\"id\": \"vireo.test\", "
        "\"default_message\": \"%s\", \"args\": []}]}", type, message);
    reply_json(msg, status, json);
}

static gboolean
check_token(TestServer *ts, SoupServerMessage *msg)
{
    const char *token = soup_message_headers_get_one(soup_server_message_get_request_headers(msg),
                                                     API_CLIENT_SESSION_HEADER);
    g_free(ts->last_token_seen);
    ts->last_token_seen = g_strdup(token);
    for (guint i = 0; token && i < ts->tokens->len; i++) {
        if (g_str_equal(token, g_ptr_array_index(ts->tokens, i)))
            return TRUE;
    }
    reply_error(msg, 401, "UNAUTHENTICATED", "This request needs a session: log in first");
    return FALSE;
}

static void
handle_session(TestServer *ts, SoupServerMessage *msg)
{
    const char *auth = soup_message_headers_get_one(soup_server_message_get_request_headers(msg),
                                                    "Authorization");
    g_autofree char *expected = NULL;
    g_autofree char *b64 = g_base64_encode((const guchar *)"root:s3cret", 11);

    expected = g_strdup_printf("Basic %s", b64);
    ts->login_attempts++;
    if (g_strcmp0(auth, expected) != 0) {
        reply_error(msg, 401, "UNAUTHENTICATED", "Wrong user name or password");
        return;
    }
    ts->logins++;
    g_autofree char *token = g_strdup_printf("token-%d", ts->logins);
    g_autofree char *json = g_strdup_printf("\"%s\"", token);
    g_ptr_array_add(ts->tokens, g_steal_pointer(&token));
    reply_json(msg, 201, json);
}

static void
handle_vm_list(SoupServerMessage *msg)
{
    GUri *uri = soup_server_message_get_uri(msg);
    g_autoptr(GHashTable) query = g_uri_get_query(uri)
        ? g_uri_parse_params(g_uri_get_query(uri), -1, "&", G_URI_PARAMS_NONE, NULL) : NULL;
    const char *names = query ? g_hash_table_lookup(query, "names") : NULL;
    g_autofree char *json = g_strdup_printf(
        "[{\"vm\": \"vm-1\", \"name\": \"%s\", \"power_state\": \"POWERED_OFF\"}]",
        names ? names : "web-01");
    reply_json(msg, 200, json);
}

static void
handle_echo(SoupServerMessage *msg)
{
    SoupMessageBody *body = soup_server_message_get_request_body(msg);
    g_autoptr(GBytes) bytes = soup_message_body_flatten(body);
    const char *type = soup_message_headers_get_content_type(
        soup_server_message_get_request_headers(msg), NULL);

    if (g_strcmp0(type, "application/json") != 0) {
        reply_error(msg, 400, "INVALID_ARGUMENT", "body is not JSON");
        return;
    }
    soup_server_message_set_status(msg, 201, NULL);
    soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_COPY,
                                     g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes));
}

static void
handle(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
       gpointer user_data)
{
    TestServer *ts = user_data;
    const char *method = soup_server_message_get_method(msg);
    const char *action = query ? g_hash_table_lookup(query, "action") : NULL;

    if (g_str_equal(path, "/api/session") && g_str_equal(method, "POST")) {
        handle_session(ts, msg);
        return;
    }
    if (g_str_equal(path, "/plain500")) {
        soup_server_message_set_status(msg, 500, NULL);
        soup_server_message_set_response(msg, "text/plain", SOUP_MEMORY_STATIC, "oops", 4);
        return;
    }
    if (!check_token(ts, msg))
        return;
    if (g_str_equal(path, "/api/session") && g_str_equal(method, "DELETE"))
        soup_server_message_set_status(msg, 204, NULL);
    else if (g_str_equal(path, "/api/session"))
        reply_json(msg, 200, "{\"user\": \"root\"}");
    else if (g_str_equal(path, "/api/vcenter/vm") && g_str_equal(method, "GET"))
        handle_vm_list(msg);
    else if (g_str_equal(path, "/api/vcenter/vm") && g_str_equal(method, "POST"))
        handle_echo(msg);
    else if (g_str_equal(path, "/api/vcenter/vm/vm-1/power") && g_strcmp0(action, "start") == 0)
        reply_error(msg, 400, "ALREADY_IN_DESIRED_STATE", "The VM web-01 is already powered on");
    else if (g_str_equal(path, "/api/vcenter/vm/vm-1/power") && g_strcmp0(action, "stop") == 0)
        soup_server_message_set_status(msg, 204, NULL);
    else if (g_str_equal(path, "/api/vcenter/vm/vm-1/guest/identity"))
        reply_error(msg, 503, "SERVICE_UNAVAILABLE", "VMware Tools are not running in web-01");
    else if (g_str_equal(path, "/api/vcenter/vm/with space"))
        reply_json(msg, 200, "{\"name\": \"with space\"}");
    else if (g_str_equal(path, "/slow"))
        soup_server_message_pause(msg);  /* never answered: the client must time out */
    else
        reply_error(msg, 404, "NOT_FOUND", "No VM with id 'vm-404'");
}

static gpointer
server_thread(gpointer data)
{
    TestServer *ts = data;
    g_autoptr(GError) error = NULL;
    g_autoslist(GUri) uris = NULL;

    g_main_context_push_thread_default(ts->context);
    ts->server = soup_server_new("tls-certificate", ts->certificate, NULL);
    soup_server_add_handler(ts->server, NULL, handle, ts, NULL);
    g_assert_true(soup_server_listen_local(ts->server, 0,
                                           SOUP_SERVER_LISTEN_IPV4_ONLY |
                                           (ts->certificate ? SOUP_SERVER_LISTEN_HTTPS : 0),
                                           &error));
    g_assert_no_error(error);
    uris = soup_server_get_uris(ts->server);
    g_mutex_lock(&ts->lock);
    ts->port = g_uri_get_port(uris->data);
    ts->started = TRUE;
    g_cond_signal(&ts->ready);
    g_mutex_unlock(&ts->lock);
    g_main_loop_run(ts->loop);
    soup_server_disconnect(ts->server);
    g_clear_object(&ts->server);
    g_main_context_pop_thread_default(ts->context);
    return NULL;
}

static TestServer *
test_server_start(GTlsCertificate *certificate)
{
    TestServer *ts = g_new0(TestServer, 1);

    ts->context = g_main_context_new();
    ts->loop = g_main_loop_new(ts->context, FALSE);
    ts->certificate = certificate ? g_object_ref(certificate) : NULL;
    ts->tokens = g_ptr_array_new_with_free_func(g_free);
    g_mutex_init(&ts->lock);
    g_cond_init(&ts->ready);
    ts->thread = g_thread_new("test-server", server_thread, ts);
    g_mutex_lock(&ts->lock);
    while (!ts->started)
        g_cond_wait(&ts->ready, &ts->lock);
    g_mutex_unlock(&ts->lock);
    return ts;
}

static void
test_server_stop(TestServer *ts)
{
    g_main_loop_quit(ts->loop);
    g_thread_join(ts->thread);
    g_main_loop_unref(ts->loop);
    g_main_context_unref(ts->context);
    g_clear_object(&ts->certificate);
    g_ptr_array_unref(ts->tokens);
    g_free(ts->last_token_seen);
    g_free(ts);
}

static char *
test_server_url(TestServer *ts)
{
    return g_strdup_printf("%s://127.0.0.1:%u", ts->certificate ? "https" : "http", ts->port);
}

static void
test_login_and_token_reuse(void)
{
    TestServer *ts = test_server_start(NULL);
    g_autofree char *url = test_server_url(ts);
    g_autoptr(ApiClient) client = api_client_new(url, FALSE, NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) answer = NULL;
    guint status = 0;

    /* Without a session the server says 401 and the client says UNAUTHENTICATED. */
    g_assert_false(api_client_request(client, "GET", "/api/vcenter/vm", NULL, NULL, &status, NULL, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_UNAUTHENTICATED);
    g_assert_cmpuint(status, ==, 401);
    g_assert_cmpstr(error->message, ==, "This request needs a session: log in first");
    g_clear_error(&error);

    g_assert_false(api_client_login(client, "root", "wrong", &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_UNAUTHENTICATED);
    g_assert_cmpstr(error->message, ==, "Wrong user name or password");
    g_assert_null(api_client_get_token(client));
    g_clear_error(&error);

    g_assert_true(api_client_login(client, "root", "s3cret", &error));
    g_assert_no_error(error);
    g_assert_cmpstr(api_client_get_token(client), ==, "token-1");

    const char *query[] = { "names", "web 01&x", NULL };
    g_assert_true(api_client_request(client, "GET", "/api/vcenter/vm", query, NULL, &status, &answer, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(status, ==, 200);
    g_assert_true(JSON_NODE_HOLDS_ARRAY(answer));
    JsonObject *vm = json_array_get_object_element(json_node_get_array(answer), 0);
    g_assert_cmpstr(json_object_get_string_member(vm, "name"), ==, "web 01&x");
    g_assert_cmpstr(ts->last_token_seen, ==, "token-1");
    g_clear_pointer(&answer, json_node_unref);

    /* A second client given the token reuses the session without logging in. */
    g_autoptr(ApiClient) again = api_client_new(url, FALSE, NULL);
    api_client_set_token(again, "token-1");
    g_assert_true(api_client_request(again, "GET", "/api/session", NULL, NULL, NULL, &answer, &error));
    g_assert_no_error(error);
    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(answer), "user"), ==, "root");
    g_assert_cmpint(ts->logins, ==, 1);

    /* A JSON body goes out as application/json and comes back parsed. */
    g_autoptr(JsonNode) body = json_from_string("{\"name\": \"web-02\", \"cpu\": {\"count\": 2}}", NULL);
    g_clear_pointer(&answer, json_node_unref);
    g_assert_true(api_client_request(client, "POST", "/api/vcenter/vm", NULL, body, &status, &answer, &error));
    g_assert_cmpuint(status, ==, 201);
    g_assert_true(json_node_equal(answer, body));

    g_assert_true(api_client_logout(client, &error));
    g_assert_no_error(error);
    g_assert_null(api_client_get_token(client));
    test_server_stop(ts);
}

static void
test_error_shapes(void)
{
    TestServer *ts = test_server_start(NULL);
    g_autofree char *url = test_server_url(ts);
    g_autoptr(ApiClient) client = api_client_new(url, FALSE, NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) answer = NULL;
    guint status = 0;
    const char *start[] = { "action", "start", NULL };
    const char *stop[] = { "action", "stop", NULL };

    g_assert_true(api_client_login(client, "root", "s3cret", NULL));
    g_assert_false(api_client_request(client, "GET", "/api/vcenter/vm/vm-404", NULL, NULL, &status, NULL, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND);
    g_assert_cmpstr(error->message, ==, "No VM with id 'vm-404'");
    g_assert_cmpuint(status, ==, 404);
    g_clear_error(&error);

    /* error_type decides the code, not the status (many types share 400). */
    g_assert_false(api_client_request(client, "POST", "/api/vcenter/vm/vm-1/power", start, NULL, NULL, NULL, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_ALREADY_IN_DESIRED_STATE);
    g_assert_cmpstr(error->message, ==, "The VM web-01 is already powered on");
    g_clear_error(&error);

    g_assert_true(api_client_request(client, "POST", "/api/vcenter/vm/vm-1/power", stop, NULL, &status, &answer, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(status, ==, 204);
    g_assert_null(answer);

    g_assert_false(api_client_request(client, "GET", "/api/vcenter/vm/vm-1/guest/identity", NULL, NULL, NULL, NULL, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_SERVICE_UNAVAILABLE);
    g_clear_error(&error);

    /* A body that is not vSphere's shape: the status decides. */
    g_assert_false(api_client_request(client, "GET", "/plain500", NULL, NULL, &status, NULL, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_ERROR);
    g_assert_nonnull(strstr(error->message, "HTTP 500"));
    g_clear_error(&error);

    /* Escaped path segments reach the server decoded. */
    g_autofree char *segment = api_client_escape_segment("with space");
    g_autofree char *path = g_strdup_printf("/api/vcenter/vm/%s", segment);
    g_assert_cmpstr(segment, ==, "with%20space");
    g_assert_true(api_client_request(client, "GET", path, NULL, NULL, NULL, NULL, &error));
    g_assert_no_error(error);

    api_client_set_timeout(client, 1);
    g_assert_false(api_client_request(client, "GET", "/slow", NULL, NULL, NULL, NULL, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_TIMED_OUT);
    g_clear_error(&error);
    test_server_stop(ts);
}

static void
test_unreachable_and_bad_url(void)
{
    g_autoptr(ApiClient) bad = api_client_new("ftp://example", FALSE, NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(GSocketListener) listener = g_socket_listener_new();
    guint16 port = g_socket_listener_add_any_inet_port(listener, NULL, NULL);
    g_autofree char *url = NULL;

    g_assert_false(api_client_request(bad, "GET", "/api/session", NULL, NULL, NULL, NULL, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT);
    g_clear_error(&error);

    /* A port nobody listens on any more. */
    g_socket_listener_close(listener);
    url = g_strdup_printf("http://127.0.0.1:%u", port);
    g_autoptr(ApiClient) client = api_client_new(url, FALSE, NULL);
    g_assert_false(api_client_login(client, "root", "x", &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_SERVICE_UNAVAILABLE);
}

static GTlsCertificate *
make_certificate(const char *dir, const char *name)
{
    g_autofree char *cert = g_build_filename(dir, name, NULL);
    g_autofree char *key = g_strconcat(cert, ".key", NULL);
    const char *alt[] = { "127.0.0.1", "localhost", NULL };
    g_autoptr(GError) error = NULL;
    GTlsCertificate *c = tls_cert_load_or_create(cert, key, "localhost", alt, &error);

    g_assert_no_error(error);
    return c;
}

static void
test_thumbprint_pinning(void)
{
    g_autofree char *dir = g_dir_make_tmp("vireo-api-client-XXXXXX", NULL);
    g_autoptr(GTlsCertificate) right = make_certificate(dir, "right.pem");
    g_autoptr(GTlsCertificate) other = make_certificate(dir, "other.pem");
    g_autofree char *right_tp = tls_cert_thumbprint(right);
    g_autofree char *other_tp = tls_cert_thumbprint(other);
    TestServer *ts = test_server_start(right);
    g_autofree char *url = test_server_url(ts);
    g_autoptr(GError) error = NULL;

    g_assert_cmpstr(right_tp, !=, other_tp);

    /* Pinned to the server's certificate (given in lower case): accepted. */
    g_autofree char *lower = g_ascii_strdown(right_tp, -1);
    g_autoptr(ApiClient) pinned = api_client_new(url, FALSE, lower);
    g_assert_true(api_client_login(pinned, "root", "s3cret", &error));
    g_assert_no_error(error);
    g_assert_cmpstr(api_client_get_peer_thumbprint(pinned), ==, right_tp);

    /* Pinned to another certificate: refused before any credential is sent. */
    int attempts = ts->login_attempts;
    g_autoptr(ApiClient) wrong = api_client_new(url, FALSE, other_tp);
    g_assert_false(api_client_login(wrong, "root", "s3cret", &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_UNAUTHENTICATED);
    g_assert_nonnull(strstr(error->message, right_tp));
    g_assert_cmpstr(api_client_get_peer_thumbprint(wrong), ==, right_tp);
    g_assert_cmpint(ts->login_attempts, ==, attempts);
    g_clear_error(&error);

    /* Neither pinned nor insecure: a self-signed certificate is refused. */
    g_autoptr(ApiClient) strict = api_client_new(url, FALSE, NULL);
    g_assert_false(api_client_login(strict, "root", "s3cret", &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_UNAUTHENTICATED);
    g_clear_error(&error);

    g_autoptr(ApiClient) insecure = api_client_new(url, TRUE, NULL);
    g_assert_true(api_client_login(insecure, "root", "s3cret", &error));
    g_assert_no_error(error);

    /* The thumbprint can be read without trusting anything. */
    g_autoptr(ApiClient) probe = api_client_new(url, FALSE, NULL);
    g_autofree char *fetched = api_client_fetch_thumbprint(probe, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(fetched, ==, right_tp);
    test_server_stop(ts);
}

static void
test_normalize_thumbprint(void)
{
    g_autofree char *a = api_client_normalize_thumbprint("ab:cd:0f");
    g_autofree char *b = api_client_normalize_thumbprint("ABCD0F");
    g_autofree char *c = api_client_normalize_thumbprint("abc");
    g_autofree char *d = api_client_normalize_thumbprint("zz:zz");

    g_assert_cmpstr(a, ==, "AB:CD:0F");
    g_assert_cmpstr(b, ==, "AB:CD:0F");
    g_assert_null(c);
    g_assert_null(d);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/api-client/login-token-reuse", test_login_and_token_reuse);
    g_test_add_func("/api-client/error-shapes", test_error_shapes);
    g_test_add_func("/api-client/unreachable", test_unreachable_and_bad_url);
    g_test_add_func("/api-client/thumbprint-pinning", test_thumbprint_pinning);
    g_test_add_func("/api-client/normalize-thumbprint", test_normalize_thumbprint);
    return g_test_run();
}
