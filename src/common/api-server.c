/* api-server.c — the HTTPS+JSON server both daemons serve their API with.
 *
 * Owns the SoupServer, the routing table, the sessions (POST/GET/DELETE
 * /api/session are built in), the request limits and the vSphere error shape.
 * Everything runs in the thread-default main context the server was made in.
 *
 * Life of a request:
 *
 *   headers read ──early_handler──> too large / chunked: 413 / 411 (body
 *        │                          read but not stored); bad length: closed
 *        │
 *   body read ──server_callback──> query, path, route, session, body checks
 *        │                             │ any fails: error answer, done
 *        │                             v
 *        │                         handler(request)
 *        │                  answered ──┴── not answered: message paused
 *        v                                     │
 *   response sent <── api_request_reply_*() unpauses ┘
 *
 * ApiRequest holds a reference on its SoupServerMessage and watches its
 * "finished" signal, so an answer that comes after the client went away is
 * dropped instead of touching a dead connection.
 */
#define G_LOG_DOMAIN "vireo-api"

#include "api-server.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <libsoup/soup.h>
#include <string.h>

#include "json-util.h"
#include "vireo-error.h"

#define API_SESSION_HEADER "vmware-api-session-id"
#define API_SESSION_TOKEN_BYTES 32

typedef struct {
    char *method;
    char **segments;  /* pattern split on '/', empty segments dropped */
    char *action;
    ApiHandler handler;
    gpointer user_data;
    gboolean is_public;
} ApiRoute;

typedef struct {
    char *user;
    GDateTime *created;
    GDateTime *last_accessed;
    gint64 last_accessed_mono;
} ApiSession;

struct ApiServer {
    SoupServer *soup;
    ApiAuthFunc auth;
    gpointer auth_data;
    GPtrArray *routes;       /* ApiRoute* in registration order */
    GHashTable *sessions;    /* SHA-256 hex of the token → ApiSession* */
    guint session_idle_seconds;
};

struct ApiRequest {
    gint ref_count;
    SoupServerMessage *msg;
    gulong finished_id;
    gulong disconnected_id;
    ApiServer *server;       /* only while the route's handler is dispatched */
    char *method;
    char *path;              /* as sent (percent-encoded) */
    char *peer;
    GHashTable *params;      /* {name} → decoded segment */
    GPtrArray *query;        /* decoded key, value, key, value, ... */
    JsonNode *body;
    char *user;
    char *session_key;
    gint64 start_us;
    gboolean answered;
    gboolean paused;
    gboolean finished;       /* the connection is done with this message */
};

/* ---- routes and sessions ---------------------------------------------- */

static void
api_route_free(ApiRoute *route)
{
    g_free(route->method);
    g_strfreev(route->segments);
    g_free(route->action);
    g_free(route);
}

static void
api_session_free(ApiSession *session)
{
    g_free(session->user);
    g_date_time_unref(session->created);
    g_date_time_unref(session->last_accessed);
    g_free(session);
}

/* Splits a path on '/', dropping empty segments ("/a//b/" is a, b). */
static char **
split_path(const char *path)
{
    g_auto(GStrv) parts = g_strsplit(path, "/", -1);
    g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
    for (guint i = 0; parts[i]; i++) {
        if (parts[i][0])
            g_strv_builder_add(builder, parts[i]);
    }
    return g_strv_builder_end(builder);
}

/* Sessions are stored under a hash of their token, so neither a lookup's
 * timing nor a memory dump gives a usable token away. */
static char *
session_key(const char *token)
{
    return g_compute_checksum_for_string(G_CHECKSUM_SHA256, token, -1);
}

