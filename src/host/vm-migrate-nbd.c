/* vm-migrate-nbd.c — vMotion + Storage vMotion, the files and the
 * destination: what begin tells about the VM's files, the folder prepare
 * stages on the new datastore, the NBD server that receives the disks, and
 * the end of it all (finish, confirm, cancel). The source's mirrors are in
 * vm-migrate-nbd-mirror.c.
 *
 *   source:       begin (describe) ─▶ perform (mirror, wait) ─▶ confirm: VM's files deleted
 *   destination:  prepare (stage, serve) ─▶ finish: server stopped, folder kept
 *   cancel:       source: mirrors cancelled; destination: QEMU killed, folder removed
 *
 * Only a folder this migration created is ever removed on the destination,
 * and the source's files only once its copy completed (confirm).
 */
#include "vm-migrate-nbd-private.h"

#include "datastore.h"
#include "json-util.h"
#include "qmp-client.h"
#include "vireo-error.h"
#include "vm-launch.h"
#include "vmdk.h"
#include "vmx.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* migration id -> NbdMove* */
static GHashTable *moves;

static const char *const phase_names[] = {
    [NBD_PHASE_NONE] = "none",         [NBD_PHASE_MIRRORING] = "mirroring",
    [NBD_PHASE_MEMORY] = "memory",     [NBD_PHASE_SWITCHING] = "switching",
    [NBD_PHASE_COPIED] = "copied",     [NBD_PHASE_FAILED] = "failed",
};

const char *
nbd_phase_to_string(NbdPhase phase)
{
    return phase < G_N_ELEMENTS(phase_names) ? phase_names[phase] : "none";
}

static void
nbd_disk_free(NbdDisk *d)
{
    g_free(d->device);
    g_free(d->desc);
    g_free(d->export_name);
    g_free(d->source_node);
    g_free(d->target_node);
    g_free(d->job);
    g_free(d->job_error);
    g_free(d);
}

static void
nbd_move_free(NbdMove *mv)
{
    g_free(mv->migration);
    g_free(mv->vm);
    g_ptr_array_unref(mv->disks);
    g_free(mv->folder);
    g_free(mv->nbd_host);
    g_free(mv->tls_creds);
    g_clear_error(&mv->error);
    g_free(mv);
}

NbdMove *
nbd_move_lookup(const char *migration)
{
    return moves && migration ? g_hash_table_lookup(moves, migration) : NULL;
}

NbdMove *
nbd_move_of(Vm *vm)
{
    NbdMove *mv = vm ? nbd_move_lookup(vm->migration) : NULL;
    return mv && g_strcmp0(mv->vm, vm->id) == 0 ? mv : NULL;
}

NbdMove *
nbd_move_add(Host *host, const char *migration, gboolean source)
{
    if (!moves)
        moves = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)nbd_move_free);
    NbdMove *mv = g_new0(NbdMove, 1);
    mv->host = host;
    mv->migration = g_strdup(migration);
    mv->source = source;
    mv->disks = g_ptr_array_new_with_free_func((GDestroyNotify)nbd_disk_free);
    g_hash_table_replace(moves, mv->migration, mv);
    return mv;
}

void
nbd_move_remove(NbdMove *mv)
{
    if (mv)
        g_hash_table_remove(moves, mv->migration);
}

void
nbd_qmp(Vm *vm, const char *command, JsonObject *args, GAsyncReadyCallback cb, gpointer data)
{
    if (!vm || !vm->qmp) {
        if (args)
            json_object_unref(args);
        GTask *t = g_task_new(NULL, NULL, cb, data);
        g_task_return_new_error(t, G_IO_ERROR, G_IO_ERROR_CLOSED, "the VM's QEMU is gone");
        g_object_unref(t);
        return;
    }
    JsonNode *node = NULL;
    if (args) {
        node = json_node_new(JSON_NODE_OBJECT);
        json_node_take_object(node, args);
    }
    qmp_client_execute_async(vm->qmp, command, node, -1, NULL, cb, data);
}

JsonNode *
nbd_qmp_finish(GAsyncResult *res, GError **error)
{
    if (G_IS_TASK(res))
        return g_task_propagate_pointer(G_TASK(res), error);
    return qmp_client_execute_finish(NULL, res, error);
}

/* ---- begin (source): the files ------------------------------------------ */

