/* test-qemu-argv.c — golden files for VmConfig → QEMU argv, the builder's
 * refusals and substitutions, and proof that the goldens are real: each case
 * is also started in qemu-system-x86_64 (paused, -S) and asked over QMP.
 *
 * tests/golden/<case>.args holds one argv element per line; a backslash and
 * a newline inside an element are written "\\" and "\n". Regenerate with
 * VIREO_REGENERATE_GOLDEN=1 and review the diff.
 */
#include "qemu-argv.h"
#include "vireo-error.h"

#include <gio/gio.h>
#include <signal.h>
#include <sys/prctl.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <unistd.h>

#define HOSTILE_NAME "-web,01=x\"y\nz,,"
#define OVMF_CODE "/usr/share/OVMF/OVMF_CODE_4M.fd"
#define OVMF_CODE_SECBOOT "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd"
#define OVMF_VARS "/usr/share/OVMF/OVMF_VARS_4M.fd"

/* A VmConfig and the QemuLaunch the host would resolve for it. Paths are
 * under `root`: a fixed string for goldens, a temporary folder when QEMU runs. */
typedef struct {
    VmConfig *config;
    QemuLaunch launch;
    char *root;
    GStringChunk *strings;
    gboolean no_taps;         /* QEMU will run where it cannot make taps */
} Fixture;

static const char *
fx_path(Fixture *f, const char *file)
{
    g_autofree char *p = g_build_filename(f->root, file, NULL);
    return g_string_chunk_insert(f->strings, p);
}

static Fixture *
fixture_new(const char *root, gboolean no_taps)
{
    Fixture *f = g_new0(Fixture, 1);
    f->root = g_strdup(root);
    f->no_taps = no_taps;
    f->strings = g_string_chunk_new(256);
    f->config = vm_config_new();
    f->config->name = g_strdup("web-01");
    f->config->cpu_count = 2;
    f->config->cores_per_socket = 1;
    f->config->memory_mib = 256;
    f->launch.accel = QEMU_ACCEL_TCG;
    f->launch.qmp_socket = fx_path(f, "qmp.sock");
    f->launch.agent_socket = fx_path(f, "tools.sock");
    f->launch.pid_file = fx_path(f, "qemu.pid");
    f->launch.drives = g_ptr_array_new_with_free_func(g_free);
    f->launch.netdevs = g_ptr_array_new_with_free_func(g_free);
    return f;
}

static void
fixture_free(Fixture *f)
{
    vm_config_free(f->config);
    g_ptr_array_unref(f->launch.drives);
    g_ptr_array_unref(f->launch.netdevs);
    g_string_chunk_free(f->strings);
    g_free(f->root);
    g_free(f);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Fixture, fixture_free)

static void
fx_scsi(Fixture *f, int index, VmScsiType type)
{
    VmScsiAdapter *a = g_new0(VmScsiAdapter, 1);
    a->index = index;
    a->type = type;
    g_ptr_array_add(f->config->scsi_adapters, a);
}

static QemuDrive *
fx_disk(Fixture *f, VmBus bus, int controller, int unit, const char *file, const char *format)
{
    g_ptr_array_add(f->config->disks, vm_disk_new(bus, controller, unit, file));
    QemuDrive *d = g_new0(QemuDrive, 1);
    *d = (QemuDrive){ bus, controller, unit, fx_path(f, file), format, FALSE, FALSE };
    g_ptr_array_add(f->launch.drives, d);
    return d;
}

/* iso NULL: an empty drive (nothing inserted, no QemuDrive). */
static void
fx_cdrom(Fixture *f, VmBus bus, int controller, int unit, const char *iso)
{
    VmCdrom *c = vm_cdrom_new(bus, controller, unit);
    g_ptr_array_add(f->config->cdroms, c);
    if (iso == NULL)
        return;
    c->backing = VM_CDROM_ISO_FILE;
    c->file_name = g_strdup(iso);
    QemuDrive *d = g_new0(QemuDrive, 1);
    *d = (QemuDrive){ bus, controller, unit, fx_path(f, iso), "raw", TRUE, TRUE };
    g_ptr_array_add(f->launch.drives, d);
}

/* tap NULL: a NIC that is not connected. */
static void
fx_nic(Fixture *f, int index, VmNicType type, const char *mac, const char *tap)
{
    VmNic *n = vm_nic_new(index, type, "VM Network");
    n->mac_address = g_strdup(mac);
    g_ptr_array_add(f->config->nics, n);
    QemuNetdev *nd = g_new0(QemuNetdev, 1);
    nd->index = index;
    nd->tap_name = f->no_taps ? NULL : tap;
    g_ptr_array_add(f->launch.netdevs, nd);
}

