/* host-link.c — worker threads, requests and heartbeats of the centre's link
 * to one vireo-hostd. Owns HOST_LINK_WORKERS request threads and one
 * heartbeat thread, each with its own GMainContext and ApiClient: the request
 * workers run queued requests and snapshots (several at once, so one long
 * request does not hold up the others), the heartbeat thread never waits on
 * them, so a long request never delays the detection of a dead host.
 *
 * Connection state (guarded by link->lock; changes are queued and announced
 * on the owner's context in order):
 *
 *        new ──► CONNECTED ◄──── answer ───── NOT_RESPONDING
 *                 │    ▲  └── `misses` unanswered ──►  ▲   (first one, before
 *                 │    │                               │    any answer)
 *     disconnect  │    │ answer                        │ unanswered
 *                 ▼    │                               │
 *             DISCONNECTED ── reconnect (heartbeats on) ┘
 *
 *   beat answered / unanswered → heartbeat_record()
 *   disconnect / reconnect     → host_link_disconnect() / host_link_reconnect()
 *   any → CONNECTED after NOT_RESPONDING or DISCONNECTED also fetches a
 *   snapshot for the centre to reconcile (flush_transitions()).
 *
 * Lifetime: the link is reference counted; each thread holds a reference.
 * host_link_free() closes it: every undelivered reply is delivered at once
 * (CANCELLED unless the host had answered), the threads are told to stop and
 * end by themselves once a request in flight returns, and no callback runs
 * after it returns.
 */
#include "host-link.h"

#include <gio/gio.h>
#include <string.h>

#include "api-client.h"
#include "vireo-error.h"

static const char *const state_names[HOST_LINK_N_STATES] = {
    [HOST_LINK_STATE_CONNECTED] = "CONNECTED",
    [HOST_LINK_STATE_DISCONNECTED] = "DISCONNECTED",
    [HOST_LINK_STATE_NOT_RESPONDING] = "NOT_RESPONDING",
};

typedef enum { JOB_REQUEST, JOB_SNAPSHOT } JobKind;

typedef struct {
    HostLink *link;
    JobKind kind;
    char *method;
    char *path;
    JsonNode *body;
    HostLinkReply reply;
    HostLinkSnapshotFunc snapshot_func;
    gpointer user_data;
    gboolean running;       /* the request thread has taken it */
    gboolean done;          /* results below are set */
    guint status;
    JsonNode *answer;
    HostSnapshot *snapshot;
    GError *error;
    GSource *delivery;      /* idle on the owner's context, once done */
} Job;

typedef struct {
    HostLinkState old_state;
    HostLinkState new_state;
} Transition;

#define HOST_LINK_WORKERS 4

/* Heartbeat thread commands (GAsyncQueue items cannot be NULL). */
#define HB_WAKE GINT_TO_POINTER(1)
#define HB_STOP GINT_TO_POINTER(2)

/* The request thread's stop marker. */
static Job stop_job;

struct HostLink {
    gatomicrefcount refs;
    /* immutable after host_link_new */
    char *address;
    guint port;
    char *user;
    char *password;
    char *thumbprint;           /* normalized; NULL: trust no certificate */
    char *base_url;
    char *label;                /* "host 10.0.0.5:443", for messages */
    GMainContext *owner;
    GAsyncQueue *jobs_queue;    /* Job *, or &stop_job */
    int workers;                /* request threads */
    GAsyncQueue *hb_queue;      /* HB_* */

    GMutex lock;                /* guards everything below */
    gboolean closed;
    GQueue jobs;                /* every Job not yet delivered, in order */
    HostLinkState state;
    guint generation;           /* bumped by disconnect/reconnect: older beats are ignored */
    gboolean heartbeats_on;
    gboolean answered;          /* a beat was answered since heartbeats (re)started */
    guint misses;
    char *last_miss;            /* why the last heartbeat went unanswered */
    guint interval_ms;
    guint max_misses;
    guint heartbeat_timeout_s;
    guint request_timeout_s;
    GQueue transitions;         /* Transition *, to announce */
    GSource *notify;            /* idle that announces them */

    /* owner thread only */
    HostLinkStateFunc state_func;
    gpointer state_data;
    HostLinkSnapshotFunc snapshot_func;
    gpointer snapshot_data;
};

