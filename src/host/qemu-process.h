/* qemu-process.h — one QEMU process: started by this daemon, or found again
 * after a restart through its pid file. QEMU runs in its own session so that
 * it outlives vireo-hostd (a kill -9 of the daemon leaves VMs running).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct QemuProcess QemuProcess;

/* Runs once when the process is gone; reason: "exited with status 1",
 * "killed by signal 9", "exited" (when not our child, the status is unknown). */
typedef void (*QemuProcessExitFunc)(QemuProcess *process, const char *reason, gpointer user_data);

/* Starts argv with stdout and stderr appended to log_path, in a new session. */
QemuProcess *qemu_process_spawn(const char *const *argv, const char *log_path, GError **error);
/* Finds a running QEMU from its pid file: the pid must be alive and be a
 * qemu-system binary whose command line names pid_file. */
QemuProcess *qemu_process_attach(const char *pid_file, GError **error);
void qemu_process_free(QemuProcess *process);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QemuProcess, qemu_process_free)

GPid qemu_process_pid(QemuProcess *process);
gboolean qemu_process_exited(QemuProcess *process);
void qemu_process_set_exit_func(QemuProcess *process, QemuProcessExitFunc func, gpointer user_data);
void qemu_process_kill(QemuProcess *process, int signal_number);

G_END_DECLS
