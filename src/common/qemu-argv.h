/* qemu-argv.h — the QEMU command line of a VM, as one pure function.
 *
 * qemu_argv_build() takes a VmConfig and everything the host resolved for it
 * (file paths, sockets, tap names, accelerator) and returns the argv, with no
 * I/O. Every value a user controls travels in JSON (-blockdev, -device,
 * -netdev, -object) or is escaped (',' doubled), so no name can add an
 * option. It is tested with golden files (tests/golden/).
 */
#pragma once

#include <glib.h>
#include "vm-config.h"

G_BEGIN_DECLS

typedef enum {
    QEMU_ACCEL_TCG,
    QEMU_ACCEL_KVM,
} QemuAccel;

/* A disk or CD-ROM the host resolved: where its data is and its format. */
typedef struct {
    VmBus bus;
    int controller;
    int unit;
    const char *path;        /* absolute path of the data (the -flat.vmdk, qcow2 delta, ISO) */
    const char *format;      /* "raw" | "qcow2" | "vmdk" */
    gboolean read_only;
    gboolean is_cdrom;       /* CD-ROM: path NULL means an empty drive */
} QemuDrive;

/* A NIC the host resolved: the tap device it created on the port group's bridge. */
typedef struct {
    int index;               /* ethernetN */
    const char *tap_name;    /* NULL: NIC present but not connected (no netdev; link down) */
} QemuNetdev;

typedef struct {
    QemuAccel accel;
    const char *cpu_model;        /* "qemu64", "Nehalem", ... ; NULL = "qemu64" for TCG, "host" for KVM */
    gboolean cpu_enforce;         /* ",enforce": QEMU refuses to start rather than drop a
                                   * feature of the model (an EVC baseline, docs/evc.md) */
    const char *qmp_socket;       /* unix socket QEMU listens on for QMP */
    const char *agent_socket;     /* unix socket for the virtio-serial port org.vireo.tools.0 */
    const char *pid_file;
    const char *bios_code;        /* OVMF code for EFI (read-only), NULL for BIOS */
    const char *nvram_path;       /* per-VM OVMF vars for EFI */
    const char *vnc_socket;       /* unix socket for the console, or NULL for none */
    GPtrArray *drives;            /* QemuDrive* */
    GPtrArray *netdevs;           /* QemuNetdev* */
    gboolean incoming_defer;      /* start with -incoming defer (resume from .vmss, migration) */
    gboolean start_paused;        /* -S */
    const char *customization_file; /* file passed as fw_cfg opt/org.vireo/customization, or NULL */
    const char *serial_log;       /* file that receives the guest's first serial port (COM1), or NULL */
    guint tcg_tb_size_mib;        /* TCG translation cache per VM; 0 = 256 MiB */
} QemuLaunch;

/* What the builder had to change from the .vmx, one human sentence each
 * ("scsi0: LSILOGIC has no QEMU model; runs as LSILOGICSAS (mptsas1068)").
 * Also used by the API to report substitutions. */
GPtrArray *qemu_argv_substitutions(const VmConfig *config);

/* Builds argv (argv[0] = "qemu-system-x86_64"). Fails on a VmConfig it cannot
 * express (a disk with no QemuDrive, a controller index out of range). */
GStrv qemu_argv_build(const VmConfig *config, const QemuLaunch *launch, GError **error);

/* Escapes a value for QEMU's key=value option syntax: ',' becomes ",,". */
char *qemu_argv_escape(const char *value);

const char *qemu_accel_to_string(QemuAccel accel);  /* "TCG" | "KVM" */

G_END_DECLS
