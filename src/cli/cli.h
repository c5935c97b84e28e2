/* cli.h — the pieces of `vireo`, the command-line client, and how they meet.
 *
 * main.c only calls cli_main(). Parsing (cli-dispatch.c), settings
 * (cli-config.c), the connection and session cache (cli-session.c), output
 * (cli-format.c) and request specs (cli-spec.c) are pure or nearly so and are
 * tested in tests/unit/test-cli.c; each cmd-*.c holds the commands of one noun.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "api-client.h"
#include "inventory-path.h"
#include "vireo-error.h"

G_BEGIN_DECLS

/* Exit codes, documented in `vireo help` and docs/cli.md. */
typedef enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_ERROR = 1,
    CLI_EXIT_USAGE = 2,
    CLI_EXIT_NOT_FOUND = 3,
    CLI_EXIT_AUTH = 4,
    CLI_EXIT_BUSY = 5,
    CLI_EXIT_STATE = 6,
    CLI_EXIT_UNAVAILABLE = 7,
} CliExit;

/* Errors the CLI finds itself before asking a server. */
#define CLI_ERROR (cli_error_quark())
GQuark cli_error_quark(void);
typedef enum {
    CLI_ERROR_USAGE,   /* wrong arguments: exit 2 */
} CliErrorCode;

/* ---- cli-config.c: connection settings ---- */

typedef struct {
    char *url;
    char *username;
    char *password;
    char *thumbprint;
    gboolean insecure;
    gboolean json;
    guint timeout;      /* seconds, 0: the client's default */
} CliSettings;

void cli_settings_clear(CliSettings *settings);
/* KEY=value lines with optional "export " and quotes; # comments.
 * Returns key → value (transfer full). */
GHashTable *cli_env_file_parse(const char *text);
/* Fills *out: each VIREO_* key from envp; when envp has no VIREO_URL, keys
 * from lab_env_text (the lab's ~/.config/vireo/lab.env, nullable) instead of
 * absent ones; then every non-NULL/TRUE field of flags wins. */
void cli_settings_resolve(CliSettings *out, const CliSettings *flags,
                          const char *const *envp, const char *lab_env_text);
/* ~/.config/vireo/lab.env (honours XDG_CONFIG_HOME). */
char *cli_lab_env_path(void);

/* ---- cli-format.c: sizes, tables, JSON ---- */

/* "512M", "10G", "1T", "1.5G", "4096" (bytes), "2GiB", "2gb": powers of 1024. */
gboolean cli_size_parse(const char *text, guint64 *bytes, GError **error);
/* 10737418240 → "10.0 GiB"; below 1 KiB "512 B". */
char *cli_size_format(guint64 bytes);

typedef struct CliTable CliTable;
CliTable *cli_table_new(const char *const *headers);
void cli_table_free(CliTable *table);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CliTable, cli_table_free)
/* cells: one per header; NULL cells print as "-". */
void cli_table_add(CliTable *table, const char *const *cells);
/* Columns padded to their widest cell, two spaces apart, no trailing blanks. */
void cli_table_render(CliTable *table, GString *out);

/* "key:   value" lines, keys padded to the widest; NULL values skipped. */
typedef struct CliFields CliFields;
CliFields *cli_fields_new(void);
void cli_fields_free(CliFields *fields);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CliFields, cli_fields_free)
void cli_fields_add(CliFields *fields, const char *key, const char *value);
void cli_fields_render(CliFields *fields, GString *out);

void cli_json_append(GString *out, JsonNode *node);   /* pretty, with newline */

/* Member readers that tolerate absence and wrong types (→ NULL / -1). */
const char *cli_json_str(JsonObject *obj, const char *member);
gint64 cli_json_int(JsonObject *obj, const char *member);
JsonObject *cli_json_obj(JsonObject *obj, const char *member);

/* The exit code for an error from anywhere (VIREO_ERROR, CLI_ERROR, other). */
CliExit cli_exit_code_for_error(const GError *error);

/* "POWERED_ON" → "on"-style words for tables; unknown as is. */
const char *cli_power_state_word(const char *state);
/* "on", "off", "suspended" or POWERED_ON... → API value; NULL if none. */
const char *cli_power_state_from_word(const char *word);

/* ---- cli-spec.c: request bodies from command-line specs ---- */

