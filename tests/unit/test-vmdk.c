/* test-vmdk.c — VMDK descriptors: parsing (text and embedded in a sparse file
 * made by qemu-img), ESXi-style writing, new flat descriptors, and the
 * path-safety checks of vmdk_descriptor_resolve_extent().
 */
#include "vmdk.h"
#include "vireo-error.h"

#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

typedef struct {
    char *dir;
} TmpDir;

static void
tmpdir_setup(TmpDir *t, gconstpointer data)
{
    t->dir = g_dir_make_tmp("vmdk-test-XXXXXX", NULL);
    g_assert_nonnull(t->dir);
}

static void run(const char *const *argv);

static void
remove_tree(const char *dir)
{
    const char *argv[] = { "rm", "-rf", "--", dir, NULL };
    run(argv);
}

static void
tmpdir_teardown(TmpDir *t, gconstpointer data)
{
    remove_tree(t->dir);
    g_free(t->dir);
}

static char *
write_file(const char *dir, const char *name, const char *text)
{
    char *path = g_build_filename(dir, name, NULL);
    g_assert_true(g_file_set_contents(path, text, -1, NULL));
    return path;
}

static void
run(const char *const *argv)
{
    g_autoptr(GError) error = NULL;
    int status = -1;

    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                               NULL, NULL, NULL, NULL, &status, &error));
    g_assert_no_error(error);
    g_assert_true(g_spawn_check_wait_status(status, NULL));
}

static const char sample_path[] = "vmx/esxi/sample-vmfs.vmdk";

static void
test_corpus_sample(void)
{
    const char *corpus = g_getenv("VIREO_CORPUS");
    g_autofree char *path = NULL, *original = NULL, *written = NULL;
    g_autoptr(VmdkDescriptor) desc = NULL;
    g_autoptr(GError) error = NULL;
    VmdkExtent *e;

    if (corpus == NULL) {
        g_test_skip("VIREO_CORPUS is not set");
        return;
    }
    path = g_build_filename(corpus, sample_path, NULL);
    desc = vmdk_descriptor_load(path, &error);
    g_assert_no_error(error);
    g_assert_cmpint(desc->version, ==, 1);
    g_assert_cmpstr(desc->encoding, ==, "UTF-8");
    g_assert_cmphex(desc->cid, ==, 0xd7980f7a);
    g_assert_cmphex(desc->parent_cid, ==, 0xffffffff);
    g_assert_cmpstr(desc->create_type, ==, "vmfs");
    g_assert_null(desc->parent_file_name_hint);
    g_assert_cmpuint(desc->extents->len, ==, 1);
    e = g_ptr_array_index(desc->extents, 0);
    g_assert_cmpint(e->access, ==, VMDK_EXTENT_RW);
    g_assert_cmpuint(e->sectors, ==, 67108864);
    g_assert_cmpstr(e->type, ==, "VMFS");
    g_assert_cmpstr(e->file_name, ==, "test flo_0-flat.vmdk");
    g_assert_cmpuint(vmdk_descriptor_capacity(desc), ==, G_GUINT64_CONSTANT(32) << 30);
    g_assert_cmpstr(vmdk_descriptor_ddb(desc, "ddb.adapterType"), ==, "lsilogic");
    g_assert_cmpstr(vmdk_descriptor_ddb(desc, "ddb.thinProvisioned"), ==, "1");
    g_assert_cmpstr(vmdk_descriptor_ddb(desc, "ddb.uuid"), ==, "60 00 C2 90 6f ee 5b 7e-d5 51 99 ed 52 8e b8 b0");
    g_assert_cmpuint(desc->ddb_keys->len, ==, 9);
    g_assert_cmpstr(g_hash_table_lookup(desc->other, "isNativeSnapshot"), ==, "no");

    /* ESXi's own layout comes back byte for byte. */
    g_assert_true(g_file_get_contents(path, &original, NULL, NULL));
    written = vmdk_descriptor_to_string(desc);
    g_assert_cmpstr(written, ==, original);
}

