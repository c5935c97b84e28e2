/* vmx.c — VMware's `key = "value"` dictionary files (.vmx, .vmtx, .vmsd).
 *
 * Owns the Vmx type: entries in file order with a case-insensitive index, the
 * `|XX` pipe-hex value encoding, the file's `.encoding`, and atomic saves.
 */
#include "vmx.h"
#include "vireo-error.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

/* Real files are a few KiB; guestinfo blobs reach a few hundred KiB. */
#define VMX_MAX_FILE_BYTES (8 * 1024 * 1024)
#define VMX_MAX_LINE_BYTES (1024 * 1024)
#define VMX_MAX_KEY_BYTES 512

typedef struct {
    char *key;       /* spelling as written */
    char *value;     /* decoded */
} VmxEntry;

struct Vmx {
    GPtrArray *entries;  /* VmxEntry*, file order */
    GHashTable *index;   /* lower-cased key -> VmxEntry* (borrowed) */
};

static void
vmx_entry_free(VmxEntry *e)
{
    g_free(e->key);
    g_free(e->value);
    g_free(e);
}

Vmx *
vmx_new(void)
{
    Vmx *vmx = g_new0(Vmx, 1);

    vmx->entries = g_ptr_array_new_with_free_func((GDestroyNotify)vmx_entry_free);
    vmx->index = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    return vmx;
}

void
vmx_free(Vmx *vmx)
{
    if (vmx == NULL)
        return;
    g_hash_table_unref(vmx->index);
    g_ptr_array_unref(vmx->entries);
    g_free(vmx);
}

/* Keys are printable ASCII without blanks, '=', '"' or '#': what VMware
 * writes (letters, digits, . : _ - * and the like). */
gboolean
vmx_key_is_valid(const char *key)
{
    gsize len = 0;

    if (key == NULL || key[0] == '\0')
        return FALSE;
    for (const char *p = key; *p != '\0'; p++, len++) {
        guchar ch = (guchar)*p;
        if (ch <= 0x20 || ch >= 0x7f || ch == '=' || ch == '"' || ch == '#')
            return FALSE;
    }
    return len <= VMX_MAX_KEY_BYTES;
}

static VmxEntry *
vmx_lookup(const Vmx *vmx, const char *key)
{
    g_autofree char *lower = NULL;

    if (key == NULL)
        return NULL;
    lower = g_ascii_strdown(key, -1);
    return g_hash_table_lookup(vmx->index, lower);
}

/* Takes ownership of value. */
static void
vmx_set_owned(Vmx *vmx, const char *key, char *value)
{
    VmxEntry *e = vmx_lookup(vmx, key);

    if (e != NULL) {
        g_free(e->value);
        e->value = value;
        return;
    }
    e = g_new0(VmxEntry, 1);
    e->key = g_strdup(key);
    e->value = value;
    g_ptr_array_add(vmx->entries, e);
    g_hash_table_insert(vmx->index, g_ascii_strdown(key, -1), e);
}

void
vmx_set(Vmx *vmx, const char *key, const char *value)
{
    g_return_if_fail(vmx != NULL);

    if (!vmx_key_is_valid(key)) {
        g_warning("vmx: ignoring invalid key \"%s\"", key ? key : "(null)");
        return;
    }
    if (value == NULL) {
        vmx_remove(vmx, key);
        return;
    }
    vmx_set_owned(vmx, key, g_strdup(value));
}

void
vmx_set_bool(Vmx *vmx, const char *key, gboolean value)
{
    vmx_set(vmx, key, value ? "TRUE" : "FALSE");
}

void
vmx_set_int(Vmx *vmx, const char *key, gint64 value)
{
    char buf[32];

    g_snprintf(buf, sizeof buf, "%" G_GINT64_FORMAT, value);
    vmx_set(vmx, key, buf);
}

const char *
vmx_get(const Vmx *vmx, const char *key)
{
    VmxEntry *e = vmx_lookup(vmx, key);

    return e ? e->value : NULL;
}

gboolean
vmx_get_bool(const Vmx *vmx, const char *key, gboolean def)
{
    static const char *const yes[] = { "true", "1", "yes" };
    static const char *const no[] = { "false", "0", "no" };
    const char *v = vmx_get(vmx, key);

    if (v == NULL)
        return def;
    for (guint i = 0; i < G_N_ELEMENTS(yes); i++) {
        if (g_ascii_strcasecmp(v, yes[i]) == 0)
            return TRUE;
        if (g_ascii_strcasecmp(v, no[i]) == 0)
            return FALSE;
    }
    return def;
}

