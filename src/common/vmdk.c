/* vmdk.c — VMDK text descriptors: parsing (also embedded in a sparse file),
 * ESXi-style writing, new flat descriptors, and deciding where a disk's data
 * is and whether Vireo may open it (the extent must stay in the VM's folder).
 */
#include "vmdk.h"
#include "vireo-error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#define VMDK_MAX_DESCRIPTOR_BYTES (1024 * 1024)
#define VMDK_SECTOR 512

static void
vmdk_extent_free(VmdkExtent *e)
{
    g_free(e->type);
    g_free(e->file_name);
    g_free(e);
}

VmdkDescriptor *
vmdk_descriptor_new(void)
{
    VmdkDescriptor *desc = g_new0(VmdkDescriptor, 1);

    desc->version = 1;
    desc->parent_cid = 0xffffffff;
    desc->extents = g_ptr_array_new_with_free_func((GDestroyNotify)vmdk_extent_free);
    desc->ddb_keys = g_ptr_array_new_with_free_func(g_free);
    desc->ddb = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    desc->other_keys = g_ptr_array_new_with_free_func(g_free);
    desc->other = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    return desc;
}

void
vmdk_descriptor_free(VmdkDescriptor *desc)
{
    if (desc == NULL)
        return;
    g_free(desc->encoding);
    g_free(desc->create_type);
    g_free(desc->parent_file_name_hint);
    g_ptr_array_unref(desc->extents);
    g_ptr_array_unref(desc->ddb_keys);
    g_hash_table_unref(desc->ddb);
    g_ptr_array_unref(desc->other_keys);
    g_hash_table_unref(desc->other);
    g_free(desc);
}

static void
set_ordered(GPtrArray *keys, GHashTable *table, const char *key, const char *value)
{
    if (!g_hash_table_contains(table, key))
        g_ptr_array_add(keys, g_strdup(key));
    g_hash_table_insert(table, g_strdup(key), g_strdup(value));
}

const char *
vmdk_descriptor_ddb(const VmdkDescriptor *desc, const char *key)
{
    return g_hash_table_lookup(desc->ddb, key);
}

void
vmdk_descriptor_set_ddb(VmdkDescriptor *desc, const char *key, const char *value)
{
    set_ordered(desc->ddb_keys, desc->ddb, key, value);
}

guint64
vmdk_descriptor_capacity(const VmdkDescriptor *desc)
{
    guint64 sectors = 0;

    for (guint i = 0; i < desc->extents->len; i++)
        sectors += ((VmdkExtent *)g_ptr_array_index(desc->extents, i))->sectors;
    return sectors * VMDK_SECTOR;
}

/* ---- parsing ----------------------------------------------------------- */

static gboolean
line_error(GError **error, guint line, const char *format, ...) G_GNUC_PRINTF(3, 4);

static gboolean
line_error(GError **error, guint line, const char *format, ...)
{
    va_list args;
    g_autofree char *message = NULL;

    va_start(args, format);
    message = g_strdup_vprintf(format, args);
    va_end(args);
    g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                "Malformed VMDK descriptor, line %u: %s", line, message);
    return FALSE;
}

static const char *const access_names[] = {
    [VMDK_EXTENT_RW] = "RW",
    [VMDK_EXTENT_RDONLY] = "RDONLY",
    [VMDK_EXTENT_NOACCESS] = "NOACCESS",
};

/* `<RW|RDONLY|NOACCESS> <sectors> <type> ["<file>" [offset]]`; words[0] is
 * known to be an access mode. */
