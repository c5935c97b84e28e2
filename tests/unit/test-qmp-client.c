/* test-qmp-client.c — the QMP client against a scripted fake peer on a real
 * socket (fake-qmp.c), then against a real QEMU when one is installed.
 */
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake-qmp.h"
#include "qmp-client.h"

typedef struct {
    int n_done;
    GPtrArray *order;   /* tags of the commands, in completion order */
    GPtrArray *results; /* JsonNode or NULL, in completion order */
    GPtrArray *errors;  /* GError or NULL, in completion order */
    int n_closed;
    GPtrArray *events;  /* "NAME data-json" */
    guint events_at_last_done;
} Recorder;

static void recorder_init(Recorder *rec)
{
    memset(rec, 0, sizeof(*rec));
    rec->order = g_ptr_array_new();
    rec->results = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    rec->errors = g_ptr_array_new_with_free_func((GDestroyNotify)g_error_free);
    rec->events = g_ptr_array_new_with_free_func(g_free);
}

static void recorder_clear(Recorder *rec)
{
    g_ptr_array_unref(rec->order);
    g_ptr_array_set_free_func(rec->results, NULL);
    for (guint i = 0; i < rec->results->len; i++)
        g_clear_pointer(&rec->results->pdata[i], json_node_unref);
    g_ptr_array_unref(rec->results);
    g_ptr_array_set_free_func(rec->errors, NULL);
    for (guint i = 0; i < rec->errors->len; i++)
        g_clear_pointer(&rec->errors->pdata[i], g_error_free);
    g_ptr_array_unref(rec->errors);
    g_ptr_array_unref(rec->events);
}

typedef struct {
    Recorder *rec;
    QmpClient *client;
    const char *tag;
} Call;

/* Never touches the client itself: it may be freed by now. */
static void on_executed(GObject *source, GAsyncResult *result, gpointer user_data)
{
    Call *call = user_data;
    GError *error = NULL;
    JsonNode *ret = qmp_client_execute_finish(call->client, result, &error);

    g_ptr_array_add(call->rec->order, (gpointer)call->tag);
    g_ptr_array_add(call->rec->results, ret);
    g_ptr_array_add(call->rec->errors, error);
    call->rec->n_done++;
    call->rec->events_at_last_done = call->rec->events->len;
    g_free(call);
}

static void execute(QmpClient *client, Recorder *rec, const char *tag, const char *command,
                    const char *args_json)
{
    Call *call = g_new0(Call, 1);

    call->rec = rec;
    call->client = client;
    call->tag = tag;
    qmp_client_execute_async(client, command, args_json ? json_from_string(args_json, NULL) : NULL,
                             -1, NULL, on_executed, call);
}

static void on_event(QmpClient *client, const char *event, JsonObject *data, gpointer user_data)
{
    Recorder *rec = user_data;
    g_autofree char *json = NULL;

    if (data) {
        g_autoptr(JsonNode) node = json_node_init_object(json_node_alloc(), data);
        json = json_to_string(node, FALSE);
    }
    g_ptr_array_add(rec->events, g_strdup_printf("%s %s", event, json ? json : "null"));
}

static GError *error_at(Recorder *rec, guint i)
{
    return g_ptr_array_index(rec->errors, i);
}

static void on_closed(QmpClient *client, gpointer user_data)
{
    ((Recorder *)user_data)->n_closed++;
}

static gboolean on_deadline(gpointer user_data)
{
    g_error("timed out waiting in the main loop");
    return G_SOURCE_REMOVE;
}

/* Runs the default main context until *counter reaches target. */
static void run_until(int *counter, int target)
{
    guint deadline = g_timeout_add_seconds(20, on_deadline, NULL);

    while (*counter < target)
        g_main_context_iteration(NULL, TRUE);
    g_source_remove(deadline);
}