/* ---- the cases ------------------------------------------------------------ */

static void
case_pvscsi_vmxnet3(Fixture *f)
{
    g_free(f->config->name);
    f->config->name = g_strdup(HOSTILE_NAME);
    f->config->uuid_bios = g_strdup("564dfd52-65f4-71df-e4c8-668eb127c48b");
    fx_scsi(f, 0, VM_SCSI_PVSCSI);
    fx_disk(f, VM_BUS_SCSI, 0, 0, "web,01-flat.vmdk", "raw");
    fx_disk(f, VM_BUS_SCSI, 0, 1, "web,01_1-flat.vmdk", "raw");
    fx_nic(f, 0, VM_NIC_VMXNET3, "00:50:56:12:34:56", "vnet0");
    f->launch.vnc_socket = fx_path(f, "vnc,console.sock");
    f->launch.serial_log = fx_path(f, "serial,0.log");
    f->launch.customization_file = fx_path(f, "custom,ization.json");
    f->launch.start_paused = TRUE;
}

static void
case_mptsas_e1000e_sata_cdrom(Fixture *f)
{
    f->config->cpu_count = 4;
    f->config->cores_per_socket = 2;
    fx_scsi(f, 0, VM_SCSI_LSILOGICSAS);
    f->config->sata_adapters = 1;
    fx_disk(f, VM_BUS_SCSI, 0, 3, "web-01-flat.vmdk", "raw");
    fx_cdrom(f, VM_BUS_SATA, 0, 0, "debian.iso");
    fx_cdrom(f, VM_BUS_SATA, 0, 5, NULL);
    fx_nic(f, 0, VM_NIC_E1000E, "00:0c:29:aa:bb:cc", NULL);
    fx_nic(f, 1, VM_NIC_E1000, "00:0c:29:aa:bb:cd", "vnet7");
    f->launch.start_paused = TRUE;
}

static void
case_nvme_virtio(Fixture *f)
{
    f->config->nvme_adapters = 2;
    fx_disk(f, VM_BUS_NVME, 0, 0, "web-01.qcow2", "qcow2");
    fx_disk(f, VM_BUS_NVME, 0, 1, "data-flat.vmdk", "raw");
    fx_disk(f, VM_BUS_NVME, 1, 0, "logs-flat.vmdk", "raw");
    fx_disk(f, VM_BUS_VIRTIO, 0, 0, "scratch.qcow2", "qcow2")->read_only = TRUE;
    fx_nic(f, 0, VM_NIC_VIRTIO, "00:50:56:00:00:01", "vnet1");
    f->launch.cpu_model = "Nehalem";
    f->launch.tcg_tb_size_mib = 64;
    f->launch.start_paused = TRUE;
}

static void
case_efi(Fixture *f)
{
    f->config->firmware = VM_FIRMWARE_EFI;
    fx_scsi(f, 0, VM_SCSI_PVSCSI);
    fx_disk(f, VM_BUS_SCSI, 0, 0, "web-01-flat.vmdk", "raw");
    fx_cdrom(f, VM_BUS_SCSI, 0, 2, "installer.iso");
    fx_nic(f, 0, VM_NIC_VMXNET3, "00:50:56:00:00:02", "vnet2");
    f->launch.bios_code = OVMF_CODE;
    f->launch.nvram_path = fx_path(f, "web-01.nvram");
    f->launch.start_paused = TRUE;
}

static void
case_efi_secure_boot(Fixture *f)
{
    case_efi(f);
    f->config->efi_secure_boot = TRUE;
    f->launch.bios_code = OVMF_CODE_SECBOOT;
}

static void
case_substitutions(Fixture *f)
{
    fx_scsi(f, 0, VM_SCSI_LSILOGIC);
    fx_scsi(f, 1, VM_SCSI_BUSLOGIC);
    fx_scsi(f, 2, VM_SCSI_VIRTIO);
    fx_disk(f, VM_BUS_SCSI, 0, 0, "a-flat.vmdk", "raw");
    fx_disk(f, VM_BUS_SCSI, 1, 6, "b-flat.vmdk", "raw");
    fx_disk(f, VM_BUS_SCSI, 2, 15, "c.vmdk", "vmdk");
    fx_disk(f, VM_BUS_IDE, 0, 0, "legacy-flat.vmdk", "raw");
    fx_cdrom(f, VM_BUS_IDE, 1, 1, "tools.iso");
    fx_cdrom(f, VM_BUS_IDE, 1, 0, NULL);
    fx_nic(f, 0, VM_NIC_VMXNET2, "00:50:56:00:00:03", "vnet3");
    fx_nic(f, 2, VM_NIC_PCNET32, "00:50:56:00:00:04", NULL);
    f->launch.start_paused = TRUE;
}