static JsonObject *
describe_disk(Vm *vm, VmDisk *disk, NbdMove *mv, GError **error)
{
    g_autofree char *desc = NULL, *data = NULL;
    const char *format = NULL;
    if (!vm_launch_resolve_disk(vm, disk, &desc, &data, &format, error))
        return NULL;
    g_autofree char *bus = g_ascii_strdown(vm_bus_to_string(disk->bus), -1);
    g_autofree char *device = g_strdup_printf("%s%d-%d", bus, disk->controller, disk->unit);
    if (!g_str_equal(format, "raw")) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_UNSUPPORTED,
                    "disk %s is a %s disk; only flat disks can move to another host's datastore",
                    device, format);
        return NULL;
    }
    g_autoptr(VmdkDescriptor) d = vmdk_descriptor_load(desc, error);
    if (!d)
        return NULL;
    g_autofree char *name = g_path_get_basename(desc);
    g_autofree char *base = g_str_has_suffix(name, ".vmdk") ? g_strndup(name, strlen(name) - 5) : g_strdup(name);
    for (guint i = 0; i < mv->disks->len; i++) {
        g_autofree char *other = g_path_get_basename(((NbdDisk *)g_ptr_array_index(mv->disks, i))->desc);
        if (g_str_equal(other, name)) {
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_UNSUPPORTED,
                        "two disks are named %s; they cannot share the VM's new folder", name);
            return NULL;
        }
    }
    VmDiskProvisioning prov = datastore_disk_provisioning(desc);
    const char *adapter = vmdk_descriptor_ddb(d, "ddb.adapterType");
    g_autofree char *key = vm_device_node(disk->bus, disk->controller, disk->unit);
    JsonObject *o = json_object_new();
    json_object_set_string_member(o, "key", key);
    json_object_set_string_member(o, "device", device);
    json_object_set_string_member(o, "base", base);
    json_object_set_int_member(o, "capacity", (gint64)vmdk_descriptor_capacity(d));
    json_object_set_string_member(o, "provisioning", vm_disk_provisioning_to_string(prov));
    if (adapter)
        json_object_set_string_member(o, "adapter", adapter);
    NbdDisk *nd = g_new0(NbdDisk, 1);
    nd->device = g_steal_pointer(&device);
    nd->desc = g_steal_pointer(&desc);
    nd->thin = prov == VM_DISK_PROVISIONING_THIN;
    g_ptr_array_add(mv->disks, nd);
    return o;
}

/* The .nvram next to the .vmx (EFI), as base64; NULL when there is none. */
static char *
nvram_of(Vm *vm, char **name_out)
{
    if (vm->config->firmware != VM_FIRMWARE_EFI)
        return NULL;
    g_autofree char *base = g_path_get_basename(vm->vmx_path);
    *strrchr(base, '.') = '\0';
    g_autofree char *name = vm->config->nvram && !strchr(vm->config->nvram, '/')
                                ? g_strdup(vm->config->nvram) : g_strdup_printf("%s.nvram", base);
    g_autofree char *path = g_build_filename(vm->dir, name, NULL);
    g_autofree char *data = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &data, &len, NULL))
        return NULL;
    *name_out = g_steal_pointer(&name);
    return g_base64_encode((const guchar *)data, len);
}

gboolean
vm_migrate_nbd_describe(Vm *vm, JsonObject *answer, GError **error)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(vm->vmx_path, &text, NULL, error))
        return FALSE;
    NbdMove *mv = nbd_move_add(vm->host, vm->migration, TRUE);
    mv->vm = g_strdup(vm->id);
    JsonArray *disks = json_array_new();
    for (guint i = 0; i < vm->config->disks->len; i++) {
        JsonObject *d = describe_disk(vm, g_ptr_array_index(vm->config->disks, i), mv, error);
        if (!d) {
            json_array_unref(disks);
            nbd_move_remove(mv);
            return FALSE;
        }
        json_array_add_object_element(disks, d);
    }
    JsonObject *files = json_object_new();
    g_autofree char *folder = g_path_get_basename(vm->dir);
    g_autofree char *vmx_name = g_path_get_basename(vm->vmx_path);
    json_object_set_string_member(files, "folder", folder);
    json_object_set_string_member(files, "vmx_name", vmx_name);
    json_object_set_string_member(files, "vmx", text);
    g_autofree char *nvram_name = NULL;
    g_autofree char *nvram = nvram_of(vm, &nvram_name);
    if (nvram) {
        json_object_set_string_member(files, "nvram_name", nvram_name);
        json_object_set_string_member(files, "nvram", nvram);
    }
    json_object_set_array_member(files, "disks", disks);
    json_object_set_object_member(answer, "files", files);
    return TRUE;
}