static QmpClient *connect_to(FakeQmp *fake, Recorder *rec)
{
    QmpClient *client = qmp_client_new();
    g_autoptr(GError) error = NULL;

    if (rec) {
        qmp_client_set_event_func(client, on_event, rec);
        qmp_client_set_closed_func(client, on_closed, rec);
    }
    g_assert_true(qmp_client_connect_sync(client, fake_qmp_get_path(fake), 5000, &error));
    g_assert_no_error(error);
    g_assert_true(qmp_client_is_connected(client));
    return client;
}

static const char *member_str(JsonNode *node, const char *name)
{
    g_assert_true(JSON_NODE_HOLDS_OBJECT(node));
    return json_object_get_string_member_with_default(json_node_get_object(node), name, NULL);
}

static void test_execute(void)
{
    FakeQmp *fake = fake_qmp_new();
    g_autoptr(GError) error = NULL;
    int i;

    fake_qmp_greet(fake);
    i = fake_qmp_expect(fake, "query-status", NULL);
    fake_qmp_return(fake, i, "{\"status\": \"running\", \"singlestep\": false, \"running\": true}");
    i = fake_qmp_expect(fake, "device_del", "{\"id\": \"net0\"}");
    fake_qmp_return(fake, i, "{}");
    i = fake_qmp_expect(fake, "query-block-jobs", NULL);
    fake_qmp_return(fake, i, "[{\"device\": \"d0\", \"len\": 10}]");
    fake_qmp_start(fake);

    g_autoptr(QmpClient) client = connect_to(fake, NULL);
    g_autoptr(JsonNode) status = qmp_client_execute_sync(client, "query-status", NULL, -1, 5000,
                                                         &error);
    g_assert_no_error(error);
    g_assert_cmpstr(member_str(status, "status"), ==, "running");

    g_autoptr(JsonNode) empty = qmp_client_execute_sync(
        client, "device_del", json_from_string("{\"id\": \"net0\"}", NULL), -1, 5000, &error);
    g_assert_no_error(error);
    g_assert_true(JSON_NODE_HOLDS_OBJECT(empty));
    g_assert_cmpuint(json_object_get_size(json_node_get_object(empty)), ==, 0);

    g_autoptr(JsonNode) jobs = qmp_client_execute_sync(client, "query-block-jobs", NULL, -1, 5000,
                                                       &error);
    g_assert_no_error(error);
    g_assert_true(JSON_NODE_HOLDS_ARRAY(jobs));
    g_assert_cmpuint(json_array_get_length(json_node_get_array(jobs)), ==, 1);

    qmp_client_close(client);
    g_assert_false(qmp_client_is_connected(client));
    fake_qmp_finish(fake);
}

static void test_qmp_error(void)
{
    FakeQmp *fake = fake_qmp_new();
    g_autoptr(GError) error = NULL;
    int i;

    fake_qmp_greet(fake);
    i = fake_qmp_expect(fake, "device_del", "{\"id\": \"nope\"}");
    fake_qmp_error(fake, i, "DeviceNotFound", "Device 'nope' not found");
    fake_qmp_start(fake);

    g_autoptr(QmpClient) client = connect_to(fake, NULL);
    g_autoptr(JsonNode) ret = qmp_client_execute_sync(
        client, "device_del", json_from_string("{\"id\": \"nope\"}", NULL), -1, 5000, &error);
    g_assert_null(ret);
    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_FAILED);
    g_assert_nonnull(strstr(error->message, "Device 'nope' not found"));
    g_assert_nonnull(strstr(error->message, "DeviceNotFound"));
    g_assert_true(qmp_client_is_connected(client));

    qmp_client_close(client);
    fake_qmp_finish(fake);
}

static void on_connected(GObject *source, GAsyncResult *result, gpointer user_data)
{
    Call *call = user_data;
    GError *error = NULL;

    qmp_client_connect_finish(call->client, result, &error);
    g_ptr_array_add(call->rec->errors, error);
    call->rec->n_done++;
    g_free(call);
}

