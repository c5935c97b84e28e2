/* test-mig-files.c — the migration key file and journals (src/host/mig-files.c):
 * what QEMU reads, who may read it, refused identities and keys, and a
 * journal that survives being rewritten. */
#include "mig-files.h"
#include "json-util.h"
#include "vireo-error.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

static char *
tmp_dir(void)
{
    g_autoptr(GError) error = NULL;
    char *d = g_dir_make_tmp("mig-files-XXXXXX", &error);
    g_assert_no_error(error);
    return d;
}

static JsonObject *
psk(const char *identity, const char *key)
{
    JsonObject *o = json_object_new();
    if (identity)
        json_object_set_string_member(o, "identity", identity);
    if (key)
        json_object_set_string_member(o, "key", key);
    return o;
}

static void
test_psk_written(void)
{
    g_autofree char *dir = tmp_dir();
    g_autofree char *sub = g_build_filename(dir, "run", "vm-3", NULL);
    g_autoptr(JsonObject) p = psk("vireo-task-7", "00112233445566778899aabbccddeeff");
    g_autofree char *identity = NULL;
    g_autoptr(GError) error = NULL;
    g_assert_true(mig_psk_write(p, sub, &identity, &error));
    g_assert_no_error(error);
    g_assert_cmpstr(identity, ==, "vireo-task-7");
    g_autofree char *path = g_build_filename(sub, "keys.psk", NULL);
    g_autofree char *text = NULL;
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_assert_cmpstr(text, ==, "vireo-task-7:00112233445566778899aabbccddeeff\n");
    struct stat st;
    g_assert_cmpint(g_stat(path, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 0777, ==, 0600);
    mig_psk_remove(sub);
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
}

static void
test_psk_refused(void)
{
    static const char *const bad[][2] = {
        { NULL, "00112233445566778899aabbccddeeff" },            /* no identity */
        { "a:b", "00112233445566778899aabbccddeeff" },           /* ':' would split QEMU's line */
        { "../x", "00112233445566778899aabbccddeeff" },          /* '/' */
        { "id", "0011" },                                        /* too short */
        { "id", "00112233445566778899aabbccddeefg" },            /* not hex */
        { "id", "00112233445566778899aabbccddeef" },             /* odd length */
        { "id", NULL },
    };
    g_autofree char *dir = tmp_dir();
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(JsonObject) p = psk(bad[i][0], bad[i][1]);
        g_autofree char *identity = NULL;
        g_autoptr(GError) error = NULL;
        g_assert_false(mig_psk_write(p, dir, &identity, &error));
        g_assert_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT);
        g_assert_null(identity);
    }
    g_autofree char *path = g_build_filename(dir, "keys.psk", NULL);
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
}

static void
test_ids(void)
{
    g_assert_true(mig_id_valid("task-12"));
    g_assert_true(mig_id_valid("a.b_c-9"));
    g_assert_false(mig_id_valid(""));
    g_assert_false(mig_id_valid(NULL));
    g_assert_false(mig_id_valid(".hidden"));
    g_assert_false(mig_id_valid("a/b"));
    g_assert_false(mig_id_valid("0123456789012345678901234567890123456789012345678901234567890123456789"));
}

static void
test_journal(void)
{
    g_autofree char *dir = tmp_dir();
    g_autofree char *jdir = g_build_filename(dir, "migrations", NULL);
    g_autofree char *path = g_build_filename(jdir, "task-7.json", NULL);
    g_assert_null(mig_journal_read(path));
    g_autoptr(JsonObject) o = json_object_new();
    json_object_set_string_member(o, "step", "begin");
    g_autoptr(GError) error = NULL;
    g_assert_true(mig_journal_write(jdir, path, o, "the journal", &error));
    json_object_set_string_member(o, "step", "perform");
    g_assert_true(mig_journal_write(jdir, path, o, "the journal", &error));
    g_assert_no_error(error);
    g_autoptr(JsonObject) back = mig_journal_read(path);
    g_assert_nonnull(back);
    g_assert_cmpstr(json_object_get_string_member(back, "step"), ==, "perform");
    /* A torn or foreign file reads as none, not as a step. */
    g_assert_true(g_file_set_contents(path, "{\"step\": \"per", -1, NULL));
    g_assert_null(mig_journal_read(path));
    /* A journal folder that cannot be made: the error names the journal. */
    g_autofree char *blocker = g_build_filename(dir, "file", NULL);
    g_assert_true(g_file_set_contents(blocker, "x", -1, NULL));
    g_autofree char *under = g_build_filename(blocker, "migrations", NULL);
    g_autofree char *upath = g_build_filename(under, "t.json", NULL);
    g_assert_false(mig_journal_write(under, upath, o, "the journal", &error));
    g_assert_nonnull(error);
    g_assert_true(g_str_has_prefix(error->message, "the journal: "));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/mig-files/psk-written", test_psk_written);
    g_test_add_func("/mig-files/psk-refused", test_psk_refused);
    g_test_add_func("/mig-files/ids", test_ids);
    g_test_add_func("/mig-files/journal", test_journal);
    return g_test_run();
}
