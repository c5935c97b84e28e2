/* fake-qmp.c — a scripted QMP peer on a real unix socket, for tests (fake-qmp.h).
 *
 * The script is a list of steps performed by one thread with blocking I/O
 * and a 10 s timeout on every read, so a broken client fails the test
 * instead of hanging it. Errors are collected and asserted by fake_qmp_finish
 * in the test's thread.
 */
#include "fake-qmp.h"

#include <gio/gio.h>
#include <gio/gunixfdmessage.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <unistd.h>

typedef enum {
    STEP_EXPECT,
    STEP_RETURN,
    STEP_ERROR,
    STEP_SEND,
    STEP_FLOOD,
    STEP_DISCONNECT,
} StepKind;

typedef struct {
    StepKind kind;
    char *execute;   /* EXPECT */
    char *arguments; /* EXPECT: JSON, or NULL for none */
    char *fd_data;   /* EXPECT: an fd must come along, and gets this */
    int index;       /* RETURN, ERROR: which expected command */
    char *text;      /* RETURN: JSON; ERROR: class; SEND: text */
    char *desc;      /* ERROR */
    gsize bytes;     /* FLOOD */
} Step;

struct FakeQmp {
    char *dir;
    char *path;
    GSocket *listener;
    GSocket *conn;
    GPtrArray *steps;
    int n_expects;
    GPtrArray *ids; /* JsonNode of each expected command's id */
    GString *inbuf;
    GQueue fds; /* received, not yet given to a command */
    GString *errors;
    GThread *thread;
};

static void step_free(Step *step)
{
    g_free(step->execute);
    g_free(step->arguments);
    g_free(step->fd_data);
    g_free(step->text);
    g_free(step->desc);
    g_free(step);
}

FakeQmp *fake_qmp_new(void)
{
    FakeQmp *fake = g_new0(FakeQmp, 1);
    g_autoptr(GError) error = NULL;
    g_autoptr(GSocketAddress) address = NULL;

    fake->dir = g_dir_make_tmp("fake-qmp-XXXXXX", &error);
    g_assert_no_error(error);
    fake->path = g_build_filename(fake->dir, "qmp.sock", NULL);
    fake->listener = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                                  G_SOCKET_PROTOCOL_DEFAULT, &error);
    g_assert_no_error(error);
    address = g_unix_socket_address_new(fake->path);
    g_socket_bind(fake->listener, address, FALSE, &error);
    g_assert_no_error(error);
    g_socket_listen(fake->listener, &error);
    g_assert_no_error(error);
    g_socket_set_timeout(fake->listener, 10);
    fake->steps = g_ptr_array_new_with_free_func((GDestroyNotify)step_free);
    fake->ids = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
    fake->inbuf = g_string_new(NULL);
    fake->errors = g_string_new(NULL);
    return fake;
}

const char *fake_qmp_get_path(FakeQmp *fake)
{
    return fake->path;
}

static Step *add_step(FakeQmp *fake, StepKind kind)
{
    Step *step = g_new0(Step, 1);

    step->kind = kind;
    g_ptr_array_add(fake->steps, step);
    return step;
}

void fake_qmp_greet(FakeQmp *fake)
{
    int index;

    fake_qmp_send(fake, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, "
                        "\"major\": 7}, \"package\": \"\"}, \"capabilities\": [\"oob\"]}}\r\n");
    index = fake_qmp_expect(fake, "qmp_capabilities", NULL);
    fake_qmp_return(fake, index, "{}");
}

int fake_qmp_expect(FakeQmp *fake, const char *execute, const char *arguments_json)
{
    Step *step = add_step(fake, STEP_EXPECT);

    step->execute = g_strdup(execute);
    step->arguments = g_strdup(arguments_json);
    step->index = fake->n_expects++;
    return step->index;
}

int fake_qmp_expect_fd(FakeQmp *fake, const char *execute, const char *arguments_json,
                       const char *data)
{
    int index = fake_qmp_expect(fake, execute, arguments_json);
    Step *step = g_ptr_array_index(fake->steps, fake->steps->len - 1);

    step->fd_data = g_strdup(data);
    return index;
}

void fake_qmp_return(FakeQmp *fake, int index, const char *return_json)
{
    Step *step = add_step(fake, STEP_RETURN);

    step->index = index;
    step->text = g_strdup(return_json);
}

