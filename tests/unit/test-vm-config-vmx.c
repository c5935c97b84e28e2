/* test-vm-config-vmx.c — .vmx <-> VmConfig: VMware's defaults, the corpus,
 * spot checks of real files, merging that keeps unknown keys, round trips.
 */
#include "vm-config-vmx.h"
#include "vireo-error.h"

#include <string.h>

static Vmx *
vmx_of(const char *text)
{
    g_autoptr(GError) error = NULL;
    Vmx *vmx = vmx_parse(text, strlen(text), &error);

    g_assert_no_error(error);
    return vmx;
}

static VmConfig *
config_of(const char *text)
{
    g_autoptr(Vmx) vmx = vmx_of(text);
    g_autoptr(GError) error = NULL;
    VmConfig *config = vm_config_from_vmx(vmx, &error);

    g_assert_no_error(error);
    g_assert_nonnull(config);
    return config;
}

static Vmx *
load_corpus(const char *rel)
{
    const char *corpus = g_getenv("VIREO_CORPUS");
    g_autofree char *path = g_build_filename(corpus, "vmx", rel, NULL);
    g_autoptr(GError) error = NULL;
    Vmx *vmx = vmx_load(path, &error);

    g_assert_no_error(error);
    return vmx;
}

/* Every field both directions carry (capacity and template are not in the .vmx). */
static void
assert_same_config(const VmConfig *a, const VmConfig *b)
{
    g_assert_cmpstr(a->name, ==, b->name);
    g_assert_cmpstr(a->guest_os, ==, b->guest_os);
    g_assert_cmpint(a->hardware_version, ==, b->hardware_version);
    g_assert_cmpint(a->cpu_count, ==, b->cpu_count);
    g_assert_cmpint(a->cores_per_socket, ==, b->cores_per_socket);
    g_assert_cmpint(a->memory_mib, ==, b->memory_mib);
    g_assert_cmpint(a->firmware, ==, b->firmware);
    g_assert_cmpint(a->efi_secure_boot, ==, b->efi_secure_boot);
    g_assert_cmpstr(a->nvram, ==, b->nvram);
    g_assert_cmpstr(a->uuid_bios, ==, b->uuid_bios);
    g_assert_cmpstr(a->uuid_instance, ==, b->uuid_instance);
    g_assert_cmpstr(a->annotation, ==, b->annotation);
    g_assert_cmpstr(a->customization, ==, b->customization);
    g_assert_cmpint(a->sata_adapters, ==, b->sata_adapters);
    g_assert_cmpint(a->nvme_adapters, ==, b->nvme_adapters);
    g_assert_cmpuint(a->scsi_adapters->len, ==, b->scsi_adapters->len);
    for (guint i = 0; i < a->scsi_adapters->len; i++) {
        const VmScsiAdapter *x = a->scsi_adapters->pdata[i], *y = b->scsi_adapters->pdata[i];
        g_assert_cmpint(x->index, ==, y->index);
        g_assert_cmpint(x->type, ==, y->type);
    }
    g_assert_cmpuint(a->disks->len, ==, b->disks->len);
    for (guint i = 0; i < a->disks->len; i++) {
        const VmDisk *x = a->disks->pdata[i], *y = b->disks->pdata[i];
        g_assert_cmpint(vm_disk_key(x->bus, x->controller, x->unit), ==,
                        vm_disk_key(y->bus, y->controller, y->unit));
        g_assert_cmpstr(x->file_name, ==, y->file_name);
        g_assert_cmpint(x->mode, ==, y->mode);
    }
    g_assert_cmpuint(a->cdroms->len, ==, b->cdroms->len);
    for (guint i = 0; i < a->cdroms->len; i++) {
        const VmCdrom *x = a->cdroms->pdata[i], *y = b->cdroms->pdata[i];
        g_assert_cmpint(vm_disk_key(x->bus, x->controller, x->unit), ==,
                        vm_disk_key(y->bus, y->controller, y->unit));
        g_assert_cmpint(x->backing, ==, y->backing);
        g_assert_cmpstr(x->file_name, ==, y->file_name);
        g_assert_cmpint(x->start_connected, ==, y->start_connected);
    }
    g_assert_cmpuint(a->nics->len, ==, b->nics->len);
    for (guint i = 0; i < a->nics->len; i++) {
        const VmNic *x = a->nics->pdata[i], *y = b->nics->pdata[i];
        g_assert_cmpint(x->index, ==, y->index);
        g_assert_cmpint(x->type, ==, y->type);
        g_assert_cmpstr(x->network_name, ==, y->network_name);
        g_assert_cmpint(x->mac_type, ==, y->mac_type);
        g_assert_cmpstr(x->mac_address, ==, y->mac_address);
        g_assert_cmpint(x->start_connected, ==, y->start_connected);
    }
}

