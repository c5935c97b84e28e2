/* vm-cold-import.c — the destination's side of a cold migration
 * (docs/migration.md, "Cold migration"): import re-creates the VM's folder
 * here and pulls every disk and large file from the source's NBD exports
 * with qemu-img (thin stays sparse, thick is preallocated as it was), then
 * compares each with its export; commit registers the verified copy; abort
 * (or any failure) deletes everything import created.
 *
 *   import ──▶ COPYING ──▶ VERIFYING ──▶ VERIFIED ──commit──▶ registered here
 *                 │             │             │
 *                 └─────────────┴──▶ FAILED ◀─┘ abort: files deleted
 *
 * The copy runs in a worker thread (qemu-img as a child, read for its
 * progress); the main loop only reads its progress under the lock.
 */
#include "vm-cold-migrate.h"
#include "vm-cold-journal.h"

#include "datastore.h"
#include "json-util.h"
#include "vireo-error.h"
#include "vmdk.h"
#include "vmx.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

typedef enum {
    IMPORT_COPYING,
    IMPORT_VERIFYING,
    IMPORT_VERIFIED,
    IMPORT_FAILED,
} ImportState;

static const char *const import_state_names[] = { "COPYING", "VERIFYING", "VERIFIED", "FAILED" };

/* One file to bring: a disk (descriptor written, extent copied), a file
 * carried inline, or one pulled over NBD. */
typedef struct {
    char *label;          /* for messages: "disk scsi0:1 (web_1.vmdk)" or the file's name */
    char *path;           /* where it lands (the extent for a disk) */
    guint64 size;         /* bytes to copy */
    guint port;           /* its NBD export on the source, 0: inline */
    GBytes *data;         /* inline content */
    char *sha256;
    /* disks */
    char *node;           /* "scsi0:1" */
    char *dir;
    char *desc_path;
    char *descriptor;     /* the source's descriptor, extent renamed if needed */
    char *preallocation;  /* qemu-img's -o preallocation= */
    char *vmx_file_name;  /* what the .vmx names it by once here */
    gboolean stay;        /* a disk left where it is (a datastore both hosts see) */
} ImportItem;

typedef struct {
    Host *host;
    char *migration;
    char *name;
    char *home;
    char *vmx_path;
    char *run_dir;        /* the key */
    char *identity;
    char *nbd_host;
    GPtrArray *items;     /* ImportItem* */
    GPtrArray *created;   /* files and folders made here, in order (undone in reverse) */
    gint64 started_us;
    /* Shared with the worker: */
    GMutex lock;
    ImportState state;
    char *phase;
    guint64 copied, total;
    GError *error;
    GSubprocess *child;
    gboolean cancelled;
    gboolean running;
    ApiRequest *abort_request;
} ColdImport;

/* migration id → ColdImport*, the copies arriving here. */
static GHashTable *imports;

static void
item_free(gpointer p)
{
    ImportItem *it = p;
    g_free(it->label);
    g_free(it->path);
    if (it->data)
        g_bytes_unref(it->data);
    g_free(it->sha256);
    g_free(it->node);
    g_free(it->dir);
    g_free(it->desc_path);
    g_free(it->descriptor);
    g_free(it->preallocation);
    g_free(it->vmx_file_name);
    g_free(it);
}

static void
cold_import_free(ColdImport *imp)
{
    if (imp->run_dir)
        cold_run_dir_remove(imp->run_dir);
    g_free(imp->migration);
    g_free(imp->name);
    g_free(imp->home);
    g_free(imp->vmx_path);
    g_free(imp->run_dir);
    g_free(imp->identity);
    g_free(imp->nbd_host);
    g_ptr_array_unref(imp->items);
    g_ptr_array_unref(imp->created);
    g_mutex_clear(&imp->lock);
    g_free(imp->phase);
    g_clear_error(&imp->error);
    g_clear_object(&imp->child);
    if (imp->abort_request)
        api_request_unref(imp->abort_request);
    g_free(imp);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ColdImport, cold_import_free)

static void
set_phase(ColdImport *imp, ImportState state, const char *format, ...) G_GNUC_PRINTF(3, 4);

static void
set_phase(ColdImport *imp, ImportState state, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    g_autofree char *phase = g_strdup_vprintf(format, ap);
    va_end(ap);
    g_mutex_lock(&imp->lock);
    imp->state = state;
    g_free(imp->phase);
    imp->phase = g_steal_pointer(&phase);
    g_mutex_unlock(&imp->lock);
}