static void
test_parse_variants(void)
{
    static const char text[] =
        "# Disk DescriptorFile\r\n"
        "version=3\r\n"
        "CID=0000000A\r\n"
        "parentCID=1234abcd\r\n"
        "createType=\"vmfsSparse\"\r\n"
        "parentFileNameHint=\"/vmfs/volumes/ds/base/base.vmdk\"\r\n"
        "RW 100 VMFSSPARSE \"x-delta.vmdk\"\r\n"
        "RDONLY 50 FLAT \"y-flat.vmdk\" 2048\r\n"
        "NOACCESS 10 ZERO\r\n"
        "changeTrackPath=\"x-ctk.vmdk\"\r\n"
        "ddb.deletable = \"true\"\r\n";
    g_autoptr(GError) error = NULL;
    g_autoptr(VmdkDescriptor) desc = vmdk_descriptor_parse(text, strlen(text), &error);
    g_autoptr(VmdkDescriptor) back = NULL;
    g_autofree char *out = NULL;
    VmdkExtent *e;

    g_assert_no_error(error);
    g_assert_cmpint(desc->version, ==, 3);
    g_assert_cmphex(desc->cid, ==, 10);
    g_assert_cmphex(desc->parent_cid, ==, 0x1234abcd);
    g_assert_cmpstr(desc->parent_file_name_hint, ==, "/vmfs/volumes/ds/base/base.vmdk");
    g_assert_cmpuint(desc->extents->len, ==, 3);
    e = g_ptr_array_index(desc->extents, 1);
    g_assert_cmpint(e->access, ==, VMDK_EXTENT_RDONLY);
    g_assert_cmpuint(e->offset, ==, 2048);
    e = g_ptr_array_index(desc->extents, 2);
    g_assert_cmpint(e->access, ==, VMDK_EXTENT_NOACCESS);
    g_assert_null(e->file_name);
    g_assert_cmpstr(e->type, ==, "ZERO");
    g_assert_cmpuint(vmdk_descriptor_capacity(desc), ==, 160 * 512);
    g_assert_cmpstr(g_hash_table_lookup(desc->other, "changeTrackPath"), ==, "x-ctk.vmdk");

    out = vmdk_descriptor_to_string(desc);
    g_assert_nonnull(strstr(out, "CID=0000000a\nparentCID=1234abcd\n"));
    g_assert_nonnull(strstr(out, "RDONLY 50 FLAT \"y-flat.vmdk\" 2048\n"));
    g_assert_nonnull(strstr(out, "NOACCESS 10 ZERO\n"));
    back = vmdk_descriptor_parse(out, strlen(out), &error);
    g_assert_no_error(error);
    g_assert_cmpuint(back->extents->len, ==, 3);
    g_assert_cmpstr(back->parent_file_name_hint, ==, desc->parent_file_name_hint);
    g_assert_cmpstr(vmdk_descriptor_ddb(back, "ddb.deletable"), ==, "true");

    /* createType alone is enough to recognise a descriptor. */
    g_clear_pointer(&back, vmdk_descriptor_free);
    back = vmdk_descriptor_parse("createType=\"monolithicFlat\"\n", 27, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(back->create_type, ==, "monolithicFlat");
}

static void
test_malformed(void)
{
    static const struct { const char *text; gsize len; const char *in_message; } cases[] = {
        { "version=1\nRW 10 FLAT \"a\"\n", 0, "DescriptorFile" },
        { "# Disk DescriptorFile\nRW ten FLAT \"a\"\n", 0, "line 2" },
        { "# Disk DescriptorFile\nRW 10 FLAT \"a\n", 0, "closing" },
        { "# Disk DescriptorFile\nRW 10 FLAT\n", 0, "quoted file name" },
        { "# Disk DescriptorFile\nRW 10 \"a\"\n", 0, "line 2" },
        { "# Disk DescriptorFile\nRW 10 FLAT \"a\" x1\n", 0, "offset" },
        { "# Disk DescriptorFile\nRW -5 FLAT \"a\"\n", 0, "sector count" },
        { "# Disk DescriptorFile\nCID=xyz\n", 0, "CID" },
        { "# Disk DescriptorFile\nparentCID=123456789\n", 0, "parentCID" },
        { "# Disk DescriptorFile\njust words\n", 0, "line 2" },
        { "# Disk DescriptorFile\nddb.uuid = \"unterminated\n", 0, "closing" },
        { "# Disk DescriptorFile\nversion=x\n", 0, "version" },
        { "# Disk DescriptorFile\nRW 10 FLAT \"a\0b\"\n", 38, "NUL" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) error = NULL;
        gsize len = cases[i].len ? cases[i].len : strlen(cases[i].text);
        g_autoptr(VmdkDescriptor) desc = vmdk_descriptor_parse(cases[i].text, len, &error);

        g_test_message("case %u: %s", i, error ? error->message : "(parsed)");
        g_assert_null(desc);
        g_assert_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT);
        g_assert_nonnull(strstr(error->message, cases[i].in_message));
    }
    {
        gsize n = 2 * 1024 * 1024;
        g_autofree char *big = g_malloc(n);
        g_autoptr(GError) error = NULL;
        memset(big, '#', n);
        g_assert_null(vmdk_descriptor_parse(big, n, &error));
        g_assert_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT);
    }
}