static void
test_defaults(void)
{
    g_autoptr(VmConfig) empty = config_of("");
    g_autoptr(VmConfig) c = config_of(
        "scsi0.present = \"TRUE\"\n"
        "scsi0:0.present = \"TRUE\"\n"
        "scsi0:0.fileName = \"a.VMDK\"\n"
        "scsi0:1.present = \"TRUE\"\n"
        "scsi0:1.deviceType = \"scsi-passthru\"\n"
        "scsi0:2.present = \"FALSE\"\n"
        "scsi0:2.fileName = \"gone.vmdk\"\n"
        "scsi1:0.present = \"TRUE\"\n"
        "scsi1:0.fileName = \"no-controller.vmdk\"\n"
        "ide1:0.present = \"TRUE\"\n"
        "ide1:0.deviceType = \"atapi-cdrom\"\n"
        "ide1:0.fileName = \"auto detect\"\n"
        "ethernet0.present = \"TRUE\"\n"
        "ethernet1.present = \"FALSE\"\n"
        "ethernet1.virtualDev = \"bogus\"\n");
    VmNic *nic;
    VmCdrom *cd;

    g_assert_null(empty->name);
    g_assert_cmpstr(empty->guest_os, ==, "other");
    g_assert_cmpint(empty->hardware_version, ==, 4);
    g_assert_cmpint(empty->cpu_count, ==, 1);
    g_assert_cmpint(empty->cores_per_socket, ==, 1);
    g_assert_cmpint(empty->memory_mib, ==, 32);
    g_assert_cmpint(empty->firmware, ==, VM_FIRMWARE_BIOS);
    g_assert_cmpuint(empty->disks->len + empty->cdroms->len + empty->nics->len, ==, 0);

    /* An absent virtualDev is lsilogic for SCSI and e1000 for NICs, as VMware assumes. */
    g_assert_cmpuint(c->scsi_adapters->len, ==, 1);
    g_assert_cmpint(vm_config_find_scsi(c, 0)->type, ==, VM_SCSI_LSILOGIC);
    g_assert_cmpuint(c->disks->len, ==, 1);
    g_assert_cmpstr(vm_config_find_disk(c, VM_BUS_SCSI, 0, 0)->file_name, ==, "a.VMDK");
    g_assert_cmpint(vm_config_find_disk(c, VM_BUS_SCSI, 0, 0)->mode, ==, VM_DISK_MODE_PERSISTENT);
    g_assert_cmpint(vm_config_find_disk(c, VM_BUS_SCSI, 0, 0)->capacity_bytes, ==, -1);
    cd = vm_config_find_cdrom(c, VM_BUS_IDE, 1, 0);
    g_assert_nonnull(cd);
    g_assert_cmpint(cd->backing, ==, VM_CDROM_CLIENT_DEVICE);
    g_assert_true(cd->start_connected);
    g_assert_cmpuint(c->nics->len, ==, 1);
    nic = vm_config_find_nic(c, 0);
    g_assert_cmpint(nic->type, ==, VM_NIC_E1000);
    g_assert_cmpint(nic->mac_type, ==, VM_MAC_GENERATED);
    g_assert_null(nic->mac_address);
    g_assert_null(nic->network_name);
    g_assert_true(nic->start_connected);
}

