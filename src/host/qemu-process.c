/* qemu-process.c — starting, finding and watching QEMU processes. */
#include "qemu-process.h"
#include "vireo-error.h"

#include <errno.h>
#include <glib-unix.h>
#include <stdlib.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct QemuProcess {
    GPid pid;
    GSubprocess *child;        /* when we started it */
    GCancellable *cancel;
    int pidfd;                 /* when attached */
    guint pidfd_source;
    guint poll_source;
    gboolean exited;
    QemuProcessExitFunc exit_func;
    gpointer exit_data;
};

static void
process_exited(QemuProcess *p, const char *reason)
{
    if (p->exited)
        return;
    p->exited = TRUE;
    if (p->exit_func)
        p->exit_func(p, reason, p->exit_data);
}

static void
child_setup(gpointer data)
{
    setsid();
}

static void
on_child_exit(GObject *source, GAsyncResult *res, gpointer data)
{
    GSubprocess *child = G_SUBPROCESS(source);
    g_autoptr(GError) error = NULL;
    if (!g_subprocess_wait_finish(child, res, &error))
        return; /* cancelled: the QemuProcess is being freed */
    QemuProcess *p = data;
    g_autofree char *reason = NULL;
    if (g_subprocess_get_if_signaled(child))
        reason = g_strdup_printf("killed by signal %d", g_subprocess_get_term_sig(child));
    else
        reason = g_strdup_printf("exited with status %d", g_subprocess_get_exit_status(child));
    process_exited(p, reason);
}

QemuProcess *
qemu_process_spawn(const char *const *argv, const char *log_path, GError **error)
{
    int log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "cannot open %s: %s", log_path,
                    g_strerror(errno));
        return NULL;
    }
    g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_NONE);
    g_subprocess_launcher_take_stdout_fd(launcher, dup(log_fd));
    g_subprocess_launcher_take_stderr_fd(launcher, log_fd);
    g_subprocess_launcher_set_child_setup(launcher, child_setup, NULL, NULL);
    GSubprocess *child = g_subprocess_launcher_spawnv(launcher, argv, error);
    if (!child)
        return NULL;
    QemuProcess *p = g_new0(QemuProcess, 1);
    p->child = child;
    p->pidfd = -1;
    p->pid = (GPid)atoi(g_subprocess_get_identifier(child));
    p->cancel = g_cancellable_new();
    g_subprocess_wait_async(child, p->cancel, on_child_exit, p);
    return p;
}

static gboolean
on_pidfd(gint fd, GIOCondition cond, gpointer data)
{
    QemuProcess *p = data;
    p->pidfd_source = 0;
    process_exited(p, "exited");
    return G_SOURCE_REMOVE;
}

static gboolean
on_poll(gpointer data)
{
    QemuProcess *p = data;
    if (kill(p->pid, 0) == 0 || errno == EPERM)
        return G_SOURCE_CONTINUE;
    p->poll_source = 0;
    process_exited(p, "exited");
    return G_SOURCE_REMOVE;
}

/* TRUE when /proc/<pid> is a qemu-system process started with pid_file. */
static gboolean
pid_is_our_qemu(GPid pid, const char *pid_file)
{
    g_autofree char *exe_link = g_strdup_printf("/proc/%d/exe", pid);
    g_autofree char *exe = g_file_read_link(exe_link, NULL);
    if (!exe)
        return FALSE;
    g_autofree char *base = g_path_get_basename(exe);
    if (!g_str_has_prefix(base, "qemu-system"))
        return FALSE;
    g_autofree char *cmd_path = g_strdup_printf("/proc/%d/cmdline", pid);
    g_autofree char *cmd = NULL;
    gsize len = 0;
    if (!g_file_get_contents(cmd_path, &cmd, &len, NULL))
        return FALSE;
    for (gsize off = 0; off < len; off += strlen(cmd + off) + 1) {
        if (g_str_equal(cmd + off, pid_file))
            return TRUE;
    }
    return FALSE;
}

QemuProcess *
qemu_process_attach(const char *pid_file, GError **error)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(pid_file, &text, NULL, NULL)) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "no pid file %s", pid_file);
        return NULL;
    }
    GPid pid = (GPid)atoi(g_strstrip(text));
    if (pid <= 1 || !pid_is_our_qemu(pid, pid_file)) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND,
                    "the QEMU of %s is no longer running", pid_file);
        return NULL;
    }
    QemuProcess *p = g_new0(QemuProcess, 1);
    p->pid = pid;
    p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (p->pidfd >= 0)
        p->pidfd_source = g_unix_fd_add(p->pidfd, G_IO_IN | G_IO_HUP, on_pidfd, p);
    else
        p->poll_source = g_timeout_add(1000, on_poll, p);
    return p;
}

void
qemu_process_free(QemuProcess *p)
{
    if (!p)
        return;
    if (p->cancel) {
        g_cancellable_cancel(p->cancel);
        g_object_unref(p->cancel);
    }
    g_clear_object(&p->child);
    g_clear_handle_id(&p->pidfd_source, g_source_remove);
    g_clear_handle_id(&p->poll_source, g_source_remove);
    if (p->pidfd >= 0)
        close(p->pidfd);
    g_free(p);
}

GPid
qemu_process_pid(QemuProcess *p)
{
    return p->pid;
}

gboolean
qemu_process_exited(QemuProcess *p)
{
    return p->exited;
}

void
qemu_process_set_exit_func(QemuProcess *p, QemuProcessExitFunc func, gpointer user_data)
{
    p->exit_func = func;
    p->exit_data = user_data;
}

void
qemu_process_kill(QemuProcess *p, int signal_number)
{
    if (!p->exited && p->pid > 1)
        kill(p->pid, signal_number);
}
