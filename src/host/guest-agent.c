/* guest-agent.c — the host's end of the vireo-tools channel (docs/guest-agent.md).
 *
 * Owns the connection to the VM's agent socket (QEMU's chardev server), the
 * reconnect timer, the latest hello/heartbeat and the commands awaiting a
 * reply. Everything the guest sends is untrusted: lines are bounded, fields
 * are type-checked, strings are capped and sanitized, lists are capped.
 *
 * States:
 *
 *   STOPPED --start--> CONNECTING --socket up--> CONNECTED --hello/heartbeat--> (peer_seen)
 *      ^                 ^    |                      |
 *      |                 |    | connect failed       | EOF / read error
 *      |                 |    v                      v
 *      +-----stop-----  WAITING (retry in 500 ms) <--+
 *
 *   start                 → guest_agent_start, agent_try_connect
 *   socket up / failed    → on_socket_connected
 *   EOF, error            → agent_disconnect (fails pending commands, arms the retry)
 *   retry                 → on_retry
 *   stop                  → guest_agent_stop
 *
 * Commands are accepted only while connected and after the guest has spoken
 * on this connection (QEMU accepts our connection even before the guest
 * opens its port, and then nothing would answer).
 */
#include "guest-agent.h"

#include <math.h>

#include <gio/gunixsocketaddress.h>
#include <json-glib/json-glib.h>

#include "vireo-error.h"

#define AGENT_MAX_LINE 4096
#define AGENT_MAX_STRING 255
#define AGENT_MAX_IPS 32
#define AGENT_MAX_OUTPUT (64 * 1024)
#define AGENT_RETRY_MS 500
#define AGENT_RUNNING_WINDOW_MS 5000

typedef struct {
    GuestAgent *agent;
    gint64 id;
    GTask *task;
    char *command;
    GSource *timeout_source; /* both on the task's context */
    GSource *cancel_source;
} AgentPending;

struct GuestAgent {
    guint refs;
    gboolean disposed;
    gboolean started;
    char *socket_path;
    GMainContext *context; /* thread-default of guest_agent_start */
    GCancellable *connect_cancellable;
    GSocketConnection *connection;
    GSocket *socket;
    GSource *read_source;
    GSource *write_source;
    GSource *retry_source;
    GByteArray *inbuf;
    gsize scan_from;
    gboolean discarding; /* inside an overlong line: drop up to the next '\n' */
    GByteArray *outbuf;
    gboolean peer_seen; /* hello or heartbeat on this connection */
    GHashTable *pending; /* gint64 id → AgentPending */
    gint64 next_id;
    gint64 running_window_us;

    gint64 last_heartbeat_us;
    guint64 heartbeats;
    guint64 seq;
    guint64 uptime_ms;
    char *version;
    char *boot_id;
    char *host_name;
    char *os_name;
    char *os_full_name;
    char *family;
    GStrv ip_addresses;
    char *workload_json;

    GuestAgentHeartbeatFunc heartbeat_func;
    gpointer heartbeat_data;
};

static void agent_try_connect(GuestAgent *agent);

static GuestAgent *agent_ref(GuestAgent *agent)
{
    agent->refs++;
    return agent;
}

static void agent_unref(GuestAgent *agent)
{
    if (--agent->refs > 0)
        return;
    g_hash_table_unref(agent->pending);
    g_byte_array_unref(agent->inbuf);
    g_byte_array_unref(agent->outbuf);
    g_clear_pointer(&agent->context, g_main_context_unref);
    g_free(agent->socket_path);
    g_free(agent->version);
    g_free(agent->boot_id);
    g_free(agent->host_name);
    g_free(agent->os_name);
    g_free(agent->os_full_name);
    g_free(agent->family);
    g_strfreev(agent->ip_addresses);
    g_free(agent->workload_json);
    g_free(agent);
}

static void destroy_source(GSource **source)
{
    if (*source) {
        g_source_destroy(*source);
        g_clear_pointer(source, g_source_unref);
    }
}

static void pending_free(AgentPending *p)
{
    destroy_source(&p->timeout_source);
    destroy_source(&p->cancel_source);
    g_clear_object(&p->task);
    g_free(p->command);
    g_free(p);
}

