/* qemu-argv.c — VmConfig + QemuLaunch → QEMU 7.2 command line, as a pure function.
 *
 * Owns the VMware → QEMU device mapping, the device ids and block node names
 * (derived only from device positions, so both sides of a migration agree),
 * and the check that a configuration is one QEMU can run. Devices, block
 * nodes and netdevs are JSON; every other user value is escaped.
 */
#include "qemu-argv.h"
#include "vireo-error.h"

#include <json-glib/json-glib.h>
#include <string.h>

#define QEMU_BINARY "qemu-system-x86_64"
#define TCG_TB_SIZE_DEFAULT_MIB 256
#define AHCI_PORTS 6          /* ich9-ahci and the q35 board's AHCI */
#define MPTSAS_TARGETS 8      /* mptsas1068 answers targets 0-7 only */
#define NVME_NAMESPACES 15    /* VMware's nvmeN:0-14 */

/* A disk or CD-ROM position with what the host resolved for it. */
typedef struct {
    VmBus bus;
    int controller;
    int unit;
    const VmCdrom *cdrom;     /* NULL for a disk */
    const QemuDrive *drive;   /* NULL: an empty CD-ROM drive */
    int bootindex;
    char *id;                 /* "scsi0-1": device id; nodes are file-<id>, drive-<id> */
} StorageSlot;

static void
storage_slot_free(StorageSlot *slot)
{
    g_free(slot->id);
    g_free(slot);
}

/* QEMU ids must never change with a table elsewhere: they are part of the
 * migration stream, so this prefix table is ours and frozen. */
static const char *
bus_id_prefix(VmBus bus)
{
    switch (bus) {
    case VM_BUS_IDE: return "ide";
    case VM_BUS_SCSI: return "scsi";
    case VM_BUS_SATA: return "sata";
    case VM_BUS_NVME: return "nvme";
    case VM_BUS_VIRTIO: return "virtio";
    }
    return "unknown";
}

static char *
position_name(VmBus bus, int controller, int unit)
{
    return g_strdup_printf("%s%d:%d", bus_id_prefix(bus), controller, unit);
}

static gboolean
invalid(GError **error, const char *format, ...) G_GNUC_PRINTF(2, 3);

static gboolean
invalid(GError **error, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    g_autofree char *message = g_strdup_vprintf(format, args);
    va_end(args);
    g_set_error_literal(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT, message);
    return FALSE;
}

char *
qemu_argv_escape(const char *value)
{
    g_return_val_if_fail(value != NULL, NULL);
    GString *out = g_string_sized_new(strlen(value) + 8);
    for (const char *p = value; *p != '\0'; p++) {
        if (*p == ',')
            g_string_append_c(out, ',');
        g_string_append_c(out, *p);
    }
    return g_string_free(out, FALSE);
}

const char *
qemu_accel_to_string(QemuAccel accel)
{
    switch (accel) {
    case QEMU_ACCEL_TCG: return "TCG";
    case QEMU_ACCEL_KVM: return "KVM";
    }
    return NULL;
}

/* ---- substitutions ------------------------------------------------------ */

static gboolean
scsi_type_is_substituted(VmScsiType type)
{
    return type == VM_SCSI_LSILOGIC || type == VM_SCSI_BUSLOGIC;
}

static gboolean
ide_controller_used(const VmConfig *config, int controller)
{
    for (guint i = 0; config->disks != NULL && i < config->disks->len; i++) {
        const VmDisk *d = g_ptr_array_index(config->disks, i);
        if (d->bus == VM_BUS_IDE && d->controller == controller)
            return TRUE;
    }
    for (guint i = 0; config->cdroms != NULL && i < config->cdroms->len; i++) {
        const VmCdrom *c = g_ptr_array_index(config->cdroms, i);
        if (c->bus == VM_BUS_IDE && c->controller == controller)
            return TRUE;
    }
    return FALSE;
}

