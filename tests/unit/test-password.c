/* test-password.c — yescrypt hashes: made, verified, refused when wrong or empty. */
#include <string.h>

#include "password.h"

static void
test_hash_and_verify(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *hash = password_hash("s3cret!", &error);
    g_assert_no_error(error);
    g_assert_nonnull(hash);
    g_assert_true(g_str_has_prefix(hash, "$y$"));
    g_assert_null(strstr(hash, "s3cret"));
    g_assert_true(password_verify("s3cret!", hash));
}

static void
test_wrong_password(void)
{
    g_autofree char *hash = password_hash("s3cret!", NULL);
    g_assert_false(password_verify("s3cret", hash));
    g_assert_false(password_verify("s3cret!!", hash));
    g_assert_false(password_verify("", hash));
    g_assert_false(password_verify("S3CRET!", hash));
}

static void
test_salt_is_random(void)
{
    g_autofree char *a = password_hash("same", NULL);
    g_autofree char *b = password_hash("same", NULL);
    g_assert_cmpstr(a, !=, b);
    g_assert_true(password_verify("same", a));
    g_assert_true(password_verify("same", b));
}

static void
test_empty_and_locked_hashes_refused(void)
{
    g_assert_false(password_verify("", ""));
    g_assert_false(password_verify("x", ""));
    g_assert_false(password_verify("", "!"));
    g_assert_false(password_verify("x", "*"));
    g_assert_false(password_verify("x", NULL));
    g_assert_false(password_verify(NULL, "$y$j9T$abc$def"));
    /* A hash cut short must not verify either. */
    g_autofree char *hash = password_hash("pw", NULL);
    g_autofree char *cut = g_strndup(hash, strlen(hash) - 5);
    g_assert_false(password_verify("pw", cut));
}

static void
test_empty_password_hashes(void)
{
    /* An empty password is a legitimate (if poor) password. */
    g_autofree char *hash = password_hash("", NULL);
    g_assert_nonnull(hash);
    g_assert_true(password_verify("", hash));
    g_assert_false(password_verify(" ", hash));
}

static void
test_existing_shadow_hashes(void)
{
    /* Hashes as an admin would paste them from /etc/shadow or mkpasswd:
     * yescrypt and the older SHA-512 crypt both verify. */
    const char *yescrypt = "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$tnSYvahCwPBHKZUspmcxMfb0.WiB9W.zEaKlOBL35rC";
    const char *sha512 = "$6$Ails6n4EtVuhvPGL$xckXbiBLNVLAaBpNY45frmqutfmr11ft5uBXot1eSTEuGDks/"
                         "jX8odjedxSrmcUVaomJzBxYbbPkkWFMoe9Bd.";
    g_assert_true(password_verify("password", yescrypt));
    g_assert_false(password_verify("Password", yescrypt));
    g_assert_true(password_verify("password", sha512));
    g_assert_false(password_verify("password1", sha512));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/password/hash-and-verify", test_hash_and_verify);
    g_test_add_func("/password/wrong", test_wrong_password);
    g_test_add_func("/password/salt-random", test_salt_is_random);
    g_test_add_func("/password/empty-hash", test_empty_and_locked_hashes_refused);
    g_test_add_func("/password/empty-password", test_empty_password_hashes);
    g_test_add_func("/password/existing-hashes", test_existing_shadow_hashes);
    return g_test_run();
}
