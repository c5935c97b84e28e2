/* test-tools.c — checks the guest programs on the build machine, on libc
 * alone like them (TAP output): the JSON reader, `vireo-tools --customize`,
 * the agent's protocol over a pty standing in for the virtio-serial port,
 * and vireo-memwrite's verification catching a corrupted page.
 */
#include "tools-json.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int test_number;
static int failures;

static void ok(int cond, const char *what)
{
    printf("%sok %d - %s\n", cond ? "" : "not ", ++test_number, what);
    if (!cond)
        failures++;
}

typedef struct {
    char seen[1024];
} Collect;

static void collect(const char *key, int index, TjKind kind, const char *text, void *user_data)
{
    Collect *c = user_data;
    size_t len = strlen(c->seen);
    snprintf(c->seen + len, sizeof c->seen - len, "%s[%d]%d=%s;", key, index, (int)kind, text);
}

static int parse(const char *text, Collect *c)
{
    memset(c, 0, sizeof *c);
    return tj_parse_object(text, strlen(text), collect, c);
}

static void test_json(void)
{
    Collect c;
    ok(parse("{\"a\":\"x\\\"y\\u00e9\",\"n\":-12.5,\"t\":true,\"z\":null,\"l\":[\"p\",\"q\"],\"o\":{\"d\":1}}", &c) == 0 &&
           strcmp(c.seen, "a[-1]0=x\"y\xc3\xa9;n[-1]1=-12.5;t[-1]2=true;z[-1]4=null;l[0]0=p;l[1]0=q;") == 0,
       "json: members, escapes, arrays reported; nested object skipped");
    ok(parse("not json", &c) < 0, "json: garbage rejected");
    ok(parse("{\"a\":1", &c) < 0, "json: truncated object rejected");
    ok(parse("{\"a\":1} x", &c) < 0, "json: trailing bytes rejected");
    ok(parse("{\"a\":\"\\u0000\"}", &c) < 0, "json: NUL escape rejected");
    char deep[64] = "{\"a\":";
    for (int i = 0; i < 20; i++)
        strcat(deep, "[");
    ok(parse(deep, &c) < 0, "json: unterminated deep nesting rejected");

    char out[64];
    TjBuf buf;
    tj_buf_init(&buf, out, sizeof out);
    tj_buf_append_string(&buf, "a\"b\\c\n\xff");
    ok(tj_buf_ok(&buf) && strcmp(out, "\"a\\\"b\\\\c\\u000a?\"") == 0, "json: writer escapes and replaces bad UTF-8");
    tj_buf_init(&buf, out, 4);
    tj_buf_append(&buf, "too long");
    ok(!tj_buf_ok(&buf), "json: writer reports overflow");
}

static int run(char *const argv[])
{
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execv(argv[0], argv);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int read_file(const char *path, char *out, size_t size)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(out, 1, size - 1, f);
    out[n] = '\0';
    fclose(f);
    return 0;
}

static int customize(const char *dir, const char *json)
{
    char path[512];
    snprintf(path, sizeof path, "%s/cust.json", dir);
    FILE *f = fopen(path, "w");
    fputs(json, f);
    fclose(f);
    char *argv[] = { VIREO_TOOLS_PATH, "--customize", "--customization-file", path, "--root", (char *)dir, NULL };
    return run(argv);
}

static void test_customize(const char *dir)
{
    char path[512], text[512];
    snprintf(path, sizeof path, "%s/etc", dir);
    mkdir(path, 0755);
    ok(customize(dir, "{\"host_name\":\"web-01\",\"ip_address\":\"10.77.0.50\",\"prefix\":24,"
                      "\"gateway\":\"10.77.0.1\",\"dns\":[\"10.77.0.1\",\"9.9.9.9\"]}\n") == 0,
       "customize: full customization exits 0");
    snprintf(path, sizeof path, "%s/etc/hostname", dir);
    ok(read_file(path, text, sizeof text) == 0 && strcmp(text, "web-01\n") == 0, "customize: /etc/hostname written");
    snprintf(path, sizeof path, "%s/etc/resolv.conf", dir);
    ok(read_file(path, text, sizeof text) == 0 && strcmp(text, "nameserver 10.77.0.1\nnameserver 9.9.9.9\n") == 0,
       "customize: /etc/resolv.conf written");
    ok(customize(dir, "{\"host_name\":\"db-02\"}") == 4, "customize: no address exits 4 (use DHCP)");
    ok(customize(dir, "{\"host_name\":\"bad name;rm\"}") == 1, "customize: invalid host name exits 1");
    ok(customize(dir, "{\"ip_address\":\"10.0.0.300\"}") == 1, "customize: invalid address exits 1");
    ok(customize(dir, "{\"ip_address\":\"10.0.0.3\",\"prefix\":40}") == 1, "customize: invalid prefix exits 1");
    ok(customize(dir, "garbage") == 1, "customize: not JSON exits 1");
    char missing[512];
    snprintf(missing, sizeof missing, "%s/none.json", dir);
    char *argv[] = { VIREO_TOOLS_PATH, "--customize", "--customization-file", missing, "--root", (char *)dir, NULL };
    ok(run(argv) == 3, "customize: no customization exits 3");
}