GPtrArray *
qemu_argv_substitutions(const VmConfig *config)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; config->scsi_adapters != NULL && i < config->scsi_adapters->len; i++) {
        const VmScsiAdapter *a = g_ptr_array_index(config->scsi_adapters, i);
        if (!scsi_type_is_substituted(a->type))
            continue;
        const char *name = a->type == VM_SCSI_LSILOGIC ? "LSILOGIC" : "BUSLOGIC";
        g_ptr_array_add(out, g_strdup_printf("scsi%d: %s has no QEMU model; runs as "
                                             "LSILOGICSAS (mptsas1068)", a->index, name));
    }
    for (guint i = 0; config->nics != NULL && i < config->nics->len; i++) {
        const VmNic *n = g_ptr_array_index(config->nics, i);
        if (n->type == VM_NIC_VMXNET2)
            g_ptr_array_add(out, g_strdup_printf("ethernet%d: VMXNET2 has no QEMU model; "
                                                 "runs as VMXNET3 (vmxnet3)", n->index));
    }
    for (int c = 0; c < 2; c++) {
        if (ide_controller_used(config, c))
            g_ptr_array_add(out, g_strdup_printf("ide%d: the q35 machine has no IDE (PATA) "
                                                 "controller; ide%d:0-1 run on the board's "
                                                 "AHCI (SATA) controller, ports %d-%d",
                                                 c, c, 2 * c, 2 * c + 1));
    }
    return out;
}

/* ---- argv helpers ------------------------------------------------------- */

static void
argv_add(GPtrArray *argv, const char *option, char *value_owned)
{
    g_ptr_array_add(argv, g_strdup(option));
    if (value_owned != NULL)
        g_ptr_array_add(argv, value_owned);
}

static JsonBuilder *
json_object_begin(const char *key, const char *value)
{
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, key);
    json_builder_add_string_value(b, value);
    return b;
}

static void
json_set_string(JsonBuilder *b, const char *key, const char *value)
{
    json_builder_set_member_name(b, key);
    json_builder_add_string_value(b, value);
}

static void
json_set_int(JsonBuilder *b, const char *key, gint64 value)
{
    json_builder_set_member_name(b, key);
    json_builder_add_int_value(b, value);
}

static void
json_set_bool(JsonBuilder *b, const char *key, gboolean value)
{
    json_builder_set_member_name(b, key);
    json_builder_add_boolean_value(b, value);
}

/* Ends the object and appends "option <json>"; takes the builder. */
static void
argv_add_json(GPtrArray *argv, const char *option, JsonBuilder *b_owned)
{
    g_autoptr(JsonBuilder) b = b_owned;
    json_builder_end_object(b);
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    g_autoptr(JsonGenerator) gen = json_generator_new();
    json_generator_set_root(gen, root);
    argv_add(argv, option, json_generator_to_data(gen, NULL));
}

/* A file node and a format node on top of it, as QEMU wants for -blockdev. */
static void
argv_add_blockdev(GPtrArray *argv, const char *file_driver, const char *filename,
                  const char *format, const char *file_node, const char *node,
                  gboolean read_only)
{
    JsonBuilder *f = json_object_begin("driver", file_driver);
    json_set_string(f, "filename", filename);
    json_set_string(f, "node-name", file_node);
    json_set_bool(f, "read-only", read_only);
    json_set_string(f, "discard", "unmap");
    argv_add_json(argv, "-blockdev", f);

    JsonBuilder *d = json_object_begin("driver", format);
    json_set_string(d, "file", file_node);
    json_set_string(d, "node-name", node);
    json_set_bool(d, "read-only", read_only);
    json_set_string(d, "discard", "unmap");
    argv_add_json(argv, "-blockdev", d);
}

/* ---- machine, CPU, memory, firmware ------------------------------------- */

static gboolean
uuid_is_canonical(const char *uuid)
{
    if (strlen(uuid) != 36)
        return FALSE;
    for (int i = 0; i < 36; i++) {
        gboolean dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? uuid[i] != '-' : !g_ascii_isxdigit(uuid[i]))
            return FALSE;
    }
    return TRUE;
}

