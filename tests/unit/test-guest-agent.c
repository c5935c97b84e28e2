/* test-guest-agent.c — the host's guest agent channel against a fake guest.
 *
 * The fake listens on a real unix socket, as QEMU's chardev server does, and
 * speaks the vireo-tools protocol (docs/guest-agent.md) from the same main
 * context as the agent.
 */
#include <glib/gstdio.h>
#include <gio/gunixsocketaddress.h>
#include <json-glib/json-glib.h>

#include "guest-agent.h"
#include "vireo-error.h"

typedef struct {
    char *dir;
    char *path;
    GSocket *listener;
    GSource *accept_source;
    GSocket *conn;
    GSource *read_source;
    GString *inbuf;
    GQueue lines; /* what the host sent, one line each */
    int accepts;
} FakeGuest;

static gboolean on_guest_readable(GSocket *socket, GIOCondition condition, gpointer user_data)
{
    FakeGuest *fg = user_data;
    char buf[4096];
    gssize n = g_socket_receive(socket, buf, sizeof(buf), NULL, NULL);
    char *nl;

    if (n <= 0)
        return G_SOURCE_CONTINUE; /* EOF: the test decides when to close */
    g_string_append_len(fg->inbuf, buf, n);
    while ((nl = memchr(fg->inbuf->str, '\n', fg->inbuf->len))) {
        g_queue_push_tail(&fg->lines, g_strndup(fg->inbuf->str, nl - fg->inbuf->str));
        g_string_erase(fg->inbuf, 0, nl - fg->inbuf->str + 1);
    }
    return G_SOURCE_CONTINUE;
}

static void fake_guest_drop_connection(FakeGuest *fg)
{
    if (fg->read_source) {
        g_source_destroy(fg->read_source);
        g_clear_pointer(&fg->read_source, g_source_unref);
    }
    if (fg->conn)
        g_socket_close(fg->conn, NULL);
    g_clear_object(&fg->conn);
    g_string_truncate(fg->inbuf, 0);
}

static gboolean on_guest_accept(GSocket *socket, GIOCondition condition, gpointer user_data)
{
    FakeGuest *fg = user_data;
    GSocket *conn = g_socket_accept(socket, NULL, NULL);

    if (!conn)
        return G_SOURCE_CONTINUE;
    fake_guest_drop_connection(fg); /* like QEMU: one client at a time */
    fg->conn = conn;
    fg->accepts++;
    g_socket_set_blocking(conn, TRUE);
    fg->read_source = g_socket_create_source(conn, G_IO_IN | G_IO_HUP, NULL);
    g_source_set_callback(fg->read_source, G_SOURCE_FUNC(on_guest_readable), fg, NULL);
    g_source_attach(fg->read_source, NULL);
    return G_SOURCE_CONTINUE;
}

static void fake_guest_listen(FakeGuest *fg)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GSocketAddress) address = g_unix_socket_address_new(fg->path);

    fg->listener = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                                G_SOCKET_PROTOCOL_DEFAULT, &error);
    g_assert_no_error(error);
    g_socket_set_blocking(fg->listener, FALSE);
    g_assert_true(g_socket_bind(fg->listener, address, FALSE, &error));
    g_assert_true(g_socket_listen(fg->listener, &error));
    fg->accept_source = g_socket_create_source(fg->listener, G_IO_IN, NULL);
    g_source_set_callback(fg->accept_source, G_SOURCE_FUNC(on_guest_accept), fg, NULL);
    g_source_attach(fg->accept_source, NULL);
}

/* QEMU going away: the connection and the socket file disappear. */
static void fake_guest_shut(FakeGuest *fg)
{
    fake_guest_drop_connection(fg);
    if (fg->accept_source) {
        g_source_destroy(fg->accept_source);
        g_clear_pointer(&fg->accept_source, g_source_unref);
    }
    if (fg->listener)
        g_socket_close(fg->listener, NULL);
    g_clear_object(&fg->listener);
    g_unlink(fg->path);
}

