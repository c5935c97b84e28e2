/* evc.h — Enhanced vMotion Compatibility: the named CPU baselines a cluster
 * can hold its VMs to (each a QEMU CPU model with a fixed feature set), and
 * the pure rules built on them: which hosts may join a cluster, when its mode
 * may be raised or lowered, whether a VM's CPU fits a destination host.
 *
 * Feature names are QEMU's (query-cpu-model-expansion, e.g. "sse4.2",
 * "avx2"). No I/O here: the host side (src/host/cpu-features.c) asks QEMU
 * what a host can give and hands the answer to these functions.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
    EVC_VENDOR_INTEL,
    EVC_VENDOR_AMD,
    EVC_VENDOR_ANY,   /* as an argument only: whichever vendor the hosts share */
} EvcVendor;

const char *evc_vendor_to_string(EvcVendor vendor);   /* "intel" | "amd" | "any" */
gboolean evc_vendor_from_string(const char *text, EvcVendor *out);
/* CPUID's vendor string, as QEMU's "vendor" property gives it. */
const char *evc_vendor_cpuid(EvcVendor vendor);       /* "GenuineIntel" | "AuthenticAMD" | NULL */
gboolean evc_vendor_from_cpuid(const char *cpuid_vendor, EvcVendor *out);

typedef struct {
    const char *id;          /* "intel-haswell": what clusters and VMs record */
    EvcVendor vendor;
    const char *label;       /* "Intel Haswell Generation", as vSphere names it */
    const char *qemu_model;  /* the versioned model VMs are given with -cpu: "Haswell-v2" */
    const char *qemu_alias;  /* the name people know it by: "Haswell-noTSX" */
} EvcMode;

/* A host's CPU as the rules see it. All pointers borrowed. */
typedef struct {
    const char *name;                /* for reasons; may be NULL */
    const char *vendor;              /* CPUID vendor; NULL when QEMU emulates the CPU (TCG)
                                      * and can present either vendor's models */
    const char *const *features;     /* NULL-terminated, any order */
} EvcHostCpu;

/* A running VM as the mode-change rule sees it. All pointers borrowed. */
typedef struct {
    const char *name;
    const char *evc_mode;            /* mode recorded at power-on; NULL: started outside EVC */
    const char *const *features;     /* its CPU's features when evc_mode is NULL; NULL: unknown */
} EvcRunningVm;

/* The whole table: Intel then AMD, each oldest first. */
const EvcMode *evc_modes(gsize *n_modes);
/* By id ("intel-nehalem"), or by the part after the vendor ("nehalem") when
 * that names one mode; case does not matter. NULL when unknown. */
const EvcMode *evc_mode_lookup(const char *id);
/* The vendor's modes, oldest first (elements borrowed from the table). */
GPtrArray *evc_modes_for_vendor(EvcVendor vendor);

/* The mode's feature set, sorted; NULL when the QEMU the table was made
 * from has no such model (amd-zen4: EPYC-Genoa came with QEMU 8.1). */
const char *const *evc_mode_features(const EvcMode *mode);
gboolean evc_mode_is_available(const EvcMode *mode);
/* The QEMU version evc_mode_features() were taken from ("7.2.22"). */
const char *evc_features_qemu_version(void);
/* Whether every feature of other is in mode (an unavailable mode covers
 * nothing and is covered by nothing). Within a vendor this is the order
 * modes are raised along; it is not a line for AMD (see docs/evc.md). */
gboolean evc_mode_covers(const EvcMode *mode, const EvcMode *other);

/* The features of wanted that have lacks, sorted; an empty vector, never NULL. */
GStrv evc_missing_features(const char *const *wanted, const char *const *have);

/* Whether host can run VMs at mode: its vendor fits (or is emulated) and it
 * has every feature of the mode. *reason (may be NULL) says why not. */
gboolean evc_host_supports(const EvcMode *mode, const EvcHostCpu *host, char **reason);
/* The newest mode of vendor the host supports, or NULL. EVC_VENDOR_ANY: the
 * host's own vendor, Intel for an emulated CPU. */
const EvcMode *evc_highest_supported(EvcVendor vendor, const EvcHostCpu *host);
/* Every mode the host supports, in table order (elements borrowed). */
GPtrArray *evc_supported_modes(const EvcHostCpu *host);

/* The newest mode of vendor every host supports: what a cluster of these
 * hosts can be raised to. EVC_VENDOR_ANY: the vendor the hosts' CPUs share
 * (Intel when all are emulated); NULL when they mix Intel and AMD. With no
 * host, the vendor's newest available mode. */
const EvcMode *evc_cluster_max_mode(EvcVendor vendor, const EvcHostCpu *hosts, gsize n_hosts);

/* Whether a cluster at current (NULL: EVC off) may go to wanted (NULL: turn
 * EVC off). Every host must support wanted (so raising needs every host to
 * cover it) and every running VM's features must be within wanted (so
 * lowering waits until no running VM uses the higher mode). *reason (may be
 * NULL) gets a sentence naming each host and VM in the way and what it lacks
 * or uses, when FALSE. */
gboolean evc_can_set_mode(const EvcMode *current, const EvcMode *wanted,
                          const EvcHostCpu *hosts, gsize n_hosts,
                          const EvcRunningVm *vms, gsize n_vms, char **reason);

/* The opening of a refusal to change a cluster from current (NULL: EVC off)
 * to wanted: "Cannot raise the EVC mode from intel-merom to intel-nehalem"
 * (raise / lower / change by feature inclusion; "Cannot enable EVC mode X"). */
char *evc_change_phrase(const EvcMode *current, const EvcMode *wanted);

/* Why one running VM keeps its cluster from going to wanted, as a sentence
 * naming the VM and the features it uses that wanted lacks; NULL when it
 * does not. */
char *evc_vm_obstacle(const EvcRunningVm *vm, const EvcMode *wanted);

/* What keeps one host (and the VMs it runs) from taking mode wanted (NULL:
 * EVC off, which nothing keeps): a sentence for the host when it cannot
 * support wanted, ending with the highest mode of wanted's vendor it does
 * support ("esx-b lacks aes, pclmulqdq of intel-westmere (its highest EVC
 * mode is intel-nehalem)"), then one per VM in the way (*vm_in_way set,
 * may be NULL). Empty when nothing does; never NULL. */
GPtrArray *evc_host_change_problems(const EvcMode *wanted, const EvcHostCpu *host,
                                    const EvcRunningVm *vms, gsize n_vms, gboolean *vm_in_way);

/* The mode a VM starting on a host runs at (*out, NULL: none). A fresh
 * power-on takes the host's mode (host_mode, NULL: none); a resume (saved
 * state, incoming vMotion) keeps the mode the VM recorded when it powered
 * on (recorded, NULL: none), since its CPU state was made with it. FALSE and
 * *reason (may be NULL) when a resume records a mode this table lacks or
 * QEMU cannot run. */
gboolean evc_mode_for_start(const EvcMode *host_mode, const char *recorded, gboolean resume,
                            const EvcMode **out, char **reason);

/* Without EVC: whether a VM whose CPU has vm_features can run on a host that
 * can give dest_features. *missing (may be NULL) gets the features the
 * destination lacks, sorted (empty when compatible). */
gboolean evc_vm_compatible(const char *const *vm_features, const char *const *dest_features,
                           GStrv *missing);

G_END_DECLS