static gboolean
check_basics(const VmConfig *config, const QemuLaunch *launch, GError **error)
{
    int cores = config->cores_per_socket > 0 ? config->cores_per_socket : 1;
    if (config->name == NULL)
        return invalid(error, "The VM has no name.");
    if (config->cpu_count < 1 || config->cpu_count > 255)
        return invalid(error, "The VM has %d virtual CPUs; QEMU's q35 machine runs 1 to 255.",
                       config->cpu_count);
    if (config->cpu_count % cores != 0)
        return invalid(error, "%d virtual CPUs cannot be split into sockets of %d cores; "
                       "choose a cores-per-socket value that divides the CPU count.",
                       config->cpu_count, cores);
    if (config->memory_mib < 1)
        return invalid(error, "The VM has %" G_GINT64_FORMAT " MiB of memory; give it at "
                       "least 1 MiB.", config->memory_mib);
    if (config->uuid_bios != NULL && !uuid_is_canonical(config->uuid_bios))
        return invalid(error, "The BIOS UUID \"%s\" is not in the form "
                       "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx.", config->uuid_bios);
    if (launch->qmp_socket == NULL || launch->pid_file == NULL)
        return invalid(error, "Internal: the QMP socket and PID file paths are required.");
    if (config->firmware == VM_FIRMWARE_EFI &&
        (launch->bios_code == NULL || launch->nvram_path == NULL))
        return invalid(error, "The VM uses EFI firmware but this host gave no OVMF code "
                       "or NVRAM file; install OVMF (Debian package ovmf).");
    return TRUE;
}

static void
argv_add_machine(GPtrArray *argv, const VmConfig *config, const QemuLaunch *launch)
{
    gboolean efi = config->firmware == VM_FIRMWARE_EFI;
    GString *machine = g_string_new("q35,vmport=on");
    if (efi && config->efi_secure_boot)
        g_string_append(machine, ",smm=on");
    if (efi)
        g_string_append(machine, ",pflash0=ovmf-code,pflash1=ovmf-vars");
    argv_add(argv, "-machine", g_string_free(machine, FALSE));

    if (launch->accel == QEMU_ACCEL_KVM) {
        argv_add(argv, "-accel", g_strdup("kvm"));
    } else {
        guint tb = launch->tcg_tb_size_mib ? launch->tcg_tb_size_mib : TCG_TB_SIZE_DEFAULT_MIB;
        argv_add(argv, "-accel", g_strdup_printf("tcg,tb-size=%u", tb));
    }
    const char *cpu = launch->cpu_model;
    if (cpu == NULL)
        cpu = launch->accel == QEMU_ACCEL_KVM ? "host" : "qemu64";
    char *cpu_value = qemu_argv_escape(cpu);
    if (launch->cpu_enforce) {
        char *enforced = g_strconcat(cpu_value, ",enforce", NULL);
        g_free(cpu_value);
        cpu_value = enforced;
    }
    argv_add(argv, "-cpu", cpu_value);

    int cores = config->cores_per_socket > 0 ? config->cores_per_socket : 1;
    argv_add(argv, "-smp", g_strdup_printf("%d,sockets=%d,cores=%d,threads=1",
                                           config->cpu_count, config->cpu_count / cores, cores));
    /* Under TCG, QEMU before 9.0 loses guest writes during a live migration
     * when the RAM's size is a multiple of 256 KiB (its 64-pages-at-a-time
     * dirty sync does not re-arm the TCG TLB's dirty tracking; fixed
     * upstream by "physmem: Fix migration dirty bitmap coherency with TCG
     * memory access"). 4 KiB more sends it down the page-by-page path,
     * which does (bench/README.md, "Pages lost after the move"). */
    if (launch->accel == QEMU_ACCEL_KVM)
        argv_add(argv, "-m", g_strdup_printf("%" G_GINT64_FORMAT, config->memory_mib));
    else
        argv_add(argv, "-m", g_strdup_printf("%" G_GINT64_FORMAT "k", config->memory_mib * 1024 + 4));
    if (efi) {
        argv_add_blockdev(argv, "file", launch->bios_code, "raw", "file-ovmf-code", "ovmf-code",
                          TRUE);
        argv_add_blockdev(argv, "file", launch->nvram_path, "raw", "file-ovmf-vars", "ovmf-vars",
                          FALSE);
        /* Secure boot only holds if the guest cannot write the flash outside SMM. */
        if (config->efi_secure_boot)
            argv_add(argv, "-global", g_strdup("driver=cfi.pflash01,property=secure,value=on"));
    }
}