static void
test_refused(void)
{
    static const struct { const char *text; const char *in_message; } cases[] = {
        { "numvcpus = \"0\"\n", "numvcpus" },
        { "numvcpus = \"129\"\n", "numvcpus" },
        { "cpuid.coresPerSocket = \"0\"\n", "cpuid.coresPerSocket" },
        { "memSize = \"0\"\n", "memSize" },
        { "firmware = \"coreboot\"\n", "firmware" },
        { "scsi0.present = \"TRUE\"\nscsi0.virtualDev = \"lsi53c895a\"\n", "scsi0.virtualDev" },
        { "scsi4.present = \"TRUE\"\n", "scsi4.present" },
        { "ethernet0.present = \"TRUE\"\nethernet0.virtualDev = \"rtl8139\"\n", "ethernet0.virtualDev" },
        { "ethernet10.present = \"TRUE\"\n", "ethernet10.present" },
        { "scsi0.present = \"TRUE\"\nscsi0:7.present = \"TRUE\"\nscsi0:7.fileName = \"a.vmdk\"\n", "scsi0:7" },
        { "sata0.present = \"TRUE\"\nsata0:30.present = \"TRUE\"\n", "sata0:30" },
        { "ide0:2.present = \"TRUE\"\n", "ide0:2" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(Vmx) vmx = vmx_of(cases[i].text);
        g_autoptr(GError) error = NULL;
        g_autoptr(VmConfig) config = vm_config_from_vmx(vmx, &error);

        g_test_message("case %u: %s", i, error ? error->message : "(mapped)");
        g_assert_null(config);
        g_assert_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT);
        g_assert_nonnull(strstr(error->message, cases[i].in_message));
    }
}

/* Files of the corpus Vireo cannot map, and why. */
static const struct { const char *file; const char *in_message; } corpus_refused[] = {
    /* pvscsi's 64-target mode (hardware version 14+): unit 16 has no place in
     * Vireo's 16-units-per-controller device keys. */
    { "vmx2xml-esx-in-the-wild-11.vmx", "scsi0:16" },
};

static void
test_corpus(void)
{
    const char *corpus = g_getenv("VIREO_CORPUS");
    static const char *const subdirs[] = { "esxi", "libvirt" };
    int mapped = 0, refused = 0;

    if (corpus == NULL) {
        g_test_skip("VIREO_CORPUS is not set");
        return;
    }
    for (guint s = 0; s < G_N_ELEMENTS(subdirs); s++) {
        g_autofree char *dir = g_build_filename(corpus, "vmx", subdirs[s], NULL);
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        const char *name;

        g_assert_nonnull(d);
        while ((name = g_dir_read_name(d)) != NULL) {
            g_autofree char *rel = g_build_filename(subdirs[s], name, NULL);
            g_autoptr(Vmx) vmx = NULL;
            g_autoptr(Vmx) merged = NULL;
            g_autoptr(Vmx) fresh = vmx_new();
            g_autoptr(VmConfig) config = NULL;
            g_autoptr(VmConfig) again = NULL;
            g_autoptr(VmConfig) again_fresh = NULL;
            g_autoptr(GError) error = NULL;
            const char *expected_error = NULL;

            if (!g_str_has_suffix(name, ".vmx"))
                continue;
            for (guint i = 0; i < G_N_ELEMENTS(corpus_refused); i++)
                if (g_str_equal(name, corpus_refused[i].file))
                    expected_error = corpus_refused[i].in_message;
            vmx = load_corpus(rel);
            config = vm_config_from_vmx(vmx, &error);
            g_test_message("corpus %s: %s", rel, error ? error->message : "mapped");
            if (expected_error != NULL) {
                g_assert_null(config);
                g_assert_nonnull(strstr(error->message, expected_error));
                refused++;
                continue;
            }
            g_assert_no_error(error);
            /* Writing the unchanged config back into the file changes nothing Vireo reads. */
            merged = load_corpus(rel);
            vm_config_to_vmx(config, merged);
            again = vm_config_from_vmx(merged, &error);
            g_assert_no_error(error);
            assert_same_config(config, again);
            /* And a fresh .vmx written from it says the same. */
            vm_config_to_vmx(config, fresh);
            again_fresh = vm_config_from_vmx(fresh, &error);
            g_assert_no_error(error);
            assert_same_config(config, again_fresh);
            mapped++;
        }
    }
    g_assert_cmpint(mapped, >=, 30);
    g_assert_cmpint(refused, ==, G_N_ELEMENTS(corpus_refused));
}

