/* cli-dispatch.c — the verb table and argument parsing of `vireo`: global
 * connection options anywhere on the line, the longest "noun [noun] verb"
 * path that names a command, then that command's own options (GOption) and
 * positional arguments; help for every command and noun.
 */
#include "cli.h"

#include <string.h>

/* cmd-vm-migrate.c */
extern const CliCommand cli_vm_migrate_commands[];

static const CliCommand *const *
dispatch_tables(void)
{
    static const CliCommand *const tables[] = {
        cli_session_commands, cli_host_commands, cli_datastore_commands, cli_network_commands,
        cli_vm_commands, cli_vm_guest_commands, cli_vm_disk_commands, cli_vm_nic_commands,
        cli_vm_cdrom_commands, cli_inventory_commands, cli_center_host_commands, cli_center_vm_commands,
        cli_task_commands, cli_event_commands, cli_security_commands, cli_vm_migrate_commands, NULL,
    };
    return tables;
}

/* Commands whose own options share a global option's name: there they are
 * the command's (`host add --username` is the host's user, not ours). */
static const struct {
    const char *command;
    const char *options[4];
} dispatch_claimed[] = {
    { "host add", { "username", "password", "thumbprint", NULL } },
    { "user add", { "password", NULL } },
};

static const char *const *
dispatch_claimed_by(const char *command)
{
    for (guint i = 0; command && i < G_N_ELEMENTS(dispatch_claimed); i++) {
        if (g_str_equal(dispatch_claimed[i].command, command))
            return dispatch_claimed[i].options;
    }
    return NULL;
}

const CliCommand *
cli_commands(void)
{
    static GArray *all;

    if (!all) {
        all = g_array_new(TRUE, TRUE, sizeof(CliCommand));
        /* A later table's command with a taken path replaces it in place. */
        for (const CliCommand *const *t = dispatch_tables(); *t; t++) {
            for (const CliCommand *c = *t; c->path; c++) {
                guint i = 0;
                while (i < all->len && !g_str_equal(g_array_index(all, CliCommand, i).path, c->path))
                    i++;
                if (i < all->len)
                    g_array_index(all, CliCommand, i) = *c;
                else
                    g_array_append_val(all, *c);
            }
        }
    }
    return (const CliCommand *)all->data;
}

const CliCommand *
cli_command_find(const char *path)
{
    for (const CliCommand *c = cli_commands(); c->path; c++) {
        if (g_str_equal(c->path, path))
            return c;
    }
    return NULL;
}

/* TRUE when some command's path starts with "prefix ". */
static gboolean
dispatch_is_group(const char *prefix)
{
    g_autofree char *with_space = g_strconcat(prefix, " ", NULL);

    for (const CliCommand *c = cli_commands(); c->path; c++) {
        if (g_str_has_prefix(c->path, with_space))
            return TRUE;
    }
    return FALSE;
}

typedef struct {
    const char *name;
    gboolean takes_value;
    const char *help;
} GlobalOption;

static const GlobalOption global_options[] = {
    { "url", TRUE, "server address, https://host:port (VIREO_URL)" },
    { "username", TRUE, "user name (VIREO_USERNAME)" },
    { "password", TRUE, "password (VIREO_PASSWORD)" },
    { "thumbprint", TRUE, "accept exactly the certificate with this SHA-256 thumbprint (VIREO_THUMBPRINT)" },
    { "insecure", FALSE, "do not verify the server's certificate (VIREO_INSECURE=1)" },
    { "timeout", TRUE, "seconds to wait for an answer (VIREO_TIMEOUT, default 60)" },
    { "json", FALSE, "print the server's JSON answer instead of text" },
};

