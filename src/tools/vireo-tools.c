/* vireo-tools.c — the guest agent's main loop (docs/guest-agent.md): finds
 * the virtio-serial port org.vireo.tools.0, says hello whenever the host
 * connects, sends a heartbeat every second and answers commands. It owns the
 * port's file descriptor and the line buffer; nothing it does may block for
 * long, since the host may be absent, slow, or gone.
 *
 * Port states (the kernel reports "host not connected" as POLLHUP):
 *
 *   NO_PORT --open ok--> DISCONNECTED --no POLLHUP--> CONNECTED (send hello)
 *      ^                      ^  <------POLLHUP----------- |
 *      +---- read/poll error -+----------------------------+
 */
#include "tools-commands.h"
#include "tools-customize.h"
#include "tools-guestinfo.h"
#include "tools-json.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define PORT_NAME "org.vireo.tools.0"
#define MAX_LINE 4096
#define WRITE_TIMEOUT_MS 2000
#define HUP_RECHECK_MS 250
#define FREEZE_TIMEOUT_S 60
#define POWER_GRACE_S 20

typedef struct {
    const char *port_override; /* --port: a device to use instead of scanning */
    const char *workload_path;
    int fd;
    bool connected;
    bool need_newline;         /* a line was cut short: end it before the next */
    char line[MAX_LINE + 1];
    size_t line_len;
    bool discarding;           /* inside a line longer than MAX_LINE */
    uint64_t seq;
    struct timespec frozen_at;
} Agent;

typedef struct {
    char command[64];
    char id[32];
    bool is_command;
} Request;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* /dev/<vportNpM> of the port whose name is PORT_NAME. */
static int find_port(char *out, size_t size)
{
    DIR *dir = opendir("/sys/class/virtio-ports");
    struct dirent *e;
    int rc = -1;

    if (!dir)
        return -1;
    while (rc < 0 && (e = readdir(dir))) {
        char path[512], name[128] = "";
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/sys/class/virtio-ports/%s/name", e->d_name);
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        if (fgets(name, sizeof name, f))
            name[strcspn(name, "\n")] = '\0';
        fclose(f);
        if (strcmp(name, PORT_NAME) == 0) {
            snprintf(out, size, "/dev/%s", e->d_name);
            rc = 0;
        }
    }
    closedir(dir);
    return rc;
}