gint64
vmx_get_int(const Vmx *vmx, const char *key, gint64 def)
{
    const char *v = vmx_get(vmx, key);
    gint64 n;

    if (v == NULL || !g_ascii_string_to_signed(v, 10, G_MININT64, G_MAXINT64, &n, NULL))
        return def;
    return n;
}

static void
vmx_remove_entry(Vmx *vmx, VmxEntry *e)
{
    g_autofree char *lower = g_ascii_strdown(e->key, -1);

    g_hash_table_remove(vmx->index, lower);
    g_ptr_array_remove(vmx->entries, e);
}

void
vmx_remove(Vmx *vmx, const char *key)
{
    VmxEntry *e = vmx_lookup(vmx, key);

    if (e != NULL)
        vmx_remove_entry(vmx, e);
}

void
vmx_remove_prefix(Vmx *vmx, const char *prefix)
{
    gsize len = strlen(prefix);

    for (guint i = vmx->entries->len; i > 0; i--) {
        VmxEntry *e = g_ptr_array_index(vmx->entries, i - 1);
        if (g_ascii_strncasecmp(e->key, prefix, len) == 0)
            vmx_remove_entry(vmx, e);
    }
}

GPtrArray *
vmx_keys(const Vmx *vmx)
{
    GPtrArray *keys = g_ptr_array_sized_new(vmx->entries->len);

    for (guint i = 0; i < vmx->entries->len; i++)
        g_ptr_array_add(keys, ((VmxEntry *)g_ptr_array_index(vmx->entries, i))->key);
    return keys;
}

/* ---- parsing ----------------------------------------------------------- */

static gboolean
parse_error(GError **error, guint line, const char *format, ...) G_GNUC_PRINTF(3, 4);

static gboolean
parse_error(GError **error, guint line, const char *format, ...)
{
    va_list args;
    g_autofree char *message = NULL;

    va_start(args, format);
    message = g_strdup_vprintf(format, args);
    va_end(args);
    g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                "Malformed .vmx, line %u: %s", line, message);
    return FALSE;
}

/* Undoes VMware's `|XX` escapes. A '|' not followed by two hex digits is kept
 * as it is, as VMware does. */
static char *
decode_value(const char *s, gsize len, guint line, GError **error)
{
    GString *out = g_string_sized_new(len);

    for (gsize i = 0; i < len; i++) {
        if (s[i] == '|' && i + 2 < len && g_ascii_isxdigit(s[i + 1]) &&
            g_ascii_isxdigit(s[i + 2])) {
            int byte = g_ascii_xdigit_value(s[i + 1]) << 4 | g_ascii_xdigit_value(s[i + 2]);
            if (byte == 0) {
                g_string_free(out, TRUE);
                parse_error(error, line, "the value holds |00, a NUL byte, which no value may contain");
                return NULL;
            }
            g_string_append_c(out, (char)byte);
            i += 2;
            continue;
        }
        g_string_append_c(out, s[i]);
    }
    return g_string_free(out, FALSE);
}