static void
dispatch_set_global(CliSettings *flags, const char *name, const char *value)
{
    if (g_str_equal(name, "url"))
        g_free(flags->url), flags->url = g_strdup(value);
    else if (g_str_equal(name, "username"))
        g_free(flags->username), flags->username = g_strdup(value);
    else if (g_str_equal(name, "password"))
        g_free(flags->password), flags->password = g_strdup(value);
    else if (g_str_equal(name, "thumbprint"))
        g_free(flags->thumbprint), flags->thumbprint = g_strdup(value);
    else if (g_str_equal(name, "timeout"))
        flags->timeout = (guint)g_ascii_strtoull(value, NULL, 10);
    else if (g_str_equal(name, "insecure"))
        flags->insecure = TRUE;
    else if (g_str_equal(name, "json"))
        flags->json = TRUE;
}

/* Takes the global options out of argv[1..], but those in claimed; the rest
 * stays in order. */
static GPtrArray *
dispatch_take_globals(int argc, char **argv, const char *const *claimed, CliSettings *flags, GError **error)
{
    g_autoptr(GPtrArray) rest = g_ptr_array_new_with_free_func(g_free);
    gboolean after_dashes = FALSE;

    for (int i = 1; i < argc; i++) {
        const GlobalOption *opt = NULL;
        const char *arg = argv[i];
        const char *eq = strchr(arg, '=');
        gsize name_len = eq ? (gsize)(eq - arg) : strlen(arg);

        after_dashes = after_dashes || g_str_equal(arg, "--");
        for (guint o = 0; !after_dashes && g_str_has_prefix(arg, "--") && o < G_N_ELEMENTS(global_options); o++) {
            if (name_len - 2 == strlen(global_options[o].name) &&
                strncmp(arg + 2, global_options[o].name, name_len - 2) == 0 &&
                !(claimed && g_strv_contains(claimed, global_options[o].name)))
                opt = &global_options[o];
        }
        if (!opt) {
            g_ptr_array_add(rest, g_strdup(arg));
        } else if (opt->takes_value && !eq && i + 1 >= argc) {
            g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "--%s needs a value", opt->name);
            return NULL;
        } else {
            dispatch_set_global(flags, opt->name, opt->takes_value ? (eq ? eq + 1 : argv[++i]) : NULL);
        }
    }
    g_ptr_array_add(rest, NULL);
    return g_steal_pointer(&rest);
}

void
cli_invocation_free(CliInvocation *inv)
{
    if (!inv)
        return;
    for (guint i = 0; inv->option_entries && i < inv->option_entries->len; i++) {
        GOptionEntry *e = g_ptr_array_index(inv->option_entries, i);
        if (e->arg == G_OPTION_ARG_STRING || e->arg == G_OPTION_ARG_FILENAME)
            g_free(*(char **)e->arg_data);
        else if (e->arg == G_OPTION_ARG_STRING_ARRAY || e->arg == G_OPTION_ARG_FILENAME_ARRAY)
            g_strfreev(*(char ***)e->arg_data);
    }
    g_clear_pointer(&inv->option_entries, g_ptr_array_unref);
    g_free(inv->options);
    g_strfreev(inv->args);
    cli_settings_clear(&inv->flags);
    g_free(inv->help_text);
    g_free(inv);
}

static void
dispatch_append_globals(GString *out)
{
    g_string_append(out, "\nGlobal options (anywhere on the line):\n");
    for (guint o = 0; o < G_N_ELEMENTS(global_options); o++) {
        g_autofree char *name = g_strdup_printf("--%s%s", global_options[o].name,
                                                global_options[o].takes_value ? "=VALUE" : "");
        g_string_append_printf(out, "  %-20s %s\n", name, global_options[o].help);
    }
}

static GArray *
dispatch_entries(const CliCommand *c, gpointer options)
{
    GArray *entries = g_array_new(TRUE, TRUE, sizeof(GOptionEntry));

    if (c->entries)
        c->entries(options, entries);
    return entries;
}