static void
test_sample(void)
{
    g_autoptr(Vmx) vmx = NULL;
    g_autoptr(VmConfig) c = NULL;
    VmDisk *disk;
    VmCdrom *cd;
    VmNic *nic;

    if (g_getenv("VIREO_CORPUS") == NULL) {
        g_test_skip("VIREO_CORPUS is not set");
        return;
    }
    vmx = load_corpus("esxi/sample.vmx");
    c = vm_config_from_vmx(vmx, NULL);
    g_assert_nonnull(c);
    g_assert_cmpstr(c->name, ==, "test flo");
    g_assert_cmpstr(c->guest_os, ==, "ubuntu-64");
    g_assert_cmpstr(vm_guest_os_to_api(c->guest_os), ==, "UBUNTU_64");
    g_assert_cmpint(c->hardware_version, ==, 11);
    g_assert_cmpint(c->cpu_count, ==, 2);
    g_assert_cmpint(c->memory_mib, ==, 1024);
    g_assert_cmpint(c->firmware, ==, VM_FIRMWARE_BIOS);
    g_assert_cmpstr(c->nvram, ==, "test flo.nvram");
    g_assert_cmpstr(c->uuid_bios, ==, "564dfd52-65f4-71df-e4c8-668eb127c48b");
    g_assert_cmpstr(c->uuid_instance, ==, "5253bd47-4ea1-ba91-ddc2-1504b1063592");
    g_assert_cmpuint(c->scsi_adapters->len, ==, 1);
    g_assert_cmpint(vm_config_find_scsi(c, 0)->type, ==, VM_SCSI_LSILOGIC);
    g_assert_cmpint(c->sata_adapters, ==, 1);
    g_assert_cmpint(c->nvme_adapters, ==, 0);
    g_assert_cmpuint(c->disks->len, ==, 1);
    disk = vm_config_find_disk(c, VM_BUS_SCSI, 0, 0);
    g_assert_cmpstr(disk->file_name, ==, "test flo_0-000004.vmdk");
    g_assert_cmpuint(c->cdroms->len, ==, 1);
    cd = vm_config_find_cdrom(c, VM_BUS_SATA, 0, 0);
    g_assert_cmpint(cd->backing, ==, VM_CDROM_ISO_FILE);
    g_assert_cmpstr(cd->file_name, ==,
                    "/vmfs/volumes/636a25ed-0b37afee-60ef-3cfdfe75e770/ISO/ubuntu-22.04.1-live-server-amd64.iso");
    g_assert_cmpuint(c->nics->len, ==, 1);
    nic = vm_config_find_nic(c, 0);
    g_assert_cmpint(nic->type, ==, VM_NIC_VMXNET3);
    g_assert_cmpstr(nic->network_name, ==, "VM Network");
    g_assert_cmpint(nic->mac_type, ==, VM_MAC_GENERATED);
    g_assert_cmpstr(nic->mac_address, ==, "00:0c:29:27:c4:8b");
    g_assert_true(vm_config_validate(c, NULL));
}