static const char *
skip_blanks(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/* Parses one line [p, end) into vmx; blank lines and comments are skipped. */
static gboolean
parse_line(Vmx *vmx, const char *p, const char *end, guint line, GError **error)
{
    const char *key, *key_end, *val, *val_end;
    g_autofree char *key_str = NULL;
    char *value;

    p = skip_blanks(p, end);
    if (p == end || *p == '#')
        return TRUE;
    key = p;
    while (p < end && *p != '=' && *p != ' ' && *p != '\t')
        p++;
    key_end = p;
    p = skip_blanks(p, end);
    if (p == end || *p != '=')
        return parse_error(error, line, "expected `key = \"value\"`; a key may not contain blanks");
    key_str = g_strndup(key, key_end - key);
    if (!vmx_key_is_valid(key_str)) {
        g_autofree char *shown = g_strescape(key_str, NULL);
        return parse_error(error, line, "\"%.40s\" is not a valid key (printable ASCII without "
                           "blanks, '\"', '=' or '#')", shown);
    }
    p = skip_blanks(p + 1, end);
    if (p < end && *p == '"') {
        val = ++p;
        while (p < end && *p != '"')
            p++;
        if (p == end)
            return parse_error(error, line, "the value of %s has no closing '\"'", key_str);
        val_end = p++;
    } else {
        /* VMware also reads a bare word: `memsize = 512`. */
        val = p;
        while (p < end && *p != ' ' && *p != '\t' && *p != '#' && *p != '"')
            p++;
        val_end = p;
        if (val == val_end)
            return parse_error(error, line, "%s has no value: write %s = \"\"", key_str, key_str);
    }
    p = skip_blanks(p, end);
    if (p < end && *p != '#')
        return parse_error(error, line, "unexpected text after the value of %s", key_str);
    value = decode_value(val, val_end - val, line, error);
    if (value == NULL)
        return FALSE;
    /* The file's encoding is a property of its bytes, handled by the caller. */
    if (g_ascii_strcasecmp(key_str, ".encoding") == 0) {
        g_free(value);
        return TRUE;
    }
    vmx_set_owned(vmx, key_str, value);
    return TRUE;
}

static Vmx *
parse_utf8(const char *text, gsize length, GError **error)
{
    g_autoptr(Vmx) vmx = vmx_new();
    const char *p = text, *end = text + length;
    guint line = 1;

    while (p < end) {
        const char *nl = memchr(p, '\n', end - p);
        const char *line_end = nl ? nl : end;
        const char *bad;

        if (line_end - p > VMX_MAX_LINE_BYTES) {
            parse_error(error, line, "the line is longer than %d bytes", VMX_MAX_LINE_BYTES);
            return NULL;
        }
        if (!g_utf8_validate(p, line_end - p, &bad)) {
            parse_error(error, line, "invalid UTF-8 at byte %ld of the line; "
                        "the file says it is UTF-8", (long)(bad - p) + 1);
            return NULL;
        }
        if (line_end > p && line_end[-1] == '\r')
            line_end--;
        if (!parse_line(vmx, p, line_end, line, error))
            return NULL;
        p = nl ? nl + 1 : end;
        line++;
    }
    return g_steal_pointer(&vmx);
}

/* The `.encoding` value, looked for at the start of any line (VMware writes it
 * first, but not every tool does). NULL when absent. */
static char *
find_encoding(const char *text, gsize length)
{
    static const char key[] = ".encoding";
    const char *p = text, *end = text + length;

    while (p < end) {
        const char *nl = memchr(p, '\n', end - p);
        const char *line_end = nl ? nl : end;
        const char *q = skip_blanks(p, line_end);

        if ((gsize)(line_end - q) > strlen(key) && g_ascii_strncasecmp(q, key, strlen(key)) == 0) {
            const char *open, *close;
            q = skip_blanks(q + strlen(key), line_end);
            open = (q < line_end && *q == '=') ? memchr(q, '"', line_end - q) : NULL;
            close = open ? memchr(open + 1, '"', line_end - open - 1) : NULL;
            if (close != NULL && close - open - 1 < 64)
                return g_strndup(open + 1, close - open - 1);
        }
        p = nl ? nl + 1 : end;
    }
    return NULL;
}

static gboolean
is_utf8_name(const char *encoding)
{
    return encoding == NULL || g_ascii_strcasecmp(encoding, "UTF-8") == 0 ||
           g_ascii_strcasecmp(encoding, "UTF8") == 0;
}

Vmx *
vmx_parse(const char *text, gsize length, GError **error)
{
    g_autofree char *encoding = NULL;
    g_autofree char *converted = NULL;
    const char *nul;
    gsize converted_len = 0;

    g_return_val_if_fail(text != NULL || length == 0, NULL);

    if (length > VMX_MAX_FILE_BYTES) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "The .vmx is %" G_GSIZE_FORMAT " bytes; Vireo reads files of at most %d bytes",
                    length, VMX_MAX_FILE_BYTES);
        return NULL;
    }
    nul = length ? memchr(text, '\0', length) : NULL;
    if (nul != NULL) {
        guint line = 1;
        for (const char *p = text; p < nul; p++)
            line += *p == '\n';
        parse_error(error, line, "the file contains a NUL byte; it is not a text .vmx");
        return NULL;
    }
    encoding = find_encoding(text, length);
    if (is_utf8_name(encoding))
        return parse_utf8(text, length, error);

    /* Older VMware products wrote the host's code page (windows-1252, ...). */
    converted = g_convert(text, length, "UTF-8", encoding, NULL, &converted_len, NULL);
    if (converted == NULL) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "The .vmx says .encoding = \"%s\", but its text cannot be read in that "
                    "encoding: re-save it as UTF-8", encoding);
        return NULL;
    }
    return parse_utf8(converted, converted_len, error);
}

