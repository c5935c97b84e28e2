/* api-client.h — a synchronous client of Vireo's HTTPS+JSON API.
 *
 * Used by the CLI and by the management server to talk to hosts. It owns one
 * libsoup session, the session token, the TLS trust decision (system CAs,
 * "insecure", or one pinned SHA-256 thumbprint) and turns vSphere error
 * bodies back into VIREO_ERROR GErrors.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct ApiClient ApiClient;

#define API_CLIENT_SESSION_HEADER "vmware-api-session-id"
#define API_CLIENT_DEFAULT_TIMEOUT_SECONDS 60

/* base_url: "https://host:port" or "http://host:port" (no trailing path is
 * needed; one is kept as a prefix). insecure: accept any certificate.
 * expected_thumbprint (nullable): accept exactly the certificate with that
 * SHA-256 thumbprint ("AB:CD:..", case and separators ignored) and no other,
 * even one a CA vouches for. Neither: the system's CAs decide.
 * A base_url that is not an http(s) URL makes every request fail with
 * INVALID_ARGUMENT. */
ApiClient *api_client_new(const char *base_url, gboolean insecure,
                          const char *expected_thumbprint);
void api_client_free(ApiClient *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ApiClient, api_client_free)

const char *api_client_base_url(ApiClient *client);

/* Seconds before a request with no answer fails with TIMED_OUT (0: never). */
void api_client_set_timeout(ApiClient *client, guint seconds);

/* POST /api/session with HTTP Basic auth; keeps the token it answers. */
gboolean api_client_login(ApiClient *client, const char *user, const char *password,
                          GError **error);
/* DELETE /api/session and forget the token. */
gboolean api_client_logout(ApiClient *client, GError **error);
/* The token sent in vmware-api-session-id (NULL: none). */
void api_client_set_token(ApiClient *client, const char *token);
const char *api_client_get_token(ApiClient *client);

/* One request. path: "/api/vcenter/vm" (segments already escaped, see
 * api_client_escape_segment). query (nullable): NULL-terminated list of
 * name, value pairs, each escaped here; a name may repeat. body (nullable,
 * not consumed) is sent as JSON. On a 2xx answer returns TRUE, *status_out
 * (nullable) the status and *answer_out (nullable) the parsed JSON body or
 * NULL when there was none. On an error answer returns FALSE with a
 * VIREO_ERROR code from its error_type (or from the status when the body is
 * not vSphere's error shape) and the server's default_message; *status_out
 * is still set. Transport failures: TIMED_OUT, SERVICE_UNAVAILABLE (cannot
 * connect) and UNAUTHENTICATED (certificate refused; the message names the
 * thumbprint, see api_client_get_peer_thumbprint). */
gboolean api_client_request(ApiClient *client, const char *method, const char *path,
                            const char *const *query, JsonNode *body,
                            guint *status_out, JsonNode **answer_out, GError **error);

/* SHA-256 thumbprint ("AB:CD:...") of the certificate the server showed on
 * the last HTTPS connection, accepted or not; NULL before any or over http. */
const char *api_client_get_peer_thumbprint(ApiClient *client);

/* TRUE when the last request failed because the certificate was refused. */
gboolean api_client_certificate_refused(ApiClient *client);

/* Connects (HTTPS only) and returns the server's thumbprint without trusting
 * or sending anything, for "this host's thumbprint is X, accept?". */
char *api_client_fetch_thumbprint(ApiClient *client, GError **error);

/* A path segment with '/', '?', '%', '#' and spaces escaped. */
char *api_client_escape_segment(const char *segment);

/* "ab:cd" / "ABCD" / "AB CD" → "AB:CD"; NULL when not hex pairs. */
char *api_client_normalize_thumbprint(const char *text);

G_END_DECLS