static const guint8 test_uuid[16] = {
    0xde, 0xad, 0xbe, 0x9a, 0x7b, 0x1f, 0x2c, 0x3d, 0x4e, 0x5f, 0x60, 0x71, 0x82, 0x93, 0xa4, 0xb5,
};

static void
test_new_flat(void)
{
    g_autoptr(VmdkDescriptor) desc =
        vmdk_descriptor_new_flat("web-01-flat.vmdk", G_GUINT64_CONSTANT(1) << 30, "pvscsi", TRUE, test_uuid, 0x1234abcd);
    g_autofree char *text = vmdk_descriptor_to_string(desc);
    static const char expected[] =
        "# Disk DescriptorFile\n"
        "version=1\n"
        "encoding=\"UTF-8\"\n"
        "CID=1234abcd\n"
        "parentCID=ffffffff\n"
        "isNativeSnapshot=\"no\"\n"
        "createType=\"vmfs\"\n"
        "\n"
        "# Extent description\n"
        "RW 2097152 VMFS \"web-01-flat.vmdk\"\n"
        "\n"
        "# The Disk Data Base\n"
        "#DDB\n"
        "\n"
        "ddb.adapterType = \"pvscsi\"\n"
        "ddb.geometry.cylinders = \"130\"\n"
        "ddb.geometry.heads = \"255\"\n"
        "ddb.geometry.sectors = \"63\"\n"
        "ddb.longContentID = \"deadbe9a7b1f2c3d4e5f60711234abcd\"\n"
        "ddb.thinProvisioned = \"1\"\n"
        "ddb.uuid = \"60 00 C2 9a 7b 1f 2c 3d-4e 5f 60 71 82 93 a4 b5\"\n"
        "ddb.virtualHWVersion = \"4\"\n";

    g_assert_cmpstr(text, ==, expected);

    static const struct { guint64 bytes; guint64 sectors; const char *cylinders; gboolean thin; } sizes[] = {
        { 1000, 2, "1", FALSE },
        { 1 << 20, 2048, "1", FALSE },
        { G_GUINT64_CONSTANT(32) << 30, 67108864, "4177", TRUE },
        { G_GUINT64_CONSTANT(2) << 40, G_GUINT64_CONSTANT(4294967296), "65535", TRUE },
    };
    for (guint i = 0; i < G_N_ELEMENTS(sizes); i++) {
        g_autoptr(VmdkDescriptor) d =
            vmdk_descriptor_new_flat("x-flat.vmdk", sizes[i].bytes, "lsilogic", sizes[i].thin, test_uuid, 1);
        g_assert_cmpuint(((VmdkExtent *)d->extents->pdata[0])->sectors, ==, sizes[i].sectors);
        g_assert_cmpuint(vmdk_descriptor_capacity(d), ==, sizes[i].sectors * 512);
        g_assert_cmpstr(vmdk_descriptor_ddb(d, "ddb.geometry.cylinders"), ==, sizes[i].cylinders);
        g_assert_cmpint(vmdk_descriptor_ddb(d, "ddb.thinProvisioned") != NULL, ==, sizes[i].thin);
    }
}

