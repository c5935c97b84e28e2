/* test-host-link.c — HostLink against a fake vireo-hostd (a libsoup HTTPS
 * server in a thread of the test, answering canned inventory) that can be
 * frozen (every message held, as a SIGSTOPped host accepts connections but
 * never answers) or made to forget its sessions; plus the reconcile diff
 * and snapshot parsing with tables.
 */
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <string.h>

#include "api-client.h"
#include "host-link.h"
#include "tls-cert.h"
#include "vireo-error.h"

/* ---- the fake host ---- */

typedef struct {
    const char *id;
    const char *name;
    const char *power_state;
    const char *vmx_path;
    gboolean template;
} FakeVm;

typedef struct {
    GThread *thread;
    GMainContext *context;
    GMainLoop *loop;
    SoupServer *server;
    GTlsCertificate *certificate;
    guint port;
    GMutex lock;               /* guards everything below */
    GCond ready;
    gboolean started;
    gboolean frozen;           /* hold every message unanswered */
    GPtrArray *held;           /* SoupServerMessage, held while frozen */
    GPtrArray *tokens;         /* valid sessions */
    int logins;
    int unauthenticated;       /* 401 answers to requests other than logins */
    int heartbeats;            /* GET /api/vcenter/host */
    GArray *vms;               /* FakeVm */
} FakeHost;

static GTlsCertificate *host_cert;   /* the fake host's */
static GTlsCertificate *other_cert;  /* another one, for pinning */
static char *cert_dir;

static void
reply_json(SoupServerMessage *msg, guint status, const char *json)
{
    soup_server_message_set_status(msg, status, NULL);
    soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_COPY, json, strlen(json));
}

static void
reply_error(SoupServerMessage *msg, guint status, const char *type, const char *message)
{
    g_autofree char *json = g_strdup_printf(
        "{\"error_type\": \"%s\", \"messages\": [{\"id\": \"vireo.test\", "
        "\"default_message\": \"%s\", \"args\": []}]}", type, message);
    reply_json(msg, status, json);
}

/* Lock held. */
static void
handle_session(FakeHost *fh, SoupServerMessage *msg)
{
    const char *auth = soup_message_headers_get_one(soup_server_message_get_request_headers(msg),
                                                    "Authorization");
    g_autofree char *b64 = g_base64_encode((const guchar *)"root:s3cret", 11);
    g_autofree char *expected = g_strdup_printf("Basic %s", b64);

    if (g_strcmp0(auth, expected) != 0) {
        reply_error(msg, 401, "UNAUTHENTICATED", "Wrong user name or password");
        return;
    }
    fh->logins++;
    g_autofree char *token = g_strdup_printf("token-%d", fh->logins);
    g_autofree char *json = g_strdup_printf("\"%s\"", token);
    g_ptr_array_add(fh->tokens, g_steal_pointer(&token));
    reply_json(msg, 201, json);
}

/* Lock held. */
static gboolean
session_valid(FakeHost *fh, SoupServerMessage *msg)
{
    const char *token = soup_message_headers_get_one(soup_server_message_get_request_headers(msg),
                                                     API_CLIENT_SESSION_HEADER);
    for (guint i = 0; token && i < fh->tokens->len; i++) {
        if (g_str_equal(token, g_ptr_array_index(fh->tokens, i)))
            return TRUE;
    }
    fh->unauthenticated++;
    reply_error(msg, 401, "UNAUTHENTICATED", "This request needs a session: log in first");
    return FALSE;
}

static const FakeVm *
fake_vm(FakeHost *fh, const char *id)
{
    for (guint i = 0; i < fh->vms->len; i++) {
        const FakeVm *vm = &g_array_index(fh->vms, FakeVm, i);
        if (g_str_equal(vm->id, id))
            return vm;
    }
    return NULL;
}

static void
reply_vm_list(FakeHost *fh, SoupServerMessage *msg)
{
    g_autoptr(GString) json = g_string_new("[");
    for (guint i = 0; i < fh->vms->len; i++) {
        const FakeVm *vm = &g_array_index(fh->vms, FakeVm, i);
        g_string_append_printf(json, "%s{\"vm\": \"%s\", \"name\": \"%s\", \"power_state\": \"%s\", "
                               "\"cpu_count\": 1, \"memory_size_MiB\": 256}",
                               i ? ", " : "", vm->id, vm->name, vm->power_state);
    }
    /* Listed but deleted before its info is read. */
    g_string_append_printf(json, "%s{\"vm\": \"vm-gone\", \"name\": \"gone\"}]", fh->vms->len ? ", " : "");
    reply_json(msg, 200, json->str);
}

static void
reply_vm_info(FakeHost *fh, SoupServerMessage *msg, const char *id)
{
    const FakeVm *vm = fake_vm(fh, id);
    if (!vm) {
        reply_error(msg, 404, "NOT_FOUND", "No VM with that id");
        return;
    }
    g_autofree char *json = g_strdup_printf(
        "{\"name\": \"%s\", \"power_state\": \"%s\", \"guest_OS\": \"OTHER_LINUX_64\", "
        "\"cpu\": {\"count\": 2, \"cores_per_socket\": 1}, \"memory\": {\"size_MiB\": 512}, "
        "\"vmx_path\": \"%s\", \"template\": %s, \"disks\": {}}",
        vm->name, vm->power_state, vm->vmx_path, vm->template ? "true" : "false");
    reply_json(msg, 200, json);
}

static const char *const host_detail =
    "{\"host\": \"ha-host\", \"name\": \"esx-a\", \"connection_state\": \"CONNECTED\", "
    "\"power_state\": \"POWERED_ON\", \"thumbprint\": \"AA:BB\", \"version\": \"0.1.0\", "
    "\"accelerator\": \"TCG\", \"vmotion_address\": \"10.0.0.5\", "
    "\"cpu\": {\"count\": 4, \"model\": \"qemu64\"}, \"memory\": {\"size_MiB\": 8192, \"free_MiB\": 7000}}";

static const char *const datastore_list =
    "[{\"datastore\": \"datastore-1\", \"name\": \"local1\"}, {\"datastore\": \"datastore-2\", \"name\": \"shared\"}]";

static const char *const datastore_1 =
    "{\"name\": \"local1\", \"uuid\": \"6f1c2e1a-0b7e-4c55-9a43-1d2f3b4c5d6e\", \"type\": \"VMFS\", "
    "\"accessible\": true, \"capacity\": 107374182400, \"free_space\": 53687091200, "
    "\"provisioned_space\": 2147483648, \"path\": \"/srv/ds/local1\"}";

