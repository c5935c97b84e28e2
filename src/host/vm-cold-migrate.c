/* vm-cold-migrate.c — the source's side of a cold migration and the routes
 * of both sides (docs/migration.md, "Cold migration"): export holds the
 * powered-off or suspended VM busy and serves each disk and each large file
 * read-only over NBD (qemu-nbd, TLS with the migration's one-time key, on the
 * vMotion address); commit unregisters the VM and deletes the files it
 * exported; abort stops the exports and frees the VM, untouched.
 *
 *   export ──▶ (the destination copies and verifies) ──▶ commit (source last)
 *      └────────────────────────────────────────────────▶ abort
 */
#include "vm-cold-migrate.h"

#include "mig-files.h"
#include "vm-cold-journal.h"

#include "datastore.h"
#include "json-util.h"
#include "vireo-error.h"
#include "vm-launch.h"
#include "vmdk.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#define NBD_PORT_TRIES 5

/* What one export serves, and what commit deletes (absolute paths). */
typedef struct {
    char *migration;
    char *vm;             /* the VM's id here */
    char *run_dir;        /* keys and qemu-nbd pid files */
    char *home;           /* the VM's folder */
    GArray *pids;         /* qemu-nbd daemons (pid_t) */
    GPtrArray *files;     /* files of the home folder carried to the destination */
    GPtrArray *disks;     /* descriptors of the disks copied (their extents go with them) */
    GPtrArray *kept;      /* descriptors of disks that stay where they are (shared datastore) */
    JsonObject *targets;  /* disk key → datastore it ends on (export's "disks"), or NULL */
    /* Filled while exporting (the worker thread), read once it is done: */
    char *address;
    gboolean copy;
    JsonObject *answer;
    gboolean exporting;   /* the worker thread runs: abort waits for it */
    gboolean aborted;
    gboolean recovered;   /* from the journal after a restart: the VM is not held */
    Host *host;
    JsonObject *journal;  /* vm-cold-journal.c's record of it */
} ColdExport;

/* migration id → ColdExport*, for the exports this host serves. */
static GHashTable *exports;

static void
stop_daemons(ColdExport *e)
{
    for (guint i = 0; e->pids && i < e->pids->len; i++) {
        pid_t pid = g_array_index(e->pids, pid_t, i);
        if (pid > 1 && kill(pid, SIGTERM) < 0 && errno != ESRCH)
            g_warning("cold migration %s: qemu-nbd %d: %s", e->migration, (int)pid, g_strerror(errno));
    }
    if (e->pids)
        g_array_set_size(e->pids, 0);
    if (e->run_dir)
        cold_run_dir_remove(e->run_dir);
}

static void
cold_export_free(ColdExport *e)
{
    stop_daemons(e);
    g_free(e->migration);
    g_free(e->vm);
    g_free(e->run_dir);
    g_free(e->home);
    g_free(e->address);
    if (e->pids)
        g_array_unref(e->pids);
    if (e->files)
        g_ptr_array_unref(e->files);
    if (e->disks)
        g_ptr_array_unref(e->disks);
    if (e->kept)
        g_ptr_array_unref(e->kept);
    if (e->targets)
        json_object_unref(e->targets);
    if (e->answer)
        json_object_unref(e->answer);
    if (e->journal)
        json_object_unref(e->journal);
    g_free(e);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ColdExport, cold_export_free)

/* ---- helpers shared with the destination ------------------------------------ */


gboolean
cold_psk_write(JsonObject *body, const char *dir, char **identity, GError **error)
{
    JsonObject *psk = NULL;
    if (!json_util_get_object(body, "psk", "spec", &psk, error))
        return FALSE;
    return mig_psk_write(psk, dir, identity, error);
}

static char *
escape_commas(const char *s)
{
    g_auto(GStrv) parts = g_strsplit(s, ",", -1);
    return g_strjoinv(",,", parts);
}

char *
cold_tls_object(const char *dir, const char *username)
{
    g_autofree char *d = escape_commas(dir);
    if (!username)
        return g_strdup_printf("tls-creds-psk,id=tls0,endpoint=server,dir=%s", d);
    return g_strdup_printf("tls-creds-psk,id=tls0,endpoint=client,dir=%s,username=%s", d, username);
}

