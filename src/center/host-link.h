/* host-link.h — the centre's connection to one managed vireo-hostd.
 *
 * A HostLink talks to one host's HTTPS API with the credentials the centre
 * holds, on worker threads (the API client is synchronous; the centre's main
 * loop never blocks on a host). It keeps the host's connection state from
 * heartbeats, re-logs in when the host forgets the session, and gathers the
 * host's inventory into a HostSnapshot that the centre reconciles with
 * host_reconcile_diff().
 *
 * Threading: create, use and free a HostLink on one thread (the "owner"),
 * whose thread-default GMainContext at host_link_new() must be iterated:
 * every callback (replies, state changes, snapshots) runs there, and may
 * free the link.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct HostLink HostLink;

typedef enum {
    HOST_LINK_STATE_CONNECTED,      /* heartbeats answered */
    HOST_LINK_STATE_DISCONNECTED,   /* the centre stopped talking to it */
    HOST_LINK_STATE_NOT_RESPONDING, /* heartbeats unanswered */
    HOST_LINK_N_STATES
} HostLinkState;

/* "CONNECTED", "DISCONNECTED", "NOT_RESPONDING" (vCenter's names). */
const char *host_link_state_to_string(HostLinkState state);
gboolean host_link_state_from_string(const char *s, HostLinkState *out);

#define HOST_LINK_DEFAULT_PORT 443
#define HOST_LINK_DEFAULT_INTERVAL_MS 5000
#define HOST_LINK_DEFAULT_MISSES 3
#define HOST_LINK_DEFAULT_HEARTBEAT_TIMEOUT_S 4
#define HOST_LINK_DEFAULT_REQUEST_TIMEOUT_S 60

/* ---- snapshot: what a host holds, as plain structs ---- */

typedef struct {
    char *id;            /* on the host: "datastore-1" */
    char *uuid;          /* from the datastore's .vireo-datastore; NULL if the host has none */
    char *name;
    char *path;          /* the folder on the host */
    char *type;
    gboolean accessible;
    gint64 capacity;     /* bytes */
    gint64 free_space;
    gint64 provisioned;
} HostSnapshotDatastore;

typedef struct {
    char *id;            /* on the host: "network-1" */
    char *name;          /* the port group name */
    gint64 vlan;
    char *vswitch;
} HostSnapshotNetwork;

typedef struct {
    char *id;            /* on the host: "vm-3" */
    char *name;
    char *power_state;   /* "POWERED_ON", "POWERED_OFF", "SUSPENDED" */
    gint64 cpu_count;
    gint64 memory_mib;
    char *vmx_path;      /* "[local1] web-01/web-01.vmx" */
    char *datastore;     /* the name between the brackets of vmx_path */
    gboolean template;
    JsonNode *info;      /* the host's whole GET /api/vcenter/vm/{vm} answer */
} HostSnapshotVm;

typedef struct {
    char *host_id;       /* the host's own id: "ha-host" */
    char *name;
    char *thumbprint;    /* as the host reports its certificate */
    char *version;
    char *accelerator;   /* "TCG" / "KVM" */
    char *vmotion_address;
    gint64 cpu_count;
    char *cpu_model;
    gint64 memory_mib;
    gint64 memory_free_mib;
    GPtrArray *datastores; /* HostSnapshotDatastore */
    GPtrArray *networks;   /* HostSnapshotNetwork */
    GPtrArray *vms;        /* HostSnapshotVm */
} HostSnapshot;

void host_snapshot_free(HostSnapshot *snap);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HostSnapshot, host_snapshot_free)

/* The VM with that host-side id, or NULL. */
const HostSnapshotVm *host_snapshot_find_vm(const HostSnapshot *snap, const char *id);

/* One GET against the host for host_snapshot_gather: TRUE and *answer (transfer
 * full, may be NULL) or FALSE and error (a VIREO_ERROR). */
typedef gboolean (*HostSnapshotGetFunc)(const char *path, JsonNode **answer, gpointer data,
                                        GError **error);

/* Gathers a snapshot with GETs of /api/vcenter/host (+ its detail),
 * /datastore (+ each detail), /network, /vm (+ each VM's info). A VM that
 * vanishes between the list and its info (404) is left out; any other error
 * fails the whole snapshot. Used by the link's worker; blocking. */
HostSnapshot *host_snapshot_gather(HostSnapshotGetFunc get, gpointer data, GError **error);

/* ---- reconciliation: the centre's VMs of a host against a snapshot ---- */

/* A VM the centre believes is on the host (strings borrowed). */
typedef struct {
    const char *centre_id;   /* "vm-42" */
    const char *host_id;     /* "vm-3" on the host */
    const char *name;
    const char *power_state;
    const char *vmx_path;
} HostKnownVm;

typedef enum {
    HOST_RECONCILE_NAME        = 1 << 0,
    HOST_RECONCILE_POWER_STATE = 1 << 1,
    HOST_RECONCILE_HOST_ID     = 1 << 2, /* re-registered on the host: same files, new id */
    HOST_RECONCILE_VMX_PATH    = 1 << 3, /* same id, its files moved */
} HostReconcileFields;