static char *
session_new_token(void)
{
    guchar bytes[API_SESSION_TOKEN_BYTES];
    if (gnutls_rnd(GNUTLS_RND_KEY, bytes, sizeof(bytes)) < 0) {
        for (guint i = 0; i < sizeof(bytes); i += 4) {
            guint32 r = g_random_int();
            memcpy(bytes + i, &r, 4);
        }
    }
    GString *hex = g_string_sized_new(2 * sizeof(bytes));
    for (guint i = 0; i < sizeof(bytes); i++)
        g_string_append_printf(hex, "%02x", bytes[i]);
    return g_string_free(hex, FALSE);
}

static gboolean
session_expired(ApiServer *server, ApiSession *session, gint64 now)
{
    return now - session->last_accessed_mono > (gint64)server->session_idle_seconds * G_USEC_PER_SEC;
}

static void
sessions_sweep(ApiServer *server)
{
    GHashTableIter iter;
    gpointer value;
    gint64 now = g_get_monotonic_time();

    g_hash_table_iter_init(&iter, server->sessions);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        if (session_expired(server, value, now))
            g_hash_table_iter_remove(&iter);
    }
}

/* The live session for a token (touching it), or NULL. */
static ApiSession *
sessions_lookup(ApiServer *server, const char *key)
{
    ApiSession *session = g_hash_table_lookup(server->sessions, key);
    gint64 now = g_get_monotonic_time();

    if (!session)
        return NULL;
    if (session_expired(server, session, now)) {
        g_hash_table_remove(server->sessions, key);
        return NULL;
    }
    session->last_accessed_mono = now;
    g_date_time_unref(session->last_accessed);
    session->last_accessed = g_date_time_new_now_utc();
    return session;
}

/* ---- answers ---------------------------------------------------------- */

static JsonNode *
error_body(VireoErrorCode code, const char *message)
{
    const char *type = vireo_error_type_name(code);
    g_autofree char *lower = g_ascii_strdown(type, -1);
    g_autofree char *id = g_strconcat("vireo.", lower, NULL);
    g_autoptr(JsonBuilder) b = json_builder_new_immutable();

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "error_type");
    json_builder_add_string_value(b, type);
    json_builder_set_member_name(b, "messages");
    json_builder_begin_array(b);
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "id");
    json_builder_add_string_value(b, id);
    json_builder_set_member_name(b, "default_message");
    json_builder_add_string_value(b, message);
    json_builder_set_member_name(b, "args");
    json_builder_begin_array(b);
    json_builder_end_array(b);
    json_builder_end_object(b);
    json_builder_end_array(b);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

static void
log_request(const char *method, const char *path, guint status, gint64 start_us,
            const char *user, const char *peer)
{
    g_autofree char *safe_path = g_strescape(path ? path : "", NULL);
    g_message("api: %s %s %u %" G_GINT64_FORMAT " ms user=%s peer=%s", method, safe_path, status,
              (g_get_monotonic_time() - start_us) / 1000, user ? user : "-", peer ? peer : "-");
}

/* Puts status and body on the message (unless the client is gone) and lets
 * libsoup send it. body: transfer full, may be NULL. */
static void
request_answer(ApiRequest *request, guint status, JsonNode *body, const char *allow)
{
    g_autoptr(JsonNode) owned = body;

    if (request->answered)
        return;
    request->answered = TRUE;
    log_request(request->method, request->path, status, request->start_us, request->user,
                request->peer);
    if (request->finished)
        return;

    SoupServerMessage *msg = request->msg;
    soup_server_message_set_status(msg, status, NULL);
    if (allow)
        soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Allow", allow);
    if (owned) {
        gsize len = 0;
        g_autoptr(JsonGenerator) gen = json_generator_new();
        json_generator_set_root(gen, owned);
        char *text = json_generator_to_data(gen, &len);
        soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_TAKE, text, len);
    }
    if (request->paused) {
        request->paused = FALSE;
        soup_server_message_unpause(msg);
    }
}

static void G_GNUC_PRINTF(4, 5)
request_fail(ApiRequest *request, guint status, VireoErrorCode code, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    g_autofree char *message = g_strdup_vprintf(format, args);
    va_end(args);
    request_answer(request, status, error_body(code, message), NULL);
}

