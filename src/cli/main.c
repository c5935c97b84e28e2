/* main.c — `vireo`, the command-line client: parse (cli-dispatch.c), find
 * the settings (cli-config.c), run one command, print its output or
 * "vireo: <message>" and exit with the code cli_exit_code_for_error() gives.
 */
#include <stdio.h>
#include <locale.h>

#include "cli.h"

static char *
main_read_lab_env(char **envp)
{
    const char *url = g_environ_getenv(envp, "VIREO_URL");
    g_autofree char *path = NULL;
    char *text = NULL;

    if (url && *url)
        return NULL;
    path = cli_lab_env_path();
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return NULL;
    return text;
}

int
main(int argc, char **argv)
{
    g_autoptr(CliInvocation) inv = NULL;
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) envp = g_get_environ();
    g_autofree char *lab = NULL;
    CliContext ctx;
    int code;

    setlocale(LC_ALL, "");
    if (!cli_parse(argc, argv, &inv, &error)) {
        fprintf(stderr, "vireo: %s\n", error->message);
        if (inv && inv->help_text)
            fprintf(stderr, "\n%s", inv->help_text);
        return CLI_EXIT_USAGE;
    }
    if (inv->help) {
        fputs(inv->help_text, stdout);
        return CLI_EXIT_OK;
    }
    lab = main_read_lab_env(envp);
    cli_context_init(&ctx);
    cli_settings_resolve(&ctx.settings, &inv->flags, (const char *const *)envp, lab);
    code = cli_run(&ctx, inv, &error) ? CLI_EXIT_OK : (int)cli_exit_code_for_error(error);
    fputs(ctx.out->str, stdout);
    fflush(stdout);
    if (error)
        fprintf(stderr, "vireo: %s\n", error->message);
    cli_context_clear(&ctx);
    return code;
}
