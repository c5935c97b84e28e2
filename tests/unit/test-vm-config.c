/* test-vm-config.c — the VM model: string tables, device keys, validation,
 * guest OS names, MAC generation and UUID conversions.
 */
#include "vm-config.h"
#include "vireo-error.h"

#include <string.h>

static VmConfig *
valid_config(void)
{
    VmConfig *c = vm_config_new();
    VmScsiAdapter *scsi = g_new0(VmScsiAdapter, 1);

    c->name = g_strdup("web-01");
    scsi->index = 0;
    scsi->type = VM_SCSI_PVSCSI;
    g_ptr_array_add(c->scsi_adapters, scsi);
    c->sata_adapters = 1;
    g_ptr_array_add(c->disks, vm_disk_new(VM_BUS_SCSI, 0, 0, "web-01.vmdk"));
    g_ptr_array_add(c->cdroms, vm_cdrom_new(VM_BUS_SATA, 0, 0));
    g_ptr_array_add(c->nics, vm_nic_new(0, VM_NIC_VMXNET3, "VM Network"));
    return c;
}

static void
test_string_tables(void)
{
    VmPowerState ps;
    VmFirmware fw;
    VmBus bus;
    VmScsiType st;
    VmDiskProvisioning prov;
    VmDiskMode mode;
    VmNicType nt;
    VmMacType mt;
    VmCdromBacking cb;

    for (int i = VM_POWER_STATE_POWERED_OFF; i <= VM_POWER_STATE_SUSPENDED; i++) {
        g_assert_true(vm_power_state_from_string(vm_power_state_to_string(i), &ps));
        g_assert_cmpint(ps, ==, i);
    }
    g_assert_cmpstr(vm_power_state_to_string(VM_POWER_STATE_POWERED_ON), ==, "POWERED_ON");
    g_assert_true(vm_power_state_from_string("suspended", &ps));
    g_assert_cmpint(ps, ==, VM_POWER_STATE_SUSPENDED);
    g_assert_false(vm_power_state_from_string("RUNNING", &ps));
    g_assert_false(vm_power_state_from_string(NULL, &ps));
    g_assert_null(vm_power_state_to_string(99));

    g_assert_cmpstr(vm_firmware_to_string(VM_FIRMWARE_EFI), ==, "EFI");
    g_assert_true(vm_firmware_from_string("bios", &fw) && fw == VM_FIRMWARE_BIOS);

    for (int i = VM_BUS_IDE; i <= VM_BUS_VIRTIO; i++) {
        g_assert_true(vm_bus_from_string(vm_bus_to_string(i), &bus));
        g_assert_cmpint(bus, ==, i);
    }
    g_assert_cmpstr(vm_bus_to_string(VM_BUS_NVME), ==, "NVME");
    g_assert_cmpstr(vm_bus_vmx_prefix(VM_BUS_SATA), ==, "sata");
    g_assert_cmpstr(vm_bus_vmx_prefix(VM_BUS_VIRTIO), ==, "virtio");

    static const struct { VmScsiType t; const char *api, *vmx; } scsi[] = {
        { VM_SCSI_PVSCSI, "PVSCSI", "pvscsi" },
        { VM_SCSI_LSILOGICSAS, "LSILOGICSAS", "lsisas1068" },
        { VM_SCSI_LSILOGIC, "LSILOGIC", "lsilogic" },
        { VM_SCSI_BUSLOGIC, "BUSLOGIC", "buslogic" },
        { VM_SCSI_VIRTIO, "VIRTIO", "virtio-scsi" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(scsi); i++) {
        g_assert_cmpstr(vm_scsi_type_to_string(scsi[i].t), ==, scsi[i].api);
        g_assert_cmpstr(vm_scsi_type_vmx_name(scsi[i].t), ==, scsi[i].vmx);
        g_assert_true(vm_scsi_type_from_vmx_name(scsi[i].vmx, &st) && st == scsi[i].t);
        g_assert_true(vm_scsi_type_from_string(scsi[i].api, &st) && st == scsi[i].t);
    }
    g_assert_true(vm_scsi_type_from_vmx_name("LSILOGIC", &st) && st == VM_SCSI_LSILOGIC);
    g_assert_false(vm_scsi_type_from_vmx_name("lsi53c895a", &st));

    g_assert_true(vm_disk_provisioning_from_string("thick_eager_zeroed", &prov));
    g_assert_cmpint(prov, ==, VM_DISK_PROVISIONING_THICK_EAGER_ZEROED);
    g_assert_cmpstr(vm_disk_provisioning_to_string(VM_DISK_PROVISIONING_THIN), ==, "THIN");
    g_assert_cmpstr(vm_disk_mode_vmx_name(VM_DISK_MODE_INDEPENDENT_NONPERSISTENT), ==,
                    "independent-nonpersistent");
    g_assert_true(vm_disk_mode_from_vmx_name("Independent-Persistent", &mode));
    g_assert_cmpint(mode, ==, VM_DISK_MODE_INDEPENDENT_PERSISTENT);
    g_assert_false(vm_disk_mode_from_vmx_name("nonpersistent", &mode));

    static const struct { VmNicType t; const char *api, *vmx; } nics[] = {
        { VM_NIC_VMXNET3, "VMXNET3", "vmxnet3" },
        { VM_NIC_E1000, "E1000", "e1000" },
        { VM_NIC_E1000E, "E1000E", "e1000e" },
        { VM_NIC_PCNET32, "PCNET32", "vlance" },
        { VM_NIC_VMXNET2, "VMXNET2", "vmxnet" },
        { VM_NIC_VIRTIO, "VIRTIO", "virtio" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(nics); i++) {
        g_assert_cmpstr(vm_nic_type_to_string(nics[i].t), ==, nics[i].api);
        g_assert_cmpstr(vm_nic_type_vmx_name(nics[i].t), ==, nics[i].vmx);
        g_assert_true(vm_nic_type_from_vmx_name(nics[i].vmx, &nt) && nt == nics[i].t);
        g_assert_true(vm_nic_type_from_string(nics[i].api, &nt) && nt == nics[i].t);
    }
    g_assert_true(vm_nic_type_from_vmx_name("vmxnet2", &nt) && nt == VM_NIC_VMXNET2);
    g_assert_false(vm_nic_type_from_vmx_name("rtl8139", &nt));

    g_assert_true(vm_mac_type_from_string("manual", &mt) && mt == VM_MAC_MANUAL);
    g_assert_cmpstr(vm_mac_type_to_string(VM_MAC_GENERATED), ==, "GENERATED");
    g_assert_true(vm_cdrom_backing_from_string("ISO_FILE", &cb) && cb == VM_CDROM_ISO_FILE);
    g_assert_cmpstr(vm_cdrom_backing_to_string(VM_CDROM_CLIENT_DEVICE), ==, "CLIENT_DEVICE");
}

static void
test_device_nodes(void)
{
    static const struct { const char *node; gboolean ok; VmBus bus; int c, u; } cases[] = {
        { "scsi0:1", TRUE, VM_BUS_SCSI, 0, 1 },
        { "scsi3:15", TRUE, VM_BUS_SCSI, 3, 15 },
        { "SATA0:29", TRUE, VM_BUS_SATA, 0, 29 },
        { "nvme3:14", TRUE, VM_BUS_NVME, 3, 14 },
        { "ide1:1", TRUE, VM_BUS_IDE, 1, 1 },
        { "virtio0:31", TRUE, VM_BUS_VIRTIO, 0, 31 },
        { "scsi0:7", FALSE },
        { "scsi0:16", FALSE },
        { "scsi4:0", FALSE },
        { "ide2:0", FALSE },
        { "ide0:2", FALSE },
        { "sata0:30", FALSE },
        { "nvme0:15", FALSE },
        { "virtio1:0", FALSE },
        { "scsi0:1x", FALSE },
        { "scsi0", FALSE },
        { "scsi:1", FALSE },
        { "scsi-1:0", FALSE },
        { "scsi0:99999999999", FALSE },
        { "floppy0:0", FALSE },
        { "", FALSE },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        VmBus bus;
        int c = -1, u = -1;
        gboolean ok = vm_device_node_parse(cases[i].node, &bus, &c, &u);

        g_test_message("node %s", cases[i].node);
        g_assert_cmpint(ok, ==, cases[i].ok);
        if (ok) {
            g_autofree char *back = vm_device_node(bus, c, u);
            g_autofree char *lower = g_ascii_strdown(cases[i].node, -1);
            g_assert_cmpint(bus, ==, cases[i].bus);
            g_assert_cmpint(c, ==, cases[i].c);
            g_assert_cmpint(u, ==, cases[i].u);
            g_assert_cmpstr(back, ==, lower);
        }
    }
}

static void
test_device_keys(void)
{
    static const struct { VmBus bus; int c, u, key; } cases[] = {
        { VM_BUS_SCSI, 0, 0, 2000 },
        { VM_BUS_SCSI, 1, 2, 2018 },
        { VM_BUS_SCSI, 3, 15, 2063 },
        { VM_BUS_IDE, 0, 0, 3000 },
        { VM_BUS_IDE, 1, 1, 3003 },
        { VM_BUS_SATA, 0, 0, 16000 },
        { VM_BUS_SATA, 1, 3, 16033 },
        { VM_BUS_SATA, 3, 29, 16119 },
        { VM_BUS_NVME, 0, 0, 31000 },
        { VM_BUS_NVME, 2, 1, 31031 },
        { VM_BUS_VIRTIO, 0, 5, 40005 },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        VmBus bus;
        int c, u;

        g_assert_cmpint(vm_disk_key(cases[i].bus, cases[i].c, cases[i].u), ==, cases[i].key);
        g_assert_true(vm_disk_key_parse(cases[i].key, &bus, &c, &u));
        g_assert_cmpint(bus, ==, cases[i].bus);
        g_assert_cmpint(c, ==, cases[i].c);
        g_assert_cmpint(u, ==, cases[i].u);
    }
    static const int bad_keys[] = { 0, 1999, 2007, 2064, 3004, 4000, 15999, 16120, 31060, 40032, -1 };
    for (guint i = 0; i < G_N_ELEMENTS(bad_keys); i++) {
        VmBus bus;
        int c, u;
        g_assert_false(vm_disk_key_parse(bad_keys[i], &bus, &c, &u));
    }
    g_assert_cmpint(vm_disk_key(VM_BUS_SCSI, 0, 7), ==, -1);
    g_assert_cmpint(vm_nic_key(0), ==, 4000);
    g_assert_cmpint(vm_nic_key(9), ==, 4009);
}

static void
test_copy_and_lookup(void)
{
    g_autoptr(VmConfig) c = valid_config();
    g_autoptr(VmConfig) copy = NULL;
    VmNic *nic;

    c->uuid_bios = g_strdup("564dfd52-65f4-71df-e4c8-668eb127c48b");
    c->annotation = g_strdup("note");
    nic = vm_config_find_nic(c, 0);
    nic->mac_address = g_strdup("00:50:56:01:02:03");
    copy = vm_config_copy(c);

    /* A deep copy: changing the original leaves the copy alone. */
    g_free(nic->network_name);
    nic->network_name = g_strdup("Other");
    g_assert_cmpstr(vm_config_find_nic(copy, 0)->network_name, ==, "VM Network");
    g_assert_cmpstr(vm_config_find_nic(copy, 0)->mac_address, ==, "00:50:56:01:02:03");
    g_assert_cmpstr(copy->name, ==, "web-01");
    g_assert_cmpstr(copy->uuid_bios, ==, c->uuid_bios);
    g_assert_cmpstr(copy->annotation, ==, "note");
    g_assert_nonnull(vm_config_find_disk(copy, VM_BUS_SCSI, 0, 0));
    g_assert_null(vm_config_find_disk(copy, VM_BUS_SCSI, 0, 1));
    g_assert_nonnull(vm_config_find_cdrom(copy, VM_BUS_SATA, 0, 0));
    g_assert_cmpint(vm_config_find_scsi(copy, 0)->type, ==, VM_SCSI_PVSCSI);
    g_assert_null(vm_config_find_scsi(copy, 1));
    g_assert_true(vm_config_slot_used(copy, VM_BUS_SATA, 0, 0));
    g_assert_true(vm_config_slot_used(copy, VM_BUS_SCSI, 0, 0));
    g_assert_false(vm_config_slot_used(copy, VM_BUS_SATA, 0, 1));
    g_assert_cmpint(copy->sata_adapters, ==, 1);
    g_assert_true(vm_config_validate(copy, NULL));
}

static void
test_sort(void)
{
    g_autoptr(VmConfig) c = vm_config_new();

    g_ptr_array_add(c->nics, vm_nic_new(3, VM_NIC_E1000, "a"));
    g_ptr_array_add(c->nics, vm_nic_new(1, VM_NIC_E1000, "b"));
    g_ptr_array_add(c->disks, vm_disk_new(VM_BUS_SATA, 0, 0, "x"));
    g_ptr_array_add(c->disks, vm_disk_new(VM_BUS_SCSI, 1, 0, "y"));
    g_ptr_array_add(c->disks, vm_disk_new(VM_BUS_SCSI, 0, 3, "z"));
    vm_config_sort_devices(c);
    g_assert_cmpint(((VmNic *)c->nics->pdata[0])->index, ==, 1);
    g_assert_cmpstr(((VmDisk *)c->disks->pdata[0])->file_name, ==, "z");
    g_assert_cmpstr(((VmDisk *)c->disks->pdata[1])->file_name, ==, "y");
    g_assert_cmpstr(((VmDisk *)c->disks->pdata[2])->file_name, ==, "x");
}

typedef void (*Mutator)(VmConfig *c);

static void m_none(VmConfig *c) { }
static void m_no_name(VmConfig *c) { g_clear_pointer(&c->name, g_free); }
static void m_empty_name(VmConfig *c) { g_free(c->name); c->name = g_strdup(""); }
static void m_long_name(VmConfig *c) { g_free(c->name); c->name = g_strnfill(81, 'a'); }
static void m_max_name(VmConfig *c) { g_free(c->name); c->name = g_strnfill(80, 'a'); }
static void m_odd_name(VmConfig *c) { g_free(c->name); c->name = g_strdup("a,b=c \"d\" /e\\ %f"); }
static void m_cpu0(VmConfig *c) { c->cpu_count = 0; }
static void m_cpu129(VmConfig *c) { c->cpu_count = 129; }
static void m_cpu128(VmConfig *c) { c->cpu_count = 128; c->cores_per_socket = 8; }
static void m_cores(VmConfig *c) { c->cpu_count = 6; c->cores_per_socket = 4; }
static void m_cores0(VmConfig *c) { c->cores_per_socket = 0; }
static void m_cores_ok(VmConfig *c) { c->cpu_count = 6; c->cores_per_socket = 3; }
static void m_mem_small(VmConfig *c) { c->memory_mib = 0; }
static void m_mem_min(VmConfig *c) { c->memory_mib = 4; }
static void m_mem_max(VmConfig *c) { c->memory_mib = G_GINT64_CONSTANT(4) * 1024 * 1024; }
static void m_mem_big(VmConfig *c) { c->memory_mib = G_GINT64_CONSTANT(4) * 1024 * 1024 + 4; }
static void m_mem_odd(VmConfig *c) { c->memory_mib = 514; }
static void m_secure_bios(VmConfig *c) { c->efi_secure_boot = TRUE; }
static void m_scsi_unit7(VmConfig *c) { ((VmDisk *)c->disks->pdata[0])->unit = 7; }
static void m_scsi_unit16(VmConfig *c) { ((VmDisk *)c->disks->pdata[0])->unit = 16; }
static void m_scsi_unit15(VmConfig *c) { ((VmDisk *)c->disks->pdata[0])->unit = 15; }
static void m_no_scsi_adapter(VmConfig *c) { g_ptr_array_set_size(c->scsi_adapters, 0); }
static void m_scsi_ctl1(VmConfig *c) { ((VmDisk *)c->disks->pdata[0])->controller = 1; }
static void m_dup_scsi_adapter(VmConfig *c)
{
    VmScsiAdapter *a = g_new0(VmScsiAdapter, 1);
    g_ptr_array_add(c->scsi_adapters, a);
}
static void m_scsi_adapter4(VmConfig *c) { ((VmScsiAdapter *)c->scsi_adapters->pdata[0])->index = 4; }
static void m_sata_none(VmConfig *c) { c->sata_adapters = 0; }
static void m_sata5(VmConfig *c) { c->sata_adapters = 5; }
static void m_sata_unit29(VmConfig *c) { ((VmCdrom *)c->cdroms->pdata[0])->unit = 29; }
static void m_sata_unit30(VmConfig *c) { ((VmCdrom *)c->cdroms->pdata[0])->unit = 30; }
static void m_nvme_disk(VmConfig *c) { g_ptr_array_add(c->disks, vm_disk_new(VM_BUS_NVME, 0, 0, "n.vmdk")); }
static void m_nvme_ok(VmConfig *c) { c->nvme_adapters = 1; m_nvme_disk(c); }
static void m_nvme_unit15(VmConfig *c)
{
    c->nvme_adapters = 1;
    g_ptr_array_add(c->disks, vm_disk_new(VM_BUS_NVME, 0, 15, "n.vmdk"));
}
static void m_ide_ok(VmConfig *c) { g_ptr_array_add(c->disks, vm_disk_new(VM_BUS_IDE, 1, 1, "i.vmdk")); }
static void m_ide_bad(VmConfig *c) { g_ptr_array_add(c->disks, vm_disk_new(VM_BUS_IDE, 2, 0, "i.vmdk")); }
static void m_virtio_ok(VmConfig *c) { g_ptr_array_add(c->disks, vm_disk_new(VM_BUS_VIRTIO, 0, 31, "v.vmdk")); }
static void m_virtio_ctl1(VmConfig *c) { g_ptr_array_add(c->disks, vm_disk_new(VM_BUS_VIRTIO, 1, 0, "v.vmdk")); }
static void m_virtio_cdrom(VmConfig *c) { g_ptr_array_add(c->cdroms, vm_cdrom_new(VM_BUS_VIRTIO, 0, 0)); }
static void m_two_disks(VmConfig *c) { g_ptr_array_add(c->disks, vm_disk_new(VM_BUS_SCSI, 0, 0, "b.vmdk")); }
static void m_disk_on_cdrom(VmConfig *c) { g_ptr_array_add(c->disks, vm_disk_new(VM_BUS_SATA, 0, 0, "b.vmdk")); }
static void m_two_cdroms(VmConfig *c) { g_ptr_array_add(c->cdroms, vm_cdrom_new(VM_BUS_SATA, 0, 0)); }
static void m_disk_no_file(VmConfig *c) { g_clear_pointer(&((VmDisk *)c->disks->pdata[0])->file_name, g_free); }
static void m_iso_no_file(VmConfig *c) { ((VmCdrom *)c->cdroms->pdata[0])->backing = VM_CDROM_ISO_FILE; }
static void m_nic10(VmConfig *c) { ((VmNic *)c->nics->pdata[0])->index = 10; }
static void m_nic9(VmConfig *c) { ((VmNic *)c->nics->pdata[0])->index = 9; }
static void m_dup_nic(VmConfig *c) { g_ptr_array_add(c->nics, vm_nic_new(0, VM_NIC_E1000, "x")); }
static void m_manual_no_mac(VmConfig *c) { ((VmNic *)c->nics->pdata[0])->mac_type = VM_MAC_MANUAL; }
static void m_bad_mac(VmConfig *c) { ((VmNic *)c->nics->pdata[0])->mac_address = g_strdup("01:00:5e:00:00:01"); }
static void m_manual_mac(VmConfig *c)
{
    VmNic *n = c->nics->pdata[0];
    n->mac_type = VM_MAC_MANUAL;
    n->mac_address = g_strdup("00:50:56:3F:FF:FF");
}

static void
test_validate(void)
{
    static const struct { const char *what; Mutator m; gboolean ok; const char *in_message; } cases[] = {
        { "valid", m_none, TRUE, NULL },
        { "no name", m_no_name, FALSE, "no name" },
        { "empty name", m_empty_name, FALSE, "no name" },
        { "81-byte name", m_long_name, FALSE, "at most 80" },
        { "80-byte name", m_max_name, TRUE, NULL },
        { "name with punctuation", m_odd_name, TRUE, NULL },
        { "0 CPUs", m_cpu0, FALSE, "cpu_count 0" },
        { "129 CPUs", m_cpu129, FALSE, "1 to 128" },
        { "128 CPUs", m_cpu128, TRUE, NULL },
        { "cores do not divide", m_cores, FALSE, "does not divide" },
        { "0 cores", m_cores0, FALSE, "cores_per_socket 0" },
        { "cores divide", m_cores_ok, TRUE, NULL },
        { "0 MiB", m_mem_small, FALSE, "out of range" },
        { "4 MiB", m_mem_min, TRUE, NULL },
        { "4 TiB", m_mem_max, TRUE, NULL },
        { "4 TiB + 4", m_mem_big, FALSE, "out of range" },
        { "514 MiB", m_mem_odd, FALSE, "multiple of 4" },
        { "secure boot on BIOS", m_secure_bios, FALSE, "EFI" },
        { "scsi0:7", m_scsi_unit7, FALSE, "unit 7" },
        { "scsi0:16", m_scsi_unit16, FALSE, "scsi0:16" },
        { "scsi0:15", m_scsi_unit15, TRUE, NULL },
        { "no SCSI adapter", m_no_scsi_adapter, FALSE, "SCSI controller 0" },
        { "scsi1 missing", m_scsi_ctl1, FALSE, "SCSI controller 1" },
        { "duplicate SCSI adapter", m_dup_scsi_adapter, FALSE, "Two SCSI controllers" },
        { "SCSI adapter 4", m_scsi_adapter4, FALSE, "out of range" },
        { "no SATA adapter", m_sata_none, FALSE, "SATA controller 0" },
        { "5 SATA adapters", m_sata5, FALSE, "SATA" },
        { "sata0:29", m_sata_unit29, TRUE, NULL },
        { "sata0:30", m_sata_unit30, FALSE, "sata0:30" },
        { "NVMe disk, no adapter", m_nvme_disk, FALSE, "NVMe controller 0" },
        { "NVMe disk", m_nvme_ok, TRUE, NULL },
        { "nvme0:15", m_nvme_unit15, FALSE, "nvme0:15" },
        { "ide1:1", m_ide_ok, TRUE, NULL },
        { "ide2:0", m_ide_bad, FALSE, "ide2:0" },
        { "virtio0:31", m_virtio_ok, TRUE, NULL },
        { "virtio1:0", m_virtio_ctl1, FALSE, "virtio1:0" },
        { "virtio CD-ROM", m_virtio_cdrom, FALSE, "cannot sit" },
        { "two disks in a slot", m_two_disks, FALSE, "Two disks are at scsi0:0" },
        { "disk on CD-ROM slot", m_disk_on_cdrom, FALSE, "Two devices are at sata0:0" },
        { "two CD-ROMs in a slot", m_two_cdroms, FALSE, "Two devices are at sata0:0" },
        { "disk without file", m_disk_no_file, FALSE, "no file" },
        { "ISO without file", m_iso_no_file, FALSE, "no file" },
        { "ethernet10", m_nic10, FALSE, "ethernet0 to ethernet9" },
        { "ethernet9", m_nic9, TRUE, NULL },
        { "two ethernet0", m_dup_nic, FALSE, "Two network adapters" },
        { "manual without MAC", m_manual_no_mac, FALSE, "no address" },
        { "multicast MAC", m_bad_mac, FALSE, "not a usable MAC" },
        { "manual MAC", m_manual_mac, TRUE, NULL },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(VmConfig) c = valid_config();
        g_autoptr(GError) error = NULL;
        gboolean ok;

        cases[i].m(c);
        ok = vm_config_validate(c, &error);
        g_test_message("case %s: %s", cases[i].what, error ? error->message : "ok");
        g_assert_cmpint(ok, ==, cases[i].ok);
        if (!ok) {
            g_assert_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT);
            g_assert_nonnull(strstr(error->message, cases[i].in_message));
        } else {
            g_assert_no_error(error);
        }
    }
}

static void
test_guest_os(void)
{
    static const struct { const char *api, *vmx; } pairs[] = {
        { "OTHER_LINUX_64", "otherlinux-64" },
        { "OTHER_3X_LINUX_64", "other3xlinux-64" },
        { "OTHER_4X_LINUX_64", "other4xlinux-64" },
        { "OTHER_5X_LINUX_64", "other5xlinux-64" },
        { "OTHER_6X_LINUX_64", "other6xlinux-64" },
        { "DEBIAN_10_64", "debian10-64" },
        { "DEBIAN_11_64", "debian11-64" },
        { "DEBIAN_12_64", "debian12-64" },
        { "UBUNTU_64", "ubuntu-64" },
        { "RHEL_7_64", "rhel7-64" },
        { "RHEL_8_64", "rhel8-64" },
        { "RHEL_9_64", "rhel9-64" },
        { "CENTOS_64", "centos-64" },
        { "ROCKYLINUX_64", "rockylinux-64" },
        { "SLES_15_64", "sles15-64" },
        { "WINDOWS_9_64", "windows9-64" },
        { "WINDOWS_9_SERVER_64", "windows9srv-64" },
        { "WINDOWS_2019SERVER_64", "windows2019srv-64" },
        { "WINDOWS_2019SERVER_NEXT_64", "windows2019srvNext-64" },
        { "WINDOWS_11_64", "windows11-64" },
        { "FREEBSD_13_64", "freebsd13-64" },
        { "OTHER", "other" },
        { "OTHER_64", "other-64" },
    };
    const char *vmx = NULL;

    for (guint i = 0; i < G_N_ELEMENTS(pairs); i++) {
        g_assert_cmpstr(vm_guest_os_to_api(pairs[i].vmx), ==, pairs[i].api);
        g_assert_true(vm_guest_os_from_api(pairs[i].api, &vmx));
        g_assert_cmpstr(vmx, ==, pairs[i].vmx);
    }
    /* The vmx side is case-insensitive, as VMware reads it. */
    g_assert_cmpstr(vm_guest_os_to_api("RHEL5"), ==, "RHEL_5");
    g_assert_cmpstr(vm_guest_os_to_api("Windows2019SrvNext-64"), ==, "WINDOWS_2019SERVER_NEXT_64");
    g_assert_cmpstr(vm_guest_os_to_api("plan9"), ==, "OTHER");
    g_assert_cmpstr(vm_guest_os_to_api(NULL), ==, "OTHER");
    g_assert_false(vm_guest_os_from_api("PLAN9_64", &vmx));
    g_assert_false(vm_guest_os_from_api(NULL, &vmx));
}

static void
test_mac(void)
{
    static const struct { guint32 bits; const char *mac; } gen[] = {
        { 0, "00:50:56:00:00:00" },
        { 0x123456, "00:50:56:12:34:56" },
        { 0xffffffff, "00:50:56:3f:ff:ff" },
        { 0x00c0ffee, "00:50:56:00:ff:ee" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(gen); i++) {
        g_autofree char *mac = vm_mac_generate(gen[i].bits);
        g_assert_cmpstr(mac, ==, gen[i].mac);
        g_assert_true(vm_mac_is_valid(mac));
    }
    static const struct { const char *mac; gboolean ok; } valid[] = {
        { "00:0c:29:27:c4:8b", TRUE },
        { "00:50:56:AB:cd:EF", TRUE },
        { "02:00:00:00:00:01", TRUE },
        { "00:00:00:00:00:00", FALSE },
        { "ff:ff:ff:ff:ff:ff", FALSE },
        { "01:00:5e:00:00:01", FALSE },
        { "00:50:56:12:34", FALSE },
        { "00:50:56:12:34:567", FALSE },
        { "00-50-56-12-34-56", FALSE },
        { "00:50:56:12:34:5g", FALSE },
        { "", FALSE },
        { NULL, FALSE },
    };
    for (guint i = 0; i < G_N_ELEMENTS(valid); i++)
        g_assert_cmpint(vm_mac_is_valid(valid[i].mac), ==, valid[i].ok);
}

static void
test_uuid(void)
{
    g_autofree char *vmx = vm_uuid_to_vmx("564dfd52-65f4-71df-e4c8-668eb127c48b");
    g_autofree char *canon = vm_uuid_from_vmx("56 4d fd 52 65 f4 71 df-e4 c8 66 8e b1 27 c4 8b");
    g_autofree char *upper = vm_uuid_from_vmx("42 25 6E C1 00 11 22 33-44 55 66 77 88 99 AA BB");
    g_autofree char *up_in = vm_uuid_to_vmx("564DFD52-65F4-71DF-E4C8-668EB127C48B");
    g_autofree char *back = NULL;

    g_assert_cmpstr(vmx, ==, "56 4d fd 52 65 f4 71 df-e4 c8 66 8e b1 27 c4 8b");
    g_assert_cmpstr(canon, ==, "564dfd52-65f4-71df-e4c8-668eb127c48b");
    g_assert_cmpstr(upper, ==, "42256ec1-0011-2233-4455-66778899aabb");
    g_assert_cmpstr(up_in, ==, vmx);
    back = vm_uuid_from_vmx(vmx);
    g_assert_cmpstr(back, ==, "564dfd52-65f4-71df-e4c8-668eb127c48b");

    static const char *const bad_vmx[] = {
        "56 4d fd 52 65 f4 71 df-e4 c8 66 8e b1 27 c4",
        "56 4d fd 52 65 f4 71 df-e4 c8 66 8e b1 27 c4 8b 00",
        "56 4d fd 52 65 f4 71 df-e4 c8 66 8e b1 27 c4 8x",
        "", "not a uuid",
    };
    for (guint i = 0; i < G_N_ELEMENTS(bad_vmx); i++)
        g_assert_null(vm_uuid_from_vmx(bad_vmx[i]));
    g_assert_null(vm_uuid_from_vmx(NULL));
    g_assert_null(vm_uuid_to_vmx("564dfd52-65f4-71df-e4c8"));
    g_assert_null(vm_uuid_to_vmx("564dfd5265f471dfe4c8668eb127c48b0"));
    g_assert_null(vm_uuid_to_vmx(NULL));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vm-config/string-tables", test_string_tables);
    g_test_add_func("/vm-config/device-nodes", test_device_nodes);
    g_test_add_func("/vm-config/device-keys", test_device_keys);
    g_test_add_func("/vm-config/copy-and-lookup", test_copy_and_lookup);
    g_test_add_func("/vm-config/sort", test_sort);
    g_test_add_func("/vm-config/validate", test_validate);
    g_test_add_func("/vm-config/guest-os", test_guest_os);
    g_test_add_func("/vm-config/mac", test_mac);
    g_test_add_func("/vm-config/uuid", test_uuid);
    return g_test_run();
}
