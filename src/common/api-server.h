/* api-server.h — the HTTPS+JSON server both daemons serve their API with.
 *
 * It owns the libsoup server, TLS, sessions, request limits, routing and the
 * vSphere error shape; the daemons only register handlers. A handler gets an
 * ApiRequest and answers it at once or later (the request is referenced, the
 * HTTP message stays paused until the answer), so a handler can wait for QEMU
 * without blocking the main loop.
 */
#pragma once

#include <glib.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct ApiServer ApiServer;
typedef struct ApiRequest ApiRequest;

typedef void (*ApiHandler)(ApiRequest *request, gpointer user_data);

/* Checks a user's password; TRUE when it is right. */
typedef gboolean (*ApiAuthFunc)(const char *user, const char *password, gpointer user_data);

#define API_MAX_BODY_BYTES (1024 * 1024)
#define API_MAX_JSON_DEPTH 64
#define API_SESSION_IDLE_SECONDS (30 * 60)

/* certificate: PEM cert + key (see tls-cert.h). */
ApiServer *api_server_new(GTlsCertificate *certificate, ApiAuthFunc auth, gpointer auth_data);
void api_server_free(ApiServer *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ApiServer, api_server_free)

/* Listens on address:port ("127.0.0.1", 8443; port 0 picks one). */
gboolean api_server_listen(ApiServer *server, const char *address, guint port, GError **error);
/* The port actually bound (after listen). */
guint api_server_port(ApiServer *server);
/* Idle time after which a session dies (default API_SESSION_IDLE_SECONDS);
 * for tests and for a daemon option. */
void api_server_set_session_idle_seconds(ApiServer *server, guint seconds);

/* Routes. pattern: "/api/vcenter/vm/{vm}/power"; a {name} segment matches one
 * path segment (percent-decoded) and is read with api_request_param().
 * action: when non-NULL the route matches only requests whose query has
 * action=<action>; a route with a NULL action matches any. Routes with an
 * action are tried first. An unmatched path answers 404 NOT_FOUND, a matched
 * path with another method 405. Every route needs a session except the ones
 * added with api_server_add_public_route(). */
void api_server_add_route(ApiServer *server, const char *method, const char *pattern,
                          const char *action, ApiHandler handler, gpointer user_data);
void api_server_add_public_route(ApiServer *server, const char *method, const char *pattern,
                                 const char *action, ApiHandler handler, gpointer user_data);

ApiRequest *api_request_ref(ApiRequest *request);
void api_request_unref(ApiRequest *request);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ApiRequest, api_request_unref)

const char *api_request_method(ApiRequest *request);
const char *api_request_path(ApiRequest *request);
/* A {name} of the route's pattern. */
const char *api_request_param(ApiRequest *request, const char *name);
/* The first value of a query parameter, or NULL. */
const char *api_request_query(ApiRequest *request, const char *name);
/* Every value of a query parameter: repeated (?names=a&names=b), comma lists
 * (?names=a,b) and vSphere's legacy "names.1=a" forms. NULL when absent. */
GStrv api_request_query_all(ApiRequest *request, const char *name);
/* The parsed JSON body; NULL when the request had none. (A body that is not
 * JSON, too large or too deep was already refused with 400.) */
JsonNode *api_request_body(ApiRequest *request);
/* The session's user name, NULL on a public route. */
const char *api_request_user(ApiRequest *request);
/* The client's address as text. */
const char *api_request_peer(ApiRequest *request);

/* Answers. Each request is answered exactly once; later answers are ignored.
 * node: transfer full; NULL sends no body. */
void api_request_reply_json(ApiRequest *request, guint status, JsonNode *node);
void api_request_reply_empty(ApiRequest *request, guint status);  /* 204 usually */
/* Status and error_type from vireo_error_* (any other domain → 500 ERROR). */
void api_request_reply_error(ApiRequest *request, const GError *error);
gboolean api_request_answered(ApiRequest *request);

G_END_DECLS
