/* center-config.c — vireo-centerd's INI file:
 *
 *   [center]
 *   name = vc-lab
 *   listen = 10.78.0.2
 *   port = 8443
 *   state_dir = /var/lib/vireo/center
 *   heartbeat_ms = 5000          # host heartbeat interval
 *   heartbeat_misses = 3         # NOT_RESPONDING after this many misses
 *   reconcile_seconds = 30       # every host's inventory is read again this often
 *
 *   [admin]
 *   user = administrator
 *   password_hash = $y$...       # vireo-centerd --hash-password
 */
#include "center.h"
#include "vireo-error.h"

void
center_config_free(CenterConfig *c)
{
    if (!c)
        return;
    g_free(c->name);
    g_free(c->listen_address);
    g_free(c->state_dir);
    g_free(c->admin_user);
    g_free(c->admin_password_hash);
    g_free(c);
}

static char *
required(GKeyFile *kf, const char *group, const char *key, GError **error)
{
    g_autofree char *v = g_key_file_get_string(kf, group, key, NULL);
    if (!v || !*g_strstrip(v)) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "[%s] %s is required", group, key);
        return NULL;
    }
    return g_steal_pointer(&v);
}

CenterConfig *
center_config_load(const char *path, GError **error)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, error)) {
        g_prefix_error(error, "%s: ", path);
        return NULL;
    }
    g_autoptr(CenterConfig) c = g_new0(CenterConfig, 1);
    if (!(c->name = required(kf, "center", "name", error)) ||
        !(c->state_dir = required(kf, "center", "state_dir", error)) ||
        !(c->admin_user = required(kf, "admin", "user", error)) ||
        !(c->admin_password_hash = required(kf, "admin", "password_hash", error))) {
        g_prefix_error(error, "%s: ", path);
        return NULL;
    }
    c->listen_address = g_key_file_get_string(kf, "center", "listen", NULL);
    if (!c->listen_address)
        c->listen_address = g_strdup("127.0.0.1");
    g_strstrip(c->listen_address);
    gint64 port = g_key_file_has_key(kf, "center", "port", NULL)
                      ? g_key_file_get_int64(kf, "center", "port", NULL) : 8443;
    gint64 hb = g_key_file_has_key(kf, "center", "heartbeat_ms", NULL)
                    ? g_key_file_get_int64(kf, "center", "heartbeat_ms", NULL) : 5000;
    gint64 misses = g_key_file_has_key(kf, "center", "heartbeat_misses", NULL)
                        ? g_key_file_get_int64(kf, "center", "heartbeat_misses", NULL) : 3;
    if (port < 0 || port > 65535 || hb < 100 || hb > 600000 || misses < 1 || misses > 100) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "%s: [center] port (0-65535), heartbeat_ms (100-600000) or "
                    "heartbeat_misses (1-100) out of range", path);
        return NULL;
    }
    if (!g_path_is_absolute(c->state_dir)) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "%s: [center] state_dir must be an absolute path", path);
        return NULL;
    }
    gint64 rec = g_key_file_has_key(kf, "center", "reconcile_seconds", NULL)
                     ? g_key_file_get_int64(kf, "center", "reconcile_seconds", NULL) : 30;
    if (rec < 1 || rec > 86400) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "%s: [center] reconcile_seconds must be 1-86400", path);
        return NULL;
    }
    c->reconcile_seconds = (guint)rec;
    c->port = (guint)port;
    c->heartbeat_ms = (guint)hb;
    c->heartbeat_misses = (guint)misses;
    return g_steal_pointer(&c);
}
