/* test-accel.c — the accelerator decision table, and the probe on this machine
 * (whose /dev/kvm is the paravirtual kvm_pvm: "auto" must give TCG). */
#include "accel.h"
#include "vireo-error.h"

#include <string.h>

typedef struct {
    const char *name;
    const char *requested;
    gboolean usable;
    const char *modules;      /* comma-separated */
    gboolean vmx;
    gboolean ok;
    QemuAccel expect;
    const char *reason_has;   /* substring of the reason, or of the error message */
    int error_code;
} AccelCase;

static const AccelCase cases[] = {
    { "auto-pvm", "auto", TRUE, "kvm,kvm_pvm", TRUE, TRUE, QEMU_ACCEL_TCG, "kvm_pvm", 0 },
    { "auto-kvm", "auto", TRUE, "kvm,kvm_intel", TRUE, TRUE, QEMU_ACCEL_KVM, "KVM is usable", 0 },
    { "auto-null-is-auto", NULL, TRUE, "kvm,kvm_amd", TRUE, TRUE, QEMU_ACCEL_KVM, "usable", 0 },
    { "auto-no-dev", "auto", FALSE, "kvm,kvm_intel", TRUE, TRUE, QEMU_ACCEL_TCG, "/dev/kvm", 0 },
    { "auto-no-vmx", "auto", TRUE, "kvm,kvm_intel", FALSE, TRUE, QEMU_ACCEL_TCG, "vmx", 0 },
    { "kvm-usable", "kvm", TRUE, "kvm,kvm_intel", TRUE, TRUE, QEMU_ACCEL_KVM, "requested", 0 },
    { "kvm-upper-case", "KVM", TRUE, "kvm,kvm_intel", TRUE, TRUE, QEMU_ACCEL_KVM, "requested", 0 },
    { "kvm-pvm", "kvm", TRUE, "kvm,kvm_pvm", TRUE, FALSE, 0, "kvm_pvm", VIREO_ERROR_UNSUPPORTED },
    { "kvm-no-dev", "kvm", FALSE, "", TRUE, FALSE, 0, "/dev/kvm", VIREO_ERROR_UNSUPPORTED },
    { "tcg", "tcg", TRUE, "kvm,kvm_intel", TRUE, TRUE, QEMU_ACCEL_TCG, "TCG was requested", 0 },
    { "tcg-no-kvm", "tcg", FALSE, "", FALSE, TRUE, QEMU_ACCEL_TCG, "TCG", 0 },
    { "unknown", "hvf", TRUE, "kvm", TRUE, FALSE, 0, "hvf", VIREO_ERROR_INVALID_ARGUMENT },
    { "empty", "", TRUE, "kvm", TRUE, FALSE, 0, "Unknown accelerator", VIREO_ERROR_INVALID_ARGUMENT },
};

static void
test_case(gconstpointer data)
{
    const AccelCase *c = data;
    AccelFacts facts = {
        .kvm_device_usable = c->usable,
        .kvm_modules = c->modules[0] ? g_strsplit(c->modules, ",", -1) : g_new0(char *, 1),
        .cpu_has_vmx_or_svm = c->vmx,
    };
    g_autoptr(GError) error = NULL;
    g_autofree char *reason = NULL;
    QemuAccel accel = 99;
    gboolean ok = accel_choose(c->requested, &facts, &accel, &reason, &error);
    accel_facts_clear(&facts);
    g_assert_null(facts.kvm_modules);
    if (c->ok) {
        g_assert_no_error(error);
        g_assert_true(ok);
        g_assert_cmpstr(qemu_accel_to_string(accel), ==, qemu_accel_to_string(c->expect));
        g_assert_nonnull(reason);
        g_assert_nonnull(strstr(reason, c->reason_has));
    } else {
        g_assert_false(ok);
        g_assert_error(error, VIREO_ERROR, c->error_code);
        g_assert_nonnull(strstr(error->message, c->reason_has));
        g_assert_null(reason);
        g_assert_cmpint(accel, ==, 99);
    }
}

static void
test_reason_optional(void)
{
    AccelFacts facts = { .kvm_device_usable = TRUE, .cpu_has_vmx_or_svm = TRUE };
    QemuAccel accel;
    g_assert_true(accel_choose("auto", &facts, &accel, NULL, NULL));
    /* No module list at all (probe found no /sys/module): nothing rules KVM out. */
    g_assert_cmpint(accel, ==, QEMU_ACCEL_KVM);
}

static void
test_this_machine(void)
{
    AccelFacts facts;
    accel_probe_facts(&facts);
    g_assert_nonnull(facts.kvm_modules);
    if (!g_file_test("/sys/module/kvm_pvm", G_FILE_TEST_IS_DIR)) {
        accel_facts_clear(&facts);
        g_test_skip("this machine has no kvm_pvm module; the probe's outcome is not known");
        return;
    }
    g_assert_true(g_strv_contains((const char *const *)facts.kvm_modules, "kvm_pvm"));
    g_autofree char *reason = NULL;
    g_autoptr(GError) error = NULL;
    QemuAccel accel;
    g_assert_true(accel_choose("auto", &facts, &accel, &reason, &error));
    g_assert_no_error(error);
    g_assert_cmpint(accel, ==, QEMU_ACCEL_TCG);
    g_assert_nonnull(strstr(reason, "kvm_pvm"));
    g_assert_false(accel_choose("kvm", &facts, &accel, NULL, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_UNSUPPORTED);
    accel_facts_clear(&facts);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = g_strdup_printf("/accel/choose/%s", cases[i].name);
        g_test_add_data_func(path, &cases[i], test_case);
    }
    g_test_add_func("/accel/choose/reason-optional", test_reason_optional);
    g_test_add_func("/accel/probe/this-machine", test_this_machine);
    return g_test_run();
}