static void
case_incoming_kvm(Fixture *f)
{
    f->config->cpu_count = 8;
    f->config->cores_per_socket = 4;
    f->config->memory_mib = 4096;
    f->config->sata_adapters = 2;
    fx_disk(f, VM_BUS_SATA, 1, 0, "web-01-flat.vmdk", "raw");
    /* The host's own drive: opened with host_cdrom, not as a file. */
    VmCdrom *c = vm_cdrom_new(VM_BUS_SATA, 0, 2);
    c->backing = VM_CDROM_HOST_DEVICE;
    c->file_name = g_strdup("/dev/sr0");
    g_ptr_array_add(f->config->cdroms, c);
    QemuDrive *d = g_new0(QemuDrive, 1);
    *d = (QemuDrive){ VM_BUS_SATA, 0, 2, "/dev/sr0", "raw", TRUE, TRUE };
    g_ptr_array_add(f->launch.drives, d);
    f->launch.accel = QEMU_ACCEL_KVM;
    f->launch.agent_socket = NULL;
    f->launch.incoming_defer = TRUE;
}

/* A VM at an EVC mode: the baseline's versioned model, enforced. */
static void
case_evc_baseline(Fixture *f)
{
    f->config->cpu_count = 2;
    f->config->cores_per_socket = 2;
    fx_disk(f, VM_BUS_SATA, 0, 0, "web-01-flat.vmdk", "raw");
    f->config->sata_adapters = 1;
    fx_nic(f, 0, VM_NIC_VMXNET3, "00:50:56:00:00:05", "vnet5");
    f->launch.cpu_model = "Nehalem-v1";
    f->launch.cpu_enforce = TRUE;
    f->launch.start_paused = TRUE;
}

typedef struct {
    const char *name;
    void (*build)(Fixture *f);
    gboolean live;        /* start it in QEMU (KVM cases cannot run here) */
    const char *ovmf;     /* firmware file a live run needs, or NULL */
} ArgvCase;

static const ArgvCase cases[] = {
    { "pvscsi-vmxnet3", case_pvscsi_vmxnet3, TRUE, NULL },
    { "mptsas-e1000e-sata-cdrom", case_mptsas_e1000e_sata_cdrom, TRUE, NULL },
    { "nvme-virtio", case_nvme_virtio, TRUE, NULL },
    { "efi", case_efi, TRUE, OVMF_CODE },
    { "efi-secure-boot", case_efi_secure_boot, TRUE, OVMF_CODE_SECBOOT },
    { "substitutions", case_substitutions, TRUE, NULL },
    { "incoming-kvm", case_incoming_kvm, FALSE, NULL },
    { "evc-baseline", case_evc_baseline, TRUE, NULL },
};

#define GOLDEN_ROOT "/vmfs/volumes/ds,1/web-01"

static Fixture *
case_fixture(const ArgvCase *c, const char *root, gboolean no_taps)
{
    Fixture *f = fixture_new(root, no_taps);
    c->build(f);
    return f;
}

/* ---- golden files ---------------------------------------------------------- */

static char *
golden_dir(void)
{
    const char *src = g_getenv("VIREO_SOURCE_ROOT");
    g_assert_nonnull(src);
    return g_build_filename(src, "tests", "golden", NULL);
}

static char *
golden_render(GStrv argv)
{
    GString *out = g_string_new(NULL);
    for (char **a = argv; *a != NULL; a++) {
        for (const char *p = *a; *p != '\0'; p++) {
            if (*p == '\\')
                g_string_append(out, "\\\\");
            else if (*p == '\n')
                g_string_append(out, "\\n");
            else
                g_string_append_c(out, *p);
        }
        g_string_append_c(out, '\n');
    }
    return g_string_free(out, FALSE);
}

