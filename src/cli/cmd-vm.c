/* cmd-vm.c — `vireo vm ls|info|create|register|unregister|destroy|power`:
 * the VM's life cycle. Devices are in cmd-vm-device.c, guest operations in
 * cmd-vm-guest.c; the pure formatting of lists and infos is here.
 */
#include "cli.h"

#include <string.h>

char *
cli_vm_path(CliContext *ctx, const char *vm, const char *suffix, GError **error)
{
    g_autofree char *id = cli_resolve_vm(ctx, vm, error);
    g_autofree char *segment = id ? api_client_escape_segment(id) : NULL;

    if (!id)
        return NULL;
    return g_strdup_printf("/api/vcenter/vm/%s%s", segment, suffix ? suffix : "");
}

void
cli_format_vm_list(JsonNode *list, GString *out)
{
    const char *headers[] = { "NAME", "VM", "POWER", "CPUS", "MEMORY", NULL };
    g_autoptr(CliTable) table = cli_table_new(headers);
    JsonArray *vms = JSON_NODE_HOLDS_ARRAY(list) ? json_node_get_array(list) : NULL;

    for (guint i = 0; vms && i < json_array_get_length(vms); i++) {
        JsonObject *vm = json_array_get_object_element(vms, i);
        gint64 cpus = cli_json_int(vm, "cpu_count");
        gint64 mib = cli_json_int(vm, "memory_size_MiB");
        g_autofree char *cpu_text = cpus >= 0 ? g_strdup_printf("%" G_GINT64_FORMAT, cpus) : NULL;
        g_autofree char *mem_text = mib >= 0 ? cli_size_format((guint64)mib * 1024 * 1024) : NULL;
        const char *row[] = { cli_json_str(vm, "name"), cli_json_str(vm, "vm"),
                              cli_power_state_word(cli_json_str(vm, "power_state")), cpu_text, mem_text };
        cli_table_add(table, row);
    }
    cli_table_render(table, out);
}

static void
vm_info_fields(JsonObject *vm, GString *out)
{
    g_autoptr(CliFields) fields = cli_fields_new();
    JsonObject *cpu = cli_json_obj(vm, "cpu");
    gint64 mib = cli_json_int(cli_json_obj(vm, "memory"), "size_MiB");
    g_autofree char *cpu_text = NULL;
    g_autofree char *mem_text = mib >= 0 ? cli_size_format((guint64)mib * 1024 * 1024) : NULL;

    if (cpu)
        cpu_text = g_strdup_printf("%" G_GINT64_FORMAT " (%" G_GINT64_FORMAT " per socket)",
                                   cli_json_int(cpu, "count"), cli_json_int(cpu, "cores_per_socket"));
    cli_fields_add(fields, "Name", cli_json_str(vm, "name"));
    cli_fields_add(fields, "Power state", cli_power_state_word(cli_json_str(vm, "power_state")));
    cli_fields_add(fields, "Power state reason", cli_json_str(vm, "power_state_reason"));
    cli_fields_add(fields, "Guest OS", cli_json_str(vm, "guest_OS"));
    cli_fields_add(fields, "Hardware version", cli_json_str(cli_json_obj(vm, "hardware"), "version"));
    cli_fields_add(fields, "Firmware", cli_json_str(cli_json_obj(vm, "boot"), "type"));
    cli_fields_add(fields, "CPUs", cpu_text);
    cli_fields_add(fields, "Memory", mem_text);
    cli_fields_add(fields, "Configuration", cli_json_str(vm, "vmx_path"));
    cli_fields_add(fields, "BIOS UUID", cli_json_str(cli_json_obj(vm, "identity"), "bios_uuid"));
    cli_fields_add(fields, "Instance UUID", cli_json_str(cli_json_obj(vm, "identity"), "instance_uuid"));
    cli_fields_render(fields, out);
}

void
cli_format_vm_info(JsonNode *info, GString *out)
{
    JsonObject *vm = JSON_NODE_HOLDS_OBJECT(info) ? json_node_get_object(info) : NULL;
    JsonNode *subs = vm ? json_object_get_member(vm, "substitutions") : NULL;

    vm_info_fields(vm, out);
    g_string_append_c(out, '\n');
    cli_format_devices(vm, NULL, out);
    if (subs && JSON_NODE_HOLDS_ARRAY(subs)) {
        JsonArray *list = json_node_get_array(subs);
        for (guint i = 0; i < json_array_get_length(list); i++)
            g_string_append_printf(out, "%sNote: %s\n", i == 0 ? "\n" : "",
                                   json_array_get_string_element(list, i));
    }
}


