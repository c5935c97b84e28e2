/* password.h — password hashes with crypt(3) (yescrypt), as /etc/shadow has them. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A new "$y$..." hash of password with a random salt. */
char *password_hash(const char *password, GError **error);
/* TRUE when password matches hash (constant-time comparison). */
gboolean password_verify(const char *password, const char *hash);

/* The daemons' --hash-password: a password on standard input (not echoed on
 * a terminal), its hash on standard output; returns main()'s exit status.
 * program names the daemon in messages. */
int password_hash_command(const char *program);

G_END_DECLS