static void
test_other_files(void)
{
    g_autoptr(Vmx) upper_vmx = NULL, efi_vmx = NULL, max_vmx = NULL, vds_vmx = NULL, nvme_vmx = NULL;
    g_autoptr(VmConfig) upper = NULL, efi = NULL, max = NULL, vds = NULL, nvme = NULL;
    VmCdrom *cd;

    if (g_getenv("VIREO_CORPUS") == NULL) {
        g_test_skip("VIREO_CORPUS is not set");
        return;
    }
    upper_vmx = load_corpus("libvirt/vmx2xml-case-insensitive-1.vmx");
    upper = vm_config_from_vmx(upper_vmx, NULL);
    g_assert_cmpstr(upper->name, ==, "FEDORA11");
    g_assert_cmpstr(vm_guest_os_to_api(upper->guest_os), ==, "RHEL_5");
    g_assert_cmpint(vm_config_find_scsi(upper, 0)->type, ==, VM_SCSI_LSILOGIC);
    g_assert_cmpstr(vm_config_find_disk(upper, VM_BUS_SCSI, 0, 0)->file_name, ==, "FEDORA11.VMDK");
    cd = vm_config_find_cdrom(upper, VM_BUS_IDE, 0, 0);
    g_assert_cmpint(cd->backing, ==, VM_CDROM_CLIENT_DEVICE);
    g_assert_false(cd->start_connected);
    g_assert_cmpint(vm_config_find_nic(upper, 0)->type, ==, VM_NIC_E1000);
    g_assert_cmpstr(vm_config_find_nic(upper, 0)->mac_address, ==, "00:50:56:91:48:c7");
    g_assert_cmpstr(vm_config_find_nic(upper, 0)->network_name, ==, "VM NETWORK");

    efi_vmx = load_corpus("libvirt/vmx2xml-firmware-efi.vmx");
    efi = vm_config_from_vmx(efi_vmx, NULL);
    g_assert_cmpint(efi->firmware, ==, VM_FIRMWARE_EFI);

    max_vmx = load_corpus("libvirt/scsi-driver-max.vmx");
    max = vm_config_from_vmx(max_vmx, NULL);
    g_assert_cmpint(vm_config_find_scsi(max, 0)->type, ==, VM_SCSI_PVSCSI);
    g_assert_cmpuint(max->disks->len, ==, 15);
    g_assert_cmpstr(((VmDisk *)max->disks->pdata[14])->file_name, ==, "harddisk15.vmdk");
    g_assert_null(vm_config_find_disk(max, VM_BUS_SCSI, 0, 7));

    vds_vmx = load_corpus("libvirt/ethernet-vds.vmx");
    vds = vm_config_from_vmx(vds_vmx, NULL);
    g_assert_cmpint(vm_config_find_nic(vds, 0)->type, ==, VM_NIC_E1000E);
    g_assert_null(vm_config_find_nic(vds, 0)->network_name);
    g_assert_cmpstr(vm_config_find_nic(vds, 0)->mac_address, ==, "00:50:56:87:65:43");

    nvme_vmx = load_corpus("libvirt/esx-in-the-wild-16.vmx");
    nvme = vm_config_from_vmx(nvme_vmx, NULL);
    g_assert_cmpint(nvme->nvme_adapters, ==, 1);
    g_assert_cmpstr(vm_config_find_disk(nvme, VM_BUS_NVME, 0, 0)->file_name, ==,
                    "Auto-esx8.0-rhel9.4-efi-nvme-disk.vmdk");
    g_assert_cmpint(nvme->firmware, ==, VM_FIRMWARE_EFI);
    g_assert_cmpint(vm_config_find_cdrom(nvme, VM_BUS_SATA, 0, 0)->backing, ==, VM_CDROM_CLIENT_DEVICE);
    g_assert_false(vm_config_find_cdrom(nvme, VM_BUS_SATA, 0, 0)->start_connected);
    g_assert_true(vm_config_validate(nvme, NULL));
}

/* Merging the unchanged config into ESXi's file adds only what was implicit. */
static void
test_merge_unchanged(void)
{
    g_autoptr(Vmx) vmx = NULL, original = NULL;
    g_autoptr(VmConfig) c = NULL;
    g_autoptr(GPtrArray) keys = NULL;
    g_autoptr(GPtrArray) orig_keys = NULL;

    if (g_getenv("VIREO_CORPUS") == NULL) {
        g_test_skip("VIREO_CORPUS is not set");
        return;
    }
    vmx = load_corpus("esxi/sample.vmx");
    original = load_corpus("esxi/sample.vmx");
    c = vm_config_from_vmx(vmx, NULL);
    vm_config_to_vmx(c, vmx);
    keys = vmx_keys(vmx);
    orig_keys = vmx_keys(original);
    g_assert_cmpuint(keys->len, ==, orig_keys->len + 1);
    for (guint i = 0; i < orig_keys->len; i++) {
        g_assert_cmpstr(keys->pdata[i], ==, orig_keys->pdata[i]);
        g_assert_cmpstr(vmx_get(vmx, keys->pdata[i]), ==, vmx_get(original, keys->pdata[i]));
    }
    g_assert_cmpstr(keys->pdata[keys->len - 1], ==, "cpuid.coresPerSocket");
}