const char *
host_link_state_to_string(HostLinkState state)
{
    return (guint)state < HOST_LINK_N_STATES ? state_names[state] : "UNKNOWN";
}

gboolean
host_link_state_from_string(const char *s, HostLinkState *out)
{
    for (guint i = 0; s && i < HOST_LINK_N_STATES; i++) {
        if (g_str_equal(s, state_names[i])) {
            *out = (HostLinkState)i;
            return TRUE;
        }
    }
    return FALSE;
}

static HostLink *
link_ref(HostLink *link)
{
    g_atomic_ref_count_inc(&link->refs);
    return link;
}

static void
link_unref(HostLink *link)
{
    if (!g_atomic_ref_count_dec(&link->refs))
        return;
    g_free(link->address);
    g_free(link->user);
    g_free(link->password);
    g_free(link->thumbprint);
    g_free(link->base_url);
    g_free(link->label);
    g_free(link->last_miss);
    g_main_context_unref(link->owner);
    g_async_queue_unref(link->jobs_queue);
    g_async_queue_unref(link->hb_queue);
    g_queue_clear_full(&link->transitions, g_free);
    g_mutex_clear(&link->lock);
    g_free(link);
}

static void
job_free(Job *job)
{
    g_free(job->method);
    g_free(job->path);
    g_clear_pointer(&job->body, json_node_unref);
    g_clear_pointer(&job->answer, json_node_unref);
    g_clear_pointer(&job->snapshot, host_snapshot_free);
    g_clear_error(&job->error);
    g_free(job);
}

/* Runs the job's callback with its results (owner thread). */
static void
job_complete(Job *job)
{
    if (job->kind == JOB_REQUEST && job->reply)
        job->reply(job->link, job->status, job->error ? NULL : job->answer, job->error,
                   job->user_data);
    else if (job->kind == JOB_SNAPSHOT && job->snapshot_func)
        job->snapshot_func(job->link, g_steal_pointer(&job->snapshot), job->error,
                           job->user_data);
}

/* ---- talking to the host (worker threads) ---- */

static ApiClient *
worker_client_new(HostLink *link)
{
    /* No pin means no trust: a CA-signed certificate must not pass either. */
    return api_client_new(link->base_url, FALSE, link->thumbprint);
}

/* The HTTP status api_client_login does not report, guessed from its error:
 * 0 when nothing answered. */
static guint
login_failure_status(ApiClient *client, const GError *error)
{
    VireoErrorCode code = vireo_error_code_of(error);

    if (api_client_certificate_refused(client) || code == VIREO_ERROR_TIMED_OUT ||
        code == VIREO_ERROR_SERVICE_UNAVAILABLE)
        return 0;
    return vireo_error_http_status(code);
}

/* A failure with no answer becomes SERVICE_UNAVAILABLE naming the host; a
 * refused certificate or an answer keeps the client's error. */
static gboolean
link_error(HostLink *link, ApiClient *client, guint status, GError *cause, GError **error)
{
    VireoErrorCode code = vireo_error_code_of(cause);

    if (status == 0 && !api_client_certificate_refused(client) &&
        (code == VIREO_ERROR_TIMED_OUT || code == VIREO_ERROR_SERVICE_UNAVAILABLE)) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_SERVICE_UNAVAILABLE,
                    "%s is not answering: %s", link->label, cause->message);
        g_error_free(cause);
        return FALSE;
    }
    g_propagate_error(error, cause);
    return FALSE;
}

static gboolean
worker_login(HostLink *link, ApiClient *client, guint *status, GError **error)
{
    GError *cause = NULL;

    if (api_client_login(client, link->user, link->password, &cause))
        return TRUE;
    *status = login_failure_status(client, cause);
    if (*status == 401) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_UNAUTHENTICATED,
                    "%s refused the login of user '%s': %s", link->label, link->user,
                    cause->message);
        g_error_free(cause);
        return FALSE;
    }
    return link_error(link, client, *status, cause, error);
}

/* One request with a session: logs in when there is none, and once more
 * when the host answers 401 (session expired, or the host restarted). */