/* Deletes what import made, newest first (files, then their folders). */
static void
undo_created(ColdImport *imp)
{
    for (guint i = imp->created->len; i > 0; i--) {
        const char *p = g_ptr_array_index(imp->created, i - 1);
        if (g_file_test(p, G_FILE_TEST_IS_DIR) ? g_rmdir(p) != 0 : (g_unlink(p) != 0 && errno != ENOENT))
            g_warning("cold migration %s: cannot remove %s: %s", imp->migration, p, g_strerror(errno));
    }
    g_ptr_array_set_size(imp->created, 0);
}

/* ---- the worker: qemu-img ------------------------------------------------------- */

static char *
opt_escape(const char *s)
{
    g_auto(GStrv) parts = g_strsplit(s, ",", -1);
    return g_strjoinv(",,", parts);
}

static char *
nbd_opts(ColdImport *imp, guint port)
{
    return g_strdup_printf("driver=raw,file.driver=nbd,file.server.type=inet,file.server.host=%s,"
                           "file.server.port=%u,file.export=vireo,file.tls-creds=tls0", imp->nbd_host, port);
}

/* The output of a failed qemu-img without its progress lines. */
static char *
qemu_img_message(const char *out)
{
    g_auto(GStrv) lines = g_strsplit_set(out, "\r\n", -1);
    g_autoptr(GString) s = g_string_new(NULL);
    for (guint i = 0; lines[i]; i++) {
        g_strstrip(lines[i]);
        if (!*lines[i] || (lines[i][0] == '(' && strstr(lines[i], "/100%)")))
            continue;
        g_string_append_printf(s, "%s%s", s->len ? "; " : "", lines[i]);
    }
    return g_string_free(g_steal_pointer(&s), FALSE);
}

/* Tracks "(12.50/100%)" progress of the current copy into imp->copied. */
static void
track_progress(ColdImport *imp, const char *chunk, guint64 base, guint64 size)
{
    const char *open = strrchr(chunk, '(');
    if (!open || !strstr(open, "/100%)"))
        return;
    double pct = g_ascii_strtod(open + 1, NULL);
    g_mutex_lock(&imp->lock);
    imp->copied = base + (guint64)(CLAMP(pct, 0.0, 100.0) / 100.0 * (double)size);
    g_mutex_unlock(&imp->lock);
}

/* Runs qemu-img (argv without the program) as a child of this thread,
 * killable by abort; base/size: where its progress counts. */
static gboolean
run_qemu_img(ColdImport *imp, GPtrArray *args, guint64 base, guint64 size, GError **error)
{
    g_ptr_array_insert(args, 0, g_strdup("qemu-img"));
    g_ptr_array_add(args, NULL);
    g_autoptr(GSubprocess) child = g_subprocess_newv((const char *const *)args->pdata,
                                                     G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE,
                                                     error);
    if (!child)
        return FALSE;
    g_mutex_lock(&imp->lock);
    imp->child = g_object_ref(child);
    if (imp->cancelled)
        g_subprocess_force_exit(child);
    g_mutex_unlock(&imp->lock);
    GInputStream *out = g_subprocess_get_stdout_pipe(child);
    g_autoptr(GString) text = g_string_new(NULL);
    char buf[4096];
    gssize n;
    while ((n = g_input_stream_read(out, buf, sizeof(buf) - 1, NULL, NULL)) > 0) {
        buf[n] = '\0';
        g_string_append_len(text, buf, n);
        track_progress(imp, buf, base, size);
    }
    gboolean waited = g_subprocess_wait(child, NULL, error);
    g_mutex_lock(&imp->lock);
    g_clear_object(&imp->child);
    gboolean cancelled = imp->cancelled;
    g_mutex_unlock(&imp->lock);
    if (cancelled) {
        g_clear_error(error);
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "cancelled");
        return FALSE;
    }
    if (!waited)
        return FALSE;
    if (!g_subprocess_get_successful(child)) {
        g_autofree char *msg = qemu_img_message(text->str);
        g_set_error(error, VIREO_ERROR,
                    strstr(msg, "No space left") ? VIREO_ERROR_UNABLE_TO_ALLOCATE_RESOURCE : VIREO_ERROR_ERROR,
                    "%s", *msg ? msg : "qemu-img failed");
        return FALSE;
    }
    return TRUE;
}

