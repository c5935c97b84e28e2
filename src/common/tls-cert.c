/* tls-cert.c — the daemons' TLS identity: a self-signed ECDSA certificate made
 * with GnuTLS on first start, loaded on every later one, and the SHA-256
 * thumbprint clients pin it by (as vCenter pins an ESXi host's).
 */
#include "tls-cert.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>

#include "vireo-error.h"

/* ECDSA P-256: the same strength as RSA 3072 at a tenth of the handshake
 * cost, which matters because every API connection is a new handshake. */
#define TLS_CERT_KEY_BITS GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1)
#define TLS_CERT_VALID_SECONDS (10 * 365 * 24 * 60 * 60LL + 3 * 24 * 60 * 60LL)

typedef gnutls_x509_privkey_t TlsPrivkey;
typedef gnutls_x509_crt_t TlsCrt;
G_DEFINE_AUTO_CLEANUP_FREE_FUNC(TlsPrivkey, gnutls_x509_privkey_deinit, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC(TlsCrt, gnutls_x509_crt_deinit, NULL)

static gboolean
gnutls_check(int rc, const char *what, GError **error)
{
    if (rc >= 0)
        return TRUE;
    g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "Cannot make the certificate (%s): %s",
                what, gnutls_strerror(rc));
    return FALSE;
}

static gboolean
add_alt_name(TlsCrt crt, const char *name, GError **error)
{
    if (g_hostname_is_ip_address(name)) {
        g_autoptr(GInetAddress) addr = g_inet_address_new_from_string(name);
        if (!addr) {
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                        "Certificate name '%s' is not a usable IP address", name);
            return FALSE;
        }
        return gnutls_check(gnutls_x509_crt_set_subject_alt_name(
                                crt, GNUTLS_SAN_IPADDRESS, g_inet_address_to_bytes(addr),
                                (unsigned)g_inet_address_get_native_size(addr), GNUTLS_FSAN_APPEND),
                            "IP subjectAltName", error);
    }
    return gnutls_check(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, name,
                                                             (unsigned)strlen(name),
                                                             GNUTLS_FSAN_APPEND),
                        "DNS subjectAltName", error);
}

static gboolean
set_identity(TlsCrt crt, TlsPrivkey key, const char *common_name,
             const char *const *alt_names, GError **error)
{
    guchar serial[16];
    guchar key_id[64];
    size_t key_id_size = sizeof(key_id);
    time_t now = time(NULL);

    if (!gnutls_check(gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial)), "serial", error))
        return FALSE;
    serial[0] &= 0x7f;  /* a positive INTEGER, as RFC 5280 wants */
    serial[0] |= 0x01;  /* and never a leading zero byte */

    if (!gnutls_check(gnutls_x509_crt_set_version(crt, 3), "version", error) ||
        !gnutls_check(gnutls_x509_crt_set_serial(crt, serial, sizeof(serial)), "serial", error) ||
        /* An hour of slack for clients whose clock is a little behind. */
        !gnutls_check(gnutls_x509_crt_set_activation_time(crt, now - 3600), "validity", error) ||
        !gnutls_check(gnutls_x509_crt_set_expiration_time(crt, (time_t)(now + TLS_CERT_VALID_SECONDS)),
                      "validity", error) ||
        !gnutls_check(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0,
                                                    common_name, (unsigned)strlen(common_name)),
                      "common name", error) ||
        !gnutls_check(gnutls_x509_crt_set_key(crt, key), "public key", error) ||
        !gnutls_check(gnutls_x509_crt_set_basic_constraints(crt, 0, -1), "constraints", error) ||
        !gnutls_check(gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE |
                                                             GNUTLS_KEY_KEY_ENCIPHERMENT),
                      "key usage", error) ||
        !gnutls_check(gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0),
                      "key purpose", error) ||
        !gnutls_check(gnutls_x509_crt_get_key_id(crt, 0, key_id, &key_id_size), "key id", error) ||
        !gnutls_check(gnutls_x509_crt_set_subject_key_id(crt, key_id, key_id_size), "key id", error))
        return FALSE;

    for (guint i = 0; alt_names && alt_names[i]; i++) {
        if (!add_alt_name(crt, alt_names[i], error))
            return FALSE;
    }
    return TRUE;
}

