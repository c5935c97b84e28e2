/* cmd-vm-nic.c — `vireo vm nic ls|add|rm|set`: a VM's network adapters. */
#include "cli.h"

static gboolean
nic_ls_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    return cli_device_ls(ctx, args[0], "nics", error);
}

static gboolean
nic_add_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    g_autoptr(JsonNode) spec = cli_spec_nic(args[1], error);
    g_autofree char *path = spec ? cli_vm_path(ctx, args[0], NULL, error) : NULL;

    if (!path)
        return FALSE;
    return cli_device_request(ctx, path, "ethernet", NULL, "POST", NULL, spec, "Added the network adapter", error);
}

static gboolean
nic_rm_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    g_autofree char *path = NULL;
    g_autoptr(JsonNode) info = cli_vm_fetch(ctx, args[0], &path, error);
    g_autofree char *key = info ? cli_device_key(json_node_get_object(info), "nics", args[1], error) : NULL;

    if (!key)
        return FALSE;
    return cli_device_request(ctx, path, "ethernet", key, "DELETE", NULL, NULL, "Removed the network adapter", error);
}

typedef struct {
    char *network;
    char *mac;
    char *connected;
} NicSetOptions;

static void
nic_set_entries(gpointer options, GArray *entries)
{
    NicSetOptions *o = options;

    CLI_OPTION(entries, "network", G_OPTION_ARG_STRING, &o->network, "attach to this port group", "PORTGROUP");
    CLI_OPTION(entries, "mac", G_OPTION_ARG_STRING, &o->mac, "a fixed MAC address, or \"generated\"", "MAC");
    CLI_OPTION(entries, "connected", G_OPTION_ARG_STRING, &o->connected, "connect at power-on: yes or no", "yes|no");
}

/* The body of PATCH …/hardware/ethernet/{nic}. */
JsonNode *
cli_spec_nic_update(const char *network, const char *mac, const char *connected, GError **error)
{
    g_autoptr(JsonObject) body = json_object_new();
    JsonNode *node;

    if (network) {
        JsonObject *backing = json_object_new();
        json_object_set_string_member(backing, "type", "STANDARD_PORTGROUP");
        json_object_set_string_member(backing, "network", network);
        json_object_set_object_member(body, "backing", backing);
    }
    if (mac && g_ascii_strcasecmp(mac, "generated") == 0) {
        json_object_set_string_member(body, "mac_type", "GENERATED");
    } else if (mac) {
        g_autofree char *spec_text = g_strdup_printf("x:%s", mac);
        g_autoptr(JsonNode) probe = cli_spec_nic(spec_text, NULL);
        const char *parsed = probe ? cli_json_str(json_node_get_object(probe), "mac_address") : NULL;
        if (!parsed) {
            g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "'%s' is not a MAC address (00:50:56:xx:xx:xx)", mac);
            return NULL;
        }
        json_object_set_string_member(body, "mac_type", "MANUAL");
        json_object_set_string_member(body, "mac_address", parsed);
    }
    if (connected) {
        gboolean yes = g_ascii_strcasecmp(connected, "yes") == 0 || g_ascii_strcasecmp(connected, "true") == 0;
        if (!yes && g_ascii_strcasecmp(connected, "no") != 0 && g_ascii_strcasecmp(connected, "false") != 0) {
            g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "--connected is yes or no, not '%s'", connected);
            return NULL;
        }
        json_object_set_boolean_member(body, "start_connected", yes);
    }
    if (json_object_get_size(body) == 0) {
        g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "nothing to change: give --network, --mac or --connected");
        return NULL;
    }
    node = json_node_new(JSON_NODE_OBJECT);
    json_node_set_object(node, body);
    return node;
}

static gboolean
nic_set_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    NicSetOptions *o = options;
    g_autoptr(JsonNode) body = cli_spec_nic_update(o->network, o->mac, o->connected, error);
    g_autofree char *path = NULL;
    g_autoptr(JsonNode) info = body ? cli_vm_fetch(ctx, args[0], &path, error) : NULL;
    g_autofree char *key = info ? cli_device_key(json_node_get_object(info), "nics", args[1], error) : NULL;

    if (!key)
        return FALSE;
    return cli_device_request(ctx, path, "ethernet", key, "PATCH", NULL, body, "Changed the network adapter", error);
}

const CliCommand cli_vm_nic_commands[] = {
    { "vm nic ls", "VM", "List a VM's network adapters", 1, 1, 0, NULL, nic_ls_run },
    { "vm nic add", "VM PORTGROUP[:type][:MAC]", "Add a network adapter", 2, 2, 0, NULL, nic_add_run },
    { "vm nic rm", "VM NIC", "Remove a network adapter (NIC: key like 4000 or label)", 2, 2, 0, NULL, nic_rm_run },
    { "vm nic set", "VM NIC", "Change a network adapter's port group, MAC or connection at power-on", 2, 2,
      sizeof(NicSetOptions), nic_set_entries, nic_set_run },
    { NULL },
};