static FakeGuest *fake_guest_new(void)
{
    FakeGuest *fg = g_new0(FakeGuest, 1);
    g_autoptr(GError) error = NULL;

    fg->dir = g_dir_make_tmp("fake-guest-XXXXXX", &error);
    g_assert_no_error(error);
    fg->path = g_build_filename(fg->dir, "agent.sock", NULL);
    fg->inbuf = g_string_new(NULL);
    fake_guest_listen(fg);
    return fg;
}

static void fake_guest_free(FakeGuest *fg)
{
    fake_guest_shut(fg);
    g_queue_clear_full(&fg->lines, g_free);
    g_string_free(fg->inbuf, TRUE);
    g_rmdir(fg->dir);
    g_free(fg->dir);
    g_free(fg->path);
    g_free(fg);
}

/* The agent reads on this same main context: keep it running while the
 * socket is full. */
static void fake_guest_send_len(FakeGuest *fg, const char *text, gsize length)
{
    while (length > 0) {
        g_autoptr(GError) error = NULL;
        gssize n = g_socket_send_with_blocking(fg->conn, text, length, FALSE, NULL, &error);

        if (n < 0) {
            g_assert_error(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
            g_main_context_iteration(NULL, TRUE);
            continue;
        }
        text += n;
        length -= n;
    }
}

static void fake_guest_send(FakeGuest *fg, const char *text)
{
    fake_guest_send_len(fg, text, strlen(text));
}

static gboolean on_deadline(gpointer user_data)
{
    *(gboolean *)user_data = TRUE;
    return G_SOURCE_REMOVE;
}

typedef gboolean (*Condition)(gpointer data);

/* Iterates the main context until cond holds; FALSE after timeout_ms. */
static gboolean run_until(Condition cond, gpointer data, guint timeout_ms)
{
    gboolean expired = FALSE;
    guint deadline = g_timeout_add(timeout_ms, on_deadline, &expired);

    while (!cond(data) && !expired)
        g_main_context_iteration(NULL, TRUE);
    if (!expired)
        g_source_remove(deadline);
    return !expired;
}

static gboolean has_accepted_once(gpointer data)
{
    return ((FakeGuest *)data)->accepts >= 1;
}

static gboolean has_accepted_twice(gpointer data)
{
    return ((FakeGuest *)data)->accepts >= 2;
}

static gboolean has_line(gpointer data)
{
    return !g_queue_is_empty(&((FakeGuest *)data)->lines);
}

static gboolean int_is_nonzero(gpointer data)
{
    return *(int *)data != 0;
}

typedef struct {
    GuestAgent *agent;
    int heartbeats;
} Watch;

static void on_heartbeat(GuestAgent *agent, gpointer user_data)
{
    ((Watch *)user_data)->heartbeats++;
}

static gboolean on_sync_deadline(gpointer user_data)
{
    g_error("the agent never saw the sync heartbeat");
    return G_SOURCE_REMOVE;
}

/* Runs the main context until the latest heartbeat carries seq. */
static void wait_for_seq(Watch *watch, guint64 seq)
{
    guint deadline = g_timeout_add_seconds(10, on_sync_deadline, NULL);
    GuestAgentInfo info = { 0 };

    guest_agent_get_info(watch->agent, &info);
    while (info.seq != seq) {
        g_main_context_iteration(NULL, TRUE);
        guest_agent_get_info(watch->agent, &info);
    }
    g_source_remove(deadline);
}

/* Sends text, then one heartbeat with a seq of its own, and waits until the
 * agent has seen that heartbeat: every line before it was handled too. */
static void send_len_and_sync(FakeGuest *fg, Watch *watch, const char *text, gsize length,
                              guint seq)
{
    g_autofree char *hb = g_strdup_printf("{\"type\":\"heartbeat\",\"seq\":%u}\n", seq);

    fake_guest_send_len(fg, text, length);
    fake_guest_send(fg, hb);
    wait_for_seq(watch, seq);
}

static void send_and_sync(FakeGuest *fg, Watch *watch, const char *text, guint seq)
{
    send_len_and_sync(fg, watch, text, strlen(text), seq);
}

typedef struct {
    GuestAgent *agent;
    int done;
    gboolean ok;
    GError *error;
} CommandResult;

static void on_command_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
    CommandResult *res = user_data;

    res->ok = guest_agent_command_finish(res->agent, result, &res->error);
    res->done = 1;
}