void
api_request_reply_json(ApiRequest *request, guint status, JsonNode *node)
{
    g_return_if_fail(request != NULL);
    request_answer(request, status, node, NULL);
}

void
api_request_reply_empty(ApiRequest *request, guint status)
{
    g_return_if_fail(request != NULL);
    request_answer(request, status, NULL, NULL);
}

void
api_request_reply_error(ApiRequest *request, const GError *error)
{
    g_return_if_fail(request != NULL);
    VireoErrorCode code = vireo_error_code_of(error);
    request_answer(request, vireo_error_http_status(code),
                   error_body(code, error ? error->message : "Unknown error"), NULL);
}

gboolean
api_request_answered(ApiRequest *request)
{
    return request->answered;
}

/* ---- requests --------------------------------------------------------- */

static void
request_message_finished(SoupServerMessage *msg, gpointer data)
{
    ApiRequest *request = data;
    if (request->finished)
        return;
    request->finished = TRUE;
    if (!request->answered)
        g_message("api: %s %s: client went away before the answer", request->method,
                  request->path);
}

static ApiRequest *
api_request_new(ApiServer *server, SoupServerMessage *msg)
{
    ApiRequest *request = g_new0(ApiRequest, 1);
    request->ref_count = 1;
    request->msg = g_object_ref(msg);
    request->server = server;
    request->method = g_strdup(soup_server_message_get_method(msg));
    request->path = g_strdup(g_uri_get_path(soup_server_message_get_uri(msg)));
    request->peer = g_strdup(soup_server_message_get_remote_host(msg));
    request->params = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    request->query = g_ptr_array_new_with_free_func(g_free);
    request->start_us = g_get_monotonic_time();
    request->finished_id =
        g_signal_connect(msg, "finished", G_CALLBACK(request_message_finished), request);
    /* Emitted instead of "finished" when the server drops its connections. */
    request->disconnected_id =
        g_signal_connect(msg, "disconnected", G_CALLBACK(request_message_finished), request);
    return request;
}

ApiRequest *
api_request_ref(ApiRequest *request)
{
    g_return_val_if_fail(request != NULL, NULL);
    g_atomic_int_inc(&request->ref_count);
    return request;
}

void
api_request_unref(ApiRequest *request)
{
    if (!request || !g_atomic_int_dec_and_test(&request->ref_count))
        return;
    /* A handler that forgot its request must not leave the client hanging. */
    if (!request->answered)
        request_fail(request, 500, VIREO_ERROR_ERROR,
                     "The server dropped this request without answering it");
    g_signal_handler_disconnect(request->msg, request->finished_id);
    g_signal_handler_disconnect(request->msg, request->disconnected_id);
    g_object_unref(request->msg);
    g_free(request->method);
    g_free(request->path);
    g_free(request->peer);
    g_hash_table_unref(request->params);
    g_ptr_array_unref(request->query);
    g_clear_pointer(&request->body, json_node_unref);
    g_free(request->user);
    g_free(request->session_key);
    g_free(request);
}

const char *
api_request_method(ApiRequest *request)
{
    return request->method;
}

const char *
api_request_path(ApiRequest *request)
{
    return request->path;
}

const char *
api_request_param(ApiRequest *request, const char *name)
{
    return g_hash_table_lookup(request->params, name);
}

const char *
api_request_query(ApiRequest *request, const char *name)
{
    for (guint i = 0; i + 1 < request->query->len; i += 2) {
        if (g_str_equal(g_ptr_array_index(request->query, i), name))
            return g_ptr_array_index(request->query, i + 1);
    }
    return NULL;
}

