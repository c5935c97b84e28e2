/* vm-storage-progress.c — what a Storage vMotion on this host is doing, for
 * callers that started it without waiting (the centre's task polls it):
 * GET /api/vcenter/vm/{vm}?action=relocate-status. One record per VM, kept
 * after the move ends until the next relocate of that VM replaces it.
 */
#include "vm-storage-progress.h"

#include "api.h"
#include "vireo-error.h"

typedef struct {
    StorageProgressState state;
    char *phase;
    gint64 completed;
    gint64 total;
    guint disks;
    gint64 elapsed_ms;
    GError *error;
    char *home_datastore;
    gboolean home_asked, home_moved;
    char *home_reason;
} StorageProgress;

static const char *const state_names[] = {
    [STORAGE_PROGRESS_RUNNING] = "RUNNING",
    [STORAGE_PROGRESS_SUCCEEDED] = "SUCCEEDED",
    [STORAGE_PROGRESS_FAILED] = "FAILED",
};

/* VM id → StorageProgress*. */
static GHashTable *records;

static void
record_free(gpointer p)
{
    StorageProgress *s = p;
    g_free(s->phase);
    g_clear_error(&s->error);
    g_free(s->home_datastore);
    g_free(s->home_reason);
    g_free(s);
}

static StorageProgress *
record_of(const char *vm)
{
    if (!records)
        records = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, record_free);
    StorageProgress *s = g_hash_table_lookup(records, vm);
    if (!s) {
        s = g_new0(StorageProgress, 1);
        g_hash_table_insert(records, g_strdup(vm), s);
    }
    return s;
}

void
storage_progress_start(const char *vm, guint disks, gint64 total)
{
    if (records)
        g_hash_table_remove(records, vm);
    StorageProgress *s = record_of(vm);
    s->state = STORAGE_PROGRESS_RUNNING;
    s->phase = g_strdup("copying");
    s->disks = disks;
    s->total = total;
}

void
storage_progress_update(const char *vm, const char *phase, gint64 completed, gint64 total)
{
    StorageProgress *s = record_of(vm);
    g_free(s->phase);
    s->phase = g_strdup(phase);
    s->completed = completed;
    /* A mirror's total grows with what the guest dirties meanwhile. */
    if (total > 0)
        s->total = total;
}

void
storage_progress_end(const char *vm, const GError *error, gint64 elapsed_ms)
{
    StorageProgress *s = record_of(vm);
    s->state = error ? STORAGE_PROGRESS_FAILED : STORAGE_PROGRESS_SUCCEEDED;
    g_free(s->phase);
    s->phase = g_strdup(error ? "failed" : "done");
    s->elapsed_ms = elapsed_ms;
    if (!error)
        s->completed = s->total;
    g_clear_error(&s->error);
    if (error)
        s->error = g_error_copy(error);
}

void
storage_progress_set_home(const char *vm, const char *home_datastore, gboolean asked, gboolean moved,
                          const char *reason)
{
    StorageProgress *s = record_of(vm);
    g_free(s->home_datastore);
    s->home_datastore = g_strdup(home_datastore);
    s->home_asked = asked;
    s->home_moved = moved;
    g_free(s->home_reason);
    s->home_reason = g_strdup(reason);
}

static JsonNode *
progress_json(const StorageProgress *s)
{
    JsonObject *o = json_object_new();
    json_object_set_string_member(o, "state", state_names[s->state]);
    json_object_set_string_member(o, "phase", s->phase ? s->phase : "");
    json_object_set_int_member(o, "disks", s->disks);
    json_object_set_int_member(o, "completed_bytes", s->completed);
    json_object_set_int_member(o, "total_bytes", s->total);
    if (s->state != STORAGE_PROGRESS_RUNNING)
        json_object_set_int_member(o, "elapsed_ms", s->elapsed_ms);
    if (s->home_datastore)
        json_object_set_string_member(o, "home_datastore", s->home_datastore);
    if (s->home_asked)
        json_object_set_boolean_member(o, "home_moved", s->home_moved);
    if (s->home_reason)
        json_object_set_string_member(o, "home_reason", s->home_reason);
    if (s->error) {
        JsonObject *e = json_object_new();
        VireoErrorCode code = s->error->domain == VIREO_ERROR ? (VireoErrorCode)s->error->code : VIREO_ERROR_ERROR;
        json_object_set_string_member(e, "error_type", vireo_error_type_name(code));
        json_object_set_string_member(e, "message", s->error->message);
        json_object_set_object_member(o, "error", e);
    }
    JsonNode *n = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(n, o);
    return n;
}

static void
relocate_status(ApiRequest *request, gpointer data)
{
    Vm *vm = api_lookup_vm(request, data);
    if (!vm)
        return;
    StorageProgress *s = records ? g_hash_table_lookup(records, vm->id) : NULL;
    if (!s) {
        g_autoptr(GError) error = g_error_new(VIREO_ERROR, VIREO_ERROR_NOT_FOUND,
                                              "virtual machine %s has not been relocated since this host started",
                                              vm->id);
        api_request_reply_error(request, error);
        return;
    }
    api_request_reply_json(request, 200, progress_json(s));
}

void
api_storage_progress_register(ApiServer *server, Host *host)
{
    api_server_add_route(server, "GET", "/api/vcenter/vm/{vm}", "relocate-status", relocate_status, host);
}