static const char *const datastore_2 =
    "{\"name\": \"shared\", \"uuid\": \"0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a\", \"type\": \"VMFS\", "
    "\"accessible\": false, \"capacity\": 10, \"free_space\": 5, \"provisioned_space\": 20, "
    "\"path\": \"/srv/ds/shared\"}";

static const char *const network_list =
    "[{\"network\": \"network-1\", \"name\": \"VM Network\", \"type\": \"STANDARD_PORTGROUP\", "
    "\"vlan_id\": 0, \"vswitch\": \"vSwitch0\"}, {\"network\": \"network-2\", \"name\": \"prod\", "
    "\"type\": \"STANDARD_PORTGROUP\", \"vlan_id\": 42, \"vswitch\": \"vSwitch0\"}]";

static void
reply_echo(SoupServerMessage *msg)
{
    g_autoptr(GBytes) bytes = soup_message_body_flatten(soup_server_message_get_request_body(msg));
    soup_server_message_set_status(msg, 201, NULL);
    soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_COPY,
                                     g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes));
}

/* Lock held; the session is valid. */
static void
route(FakeHost *fh, SoupServerMessage *msg, const char *method, const char *path)
{
    if (g_str_equal(path, "/api/vcenter/host")) {
        fh->heartbeats++;
        reply_json(msg, 200, "[{\"host\": \"ha-host\", \"name\": \"esx-a\"}]");
    } else if (g_str_equal(path, "/api/vcenter/host/ha-host")) {
        reply_json(msg, 200, host_detail);
    } else if (g_str_equal(path, "/api/vcenter/datastore")) {
        reply_json(msg, 200, datastore_list);
    } else if (g_str_equal(path, "/api/vcenter/datastore/datastore-1")) {
        reply_json(msg, 200, datastore_1);
    } else if (g_str_equal(path, "/api/vcenter/datastore/datastore-2")) {
        reply_json(msg, 200, datastore_2);
    } else if (g_str_equal(path, "/api/vcenter/network")) {
        reply_json(msg, 200, network_list);
    } else if (g_str_equal(path, "/api/vcenter/vm") && g_str_equal(method, "GET")) {
        reply_vm_list(fh, msg);
    } else if (g_str_equal(path, "/api/vcenter/vm") && g_str_equal(method, "POST")) {
        reply_echo(msg);
    } else if (g_str_has_prefix(path, "/api/vcenter/vm/") && !strchr(path + 16, '/')) {
        reply_vm_info(fh, msg, path + 16);
    } else {
        reply_error(msg, 404, "NOT_FOUND", "Nothing at that path on esx-a");
    }
}

static void
handle(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
       gpointer user_data)
{
    FakeHost *fh = user_data;
    const char *method = soup_server_message_get_method(msg);

    g_mutex_lock(&fh->lock);
    if (fh->frozen) {
        soup_server_message_pause(msg);
        g_ptr_array_add(fh->held, g_object_ref(msg));
    } else if (g_str_equal(path, "/api/session") && g_str_equal(method, "POST")) {
        handle_session(fh, msg);
    } else if (session_valid(fh, msg)) {
        route(fh, msg, method, path);
    }
    g_mutex_unlock(&fh->lock);
}

static gpointer
fake_host_thread(gpointer data)
{
    FakeHost *fh = data;
    g_autoptr(GError) error = NULL;
    g_autoslist(GUri) uris = NULL;

    g_main_context_push_thread_default(fh->context);
    fh->server = soup_server_new("tls-certificate", fh->certificate, NULL);
    soup_server_add_handler(fh->server, NULL, handle, fh, NULL);
    g_assert_true(soup_server_listen_local(fh->server, 0,
                                           SOUP_SERVER_LISTEN_IPV4_ONLY | SOUP_SERVER_LISTEN_HTTPS,
                                           &error));
    g_assert_no_error(error);
    uris = soup_server_get_uris(fh->server);
    g_mutex_lock(&fh->lock);
    fh->port = (guint)g_uri_get_port(uris->data);
    fh->started = TRUE;
    g_cond_signal(&fh->ready);
    g_mutex_unlock(&fh->lock);
    g_main_loop_run(fh->loop);
    soup_server_disconnect(fh->server);
    g_ptr_array_set_size(fh->held, 0);
    g_clear_object(&fh->server);
    g_main_context_pop_thread_default(fh->context);
    return NULL;
}

static const FakeVm initial_vms[] = {
    { "vm-1", "web-01", "POWERED_ON", "[local1] web-01/web-01.vmx", FALSE },
    { "vm-2", "db-01", "POWERED_OFF", "[shared] db-01/db-01.vmx", FALSE },
    { "vm-3", "golden", "POWERED_OFF", "[local1] golden/golden.vmtx", TRUE },
};

static FakeHost *
fake_host_start(void)
{
    FakeHost *fh = g_new0(FakeHost, 1);

    fh->context = g_main_context_new();
    fh->loop = g_main_loop_new(fh->context, FALSE);
    fh->certificate = g_object_ref(host_cert);
    fh->tokens = g_ptr_array_new_with_free_func(g_free);
    fh->held = g_ptr_array_new_with_free_func(g_object_unref);
    fh->vms = g_array_new(FALSE, FALSE, sizeof(FakeVm));
    g_array_append_vals(fh->vms, initial_vms, G_N_ELEMENTS(initial_vms));
    g_mutex_init(&fh->lock);
    g_cond_init(&fh->ready);
    fh->thread = g_thread_new("fake-host", fake_host_thread, fh);
    g_mutex_lock(&fh->lock);
    while (!fh->started)
        g_cond_wait(&fh->ready, &fh->lock);
    g_mutex_unlock(&fh->lock);
    return fh;
}

static void
fake_host_stop(FakeHost *fh)
{
    g_main_loop_quit(fh->loop);
    g_thread_join(fh->thread);
    g_main_loop_unref(fh->loop);
    g_main_context_unref(fh->context);
    g_object_unref(fh->certificate);
    g_ptr_array_unref(fh->tokens);
    g_ptr_array_unref(fh->held);
    g_array_unref(fh->vms);
    g_mutex_clear(&fh->lock);
    g_cond_clear(&fh->ready);
    g_free(fh);
}

static void
fake_host_freeze(FakeHost *fh)
{
    g_mutex_lock(&fh->lock);
    fh->frozen = TRUE;
    g_mutex_unlock(&fh->lock);
}

static gboolean
release_held(gpointer data)
{
    FakeHost *fh = data;
    g_autoptr(GPtrArray) held = NULL;

    g_mutex_lock(&fh->lock);
    held = g_steal_pointer(&fh->held);
    fh->held = g_ptr_array_new_with_free_func(g_object_unref);
    g_mutex_unlock(&fh->lock);
    /* Their clients gave up long ago: answer so libsoup can drop them. */
    for (guint i = 0; i < held->len; i++) {
        SoupServerMessage *msg = g_ptr_array_index(held, i);
        reply_error(msg, 503, "SERVICE_UNAVAILABLE", "was frozen");
        soup_server_message_unpause(msg);
    }
    return G_SOURCE_REMOVE;
}

