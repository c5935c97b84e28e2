/* host-config.c — reads and validates vireo-hostd's INI file (format in
 * host-config.h) into a HostConfig, with errors that name the group and key
 * so an administrator can fix the file without reading code.
 */
#include "host-config.h"

#include <string.h>

#include "evc.h"
#include "vireo-error.h"

#define HOST_CONFIG_DEFAULT_LISTEN "127.0.0.1"
#define HOST_CONFIG_DEFAULT_PORT 8443
#define HOST_CONFIG_DEFAULT_ACCELERATOR "auto"
#define HOST_CONFIG_DEFAULT_QEMU "/usr/bin/qemu-system-x86_64"
#define HOST_CONFIG_IFNAMSIZ 16
#define HOST_CONFIG_DEFAULT_VMOTION_LINK_MBPS 10000
#define HOST_CONFIG_MAX_VLAN 4094

static const char *const host_keys[] = { "name", "listen", "port", "state_dir", "accelerator",
                                         "vmotion_address", "vmotion_encryption", "vmotion_link_mbps", "cpu_model", "evc_max", "memory_mib",
                                         "qemu", NULL };
static const char *const user_keys[] = { "password_hash", NULL };
static const char *const datastore_keys[] = { "path", NULL };
static const char *const vswitch_keys[] = { "bridge", "uplink", NULL };
static const char *const portgroup_keys[] = { "vswitch", "vlan", NULL };
static const char *const accelerators[] = { "auto", "kvm", "tcg", NULL };

/* ---- freeing and finding ---------------------------------------------- */

static void
user_free(HostUserConfig *u)
{
    g_free(u->name);
    g_free(u->password_hash);
    g_free(u);
}

static void
datastore_free(HostDatastoreConfig *d)
{
    g_free(d->name);
    g_free(d->path);
    g_free(d);
}

static void
vswitch_free(HostVswitchConfig *v)
{
    g_free(v->name);
    g_free(v->bridge);
    g_free(v->uplink);
    g_free(v);
}

static void
portgroup_free(HostPortgroupConfig *p)
{
    g_free(p->name);
    g_free(p->vswitch);
    g_free(p);
}

void
host_config_free(HostConfig *config)
{
    if (!config)
        return;
    g_free(config->host_name);
    g_free(config->listen_address);
    g_free(config->state_dir);
    g_free(config->accelerator);
    g_free(config->vmotion_address);
    g_free(config->cpu_model);
    g_free(config->evc_max);
    g_free(config->qemu_binary);
    g_ptr_array_unref(config->users);
    g_ptr_array_unref(config->datastores);
    g_ptr_array_unref(config->vswitches);
    g_ptr_array_unref(config->portgroups);
    g_free(config);
}

static HostConfig *
host_config_new(void)
{
    HostConfig *config = g_new0(HostConfig, 1);
    config->users = g_ptr_array_new_with_free_func((GDestroyNotify)user_free);
    config->datastores = g_ptr_array_new_with_free_func((GDestroyNotify)datastore_free);
    config->vswitches = g_ptr_array_new_with_free_func((GDestroyNotify)vswitch_free);
    config->portgroups = g_ptr_array_new_with_free_func((GDestroyNotify)portgroup_free);
    return config;
}

/* Every element type starts with `char *name`. */
static gconstpointer
find_named(GPtrArray *items, const char *name)
{
    for (guint i = 0; name && i < items->len; i++) {
        char **item_name = g_ptr_array_index(items, i);
        if (g_str_equal(*item_name, name))
            return item_name;
    }
    return NULL;
}

const HostDatastoreConfig *
host_config_find_datastore(const HostConfig *config, const char *name)
{
    return find_named(config->datastores, name);
}

const HostPortgroupConfig *
host_config_find_portgroup(const HostConfig *config, const char *name)
{
    return find_named(config->portgroups, name);
}

const HostVswitchConfig *
host_config_find_vswitch(const HostConfig *config, const char *name)
{
    return find_named(config->vswitches, name);
}

const HostUserConfig *
host_config_find_user(const HostConfig *config, const char *name)
{
    return find_named(config->users, name);
}

/* ---- value checks ----------------------------------------------------- */

