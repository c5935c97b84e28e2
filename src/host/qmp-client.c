/* qmp-client.c — the client end of QEMU's monitor protocol (QMP), one per QEMU process.
 *
 * Owns the unix socket, the input line buffer, the write queue (with the fd
 * that rides along a command as SCM_RIGHTS) and the table of commands
 * awaiting their answers, matched by "id".
 *
 * States (client->state):
 *
 *     IDLE --connect_async--> CONNECTING --socket up--> GREETING
 *      ^                                                   | {"QMP":...}
 *      |                                                   v
 *      +---- teardown (close, free, EOF, error) ----- NEGOTIATING
 *      ^                                                   | qmp_capabilities answered
 *      +---------------------------------------------- CONNECTED
 *
 *   connect_async                    → qmp_client_connect_async
 *   socket up                        → on_socket_connected
 *   greeting / capabilities answered → handle_message, on_capabilities_done
 *   teardown                         → client_teardown (the only way back to IDLE;
 *                                      it fails every pending command and the
 *                                      connect task, and runs the closed
 *                                      callback when CONNECTED was reached)
 *
 * Invariants: socket != NULL exactly in CONNECTED/GREETING/NEGOTIATING;
 * every pending command is either answered, cancelled or failed by teardown,
 * exactly once. Callbacks may free the client: an internal reference keeps
 * the struct alive until the code that called them has returned.
 */
#include "qmp-client.h"

#include <gio/gunixfdmessage.h>
#include <gio/gunixsocketaddress.h>

#define QMP_MAX_LINE (16 * 1024 * 1024)
#define QMP_READ_CHUNK (64 * 1024)

typedef enum {
    QMP_STATE_IDLE,
    QMP_STATE_CONNECTING,
    QMP_STATE_GREETING,
    QMP_STATE_NEGOTIATING,
    QMP_STATE_CONNECTED,
} QmpState;

typedef void (*QmpInternalFunc)(QmpClient *client, JsonNode *ret, const GError *error);

typedef struct {
    QmpClient *client;
    gint64 id;
    GTask *task;              /* a caller's command, or NULL for the client's own */
    QmpInternalFunc internal; /* the client's own commands (qmp_capabilities) */
    GSource *cancel_source;   /* watches the caller's cancellable, on the task's context */
} QmpPending;

typedef struct {
    GBytes *bytes;
    gsize offset;
    GSocketControlMessage *fd_message; /* sent with the first byte, then dropped */
} QmpOutgoing;

struct QmpClient {
    guint refs;
    gboolean disposed;
    QmpState state;
    GMainContext *context; /* where the socket's sources run */
    GSocketConnection *connection;
    GSocket *socket;
    GSource *read_source;
    GSource *write_source;
    GByteArray *inbuf;
    gsize scan_from; /* bytes of inbuf already known to hold no '\n' */
    GQueue outq;     /* of QmpOutgoing */
    GHashTable *pending; /* gint64 id → QmpPending */
    gint64 next_id;
    GTask *connect_task;
    GCancellable *connect_cancellable; /* ours: stops a socket connect in flight */
    GSource *connect_cancel_source;    /* watches the caller's cancellable */
    QmpEventFunc event_func;
    gpointer event_data;
    QmpClosedFunc closed_func;
    gpointer closed_data;
};

static void client_teardown(QmpClient *client, const GError *reason, gboolean notify_closed);

static QmpClient *client_ref(QmpClient *client)
{
    client->refs++;
    return client;
}

static void client_unref(QmpClient *client)
{
    if (--client->refs > 0)
        return;
    g_hash_table_unref(client->pending);
    g_byte_array_unref(client->inbuf);
    g_clear_pointer(&client->context, g_main_context_unref);
    g_free(client);
}

static void outgoing_free(QmpOutgoing *out)
{
    g_bytes_unref(out->bytes);
    g_clear_object(&out->fd_message);
    g_free(out);
}

static void pending_free(QmpPending *p)
{
    if (p->cancel_source) {
        g_source_destroy(p->cancel_source);
        g_source_unref(p->cancel_source);
    }
    g_clear_object(&p->task);
    g_free(p);
}

static void destroy_source(GSource **source)
{
    if (*source) {
        g_source_destroy(*source);
        g_clear_pointer(source, g_source_unref);
    }
}

QmpClient *qmp_client_new(void)
{
    QmpClient *client = g_new0(QmpClient, 1);

    client->refs = 1;
    client->inbuf = g_byte_array_new();
    client->pending = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL,
                                            (GDestroyNotify)pending_free);
    g_queue_init(&client->outq);
    return client;
}