static GPtrArray *
qemu_img_args(ColdImport *imp, const char *command)
{
    GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(a, g_strdup(command));
    g_ptr_array_add(a, g_strdup("--object"));
    g_ptr_array_add(a, cold_tls_object(imp->run_dir, imp->identity));
    g_ptr_array_add(a, g_strdup("--image-opts"));
    return a;
}

/* Pulls one export into item->path, created by qemu-img with the item's
 * preallocation (thin: holes stay holes). */
static gboolean
pull(ColdImport *imp, ImportItem *it, guint64 base, GError **error)
{
    g_autoptr(GPtrArray) a = qemu_img_args(imp, "convert");
    g_ptr_array_insert(a, 1, g_strdup("-p"));
    g_ptr_array_add(a, g_strdup("-O"));
    g_ptr_array_add(a, g_strdup("raw"));
    g_ptr_array_add(a, g_strdup("-o"));
    g_ptr_array_add(a, g_strdup_printf("preallocation=%s", it->preallocation ? it->preallocation : "off"));
    g_ptr_array_add(a, nbd_opts(imp, it->port));
    g_ptr_array_add(a, g_strdup(it->path));
    g_ptr_array_add(imp->created, g_strdup(it->path));
    if (!run_qemu_img(imp, a, base, it->size, error))
        return FALSE;
    /* An export is a whole number of 512-byte sectors; a file is not. */
    if (!it->node && truncate(it->path, (off_t)it->size) != 0) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "cannot truncate %s: %s", it->path, g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

/* The copy against its export, byte for byte (qemu-img compare: beyond a
 * file's end the export reads as zeroes). */
static gboolean
verify(ColdImport *imp, ImportItem *it, GError **error)
{
    g_autoptr(GPtrArray) a = qemu_img_args(imp, "compare");
    g_autofree char *local = opt_escape(it->path);
    g_ptr_array_add(a, g_strdup_printf("driver=raw,file.driver=file,file.filename=%s", local));
    g_ptr_array_add(a, nbd_opts(imp, it->port));
    if (!run_qemu_img(imp, a, 0, 0, error)) {
        g_prefix_error(error, "the copy differs from the source: ");
        return FALSE;
    }
    return TRUE;
}

/* ---- the worker: the steps -------------------------------------------------------- */

/* Writes an inline file and reads it back against the source's SHA-256. */
static gboolean
write_inline(ColdImport *imp, ImportItem *it, GError **error)
{
    gsize len = 0;
    const char *data = g_bytes_get_data(it->data, &len);
    g_autofree char *back = NULL;
    gsize back_len = 0;
    g_ptr_array_add(imp->created, g_strdup(it->path));
    if (!g_file_set_contents(it->path, data ? data : "", len, error) ||
        !g_file_get_contents(it->path, &back, &back_len, error))
        return FALSE;
    g_autofree char *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)back, back_len);
    if (!it->sha256 || !g_str_equal(sum, it->sha256)) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "%s: SHA-256 %s, the source sent %s", it->label, sum,
                    it->sha256 ? it->sha256 : "none");
        return FALSE;
    }
    return TRUE;
}

/* The disk's folder (when not there yet) and its descriptor. */
static gboolean
write_descriptor(ColdImport *imp, ImportItem *it, GError **error)
{
    if (g_mkdir(it->dir, 0755) == 0) {
        g_ptr_array_add(imp->created, g_strdup(it->dir));
    } else if (errno != EEXIST) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "cannot create %s: %s", it->dir, g_strerror(errno));
        return FALSE;
    }
    g_ptr_array_add(imp->created, g_strdup(it->desc_path));
    return g_file_set_contents(it->desc_path, it->descriptor, -1, error);
}

/* The .vmx names each disk where it is now. */
static gboolean
rewrite_vmx(ColdImport *imp, GError **error)
{
    g_autoptr(Vmx) vmx = vmx_load(imp->vmx_path, error);
    if (!vmx)
        return FALSE;
    for (guint i = 0; i < imp->items->len; i++) {
        ImportItem *it = g_ptr_array_index(imp->items, i);
        g_autofree char *key = it->node ? g_strdup_printf("%s.fileName", it->node) : NULL;
        if (key)
            vmx_set(vmx, key, it->vmx_file_name);
    }
    return vmx_save(vmx, imp->vmx_path, error);
}

