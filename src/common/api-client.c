/* api-client.c — synchronous HTTPS+JSON client of Vireo's API (libsoup 3).
 *
 * Owns the soup session, the token and the trust decision. Certificate
 * pinning works by giving the session no CA database at all, so every
 * certificate reaches "accept-certificate", where only the pinned thumbprint
 * passes: a CA-signed certificate with another key is refused too.
 */
#include "api-client.h"

#include <libsoup/soup.h>
#include <string.h>

#include "vireo-error.h"

struct ApiClient {
    SoupSession *session;
    char *base_url;          /* without trailing '/' */
    gboolean url_valid;
    gboolean https;
    gboolean insecure;
    char *expected_thumbprint; /* normalized, or NULL */
    char *token;
    char *peer_thumbprint;   /* last certificate seen */
    gboolean cert_refused;   /* the last handshake was refused by us */
};

char *
api_client_normalize_thumbprint(const char *text)
{
    g_autoptr(GString) out = g_string_new(NULL);
    guint digits = 0;

    if (!text)
        return NULL;
    for (const char *p = text; *p; p++) {
        if (*p == ':' || *p == ' ' || *p == '-')
            continue;
        if (!g_ascii_isxdigit(*p))
            return NULL;
        if (digits > 0 && digits % 2 == 0)
            g_string_append_c(out, ':');
        g_string_append_c(out, g_ascii_toupper(*p));
        digits++;
    }
    if (digits == 0 || digits % 2 != 0)
        return NULL;
    return g_string_free(g_steal_pointer(&out), FALSE);
}

static char *
certificate_thumbprint(GTlsCertificate *cert)
{
    g_autoptr(GByteArray) der = NULL;
    g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);

    g_object_get(cert, "certificate", &der, NULL);
    if (!der)
        return NULL;
    g_checksum_update(sum, der->data, der->len);
    return api_client_normalize_thumbprint(g_checksum_get_string(sum));
}

ApiClient *
api_client_new(const char *base_url, gboolean insecure, const char *expected_thumbprint)
{
    ApiClient *client = g_new0(ApiClient, 1);
    g_autoptr(GUri) uri = base_url ? g_uri_parse(base_url, G_URI_FLAGS_NONE, NULL) : NULL;
    const char *scheme = uri ? g_uri_get_scheme(uri) : NULL;

    client->base_url = g_strdup(base_url ? base_url : "");
    while (g_str_has_suffix(client->base_url, "/"))
        client->base_url[strlen(client->base_url) - 1] = '\0';
    client->url_valid = scheme && g_uri_get_host(uri) && *g_uri_get_host(uri) &&
                        (g_ascii_strcasecmp(scheme, "https") == 0 ||
                         g_ascii_strcasecmp(scheme, "http") == 0);
    client->https = scheme && g_ascii_strcasecmp(scheme, "https") == 0;
    client->insecure = insecure;
    client->expected_thumbprint = api_client_normalize_thumbprint(expected_thumbprint);
    client->session = soup_session_new_with_options("timeout", API_CLIENT_DEFAULT_TIMEOUT_SECONDS,
                                                    "user-agent", "vireo/" "0.1", NULL);
    if (client->expected_thumbprint)
        soup_session_set_tls_database(client->session, NULL);
    return client;
}

void
api_client_free(ApiClient *client)
{
    if (!client)
        return;
    g_clear_object(&client->session);
    g_free(client->base_url);
    g_free(client->expected_thumbprint);
    g_free(client->token);
    g_free(client->peer_thumbprint);
    g_free(client);
}

const char *
api_client_base_url(ApiClient *client)
{
    return client->base_url;
}

void
api_client_set_timeout(ApiClient *client, guint seconds)
{
    soup_session_set_timeout(client->session, seconds);
    /* Open connections keep the timeout they were made with: drop them. */
    soup_session_abort(client->session);
}

void
api_client_set_token(ApiClient *client, const char *token)
{
    g_free(client->token);
    client->token = g_strdup(token);
}

const char *
api_client_get_token(ApiClient *client)
{
    return client->token;
}

const char *
api_client_get_peer_thumbprint(ApiClient *client)
{
    return client->peer_thumbprint;
}

gboolean
api_client_certificate_refused(ApiClient *client)
{
    return client->cert_refused;
}

static void
remember_peer(ApiClient *client, GTlsCertificate *cert)
{
    if (!cert)
        return;
    g_free(client->peer_thumbprint);
    client->peer_thumbprint = certificate_thumbprint(cert);
}

/* Called only for a certificate the session's database did not vouch for
 * (every certificate when a thumbprint is pinned). */
static gboolean
on_accept_certificate(SoupMessage *msg, GTlsCertificate *cert, GTlsCertificateFlags flags,
                      gpointer user_data)
{
    ApiClient *client = user_data;

    remember_peer(client, cert);
    if (client->expected_thumbprint)
        client->cert_refused = g_strcmp0(client->peer_thumbprint, client->expected_thumbprint) != 0;
    else
        client->cert_refused = !client->insecure;
    return !client->cert_refused;
}