static void
test_merge_changes(void)
{
    g_autoptr(Vmx) vmx = NULL;
    g_autoptr(VmConfig) c = NULL;
    g_autoptr(VmConfig) back = NULL;
    VmNic *nic;
    VmScsiAdapter *pv = g_new0(VmScsiAdapter, 1);

    if (g_getenv("VIREO_CORPUS") == NULL) {
        g_test_skip("VIREO_CORPUS is not set");
        g_free(pv);
        return;
    }
    vmx = load_corpus("libvirt/ethernet-vds.vmx");
    c = vm_config_from_vmx(vmx, NULL);
    /* Move the NIC from the distributed switch to a port group, with a manual MAC. */
    nic = vm_config_find_nic(c, 0);
    nic->network_name = g_strdup("VM Network");
    nic->mac_type = VM_MAC_MANUAL;
    g_free(nic->mac_address);
    nic->mac_address = g_strdup("00:50:56:3f:00:01");
    g_ptr_array_add(c->nics, vm_nic_new(3, VM_NIC_VMXNET3, "backend"));
    pv->index = 1;
    pv->type = VM_SCSI_PVSCSI;
    g_ptr_array_add(c->scsi_adapters, pv);
    g_ptr_array_add(c->disks, vm_disk_new(VM_BUS_SCSI, 1, 3, "data.vmdk"));
    vm_config_to_vmx(c, vmx);

    g_assert_null(vmx_get(vmx, "ethernet0.dvs.switchId"));
    g_assert_null(vmx_get(vmx, "ethernet0.dvs.portgroupId"));
    g_assert_null(vmx_get(vmx, "ethernet0.generatedAddress"));
    g_assert_cmpstr(vmx_get(vmx, "ethernet0.addressType"), ==, "static");
    g_assert_cmpstr(vmx_get(vmx, "ethernet0.address"), ==, "00:50:56:3f:00:01");
    g_assert_cmpstr(vmx_get(vmx, "ethernet0.networkName"), ==, "VM Network");
    g_assert_cmpstr(vmx_get(vmx, "ethernet3.virtualDev"), ==, "vmxnet3");
    g_assert_cmpstr(vmx_get(vmx, "scsi1.virtualDev"), ==, "pvscsi");
    g_assert_cmpstr(vmx_get(vmx, "scsi1:3.fileName"), ==, "data.vmdk");
    g_assert_cmpstr(vmx_get(vmx, "scsi1:3.deviceType"), ==, "scsi-hardDisk");
    back = vm_config_from_vmx(vmx, NULL);
    assert_same_config(c, back);
}

static void
test_merge_removes(void)
{
    g_autoptr(Vmx) vmx = NULL;
    g_autoptr(VmConfig) c = NULL;
    g_autoptr(VmConfig) back = NULL;
    g_autoptr(GPtrArray) keys = NULL;

    if (g_getenv("VIREO_CORPUS") == NULL) {
        g_test_skip("VIREO_CORPUS is not set");
        return;
    }
    vmx = load_corpus("esxi/sample.vmx");
    c = vm_config_from_vmx(vmx, NULL);
    g_ptr_array_set_size(c->disks, 0);
    g_ptr_array_set_size(c->nics, 0);
    g_ptr_array_set_size(c->cdroms, 0);
    g_ptr_array_set_size(c->scsi_adapters, 0);
    c->sata_adapters = 0;
    g_clear_pointer(&c->nvram, g_free);
    vm_config_to_vmx(c, vmx);

    keys = vmx_keys(vmx);
    for (guint i = 0; i < keys->len; i++) {
        const char *k = keys->pdata[i];
        g_test_message("kept %s", k);
        g_assert_false(g_str_has_prefix(k, "scsi0"));
        g_assert_false(g_str_has_prefix(k, "sched.scsi0:0."));
        g_assert_false(g_str_has_prefix(k, "sata0"));
        g_assert_false(g_str_has_prefix(k, "ethernet0"));
    }
    g_assert_null(vmx_get(vmx, "nvram"));
    /* Keys Vireo does not model are untouched. */
    g_assert_cmpstr(vmx_get(vmx, "tools.syncTime"), ==, "FALSE");
    g_assert_cmpstr(vmx_get(vmx, "usb:1.deviceType"), ==, "hub");
    g_assert_cmpstr(vmx_get(vmx, "pciBridge4.virtualDev"), ==, "pcieRootPort");
    back = vm_config_from_vmx(vmx, NULL);
    assert_same_config(c, back);
}

