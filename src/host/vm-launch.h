/* vm-launch.h — everything a VM needs around QEMU before it starts and after
 * it stops: its run folder, resolved disk and ISO paths, tap ports on the
 * port groups' bridges, the customization file, EFI variables, and the argv.
 */
#pragma once

#include "vm.h"

G_BEGIN_DECLS

typedef struct VmLaunch VmLaunch;

/* Prepares a launch (creates taps, run folder, nvram); resume: start with
 * -incoming defer. On failure nothing is left behind. */
VmLaunch *vm_launch_prepare(Vm *vm, gboolean resume, GError **error);
const char *const *vm_launch_argv(VmLaunch *launch);
void vm_launch_free(VmLaunch *launch);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmLaunch, vm_launch_free)

char *vm_launch_qmp_socket(Vm *vm);
char *vm_launch_agent_socket(Vm *vm);
char *vm_launch_pid_file(Vm *vm);

/* Removes the taps and run-time files of a VM whose QEMU is gone. */
void vm_launch_cleanup(Vm *vm);

/* Resolves a disk's .vmdk to its data file and QEMU format. */
gboolean vm_launch_resolve_disk(Vm *vm, const VmDisk *disk, char **out_descriptor,
                                char **out_data, const char **out_format, GError **error);

G_END_DECLS
