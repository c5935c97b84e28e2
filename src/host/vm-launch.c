/* vm-launch.c — turning a registered VM into a QEMU command line: disks and
 * ISOs resolved (never outside a datastore), taps plugged into the port
 * groups' bridges, run-time folder, EFI variables, customization. */
#include "vm-launch.h"
#include "host-evc.h"
#include "net-switch.h"
#include "qemu-argv.h"
#include "vireo-error.h"
#include "vmdk.h"

#include <errno.h>
#include <gio/gio.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct VmLaunch {
    Vm *vm;
    GPtrArray *strings;      /* char*: paths the QemuLaunch points at */
    GPtrArray *drives;       /* QemuDrive* */
    GPtrArray *netdevs;      /* QemuNetdev* */
    GPtrArray *taps;         /* char*: taps this launch created */
    GStrv argv;
};

static const char *
keep(VmLaunch *l, char *s)
{
    g_ptr_array_add(l->strings, s);
    return s;
}

void
vm_launch_free(VmLaunch *l)
{
    if (!l)
        return;
    g_ptr_array_unref(l->strings);
    g_ptr_array_unref(l->drives);
    g_ptr_array_unref(l->netdevs);
    g_ptr_array_unref(l->taps);
    g_strfreev(l->argv);
    g_free(l);
}

char *
vm_launch_qmp_socket(Vm *vm)
{
    return g_build_filename(vm->run_dir, "qmp.sock", NULL);
}

char *
vm_launch_agent_socket(Vm *vm)
{
    return g_build_filename(vm->run_dir, "agent.sock", NULL);
}

char *
vm_launch_pid_file(Vm *vm)
{
    return g_build_filename(vm->run_dir, "qemu.pid", NULL);
}

gboolean
vm_launch_resolve_disk(Vm *vm, const VmDisk *disk, char **out_descriptor, char **out_data,
                       const char **out_format, GError **error)
{
    g_autofree char *desc_path =
        host_resolve_datastore_path(vm->host, disk->file_name, vm->dir, NULL, error);
    if (!desc_path)
        return FALSE;
    g_autoptr(VmdkDescriptor) desc = vmdk_descriptor_load(desc_path, error);
    if (!desc) {
        g_prefix_error(error, "disk %s: ", disk->file_name);
        return FALSE;
    }
    g_autofree char *dir = g_path_get_dirname(desc_path);
    if (!vmdk_descriptor_resolve_extent(desc, dir, out_data, out_format, error)) {
        g_prefix_error(error, "disk %s: ", disk->file_name);
        return FALSE;
    }
    if (out_descriptor)
        *out_descriptor = g_steal_pointer(&desc_path);
    return TRUE;
}

static gboolean
add_drives(VmLaunch *l, GError **error)
{
    Vm *vm = l->vm;
    for (guint i = 0; i < vm->config->disks->len; i++) {
        const VmDisk *disk = g_ptr_array_index(vm->config->disks, i);
        char *data = NULL;
        const char *format = NULL;
        if (!vm_launch_resolve_disk(vm, disk, NULL, &data, &format, error))
            return FALSE;
        QemuDrive *d = g_new0(QemuDrive, 1);
        d->bus = disk->bus;
        d->controller = disk->controller;
        d->unit = disk->unit;
        d->path = keep(l, data);
        d->format = format;
        d->read_only = FALSE;
        g_ptr_array_add(l->drives, d);
    }
    for (guint i = 0; i < vm->config->cdroms->len; i++) {
        const VmCdrom *cd = g_ptr_array_index(vm->config->cdroms, i);
        QemuDrive *d = g_new0(QemuDrive, 1);
        d->bus = cd->bus;
        d->controller = cd->controller;
        d->unit = cd->unit;
        d->is_cdrom = TRUE;
        d->read_only = TRUE;
        d->format = "raw";
        if (cd->backing == VM_CDROM_ISO_FILE && cd->start_connected && cd->file_name) {
            char *iso = host_resolve_datastore_path(vm->host, cd->file_name, vm->dir, NULL, error);
            if (!iso || !g_file_test(iso, G_FILE_TEST_IS_REGULAR)) {
                if (iso)
                    g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND,
                                "CD/DVD image %s does not exist", cd->file_name);
                g_free(iso);
                g_free(d);
                return FALSE;
            }
            d->path = keep(l, iso);
        }
        g_ptr_array_add(l->drives, d);
    }
    return TRUE;
}

static gboolean
add_netdevs(VmLaunch *l, GError **error)
{
    Vm *vm = l->vm;
    for (guint i = 0; i < vm->config->nics->len; i++) {
        const VmNic *nic = g_ptr_array_index(vm->config->nics, i);
        QemuNetdev *n = g_new0(QemuNetdev, 1);
        n->index = nic->index;
        g_ptr_array_add(l->netdevs, n);
        if (!nic->start_connected)
            continue;
        const HostPortgroupConfig *pg = host_lookup_portgroup(vm->host, nic->network_name);
        if (!pg) {
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND,
                        "network adapter %d: port group '%s' does not exist on this host",
                        nic->index + 1, nic->network_name ? nic->network_name : "");
            return FALSE;
        }
        const HostVswitchConfig *vs = host_config_find_vswitch(vm->host->config, pg->vswitch);
        char *tap = net_tap_name(vm->host->config->host_name, vm->id, nic->index);
        if (!net_tap_create(tap, vs->bridge, pg->vlan_id, error)) {
            g_free(tap);
            return FALSE;
        }
        g_ptr_array_add(l->taps, tap);
        n->tap_name = tap;
    }
    return TRUE;
}