static void
fake_host_thaw(FakeHost *fh)
{
    g_mutex_lock(&fh->lock);
    fh->frozen = FALSE;
    g_mutex_unlock(&fh->lock);
    g_main_context_invoke(fh->context, release_held, fh);
}

/* As a host restart does: every session is forgotten. */
static void
fake_host_forget_sessions(FakeHost *fh)
{
    g_mutex_lock(&fh->lock);
    g_ptr_array_set_size(fh->tokens, 0);
    g_mutex_unlock(&fh->lock);
}

static int
fake_host_count(FakeHost *fh, int *counter)
{
    g_mutex_lock(&fh->lock);
    int n = *counter;
    g_mutex_unlock(&fh->lock);
    return n;
}

static HostLink *
link_to(FakeHost *fh, const char *password, const char *thumbprint)
{
    return host_link_new("127.0.0.1", fh->port, "root", password, thumbprint);
}

/* ---- waiting on the owner's (default) context ---- */

typedef gboolean (*Predicate)(gpointer data);

static gboolean
wait_for(Predicate pred, gpointer data, guint timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    while (!pred(data)) {
        if (g_get_monotonic_time() > deadline)
            return FALSE;
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(5000);
    }
    return TRUE;
}

static void
spin(guint ms)
{
    gint64 until = g_get_monotonic_time() + (gint64)ms * 1000;
    while (g_get_monotonic_time() < until) {
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(5000);
    }
}

typedef struct {
    gboolean done;
    int calls;
    guint status;
    JsonNode *answer;
    GError *error;
} Reply;

static void
reply_clear(Reply *r)
{
    g_clear_pointer(&r->answer, json_node_unref);
    g_clear_error(&r->error);
    r->done = FALSE;
}

static void
on_reply(HostLink *link, guint status, JsonNode *answer, const GError *error, gpointer data)
{
    Reply *r = data;

    reply_clear(r);
    r->done = TRUE;
    r->calls++;
    r->status = status;
    r->answer = answer ? json_node_copy(answer) : NULL;
    r->error = error ? g_error_copy(error) : NULL;
}

static gboolean
reply_done(gpointer data)
{
    return ((Reply *)data)->done;
}

static void
request_and_wait(HostLink *link, const char *method, const char *path, JsonNode *body, Reply *r)
{
    reply_clear(r);
    host_link_request(link, method, path, body, on_reply, r);
    g_assert_true(wait_for(reply_done, r, 10000));
}

typedef struct {
    HostLink *link;
    GArray *states;          /* HostLinkState, as announced */
    gint64 last_change;      /* monotonic µs */
    int snapshots;
    HostSnapshot *snapshot;  /* the last one */
    GError *error;
} Watch;

static void
on_state(HostLink *link, HostLinkState old_state, HostLinkState new_state, gpointer data)
{
    Watch *w = data;

    g_assert_true(link == w->link);
    g_assert_cmpint(old_state, !=, new_state);
    g_assert_cmpint(new_state, ==, host_link_get_state(link));
    g_array_append_val(w->states, new_state);
    w->last_change = g_get_monotonic_time();
}

static void
on_snapshot(HostLink *link, HostSnapshot *snapshot, const GError *error, gpointer data)
{
    Watch *w = data;

    w->snapshots++;
    g_clear_pointer(&w->snapshot, host_snapshot_free);
    g_clear_error(&w->error);
    w->snapshot = snapshot;
    w->error = error ? g_error_copy(error) : NULL;
}

static void
watch_init(Watch *w, HostLink *link)
{
    memset(w, 0, sizeof *w);
    w->link = link;
    w->states = g_array_new(FALSE, FALSE, sizeof(HostLinkState));
    host_link_set_state_func(link, on_state, w);
    host_link_set_snapshot_func(link, on_snapshot, w);
}

static void
watch_clear(Watch *w)
{
    g_array_unref(w->states);
    g_clear_pointer(&w->snapshot, host_snapshot_free);
    g_clear_error(&w->error);
}

static HostLinkState
watch_last(Watch *w)
{
    return w->states->len ? g_array_index(w->states, HostLinkState, w->states->len - 1) : (HostLinkState)-1;
}

static gboolean
watch_not_responding(gpointer data)
{
    return watch_last(data) == HOST_LINK_STATE_NOT_RESPONDING;
}

static gboolean
watch_connected(gpointer data)
{
    return watch_last(data) == HOST_LINK_STATE_CONNECTED;
}

static gboolean
watch_has_snapshot(gpointer data)
{
    return ((Watch *)data)->snapshots > 0;
}

/* ---- tests against the fake host ---- */

static void
test_requests_and_relogin(void)
{
    FakeHost *fh = fake_host_start();
    g_autofree char *thumbprint = tls_cert_thumbprint(host_cert);
    g_autoptr(HostLink) link = link_to(fh, "s3cret", thumbprint);
    Reply r = { 0 };

    /* Heartbeats out of the way: only our requests talk to the host. */
    host_link_set_heartbeat(link, 60000, 0, 0);
    request_and_wait(link, "GET", "/api/vcenter/vm", NULL, &r);
    g_assert_no_error(r.error);
    g_assert_cmpuint(r.status, ==, 200);
    g_assert_true(JSON_NODE_HOLDS_ARRAY(r.answer));
    JsonObject *first = json_array_get_object_element(json_node_get_array(r.answer), 0);
    g_assert_cmpstr(json_object_get_string_member(first, "name"), ==, "web-01");

    /* A body goes to the host as JSON; the answer comes back parsed. */
    g_autoptr(JsonParser) parser = json_parser_new();
    g_assert_true(json_parser_load_from_data(parser, "{\"name\": \"new-vm\"}", -1, NULL));
    request_and_wait(link, "POST", "/api/vcenter/vm", json_node_copy(json_parser_get_root(parser)), &r);
    g_assert_no_error(r.error);
    g_assert_cmpuint(r.status, ==, 201);
    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(r.answer), "name"), ==, "new-vm");

    /* The host's error comes back as its VIREO_ERROR code and message. */
    request_and_wait(link, "GET", "/api/vcenter/vm/vm-404", NULL, &r);
    g_assert_error(r.error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND);
    g_assert_cmpstr(r.error->message, ==, "No VM with that id");
    g_assert_cmpuint(r.status, ==, 404);
    g_assert_null(r.answer);

    /* The host restarted and forgot the session: one 401, a new login, and
     * the caller sees only the answer. */
    int logins = fake_host_count(fh, &fh->logins);
    int unauth = fake_host_count(fh, &fh->unauthenticated);
    fake_host_forget_sessions(fh);
    request_and_wait(link, "GET", "/api/vcenter/vm/vm-2", NULL, &r);
    g_assert_no_error(r.error);
    g_assert_cmpuint(r.status, ==, 200);
    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(r.answer), "name"), ==, "db-01");
    g_assert_cmpint(fake_host_count(fh, &fh->unauthenticated), ==, unauth + 1);
    g_assert_cmpint(fake_host_count(fh, &fh->logins), ==, logins + 1);
    g_assert_cmpint(r.calls, ==, 4);
    reply_clear(&r);
    g_clear_pointer(&link, host_link_free);
    fake_host_stop(fh);
}

