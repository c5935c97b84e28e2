/* cpu-features.h — what CPU this host can give its VMs. QEMU is asked once
 * (query-cpu-definitions and query-cpu-model-expansion on a `-machine none`
 * instance), the answer is cached in the state folder per QEMU version and
 * accelerator, and the configuration's evc_max may narrow it so that a host
 * stands for an older CPU (tests of EVC on one machine).
 */
#pragma once

#include <glib.h>
#include "evc.h"
#include "host.h"
#include "qemu-argv.h"

G_BEGIN_DECLS

/* What one QEMU session says about its CPU models under one accelerator. */
typedef struct {
    char *qemu_version;       /* "7.2.22" */
    GHashTable *unavailable;  /* every model QEMU has -> GStrv: features this host cannot give */
    GHashTable *expansions;   /* each model asked for that QEMU has -> sorted GStrv of its
                               * features (static expansion, enabled ones) */
    GHashTable *vendors;      /* same keys -> CPUID vendor of the expansion */
} QemuCpuModels;

void qemu_cpu_models_free(QemuCpuModels *models);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QemuCpuModels, qemu_cpu_models_free)

/* Runs qemu_binary once with -machine none and the accelerator, and asks
 * for its version, its CPU models and the expansion of each of expand
 * (names it does not have are left out of expansions). */
QemuCpuModels *cpu_features_query_qemu(const char *qemu_binary, QemuAccel accel,
                                       const char *const *expand, GError **error);

typedef struct {
    char *qemu_version;
    QemuAccel accel;
    char *vendor;       /* the CPU's CPUID vendor under KVM; NULL under TCG, which can
                         * present either vendor's models */
    GStrv features;     /* sorted: every feature a VM on this host can be given */
    char *narrowed_to;  /* the EVC mode id the host was narrowed to, or NULL */
} HostCpuFeatures;

void host_cpu_features_free(HostCpuFeatures *cpu);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HostCpuFeatures, host_cpu_features_free)

/* What the accelerator can give: the "max" (TCG) or "host" (KVM) model's
 * features, plus those of every EVC mode QEMU calls usable here (no
 * unavailable features), so that a mode is supported exactly when QEMU
 * would run its model without dropping a feature. Read from
 * <cache_dir>/cpu-features.json when that was written for the same QEMU
 * binary, version and accelerator; asked of QEMU and written there
 * otherwise (cache_dir may be NULL: no cache). */
HostCpuFeatures *cpu_features_probe(const char *qemu_binary, QemuAccel accel,
                                    const char *cache_dir, GError **error);

/* Narrows to what a host whose CPU is exactly mode would report: features
 * within the mode's, the mode's vendor. */
void cpu_features_narrow(HostCpuFeatures *cpu, const EvcMode *mode);

/* The rules' view of the host (borrows from cpu). */
EvcHostCpu cpu_features_as_evc(const HostCpuFeatures *cpu, const char *host_name);
/* The ids of the EVC modes this host supports, table order. */
GStrv cpu_features_evc_modes(const HostCpuFeatures *cpu);

/* This process's host, probed at the first call (api_host_register calls
 * it at start) with the configuration's qemu, accelerator, state_dir and
 * evc_max, then kept. When QEMU cannot be asked, a host with no feature and
 * a warning in the log. */
const HostCpuFeatures *cpu_features_of_host(Host *host);

G_END_DECLS