/* SIZE[:thin|thick-lazy|thick-eager][:scsi|sata|nvme|virtio|ide] → a disk
 * spec with new_vmdk (no bus/unit yet). */
JsonNode *cli_spec_disk(const char *text, GError **error);
/* "[ds] path.vmdk"[:bus] → a disk spec with a VMDK_FILE backing. */
JsonNode *cli_spec_existing_disk(const char *text, GError **error);
/* PORTGROUP[:vmxnet3|e1000|e1000e|pcnet32|virtio][:MAC] → a NIC spec. */
JsonNode *cli_spec_nic(const char *text, GError **error);
/* "[ds] path.iso" (NULL: empty drive) → a SATA CD-ROM spec. */
JsonNode *cli_spec_cdrom(const char *iso, GError **error);
/* pvscsi|lsilogicsas|lsilogic|buslogic|virtio → "PVSCSI"...; NULL if none. */
const char *cli_spec_scsi_type(const char *word);
/* Gives each disk/cdrom spec without one a bus/unit free on its controller
 * type ("scsi", "sata", "nvme", "ide" objects; virtio: none), after those
 * used by existing (a VM info object's "disks" and "cdroms"; nullable). SCSI
 * unit 7 is the controller's own and is skipped. */
void cli_spec_assign_units(JsonArray *disks, JsonArray *cdroms, JsonObject *existing_vm);

typedef struct {
    char *datastore;
    char *folder;
    int cpus;
    int cores_per_socket;
    char *memory;          /* MiB, or a size with a unit */
    char *firmware;
    char *guest_os;
    char **disks;
    char **existing_disks;
    char *scsi;
    char **nics;
    char *iso;
} CliVmCreateOptions;

/* PATCH bodies: a NIC's network/MAC/connection (cmd-vm-nic.c); a CD-ROM's
 * ISO, or NULL to eject (cmd-vm-cdrom.c). */
JsonNode *cli_spec_nic_update(const char *network, const char *mac, const char *connected, GError **error);
JsonNode *cli_spec_cdrom_media(const char *iso, GError **error);

/* The body of POST /api/vcenter/vm. */
JsonNode *cli_spec_vm_create(const char *name, const CliVmCreateOptions *options, GError **error);

/* ---- cli-session.c: connection, login, token cache ---- */

typedef struct {
    CliSettings settings;
    ApiClient *client;          /* made on first use */
    gboolean token_from_cache;
    GString *out;               /* what the command prints on stdout */
} CliContext;

void cli_context_init(CliContext *ctx);
void cli_context_clear(CliContext *ctx);
/* ~/.cache/vireo/sessions/<sha256 of url and user> */
char *cli_session_cache_path(const char *url, const char *username);
gboolean cli_session_save(const char *url, const char *username, const char *token, GError **error);
char *cli_session_load(const char *url, const char *username);
void cli_session_forget(const char *url, const char *username);

/* Makes the client (no request). */
gboolean cli_client(CliContext *ctx, GError **error);
/* Logs in with the settings' user and password and caches the token. */
gboolean cli_login(CliContext *ctx, GError **error);
/* A request with a session: the cached token, or a login when there is
 * none; on 401 with a cached token, one new login and one retry. */
gboolean cli_call(CliContext *ctx, const char *method, const char *path,
                  const char *const *query, JsonNode *body, JsonNode **answer, GError **error);
/* GET, and the answer or NULL. */
JsonNode *cli_get(CliContext *ctx, const char *path, const char *const *query, GError **error);

/* Resolves a VM given by name (GET /api/vcenter/vm?names=) or by id. */
char *cli_resolve_vm(CliContext *ctx, const char *name_or_id, GError **error);

/* ---- cli-dispatch.c: the command table and argument parsing ---- */

typedef struct CliCommand CliCommand;
typedef gboolean (*CliRunFunc)(CliContext *ctx, gpointer options, char **args, GError **error);
typedef void (*CliEntriesFunc)(gpointer options, GArray *entries);

struct CliCommand {
    const char *path;        /* "vm disk add" */
    const char *args;        /* "VM SIZE[:prov][:bus]" */
    const char *summary;
    int min_args, max_args;  /* positional; max -1: any */
    gsize options_size;      /* bytes of the options struct */
    CliEntriesFunc entries;  /* appends GOptionEntry pointing into options */
    CliRunFunc run;
};