/* Fails with the differing lines, "-" expected and "+" actual. */
static void
assert_same_lines(const char *file, const char *expected, const char *actual)
{
    if (g_strcmp0(expected, actual) == 0)
        return;
    g_auto(GStrv) e = g_strsplit(expected, "\n", -1);
    g_auto(GStrv) a = g_strsplit(actual, "\n", -1);
    guint ne = g_strv_length(e), na = g_strv_length(a);
    GString *diff = g_string_new(NULL);
    for (guint i = 0; i < MAX(ne, na); i++) {
        const char *x = i < ne ? e[i] : NULL, *y = i < na ? a[i] : NULL;
        if (g_strcmp0(x, y) == 0)
            continue;
        g_string_append_printf(diff, "@@ line %u\n", i + 1);
        if (x != NULL)
            g_string_append_printf(diff, "-%s\n", x);
        if (y != NULL)
            g_string_append_printf(diff, "+%s\n", y);
    }
    g_test_message("%s differs (rerun with VIREO_REGENERATE_GOLDEN=1 to accept):\n%s", file,
                   diff->str);
    g_string_free(diff, TRUE);
    g_test_fail();
}

static void
test_golden(gconstpointer data)
{
    const ArgvCase *c = data;
    g_autoptr(Fixture) f = case_fixture(c, GOLDEN_ROOT, FALSE);
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) argv = qemu_argv_build(f->config, &f->launch, &error);
    g_assert_no_error(error);
    g_assert_nonnull(argv);
    g_autofree char *actual = golden_render(argv);
    g_autofree char *dir = golden_dir();
    g_autofree char *base = g_strconcat(c->name, ".args", NULL);
    g_autofree char *file = g_build_filename(dir, base, NULL);
    if (g_strcmp0(g_getenv("VIREO_REGENERATE_GOLDEN"), "1") == 0) {
        g_assert_true(g_file_set_contents(file, actual, -1, &error));
        g_assert_no_error(error);
        return;
    }
    g_autofree char *expected = NULL;
    if (!g_file_get_contents(file, &expected, NULL, &error)) {
        g_test_message("%s: %s (create it with VIREO_REGENERATE_GOLDEN=1)", file, error->message);
        g_test_fail();
        return;
    }
    assert_same_lines(file, expected, actual);
}

static void
test_golden_unused(void)
{
    g_autofree char *dir = golden_dir();
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    g_assert_nonnull(d);
    const char *name;
    guint seen = 0;
    while ((name = g_dir_read_name(d)) != NULL) {
        if (!g_str_has_suffix(name, ".args"))
            continue;
        gboolean used = FALSE;
        for (guint i = 0; i < G_N_ELEMENTS(cases) && !used; i++) {
            g_autofree char *base = g_strconcat(cases[i].name, ".args", NULL);
            used = strcmp(base, name) == 0;
        }
        if (!used) {
            g_test_message("tests/golden/%s belongs to no case: delete it or add the case", name);
            g_test_fail();
        }
        seen++;
    }
    g_assert_cmpuint(seen, >=, G_N_ELEMENTS(cases));
}

/* ---- no injection ---------------------------------------------------------- */

static void
test_hostile_name_is_one_element(void)
{
    g_autoptr(Fixture) hostile = case_fixture(&cases[0], GOLDEN_ROOT, FALSE);
    g_autoptr(Fixture) plain = case_fixture(&cases[0], "/plain", FALSE);
    g_free(plain->config->name);
    plain->config->name = g_strdup("web01");
    g_auto(GStrv) a = qemu_argv_build(hostile->config, &hostile->launch, NULL);
    g_auto(GStrv) b = qemu_argv_build(plain->config, &plain->launch, NULL);
    g_assert_nonnull(a);
    g_assert_nonnull(b);
    g_assert_cmpuint(g_strv_length(a), ==, g_strv_length(b));
    guint name_hits = 0;
    for (guint i = 0; a[i] != NULL; i++) {
        /* Every option keeps its place: only values may differ. */
        if (b[i][0] == '-')
            g_assert_cmpstr(a[i], ==, b[i]);
        if (strstr(a[i], "=x\"y") != NULL) {
            g_assert_cmpstr(a[i - 1], ==, "-name");
            g_assert_cmpstr(a[i], ==, "guest=-web,,01=x\"y\nz,,,,");
            name_hits++;
        }
    }
    g_assert_cmpuint(name_hits, ==, 1);
    g_assert_true(g_strv_contains((const char *const *)a,
                                  "socket,id=qmp,path=/vmfs/volumes/ds,,1/web-01/qmp.sock,"
                                  "server=on,wait=off"));
}

static void
test_escape(void)
{
    const char *in[] = { "", "plain", ",", "a,b", ",,x,", "nl\n,=" };
    const char *out[] = { "", "plain", ",,", "a,,b", ",,,,x,,", "nl\n,,=" };
    for (guint i = 0; i < G_N_ELEMENTS(in); i++) {
        g_autofree char *e = qemu_argv_escape(in[i]);
        g_assert_cmpstr(e, ==, out[i]);
    }
}