/* ---- prepare (destination): the folder, .vmx, .nvram and empty disks ------ */

static gboolean
plain_name(const char *s)
{
    return s && *s && !strchr(s, '/') && !g_str_equal(s, ".") && !g_str_equal(s, "..");
}

/* Thick disks need their whole capacity free (thin ones may be put where
 * they do not fit, as vSphere allows; the copy then fails with ENOSPC). */
static gboolean
stage_check_space(const char *ds_path, JsonArray *disks, GError **error)
{
    guint64 need = 0, capacity = 0, free_space = 0;
    for (guint i = 0; i < json_array_get_length(disks); i++) {
        JsonObject *d = json_array_get_object_element(disks, i);
        VmDiskProvisioning p = VM_DISK_PROVISIONING_THIN;
        vm_disk_provisioning_from_string(json_object_get_string_member_with_default(d, "provisioning", ""), &p);
        if (p != VM_DISK_PROVISIONING_THIN)
            need += (guint64)MAX(json_object_get_int_member_with_default(d, "capacity", 0), 0);
    }
    if (!datastore_stats(ds_path, &capacity, &free_space, error))
        return FALSE;
    if (need > free_space) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_UNABLE_TO_ALLOCATE_RESOURCE,
                    "not enough space on %s: the thick disks need %" G_GUINT64_FORMAT " MiB, %"
                    G_GUINT64_FORMAT " MiB are free", ds_path, need >> 20, free_space >> 20);
        return FALSE;
    }
    return TRUE;
}

/* Writes the .vmx (disks renamed into the new folder), the .nvram and the
 * empty disks; records each disk's export on mv. */
static char *
stage_files(NbdMove *mv, const char *dir, JsonObject *files, JsonArray *disks, GError **error)
{
    const char *text = json_object_get_string_member_with_default(files, "vmx", NULL);
    const char *vmx_name = json_object_get_string_member_with_default(files, "vmx_name", NULL);
    g_autoptr(Vmx) vmx = text ? vmx_parse(text, strlen(text), error) : NULL;
    if (!vmx || !plain_name(vmx_name) || !g_str_has_suffix(vmx_name, ".vmx")) {
        if (!(error && *error))
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT, "files: give vmx and vmx_name");
        return NULL;
    }
    for (guint i = 0; i < json_array_get_length(disks); i++) {
        JsonObject *d = json_array_get_object_element(disks, i);
        const char *key = json_object_get_string_member_with_default(d, "key", NULL);
        const char *device = json_object_get_string_member_with_default(d, "device", NULL);
        const char *base = json_object_get_string_member_with_default(d, "base", NULL);
        gint64 capacity = json_object_get_int_member_with_default(d, "capacity", 0);
        VmDiskProvisioning p = VM_DISK_PROVISIONING_THIN;
        vm_disk_provisioning_from_string(json_object_get_string_member_with_default(d, "provisioning", ""), &p);
        if (!key || !plain_name(device) || !plain_name(base) || capacity <= 0) {
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                        "files.disks[%u]: give key, device, base and capacity", i);
            return NULL;
        }
        if (!datastore_create_disk(dir, base, (guint64)capacity, p,
                                   json_object_get_string_member_with_default(d, "adapter", NULL), error))
            return NULL;
        g_autofree char *file_key = g_strdup_printf("%s.fileName", key);
        g_autofree char *file_name = g_strdup_printf("%s.vmdk", base);
        vmx_set(vmx, file_key, file_name);
        NbdDisk *nd = g_new0(NbdDisk, 1);
        nd->device = g_strdup(device);
        nd->desc = g_strdup_printf("%s/%s-flat.vmdk", dir, base);  /* here: the flat file */
        nd->export_name = g_strdup_printf("drive-%s", device);
        nd->thin = p == VM_DISK_PROVISIONING_THIN;
        g_ptr_array_add(mv->disks, nd);
    }
    const char *nvram = json_object_get_string_member_with_default(files, "nvram", NULL);
    const char *nvram_name = json_object_get_string_member_with_default(files, "nvram_name", NULL);
    if (nvram && plain_name(nvram_name)) {
        gsize len = 0;
        g_autofree guchar *bytes = g_base64_decode(nvram, &len);
        g_autofree char *path = g_build_filename(dir, nvram_name, NULL);
        if (!g_file_set_contents(path, (const char *)bytes, len, error))
            return NULL;
    }
    char *path = g_build_filename(dir, vmx_name, NULL);
    if (!vmx_save(vmx, path, error)) {
        g_free(path);
        return NULL;
    }
    return path;
}

