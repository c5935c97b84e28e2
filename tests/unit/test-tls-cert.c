/* test-tls-cert.c — self-signed certificates: made once, reloaded unchanged,
 * key kept private, thumbprints as vCenter shows them. */
#include <glib/gstdio.h>
#include <gnutls/x509.h>
#include <string.h>
#include <sys/stat.h>

#include "tls-cert.h"

typedef struct {
    char *dir;
    char *cert_path;
    char *key_path;
} Fixture;

static void
fixture_setup(Fixture *f, gconstpointer data)
{
    f->dir = g_dir_make_tmp("vireo-tls-XXXXXX", NULL);
    g_assert_nonnull(f->dir);
    f->cert_path = g_build_filename(f->dir, "sub", "host.crt", NULL);
    f->key_path = g_build_filename(f->dir, "sub", "host.key", NULL);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
    g_unlink(f->cert_path);
    g_unlink(f->key_path);
    g_autofree char *sub = g_build_filename(f->dir, "sub", NULL);
    g_rmdir(sub);
    g_rmdir(f->dir);
    g_free(f->dir);
    g_free(f->cert_path);
    g_free(f->key_path);
}

static const char *const alt_names[] = { "esx-a.example", "127.0.0.1", "::1", NULL };

static GTlsCertificate *
create(Fixture *f)
{
    g_autoptr(GError) error = NULL;
    GTlsCertificate *cert =
        tls_cert_load_or_create(f->cert_path, f->key_path, "esx-a", alt_names, &error);
    g_assert_no_error(error);
    g_assert_nonnull(cert);
    return cert;
}

static gboolean
is_thumbprint(const char *t)
{
    if (!t || strlen(t) != 32 * 3 - 1)
        return FALSE;
    for (guint i = 0; t[i]; i++) {
        gboolean colon = i % 3 == 2;
        if (colon ? t[i] != ':' : !(g_ascii_isdigit(t[i]) || (t[i] >= 'A' && t[i] <= 'F')))
            return FALSE;
    }
    return TRUE;
}

static void
test_create_and_reload(Fixture *f, gconstpointer data)
{
    g_autoptr(GTlsCertificate) first = create(f);
    g_autofree char *t1 = tls_cert_thumbprint(first);
    g_assert_true(is_thumbprint(t1));

    g_autofree char *pem1 = NULL;
    g_assert_true(g_file_get_contents(f->cert_path, &pem1, NULL, NULL));

    /* A second start loads the same identity instead of making a new one. */
    g_autoptr(GTlsCertificate) second = create(f);
    g_autofree char *t2 = tls_cert_thumbprint(second);
    g_assert_cmpstr(t1, ==, t2);
    g_autofree char *pem2 = NULL;
    g_assert_true(g_file_get_contents(f->cert_path, &pem2, NULL, NULL));
    g_assert_cmpstr(pem1, ==, pem2);

    /* The loaded certificate carries its private key (a server needs it). */
    g_autoptr(GByteArray) der = NULL;
    g_autofree char *key_pem = NULL;
    g_object_get(second, "certificate", &der, "private-key-pem", &key_pem, NULL);
    g_assert_nonnull(der);
    g_assert_nonnull(key_pem);
    g_assert_true(strstr(key_pem, "PRIVATE KEY") != NULL);
}