/* Events arrive in stream order, around the answers; connect is async here. */
static void test_events(void)
{
    FakeQmp *fake = fake_qmp_new();
    g_autoptr(QmpClient) client = qmp_client_new();
    Recorder rec;
    Call *call = g_new0(Call, 1);
    int i;

    recorder_init(&rec);
    fake_qmp_greet(fake);
    i = fake_qmp_expect(fake, "stop", NULL);
    fake_qmp_send(fake, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"STOP\"}\r\n");
    fake_qmp_return(fake, i, "{}");
    fake_qmp_send(fake, "{\"event\": \"BLOCK_JOB_COMPLETED\", \"data\": {\"device\": \"d0\", "
                        "\"len\": 10}, \"timestamp\": {\"seconds\": 1, \"microseconds\": 3}}\n");
    fake_qmp_start(fake);

    qmp_client_set_event_func(client, on_event, &rec);
    qmp_client_set_closed_func(client, on_closed, &rec);
    call->rec = &rec;
    call->client = client;
    qmp_client_connect_async(client, fake_qmp_get_path(fake), NULL, on_connected, call);
    run_until(&rec.n_done, 1);
    g_assert_no_error(g_ptr_array_index(rec.errors, 0));
    g_assert_true(qmp_client_is_connected(client));

    execute(client, &rec, "stop", "stop", NULL);
    run_until(&rec.n_done, 2);
    g_assert_no_error(g_ptr_array_index(rec.errors, 1));
    /* STOP came before the answer, so it was handed over first. */
    g_assert_cmpuint(rec.events_at_last_done, ==, 1);
    g_assert_cmpstr(g_ptr_array_index(rec.events, 0), ==, "STOP null");
    while (rec.events->len < 2)
        g_main_context_iteration(NULL, TRUE);
    g_assert_cmpstr(g_ptr_array_index(rec.events, 1), ==,
                    "BLOCK_JOB_COMPLETED {\"device\":\"d0\",\"len\":10}");

    qmp_client_close(client);
    g_assert_cmpint(rec.n_closed, ==, 0); /* closing ourselves is not "QEMU went away" */
    fake_qmp_finish(fake);
    recorder_clear(&rec);
}

/* Answers in another order than the commands, plus noise, after a sync
 * connect (so the client must have moved back to the default context). */
static void test_out_of_order(void)
{
    FakeQmp *fake = fake_qmp_new();
    Recorder rec;
    int a, b, c;

    recorder_init(&rec);
    fake_qmp_greet(fake);
    a = fake_qmp_expect(fake, "query-name", NULL);
    b = fake_qmp_expect(fake, "query-uuid", NULL);
    c = fake_qmp_expect(fake, "query-kvm", NULL);
    fake_qmp_return(fake, c, "{\"name\": \"c\"}");
    fake_qmp_return(fake, a, "{\"name\": \"a\"}");
    fake_qmp_send(fake, "{\"return\": {\"name\": \"stray\"}, \"id\": 987654}\n");
    fake_qmp_send(fake, "{\"return\": {\"name\": \"stray\"}, \"id\": \"a-string\"}\n");
    fake_qmp_send(fake, "this is not json\n{\"event\": 42}\n[1, 2]\n\n{\"id\": {}, \"error\": 3}\n");
    fake_qmp_return(fake, b, "{\"name\": \"b\"}");
    fake_qmp_start(fake);

    g_autoptr(QmpClient) client = connect_to(fake, &rec);
    execute(client, &rec, "a", "query-name", NULL);
    execute(client, &rec, "b", "query-uuid", NULL);
    execute(client, &rec, "c", "query-kvm", NULL);
    run_until(&rec.n_done, 3);
    for (guint i = 0; i < 3; i++) {
        const char *tag = g_ptr_array_index(rec.order, i);

        g_assert_no_error(g_ptr_array_index(rec.errors, i));
        g_assert_cmpstr(member_str(g_ptr_array_index(rec.results, i), "name"), ==, tag);
    }
    g_assert_cmpstr(g_ptr_array_index(rec.order, 0), ==, "c");
    g_assert_cmpstr(g_ptr_array_index(rec.order, 1), ==, "a");
    g_assert_cmpstr(g_ptr_array_index(rec.order, 2), ==, "b");
    g_assert_cmpuint(rec.events->len, ==, 0);
    g_assert_true(qmp_client_is_connected(client));

    qmp_client_close(client);
    fake_qmp_finish(fake);
    recorder_clear(&rec);
}