void
cold_run_dir_remove(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(dir, name, NULL);
        g_unlink(p);
    }
    if (g_rmdir(dir) != 0 && errno != ENOENT)
        g_warning("cannot remove %s: %s", dir, g_strerror(errno));
}

/* ---- export (source): the worker thread ------------------------------------- */

/* A free TCP port on address (closed again: qemu-nbd binds it next; a port
 * taken meanwhile makes qemu-nbd fail and the caller try another). */
static guint
free_port(const char *address, GError **error)
{
    g_autoptr(GInetAddress) ia = g_inet_address_new_from_string(address);
    if (!ia) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "bad vMotion address %s", address);
        return 0;
    }
    g_autoptr(GSocket) s = g_socket_new(g_inet_address_get_family(ia), G_SOCKET_TYPE_STREAM,
                                        G_SOCKET_PROTOCOL_TCP, error);
    g_autoptr(GSocketAddress) sa = g_inet_socket_address_new(ia, 0);
    if (!s || !g_socket_bind(s, sa, FALSE, error))
        return 0;
    g_autoptr(GSocketAddress) local = g_socket_get_local_address(s, error);
    return local ? g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(local)) : 0;
}

/* Serves one file read-only over NBD with TLS; qemu-nbd --fork returns once
 * it listens, so the destination can connect as soon as export answers. */
static guint
serve_file(ColdExport *e, const char *file, guint index, GError **error)
{
    g_autofree char *tls = cold_tls_object(e->run_dir, NULL);
    g_autofree char *pid_file = g_strdup_printf("%s/nbd-%u.pid", e->run_dir, index);
    for (int attempt = 0; attempt < NBD_PORT_TRIES; attempt++) {
        guint port = free_port(e->address, error);
        if (!port)
            return 0;
        g_autofree char *bind = g_strdup_printf("--bind=%s", e->address);
        g_autofree char *port_arg = g_strdup_printf("--port=%u", port);
        g_autofree char *pid_arg = g_strdup_printf("--pid-file=%s", pid_file);
        const char *argv[] = { "qemu-nbd", "--fork", pid_arg, "--read-only", "--persistent", "--shared=4",
                               "--format=raw", "--export-name=vireo", bind, port_arg, "--object", tls,
                               "--tls-creds=tls0", file, NULL };
        g_autofree char *err = NULL;
        int status = 0;
        if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                          NULL, NULL, &err, &status, error))
            return 0;
        g_autofree char *pid_text = NULL;
        if (g_spawn_check_wait_status(status, NULL) && g_file_get_contents(pid_file, &pid_text, NULL, NULL)) {
            pid_t pid = (pid_t)g_ascii_strtoll(pid_text, NULL, 10);
            g_array_append_val(e->pids, pid);
            return port;
        }
        if (!err || !strstr(err, "in use") || attempt + 1 == NBD_PORT_TRIES) {
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "qemu-nbd could not serve %s: %s", file,
                        err ? g_strstrip(err) : "no pid file");
            return 0;
        }
    }
    return 0;
}

static gboolean
is_disk_file(ColdExport *e, const char *path)
{
    for (guint i = 0; i < e->disks->len + e->kept->len; i++) {
        const char *desc = i < e->disks->len ? g_ptr_array_index(e->disks, i)
                                             : g_ptr_array_index(e->kept, i - e->disks->len);
        if (g_str_equal(desc, path))
            return TRUE;
        g_autoptr(VmdkDescriptor) d = vmdk_descriptor_load(desc, NULL);
        g_autofree char *dir = g_path_get_dirname(desc);
        g_autofree char *data = NULL;
        const char *format = NULL;
        if (d && vmdk_descriptor_resolve_extent(d, dir, &data, &format, NULL) && g_str_equal(data, path))
            return TRUE;
    }
    return FALSE;
}

/* The home folder's regular files other than the disks: small ones inline
 * (base64 + SHA-256), large ones over NBD. Lock and temporary files stay. */
