/* host-evc.h — this host's EVC mode: the baseline the centre set for the
 * cluster the host is in (PUT /api/vireo/host/evc), kept in
 * <state_dir>/evc.json so that it survives a restart, and the CPU model a
 * VM starts with under it (recorded in its .vmx as vireo.evc.mode).
 */
#pragma once

#include <glib.h>
#include "api-server.h"
#include "evc.h"
#include "host.h"
#include "vm.h"

G_BEGIN_DECLS

/* The .vmx key a VM records the mode it was powered on at. */
#define HOST_EVC_VMX_KEY "vireo.evc.mode"

/* The host's mode, NULL when EVC is off (read from the state folder at the
 * first call). */
const EvcMode *host_evc_mode(Host *host);

/* Sets the host's mode (NULL: off) and writes it to the state folder. Only
 * the storage can fail; whether the host may take the mode is for
 * host_evc_problems(). */
gboolean host_evc_set_mode(Host *host, const EvcMode *mode, GError **error);

/* What keeps this host from taking wanted: its CPU, and (check_vms) its
 * powered-on and suspended VMs that use features wanted lacks. Sentences;
 * empty when nothing does. */
GPtrArray *host_evc_problems(Host *host, const EvcMode *wanted, gboolean check_vms,
                             gboolean *vm_in_way);

/* Chooses the -cpu model of a VM about to start (vm-launch.c): a power-on
 * takes the host's mode and records it in the .vmx (or removes a recorded
 * one when the host has none); a resume (resume from suspend, incoming
 * vMotion) keeps the recorded mode, which this host must support. *model:
 * the mode's QEMU model, or default_model when the VM runs without EVC;
 * *enforce: TRUE with a mode, so that QEMU refuses to start rather than
 * give the VM less than the baseline. FALSE when the mode cannot be run
 * here or the .vmx cannot be written. */
gboolean host_evc_launch_model(Vm *vm, gboolean resume, const char *default_model,
                               const char **model, gboolean *enforce, GError **error);

/* The mode a VM recorded at power-on, or NULL (for its GET: cpu.evc_mode). */
const char *host_evc_vm_mode(Vm *vm);

/* GET and PUT /api/vireo/host/evc (docs/evc.md). */
void api_evc_register(ApiServer *server, Host *host);

G_END_DECLS