char *
api_client_escape_segment(const char *segment)
{
    return g_uri_escape_string(segment, "-._~:@!$&'()*+,;=", TRUE);
}

static char *
build_url(ApiClient *client, const char *path, const char *const *query)
{
    GString *url = g_string_new(client->base_url);

    g_string_append(url, path);
    for (guint i = 0; query && query[i] && query[i + 1]; i += 2) {
        g_autofree char *name = g_uri_escape_string(query[i], NULL, TRUE);
        g_autofree char *value = g_uri_escape_string(query[i + 1], NULL, TRUE);
        g_string_append_printf(url, "%c%s=%s", i == 0 ? '?' : '&', name, value);
    }
    return g_string_free(url, FALSE);
}

static VireoErrorCode
code_from_status(guint status)
{
    switch (status) {
    case 400: return VIREO_ERROR_INVALID_ARGUMENT;
    case 401: return VIREO_ERROR_UNAUTHENTICATED;
    case 403: return VIREO_ERROR_UNAUTHORIZED;
    case 404: return VIREO_ERROR_NOT_FOUND;
    case 409: return VIREO_ERROR_RESOURCE_BUSY;
    case 503: return VIREO_ERROR_SERVICE_UNAVAILABLE;
    case 504: return VIREO_ERROR_TIMED_OUT;
    default: return VIREO_ERROR_ERROR;
    }
}

/* The error of a non-2xx answer: vSphere's shape when the body has it. */
static void
set_answer_error(SoupMessage *msg, JsonNode *answer, GError **error)
{
    guint status = soup_message_get_status(msg);
    JsonObject *obj = answer && JSON_NODE_HOLDS_OBJECT(answer) ? json_node_get_object(answer) : NULL;
    const char *type = obj ? json_object_get_string_member_with_default(obj, "error_type", NULL) : NULL;
    const char *message = NULL;

    if (obj && json_object_has_member(obj, "messages") &&
        JSON_NODE_HOLDS_ARRAY(json_object_get_member(obj, "messages"))) {
        JsonArray *messages = json_object_get_array_member(obj, "messages");
        JsonNode *first = json_array_get_length(messages) ? json_array_get_element(messages, 0) : NULL;
        if (first && JSON_NODE_HOLDS_OBJECT(first))
            message = json_object_get_string_member_with_default(json_node_get_object(first),
                                                                 "default_message", NULL);
    }
    g_set_error(error, VIREO_ERROR, type ? vireo_error_type_from_name(type) : code_from_status(status),
                "%s", message ? message : type ? type : "");
    if (!message && !type && error && *error) {
        g_free((*error)->message);
        (*error)->message = g_strdup_printf("the server answered HTTP %u %s", status,
                                            soup_status_get_phrase(status));
    }
}

static void
set_transport_error(ApiClient *client, GError *cause, GError **error)
{
    if (g_error_matches(cause, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_TIMED_OUT, "%s did not answer in time: %s",
                    client->base_url, cause->message);
    } else if (client->cert_refused || cause->domain == G_TLS_ERROR) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_UNAUTHENTICATED,
                    "the certificate of %s is not trusted (SHA-256 thumbprint %s)%s",
                    client->base_url, client->peer_thumbprint ? client->peer_thumbprint : "unknown",
                    client->expected_thumbprint ? ": it is not the pinned one" : "");
    } else {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_SERVICE_UNAVAILABLE, "cannot reach %s: %s",
                    client->base_url, cause->message);
    }
}

static JsonNode *
parse_answer(GBytes *bytes, GError **error)
{
    gsize size = 0;
    const char *data = bytes ? g_bytes_get_data(bytes, &size) : NULL;
    g_autoptr(JsonParser) parser = NULL;

    if (size == 0)
        return NULL;
    parser = json_parser_new_immutable();
    if (!json_parser_load_from_data(parser, data, (gssize)size, NULL)) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_UNEXPECTED_INPUT,
                    "the server answered something that is not JSON");
        return NULL;
    }
    return json_node_copy(json_parser_get_root(parser));
}

static SoupMessage *
build_message(ApiClient *client, const char *method, const char *path,
              const char *const *query, JsonNode *body)
{
    g_autofree char *url = build_url(client, path, query);
    SoupMessage *msg = soup_message_new(method, url);

    if (!msg)
        return NULL;
    if (client->token)
        soup_message_headers_replace(soup_message_get_request_headers(msg),
                                     API_CLIENT_SESSION_HEADER, client->token);
    soup_message_headers_replace(soup_message_get_request_headers(msg), "Accept", "application/json");
    if (body) {
        char *text = json_to_string(body, FALSE);
        gsize len = strlen(text);
        g_autoptr(GBytes) bytes = g_bytes_new_take(text, len);
        soup_message_set_request_body_from_bytes(msg, "application/json", bytes);
    }
    g_signal_connect(msg, "accept-certificate", G_CALLBACK(on_accept_certificate), client);
    return msg;
}