static void command(GuestAgent *agent, const char *name, guint timeout_ms, CommandResult *res)
{
    memset(res, 0, sizeof(*res));
    res->agent = agent;
    guest_agent_command_async(agent, name, timeout_ms, NULL, on_command_done, res);
}

static void command_wait(GuestAgent *agent, const char *name, guint timeout_ms,
                         CommandResult *res)
{
    command(agent, name, timeout_ms, res);
    g_assert_true(run_until(int_is_nonzero, &res->done, 10000));
}

/* Reads the next command the fake received; returns its id. */
static gint64 next_command(FakeGuest *fg, const char *expected)
{
    g_autofree char *line = NULL;
    g_autoptr(JsonNode) node = NULL;
    JsonObject *obj;

    g_assert_true(run_until(has_line, fg, 10000));
    line = g_queue_pop_head(&fg->lines);
    node = json_from_string(line, NULL);
    g_assert_nonnull(node);
    obj = json_node_get_object(node);
    g_assert_cmpstr(json_object_get_string_member(obj, "type"), ==, "command");
    g_assert_cmpstr(json_object_get_string_member(obj, "command"), ==, expected);
    return json_object_get_int_member(obj, "id");
}

static GuestAgent *start_agent(FakeGuest *fg, Watch *watch)
{
    GuestAgent *agent = guest_agent_new(fg->path);

    watch->agent = agent;
    watch->heartbeats = 0;
    guest_agent_set_heartbeat_func(agent, on_heartbeat, watch);
    guest_agent_start(agent);
    g_assert_true(run_until(has_accepted_once, fg, 10000));
    return agent;
}

static void test_info(void)
{
    FakeGuest *fg = fake_guest_new();
    Watch watch;
    GuestAgentInfo info;
    g_autoptr(GuestAgent) agent = start_agent(fg, &watch);
    g_autofree char *workload = NULL;

    guest_agent_get_info(agent, &info);
    g_assert_false(info.running);
    g_assert_cmpint(info.last_heartbeat_us, ==, 0);

    fake_guest_send(fg, "{\"type\":\"hello\",\"protocol\":1,\"version\":\"0.1.0\"}\n");
    fake_guest_send(fg, "{\"type\":\"heartbeat\",\"seq\":19,\"uptime_ms\":123456,\"boot_id\":"
                        "\"4f2a\",\"host_name\":\"vireo-template\",\"os_name\":\"Linux\","
                        "\"os_full_name\":\"Vireo template (Linux 6.1.0-28-amd64)\",\"family\":"
                        "\"LINUX\",\"ip_addresses\":[\"10.77.0.23\",\"fe80::1\"],\"future_field\":"
                        "[1],\"workload\":{\"cpu_percent\":12.5,\"name\":\"stress\"}}\n");
    wait_for_seq(&watch, 19);
    guest_agent_get_info(agent, &info);
    g_assert_true(info.running);
    g_assert_cmpint(info.last_heartbeat_us, >, 0);
    g_assert_cmpint(g_get_real_time() - info.last_heartbeat_us, <, 5 * G_USEC_PER_SEC);
    g_assert_cmpuint(info.heartbeats, ==, 1);
    g_assert_cmpuint(info.seq, ==, 19);
    g_assert_cmpuint(info.uptime_ms, ==, 123456);
    g_assert_cmpstr(info.version, ==, "0.1.0");
    g_assert_cmpstr(info.boot_id, ==, "4f2a");
    g_assert_cmpstr(info.host_name, ==, "vireo-template");
    g_assert_cmpstr(info.os_name, ==, "Linux");
    g_assert_cmpstr(info.os_full_name, ==, "Vireo template (Linux 6.1.0-28-amd64)");
    g_assert_cmpstr(info.family, ==, "LINUX");
    g_assert_cmpuint(g_strv_length(info.ip_addresses), ==, 2);
    g_assert_cmpstr(info.ip_addresses[0], ==, "10.77.0.23");
    g_assert_cmpstr(info.ip_addresses[1], ==, "fe80::1");
    workload = guest_agent_dup_workload_json(agent);
    g_assert_cmpstr(workload, ==, "{\"cpu_percent\":12.5,\"name\":\"stress\"}");
    g_clear_pointer(&workload, g_free);

    /* The next heartbeat replaces the whole picture; hello's version stays. */
    send_and_sync(fg, &watch, "", 20);
    guest_agent_get_info(agent, &info);
    g_assert_cmpuint(info.heartbeats, ==, 2);
    g_assert_null(info.host_name);
    g_assert_cmpuint(g_strv_length(info.ip_addresses), ==, 0);
    g_assert_null(guest_agent_dup_workload_json(agent));
    g_assert_cmpstr(info.version, ==, "0.1.0");
    g_assert_cmpint(watch.heartbeats, ==, 2);

    guest_agent_stop(agent);
    fake_guest_free(fg);
}