void qmp_client_free(QmpClient *client)
{
    if (!client)
        return;
    g_autoptr(GError) reason = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                   "The QMP client was freed");

    client->disposed = TRUE;
    client->event_func = NULL;
    client->closed_func = NULL;
    client_teardown(client, reason, FALSE);
    client_unref(client);
}

void qmp_client_set_event_func(QmpClient *client, QmpEventFunc func, gpointer user_data)
{
    client->event_func = func;
    client->event_data = user_data;
}

void qmp_client_set_closed_func(QmpClient *client, QmpClosedFunc func, gpointer user_data)
{
    client->closed_func = func;
    client->closed_data = user_data;
}

gboolean qmp_client_is_connected(QmpClient *client)
{
    return client->state == QMP_STATE_CONNECTED;
}

/* Completes one command that has left the table. ret: borrowed. */
static void pending_complete(QmpPending *p, JsonNode *ret, const GError *error)
{
    if (p->internal) {
        p->internal(p->client, ret, error);
    } else if (error) {
        g_task_return_error(p->task, g_error_copy(error));
    } else {
        g_task_return_pointer(p->task, json_node_copy(ret), (GDestroyNotify)json_node_unref);
    }
    pending_free(p);
}

static QmpPending *pending_steal(QmpClient *client, gint64 id)
{
    gpointer key = NULL, value = NULL;

    if (!g_hash_table_steal_extended(client->pending, &id, &key, &value))
        return NULL;
    return value;
}

/* Back to IDLE: closes the socket, fails what waits. Callbacks run last,
 * with the client already consistent, so they may reconnect or free it. */
static void client_teardown(QmpClient *client, const GError *reason, gboolean notify_closed)
{
    gboolean was_connected = client->state == QMP_STATE_CONNECTED;
    g_autoptr(GTask) connect_task = g_steal_pointer(&client->connect_task);
    g_autoptr(GHashTable) pending = client->pending;
    GHashTableIter iter;
    gpointer value;

    client_ref(client);
    client->state = QMP_STATE_IDLE;
    if (client->connect_cancellable)
        g_cancellable_cancel(client->connect_cancellable);
    g_clear_object(&client->connect_cancellable);
    destroy_source(&client->connect_cancel_source);
    destroy_source(&client->read_source);
    destroy_source(&client->write_source);
    if (client->connection)
        g_io_stream_close(G_IO_STREAM(client->connection), NULL, NULL);
    g_clear_object(&client->connection);
    client->socket = NULL;
    g_byte_array_set_size(client->inbuf, 0);
    client->scan_from = 0;
    g_queue_clear_full(&client->outq, (GDestroyNotify)outgoing_free);
    client->pending = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL,
                                            (GDestroyNotify)pending_free);

    g_hash_table_iter_init(&iter, pending);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        g_hash_table_iter_steal(&iter);
        pending_complete(value, NULL, reason);
    }
    if (connect_task)
        g_task_return_error(connect_task, g_error_copy(reason));
    if (notify_closed && was_connected && client->closed_func && !client->disposed)
        client->closed_func(client, client->closed_data);
    client_unref(client);
}

static void teardown_closed(QmpClient *client, const char *why)
{
    g_autoptr(GError) reason = g_error_new(G_IO_ERROR, G_IO_ERROR_CLOSED,
                                           "The QMP connection closed: %s", why);
    client_teardown(client, reason, TRUE);
}

static gboolean on_writable(GSocket *socket, GIOCondition condition, gpointer user_data);

static void ensure_write_source(QmpClient *client)
{
    if (client->write_source)
        return;
    client->write_source = g_socket_create_source(client->socket, G_IO_OUT, NULL);
    g_source_set_callback(client->write_source, G_SOURCE_FUNC(on_writable), client, NULL);
    g_source_attach(client->write_source, client->context);
}

/* Sends what the socket takes now. A write error shuts the socket down so
 * that the reader sees the end and tears down from its own dispatch, never
 * from inside a caller's execute_async. */