static AgentPending *pending_steal(GuestAgent *agent, gint64 id)
{
    gpointer key = NULL, value = NULL;

    if (!g_hash_table_steal_extended(agent->pending, &id, &key, &value))
        return NULL;
    return value;
}

/* error: transfer full; NULL for success. */
static void pending_complete(AgentPending *p, GError *error)
{
    if (error)
        g_task_return_error(p->task, error);
    else
        g_task_return_boolean(p->task, TRUE);
    pending_free(p);
}

static void fail_all_pending(GuestAgent *agent, GQuark domain, int code, const char *message)
{
    g_autoptr(GHashTable) pending = agent->pending;
    GHashTableIter iter;
    gpointer value;

    agent->pending = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL,
                                           (GDestroyNotify)pending_free);
    g_hash_table_iter_init(&iter, pending);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        AgentPending *p = value;

        g_hash_table_iter_steal(&iter);
        pending_complete(p, g_error_new(domain, code, "Guest command '%s' failed: %s",
                                        p->command, message));
    }
}

GuestAgent *guest_agent_new(const char *socket_path)
{
    GuestAgent *agent = g_new0(GuestAgent, 1);

    agent->refs = 1;
    agent->socket_path = g_strdup(socket_path);
    agent->inbuf = g_byte_array_new();
    agent->outbuf = g_byte_array_new();
    agent->pending = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL,
                                           (GDestroyNotify)pending_free);
    agent->running_window_us = AGENT_RUNNING_WINDOW_MS * G_TIME_SPAN_MILLISECOND;
    agent->ip_addresses = g_new0(char *, 1);
    return agent;
}

void guest_agent_set_heartbeat_func(GuestAgent *agent, GuestAgentHeartbeatFunc func,
                                    gpointer user_data)
{
    agent->heartbeat_func = func;
    agent->heartbeat_data = user_data;
}

void guest_agent_set_running_window_ms(GuestAgent *agent, guint window_ms)
{
    agent->running_window_us = (gint64)window_ms * G_TIME_SPAN_MILLISECOND;
}

/* Drops the connection (if any); pending commands fail. */
static void agent_close_socket(GuestAgent *agent)
{
    if (agent->connect_cancellable)
        g_cancellable_cancel(agent->connect_cancellable);
    g_clear_object(&agent->connect_cancellable);
    destroy_source(&agent->read_source);
    destroy_source(&agent->write_source);
    if (agent->connection)
        g_io_stream_close(G_IO_STREAM(agent->connection), NULL, NULL);
    g_clear_object(&agent->connection);
    agent->socket = NULL;
    agent->peer_seen = FALSE;
    agent->discarding = FALSE;
    agent->scan_from = 0;
    g_byte_array_set_size(agent->inbuf, 0);
    g_byte_array_set_size(agent->outbuf, 0);
}

static gboolean on_retry(gpointer user_data)
{
    GuestAgent *agent = user_data;

    g_clear_pointer(&agent->retry_source, g_source_unref);
    agent_try_connect(agent);
    return G_SOURCE_REMOVE;
}

static void schedule_retry(GuestAgent *agent)
{
    if (!agent->started || agent->retry_source)
        return;
    agent->retry_source = g_timeout_source_new(AGENT_RETRY_MS);
    g_source_set_callback(agent->retry_source, on_retry, agent, NULL);
    g_source_attach(agent->retry_source, agent->context);
}

/* The connection ended (EOF, error, hostile peer): fail what waits, retry. */
static void agent_disconnect(GuestAgent *agent, const char *why)
{
    g_debug("guest-agent %s: disconnected: %s", agent->socket_path, why);
    agent_ref(agent);
    agent_close_socket(agent);
    schedule_retry(agent);
    fail_all_pending(agent, VIREO_ERROR, VIREO_ERROR_SERVICE_UNAVAILABLE,
                     "the connection to the guest agent was lost");
    agent_unref(agent);
}

/* ---- what the guest says ------------------------------------------------ */

static JsonNode *member_value(JsonObject *obj, const char *name, GType type)
{
    JsonNode *node = json_object_get_member(obj, name);

    if (!node || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != type)
        return NULL;
    return node;
}

/* A guest string made safe to store, log and print: valid UTF-8, at most
 * AGENT_MAX_STRING bytes, no control characters. NULL when absent. */