/* A sync call on a client that lives on the default context: an answer to an
 * async command that arrives meanwhile is handed over on the default context
 * afterwards, not inside the sync call; events keep flowing after it. */
static void test_sync_amid_async(void)
{
    FakeQmp *fake = fake_qmp_new();
    g_autoptr(QmpClient) client = qmp_client_new();
    g_autoptr(GError) error = NULL;
    Recorder rec;
    Call *call = g_new0(Call, 1);
    int a, b;

    recorder_init(&rec);
    fake_qmp_greet(fake);
    a = fake_qmp_expect(fake, "query-name", NULL);
    b = fake_qmp_expect(fake, "query-status", NULL);
    fake_qmp_return(fake, a, "{\"name\": \"a\"}");
    fake_qmp_return(fake, b, "{\"status\": \"running\"}");
    fake_qmp_send(fake, "{\"event\": \"RESUME\"}\n");
    fake_qmp_start(fake);

    qmp_client_set_event_func(client, on_event, &rec);
    call->rec = &rec;
    call->client = client;
    qmp_client_connect_async(client, fake_qmp_get_path(fake), NULL, on_connected, call);
    run_until(&rec.n_done, 1);
    g_assert_no_error(error_at(&rec, 0));

    execute(client, &rec, "a", "query-name", NULL);
    g_autoptr(JsonNode) status = qmp_client_execute_sync(client, "query-status", NULL, -1, 5000,
                                                         &error);
    g_assert_no_error(error);
    g_assert_cmpstr(member_str(status, "status"), ==, "running");
    g_assert_cmpint(rec.n_done, ==, 1);
    run_until(&rec.n_done, 2);
    g_assert_no_error(error_at(&rec, 1));
    /* (on_connected records an error slot only, so results start at 0.) */
    g_assert_cmpstr(member_str(g_ptr_array_index(rec.results, 0), "name"), ==, "a");
    /* The result is the caller's to keep and change. */
    json_object_set_int_member(json_node_get_object(g_ptr_array_index(rec.results, 0)), "x", 1);
    while (rec.events->len < 1)
        g_main_context_iteration(NULL, TRUE);
    g_assert_cmpstr(g_ptr_array_index(rec.events, 0), ==, "RESUME null");

    qmp_client_close(client);
    fake_qmp_finish(fake);
    recorder_clear(&rec);
}

/* QEMU dies in the middle of an answer with two commands pending. */
static void test_disconnect_pending(void)
{
    FakeQmp *fake = fake_qmp_new();
    g_autoptr(GError) error = NULL;
    Recorder rec;

    recorder_init(&rec);
    fake_qmp_greet(fake);
    fake_qmp_expect(fake, "query-status", NULL);
    fake_qmp_expect(fake, "query-name", NULL);
    fake_qmp_send(fake, "{\"return\": {\"status\": \"run");
    fake_qmp_disconnect(fake);
    fake_qmp_start(fake);

    g_autoptr(QmpClient) client = connect_to(fake, &rec);
    execute(client, &rec, "a", "query-status", NULL);
    execute(client, &rec, "b", "query-name", NULL);
    run_until(&rec.n_done, 2);
    for (guint i = 0; i < 2; i++) {
        g_assert_error(error_at(&rec, i), G_IO_ERROR, G_IO_ERROR_CLOSED);
        g_assert_null(g_ptr_array_index(rec.results, i));
    }
    g_assert_cmpint(rec.n_closed, ==, 1);
    g_assert_false(qmp_client_is_connected(client));

    /* Once closed, commands fail at once, and nothing closes twice. */
    g_autoptr(JsonNode) ret = qmp_client_execute_sync(client, "query-status", NULL, -1, 5000,
                                                      &error);
    g_assert_null(ret);
    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CLOSED);
    qmp_client_close(client);
    g_assert_cmpint(rec.n_closed, ==, 1);
    fake_qmp_finish(fake);
    recorder_clear(&rec);
}