static void client_flush(QmpClient *client)
{
    QmpOutgoing *out;

    while ((out = g_queue_peek_head(&client->outq))) {
        gsize size = 0;
        const guint8 *data = g_bytes_get_data(out->bytes, &size);
        GOutputVector vec = { data + out->offset, size - out->offset };
        GSocketControlMessage *messages[1] = { out->fd_message };
        gboolean with_fd = out->offset == 0 && out->fd_message;
        g_autoptr(GError) error = NULL;
        gssize sent = g_socket_send_message(client->socket, NULL, &vec, 1,
                                            with_fd ? messages : NULL, with_fd ? 1 : 0,
                                            G_SOCKET_MSG_NONE, NULL, &error);

        if (sent < 0 && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
            ensure_write_source(client);
            return;
        }
        if (sent < 0) {
            g_debug("qmp: write failed: %s", error->message);
            g_queue_clear_full(&client->outq, (GDestroyNotify)outgoing_free);
            g_socket_shutdown(client->socket, TRUE, TRUE, NULL);
            break;
        }
        out->offset += sent;
        g_clear_object(&out->fd_message);
        if (out->offset == size)
            outgoing_free(g_queue_pop_head(&client->outq));
    }
    destroy_source(&client->write_source);
}

static gboolean on_writable(GSocket *socket, GIOCondition condition, gpointer user_data)
{
    /* client_flush destroys this source once the queue is empty. */
    client_flush(user_data);
    return G_SOURCE_CONTINUE;
}

/* Queues {"execute": command, "arguments": arguments, "id": N} and
 * registers p under N. arguments: transfer full. */
static void client_send(QmpClient *client, const char *command, JsonNode *arguments, int fd,
                        QmpPending *p)
{
    g_autoptr(JsonBuilder) builder = json_builder_new_immutable();
    g_autoptr(JsonGenerator) generator = json_generator_new();
    g_autoptr(JsonNode) root = NULL;
    QmpOutgoing *out = g_new0(QmpOutgoing, 1);
    gsize length = 0;
    char *text;

    p->client = client;
    p->id = ++client->next_id;
    json_builder_begin_object(builder);
    json_builder_set_member_name(builder, "execute");
    json_builder_add_string_value(builder, command);
    if (arguments) {
        json_builder_set_member_name(builder, "arguments");
        json_builder_add_value(builder, arguments);
    }
    json_builder_set_member_name(builder, "id");
    json_builder_add_int_value(builder, p->id);
    json_builder_end_object(builder);
    root = json_builder_get_root(builder);
    json_generator_set_root(generator, root);
    text = json_generator_to_data(generator, &length);
    text = g_realloc(text, length + 1);
    text[length] = '\n';
    out->bytes = g_bytes_new_take(text, length + 1);
    if (fd >= 0) {
        g_autoptr(GError) error = NULL;

        out->fd_message = g_unix_fd_message_new();
        /* Duplicates fd: the caller keeps (and may close) its own. */
        if (!g_unix_fd_message_append_fd(G_UNIX_FD_MESSAGE(out->fd_message), fd, &error))
            g_debug("qmp: cannot pass fd %d: %s", fd, error->message);
    }
    g_hash_table_insert(client->pending, &p->id, p);
    g_queue_push_tail(&client->outq, out);
    client_flush(client);
}

/* A string member, or NULL when absent or of another type (json-glib's own
 * getters complain loudly about the wrong type). */