typedef struct {
    char *centre_id;
    char *host_id;           /* the values now on the host */
    char *name;
    char *power_state;
    char *vmx_path;
    HostReconcileFields fields; /* which of them differ from what the centre knew */
} HostReconcileChange;

typedef struct {
    GPtrArray *added;    /* char *: host-side ids of VMs the centre does not know */
    GPtrArray *removed;  /* char *: centre ids of VMs no longer on the host */
    GPtrArray *changed;  /* HostReconcileChange */
} HostReconcile;

/* Pure. A known VM is the snapshot's VM with the same host-side id and
 * vmx_path; failing that, the same vmx_path (the host re-registered it);
 * failing that, the same id (its files moved). Each snapshot VM matches at
 * most one known VM; removed and changed keep the order of known, added the
 * order of the snapshot. */
HostReconcile *host_reconcile_diff(const HostSnapshot *snap, const HostKnownVm *known,
                                   gsize n_known);
void host_reconcile_free(HostReconcile *diff);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HostReconcile, host_reconcile_free)

/* ---- the link ---- */

/* status: the HTTP status (0 when there was no answer); answer: the parsed
 * body (borrowed, NULL when none or on error); error: NULL on success, else
 * a VIREO_ERROR as api-client maps the host's answer, SERVICE_UNAVAILABLE
 * naming the host when it does not answer or is not connected, or
 * G_IO_ERROR_CANCELLED when the link was freed first. */
typedef void (*HostLinkReply)(HostLink *link, guint status, JsonNode *answer,
                              const GError *error, gpointer user_data);
/* snapshot: transfer full (NULL on error). */
typedef void (*HostLinkSnapshotFunc)(HostLink *link, HostSnapshot *snapshot,
                                     const GError *error, gpointer user_data);
typedef void (*HostLinkStateFunc)(HostLink *link, HostLinkState old_state,
                                  HostLinkState new_state, gpointer user_data);

/* Connects without trusting the certificate, to learn its SHA-256
 * thumbprint ("AB:CD:…") for "accept this host's thumbprint?". Blocking
 * (at most the connect timeout). port 0: 443. */
gboolean host_link_probe_sync(const char *address, guint port, char **out_thumbprint,
                              GError **error);

/* Starts the worker threads and heartbeats at once. thumbprint: the only
 * certificate accepted (NULL: none is, every request fails UNAUTHENTICATED).
 * The state starts CONNECTED (the centre adds a host it has just reached);
 * a first heartbeat that fails makes it NOT_RESPONDING at once. */
HostLink *host_link_new(const char *address, guint port, const char *user,
                        const char *password, const char *thumbprint);
/* Stops both threads (waiting at most for a request in flight to end or
 * time out); every reply not yet delivered is delivered now: the result when
 * the host had answered, else G_IO_ERROR_CANCELLED. No callback runs after. */
void host_link_free(HostLink *link);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HostLink, host_link_free)

const char *host_link_get_address(HostLink *link);
guint host_link_get_port(HostLink *link);
HostLinkState host_link_get_state(HostLink *link);

/* Heartbeat every interval_ms; NOT_RESPONDING after `misses` consecutive
 * unanswered ones, each given timeout_s (rounded up by the client to whole
 * seconds). A frozen host is NOT_RESPONDING within about
 * misses * max(interval, timeout). 0 keeps a value. */
void host_link_set_heartbeat(HostLink *link, guint interval_ms, guint misses, guint timeout_s);
/* Seconds an ordinary request may wait for its answer (default 60). */
void host_link_set_request_timeout(HostLink *link, guint timeout_s);

/* Called on every state change (on the owner's context). */
void host_link_set_state_func(HostLink *link, HostLinkStateFunc func, gpointer user_data);
/* Called with a fresh snapshot whenever the host becomes CONNECTED again
 * after NOT_RESPONDING or a reconnect, so the centre can reconcile. */
void host_link_set_snapshot_func(HostLink *link, HostLinkSnapshotFunc func, gpointer user_data);

/* Stops heartbeats; the state becomes DISCONNECTED and requests fail. */
void host_link_disconnect(HostLink *link);
/* Restarts heartbeats; CONNECTED (and a snapshot) on the first answer,
 * NOT_RESPONDING if it fails. */
void host_link_reconnect(HostLink *link);

/* Queues one request. path may carry an escaped query ("…/power?action=start").
 * body: transfer full, nullable. Requests run one at a time, in order; while
 * the host is NOT_RESPONDING or DISCONNECTED they fail at once with
 * SERVICE_UNAVAILABLE. A 401 (session expired, host restarted) logs in again
 * and retries once. */
void host_link_request(HostLink *link, const char *method, const char *path, JsonNode *body,
                       HostLinkReply callback, gpointer user_data);
/* Queues the gathering of a snapshot (in order with requests). */
void host_link_fetch_snapshot(HostLink *link, HostLinkSnapshotFunc callback, gpointer user_data);

G_END_DECLS