/* name, name.N, filter.name and filter.name.N (vSphere's /rest forms). */
static gboolean
query_key_matches(const char *key, const char *name)
{
    if (g_str_has_prefix(key, "filter."))
        key += strlen("filter.");
    if (!g_str_has_prefix(key, name))
        return FALSE;
    key += strlen(name);
    if (*key == '\0')
        return TRUE;
    if (*key != '.' || !key[1])
        return FALSE;
    for (key++; *key; key++) {
        if (!g_ascii_isdigit(*key))
            return FALSE;
    }
    return TRUE;
}

GStrv
api_request_query_all(ApiRequest *request, const char *name)
{
    g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
    gboolean present = FALSE;

    for (guint i = 0; i + 1 < request->query->len; i += 2) {
        if (!query_key_matches(g_ptr_array_index(request->query, i), name))
            continue;
        present = TRUE;
        g_auto(GStrv) parts = g_strsplit(g_ptr_array_index(request->query, i + 1), ",", -1);
        for (guint j = 0; parts[j]; j++) {
            if (parts[j][0])
                g_strv_builder_add(builder, parts[j]);
        }
    }
    return present ? g_strv_builder_end(builder) : NULL;
}

JsonNode *
api_request_body(ApiRequest *request)
{
    return request->body;
}

const char *
api_request_user(ApiRequest *request)
{
    return request->user;
}

const char *
api_request_peer(ApiRequest *request)
{
    return request->peer;
}

/* ---- request checks --------------------------------------------------- */

/* Percent-decodes one URI component; '+' means space in a query. NULL when
 * an escape is malformed, decodes to NUL, or the result is not UTF-8. */
static char *
uri_decode(const char *text, gboolean plus_is_space)
{
    g_autofree char *copy = g_strdup(text);
    if (plus_is_space)
        g_strdelimit(copy, "+", ' ');
    g_autofree char *decoded = g_uri_unescape_string(copy, NULL);
    if (!decoded || !g_utf8_validate(decoded, -1, NULL))
        return NULL;
    return g_steal_pointer(&decoded);
}

static gboolean
request_parse_query(ApiRequest *request)
{
    const char *query = g_uri_get_query(soup_server_message_get_uri(request->msg));
    if (!query || !query[0])
        return TRUE;

    g_auto(GStrv) pairs = g_strsplit(query, "&", -1);
    for (guint i = 0; pairs[i]; i++) {
        if (!pairs[i][0])
            continue;
        char *eq = strchr(pairs[i], '=');
        if (eq)
            *eq = '\0';
        char *key = uri_decode(pairs[i], TRUE);
        char *value = uri_decode(eq ? eq + 1 : "", TRUE);
        if (!key || !value) {
            g_free(key);
            g_free(value);
            request_fail(request, 400, VIREO_ERROR_INVALID_ARGUMENT,
                         "The query string has a malformed percent-escape or is not UTF-8");
            return FALSE;
        }
        g_ptr_array_add(request->query, key);
        g_ptr_array_add(request->query, value);
    }
    return TRUE;
}

static char **
request_decode_path(ApiRequest *request)
{
    g_auto(GStrv) raw = split_path(request->path ? request->path : "/");
    g_autoptr(GStrvBuilder) builder = g_strv_builder_new();

    for (guint i = 0; raw[i]; i++) {
        g_autofree char *segment = uri_decode(raw[i], FALSE);
        if (!segment) {
            request_fail(request, 400, VIREO_ERROR_INVALID_ARGUMENT,
                         "The path has a malformed percent-escape or is not UTF-8");
            return NULL;
        }
        /* A handler may use a {param} in a file name: no way up or sideways. */
        if (g_str_equal(segment, ".") || g_str_equal(segment, "..")) {
            request_fail(request, 400, VIREO_ERROR_INVALID_ARGUMENT,
                         "The path has a '.' or '..' segment");
            return NULL;
        }
        g_strv_builder_add(builder, segment);
    }
    return g_strv_builder_end(builder);
}