static const char *member_string(JsonObject *obj, const char *name)
{
    JsonNode *node = obj ? json_object_get_member(obj, name) : NULL;

    if (!node || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
        return NULL;
    return json_node_get_string(node);
}

static void dispatch_event(QmpClient *client, JsonObject *message)
{
    const char *event = member_string(message, "event");
    JsonNode *data = json_object_get_member(message, "data");

    if (!event || !client->event_func)
        return;
    client->event_func(client, event,
                       data && JSON_NODE_HOLDS_OBJECT(data) ? json_node_get_object(data) : NULL,
                       client->event_data);
}

/* QMP's {"error": {"class": ..., "desc": ...}} as a GError. */
static GError *error_from_qmp(JsonNode *node)
{
    JsonObject *obj = JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
    const char *klass = member_string(obj, "class");
    const char *desc = member_string(obj, "desc");

    return g_error_new(G_IO_ERROR, G_IO_ERROR_FAILED, "%s (QMP %s)",
                       desc ? desc : "QEMU returned an error", klass ? klass : "error");
}

static void dispatch_answer(QmpClient *client, JsonObject *message)
{
    JsonNode *id = json_object_get_member(message, "id");
    JsonNode *ret = json_object_get_member(message, "return");
    JsonNode *err = json_object_get_member(message, "error");
    QmpPending *p;

    if (!id || !JSON_NODE_HOLDS_VALUE(id) || json_node_get_value_type(id) != G_TYPE_INT64 ||
        !(p = pending_steal(client, json_node_get_int(id)))) {
        g_debug("qmp: an answer for no pending command, ignored");
        return;
    }
    if (err) {
        g_autoptr(GError) error = error_from_qmp(err);
        pending_complete(p, NULL, error);
    } else {
        g_autoptr(JsonNode) empty = NULL;
        if (!ret)
            ret = empty = json_node_init_object(json_node_alloc(), json_object_new());
        pending_complete(p, ret, NULL);
    }
}

static void on_capabilities_done(QmpClient *client, JsonNode *ret, const GError *error)
{
    g_autoptr(GTask) task = NULL;

    if (client->state != QMP_STATE_NEGOTIATING)
        return; /* a teardown is failing us: it fails the connect task too */
    if (error) {
        g_autoptr(GError) reason = g_error_new(G_IO_ERROR, G_IO_ERROR_FAILED,
                                               "QEMU refused qmp_capabilities: %s",
                                               error->message);
        client_teardown(client, reason, FALSE);
        return;
    }
    client->state = QMP_STATE_CONNECTED;
    destroy_source(&client->connect_cancel_source);
    task = g_steal_pointer(&client->connect_task);
    g_task_return_boolean(task, TRUE);
}

static void fail_greeting(QmpClient *client)
{
    g_autoptr(GError) reason = g_error_new_literal(
        G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "The socket did not greet with QMP: is it a QEMU monitor in control mode?");

    client_teardown(client, reason, FALSE);
}

static void handle_message(QmpClient *client, JsonObject *message)
{
    if (client->state == QMP_STATE_GREETING) {
        if (!json_object_has_member(message, "QMP")) {
            fail_greeting(client);
            return;
        }
        QmpPending *p = g_new0(QmpPending, 1);
        p->internal = on_capabilities_done;
        client->state = QMP_STATE_NEGOTIATING;
        client_send(client, "qmp_capabilities", NULL, -1, p);
    } else if (json_object_has_member(message, "event")) {
        dispatch_event(client, message);
    } else if (json_object_has_member(message, "return") ||
               json_object_has_member(message, "error")) {
        dispatch_answer(client, message);
    }
}

static void handle_line(QmpClient *client, const char *line, gsize length)
{
    /* Mutable nodes: results are handed over for callers to keep or edit. */
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) error = NULL;
    JsonNode *root;

    while (length > 0 && (line[length - 1] == '\r' || line[length - 1] == ' '))
        length--;
    if (length == 0)
        return;
    if (memchr(line, '\0', length) || !json_parser_load_from_data(parser, line, length, &error) ||
        !(root = json_parser_get_root(parser)) || !JSON_NODE_HOLDS_OBJECT(root)) {
        g_debug("qmp: dropped a line that is not a JSON object");
        if (client->state == QMP_STATE_GREETING)
            fail_greeting(client);
        return;
    }
    handle_message(client, json_node_get_object(root));
}

/* Handles every complete line in inbuf; stops when a callback tore the
 * connection down (the buffer is then gone). */
static void process_lines(QmpClient *client)
{
    GSocket *socket = client->socket;
    gsize start = 0;

    for (;;) {
        guint8 *data = client->inbuf->data;
        guint8 *nl = memchr(data + client->scan_from, '\n', client->inbuf->len - client->scan_from);

        if (!nl)
            break;
        client->scan_from = nl - data + 1;
        handle_line(client, (const char *)data + start, nl - (data + start));
        if (client->disposed || client->socket != socket)
            return;
        start = client->scan_from;
    }
    g_byte_array_remove_range(client->inbuf, 0, start);
    client->scan_from = client->inbuf->len;
    if (client->inbuf->len > QMP_MAX_LINE)
        teardown_closed(client, "QEMU sent a message longer than 16 MiB");
}

static gboolean on_readable(GSocket *socket, GIOCondition condition, gpointer user_data)
{
    QmpClient *client = client_ref(user_data);
    g_autoptr(GError) error = NULL;
    guint old_len = client->inbuf->len;
    gssize n;

    g_byte_array_set_size(client->inbuf, old_len + QMP_READ_CHUNK);
    n = g_socket_receive(socket, (char *)client->inbuf->data + old_len, QMP_READ_CHUNK, NULL,
                         &error);
    g_byte_array_set_size(client->inbuf, old_len + MAX(n, 0));
    if (n == 0) {
        teardown_closed(client, "QEMU closed the monitor socket");
    } else if (n < 0 && !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
        teardown_closed(client, error->message);
    } else if (n > 0) {
        process_lines(client);
    }
    client_unref(client);
    return G_SOURCE_CONTINUE;
}

