/* cli-session.c — the CLI's connection: one ApiClient per run, the session
 * token cached per (url, user) under ~/.cache/vireo/sessions/ (0700 folder,
 * 0600 files) so that consecutive commands do not log in again, and one
 * fresh login when a cached token has expired.
 */
#include "cli.h"
#include "inventory-path.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#include "vireo-error.h"

void
cli_context_init(CliContext *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->out = g_string_new(NULL);
}

void
cli_context_clear(CliContext *ctx)
{
    cli_settings_clear(&ctx->settings);
    g_clear_pointer(&ctx->client, api_client_free);
    if (ctx->out)
        g_string_free(ctx->out, TRUE);
    ctx->out = NULL;
}

static char *
session_dir(void)
{
    return g_build_filename(g_get_user_cache_dir(), "vireo", "sessions", NULL);
}

char *
cli_session_cache_path(const char *url, const char *username)
{
    g_autofree char *key = g_strdup_printf("%s\n%s", url ? url : "", username ? username : "");
    g_autofree char *name = g_compute_checksum_for_string(G_CHECKSUM_SHA256, key, -1);
    g_autofree char *dir = session_dir();

    return g_build_filename(dir, name, NULL);
}

gboolean
cli_session_save(const char *url, const char *username, const char *token, GError **error)
{
    g_autofree char *dir = session_dir();
    g_autofree char *path = cli_session_cache_path(url, username);

    if (g_mkdir_with_parents(dir, 0700) != 0 || g_chmod(dir, 0700) != 0) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "cannot make %s: %s", dir, g_strerror(errno));
        return FALSE;
    }
    return g_file_set_contents_full(path, token, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

char *
cli_session_load(const char *url, const char *username)
{
    g_autofree char *path = cli_session_cache_path(url, username);
    g_autofree char *token = NULL;

    if (!g_file_get_contents(path, &token, NULL, NULL))
        return NULL;
    g_strstrip(token);
    return *token ? g_steal_pointer(&token) : NULL;
}

void
cli_session_forget(const char *url, const char *username)
{
    g_autofree char *path = cli_session_cache_path(url, username);

    g_unlink(path);
}

gboolean
cli_client(CliContext *ctx, GError **error)
{
    if (ctx->client)
        return TRUE;
    if (!ctx->settings.url || !*ctx->settings.url) {
        g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE,
                    "no server given: set VIREO_URL=https://host:port or pass --url");
        return FALSE;
    }
    ctx->client = api_client_new(ctx->settings.url, ctx->settings.insecure, ctx->settings.thumbprint);
    if (ctx->settings.timeout)
        api_client_set_timeout(ctx->client, ctx->settings.timeout);
    return TRUE;
}

/* Adds what to do about a refused certificate to its error. */
static void
session_explain(CliContext *ctx, GError *error)
{
    const char *thumbprint = ctx->client ? api_client_get_peer_thumbprint(ctx->client) : NULL;
    char *message;

    if (!error || !ctx->client || !api_client_certificate_refused(ctx->client) || !thumbprint)
        return;
    message = g_strdup_printf("%s; if this is the right server, trust it with "
                              "VIREO_THUMBPRINT=%s (or --thumbprint), or skip the check with "
                              "VIREO_INSECURE=1 (or --insecure)", error->message, thumbprint);
    g_free(error->message);
    error->message = message;
}

gboolean
cli_login(CliContext *ctx, GError **error)
{
    CliSettings *s = &ctx->settings;
    GError *local = NULL;

    if (!cli_client(ctx, error))
        return FALSE;
    if (!s->username || !s->password) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_UNAUTHENTICATED,
                    "not logged in to %s: set VIREO_USERNAME and VIREO_PASSWORD "
                    "(or pass --username and --password) and run `vireo login`", s->url);
        return FALSE;
    }
    if (!api_client_login(ctx->client, s->username, s->password, &local)) {
        session_explain(ctx, local);
        g_propagate_error(error, local);
        return FALSE;
    }
    ctx->token_from_cache = FALSE;
    return cli_session_save(s->url, s->username, api_client_get_token(ctx->client), error);
}

static gboolean
session_ensure(CliContext *ctx, GError **error)
{
    g_autofree char *token = NULL;

    if (!cli_client(ctx, error))
        return FALSE;
    if (api_client_get_token(ctx->client))
        return TRUE;
    token = cli_session_load(ctx->settings.url, ctx->settings.username);
    if (token) {
        api_client_set_token(ctx->client, token);
        ctx->token_from_cache = TRUE;
        return TRUE;
    }
    return cli_login(ctx, error);
}

gboolean
cli_call(CliContext *ctx, const char *method, const char *path,
         const char *const *query, JsonNode *body, JsonNode **answer, GError **error)
{
    GError *local = NULL;

    if (!session_ensure(ctx, error))
        return FALSE;
    if (api_client_request(ctx->client, method, path, query, body, NULL, answer, &local))
        return TRUE;
    if (g_error_matches(local, VIREO_ERROR, VIREO_ERROR_UNAUTHENTICATED) && ctx->token_from_cache &&
        !api_client_certificate_refused(ctx->client)) {
        /* The cached session expired or the server restarted. */
        cli_session_forget(ctx->settings.url, ctx->settings.username);
        ctx->token_from_cache = FALSE;
        if (ctx->settings.password) {
            g_clear_error(&local);
            if (!cli_login(ctx, error))
                return FALSE;
            if (api_client_request(ctx->client, method, path, query, body, NULL, answer, &local))
                return TRUE;
        }
    }
    session_explain(ctx, local);
    g_propagate_error(error, local);
    return FALSE;
}

JsonNode *
cli_get(CliContext *ctx, const char *path, const char *const *query, GError **error)
{
    JsonNode *answer = NULL;

    if (!cli_call(ctx, "GET", path, query, NULL, &answer, error))
        return NULL;
    if (!answer) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_UNEXPECTED_INPUT, "the server answered %s with nothing", path);
        return NULL;
    }
    return answer;
}

/* Filters by name here too, so a server that ignores ?names= cannot make
 * one VM look like another. */
char *
cli_resolve_vm(CliContext *ctx, const char *name_or_id, GError **error)
{
    /* An inventory path ("/dc1/vm/web-01") is the centre's notation. */
    if (name_or_id && name_or_id[0] == '/')
        return cli_inventory_resolve_id(ctx, CLI_INV_VM, NULL, name_or_id, error);
    const char *query[] = { "names", name_or_id, NULL };
    g_autoptr(JsonNode) list = cli_get(ctx, "/api/vcenter/vm", query, error);
    JsonArray *vms;
    const char *found = NULL;
    guint matches = 0;

    if (!list)
        return NULL;
    vms = JSON_NODE_HOLDS_ARRAY(list) ? json_node_get_array(list) : NULL;
    for (guint i = 0; vms && i < json_array_get_length(vms); i++) {
        JsonObject *vm = json_array_get_object_element(vms, i);
        if (g_strcmp0(cli_json_str(vm, "name"), name_or_id) == 0 && cli_json_str(vm, "vm")) {
            found = cli_json_str(vm, "vm");
            matches++;
        }
    }
    if (matches > 1) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT,
                    "%u VMs are named '%s': give the VM's id instead (see `vireo vm ls`)",
                    matches, name_or_id);
        return NULL;
    }
    if (found)
        return g_strdup(found);
    if (g_str_has_prefix(name_or_id, "vm-"))
        return g_strdup(name_or_id);
    g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND, "no VM is named '%s'", name_or_id);
    return NULL;
}