static gboolean
parse_extent(VmdkDescriptor *desc, const char *line_text, guint line, GError **error)
{
    g_autofree char *file = NULL;
    g_auto(GStrv) words = NULL;
    const char *q1 = strchr(line_text, '"'), *q2 = q1 ? strchr(q1 + 1, '"') : NULL;
    g_autofree char *head = q1 ? g_strndup(line_text, q1 - line_text) : g_strdup(line_text);
    VmdkExtent *e;
    guint64 sectors, offset = 0;
    guint n;

    if (q1 != NULL && q2 == NULL)
        return line_error(error, line, "the extent's file name has no closing '\"'");
    words = g_strsplit_set(g_strstrip(head), " \t", -1);
    n = 0;
    for (guint i = 0; words[i] != NULL; i++)
        if (words[i][0] != '\0')
            words[n++] = words[i];
        else
            g_free(words[i]);
    words[n] = NULL;
    if (n != 3)
        return line_error(error, line, "an extent is `RW <sectors> <type> \"<file>\" [offset]`");
    if (!g_ascii_string_to_unsigned(words[1], 10, 0, G_MAXUINT64 / VMDK_SECTOR, &sectors, NULL))
        return line_error(error, line, "\"%s\" is not a sector count", words[1]);
    if (q2 != NULL) {
        g_autofree char *tail = g_strstrip(g_strdup(q2 + 1));
        file = g_strndup(q1 + 1, q2 - q1 - 1);
        if (tail[0] != '\0' && !g_ascii_string_to_unsigned(tail, 10, 0, G_MAXUINT64, &offset, NULL))
            return line_error(error, line, "\"%s\" is not an extent offset", tail);
    } else if (g_ascii_strcasecmp(words[2], "ZERO") != 0) {
        return line_error(error, line, "a %s extent needs a quoted file name", words[2]);
    }
    e = g_new0(VmdkExtent, 1);
    for (guint a = 0; a < G_N_ELEMENTS(access_names); a++)
        if (g_str_equal(words[0], access_names[a]))
            e->access = (VmdkExtentAccess)a;
    e->sectors = sectors;
    e->type = g_strdup(words[2]);
    e->file_name = g_steal_pointer(&file);
    e->offset = offset;
    g_ptr_array_add(desc->extents, e);
    return TRUE;
}

static gboolean
parse_hex32(const char *s, guint32 *out)
{
    guint64 v;

    if (!g_ascii_string_to_unsigned(s, 16, 0, G_MAXUINT32, &v, NULL))
        return FALSE;
    *out = (guint32)v;
    return TRUE;
}

static gboolean
apply_key(VmdkDescriptor *desc, const char *key, const char *value, guint line, GError **error)
{
    guint64 version;

    if (g_str_has_prefix(key, "ddb.")) {
        vmdk_descriptor_set_ddb(desc, key, value);
    } else if (g_ascii_strcasecmp(key, "version") == 0) {
        if (!g_ascii_string_to_unsigned(value, 10, 1, 99, &version, NULL))
            return line_error(error, line, "version \"%s\" is not a number", value);
        desc->version = (int)version;
    } else if (g_ascii_strcasecmp(key, "CID") == 0) {
        if (!parse_hex32(value, &desc->cid))
            return line_error(error, line, "CID \"%s\" is not 8 hex digits", value);
    } else if (g_ascii_strcasecmp(key, "parentCID") == 0) {
        if (!parse_hex32(value, &desc->parent_cid))
            return line_error(error, line, "parentCID \"%s\" is not 8 hex digits", value);
    } else if (g_ascii_strcasecmp(key, "encoding") == 0) {
        g_free(desc->encoding);
        desc->encoding = g_strdup(value);
    } else if (g_ascii_strcasecmp(key, "createType") == 0) {
        g_free(desc->create_type);
        desc->create_type = g_strdup(value);
    } else if (g_ascii_strcasecmp(key, "parentFileNameHint") == 0) {
        g_free(desc->parent_file_name_hint);
        desc->parent_file_name_hint = g_strdup(value);
    } else {
        set_ordered(desc->other_keys, desc->other, key, value);
    }
    return TRUE;
}

/* `key=value` or `key = "value"`. */
static gboolean
parse_key_value(VmdkDescriptor *desc, const char *text, guint line, GError **error)
{
    const char *eq = strchr(text, '=');
    g_autofree char *key = NULL;
    g_autofree char *value = NULL;

    if (eq == NULL || eq == text)
        return line_error(error, line, "expected a comment, an extent or key=value");
    key = g_strstrip(g_strndup(text, eq - text));
    value = g_strstrip(g_strdup(eq + 1));
    if (key[0] == '\0' || strpbrk(key, " \t\"") != NULL)
        return line_error(error, line, "\"%.40s\" is not a key", key);
    if (value[0] == '"') {
        char *close = strchr(value + 1, '"');
        if (close == NULL)
            return line_error(error, line, "the value of %s has no closing '\"'", key);
        if (close[1] != '\0')
            return line_error(error, line, "unexpected text after the value of %s", key);
        *close = '\0';
        memmove(value, value + 1, strlen(value + 1) + 1);
    }
    return apply_key(desc, key, value, line, error);
}