/* A device Vireo does not model keeps its keys; a disk placed there replaces it. */
static void
test_unmodelled_device(void)
{
    g_autoptr(Vmx) vmx = vmx_of("scsi0.present = \"TRUE\"\nscsi0.virtualDev = \"pvscsi\"\n"
                                "scsi0:1.present = \"TRUE\"\nscsi0:1.deviceType = \"scsi-passthru\"\n"
                                "scsi0:1.fileName = \"/vmfs/devices/genscsi/x\"\n"
                                "scsi0:2.present = \"TRUE\"\nscsi0:2.deviceType = \"scsi-passthru\"\n");
    g_autoptr(VmConfig) c = vm_config_from_vmx(vmx, NULL);

    g_assert_cmpuint(c->disks->len, ==, 0);
    g_ptr_array_add(c->disks, vm_disk_new(VM_BUS_SCSI, 0, 2, "d.vmdk"));
    vm_config_to_vmx(c, vmx);
    g_assert_cmpstr(vmx_get(vmx, "scsi0:1.deviceType"), ==, "scsi-passthru");
    g_assert_cmpstr(vmx_get(vmx, "scsi0:1.fileName"), ==, "/vmfs/devices/genscsi/x");
    g_assert_cmpstr(vmx_get(vmx, "scsi0:2.deviceType"), ==, "scsi-hardDisk");
    g_assert_cmpstr(vmx_get(vmx, "scsi0:2.fileName"), ==, "d.vmdk");
}

static VmConfig *
full_config(void)
{
    VmConfig *c = vm_config_new();
    VmScsiAdapter *a0 = g_new0(VmScsiAdapter, 1), *a2 = g_new0(VmScsiAdapter, 1);
    VmDisk *d;
    VmCdrom *cd;
    VmNic *n;

    c->name = g_strdup("web \"01\" | 100% /x\\y\nz");
    c->guest_os = (g_free(c->guest_os), g_strdup("debian12-64"));
    c->hardware_version = 19;
    c->cpu_count = 4;
    c->cores_per_socket = 2;
    c->memory_mib = 2048;
    c->firmware = VM_FIRMWARE_EFI;
    c->efi_secure_boot = TRUE;
    c->nvram = g_strdup("web.nvram");
    c->uuid_bios = g_strdup("564dfd52-65f4-71df-e4c8-668eb127c48b");
    c->uuid_instance = g_strdup("5253bd47-4ea1-ba91-ddc2-1504b1063592");
    c->annotation = g_strdup("line1\nline2 \"quoted\"");
    c->customization = g_strdup("{\"hostname\":\"web\"}");
    a0->index = 0;
    a0->type = VM_SCSI_PVSCSI;
    a2->index = 2;
    a2->type = VM_SCSI_VIRTIO;
    g_ptr_array_add(c->scsi_adapters, a0);
    g_ptr_array_add(c->scsi_adapters, a2);
    c->sata_adapters = 2;
    c->nvme_adapters = 1;
    g_ptr_array_add(c->disks, vm_disk_new(VM_BUS_SCSI, 0, 0, "web.vmdk"));
    d = vm_disk_new(VM_BUS_SCSI, 2, 15, "[local1] other/data.vmdk");
    d->mode = VM_DISK_MODE_INDEPENDENT_NONPERSISTENT;
    g_ptr_array_add(c->disks, d);
    g_ptr_array_add(c->disks, vm_disk_new(VM_BUS_SATA, 1, 29, "sata.img"));
    g_ptr_array_add(c->disks, vm_disk_new(VM_BUS_NVME, 0, 0, "nvme.vmdk"));
    g_ptr_array_add(c->disks, vm_disk_new(VM_BUS_IDE, 0, 1, "ide.vmdk"));
    g_ptr_array_add(c->disks, vm_disk_new(VM_BUS_VIRTIO, 0, 4, "virtio.vmdk"));
    cd = vm_cdrom_new(VM_BUS_SATA, 0, 0);
    cd->backing = VM_CDROM_ISO_FILE;
    cd->file_name = g_strdup("[local1] iso/tiny.iso");
    g_ptr_array_add(c->cdroms, cd);
    cd = vm_cdrom_new(VM_BUS_IDE, 1, 0);
    cd->backing = VM_CDROM_HOST_DEVICE;
    cd->file_name = g_strdup("/dev/sr0");
    cd->start_connected = FALSE;
    g_ptr_array_add(c->cdroms, cd);
    g_ptr_array_add(c->cdroms, vm_cdrom_new(VM_BUS_SCSI, 0, 1));
    n = vm_nic_new(0, VM_NIC_VMXNET3, "VM Network");
    n->mac_address = g_strdup("00:50:56:12:34:56");
    g_ptr_array_add(c->nics, n);
    n = vm_nic_new(9, VM_NIC_PCNET32, "isolated");
    n->mac_type = VM_MAC_MANUAL;
    n->mac_address = g_strdup("00:50:56:3f:ff:fe");
    n->start_connected = FALSE;
    g_ptr_array_add(c->nics, n);
    g_ptr_array_add(c->nics, vm_nic_new(4, VM_NIC_VIRTIO, "p g"));
    g_ptr_array_add(c->nics, vm_nic_new(5, VM_NIC_E1000E, NULL));
    vm_config_sort_devices(c);
    return c;
}