static char *dup_guest_string(const char *s)
{
    g_autofree char *valid = NULL;
    const char *end;

    if (!s)
        return NULL;
    valid = g_utf8_make_valid(s, -1);
    for (end = valid; *end; end = g_utf8_next_char(end)) {
        if (g_utf8_next_char(end) - valid > AGENT_MAX_STRING)
            break;
    }
    *(char *)end = '\0';
    for (char *c = valid; *c; c++) {
        if ((guchar)*c < 0x20 || *c == 0x7f)
            *c = '?';
    }
    return g_steal_pointer(&valid);
}

static char *member_guest_string(JsonObject *obj, const char *name)
{
    JsonNode *node = member_value(obj, name, G_TYPE_STRING);

    return node ? dup_guest_string(json_node_get_string(node)) : NULL;
}

/* A non-negative count; FALSE (and *out untouched) for anything else. */
static gboolean member_count(JsonObject *obj, const char *name, guint64 *out)
{
    JsonNode *node;

    if ((node = member_value(obj, name, G_TYPE_INT64))) {
        if (json_node_get_int(node) < 0)
            return FALSE;
        *out = (guint64)json_node_get_int(node);
        return TRUE;
    }
    if ((node = member_value(obj, name, G_TYPE_DOUBLE))) {
        double d = json_node_get_double(node);

        if (!isfinite(d) || d < 0 || d >= 18446744073709551616.0)
            return FALSE;
        *out = (guint64)d;
        return TRUE;
    }
    return FALSE;
}

static GStrv parse_ip_addresses(JsonObject *obj)
{
    JsonNode *node = json_object_get_member(obj, "ip_addresses");
    g_autoptr(GPtrArray) ips = g_ptr_array_new_with_free_func(g_free);
    JsonArray *array;

    if (node && JSON_NODE_HOLDS_ARRAY(node)) {
        array = json_node_get_array(node);
        for (guint i = 0; i < json_array_get_length(array) && ips->len < AGENT_MAX_IPS; i++) {
            JsonNode *item = json_array_get_element(array, i);
            const char *ip;

            if (!JSON_NODE_HOLDS_VALUE(item) || json_node_get_value_type(item) != G_TYPE_STRING)
                continue;
            ip = json_node_get_string(item);
            if (strlen(ip) <= AGENT_MAX_STRING && g_hostname_is_ip_address(ip))
                g_ptr_array_add(ips, g_strdup(ip));
        }
    }
    g_ptr_array_add(ips, NULL);
    return (GStrv)g_ptr_array_steal(ips, NULL);
}

static void handle_hello(GuestAgent *agent, JsonObject *msg)
{
    char *version = member_guest_string(msg, "version");

    agent->peer_seen = TRUE;
    if (version) {
        g_free(agent->version);
        agent->version = version;
    }
}

static char *workload_to_json(JsonObject *msg)
{
    JsonNode *node = json_object_get_member(msg, "workload");
    g_autoptr(JsonGenerator) generator = NULL;

    if (!node || !JSON_NODE_HOLDS_OBJECT(node))
        return NULL;
    generator = json_generator_new();
    json_generator_set_root(generator, node);
    return json_generator_to_data(generator, NULL);
}

/* Each heartbeat replaces what the previous one said. */
static void handle_heartbeat(GuestAgent *agent, JsonObject *msg)
{
    agent->peer_seen = TRUE;
    agent->last_heartbeat_us = g_get_real_time();
    agent->heartbeats++;
    agent->seq = 0;
    agent->uptime_ms = 0;
    member_count(msg, "seq", &agent->seq);
    member_count(msg, "uptime_ms", &agent->uptime_ms);
    g_free(agent->boot_id);
    agent->boot_id = member_guest_string(msg, "boot_id");
    g_free(agent->host_name);
    agent->host_name = member_guest_string(msg, "host_name");
    g_free(agent->os_name);
    agent->os_name = member_guest_string(msg, "os_name");
    g_free(agent->os_full_name);
    agent->os_full_name = member_guest_string(msg, "os_full_name");
    g_free(agent->family);
    agent->family = member_guest_string(msg, "family");
    g_strfreev(agent->ip_addresses);
    agent->ip_addresses = parse_ip_addresses(msg);
    g_free(agent->workload_json);
    agent->workload_json = workload_to_json(msg);
    if (agent->heartbeat_func)
        agent->heartbeat_func(agent, agent->heartbeat_data);
}