static gboolean G_GNUC_PRINTF(4, 5)
fail(GError **error, const char *group, const char *key, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    g_autofree char *message = g_strdup_vprintf(format, args);
    va_end(args);
    if (key)
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT, "[%s] %s: %s", group, key,
                    message);
    else
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT, "[%s]: %s", group, message);
    return FALSE;
}

/* The key's value (trimmed), def when absent; FALSE when required and absent
 * or present but empty. */
/* "true" or "false", as written (not GLib's 1/0 too). */
static gboolean
get_bool(GKeyFile *kf, const char *group, const char *key, gboolean def, gboolean *out,
         GError **error)
{
    g_autofree char *v = g_key_file_get_string(kf, group, key, NULL);
    if (!v) {
        *out = def;
        return TRUE;
    }
    g_strstrip(v);
    if (g_str_equal(v, "true") || g_str_equal(v, "false")) {
        *out = g_str_equal(v, "true");
        return TRUE;
    }
    g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                "[%s] %s: give true or false, not '%s'", group, key, v);
    return FALSE;
}

static gboolean
get_string(GKeyFile *kf, const char *group, const char *key, gboolean required,
           const char *def, char **out, GError **error)
{
    if (!g_key_file_has_key(kf, group, key, NULL)) {
        if (required)
            return fail(error, group, key, "is required");
        *out = g_strdup(def);
        return TRUE;
    }
    g_autoptr(GError) local = NULL;
    g_autofree char *value = g_key_file_get_string(kf, group, key, &local);
    if (!value)
        return fail(error, group, key, "%s", local->message);
    g_strstrip(value);
    if (!value[0])
        return fail(error, group, key, "is empty");
    *out = g_steal_pointer(&value);
    return TRUE;
}

static gboolean
get_number(GKeyFile *kf, const char *group, const char *key, guint64 min, guint64 max,
           guint64 def, guint64 *out, GError **error)
{
    g_autofree char *text = NULL;
    g_autoptr(GError) local = NULL;

    if (!get_string(kf, group, key, FALSE, NULL, &text, error))
        return FALSE;
    if (!text) {
        *out = def;
        return TRUE;
    }
    if (!g_ascii_string_to_unsigned(text, 10, min, max, out, &local))
        return fail(error, group, key, "'%s' is not a whole number from %" G_GUINT64_FORMAT
                    " to %" G_GUINT64_FORMAT, text, min, max);
    return TRUE;
}

static gboolean
check_absolute(const char *group, const char *key, const char *path, GError **error)
{
    if (path && !g_path_is_absolute(path))
        return fail(error, group, key, "'%s' must be an absolute path", path);
    return TRUE;
}

static gboolean
check_ip(const char *group, const char *key, const char *address, GError **error)
{
    if (address && !g_hostname_is_ip_address(address))
        return fail(error, group, key, "'%s' is not an IP address", address);
    return TRUE;
}

/* What Linux accepts as an interface name, minus characters that need
 * quoting anywhere: 1-15 of [A-Za-z0-9_.-], not "." or "..". */
static gboolean
check_ifname(const char *group, const char *key, const char *name, GError **error)
{
    if (!name)
        return TRUE;
    gsize len = strlen(name);
    gboolean ok = len > 0 && len < HOST_CONFIG_IFNAMSIZ && !g_str_equal(name, ".") &&
                  !g_str_equal(name, "..");
    for (gsize i = 0; ok && i < len; i++)
        ok = g_ascii_isalnum(name[i]) || strchr("_.-", name[i]);
    if (!ok)
        return fail(error, group, key,
                    "'%s' is not a valid Linux interface name (1-15 letters, digits, '_', '.', "
                    "'-')", name);
    return TRUE;
}

/* A QEMU CPU model goes into -cpu: only a plain model name, no options. */
static gboolean
check_cpu_model(const char *group, const char *key, const char *model, GError **error)
{
    for (const char *p = model; p && *p; p++) {
        if (!g_ascii_isalnum(*p) && !strchr("_.-", *p))
            return fail(error, group, key, "'%s' is not a CPU model name (e.g. Nehalem)", model);
    }
    return TRUE;
}