static gboolean
worker_call(HostLink *link, ApiClient *client, const char *method, const char *path,
            JsonNode *body, guint *status, JsonNode **answer, GError **error)
{
    GError *cause = NULL;

    *status = 0;
    if (!link->thumbprint) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_UNAUTHENTICATED,
                    "%s has no trusted certificate thumbprint: add it again with its thumbprint",
                    link->label);
        return FALSE;
    }
    if (!api_client_get_token(client) && !worker_login(link, client, status, error))
        return FALSE;
    if (api_client_request(client, method, path, NULL, body, status, answer, &cause))
        return TRUE;
    if (*status != 401)
        return link_error(link, client, *status, cause, error);
    g_clear_error(&cause);
    if (!worker_login(link, client, status, error))
        return FALSE;
    if (api_client_request(client, method, path, NULL, body, status, answer, &cause))
        return TRUE;
    return link_error(link, client, *status, cause, error);
}

typedef struct {
    HostLink *link;
    ApiClient *client;
} WorkerGet;

static gboolean
worker_get(const char *path, JsonNode **answer, gpointer data, GError **error)
{
    WorkerGet *w = data;
    guint status = 0;

    return worker_call(w->link, w->client, "GET", path, NULL, &status, answer, error);
}

/* ---- the request thread ---- */

static gboolean
deliver_job(gpointer data)
{
    Job *job = data;
    HostLink *link = job->link;

    g_mutex_lock(&link->lock);
    g_queue_remove(&link->jobs, job);
    g_clear_pointer(&job->delivery, g_source_unref);
    g_mutex_unlock(&link->lock);
    job_complete(job);
    job_free(job);
    return G_SOURCE_REMOVE;
}

static void
finish_job(HostLink *link, Job *job)
{
    g_mutex_lock(&link->lock);
    if (link->closed) {
        /* host_link_free has already answered it. */
        g_mutex_unlock(&link->lock);
        job_free(job);
        return;
    }
    job->running = FALSE;
    job->done = TRUE;
    job->delivery = g_idle_source_new();
    g_source_set_callback(job->delivery, deliver_job, job, NULL);
    g_source_attach(job->delivery, link->owner);
    g_mutex_unlock(&link->lock);
}

static void
set_not_connected_error(HostLink *link, HostLinkState state, guint misses,
                        const char *last_miss, GError **error)
{
    if (state == HOST_LINK_STATE_DISCONNECTED)
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_SERVICE_UNAVAILABLE,
                    "%s is disconnected: reconnect it first", link->label);
    else
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_SERVICE_UNAVAILABLE,
                    "%s is not responding: its last %u heartbeat%s went unanswered (%s)",
                    link->label, misses, misses == 1 ? "" : "s",
                    last_miss ? last_miss : "no answer");
}

static void
run_job(HostLink *link, ApiClient *client, Job *job)
{
    if (job->kind == JOB_REQUEST) {
        worker_call(link, client, job->method, job->path, job->body, &job->status,
                    &job->answer, &job->error);
    } else {
        WorkerGet w = { link, client };
        job->snapshot = host_snapshot_gather(worker_get, &w, &job->error);
    }
}

static gpointer
request_thread_main(gpointer data)
{
    HostLink *link = data;
    GMainContext *context = g_main_context_new();
    /* libsoup attaches its sources to the thread-default context: this one,
     * never the owner's. */
    g_main_context_push_thread_default(context);
    ApiClient *client = worker_client_new(link);
    guint timeout = API_CLIENT_DEFAULT_TIMEOUT_SECONDS;

    for (;;) {
        Job *job = g_async_queue_pop(link->jobs_queue);
        if (job == &stop_job)
            break;
        g_mutex_lock(&link->lock);
        if (link->closed) {
            /* The job may already be freed: do not touch it. */
            g_mutex_unlock(&link->lock);
            continue;
        }
        job->running = TRUE;
        HostLinkState state = link->state;
        guint misses = link->misses, wanted = link->request_timeout_s;
        g_autofree char *last_miss = g_strdup(link->last_miss);
        g_mutex_unlock(&link->lock);
        if (wanted != timeout)
            api_client_set_timeout(client, timeout = wanted);
        if (state != HOST_LINK_STATE_CONNECTED)
            set_not_connected_error(link, state, misses, last_miss, &job->error);
        else
            run_job(link, client, job);
        finish_job(link, job);
    }
    api_client_free(client);
    g_main_context_pop_thread_default(context);
    g_main_context_unref(context);
    link_unref(link);
    return NULL;
}