static int open_port(Agent *agent)
{
    char path[300];
    if (agent->port_override)
        snprintf(path, sizeof path, "%s", agent->port_override);
    else if (find_port(path, sizeof path) < 0)
        return -1;
    int fd = open(path, O_RDWR | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (isatty(fd)) {
        /* A tty stand-in for the port (tests): no echo, no line editing. */
        struct termios t;
        if (tcgetattr(fd, &t) == 0) {
            cfmakeraw(&t);
            tcsetattr(fd, TCSANOW, &t);
        }
    }
    fprintf(stderr, "vireo-tools: using %s\n", path);
    return fd;
}

static void close_port(Agent *agent)
{
    if (agent->fd >= 0)
        close(agent->fd);
    agent->fd = -1;
    agent->connected = false;
    agent->line_len = 0;
    agent->discarding = false;
    agent->need_newline = false;
}

/* Writes all of text or gives up after WRITE_TIMEOUT_MS (host not reading).
 * A line given up half-way is ended before the next one, so the host sees
 * one garbage line and drops it. */
static void send_line(Agent *agent, const char *text, size_t len)
{
    int64_t deadline = now_ms() + WRITE_TIMEOUT_MS;
    size_t done = 0;

    if (agent->fd < 0 || !agent->connected)
        return;
    if (agent->need_newline) {
        if (write(agent->fd, "\n", 1) != 1)
            return;
        agent->need_newline = false;
    }
    while (done < len) {
        ssize_t n = write(agent->fd, text + done, len - done);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        int left = (int)(deadline - now_ms());
        if (n < 0 && errno != EAGAIN)
            break;
        if (left <= 0)
            break;
        struct pollfd p = { agent->fd, POLLOUT, 0 };
        if (poll(&p, 1, left) < 0 && errno != EINTR)
            break;
        if (p.revents & (POLLHUP | POLLERR | POLLNVAL))
            break;
    }
    agent->need_newline = done > 0 && done < len;
}

static void send_hello(Agent *agent)
{
    char text[256];
    int n = guestinfo_format_hello(text, sizeof text);
    if (n > 0)
        send_line(agent, text, (size_t)n);
}

static void send_heartbeat(Agent *agent)
{
    char text[MAX_LINE];
    int n = guestinfo_format_heartbeat(text, sizeof text, ++agent->seq, agent->workload_path);
    if (n > 0)
        send_line(agent, text, (size_t)n);
}

static void send_reply(Agent *agent, const Request *req, bool ok, const char *error, const char *extra)
{
    char text[1024];
    TjBuf buf;
    tj_buf_init(&buf, text, sizeof text);
    tj_buf_printf(&buf, "{\"type\":\"reply\",\"id\":%s,\"ok\":%s", req->id[0] ? req->id : "null",
                  ok ? "true" : "false");
    if (error) {
        tj_buf_append(&buf, ",\"error\":");
        tj_buf_append_string(&buf, error);
    }
    if (extra)
        tj_buf_append(&buf, extra);
    tj_buf_append(&buf, "}\n");
    if (tj_buf_ok(&buf))
        send_line(agent, text, buf.len);
}

static void request_member(const char *key, int index, TjKind kind, const char *text, void *user_data)
{
    Request *req = user_data;
    if (index >= 0)
        return;
    if (strcmp(key, "type") == 0)
        req->is_command = kind == TJ_STRING && strcmp(text, "command") == 0;
    else if (strcmp(key, "command") == 0 && kind == TJ_STRING)
        snprintf(req->command, sizeof req->command, "%s", text);
    else if (strcmp(key, "id") == 0 && kind == TJ_NUMBER && strspn(text, "-0123456789") == strlen(text) &&
             strlen(text) < sizeof req->id)
        snprintf(req->id, sizeof req->id, "%s", text);
}

static void handle_line(Agent *agent, const char *line, size_t len)
{
    Request req = { 0 };
    char extra[64], error[256] = "";

    if (tj_parse_object(line, len, request_member, &req) < 0 || !req.is_command)
        return; /* not JSON, or not for us: dropped, as the protocol says */
    if (strcmp(req.command, "ping") == 0) {
        send_reply(agent, &req, true, NULL, NULL);
    } else if (strcmp(req.command, "shutdown") == 0 || strcmp(req.command, "reboot") == 0) {
        bool off = strcmp(req.command, "shutdown") == 0;
        send_reply(agent, &req, true, NULL, NULL);
        fprintf(stderr, "vireo-tools: %s requested by the host\n", req.command);
        commands_power(off ? POWER_ACTION_POWEROFF : POWER_ACTION_REBOOT, POWER_GRACE_S);
    } else if (strcmp(req.command, "freeze") == 0) {
        int n = commands_freeze(error, sizeof error);
        snprintf(extra, sizeof extra, ",\"filesystems\":%d", n < 0 ? 0 : n);
        send_reply(agent, &req, n >= 0, n < 0 ? error : NULL, extra);
        clock_gettime(CLOCK_MONOTONIC, &agent->frozen_at);
    } else if (strcmp(req.command, "thaw") == 0) {
        snprintf(extra, sizeof extra, ",\"filesystems\":%d", commands_thaw());
        send_reply(agent, &req, true, NULL, extra);
    } else {
        snprintf(error, sizeof error, "unknown command '%.64s'", req.command);
        send_reply(agent, &req, false, error, NULL);
    }
}

/* Splits what was read into lines; a line past MAX_LINE is dropped whole. */
static void handle_input(Agent *agent, const char *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = data[i];
        if (c == '\n') {
            if (!agent->discarding)
                handle_line(agent, agent->line, agent->line_len);
            agent->line_len = 0;
            agent->discarding = false;
        } else if (agent->discarding) {
            continue;
        } else if (agent->line_len >= MAX_LINE) {
            agent->discarding = true;
            agent->line_len = 0;
        } else {
            agent->line[agent->line_len++] = c;
        }
    }
}