static gboolean
route_path_matches(ApiRoute *route, char **segments, GHashTable *params)
{
    if (g_strv_length(route->segments) != g_strv_length(segments))
        return FALSE;
    for (guint i = 0; segments[i]; i++) {
        const char *p = route->segments[i];
        gsize len = strlen(p);
        gboolean is_param = len > 2 && p[0] == '{' && p[len - 1] == '}';
        if (is_param) {
            if (params)
                g_hash_table_insert(params, g_strndup(p + 1, len - 2), g_strdup(segments[i]));
        } else if (!g_str_equal(p, segments[i])) {
            return FALSE;
        }
    }
    return TRUE;
}

static void
add_unique(GPtrArray *list, const char *word)
{
    if (!g_ptr_array_find_with_equal_func(list, word, g_str_equal, NULL))
        g_ptr_array_add(list, (gpointer)word);
}

static char *
join_words(GPtrArray *list)
{
    g_ptr_array_add(list, NULL);
    char *joined = g_strjoinv(", ", (char **)list->pdata);
    g_ptr_array_remove_index(list, list->len - 1);
    return joined;
}

/* The route for the request, filling its params; or NULL with an error
 * answer (404 unknown path, 405 other method, 400 unknown action). The
 * answer is only sent when send_errors is set, so that an unauthenticated
 * client learns nothing about which paths exist. */
static ApiRoute *
server_route(ApiServer *server, ApiRequest *request, char **segments, gboolean send_errors)
{
    const char *action = api_request_query(request, "action");
    g_autoptr(GPtrArray) methods = g_ptr_array_new();
    g_autoptr(GPtrArray) actions = g_ptr_array_new();
    ApiRoute *generic = NULL;
    ApiRoute *found = NULL;

    for (guint i = 0; i < server->routes->len && !found; i++) {
        ApiRoute *route = g_ptr_array_index(server->routes, i);
        if (!route_path_matches(route, segments, NULL))
            continue;
        add_unique(methods, route->method);
        if (!g_str_equal(route->method, request->method))
            continue;
        if (route->action && action && g_str_equal(route->action, action))
            found = route;
        else if (route->action)
            add_unique(actions, route->action);
        else if (!generic)
            generic = route;
    }
    found = found ? found : generic;
    if (found) {
        route_path_matches(found, segments, request->params);
        return found;
    }
    if (!send_errors)
        return NULL;

    if (methods->len == 0) {
        request_fail(request, 404, VIREO_ERROR_NOT_FOUND, "No API resource at %s", request->path);
    } else if (actions->len == 0) {
        g_autofree char *allow = join_words(methods);
        g_autofree char *message = g_strdup_printf("%s is not allowed on %s; allowed: %s",
                                                   request->method, request->path, allow);
        request_answer(request, 405, error_body(VIREO_ERROR_INVALID_ARGUMENT, message), allow);
    } else {
        g_autofree char *list = join_words(actions);
        request_fail(request, 400, VIREO_ERROR_INVALID_ARGUMENT,
                     "%s %s needs ?action= with one of: %s", request->method, request->path, list);
    }
    return NULL;
}

static gboolean
request_authenticate(ApiServer *server, ApiRequest *request)
{
    SoupMessageHeaders *headers = soup_server_message_get_request_headers(request->msg);
    const char *token = soup_message_headers_get_one(headers, API_SESSION_HEADER);

    if (!token || !token[0]) {
        request_fail(request, 401, VIREO_ERROR_UNAUTHENTICATED,
                     "This request needs a session: log in with POST /api/session and send "
                     "the token in the " API_SESSION_HEADER " header");
        return FALSE;
    }
    g_autofree char *key = session_key(token);
    ApiSession *session = sessions_lookup(server, key);
    if (!session) {
        request_fail(request, 401, VIREO_ERROR_UNAUTHENTICATED,
                     "The session is unknown or has expired: log in again with POST /api/session");
        return FALSE;
    }
    request->user = g_strdup(session->user);
    request->session_key = g_steal_pointer(&key);
    return TRUE;
}