static gboolean
is_extent_line(const char *text)
{
    for (guint a = 0; a < G_N_ELEMENTS(access_names); a++) {
        gsize len = strlen(access_names[a]);
        if (strncmp(text, access_names[a], len) == 0 && (text[len] == ' ' || text[len] == '\t'))
            return TRUE;
    }
    return FALSE;
}

VmdkDescriptor *
vmdk_descriptor_parse(const char *text, gsize length, GError **error)
{
    g_autoptr(VmdkDescriptor) desc = vmdk_descriptor_new();
    g_autofree char *copy = NULL;
    g_auto(GStrv) lines = NULL;
    gboolean header = FALSE;

    if (length > VMDK_MAX_DESCRIPTOR_BYTES) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "The VMDK descriptor is %" G_GSIZE_FORMAT " bytes; descriptors are at most %d bytes",
                    length, VMDK_MAX_DESCRIPTOR_BYTES);
        return NULL;
    }
    if (length > 0 && memchr(text, '\0', length) != NULL) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "The VMDK descriptor contains a NUL byte; it is not a text descriptor");
        return NULL;
    }
    copy = g_strndup(text, length);
    lines = g_strsplit(copy, "\n", -1);
    for (guint i = 0; lines[i] != NULL; i++) {
        char *line = g_strstrip(lines[i]);

        if (line[0] == '#') {
            header |= g_ascii_strncasecmp(line, "# Disk DescriptorFile", 21) == 0;
            continue;
        }
        if (line[0] == '\0')
            continue;
        if (is_extent_line(line) ? !parse_extent(desc, line, i + 1, error)
                                 : !parse_key_value(desc, line, i + 1, error))
            return NULL;
    }
    if (!header && desc->create_type == NULL) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "Not a VMDK descriptor: no \"# Disk DescriptorFile\" header and no createType");
        return NULL;
    }
    return g_steal_pointer(&desc);
}

/* ---- loading ----------------------------------------------------------- */

static gboolean
read_at(int fd, void *buf, gsize len, goffset offset)
{
    while (len > 0) {
        ssize_t n = pread(fd, buf, len, offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return FALSE;
        buf = (char *)buf + n;
        len -= (gsize)n;
        offset += n;
    }
    return TRUE;
}

/* The descriptor embedded in a KDMV sparse file: offset and size (in sectors)
 * at bytes 28 and 36 of the header, little-endian. */
static VmdkDescriptor *
load_embedded(int fd, const guint8 *hdr, const char *path, GError **error)
{
    guint64 offset, size;
    g_autofree char *buf = NULL;

    memcpy(&offset, hdr + 28, 8);
    memcpy(&size, hdr + 36, 8);
    offset = GUINT64_FROM_LE(offset);
    size = GUINT64_FROM_LE(size);
    if (offset == 0 || size == 0) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "%s is a sparse VMDK extent without an embedded descriptor: "
                    "open its descriptor file instead", path);
        return NULL;
    }
    if (size > VMDK_MAX_DESCRIPTOR_BYTES / VMDK_SECTOR || offset > G_MAXINT64 / VMDK_SECTOR) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "%s: the embedded descriptor's size or offset is out of range", path);
        return NULL;
    }
    buf = g_malloc0(size * VMDK_SECTOR + 1);
    if (!read_at(fd, buf, size * VMDK_SECTOR, (goffset)(offset * VMDK_SECTOR))) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "%s: cannot read the embedded descriptor (file truncated?)", path);
        return NULL;
    }
    /* The descriptor area is NUL-padded. */
    return vmdk_descriptor_parse(buf, strlen(buf), error);
}