Vmx *
vmx_load(const char *path, GError **error)
{
    g_autofree char *text = NULL;
    g_autoptr(GError) local = NULL;
    gsize length = 0;
    GStatBuf st;
    Vmx *vmx;

    if (g_stat(path, &st) == 0 && st.st_size > VMX_MAX_FILE_BYTES) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "%s is %lld bytes; a .vmx may be at most %d bytes",
                    path, (long long)st.st_size, VMX_MAX_FILE_BYTES);
        return NULL;
    }
    if (!g_file_get_contents(path, &text, &length, &local)) {
        int code = g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT) ?
                   VIREO_ERROR_NOT_FOUND : VIREO_ERROR_ERROR;
        g_set_error(error, VIREO_ERROR, code, "%s", local->message);
        return NULL;
    }
    vmx = vmx_parse(text, length, &local);
    if (vmx == NULL) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT, "%s: %s", path, local->message);
        return NULL;
    }
    return vmx;
}

/* ---- writing ----------------------------------------------------------- */

/* VMware escapes '"', '|' and control characters as |XX. Bytes that are not
 * valid UTF-8 are escaped too, so the file stays UTF-8 and reads back the same. */
static void
encode_value(GString *out, const char *value)
{
    const char *p = value;

    while (*p != '\0') {
        guchar ch = (guchar)*p;

        if (ch >= 0x80) {
            /* g_utf8_validate stops at a NUL, so it never reads past the end. */
            if (g_utf8_validate(p, g_utf8_skip[ch], NULL)) {
                g_string_append_len(out, p, g_utf8_skip[ch]);
                p += g_utf8_skip[ch];
                continue;
            }
            g_string_append_printf(out, "|%02X", ch);
        } else if (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '|') {
            g_string_append_printf(out, "|%02X", ch);
        } else {
            g_string_append_c(out, (char)ch);
        }
        p++;
    }
}

char *
vmx_to_string(const Vmx *vmx)
{
    GString *out = g_string_new(".encoding = \"UTF-8\"\n");

    for (guint i = 0; i < vmx->entries->len; i++) {
        const VmxEntry *e = g_ptr_array_index(vmx->entries, i);

        g_string_append(out, e->key);
        g_string_append(out, " = \"");
        encode_value(out, e->value);
        g_string_append(out, "\"\n");
    }
    return g_string_free(out, FALSE);
}

static gboolean
save_error(GError **error, const char *what, const char *path, int err)
{
    g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "Cannot %s %s: %s", what, path, g_strerror(err));
    return FALSE;
}

static gboolean
write_all(int fd, const char *data, gsize len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return FALSE;
        data += n;
        len -= (gsize)n;
    }
    return TRUE;
}

static void
fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

gboolean
vmx_save(const Vmx *vmx, const char *path, GError **error)
{
    g_autofree char *text = vmx_to_string(vmx);
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *base = g_path_get_basename(path);
    g_autofree char *tmp = g_strdup_printf("%s/.%s.tmp-XXXXXX", dir, base);
    GStatBuf st;
    int fd, err;

    fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0)
        return save_error(error, "create a temporary file in", dir, errno);
    /* Keep the mode of the file being replaced. */
    if (g_stat(path, &st) == 0)
        fchmod(fd, st.st_mode & 07777);
    if (!write_all(fd, text, strlen(text)) || fsync(fd) != 0) {
        err = errno;
        close(fd);
        g_unlink(tmp);
        return save_error(error, "write", tmp, err);
    }
    if (close(fd) != 0 || g_rename(tmp, path) != 0) {
        err = errno;
        g_unlink(tmp);
        return save_error(error, "replace", path, err);
    }
    fsync_dir(dir);
    return TRUE;
}
