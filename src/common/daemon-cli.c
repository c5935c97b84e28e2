/* daemon-cli.c — the daemons' shared command line and main loop (daemon-cli.h). */
#include "daemon-cli.h"

#include "password.h"
#include "vireo-build-config.h"

#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>

int
daemon_cli_parse(const DaemonCli *cli, int *argc, char ***argv, char **config_path)
{
    gboolean version = FALSE, hash = FALSE;
    GOptionEntry entries[] = {
        { "config", 'c', 0, G_OPTION_ARG_FILENAME, config_path, cli->config_help, "FILE" },
        { "hash-password", 0, 0, G_OPTION_ARG_NONE, &hash, cli->hash_help, NULL },
        { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version", NULL },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new(cli->parameter);
    g_option_context_set_summary(ctx, cli->summary);
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(ctx, argc, argv, &error)) {
        fprintf(stderr, "%s: %s (see --help)\n", cli->program, error->message);
        return 2;
    }
    if (version) {
        printf("%s %s\n", cli->program, VIREO_VERSION);
        return 0;
    }
    if (hash)
        return password_hash_command(cli->program);
    if (!*config_path) {
        fprintf(stderr, "%s: give the configuration file with --config (see --help)\n", cli->program);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    return -1;
}

static gboolean
on_signal(gpointer data)
{
    g_main_loop_quit(data);
    return G_SOURCE_CONTINUE;
}

void
daemon_run(const char *farewell)
{
    g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
    g_unix_signal_add(SIGTERM, on_signal, loop);
    g_unix_signal_add(SIGINT, on_signal, loop);
    g_main_loop_run(loop);
    g_message("%s", farewell);
}