VmdkDescriptor *
vmdk_descriptor_load(const char *path, GError **error)
{
    guint8 hdr[512] = { 0 };
    g_autofree char *text = NULL;
    g_autoptr(GError) local = NULL;
    VmdkDescriptor *desc;
    GStatBuf st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        int err = errno;
        g_set_error(error, VIREO_ERROR, err == ENOENT ? VIREO_ERROR_NOT_FOUND : VIREO_ERROR_ERROR,
                    "Cannot open %s: %s", path, g_strerror(err));
        return NULL;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT, "%s is not a regular file", path);
        return NULL;
    }
    if (st.st_size >= 512 && read_at(fd, hdr, sizeof hdr, 0)) {
        if (memcmp(hdr, "KDMV", 4) == 0) {
            desc = load_embedded(fd, hdr, path, error);
            close(fd);
            return desc;
        }
        if (memcmp(hdr, "COWD", 4) == 0) {
            close(fd);
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                        "%s is a vmfsSparse (COWD) delta extent, not a descriptor: "
                        "open the matching descriptor .vmdk instead", path);
            return NULL;
        }
    }
    if (st.st_size > VMDK_MAX_DESCRIPTOR_BYTES) {
        close(fd);
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "%s is %lld bytes: it is disk data (a flat extent?), not a descriptor",
                    path, (long long)st.st_size);
        return NULL;
    }
    text = g_malloc0(st.st_size + 1);
    if (st.st_size > 0 && !read_at(fd, text, st.st_size, 0)) {
        close(fd);
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "Cannot read %s", path);
        return NULL;
    }
    close(fd);
    desc = vmdk_descriptor_parse(text, st.st_size, &local);
    if (desc == NULL)
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT, "%s: %s", path, local->message);
    return desc;
}

/* ---- writing ----------------------------------------------------------- */

/* The format has no escapes: a '"' or a line break would end the value. */
static void
append_safe(GString *out, const char *value)
{
    for (const char *p = value; *p != '\0'; p++)
        g_string_append_c(out, (*p == '"' || *p == '\n' || *p == '\r') ? '_' : *p);
}

static void
append_quoted_key(GString *out, const char *key, const char *sep, const char *value)
{
    g_string_append(out, key);
    g_string_append(out, sep);
    g_string_append_c(out, '"');
    append_safe(out, value);
    g_string_append(out, "\"\n");
}

static void
append_extent(GString *out, const VmdkExtent *e)
{
    const char *access = (guint)e->access < G_N_ELEMENTS(access_names) ? access_names[e->access] : "RW";

    g_string_append_printf(out, "%s %" G_GUINT64_FORMAT " ", access, e->sectors);
    append_safe(out, e->type ? e->type : "FLAT");
    if (e->file_name != NULL) {
        g_string_append(out, " \"");
        append_safe(out, e->file_name);
        g_string_append_c(out, '"');
        if (e->offset != 0 || (e->type && g_ascii_strcasecmp(e->type, "FLAT") == 0))
            g_string_append_printf(out, " %" G_GUINT64_FORMAT, e->offset);
    }
    g_string_append_c(out, '\n');
}

char *
vmdk_descriptor_to_string(const VmdkDescriptor *desc)
{
    GString *out = g_string_new("# Disk DescriptorFile\n");

    g_string_append_printf(out, "version=%d\n", desc->version);
    if (desc->encoding != NULL)
        append_quoted_key(out, "encoding", "=", desc->encoding);
    g_string_append_printf(out, "CID=%08x\nparentCID=%08x\n", desc->cid, desc->parent_cid);
    for (guint i = 0; i < desc->other_keys->len; i++) {
        const char *key = g_ptr_array_index(desc->other_keys, i);
        append_quoted_key(out, key, "=", g_hash_table_lookup(desc->other, key));
    }
    append_quoted_key(out, "createType", "=", desc->create_type ? desc->create_type : "vmfs");
    if (desc->parent_file_name_hint != NULL)
        append_quoted_key(out, "parentFileNameHint", "=", desc->parent_file_name_hint);
    g_string_append(out, "\n# Extent description\n");
    for (guint i = 0; i < desc->extents->len; i++)
        append_extent(out, g_ptr_array_index(desc->extents, i));
    g_string_append(out, "\n# The Disk Data Base\n#DDB\n\n");
    for (guint i = 0; i < desc->ddb_keys->len; i++) {
        const char *key = g_ptr_array_index(desc->ddb_keys, i);
        append_quoted_key(out, key, " = ", g_hash_table_lookup(desc->ddb, key));
    }
    return g_string_free(out, FALSE);
}

