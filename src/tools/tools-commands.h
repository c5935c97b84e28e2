/* tools-commands.h — what the guest agent does when the host asks: power
 * actions handed to the guest's init, and filesystem freeze/thaw.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    POWER_ACTION_POWEROFF,
    POWER_ACTION_REBOOT,
} PowerAction;

/* Asks PID 1 to power off or reboot (busybox init: SIGUSR2 / SIGTERM;
 * systemd: SIGRTMIN+4 / SIGRTMIN+5), and if the system is still up after
 * grace_s seconds, syncs and calls reboot(2) itself. Returns only if even
 * that failed. */
void commands_power(PowerAction action, int grace_s);

/* Freezes every writable block-backed mounted filesystem (FIFREEZE).
 * Returns the number frozen (0 is fine), or -1 with a message in error if
 * one could not be frozen (those already frozen are thawed again). */
int commands_freeze(char *error, size_t error_size);

/* Thaws what commands_freeze froze, and any other frozen filesystem it
 * finds. Returns the number thawed. */
int commands_thaw(void);

/* True while filesystems are frozen by us; the agent thaws them by itself
 * after a timeout so a lost "thaw" cannot hang the guest. */
bool commands_frozen(void);
