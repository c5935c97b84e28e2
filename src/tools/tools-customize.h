/* tools-customize.h — guest customization after a clone: reads the JSON the
 * host put in QEMU's firmware configuration and applies host name, static
 * IPv4 address and DNS servers (docs/guest-agent.md).
 */
#pragma once

#define CUSTOMIZATION_PATH "/sys/firmware/qemu_fw_cfg/by_name/opt/org.vireo/customization/raw"

/* Exit codes of `vireo-tools --customize`. */
enum {
    CUSTOMIZE_APPLIED = 0,     /* applied, with a static address */
    CUSTOMIZE_FAILED = 1,      /* present but invalid, or applying it failed */
    CUSTOMIZE_NONE = 3,        /* no customization: use DHCP */
    CUSTOMIZE_APPLIED_DHCP = 4 /* applied (host name, DNS) but no address: use DHCP */
};

/* Applies the customization in path (CUSTOMIZATION_PATH normally); root
 * is prepended to the files it writes (/etc/hostname, /etc/resolv.conf)
 * and, when not "/", nothing is changed in the running system (tests).
 * Prints what it did on stdout, errors on stderr. Returns an exit code. */
int customize_apply(const char *path, const char *root);
