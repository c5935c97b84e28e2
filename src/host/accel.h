/* accel.h — choosing QEMU's accelerator: KVM only where it can run an ordinary guest. */
#pragma once

#include <glib.h>
#include "qemu-argv.h"

G_BEGIN_DECLS

/* What the host looks like, gathered by accel_probe_facts(). */
typedef struct {
    gboolean kvm_device_usable;   /* /dev/kvm exists and opens read-write */
    GStrv kvm_modules;            /* loaded modules whose name starts with "kvm" (/sys/module) */
    gboolean cpu_has_vmx_or_svm;  /* /proc/cpuinfo flags */
} AccelFacts;

void accel_facts_clear(AccelFacts *facts);
/* Reads /dev/kvm, /sys/module and /proc/cpuinfo. */
void accel_probe_facts(AccelFacts *facts);

/* requested: "auto" | "kvm" | "tcg". Pure: decides from facts. "auto" picks
 * KVM only with a usable /dev/kvm, VMX/SVM in the CPU and no paravirtual
 * flavour (kvm_pvm) loaded. "kvm" where KVM is not usable is an error.
 * *reason (may be NULL) says why, in a sentence. */
gboolean accel_choose(const char *requested, const AccelFacts *facts, QemuAccel *out,
                      char **reason, GError **error);

G_END_DECLS