char *
vm_migrate_nbd_stage(Host *host, const char *migration, JsonObject *body, GError **error)
{
    const char *name = NULL;
    JsonObject *files = NULL;
    JsonArray *disks = NULL;
    if (!json_util_get_string(body, "datastore", "spec", &name, error) || !name)
        return NULL;
    if (!json_util_get_object(body, "files", "spec", &files, error) ||
        (files && !json_util_get_array(files, "disks", "spec.files", &disks, error)))
        return NULL;
    const HostDatastoreConfig *ds = host_lookup_datastore(host, name);
    const char *folder = files ? json_object_get_string_member_with_default(files, "folder", NULL) : NULL;
    if (!ds || !disks || !plain_name(folder)) {
        g_set_error(error, VIREO_ERROR, ds ? VIREO_ERROR_INVALID_ARGUMENT : VIREO_ERROR_NOT_FOUND,
                    ds ? "give files {folder, vmx_name, vmx, disks} with the datastore"
                       : "datastore %s is not on this host", name);
        return NULL;
    }
    g_autofree char *dir = g_build_filename(ds->path, folder, NULL);
    if (!stage_check_space(ds->path, disks, error))
        return NULL;
    if (g_mkdir(dir, 0755) != 0) {
        g_set_error(error, VIREO_ERROR, errno == EEXIST ? VIREO_ERROR_ALREADY_EXISTS : VIREO_ERROR_ERROR,
                    errno == EEXIST ? "folder %s already exists on datastore %s; remove or rename it first"
                                    : "cannot create folder %s on datastore %s: %s",
                    folder, ds->name, g_strerror(errno));
        return NULL;
    }
    NbdMove *mv = nbd_move_add(host, migration, FALSE);
    mv->folder = g_strdup(dir);
    char *vmx_path = stage_files(mv, dir, files, disks, error);
    if (!vmx_path)
        vm_migrate_nbd_abandon(host, migration);
    return vmx_path;
}

void
vm_migrate_nbd_abandon(Host *host, const char *migration)
{
    NbdMove *mv = nbd_move_lookup(migration);
    g_autoptr(GError) error = NULL;
    if (!mv || mv->source)
        return;
    if (mv->folder && !datastore_remove_folder(mv->folder, &error))
        g_warning("migration %s: %s", migration, error->message);
    nbd_move_remove(mv);
}

gboolean
vm_migrate_nbd_staged(Vm *vm)
{
    NbdMove *mv = nbd_move_lookup(vm->migration);
    if (mv && !mv->source && !mv->vm)
        mv->vm = g_strdup(vm->id);
    return mv && !mv->source;
}

/* ---- prepare (destination): the NBD server ------------------------------- */

typedef struct {
    Vm *vm;
    NbdMove *mv;
    VmNbdDoneFunc done;
    gpointer data;
    guint next;        /* the next disk to export */
    guint tries;
} Serve;

static void serve_next(Serve *s);

static void
serve_end(Serve *s, const GError *error)
{
    s->done(s->vm, error, s->data);
    g_free(s);
}

/* A free TCP port on address, for nbd-server-start (QEMU 7.2 cannot say
 * which port it took for port 0). */
static guint
free_port(const char *address, GError **error)
{
    g_autoptr(GInetAddress) ia = g_inet_address_new_from_string(address);
    if (!ia) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "%s is not an IP address", address);
        return 0;
    }
    g_autoptr(GSocket) sock = g_socket_new(g_inet_address_get_family(ia), G_SOCKET_TYPE_STREAM,
                                           G_SOCKET_PROTOCOL_TCP, error);
    g_autoptr(GSocketAddress) sa = g_inet_socket_address_new(ia, 0);
    if (!sock || !g_socket_bind(sock, sa, FALSE, error))
        return 0;
    g_autoptr(GSocketAddress) bound = g_socket_get_local_address(sock, error);
    return bound ? g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound)) : 0;
}

static void
on_served(GObject *source, GAsyncResult *res, gpointer data)
{
    Serve *s = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = nbd_qmp_finish(res, &error);
    if (!r && s->next == 0 && ++s->tries < 5 && s->vm->qmp) {
        serve_next(s); /* the port was taken meanwhile: another one */
        return;
    }
    if (!r) {
        g_prefix_error(&error, "%s: ", s->next == 0 ? "nbd-server-start" : "block-export-add");
        serve_end(s, error);
        return;
    }
    s->next++;
    serve_next(s);
}

