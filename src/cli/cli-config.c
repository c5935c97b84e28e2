/* cli-config.c — where `vireo` finds its server and credentials: VIREO_*
 * environment variables (as govc reads GOVC_*), the lab's lab.env file when
 * VIREO_URL is not in the environment, then command-line flags.
 */
#include "cli.h"

#include <string.h>

void
cli_settings_clear(CliSettings *settings)
{
    g_clear_pointer(&settings->url, g_free);
    g_clear_pointer(&settings->username, g_free);
    g_clear_pointer(&settings->password, g_free);
    g_clear_pointer(&settings->thumbprint, g_free);
}

/* 'value' or "value" as written in a shell file; \" and \\ inside double quotes. */
static char *
config_unquote(const char *value)
{
    gsize len = strlen(value);

    if (len >= 2 && value[0] == '\'' && value[len - 1] == '\'')
        return g_strndup(value + 1, len - 2);
    if (len >= 2 && value[0] == '"' && value[len - 1] == '"') {
        GString *out = g_string_new(NULL);
        for (gsize i = 1; i < len - 1; i++) {
            if (value[i] == '\\' && i + 1 < len - 1)
                i++;
            g_string_append_c(out, value[i]);
        }
        return g_string_free(out, FALSE);
    }
    return g_strdup(value);
}

GHashTable *
cli_env_file_parse(const char *text)
{
    GHashTable *vars = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_auto(GStrv) lines = g_strsplit(text ? text : "", "\n", -1);

    for (guint i = 0; lines[i]; i++) {
        char *line = g_strstrip(lines[i]);
        char *eq;

        if (*line == '\0' || *line == '#')
            continue;
        if (g_str_has_prefix(line, "export ") || g_str_has_prefix(line, "export\t"))
            line = g_strchug(line + 7);
        eq = strchr(line, '=');
        if (!eq || eq == line)
            continue;
        *eq = '\0';
        g_strchomp(line);
        g_hash_table_replace(vars, g_strdup(line), config_unquote(g_strstrip(eq + 1)));
    }
    return vars;
}

static gboolean
config_truthy(const char *value)
{
    return value && (g_str_equal(value, "1") || g_ascii_strcasecmp(value, "true") == 0 ||
                     g_ascii_strcasecmp(value, "yes") == 0);
}

static const char *
config_lookup(const char *const *envp, GHashTable *lab, const char *key)
{
    const char *value = g_environ_getenv((char **)envp, key);

    if (value && *value)
        return value;
    return lab ? g_hash_table_lookup(lab, key) : NULL;
}

void
cli_settings_resolve(CliSettings *out, const CliSettings *flags,
                     const char *const *envp, const char *lab_env_text)
{
    const char *url_env = g_environ_getenv((char **)envp, "VIREO_URL");
    g_autoptr(GHashTable) lab = NULL;
    const char *timeout;

    if (!(url_env && *url_env) && lab_env_text)
        lab = cli_env_file_parse(lab_env_text);
    cli_settings_clear(out);
    out->url = g_strdup(config_lookup(envp, lab, "VIREO_URL"));
    out->username = g_strdup(config_lookup(envp, lab, "VIREO_USERNAME"));
    out->password = g_strdup(config_lookup(envp, lab, "VIREO_PASSWORD"));
    out->thumbprint = g_strdup(config_lookup(envp, lab, "VIREO_THUMBPRINT"));
    out->insecure = config_truthy(config_lookup(envp, lab, "VIREO_INSECURE"));
    timeout = config_lookup(envp, lab, "VIREO_TIMEOUT");
    out->timeout = timeout ? (guint)g_ascii_strtoull(timeout, NULL, 10) : 0;
    out->json = flags && flags->json;
    if (!flags)
        return;
    if (flags->url)
        g_free(out->url), out->url = g_strdup(flags->url);
    if (flags->username)
        g_free(out->username), out->username = g_strdup(flags->username);
    if (flags->password)
        g_free(out->password), out->password = g_strdup(flags->password);
    if (flags->thumbprint)
        g_free(out->thumbprint), out->thumbprint = g_strdup(flags->thumbprint);
    if (flags->insecure)
        out->insecure = TRUE;
    if (flags->timeout)
        out->timeout = flags->timeout;
}

char *
cli_lab_env_path(void)
{
    return g_build_filename(g_get_user_config_dir(), "vireo", "lab.env", NULL);
}
