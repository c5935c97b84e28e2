/* vm-config.h — a virtual machine's configuration in vSphere's terms.
 *
 * VmConfig is what a .vmx says, decoded: the parser (vm-config-vmx.c) fills it
 * from a Vmx, the writer merges it back into one (keeping every key Vireo does
 * not model), the API turns it into vSphere JSON, and qemu-argv.c turns it into
 * a QEMU command line. It is plain data: no I/O anywhere in this module.
 *
 * Device identity follows vSphere: a disk or CD-ROM sits at (bus, controller
 * index, unit) — "scsi0:1", "sata0:0", "nvme0:0", "ide1:0" — and a NIC at its
 * ethernetN index. The API's device keys are derived from these (see
 * vm_disk_key()).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Each enum has a string table: _to_string gives the vSphere API name
 * ("POWERED_ON"), _from_string accepts it case-insensitively and returns
 * FALSE for an unknown one. */

typedef enum {
    VM_POWER_STATE_POWERED_OFF,
    VM_POWER_STATE_POWERED_ON,
    VM_POWER_STATE_SUSPENDED,
} VmPowerState;

typedef enum {
    VM_FIRMWARE_BIOS,
    VM_FIRMWARE_EFI,
} VmFirmware;

/* Where a disk or CD-ROM is attached. Also the vmx key prefix. */
typedef enum {
    VM_BUS_IDE,     /* ideN:M   (N 0-1, M 0-1) */
    VM_BUS_SCSI,    /* scsiN:M  (N 0-3, M 0-15 except 7) */
    VM_BUS_SATA,    /* sataN:M  (N 0-3, M 0-29) */
    VM_BUS_NVME,    /* nvmeN:M  (N 0-3, M 0-14) */
    VM_BUS_VIRTIO,  /* Vireo's own: "virtioN:M"; a virtio-blk disk, no controller */
} VmBus;

/* SCSI controller models, named as the .vmx's scsiN.virtualDev says them. */
typedef enum {
    VM_SCSI_PVSCSI,       /* "pvscsi"       API PVSCSI      -> QEMU pvscsi */
    VM_SCSI_LSILOGICSAS,  /* "lsisas1068"   API LSILOGICSAS -> mptsas1068 */
    VM_SCSI_LSILOGIC,     /* "lsilogic"     API LSILOGIC    -> substituted by mptsas1068 */
    VM_SCSI_BUSLOGIC,     /* "buslogic"     API BUSLOGIC    -> substituted by mptsas1068 */
    VM_SCSI_VIRTIO,       /* "virtio-scsi"  API VIRTIO      -> virtio-scsi-pci */
} VmScsiType;

typedef enum {
    VM_DISK_PROVISIONING_THIN,
    VM_DISK_PROVISIONING_THICK_LAZY_ZEROED,
    VM_DISK_PROVISIONING_THICK_EAGER_ZEROED,
} VmDiskProvisioning;

typedef enum {
    VM_DISK_MODE_PERSISTENT,
    VM_DISK_MODE_INDEPENDENT_PERSISTENT,
    VM_DISK_MODE_INDEPENDENT_NONPERSISTENT,
} VmDiskMode;

typedef enum {
    VM_NIC_VMXNET3,   /* vmx "vmxnet3" -> QEMU vmxnet3 */
    VM_NIC_E1000,     /* vmx "e1000"   -> e1000-82545em */
    VM_NIC_E1000E,    /* vmx "e1000e"  -> e1000e */
    VM_NIC_PCNET32,   /* vmx "vlance"  -> pcnet */
    VM_NIC_VMXNET2,   /* vmx "vmxnet"/"vmxnet2": no QEMU model; substituted by vmxnet3 */
    VM_NIC_VIRTIO,    /* vmx "virtio"  -> virtio-net-pci */
} VmNicType;

typedef enum {
    VM_MAC_GENERATED, /* vmx addressType "generated" (00:0c:29) or "vpx" (00:50:56:80-bf) */
    VM_MAC_MANUAL,    /* vmx addressType "static" */
} VmMacType;

typedef enum {
    VM_CDROM_ISO_FILE,     /* vmx deviceType "cdrom-image" */
    VM_CDROM_HOST_DEVICE,  /* vmx deviceType "atapi-cdrom" / "cdrom-raw" */
    VM_CDROM_CLIENT_DEVICE,/* nothing inserted */
} VmCdromBacking;

