/* vm-migrate-nbd-private.h — the state of one vMotion + Storage vMotion on
 * this host, shared by vm-migrate-nbd.c (files, destination, hooks) and
 * vm-migrate-nbd-mirror.c (the source's mirrors and switch-over).
 */
#pragma once

#include "vm-migrate-nbd.h"

G_BEGIN_DECLS

typedef struct {
    char *device;       /* "scsi0-0": the device id the argv builder gives */
    char *desc;         /* source: the descriptor, deleted at confirm */
    gboolean thin;
    char *export_name;  /* the destination's node: "drive-scsi0-0" */
    char *source_node;  /* source: the device's current format node */
    char *target_node;  /* source: the NBD client node */
    char *job;
    gboolean node_added, job_started, ready, concluded;
    char *job_error;
    gint64 done_bytes, total_bytes;
} NbdDisk;

typedef enum {
    NBD_PHASE_NONE,       /* "none" */
    NBD_PHASE_MIRRORING,  /* "mirroring": disks copying, not all in sync */
    NBD_PHASE_MEMORY,     /* "memory": every disk in sync, memory pre-copy */
    NBD_PHASE_SWITCHING,  /* "switching": guest paused, mirrors completing */
    NBD_PHASE_COPIED,     /* "copied": the destination has disks and memory */
    NBD_PHASE_FAILED,     /* "failed" */
} NbdPhase;
const char *nbd_phase_to_string(NbdPhase phase);

typedef struct {
    Host *host;
    char *migration;
    char *vm;               /* the VM's id on this host (NULL before registration) */
    gboolean source;
    GPtrArray *disks;       /* NbdDisk* */
    NbdPhase phase;
    /* destination */
    char *folder;           /* created by prepare: removed on cancel */
    char *nbd_host;
    guint nbd_port;
    /* source */
    char *tls_creds;
    gboolean cancel_requested;
    gboolean busy;          /* a mirror or switch-over runs: it ends the move on cancel */
    gboolean switched;      /* the mirrors completed at the pause before switch-over */
    GError *error;          /* why the disk copy failed */
    gint64 started_us, ready_us, pause_us, switch_us, copied_us;
} NbdMove;

NbdMove *nbd_move_lookup(const char *migration);
NbdMove *nbd_move_of(Vm *vm);
NbdMove *nbd_move_add(Host *host, const char *migration, gboolean source);
void nbd_move_remove(NbdMove *mv);

/* QMP on the VM's monitor; a VM or QEMU gone answers an error from the
 * main loop (results: nbd_qmp_finish). */
void nbd_qmp(Vm *vm, const char *command, JsonObject *args, GAsyncReadyCallback cb, gpointer data);
JsonNode *nbd_qmp_finish(GAsyncResult *res, GError **error);

/* cancel (source, vm-migrate-nbd-mirror.c): stops what runs, forgets mv. */
void nbd_mirror_cancel(Vm *vm, NbdMove *mv);

G_END_DECLS