static char *
dispatch_command_help(const CliCommand *c)
{
    GString *out = g_string_new(NULL);
    g_autofree gpointer options = g_malloc0(MAX(c->options_size, 1));
    g_autoptr(GArray) entries = dispatch_entries(c, options);

    g_string_append_printf(out, "Usage: vireo %s%s%s%s\n\n%s\n", c->path, *c->args ? " " : "", c->args,
                           entries->len ? " [options]" : "", c->summary);
    if (entries->len)
        g_string_append(out, "\nOptions:\n");
    for (guint i = 0; i < entries->len; i++) {
        GOptionEntry *e = &g_array_index(entries, GOptionEntry, i);
        g_autofree char *name = g_strdup_printf("--%s%s%s", e->long_name, e->arg_description ? "=" : "",
                                                e->arg_description ? e->arg_description : "");
        g_string_append_printf(out, "  %-28s %s\n", name, e->description);
    }
    dispatch_append_globals(out);
    return g_string_free(out, FALSE);
}

static const char dispatch_exit_codes[] =
    "Exit codes:\n"
    "  0  success\n"
    "  1  error (the message says what)\n"
    "  2  wrong usage of the command line\n"
    "  3  not found (VM, datastore, network, device)\n"
    "  4  not authenticated or not authorized\n"
    "  5  busy or conflicting (another operation holds the object, name taken)\n"
    "  6  not allowed in the current state, or already in the desired state\n"
    "  7  unavailable or timed out (server unreachable, guest tools not running)\n";

static const char dispatch_environment[] =
    "Environment:\n"
    "  VIREO_URL, VIREO_USERNAME, VIREO_PASSWORD, VIREO_THUMBPRINT, VIREO_INSECURE=1,\n"
    "  VIREO_TIMEOUT. When VIREO_URL is not set they are read from\n"
    "  ~/.config/vireo/lab.env (KEY=value lines). Sessions are cached in\n"
    "  ~/.cache/vireo/sessions/.\n";

char *
cli_help_text(const char *prefix)
{
    GString *out = g_string_new(NULL);
    g_autofree char *with_space = prefix && *prefix ? g_strconcat(prefix, " ", NULL) : NULL;
    const CliCommand *exact = prefix ? cli_command_find(prefix) : NULL;

    if (exact) {
        g_string_free(out, TRUE);
        return dispatch_command_help(exact);
    }
    g_string_append_printf(out, "Usage: vireo %s%s<command> [arguments] [options]\n\nCommands:\n",
                           with_space ? with_space : "", "");
    for (const CliCommand *c = cli_commands(); c->path; c++) {
        g_autofree char *usage = NULL;
        if (with_space && !g_str_has_prefix(c->path, with_space))
            continue;
        usage = g_strdup_printf("%s %s", c->path, c->args);
        g_string_append_printf(out, "  %-44s %s\n", usage, c->summary);
    }
    g_string_append(out, "\n`vireo <command> --help` describes a command's options.\n");
    if (!with_space) {
        dispatch_append_globals(out);
        g_string_append_printf(out, "\n%s\n%s", dispatch_environment, dispatch_exit_codes);
    }
    return g_string_free(out, FALSE);
}

static gboolean
dispatch_wants_help(char **rest)
{
    for (guint i = 0; rest[i] && !g_str_equal(rest[i], "--"); i++) {
        if (g_str_equal(rest[i], "--help") || g_str_equal(rest[i], "-h"))
            return TRUE;
    }
    return FALSE;
}

/* The number of leading words that name a command (*command set) or, when
 * none does, a group of commands. */
static guint
dispatch_match(char **rest, const CliCommand **command, char **prefix_out)
{
    g_autoptr(GString) path = g_string_new(NULL);
    guint group_words = 0;

    *command = NULL;
    for (guint k = 0; rest[k] && rest[k][0] != '-'; k++) {
        if (k)
            g_string_append_c(path, ' ');
        g_string_append(path, rest[k]);
        if ((*command = cli_command_find(path->str)))
            return k + 1;
        if (!dispatch_is_group(path->str))
            break;
        group_words = k + 1;
        g_free(*prefix_out);
        *prefix_out = g_strdup(path->str);
    }
    return group_words;
}