static void
vm_ls_entries(gpointer options, GArray *entries)
{
    VmLsOptions *o = options;

    CLI_OPTION(entries, "power-state", G_OPTION_ARG_STRING, &o->power_state,
               "only VMs in this state: on, off or suspended", "S");
    CLI_OPTION(entries, "name", G_OPTION_ARG_STRING, &o->name, "only the VM with this name", "N");
}

static gboolean
vm_ls_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    VmLsOptions *o = options;
    const char *query[5] = { NULL };
    guint q = 0;
    g_autoptr(JsonNode) list = NULL;

    if (o->power_state) {
        const char *state = cli_power_state_from_word(o->power_state);
        if (!state) {
            g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE,
                        "--power-state is on, off or suspended, not '%s'", o->power_state);
            return FALSE;
        }
        query[q++] = "power_states";
        query[q++] = state;
    }
    if (o->name) {
        query[q++] = "names";
        query[q++] = o->name;
    }
    if (!(list = cli_get(ctx, "/api/vcenter/vm", query, error)))
        return FALSE;
    if (ctx->settings.json)
        cli_json_append(ctx->out, list);
    else
        cli_format_vm_list(list, ctx->out);
    return TRUE;
}

static gboolean
vm_info_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    g_autofree char *path = cli_vm_path(ctx, args[0], NULL, error);
    g_autoptr(JsonNode) info = path ? cli_get(ctx, path, NULL, error) : NULL;

    if (!info)
        return FALSE;
    if (ctx->settings.json)
        cli_json_append(ctx->out, info);
    else
        cli_format_vm_info(info, ctx->out);
    return TRUE;
}

static void
vm_create_entries(gpointer options, GArray *entries)
{
    CliVmCreateOptions *o = options;

    CLI_OPTION(entries, "datastore", G_OPTION_ARG_STRING, &o->datastore, "datastore (name or id), required", "DS");
    CLI_OPTION(entries, "folder", G_OPTION_ARG_STRING, &o->folder, "folder on the datastore (default: NAME)", "F");
    CLI_OPTION(entries, "cpus", G_OPTION_ARG_INT, &o->cpus, "virtual CPUs (default 1)", "N");
    CLI_OPTION(entries, "cores-per-socket", G_OPTION_ARG_INT, &o->cores_per_socket, "cores per socket (default 1)", "N");
    CLI_OPTION(entries, "memory", G_OPTION_ARG_STRING, &o->memory, "memory in MiB, or a size like 2G (default 512)", "MiB");
    CLI_OPTION(entries, "firmware", G_OPTION_ARG_STRING, &o->firmware, "bios (default) or efi", "bios|efi");
    CLI_OPTION(entries, "guest-os", G_OPTION_ARG_STRING, &o->guest_os, "guest OS id (default OTHER_LINUX_64)", "ID");
    CLI_OPTION(entries, "disk", G_OPTION_ARG_STRING_ARRAY, &o->disks,
               "new disk, repeatable (provisioning thin, thick-lazy, thick-eager; bus scsi, sata, nvme, virtio, ide)",
               "SIZE[:prov][:bus]");
    CLI_OPTION(entries, "existing-disk", G_OPTION_ARG_STRING_ARRAY, &o->existing_disks,
               "attach an existing disk, repeatable", "\"[ds] path.vmdk\"[:bus]");
    CLI_OPTION(entries, "scsi", G_OPTION_ARG_STRING, &o->scsi,
               "SCSI controller: pvscsi (default), lsilogicsas, lsilogic, buslogic, virtio", "TYPE");
    CLI_OPTION(entries, "nic", G_OPTION_ARG_STRING_ARRAY, &o->nics,
               "network adapter, repeatable (vmxnet3 default, e1000, e1000e, pcnet32, virtio)",
               "PORTGROUP[:type][:MAC]");
    CLI_OPTION(entries, "iso", G_OPTION_ARG_STRING, &o->iso, "CD/DVD drive with this ISO image", "\"[ds] path.iso\"");
}

static gboolean
vm_create_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    g_autoptr(JsonNode) spec = cli_spec_vm_create(args[0], options, error);
    g_autoptr(JsonNode) id = NULL;

    if (!spec || !cli_call(ctx, "POST", "/api/vcenter/vm", NULL, spec, &id, error))
        return FALSE;
    if (ctx->settings.json)
        cli_json_append(ctx->out, id);
    else
        g_string_append_printf(ctx->out, "Created VM %s (%s).\n", args[0],
                               id && JSON_NODE_HOLDS_VALUE(id) ? json_node_get_string(id) : "?");
    return TRUE;
}

typedef struct {
    char *datastore;
    char *name;
} VmRegisterOptions;