static void
test_round_trip(void)
{
    g_autoptr(VmConfig) c = full_config();
    g_autoptr(Vmx) vmx = vmx_new();
    g_autoptr(Vmx) reparsed = NULL;
    g_autoptr(VmConfig) back = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *text = NULL;

    g_assert_true(vm_config_validate(c, &error));
    g_assert_no_error(error);
    vm_config_to_vmx(c, vmx);
    /* Through the text, as it would go through the file. */
    text = vmx_to_string(vmx);
    reparsed = vmx_parse(text, strlen(text), &error);
    g_assert_no_error(error);
    back = vm_config_from_vmx(reparsed, &error);
    g_assert_no_error(error);
    assert_same_config(c, back);

    g_assert_cmpstr(vmx_get(reparsed, "firmware"), ==, "efi");
    g_assert_cmpstr(vmx_get(reparsed, "uuid.bios"), ==, "56 4d fd 52 65 f4 71 df-e4 c8 66 8e b1 27 c4 8b");
    g_assert_cmpstr(vmx_get(reparsed, "scsi2.virtualDev"), ==, "virtio-scsi");
    g_assert_cmpstr(vmx_get(reparsed, "ethernet9.virtualDev"), ==, "vlance");
    g_assert_cmpstr(vmx_get(reparsed, "ethernet9.addressType"), ==, "static");
    g_assert_cmpstr(vmx_get(reparsed, "scsi2:15.mode"), ==, "independent-nonpersistent");
    g_assert_null(vmx_get(reparsed, "scsi0:0.mode"));
    g_assert_cmpstr(vmx_get(reparsed, "sata1:29.deviceType"), ==, "disk");
    g_assert_cmpstr(vmx_get(reparsed, "ide1:0.deviceType"), ==, "atapi-cdrom");
    g_assert_cmpstr(vmx_get(reparsed, "scsi0:1.clientDevice"), ==, "TRUE");
    g_assert_cmpstr(vmx_get(reparsed, "virtio0:4.fileName"), ==, "virtio.vmdk");
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vm-config-vmx/defaults", test_defaults);
    g_test_add_func("/vm-config-vmx/refused", test_refused);
    g_test_add_func("/vm-config-vmx/corpus", test_corpus);
    g_test_add_func("/vm-config-vmx/sample", test_sample);
    g_test_add_func("/vm-config-vmx/other-files", test_other_files);
    g_test_add_func("/vm-config-vmx/merge-unchanged", test_merge_unchanged);
    g_test_add_func("/vm-config-vmx/merge-changes", test_merge_changes);
    g_test_add_func("/vm-config-vmx/merge-removes", test_merge_removes);
    g_test_add_func("/vm-config-vmx/unmodelled-device", test_unmodelled_device);
    g_test_add_func("/vm-config-vmx/round-trip", test_round_trip);
    return g_test_run();
}