typedef struct {
    const CliCommand *command;  /* NULL: help was asked for or shown */
    gpointer options;
    GPtrArray *option_entries;  /* GOptionEntry copies, to free values */
    char **args;
    CliSettings flags;          /* global options given on the command line */
    gboolean help;              /* --help or `help`: print help, exit 0 */
    char *help_text;            /* help to print (help or usage error) */
} CliInvocation;

void cli_invocation_free(CliInvocation *inv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CliInvocation, cli_invocation_free)

/* Appends one option to a command's entries (in a CliEntriesFunc). */
#define CLI_OPTION(entries, name, type, ptr, description, arg_description)              \
    do {                                                                                 \
        GOptionEntry cli_option_ = { name, 0, 0, type, ptr, description, arg_description }; \
        g_array_append_val(entries, cli_option_);                                        \
    } while (0)

/* Every command, NULL-path terminated. */
const CliCommand *cli_commands(void);
const CliCommand *cli_command_find(const char *path);
/* Parses argv (argv[0] is the program). *out is always set (free it); on a
 * usage error returns FALSE with CLI_ERROR_USAGE and (*out)->help_text is
 * the help of the command or noun that was recognised. */
gboolean cli_parse(int argc, char **argv, CliInvocation **out, GError **error);
char *cli_help_text(const char *prefix);
/* Runs a parsed command with the resolved settings; output in ctx->out. */
gboolean cli_run(CliContext *ctx, CliInvocation *inv, GError **error);

/* Command tables of each noun (cmd-*.c). */
extern const CliCommand cli_session_commands[];
extern const CliCommand cli_host_commands[];
extern const CliCommand cli_datastore_commands[];
extern const CliCommand cli_network_commands[];
extern const CliCommand cli_vm_commands[];
extern const CliCommand cli_vm_guest_commands[];
extern const CliCommand cli_vm_disk_commands[];
extern const CliCommand cli_vm_nic_commands[];
extern const CliCommand cli_vm_cdrom_commands[];

/* "/api/vcenter/vm/<id><suffix>" for a VM given by name or id (cmd-vm.c). */
char *cli_vm_path(CliContext *ctx, const char *vm, const char *suffix, GError **error);
/* Body of POST /api/vcenter/vm?action=register (cmd-vm.c). */
JsonNode *cli_spec_vm_register(const char *path, const char *datastore, const char *name, GError **error);
/* Device table of a VM info object: "disks", "nics", "cdroms",
 * "scsi_adapters", or NULL for all (cmd-vm-device.c). */
void cli_format_devices(JsonObject *vm, const char *kind, GString *out);
/* The key of a device given by key ("2000") or label ("Hard disk 1"). */
char *cli_device_key(JsonObject *vm, const char *kind, const char *which, GError **error);

/* GET of a VM's info (an object); *path_out its "/api/vcenter/vm/<id>". */
JsonNode *cli_vm_fetch(CliContext *ctx, const char *vm, char **path_out, GError **error);
/* Prints one kind of device of a VM (table, or the JSON object). */
gboolean cli_device_ls(CliContext *ctx, const char *vm, const char *kind, GError **error);
/* method on <vm_path>/hardware/<hardware>[/<key>], printing done (and the
 * new device's key when the answer is one). */
gboolean cli_device_request(CliContext *ctx, const char *vm_path, const char *hardware, const char *key,
                            const char *method, const char *const *query, JsonNode *body,
                            const char *done, GError **error);

/* Formatting used by several commands, pure (cmd-vm.c). */
void cli_format_vm_list(JsonNode *list, GString *out);
void cli_format_vm_info(JsonNode *info, GString *out);
/* cmd-datastore.c / cmd-host.c */
void cli_format_datastore_list(JsonNode *list, GString *out);
void cli_format_host_info(JsonNode *info, GString *out);

/* ---- vireo-centerd: inventory, hosts, tasks, events, security ---- */

/* Tables of the centre's commands. A command whose path is already taken
 * (vm create, host ls, …) replaces the earlier one in place: it does the
 * centre's work and hands a single host to the command it replaces. */