static void
serve_next(Serve *s)
{
    NbdMove *mv = s->mv;
    JsonObject *a = json_object_new();
    if (s->next == 0) {
        g_autoptr(GError) error = NULL;
        mv->nbd_port = free_port(mv->nbd_host, &error);
        if (!mv->nbd_port) {
            json_object_unref(a);
            serve_end(s, error);
            return;
        }
        JsonObject *addr = json_object_new(), *inet = json_object_new();
        g_autofree char *port = g_strdup_printf("%u", mv->nbd_port);
        json_object_set_string_member(inet, "host", mv->nbd_host);
        json_object_set_string_member(inet, "port", port);
        json_object_set_string_member(addr, "type", "inet");
        json_object_set_object_member(addr, "data", inet);
        json_object_set_object_member(a, "addr", addr);
        if (mv->tls_creds)
            json_object_set_string_member(a, "tls-creds", mv->tls_creds);
        nbd_qmp(s->vm, "nbd-server-start", a, on_served, s);
        return;
    }
    if (s->next > mv->disks->len) {
        vm_log(s->vm, "migration %s: serving %u disk(s) over NBD on %s:%u (%s)", mv->migration,
               mv->disks->len, mv->nbd_host, mv->nbd_port, mv->tls_creds ? "TLS" : "in clear");
        serve_end(s, NULL);
        return;
    }
    NbdDisk *d = g_ptr_array_index(mv->disks, s->next - 1);
    g_autofree char *id = g_strdup_printf("xvmotion-%s", d->device);
    json_object_set_string_member(a, "type", "nbd");
    json_object_set_string_member(a, "id", id);
    json_object_set_string_member(a, "node-name", d->export_name);
    json_object_set_string_member(a, "name", d->export_name);
    json_object_set_boolean_member(a, "writable", TRUE);
    nbd_qmp(s->vm, "block-export-add", a, on_served, s);
}

void
vm_migrate_nbd_serve(Vm *vm, const char *address, const char *tls_creds, VmNbdDoneFunc done,
                     gpointer data)
{
    Serve *s = g_new0(Serve, 1);
    s->vm = vm;
    s->mv = nbd_move_of(vm);
    s->done = done;
    s->data = data;
    g_free(s->mv->nbd_host);
    s->mv->nbd_host = g_strdup(address);
    g_free(s->mv->tls_creds);
    s->mv->tls_creds = g_strdup(tls_creds);
    serve_next(s);
}

void
vm_migrate_nbd_add_answer(Vm *vm, JsonObject *answer)
{
    NbdMove *mv = nbd_move_of(vm);
    if (!mv || mv->source || !mv->nbd_port)
        return;
    JsonObject *nbd = json_object_new(), *exports = json_object_new();
    json_object_set_string_member(nbd, "host", mv->nbd_host);
    json_object_set_int_member(nbd, "port", mv->nbd_port);
    for (guint i = 0; i < mv->disks->len; i++) {
        NbdDisk *d = g_ptr_array_index(mv->disks, i);
        json_object_set_string_member(exports, d->device, d->export_name);
    }
    json_object_set_object_member(nbd, "exports", exports);
    json_object_set_object_member(answer, "nbd", nbd);
}

/* ---- finish, confirm, cancel ---------------------------------------------- */

static void
on_quiet(GObject *source, GAsyncResult *res, gpointer data)
{
    g_autofree char *what = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) r = nbd_qmp_finish(res, &error);
    if (!r)
        g_message("migration: %s: %s", what, error->message);
}

/* The mirror writes the source's zeroes as holes (blockdev-mirror always
 * unmaps): a thick disk gets its whole extent allocated again (holes only;
 * the data is untouched). */
static void
thicken(Vm *vm, NbdDisk *d)
{
    int fd = open(d->desc, O_RDWR | O_CLOEXEC);
    struct stat st;
    int rc = fd < 0 ? errno : fstat(fd, &st) != 0 ? errno : posix_fallocate(fd, 0, st.st_size);
    if (rc)
        vm_log(vm, "migration: cannot allocate thick disk %s again: %s", d->desc, g_strerror(rc));
    if (fd >= 0)
        close(fd);
}