static void
argv_add_control(GPtrArray *argv, const QemuLaunch *launch)
{
    g_autofree char *qmp = qemu_argv_escape(launch->qmp_socket);
    argv_add(argv, "-chardev", g_strdup_printf("socket,id=qmp,path=%s,server=on,wait=off", qmp));
    argv_add(argv, "-mon", g_strdup("chardev=qmp,mode=control"));
    argv_add(argv, "-pidfile", g_strdup(launch->pid_file));
    argv_add(argv, "-display", g_strdup("none"));
    if (launch->vnc_socket != NULL) {
        g_autofree char *vnc = qemu_argv_escape(launch->vnc_socket);
        argv_add(argv, "-vnc", g_strdup_printf("unix:%s", vnc));
    }
    argv_add(argv, "-vga", g_strdup("none"));
    JsonBuilder *svga = json_object_begin("driver", "vmware-svga");
    json_set_string(svga, "id", "video0");
    argv_add_json(argv, "-device", svga);
    if (launch->serial_log != NULL) {
        g_autofree char *log = qemu_argv_escape(launch->serial_log);
        argv_add(argv, "-chardev", g_strdup_printf("file,id=serial0,path=%s", log));
        argv_add(argv, "-serial", g_strdup("chardev:serial0"));
    }
}

/* ---- storage: collect and check ----------------------------------------- */

static gboolean
find_drive(const QemuLaunch *launch, VmBus bus, int controller, int unit,
           const QemuDrive **out, GError **error)
{
    *out = NULL;
    for (guint i = 0; launch->drives != NULL && i < launch->drives->len; i++) {
        const QemuDrive *d = g_ptr_array_index(launch->drives, i);
        if (d->bus != bus || d->controller != controller || d->unit != unit)
            continue;
        if (*out != NULL) {
            g_autofree char *pos = position_name(bus, controller, unit);
            return invalid(error, "Internal: two host drives were resolved for %s.", pos);
        }
        *out = d;
    }
    return TRUE;
}

static gboolean
check_position(const VmConfig *config, const StorageSlot *s, const char *pos, GError **error)
{
    if (s->controller < 0 || s->unit < 0)
        return invalid(error, "%s is not a valid device position.", pos);
    switch (s->bus) {
    case VM_BUS_IDE:
        if (s->controller > 1 || s->unit > 1)
            return invalid(error, "%s: IDE has controllers 0-1 with units 0-1.", pos);
        return TRUE;
    case VM_BUS_SCSI: {
        VmScsiAdapter *a = vm_config_find_scsi(config, s->controller);
        if (a == NULL)
            return invalid(error, "%s: there is no SCSI controller scsi%d; add one or move "
                           "the device.", pos, s->controller);
        if (a->type != VM_SCSI_PVSCSI && a->type != VM_SCSI_VIRTIO && s->unit >= MPTSAS_TARGETS)
            return invalid(error, "%s: QEMU's LSI Logic SAS controller (mptsas1068) has "
                           "units 0-7 only; move the device below unit 8 or change the "
                           "controller to PVSCSI.", pos);
        if (s->unit > 15)
            return invalid(error, "%s: SCSI units are 0-15.", pos);
        return TRUE;
    }
    case VM_BUS_SATA:
        if (s->controller >= config->sata_adapters || s->controller > 3)
            return invalid(error, "%s: there is no SATA controller sata%d; add one or move "
                           "the device.", pos, s->controller);
        if (s->unit >= AHCI_PORTS)
            return invalid(error, "%s: QEMU's AHCI controller (ich9-ahci) has 6 ports, "
                           "units 0-5; move the device to a free unit below 6 or to "
                           "another SATA controller.", pos);
        return TRUE;
    case VM_BUS_NVME:
        if (s->controller >= config->nvme_adapters || s->controller > 3)
            return invalid(error, "%s: there is no NVMe controller nvme%d; add one or move "
                           "the disk.", pos, s->controller);
        if (s->cdrom != NULL)
            return invalid(error, "%s: a CD-ROM cannot sit on an NVMe controller.", pos);
        if (s->unit >= NVME_NAMESPACES)
            return invalid(error, "%s: NVMe units are 0-14.", pos);
        return TRUE;
    case VM_BUS_VIRTIO:
        if (s->cdrom != NULL)
            return invalid(error, "%s: a CD-ROM cannot be a virtio disk; use SATA or SCSI.",
                           pos);
        return TRUE;
    }
    return invalid(error, "%s: unknown bus.", pos);
}

