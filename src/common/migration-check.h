/* migration-check.h — the decisions the centre takes before any migration:
 * which kind it is, every reason it would fail (migration-check.c), and
 * whether the concurrency limits let it start now (migration-cost.c).
 *
 * All of it is pure: plain structs in, plain results out; no I/O, clock or
 * process. The centre fills the inputs from its inventory, calls
 * migration_check() (also for a dry run), and runs the migration through a
 * MigrationCosts tracker and a MigrationQueue so that a migration over the
 * limits waits instead of failing. Objects are named in messages by the ids
 * given here, so pass the names a user knows (host and datastore names).
 */
#pragma once

#include <glib.h>

#include "vm-config.h"

G_BEGIN_DECLS

/* Each enum has a string table: _to_string gives a stable lower-case name. */

typedef enum {
    MIGRATION_KIND_NONE,                    /* "none": nothing would move */
    MIGRATION_KIND_COLD,                    /* "cold": VM off or suspended */
    MIGRATION_KIND_VMOTION,                 /* "vmotion": running, host only */
    MIGRATION_KIND_STORAGE_VMOTION,         /* "storage-vmotion": running, datastore only */
    MIGRATION_KIND_VMOTION_STORAGE_VMOTION, /* "vmotion-storage-vmotion": running, both */
} MigrationKind;
const char *migration_kind_to_string(MigrationKind kind);

typedef enum {
    MIGRATION_ENCRYPTION_DISABLED,      /* "disabled" */
    MIGRATION_ENCRYPTION_OPPORTUNISTIC, /* "opportunistic": the default */
    MIGRATION_ENCRYPTION_REQUIRED,      /* "required" */
} MigrationEncryption;
const char *migration_encryption_to_string(MigrationEncryption mode);
gboolean migration_encryption_from_string(const char *s, MigrationEncryption *out);

typedef enum {
    MIGRATION_HOST_CONNECTED,      /* "connected" */
    MIGRATION_HOST_DISCONNECTED,   /* "disconnected" */
    MIGRATION_HOST_NOT_RESPONDING, /* "not-responding" */
} MigrationHostConnection;
const char *migration_host_connection_to_string(MigrationHostConnection state);

typedef enum {
    MIGRATION_CDROM_ISO_FILE,     /* an image file */
    MIGRATION_CDROM_HOST_DEVICE,  /* the host's own drive: never follows the VM */
    MIGRATION_CDROM_CLIENT_DEVICE,/* a client's drive (remote console): host-independent */
} MigrationCdromBacking;

/* ---- inputs -------------------------------------------------------------- */

typedef struct {
    char *label;       /* "scsi0:0", shown in messages */
    char *datastore;   /* the datastore holding the disk */
} MigrationDisk;

typedef struct {
    char *label;       /* "ethernet0" */
    char *port_group;  /* NULL: not attached to a network */
} MigrationNic;

typedef struct {
    char *label;                   /* "ide1:0" */
    MigrationCdromBacking backing;
    /* ISO_FILE only: the datastore holding the image, or NULL when the image
     * is a path on the host's own filesystem (outside every datastore). */
    char *iso_datastore;
    gboolean connected;
} MigrationCdrom;

typedef struct {
    char *name;
    VmPowerState power_state;
    guint64 memory_mib;
    char *home_datastore;  /* where the .vmx lives; moves with request->datastore */
    GPtrArray *disks;      /* MigrationDisk */
    GPtrArray *nics;       /* MigrationNic */
    GPtrArray *cdroms;     /* MigrationCdrom */
    /* The CPU features the running VM was started with (EVC baseline or
     * host's model), NULL when unknown. */
    GStrv cpu_features;
    char *evc_mode;        /* the EVC mode the VM runs under, NULL for none */
    MigrationEncryption encryption;
} MigrationVm;

MigrationVm *migration_vm_new(const char *name, VmPowerState power_state,
                              guint64 memory_mib, const char *home_datastore);
void migration_vm_free(MigrationVm *vm);
void migration_vm_add_disk(MigrationVm *vm, const char *label, const char *datastore);
void migration_vm_add_nic(MigrationVm *vm, const char *label, const char *port_group);
void migration_vm_add_cdrom(MigrationVm *vm, const char *label, MigrationCdromBacking backing,
                            const char *iso_datastore, gboolean connected);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MigrationVm, migration_vm_free)

typedef struct {
    char *id;              /* host id, compared to tell "same host" */
    char *name;            /* shown in messages */
    MigrationHostConnection connection_state;
    gboolean in_maintenance;
    guint64 free_memory_mib;
    GStrv datastores;      /* datastores it mounts */
    GStrv port_groups;     /* port groups of its virtual switches */
    char *vmotion_address; /* IPv4 or IPv6 literal; NULL: no vMotion interface */
    guint vmotion_link_mbps; /* 0: unknown, counted as 1 Gb/s */
    /* What a VM can be given on this host: the cluster's EVC baseline when
     * EVC is on, the host CPU's own features otherwise. */
    GStrv cpu_features;
    char *evc_mode;        /* the cluster's EVC mode, NULL for none */
    gboolean supports_encryption; /* can carry a migration over TLS */
} MigrationHost;

