/* host-config.h — vireo-hostd's configuration: one INI file.
 *
 *   [host]
 *   name = esx-a                      # host name shown in the API (required)
 *   listen = 127.0.0.1                # address to serve HTTPS on (default 127.0.0.1)
 *   port = 8443                       # (default 8443)
 *   state_dir = /var/lib/vireo/esx-a  # certificate, inventory, sockets (required)
 *   accelerator = auto                # auto | kvm | tcg (default auto)
 *   vmotion_address = 10.99.0.11      # address migrations arrive on (default: listen)
 *   vmotion_encryption = false        # this host cannot encrypt migrations (default true)
 *   vmotion_link_mbps = 1000          # the vMotion link's speed (default 10000): vMotions at once
 *   cpu_model = Nehalem               # QEMU CPU model for VMs (default: qemu64 under TCG)
 *   evc_max = intel-nehalem           # report at most this EVC mode's CPU (default: all QEMU gives)
 *   memory_mib = 8192                 # memory VMs may use (default: the machine's)
 *   qemu = /usr/bin/qemu-system-x86_64
 *
 *   [user root]
 *   password_hash = $y$j9T$...        # crypt(3) hash: `vireo-hostd --hash-password`
 *
 *   [datastore local1]
 *   path = /srv/vireo/local1          # absolute; created if missing
 *
 *   [vswitch vSwitch0]
 *   bridge = vs0-esxa                 # Linux bridge (created if missing; <= 15 chars)
 *   uplink = eth1                     # optional interface enslaved to the bridge
 *
 *   [portgroup VM Network]
 *   vswitch = vSwitch0
 *   vlan = 0                          # 0-4094 (0: untagged)
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
    char *name;
    char *path;
} HostDatastoreConfig;

typedef struct {
    char *name;
    char *bridge;
    char *uplink;        /* NULL when none */
} HostVswitchConfig;

typedef struct {
    char *name;
    char *vswitch;
    int vlan_id;
} HostPortgroupConfig;

typedef struct {
    char *name;
    char *password_hash;
} HostUserConfig;

typedef struct {
    char *host_name;
    char *listen_address;
    guint port;
    char *state_dir;
    char *accelerator;
    char *vmotion_address;
    gboolean vmotion_encryption; /* migrations to and from here may use TLS (default TRUE) */
    guint64 vmotion_link_mbps;   /* the vMotion link's speed; the centre's cost model reads it */
    char *cpu_model;     /* NULL: default */
    char *evc_max;       /* EVC mode id (canonical) the host narrows its CPU to; NULL: none */
    gint64 memory_mib;   /* 0: the machine's */
    char *qemu_binary;
    GPtrArray *users;       /* HostUserConfig* */
    GPtrArray *datastores;  /* HostDatastoreConfig* */
    GPtrArray *vswitches;   /* HostVswitchConfig* */
    GPtrArray *portgroups;  /* HostPortgroupConfig* */
} HostConfig;

void host_config_free(HostConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HostConfig, host_config_free)

/* Parses and validates: required keys present, names unique, every port
 * group on a defined vswitch, VLAN in range, paths absolute, bridge names
 * valid Linux interface names, at least one user. Errors name the group and
 * key (G_KEY_FILE_ERROR or VIREO_ERROR_INVALID_ARGUMENT). */
HostConfig *host_config_parse(const char *text, gsize length, GError **error);
HostConfig *host_config_load(const char *path, GError **error);

const HostDatastoreConfig *host_config_find_datastore(const HostConfig *config, const char *name);
const HostPortgroupConfig *host_config_find_portgroup(const HostConfig *config, const char *name);
const HostVswitchConfig *host_config_find_vswitch(const HostConfig *config, const char *name);
const HostUserConfig *host_config_find_user(const HostConfig *config, const char *name);

G_END_DECLS