static gboolean
check_drive(const StorageSlot *s, const char *pos, GError **error)
{
    const QemuDrive *d = s->drive;
    if (d == NULL)
        return s->cdrom != NULL ? TRUE
                                : invalid(error, "Internal: disk %s has no resolved file.", pos);
    if (d->is_cdrom != (s->cdrom != NULL))
        return invalid(error, "Internal: the host resolved %s as a %s but the VM has a %s "
                       "there.", pos, d->is_cdrom ? "CD-ROM" : "disk",
                       s->cdrom != NULL ? "CD-ROM" : "disk");
    if (d->path == NULL)
        return s->cdrom != NULL ? TRUE
                                : invalid(error, "Internal: disk %s has no resolved file.", pos);
    if (!g_utf8_validate(d->path, -1, NULL))
        return invalid(error, "%s: the file path is not valid UTF-8; rename the file.", pos);
    if (g_strcmp0(d->format, "raw") != 0 && g_strcmp0(d->format, "qcow2") != 0 &&
        g_strcmp0(d->format, "vmdk") != 0)
        return invalid(error, "%s: disk format \"%s\" is not one of raw, qcow2, vmdk.", pos,
                       d->format != NULL ? d->format : "(none)");
    return TRUE;
}

static void
slot_add(GPtrArray *slots, VmBus bus, int controller, int unit, const VmCdrom *cdrom)
{
    StorageSlot *s = g_new0(StorageSlot, 1);
    s->bus = bus;
    s->controller = controller;
    s->unit = unit;
    s->cdrom = cdrom;
    s->id = g_strdup_printf("%s%d-%d", bus_id_prefix(bus), controller, unit);
    g_ptr_array_add(slots, s);
}

static gboolean
slot_resolve(StorageSlot *s, const VmConfig *config, const QemuLaunch *launch, GError **error)
{
    g_autofree char *pos = position_name(s->bus, s->controller, s->unit);
    return find_drive(launch, s->bus, s->controller, s->unit, &s->drive, error) &&
           check_position(config, s, pos, error) && check_drive(s, pos, error);
}

static int
slot_cmp_position(gconstpointer a, gconstpointer b)
{
    const StorageSlot *x = *(StorageSlot *const *)a, *y = *(StorageSlot *const *)b;
    if (x->bus != y->bus)
        return (int)x->bus - (int)y->bus;
    if (x->controller != y->controller)
        return x->controller - y->controller;
    return x->unit - y->unit;
}

/* Every host drive must belong to a device: a stray one means the host and
 * the configuration disagree, and silently dropping a disk would hide it. */
static gboolean
check_no_stray_drive(const QemuLaunch *launch, GPtrArray *slots, GError **error)
{
    for (guint i = 0; launch->drives != NULL && i < launch->drives->len; i++) {
        const QemuDrive *d = g_ptr_array_index(launch->drives, i);
        gboolean found = FALSE;
        for (guint j = 0; j < slots->len && !found; j++) {
            const StorageSlot *s = g_ptr_array_index(slots, j);
            found = s->drive == d;
        }
        if (!found) {
            g_autofree char *pos = position_name(d->bus, d->controller, d->unit);
            return invalid(error, "Internal: the host resolved a drive for %s but the VM has "
                           "no device there.", pos);
        }
    }
    return TRUE;
}