static gboolean
export_files(ColdExport *e, JsonArray *out, GError **error)
{
    g_autoptr(GDir) d = g_dir_open(e->home, 0, error);
    const char *name;
    gsize inline_total = 0;
    if (!d)
        return FALSE;
    while ((name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(e->home, name, NULL);
        GStatBuf st;
        if (g_lstat(p, &st) != 0 || !S_ISREG(st.st_mode) || g_str_has_suffix(name, ".lck") ||
            g_str_has_suffix(name, ".tmp") || is_disk_file(e, p))
            continue;
        JsonObject *f = json_object_new();
        json_object_set_string_member(f, "name", name);
        json_object_set_int_member(f, "size", st.st_size);
        if (st.st_size <= COLD_INLINE_FILE_MAX && inline_total + st.st_size <= COLD_INLINE_TOTAL_MAX) {
            g_autofree char *data = NULL;
            gsize len = 0;
            if (!g_file_get_contents(p, &data, &len, error)) {
                json_object_unref(f);
                return FALSE;
            }
            g_autofree char *b64 = g_base64_encode((const guchar *)data, len);
            g_autofree char *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)data, len);
            json_object_set_string_member(f, "data", b64);
            json_object_set_string_member(f, "sha256", sum);
            inline_total += len;
        } else if (e->copy) {
            guint port = serve_file(e, p, e->pids->len, error);
            if (!port) {
                json_object_unref(f);
                return FALSE;
            }
            json_object_set_int_member(f, "port", port);
        }
        g_ptr_array_add(e->files, g_steal_pointer(&p));
        json_array_add_object_element(out, f);
    }
    return TRUE;
}

static void
export_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
    ColdExport *e = data;
    g_autoptr(GError) error = NULL;
    JsonArray *disks = json_object_get_array_member(e->answer, "disks");

    for (guint i = 0; e->copy && i < json_array_get_length(disks); i++) {
        JsonObject *d = json_array_get_object_element(disks, i);
        if (json_object_get_boolean_member_with_default(d, "stay", FALSE))
            continue;
        guint port = serve_file(e, json_object_get_string_member(d, "data_path"), e->pids->len, &error);
        if (!port)
            break;
        json_object_set_int_member(d, "port", port);
    }
    JsonArray *files = json_array_new();
    json_object_set_array_member(e->answer, "files", files);
    if (!error)
        export_files(e, files, &error);
    if (error)
        g_task_return_error(task, g_steal_pointer(&error));
    else
        g_task_return_boolean(task, TRUE);
}

/* ---- the journal (vm-cold-journal.c) ------------------------------------------ */

static JsonArray *
strings_json(GPtrArray *a)
{
    JsonArray *out = json_array_new();
    for (guint i = 0; a && i < a->len; i++)
        json_array_add_string_element(out, g_ptr_array_index(a, i));
    return out;
}

static GPtrArray *
strings_of(JsonObject *j, const char *member)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    JsonArray *a = json_object_has_member(j, member) ? json_object_get_array_member(j, member) : NULL;
    for (guint i = 0; a && i < json_array_get_length(a); i++)
        g_ptr_array_add(out, g_strdup(json_array_get_string_element(a, i)));
    return out;
}

/* Before any qemu-nbd starts: where its keys and pid files go, so that a
 * restart kills what a killed hostd left serving. */
static gboolean
journal_exporting(ColdExport *e, GError **error)
{
    e->journal = json_object_new();
    json_object_set_string_member(e->journal, "state", "exporting");
    json_object_set_string_member(e->journal, "vm", e->vm);
    json_object_set_boolean_member(e->journal, "copy", e->copy);
    json_object_set_string_member(e->journal, "run_dir", e->run_dir);
    json_object_set_string_member(e->journal, "home", e->home);
    json_object_set_array_member(e->journal, "disks", strings_json(e->disks));
    return cold_journal_write(e->host, e->migration, "source", e->journal, error);
}

/* Exported: what a commit deletes, known now (kept across a restart). */
static void
journal_exported(ColdExport *e)
{
    json_object_set_array_member(e->journal, "files", strings_json(e->files));
    cold_journal_set_state(e->host, e->journal, "exported");
}

/* ---- export (source): the request ------------------------------------------- */

