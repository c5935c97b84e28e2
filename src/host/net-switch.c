/* net-switch.c — Linux bridges as vSwitches, taps as their VM ports. */
#include "net-switch.h"
#include "vireo-error.h"

#include <net/if.h>
#include <string.h>

static gboolean
run_ip(const char *const *argv, gboolean quiet_fail, GError **error)
{
    g_autofree char *err = NULL;
    int status = 0;
    g_autoptr(GError) local = NULL;
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                      NULL, NULL, NULL, &err, &status, &local)) {
        g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "cannot run %s: %s", argv[0],
                    local->message);
        return FALSE;
    }
    if (!g_spawn_check_wait_status(status, NULL)) {
        if (!quiet_fail) {
            g_autofree char *cmd = g_strjoinv(" ", (char **)argv);
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_ERROR, "'%s' failed: %s", cmd,
                        err ? g_strstrip(err) : "");
        }
        return FALSE;
    }
    return TRUE;
}

static gboolean
link_exists(const char *name)
{
    return if_nametoindex(name) != 0;
}

gboolean
net_switch_ensure(const HostVswitchConfig *vswitch, GError **error)
{
    const char *br = vswitch->bridge;
    if (!link_exists(br)) {
        const char *add[] = { "ip", "link", "add", "name", br, "type", "bridge", NULL };
        if (!run_ip(add, FALSE, error) && !link_exists(br))
            return FALSE;
        g_clear_error(error);
    }
    const char *up[] = { "ip", "link", "set", br, "up", NULL };
    if (!run_ip(up, FALSE, error))
        return FALSE;
    if (vswitch->uplink) {
        if (!link_exists(vswitch->uplink)) {
            g_set_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND,
                        "vSwitch %s: uplink %s does not exist", vswitch->name, vswitch->uplink);
            return FALSE;
        }
        const char *master[] = { "ip", "link", "set", vswitch->uplink, "master", br, "up", NULL };
        if (!run_ip(master, FALSE, error))
            return FALSE;
    }
    return TRUE;
}

static gboolean
tap_set_vlan(const char *name, const char *bridge, int vlan_id, GError **error)
{
    g_autofree char *vid = g_strdup_printf("%d", vlan_id);
    const char *filter[] = { "ip", "link", "set", bridge, "type", "bridge", "vlan_filtering", "1", NULL };
    const char *del[] = { "bridge", "vlan", "del", "dev", name, "vid", "1", NULL };
    const char *add[] = { "bridge", "vlan", "add", "dev", name, "vid", vid, "pvid", "untagged", NULL };
    if (!run_ip(filter, FALSE, error))
        return FALSE;
    run_ip(del, TRUE, NULL);
    return run_ip(add, FALSE, error);
}

gboolean
net_tap_create(const char *name, const char *bridge, int vlan_id, GError **error)
{
    if (!link_exists(name)) {
        const char *add[] = { "ip", "tuntap", "add", "dev", name, "mode", "tap", NULL };
        if (!run_ip(add, FALSE, error))
            return FALSE;
    }
    const char *master[] = { "ip", "link", "set", name, "master", bridge, "up", NULL };
    if (!run_ip(master, FALSE, error))
        goto undo_tap;
    if (vlan_id > 0 && !tap_set_vlan(name, bridge, vlan_id, error))
        goto undo_tap;
    return TRUE;

undo_tap:
    net_tap_delete(name);
    return FALSE;
}

void
net_tap_delete(const char *name)
{
    if (!link_exists(name))
        return;
    const char *del[] = { "ip", "link", "del", name, NULL };
    run_ip(del, TRUE, NULL);
}

char *
net_tap_name(const char *host_name, const char *vm_id, int nic_index)
{
    guint h = g_str_hash(host_name) & 0xffff;
    const char *num = g_str_has_prefix(vm_id, "vm-") ? vm_id + 3 : vm_id;
    char *name = g_strdup_printf("vt%04x-%sn%d", h, num, nic_index);
    if (strlen(name) >= IFNAMSIZ) {
        g_free(name);
        name = g_strdup_printf("vt%08x", g_str_hash(vm_id) ^ (guint)nic_index);
    }
    return name;
}