/* A host that is connected, out of maintenance, with no datastores, port
 * groups or features yet: fill the rest field by field (fields are owned). */
MigrationHost *migration_host_new(const char *id, const char *name);
void migration_host_free(MigrationHost *host);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MigrationHost, migration_host_free)

/* Where the VM should go, as vSphere's RelocateSpec says it: `datastore`
 * moves the VM's home and every disk not named in `disk_datastores`; a disk
 * named there moves to its own datastore. The request borrows everything. */
typedef struct {
    const MigrationHost *source;       /* the host the VM is registered on */
    const MigrationHost *destination;  /* NULL: stay on the source */
    const char *datastore;             /* NULL: stay where they are */
    GHashTable *disk_datastores;       /* disk label -> datastore, or NULL */
} MigrationRequest;

/* The host the VM ends on: the destination, or the source when NULL. */
const MigrationHost *migration_request_target_host(const MigrationRequest *request);
/* The datastore a disk ends on; disk NULL: the VM's home (.vmx). */
const char *migration_request_target_datastore(const MigrationRequest *request,
                                               const MigrationVm *vm,
                                               const MigrationDisk *disk);
/* The kind from the VM's power state and what changes: NONE when neither
 * the host nor any file's datastore changes. */
MigrationKind migration_kind_decide(const MigrationVm *vm, const MigrationRequest *request);

/* ---- the compatibility check --------------------------------------------- */

typedef enum {
    MIGRATION_SEVERITY_ERROR,   /* "error": the migration cannot run */
    MIGRATION_SEVERITY_WARNING, /* "warning": it runs, but read this */
} MigrationSeverity;
const char *migration_severity_to_string(MigrationSeverity severity);

typedef enum {
    MIGRATION_ISSUE_SAME_PLACEMENT,              /* "same-placement" */
    MIGRATION_ISSUE_DISK_UNKNOWN,                /* "disk-unknown" */
    MIGRATION_ISSUE_HOST_NOT_RESPONDING,         /* "host-not-responding" */
    MIGRATION_ISSUE_HOST_MAINTENANCE,            /* "host-maintenance" */
    MIGRATION_ISSUE_DATASTORE_UNREACHABLE,       /* "datastore-unreachable" */
    MIGRATION_ISSUE_PORTGROUP_MISSING,           /* "portgroup-missing" */
    MIGRATION_ISSUE_MEMORY_INSUFFICIENT,         /* "memory-insufficient" */
    MIGRATION_ISSUE_CDROM_HOST_LOCAL,            /* "cdrom-host-local" */
    MIGRATION_ISSUE_VMOTION_NOT_CONFIGURED,      /* "vmotion-not-configured" */
    MIGRATION_ISSUE_VMOTION_ADDRESS_FAMILY,      /* "vmotion-address-family" */
    MIGRATION_ISSUE_VMOTION_LINK_SLOW,           /* "vmotion-link-slow" */
    MIGRATION_ISSUE_CPU_INCOMPATIBLE,            /* "cpu-incompatible" */
    MIGRATION_ISSUE_CPU_UNKNOWN,                 /* "cpu-unknown" */
    MIGRATION_ISSUE_ENCRYPTION_REQUIRED_UNSUPPORTED, /* "encryption-required-unsupported" */
    MIGRATION_ISSUE_ENCRYPTION_UNAVAILABLE,      /* "encryption-unavailable" */
    MIGRATION_ISSUE_DATASTORE_SPACE,             /* "datastore-space": Storage vMotion, center-storage-migrate.c */
    MIGRATION_ISSUE_DATASTORE_OVERCOMMIT,        /* "datastore-overcommit": thin disks could outgrow it */
} MigrationIssueCode;
const char *migration_issue_code_to_string(MigrationIssueCode code);

typedef struct {
    MigrationSeverity severity;
    MigrationIssueCode code;
    char *message;   /* one sentence: what is wrong, naming objects, and what to do */
} MigrationIssue;

typedef struct {
    MigrationKind kind;
    GPtrArray *issues;   /* MigrationIssue, in a stable order; every reason, not the first */
} MigrationReport;

void migration_report_free(MigrationReport *report);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MigrationReport, migration_report_free)

/* Decide the kind of migration and list every reason it would fail (errors)
 * or deserves attention (warnings), as vCenter's compatibility check does.
 * Never NULL. */
MigrationReport *migration_check(const MigrationVm *vm, const MigrationRequest *request);

guint migration_report_count(const MigrationReport *report, MigrationSeverity severity);
/* The first issue with this code, or NULL. */
const MigrationIssue *migration_report_find(const MigrationReport *report,
                                            MigrationIssueCode code);
/* TRUE when there is no error. Otherwise sets a VIREO_ERROR whose message
 * lists every error ("; "-separated): ALREADY_IN_DESIRED_STATE when the only
 * error is same-placement, INVALID_ARGUMENT for an unknown disk,
 * NOT_ALLOWED_IN_CURRENT_STATE otherwise. */
gboolean migration_report_to_error(const MigrationReport *report, GError **error);