static gboolean
copy_all(ColdImport *imp, GError **error)
{
    guint64 done = 0;
    for (guint i = 0; i < imp->items->len; i++) {
        ImportItem *it = g_ptr_array_index(imp->items, i);
        if (it->stay)
            continue;
        if (!it->port) {
            if (!write_inline(imp, it, error))
                return FALSE;
            continue;
        }
        set_phase(imp, IMPORT_COPYING, "copying %s", it->label);
        if ((it->node && !write_descriptor(imp, it, error)) || !pull(imp, it, done, error)) {
            g_prefix_error(error, "copying %s: ", it->label);
            return FALSE;
        }
        done += it->size;
    }
    for (guint i = 0; i < imp->items->len; i++) {
        ImportItem *it = g_ptr_array_index(imp->items, i);
        if (!it->port)
            continue;
        set_phase(imp, IMPORT_VERIFYING, "verifying %s", it->label);
        if (!verify(imp, it, error)) {
            g_prefix_error(error, "verifying %s: ", it->label);
            return FALSE;
        }
    }
    return rewrite_vmx(imp, error);
}

static void
import_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
    ColdImport *imp = data;
    g_autoptr(GError) error = NULL;
    gboolean ok = copy_all(imp, &error);
    cold_run_dir_remove(imp->run_dir);
    if (!ok)
        undo_created(imp);
    g_mutex_lock(&imp->lock);
    if (ok) {
        imp->state = IMPORT_VERIFIED;
        imp->copied = imp->total;
        g_free(imp->phase);
        imp->phase = g_strdup("verified");
    } else {
        imp->state = IMPORT_FAILED;
        imp->error = g_steal_pointer(&error);
    }
    g_mutex_unlock(&imp->lock);
    g_task_return_boolean(task, TRUE);
}

/* Back on the main loop: a pending abort is answered now that the worker
 * has cleaned up. */
static void
on_import_done(GObject *source, GAsyncResult *res, gpointer data)
{
    ColdImport *imp = data;
    double secs = (g_get_monotonic_time() - imp->started_us) / 1e6;
    imp->running = FALSE;
    if (imp->error)
        g_message("cold migration %s: import failed after %.1f s, nothing left here: %s", imp->migration, secs,
                  imp->error->message);
    else
        g_message("cold migration %s: %" G_GUINT64_FORMAT " bytes copied and verified in %.1f s", imp->migration,
                  imp->total, secs);
    if (imp->abort_request) {
        if (imp->state == IMPORT_VERIFIED)
            undo_created(imp);
        api_request_reply_empty(imp->abort_request, 204);
        cold_journal_remove(imp->host, imp->migration, "destination");
        g_hash_table_remove(imports, imp->migration);
    }
}

/* ---- import: the plan ------------------------------------------------------------- */

static gboolean
plain_name(const char *s)
{
    return s && *s && !strchr(s, '/') && !g_str_equal(s, ".") && !g_str_equal(s, "..") && !strchr(s, '\n');
}

static gboolean
bad_input(GError **error, const char *what)
{
    g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT, "source.%s is missing or invalid", what);
    return FALSE;
}

static gboolean
plan_file(ColdImport *imp, JsonObject *f, GError **error)
{
    const char *name = json_object_get_string_member_with_default(f, "name", NULL);
    const char *data = json_object_get_string_member_with_default(f, "data", NULL);
    gint64 port = json_object_get_int_member_with_default(f, "port", 0);
    if (!plain_name(name) || (!data && (port <= 0 || port > 65535)))
        return bad_input(error, "files");
    ImportItem *it = g_new0(ImportItem, 1);
    g_ptr_array_add(imp->items, it);
    it->label = g_strdup(name);
    it->path = g_build_filename(imp->home, name, NULL);
    it->size = (guint64)MAX(json_object_get_int_member_with_default(f, "size", 0), 0);
    if (data) {
        gsize len = 0;
        guchar *bytes = g_base64_decode(data, &len);
        it->data = g_bytes_new_take(bytes, len);
        it->sha256 = g_strdup(json_object_get_string_member_with_default(f, "sha256", NULL));
    } else {
        it->port = (guint)port;
    }
    return TRUE;
}

static const char *
preallocation_of(const char *provisioning)
{
    VmDiskProvisioning p = VM_DISK_PROVISIONING_THIN;
    vm_disk_provisioning_from_string(provisioning, &p);
    return p == VM_DISK_PROVISIONING_THICK_EAGER_ZEROED ? "full"
           : p == VM_DISK_PROVISIONING_THICK_LAZY_ZEROED ? "falloc" : "off";
}