static void handle_reply(GuestAgent *agent, JsonObject *msg)
{
    JsonNode *id = member_value(msg, "id", G_TYPE_INT64);
    JsonNode *ok = member_value(msg, "ok", G_TYPE_BOOLEAN);
    g_autofree char *message = member_guest_string(msg, "error");
    AgentPending *p;

    if (!id || !(p = pending_steal(agent, json_node_get_int(id))))
        return; /* late (timed out) or made up: nothing waits for it */
    if (ok && json_node_get_boolean(ok)) {
        pending_complete(p, NULL);
        return;
    }
    pending_complete(p, g_error_new(VIREO_ERROR, VIREO_ERROR_ERROR,
                                    "The guest agent refused '%s': %s", p->command,
                                    message ? message : "no reason given"));
}

static void handle_line(GuestAgent *agent, const char *line, gsize length)
{
    g_autoptr(JsonParser) parser = json_parser_new_immutable();
    JsonNode *root;
    JsonNode *type;
    const char *t;

    if (length == 0 || memchr(line, '\0', length) ||
        !json_parser_load_from_data(parser, line, length, NULL) ||
        !(root = json_parser_get_root(parser)) || !JSON_NODE_HOLDS_OBJECT(root))
        return;
    type = member_value(json_node_get_object(root), "type", G_TYPE_STRING);
    t = type ? json_node_get_string(type) : "";
    if (g_str_equal(t, "hello"))
        handle_hello(agent, json_node_get_object(root));
    else if (g_str_equal(t, "heartbeat"))
        handle_heartbeat(agent, json_node_get_object(root));
    else if (g_str_equal(t, "reply"))
        handle_reply(agent, json_node_get_object(root));
}

/* Splits inbuf into lines; a line over AGENT_MAX_LINE is dropped whole. */
static void process_input(GuestAgent *agent)
{
    GSocket *socket = agent->socket;
    gsize start = 0;

    for (;;) {
        guint8 *data = agent->inbuf->data;
        guint8 *nl = memchr(data + agent->scan_from, '\n', agent->inbuf->len - agent->scan_from);
        gsize length;

        if (!nl)
            break;
        agent->scan_from = nl - data + 1;
        length = nl - (data + start);
        if (length > 0 && data[start + length - 1] == '\r')
            length--;
        if (!agent->discarding && length <= AGENT_MAX_LINE) {
            handle_line(agent, (const char *)data + start, length);
            if (agent->disposed || agent->socket != socket)
                return;
        }
        agent->discarding = FALSE;
        start = agent->scan_from;
    }
    g_byte_array_remove_range(agent->inbuf, 0, start);
    agent->scan_from = agent->inbuf->len;
    if (agent->inbuf->len > AGENT_MAX_LINE) {
        agent->discarding = TRUE;
        g_byte_array_set_size(agent->inbuf, 0);
        agent->scan_from = 0;
    }
}

static gboolean on_readable(GSocket *socket, GIOCondition condition, gpointer user_data)
{
    GuestAgent *agent = agent_ref(user_data);
    g_autoptr(GError) error = NULL;
    char buf[8192];
    gssize n = g_socket_receive(socket, buf, sizeof(buf), NULL, &error);

    if (n == 0) {
        agent_disconnect(agent, "end of stream");
    } else if (n < 0 && !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
        agent_disconnect(agent, error->message);
    } else if (n > 0) {
        g_byte_array_append(agent->inbuf, (const guint8 *)buf, n);
        process_input(agent);
    }
    agent_unref(agent);
    return G_SOURCE_CONTINUE;
}

/* ---- what the host says ------------------------------------------------- */

static gboolean on_writable(GSocket *socket, GIOCondition condition, gpointer user_data);

/* Writes what the socket takes now; a write error shuts the socket so the
 * reader ends the connection from its own dispatch. */