/* Features of `wanted` that `offered` lacks, sorted; NULL-terminated, never NULL. */
GStrv migration_features_missing(const char *const *wanted, const char *const *offered);

/* ---- concurrency limits (migration-cost.c) ------------------------------- */

/* vSphere's "Limits on Simultaneous Migrations": each migration charges a
 * cost against each host, each host's vMotion network and each datastore it
 * involves; one that would push any of them past its maximum waits. */
typedef enum {
    MIGRATION_RESOURCE_HOST,      /* "host": max 8; vMotion 1, Storage vMotion 4 */
    MIGRATION_RESOURCE_NETWORK,   /* "network": a host's vMotion link; 4 below 10 Gb/s, 8 from it */
    MIGRATION_RESOURCE_DATASTORE, /* "datastore": max 128; vMotion 1, Storage vMotion 16 */
} MigrationResource;
const char *migration_resource_to_string(MigrationResource resource);

typedef struct {
    guint network_max_slow;   /* vMotions per host below fast_link_mbps: 4 */
    guint network_max_fast;   /* vMotions per host at fast_link_mbps and up: 8 */
    guint fast_link_mbps;     /* 10000 */
    guint host_max;           /* 8 */
    guint datastore_max;      /* 128 */
} MigrationLimits;
void migration_limits_init_default(MigrationLimits *limits);

typedef struct {
    MigrationResource resource;
    char *id;         /* host id or datastore */
    char *name;       /* shown in messages */
    guint cost;
    guint link_mbps;  /* NETWORK only: picks its maximum */
} MigrationCharge;

/* What one migration charges, computed once from its request. */
typedef struct {
    MigrationKind kind;
    char *vm_name;
    GPtrArray *charges;  /* MigrationCharge, one per resource */
} MigrationDemand;

/* The charges of moving `vm` as `request` asks (kind as migration_check()
 * decides it; no charges for MIGRATION_KIND_NONE). */
MigrationDemand *migration_demand_new(const MigrationVm *vm, const MigrationRequest *request);
void migration_demand_free(MigrationDemand *demand);
/* The charge against one resource, or NULL when the demand does not touch it. */
const MigrationCharge *migration_demand_find(const MigrationDemand *demand,
                                             MigrationResource resource, const char *id);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MigrationDemand, migration_demand_free)

typedef struct _MigrationCosts MigrationCosts;

/* limits: NULL for the defaults; copied. */
MigrationCosts *migration_costs_new(const MigrationLimits *limits);
void migration_costs_free(MigrationCosts *costs);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MigrationCosts, migration_costs_free)

/* The maximum of a resource (link_mbps matters for NETWORK only). */
guint migration_costs_max(const MigrationCosts *costs, MigrationResource resource,
                          guint link_mbps);
/* The cost in flight against a resource. */
guint migration_costs_in_use(const MigrationCosts *costs, MigrationResource resource,
                             const char *id);
/* TRUE when the demand fits every limit now. Otherwise FALSE and, when
 * waiting_reason is not NULL, a message naming every resource that is full:
 * "waiting: host esx-a runs 8 of 8 vMotion slots (10000 Mb/s vMotion link)".
 * A charge bigger than a resource's maximum fits only when the resource is
 * idle, so a limit set too low slows migrations but never blocks one forever. */
gboolean migration_costs_can_start(const MigrationCosts *costs, const MigrationDemand *demand,
                                   char **waiting_reason);
/* Charge / release a demand (borrowed). _start does not check: call
 * migration_costs_can_start() or go through the queue. */
void migration_costs_start(MigrationCosts *costs, const MigrationDemand *demand);
void migration_costs_finish(MigrationCosts *costs, const MigrationDemand *demand);

/* A FIFO of migrations waiting for their turn. Fairness: a migration that
 * found a resource full reserves it until it starts, so no later migration
 * may take that resource ahead of it; later migrations that touch none of
 * the resources reserved ahead of them may start first. */
typedef struct _MigrationQueue MigrationQueue;

MigrationQueue *migration_queue_new(void);
void migration_queue_free(MigrationQueue *queue);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MigrationQueue, migration_queue_free)
guint migration_queue_length(const MigrationQueue *queue);
/* Queue a migration: takes the demand; `data` (e.g. its task) is borrowed
 * and identifies it. */
void migration_queue_push(MigrationQueue *queue, MigrationDemand *demand, gpointer data);
/* The first queued migration allowed to start under the fairness rule:
 * removed from the queue, charged to `costs`, its demand handed to the
 * caller (for migration_costs_finish()) and its data returned. NULL when
 * none may start. Call again until NULL after every finish. */
gpointer migration_queue_next_startable(MigrationQueue *queue, MigrationCosts *costs,
                                        MigrationDemand **demand_out);
/* Remove a queued migration (cancelled task). FALSE when not queued. */
gboolean migration_queue_remove(MigrationQueue *queue, gpointer data);
/* What a queued migration's task should say: "queued behind 2 migrations;
 * waiting: …". NULL when `data` is not queued. */
char *migration_queue_describe(const MigrationQueue *queue, const MigrationCosts *costs,
                               gpointer data);

G_END_DECLS