static VmdkDescriptor *
one_extent(const char *access_type_name)
{
    g_autofree char *text = g_strdup_printf("# Disk DescriptorFile\ncreateType=\"vmfs\"\n%s\n", access_type_name);
    g_autoptr(GError) error = NULL;
    VmdkDescriptor *desc = vmdk_descriptor_parse(text, strlen(text), &error);

    g_assert_no_error(error);
    return desc;
}

static void
test_resolve_flat(TmpDir *t, gconstpointer data)
{
    g_autoptr(VmdkDescriptor) desc =
        vmdk_descriptor_new_flat("disk-flat.vmdk", 4 << 20, "lsilogic", TRUE, test_uuid, 7);
    g_autofree char *vmdk = g_build_filename(t->dir, "disk.vmdk", NULL);
    g_autofree char *flat = g_build_filename(t->dir, "disk-flat.vmdk", NULL);
    g_autofree char *info = NULL;
    g_autoptr(VmdkDescriptor) loaded = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *path = NULL;
    const char *format = NULL;
    const char *info_argv[] = { "qemu-img", "info", "--output=json", "-f", "vmdk", vmdk, NULL };

    g_assert_true(vmdk_descriptor_save(desc, vmdk, &error));
    g_assert_no_error(error);
    g_assert_true(g_file_set_contents(flat, "", 0, NULL));
    g_assert_cmpint(truncate(flat, 4 << 20), ==, 0);

    loaded = vmdk_descriptor_load(vmdk, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(vmdk_descriptor_capacity(loaded), ==, 4 << 20);
    g_assert_true(vmdk_descriptor_resolve_extent(loaded, t->dir, &path, &format, &error));
    g_assert_no_error(error);
    g_assert_cmpstr(format, ==, "raw");
    g_assert_true(g_str_has_suffix(path, "/disk-flat.vmdk"));
    g_assert_true(g_path_is_absolute(path));

    /* QEMU reads the descriptor we wrote as a VMware disk of the right size. */
    g_assert_true(g_spawn_sync(NULL, (char **)info_argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                               NULL, NULL, &info, NULL, NULL, &error));
    g_assert_nonnull(strstr(info, "\"virtual-size\": 4194304"));
}

static void
test_resolve_qemu_made(TmpDir *t, gconstpointer data)
{
    static const struct { const char *subformat; const char *format; const char *data_name; const char *create_type; } cases[] = {
        { "monolithicSparse", "vmdk", "q0.vmdk", "monolithicSparse" },
        { "streamOptimized", "vmdk", "q1.vmdk", "streamOptimized" },
        { "monolithicFlat", "raw", "q2-flat.vmdk", "monolithicFlat" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *name = g_strdup_printf("q%u.vmdk", i);
        g_autofree char *path = g_build_filename(t->dir, name, NULL);
        g_autofree char *opt = g_strdup_printf("subformat=%s", cases[i].subformat);
        const char *argv[] = { "qemu-img", "create", "-q", "-f", "vmdk", "-o", opt, path, "8M", NULL };
        g_autoptr(VmdkDescriptor) desc = NULL;
        g_autoptr(GError) error = NULL;
        g_autofree char *data_path = NULL;
        const char *format = NULL;

        run(argv);
        desc = vmdk_descriptor_load(path, &error);
        g_assert_no_error(error);
        g_assert_cmpstr(desc->create_type, ==, cases[i].create_type);
        g_assert_cmpuint(vmdk_descriptor_capacity(desc), ==, 8 << 20);
        g_assert_true(vmdk_descriptor_resolve_extent(desc, t->dir, &data_path, &format, &error));
        g_assert_no_error(error);
        g_assert_cmpstr(format, ==, cases[i].format);
        g_assert_true(g_str_has_suffix(data_path, cases[i].data_name));
    }
}

static void
test_resolve_refused(TmpDir *t, gconstpointer data)
{
    g_autofree char *outside_dir = g_dir_make_tmp("vmdk-outside-XXXXXX", NULL);
    g_autofree char *outside = write_file(outside_dir, "secret-flat.vmdk", "data");
    g_autofree char *link = g_build_filename(t->dir, "link-flat.vmdk", NULL);
    g_autofree char *sub = g_build_filename(t->dir, "sub", NULL);
    g_autofree char *inner = write_file(t->dir, "ok-flat.vmdk", "data");
    static const struct { const char *extent; VireoErrorCode code; const char *in_message; } cases[] = {
        { "RW 8 VMFS \"/etc/passwd\"", VIREO_ERROR_INVALID_ARGUMENT, "absolute" },
        { "RW 8 VMFS \"../other/x-flat.vmdk\"", VIREO_ERROR_INVALID_ARGUMENT, ".." },
        { "RW 8 VMFS \"..\"", VIREO_ERROR_INVALID_ARGUMENT, ".." },
        { "RW 8 VMFS \"sub/x-flat.vmdk\"", VIREO_ERROR_INVALID_ARGUMENT, "sub-folder" },
        { "RW 8 VMFS \"\"", VIREO_ERROR_INVALID_ARGUMENT, "no file name" },
        { "RW 8 VMFS \"link-flat.vmdk\"", VIREO_ERROR_INVALID_ARGUMENT, "outside the VM's folder" },
        { "RW 8 VMFS \"missing-flat.vmdk\"", VIREO_ERROR_NOT_FOUND, "missing" },
        { "RW 8 VMFS \"sub\"", VIREO_ERROR_INVALID_ARGUMENT, "not a regular file" },
        { "RW 8 SESPARSE \"ok-flat.vmdk\"", VIREO_ERROR_UNSUPPORTED, "snapshot" },
        { "RW 8 VMFSSPARSE \"ok-flat.vmdk\"", VIREO_ERROR_UNSUPPORTED, "snapshot" },
        { "RW 8 VMFSRDM \"ok-flat.vmdk\"", VIREO_ERROR_UNSUPPORTED, "VMFSRDM" },
        { "RW 8 ZERO", VIREO_ERROR_UNSUPPORTED, "ZERO" },
        { "RDONLY 8 VMFS \"ok-flat.vmdk\"", VIREO_ERROR_UNSUPPORTED, "RDONLY" },
        { "RW 8 FLAT \"ok-flat.vmdk\" 128", VIREO_ERROR_UNSUPPORTED, "offset 0" },
        { "RW 8 VMFS \"ok-flat.vmdk\"\nRW 8 VMFS \"ok-flat.vmdk\"", VIREO_ERROR_UNSUPPORTED, "2 extents" },
    };

    g_assert_cmpint(symlink(outside, link), ==, 0);
    g_assert_cmpint(g_mkdir(sub, 0755), ==, 0);
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(VmdkDescriptor) desc = one_extent(cases[i].extent);
        g_autoptr(GError) error = NULL;
        char *path = NULL;
        const char *format = NULL;

        g_assert_false(vmdk_descriptor_resolve_extent(desc, t->dir, &path, &format, &error));
        g_test_message("case %s: %s", cases[i].extent, error ? error->message : "(resolved)");
        g_assert_error(error, VIREO_ERROR, (int)cases[i].code);
        g_assert_nonnull(strstr(error->message, cases[i].in_message));
        g_assert_null(path);
    }
    /* A symlink that stays inside the folder is fine. */
    {
        g_autofree char *inlink = g_build_filename(t->dir, "alias-flat.vmdk", NULL);
        g_autoptr(VmdkDescriptor) desc = one_extent("RW 8 VMFS \"alias-flat.vmdk\"");
        g_autofree char *path = NULL;
        const char *format = NULL;

        g_assert_cmpint(symlink("ok-flat.vmdk", inlink), ==, 0);
        g_assert_true(vmdk_descriptor_resolve_extent(desc, t->dir, &path, &format, NULL));
        g_assert_true(g_str_has_suffix(path, "/ok-flat.vmdk"));
    }
    remove_tree(outside_dir);
    (void)inner;
}

static void
test_load_refused(TmpDir *t, gconstpointer data)
{
    g_autofree char *cowd = g_build_filename(t->dir, "x-delta.vmdk", NULL);
    g_autofree char *big = g_build_filename(t->dir, "x-flat.vmdk", NULL);
    g_autofree char *missing = g_build_filename(t->dir, "none.vmdk", NULL);
    g_autofree char *bad_kdmv = g_build_filename(t->dir, "bad.vmdk", NULL);
    g_autofree char *header = g_malloc0(1024);
    g_autoptr(GError) error = NULL;

    memcpy(header, "COWD", 4);
    g_assert_true(g_file_set_contents(cowd, header, 1024, NULL));
    g_assert_null(vmdk_descriptor_load(cowd, &error));
    g_assert_nonnull(strstr(error->message, "COWD"));
    g_clear_error(&error);

    /* A KDMV header claiming a huge embedded descriptor is refused, not read. */
    memset(header, 0, 1024);
    memcpy(header, "KDMV", 4);
    header[28] = 1;
    header[36 + 4] = 1;
    g_assert_true(g_file_set_contents(bad_kdmv, header, 1024, NULL));
    g_assert_null(vmdk_descriptor_load(bad_kdmv, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT);
    g_clear_error(&error);

    g_assert_true(g_file_set_contents(big, "", 0, NULL));
    g_assert_cmpint(truncate(big, 4 << 20), ==, 0);
    g_assert_null(vmdk_descriptor_load(big, &error));
    g_assert_nonnull(strstr(error->message, "not a descriptor"));
    g_clear_error(&error);

    g_assert_null(vmdk_descriptor_load(missing, &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND);
    g_clear_error(&error);

    g_assert_null(vmdk_descriptor_load(t->dir, &error));
    g_assert_nonnull(error);
}

static void
test_set_ddb(void)
{
    g_autoptr(VmdkDescriptor) desc = vmdk_descriptor_new();
    g_autofree char *text = NULL;

    vmdk_descriptor_set_ddb(desc, "ddb.b", "1");
    vmdk_descriptor_set_ddb(desc, "ddb.a", "2");
    vmdk_descriptor_set_ddb(desc, "ddb.b", "say \"x\"\nnext");
    g_assert_cmpuint(desc->ddb_keys->len, ==, 2);
    g_assert_cmpstr(vmdk_descriptor_ddb(desc, "ddb.b"), ==, "say \"x\"\nnext");
    g_assert_null(vmdk_descriptor_ddb(desc, "ddb.c"));
    text = vmdk_descriptor_to_string(desc);
    /* No escapes exist in this format: the writer keeps the file parseable. */
    g_assert_nonnull(strstr(text, "ddb.b = \"say _x__next\"\nddb.a = \"2\"\n"));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vmdk/corpus-sample", test_corpus_sample);
    g_test_add_func("/vmdk/parse-variants", test_parse_variants);
    g_test_add_func("/vmdk/malformed", test_malformed);
    g_test_add_func("/vmdk/new-flat", test_new_flat);
    g_test_add_func("/vmdk/set-ddb", test_set_ddb);
    g_test_add("/vmdk/resolve-flat", TmpDir, NULL, tmpdir_setup, test_resolve_flat, tmpdir_teardown);
    g_test_add("/vmdk/resolve-qemu-made", TmpDir, NULL, tmpdir_setup, test_resolve_qemu_made, tmpdir_teardown);
    g_test_add("/vmdk/resolve-refused", TmpDir, NULL, tmpdir_setup, test_resolve_refused, tmpdir_teardown);
    g_test_add("/vmdk/load-refused", TmpDir, NULL, tmpdir_setup, test_load_refused, tmpdir_teardown);
    return g_test_run();
}