/* ---- heartbeats ---- */

static gboolean
link_closed(HostLink *link)
{
    g_mutex_lock(&link->lock);
    gboolean closed = link->closed;
    g_mutex_unlock(&link->lock);
    return closed;
}

/* Announces queued state changes on the owner's context, in order. */
static gboolean
flush_transitions(gpointer data)
{
    HostLink *link = data;
    GQueue pending = G_QUEUE_INIT;

    /* A callback may free the link: keep it alive, and stop once closed. */
    link_ref(link);
    g_mutex_lock(&link->lock);
    pending = link->transitions;
    g_queue_init(&link->transitions);
    g_clear_pointer(&link->notify, g_source_unref);
    g_mutex_unlock(&link->lock);
    for (Transition *t; (t = g_queue_pop_head(&pending)); g_free(t)) {
        if (link->state_func && !link_closed(link))
            link->state_func(link, t->old_state, t->new_state, link->state_data);
        if (t->new_state == HOST_LINK_STATE_CONNECTED && t->old_state != HOST_LINK_STATE_CONNECTED &&
            link->snapshot_func && !link_closed(link))
            host_link_fetch_snapshot(link, link->snapshot_func, link->snapshot_data);
    }
    link_unref(link);
    return G_SOURCE_REMOVE;
}

/* Lock held. */
static void
set_state_locked(HostLink *link, HostLinkState state)
{
    Transition *t;

    if (state == link->state)
        return;
    t = g_new(Transition, 1);
    t->old_state = link->state;
    t->new_state = state;
    link->state = state;
    g_queue_push_tail(&link->transitions, t);
    if (!link->notify) {
        link->notify = g_idle_source_new();
        g_source_set_callback(link->notify, flush_transitions, link, NULL);
        g_source_attach(link->notify, link->owner);
    }
}

static void
heartbeat_record(HostLink *link, guint generation, const GError *miss)
{
    g_mutex_lock(&link->lock);
    if (link->closed || !link->heartbeats_on || generation != link->generation) {
        g_mutex_unlock(&link->lock);
        return;
    }
    if (!miss) {
        link->misses = 0;
        link->answered = TRUE;
        set_state_locked(link, HOST_LINK_STATE_CONNECTED);
    } else {
        link->misses++;
        g_free(link->last_miss);
        link->last_miss = g_strdup(miss->message);
        /* Until a first answer there is no "usually answers" to wait on. */
        if (!link->answered || link->misses >= link->max_misses)
            set_state_locked(link, HOST_LINK_STATE_NOT_RESPONDING);
    }
    g_mutex_unlock(&link->lock);
}

/* Any HTTP answer, even an error, shows the host is alive: NULL then, else
 * why it went unanswered. */
static GError *
heartbeat_once(HostLink *link, ApiClient *client)
{
    g_autoptr(JsonNode) answer = NULL;
    GError *error = NULL;
    guint status = 0;

    if (worker_call(link, client, "GET", "/api/vcenter/host", NULL, &status, &answer, &error) ||
        status != 0) {
        g_clear_error(&error);
        return NULL;
    }
    return error;
}

static gpointer
heartbeat_thread_main(gpointer data)
{
    HostLink *link = data;
    GMainContext *context = g_main_context_new();
    g_main_context_push_thread_default(context);
    ApiClient *client = worker_client_new(link);
    guint timeout = API_CLIENT_DEFAULT_TIMEOUT_SECONDS;
    gint64 next = g_get_monotonic_time();

    for (;;) {
        g_mutex_lock(&link->lock);
        gboolean on = link->heartbeats_on;
        guint interval_ms = link->interval_ms, wanted = link->heartbeat_timeout_s;
        guint generation = link->generation;
        g_mutex_unlock(&link->lock);
        gint64 now = g_get_monotonic_time();
        gpointer command = !on ? g_async_queue_pop(link->hb_queue)
                         : next > now ? g_async_queue_timeout_pop(link->hb_queue, (guint64)(next - now))
                         : g_async_queue_try_pop(link->hb_queue);
        if (command == HB_STOP)
            break;
        if (command == HB_WAKE) {
            next = g_get_monotonic_time();
            continue;
        }
        if (!on)
            continue;
        if (wanted != timeout)
            api_client_set_timeout(client, timeout = wanted);
        gint64 start = g_get_monotonic_time();
        g_autoptr(GError) miss = heartbeat_once(link, client);
        next = start + (gint64)interval_ms * 1000;
        heartbeat_record(link, generation, miss);
    }
    api_client_free(client);
    g_main_context_pop_thread_default(context);
    g_main_context_unref(context);
    link_unref(link);
    return NULL;
}