/* Reads lines from fd until one contains needle or timeout_ms passes. */
static int expect_line(int fd, const char *needle, char *line, size_t size, int timeout_ms)
{
    static char pending[16384];
    static size_t pending_len;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        char *nl;
        while ((nl = memchr(pending, '\n', pending_len))) {
            size_t len = (size_t)(nl - pending);
            snprintf(line, size, "%.*s", (int)len, pending);
            memmove(pending, nl + 1, pending_len - len - 1);
            pending_len -= len + 1;
            if (strstr(line, needle))
                return 0;
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int left = timeout_ms - (int)((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
        struct pollfd p = { fd, POLLIN, 0 };
        if (left <= 0 || poll(&p, 1, left) <= 0)
            return -1;
        ssize_t n = read(fd, pending + pending_len, sizeof pending - pending_len);
        if (n <= 0)
            return -1;
        pending_len += (size_t)n;
    }
}

static void write_all(int fd, const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, text, len);
        if (n <= 0)
            return;
        text += n;
        len -= (size_t)n;
    }
}

static void write_str(int fd, const char *text)
{
    write_all(fd, text, strlen(text));
}

static void test_agent(const char *dir)
{
    char status[512], line[8192];
    snprintf(status, sizeof status, "%s/memwrite.status", dir);
    FILE *f = fopen(status, "w");
    fputs("{\"running\":true,\"mib\":64,\"passes\":3,\"errors\":0,\"checksum\":\"00ff\"}\n", f);
    fclose(f);

    int master = posix_openpt(O_RDWR | O_NOCTTY);
    grantpt(master);
    unlockpt(master);
    char *slave = ptsname(master);
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 2);
        execl(VIREO_TOOLS_PATH, VIREO_TOOLS_PATH, "--port", slave, "--workload-status", status, (char *)NULL);
        _exit(127);
    }
    ok(expect_line(master, "\"type\":\"hello\"", line, sizeof line, 5000) == 0 && strstr(line, "\"protocol\":1"),
       "agent: hello with protocol 1");
    ok(expect_line(master, "\"type\":\"heartbeat\"", line, sizeof line, 5000) == 0 &&
           strstr(line, "\"family\":\"LINUX\"") && strstr(line, "\"ip_addresses\":[") && strstr(line, "\"boot_id\":\""),
       "agent: heartbeat with family, addresses and boot id");
    ok(strstr(line, "\"workload\":{\"running\":true,\"mib\":64,\"passes\":3,\"errors\":0,\"checksum\":\"00ff\"}") != NULL,
       "agent: heartbeat forwards the workload status");
    Collect c;
    ok(parse(line, &c) == 0, "agent: heartbeat is valid JSON");

    static char longline[6000];
    memset(longline, 'x', sizeof longline - 1);
    longline[sizeof longline - 2] = '\n';
    write_str(master, "garbage line\n{\"type\":\"command\"");
    write_str(master, ",\"id\":1,\"command\":\"ping\"}{\n");
    write_all(master, longline, strlen(longline));
    write_str(master, "{\"type\":\"command\",\"id\":7,\"command\":\"ping\"}\n");
    ok(expect_line(master, "\"type\":\"reply\"", line, sizeof line, 5000) == 0 &&
           strcmp(line, "{\"type\":\"reply\",\"id\":7,\"ok\":true}") == 0,
       "agent: garbage and a 6000-byte line dropped, then ping answered");
    write_str(master, "{\"type\":\"command\",\"id\":8,\"command\":\"dance\"}\n");
    ok(expect_line(master, "\"type\":\"reply\"", line, sizeof line, 5000) == 0 && strstr(line, "\"id\":8,\"ok\":false"),
       "agent: unknown command answered with an error");
    write_str(master, "{\"type\":\"command\",\"id\":9,\"command\":\"thaw\"}\n");
    ok(expect_line(master, "\"type\":\"reply\"", line, sizeof line, 5000) == 0 && strstr(line, "\"id\":9,\"ok\":true"),
       "agent: thaw with nothing frozen is ok");
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    close(master);
}

static void test_memwrite(const char *dir)
{
    char status[512], text[1024];
    snprintf(status, sizeof status, "%s/mw.status", dir);
    char *argv[] = { VIREO_MEMWRITE_PATH, "--mib", "4", "--seconds", "2", "--status", status, NULL };
    ok(run(argv) == 0, "memwrite: clean run exits 0");
    ok(read_file(status, text, sizeof text) == 0 && strstr(text, "\"running\":false,\"mib\":4,") &&
           strstr(text, "\"errors\":0,") && !strstr(text, "\"passes\":0,"),
       "memwrite: status shows passes and no errors");
    char *bad[] = { VIREO_MEMWRITE_PATH, "--mib", "4", "--rate-mib-per-s", "1", "--seconds", "2",
                    "--status", status, "--inject-fault", NULL };
    int fd = dup(2), null = open("/dev/null", O_WRONLY);
    dup2(null, 2);
    int rc = run(bad);
    dup2(fd, 2);
    ok(rc == 1, "memwrite: a corrupted page makes it exit 1");
    ok(read_file(status, text, sizeof text) == 0 && !strstr(text, "\"errors\":0,"), "memwrite: status counts the error");
}

int main(void)
{
    char dir[] = "/tmp/test-tools-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    test_json();
    test_customize(dir);
    test_agent(dir);
    test_memwrite(dir);
    printf("1..%d\n", test_number);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        failures++;
    return failures ? 1 : 0;
}
