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

/* Fails only on what makes the file unusable: a device position or a count
 * that is out of range, an unknown scsiN.virtualDev, a malformed uuid.bios
 * is kept out (warning not error). The message names the key. */
VmConfig *vm_config_from_vmx(const Vmx *vmx, GError **error);

/* Writes config into vmx: displayName, guestOS, virtualHW.version, numvcpus,
 * cpuid.coresPerSocket, memSize, firmware, nvram, uuid.bios, vc.uuid,
 * scsiN.*, sataN.present, nvmeN.present, every disk/CD-ROM position key,
 * ethernetN.*, guestinfo.vireo.customization, annotation. Keys of devices no
 * longer in config are removed. */
void vm_config_to_vmx(const VmConfig *config, Vmx *vmx);

G_END_DECLS