/* Disks boot before CD-ROMs, each in position order (bus enum order: IDE,
 * SCSI, SATA, NVMe, virtio; then controller, unit). */
static void
assign_bootindex(GPtrArray *slots)
{
    int next = 1;
    for (int pass = 0; pass < 2; pass++) {
        for (guint i = 0; i < slots->len; i++) {
            StorageSlot *s = g_ptr_array_index(slots, i);
            if ((s->cdrom != NULL) == (pass == 1))
                s->bootindex = next++;
        }
    }
}

static GPtrArray *
storage_collect(const VmConfig *config, const QemuLaunch *launch, GError **error)
{
    g_autoptr(GPtrArray) slots = g_ptr_array_new_with_free_func((GDestroyNotify)storage_slot_free);
    for (guint i = 0; config->disks != NULL && i < config->disks->len; i++) {
        const VmDisk *d = g_ptr_array_index(config->disks, i);
        slot_add(slots, d->bus, d->controller, d->unit, NULL);
    }
    for (guint i = 0; config->cdroms != NULL && i < config->cdroms->len; i++) {
        const VmCdrom *c = g_ptr_array_index(config->cdroms, i);
        slot_add(slots, c->bus, c->controller, c->unit, c);
    }
    g_ptr_array_sort(slots, slot_cmp_position);
    for (guint i = 0; i < slots->len; i++) {
        StorageSlot *s = g_ptr_array_index(slots, i);
        if (i > 0 && slot_cmp_position(&slots->pdata[i - 1], &slots->pdata[i]) == 0) {
            g_autofree char *pos = position_name(s->bus, s->controller, s->unit);
            invalid(error, "%s holds two devices; move one of them.", pos);
            return NULL;
        }
        if (!slot_resolve(s, config, launch, error))
            return NULL;
    }
    if (!check_no_stray_drive(launch, slots, error))
        return NULL;
    assign_bootindex(slots);
    return g_steal_pointer(&slots);
}

/* ---- storage: emit ------------------------------------------------------- */

static const char *
scsi_qemu_driver(VmScsiType type)
{
    switch (type) {
    case VM_SCSI_PVSCSI: return "pvscsi";
    case VM_SCSI_VIRTIO: return "virtio-scsi-pci";
    case VM_SCSI_LSILOGICSAS:
    case VM_SCSI_LSILOGIC:
    case VM_SCSI_BUSLOGIC: return "mptsas1068";
    }
    return "mptsas1068";
}

static void
argv_add_controllers(GPtrArray *argv, const VmConfig *config)
{
    for (guint i = 0; config->scsi_adapters != NULL && i < config->scsi_adapters->len; i++) {
        const VmScsiAdapter *a = g_ptr_array_index(config->scsi_adapters, i);
        JsonBuilder *b = json_object_begin("driver", scsi_qemu_driver(a->type));
        g_autofree char *id = g_strdup_printf("scsi%d", a->index);
        json_set_string(b, "id", id);
        argv_add_json(argv, "-device", b);
    }
    for (int c = 0; c < config->sata_adapters; c++) {
        JsonBuilder *b = json_object_begin("driver", "ich9-ahci");
        g_autofree char *id = g_strdup_printf("sata%d", c);
        json_set_string(b, "id", id);
        argv_add_json(argv, "-device", b);
    }
    for (int c = 0; c < config->nvme_adapters; c++) {
        JsonBuilder *b = json_object_begin("driver", "nvme");
        g_autofree char *id = g_strdup_printf("nvme%d", c);
        g_autofree char *serial = g_strdup_printf("VIREONVME%d", c);
        json_set_string(b, "id", id);
        json_set_string(b, "serial", serial);
        argv_add_json(argv, "-device", b);
    }
}