static gboolean
dispatch_parse_command(CliInvocation *inv, char **rest, GError **error)
{
    const CliCommand *c = inv->command;
    g_autoptr(GArray) entries = NULL;
    g_autoptr(GOptionContext) context = g_option_context_new(NULL);
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    GOptionEntry help = { "help", 'h', 0, G_OPTION_ARG_NONE, &inv->help, "show this help", NULL };
    g_auto(GStrv) strv = NULL;
    guint n;

    inv->options = g_malloc0(MAX(c->options_size, 1));
    entries = dispatch_entries(c, inv->options);
    inv->option_entries = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < entries->len; i++)
        g_ptr_array_add(inv->option_entries, g_memdup2(&g_array_index(entries, GOptionEntry, i), sizeof(GOptionEntry)));
    g_array_append_val(entries, help);
    g_option_context_set_help_enabled(context, FALSE);
    g_option_context_add_main_entries(context, (GOptionEntry *)entries->data, NULL);
    g_ptr_array_add(argv, g_strdup("vireo"));
    for (guint i = 0; rest[i]; i++)
        g_ptr_array_add(argv, g_strdup(rest[i]));
    g_ptr_array_add(argv, NULL);
    strv = (GStrv)g_ptr_array_steal(argv, NULL);
    if (!g_option_context_parse_strv(context, &strv, error)) {
        (*error)->domain = CLI_ERROR;
        (*error)->code = CLI_ERROR_USAGE;
        return FALSE;
    }
    inv->args = g_strdupv(strv + 1);
    n = g_strv_length(inv->args);
    if (!inv->help && ((int)n < c->min_args || (c->max_args >= 0 && (int)n > c->max_args))) {
        g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "usage: vireo %s %s", c->path, c->args);
        return FALSE;
    }
    return TRUE;
}

gboolean
cli_parse(int argc, char **argv, CliInvocation **out, GError **error)
{
    CliInvocation *inv = *out = g_new0(CliInvocation, 1);
    g_autoptr(GPtrArray) rest = dispatch_take_globals(argc, argv, NULL, &inv->flags, error);
    char **words = rest ? (char **)rest->pdata : NULL;
    g_autofree char *group = NULL;
    const char *const *claimed;
    guint used;

    if (!rest)
        return FALSE;
    used = dispatch_match(words, &inv->command, &group);
    if (inv->command && (claimed = dispatch_claimed_by(inv->command->path))) {
        /* Again, leaving the command its own options. */
        cli_settings_clear(&inv->flags);
        memset(&inv->flags, 0, sizeof(inv->flags));
        g_clear_pointer(&rest, g_ptr_array_unref);
        if (!(rest = dispatch_take_globals(argc, argv, claimed, &inv->flags, error)))
            return FALSE;
        words = (char **)rest->pdata;
    }
    if (!words[0] || g_str_equal(words[0], "help") || g_str_equal(words[0], "--help") ||
        g_str_equal(words[0], "-h")) {
        g_autofree char *topic = words[0] && words[1] ? g_strjoinv(" ", words + 1) : NULL;
        inv->help = words[0] != NULL;
        inv->help_text = cli_help_text(topic);
        if (!inv->help)
            g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "no command given");
        return inv->help;
    }
    g_clear_pointer(&group, g_free);
    used = dispatch_match(words, &inv->command, &group);
    if (!inv->command) {
        inv->help = group && dispatch_wants_help(words);
        inv->help_text = group ? cli_help_text(group)
                               : g_strdup("Run `vireo help` for the list of commands.\n");
        if (inv->help)
            return TRUE;
        if (group && words[used] && words[used][0] != '-')
            g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "'%s' is not a command of '%s'", words[used], group);
        else if (group)
            g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "'%s' needs a command", group);
        else
            g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "unknown command '%s'", words[0]);
        return FALSE;
    }
    if (!dispatch_parse_command(inv, words + used, error)) {
        inv->help_text = dispatch_command_help(inv->command);
        return FALSE;
    }
    if (inv->help)
        inv->help_text = dispatch_command_help(inv->command);
    return TRUE;
}

gboolean
cli_run(CliContext *ctx, CliInvocation *inv, GError **error)
{
    return inv->command->run(ctx, inv->options, inv->args, error);
}