/* A disk that stays: only the .vmx's path changes (the full path, as the
 * home folder moves away from it). */
static gboolean
plan_kept_disk(ColdImport *imp, JsonObject *d, GError **error)
{
    const char *node = json_object_get_string_member_with_default(d, "node", NULL);
    const char *ds_name = json_object_get_string_member_with_default(d, "datastore", NULL);
    const char *path = json_object_get_string_member_with_default(d, "path", NULL);
    const HostDatastoreConfig *ds = ds_name ? host_lookup_datastore(imp->host, ds_name) : NULL;
    g_autofree char *full = ds && path ? g_strdup_printf("[%s] %s", ds->name, path) : NULL;
    g_autofree char *resolved = full ? host_resolve_datastore_path(imp->host, full, NULL, NULL, error) : NULL;
    if (!node || !path)
        return bad_input(error, "disks");
    if (!ds || !resolved || !g_file_test(resolved, G_FILE_TEST_IS_REGULAR)) {
        g_clear_error(error);
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "disk %s stays on %s, which this host %s", node,
                    ds_name ? ds_name : "?", ds ? "sees without the disk's file" : "does not have");
        return FALSE;
    }
    ImportItem *it = g_new0(ImportItem, 1);
    g_ptr_array_add(imp->items, it);
    it->stay = TRUE;
    it->label = g_strdup_printf("disk %s", node);
    it->node = g_strdup(node);
    it->path = g_steal_pointer(&resolved);
    it->vmx_file_name = g_strdup_printf("/vmfs/volumes/%s/%s", ds->name, path);
    return TRUE;
}

/* A disk lands in <its target datastore>/<the VM's folder>/, under its
 * source names; its descriptor is the source's (same uuid, same CID). */
static gboolean
plan_disk(ColdImport *imp, JsonObject *d, JsonObject *targets, const HostDatastoreConfig *home_ds,
          const char *folder, GError **error)
{
    g_autofree char *key = g_strdup_printf("%" G_GINT64_FORMAT, json_object_get_int_member_with_default(d, "key", -1));
    const char *target = targets ? json_object_get_string_member_with_default(targets, key, NULL) : NULL;
    const HostDatastoreConfig *ds = target ? host_lookup_datastore(imp->host, target) : home_ds;
    const char *node = json_object_get_string_member_with_default(d, "node", NULL);
    const char *desc_name = json_object_get_string_member_with_default(d, "descriptor_name", NULL);
    const char *text = json_object_get_string_member_with_default(d, "descriptor", NULL);
    gint64 port = json_object_get_int_member_with_default(d, "port", 0);
    if (json_object_get_boolean_member_with_default(d, "stay", FALSE))
        return plan_kept_disk(imp, d, error);
    if (!ds) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "no datastore '%s' on this host", target);
        return FALSE;
    }
    g_autoptr(VmdkDescriptor) desc = text ? vmdk_descriptor_parse(text, strlen(text), NULL) : NULL;
    VmdkExtent *ext = desc && desc->extents->len == 1 ? g_ptr_array_index(desc->extents, 0) : NULL;
    if (!node || !plain_name(desc_name) || !ext || !plain_name(ext->file_name) || port <= 0 || port > 65535)
        return bad_input(error, "disks");
    ImportItem *it = g_new0(ImportItem, 1);
    g_ptr_array_add(imp->items, it);
    it->label = g_strdup_printf("disk %s (%s)", node, desc_name);
    it->node = g_strdup(node);
    it->dir = g_build_filename(ds->path, folder, NULL);
    it->desc_path = g_build_filename(it->dir, desc_name, NULL);
    it->path = g_build_filename(it->dir, ext->file_name, NULL);
    it->descriptor = g_strdup(text);
    it->size = (guint64)MAX(json_object_get_int_member_with_default(d, "capacity", 0), 0);
    it->port = (guint)port;
    it->preallocation = g_strdup(preallocation_of(json_object_get_string_member_with_default(d, "provisioning", "")));
    it->vmx_file_name = g_str_equal(it->dir, imp->home)
                            ? g_strdup(desc_name)
                            : g_strdup_printf("/vmfs/volumes/%s/%s/%s", ds->name, folder, desc_name);
    return TRUE;
}

/* Every target must be new, and each datastore must hold the thick disks
 * and the files (thin disks are not counted, as in vSphere). */