/* The device JSON for a slot: driver and bus per the bus type. */
static JsonBuilder *
slot_device_begin(const StorageSlot *s)
{
    gboolean cd = s->cdrom != NULL;
    JsonBuilder *b = NULL;
    g_autofree char *bus = NULL;
    switch (s->bus) {
    case VM_BUS_SCSI:
        b = json_object_begin("driver", cd ? "scsi-cd" : "scsi-hd");
        bus = g_strdup_printf("scsi%d.0", s->controller);
        json_set_string(b, "bus", bus);
        json_set_int(b, "scsi-id", s->unit);
        json_set_int(b, "lun", 0);
        return b;
    case VM_BUS_SATA:
    case VM_BUS_IDE:
        b = json_object_begin("driver", cd ? "ide-cd" : "ide-hd");
        bus = s->bus == VM_BUS_SATA ? g_strdup_printf("sata%d.%d", s->controller, s->unit)
                                    : g_strdup_printf("ide.%d", 2 * s->controller + s->unit);
        json_set_string(b, "bus", bus);
        return b;
    case VM_BUS_NVME:
        b = json_object_begin("driver", "nvme-ns");
        bus = g_strdup_printf("nvme%d", s->controller);
        json_set_string(b, "bus", bus);
        json_set_int(b, "nsid", s->unit + 1);
        return b;
    case VM_BUS_VIRTIO:
        return json_object_begin("driver", "virtio-blk-pci");
    }
    g_assert_not_reached();
    return NULL;
}

static void
argv_add_slot(GPtrArray *argv, const StorageSlot *s)
{
    g_autofree char *file_node = g_strdup_printf("file-%s", s->id);
    g_autofree char *node = g_strdup_printf("drive-%s", s->id);
    gboolean has_media = s->drive != NULL && s->drive->path != NULL;
    if (has_media) {
        gboolean host_cd = s->cdrom != NULL && s->cdrom->backing == VM_CDROM_HOST_DEVICE;
        gboolean read_only = s->drive->read_only || s->cdrom != NULL;
        argv_add_blockdev(argv, host_cd ? "host_cdrom" : "file", s->drive->path,
                          s->drive->format, file_node, node, read_only);
    }
    JsonBuilder *b = slot_device_begin(s);
    if (has_media)
        json_set_string(b, "drive", node);
    json_set_string(b, "id", s->id);
    json_set_int(b, "bootindex", s->bootindex);
    argv_add_json(argv, "-device", b);
}

/* ---- network ------------------------------------------------------------ */

static const char *
nic_qemu_driver(VmNicType type)
{
    switch (type) {
    case VM_NIC_VMXNET3:
    case VM_NIC_VMXNET2: return "vmxnet3";
    case VM_NIC_E1000: return "e1000-82545em";
    case VM_NIC_E1000E: return "e1000e";
    case VM_NIC_PCNET32: return "pcnet";
    case VM_NIC_VIRTIO: return "virtio-net-pci";
    }
    return "vmxnet3";
}

static gboolean
nic_tap(const VmConfig *config, const QemuLaunch *launch, const VmNic *nic,
        const char **tap, GError **error)
{
    *tap = NULL;
    for (guint i = 0; launch->netdevs != NULL && i < launch->netdevs->len; i++) {
        const QemuNetdev *n = g_ptr_array_index(launch->netdevs, i);
        if (nic == NULL && vm_config_find_nic(config, n->index) == NULL)
            return invalid(error, "Internal: the host made a tap for ethernet%d but the VM "
                           "has no such NIC.", n->index);
        if (nic != NULL && n->index == nic->index)
            *tap = n->tap_name;
    }
    return TRUE;
}