static void
test_wrong_password(void)
{
    FakeHost *fh = fake_host_start();
    g_autofree char *thumbprint = tls_cert_thumbprint(host_cert);
    g_autoptr(HostLink) link = link_to(fh, "wrong", thumbprint);
    Reply r = { 0 };

    request_and_wait(link, "GET", "/api/vcenter/vm", NULL, &r);
    g_assert_error(r.error, VIREO_ERROR, VIREO_ERROR_UNAUTHENTICATED);
    g_assert_nonnull(strstr(r.error->message, "refused the login of user 'root'"));
    g_assert_nonnull(strstr(r.error->message, "Wrong user name or password"));
    g_assert_cmpint(fake_host_count(fh, &fh->logins), ==, 0);
    reply_clear(&r);
    g_clear_pointer(&link, host_link_free);
    fake_host_stop(fh);
}

static void
test_thumbprint_pinning(void)
{
    FakeHost *fh = fake_host_start();
    g_autofree char *right = tls_cert_thumbprint(host_cert);
    g_autofree char *other = tls_cert_thumbprint(other_cert);
    g_autofree char *probed = NULL;
    g_autoptr(GError) error = NULL;
    Reply r = { 0 };

    /* The probe reads the certificate without trusting it. */
    g_assert_true(host_link_probe_sync("127.0.0.1", fh->port, &probed, &error));
    g_assert_no_error(error);
    g_assert_cmpstr(probed, ==, right);

    /* Pinned to another certificate: refused, naming the host's thumbprint,
     * before any password is sent; heartbeats fail, so NOT_RESPONDING. */
    g_autoptr(HostLink) wrong = link_to(fh, "s3cret", other);
    Watch w;
    watch_init(&w, wrong);
    request_and_wait(wrong, "GET", "/api/vcenter/vm", NULL, &r);
    /* Refused by this request, or by the first heartbeat if it came first. */
    g_assert_true(g_error_matches(r.error, VIREO_ERROR, VIREO_ERROR_UNAUTHENTICATED) ||
                  g_error_matches(r.error, VIREO_ERROR, VIREO_ERROR_SERVICE_UNAVAILABLE));
    g_assert_nonnull(strstr(r.error->message, right));
    g_assert_cmpuint(r.status, ==, 0);
    g_assert_true(wait_for(watch_not_responding, &w, 10000));
    /* Once NOT_RESPONDING, requests fail at once and still say why. */
    request_and_wait(wrong, "GET", "/api/vcenter/vm", NULL, &r);
    g_assert_error(r.error, VIREO_ERROR, VIREO_ERROR_SERVICE_UNAVAILABLE);
    g_assert_nonnull(strstr(r.error->message, "not responding"));
    g_assert_nonnull(strstr(r.error->message, right));
    g_assert_nonnull(strstr(r.error->message, "not the pinned one"));
    g_assert_cmpint(fake_host_count(fh, &fh->logins), ==, 0);
    g_clear_pointer(&wrong, host_link_free);
    watch_clear(&w);

    /* No thumbprint: nothing is trusted. */
    g_autoptr(HostLink) none = link_to(fh, "s3cret", NULL);
    request_and_wait(none, "GET", "/api/vcenter/vm", NULL, &r);
    g_assert_nonnull(r.error);
    g_assert_nonnull(strstr(r.error->message, "no trusted certificate thumbprint"));
    g_assert_cmpint(fake_host_count(fh, &fh->logins), ==, 0);
    g_clear_pointer(&none, host_link_free);

    /* The probed thumbprint, in another spelling, is accepted. */
    g_autofree char *lower = g_ascii_strdown(probed, -1);
    g_autoptr(HostLink) pinned = link_to(fh, "s3cret", lower);
    request_and_wait(pinned, "GET", "/api/vcenter/vm", NULL, &r);
    g_assert_no_error(r.error);
    g_assert_cmpuint(r.status, ==, 200);
    reply_clear(&r);
    g_clear_pointer(&pinned, host_link_free);
    fake_host_stop(fh);
}