static const char *
datastore_name_of(Host *host, const char *path)
{
    for (guint i = 0; i < host->config->datastores->len; i++) {
        const HostDatastoreConfig *ds = g_ptr_array_index(host->config->datastores, i);
        g_autofree char *prefix = g_strconcat(ds->path, "/", NULL);
        if (g_str_has_prefix(path, prefix))
            return ds->name;
    }
    return NULL;
}

/* What the destination needs to re-create one disk: its descriptor as it
 * is, its provisioning and capacity, where it is (home folder or not). */
static JsonObject *
disk_entry(ColdExport *e, Vm *vm, const VmDisk *disk, GError **error)
{
    g_autofree char *desc = NULL, *data = NULL, *text = NULL;
    const char *format = NULL;
    int key = vm_disk_key(disk->bus, disk->controller, disk->unit);
    if (!vm_launch_resolve_disk(vm, disk, &desc, &data, &format, error))
        return NULL;
    g_autoptr(VmdkDescriptor) d = vmdk_descriptor_load(desc, error);
    if (!d)
        return NULL;
    if (!g_str_equal(format, "raw") || d->extents->len != 1) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_UNSUPPORTED,
                    "disk %d (%s) is a %s disk; only flat disks can be migrated cold", key, disk->file_name,
                    d->create_type ? d->create_type : format);
        return NULL;
    }
    if (!g_file_get_contents(desc, &text, NULL, error))
        return NULL;
    g_autofree char *dir = g_path_get_dirname(desc);
    g_autofree char *node = vm_device_node(disk->bus, disk->controller, disk->unit);
    g_autofree char *desc_name = g_path_get_basename(desc);
    g_autofree char *key_text = g_strdup_printf("%d", key);
    const char *ds = datastore_name_of(vm->host, desc);
    const char *target = e->targets ? json_object_get_string_member_with_default(e->targets, key_text, NULL) : NULL;
    GStatBuf st;
    JsonObject *o = json_object_new();
    json_object_set_int_member(o, "key", key);
    json_object_set_string_member(o, "node", node);
    if (!e->copy || g_strcmp0(target, ds) == 0) {
        /* It stays on a datastore the destination sees: named, not copied. */
        g_autofree char *at = host_datastore_path_of(vm->host, desc);
        json_object_set_boolean_member(o, "stay", TRUE);
        json_object_set_string_member(o, "datastore", ds);
        json_object_set_string_member(o, "path", at && strchr(at, ']') ? strchr(at, ']') + 2 : desc_name);
        g_ptr_array_add(e->kept, g_steal_pointer(&desc));
        return o;
    }
    json_object_set_string_member(o, "descriptor_name", desc_name);
    json_object_set_string_member(o, "descriptor", text);
    json_object_set_string_member(o, "datastore", datastore_name_of(vm->host, desc));
    json_object_set_boolean_member(o, "in_home", g_str_equal(dir, vm->dir));
    json_object_set_int_member(o, "capacity", (gint64)vmdk_descriptor_capacity(d));
    json_object_set_int_member(o, "size", g_stat(data, &st) == 0 ? st.st_size : 0);
    json_object_set_string_member(o, "provisioning",
                                  vm_disk_provisioning_to_string(datastore_disk_provisioning(desc)));
    json_object_set_string_member(o, "data_path", data);
    g_ptr_array_add(e->disks, g_steal_pointer(&desc));
    return o;
}

static JsonObject *
export_answer(ColdExport *e, Vm *vm, GError **error)
{
    g_autofree char *vmx_path = host_datastore_path_of(vm->host, vm->vmx_path);
    g_autofree char *folder = g_path_get_basename(vm->dir);
    g_autofree char *vmx_name = g_path_get_basename(vm->vmx_path);
    g_autoptr(JsonObject) o = json_object_new();
    JsonArray *disks = json_array_new();
    json_object_set_array_member(o, "disks", disks);
    for (guint i = 0; i < vm->config->disks->len; i++) {
        JsonObject *d = disk_entry(e, vm, g_ptr_array_index(vm->config->disks, i), error);
        if (!d)
            return NULL;
        json_array_add_object_element(disks, d);
    }
    json_object_set_string_member(o, "vmx_path", vmx_path ? vmx_path : vm->vmx_path);
    json_object_set_string_member(o, "vmx_name", vmx_name);
    json_object_set_string_member(o, "folder", folder);
    json_object_set_string_member(o, "name", vm->config->name);
    json_object_set_string_member(o, "home_datastore", vm->datastore);
    json_object_set_string_member(o, "power_state", vm_power_state_to_string(vm->power_state));
    json_object_set_string_member(o, "nbd_host", e->address);
    return g_steal_pointer(&o);
}