static gboolean
argv_add_nics(GPtrArray *argv, const VmConfig *config, const QemuLaunch *launch,
              GError **error)
{
    const char *unused;
    if (!nic_tap(config, launch, NULL, &unused, error))
        return FALSE;
    for (guint i = 0; config->nics != NULL && i < config->nics->len; i++) {
        const VmNic *nic = g_ptr_array_index(config->nics, i);
        const char *tap = NULL;
        if (nic->mac_address == NULL || !vm_mac_is_valid(nic->mac_address))
            return invalid(error, "ethernet%d has no valid MAC address (\"%s\"); set one or "
                           "let Vireo generate it.", nic->index,
                           nic->mac_address != NULL ? nic->mac_address : "");
        nic_tap(config, launch, nic, &tap, NULL);
        /* QEMU silently cuts a long name to 15 bytes: it would open another tap. */
        if (tap != NULL && (tap[0] == '\0' || strlen(tap) > 15 || strpbrk(tap, "/: \t\n") != NULL ||
                            !g_utf8_validate(tap, -1, NULL)))
            return invalid(error, "Internal: \"%s\" (ethernet%d) is not a usable tap name.", tap,
                           nic->index);
        g_autofree char *netdev = g_strdup_printf("net%d", nic->index);
        g_autofree char *id = g_strdup_printf("ethernet%d", nic->index);
        if (tap != NULL) {
            JsonBuilder *n = json_object_begin("type", "tap");
            json_set_string(n, "id", netdev);
            json_set_string(n, "ifname", tap);
            json_set_string(n, "script", "no");
            json_set_string(n, "downscript", "no");
            argv_add_json(argv, "-netdev", n);
        }
        JsonBuilder *d = json_object_begin("driver", nic_qemu_driver(nic->type));
        json_set_string(d, "id", id);
        if (tap != NULL)
            json_set_string(d, "netdev", netdev);
        json_set_string(d, "mac", nic->mac_address);
        argv_add_json(argv, "-device", d);
    }
    return TRUE;
}

/* ---- guest agent, customization, start mode ---------------------------- */

static void
argv_add_tail(GPtrArray *argv, const QemuLaunch *launch)
{
    if (launch->agent_socket != NULL) {
        g_autofree char *path = qemu_argv_escape(launch->agent_socket);
        JsonBuilder *vs = json_object_begin("driver", "virtio-serial-pci");
        json_set_string(vs, "id", "virtio-serial0");
        argv_add_json(argv, "-device", vs);
        argv_add(argv, "-chardev",
                 g_strdup_printf("socket,id=vireo-tools,path=%s,server=on,wait=off", path));
        JsonBuilder *port = json_object_begin("driver", "virtserialport");
        json_set_string(port, "bus", "virtio-serial0.0");
        json_set_string(port, "chardev", "vireo-tools");
        json_set_string(port, "name", "org.vireo.tools.0");
        json_set_string(port, "id", "vireo-tools0");
        argv_add_json(argv, "-device", port);
    }
    if (launch->customization_file != NULL) {
        g_autofree char *file = qemu_argv_escape(launch->customization_file);
        argv_add(argv, "-fw_cfg",
                 g_strdup_printf("name=opt/org.vireo/customization,file=%s", file));
    }
    if (launch->incoming_defer)
        argv_add(argv, "-incoming", g_strdup("defer"));
    if (launch->start_paused)
        argv_add(argv, "-S", NULL);
}

GStrv
qemu_argv_build(const VmConfig *config, const QemuLaunch *launch, GError **error)
{
    g_return_val_if_fail(config != NULL && launch != NULL, NULL);
    if (!check_basics(config, launch, error))
        return NULL;
    g_autoptr(GPtrArray) slots = storage_collect(config, launch, error);
    if (slots == NULL)
        return NULL;

    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(argv, g_strdup(QEMU_BINARY));
    argv_add(argv, "-nodefaults", NULL);
    argv_add(argv, "-no-user-config", NULL);
    g_autofree char *name = qemu_argv_escape(config->name);
    argv_add(argv, "-name", g_strdup_printf("guest=%s", name));
    if (config->uuid_bios != NULL)
        argv_add(argv, "-uuid", g_strdup(config->uuid_bios));
    argv_add(argv, "-msg", g_strdup("timestamp=on"));
    argv_add_machine(argv, config, launch);
    argv_add_control(argv, launch);
    argv_add_controllers(argv, config);
    for (guint i = 0; i < slots->len; i++)
        argv_add_slot(argv, g_ptr_array_index(slots, i));
    if (!argv_add_nics(argv, config, launch, error))
        return NULL;
    argv_add_tail(argv, launch);

    g_ptr_array_set_free_func(argv, NULL);
    g_ptr_array_add(argv, NULL);
    return (GStrv)g_ptr_array_free(g_steal_pointer(&argv), FALSE);
}
