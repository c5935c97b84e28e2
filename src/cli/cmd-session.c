/* cmd-session.c — `vireo login`, `vireo logout`, `vireo session`: the
 * session token and the cache that keeps it between commands.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "vireo-error.h"

/* Reads a password from the terminal without echo; NULL when stdin is not one. */
static char *
session_prompt_password(const char *user, const char *url)
{
    struct termios old, quiet;
    char line[512];
    gboolean ok;

    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &old) != 0)
        return NULL;
    fprintf(stderr, "Password for %s at %s: ", user, url);
    fflush(stderr);
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    ok = fgets(line, sizeof(line), stdin) != NULL;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    fputc('\n', stderr);
    if (!ok)
        return NULL;
    line[strcspn(line, "\r\n")] = '\0';
    return g_strdup(line);
}

static gboolean
session_login_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    CliSettings *s = &ctx->settings;

    if (!cli_client(ctx, error))
        return FALSE;
    if (!s->username) {
        g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "no user name: set VIREO_USERNAME or pass --username");
        return FALSE;
    }
    if (!s->password)
        s->password = session_prompt_password(s->username, s->url);
    if (!cli_login(ctx, error))
        return FALSE;
    if (s->json) {
        g_autoptr(JsonBuilder) b = json_builder_new();
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "url");
        json_builder_add_string_value(b, s->url);
        json_builder_set_member_name(b, "user");
        json_builder_add_string_value(b, s->username);
        json_builder_end_object(b);
        g_autoptr(JsonNode) node = json_builder_get_root(b);
        cli_json_append(ctx->out, node);
    } else {
        g_string_append_printf(ctx->out, "Logged in to %s as %s.\n", s->url, s->username);
    }
    return TRUE;
}

static gboolean
session_logout_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    CliSettings *s = &ctx->settings;
    g_autofree char *token = NULL;
    GError *local = NULL;

    if (!cli_client(ctx, error))
        return FALSE;
    token = cli_session_load(s->url, s->username);
    if (!token) {
        if (!s->json)
            g_string_append_printf(ctx->out, "Not logged in to %s.\n", s->url);
        return TRUE;
    }
    api_client_set_token(ctx->client, token);
    cli_session_forget(s->url, s->username);
    if (!api_client_logout(ctx->client, &local) &&
        !g_error_matches(local, VIREO_ERROR, VIREO_ERROR_UNAUTHENTICATED)) {
        g_propagate_error(error, local);
        return FALSE;
    }
    g_clear_error(&local);
    if (!s->json)
        g_string_append_printf(ctx->out, "Logged out of %s.\n", s->url);
    return TRUE;
}

static gboolean
session_show_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    g_autoptr(JsonNode) answer = cli_get(ctx, "/api/session", NULL, error);
    g_autoptr(CliFields) fields = cli_fields_new();
    JsonObject *obj;

    if (!answer)
        return FALSE;
    if (ctx->settings.json) {
        cli_json_append(ctx->out, answer);
        return TRUE;
    }
    obj = JSON_NODE_HOLDS_OBJECT(answer) ? json_node_get_object(answer) : NULL;
    cli_fields_add(fields, "Server", ctx->settings.url);
    cli_fields_add(fields, "User", cli_json_str(obj, "user"));
    cli_fields_add(fields, "Created", cli_json_str(obj, "created_time"));
    cli_fields_add(fields, "Last used", cli_json_str(obj, "last_accessed_time"));
    cli_fields_render(fields, ctx->out);
    return TRUE;
}

const CliCommand cli_session_commands[] = {
    { "login", "", "Log in and cache the session (asks for a missing password on a terminal)", 0, 0, 0, NULL, session_login_run },
    { "logout", "", "End the cached session and forget it", 0, 0, 0, NULL, session_logout_run },
    { "session", "", "Show who the current session belongs to", 0, 0, 0, NULL, session_show_run },
    { NULL },
};