static void test_command_reply(void)
{
    FakeGuest *fg = fake_guest_new();
    Watch watch;
    CommandResult res;
    g_autoptr(GuestAgent) agent = start_agent(fg, &watch);
    gint64 id;

    /* Connected to QEMU, but the guest has not spoken: nobody would answer. */
    command_wait(agent, "ping", 5000, &res);
    g_assert_false(res.ok);
    g_assert_error(res.error, VIREO_ERROR, VIREO_ERROR_SERVICE_UNAVAILABLE);
    g_clear_error(&res.error);
    g_assert_true(g_queue_is_empty(&fg->lines));

    send_and_sync(fg, &watch, "{\"type\":\"hello\",\"protocol\":1,\"version\":\"0.1.0\"}\n", 1);
    command(agent, "ping", 5000, &res);
    id = next_command(fg, "ping");
    g_autofree char *reply = g_strdup_printf("{\"type\":\"reply\",\"id\":%" G_GINT64_FORMAT
                                             ",\"ok\":true}\n", id);
    fake_guest_send(fg, reply);
    g_assert_true(run_until(int_is_nonzero, &res.done, 10000));
    g_assert_no_error(res.error);
    g_assert_true(res.ok);

    command(agent, "freeze", 5000, &res);
    id = next_command(fg, "freeze");
    g_autofree char *refusal = g_strdup_printf(
        "{\"type\":\"reply\",\"id\":%" G_GINT64_FORMAT ",\"ok\":false,\"error\":\"no filesystem "
        "to freeze\"}\n", id);
    fake_guest_send(fg, refusal);
    g_assert_true(run_until(int_is_nonzero, &res.done, 10000));
    g_assert_false(res.ok);
    g_assert_nonnull(res.error);
    g_assert_nonnull(strstr(res.error->message, "no filesystem to freeze"));
    g_clear_error(&res.error);

    guest_agent_stop(agent);
    fake_guest_free(fg);
}

static void test_timeout(void)
{
    FakeGuest *fg = fake_guest_new();
    Watch watch;
    CommandResult res;
    g_autoptr(GuestAgent) agent = start_agent(fg, &watch);
    gint64 start, late_id, id;

    send_and_sync(fg, &watch, "{\"type\":\"hello\",\"protocol\":1}\n", 1);
    start = g_get_monotonic_time();
    command(agent, "thaw", 200, &res);
    late_id = next_command(fg, "thaw");
    g_assert_true(run_until(int_is_nonzero, &res.done, 10000));
    g_assert_error(res.error, VIREO_ERROR, VIREO_ERROR_TIMED_OUT);
    g_assert_cmpint(g_get_monotonic_time() - start, <, 3 * G_USEC_PER_SEC);
    g_clear_error(&res.error);

    /* The late reply finds nothing waiting; the next command gets its own. */
    command(agent, "ping", 5000, &res);
    id = next_command(fg, "ping");
    g_assert_cmpint(id, !=, late_id);
    g_autofree char *late = g_strdup_printf("{\"type\":\"reply\",\"id\":%" G_GINT64_FORMAT
                                            ",\"ok\":false,\"error\":\"late\"}\n", late_id);
    g_autofree char *reply = g_strdup_printf("{\"type\":\"reply\",\"id\":%" G_GINT64_FORMAT
                                             ",\"ok\":true}\n", id);
    fake_guest_send(fg, late);
    fake_guest_send(fg, reply);
    g_assert_true(run_until(int_is_nonzero, &res.done, 10000));
    g_assert_no_error(res.error);
    g_assert_true(res.ok);

    guest_agent_stop(agent);
    fake_guest_free(fg);
}

