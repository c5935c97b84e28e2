/* center-main.c — vireo-centerd: the management server (vCenter's role).
 * Opens the inventory database, fails tasks a previous run left unfinished,
 * makes the first administrator, reconnects to the managed hosts and serves
 * the API until SIGTERM. Hosts and their VMs run on without it. */
#include "center.h"
#include "daemon-cli.h"
#include "password.h"
#include "tls-cert.h"
#include "vireo-build-config.h"
#include "vireo-error.h"

#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static gboolean
check_password(const char *user, const char *password, gpointer data)
{
    Center *c = data;
    g_autoptr(StoreUser) u = store_user_get(c->store, user, NULL);
    /* The same cost for unknown users: timing does not reveal names. */
    gboolean ok = password_verify(password, u ? u->password_hash : c->config->admin_password_hash);
    return u && ok;
}

static gboolean
on_reconcile(gpointer data)
{
    center_hosts_reconcile_all(data);
    return G_SOURCE_CONTINUE;
}

/* At first start: the configured administrator, Administrator on the root. */
static gboolean
bootstrap_admin(Center *c, GError **error)
{
    g_autoptr(StoreUser) existing = store_user_get(c->store, c->config->admin_user, NULL);
    if (!existing) {
        if (!store_user_create(c->store, c->config->admin_user, c->config->admin_password_hash,
                               NULL, error))
            return FALSE;
    } else if (g_strcmp0(existing->password_hash, c->config->admin_password_hash) != 0 &&
               !store_user_set_password(c->store, c->config->admin_user,
                                        c->config->admin_password_hash, error)) {
        return FALSE;
    }
    StorePermission p = { (char *)STORE_ROOT_FOLDER, c->config->admin_user, FALSE,
                          (char *)STORE_ROLE_ADMIN, TRUE };
    return store_permission_set(c->store, &p, error);
}

static gboolean
center_open(Center *c, const char *config_path, GError **error)
{
    c->config = center_config_load(config_path, error);
    if (!c->config)
        return FALSE;
    if (g_mkdir_with_parents(c->config->state_dir, 0700) != 0) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "cannot create %s", c->config->state_dir);
        return FALSE;
    }
    g_autofree char *db = g_build_filename(c->config->state_dir, "inventory.db", NULL);
    c->store = store_open_sqlite(db, error);
    if (!c->store)
        return FALSE;
    guint failed = 0;
    if (!store_tasks_fail_unfinished(c->store, "vireo-centerd restarted while the task ran",
                                     &failed, error))
        return FALSE;
    if (failed)
        g_message("%u unfinished task(s) of the previous run marked failed", failed);
    c->links = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)host_link_free);
    c->vm_locks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    return bootstrap_admin(c, error);
}

static ApiServer *
center_serve(Center *c, GError **error)
{
    g_autofree char *cert = g_build_filename(c->config->state_dir, "vpxd.crt", NULL);
    g_autofree char *key = g_build_filename(c->config->state_dir, "vpxd.key", NULL);
    const char *alt[] = { c->config->name, c->config->listen_address, "localhost", NULL };
    g_autoptr(GTlsCertificate) certificate = tls_cert_load_or_create(cert, key, c->config->name, alt, error);
    if (!certificate)
        return NULL;
    c->thumbprint = tls_cert_thumbprint(certificate);
    g_autoptr(ApiServer) server = api_server_new(certificate, check_password, c);
    center_api_inventory_register(server, c);
    center_api_hosts_register(server, c);
    center_api_vm_register(server, c);
    center_api_admin_register(server, c);
    if (!api_server_listen(server, c->config->listen_address, c->config->port, error))
        return NULL;
    return g_steal_pointer(&server);
}

int
main(int argc, char **argv)
{
    static const DaemonCli cli = {
        "vireo-centerd", "- Vireo management server",
        "Manages a datacenter of vireo-hostd hosts (vCenter's role): inventory in SQLite,\n"
        "tasks and events, users, roles and permissions, and the vSphere-style API at\n"
        "https://<listen>:<port>/api.",
        "The centre's configuration file (INI; see docs/center.md)",
        "Read a password on standard input and print its hash for [admin] password_hash",
    };
    g_autofree char *config_path = NULL;
    int status = daemon_cli_parse(&cli, &argc, &argv, &config_path);
    if (status >= 0)
        return status;
    g_autoptr(GError) error = NULL;
    Center c = { 0 };
    if (!center_open(&c, config_path, &error)) {
        fprintf(stderr, "vireo-centerd: %s\n", error->message);
        return 1;
    }
    g_autoptr(ApiServer) server = center_serve(&c, &error);
    if (!server) {
        fprintf(stderr, "vireo-centerd: %s\n", error->message);
        return 1;
    }
    center_hosts_start(&c);
    g_message("serving https://%s:%u/api — certificate thumbprint (SHA-256) %s",
              c.config->listen_address, api_server_port(server), c.thumbprint);
    g_timeout_add_seconds(c.config->reconcile_seconds, on_reconcile, &c);
    daemon_run("stopped; hosts and their VMs keep running");
    g_hash_table_destroy(c.links);
    store_close(c.store);
    return 0;
}