/* Moves the socket's sources to ctx (the sync calls run on a private one). */
static void client_set_context(QmpClient *client, GMainContext *ctx)
{
    if (client->context != ctx) {
        g_clear_pointer(&client->context, g_main_context_unref);
        client->context = g_main_context_ref(ctx);
    }
    destroy_source(&client->read_source);
    destroy_source(&client->write_source);
    if (!client->socket)
        return;
    client->read_source = g_socket_create_source(client->socket, G_IO_IN | G_IO_HUP | G_IO_ERR,
                                                 NULL);
    g_source_set_callback(client->read_source, G_SOURCE_FUNC(on_readable), client, NULL);
    g_source_attach(client->read_source, client->context);
    if (!g_queue_is_empty(&client->outq))
        ensure_write_source(client);
}

static void on_socket_connected(GObject *source, GAsyncResult *result, gpointer user_data)
{
    QmpClient *client = user_data;
    g_autoptr(GError) error = NULL;
    g_autoptr(GSocketConnection) connection =
        g_socket_client_connect_finish(G_SOCKET_CLIENT(source), result, &error);

    if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || client->disposed ||
        client->state != QMP_STATE_CONNECTING) {
        client_unref(client); /* a teardown already answered the connect task */
        return;
    }
    if (!connection) {
        client_teardown(client, error, FALSE);
        client_unref(client);
        return;
    }
    client->connection = g_steal_pointer(&connection);
    client->socket = g_socket_connection_get_socket(client->connection);
    g_socket_set_blocking(client->socket, FALSE);
    client->state = QMP_STATE_GREETING;
    client_set_context(client, client->context);
    client_unref(client);
}

static gboolean on_connect_cancelled(GCancellable *cancellable, gpointer user_data)
{
    QmpClient *client = user_data;
    g_autoptr(GError) reason = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                   "Connecting to QMP was cancelled");

    if (client->state != QMP_STATE_CONNECTED)
        client_teardown(client, reason, FALSE);
    return G_SOURCE_REMOVE;
}

void qmp_client_connect_async(QmpClient *client, const char *socket_path,
                              GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data)
{
    g_autoptr(GTask) task = g_task_new(NULL, cancellable, callback, user_data);
    g_autoptr(GSocketClient) socket_client = g_socket_client_new();
    g_autoptr(GSocketAddress) address = g_unix_socket_address_new(socket_path);

    g_task_set_source_tag(task, qmp_client_connect_async);
    if (client->state != QMP_STATE_IDLE) {
        g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_PENDING,
                                "The QMP client is already connected or connecting");
        return;
    }
    g_clear_pointer(&client->context, g_main_context_unref);
    client->context = g_main_context_ref_thread_default();
    client->state = QMP_STATE_CONNECTING;
    client->connect_task = g_steal_pointer(&task);
    client->connect_cancellable = g_cancellable_new();
    if (cancellable) {
        client->connect_cancel_source = g_cancellable_source_new(cancellable);
        g_source_set_callback(client->connect_cancel_source, G_SOURCE_FUNC(on_connect_cancelled),
                              client, NULL);
        g_source_attach(client->connect_cancel_source, client->context);
    }
    g_socket_client_connect_async(socket_client, G_SOCKET_CONNECTABLE(address),
                                  client->connect_cancellable, on_socket_connected,
                                  client_ref(client));
}

gboolean qmp_client_connect_finish(QmpClient *client, GAsyncResult *result, GError **error)
{
    return g_task_propagate_boolean(G_TASK(result), error);
}

static gboolean on_pending_cancelled(GCancellable *cancellable, gpointer user_data)
{
    QmpPending *p = user_data;
    g_autoptr(GError) reason = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                   "The QMP command was cancelled");

    /* The answer, when it comes, finds no pending command and is dropped. */
    p = pending_steal(p->client, p->id);
    if (p)
        pending_complete(p, NULL, reason);
    return G_SOURCE_REMOVE;
}

void qmp_client_execute_async(QmpClient *client, const char *command, JsonNode *arguments,
                              int fd, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data)
{
    GTask *task = g_task_new(NULL, cancellable, callback, user_data);
    QmpPending *p;

    g_task_set_source_tag(task, qmp_client_execute_async);
    if (client->state != QMP_STATE_CONNECTED) {
        g_clear_pointer(&arguments, json_node_unref);
        g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_CLOSED,
                                "Cannot run QMP command '%s': not connected to QEMU", command);
        g_object_unref(task);
        return;
    }
    p = g_new0(QmpPending, 1);
    p->task = task;
    if (cancellable) {
        p->cancel_source = g_cancellable_source_new(cancellable);
        g_source_set_callback(p->cancel_source, G_SOURCE_FUNC(on_pending_cancelled), p, NULL);
        g_source_attach(p->cancel_source, g_task_get_context(task));
    }
    client_send(client, command, arguments, fd, p);
}