static void
export_release(Host *host, ColdExport *e)
{
    Vm *vm = e->recovered ? NULL : vm_manager_lookup(host, e->vm, NULL);
    if (vm)
        vm_end_operation(vm);
    cold_journal_remove(host, e->migration, "source");
    g_hash_table_remove(exports, e->migration);
}

typedef struct {
    Host *host;
    ApiRequest *request;
    char *migration;
} ExportCall;

static void
on_exported(GObject *source, GAsyncResult *res, gpointer data)
{
    ExportCall *call = data;
    ColdExport *e = g_hash_table_lookup(exports, call->migration);
    g_autoptr(GError) error = NULL;
    gboolean ok = g_task_propagate_boolean(G_TASK(res), &error);
    e->exporting = FALSE;
    if (ok && e->aborted)
        error = g_error_new(VIREO_ERROR, VIREO_ERROR_ERROR, "aborted while the files were being exported");
    if (error) {
        g_prefix_error(&error, "export: ");
        if (e)
            export_release(call->host, e);
        api_request_reply_error(call->request, error);
    } else {
        journal_exported(e);
        JsonArray *disks = json_object_get_array_member(e->answer, "disks");
        for (guint i = 0; i < json_array_get_length(disks); i++)
            if (json_object_has_member(json_array_get_object_element(disks, i), "data_path"))
                json_object_remove_member(json_array_get_object_element(disks, i), "data_path");
        JsonNode *node = json_node_new(JSON_NODE_OBJECT);
        json_node_set_object(node, e->answer);
        api_request_reply_json(call->request, 200, node);
    }
    api_request_unref(call->request);
    g_free(call->migration);
    g_free(call);
}

static ColdExport *
export_new(Host *host, Vm *vm, const char *mid, gboolean copy)
{
    ColdExport *e = g_new0(ColdExport, 1);
    e->host = host;
    g_autofree char *dir_name = g_strdup_printf("cold-%s-source", mid);
    e->migration = g_strdup(mid);
    e->vm = g_strdup(vm->id);
    e->run_dir = g_build_filename(host->run_dir, dir_name, NULL);
    e->home = g_strdup(vm->dir);
    e->pids = g_array_new(FALSE, FALSE, sizeof(pid_t));
    e->files = g_ptr_array_new_with_free_func(g_free);
    e->disks = g_ptr_array_new_with_free_func(g_free);
    e->kept = g_ptr_array_new_with_free_func(g_free);
    e->address = g_strdup(host->config->vmotion_address ? host->config->vmotion_address
                                                         : host->config->listen_address);
    e->copy = copy;
    return e;
}

/* Holds the VM, describes it and (when its files are to be copied) serves
 * them; the serving runs in a worker thread (qemu-nbd takes a moment to
 * start, per file). */