/* A line past 16 MiB closes the connection instead of eating memory. */
static void test_long_line(void)
{
    FakeQmp *fake = fake_qmp_new();
    Recorder rec;

    recorder_init(&rec);
    fake_qmp_greet(fake);
    fake_qmp_expect(fake, "query-status", NULL);
    fake_qmp_send_flood(fake, 17 * 1024 * 1024);
    fake_qmp_start(fake);

    g_autoptr(QmpClient) client = connect_to(fake, &rec);
    execute(client, &rec, "a", "query-status", NULL);
    run_until(&rec.n_done, 1);
    g_assert_error(error_at(&rec, 0), G_IO_ERROR, G_IO_ERROR_CLOSED);
    g_assert_nonnull(strstr(error_at(&rec, 0)->message, "16 MiB"));
    g_assert_cmpint(rec.n_closed, ==, 1);
    fake_qmp_finish(fake);
    recorder_clear(&rec);
}

/* getfd: the fd travels as SCM_RIGHTS; the peer writes through it. */
static void test_fd_passing(void)
{
    FakeQmp *fake = fake_qmp_new();
    g_autoptr(GError) error = NULL;
    g_autofree char *path = NULL;
    g_autofree char *contents = NULL;
    int i, fd;

    fake_qmp_greet(fake);
    i = fake_qmp_expect_fd(fake, "getfd", "{\"fdname\": \"vmstate\"}", "state written by QEMU");
    fake_qmp_return(fake, i, "{}");
    i = fake_qmp_expect(fake, "query-status", NULL);
    fake_qmp_return(fake, i, "{\"status\": \"paused\"}");
    fake_qmp_start(fake);

    fd = g_file_open_tmp("qmp-fd-XXXXXX", &path, &error);
    g_assert_no_error(error);
    g_autoptr(QmpClient) client = connect_to(fake, NULL);
    g_autoptr(JsonNode) ret = qmp_client_execute_sync(
        client, "getfd", json_from_string("{\"fdname\": \"vmstate\"}", NULL), fd, 5000, &error);
    g_assert_no_error(error);
    close(fd); /* the client passed a duplicate; ours is ours to close */
    g_assert_true(g_file_get_contents(path, &contents, NULL, &error));
    g_assert_cmpstr(contents, ==, "state written by QEMU");

    /* The next command carries no fd (the fake fails the test if it does). */
    g_autoptr(JsonNode) status = qmp_client_execute_sync(client, "query-status", NULL, -1, 5000,
                                                         &error);
    g_assert_no_error(error);
    g_assert_cmpstr(member_str(status, "status"), ==, "paused");

    qmp_client_close(client);
    fake_qmp_finish(fake);
    g_unlink(path);
}

/* A sync call times out; the late answer is dropped; the client stays usable. */
static void test_sync_timeout(void)
{
    FakeQmp *fake = fake_qmp_new();
    g_autoptr(GError) error = NULL;
    gint64 start;
    int a, b;

    fake_qmp_greet(fake);
    a = fake_qmp_expect(fake, "query-status", NULL);
    b = fake_qmp_expect(fake, "query-name", NULL);
    fake_qmp_return(fake, a, "{\"name\": \"late answer to query-status\"}");
    fake_qmp_return(fake, b, "{\"name\": \"vm1\"}");
    fake_qmp_start(fake);

    g_autoptr(QmpClient) client = connect_to(fake, NULL);
    start = g_get_monotonic_time();
    g_autoptr(JsonNode) ret = qmp_client_execute_sync(client, "query-status", NULL, -1, 200,
                                                      &error);
    g_assert_null(ret);
    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
    g_assert_cmpint(g_get_monotonic_time() - start, <, 2 * G_USEC_PER_SEC);
    g_clear_error(&error);

    g_autoptr(JsonNode) name = qmp_client_execute_sync(client, "query-name", NULL, -1, 5000,
                                                       &error);
    g_assert_no_error(error);
    g_assert_cmpstr(member_str(name, "name"), ==, "vm1");

    qmp_client_close(client);
    fake_qmp_finish(fake);
}