/* evc_max names a mode ("intel-nehalem", or "nehalem"); kept as its id. */
static gboolean
check_evc_mode(const char *group, const char *key, char **mode_id, GError **error)
{
    if (!*mode_id)
        return TRUE;
    const EvcMode *mode = evc_mode_lookup(*mode_id);
    if (!mode)
        return fail(error, group, key, "'%s' is not an EVC mode (see docs/evc.md: intel-merom "
                    "... intel-icelake, amd-opteron-g1 ... amd-zen4)", *mode_id);
    if (!evc_mode_is_available(mode))
        return fail(error, group, key, "EVC mode %s needs QEMU's %s CPU model, which QEMU %s "
                    "does not have", mode->id, mode->qemu_alias, evc_features_qemu_version());
    g_free(*mode_id);
    *mode_id = g_strdup(mode->id);
    return TRUE;
}

static gboolean
check_known_keys(GKeyFile *kf, const char *group, const char *const *known, GError **error)
{
    g_auto(GStrv) keys = g_key_file_get_keys(kf, group, NULL, NULL);
    for (guint i = 0; keys && keys[i]; i++) {
        if (!g_strv_contains(known, keys[i])) {
            g_autofree char *list = g_strjoinv(", ", (char **)known);
            return fail(error, group, keys[i], "unknown key (known: %s)", list);
        }
    }
    return TRUE;
}

/* ---- groups ----------------------------------------------------------- */

static gboolean
parse_host(GKeyFile *kf, HostConfig *c, GError **error)
{
    const char *g = "host";
    guint64 port = 0;
    guint64 memory = 0;

    if (!g_key_file_has_group(kf, g)) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "The [host] group is missing (it needs at least name and state_dir)");
        return FALSE;
    }
    if (!check_known_keys(kf, g, host_keys, error) ||
        !get_string(kf, g, "name", TRUE, NULL, &c->host_name, error) ||
        !get_string(kf, g, "listen", FALSE, HOST_CONFIG_DEFAULT_LISTEN, &c->listen_address, error) ||
        !check_ip(g, "listen", c->listen_address, error) ||
        !get_number(kf, g, "port", 1, 65535, HOST_CONFIG_DEFAULT_PORT, &port, error) ||
        !get_string(kf, g, "state_dir", TRUE, NULL, &c->state_dir, error) ||
        !check_absolute(g, "state_dir", c->state_dir, error) ||
        !get_string(kf, g, "accelerator", FALSE, HOST_CONFIG_DEFAULT_ACCELERATOR, &c->accelerator,
                    error) ||
        !get_string(kf, g, "vmotion_address", FALSE, c->listen_address, &c->vmotion_address,
                    error) ||
        !check_ip(g, "vmotion_address", c->vmotion_address, error) ||
        !get_bool(kf, g, "vmotion_encryption", TRUE, &c->vmotion_encryption, error) ||
        !get_number(kf, g, "vmotion_link_mbps", 1, 10000000, HOST_CONFIG_DEFAULT_VMOTION_LINK_MBPS,
                    &c->vmotion_link_mbps, error) ||
        !get_string(kf, g, "cpu_model", FALSE, NULL, &c->cpu_model, error) ||
        !check_cpu_model(g, "cpu_model", c->cpu_model, error) ||
        !get_string(kf, g, "evc_max", FALSE, NULL, &c->evc_max, error) ||
        !check_evc_mode(g, "evc_max", &c->evc_max, error) ||
        !get_number(kf, g, "memory_mib", 1, G_MAXINT64, 0, &memory, error) ||
        !get_string(kf, g, "qemu", FALSE, HOST_CONFIG_DEFAULT_QEMU, &c->qemu_binary, error) ||
        !check_absolute(g, "qemu", c->qemu_binary, error))
        return FALSE;

    g_autofree char *lower = g_ascii_strdown(c->accelerator, -1);
    if (!g_strv_contains(accelerators, lower))
        return fail(error, g, "accelerator", "'%s' is not one of auto, kvm, tcg", c->accelerator);
    g_free(c->accelerator);
    c->accelerator = g_steal_pointer(&lower);
    c->port = (guint)port;
    c->memory_mib = (gint64)memory;
    return TRUE;
}