static gboolean
plan_check(ColdImport *imp, GError **error)
{
    g_autoptr(GHashTable) need = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    for (guint i = 0; i < imp->items->len; i++) {
        ImportItem *it = g_ptr_array_index(imp->items, i);
        if (it->stay)
            continue;
        if (g_file_test(it->path, G_FILE_TEST_EXISTS) || (it->desc_path && g_file_test(it->desc_path, G_FILE_TEST_EXISTS))) {
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_ALREADY_EXISTS, "%s already exists here; remove it first",
                        it->desc_path ? it->desc_path : it->path);
            return FALSE;
        }
        if (it->node && g_str_equal(it->preallocation, "off"))
            continue;
        g_autofree char *ds_dir = g_path_get_dirname(it->dir ? it->dir : imp->home);
        guint64 *n = g_hash_table_lookup(need, ds_dir);
        if (!n) {
            n = g_new0(guint64, 1);
            g_hash_table_insert(need, g_strdup(ds_dir), n);
        }
        *n += it->size;
        guint64 cap = 0, free_space = 0;
        if (!datastore_stats(ds_dir, &cap, &free_space, error))
            return FALSE;
        if (*n > free_space) {
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_UNABLE_TO_ALLOCATE_RESOURCE,
                        "not enough space on %s: the thick disks and the VM's files need %" G_GUINT64_FORMAT
                        " MiB, %" G_GUINT64_FORMAT " MiB are free", ds_dir, (*n + (1 << 20) - 1) >> 20,
                        free_space >> 20);
            return FALSE;
        }
    }
    return TRUE;
}

static ColdImport *
import_new(Host *host, const char *mid, const char *name)
{
    ColdImport *imp = g_new0(ColdImport, 1);
    g_autofree char *dir_name = g_strdup_printf("cold-%s-destination", mid);
    imp->host = host;
    imp->migration = g_strdup(mid);
    imp->name = g_strdup(name);
    imp->run_dir = g_build_filename(host->run_dir, dir_name, NULL);
    imp->items = g_ptr_array_new_with_free_func(item_free);
    imp->created = g_ptr_array_new_with_free_func(g_free);
    g_mutex_init(&imp->lock);
    imp->started_us = g_get_monotonic_time();
    return imp;
}

/* Reads the body into a plan: where the home and each disk go, what comes
 * inline and what over NBD. */
static gboolean
import_plan(ColdImport *imp, JsonObject *o, GError **error)
{
    const char *ds_name = NULL;
    JsonObject *src = NULL, *targets = NULL;
    JsonArray *files = NULL, *disks = NULL;
    if (!json_util_get_string(o, "datastore", "spec", &ds_name, error) ||
        !json_util_get_object(o, "disks", "spec", &targets, error) ||
        !json_util_get_object(o, "source", "spec", &src, error))
        return FALSE;
    const HostDatastoreConfig *ds = host_lookup_datastore(imp->host, ds_name);
    if (!ds) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "no datastore '%s' on this host", ds_name ? ds_name : "");
        return FALSE;
    }
    const char *folder = src ? json_object_get_string_member_with_default(src, "folder", NULL) : NULL;
    const char *vmx_name = src ? json_object_get_string_member_with_default(src, "vmx_name", NULL) : NULL;
    const char *nbd_host = src ? json_object_get_string_member_with_default(src, "nbd_host", NULL) : NULL;
    if (!plain_name(folder) || !plain_name(vmx_name) || !nbd_host || strchr(nbd_host, ',') ||
        !json_util_get_array(src, "files", "source", &files, error) ||
        !json_util_get_array(src, "disks", "source", &disks, error) || !files || !disks)
        return error && *error ? FALSE : bad_input(error, "folder, vmx_name, nbd_host, files or disks");
    imp->home = g_build_filename(ds->path, folder, NULL);
    imp->vmx_path = g_build_filename(imp->home, vmx_name, NULL);
    imp->nbd_host = g_strdup(nbd_host);
    for (guint i = 0; i < json_array_get_length(files); i++) {
        JsonNode *n = json_array_get_element(files, i);
        if (!JSON_NODE_HOLDS_OBJECT(n) || !plan_file(imp, json_node_get_object(n), error))
            return error && *error ? FALSE : bad_input(error, "files");
    }
    for (guint i = 0; i < json_array_get_length(disks); i++) {
        JsonNode *n = json_array_get_element(disks, i);
        if (!JSON_NODE_HOLDS_OBJECT(n) || !plan_disk(imp, json_node_get_object(n), targets, ds, folder, error))
            return error && *error ? FALSE : bad_input(error, "disks");
    }
    for (guint i = 0; i < imp->items->len; i++)
        imp->total += ((ImportItem *)g_ptr_array_index(imp->items, i))->size;
    return plan_check(imp, error);
}