static gboolean
request_parse_body(ApiRequest *request)
{
    SoupServerMessage *msg = request->msg;
    SoupMessageHeaders *headers = soup_server_message_get_request_headers(msg);

    if (soup_message_headers_get_encoding(headers) != SOUP_ENCODING_CONTENT_LENGTH ||
        soup_message_headers_get_content_length(headers) <= 0)
        return TRUE;

    g_autoptr(GBytes) bytes = soup_message_body_flatten(soup_server_message_get_request_body(msg));
    gsize size = 0;
    const char *data = g_bytes_get_data(bytes, &size);
    if (size > API_MAX_BODY_BYTES) {
        request_fail(request, 413, VIREO_ERROR_INVALID_ARGUMENT,
                     "The request body is larger than %d bytes", API_MAX_BODY_BYTES);
        return FALSE;
    }
    g_autoptr(GError) error = NULL;
    request->body = json_util_parse(data, (gssize)size, API_MAX_JSON_DEPTH, &error);
    if (!request->body) {
        request_fail(request, 400, VIREO_ERROR_INVALID_ARGUMENT, "The request body is refused: %s",
                     error->message);
        return FALSE;
    }
    return TRUE;
}

/* ---- dispatch --------------------------------------------------------- */

static gboolean
route_is_public(ApiRoute *route)
{
    return route && route->is_public;
}

static void
server_dispatch(ApiServer *server, ApiRequest *request)
{
    g_auto(GStrv) segments = NULL;

    if (!request_parse_query(request) || !(segments = request_decode_path(request)))
        return;

    ApiRoute *route = server_route(server, request, segments, FALSE);
    if (!route_is_public(route) && !request_authenticate(server, request))
        return;
    if (!route && !(route = server_route(server, request, segments, TRUE)))
        return;
    if (!request_parse_body(request))
        return;

    route->handler(request, route->user_data);
}

static void
server_callback(SoupServer *soup, SoupServerMessage *msg, const char *path, GHashTable *query,
                gpointer data)
{
    ApiServer *server = data;
    ApiRequest *request = api_request_new(server, msg);

    /* libsoup 3.2 (Debian 12) never closes an idle kept-alive connection the
     * client has closed: each one stays in CLOSE_WAIT for good, a descriptor
     * leak any client can drive (fixed upstream in 3.3, commit d20c6601).
     * Closing every connection after its answer is the safe side. */
    soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Connection", "close");
    server_dispatch(server, request);
    request->server = NULL;
    if (!request->answered && !request->finished) {
        request->paused = TRUE;
        soup_server_message_pause(msg);
    }
    api_request_unref(request);
}

/* Runs once the headers are in, before libsoup reads the body. libsoup 3.2
 * reads a body even when the answer is already set, so a refused body is
 * read and thrown away (never stored), and a request whose length cannot be
 * read at all loses its connection. */
