/* test-vmx.c — the .vmx reader/writer: syntax, pipe-hex escapes, encodings,
 * hostile input, atomic saves, and every .vmx/.vmsd of the corpus.
 */
#include "vmx.h"
#include "vireo-error.h"

#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

static Vmx *
parse_ok(const char *text)
{
    g_autoptr(GError) error = NULL;
    Vmx *vmx = vmx_parse(text, strlen(text), &error);

    g_assert_no_error(error);
    g_assert_nonnull(vmx);
    return vmx;
}

static void
test_syntax(void)
{
    g_autoptr(Vmx) vmx = parse_ok(
        "#!/usr/bin/vmware\r\n"
        ".encoding = \"UTF-8\"\r\n"
        "\r\n"
        "# a comment\n"
        "   \t\n"
        "displayName = \"web 01\"\n"
        "memSize=\"512\"\n"
        "  numvcpus   =   \"2\"   # trailing comment\n"
        "MEMSIZE = \"1024\"\n"
        "scsi0:0.fileName = \"a#b.vmdk\"\n"
        "guestOS = \"other\"\n"
        "guestOS.detailed.data = \"\"\n"
        "pciPassthru*.present = \"FALSE\"\n"
        "nvp.vm-uuid = bare-word\n"
        "last = \"no newline\"");
    g_autoptr(GPtrArray) keys = vmx_keys(vmx);
    static const char *const expected[] = {
        "displayName", "memSize", "numvcpus", "scsi0:0.fileName", "guestOS",
        "guestOS.detailed.data", "pciPassthru*.present", "nvp.vm-uuid", "last",
    };

    g_assert_cmpuint(keys->len, ==, G_N_ELEMENTS(expected));
    for (guint i = 0; i < keys->len; i++)
        g_assert_cmpstr(g_ptr_array_index(keys, i), ==, expected[i]);
    g_assert_cmpstr(vmx_get(vmx, "DISPLAYNAME"), ==, "web 01");
    /* The last duplicate wins, at the first one's position and spelling. */
    g_assert_cmpstr(vmx_get(vmx, "memsize"), ==, "1024");
    g_assert_cmpint(vmx_get_int(vmx, "numVCPUs", 1), ==, 2);
    g_assert_cmpstr(vmx_get(vmx, "scsi0:0.filename"), ==, "a#b.vmdk");
    g_assert_cmpstr(vmx_get(vmx, "guestOS"), ==, "other");
    g_assert_cmpstr(vmx_get(vmx, "guestos.detailed.data"), ==, "");
    g_assert_cmpstr(vmx_get(vmx, "nvp.vm-uuid"), ==, "bare-word");
    g_assert_cmpstr(vmx_get(vmx, "last"), ==, "no newline");
    g_assert_null(vmx_get(vmx, ".encoding"));
    g_assert_null(vmx_get(vmx, "absent"));
}