/* Everything import may create, journalled before it creates anything
 * (a restart deletes it: vm-cold-journal.c); plan_check made sure no file
 * exists yet. Folders first, outermost first. */
static gboolean
journal_begin(ColdImport *imp, GError **error)
{
    g_autoptr(JsonObject) j = json_object_new();
    JsonArray *files = json_array_new(), *dirs = json_array_new();
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i <= imp->items->len; i++) {
        ImportItem *it = i ? g_ptr_array_index(imp->items, i - 1) : NULL;
        const char *dir = it ? it->dir : imp->home;
        if (dir && !g_hash_table_contains(seen, dir) && !g_file_test(dir, G_FILE_TEST_EXISTS))
            json_array_add_string_element(dirs, dir);
        if (dir)
            g_hash_table_add(seen, (gpointer)dir);
        if (it && !it->stay)
            json_array_add_string_element(files, it->path);
        if (it && !it->stay && it->desc_path)
            json_array_add_string_element(files, it->desc_path);
    }
    json_object_set_string_member(j, "state", "importing");
    json_object_set_string_member(j, "run_dir", imp->run_dir);
    json_object_set_string_member(j, "vmx_path", imp->vmx_path);
    json_object_set_array_member(j, "files", files);
    json_object_set_array_member(j, "dirs", dirs);
    return cold_journal_write(imp->host, imp->migration, "destination", j, error);
}

void
cold_import_start(Host *host, ApiRequest *request, JsonObject *o)
{
    const char *mid = json_object_get_string_member(o, "migration");
    const char *name = NULL;
    g_autoptr(GError) error = NULL;
    if (!imports)
        imports = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)cold_import_free);
    if (g_hash_table_contains(imports, mid)) {
        api_request_reply_error(request, g_error_new(VIREO_ERROR, VIREO_ERROR_ALREADY_EXISTS,
                                                     "migration %s is already importing here", mid));
        return;
    }
    if (!json_util_get_string(o, "name", "spec", &name, &error)) {
        api_request_reply_error(request, error);
        return;
    }
    g_autoptr(ColdImport) imp = import_new(host, mid, name);
    if (!import_plan(imp, o, &error) || !cold_psk_write(o, imp->run_dir, &imp->identity, &error)) {
        api_request_reply_error(request, error);
        return;
    }
    if (!journal_begin(imp, &error)) {
        api_request_reply_error(request, error);
        return;
    }
    if (g_mkdir(imp->home, 0755) != 0) {
        cold_journal_remove(host, mid, "destination");
        g_set_error(&error, VIREO_ERROR, errno == EEXIST ? VIREO_ERROR_ALREADY_EXISTS : VIREO_ERROR_ERROR,
                    "cannot create the VM's folder %s: %s", imp->home,
                    errno == EEXIST ? "it exists already; remove or rename it" : g_strerror(errno));
        api_request_reply_error(request, error);
        return;
    }
    g_ptr_array_add(imp->created, g_strdup(imp->home));
    set_phase(imp, IMPORT_COPYING, "starting");
    imp->running = TRUE;
    g_message("cold migration %s: import of %s into %s (%" G_GUINT64_FORMAT " bytes) from %s", mid, name,
              imp->home, imp->total, imp->nbd_host);
    ColdImport *held = g_steal_pointer(&imp);
    g_hash_table_insert(imports, held->migration, held);
    g_autoptr(GTask) task = g_task_new(NULL, NULL, on_import_done, held);
    g_task_set_task_data(task, held, NULL);
    g_task_run_in_thread(task, import_thread);
    JsonObject *r = json_object_new();
    json_object_set_int_member(r, "total_bytes", (gint64)held->total);
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, r);
    api_request_reply_json(request, 200, node);
}

static ColdImport *
import_lookup(ApiRequest *request, JsonObject *o, gboolean answer)
{
    const char *mid = json_object_get_string_member(o, "migration");
    ColdImport *imp = imports ? g_hash_table_lookup(imports, mid) : NULL;
    if (!imp && answer)
        api_request_reply_error(request, g_error_new(VIREO_ERROR, VIREO_ERROR_NOT_FOUND,
                                                     "no cold migration %s arriving here", mid));
    return imp;
}