typedef struct {
    VmBus bus;
    int controller;          /* N of scsiN:M */
    int unit;                /* M of scsiN:M */
    char *file_name;         /* as written in the .vmx: "web-01.vmdk", a
                              * "/vmfs/volumes/..." path, or "[ds] dir/x.vmdk" */
    VmDiskMode mode;
    /* Filled by the host from the descriptor, not stored in the .vmx: */
    gint64 capacity_bytes;   /* -1 unknown */
} VmDisk;

typedef struct {
    VmBus bus;
    int controller;
    int unit;
    VmCdromBacking backing;
    char *file_name;         /* ISO path for VM_CDROM_ISO_FILE, device for HOST_DEVICE */
    gboolean start_connected;
} VmCdrom;

typedef struct {
    int index;               /* N of ethernetN */
    VmNicType type;
    char *network_name;      /* port group name */
    VmMacType mac_type;
    char *mac_address;       /* "00:50:56:aa:bb:cc", lower case; NULL until generated */
    gboolean start_connected;
} VmNic;

typedef struct {
    int index;               /* N of scsiN */
    VmScsiType type;
} VmScsiAdapter;

typedef struct {
    char *name;              /* displayName, verbatim (any bytes a user typed) */
    char *guest_os;          /* vmx short form, "other4xlinux-64" */
    int hardware_version;    /* virtualHW.version, e.g. 19 */
    int cpu_count;           /* numvcpus */
    int cores_per_socket;    /* cpuid.coresPerSocket */
    gint64 memory_mib;       /* memSize */
    VmFirmware firmware;
    gboolean efi_secure_boot;
    char *nvram;             /* "web-01.nvram" or NULL */
    char *uuid_bios;         /* canonical "564dfd52-65f4-71df-e4c8-668eb127c48b" or NULL */
    char *uuid_instance;     /* vc.uuid, canonical form, or NULL */
    gboolean template;       /* the folder holds a .vmtx */
    GPtrArray *scsi_adapters;/* VmScsiAdapter*, sorted by index */
    int sata_adapters;       /* number of sataN controllers present (0-4) */
    int nvme_adapters;       /* number of nvmeN controllers present (0-4) */
    GPtrArray *disks;        /* VmDisk* */
    GPtrArray *cdroms;       /* VmCdrom* */
    GPtrArray *nics;         /* VmNic*, sorted by index */
    char *customization;     /* guestinfo.vireo.customization: JSON for vireo-tools, or NULL */
    char *annotation;        /* annotation, or NULL */
} VmConfig;

/* A new VM's defaults: guest "other-64", hardware version 19, 1 vCPU with 1
 * core per socket, 32 MiB (VMware's memSize default), BIOS, no devices. */
VmConfig *vm_config_new(void);
void vm_config_free(VmConfig *config);
VmConfig *vm_config_copy(const VmConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmConfig, vm_config_free)

VmDisk *vm_disk_new(VmBus bus, int controller, int unit, const char *file_name);
void vm_disk_free(VmDisk *disk);
VmCdrom *vm_cdrom_new(VmBus bus, int controller, int unit);
void vm_cdrom_free(VmCdrom *cdrom);
VmNic *vm_nic_new(int index, VmNicType type, const char *network_name);
void vm_nic_free(VmNic *nic);

/* TRUE when (controller, unit) exists on bus (e.g. SCSI 0-3 : 0-15 but 7). */
gboolean vm_position_in_range(VmBus bus, int controller, int unit);
/* "scsi0:1" for a disk or CD-ROM position (newly allocated). */
char *vm_device_node(VmBus bus, int controller, int unit);
/* Parses "scsi0:1" / "sata0:0" / "nvme0:0" / "ide1:0" / "virtio0:2". */
gboolean vm_device_node_parse(const char *node, VmBus *bus, int *controller, int *unit);

/* vSphere API device keys: disks and CD-ROMs are keyed by position
 * (IDE 3000+, SCSI 2000+ (16 per controller), SATA 16000+ (30 per controller),
 * NVMe 31000+ (15 per controller), virtio 40000+); NICs 4000 + index. */
int vm_disk_key(VmBus bus, int controller, int unit);   /* -1 when out of range */
gboolean vm_disk_key_parse(int key, VmBus *bus, int *controller, int *unit);
int vm_nic_key(int index);

/* Look-ups; NULL when absent. */
VmDisk *vm_config_find_disk(const VmConfig *config, VmBus bus, int controller, int unit);
VmCdrom *vm_config_find_cdrom(const VmConfig *config, VmBus bus, int controller, int unit);
VmNic *vm_config_find_nic(const VmConfig *config, int index);
VmScsiAdapter *vm_config_find_scsi(const VmConfig *config, int index);
/* TRUE when the position is taken by a disk or a CD-ROM. */
gboolean vm_config_slot_used(const VmConfig *config, VmBus bus, int controller, int unit);
/* Sorts SCSI adapters and NICs by index, disks and CD-ROMs by device key. */
void vm_config_sort_devices(VmConfig *config);