gboolean
vmdk_descriptor_save(const VmdkDescriptor *desc, const char *path, GError **error)
{
    g_autofree char *text = vmdk_descriptor_to_string(desc);
    g_autoptr(GError) local = NULL;

    /* g_file_set_contents writes a temp file, fsyncs it and renames it. */
    if (!g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT |
                                  G_FILE_SET_CONTENTS_DURABLE, 0644, &local)) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "Cannot write %s: %s", path, local->message);
        return FALSE;
    }
    return TRUE;
}

VmdkDescriptor *
vmdk_descriptor_new_flat(const char *flat_file_name, guint64 capacity_bytes,
                         const char *adapter_type, gboolean thin,
                         const guint8 uuid_bytes[16], guint32 cid)
{
    VmdkDescriptor *desc = vmdk_descriptor_new();
    VmdkExtent *e = g_new0(VmdkExtent, 1);
    guint64 sectors = (capacity_bytes + VMDK_SECTOR - 1) / VMDK_SECTOR;
    guint64 cylinders = sectors / (255 * 63);
    g_autofree char *text = NULL;
    GString *uuid = g_string_new("60 00 C2");
    GString *long_id = g_string_new(NULL);

    desc->encoding = g_strdup("UTF-8");
    desc->cid = cid;
    desc->parent_cid = 0xffffffff;
    desc->create_type = g_strdup("vmfs");
    set_ordered(desc->other_keys, desc->other, "isNativeSnapshot", "no");
    e->access = VMDK_EXTENT_RW;
    e->sectors = sectors;
    e->type = g_strdup("VMFS");
    e->file_name = g_strdup(flat_file_name);
    g_ptr_array_add(desc->extents, e);

    for (int i = 3; i < 16; i++)
        g_string_append_printf(uuid, "%c%02x", i == 8 ? '-' : ' ', uuid_bytes[i]);
    for (int i = 0; i < 12; i++)
        g_string_append_printf(long_id, "%02x", uuid_bytes[i]);
    g_string_append_printf(long_id, "%08x", cid);

    vmdk_descriptor_set_ddb(desc, "ddb.adapterType", adapter_type ? adapter_type : "lsilogic");
    text = g_strdup_printf("%" G_GUINT64_FORMAT, CLAMP(cylinders, 1, 65535));
    vmdk_descriptor_set_ddb(desc, "ddb.geometry.cylinders", text);
    vmdk_descriptor_set_ddb(desc, "ddb.geometry.heads", "255");
    vmdk_descriptor_set_ddb(desc, "ddb.geometry.sectors", "63");
    vmdk_descriptor_set_ddb(desc, "ddb.longContentID", long_id->str);
    if (thin)
        vmdk_descriptor_set_ddb(desc, "ddb.thinProvisioned", "1");
    vmdk_descriptor_set_ddb(desc, "ddb.uuid", uuid->str);
    vmdk_descriptor_set_ddb(desc, "ddb.virtualHWVersion", "4");
    g_string_free(uuid, TRUE);
    g_string_free(long_id, TRUE);
    return desc;
}

/* ---- where the data is ------------------------------------------------- */

static gboolean
refuse(GError **error, VireoErrorCode code, const char *format, ...) G_GNUC_PRINTF(3, 4);

static gboolean
refuse(GError **error, VireoErrorCode code, const char *format, ...)
{
    va_list args;
    g_autofree char *message = NULL;

    va_start(args, format);
    message = g_strdup_vprintf(format, args);
    va_end(args);
    g_set_error_literal(error, VIREO_ERROR, code, message);
    return FALSE;
}