static gboolean
parse_user(GKeyFile *kf, const char *g, const char *name, HostConfig *c, GError **error)
{
    g_autofree char *hash = NULL;
    if (!check_known_keys(kf, g, user_keys, error) ||
        !get_string(kf, g, "password_hash", TRUE, NULL, &hash, error))
        return FALSE;
    if (hash[0] != '$')
        return fail(error, g, "password_hash",
                    "is not a crypt(3) hash: make one with `vireo-hostd --hash-password`");
    HostUserConfig *u = g_new0(HostUserConfig, 1);
    u->name = g_strdup(name);
    u->password_hash = g_steal_pointer(&hash);
    g_ptr_array_add(c->users, u);
    return TRUE;
}

static gboolean
parse_datastore(GKeyFile *kf, const char *g, const char *name, HostConfig *c, GError **error)
{
    g_autofree char *path = NULL;
    if (!check_known_keys(kf, g, datastore_keys, error) ||
        !get_string(kf, g, "path", TRUE, NULL, &path, error) ||
        !check_absolute(g, "path", path, error))
        return FALSE;
    for (guint i = 0; i < c->datastores->len; i++) {
        HostDatastoreConfig *other = g_ptr_array_index(c->datastores, i);
        if (g_str_equal(other->path, path))
            return fail(error, g, "path", "'%s' is already the path of [datastore %s]", path,
                        other->name);
    }
    HostDatastoreConfig *d = g_new0(HostDatastoreConfig, 1);
    d->name = g_strdup(name);
    d->path = g_steal_pointer(&path);
    g_ptr_array_add(c->datastores, d);
    return TRUE;
}

static gboolean
parse_vswitch(GKeyFile *kf, const char *g, const char *name, HostConfig *c, GError **error)
{
    g_autofree char *bridge = NULL;
    g_autofree char *uplink = NULL;
    if (!check_known_keys(kf, g, vswitch_keys, error) ||
        !get_string(kf, g, "bridge", TRUE, NULL, &bridge, error) ||
        !check_ifname(g, "bridge", bridge, error) ||
        !get_string(kf, g, "uplink", FALSE, NULL, &uplink, error) ||
        !check_ifname(g, "uplink", uplink, error))
        return FALSE;
    for (guint i = 0; i < c->vswitches->len; i++) {
        HostVswitchConfig *other = g_ptr_array_index(c->vswitches, i);
        if (g_str_equal(other->bridge, bridge))
            return fail(error, g, "bridge", "'%s' is already the bridge of [vswitch %s]", bridge,
                        other->name);
    }
    HostVswitchConfig *v = g_new0(HostVswitchConfig, 1);
    v->name = g_strdup(name);
    v->bridge = g_steal_pointer(&bridge);
    v->uplink = g_steal_pointer(&uplink);
    g_ptr_array_add(c->vswitches, v);
    return TRUE;
}

/* Port groups are read after every vswitch, so order in the file is free. */
static gboolean
parse_portgroup(GKeyFile *kf, const char *g, const char *name, HostConfig *c, GError **error)
{
    g_autofree char *vswitch = NULL;
    guint64 vlan = 0;
    if (!check_known_keys(kf, g, portgroup_keys, error) ||
        !get_string(kf, g, "vswitch", TRUE, NULL, &vswitch, error) ||
        !get_number(kf, g, "vlan", 0, HOST_CONFIG_MAX_VLAN, 0, &vlan, error))
        return FALSE;
    if (!host_config_find_vswitch(c, vswitch))
        return fail(error, g, "vswitch", "no [vswitch %s] is defined", vswitch);
    HostPortgroupConfig *p = g_new0(HostPortgroupConfig, 1);
    p->name = g_strdup(name);
    p->vswitch = g_steal_pointer(&vswitch);
    p->vlan_id = (int)vlan;
    g_ptr_array_add(c->portgroups, p);
    return TRUE;
}

typedef gboolean (*GroupParser)(GKeyFile *kf, const char *group, const char *name,
                                HostConfig *c, GError **error);

static const struct {
    const char *type;
    GroupParser parse;
} group_types[] = {
    { "user", parse_user },
    { "datastore", parse_datastore },
    { "vswitch", parse_vswitch },
    { "portgroup", parse_portgroup },
};

