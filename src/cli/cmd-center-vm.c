/* cmd-center-vm.c — the VM commands that change on vireo-centerd: `vm create`
 * with inventory placement (--host/--cluster/--pool/--folder), `vm power`
 * and `vm destroy` run as tasks with a progress bar, and VMs given by
 * inventory path. On a single host each hands over to cmd-vm.c's command.
 */
#include "cli.h"

#include "vireo-error.h"

/* On a host, runs cmd-vm.c's command (*ran: TRUE, its outcome returned),
 * or refuses the options only a centre understands (center_only names
 * those given, NULL: none). On a
 * centre *ran is FALSE. */
static gboolean
vm_on_host(CliContext *ctx, const char *path, gpointer options, char **args, const char *center_only,
           gboolean *ran, GError **error)
{
    gboolean center = FALSE;

    *ran = TRUE;
    if (!cli_server_is_center(ctx, &center, error))
        return FALSE;
    *ran = !center;
    if (center)
        return TRUE;
    if (center_only) {
        g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE,
                    "%s: %s needs vireo-centerd; %s is a host", path, center_only, ctx->settings.url);
        return FALSE;
    }
    return cli_command_in(cli_vm_commands, path)->run(ctx, options, args, error);
}

static char *
vm_center_path(CliContext *ctx, const char *vm, const char *suffix, GError **error)
{
    g_autofree char *id = cli_inventory_resolve_id(ctx, CLI_INV_VM, NULL, vm, error);
    g_autofree char *segment = id ? api_client_escape_segment(id) : NULL;

    return id ? g_strdup_printf("/api/vcenter/vm/%s%s", segment, suffix ? suffix : "") : NULL;
}

/* ---- vm create ---- */

static void
vm_create_entries(gpointer options, GArray *entries)
{
    CenterVmCreateOptions *o = options;

    cli_command_in(cli_vm_commands, "vm create")->entries(&o->base, entries);
    for (guint i = 0; i < entries->len; i++) {
        GOptionEntry *e = &g_array_index(entries, GOptionEntry, i);
        if (g_str_equal(e->long_name, "folder")) {
            e->description = "on a centre: the VM folder (path, id or name); on a host: the VM's folder "
                             "on the datastore (default: NAME)";
            e->arg_description = "PATH";
        }
    }
    CLI_OPTION(entries, "host", G_OPTION_ARG_STRING, &o->host, "on a centre: run on this host (path, id or name)",
               "HOST");
    CLI_OPTION(entries, "cluster", G_OPTION_ARG_STRING, &o->cluster,
               "on a centre: a host of this cluster, picked by the centre", "CLUSTER");
    CLI_OPTION(entries, "pool", G_OPTION_ARG_STRING, &o->pool, "on a centre: in this resource pool", "POOL");
    CLI_OPTION(entries, "async", G_OPTION_ARG_NONE, &o->async, "on a centre: print the task id and return at once",
               NULL);
}

/* Placement members resolved to the centre's ids. */
static gboolean
vm_create_placement(CliContext *ctx, CenterVmCreateOptions *o, JsonObject *placement, GError **error)
{
    static const struct {
        gsize offset;
        CliInvKind kind;
        const char *member, *folder_type;
    } fields[] = {
        { G_STRUCT_OFFSET(CenterVmCreateOptions, base.datastore), CLI_INV_DATASTORE, "datastore", NULL },
        { G_STRUCT_OFFSET(CenterVmCreateOptions, base.folder), CLI_INV_FOLDER, "folder", "VIRTUAL_MACHINE" },
        { G_STRUCT_OFFSET(CenterVmCreateOptions, host), CLI_INV_HOST, "host", NULL },
        { G_STRUCT_OFFSET(CenterVmCreateOptions, cluster), CLI_INV_CLUSTER, "cluster", NULL },
        { G_STRUCT_OFFSET(CenterVmCreateOptions, pool), CLI_INV_RESOURCE_POOL, "resource_pool", NULL },
    };

    if ((o->host != NULL) + (o->cluster != NULL) + (o->pool != NULL) > 1) {
        g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "give one of --host, --cluster and --pool");
        return FALSE;
    }
    for (guint i = 0; i < G_N_ELEMENTS(fields); i++) {
        const char *text = G_STRUCT_MEMBER(char *, o, fields[i].offset);
        g_autofree char *id = NULL;
        if (!text)
            continue;
        if (!(id = cli_inventory_resolve_id(ctx, fields[i].kind, fields[i].folder_type, text, error)))
            return FALSE;
        json_object_set_string_member(placement, fields[i].member, id);
    }
    return TRUE;
}

