/* tools-guestinfo.h — what the guest agent reports about its guest: the
 * hello and heartbeat lines of docs/guest-agent.md, gathered fresh each
 * time from the kernel and /etc.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define VIREO_TOOLS_PROTOCOL 1
#define VIREO_TOOLS_VERSION "0.1.0"
#define VIREO_MEMWRITE_STATUS "/run/vireo-memwrite.status"

/* Writes {"type":"hello",...}\n into out. Returns the length, or -1 if it
 * did not fit. */
int guestinfo_format_hello(char *out, size_t size);

/* Writes one heartbeat line (with its trailing \n) into out; workload_path
 * is the vireo-memwrite status file (NULL: none). Returns the length, or -1
 * if it did not fit. */
int guestinfo_format_heartbeat(char *out, size_t size, uint64_t seq, const char *workload_path);