static void
test_pipe_hex(void)
{
    static const struct { const char *raw, *decoded; } cases[] = {
        { "a|22b|22", "a\"b\"" },
        { "line1|0Aline2", "line1\nline2" },
        { "pipe|7Cx|7cy", "pipe|x|y" },
        { "lone | pipe", "lone | pipe" },
        { "bad |zz escape", "bad |zz escape" },
        { "end|2", "end|2" },
        { "end|", "end|" },
        { "caf|C3|A9", "caf\xc3\xa9" },
        { "", "" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *text = g_strdup_printf("k = \"%s\"\n", cases[i].raw);
        g_autoptr(Vmx) vmx = parse_ok(text);
        g_assert_cmpstr(vmx_get(vmx, "k"), ==, cases[i].decoded);
    }
}

static void
test_encode(void)
{
    static const struct { const char *value, *line; } cases[] = {
        { "say \"hi\"", "k = \"say |22hi|22\"" },
        { "a|b", "k = \"a|7Cb\"" },
        { "two\nlines\r\tx", "k = \"two|0Alines|0D|09x\"" },
        { "#not a comment", "k = \"#not a comment\"" },
        { "caf\xc3\xa9 \xe2\x82\xac", "k = \"caf\xc3\xa9 \xe2\x82\xac\"" },
        { "bad\xff\xc3", "k = \"bad|FF|C3\"" },
        { "del\x7f", "k = \"del|7F\"" },
        { "C:\\dir\\x", "k = \"C:\\dir\\x\"" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(Vmx) vmx = vmx_new();
        g_autoptr(Vmx) back = NULL;
        g_autofree char *text = NULL;
        g_autofree char *expected = g_strdup_printf(".encoding = \"UTF-8\"\n%s\n", cases[i].line);

        vmx_set(vmx, "k", cases[i].value);
        text = vmx_to_string(vmx);
        g_assert_cmpstr(text, ==, expected);
        back = parse_ok(text);
        g_assert_cmpstr(vmx_get(back, "k"), ==, cases[i].value);
    }
}

static void
test_windows_1252(void)
{
    const char text[] = ".encoding = \"windows-1252\"\ndisplayName = \"caf\xe9 \x80\"\n";
    g_autoptr(Vmx) vmx = parse_ok(text);
    g_autofree char *out = vmx_to_string(vmx);

    g_assert_cmpstr(vmx_get(vmx, "displayName"), ==, "caf\xc3\xa9 \xe2\x82\xac");
    g_assert_true(g_str_has_prefix(out, ".encoding = \"UTF-8\"\n"));
    g_assert_nonnull(strstr(out, "caf\xc3\xa9"));
}

static void
test_malformed(void)
{
    static const struct { const char *text; gsize len; const char *in_message; } cases[] = {
        { "a = \"1\"\nkey value\n", 0, "line 2" },
        { "a = \"1\"\nb = \"unterminated\n", 0, "line 2" },
        { "my key = \"v\"\n", 0, "line 1" },
        { "= \"v\"\n", 0, "line 1" },
        { "k = \"v\" junk\n", 0, "line 1" },
        { "\n\nk =\n", 0, "line 3" },
        { "k\"x = \"v\"\n", 0, "line 1" },
        { "k = \"a|00b\"\n", 0, "NUL" },
        { "a = \"1\"\nb = \"2\"\nc = \"x\0y\"\n", 27, "line 3: the file contains a NUL" },
        { "a = \"\xff\xfe\"\n", 0, "UTF-8" },
        { ".encoding = \"UTF-8\"\na = \"\xc3\x28\"\n", 0, "line 2" },
        { ".encoding = \"no-such-charset\"\na = \"1\"\n", 0, "no-such-charset" },
        { "k\xc3\xa9y = \"v\"\n", 0, "not a valid key" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) error = NULL;
        gsize len = cases[i].len ? cases[i].len : strlen(cases[i].text);
        g_autoptr(Vmx) vmx = vmx_parse(cases[i].text, len, &error);

        g_test_message("case %u: %s", i, error ? error->message : "(parsed)");
        g_assert_null(vmx);
        g_assert_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT);
        g_assert_nonnull(strstr(error->message, cases[i].in_message));
    }
}

static void
test_huge(void)
{
    gsize n = 10 * 1024 * 1024;
    g_autofree char *line = g_malloc(n + 32);
    g_autoptr(GError) error = NULL;
    g_autoptr(Vmx) vmx = NULL;
    GString *many;

    /* A 10 MB line: refused with a message, not read into memory twice. */
    memcpy(line, "k = \"", 5);
    memset(line + 5, 'a', n);
    memcpy(line + 5 + n, "\"\n", 2);
    vmx = vmx_parse(line, n + 7, &error);
    g_assert_null(vmx);
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT);
    g_clear_error(&error);

    /* A 2 MiB line, under the file limit, fails on the line limit. */
    vmx = vmx_parse(line, 2 * 1024 * 1024, &error);
    g_assert_null(vmx);
    g_assert_nonnull(strstr(error->message, "line 1"));
    g_assert_nonnull(strstr(error->message, "longer than"));
    g_clear_error(&error);

    /* A 500 KiB value (a guestinfo blob) is fine. */
    many = g_string_new("guestinfo.userdata = \"");
    for (int i = 0; i < 500 * 1024; i++)
        g_string_append_c(many, 'A' + i % 26);
    g_string_append(many, "\"\n");
    vmx = vmx_parse(many->str, many->len, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(strlen(vmx_get(vmx, "guestinfo.userdata")), ==, 500 * 1024);
    g_string_free(many, TRUE);
}

static void
test_get_set(void)
{
    g_autoptr(Vmx) vmx = parse_ok("a = \"TRUE\"\nb = \"no\"\nc = \"1\"\nd = \"maybe\"\n"
                                  "n = \"-42\"\nx = \"12abc\"\nbig = \"99999999999999999999\"\n"
                                  "scsi0:1.present = \"TRUE\"\nscsi0:1.fileName = \"x.vmdk\"\n"
                                  "SCSI0:10.present = \"TRUE\"\nscsi0.present = \"TRUE\"\n");
    g_autoptr(GPtrArray) keys = NULL;

    g_assert_true(vmx_get_bool(vmx, "a", FALSE));
    g_assert_false(vmx_get_bool(vmx, "b", TRUE));
    g_assert_true(vmx_get_bool(vmx, "c", FALSE));
    g_assert_true(vmx_get_bool(vmx, "d", TRUE));
    g_assert_false(vmx_get_bool(vmx, "d", FALSE));
    g_assert_false(vmx_get_bool(vmx, "absent", FALSE));
    g_assert_cmpint(vmx_get_int(vmx, "n", 0), ==, -42);
    g_assert_cmpint(vmx_get_int(vmx, "x", 7), ==, 7);
    g_assert_cmpint(vmx_get_int(vmx, "big", 7), ==, 7);
    g_assert_cmpint(vmx_get_int(vmx, "absent", 3), ==, 3);

    vmx_set(vmx, "A", "FALSE");           /* replaces in place, keeps spelling "a" */
    vmx_set_int(vmx, "new", 5);
    vmx_set_bool(vmx, "flag", TRUE);
    g_assert_cmpstr(vmx_get(vmx, "a"), ==, "FALSE");
    g_assert_cmpstr(vmx_get(vmx, "NEW"), ==, "5");
    g_assert_cmpstr(vmx_get(vmx, "flag"), ==, "TRUE");
    keys = vmx_keys(vmx);
    g_assert_cmpstr(g_ptr_array_index(keys, 0), ==, "a");
    g_assert_cmpstr(g_ptr_array_index(keys, keys->len - 1), ==, "flag");
    g_clear_pointer(&keys, g_ptr_array_unref);

    vmx_remove_prefix(vmx, "scsi0:1.");
    g_assert_null(vmx_get(vmx, "scsi0:1.present"));
    g_assert_null(vmx_get(vmx, "scsi0:1.fileName"));
    g_assert_nonnull(vmx_get(vmx, "scsi0:10.present"));
    g_assert_nonnull(vmx_get(vmx, "scsi0.present"));
    vmx_remove(vmx, "B");
    g_assert_null(vmx_get(vmx, "b"));
    vmx_set(vmx, "c", NULL);
    g_assert_null(vmx_get(vmx, "c"));
    /* Removed keys can come back, appended at the end. */
    vmx_set(vmx, "b", "again");
    keys = vmx_keys(vmx);
    g_assert_cmpstr(g_ptr_array_index(keys, keys->len - 1), ==, "b");

    g_assert_false(vmx_key_is_valid("has space"));
    g_assert_false(vmx_key_is_valid("a=b"));
    g_assert_false(vmx_key_is_valid(""));
    g_assert_true(vmx_key_is_valid("usb_xhci:4.port"));
    g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "*invalid key*");
    vmx_set(vmx, "bad key", "v");
    g_test_assert_expected_messages();
    g_assert_null(vmx_get(vmx, "bad key"));
}