static void agent_flush(GuestAgent *agent)
{
    g_autoptr(GError) error = NULL;
    gssize sent;

    while (agent->outbuf->len > 0) {
        sent = g_socket_send(agent->socket, (const char *)agent->outbuf->data, agent->outbuf->len,
                             NULL, &error);
        if (sent < 0 && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
            if (!agent->write_source) {
                agent->write_source = g_socket_create_source(agent->socket, G_IO_OUT, NULL);
                g_source_set_callback(agent->write_source, G_SOURCE_FUNC(on_writable), agent,
                                      NULL);
                g_source_attach(agent->write_source, agent->context);
            }
            return;
        }
        if (sent < 0) {
            g_byte_array_set_size(agent->outbuf, 0);
            g_socket_shutdown(agent->socket, TRUE, TRUE, NULL);
            break;
        }
        g_byte_array_remove_range(agent->outbuf, 0, sent);
    }
    destroy_source(&agent->write_source);
}

static gboolean on_writable(GSocket *socket, GIOCondition condition, gpointer user_data)
{
    agent_flush(user_data);
    return G_SOURCE_CONTINUE;
}

static void on_socket_connected(GObject *source, GAsyncResult *result, gpointer user_data)
{
    GuestAgent *agent = user_data;
    g_autoptr(GError) error = NULL;
    g_autoptr(GSocketConnection) connection =
        g_socket_client_connect_finish(G_SOCKET_CLIENT(source), result, &error);

    if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || agent->disposed ||
        !agent->started) {
        agent_unref(agent);
        return;
    }
    g_clear_object(&agent->connect_cancellable);
    if (!connection) {
        g_debug("guest-agent %s: %s", agent->socket_path, error->message);
        schedule_retry(agent);
        agent_unref(agent);
        return;
    }
    agent->connection = g_steal_pointer(&connection);
    agent->socket = g_socket_connection_get_socket(agent->connection);
    g_socket_set_blocking(agent->socket, FALSE);
    agent->read_source = g_socket_create_source(agent->socket, G_IO_IN | G_IO_HUP | G_IO_ERR,
                                                NULL);
    g_source_set_callback(agent->read_source, G_SOURCE_FUNC(on_readable), agent, NULL);
    g_source_attach(agent->read_source, agent->context);
    agent_unref(agent);
}

static void agent_try_connect(GuestAgent *agent)
{
    g_autoptr(GSocketClient) client = g_socket_client_new();
    g_autoptr(GSocketAddress) address = g_unix_socket_address_new(agent->socket_path);

    agent->connect_cancellable = g_cancellable_new();
    g_socket_client_connect_async(client, G_SOCKET_CONNECTABLE(address),
                                  agent->connect_cancellable, on_socket_connected,
                                  agent_ref(agent));
}

void guest_agent_start(GuestAgent *agent)
{
    if (agent->started)
        return;
    agent->started = TRUE;
    g_clear_pointer(&agent->context, g_main_context_unref);
    agent->context = g_main_context_ref_thread_default();
    agent_try_connect(agent);
}

static void agent_shut(GuestAgent *agent, GQuark domain, int code, const char *why)
{
    agent->started = FALSE;
    destroy_source(&agent->retry_source);
    agent_close_socket(agent);
    fail_all_pending(agent, domain, code, why);
}

void guest_agent_stop(GuestAgent *agent)
{
    agent_ref(agent);
    agent_shut(agent, VIREO_ERROR, VIREO_ERROR_SERVICE_UNAVAILABLE,
               "the guest agent channel was stopped");
    agent_unref(agent);
}

void guest_agent_free(GuestAgent *agent)
{
    if (!agent)
        return;
    agent->disposed = TRUE;
    agent->heartbeat_func = NULL;
    agent_shut(agent, G_IO_ERROR, G_IO_ERROR_CANCELLED, "the guest agent channel was freed");
    agent_unref(agent);
}

void guest_agent_get_info(GuestAgent *agent, GuestAgentInfo *info)
{
    gint64 now = g_get_real_time();

    info->running = agent->last_heartbeat_us != 0 &&
                    now - agent->last_heartbeat_us < agent->running_window_us;
    info->last_heartbeat_us = agent->last_heartbeat_us;
    info->heartbeats = agent->heartbeats;
    info->seq = agent->seq;
    info->uptime_ms = agent->uptime_ms;
    info->boot_id = agent->boot_id;
    info->version = agent->version;
    info->host_name = agent->host_name;
    info->os_name = agent->os_name;
    info->os_full_name = agent->os_full_name;
    info->family = agent->family;
    info->ip_addresses = agent->ip_addresses;
}