JsonNode *qmp_client_execute_finish(QmpClient *client, GAsyncResult *result, GError **error)
{
    return g_task_propagate_pointer(G_TASK(result), error);
}

typedef struct {
    gboolean done;
    gboolean timed_out;
    GAsyncResult *result;
    GCancellable *cancellable;
} QmpSync;

static void on_sync_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
    QmpSync *sync = user_data;

    sync->done = TRUE;
    sync->result = g_object_ref(result);
}

static gboolean on_sync_timeout(gpointer user_data)
{
    QmpSync *sync = user_data;

    sync->timed_out = TRUE;
    g_cancellable_cancel(sync->cancellable);
    return G_SOURCE_REMOVE;
}

/* Iterates ctx until the operation completes; on timeout it is cancelled
 * (and then completes with CANCELLED, which the caller reports as TIMED_OUT). */
static void sync_wait(QmpSync *sync, GMainContext *ctx, guint timeout_ms)
{
    g_autoptr(GSource) timeout = g_timeout_source_new(timeout_ms);

    g_source_set_callback(timeout, on_sync_timeout, sync, NULL);
    g_source_attach(timeout, ctx);
    while (!sync->done)
        g_main_context_iteration(ctx, TRUE);
    g_source_destroy(timeout);
}

gboolean qmp_client_connect_sync(QmpClient *client, const char *socket_path, guint timeout_ms,
                                 GError **error)
{
    g_autoptr(GMainContext) outer = g_main_context_ref_thread_default();
    g_autoptr(GMainContext) ctx = g_main_context_new();
    g_autoptr(GCancellable) cancellable = g_cancellable_new();
    QmpSync sync = { .cancellable = cancellable };
    g_autoptr(GError) local = NULL;
    gboolean ok;

    client_ref(client);
    g_main_context_push_thread_default(ctx);
    qmp_client_connect_async(client, socket_path, cancellable, on_sync_done, &sync);
    sync_wait(&sync, ctx, timeout_ms);
    ok = qmp_client_connect_finish(client, sync.result, &local);
    /* From now on the client lives on the caller's context. */
    if (ok && !client->disposed)
        client_set_context(client, outer);
    g_main_context_pop_thread_default(ctx);
    g_clear_object(&sync.result);
    client_unref(client);
    if (!ok && sync.timed_out) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                    "QEMU's monitor at %s did not answer within %u ms", socket_path, timeout_ms);
        return FALSE;
    }
    if (!ok)
        g_propagate_error(error, g_steal_pointer(&local));
    return ok;
}

JsonNode *qmp_client_execute_sync(QmpClient *client, const char *command, JsonNode *arguments,
                                  int fd, guint timeout_ms, GError **error)
{
    g_autoptr(GMainContext) ctx = g_main_context_new();
    g_autoptr(GMainContext) saved = client->context ? g_main_context_ref(client->context) : NULL;
    g_autoptr(GCancellable) cancellable = g_cancellable_new();
    QmpSync sync = { .cancellable = cancellable };
    g_autoptr(GError) local = NULL;
    JsonNode *ret;

    client_ref(client);
    g_main_context_push_thread_default(ctx);
    client_set_context(client, ctx);
    qmp_client_execute_async(client, command, arguments, fd, cancellable, on_sync_done, &sync);
    sync_wait(&sync, ctx, timeout_ms);
    ret = qmp_client_execute_finish(client, sync.result, &local);
    if (!client->disposed && saved)
        client_set_context(client, saved);
    g_main_context_pop_thread_default(ctx);
    g_clear_object(&sync.result);
    client_unref(client);
    if (!ret && sync.timed_out &&
        g_error_matches(local, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                    "QMP command '%s' got no answer within %u ms", command, timeout_ms);
        return NULL;
    }
    if (!ret)
        g_propagate_error(error, g_steal_pointer(&local));
    return ret;
}

void qmp_client_close(QmpClient *client)
{
    g_autoptr(GError) reason = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_CLOSED,
                                                   "The QMP connection was closed by Vireo");

    client_teardown(client, reason, FALSE);
}