static void
vm_register_entries(gpointer options, GArray *entries)
{
    VmRegisterOptions *o = options;

    CLI_OPTION(entries, "datastore", G_OPTION_ARG_STRING, &o->datastore,
               "datastore holding PATH (not needed for \"[ds] path\")", "DS");
    CLI_OPTION(entries, "name", G_OPTION_ARG_STRING, &o->name, "name in the inventory (default: the .vmx's name)", "N");
}

/* The body of POST /api/vcenter/vm?action=register. */
JsonNode *
cli_spec_vm_register(const char *path, const char *datastore, const char *name, GError **error)
{
    g_autoptr(JsonObject) body = json_object_new();
    g_autofree char *base = g_path_get_basename(strchr(path, ']') ? strchr(path, ']') + 1 : path);
    JsonNode *node;

    if (g_str_has_suffix(base, ".vmx"))
        base[strlen(base) - 4] = '\0';
    g_strstrip(base);
    if (path[0] == '[') {
        json_object_set_string_member(body, "datastore_path", path);
    } else if (datastore) {
        json_object_set_string_member(body, "datastore", datastore);
        json_object_set_string_member(body, "path", path);
    } else {
        g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE,
                    "give --datastore DS, or the path as \"[datastore] folder/vm.vmx\"");
        return NULL;
    }
    json_object_set_string_member(body, "name", name ? name : base);
    node = json_node_new(JSON_NODE_OBJECT);
    json_node_set_object(node, body);
    return node;
}

static gboolean
vm_register_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    VmRegisterOptions *o = options;
    const char *query[] = { "action", "register", NULL };
    g_autoptr(JsonNode) body = cli_spec_vm_register(args[0], o->datastore, o->name, error);
    g_autoptr(JsonNode) id = NULL;

    if (!body || !cli_call(ctx, "POST", "/api/vcenter/vm", query, body, &id, error))
        return FALSE;
    if (ctx->settings.json)
        cli_json_append(ctx->out, id);
    else
        g_string_append_printf(ctx->out, "Registered %s as %s.\n", args[0],
                               id && JSON_NODE_HOLDS_VALUE(id) ? json_node_get_string(id) : "?");
    return TRUE;
}

static gboolean
vm_simple(CliContext *ctx, const char *vm, const char *method, const char *suffix,
          const char *action, const char *done, GError **error)
{
    const char *query[] = { "action", action, NULL };
    g_autofree char *path = cli_vm_path(ctx, vm, suffix, error);

    if (!path || !cli_call(ctx, method, path, action ? query : NULL, NULL, NULL, error))
        return FALSE;
    if (!ctx->settings.json)
        g_string_append_printf(ctx->out, "%s %s.\n", done, vm);
    return TRUE;
}

static gboolean
vm_unregister_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    return vm_simple(ctx, args[0], "POST", NULL, "unregister", "Unregistered (files kept)", error);
}

static gboolean
vm_destroy_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    return vm_simple(ctx, args[0], "DELETE", NULL, NULL, "Destroyed", error);
}

static const struct {
    const char *word, *action, *done;
} vm_power_ops[] = {
    { "on", "start", "Powered on" }, { "off", "stop", "Powered off" },
    { "suspend", "suspend", "Suspended" }, { "reset", "reset", "Reset" },
};

static gboolean
vm_power_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    for (guint i = 0; i < G_N_ELEMENTS(vm_power_ops); i++) {
        if (g_str_equal(args[1], vm_power_ops[i].word))
            return vm_simple(ctx, args[0], "POST", "/power", vm_power_ops[i].action,
                             vm_power_ops[i].done, error);
    }
    g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "power operation is on, off, suspend or reset, not '%s'",
                args[1]);
    return FALSE;
}

const CliCommand cli_vm_commands[] = {
    { "vm ls", "", "List VMs", 0, 0, sizeof(VmLsOptions), vm_ls_entries, vm_ls_run },
    { "vm info", "VM", "Show a VM's configuration and devices", 1, 1, 0, NULL, vm_info_run },
    { "vm create", "NAME", "Create a VM", 1, 1, sizeof(CliVmCreateOptions), vm_create_entries, vm_create_run },
    { "vm register", "PATH", "Add a VM from its .vmx on a datastore to the inventory", 1, 1,
      sizeof(VmRegisterOptions), vm_register_entries, vm_register_run },
    { "vm unregister", "VM", "Remove a VM from the inventory, keeping its files", 1, 1, 0, NULL, vm_unregister_run },
    { "vm destroy", "VM", "Delete a powered-off VM and its files", 1, 1, 0, NULL, vm_destroy_run },
    { "vm power", "VM on|off|suspend|reset", "Power a VM on, off (hard), suspend or reset it", 2, 2, 0, NULL,
      vm_power_run },
    { NULL },
};