static void
test_substitutions(void)
{
    g_autoptr(Fixture) f = case_fixture(&cases[5], GOLDEN_ROOT, FALSE);
    g_autoptr(GPtrArray) s = qemu_argv_substitutions(f->config);
    g_assert_cmpuint(s->len, ==, 5);
    g_assert_nonnull(strstr(g_ptr_array_index(s, 0), "scsi0: LSILOGIC"));
    g_assert_nonnull(strstr(g_ptr_array_index(s, 1), "scsi1: BUSLOGIC"));
    g_assert_nonnull(strstr(g_ptr_array_index(s, 1), "mptsas1068"));
    g_assert_nonnull(strstr(g_ptr_array_index(s, 2), "ethernet0: VMXNET2"));
    g_assert_nonnull(strstr(g_ptr_array_index(s, 3), "ide0:"));
    g_assert_nonnull(strstr(g_ptr_array_index(s, 4), "ide1:"));
    g_assert_nonnull(strstr(g_ptr_array_index(s, 4), "AHCI"));

    g_autoptr(Fixture) exact = case_fixture(&cases[0], GOLDEN_ROOT, FALSE);
    g_autoptr(GPtrArray) none = qemu_argv_substitutions(exact->config);
    g_assert_cmpuint(none->len, ==, 0);
}

/* ---- refusals ------------------------------------------------------------- */

static void
bad_no_drive(Fixture *f)
{
    g_ptr_array_remove_index(f->launch.drives, 0);
}

static void
bad_sata_unit(Fixture *f)
{
    fx_disk(f, VM_BUS_SATA, 0, 6, "x-flat.vmdk", "raw");
}

static void
bad_no_sata(Fixture *f)
{
    fx_disk(f, VM_BUS_SATA, 1, 0, "x-flat.vmdk", "raw");
}

static void
bad_no_scsi(Fixture *f)
{
    fx_disk(f, VM_BUS_SCSI, 2, 0, "x-flat.vmdk", "raw");
}

static void
bad_mptsas_unit(Fixture *f)
{
    fx_disk(f, VM_BUS_SCSI, 0, 8, "x-flat.vmdk", "raw");
}

static void
bad_nvme_cdrom(Fixture *f)
{
    f->config->nvme_adapters = 1;
    fx_cdrom(f, VM_BUS_NVME, 0, 0, "x.iso");
}

static void
bad_virtio_cdrom(Fixture *f)
{
    fx_cdrom(f, VM_BUS_VIRTIO, 0, 0, NULL);
}

static void
bad_format(Fixture *f)
{
    fx_disk(f, VM_BUS_SATA, 0, 1, "x.vhd", "vpc");
}

static void
bad_efi_no_code(Fixture *f)
{
    f->config->firmware = VM_FIRMWARE_EFI;
}

static void
bad_topology(Fixture *f)
{
    f->config->cpu_count = 3;
    f->config->cores_per_socket = 2;
}

static void
bad_uuid(Fixture *f)
{
    f->config->uuid_bios = g_strdup("56 4d fd 52 65 f4 71 df-e4 c8 66 8e b1 27 c4 8b");
}

static void
bad_stray_drive(Fixture *f)
{
    QemuDrive *d = g_new0(QemuDrive, 1);
    *d = (QemuDrive){ VM_BUS_SCSI, 0, 9, "/x", "raw", FALSE, FALSE };
    g_ptr_array_add(f->launch.drives, d);
}

static void
bad_no_mac(Fixture *f)
{
    VmNic *n = g_ptr_array_index(f->config->nics, 0);
    g_clear_pointer(&n->mac_address, g_free);
}

static void
bad_stray_tap(Fixture *f)
{
    QemuNetdev *nd = g_new0(QemuNetdev, 1);
    nd->index = 5;
    nd->tap_name = "vnet5";
    g_ptr_array_add(f->launch.netdevs, nd);
}

static void
bad_two_at_one_place(Fixture *f)
{
    fx_cdrom(f, VM_BUS_SCSI, 0, 3, NULL);
}

static void
bad_drive_kind(Fixture *f)
{
    QemuDrive *d = g_ptr_array_index(f->launch.drives, 0);
    d->is_cdrom = TRUE;
}