static gboolean
write_datum(const char *path, const gnutls_datum_t *datum, int mode, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(path);
    if (g_mkdir_with_parents(dir, 0700) < 0) {
        int saved = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved),
                    "Cannot create directory %s: %s", dir, g_strerror(saved));
        return FALSE;
    }
    /* Consistent: written to a temporary file with the final mode, then
     * renamed, so a crash never leaves a half key or a readable key. */
    return g_file_set_contents_full(path, (const char *)datum->data, datum->size,
                                    G_FILE_SET_CONTENTS_CONSISTENT, mode, error);
}

static gboolean
create_files(const char *cert_path, const char *key_path, const char *common_name,
             const char *const *alt_names, GError **error)
{
    g_auto(TlsPrivkey) key = NULL;
    g_auto(TlsCrt) crt = NULL;
    gnutls_datum_t key_pem = { NULL, 0 };
    gnutls_datum_t crt_pem = { NULL, 0 };
    gboolean ok = FALSE;

    if (!gnutls_check(gnutls_x509_privkey_init(&key), "key", error) ||
        !gnutls_check(gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA, TLS_CERT_KEY_BITS, 0),
                      "ECDSA key", error) ||
        !gnutls_check(gnutls_x509_crt_init(&crt), "certificate", error) ||
        !set_identity(crt, key, common_name, alt_names, error) ||
        !gnutls_check(gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0), "signature",
                      error) ||
        !gnutls_check(gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL,
                                                        GNUTLS_PKCS_PLAIN, &key_pem),
                      "key export", error) ||
        !gnutls_check(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &crt_pem),
                      "certificate export", error))
        goto out;

    /* Key first: a certificate on disk always has its key beside it. */
    ok = write_datum(key_path, &key_pem, 0600, error) &&
         write_datum(cert_path, &crt_pem, 0644, error);
out:
    if (key_pem.data) {
        explicit_bzero(key_pem.data, key_pem.size);
        gnutls_free(key_pem.data);
    }
    gnutls_free(crt_pem.data);
    return ok;
}

GTlsCertificate *
tls_cert_load_or_create(const char *cert_path, const char *key_path, const char *common_name,
                        const char *const *alt_names, GError **error)
{
    gboolean have_cert = g_file_test(cert_path, G_FILE_TEST_EXISTS);
    gboolean have_key = g_file_test(key_path, G_FILE_TEST_EXISTS);

    if (have_cert != have_key) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "%s exists but %s does not: restore the missing file, or remove the "
                    "other one to have a new self-signed certificate made",
                    have_cert ? cert_path : key_path, have_cert ? key_path : cert_path);
        return NULL;
    }
    if (!have_cert) {
        g_return_val_if_fail(common_name != NULL, NULL);
        if (!create_files(cert_path, key_path, common_name, alt_names, error))
            return NULL;
    }
    return g_tls_certificate_new_from_files(cert_path, key_path, error);
}

char *
tls_cert_thumbprint(GTlsCertificate *certificate)
{
    g_autoptr(GByteArray) der = NULL;

    g_return_val_if_fail(G_IS_TLS_CERTIFICATE(certificate), NULL);
    g_object_get(certificate, "certificate", &der, NULL);
    if (!der)
        return NULL;

    guint8 digest[32];
    gsize digest_len = sizeof(digest);
    g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
    g_checksum_update(sum, der->data, der->len);
    g_checksum_get_digest(sum, digest, &digest_len);

    GString *out = g_string_sized_new(digest_len * 3);
    for (gsize i = 0; i < digest_len; i++)
        g_string_append_printf(out, i ? ":%02X" : "%02X", digest[i]);
    return g_string_free(out, FALSE);
}

char *
tls_cert_thumbprint_of_pem(const char *pem, GError **error)
{
    g_autoptr(GTlsCertificate) cert = NULL;

    g_return_val_if_fail(pem != NULL, NULL);
    /* PEM text, or the path of a PEM file. */
    if (strstr(pem, "-----BEGIN"))
        cert = g_tls_certificate_new_from_pem(pem, -1, error);
    else
        cert = g_tls_certificate_new_from_file(pem, error);
    if (!cert)
        return NULL;
    return tls_cert_thumbprint(cert);
}