static void
test_thumbprint_of_pem(Fixture *f, gconstpointer data)
{
    g_autoptr(GTlsCertificate) cert = create(f);
    g_autofree char *t = tls_cert_thumbprint(cert);
    g_autoptr(GError) error = NULL;

    g_autofree char *from_path = tls_cert_thumbprint_of_pem(f->cert_path, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(from_path, ==, t);

    g_autofree char *pem = NULL;
    g_assert_true(g_file_get_contents(f->cert_path, &pem, NULL, NULL));
    g_autofree char *from_text = tls_cert_thumbprint_of_pem(pem, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(from_text, ==, t);

    /* Independently: SHA-256 of the DER that GnuTLS decodes from the PEM. */
    gnutls_x509_crt_t crt;
    gnutls_datum_t in = { (unsigned char *)pem, (unsigned)strlen(pem) };
    gnutls_datum_t der = { NULL, 0 };
    g_assert_cmpint(gnutls_x509_crt_init(&crt), ==, 0);
    g_assert_cmpint(gnutls_x509_crt_import(crt, &in, GNUTLS_X509_FMT_PEM), ==, 0);
    g_assert_cmpint(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der), ==, 0);
    g_autofree char *hex = g_compute_checksum_for_data(G_CHECKSUM_SHA256, der.data, der.size);
    gnutls_free(der.data);
    g_autofree char *plain = g_strdup(t);
    g_strdelimit(plain, ":", ' ');
    g_autofree char *expected = g_ascii_strup(hex, -1);
    g_autoptr(GString) compact = g_string_new(NULL);
    for (const char *p = plain; *p; p++)
        if (*p != ' ')
            g_string_append_c(compact, *p);
    g_assert_cmpstr(compact->str, ==, expected);

    /* The certificate itself: our names, SHA-256 signature, ~10 years, ECDSA P-256. */
    char cn[256];
    size_t cn_size = sizeof(cn);
    g_assert_cmpint(gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn,
                                                  &cn_size), ==, 0);
    g_assert_cmpstr(cn, ==, "esx-a");
    g_assert_cmpint(gnutls_x509_crt_get_signature_algorithm(crt), ==, GNUTLS_SIGN_ECDSA_SHA256);
    unsigned bits = 0;
    g_assert_cmpint(gnutls_x509_crt_get_pk_algorithm(crt, &bits), ==, GNUTLS_PK_ECDSA);
    g_assert_cmpuint(bits, ==, 256);
    time_t span = gnutls_x509_crt_get_expiration_time(crt) - time(NULL);
    g_assert_cmpint(span / (24 * 3600), >=, 3650);
    g_assert_cmpint(span / (24 * 3600), <=, 3660);
    g_assert_true(gnutls_x509_crt_check_hostname(crt, "esx-a.example"));
    g_assert_true(gnutls_x509_crt_check_hostname(crt, "127.0.0.1"));
    g_assert_false(gnutls_x509_crt_check_hostname(crt, "other.example"));
    g_assert_cmpint(gnutls_x509_crt_check_ip(crt, (const unsigned char *)"\x7f\0\0\x01", 4, 0), !=, 0);
    gnutls_x509_crt_deinit(crt);
}

static void
test_key_mode(Fixture *f, gconstpointer data)
{
    g_autoptr(GTlsCertificate) cert = create(f);
    GStatBuf st;
    g_assert_cmpint(g_stat(f->key_path, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 0777, ==, 0600);
    g_assert_cmpint(g_stat(f->cert_path, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 0022, ==, 0);  /* public, but only we may change it */
}

static void
test_distinct_certificates(Fixture *f, gconstpointer data)
{
    /* Two hosts never share an identity (random key and serial). */
    g_autoptr(GTlsCertificate) a = create(f);
    g_autofree char *ta = tls_cert_thumbprint(a);
    g_unlink(f->cert_path);
    g_unlink(f->key_path);
    g_autoptr(GTlsCertificate) b = create(f);
    g_autofree char *tb = tls_cert_thumbprint(b);
    g_assert_cmpstr(ta, !=, tb);
}

static void
test_half_missing_refused(Fixture *f, gconstpointer data)
{
    g_autoptr(GTlsCertificate) a = create(f);
    g_autofree char *before = tls_cert_thumbprint(a);
    g_unlink(f->cert_path);
    g_autoptr(GError) error = NULL;
    g_autoptr(GTlsCertificate) b =
        tls_cert_load_or_create(f->cert_path, f->key_path, "esx-a", alt_names, &error);
    g_assert_null(b);
    g_assert_nonnull(error);
    g_assert_nonnull(strstr(error->message, "host.crt"));
    /* The existing key was left alone. */
    g_assert_true(g_file_test(f->key_path, G_FILE_TEST_EXISTS));
}

static void
test_bad_pem(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *t = tls_cert_thumbprint_of_pem("-----BEGIN CERTIFICATE-----\nxx\n"
                                                    "-----END CERTIFICATE-----\n", &error);
    g_assert_null(t);
    g_assert_nonnull(error);
    g_clear_error(&error);
    g_autofree char *t2 = tls_cert_thumbprint_of_pem("/nonexistent/cert.pem", &error);
    g_assert_null(t2);
    g_assert_nonnull(error);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add("/tls-cert/create-reload", Fixture, NULL, fixture_setup, test_create_and_reload,
               fixture_teardown);
    g_test_add("/tls-cert/thumbprint-of-pem", Fixture, NULL, fixture_setup,
               test_thumbprint_of_pem, fixture_teardown);
    g_test_add("/tls-cert/key-mode", Fixture, NULL, fixture_setup, test_key_mode,
               fixture_teardown);
    g_test_add("/tls-cert/distinct", Fixture, NULL, fixture_setup, test_distinct_certificates,
               fixture_teardown);
    g_test_add("/tls-cert/half-missing", Fixture, NULL, fixture_setup, test_half_missing_refused,
               fixture_teardown);
    g_test_add_func("/tls-cert/bad-pem", test_bad_pem);
    return g_test_run();
}