static void
bad_tap_name(Fixture *f)
{
    QemuNetdev *nd = g_ptr_array_index(f->launch.netdevs, 1);
    nd->tap_name = "vnet7-far-too-long";
}

typedef struct {
    const char *name;
    void (*spoil)(Fixture *f);
    const char *message_has;
} BadCase;

/* Each spoils case "mptsas-e1000e-sata-cdrom" (scsi0 = mptsas with scsi0:3,
 * sata0 with sata0:0 ISO and empty sata0:5, ethernet0-1). */
static const BadCase bad_cases[] = {
    { "disk-without-drive", bad_no_drive, "disk scsi0:3 has no resolved file" },
    { "sata-unit-6", bad_sata_unit, "6 ports" },
    { "sata-controller-missing", bad_no_sata, "no SATA controller sata1" },
    { "scsi-controller-missing", bad_no_scsi, "no SCSI controller scsi2" },
    { "mptsas-unit-8", bad_mptsas_unit, "units 0-7" },
    { "nvme-cdrom", bad_nvme_cdrom, "CD-ROM cannot sit on an NVMe" },
    { "virtio-cdrom", bad_virtio_cdrom, "virtio0:0" },
    { "format", bad_format, "\"vpc\"" },
    { "efi-without-ovmf", bad_efi_no_code, "OVMF" },
    { "topology", bad_topology, "cores" },
    { "uuid", bad_uuid, "BIOS UUID" },
    { "stray-drive", bad_stray_drive, "scsi0:9" },
    { "nic-without-mac", bad_no_mac, "ethernet0" },
    { "stray-tap", bad_stray_tap, "ethernet5" },
    { "tap-name-too-long", bad_tap_name, "vnet7-far-too-long" },
    { "two-devices-one-place", bad_two_at_one_place, "scsi0:3 holds two devices" },
    { "drive-kind-mismatch", bad_drive_kind, "CD-ROM" },
};

static void
test_refusal(gconstpointer data)
{
    const BadCase *bad = data;
    g_autoptr(Fixture) f = case_fixture(&cases[1], GOLDEN_ROOT, FALSE);
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) good = qemu_argv_build(f->config, &f->launch, &error);
    g_assert_no_error(error);
    g_assert_nonnull(good);
    bad->spoil(f);
    g_auto(GStrv) argv = qemu_argv_build(f->config, &f->launch, &error);
    g_assert_null(argv);
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT);
    if (strstr(error->message, bad->message_has) == NULL)
        g_error("message \"%s\" lacks \"%s\"", error->message, bad->message_has);
}

/* ---- the goldens are real: QEMU accepts them ------------------------------ */

static void
make_image(const char *format, const char *path, const char *size)
{
    const char *argv[] = { "qemu-img", "create", "-q", "-f", format, path, size, NULL };
    g_autoptr(GError) error = NULL;
    int status = 0;
    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               NULL, NULL, &status, &error));
    g_assert_no_error(error);
    g_assert_true(g_spawn_check_wait_status(status, &error));
    g_assert_no_error(error);
}

static void
copy_file(const char *from, const char *to)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    g_autoptr(GError) error = NULL;
    g_assert_true(g_file_get_contents(from, &data, &len, &error));
    g_assert_true(g_file_set_contents(to, data, len, &error));
    g_assert_no_error(error);
}

/* What the host must have made before QEMU starts: disk files, the NVRAM
 * copy of OVMF's variables, the customization file. */
static void
prepare_files(Fixture *f)
{
    g_assert_cmpint(g_mkdir_with_parents(f->root, 0700), ==, 0);
    for (guint i = 0; i < f->launch.drives->len; i++) {
        const QemuDrive *d = g_ptr_array_index(f->launch.drives, i);
        make_image(d->format, d->path, d->is_cdrom ? "1M" : "16M");
    }
    if (f->launch.nvram_path != NULL)
        copy_file(OVMF_VARS, f->launch.nvram_path);
    if (f->launch.customization_file != NULL)
        g_assert_true(g_file_set_contents(f->launch.customization_file, "{}", -1, NULL));
}

