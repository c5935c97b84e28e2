/* net-switch.h — virtual switches (Linux bridges), their uplinks, and the tap
 * ports VMs plug into. Everything is done with iproute2 (`ip`, `bridge`),
 * started with argv arrays, in the network namespace vireo-hostd runs in.
 */
#pragma once

#include <glib.h>
#include "host-config.h"

G_BEGIN_DECLS

/* Creates the bridge when missing, brings it up, enslaves the uplink. */
gboolean net_switch_ensure(const HostVswitchConfig *vswitch, GError **error);
/* Creates tap `name` on `bridge` (up); a VLAN ID > 0 makes it an access
 * port of that VLAN (bridge VLAN filtering). An existing tap of that name is
 * reused. */
gboolean net_tap_create(const char *name, const char *bridge, int vlan_id, GError **error);
/* Deletes a tap; absent is fine. */
void net_tap_delete(const char *name);
/* A tap name for (host, vm, nic), <= 15 characters, unique per host. */
char *net_tap_name(const char *host_name, const char *vm_id, int nic_index);

G_END_DECLS
