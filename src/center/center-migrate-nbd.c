/* center-migrate-nbd.c — vMotion + Storage vMotion on the centre's side:
 * the extra members of the five steps (docs/migration.md, "vMotion +
 * Storage vMotion"), the disk copy's progress during perform and its
 * timeout. center-migrate.c calls these hooks; the state of each migration
 * (begin's files, prepare's NBD address, the progress poller) lives here,
 * keyed by the migration id, until center_nbd_forget().
 */
#include "center-migrate-nbd.h"

#include "json-util.h"
#include "vireo-error.h"

#define PROGRESS_INTERVAL_MS 500
/* The disks' copy is given this rate on top of the memory copy's time,
 * for the perform's answer: a slow rate, so that big disks do not fail a
 * migration that is still advancing (the hosts' watchdogs stop stuck ones). */
#define DISK_COPY_MIB_PER_S 10
#define PERFORM_TIMEOUT_MAX_S (7 * 24 * 3600)

typedef struct {
    Center *c;
    char *host;
    char *migration;
    CenterNbdProgressFunc report;
    gpointer data;
    guint timer;
    gboolean asking;       /* a request is in flight: its answer frees a stopped poller */
    gboolean stopped;
} Poller;

typedef struct {
    JsonNode *files;       /* begin's "files" */
    JsonNode *nbd;         /* prepare's "nbd" */
    Poller *poller;
} NbdState;

/* migration id -> NbdState* */
static GHashTable *states;

static void
poller_stop(Poller *p)
{
    if (!p)
        return;
    g_clear_handle_id(&p->timer, g_source_remove);
    p->stopped = TRUE;
    if (p->asking)
        return; /* freed by on_progress */
    g_free(p->host);
    g_free(p->migration);
    g_free(p);
}

static void
state_free(NbdState *s)
{
    if (s->files)
        json_node_unref(s->files);
    if (s->nbd)
        json_node_unref(s->nbd);
    poller_stop(s->poller);
    g_free(s);
}

static NbdState *
state_of(const char *migration, gboolean create)
{
    if (!states)
        states = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)state_free);
    NbdState *s = g_hash_table_lookup(states, migration);
    if (!s && create) {
        s = g_new0(NbdState, 1);
        g_hash_table_insert(states, g_strdup(migration), s);
    }
    return s;
}

void
center_nbd_forget(const char *migration)
{
    if (states && migration)
        g_hash_table_remove(states, migration);
}

StoreObject *
center_nbd_target_datastore(Center *c, ApiRequest *request, const char *id)
{
    g_autoptr(StoreObject) ds = store_object_get(c->store, id, NULL);
    if (!ds || !g_str_equal(ds->kind, STORE_KIND_DATASTORE) ||
        !center_can_see(c, api_request_user(request), ds->id)) {
        center_reply_error(request, VIREO_ERROR_NOT_FOUND, "no datastore '%s'", id);
        return NULL;
    }
    if (!center_authorize(c, request, ds->id, "Datastore.AllocateSpace"))
        return NULL;
    return g_steal_pointer(&ds);
}

/* ---- the steps' bodies and answers ---------------------------------------- */

void
center_nbd_begin_body(const CenterMigrationSpec *spec, JsonObject *body)
{
    if (spec->datastore)
        json_object_set_boolean_member(body, "with_files", TRUE);
}

void
center_nbd_prepare_body(const CenterMigrationSpec *spec, const char *migration, JsonObject *body)
{
    NbdState *s = spec->datastore ? state_of(migration, FALSE) : NULL;
    if (!s || !s->files)
        return;
    json_object_set_string_member(body, "datastore", spec->datastore_name);
    json_object_set_member(body, "files", json_node_copy(s->files));
}

void
center_nbd_perform_body(const CenterMigrationSpec *spec, const char *migration, JsonObject *body)
{
    NbdState *s = spec->datastore ? state_of(migration, FALSE) : NULL;
    if (s && s->nbd)
        json_object_set_member(body, "nbd", json_node_copy(s->nbd));
}

static gboolean
take_member(const CenterMigrationSpec *spec, const char *migration, JsonObject *answer, const char *member,
            const char **missing)
{
    if (!spec->datastore)
        return TRUE;
    JsonNode *n = answer ? json_object_get_member(answer, member) : NULL;
    if (!n || !JSON_NODE_HOLDS_OBJECT(n)) {
        *missing = member;
        return FALSE;
    }
    NbdState *s = state_of(migration, TRUE);
    JsonNode **slot = g_str_equal(member, "files") ? &s->files : &s->nbd;
    if (*slot)
        json_node_unref(*slot);
    *slot = json_node_copy(n);
    return TRUE;
}