/* QEMU restarts (or was not there yet): the agent keeps trying every 500 ms. */
static void test_reconnect(void)
{
    FakeGuest *fg = fake_guest_new();
    Watch watch;
    CommandResult res;
    g_autoptr(GuestAgent) agent = start_agent(fg, &watch);
    gint64 id;

    send_and_sync(fg, &watch, "{\"type\":\"hello\",\"protocol\":1}\n", 1);
    command(agent, "ping", 0, &res);
    next_command(fg, "ping");
    fake_guest_shut(fg);
    g_assert_true(run_until(int_is_nonzero, &res.done, 10000));
    g_assert_error(res.error, VIREO_ERROR, VIREO_ERROR_SERVICE_UNAVAILABLE);
    g_clear_error(&res.error);
    command_wait(agent, "ping", 5000, &res);
    g_assert_error(res.error, VIREO_ERROR, VIREO_ERROR_SERVICE_UNAVAILABLE);
    g_clear_error(&res.error);

    /* A few failed attempts while nothing listens, then QEMU is back. */
    g_usleep(700 * 1000);
    while (g_main_context_iteration(NULL, FALSE))
        ;
    fake_guest_listen(fg);
    g_assert_true(run_until(has_accepted_twice, fg, 5000));
    send_and_sync(fg, &watch, "{\"type\":\"hello\",\"protocol\":1}\n", 2);
    command(agent, "ping", 5000, &res);
    id = next_command(fg, "ping");
    g_autofree char *reply = g_strdup_printf("{\"type\":\"reply\",\"id\":%" G_GINT64_FORMAT
                                             ",\"ok\":true}\n", id);
    fake_guest_send(fg, reply);
    g_assert_true(run_until(int_is_nonzero, &res.done, 10000));
    g_assert_true(res.ok);

    guest_agent_stop(agent);
    g_assert_cmpint(fg->accepts, ==, 2);
    fake_guest_free(fg);
}

/* A hostile guest: nothing it sends may crash the host or cut the channel. */
static void test_hostile(void)
{
    FakeGuest *fg = fake_guest_new();
    Watch watch;
    GuestAgentInfo info;
    g_autoptr(GuestAgent) agent = start_agent(fg, &watch);
    g_autoptr(GString) text = g_string_new(NULL);
    g_autofree char *long_name = g_strnfill(1000, 'n');
    g_autofree char *huge = g_strnfill(100000, 'x');

    /* Overlong lines (one of them 100 kB, spanning many reads), then noise. */
    g_string_append_printf(text, "{\"type\":\"heartbeat\",\"host_name\":\"%s", huge);
    g_string_append(text, "\"}\n");
    g_string_append(text, "not json at all\n\n[1,2,3]\n\"str\"\n{\"type\":7}\n{\"type\":null}\n");
    g_string_append(text, "{\"type\":\"heartbeat\",\"seq\":\"x\",\"uptime_ms\":-5,\"host_name\":42,"
                          "\"ip_addresses\":\"1.2.3.4\",\"workload\":[1],\"boot_id\":{}}\n");
    g_string_append(text, "{\"type\":\"heartbeat\",\"seq\":123456789012345678901234567890,"
                          "\"uptime_ms\":1e400,\"os_name\":\"a\\u0000b\"}\n");
    g_string_append(text, "{\"type\":\"reply\",\"id\":\"1\",\"ok\":\"yes\"}\n");
    g_string_append(text, "{\"type\":\"reply\",\"id\":99999999999999999999}\n");
    static const char with_nul[] = "{\"type\":\"hello\",\0\"version\":\"evil\"}\n";
    g_string_append_len(text, with_nul, sizeof(with_nul) - 1);
    g_string_append(text, "{\"type\":\"heartbeat\",\"host_name\":\"\xff\xfe\"}\n");
    send_len_and_sync(fg, &watch, text->str, text->len, 5);
    g_string_truncate(text, 0);

    /* Two heartbeats with junk fields counted, plus the sync one; the
     * overlong, NUL-carrying and non-UTF-8 lines were dropped whole. */
    guest_agent_get_info(agent, &info);
    g_assert_cmpuint(info.heartbeats, ==, 3);
    g_assert_cmpuint(info.seq, ==, 5);
    g_assert_cmpint(fg->accepts, ==, 1);
    g_assert_null(info.version);

    /* Oversized strings are capped, control characters defused, IPs bounded. */
    g_string_append_printf(text, "{\"type\":\"heartbeat\",\"seq\":6,\"host_name\":\"%s\","
                                 "\"os_name\":\"evil\\u001b[2J\\n\",\"os_full_name\":\"D\u00e9bian \u2603\","
                                 "\"ip_addresses\":[",
                           long_name);
    for (int i = 0; i < 40; i++)
        g_string_append_printf(text, "\"10.0.0.%d\",", i);
    g_string_append(text, "\"not an ip\",7,null]}\n");
    g_assert_cmpuint(text->len, <, 4096);
    fake_guest_send(fg, text->str);
    wait_for_seq(&watch, 6);
    guest_agent_get_info(agent, &info);
    g_assert_cmpuint(watch.heartbeats, ==, 4);
    g_assert_cmpuint(strlen(info.host_name), ==, 255);
    g_assert_cmpstr(info.os_name, ==, "evil?[2J?");
    g_assert_cmpstr(info.os_full_name, ==, "D\u00e9bian \u2603");
    g_assert_cmpuint(g_strv_length(info.ip_addresses), ==, 32);
    g_assert_cmpstr(info.ip_addresses[31], ==, "10.0.0.31");

    /* Still the same connection, still answering. */
    g_assert_cmpint(fg->accepts, ==, 1);
    guest_agent_stop(agent);
    fake_guest_free(fg);
}

