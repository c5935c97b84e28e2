/* vm-power.h — power operations on a VM (the state machine drawn in vm.h),
 * guest operations through vireo-tools, and recovery after a restart.
 *
 * Every operation completes through a VmDoneFunc, called exactly once from the
 * main loop: error NULL on success.
 */
#pragma once

#include <json-glib/json-glib.h>
#include "vm.h"

G_BEGIN_DECLS

typedef void (*VmDoneFunc)(Vm *vm, const GError *error, gpointer user_data);

/* After loading a VM: re-attach to its QEMU if one still runs, else find
 * whether it is suspended or powered off (and why). */
void vm_power_recover(Vm *vm);

void vm_power_start(Vm *vm, VmDoneFunc done, gpointer user_data);   /* boots, or resumes a suspended VM */
void vm_power_stop(Vm *vm, VmDoneFunc done, gpointer user_data);    /* hard power-off */
void vm_power_suspend(Vm *vm, VmDoneFunc done, gpointer user_data);
void vm_power_reset(Vm *vm, VmDoneFunc done, gpointer user_data);

/* command: "shutdown" | "reboot" | "freeze" | "thaw". */
void vm_guest_command(Vm *vm, const char *command, VmDoneFunc done, gpointer user_data);

/* For vm-migrate.c: a QEMU started for this VM (watched as any other: its
 * exit turns the VM off), and its monitor (events, guest agent channel). */
void vm_power_attach_process(Vm *vm, QemuProcess *process);
void vm_power_attach_channels(Vm *vm, QmpClient *qmp);

/* Polls the VM's migration stream (suspend, resume, live migration) every
 * interval_ms until it ends: info is query-migrate's answer once completed
 * (borrowed), error says why it failed, was cancelled, or QEMU went away.
 * The VM must stay registered (held busy) until done runs. */
typedef void (*VmMigrationWaitFunc)(Vm *vm, JsonObject *info, const GError *error, gpointer data);
void vm_migration_wait(Vm *vm, guint interval_ms, VmMigrationWaitFunc done, gpointer data);

/* Memory of the VMs that run on this host now, in MiB. */
gint64 vm_power_memory_in_use(Host *host);

G_END_DECLS
