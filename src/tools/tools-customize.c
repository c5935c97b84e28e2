/* tools-customize.c — applies the host's customization JSON: validates every
 * value first (they become a host name, addresses and files), then sets the
 * host name and configures the first Ethernet interface with ioctls, so it
 * needs no `ip` binary in the guest.
 */
#include "tools-customize.h"

#include "tools-json.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_DNS 4

typedef struct {
    char host_name[254];
    char ip_address[INET_ADDRSTRLEN];
    int prefix;
    char gateway[INET_ADDRSTRLEN];
    char dns[MAX_DNS][INET_ADDRSTRLEN];
    int n_dns;
    char error[256];
} Customization;

static bool valid_ipv4(const char *text)
{
    struct in_addr a;
    return inet_pton(AF_INET, text, &a) == 1;
}

/* RFC 1123 host name: dot-separated labels of letters, digits and hyphens,
 * 1-63 characters each, not starting or ending with a hyphen. */
static bool valid_host_name(const char *name)
{
    size_t len = strlen(name), label = 0;
    if (len == 0 || len > 253)
        return false;
    for (size_t i = 0; i <= len; i++) {
        char c = name[i];
        if (c == '.' || c == '\0') {
            if (label == 0 || label > 63 || name[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
        if (!ok || (label == 0 && c == '-'))
            return false;
        label++;
    }
    return true;
}

static void set_address(Customization *c, char *field, const char *key, TjKind kind, const char *text)
{
    if (kind != TJ_STRING || !valid_ipv4(text))
        snprintf(c->error, sizeof c->error, "%s is not an IPv4 address", key);
    else
        snprintf(field, INET_ADDRSTRLEN, "%s", text);
}

static void customization_member(const char *key, int index, TjKind kind, const char *text, void *user_data)
{
    Customization *c = user_data;

    if (strcmp(key, "host_name") == 0 && index < 0) {
        if (kind != TJ_STRING || !valid_host_name(text))
            snprintf(c->error, sizeof c->error, "host_name is not a valid host name");
        else
            snprintf(c->host_name, sizeof c->host_name, "%s", text);
    } else if (strcmp(key, "ip_address") == 0 && index < 0) {
        set_address(c, c->ip_address, key, kind, text);
    } else if (strcmp(key, "gateway") == 0 && index < 0) {
        set_address(c, c->gateway, key, kind, text);
    } else if (strcmp(key, "prefix") == 0 && index < 0) {
        char *end = NULL;
        long v = kind == TJ_NUMBER ? strtol(text, &end, 10) : -1;
        if (kind != TJ_NUMBER || *end || v < 1 || v > 32)
            snprintf(c->error, sizeof c->error, "prefix must be a number from 1 to 32");
        else
            c->prefix = (int)v;
    } else if (strcmp(key, "dns") == 0 && kind != TJ_NULL) {
        if (c->n_dns >= MAX_DNS)
            return; /* resolv.conf uses three at most anyway */
        set_address(c, c->dns[c->n_dns], key, kind, text);
        if (c->dns[c->n_dns][0])
            c->n_dns++;
    }
}

/* The Ethernet interface with the lowest ifindex that is a real device. */
static int first_ethernet(char *out, size_t size)
{
    DIR *dir = opendir("/sys/class/net");
    long best = -1;
    struct dirent *e;
    char path[512], text[32];

    if (!dir)
        return -1;
    while ((e = readdir(dir))) {
        if (e->d_name[0] == '.' || strlen(e->d_name) >= IFNAMSIZ)
            continue;
        snprintf(path, sizeof path, "/sys/class/net/%s/device", e->d_name);
        if (access(path, F_OK) != 0)
            continue;
        snprintf(path, sizeof path, "/sys/class/net/%s/type", e->d_name);
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        bool ether = fgets(text, sizeof text, f) && atoi(text) == 1;
        fclose(f);
        snprintf(path, sizeof path, "/sys/class/net/%s/ifindex", e->d_name);
        f = fopen(path, "re");
        long index = f && fgets(text, sizeof text, f) ? atol(text) : -1;
        if (f)
            fclose(f);
        if (ether && index > 0 && (best < 0 || index < best)) {
            best = index;
            snprintf(out, size, "%s", e->d_name);
        }
    }
    closedir(dir);
    return best > 0 ? 0 : -1;
}

static void fill_sin(struct sockaddr *sa, const char *text)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)sa;
    memset(sin, 0, sizeof *sin);
    sin->sin_family = AF_INET;
    if (text)
        inet_pton(AF_INET, text, &sin->sin_addr);
}

static int configure_interface(const char *ifname, const Customization *c)
{
    struct ifreq ifr;
    char mask[INET_ADDRSTRLEN];
    struct in_addr m = { htonl(c->prefix ? 0xffffffffu << (32 - c->prefix) : 0) };
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int rc = -1;

    inet_ntop(AF_INET, &m, mask, sizeof mask);
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
    fill_sin(&ifr.ifr_addr, c->ip_address);
    if (fd < 0 || ioctl(fd, SIOCSIFADDR, &ifr) < 0)
        goto out;
    fill_sin(&ifr.ifr_netmask, mask);
    if (ioctl(fd, SIOCSIFNETMASK, &ifr) < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
        goto out;
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
        goto out;
    if (c->gateway[0]) {
        struct rtentry rt;
        memset(&rt, 0, sizeof rt);
        fill_sin(&rt.rt_dst, NULL);
        fill_sin(&rt.rt_genmask, NULL);
        fill_sin(&rt.rt_gateway, c->gateway);
        rt.rt_flags = RTF_UP | RTF_GATEWAY;
        rt.rt_dev = (char *)ifname;
        if (ioctl(fd, SIOCADDRT, &rt) < 0 && errno != EEXIST)
            goto out;
    }
    rc = 0;
out:
    if (rc < 0)
        fprintf(stderr, "vireo-tools: configuring %s: %s\n", ifname, strerror(errno));
    if (fd >= 0)
        close(fd);
    return rc;
}

static int write_file(const char *root, const char *name, const char *text)
{
    char path[512], tmp[520];
    snprintf(path, sizeof path, "%s%s", strcmp(root, "/") == 0 ? "" : root, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "we");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0 || rename(tmp, path) < 0) {
        fprintf(stderr, "vireo-tools: writing %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int apply(const Customization *c, const char *root)
{
    bool live = strcmp(root, "/") == 0;
    char text[512], ifname[IFNAMSIZ] = "";

    if (c->host_name[0]) {
        if (live && sethostname(c->host_name, strlen(c->host_name)) < 0) {
            fprintf(stderr, "vireo-tools: sethostname: %s\n", strerror(errno));
            return CUSTOMIZE_FAILED;
        }
        snprintf(text, sizeof text, "%s\n", c->host_name);
        if (write_file(root, "/etc/hostname", text) < 0)
            return CUSTOMIZE_FAILED;
        printf("host name: %s\n", c->host_name);
    }
    if (c->n_dns > 0) {
        TjBuf buf;
        tj_buf_init(&buf, text, sizeof text);
        for (int i = 0; i < c->n_dns; i++)
            tj_buf_printf(&buf, "nameserver %s\n", c->dns[i]);
        if (write_file(root, "/etc/resolv.conf", text) < 0)
            return CUSTOMIZE_FAILED;
        printf("dns: %d server(s)\n", c->n_dns);
    }
    if (!c->ip_address[0])
        return CUSTOMIZE_APPLIED_DHCP;
    if (live && first_ethernet(ifname, sizeof ifname) < 0) {
        fprintf(stderr, "vireo-tools: no Ethernet interface to configure\n");
        return CUSTOMIZE_FAILED;
    }
    if (live && configure_interface(ifname, c) < 0)
        return CUSTOMIZE_FAILED;
    printf("address: %s/%d gateway %s on %s\n", c->ip_address, c->prefix, c->gateway[0] ? c->gateway : "none",
           live ? ifname : "(not applied)");
    return CUSTOMIZE_APPLIED;
}

int customize_apply(const char *path, const char *root)
{
    char text[4097];
    Customization c = { .prefix = 24 };

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return CUSTOMIZE_NONE;
        fprintf(stderr, "vireo-tools: %s: %s\n", path, strerror(errno));
        return CUSTOMIZE_FAILED;
    }
    ssize_t n = 0, got;
    while (n < (ssize_t)sizeof text && (got = read(fd, text + n, sizeof text - (size_t)n)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            n = -1;
            break;
        }
        n += got;
    }
    close(fd);
    if (n < 0 || n >= (ssize_t)sizeof text) {
        fprintf(stderr, "vireo-tools: %s: unreadable or larger than 4096 bytes\n", path);
        return CUSTOMIZE_FAILED;
    }
    if (tj_parse_object(text, (size_t)n, customization_member, &c) < 0) {
        fprintf(stderr, "vireo-tools: %s: not a JSON object\n", path);
        return CUSTOMIZE_FAILED;
    }
    if (c.error[0]) {
        fprintf(stderr, "vireo-tools: customization: %s\n", c.error);
        return CUSTOMIZE_FAILED;
    }
    if (c.gateway[0] && !c.ip_address[0]) {
        fprintf(stderr, "vireo-tools: customization: gateway given without ip_address\n");
        return CUSTOMIZE_FAILED;
    }
    return apply(&c, root);
}
