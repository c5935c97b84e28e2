/* daemon-cli.h — the command line both daemons share (vireo-hostd,
 * vireo-centerd): --config FILE, --hash-password, --version, --help; and the
 * main loop they run until SIGTERM or SIGINT.
 */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

typedef struct {
    const char *program;       /* "vireo-hostd" */
    const char *parameter;     /* "- Vireo host agent" */
    const char *summary;       /* --help's paragraph */
    const char *config_help;   /* what --config names */
    const char *hash_help;     /* where --hash-password's output goes */
} DaemonCli;

/* Parses the command line. Returns -1 when the daemon should start, with
 * *config_path set (SIGPIPE is then ignored: a client that goes away must
 * not kill the daemon); otherwise the exit status, after printing the
 * version, a password hash, or what was wrong (2). */
int daemon_cli_parse(const DaemonCli *cli, int *argc, char ***argv, char **config_path);

/* Runs the default main loop until SIGTERM or SIGINT, then logs farewell. */
void daemon_run(const char *farewell);

G_END_DECLS