gboolean
center_nbd_take_begin(const CenterMigrationSpec *spec, const char *migration, JsonObject *answer,
                      const char **missing)
{
    return take_member(spec, migration, answer, "files", missing);
}

gboolean
center_nbd_take_prepare(const CenterMigrationSpec *spec, const char *migration, JsonObject *answer,
                        const char **missing)
{
    return take_member(spec, migration, answer, "nbd", missing);
}

/* ---- perform: timeout and progress ------------------------------------------ */

static guint64
disk_bytes(NbdState *s)
{
    JsonObject *files = s && s->files ? json_node_get_object(s->files) : NULL;
    JsonNode *n = files ? json_object_get_member(files, "disks") : NULL;
    JsonArray *disks = n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
    guint64 total = 0;
    for (guint i = 0; disks && i < json_array_get_length(disks); i++) {
        JsonNode *e = json_array_get_element(disks, i);
        if (JSON_NODE_HOLDS_OBJECT(e))
            total += (guint64)MAX(json_object_get_int_member_with_default(json_node_get_object(e), "capacity", 0), 0);
    }
    return total;
}

static gboolean poll_progress(gpointer data);

static void
on_progress(HostLink *link, guint status, JsonNode *answer, const GError *error, gpointer data)
{
    Poller *p = data;
    p->asking = FALSE;
    if (p->stopped) {
        poller_stop(p);
        return;
    }
    JsonObject *o = !error && answer && JSON_NODE_HOLDS_OBJECT(answer) ? json_node_get_object(answer) : NULL;
    const char *phase = o ? json_object_get_string_member_with_default(o, "phase", "") : "";
    gint64 pct = o ? CLAMP(json_object_get_int_member_with_default(o, "percent", 0), 0, 100) : 0;
    if (g_str_equal(phase, "mirroring")) {
        g_autofree char *msg = g_strdup_printf("perform: mirroring disks %" G_GINT64_FORMAT "%%", pct);
        p->report(p->data, 20 + (int)pct / 2, msg);
    } else if (g_str_equal(phase, "memory")) {
        p->report(p->data, 72, "perform: disks in sync; copying memory, then switching over");
    } else if (g_str_equal(phase, "switching")) {
        p->report(p->data, 85, "perform: switching over (completing the disk copies)");
    }
    p->timer = g_timeout_add(PROGRESS_INTERVAL_MS, poll_progress, p);
}

static gboolean
poll_progress(gpointer data)
{
    Poller *p = data;
    p->timer = 0;
    HostLink *link = center_host_link(p->c, p->host, NULL);
    if (!link) {
        p->timer = g_timeout_add(PROGRESS_INTERVAL_MS, poll_progress, p);
        return G_SOURCE_REMOVE;
    }
    JsonObject *o = json_object_new();
    json_object_set_string_member(o, "migration", p->migration);
    JsonNode *body = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(body, o);
    p->asking = TRUE;
    host_link_request(link, "POST", "/api/vireo/migration?action=mirror-progress", body, on_progress, p);
    return G_SOURCE_REMOVE;
}

void
center_nbd_perform_started(Center *c, const CenterMigrationSpec *spec, const char *migration,
                           CenterNbdProgressFunc report, gpointer data)
{
    NbdState *s = spec->datastore ? state_of(migration, FALSE) : NULL;
    HostLink *link = s ? center_host_link(c, spec->source, NULL) : NULL;
    if (!s || !link)
        return;
    guint64 seconds = CENTER_MIGRATION_PERFORM_TIMEOUT_S + disk_bytes(s) / (DISK_COPY_MIB_PER_S << 20);
    host_link_set_request_timeout(link, (guint)MIN(seconds, PERFORM_TIMEOUT_MAX_S));
    poller_stop(s->poller);
    Poller *p = g_new0(Poller, 1);
    p->c = c;
    p->host = g_strdup(spec->source);
    p->migration = g_strdup(migration);
    p->report = report;
    p->data = data;
    p->timer = g_timeout_add(PROGRESS_INTERVAL_MS, poll_progress, p);
    s->poller = p;
}

void
center_nbd_perform_ended(const char *migration)
{
    NbdState *s = states && migration ? state_of(migration, FALSE) : NULL;
    if (s)
        g_clear_pointer(&s->poller, poller_stop);
}

void
center_nbd_inventory(const CenterMigrationSpec *spec, JsonObject *attrs)
{
    if (spec->datastore)
        json_object_set_string_member(attrs, STORE_ATTR_VM_DATASTORE, spec->datastore);
}