static void
server_early_callback(SoupServer *soup, SoupServerMessage *msg, const char *path,
                      GHashTable *query, gpointer data)
{
    SoupMessageHeaders *headers = soup_server_message_get_request_headers(msg);
    SoupEncoding encoding = soup_message_headers_get_encoding(headers);
    goffset length = soup_message_headers_get_content_length(headers);
    guint status = 0;
    const char *message = NULL;

    if (encoding == SOUP_ENCODING_CONTENT_LENGTH && length < 0) {
        /* "-5" or a number past 2^63: libsoup would read until the client
         * closes. Drop the connection instead. */
        log_request(soup_server_message_get_method(msg), path, 400, g_get_monotonic_time(), NULL,
                    soup_server_message_get_remote_host(msg));
        g_autoptr(GIOStream) stream = soup_server_message_steal_connection(msg);
        if (stream)
            g_io_stream_close(stream, NULL, NULL);
        return;
    }
    if (encoding == SOUP_ENCODING_CONTENT_LENGTH && length > API_MAX_BODY_BYTES) {
        status = 413;
        message = "The request body is larger than the limit of 1048576 bytes";
    } else if (encoding != SOUP_ENCODING_CONTENT_LENGTH && encoding != SOUP_ENCODING_NONE) {
        status = 411;
        message = "A request body needs a Content-Length header (chunked bodies are refused)";
    }
    if (!status)
        return;

    soup_message_body_set_accumulate(soup_server_message_get_request_body(msg), FALSE);
    g_autoptr(JsonNode) body = error_body(VIREO_ERROR_INVALID_ARGUMENT, message);
    gsize len = 0;
    g_autoptr(JsonGenerator) gen = json_generator_new();
    json_generator_set_root(gen, body);
    char *text = json_generator_to_data(gen, &len);
    soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Connection",
                                 "close");
    soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_TAKE, text, len);
    soup_server_message_set_status(msg, status, NULL);
    log_request(soup_server_message_get_method(msg), path, status, g_get_monotonic_time(), NULL,
                soup_server_message_get_remote_host(msg));
}

/* ---- built-in session routes ------------------------------------------ */

/* user and password from "Authorization: Basic ...", or FALSE. */
static gboolean
parse_basic_auth(SoupServerMessage *msg, char **user, char **password)
{
    SoupMessageHeaders *headers = soup_server_message_get_request_headers(msg);
    const char *auth = soup_message_headers_get_one(headers, "Authorization");

    if (!auth || g_ascii_strncasecmp(auth, "Basic ", 6) != 0)
        return FALSE;
    gsize len = 0;
    g_autofree char *b64 = g_strstrip(g_strdup(auth + 6));
    g_autofree guchar *raw = g_base64_decode(b64, &len);
    if (!raw || len == 0 || memchr(raw, '\0', len) || !g_utf8_validate((char *)raw, len, NULL))
        return FALSE;
    g_autofree char *text = g_strndup((char *)raw, len);
    explicit_bzero(raw, len);
    char *colon = strchr(text, ':');
    if (!colon || colon == text)
        return FALSE;
    *colon = '\0';
    *user = g_strdup(text);
    *password = g_strdup(colon + 1);
    explicit_bzero(text, len);
    return TRUE;
}

static void
session_create(ApiRequest *request, gpointer data)
{
    ApiServer *server = data;
    g_autofree char *user = NULL;
    g_autofree char *password = NULL;

    if (!parse_basic_auth(request->msg, &user, &password)) {
        request_fail(request, 401, VIREO_ERROR_UNAUTHENTICATED,
                     "POST /api/session needs HTTP Basic authentication (user and password)");
        return;
    }
    gboolean ok = server->auth && server->auth(user, password, server->auth_data);
    explicit_bzero(password, strlen(password));
    if (!ok) {
        request_fail(request, 401, VIREO_ERROR_UNAUTHENTICATED, "Wrong user name or password");
        return;
    }

    sessions_sweep(server);
    g_autofree char *token = session_new_token();
    ApiSession *session = g_new0(ApiSession, 1);
    session->user = g_strdup(user);
    session->created = g_date_time_new_now_utc();
    session->last_accessed = g_date_time_ref(session->created);
    session->last_accessed_mono = g_get_monotonic_time();
    g_hash_table_replace(server->sessions, session_key(token), session);

    g_free(request->user);
    request->user = g_strdup(user);
    api_request_reply_json(request, 201, json_util_string_node(token));
}

static void
session_get(ApiRequest *request, gpointer data)
{
    ApiServer *server = data;
    ApiSession *session = g_hash_table_lookup(server->sessions, request->session_key);
    g_autofree char *created = g_date_time_format_iso8601(session->created);
    g_autofree char *accessed = g_date_time_format_iso8601(session->last_accessed);
    g_autoptr(JsonBuilder) b = json_builder_new_immutable();

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "user");
    json_builder_add_string_value(b, session->user);
    json_builder_set_member_name(b, "created_time");
    json_builder_add_string_value(b, created);
    json_builder_set_member_name(b, "last_accessed_time");
    json_builder_add_string_value(b, accessed);
    json_builder_end_object(b);
    api_request_reply_json(request, 200, json_builder_get_root(b));
}