/* ---- public API (owner thread) ---- */

gboolean
host_link_probe_sync(const char *address, guint port, char **out_thumbprint, GError **error)
{
    g_autofree char *url = g_strdup_printf(strchr(address, ':') ? "https://[%s]:%u" : "https://%s:%u",
                                           address, port ? port : HOST_LINK_DEFAULT_PORT);
    g_autoptr(ApiClient) client = api_client_new(url, FALSE, NULL);
    GError *cause = NULL;
    char *thumbprint = api_client_fetch_thumbprint(client, &cause);

    if (!thumbprint) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_SERVICE_UNAVAILABLE,
                    "cannot reach the host at %s to read its certificate: %s", url,
                    cause ? cause->message : "no certificate");
        g_clear_error(&cause);
        return FALSE;
    }
    *out_thumbprint = thumbprint;
    return TRUE;
}

HostLink *
host_link_new(const char *address, guint port, const char *user, const char *password,
              const char *thumbprint)
{
    HostLink *link = g_new0(HostLink, 1);

    g_atomic_ref_count_init(&link->refs);
    link->address = g_strdup(address);
    link->port = port ? port : HOST_LINK_DEFAULT_PORT;
    link->user = g_strdup(user);
    link->password = g_strdup(password);
    link->thumbprint = api_client_normalize_thumbprint(thumbprint);
    link->base_url = g_strdup_printf(strchr(address, ':') ? "https://[%s]:%u" : "https://%s:%u",
                                     address, link->port);
    link->label = g_strdup_printf(strchr(address, ':') ? "host [%s]:%u" : "host %s:%u",
                                  address, link->port);
    link->owner = g_main_context_ref_thread_default();
    link->jobs_queue = g_async_queue_new();
    link->hb_queue = g_async_queue_new();
    g_mutex_init(&link->lock);
    g_queue_init(&link->jobs);
    g_queue_init(&link->transitions);
    link->state = HOST_LINK_STATE_CONNECTED;
    link->heartbeats_on = TRUE;
    link->interval_ms = HOST_LINK_DEFAULT_INTERVAL_MS;
    link->max_misses = HOST_LINK_DEFAULT_MISSES;
    link->heartbeat_timeout_s = HOST_LINK_DEFAULT_HEARTBEAT_TIMEOUT_S;
    link->request_timeout_s = HOST_LINK_DEFAULT_REQUEST_TIMEOUT_S;
    /* Several request workers: a long request (a migration's memory copy, a
     * slow create) must not hold up the host's other VMs. Requests that must
     * follow each other (the steps of one operation on one VM) are issued
     * one after the other by the centre, so order between workers does not
     * matter. */
    link->workers = HOST_LINK_WORKERS;
    const char *override = g_getenv("VIREO_HOST_LINK_WORKERS");  /* tests: 1 makes order visible */
    if (override && g_ascii_strtoll(override, NULL, 10) > 0)
        link->workers = (int)MIN(g_ascii_strtoll(override, NULL, 10), 16);
    for (int i = 0; i < link->workers; i++)
        g_thread_unref(g_thread_new("host-link-req", request_thread_main, link_ref(link)));
    g_thread_unref(g_thread_new("host-link-hb", heartbeat_thread_main, link_ref(link)));
    return link;
}

/* Under the lock: takes every undelivered job for host_link_free to answer.
 * A job the request thread is running stays its to free; its callback moves
 * to a stand-in. */
static void
take_undelivered_locked(HostLink *link, GQueue *out)
{
    for (Job *job; (job = g_queue_pop_head(&link->jobs));) {
        if (job->running) {
            Job *stand_in = g_new0(Job, 1);
            stand_in->link = link;
            stand_in->kind = job->kind;
            stand_in->reply = job->reply;
            stand_in->snapshot_func = job->snapshot_func;
            stand_in->user_data = job->user_data;
            job->reply = NULL;
            job->snapshot_func = NULL;
            job = stand_in;
        }
        if (job->delivery) {
            g_source_destroy(job->delivery);
            g_clear_pointer(&job->delivery, g_source_unref);
        }
        g_queue_push_tail(out, job);
    }
}