static void
cold_export(Host *host, ApiRequest *request, JsonObject *o, const char *mid)
{
    const char *id = NULL;
    gboolean copy = TRUE;
    g_autoptr(GError) error = NULL;
    g_autofree char *identity = NULL;
    if (!json_util_get_string(o, "vm", "spec", &id, &error) || !json_util_get_bool(o, "copy", "spec", &copy, &error)) {
        api_request_reply_error(request, error);
        return;
    }
    Vm *vm = vm_manager_lookup(host, id, &error);
    if (vm && vm->power_state == VM_POWER_STATE_POWERED_ON)
        g_set_error(&error, VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                    "virtual machine %s is powered on; a cold migration moves a powered-off or suspended VM", id);
    else if (vm && g_hash_table_contains(exports, mid))
        g_set_error(&error, VIREO_ERROR, VIREO_ERROR_ALREADY_EXISTS, "migration %s is already exported", mid);
    g_autofree char *op = g_strdup_printf("cold migration %s", mid);
    if (error || !vm_begin_operation(vm, op, &error)) {
        api_request_reply_error(request, error);
        return;
    }
    g_autoptr(ColdExport) e = export_new(host, vm, mid, copy);
    JsonObject *targets = NULL;
    if (!json_util_get_object(o, "disks", "spec", &targets, &error)) {
        vm_end_operation(vm);
        api_request_reply_error(request, error);
        return;
    }
    e->targets = targets ? json_object_ref(targets) : NULL;
    e->answer = export_answer(e, vm, &error);
    if (!e->answer || !journal_exporting(e, &error) ||
        (copy && !cold_psk_write(o, e->run_dir, &identity, &error))) {
        vm_end_operation(vm);
        if (e->journal)
            cold_journal_remove(host, mid, "source");
        api_request_reply_error(request, error);
        return;
    }
    vm_log(vm, "cold migration %s: export (source, %s)", mid, copy ? "files copied" : "files stay");
    ColdExport *held = g_steal_pointer(&e);
    g_hash_table_insert(exports, held->migration, held);
    ExportCall *call = g_new0(ExportCall, 1);
    *call = (ExportCall){ host, api_request_ref(request), g_strdup(mid) };
    held->exporting = TRUE;
    g_autoptr(GTask) task = g_task_new(NULL, NULL, on_exported, call);
    g_task_set_task_data(task, held, NULL);
    if (copy)
        g_task_run_in_thread(task, export_thread);
    else
        g_task_return_boolean(task, TRUE);
}

/* ---- commit and abort (source) ------------------------------------------------ */

/* Deletes what was exported: the disks (descriptor + extent, and their
 * folder when it empties), the carried files, the home folder when empty.
 * Returns how many files could not be removed. */
static guint
remove_exported(ColdExport *e)
{
    guint left = 0;
    for (guint i = 0; i < e->disks->len; i++) {
        const char *desc = g_ptr_array_index(e->disks, i);
        g_autoptr(GError) error = NULL;
        g_autofree char *dir = g_path_get_dirname(desc);
        if (!datastore_delete_disk(desc, &error)) {
            g_warning("cold migration %s: %s", e->migration, error->message);
            left++;
        }
        if (!g_str_equal(dir, e->home))
            g_rmdir(dir);
    }
    for (guint i = 0; i < e->files->len; i++)
        if (g_unlink(g_ptr_array_index(e->files, i)) != 0 && errno != ENOENT)
            left++;
    if (g_rmdir(e->home) != 0) {
        g_warning("cold migration %s: %s stays: %s", e->migration, e->home, g_strerror(errno));
        left++;
    }
    return left;
}

static void
cold_source_commit(Host *host, ApiRequest *request, JsonObject *o, ColdExport *e)
{
    gboolean remove_files = e->copy;
    g_autoptr(GError) error = NULL;
    if (!json_util_get_bool(o, "remove_files", "spec", &remove_files, &error)) {
        api_request_reply_error(request, error);
        return;
    }
    Vm *vm = vm_manager_lookup(host, e->vm, NULL);
    if (vm && e->recovered && vm->power_state == VM_POWER_STATE_POWERED_ON) {
        api_request_reply_error(request, g_error_new(VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                                                     "virtual machine %s was powered on here after a restart of "
                                                     "vireo-hostd; not unregistered", e->vm));
        return;
    }
    stop_daemons(e);
    if (e->journal && !cold_journal_set_state(host, e->journal, "committing")) {
        api_request_reply_error(request, g_error_new(VIREO_ERROR, VIREO_ERROR_ERROR,
                                                     "cannot write the cold migration journal"));
        return;
    }
    if (vm) {
        vm_log(vm, "cold migration %s: the destination has the VM; unregistering%s", e->migration,
               remove_files ? " and deleting its files here" : "");
        vm_end_operation(vm);
        if (!vm_manager_unregister(host, vm, &error)) {
            cold_journal_remove(host, e->migration, "source");
            g_hash_table_remove(exports, e->migration);
            api_request_reply_error(request, error);
            return;
        }
    }
    guint left = remove_files ? remove_exported(e) : 0;
    JsonObject *r = json_object_new();
    json_object_set_int_member(r, "files_left", left);
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, r);
    cold_journal_remove(host, e->migration, "source");
    g_hash_table_remove(exports, e->migration);
    api_request_reply_json(request, 200, node);
}