char *guest_agent_dup_workload_json(GuestAgent *agent)
{
    return g_strdup(agent->workload_json);
}

static gboolean on_command_timeout(gpointer user_data)
{
    AgentPending *p = user_data;

    /* pending_free destroys this very source, which GLib allows mid-dispatch. */
    p = pending_steal(p->agent, p->id);
    if (p) {
        pending_complete(p, g_error_new(VIREO_ERROR, VIREO_ERROR_TIMED_OUT,
                                        "The guest agent did not answer '%s' in time",
                                        p->command));
    }
    return G_SOURCE_REMOVE;
}

static gboolean on_command_cancelled(GCancellable *cancellable, gpointer user_data)
{
    AgentPending *p = user_data;

    p = pending_steal(p->agent, p->id);
    if (p) {
        pending_complete(p, g_error_new(G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                        "Guest command '%s' was cancelled", p->command));
    }
    return G_SOURCE_REMOVE;
}

static GBytes *command_line(gint64 id, const char *command)
{
    g_autoptr(JsonBuilder) builder = json_builder_new_immutable();
    g_autoptr(JsonGenerator) generator = json_generator_new();
    g_autoptr(JsonNode) root = NULL;
    gsize length = 0;
    char *text;

    json_builder_begin_object(builder);
    json_builder_set_member_name(builder, "type");
    json_builder_add_string_value(builder, "command");
    json_builder_set_member_name(builder, "id");
    json_builder_add_int_value(builder, id);
    json_builder_set_member_name(builder, "command");
    json_builder_add_string_value(builder, command);
    json_builder_end_object(builder);
    root = json_builder_get_root(builder);
    json_generator_set_root(generator, root);
    text = json_generator_to_data(generator, &length);
    text = g_realloc(text, length + 1);
    text[length] = '\n';
    return g_bytes_new_take(text, length + 1);
}

void guest_agent_command_async(GuestAgent *agent, const char *command, guint timeout_ms,
                               GCancellable *cancellable, GAsyncReadyCallback callback,
                               gpointer user_data)
{
    g_autoptr(GTask) task = g_task_new(NULL, cancellable, callback, user_data);
    g_autoptr(GBytes) line = NULL;
    AgentPending *p;

    g_task_set_source_tag(task, guest_agent_command_async);
    if (!agent->socket || !agent->peer_seen) {
        g_task_return_new_error(task, VIREO_ERROR, VIREO_ERROR_SERVICE_UNAVAILABLE,
                                "The guest agent (vireo-tools) is not running in this VM");
        return;
    }
    line = command_line(agent->next_id + 1, command);
    if (agent->outbuf->len + g_bytes_get_size(line) > AGENT_MAX_OUTPUT) {
        g_task_return_new_error(task, VIREO_ERROR, VIREO_ERROR_SERVICE_UNAVAILABLE,
                                "The guest agent is not reading its commands");
        return;
    }
    p = g_new0(AgentPending, 1);
    p->agent = agent;
    p->id = ++agent->next_id;
    p->task = g_steal_pointer(&task);
    p->command = g_strdup(command);
    if (timeout_ms > 0) {
        p->timeout_source = g_timeout_source_new(timeout_ms);
        g_source_set_callback(p->timeout_source, on_command_timeout, p, NULL);
        g_source_attach(p->timeout_source, g_task_get_context(p->task));
    }
    if (cancellable) {
        p->cancel_source = g_cancellable_source_new(cancellable);
        g_source_set_callback(p->cancel_source, G_SOURCE_FUNC(on_command_cancelled), p, NULL);
        g_source_attach(p->cancel_source, g_task_get_context(p->task));
    }
    g_hash_table_insert(agent->pending, &p->id, p);
    g_byte_array_append(agent->outbuf, g_bytes_get_data(line, NULL), g_bytes_get_size(line));
    agent_flush(agent);
}

gboolean guest_agent_command_finish(GuestAgent *agent, GAsyncResult *result, GError **error)
{
    return g_task_propagate_boolean(G_TASK(result), error);
}