void fake_qmp_error(FakeQmp *fake, int index, const char *klass, const char *desc)
{
    Step *step = add_step(fake, STEP_ERROR);

    step->index = index;
    step->text = g_strdup(klass);
    step->desc = g_strdup(desc);
}

void fake_qmp_send(FakeQmp *fake, const char *text)
{
    add_step(fake, STEP_SEND)->text = g_strdup(text);
}

void fake_qmp_send_flood(FakeQmp *fake, gsize bytes)
{
    add_step(fake, STEP_FLOOD)->bytes = bytes;
}

void fake_qmp_disconnect(FakeQmp *fake)
{
    add_step(fake, STEP_DISCONNECT);
}

static gboolean send_all(FakeQmp *fake, const char *data, gsize length, GError **error)
{
    while (length > 0) {
        gssize n = g_socket_send(fake->conn, data, length, NULL, error);

        if (n < 0)
            return FALSE;
        data += n;
        length -= n;
    }
    return TRUE;
}

/* Reads until a whole line is buffered; NULL at EOF (or error, reported). */
static char *read_line(FakeQmp *fake, gboolean eof_ok)
{
    for (;;) {
        char *nl = memchr(fake->inbuf->str, '\n', fake->inbuf->len);
        char buf[4096];
        GInputVector vec = { buf, sizeof(buf) };
        GSocketControlMessage **messages = NULL;
        int n_messages = 0;
        g_autoptr(GError) error = NULL;
        gssize n;

        if (nl) {
            char *line = g_strndup(fake->inbuf->str, nl - fake->inbuf->str);
            g_string_erase(fake->inbuf, 0, nl - fake->inbuf->str + 1);
            return line;
        }
        n = g_socket_receive_message(fake->conn, NULL, &vec, 1, &messages, &n_messages, NULL,
                                     NULL, &error);
        for (int i = 0; i < n_messages; i++) {
            if (G_IS_UNIX_FD_MESSAGE(messages[i])) {
                int count = 0;
                g_autofree int *fds = g_unix_fd_message_steal_fds(
                    G_UNIX_FD_MESSAGE(messages[i]), &count);
                for (int j = 0; j < count; j++)
                    g_queue_push_tail(&fake->fds, GINT_TO_POINTER(fds[j]));
            }
            g_object_unref(messages[i]);
        }
        g_free(messages);
        if (n > 0) {
            g_string_append_len(fake->inbuf, buf, n);
            continue;
        }
        if (n < 0 && !(eof_ok && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED)))
            g_string_append_printf(fake->errors, "fake QMP: read failed: %s\n", error->message);
        else if (n == 0 && !eof_ok)
            g_string_append(fake->errors, "fake QMP: the client closed while a command was "
                                          "expected\n");
        return NULL;
    }
}

static void write_fd(FakeQmp *fake, const Step *step)
{
    guint count = g_queue_get_length(&fake->fds);
    gsize length = strlen(step->fd_data);

    if (count != 1)
        g_string_append_printf(fake->errors, "fake QMP: '%s' came with %u fds, expected 1\n",
                               step->execute, count);
    while (!g_queue_is_empty(&fake->fds)) {
        int fd = GPOINTER_TO_INT(g_queue_pop_head(&fake->fds));

        if (count == 1 && write(fd, step->fd_data, length) != (gssize)length)
            g_string_append(fake->errors, "fake QMP: cannot write to the passed fd\n");
        close(fd);
    }
}

/* Checks one received command against an EXPECT step; FALSE on mismatch. */
static gboolean check_command(FakeQmp *fake, const Step *step, const char *line)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    JsonObject *obj;
    JsonNode *args, *id;
    const char *execute;

    if (!json_parser_load_from_data(parser, line, -1, NULL) ||
        !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
        g_string_append_printf(fake->errors, "fake QMP: not a JSON object: %s\n", line);
        return FALSE;
    }
    obj = json_node_get_object(json_parser_get_root(parser));
    execute = json_object_get_string_member_with_default(obj, "execute", "");
    args = json_object_get_member(obj, "arguments");
    id = json_object_get_member(obj, "id");
    if (g_strcmp0(execute, step->execute) != 0) {
        g_string_append_printf(fake->errors, "fake QMP: expected '%s', got %s\n", step->execute,
                               line);
        return FALSE;
    }
    if (step->arguments) {
        g_autoptr(JsonNode) want = json_from_string(step->arguments, NULL);
        if (!args || !json_node_equal(want, args)) {
            g_string_append_printf(fake->errors, "fake QMP: '%s' with wrong arguments: %s\n",
                                   step->execute, line);
            return FALSE;
        }
    } else if (args) {
        g_string_append_printf(fake->errors, "fake QMP: '%s' with unexpected arguments: %s\n",
                               step->execute, line);
        return FALSE;
    }
    if (!id) {
        g_string_append_printf(fake->errors, "fake QMP: '%s' without an id\n", step->execute);
        return FALSE;
    }
    g_ptr_array_add(fake->ids, json_node_copy(id));
    if (step->fd_data)
        write_fd(fake, step);
    else if (!g_queue_is_empty(&fake->fds))
        g_string_append_printf(fake->errors, "fake QMP: '%s' came with an fd\n", step->execute);
    return TRUE;
}