/* After a restart (vm-cold-journal.c): the exports were killed; an
 * exported migration is kept (without holding the VM, which was never
 * changed) so the centre's commit or abort still works; one that was
 * committing is finished. */
static void
recover_source(Host *host, JsonObject *j)
{
    ColdExport *e = g_new0(ColdExport, 1);
    e->host = host;
    e->migration = g_strdup(json_object_get_string_member_with_default(j, "migration", ""));
    e->vm = g_strdup(json_object_get_string_member_with_default(j, "vm", ""));
    e->home = g_strdup(json_object_get_string_member_with_default(j, "home", ""));
    e->copy = json_object_get_boolean_member_with_default(j, "copy", TRUE);
    e->pids = g_array_new(FALSE, FALSE, sizeof(pid_t));
    e->files = strings_of(j, "files");
    e->disks = strings_of(j, "disks");
    e->kept = g_ptr_array_new_with_free_func(g_free);
    e->recovered = TRUE;
    e->journal = json_object_ref(j);
    if (!g_str_equal(json_object_get_string_member_with_default(j, "state", ""), "committing")) {
        g_message("cold migration %s: its exports were stopped by a restart; %s is free, the migration waits for "
                  "the centre's commit or abort", e->migration, e->vm);
        g_hash_table_replace(exports, e->migration, e);
        return;
    }
    g_autoptr(GError) error = NULL;
    Vm *vm = vm_manager_lookup(host, e->vm, NULL);
    g_message("cold migration %s: finishing the commit a restart interrupted", e->migration);
    if (vm && !vm_manager_unregister(host, vm, &error))
        g_warning("cold migration %s: %s", e->migration, error->message);
    if (!error && e->copy)
        remove_exported(e);
    cold_journal_remove(host, e->migration, "source");
    cold_export_free(e);
}

/* ---- the destination's commit and abort, from its journal ------------------------- */

static void
reply_vm(ApiRequest *request, Vm *vm)
{
    JsonObject *r = json_object_new();
    json_object_set_string_member(r, "vm", vm->id);
    json_object_set_string_member(r, "power_state", vm_power_state_to_string(vm->power_state));
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, r);
    api_request_reply_json(request, 200, node);
}

/* A commit is idempotent: one that happened answers the VM again (also
 * after a restart); the journal says "committing" while it registers. */
static void
destination_commit(Host *host, ApiRequest *request, JsonObject *o, const char *mid)
{
    g_autoptr(JsonObject) j = cold_journal_read(host, mid, "destination");
    const char *state = j ? json_object_get_string_member_with_default(j, "state", "") : "";
    const char *path = json_object_get_string_member_with_default(o, "vmx_path", NULL);
    g_autofree char *shared = !j && path ? host_resolve_datastore_path(host, path, NULL, NULL, NULL) : NULL;
    Vm *vm = j && g_str_equal(state, "committed")
                 ? vm_manager_lookup(host, json_object_get_string_member_with_default(j, "vm", ""), NULL)
                 : cold_vm_by_vmx(host, shared);
    if (vm) {
        reply_vm(request, vm);
        return;
    }
    if (j && !cold_journal_set_state(host, j, "committing")) {
        api_request_reply_error(request, g_error_new(VIREO_ERROR, VIREO_ERROR_ERROR,
                                                     "cannot write the cold migration journal"));
        return;
    }
    cold_import_commit(host, request, o);
    vm = j ? cold_vm_by_vmx(host, json_object_get_string_member_with_default(j, "vmx_path", NULL)) : NULL;
    if (vm)
        json_object_set_string_member(j, "vm", vm->id);
    if (j)
        cold_journal_set_state(host, j, vm ? "committed" : "importing");
}