/* EFI variables: OVMF's own store next to the .vmx. A VMware .nvram (another
 * format) is kept aside, as it cannot be read by OVMF. */
static const char *
prepare_nvram(VmLaunch *l, GError **error)
{
    Vm *vm = l->vm;
    if (!vm->host->ovmf_vars) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_UNSUPPORTED,
                    "this VM boots with EFI, but OVMF is not installed on this host "
                    "(apt-get install ovmf)");
        return NULL;
    }
    const char *name = vm->config->nvram;
    g_autofree char *fallback = NULL;
    if (!name || strchr(name, '/')) {
        g_autofree char *base = g_path_get_basename(vm->vmx_path);
        *strrchr(base, '.') = '\0';
        name = fallback = g_strdup_printf("%s.nvram", base);
    }
    char *path = g_build_filename(vm->dir, name, NULL);
    keep(l, path);
    struct stat st, tmpl;
    if (stat(vm->host->ovmf_vars, &tmpl) != 0) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "cannot read %s", vm->host->ovmf_vars);
        return NULL;
    }
    if (stat(path, &st) == 0 && st.st_size == tmpl.st_size)
        return path;
    if (stat(path, &st) == 0) {
        g_autofree char *aside = g_strdup_printf("%s.vmware", path);
        if (rename(path, aside) != 0) {
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "cannot move %s aside", path);
            return NULL;
        }
    }
    g_autoptr(GFile) src = g_file_new_for_path(vm->host->ovmf_vars);
    g_autoptr(GFile) dst = g_file_new_for_path(path);
    if (!g_file_copy(src, dst, G_FILE_COPY_NONE, NULL, NULL, NULL, error))
        return NULL;
    return path;
}

static gboolean
make_run_dir(Vm *vm, GError **error)
{
    if (g_mkdir_with_parents(vm->run_dir, 0700) != 0) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "cannot create %s: %s", vm->run_dir,
                    g_strerror(errno));
        return FALSE;
    }
    g_autofree char *qmp = vm_launch_qmp_socket(vm);
    g_autofree char *agent = vm_launch_agent_socket(vm);
    unlink(qmp);
    unlink(agent);
    if (strlen(qmp) >= 100) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR,
                    "the host's state folder path is too long for unix sockets (%s); "
                    "choose a shorter state_dir", qmp);
        return FALSE;
    }
    return TRUE;
}

static gboolean
build(VmLaunch *l, gboolean resume, GError **error)
{
    Vm *vm = l->vm;
    QemuLaunch q = { 0 };
    q.accel = vm->host->accel;
    if (!host_evc_launch_model(vm, resume, vm->host->config->cpu_model, &q.cpu_model,
                               &q.cpu_enforce, error))
        return FALSE;
    q.qmp_socket = keep(l, vm_launch_qmp_socket(vm));
    q.agent_socket = keep(l, vm_launch_agent_socket(vm));
    q.pid_file = keep(l, vm_launch_pid_file(vm));
    q.drives = l->drives;
    q.netdevs = l->netdevs;
    q.incoming_defer = resume;
    /* A vMotion destination: resumed by vireo-hostd when the copy completed
     * (vm-migrate-journal.c), never by QEMU on its own. */
    q.start_paused = resume && vm->migration && !vm->migration_source;
    if (vm->config->firmware == VM_FIRMWARE_EFI) {
        q.bios_code = vm->host->ovmf_code;
        if (!(q.nvram_path = prepare_nvram(l, error)))
            return FALSE;
    }
    if (vm->config->customization) {
        char *path = g_build_filename(vm->run_dir, "customization.json", NULL);
        keep(l, path);
        if (!g_file_set_contents(path, vm->config->customization, -1, error))
            return FALSE;
        q.customization_file = path;
    }
    l->argv = qemu_argv_build(vm->config, &q, error);
    if (l->argv && vm->host->config->qemu_binary) {
        g_free(l->argv[0]);
        l->argv[0] = g_strdup(vm->host->config->qemu_binary);
    }
    return l->argv != NULL;
}

VmLaunch *
vm_launch_prepare(Vm *vm, gboolean resume, GError **error)
{
    g_autoptr(VmLaunch) l = g_new0(VmLaunch, 1);
    l->vm = vm;
    l->strings = g_ptr_array_new_with_free_func(g_free);
    l->drives = g_ptr_array_new_with_free_func(g_free);
    l->netdevs = g_ptr_array_new_with_free_func(g_free);
    l->taps = g_ptr_array_new_with_free_func(g_free);
    if (!make_run_dir(vm, error) || !add_drives(l, error))
        return NULL;
    if (!add_netdevs(l, error) || !build(l, resume, error))
        goto undo_taps;
    return g_steal_pointer(&l);

undo_taps:
    for (guint i = 0; i < l->taps->len; i++)
        net_tap_delete(g_ptr_array_index(l->taps, i));
    return NULL;
}

const char *const *
vm_launch_argv(VmLaunch *l)
{
    return (const char *const *)l->argv;
}

void
vm_launch_cleanup(Vm *vm)
{
    for (guint i = 0; i < vm->config->nics->len; i++) {
        const VmNic *nic = g_ptr_array_index(vm->config->nics, i);
        g_autofree char *tap = net_tap_name(vm->host->config->host_name, vm->id, nic->index);
        net_tap_delete(tap);
    }
    const char *files[] = { "qmp.sock", "agent.sock", "qemu.pid", "customization.json", NULL };
    for (int i = 0; files[i]; i++) {
        g_autofree char *p = g_build_filename(vm->run_dir, files[i], NULL);
        unlink(p);
    }
    rmdir(vm->run_dir);
}
