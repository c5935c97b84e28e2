/* tls-cert.h — the daemons' self-signed certificates and their thumbprints. */
#pragma once

#include <glib.h>
#include <gio/gio.h>

G_BEGIN_DECLS

/* Loads cert_path + key_path (PEM); when neither exists, makes a self-signed
 * ECDSA P-256 / SHA-256 certificate for common_name (valid 10 years, with the
 * names in alt_names, which may be host names or IP addresses) and writes
 * both (key mode 0600) first. */
GTlsCertificate *tls_cert_load_or_create(const char *cert_path, const char *key_path,
                                         const char *common_name, const char *const *alt_names,
                                         GError **error);
/* SHA-256 of the DER certificate, "AB:CD:...:EF" (upper case, as vCenter shows). */
char *tls_cert_thumbprint(GTlsCertificate *certificate);
/* The same, of a PEM certificate: pem is the PEM text itself (it contains
 * "-----BEGIN") or the path of a PEM file. */
char *tls_cert_thumbprint_of_pem(const char *pem, GError **error);

G_END_DECLS