static void
kill_with_parent(gpointer unused)
{
    /* A failed assertion must not leave a paused QEMU behind. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

typedef struct {
    GSocketConnection *conn;
    GDataInputStream *in;
} Qmp;

/* Sends a command and returns its "return" member, skipping events. */
static JsonNode *
qmp_execute(Qmp *q, const char *command)
{
    g_autoptr(GError) error = NULL;
    GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(q->conn));
    g_autofree char *line = g_strdup_printf("{\"execute\":\"%s\"}\n", command);
    g_assert_true(g_output_stream_write_all(out, line, strlen(line), NULL, NULL, &error));
    g_assert_no_error(error);
    for (;;) {
        g_autofree char *reply = g_data_input_stream_read_line(q->in, NULL, NULL, &error);
        g_assert_no_error(error);
        g_assert_nonnull(reply);
        g_autoptr(JsonParser) parser = json_parser_new();
        g_assert_true(json_parser_load_from_data(parser, reply, -1, &error));
        JsonObject *obj = json_node_get_object(json_parser_get_root(parser));
        if (json_object_has_member(obj, "event"))
            continue;
        if (!json_object_has_member(obj, "return"))
            g_error("QMP %s failed: %s", command, reply);
        return json_node_copy(json_object_get_member(obj, "return"));
    }
}

static GSocketConnection *
qmp_connect(GSubprocess *proc, const char *path, const char *log)
{
    g_autoptr(GSocketClient) client = g_socket_client_new();
    g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(path);
    for (int i = 0; i < 600; i++) {
        GSocketConnection *conn = g_socket_client_connect(client, G_SOCKET_CONNECTABLE(addr),
                                                          NULL, NULL);
        if (conn != NULL)
            return conn;
        if (g_subprocess_get_identifier(proc) != NULL) {
            g_usleep(50 * 1000);
            continue;
        }
        g_autofree char *err = NULL;
        g_file_get_contents(log, &err, NULL, NULL);
        g_error("QEMU refused the argv: %s", err != NULL ? err : "(no output)");
    }
    g_error("QEMU did not open its QMP socket %s within 30 s", path);
    return NULL;
}

/* The ids of the argv's JSON -device options. */
static GPtrArray *
argv_device_ids(GStrv argv)
{
    GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 1; argv[i] != NULL; i++) {
        if (strcmp(argv[i - 1], "-device") != 0)
            continue;
        g_autoptr(JsonParser) parser = json_parser_new();
        g_assert_true(json_parser_load_from_data(parser, argv[i], -1, NULL));
        JsonObject *obj = json_node_get_object(json_parser_get_root(parser));
        g_assert_true(json_object_has_member(obj, "id"));
        g_ptr_array_add(ids, g_strdup(json_object_get_string_member(obj, "id")));
    }
    return ids;
}

static void
check_running_qemu(Fixture *f, GStrv argv, GSubprocess *proc, const char *log)
{
    Qmp q = { qmp_connect(proc, f->launch.qmp_socket, log), NULL };
    g_object_set(g_socket_connection_get_socket(q.conn), "timeout", 30, NULL);
    q.in = g_data_input_stream_new(g_io_stream_get_input_stream(G_IO_STREAM(q.conn)));
    g_autofree char *greeting = g_data_input_stream_read_line(q.in, NULL, NULL, NULL);
    g_assert_nonnull(greeting);
    g_assert_nonnull(strstr(greeting, "\"QMP\""));
    json_node_unref(qmp_execute(&q, "qmp_capabilities"));

    g_autoptr(JsonNode) status = qmp_execute(&q, "query-status");
    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(status), "status"), ==,
                    "prelaunch");
    g_autoptr(JsonNode) name = qmp_execute(&q, "query-name");
    g_assert_cmpstr(json_object_get_string_member(json_node_get_object(name), "name"), ==,
                    f->config->name);

    g_autofree char *pid = NULL;
    g_assert_true(g_file_get_contents(f->launch.pid_file, &pid, NULL, NULL));
    g_assert_cmpstr(g_strstrip(pid), ==, g_subprocess_get_identifier(proc));

    g_autoptr(GPtrArray) ids = argv_device_ids(argv);
    g_autofree char *list = g_strdup_printf("{\"execute\":\"qom-list\",\"arguments\":"
                                            "{\"path\":\"/machine/peripheral\"}}\n");
    GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(q.conn));
    g_assert_true(g_output_stream_write_all(out, list, strlen(list), NULL, NULL, NULL));
    g_autofree char *reply = g_data_input_stream_read_line(q.in, NULL, NULL, NULL);
    g_assert_nonnull(reply);
    for (guint i = 0; i < ids->len; i++) {
        g_autofree char *needle = g_strdup_printf("\"name\": \"%s\"",
                                                  (char *)g_ptr_array_index(ids, i));
        if (strstr(reply, needle) == NULL)
            g_error("device %s is not in QEMU's /machine/peripheral: %s",
                    (char *)g_ptr_array_index(ids, i), reply);
    }

    /* The files QEMU was told to make are where the host will look for them. */
    if (f->launch.serial_log != NULL)
        g_assert_true(g_file_test(f->launch.serial_log, G_FILE_TEST_IS_REGULAR));
    if (f->launch.vnc_socket != NULL)
        g_assert_true(g_file_test(f->launch.vnc_socket, G_FILE_TEST_EXISTS));
    if (f->launch.agent_socket != NULL)
        g_assert_true(g_file_test(f->launch.agent_socket, G_FILE_TEST_EXISTS));

    json_node_unref(qmp_execute(&q, "quit"));
    g_autoptr(GError) error = NULL;
    g_assert_true(g_subprocess_wait_check(proc, NULL, &error));
    g_assert_no_error(error);
    g_object_unref(q.in);
    g_object_unref(q.conn);
}

