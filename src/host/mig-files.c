/* mig-files.c — the key file and the journals of migrations (mig-files.h). */
#include "mig-files.h"

#include "json-util.h"
#include "vireo-error.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ID_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._"

static gboolean
token_valid(const char *s, const char *allowed, gsize min, gsize max)
{
    gsize n = s ? strlen(s) : 0;
    return n >= min && n <= max && strspn(s, allowed) == n;
}

gboolean
mig_id_valid(const char *id)
{
    return token_valid(id, ID_CHARS, 1, 64) && id[0] != '.';
}

gboolean
mig_psk_write(JsonObject *psk, const char *dir, char **identity, GError **error)
{
    const char *id = psk ? json_object_get_string_member_with_default(psk, "identity", NULL) : NULL;
    const char *key = psk ? json_object_get_string_member_with_default(psk, "key", NULL) : NULL;
    if (!mig_id_valid(id) || !token_valid(key, "0123456789abcdefABCDEF", 32, 128) || strlen(key) % 2) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "psk: give an identity ([A-Za-z0-9._-], at most 64) and a key (16 to 64 bytes in hex)");
        return FALSE;
    }
    if (g_mkdir_with_parents(dir, 0700) != 0) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "cannot create %s: %s", dir, g_strerror(errno));
        return FALSE;
    }
    g_autofree char *path = g_build_filename(dir, "keys.psk", NULL);
    g_autofree char *line = g_strdup_printf("%s:%s\n", id, key);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    gboolean ok = fd >= 0 && fchmod(fd, 0600) == 0 && write(fd, line, strlen(line)) == (ssize_t)strlen(line);
    int saved = errno;
    memset(line, 0, strlen(line));
    if (fd >= 0 && close(fd) < 0 && ok) {
        ok = FALSE;
        saved = errno;
    }
    if (!ok) {
        g_unlink(path);
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "cannot write %s: %s", path, g_strerror(saved));
        return FALSE;
    }
    *identity = g_strdup(id);
    return TRUE;
}

void
mig_psk_remove(const char *dir)
{
    g_autofree char *path = dir ? g_build_filename(dir, "keys.psk", NULL) : NULL;
    if (path && g_unlink(path) < 0 && errno != ENOENT)
        g_warning("%s: %s", path, g_strerror(errno));
}

gboolean
mig_journal_write(const char *dir, const char *path, JsonObject *o, const char *what, GError **error)
{
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
    json_node_set_object(node, o);
    g_autofree char *text = json_util_to_string(node, FALSE);
    if (g_mkdir_with_parents(dir, 0700) < 0) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "%s: cannot create %s: %s", what, dir,
                    g_strerror(errno));
        return FALSE;
    }
    if (!g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                  0600, error)) {
        g_prefix_error(error, "%s: ", what);
        return FALSE;
    }
    return TRUE;
}

JsonObject *
mig_journal_read(const char *path)
{
    g_autofree char *text = NULL;
    if (!path || !g_file_get_contents(path, &text, NULL, NULL))
        return NULL;
    g_autoptr(JsonNode) node = json_util_parse(text, -1, 6, NULL);
    if (!node || !JSON_NODE_HOLDS_OBJECT(node))
        return NULL;
    return json_object_ref(json_node_get_object(node));
}