static void
test_probe_unreachable(void)
{
    g_autoptr(GSocketListener) listener = g_socket_listener_new();
    g_autoptr(GError) error = NULL;
    g_autofree char *thumbprint = NULL;
    /* A port that was free a moment ago: nothing listens there. */
    guint16 port = g_socket_listener_add_any_inet_port(listener, NULL, &error);
    g_assert_no_error(error);
    g_socket_listener_close(listener);

    g_assert_false(host_link_probe_sync("127.0.0.1", port, &thumbprint, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_SERVICE_UNAVAILABLE);
    g_assert_nonnull(strstr(error->message, "127.0.0.1"));
    g_assert_null(thumbprint);
}

static gboolean
heartbeats_seen(gpointer data)
{
    FakeHost *fh = data;
    return fake_host_count(fh, &fh->heartbeats) >= 3;
}

static void
check_snapshot(const HostSnapshot *snap, guint n_vms)
{
    g_assert_cmpstr(snap->host_id, ==, "ha-host");
    g_assert_cmpstr(snap->name, ==, "esx-a");
    g_assert_cmpstr(snap->version, ==, "0.1.0");
    g_assert_cmpstr(snap->thumbprint, ==, "AA:BB");
    g_assert_cmpint(snap->memory_mib, ==, 8192);
    g_assert_cmpint(snap->cpu_count, ==, 4);
    g_assert_cmpuint(snap->datastores->len, ==, 2);
    const HostSnapshotDatastore *ds = g_ptr_array_index(snap->datastores, 0);
    g_assert_cmpstr(ds->id, ==, "datastore-1");
    g_assert_cmpstr(ds->uuid, ==, "6f1c2e1a-0b7e-4c55-9a43-1d2f3b4c5d6e");
    g_assert_cmpstr(ds->path, ==, "/srv/ds/local1");
    g_assert_cmpint(ds->capacity, ==, 107374182400);
    g_assert_cmpint(ds->free_space, ==, 53687091200);
    g_assert_cmpint(ds->provisioned, ==, 2147483648);
    g_assert_true(ds->accessible);
    ds = g_ptr_array_index(snap->datastores, 1);
    g_assert_cmpstr(ds->name, ==, "shared");
    g_assert_false(ds->accessible);
    g_assert_cmpuint(snap->networks->len, ==, 2);
    const HostSnapshotNetwork *net = g_ptr_array_index(snap->networks, 1);
    g_assert_cmpstr(net->id, ==, "network-2");
    g_assert_cmpstr(net->name, ==, "prod");
    g_assert_cmpint(net->vlan, ==, 42);
    /* "vm-gone" was listed but answered 404: left out. */
    g_assert_cmpuint(snap->vms->len, ==, n_vms);
    g_assert_null(host_snapshot_find_vm(snap, "vm-gone"));
}

static void
test_snapshot(void)
{
    FakeHost *fh = fake_host_start();
    g_autofree char *thumbprint = tls_cert_thumbprint(host_cert);
    g_autoptr(HostLink) link = link_to(fh, "s3cret", thumbprint);
    Watch w;

    watch_init(&w, link);
    host_link_fetch_snapshot(link, on_snapshot, &w);
    g_assert_true(wait_for(watch_has_snapshot, &w, 10000));
    g_assert_no_error(w.error);
    check_snapshot(w.snapshot, 3);
    const HostSnapshotVm *vm = host_snapshot_find_vm(w.snapshot, "vm-3");
    g_assert_nonnull(vm);
    g_assert_cmpstr(vm->name, ==, "golden");
    g_assert_true(vm->template);
    g_assert_cmpstr(vm->datastore, ==, "local1");
    vm = host_snapshot_find_vm(w.snapshot, "vm-2");
    g_assert_cmpstr(vm->vmx_path, ==, "[shared] db-01/db-01.vmx");
    g_assert_cmpstr(vm->datastore, ==, "shared");
    g_assert_cmpstr(vm->power_state, ==, "POWERED_OFF");
    g_assert_cmpint(vm->cpu_count, ==, 2);
    g_assert_cmpint(vm->memory_mib, ==, 512);
    g_assert_false(vm->template);
    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(vm->info), "guest_OS"), ==,
                    "OTHER_LINUX_64");
    /* A fetched snapshot is not a state change. */
    g_assert_cmpuint(w.states->len, ==, 0);
    g_clear_pointer(&link, host_link_free);
    watch_clear(&w);
    fake_host_stop(fh);
}

/* Frozen host: NOT_RESPONDING within the bound, requests fail at once naming
 * the host; thawed with VMs changed meanwhile: CONNECTED again and a
 * snapshot that the reconcile diff turns into added/removed/changed. */
static void
test_heartbeat_frozen_host(void)
{
    FakeHost *fh = fake_host_start();
    g_autofree char *thumbprint = tls_cert_thumbprint(host_cert);
    g_autoptr(HostLink) link = link_to(fh, "s3cret", thumbprint);
    g_autofree char *label = g_strdup_printf("127.0.0.1:%u", fh->port);
    const guint interval_ms = 200, misses = 2, timeout_s = 1;
    Watch w;
    Reply r = { 0 };

    watch_init(&w, link);
    host_link_set_heartbeat(link, interval_ms, misses, timeout_s);
    host_link_set_request_timeout(link, 1);
    g_assert_true(wait_for(heartbeats_seen, fh, 5000));
    g_assert_cmpint(host_link_get_state(link), ==, HOST_LINK_STATE_CONNECTED);
    g_assert_cmpuint(w.states->len, ==, 0);

    gint64 frozen_at = g_get_monotonic_time();
    fake_host_freeze(fh);
    /* A request in flight when the host freezes fails on its timeout. */
    request_and_wait(link, "GET", "/api/vcenter/vm", NULL, &r);
    g_assert_error(r.error, VIREO_ERROR, VIREO_ERROR_SERVICE_UNAVAILABLE);
    g_assert_nonnull(strstr(r.error->message, label));
    /* Bound: `misses` beats, each at most max(interval, timeout), plus the
     * interval before the first and scheduling slack. */
    guint bound_ms = misses * MAX(interval_ms, timeout_s * 1000) + interval_ms + 1500;
    g_assert_true(wait_for(watch_not_responding, &w, bound_ms));
    g_assert_cmpint((w.last_change - frozen_at) / 1000, <=, bound_ms);
    g_assert_cmpint((w.last_change - frozen_at) / 1000, >=, (gint64)(misses - 1) * interval_ms);
    g_assert_cmpuint(w.states->len, ==, 1);

    /* While NOT_RESPONDING, a request fails at once, clearly. */
    gint64 asked = g_get_monotonic_time();
    request_and_wait(link, "POST", "/api/vcenter/vm/vm-1/power?action=start", NULL, &r);
    g_assert_cmpint(g_get_monotonic_time() - asked, <, 500000);
    g_assert_error(r.error, VIREO_ERROR, VIREO_ERROR_SERVICE_UNAVAILABLE);
    g_assert_nonnull(strstr(r.error->message, label));
    g_assert_nonnull(strstr(r.error->message, "not responding"));
    g_assert_cmpuint(r.status, ==, 0);

    /* Meanwhile on the host: db-01 deleted, web-01 renamed and stopped, a new VM. */
    g_mutex_lock(&fh->lock);
    g_array_remove_index(fh->vms, 1);
    g_array_index(fh->vms, FakeVm, 0).name = "web-01-renamed";
    g_array_index(fh->vms, FakeVm, 0).power_state = "POWERED_OFF";
    FakeVm added = { "vm-7", "cache-01", "POWERED_ON", "[local1] cache-01/cache-01.vmx", FALSE };
    g_array_append_val(fh->vms, added);
    g_mutex_unlock(&fh->lock);
    fake_host_thaw(fh);

    g_assert_true(wait_for(watch_connected, &w, 5000));
    g_assert_cmpuint(w.states->len, ==, 2);
    g_assert_true(wait_for(watch_has_snapshot, &w, 10000));
    g_assert_no_error(w.error);
    check_snapshot(w.snapshot, 3);

    const HostKnownVm known[] = {
        { "vm-42", "vm-1", "web-01", "POWERED_ON", "[local1] web-01/web-01.vmx" },
        { "vm-43", "vm-2", "db-01", "POWERED_OFF", "[shared] db-01/db-01.vmx" },
        { "vm-44", "vm-3", "golden", "POWERED_OFF", "[local1] golden/golden.vmtx" },
    };
    g_autoptr(HostReconcile) diff = host_reconcile_diff(w.snapshot, known, G_N_ELEMENTS(known));
    g_assert_cmpuint(diff->added->len, ==, 1);
    g_assert_cmpstr(g_ptr_array_index(diff->added, 0), ==, "vm-7");
    g_assert_cmpuint(diff->removed->len, ==, 1);
    g_assert_cmpstr(g_ptr_array_index(diff->removed, 0), ==, "vm-43");
    g_assert_cmpuint(diff->changed->len, ==, 1);
    const HostReconcileChange *c = g_ptr_array_index(diff->changed, 0);
    g_assert_cmpstr(c->centre_id, ==, "vm-42");
    g_assert_cmpstr(c->name, ==, "web-01-renamed");
    g_assert_cmpstr(c->power_state, ==, "POWERED_OFF");
    g_assert_cmpint(c->fields, ==, HOST_RECONCILE_NAME | HOST_RECONCILE_POWER_STATE);

    /* And requests work again. */
    request_and_wait(link, "GET", "/api/vcenter/vm/vm-7", NULL, &r);
    g_assert_no_error(r.error);
    reply_clear(&r);
    g_clear_pointer(&link, host_link_free);
    watch_clear(&w);
    fake_host_stop(fh);
}