static gboolean
vm_create_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    CenterVmCreateOptions *o = options;
    CliVmCreateOptions base = o->base;
    g_autoptr(JsonNode) spec = NULL;
    g_autoptr(JsonNode) id = NULL;
    g_autofree char *task = NULL;
    gboolean ran;
    gboolean ok = vm_on_host(ctx, "vm create", &o->base, args,
                             o->host ? "--host" : o->cluster ? "--cluster" : o->pool ? "--pool"
                             : o->async ? "--async" : NULL, &ran, error);

    if (ran)
        return ok;
    base.folder = NULL;   /* on a centre it is the inventory folder, set below */
    if (!(spec = cli_spec_vm_create(args[0], &base, error)) ||
        !vm_create_placement(ctx, o, json_object_get_object_member(json_node_get_object(spec), "placement"), error) ||
        !cli_call_long(ctx, "POST", "/api/vcenter/vm", NULL, spec, o->async, &id, &task, error))
        return FALSE;
    if (task)
        cli_task_started(ctx, task);
    else if (ctx->settings.json)
        cli_json_append(ctx->out, id);
    else
        g_string_append_printf(ctx->out, "Created VM %s (%s).\n", args[0],
                               id && JSON_NODE_HOLDS_VALUE(id) ? json_node_get_string(id) : "?");
    return TRUE;
}

/* ---- power, destroy, info ---- */

typedef struct {
    gboolean async;
} VmTaskOptions;

static void
vm_task_entries(gpointer options, GArray *entries)
{
    CLI_OPTION(entries, "async", G_OPTION_ARG_NONE, &((VmTaskOptions *)options)->async,
               "on a centre: print the task id and return at once", NULL);
}

static gboolean
vm_task_op(CliContext *ctx, VmTaskOptions *o, const char *vm, const char *method, const char *suffix,
           const char *action, const char *done, GError **error)
{
    const char *query[] = { "action", action, NULL };
    g_autofree char *path = vm_center_path(ctx, vm, suffix, error);
    g_autofree char *task = NULL;

    if (!path || !cli_call_long(ctx, method, path, action ? query : NULL, NULL, o->async, NULL, &task, error))
        return FALSE;
    if (task)
        cli_task_started(ctx, task);
    else if (!ctx->settings.json)
        g_string_append_printf(ctx->out, "%s %s.\n", done, vm);
    return TRUE;
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
    VmTaskOptions *o = options;
    gboolean ran;
    gboolean ok;

    for (guint i = 0; i < G_N_ELEMENTS(vm_power_ops); i++) {
        if (!g_str_equal(args[1], vm_power_ops[i].word))
            continue;
        if ((ok = vm_on_host(ctx, "vm power", options, args, o->async ? "--async" : NULL, &ran, error), ran))
            return ok;
        return vm_task_op(ctx, o, args[0], "POST", "/power", vm_power_ops[i].action, vm_power_ops[i].done, error);
    }
    g_set_error(error, CLI_ERROR, CLI_ERROR_USAGE, "power operation is on, off, suspend or reset, not '%s'",
                args[1]);
    return FALSE;
}

static gboolean
vm_destroy_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    VmTaskOptions *o = options;
    gboolean ran;
    gboolean ok;

    if ((ok = vm_on_host(ctx, "vm destroy", options, args, o->async ? "--async" : NULL, &ran, error), ran))
        return ok;
    return vm_task_op(ctx, o, args[0], "DELETE", NULL, NULL, "Destroyed", error);
}

static gboolean
vm_info_run(CliContext *ctx, gpointer options, char **args, GError **error)
{
    gboolean ran;
    gboolean ok = vm_on_host(ctx, "vm info", options, args, NULL, &ran, error);
    g_autofree char *path = NULL;
    g_autoptr(JsonNode) info = NULL;

    if (ran)
        return ok;
    if (!(path = vm_center_path(ctx, args[0], NULL, error)) || !(info = cli_get(ctx, path, NULL, error)))
        return FALSE;
    if (ctx->settings.json)
        cli_json_append(ctx->out, info);
    else
        cli_format_vm_info(info, ctx->out);
    return TRUE;
}

const CliCommand cli_center_vm_commands[] = {
    { "vm info", "VM", "Show a VM's configuration and devices (VM: name, id or inventory path)", 1, 1, 0, NULL,
      vm_info_run },
    { "vm create", "NAME", "Create a VM (on a centre, placed with --host, --cluster or --pool)", 1, 1,
      sizeof(CenterVmCreateOptions), vm_create_entries, vm_create_run },
    { "vm destroy", "VM", "Delete a powered-off VM and its files", 1, 1, sizeof(VmTaskOptions), vm_task_entries,
      vm_destroy_run },
    { "vm power", "VM on|off|suspend|reset", "Power a VM on, off (hard), suspend or reset it", 2, 2,
      sizeof(VmTaskOptions), vm_task_entries, vm_power_run },
    { NULL },
};