static void
test_save_load(void)
{
    g_autofree char *dir = g_dir_make_tmp("vmx-test-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "web 01.vmx", NULL);
    g_autofree char *missing = g_build_filename(dir, "nope", "x.vmx", NULL);
    g_autoptr(Vmx) vmx = vmx_new();
    g_autoptr(Vmx) back = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(GDir) d = NULL;
    GStatBuf st;
    int count = 0;

    vmx_set(vmx, "displayName", "web \"01\"");
    g_assert_true(vmx_save(vmx, path, &error));
    g_assert_no_error(error);
    g_chmod(path, 0600);
    vmx_set(vmx, "memSize", "256");
    g_assert_true(vmx_save(vmx, path, &error));
    back = vmx_load(path, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(vmx_get(back, "displayName"), ==, "web \"01\"");
    g_assert_cmpstr(vmx_get(back, "memsize"), ==, "256");
    g_assert_cmpint(g_stat(path, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 0777, ==, 0600);
    /* No temporary file is left behind. */
    d = g_dir_open(dir, 0, NULL);
    while (g_dir_read_name(d) != NULL)
        count++;
    g_assert_cmpint(count, ==, 1);

    g_assert_false(vmx_save(vmx, missing, &error));
    g_assert_nonnull(error);
    g_clear_error(&error);
    g_assert_null(vmx_load(missing, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND);
    g_unlink(path);
    g_rmdir(dir);
}

static gboolean
same_entries(const Vmx *a, const Vmx *b)
{
    g_autoptr(GPtrArray) ka = vmx_keys(a);
    g_autoptr(GPtrArray) kb = vmx_keys(b);

    if (ka->len != kb->len)
        return FALSE;
    for (guint i = 0; i < ka->len; i++) {
        if (g_strcmp0(ka->pdata[i], kb->pdata[i]) != 0 ||
            g_strcmp0(vmx_get(a, ka->pdata[i]), vmx_get(b, kb->pdata[i])) != 0)
            return FALSE;
    }
    return TRUE;
}

static void
test_corpus(void)
{
    const char *corpus = g_getenv("VIREO_CORPUS");
    static const char *const subdirs[] = { "esxi", "libvirt" };
    int files = 0;

    if (corpus == NULL) {
        g_test_skip("VIREO_CORPUS is not set");
        return;
    }
    for (guint s = 0; s < G_N_ELEMENTS(subdirs); s++) {
        g_autofree char *dir = g_build_filename(corpus, "vmx", subdirs[s], NULL);
        g_autoptr(GError) error = NULL;
        g_autoptr(GDir) d = g_dir_open(dir, 0, &error);
        const char *name;

        g_assert_no_error(error);
        while ((name = g_dir_read_name(d)) != NULL) {
            g_autofree char *path = NULL;
            g_autoptr(Vmx) vmx = NULL;
            g_autoptr(Vmx) back = NULL;
            g_autofree char *text = NULL;

            if (!g_str_has_suffix(name, ".vmx") && !g_str_has_suffix(name, ".vmsd"))
                continue;
            path = g_build_filename(dir, name, NULL);
            g_test_message("corpus %s", path);
            vmx = vmx_load(path, &error);
            g_assert_no_error(error);
            {
                g_autoptr(GPtrArray) keys = vmx_keys(vmx);
                g_assert_cmpuint(keys->len, >, 0);
            }
            text = vmx_to_string(vmx);
            back = vmx_parse(text, strlen(text), &error);
            g_assert_no_error(error);
            g_assert_true(same_entries(vmx, back));
            files++;
        }
    }
    g_assert_cmpint(files, >=, 33);
}

static void
test_corpus_values(void)
{
    const char *corpus = g_getenv("VIREO_CORPUS");
    g_autofree char *p15 = NULL, *psample = NULL, *pupper = NULL, *pvmsd = NULL;
    g_autoptr(Vmx) wild15 = NULL, sample = NULL, upper = NULL, vmsd = NULL;
    const char *v;

    if (corpus == NULL) {
        g_test_skip("VIREO_CORPUS is not set");
        return;
    }
    psample = g_build_filename(corpus, "vmx", "esxi", "sample.vmx", NULL);
    sample = vmx_load(psample, NULL);
    g_assert_nonnull(sample);
    g_assert_cmpstr(vmx_get(sample, "displayname"), ==, "test flo");
    g_assert_cmpint(vmx_get_int(sample, "memsize", 0), ==, 1024);
    g_assert_cmpstr(vmx_get(sample, "sched.swap.derivedName"), ==,
                    "/vmfs/volumes/636a25ed-0b37afee-60ef-3cfdfe75e770/test flo/test flo-988abbf8.vswp");
    g_assert_cmpstr(vmx_get(sample, "replay.filename"), ==, "");

    /* esx-in-the-wild-15 holds |22 and |0A escapes and a 5.5 KB value. */
    p15 = g_build_filename(corpus, "vmx", "libvirt", "esx-in-the-wild-15.vmx", NULL);
    wild15 = vmx_load(p15, NULL);
    g_assert_nonnull(wild15);
    v = vmx_get(wild15, "guestOS.detailed.data");
    if (v != NULL)
        g_assert_null(strstr(v, "|22"));
    {
        g_autoptr(GPtrArray) keys = vmx_keys(wild15);
        gboolean saw_quote = FALSE, saw_newline = FALSE;
        for (guint i = 0; i < keys->len; i++) {
            const char *val = vmx_get(wild15, keys->pdata[i]);
            saw_quote |= strchr(val, '"') != NULL;
            saw_newline |= strchr(val, '\n') != NULL;
            g_assert_null(strstr(val, "|22"));
        }
        g_assert_true(saw_quote);
        g_assert_true(saw_newline);
    }

    pupper = g_build_filename(corpus, "vmx", "libvirt", "vmx2xml-case-insensitive-1.vmx", NULL);
    upper = vmx_load(pupper, NULL);
    g_assert_nonnull(upper);
    g_assert_cmpstr(vmx_get(upper, "scsi0.virtualDev"), ==, "LSILOGIC");
    g_assert_cmpstr(vmx_get(upper, "guestOS"), ==, "RHEL5");

    pvmsd = g_build_filename(corpus, "vmx", "esxi", "sample.vmsd", NULL);
    vmsd = vmx_load(pvmsd, NULL);
    g_assert_nonnull(vmsd);
    g_assert_cmpint(vmx_get_int(vmsd, "snapshot.numSnapshots", 0), ==, 4);
    g_assert_cmpint(vmx_get_int(vmsd, "snapshot1.createTimeLow", 0), ==, -814770620);
    g_assert_cmpstr(vmx_get(vmsd, "snapshot3.disk0.node"), ==, "scsi0:0");
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vmx/syntax", test_syntax);
    g_test_add_func("/vmx/pipe-hex", test_pipe_hex);
    g_test_add_func("/vmx/encode", test_encode);
    g_test_add_func("/vmx/windows-1252", test_windows_1252);
    g_test_add_func("/vmx/malformed", test_malformed);
    g_test_add_func("/vmx/huge", test_huge);
    g_test_add_func("/vmx/get-set", test_get_set);
    g_test_add_func("/vmx/save-load", test_save_load);
    g_test_add_func("/vmx/corpus", test_corpus);
    g_test_add_func("/vmx/corpus-values", test_corpus_values);
    return g_test_run();
}