static gboolean
send_message(ApiClient *client, SoupMessage *msg, guint *status_out, JsonNode **answer_out,
             GError **error)
{
    g_autoptr(GError) cause = NULL;
    g_autoptr(GBytes) bytes = NULL;
    g_autoptr(JsonNode) answer = NULL;
    GError *parse_error = NULL;
    guint status;

    client->cert_refused = FALSE;
    bytes = soup_session_send_and_read(client->session, msg, NULL, &cause);
    if (!bytes) {
        set_transport_error(client, cause, error);
        return FALSE;
    }
    if (client->https)
        remember_peer(client, soup_message_get_tls_peer_certificate(msg));
    status = soup_message_get_status(msg);
    if (status_out)
        *status_out = status;
    answer = parse_answer(bytes, &parse_error);
    if (!SOUP_STATUS_IS_SUCCESSFUL(status)) {
        g_clear_error(&parse_error);
        set_answer_error(msg, answer, error);
        return FALSE;
    }
    if (parse_error) {
        g_propagate_error(error, parse_error);
        return FALSE;
    }
    if (answer_out)
        *answer_out = g_steal_pointer(&answer);
    return TRUE;
}

gboolean
api_client_request(ApiClient *client, const char *method, const char *path,
                   const char *const *query, JsonNode *body,
                   guint *status_out, JsonNode **answer_out, GError **error)
{
    g_autoptr(SoupMessage) msg = NULL;

    if (status_out)
        *status_out = 0;
    if (answer_out)
        *answer_out = NULL;
    if (!client->url_valid) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "'%s' is not a server address: expected https://host:port", client->base_url);
        return FALSE;
    }
    msg = build_message(client, method, path, query, body);
    if (!msg) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "cannot build a request for %s%s", client->base_url, path);
        return FALSE;
    }
    return send_message(client, msg, status_out, answer_out, error);
}

gboolean
api_client_login(ApiClient *client, const char *user, const char *password, GError **error)
{
    g_autoptr(SoupMessage) msg = NULL;
    g_autoptr(JsonNode) answer = NULL;
    g_autofree char *pair = g_strdup_printf("%s:%s", user ? user : "", password ? password : "");
    g_autofree char *encoded = g_base64_encode((const guchar *)pair, strlen(pair));
    g_autofree char *header = g_strdup_printf("Basic %s", encoded);

    if (!client->url_valid)
        return api_client_request(client, "POST", "/api/session", NULL, NULL, NULL, NULL, error);
    g_clear_pointer(&client->token, g_free);
    msg = build_message(client, "POST", "/api/session", NULL, NULL);
    soup_message_headers_replace(soup_message_get_request_headers(msg), "Authorization", header);
    if (!send_message(client, msg, NULL, &answer, error))
        return FALSE;
    if (!answer || !JSON_NODE_HOLDS_VALUE(answer) ||
        json_node_get_value_type(answer) != G_TYPE_STRING || !*json_node_get_string(answer)) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_UNEXPECTED_INPUT,
                    "the server's answer to a login is not a session token");
        return FALSE;
    }
    client->token = g_strdup(json_node_get_string(answer));
    return TRUE;
}

gboolean
api_client_logout(ApiClient *client, GError **error)
{
    gboolean ok = api_client_request(client, "DELETE", "/api/session", NULL, NULL, NULL, NULL, error);

    g_clear_pointer(&client->token, g_free);
    return ok;
}

static gboolean
on_fetch_accept(GTlsConnection *conn, GTlsCertificate *cert, GTlsCertificateFlags flags,
                gpointer user_data)
{
    return TRUE;
}

char *
api_client_fetch_thumbprint(ApiClient *client, GError **error)
{
    g_autoptr(GSocketClient) sockets = g_socket_client_new();
    g_autoptr(GSocketConnection) plain = NULL;
    g_autoptr(GIOStream) tls = NULL;
    g_autoptr(GSocketConnectable) identity = NULL;

    if (!client->url_valid || !client->https) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "%s is not an https:// address: it has no certificate", client->base_url);
        return NULL;
    }
    g_socket_client_set_timeout(sockets, API_CLIENT_DEFAULT_TIMEOUT_SECONDS);
    plain = g_socket_client_connect_to_uri(sockets, client->base_url, 443, NULL, error);
    if (!plain)
        return NULL;
    identity = g_network_address_parse_uri(client->base_url, 443, NULL);
    tls = g_tls_client_connection_new(G_IO_STREAM(plain), identity, error);
    if (!tls)
        return NULL;
    g_signal_connect(tls, "accept-certificate", G_CALLBACK(on_fetch_accept), NULL);
    if (!g_tls_connection_handshake(G_TLS_CONNECTION(tls), NULL, error))
        return NULL;
    remember_peer(client, g_tls_connection_get_peer_certificate(G_TLS_CONNECTION(tls)));
    g_io_stream_close(tls, NULL, NULL);
    return g_strdup(client->peer_thumbprint);
}