static gboolean
heartbeat_count_above(gpointer data)
{
    gpointer *args = data;
    FakeHost *fh = args[0];
    return fake_host_count(fh, &fh->heartbeats) > GPOINTER_TO_INT(args[1]);
}

static void
test_disconnect_reconnect(void)
{
    FakeHost *fh = fake_host_start();
    g_autofree char *thumbprint = tls_cert_thumbprint(host_cert);
    g_autoptr(HostLink) link = link_to(fh, "s3cret", thumbprint);
    Watch w;
    Reply r = { 0 };

    watch_init(&w, link);
    host_link_set_heartbeat(link, 100, 0, 1);
    g_assert_true(wait_for(heartbeats_seen, fh, 5000));

    host_link_disconnect(link);
    g_assert_cmpint(host_link_get_state(link), ==, HOST_LINK_STATE_DISCONNECTED);
    spin(300);  /* a beat in flight may still land */
    g_assert_cmpuint(w.states->len, ==, 1);
    g_assert_cmpint(watch_last(&w), ==, HOST_LINK_STATE_DISCONNECTED);
    int beats = fake_host_count(fh, &fh->heartbeats);
    request_and_wait(link, "GET", "/api/vcenter/vm", NULL, &r);
    g_assert_error(r.error, VIREO_ERROR, VIREO_ERROR_SERVICE_UNAVAILABLE);
    g_assert_nonnull(strstr(r.error->message, "disconnected"));
    spin(500);
    g_assert_cmpint(fake_host_count(fh, &fh->heartbeats), ==, beats);
    g_assert_cmpint(host_link_get_state(link), ==, HOST_LINK_STATE_DISCONNECTED);

    /* Reconnect: heartbeats again, CONNECTED, and a snapshot to reconcile. */
    host_link_reconnect(link);
    gpointer args[] = { fh, GINT_TO_POINTER(beats) };
    g_assert_true(wait_for(heartbeat_count_above, args, 5000));
    g_assert_true(wait_for(watch_connected, &w, 5000));
    g_assert_true(wait_for(watch_has_snapshot, &w, 10000));
    g_assert_no_error(w.error);
    check_snapshot(w.snapshot, 3);
    request_and_wait(link, "GET", "/api/vcenter/vm", NULL, &r);
    g_assert_no_error(r.error);
    reply_clear(&r);
    g_clear_pointer(&link, host_link_free);
    watch_clear(&w);
    fake_host_stop(fh);
}

typedef struct {
    int calls;
    int cancelled;
    int snapshot_cancelled;
} Pending;

static void
on_pending_reply(HostLink *link, guint status, JsonNode *answer, const GError *error, gpointer data)
{
    Pending *p = data;
    p->calls++;
    if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        p->cancelled++;
}

static void
on_pending_snapshot(HostLink *link, HostSnapshot *snapshot, const GError *error, gpointer data)
{
    Pending *p = data;
    g_assert_null(snapshot);
    p->calls++;
    if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        p->snapshot_cancelled++;
}

/* Freeing a link whose host is frozen: every queued request and snapshot,
 * even the one in flight, is answered CANCELLED at once, and nothing after. */
static void
test_free_with_pending(void)
{
    FakeHost *fh = fake_host_start();
    g_autofree char *thumbprint = tls_cert_thumbprint(host_cert);
    HostLink *link = link_to(fh, "s3cret", thumbprint);
    Reply r = { 0 };
    Pending p = { 0 };

    host_link_set_heartbeat(link, 60000, 0, 0);
    request_and_wait(link, "GET", "/api/vcenter/vm", NULL, &r);  /* logged in */
    g_assert_no_error(r.error);
    fake_host_freeze(fh);
    for (int i = 0; i < 3; i++)
        host_link_request(link, "GET", "/api/vcenter/vm", NULL, on_pending_reply, &p);
    host_link_fetch_snapshot(link, on_pending_snapshot, &p);
    spin(200);  /* the first is in flight, held by the host */
    g_assert_cmpint(p.calls, ==, 0);

    gint64 start = g_get_monotonic_time();
    host_link_free(link);
    g_assert_cmpint(g_get_monotonic_time() - start, <, 500000);
    g_assert_cmpint(p.calls, ==, 4);
    g_assert_cmpint(p.cancelled, ==, 3);
    g_assert_cmpint(p.snapshot_cancelled, ==, 1);
    spin(300);
    g_assert_cmpint(p.calls, ==, 4);
    reply_clear(&r);
    fake_host_thaw(fh);
    spin(300);  /* let the worker's request end before the host goes */
    fake_host_stop(fh);
}

typedef struct {
    HostLink *link;
    int states;
    int replies;
} SelfFree;

static void
on_state_free_link(HostLink *link, HostLinkState old_state, HostLinkState new_state, gpointer data)
{
    SelfFree *sf = data;
    sf->states++;
    g_assert_true(link == sf->link);
    g_clear_pointer(&sf->link, host_link_free);
}

static void
on_reply_count(HostLink *link, guint status, JsonNode *answer, const GError *error, gpointer data)
{
    ((SelfFree *)data)->replies++;
}

static gboolean
self_freed(gpointer data)
{
    return ((SelfFree *)data)->link == NULL;
}

/* The centre removes a host from its state callback: the link is freed
 * inside its own callback, and nothing runs after. */