/* Runs the parser of one group type over every "[type name]" group. */
static gboolean
parse_groups_of(GKeyFile *kf, guint type, HostConfig *c, GError **error)
{
    g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);
    gsize type_len = strlen(group_types[type].type);

    for (guint i = 0; groups[i]; i++) {
        const char *g = groups[i];
        if (strncmp(g, group_types[type].type, type_len) != 0 ||
            (g[type_len] != ' ' && g[type_len] != '\0'))
            continue;
        g_autofree char *name = g_strstrip(g_strdup(g + type_len));
        if (!name[0])
            return fail(error, g, NULL, "the %s needs a name: [%s NAME]", group_types[type].type,
                        group_types[type].type);
        if (!group_types[type].parse(kf, g, name, c, error))
            return FALSE;
    }
    return TRUE;
}

static gboolean
check_group_names(GKeyFile *kf, GError **error)
{
    g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);
    for (guint i = 0; groups[i]; i++) {
        if (g_str_equal(groups[i], "host"))
            continue;
        gboolean known = FALSE;
        for (guint t = 0; t < G_N_ELEMENTS(group_types) && !known; t++) {
            gsize len = strlen(group_types[t].type);
            known = strncmp(groups[i], group_types[t].type, len) == 0 &&
                    (groups[i][len] == ' ' || groups[i][len] == '\0');
        }
        if (!known)
            return fail(error, groups[i], NULL,
                        "unknown group (known: [host], [user NAME], [datastore NAME], "
                        "[vswitch NAME], [portgroup NAME])");
    }
    return TRUE;
}

/* ---- text preparation ------------------------------------------------- */

/* GKeyFile merges a repeated group silently and has no trailing comments;
 * this pass refuses the first and strips the second ("key = v  # note"). */
static char *
prepare_text(const char *text, gsize length, GError **error)
{
    g_autofree char *copy = g_strndup(text, length);
    g_auto(GStrv) lines = g_strsplit(copy, "\n", -1);
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    GString *out = g_string_sized_new(length + 1);

    for (guint i = 0; lines[i]; i++) {
        char *line = lines[i];
        gsize len = strlen(line);
        if (len > 0 && line[len - 1] == '\r')
            line[len - 1] = '\0';
        char *trimmed = g_strstrip(g_strdup(line));
        if (trimmed[0] == '[') {
            if (g_hash_table_contains(seen, trimmed)) {
                g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                            "line %u: group %s appears twice; names must be unique", i + 1,
                            trimmed);
                g_free(trimmed);
                g_string_free(out, TRUE);
                return NULL;
            }
            g_hash_table_add(seen, trimmed);
        } else {
            g_free(trimmed);
            for (char *p = line; *p && line[0] != '#'; p++) {
                if (*p == '#' && p > line && g_ascii_isspace(p[-1])) {
                    *p = '\0';
                    break;
                }
            }
        }
        g_string_append(out, line);
        g_string_append_c(out, '\n');
    }
    return g_string_free(out, FALSE);
}

HostConfig *
host_config_parse(const char *text, gsize length, GError **error)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(HostConfig) config = host_config_new();

    if (!g_utf8_validate_len(text, length, NULL)) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "The configuration is not UTF-8 text");
        return NULL;
    }
    g_autofree char *prepared = prepare_text(text, length, error);
    if (!prepared || !g_key_file_load_from_data(kf, prepared, -1, G_KEY_FILE_NONE, error))
        return NULL;

    if (!check_group_names(kf, error) || !parse_host(kf, config, error))
        return NULL;
    for (guint t = 0; t < G_N_ELEMENTS(group_types); t++) {
        if (!parse_groups_of(kf, t, config, error))
            return NULL;
    }
    if (config->users->len == 0) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "No [user NAME] group: at least one user is needed to log in");
        return NULL;
    }
    return g_steal_pointer(&config);
}

HostConfig *
host_config_load(const char *path, GError **error)
{
    g_autofree char *text = NULL;
    gsize length = 0;

    if (!g_file_get_contents(path, &text, &length, error))
        return NULL;
    HostConfig *config = host_config_parse(text, length, error);
    if (!config)
        g_prefix_error(error, "%s: ", path);
    return config;
}