void
vm_migrate_nbd_finish(Vm *vm)
{
    NbdMove *mv = nbd_move_of(vm);
    if (!mv || mv->source)
        return;
    for (guint i = 0; i < mv->disks->len; i++) {
        NbdDisk *d = g_ptr_array_index(mv->disks, i);
        if (!d->thin)
            thicken(vm, d);
    }
    /* The source completed its mirrors before the switch-over: nothing
     * writes to the exports any more. */
    nbd_qmp(vm, "nbd-server-stop", NULL, on_quiet, g_strdup("nbd-server-stop"));
    vm_log(vm, "migration %s: disks received; NBD server stopped", mv->migration);
    nbd_move_remove(mv);
}

gboolean
vm_migrate_nbd_confirm(Vm *vm)
{
    NbdMove *mv = nbd_move_of(vm);
    gboolean copied = mv && mv->source && mv->phase == NBD_PHASE_COPIED;
    for (guint i = 0; copied && i < mv->disks->len; i++) {
        NbdDisk *d = g_ptr_array_index(mv->disks, i);
        g_autofree char *dir = g_path_get_dirname(d->desc);
        g_autoptr(GError) error = NULL;
        /* Disks in the VM's folder go with it; others (an earlier Storage
         * vMotion of one disk) are deleted one by one. */
        if (!g_str_equal(dir, vm->dir) && !datastore_delete_disk(d->desc, &error))
            g_warning("migration %s: %s", mv->migration, error->message);
    }
    if (copied)
        vm_log(vm, "migration %s: the VM lives on the destination's datastore now; removing its files here",
               mv->migration);
    nbd_move_remove(mv);
    return copied;
}

typedef struct {
    Host *host;
    char *vm;
    char *folder;
    char *migration;
    guint tries;
} Removal;

#define REMOVAL_WAIT_MS 100
#define REMOVAL_TRIES 100

/* The cancelled incoming VM is unregistered once its QEMU is gone; its
 * folder goes then (or after 10 s whatever happens). */
static gboolean
remove_when_unregistered(gpointer data)
{
    Removal *rm = data;
    if (g_hash_table_lookup(rm->host->vms, rm->vm) && ++rm->tries < REMOVAL_TRIES)
        return G_SOURCE_CONTINUE;
    g_autoptr(GError) error = NULL;
    if (!datastore_remove_folder(rm->folder, &error))
        g_warning("migration %s: %s", rm->migration, error->message);
    else
        g_message("migration %s: cancelled; removed %s", rm->migration, rm->folder);
    g_free(rm->vm);
    g_free(rm->folder);
    g_free(rm->migration);
    g_free(rm);
    return G_SOURCE_REMOVE;
}

void
vm_migrate_nbd_cancel(Vm *vm)
{
    NbdMove *mv = nbd_move_of(vm);
    if (!mv)
        return;
    if (mv->source) {
        nbd_mirror_cancel(vm, mv);
        return;
    }
    Removal *rm = g_new0(Removal, 1);
    rm->host = vm->host;
    rm->vm = g_strdup(vm->id);
    rm->folder = g_strdup(mv->folder);
    rm->migration = g_strdup(mv->migration);
    g_timeout_add(REMOVAL_WAIT_MS, remove_when_unregistered, rm);
    nbd_move_remove(mv);
}

/* ---- progress ------------------------------------------------------------- */

static void
mirror_progress(ApiRequest *request, gpointer data)
{
    JsonObject *o = api_body_object(request, TRUE);
    const char *mid = o ? json_object_get_string_member_with_default(o, "migration", NULL) : NULL;
    NbdMove *mv = nbd_move_lookup(mid);
    if (!o)
        return;
    if (!mv || !mv->source) {
        api_request_reply_error(request, g_error_new(VIREO_ERROR, VIREO_ERROR_NOT_FOUND,
                                                     "no disk copy for migration %s on this host",
                                                     mid ? mid : "(none)"));
        return;
    }
    gint64 done = 0, total = 0;
    for (guint i = 0; i < mv->disks->len; i++) {
        NbdDisk *d = g_ptr_array_index(mv->disks, i);
        done += d->done_bytes;
        total += d->total_bytes;
    }
    JsonObject *r = json_object_new();
    json_object_set_string_member(r, "phase", nbd_phase_to_string(mv->phase));
    json_object_set_int_member(r, "disk_bytes_done", done);
    json_object_set_int_member(r, "disk_bytes_total", total);
    json_object_set_int_member(r, "percent", total > 0 ? (done * 100) / total : 0);
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(node, r);
    api_request_reply_json(request, 200, node);
}

void
vm_migrate_nbd_register(ApiServer *server, Host *host)
{
    api_server_add_route(server, "POST", "/api/vireo/migration", "mirror-progress", mirror_progress, host);
}