static gboolean
check_extent_name(const char *name, GError **error)
{
    if (name == NULL || name[0] == '\0')
        return refuse(error, VIREO_ERROR_INVALID_ARGUMENT, "The disk's extent has no file name");
    if (name[0] == '/')
        return refuse(error, VIREO_ERROR_INVALID_ARGUMENT,
                      "The extent \"%s\" is an absolute path; Vireo only opens extents in the "
                      "VM's own folder: copy the data there and name it without a path", name);
    if (strstr(name, "..") != NULL)
        return refuse(error, VIREO_ERROR_INVALID_ARGUMENT,
                      "The extent \"%s\" contains \"..\"; Vireo only opens extents in the VM's "
                      "own folder: rename the file", name);
    if (strchr(name, '/') != NULL)
        return refuse(error, VIREO_ERROR_INVALID_ARGUMENT,
                      "The extent \"%s\" names a sub-folder; an extent must be a plain file name "
                      "in the descriptor's folder", name);
    return TRUE;
}

/* Which format QEMU opens a supported extent with; NULL and an error if not. */
static const char *
extent_format(const VmdkExtent *e, GError **error)
{
    const char *type = e->type ? e->type : "";

    if (e->access != VMDK_EXTENT_RW) {
        refuse(error, VIREO_ERROR_UNSUPPORTED, "The disk's extent is %s, not RW; Vireo runs "
               "only writable disks", access_names[e->access]);
        return NULL;
    }
    if (g_ascii_strcasecmp(type, "VMFS") == 0 ||
        (g_ascii_strcasecmp(type, "FLAT") == 0 && e->offset == 0))
        return "raw";
    if (g_ascii_strcasecmp(type, "SPARSE") == 0)
        return "vmdk";
    if (g_ascii_strcasecmp(type, "FLAT") == 0)
        refuse(error, VIREO_ERROR_UNSUPPORTED, "The FLAT extent starts at sector %" G_GUINT64_FORMAT
               "; Vireo opens flat data only at offset 0: convert the disk with qemu-img", e->offset);
    else if (g_ascii_strcasecmp(type, "SESPARSE") == 0 || g_ascii_strcasecmp(type, "VMFSSPARSE") == 0)
        refuse(error, VIREO_ERROR_UNSUPPORTED, "The disk is an ESXi snapshot delta (%s); Vireo "
               "cannot run it: consolidate the VM's snapshots on ESXi (Delete All) before copying it", type);
    else
        refuse(error, VIREO_ERROR_UNSUPPORTED, "The disk's extent type %s is not supported: "
               "Vireo runs VMFS/FLAT and monolithic sparse disks; convert it with qemu-img", type);
    return NULL;
}

gboolean
vmdk_descriptor_resolve_extent(const VmdkDescriptor *desc, const char *dir,
                               char **out_path, const char **out_format,
                               GError **error)
{
    const VmdkExtent *e;
    const char *format;
    g_autofree char *real_dir = NULL;
    g_autofree char *joined = NULL;
    g_autofree char *real = NULL;

    if (desc->extents->len != 1)
        return refuse(error, VIREO_ERROR_UNSUPPORTED, "The disk has %u extents; Vireo runs disks "
                      "with exactly one (convert split disks with qemu-img convert)", desc->extents->len);
    e = g_ptr_array_index(desc->extents, 0);
    if ((format = extent_format(e, error)) == NULL)
        return FALSE;
    if (!check_extent_name(e->file_name, error))
        return FALSE;
    real_dir = realpath(dir, NULL);
    if (real_dir == NULL)
        return refuse(error, VIREO_ERROR_NOT_FOUND, "The disk's folder %s cannot be opened: %s",
                      dir, g_strerror(errno));
    joined = g_build_filename(real_dir, e->file_name, NULL);
    real = realpath(joined, NULL);
    if (real == NULL)
        return refuse(error, VIREO_ERROR_NOT_FOUND, "The disk's data file %s is missing: %s",
                      joined, g_strerror(errno));
    if (!g_str_has_prefix(real, real_dir) || real[strlen(real_dir)] != '/')
        return refuse(error, VIREO_ERROR_INVALID_ARGUMENT, "The extent \"%s\" is a link to %s, "
                      "outside the VM's folder; Vireo only opens files in the folder: copy the data in",
                      e->file_name, real);
    if (!g_file_test(real, G_FILE_TEST_IS_REGULAR))
        return refuse(error, VIREO_ERROR_INVALID_ARGUMENT, "The disk's data %s is not a regular file", real);
    *out_path = g_steal_pointer(&real);
    *out_format = format;
    return TRUE;
}
