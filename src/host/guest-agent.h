/* guest-agent.h — the host's end of the vireo-tools channel (docs/guest-agent.md).
 *
 * One GuestAgent per powered-on VM: it connects to the VM's agent unix socket
 * (QEMU's virtio-serial chardev), keeps the latest heartbeat, and sends
 * commands. It reconnects by itself while the VM runs (the guest may not be
 * up yet, or may reboot), until closed.
 *
 * Threading: used from one thread; the socket and the 500 ms reconnect timer
 * run on the thread-default main context of guest_agent_start(); command
 * callbacks run on the context that was thread-default at the call, the
 * heartbeat callback from the agent's dispatch (it may free the agent).
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct GuestAgent GuestAgent;

/* What the guest last said. Strings belong to the agent until the next
 * heartbeat; copy what you keep. */
typedef struct {
    gboolean running;          /* a heartbeat within the last 5 s */
    gint64 last_heartbeat_us;  /* g_get_real_time() of the last heartbeat, 0 if none */
    guint64 heartbeats;        /* heartbeats received since the agent was created */
    guint64 seq;               /* the guest's own counter */
    guint64 uptime_ms;
    const char *boot_id;
    const char *version;       /* from hello */
    const char *host_name;
    const char *os_name;
    const char *os_full_name;
    const char *family;
    GStrv ip_addresses;        /* never NULL; at most 32, each a valid IP address */
} GuestAgentInfo;
/* Guest strings are valid UTF-8, at most 255 bytes, control characters
 * replaced by '?'; NULL when the latest heartbeat (or hello) lacked them. */

/* Called on every heartbeat (e.g. to record the first one for benchmarks). */
typedef void (*GuestAgentHeartbeatFunc)(GuestAgent *agent, gpointer user_data);

GuestAgent *guest_agent_new(const char *socket_path);
void guest_agent_free(GuestAgent *agent);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GuestAgent, guest_agent_free)

void guest_agent_set_heartbeat_func(GuestAgent *agent, GuestAgentHeartbeatFunc func,
                                    gpointer user_data);
/* Starts connecting (retrying every 500 ms while it cannot). */
void guest_agent_start(GuestAgent *agent);
/* Stops and disconnects. */
void guest_agent_stop(GuestAgent *agent);

void guest_agent_get_info(GuestAgent *agent, GuestAgentInfo *info);

/* The "workload" object of the latest heartbeat as compact JSON (transfer
 * full), or NULL when that heartbeat had none. */
char *guest_agent_dup_workload_json(GuestAgent *agent);

/* How long after a heartbeat `running` stays TRUE (5000 ms unless changed;
 * tests shorten it). */
void guest_agent_set_running_window_ms(GuestAgent *agent, guint window_ms);

/* Sends {"type":"command","command":command} and completes with the guest's
 * reply: TRUE for ok, an error with the guest's message otherwise,
 * VIREO_ERROR_SERVICE_UNAVAILABLE when the agent is not connected (or the
 * guest has not said hello or sent a heartbeat on this connection, or the
 * connection is lost while waiting), and VIREO_ERROR_TIMED_OUT after
 * timeout_ms (0: no timeout). A guest's refusal is VIREO_ERROR_ERROR with
 * its message; freeing the agent fails waiting commands with
 * G_IO_ERROR_CANCELLED. */
void guest_agent_command_async(GuestAgent *agent, const char *command, guint timeout_ms,
                               GCancellable *cancellable, GAsyncReadyCallback callback,
                               gpointer user_data);
gboolean guest_agent_command_finish(GuestAgent *agent, GAsyncResult *result, GError **error);

G_END_DECLS
