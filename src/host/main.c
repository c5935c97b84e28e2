/* main.c — vireo-hostd: one host's agent (the role of ESXi's hostd).
 * Reads the configuration, prepares datastores and vSwitches, re-attaches to
 * VMs that still run, and serves the API until SIGTERM. Stopping the daemon
 * never stops a VM. */
#include "accel.h"
#include "api.h"
#include "daemon-cli.h"
#include "host.h"
#include "host-evc.h"
#include "inventory.h"
#include "net-switch.h"
#include "password.h"
#include "tls-cert.h"
#include "vireo-build-config.h"
#include "vireo-error.h"
#include "vm.h"
#include "vm-cold-migrate.h"
#include "vm-migrate-journal.h"

#include <errno.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static gboolean
check_password(const char *user, const char *password, gpointer data)
{
    Host *host = data;
    const HostUserConfig *u = host_config_find_user(host->config, user);
    /* An unknown user costs the same hash as a known one, so the answer's
     * timing does not tell which user names exist. */
    const HostUserConfig *any = g_ptr_array_index(host->config->users, 0);
    gboolean ok = password_verify(password, u ? u->password_hash : any->password_hash);
    return u && ok;
}

/* A datastore's identity, so that the centre sees one datastore in a folder
 * several hosts share. Written once, atomically and without replacing one
 * another host wrote meanwhile (link() fails when the name exists). */
static gboolean
ensure_datastore_identity(const HostDatastoreConfig *ds, GError **error)
{
    g_autofree char *path = g_build_filename(ds->path, ".vireo-datastore", NULL);
    g_autofree char *tmp = NULL;
    g_autofree char *uuid = g_uuid_string_random();
    g_autofree char *text = g_strdup_printf("# Vireo datastore identity; do not edit or copy\n%s\n", uuid);

    if (g_file_test(path, G_FILE_TEST_EXISTS))
        return TRUE;
    tmp = g_strdup_printf("%s.%s.tmp", path, uuid);
    if (!g_file_set_contents(tmp, text, -1, error))
        return FALSE;
    /* Some shared filesystems have no hard links: rename() is atomic too. */
    if (link(tmp, path) != 0 && errno != EEXIST && rename(tmp, path) != 0) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "datastore %s: cannot write %s: %s",
                    ds->name, path, g_strerror(errno));
        unlink(tmp);
        return FALSE;
    }
    unlink(tmp);
    return TRUE;
}

static gboolean
prepare_storage_and_network(Host *host, GError **error)
{
    for (guint i = 0; i < host->config->datastores->len; i++) {
        const HostDatastoreConfig *ds = g_ptr_array_index(host->config->datastores, i);
        if (g_mkdir_with_parents(ds->path, 0755) != 0) {
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "datastore %s: cannot create %s",
                        ds->name, ds->path);
            return FALSE;
        }
        g_autoptr(GError) id_error = NULL;
        /* Not fatal: a full or read-only datastore must not keep VMs from running. */
        if (!ensure_datastore_identity(ds, &id_error))
            g_warning("datastore %s has no identity: %s", ds->name, id_error->message);
        inventory_object_id(host->inventory, "datastore", ds->name);
    }
    for (guint i = 0; i < host->config->vswitches->len; i++) {
        if (!net_switch_ensure(g_ptr_array_index(host->config->vswitches, i), error))
            return FALSE;
    }
    for (guint i = 0; i < host->config->portgroups->len; i++) {
        const HostPortgroupConfig *pg = g_ptr_array_index(host->config->portgroups, i);
        inventory_object_id(host->inventory, "network", pg->name);
    }
    return TRUE;
}