static void
destination_abort(Host *host, ApiRequest *request, JsonObject *o, const char *mid)
{
    g_autoptr(JsonObject) j = cold_journal_read(host, mid, "destination");
    if (j && g_str_equal(json_object_get_string_member_with_default(j, "state", ""), "committed")) {
        api_request_reply_error(request, g_error_new(VIREO_ERROR, VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE,
                                                     "cold migration %s is committed: the VM is registered here",
                                                     mid));
        return;
    }
    cold_import_abort(host, request, o);
}

/* ---- routes ---------------------------------------------------------------------- */

/* The body, its migration id and role ("source" or "destination"); NULL
 * with the request answered when they are missing. */
static JsonObject *
cold_body(ApiRequest *request, const char **mid, gboolean *destination)
{
    g_autoptr(GError) error = NULL;
    JsonObject *o = api_body_object(request, TRUE);
    const char *role = "source";
    if (!o)
        return NULL;
    *mid = NULL;
    if (!json_util_get_string(o, "migration", "spec", mid, &error) ||
        !json_util_get_string(o, "role", "spec", &role, &error) || !mig_id_valid(*mid) ||
        (!g_str_equal(role, "source") && !g_str_equal(role, "destination"))) {
        api_request_reply_error(request, error ? error : g_error_new(VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                                                                     "give \"migration\" (an id) and \"role\" "
                                                                     "(source or destination)"));
        return NULL;
    }
    *destination = g_str_equal(role, "destination");
    return o;
}

static void
route(ApiRequest *request, Host *host, const char *action)
{
    const char *mid = NULL;
    gboolean destination = FALSE;
    JsonObject *o = cold_body(request, &mid, &destination);
    if (!o)
        return;
    if (g_str_equal(action, "export")) {
        cold_export(host, request, o, mid);
    } else if (g_str_equal(action, "import")) {
        cold_import_start(host, request, o);
    } else if (g_str_equal(action, "status")) {
        cold_import_status(host, request, o);
    } else if (destination) {
        (g_str_equal(action, "commit") ? destination_commit : destination_abort)(host, request, o, mid);
    } else {
        ColdExport *e = g_hash_table_lookup(exports, mid);
        if (e && e->exporting && g_str_equal(action, "commit")) {
            api_request_reply_error(request, g_error_new(VIREO_ERROR, VIREO_ERROR_RESOURCE_BUSY,
                                                         "migration %s is still being exported", mid));
            return;
        }
        if (e && g_str_equal(action, "commit")) {
            cold_source_commit(host, request, o, e);
            return;
        }
        if (!e && g_str_equal(action, "commit")) {
            api_request_reply_error(request, g_error_new(VIREO_ERROR, VIREO_ERROR_NOT_FOUND,
                                                         "no cold migration %s exported here", mid));
            return;
        }
        if (e && e->exporting) {
            e->aborted = TRUE;   /* on_exported releases it */
        } else if (e) {
            Vm *vm = vm_manager_lookup(host, e->vm, NULL);
            if (vm)
                vm_log(vm, "cold migration %s: aborted; the VM stays here, untouched", mid);
            stop_daemons(e);
            export_release(host, e);
        }
        api_request_reply_empty(request, 204);
    }
}

#define ROUTE(action)                                                  \
    static void on_##action(ApiRequest *request, gpointer data)        \
    {                                                                  \
        route(request, data, #action);                                 \
    }
ROUTE(export)
ROUTE(import)
ROUTE(status)
ROUTE(commit)
ROUTE(abort)

void
api_cold_migration_register(ApiServer *server, Host *host)
{
    if (!exports)
        exports = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)cold_export_free);
    cold_journal_schedule_recovery(host, recover_source);
    api_server_add_route(server, "POST", "/api/vireo/cold-migration", "export", on_export, host);
    api_server_add_route(server, "POST", "/api/vireo/cold-migration", "import", on_import, host);
    api_server_add_route(server, "POST", "/api/vireo/cold-migration", "status", on_status, host);
    api_server_add_route(server, "POST", "/api/vireo/cold-migration", "commit", on_commit, host);
    api_server_add_route(server, "POST", "/api/vireo/cold-migration", "abort", on_abort, host);
}
