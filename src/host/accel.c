/* accel.c — choosing QEMU's accelerator for this host.
 *
 * accel_probe_facts() is the only I/O: it looks at /dev/kvm, /sys/module and
 * /proc/cpuinfo. accel_choose() decides from those facts alone, so its table
 * is tested without the machine it describes.
 */
#include "accel.h"
#include "vireo-error.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

void
accel_facts_clear(AccelFacts *facts)
{
    g_clear_pointer(&facts->kvm_modules, g_strfreev);
    facts->kvm_device_usable = FALSE;
    facts->cpu_has_vmx_or_svm = FALSE;
}

static GStrv
probe_kvm_modules(void)
{
    g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
    /* /proc/modules may be unreadable in a container; /sys/module is not. */
    g_autoptr(GDir) dir = g_dir_open("/sys/module", 0, NULL);
    const char *name;
    while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
        if (g_str_has_prefix(name, "kvm"))
            g_strv_builder_add(builder, name);
    }
    return g_strv_builder_end(builder);
}

static gboolean
probe_cpu_virt_flags(void)
{
    g_autofree char *cpuinfo = NULL;
    if (!g_file_get_contents("/proc/cpuinfo", &cpuinfo, NULL, NULL))
        return FALSE;
    g_auto(GStrv) lines = g_strsplit(cpuinfo, "\n", -1);
    for (char **line = lines; *line != NULL; line++) {
        if (!g_str_has_prefix(*line, "flags"))
            continue;
        const char *colon = strchr(*line, ':');
        if (colon == NULL)
            continue;
        g_auto(GStrv) flags = g_strsplit(colon + 1, " ", -1);
        if (g_strv_contains((const char *const *)flags, "vmx") ||
            g_strv_contains((const char *const *)flags, "svm"))
            return TRUE;
    }
    return FALSE;
}

void
accel_probe_facts(AccelFacts *facts)
{
    memset(facts, 0, sizeof *facts);
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    facts->kvm_device_usable = fd >= 0;
    if (fd >= 0)
        close(fd);
    facts->kvm_modules = probe_kvm_modules();
    facts->cpu_has_vmx_or_svm = probe_cpu_virt_flags();
}

static gboolean
has_module(const AccelFacts *facts, const char *name)
{
    return facts->kvm_modules != NULL &&
           g_strv_contains((const char *const *)facts->kvm_modules, name);
}

/* NULL when KVM can run an ordinary guest here, else why not. */
static const char *
kvm_unusable_reason(const AccelFacts *facts)
{
    if (has_module(facts, "kvm_pvm"))
        return "the loaded KVM is the paravirtual flavour (module kvm_pvm), which cannot "
               "boot an ordinary guest";
    if (!facts->kvm_device_usable)
        return "/dev/kvm is missing or cannot be opened read-write";
    if (!facts->cpu_has_vmx_or_svm)
        return "the CPU does not offer hardware virtualization (no vmx or svm flag)";
    return NULL;
}

gboolean
accel_choose(const char *requested, const AccelFacts *facts, QemuAccel *out,
             char **reason, GError **error)
{
    const char *req = requested != NULL ? requested : "auto";
    const char *why_not = kvm_unusable_reason(facts);
    g_autofree char *because = NULL;

    if (g_ascii_strcasecmp(req, "tcg") == 0) {
        *out = QEMU_ACCEL_TCG;
        because = g_strdup("TCG was requested.");
    } else if (g_ascii_strcasecmp(req, "kvm") == 0) {
        if (why_not != NULL) {
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_UNSUPPORTED,
                        "KVM was requested but cannot be used: %s. Set the accelerator "
                        "to \"auto\" or \"tcg\".", why_not);
            return FALSE;
        }
        *out = QEMU_ACCEL_KVM;
        because = g_strdup("KVM was requested and /dev/kvm is usable.");
    } else if (g_ascii_strcasecmp(req, "auto") == 0) {
        *out = why_not == NULL ? QEMU_ACCEL_KVM : QEMU_ACCEL_TCG;
        because = why_not == NULL
                      ? g_strdup("KVM is usable: /dev/kvm opens and the CPU has hardware "
                                 "virtualization.")
                      : g_strdup_printf("Using TCG because %s.", why_not);
    } else {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "Unknown accelerator \"%s\"; use \"auto\", \"kvm\" or \"tcg\".", req);
        return FALSE;
    }
    if (reason != NULL)
        *reason = g_steal_pointer(&because);
    return TRUE;
}
