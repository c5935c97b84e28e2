/* password.c — password hashes with libcrypt (yescrypt, "$y$"), the format of
 * /etc/shadow, and their constant-time verification.
 */
#include "password.h"
#include <unistd.h>
#include <termios.h>
#include <stdio.h>

#include <crypt.h>
#include <errno.h>
#include <string.h>

#include "vireo-error.h"

/* yescrypt; cost 0 lets libcrypt pick its current default. */
#define PASSWORD_HASH_PREFIX "$y$"

char *
password_hash(const char *password, GError **error)
{
    g_return_val_if_fail(password != NULL, NULL);

    /* NULL rbytes: libcrypt reads the salt from the OS's random source. */
    g_autofree char *setting = crypt_gensalt_ra(PASSWORD_HASH_PREFIX, 0, NULL, 0);
    if (!setting) {
        int saved = errno;
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR,
                    "Cannot make a password salt: %s", g_strerror(saved));
        return NULL;
    }

    g_autofree struct crypt_data *data = g_new0(struct crypt_data, 1);
    const char *out = crypt_r(password, setting, data);
    /* libcrypt signals failure with NULL or a string starting with '*'. */
    if (!out || out[0] == '*') {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR,
                    "Cannot hash the password with yescrypt");
        explicit_bzero(data, sizeof(*data));
        return NULL;
    }
    char *result = g_strdup(out);
    explicit_bzero(data, sizeof(*data));
    return result;
}

/* Compares two byte strings without an early exit on the first difference,
 * so timing does not reveal how much of a hash matched. */
static gboolean
constant_time_equal(const char *a, const char *b)
{
    size_t la = strlen(a);
    size_t lb = strlen(b);
    size_t n = MAX(la, lb);
    unsigned char diff = (unsigned char)(la != lb);

    for (size_t i = 0; i < n; i++) {
        unsigned char ca = i < la ? (unsigned char)a[i] : 0;
        unsigned char cb = i < lb ? (unsigned char)b[i] : 0;
        diff |= ca ^ cb;
    }
    return diff == 0;
}

gboolean
password_verify(const char *password, const char *hash)
{
    /* An empty or locked ("!", "*") hash never matches: crypt would otherwise
     * accept an empty password against an empty hash on some schemes. */
    if (!password || !hash || hash[0] != '$')
        return FALSE;

    g_autofree struct crypt_data *data = g_new0(struct crypt_data, 1);
    const char *out = crypt_r(password, hash, data);
    gboolean ok = out && out[0] != '*' && constant_time_equal(out, hash);
    explicit_bzero(data, sizeof(*data));
    return ok;
}

/* `--hash-password` of the daemons: reads a password on standard input (not
 * echoed on a terminal) and prints its hash; the exit status for main(). */
int
password_hash_command(const char *program)
{
    char line[1024];
    gboolean tty = isatty(STDIN_FILENO);
    struct termios old, quiet;
    if (tty) {
        fprintf(stderr, "Password: ");
        tcgetattr(STDIN_FILENO, &old);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    }
    char *got = fgets(line, sizeof line, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSANOW, &old);
        fprintf(stderr, "\n");
    }
    if (!got) {
        fprintf(stderr, "%s: no password given on standard input\n", program);
        return 2;
    }
    line[strcspn(line, "\r\n")] = '\0';
    g_autoptr(GError) error = NULL;
    g_autofree char *hash = password_hash(line, &error);
    if (!hash) {
        fprintf(stderr, "%s: %s\n", program, error->message);
        return 1;
    }
    printf("%s\n", hash);
    return 0;
}