static void
find_ovmf(Host *host)
{
    static const char *const pairs[][2] = {
        { "/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd" },
        { "/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd" },
    };
    for (guint i = 0; i < G_N_ELEMENTS(pairs); i++) {
        if (g_file_test(pairs[i][0], G_FILE_TEST_EXISTS) && g_file_test(pairs[i][1], G_FILE_TEST_EXISTS)) {
            host->ovmf_code = g_strdup(pairs[i][0]);
            host->ovmf_vars = g_strdup(pairs[i][1]);
            return;
        }
    }
}

static gboolean
host_init(Host *host, const char *config_path, GError **error)
{
    host->config = host_config_load(config_path, error);
    if (!host->config)
        return FALSE;
    host->id = g_strdup("ha-host");
    AccelFacts facts = { 0 };
    accel_probe_facts(&facts);
    gboolean ok = accel_choose(host->config->accelerator, &facts, &host->accel,
                               &host->accel_reason, error);
    accel_facts_clear(&facts);
    if (!ok)
        return FALSE;
    host->run_dir = g_build_filename(host->config->state_dir, "run", NULL);
    if (g_mkdir_with_parents(host->run_dir, 0700) != 0) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "cannot create %s", host->run_dir);
        return FALSE;
    }
    g_autofree char *inv = g_build_filename(host->config->state_dir, "inventory.ini", NULL);
    host->inventory = inventory_load(inv, error);
    if (!host->inventory)
        return FALSE;
    host->vms = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)vm_free);
    find_ovmf(host);
    return prepare_storage_and_network(host, error);
}

static ApiServer *
start_api(Host *host, GError **error)
{
    g_autofree char *cert_path = g_build_filename(host->config->state_dir, "rui.crt", NULL);
    g_autofree char *key_path = g_build_filename(host->config->state_dir, "rui.key", NULL);
    const char *alt[] = { host->config->host_name, host->config->listen_address, "localhost", NULL };
    g_autoptr(GTlsCertificate) cert = tls_cert_load_or_create(cert_path, key_path,
                                                              host->config->host_name, alt, error);
    if (!cert)
        return NULL;
    host->thumbprint = tls_cert_thumbprint(cert);
    g_autoptr(ApiServer) server = api_server_new(cert, check_password, host);
    api_host_register(server, host);
    api_vm_register(server, host);
    api_hardware_register(server, host);
    api_migration_register(server, host);
    api_storage_migration_register(server, host);
    api_cold_migration_register(server, host);
    api_evc_register(server, host);
    if (!api_server_listen(server, host->config->listen_address, host->config->port, error))
        return NULL;
    return g_steal_pointer(&server);
}

int
main(int argc, char **argv)
{
    static const DaemonCli cli = {
        "vireo-hostd", "- Vireo host agent",
        "Runs the virtual machines of one host on QEMU and serves the vSphere-style API\n"
        "(https://<listen>:<port>/api) for them. Stopping it leaves VMs running; on start\n"
        "it re-attaches to them.",
        "The host's configuration file (INI; see docs/host-config.md)",
        "Read a password on standard input and print its hash for [user NAME] password_hash",
    };
    g_autofree char *config_path = NULL;
    int status = daemon_cli_parse(&cli, &argc, &argv, &config_path);
    if (status >= 0)
        return status;
    g_autoptr(GError) error = NULL;
    Host host = { 0 };
    if (!host_init(&host, config_path, &error)) {
        fprintf(stderr, "vireo-hostd: %s\n", error->message);
        return 1;
    }
    g_autoptr(ApiServer) server = start_api(&host, &error);
    if (!server) {
        fprintf(stderr, "vireo-hostd: %s\n", error->message);
        return 1;
    }
    vm_manager_load(&host, NULL);
    vm_migration_recover(&host);
    g_message("host %s: accelerator %s (%s)", host.config->host_name,
              qemu_accel_to_string(host.accel), host.accel_reason ? host.accel_reason : "");
    g_message("serving https://%s:%u/api — certificate thumbprint (SHA-256) %s",
              host.config->listen_address, api_server_port(server), host.thumbprint);
    daemon_run("stopped; running VMs keep running");
    return 0;
}