/* Freeing the client with a command in flight: the callback still runs, once. */
static void test_free_pending(void)
{
    FakeQmp *fake = fake_qmp_new();
    Recorder rec;

    recorder_init(&rec);
    fake_qmp_greet(fake);
    fake_qmp_expect(fake, "query-status", NULL);
    fake_qmp_start(fake);

    QmpClient *client = connect_to(fake, &rec);
    execute(client, &rec, "a", "query-status", NULL);
    qmp_client_free(client);
    run_until(&rec.n_done, 1);
    g_assert_error(error_at(&rec, 0), G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_assert_cmpint(rec.n_closed, ==, 0);
    fake_qmp_finish(fake);
    recorder_clear(&rec);
}

static void test_not_qmp(void)
{
    FakeQmp *fake = fake_qmp_new();
    g_autoptr(QmpClient) client = qmp_client_new();
    g_autoptr(GError) error = NULL;

    fake_qmp_send(fake, "SSH-2.0-OpenSSH_9.2\r\n");
    fake_qmp_start(fake);
    g_assert_false(qmp_client_connect_sync(client, fake_qmp_get_path(fake), 5000, &error));
    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
    g_assert_false(qmp_client_is_connected(client));
    fake_qmp_finish(fake);

    g_clear_error(&error);
    g_assert_false(qmp_client_connect_sync(client, "/nonexistent/qmp.sock", 5000, &error));
    g_assert_nonnull(error);
}

/* A greeting that never comes: connect_sync gives up after its timeout. */
static void test_connect_timeout(void)
{
    FakeQmp *fake = fake_qmp_new();
    g_autoptr(QmpClient) client = qmp_client_new();
    g_autoptr(GError) error = NULL;

    fake_qmp_start(fake);
    g_assert_false(qmp_client_connect_sync(client, fake_qmp_get_path(fake), 200, &error));
    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
    g_assert_false(qmp_client_is_connected(client));
    fake_qmp_finish(fake);
}

/* ---- against QEMU itself ------------------------------------------------ */

static JsonNode *qemu_exec(QmpClient *client, const char *command, const char *args, int fd)
{
    g_autoptr(GError) error = NULL;
    JsonNode *ret = qmp_client_execute_sync(client, command,
                                            args ? json_from_string(args, NULL) : NULL, fd,
                                            10000, &error);

    g_assert_no_error(error);
    return ret;
}

static void wait_for_path(const char *path)
{
    for (int i = 0; i < 200 && !g_file_test(path, G_FILE_TEST_EXISTS); i++)
        g_usleep(50 * 1000);
    g_assert_true(g_file_test(path, G_FILE_TEST_EXISTS));
}

static void wait_for_migration(QmpClient *client)
{
    for (int i = 0; i < 600; i++) {
        g_autoptr(JsonNode) info = qemu_exec(client, "query-migrate", NULL, -1);
        const char *status = member_str(info, "status");

        if (g_strcmp0(status, "completed") == 0)
            return;
        g_assert_cmpstr(status, !=, "failed");
        g_usleep(100 * 1000);
    }
    g_error("migration to a file did not complete in 60 s");
}

static void test_real_qemu(void)
{
    g_autofree char *qemu = g_find_program_in_path("qemu-system-x86_64");
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = NULL, *sock = NULL, *chardev = NULL, *state = NULL;
    g_autoptr(GSubprocess) process = NULL;
    g_autoptr(QmpClient) client = qmp_client_new();
    struct stat st;
    Recorder rec;
    int fd;

    if (!qemu) {
        g_test_skip("qemu-system-x86_64 is not installed");
        return;
    }
    recorder_init(&rec);
    dir = g_dir_make_tmp("qmp-qemu-XXXXXX", &error);
    g_assert_no_error(error);
    sock = g_build_filename(dir, "qmp.sock", NULL);
    state = g_build_filename(dir, "vm.vmss", NULL);
    chardev = g_strdup_printf("socket,id=qmp,path=%s,server=on,wait=off", sock);
    process = g_subprocess_new(G_SUBPROCESS_FLAGS_NONE, &error, qemu, "-nodefaults", "-machine",
                               "q35", "-accel", "tcg", "-m", "64", "-display", "none", "-S",
                               "-chardev", chardev, "-mon", "chardev=qmp,mode=control", NULL);
    g_assert_no_error(error);
    wait_for_path(sock);

    qmp_client_set_closed_func(client, on_closed, &rec);
    g_assert_true(qmp_client_connect_sync(client, sock, 10000, &error));
    g_assert_no_error(error);
    g_autoptr(JsonNode) status = qemu_exec(client, "query-status", NULL, -1);
    g_assert_true(g_strcmp0(member_str(status, "status"), "prelaunch") == 0 ||
                  g_strcmp0(member_str(status, "status"), "paused") == 0);

    /* Suspend's path: QEMU writes the VM state through an fd we pass. */
    fd = open(state, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    g_assert_cmpint(fd, >=, 0);
    g_autoptr(JsonNode) got = qemu_exec(client, "getfd", "{\"fdname\": \"vmstate\"}", fd);
    close(fd);
    g_autoptr(JsonNode) mig = qemu_exec(client, "migrate", "{\"uri\": \"fd:vmstate\"}", -1);
    wait_for_migration(client);
    g_assert_cmpint(g_stat(state, &st), ==, 0);
    g_assert_cmpint(st.st_size, >, 0);
    g_test_message("QEMU wrote %" G_GINT64_FORMAT " bytes of VM state", (gint64)st.st_size);

    /* A QMP error from the real thing. */
    g_autoptr(JsonNode) bad = qmp_client_execute_sync(client, "no-such-command", NULL, -1, 10000,
                                                      &error);
    g_assert_null(bad);
    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_FAILED);
    g_assert_nonnull(strstr(error->message, "CommandNotFound"));
    g_clear_error(&error);

    g_autoptr(JsonNode) quit = qemu_exec(client, "quit", NULL, -1);
    run_until(&rec.n_closed, 1);
    g_assert_false(qmp_client_is_connected(client));
    g_assert_true(g_subprocess_wait(process, NULL, &error));
    g_assert_cmpint(rec.n_closed, ==, 1);

    g_unlink(state);
    g_unlink(sock);
    g_rmdir(dir);
    recorder_clear(&rec);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qmp-client/execute", test_execute);
    g_test_add_func("/qmp-client/qmp-error", test_qmp_error);
    g_test_add_func("/qmp-client/events", test_events);
    g_test_add_func("/qmp-client/out-of-order", test_out_of_order);
    g_test_add_func("/qmp-client/sync-amid-async", test_sync_amid_async);
    g_test_add_func("/qmp-client/disconnect-pending", test_disconnect_pending);
    g_test_add_func("/qmp-client/long-line", test_long_line);
    g_test_add_func("/qmp-client/fd-passing", test_fd_passing);
    g_test_add_func("/qmp-client/sync-timeout", test_sync_timeout);
    g_test_add_func("/qmp-client/free-pending", test_free_pending);
    g_test_add_func("/qmp-client/not-qmp", test_not_qmp);
    g_test_add_func("/qmp-client/connect-timeout", test_connect_timeout);
    g_test_add_func("/qmp-client/real-qemu", test_real_qemu);
    return g_test_run();
}