static void
test_free_from_callback(void)
{
    FakeHost *fh = fake_host_start();
    g_autofree char *other = tls_cert_thumbprint(other_cert);
    SelfFree sf = { 0 };

    sf.link = link_to(fh, "s3cret", other);   /* refused: NOT_RESPONDING soon */
    host_link_set_state_func(sf.link, on_state_free_link, &sf);
    host_link_request(sf.link, "GET", "/api/vcenter/vm", NULL, on_reply_count, &sf);
    g_assert_true(wait_for(self_freed, &sf, 10000));
    spin(300);
    g_assert_cmpint(sf.states, ==, 1);
    g_assert_cmpint(sf.replies, ==, 1);
    fake_host_stop(fh);
}

/* ---- snapshot parsing with canned answers ---- */

typedef struct {
    const char *path;
    const char *json;       /* NULL: NOT_FOUND */
} Canned;

static gboolean
canned_get(const char *path, JsonNode **answer, gpointer data, GError **error)
{
    for (const Canned *c = data; c->path; c++) {
        if (!g_str_equal(c->path, path))
            continue;
        if (!c->json)
            break;
        g_autoptr(JsonParser) parser = json_parser_new();
        g_assert_true(json_parser_load_from_data(parser, c->json, -1, NULL));
        *answer = json_node_copy(json_parser_get_root(parser));
        return TRUE;
    }
    g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "no %s", path);
    return FALSE;
}

static void
test_snapshot_parsing(void)
{
    const Canned good[] = {
        { "/api/vcenter/host", "[{\"host\": \"ha-host\"}]" },
        { "/api/vcenter/host/ha-host", host_detail },
        { "/api/vcenter/datastore", "[{\"datastore\": \"datastore-1\"}]" },
        { "/api/vcenter/datastore/datastore-1", "{\"name\": \"local1\", \"path\": \"/d\"}" },
        { "/api/vcenter/network", "[]" },
        { "/api/vcenter/vm", "[{\"vm\": \"vm-1\"}, {\"vm\": \"vm-2\"}]" },
        { "/api/vcenter/vm/vm-1", "{\"name\": \"a\", \"vmx_path\": \"no-brackets.vmx\"}" },
        { NULL, NULL },
    };
    g_autoptr(GError) error = NULL;
    g_autoptr(HostSnapshot) snap = host_snapshot_gather(canned_get, (gpointer)good, &error);
    g_assert_no_error(error);
    /* A datastore without a uuid (an older host) reads as NULL. */
    g_assert_null(((HostSnapshotDatastore *)g_ptr_array_index(snap->datastores, 0))->uuid);
    g_assert_cmpuint(snap->vms->len, ==, 1);
    g_assert_null(((HostSnapshotVm *)g_ptr_array_index(snap->vms, 0))->datastore);

    static const struct {
        const char *path, *json;
        VireoErrorCode code;
    } bad[] = {
        { "/api/vcenter/host", "[{\"host\": \"a\"}, {\"host\": \"b\"}]", VIREO_ERROR_UNEXPECTED_INPUT },
        { "/api/vcenter/datastore", "{\"datastore\": \"x\"}", VIREO_ERROR_UNEXPECTED_INPUT },
        { "/api/vcenter/network", "[{\"name\": \"no id\"}]", VIREO_ERROR_UNEXPECTED_INPUT },
        { "/api/vcenter/vm", "[1, 2]", VIREO_ERROR_UNEXPECTED_INPUT },
        { "/api/vcenter/host/ha-host", "\"text\"", VIREO_ERROR_UNEXPECTED_INPUT },
        { "/api/vcenter/network", NULL, VIREO_ERROR_NOT_FOUND },
    };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        Canned table[G_N_ELEMENTS(good)];
        memcpy(table, good, sizeof good);
        for (guint j = 0; table[j].path; j++) {
            if (g_str_equal(table[j].path, bad[i].path))
                table[j].json = bad[i].json;
        }
        g_autoptr(GError) e = NULL;
        g_autoptr(HostSnapshot) s = host_snapshot_gather(canned_get, table, &e);
        g_assert_null(s);
        g_assert_error(e, VIREO_ERROR, (gint)bad[i].code);
    }
}

/* ---- reconcile diff tables ---- */

static HostSnapshot *
snapshot_of(const FakeVm *vms, guint n)
{
    const Canned base[] = {
        { "/api/vcenter/host", "[{\"host\": \"ha-host\"}]" },
        { "/api/vcenter/host/ha-host", host_detail },
        { "/api/vcenter/datastore", "[]" },
        { "/api/vcenter/network", "[]" },
        { "/api/vcenter/vm", "[]" },
        { NULL, NULL },
    };
    HostSnapshot *snap = host_snapshot_gather(canned_get, (gpointer)base, NULL);
    g_assert_nonnull(snap);
    for (guint i = 0; i < n; i++) {
        g_autofree char *json = g_strdup_printf("{\"name\": \"%s\", \"power_state\": \"%s\", \"vmx_path\": \"%s\"}",
                                                vms[i].name, vms[i].power_state, vms[i].vmx_path);
        g_autoptr(JsonParser) parser = json_parser_new();
        g_assert_true(json_parser_load_from_data(parser, json, -1, NULL));
        HostSnapshotVm *vm = g_new0(HostSnapshotVm, 1);
        vm->id = g_strdup(vms[i].id);
        vm->name = g_strdup(vms[i].name);
        vm->power_state = g_strdup(vms[i].power_state);
        vm->vmx_path = g_strdup(vms[i].vmx_path);
        vm->info = json_node_copy(json_parser_get_root(parser));
        g_ptr_array_add(snap->vms, vm);
    }
    return snap;
}

#define MAX_VMS 4

typedef struct {
    const char *what;
    FakeVm on_host[MAX_VMS];
    HostKnownVm known[MAX_VMS];
    const char *added;      /* host ids, space separated */
    const char *removed;    /* centre ids */
    const char *changed;    /* "centre-id:host-id:fields" */
} DiffCase;

#define A "[ds] a/a.vmx"
#define B "[ds] b/b.vmx"
#define C "[ds] c/c.vmx"
#define ON "POWERED_ON"
#define OFF "POWERED_OFF"

