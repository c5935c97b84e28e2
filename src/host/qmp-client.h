/* qmp-client.h — an asynchronous client of QEMU's monitor protocol (QMP).
 *
 * One QmpClient per QEMU process, over its unix socket. Commands are sent in
 * order and matched to their answers by "id"; events are handed to the
 * event callback as they arrive; when the socket closes (QEMU exited, or was
 * killed) every pending command fails with G_IO_ERROR_CLOSED and the closed
 * callback runs once.
 *
 * Threading: a QmpClient is used from one thread. Its socket is watched on
 * the thread-default main context of the connect call (for connect_sync:
 * the one that was thread-default around it, not its private one). Command
 * callbacks run on the context that was thread-default when the command was
 * issued; event and closed callbacks run from the client's dispatch — also
 * inside an execute_sync, which moves the socket to its private context
 * for its duration (answers to other, async commands that arrive then are
 * delivered on their own context after it). Callbacks may free the client.
 *
 * The closed callback runs when QEMU closes the socket or the stream breaks
 * (I/O error, a message over 16 MiB), once, and only after the connection
 * was established; not for qmp_client_close()/free(). Pending commands then
 * fail with G_IO_ERROR_CLOSED; on free they fail with G_IO_ERROR_CANCELLED,
 * and their callbacks must not use the client (it may be gone): calling
 * the _finish function with it is fine. A sync call that times out fails
 * with G_IO_ERROR_TIMED_OUT; a late answer is then dropped. Lines that are
 * not JSON objects and answers with an unknown id are ignored.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct QmpClient QmpClient;

/* event: "STOP", "SHUTDOWN", ...; data: the event's "data" member or NULL.
 * Both belong to the client for the duration of the call. */
typedef void (*QmpEventFunc)(QmpClient *client, const char *event, JsonObject *data,
                             gpointer user_data);
typedef void (*QmpClosedFunc)(QmpClient *client, gpointer user_data);

QmpClient *qmp_client_new(void);
void qmp_client_free(QmpClient *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QmpClient, qmp_client_free)

void qmp_client_set_event_func(QmpClient *client, QmpEventFunc func, gpointer user_data);
void qmp_client_set_closed_func(QmpClient *client, QmpClosedFunc func, gpointer user_data);

/* Connects to socket_path, reads the greeting, sends qmp_capabilities. */
void qmp_client_connect_async(QmpClient *client, const char *socket_path,
                              GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data);
gboolean qmp_client_connect_finish(QmpClient *client, GAsyncResult *result, GError **error);
/* The same, blocking the calling thread (with a timeout in ms); used at
 * start-up re-attach and in tests. */
gboolean qmp_client_connect_sync(QmpClient *client, const char *socket_path,
                                 guint timeout_ms, GError **error);

gboolean qmp_client_is_connected(QmpClient *client);

/* Sends {"execute": command, "arguments": arguments}. arguments: transfer
 * full, may be NULL. When fd >= 0 it is passed along with the command
 * (SCM_RIGHTS), as "getfd"/"add-fd" need; the caller keeps its own fd.
 * The result is the "return" member (transfer full, mutable; an empty
 * object when QEMU returned {}); a QMP "error" becomes a G_IO_ERROR_FAILED
 * error whose message is QEMU's "desc" followed by " (QMP <class>)". */
void qmp_client_execute_async(QmpClient *client, const char *command, JsonNode *arguments,
                              int fd, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data);
JsonNode *qmp_client_execute_finish(QmpClient *client, GAsyncResult *result, GError **error);
/* Blocking form with a timeout in ms (runs a private main context; do not
 * call from a QmpClient callback). */
JsonNode *qmp_client_execute_sync(QmpClient *client, const char *command, JsonNode *arguments,
                                  int fd, guint timeout_ms, GError **error);

void qmp_client_close(QmpClient *client);

G_END_DECLS