static void test_running_window(void)
{
    FakeGuest *fg = fake_guest_new();
    Watch watch;
    GuestAgentInfo info;
    g_autoptr(GuestAgent) agent = start_agent(fg, &watch);
    gint64 last;

    guest_agent_set_running_window_ms(agent, 300);
    send_and_sync(fg, &watch, "", 1);
    guest_agent_get_info(agent, &info);
    g_assert_true(info.running);
    last = info.last_heartbeat_us;

    g_usleep(500 * 1000);
    guest_agent_get_info(agent, &info);
    g_assert_false(info.running);
    g_assert_cmpint(info.last_heartbeat_us, ==, last);

    send_and_sync(fg, &watch, "", 2);
    guest_agent_get_info(agent, &info);
    g_assert_true(info.running);

    guest_agent_stop(agent);
    fake_guest_free(fg);
}

static void test_not_running(void)
{
    g_autoptr(GuestAgent) agent = guest_agent_new("/nonexistent/agent.sock");
    CommandResult res;

    guest_agent_start(agent);
    command_wait(agent, "shutdown", 1000, &res);
    g_assert_error(res.error, VIREO_ERROR, VIREO_ERROR_SERVICE_UNAVAILABLE);
    g_clear_error(&res.error);
}

/* Freeing with a command in flight: its callback runs once, cancelled. */
static void test_free_pending(void)
{
    FakeGuest *fg = fake_guest_new();
    Watch watch;
    CommandResult res;
    GuestAgent *agent = start_agent(fg, &watch);

    send_and_sync(fg, &watch, "{\"type\":\"hello\",\"protocol\":1}\n", 1);
    command(agent, "reboot", 5000, &res);
    next_command(fg, "reboot");
    guest_agent_free(agent);
    g_assert_true(run_until(int_is_nonzero, &res.done, 10000));
    g_assert_error(res.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_clear_error(&res.error);
    fake_guest_free(fg);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/guest-agent/info", test_info);
    g_test_add_func("/guest-agent/command-reply", test_command_reply);
    g_test_add_func("/guest-agent/timeout", test_timeout);
    g_test_add_func("/guest-agent/reconnect", test_reconnect);
    g_test_add_func("/guest-agent/hostile", test_hostile);
    g_test_add_func("/guest-agent/running-window", test_running_window);
    g_test_add_func("/guest-agent/not-running", test_not_running);
    g_test_add_func("/guest-agent/free-pending", test_free_pending);
    return g_test_run();
}