static void
session_delete(ApiRequest *request, gpointer data)
{
    ApiServer *server = data;
    g_hash_table_remove(server->sessions, request->session_key);
    api_request_reply_empty(request, 204);
}

/* ---- server ----------------------------------------------------------- */

ApiServer *
api_server_new(GTlsCertificate *certificate, ApiAuthFunc auth, gpointer auth_data)
{
    g_return_val_if_fail(G_IS_TLS_CERTIFICATE(certificate), NULL);

    ApiServer *server = g_new0(ApiServer, 1);
    /* raw-paths: we split before decoding, so %2F stays inside a segment. */
    server->soup = soup_server_new("tls-certificate", certificate, "server-header", "vireo",
                                   "raw-paths", TRUE, NULL);
    server->auth = auth;
    server->auth_data = auth_data;
    server->routes = g_ptr_array_new_with_free_func((GDestroyNotify)api_route_free);
    server->sessions = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                             (GDestroyNotify)api_session_free);
    server->session_idle_seconds = API_SESSION_IDLE_SECONDS;
    soup_server_add_early_handler(server->soup, NULL, server_early_callback, server, NULL);
    soup_server_add_handler(server->soup, NULL, server_callback, server, NULL);

    api_server_add_public_route(server, "POST", "/api/session", NULL, session_create, server);
    api_server_add_route(server, "GET", "/api/session", NULL, session_get, server);
    api_server_add_route(server, "DELETE", "/api/session", NULL, session_delete, server);
    return server;
}

void
api_server_free(ApiServer *server)
{
    if (!server)
        return;
    soup_server_disconnect(server->soup);
    g_object_unref(server->soup);
    g_ptr_array_unref(server->routes);
    g_hash_table_unref(server->sessions);
    g_free(server);
}

gboolean
api_server_listen(ApiServer *server, const char *address, guint port, GError **error)
{
    g_autoptr(GSocketAddress) addr = g_inet_socket_address_new_from_string(address, port);
    if (!addr) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "Cannot listen on '%s': the listen address must be an IP address", address);
        return FALSE;
    }
    return soup_server_listen(server->soup, addr, SOUP_SERVER_LISTEN_HTTPS, error);
}

guint
api_server_port(ApiServer *server)
{
    GSList *uris = soup_server_get_uris(server->soup);
    guint port = uris ? (guint)g_uri_get_port(uris->data) : 0;
    g_slist_free_full(uris, (GDestroyNotify)g_uri_unref);
    return port;
}

void
api_server_set_session_idle_seconds(ApiServer *server, guint seconds)
{
    server->session_idle_seconds = seconds;
}

static void
server_add(ApiServer *server, const char *method, const char *pattern, const char *action,
           ApiHandler handler, gpointer user_data, gboolean is_public)
{
    g_return_if_fail(method && pattern && handler);

    ApiRoute *route = g_new0(ApiRoute, 1);
    route->method = g_ascii_strup(method, -1);
    route->segments = split_path(pattern);
    route->action = g_strdup(action);
    route->handler = handler;
    route->user_data = user_data;
    route->is_public = is_public;
    g_ptr_array_add(server->routes, route);
}

void
api_server_add_route(ApiServer *server, const char *method, const char *pattern,
                     const char *action, ApiHandler handler, gpointer user_data)
{
    server_add(server, method, pattern, action, handler, user_data, FALSE);
}

void
api_server_add_public_route(ApiServer *server, const char *method, const char *pattern,
                            const char *action, ApiHandler handler, gpointer user_data)
{
    server_add(server, method, pattern, action, handler, user_data, TRUE);
}
