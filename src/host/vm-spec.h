/* vm-spec.h — the vSphere API's JSON for VMs: create specs and device specs
 * in, VM and device info out. Parsing only decides; nothing is written. */
#pragma once

#include <json-glib/json-glib.h>
#include "vm.h"

G_BEGIN_DECLS

/* A disk the create (or disk add) must make. */
typedef struct {
    VmDisk *disk;                 /* borrowed: the disk in the VmConfig */
    char *base_name;              /* file base: "<base>.vmdk" + "<base>-flat.vmdk" */
    guint64 capacity;
    VmDiskProvisioning provisioning;
} VmSpecNewDisk;

void vm_spec_new_disk_free(VmSpecNewDisk *nd);

typedef struct {
    VmConfig *config;
    const HostDatastoreConfig *datastore;
    char *folder;                 /* folder name on the datastore */
    GPtrArray *new_disks;         /* VmSpecNewDisk* */
} VmSpec;

void vm_spec_free(VmSpec *spec);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmSpec, vm_spec_free)

/* POST /api/vcenter/vm. */
VmSpec *vm_spec_parse(Host *host, JsonNode *body, GError **error);

/* Device specs (as in create) added to config. base: the VM's file base name
 * for new disks; out_new (may be NULL) receives the disk to create. */
gboolean vm_spec_add_disk(Host *host, VmConfig *config, JsonObject *obj, const char *where,
                          const char *base, VmSpecNewDisk **out_new, GError **error);
gboolean vm_spec_add_nic(Host *host, VmConfig *config, JsonObject *obj, const char *where,
                         VmNic **out, GError **error);
gboolean vm_spec_add_cdrom(Host *host, VmConfig *config, JsonObject *obj, const char *where,
                           VmCdrom **out, GError **error);
/* PATCH of a NIC / CD-ROM. */
gboolean vm_spec_update_nic(Host *host, VmConfig *config, VmNic *nic, JsonObject *obj, GError **error);
gboolean vm_spec_update_cdrom(Host *host, VmCdrom *cdrom, JsonObject *obj, GError **error);

/* Answers. */
JsonNode *vm_spec_summary_json(Vm *vm);
JsonNode *vm_spec_info_json(Vm *vm);
JsonNode *vm_spec_disk_json(Vm *vm, const VmDisk *disk);
JsonNode *vm_spec_nic_json(Vm *vm, const VmNic *nic);
JsonNode *vm_spec_cdrom_json(Vm *vm, const VmCdrom *cdrom);

/* A MAC in VMware's manual range not used by any VM of this host. */
char *vm_spec_unique_mac(Host *host, const VmConfig *also);

G_END_DECLS