static gboolean answer(FakeQmp *fake, const Step *step, GError **error)
{
    g_autofree char *id = json_to_string(g_ptr_array_index(fake->ids, step->index), FALSE);
    g_autofree char *line = NULL;

    if (step->kind == STEP_RETURN)
        line = g_strdup_printf("{\"return\": %s, \"id\": %s}\r\n", step->text, id);
    else
        line = g_strdup_printf("{\"id\": %s, \"error\": {\"class\": \"%s\", \"desc\": \"%s\"}}\r\n",
                               id, step->text, step->desc);
    return send_all(fake, line, strlen(line), error);
}

static gboolean run_step(FakeQmp *fake, const Step *step)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *line = NULL;
    g_autofree char *flood = NULL;

    switch (step->kind) {
    case STEP_EXPECT:
        line = read_line(fake, FALSE);
        return line && check_command(fake, step, line);
    case STEP_RETURN:
    case STEP_ERROR:
        if (answer(fake, step, &error))
            return TRUE;
        break;
    case STEP_SEND:
        if (send_all(fake, step->text, strlen(step->text), &error))
            return TRUE;
        break;
    case STEP_FLOOD:
        flood = g_malloc(step->bytes);
        memset(flood, ' ', step->bytes);
        flood[0] = '[';
        send_all(fake, flood, step->bytes, NULL); /* the client may hang up: that is the point */
        return TRUE;
    case STEP_DISCONNECT:
        g_socket_close(fake->conn, NULL);
        return TRUE;
    }
    g_string_append_printf(fake->errors, "fake QMP: send failed: %s\n", error->message);
    return FALSE;
}

static gpointer peer_thread(gpointer data)
{
    FakeQmp *fake = data;
    g_autoptr(GError) error = NULL;
    g_autofree char *extra = NULL;

    fake->conn = g_socket_accept(fake->listener, NULL, &error);
    if (!fake->conn) {
        g_string_append_printf(fake->errors, "fake QMP: no client: %s\n", error->message);
        return NULL;
    }
    g_socket_set_blocking(fake->conn, TRUE);
    g_socket_set_timeout(fake->conn, 10);
    for (guint i = 0; i < fake->steps->len; i++) {
        const Step *step = g_ptr_array_index(fake->steps, i);

        if (!run_step(fake, step)) {
            g_socket_close(fake->conn, NULL); /* the client sees it at once, too */
            return NULL;
        }
        if (step->kind == STEP_DISCONNECT)
            return NULL;
    }
    while ((extra = read_line(fake, TRUE))) {
        g_string_append_printf(fake->errors, "fake QMP: unexpected command: %s\n", extra);
        g_clear_pointer(&extra, g_free);
    }
    return NULL;
}

void fake_qmp_start(FakeQmp *fake)
{
    fake->thread = g_thread_new("fake-qmp", peer_thread, fake);
}

void fake_qmp_finish(FakeQmp *fake)
{
    if (fake->thread)
        g_thread_join(fake->thread);
    g_assert_cmpstr(fake->errors->str, ==, "");
    while (!g_queue_is_empty(&fake->fds))
        close(GPOINTER_TO_INT(g_queue_pop_head(&fake->fds)));
    g_clear_object(&fake->conn);
    g_clear_object(&fake->listener);
    g_unlink(fake->path);
    g_rmdir(fake->dir);
    g_free(fake->path);
    g_free(fake->dir);
    g_ptr_array_unref(fake->steps);
    g_ptr_array_unref(fake->ids);
    g_string_free(fake->inbuf, TRUE);
    g_string_free(fake->errors, TRUE);
    g_free(fake);
}