void
host_link_free(HostLink *link)
{
    GQueue undelivered = G_QUEUE_INIT;

    if (!link)
        return;
    g_mutex_lock(&link->lock);
    link->closed = TRUE;
    take_undelivered_locked(link, &undelivered);
    if (link->notify) {
        g_source_destroy(link->notify);
        g_clear_pointer(&link->notify, g_source_unref);
    }
    g_mutex_unlock(&link->lock);
    for (int i = 0; i < link->workers; i++)
        g_async_queue_push_front(link->jobs_queue, &stop_job);
    g_async_queue_push_front(link->hb_queue, HB_STOP);
    for (Job *job; (job = g_queue_pop_head(&undelivered)); job_free(job)) {
        if (!job->done)
            g_set_error(&job->error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                        "the link to %s was closed before it answered", link->label);
        job_complete(job);
    }
    link_unref(link);
}

const char *
host_link_get_address(HostLink *link)
{
    return link->address;
}

guint
host_link_get_port(HostLink *link)
{
    return link->port;
}

HostLinkState
host_link_get_state(HostLink *link)
{
    g_mutex_lock(&link->lock);
    HostLinkState state = link->state;
    g_mutex_unlock(&link->lock);
    return state;
}

void
host_link_set_heartbeat(HostLink *link, guint interval_ms, guint misses, guint timeout_s)
{
    g_mutex_lock(&link->lock);
    if (interval_ms)
        link->interval_ms = interval_ms;
    if (misses)
        link->max_misses = misses;
    if (timeout_s)
        link->heartbeat_timeout_s = timeout_s;
    g_mutex_unlock(&link->lock);
    g_async_queue_push(link->hb_queue, HB_WAKE);
}

void
host_link_set_request_timeout(HostLink *link, guint timeout_s)
{
    g_mutex_lock(&link->lock);
    link->request_timeout_s = timeout_s;
    g_mutex_unlock(&link->lock);
}

void
host_link_set_state_func(HostLink *link, HostLinkStateFunc func, gpointer user_data)
{
    link->state_func = func;
    link->state_data = user_data;
}

void
host_link_set_snapshot_func(HostLink *link, HostLinkSnapshotFunc func, gpointer user_data)
{
    link->snapshot_func = func;
    link->snapshot_data = user_data;
}

void
host_link_disconnect(HostLink *link)
{
    g_mutex_lock(&link->lock);
    link->heartbeats_on = FALSE;
    link->generation++;
    set_state_locked(link, HOST_LINK_STATE_DISCONNECTED);
    g_mutex_unlock(&link->lock);
}

void
host_link_reconnect(HostLink *link)
{
    g_mutex_lock(&link->lock);
    link->heartbeats_on = TRUE;
    link->generation++;
    link->answered = FALSE;
    link->misses = 0;
    g_mutex_unlock(&link->lock);
    g_async_queue_push(link->hb_queue, HB_WAKE);
}

static void
enqueue_job(HostLink *link, Job *job)
{
    g_mutex_lock(&link->lock);
    g_queue_push_tail(&link->jobs, job);
    g_mutex_unlock(&link->lock);
    g_async_queue_push(link->jobs_queue, job);
}

void
host_link_request(HostLink *link, const char *method, const char *path, JsonNode *body,
                  HostLinkReply callback, gpointer user_data)
{
    Job *job = g_new0(Job, 1);

    job->link = link;
    job->kind = JOB_REQUEST;
    job->method = g_strdup(method);
    job->path = g_strdup(path);
    job->body = body;
    job->reply = callback;
    job->user_data = user_data;
    enqueue_job(link, job);
}

void
host_link_fetch_snapshot(HostLink *link, HostLinkSnapshotFunc callback, gpointer user_data)
{
    Job *job = g_new0(Job, 1);

    job->link = link;
    job->kind = JOB_SNAPSHOT;
    job->snapshot_func = callback;
    job->user_data = user_data;
    enqueue_job(link, job);
}
