/* vm-config-vmx.h — a VmConfig from a .vmx, and back.
 *
 * Reading is lenient as VMware is: unknown keys are kept, absent ones take
 * VMware's defaults (1 vCPU, 32 MiB ... as ESXi assumes), devices with
 * present = "FALSE" are ignored. Writing merges: the keys Vireo models are
 * rewritten from the VmConfig, every other key of the Vmx stays as it was.
 */
#pragma once

#include <glib.h>
#include "vm-config.h"
#include "vmx.h"

G_BEGIN_DECLS

/* VMware's defaults for absent keys: guestOS "other", virtualHW.version 4,
 * numvcpus 1, cpuid.coresPerSocket 1, memSize 32, firmware BIOS,
 * scsiN.virtualDev lsilogic, ethernetN.virtualDev e1000, addressType
 * generated, startConnected TRUE, disk mode persistent. name is NULL when
 * displayName is absent (the caller names the VM).
 * Devices: only `present = "TRUE"` ones. A disk is deviceType scsi-hardDisk /
 * ata-hardDisk / disk, or no deviceType and a fileName ending in .vmdk; a
 * CD-ROM is cdrom-image (ISO_FILE), atapi-cdrom / cdrom-raw with a /dev/ or
 * /vmfs/devices/ path (HOST_DEVICE), otherwise or with clientDevice TRUE
 * CLIENT_DEVICE. Anything else at a position (scsi-passthru, a device on a
 * controller that is not present) is not modelled and its keys are kept.
 * Fails (VIREO_ERROR_INVALID_ARGUMENT, the message names the key) only on
 * what makes the file unusable: a device position or a count out of range
 * (e.g. scsi0:16, ethernet10, numvcpus 0), an unknown scsiN.virtualDev or
 * ethernetN.virtualDev, a firmware other than bios/efi. A malformed uuid.bios
 * or vc.uuid is left out of the config (and left alone in the file). */
VmConfig *vm_config_from_vmx(const Vmx *vmx, GError **error);

/* Writes config into vmx: displayName, guestOS, virtualHW.version, numvcpus,
 * cpuid.coresPerSocket, memSize, firmware, uefi.secureBoot.enabled, nvram,
 * uuid.bios, vc.uuid (a NULL uuid leaves the key alone), scsiN.present/
 * virtualDev, sataN.present, nvmeN.present, every disk/CD-ROM position key,
 * ethernetN.*, guestinfo.vireo.customization, annotation. Keys of devices
 * and controllers no longer in config are removed (with their sched.* keys);
 * values that already say what the config says stay as written, so merging
 * an unchanged config only adds what was implicit (cpuid.coresPerSocket,
 * config.version). A NIC moved to a named port group
 * loses its dvs.* keys. Does not validate: call vm_config_validate() first. */
void vm_config_to_vmx(const VmConfig *config, Vmx *vmx);

G_END_DECLS