/* {"state", "phase", "copied_bytes", "total_bytes"}; a failed copy answers
 * its error (the files are already gone). */
void
cold_import_status(Host *host, ApiRequest *request, JsonObject *o)
{
    ColdImport *imp = import_lookup(request, o, TRUE);
    if (!imp)
        return;
    g_mutex_lock(&imp->lock);
    ImportState state = imp->state;
    g_autoptr(GError) error = imp->error && !imp->running ? g_error_copy(imp->error) : NULL;
    JsonObject *r = json_object_new();
    json_object_set_string_member(r, "state", import_state_names[state == IMPORT_FAILED && imp->running
                                                                     ? IMPORT_COPYING : state]);
    json_object_set_string_member(r, "phase", imp->phase ? imp->phase : "");
    json_object_set_int_member(r, "copied_bytes", (gint64)imp->copied);
    json_object_set_int_member(r, "total_bytes", (gint64)imp->total);
    g_mutex_unlock(&imp->lock);
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, r);
    if (error) {
        json_node_unref(node);
        api_request_reply_error(request, error);
        return;
    }
    api_request_reply_json(request, 200, node);
}

static void
reply_registered(ApiRequest *request, Vm *vm)
{
    JsonObject *r = json_object_new();
    json_object_set_string_member(r, "vm", vm->id);
    json_object_set_string_member(r, "power_state", vm_power_state_to_string(vm->power_state));
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, r);
    api_request_reply_json(request, 200, node);
}

/* Registers the verified copy (or, when nothing was copied, the shared
 * folder named by "vmx_path"). */
void
cold_import_commit(Host *host, ApiRequest *request, JsonObject *o)
{
    g_autoptr(GError) error = NULL;
    ColdImport *imp = import_lookup(request, o, FALSE);
    const char *path = NULL, *name = NULL;
    if (!imp && (!json_util_get_string(o, "vmx_path", "spec", &path, &error) ||
                 !json_util_get_string(o, "name", "spec", &name, &error) || !path)) {
        api_request_reply_error(request, error ? error : g_error_new(VIREO_ERROR, VIREO_ERROR_NOT_FOUND,
                                                                     "no cold migration arriving here, and no vmx_path"));
        return;
    }
    if (imp && (imp->running || imp->state != IMPORT_VERIFIED)) {
        api_request_reply_error(request, g_error_new(VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                                                     "the copy is %s, not verified", import_state_names[imp->state]));
        return;
    }
    g_autofree char *abs = imp ? g_strdup(imp->vmx_path) : host_resolve_datastore_path(host, path, NULL, NULL, &error);
    Vm *vm = abs ? vm_manager_register(host, abs, imp ? imp->name : name, &error) : NULL;
    if (!vm) {
        g_prefix_error(&error, "register: ");
        api_request_reply_error(request, error);
        return;
    }
    vm_log(vm, "cold migration %s: registered here (%s)", json_object_get_string_member(o, "migration"),
           vm_power_state_to_string(vm->power_state));
    if (imp)
        g_hash_table_remove(imports, imp->migration);   /* the files are the VM's now */
    reply_registered(request, vm);
}

/* Stops the copy and deletes everything it made; answered once done. */
void
cold_import_abort(Host *host, ApiRequest *request, JsonObject *o)
{
    ColdImport *imp = import_lookup(request, o, FALSE);
    if (!imp) {
        cold_journal_remove(host, json_object_get_string_member(o, "migration"), "destination");
        api_request_reply_empty(request, 204);
        return;
    }
    if (imp->running) {
        g_mutex_lock(&imp->lock);
        imp->cancelled = TRUE;
        if (imp->child)
            g_subprocess_force_exit(imp->child);
        g_mutex_unlock(&imp->lock);
        if (!imp->abort_request)
            imp->abort_request = api_request_ref(request);
        else
            api_request_reply_empty(request, 204);
        return;
    }
    if (imp->state == IMPORT_VERIFIED)
        undo_created(imp);
    g_message("cold migration %s: aborted; the copy here is deleted", imp->migration);
    cold_journal_remove(host, imp->migration, "destination");
    g_hash_table_remove(imports, imp->migration);
    api_request_reply_empty(request, 204);
}