static void
remove_tree(const char *path)
{
    g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
    const char *name;
    while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
        g_autofree char *child = g_build_filename(path, name, NULL);
        if (g_file_test(child, G_FILE_TEST_IS_DIR) && !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
            remove_tree(child);
        else
            g_remove(child);
    }
    g_rmdir(path);
}

static void
test_live(gconstpointer data)
{
    const ArgvCase *c = data;
    g_autofree char *qemu = g_find_program_in_path("qemu-system-x86_64");
    g_autofree char *img = g_find_program_in_path("qemu-img");
    if (qemu == NULL || img == NULL) {
        g_test_skip("qemu-system-x86_64 or qemu-img is not installed");
        return;
    }
    if (c->ovmf != NULL && (!g_file_test(c->ovmf, G_FILE_TEST_EXISTS) ||
                            !g_file_test(OVMF_VARS, G_FILE_TEST_EXISTS))) {
        g_test_skip("OVMF is not installed (apt-get install ovmf)");
        return;
    }
    g_autofree char *tmp = g_dir_make_tmp("vireo-argv-XXXXXX", NULL);
    g_assert_nonnull(tmp);
    /* A comma in every path QEMU sees, as the goldens have. */
    g_autofree char *root = g_build_filename(tmp, "ds,1", NULL);
    /* As root, QEMU runs in a network namespace of its own, where it may
     * create the cases' taps without touching the host; otherwise the NICs
     * go without taps. */
    g_autofree char *unshare = getuid() == 0 ? g_find_program_in_path("unshare") : NULL;
    g_autoptr(Fixture) f = case_fixture(c, root, unshare == NULL);
    prepare_files(f);
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) argv = qemu_argv_build(f->config, &f->launch, &error);
    g_assert_no_error(error);
    g_autoptr(GStrvBuilder) run = g_strv_builder_new();
    if (unshare != NULL) {
        g_strv_builder_add(run, unshare);
        g_strv_builder_add(run, "--net");
    }
    g_strv_builder_addv(run, (const char **)argv);
    g_auto(GStrv) run_argv = g_strv_builder_end(run);

    g_autofree char *log = g_build_filename(tmp, "qemu.log", NULL);
    g_autoptr(GSubprocessLauncher) launcher =
        g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_INHERIT);
    g_subprocess_launcher_set_stderr_file_path(launcher, log);
    g_subprocess_launcher_set_stdout_file_path(launcher, log);
    g_subprocess_launcher_set_child_setup(launcher, kill_with_parent, NULL, NULL);
    g_autoptr(GSubprocess) proc =
        g_subprocess_launcher_spawnv(launcher, (const char *const *)run_argv, &error);
    g_assert_no_error(error);
    check_running_qemu(f, argv, proc, log);
    remove_tree(tmp);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = g_strdup_printf("/qemu-argv/golden/%s", cases[i].name);
        g_test_add_data_func(path, &cases[i], test_golden);
        if (!cases[i].live)
            continue;
        g_autofree char *live = g_strdup_printf("/qemu-argv/qemu-accepts/%s", cases[i].name);
        g_test_add_data_func(live, &cases[i], test_live);
    }
    g_test_add_func("/qemu-argv/golden/no-unused-files", test_golden_unused);
    g_test_add_func("/qemu-argv/hostile-name-is-one-element", test_hostile_name_is_one_element);
    g_test_add_func("/qemu-argv/escape", test_escape);
    g_test_add_func("/qemu-argv/substitutions", test_substitutions);
    for (guint i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
        g_autofree char *path = g_strdup_printf("/qemu-argv/refuses/%s", bad_cases[i].name);
        g_test_add_data_func(path, &bad_cases[i], test_refusal);
    }
    return g_test_run();
}