extern const CliCommand cli_inventory_commands[];
extern const CliCommand cli_center_host_commands[];
extern const CliCommand cli_center_vm_commands[];
extern const CliCommand cli_task_commands[];
extern const CliCommand cli_event_commands[];
extern const CliCommand cli_security_commands[];

/* The command at path in one table (the one a centre command replaces). */
const CliCommand *cli_command_in(const CliCommand *table, const char *path);

/* cmd-task.c: what kind of server is at a URL. GET /api/vcenter/datacenter
 * answers 200 on vireo-centerd and 404 on vireo-hostd; the answer is kept
 * per URL beside the session cache (~/.cache/vireo/sessions/<sha256>.kind). */
char *cli_server_kind_path(const char *url);
/* "center" or "host" as cached, NULL when unknown. */
char *cli_server_kind_load(const char *url);
gboolean cli_server_kind_save(const char *url, const char *kind, GError **error);
/* Asks the server once per URL (then the cache). */
gboolean cli_server_is_center(CliContext *ctx, gboolean *is_center, GError **error);

/* The lister of inventory-path.h that asks ctx's server. */
CliInvLister cli_inventory_lister(CliContext *ctx);
/* cli_inv_resolve() against ctx's server: the id (transfer full). */
char *cli_inventory_resolve_id(CliContext *ctx, CliInvKind want, const char *folder_type,
                               const char *text, GError **error);

/* cmd-task.c: tasks. A task info (GET /api/cis/tasks/{task}) → one line:
 * "[#####     ]  50% Powering on web-01" (bar_width cells; 0: no bar). */
char *cli_task_progress_line(JsonObject *info, guint bar_width);
/* TRUE once the status is SUCCEEDED, FAILED or CANCELED. */
gboolean cli_task_is_done(JsonObject *info);
/* TRUE for SUCCEEDED; FAILED → the task's error as a VIREO_ERROR (its
 * error_type and message), CANCELED → ERROR. */
gboolean cli_task_outcome(JsonObject *info, GError **error);
/* Polls the task every 250 ms, drawing progress on stderr (a bar on a
 * terminal, a line per change otherwise), until it ends; *info_out
 * (nullable) gets the last info. Fails as cli_task_outcome(). */
gboolean cli_task_wait(CliContext *ctx, const char *task, JsonNode **info_out, GError **error);
/* A long operation. On a centre it is sent with ?vmw-task=true: with
 * async, *task_out gets the task id and it returns at once; otherwise it
 * waits and *answer_out gets the task's result. On a host it is an ordinary
 * request (async is a usage error there). Both outputs nullable. */
gboolean cli_call_long(CliContext *ctx, const char *method, const char *path, const char *const *query,
                       JsonNode *body, gboolean async, JsonNode **answer_out, char **task_out, GError **error);

/* Prints that a task started in the background (its id, or the id as a
 * JSON string with --json). */
void cli_task_started(CliContext *ctx, const char *task);

/* cmd-center-host.c: pure parts of `host add`. "esx1:8443", "[fe80::1]:443",
 * "10.0.0.5" → host and port (0: none given). */
gboolean cli_host_address_parse(const char *text, char **host, guint *port, GError **error);
/* The first SHA-256 (or SHA-1) thumbprint a centre's message names that is
 * not except (nullable), normalised "AB:CD:…"; NULL if none. */
char *cli_host_thumbprint_in(const char *message, const char *except);
/* What to tell the user about a host's thumbprint (given: the one they
 * passed, nullable). */
char *cli_host_thumbprint_advice(const char *thumbprint, const char *given);

typedef struct {
    char *username;
    char *password;
    char *cluster;
    char *folder;
    char *thumbprint;
    gboolean accept_thumbprint;
    gboolean async;
} HostAddOptions;

typedef struct {
    CliVmCreateOptions base;   /* first: the host's `vm create` reads it */
    char *host;
    char *cluster;
    char *pool;
    gboolean async;
} CenterVmCreateOptions;

typedef struct {
    gboolean longer;   /* ls -l */
} CliLsOptions;

typedef struct {
    char *object;
    char *principal;
    gboolean group;
    char *role;
    gboolean no_propagate;
} PermissionOptions;

/* Options of commands whose parsing the unit tests check. */
typedef struct {
    char *power_state;
    char *name;
} VmLsOptions;

typedef struct {
    gboolean delete_files;
} DiskRmOptions;

G_END_DECLS