/* Checks the configuration is one Vireo can run: counts in range, every disk
 * on a controller that exists, no two devices at one position, no two NICs
 * with one index, names non-empty. Names are not restricted: any bytes are
 * stored verbatim and never reach QEMU's options unescaped. */
gboolean vm_config_validate(const VmConfig *config, GError **error);

/* String tables. */
const char *vm_power_state_to_string(VmPowerState state);       /* "POWERED_ON" */
gboolean vm_power_state_from_string(const char *s, VmPowerState *out);
const char *vm_firmware_to_string(VmFirmware fw);               /* "BIOS" | "EFI" */
gboolean vm_firmware_from_string(const char *s, VmFirmware *out);
const char *vm_bus_to_string(VmBus bus);                        /* "SCSI" | "SATA" | "NVME" | "IDE" | "VIRTIO" */
gboolean vm_bus_from_string(const char *s, VmBus *out);
const char *vm_bus_vmx_prefix(VmBus bus);                       /* "scsi" | "sata" | "nvme" | "ide" | "virtio" */
const char *vm_scsi_type_to_string(VmScsiType type);            /* "PVSCSI" | "LSILOGICSAS" | "LSILOGIC" | "BUSLOGIC" | "VIRTIO" */
gboolean vm_scsi_type_from_string(const char *s, VmScsiType *out);
const char *vm_scsi_type_vmx_name(VmScsiType type);             /* "pvscsi" | "lsisas1068" | "lsilogic" | "buslogic" | "virtio-scsi" */
gboolean vm_scsi_type_from_vmx_name(const char *s, VmScsiType *out);
const char *vm_disk_provisioning_to_string(VmDiskProvisioning p);/* "THIN" | "THICK_LAZY_ZEROED" | "THICK_EAGER_ZEROED" */
gboolean vm_disk_provisioning_from_string(const char *s, VmDiskProvisioning *out);
const char *vm_disk_mode_vmx_name(VmDiskMode mode);             /* "persistent" | "independent-persistent" | "independent-nonpersistent" */
gboolean vm_disk_mode_from_vmx_name(const char *s, VmDiskMode *out);
const char *vm_nic_type_to_string(VmNicType type);              /* "VMXNET3" | "E1000" | "E1000E" | "PCNET32" | "VMXNET2" | "VIRTIO" */
gboolean vm_nic_type_from_string(const char *s, VmNicType *out);
const char *vm_nic_type_vmx_name(VmNicType type);               /* "vmxnet3" | "e1000" | "e1000e" | "vlance" | "vmxnet" | "virtio" */
gboolean vm_nic_type_from_vmx_name(const char *s, VmNicType *out);
const char *vm_mac_type_to_string(VmMacType type);              /* "GENERATED" | "MANUAL" */
gboolean vm_mac_type_from_string(const char *s, VmMacType *out);
const char *vm_cdrom_backing_to_string(VmCdromBacking b);       /* "ISO_FILE" | "HOST_DEVICE" | "CLIENT_DEVICE" */
gboolean vm_cdrom_backing_from_string(const char *s, VmCdromBacking *out);

/* API guest OS id ("OTHER_LINUX_64") <-> vmx guestOS ("other4xlinux-64"). An
 * unknown vmx name maps to "OTHER"; an unknown API id is refused. */
const char *vm_guest_os_to_api(const char *vmx_guest_os);
gboolean vm_guest_os_from_api(const char *api_id, const char **vmx_guest_os);

/* A MAC address in VMware's manually-assigned range 00:50:56:00:00:00 -
 * 00:50:56:3f:ff:ff, from random bits (caller supplies them so this stays
 * pure). */
char *vm_mac_generate(guint32 random_bits);
/* TRUE for "xx:xx:xx:xx:xx:xx" with a unicast, non-zero address. */
gboolean vm_mac_is_valid(const char *mac);

/* UUIDs: canonical lower-case "8-4-4-4-12" <-> vmx "56 4d fd 52 65 f4 71 df-e4 c8 66 8e b1 27 c4 8b". */
char *vm_uuid_to_vmx(const char *canonical);
char *vm_uuid_from_vmx(const char *vmx_form);  /* NULL if malformed */

G_END_DECLS
