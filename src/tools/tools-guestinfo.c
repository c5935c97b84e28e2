/* tools-guestinfo.c — gathers the guest facts a heartbeat carries (uptime,
 * boot id, host name, OS, IPv4 addresses, the memory workload's status) and
 * formats the hello and heartbeat lines.
 */
#include "tools-guestinfo.h"

#include "tools-json.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define MAX_ADDRESSES 16
/* A status older than this means vireo-memwrite stopped updating it. */
#define WORKLOAD_STALE_S 5

/* Reads a small file into out, NUL-terminated, trailing newlines removed. */
static int read_small_file(const char *path, char *out, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, out, size - 1);
    close(fd);
    if (n < 0)
        return -1;
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = '\0';
    return (int)n;
}

/* PRETTY_NAME from os-release, unquoted; empty if there is none. */
static void read_pretty_name(char *out, size_t size)
{
    char text[4096];
    out[0] = '\0';
    if (read_small_file("/etc/os-release", text, sizeof text) < 0 &&
        read_small_file("/usr/lib/os-release", text, sizeof text) < 0)
        return;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "PRETTY_NAME=", 12) != 0)
            continue;
        char *value = line + 12;
        size_t len = strlen(value);
        if (len >= 2 && (value[0] == '"' || value[0] == '\'') && value[len - 1] == value[0]) {
            value[len - 1] = '\0';
            value++;
        }
        snprintf(out, size, "%s", value);
        return;
    }
}

static void append_ip_addresses(TjBuf *buf)
{
    struct ifaddrs *list = NULL;
    char seen[MAX_ADDRESSES][INET_ADDRSTRLEN];
    int count = 0;

    tj_buf_append(buf, "[");
    if (getifaddrs(&list) == 0) {
        for (struct ifaddrs *ifa = list; ifa && count < MAX_ADDRESSES; ifa = ifa->ifa_next) {
            if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != AF_INET || (ifa->ifa_flags & IFF_LOOPBACK))
                continue;
            const struct sockaddr_in *sin = (const struct sockaddr_in *)ifa->ifa_addr;
            char text[INET_ADDRSTRLEN];
            if (!inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text))
                continue;
            bool duplicate = false;
            for (int i = 0; i < count; i++)
                duplicate = duplicate || strcmp(seen[i], text) == 0;
            if (duplicate)
                continue;
            snprintf(seen[count], sizeof seen[count], "%s", text);
            tj_buf_append(buf, count ? "," : "");
            tj_buf_append_string(buf, text);
            count++;
        }
        freeifaddrs(list);
    }
    tj_buf_append(buf, "]");
}

typedef struct {
    bool running;
    long long mib;
    long long passes;
    long long errors;
    char checksum[64];
    int fields;
} Workload;

static void workload_member(const char *key, int index, TjKind kind, const char *text, void *user_data)
{
    Workload *w = user_data;
    if (index >= 0)
        return;
    if (strcmp(key, "running") == 0 && (kind == TJ_TRUE || kind == TJ_FALSE)) {
        w->running = kind == TJ_TRUE;
        w->fields++;
    } else if (strcmp(key, "mib") == 0 && kind == TJ_NUMBER) {
        w->mib = strtoll(text, NULL, 10);
        w->fields++;
    } else if (strcmp(key, "passes") == 0 && kind == TJ_NUMBER) {
        w->passes = strtoll(text, NULL, 10);
        w->fields++;
    } else if (strcmp(key, "errors") == 0 && kind == TJ_NUMBER) {
        w->errors = strtoll(text, NULL, 10);
        w->fields++;
    } else if (strcmp(key, "checksum") == 0 && kind == TJ_STRING) {
        snprintf(w->checksum, sizeof w->checksum, "%s", text);
        w->fields++;
    }
}

/* Re-emits the fields we know from the status file rather than copying it,
 * so a damaged file cannot break the heartbeat's JSON. */
static void append_workload(TjBuf *buf, const char *path)
{
    char text[2048];
    struct stat st;
    Workload w = { 0 };

    if (!path || stat(path, &st) < 0 || read_small_file(path, text, sizeof text) < 0)
        return;
    if (tj_parse_object(text, strlen(text), workload_member, &w) < 0 || w.fields == 0)
        return;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (now.tv_sec - st.st_mtime > WORKLOAD_STALE_S)
        w.running = false;
    tj_buf_printf(buf, ",\"workload\":{\"running\":%s,\"mib\":%lld,\"passes\":%lld,\"errors\":%lld,\"checksum\":",
                  w.running ? "true" : "false", w.mib, w.passes, w.errors);
    tj_buf_append_string(buf, w.checksum);
    tj_buf_append(buf, "}");
}

int guestinfo_format_hello(char *out, size_t size)
{
    TjBuf buf;
    tj_buf_init(&buf, out, size);
    tj_buf_printf(&buf, "{\"type\":\"hello\",\"protocol\":%d,\"version\":\"%s\"}\n",
                  VIREO_TOOLS_PROTOCOL, VIREO_TOOLS_VERSION);
    return tj_buf_ok(&buf) ? (int)buf.len : -1;
}

int guestinfo_format_heartbeat(char *out, size_t size, uint64_t seq, const char *workload_path)
{
    TjBuf buf;
    struct timespec boot;
    struct utsname uts;
    char boot_id[64] = "", host_name[256] = "", pretty[256], full_name[600];

    clock_gettime(CLOCK_BOOTTIME, &boot);
    read_small_file("/proc/sys/kernel/random/boot_id", boot_id, sizeof boot_id);
    if (gethostname(host_name, sizeof host_name - 1) < 0)
        host_name[0] = '\0';
    if (uname(&uts) < 0)
        memset(&uts, 0, sizeof uts);
    read_pretty_name(pretty, sizeof pretty);
    if (pretty[0])
        snprintf(full_name, sizeof full_name, "%s (%s %s)", pretty, uts.sysname, uts.release);
    else
        snprintf(full_name, sizeof full_name, "%s %s", uts.sysname, uts.release);

    tj_buf_init(&buf, out, size);
    tj_buf_printf(&buf, "{\"type\":\"heartbeat\",\"seq\":%llu,\"uptime_ms\":%llu,\"boot_id\":",
                  (unsigned long long)seq,
                  (unsigned long long)boot.tv_sec * 1000ull + (unsigned long long)boot.tv_nsec / 1000000ull);
    tj_buf_append_string(&buf, boot_id);
    tj_buf_append(&buf, ",\"host_name\":");
    tj_buf_append_string(&buf, host_name);
    tj_buf_append(&buf, ",\"os_name\":");
    tj_buf_append_string(&buf, uts.sysname);
    tj_buf_append(&buf, ",\"os_full_name\":");
    tj_buf_append_string(&buf, full_name);
    tj_buf_append(&buf, ",\"family\":\"LINUX\",\"ip_addresses\":");
    append_ip_addresses(&buf);
    append_workload(&buf, workload_path);
    tj_buf_append(&buf, "}\n");
    return tj_buf_ok(&buf) ? (int)buf.len : -1;
}