static const DiffCase diff_cases[] = {
    { "nothing changed",
      { { "vm-1", "a", ON, A }, { "vm-2", "b", OFF, B } },
      { { "c-1", "vm-1", "a", ON, A }, { "c-2", "vm-2", "b", OFF, B } }, "", "", "" },
    { "empty both", { { 0 } }, { { 0 } }, "", "", "" },
    { "centre knows nothing: all added",
      { { "vm-1", "a", ON, A }, { "vm-2", "b", OFF, B } }, { { 0 } }, "vm-1 vm-2", "", "" },
    { "host lost everything: all removed",
      { { 0 } }, { { "c-1", "vm-1", "a", ON, A }, { "c-2", "vm-2", "b", OFF, B } }, "", "c-1 c-2", "" },
    { "renamed and powered off",
      { { "vm-1", "a2", OFF, A } }, { { "c-1", "vm-1", "a", ON, A } }, "", "", "c-1:vm-1:3" },
    { "re-registered: same files, new id",
      { { "vm-9", "a", ON, A } }, { { "c-1", "vm-1", "a", ON, A } }, "", "", "c-1:vm-9:4" },
    { "files moved, same id",
      { { "vm-1", "a", ON, C } }, { { "c-1", "vm-1", "a", ON, A } }, "", "", "c-1:vm-1:8" },
    { "inventory reset: ids given to other files, matched by path",
      { { "vm-1", "b", OFF, B }, { "vm-2", "a", ON, A } },
      { { "c-1", "vm-1", "a", ON, A }, { "c-2", "vm-2", "b", OFF, B } }, "", "",
      "c-1:vm-2:4 c-2:vm-1:4" },
    { "one removed, one added, one kept",
      { { "vm-1", "a", ON, A }, { "vm-3", "c", OFF, C } },
      { { "c-1", "vm-1", "a", ON, A }, { "c-2", "vm-2", "b", OFF, B } }, "vm-3", "c-2", "" },
    { "two known VMs claim one host VM: the second is removed",
      { { "vm-1", "a", ON, A } },
      { { "c-1", "vm-1", "a", ON, A }, { "c-2", "vm-1", "a", ON, A } }, "", "c-2", "" },
    { "an unknown host id and no path is removed",
      { { "vm-1", "a", ON, A } }, { { "c-5", NULL, "x", ON, NULL } }, "vm-1", "c-5", "" },
};

static guint
count_vms(const FakeVm *vms)
{
    guint n = 0;
    while (n < MAX_VMS && vms[n].id)
        n++;
    return n;
}

static guint
count_known(const HostKnownVm *known)
{
    guint n = 0;
    while (n < MAX_VMS && known[n].centre_id)
        n++;
    return n;
}

static char *
joined(GPtrArray *ids)
{
    g_ptr_array_add(ids, NULL);
    char *s = g_strjoinv(" ", (char **)ids->pdata);
    g_ptr_array_remove_index(ids, ids->len - 1);
    return s;
}

static void
test_reconcile_diff(void)
{
    for (guint i = 0; i < G_N_ELEMENTS(diff_cases); i++) {
        const DiffCase *dc = &diff_cases[i];
        g_autoptr(HostSnapshot) snap = snapshot_of(dc->on_host, count_vms(dc->on_host));
        g_autoptr(HostReconcile) diff = host_reconcile_diff(snap, dc->known, count_known(dc->known));
        g_autofree char *added = joined(diff->added);
        g_autofree char *removed = joined(diff->removed);
        g_autoptr(GString) changed = g_string_new(NULL);
        for (guint j = 0; j < diff->changed->len; j++) {
            const HostReconcileChange *c = g_ptr_array_index(diff->changed, j);
            g_string_append_printf(changed, "%s%s:%s:%d", j ? " " : "", c->centre_id, c->host_id,
                                   (int)c->fields);
            /* A change carries the host's current values. */
            const HostSnapshotVm *vm = host_snapshot_find_vm(snap, c->host_id);
            g_assert_nonnull(vm);
            g_assert_cmpstr(c->name, ==, vm->name);
            g_assert_cmpstr(c->power_state, ==, vm->power_state);
            g_assert_cmpstr(c->vmx_path, ==, vm->vmx_path);
        }
        g_test_message("case: %s", dc->what);
        g_assert_cmpstr(added, ==, dc->added);
        g_assert_cmpstr(removed, ==, dc->removed);
        g_assert_cmpstr(changed->str, ==, dc->changed);
    }
}

static void
test_state_names(void)
{
    HostLinkState state;

    for (guint i = 0; i < HOST_LINK_N_STATES; i++) {
        g_assert_true(host_link_state_from_string(host_link_state_to_string(i), &state));
        g_assert_cmpint(state, ==, i);
    }
    g_assert_cmpstr(host_link_state_to_string(HOST_LINK_STATE_NOT_RESPONDING), ==, "NOT_RESPONDING");
    g_assert_false(host_link_state_from_string("connected", &state));
    g_assert_false(host_link_state_from_string(NULL, &state));
}

static GTlsCertificate *
make_certificate(const char *name)
{
    g_autofree char *cert = g_build_filename(cert_dir, name, NULL);
    g_autofree char *key = g_strconcat(cert, ".key", NULL);
    const char *alt[] = { "127.0.0.1", "localhost", NULL };
    g_autoptr(GError) error = NULL;
    GTlsCertificate *c = tls_cert_load_or_create(cert, key, "localhost", alt, &error);

    g_assert_no_error(error);
    g_unlink(cert);
    g_unlink(key);
    return c;
}

int
main(int argc, char **argv)
{
    /* One request worker, so the re-login test sees its requests in order
     * on one session (the daemon runs several). */
    g_setenv("VIREO_HOST_LINK_WORKERS", "1", TRUE);
    g_test_init(&argc, &argv, NULL);
    cert_dir = g_dir_make_tmp("vireo-host-link-XXXXXX", NULL);
    host_cert = make_certificate("host.pem");
    other_cert = make_certificate("other.pem");
    g_rmdir(cert_dir);

    g_test_add_func("/host-link/state-names", test_state_names);
    g_test_add_func("/host-link/reconcile-diff", test_reconcile_diff);
    g_test_add_func("/host-link/snapshot-parsing", test_snapshot_parsing);
    g_test_add_func("/host-link/requests-and-relogin", test_requests_and_relogin);
    g_test_add_func("/host-link/wrong-password", test_wrong_password);
    g_test_add_func("/host-link/thumbprint-pinning", test_thumbprint_pinning);
    g_test_add_func("/host-link/probe-unreachable", test_probe_unreachable);
    g_test_add_func("/host-link/snapshot", test_snapshot);
    g_test_add_func("/host-link/heartbeat-frozen-host", test_heartbeat_frozen_host);
    g_test_add_func("/host-link/disconnect-reconnect", test_disconnect_reconnect);
    g_test_add_func("/host-link/free-with-pending", test_free_with_pending);
    g_test_add_func("/host-link/free-from-callback", test_free_from_callback);
    int rc = g_test_run();
    g_object_unref(host_cert);
    g_object_unref(other_cert);
    g_free(cert_dir);
    return rc;
}