/* Waits up to timeout_ms for input; tracks whether the host is connected. */
static void poll_port(Agent *agent, int timeout_ms)
{
    struct pollfd p = { agent->fd, POLLIN, 0 };
    char data[4096];

    if (poll(&p, 1, timeout_ms) < 0) {
        if (errno != EINTR)
            close_port(agent);
        return;
    }
    if (p.revents & (POLLERR | POLLNVAL)) {
        close_port(agent);
        return;
    }
    bool connected = !(p.revents & POLLHUP);
    if (connected && !agent->connected) {
        agent->connected = true;
        fprintf(stderr, "vireo-tools: host connected\n");
        send_hello(agent);
        send_heartbeat(agent);
    }
    agent->connected = connected;
    if (p.revents & POLLIN) {
        ssize_t n = read(agent->fd, data, sizeof data);
        if (n > 0)
            handle_input(agent, data, (size_t)n);
        else if (n < 0 && errno != EAGAIN && errno != EINTR)
            close_port(agent);
        /* n == 0: the host end is closed; POLLHUP tells the rest. */
    }
    if (agent->fd >= 0 && !agent->connected) {
        /* The kernel keeps reporting POLLHUP until the host connects: wait
         * rather than spin. */
        agent->line_len = 0;
        agent->discarding = false;
        agent->need_newline = false;
        sleep_ms(timeout_ms < HUP_RECHECK_MS ? timeout_ms : HUP_RECHECK_MS);
    }
}

static int run_agent(Agent *agent)
{
    int64_t next_heartbeat = now_ms();

    signal(SIGPIPE, SIG_IGN);
    for (;;) {
        if (agent->fd < 0) {
            agent->fd = open_port(agent);
            if (agent->fd < 0) {
                sleep_ms(1000);
                continue;
            }
        }
        int64_t now = now_ms();
        if (now >= next_heartbeat) {
            send_heartbeat(agent);
            next_heartbeat = next_heartbeat + 1000 > now ? next_heartbeat + 1000 : now + 1000;
            if (commands_frozen()) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                if (ts.tv_sec - agent->frozen_at.tv_sec > FREEZE_TIMEOUT_S)
                    commands_thaw();
            }
        }
        poll_port(agent, (int)(next_heartbeat - now_ms() > 0 ? next_heartbeat - now_ms() : 0));
    }
    return 0;
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: vireo-tools [OPTION]\n"
            "The Vireo guest agent: heartbeats, guest identity and IP addresses, graceful\n"
            "shutdown/reboot and filesystem freeze, over the virtio-serial port\n"
            PORT_NAME ".\n\n"
            "  (no option)           run the agent (forever)\n"
            "  --port PATH           use this device instead of looking the port up\n"
            "  --workload-status P   report this vireo-memwrite status file\n"
            "                        (default " VIREO_MEMWRITE_STATUS ")\n"
            "  --customize           apply the host's customization and exit:\n"
            "                        0 applied (static address), 3 none (use DHCP),\n"
            "                        4 applied without an address (use DHCP), 1 error\n"
            "  --customization-file P  read customization from P (tests)\n"
            "  --root DIR            with --customize: write files under DIR and change\n"
            "                        nothing in the running system (tests)\n"
            "  --version             print the version\n"
            "  --help                print this help\n");
}

int main(int argc, char **argv)
{
    Agent agent = { .fd = -1, .workload_path = VIREO_MEMWRITE_STATUS };
    const char *customization = CUSTOMIZATION_PATH, *root = "/";
    bool customize = false;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        bool has_value = i + 1 < argc;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(arg, "--version") == 0) {
            printf("vireo-tools %s (protocol %d)\n", VIREO_TOOLS_VERSION, VIREO_TOOLS_PROTOCOL);
            return 0;
        } else if (strcmp(arg, "--customize") == 0) {
            customize = true;
        } else if (strcmp(arg, "--port") == 0 && has_value) {
            agent.port_override = argv[++i];
        } else if (strcmp(arg, "--workload-status") == 0 && has_value) {
            agent.workload_path = argv[++i];
        } else if (strcmp(arg, "--customization-file") == 0 && has_value) {
            customization = argv[++i];
        } else if (strcmp(arg, "--root") == 0 && has_value) {
            root = argv[++i];
        } else {
            fprintf(stderr, "vireo-tools: unknown or incomplete option '%s'\n", arg);
            usage(stderr);
            return 2;
        }
    }
    if (customize)
        return customize_apply(customization, root);
    return run_agent(&agent);
}
