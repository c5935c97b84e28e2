/* test-cli.c — the pure parts of `vireo`: argument parsing against the verb
 * table, sizes, device specs turned into docs/api.md's JSON, output
 * formatting, lab.env and settings, exit codes, the session cache; and the
 * re-login on an expired cached session against a real soup server.
 *
 * The CLI's sources are compiled into this test (tests link only the common
 * and host libraries).
 */
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <sys/stat.h>
#include "cli.h"


static void
assert_json(JsonNode *node, const char *expected)
{
    g_autoptr(JsonNode) want = json_from_string(expected, NULL);
    g_autofree char *got = json_to_string(node, FALSE);

    g_assert_nonnull(want);
    if (!json_node_equal(node, want))
        g_error("JSON differs:\n got: %s\nwant: %s", got, expected);
}

static void
test_size_parse(void)
{
    static const struct {
        const char *text;
        guint64 bytes;
    } good[] = {
        { "4096", 4096 }, { "512M", 512ULL << 20 }, { "10G", 10ULL << 30 }, { "1T", 1ULL << 40 },
        { "1.5G", 3ULL << 29 }, { "2GiB", 2ULL << 30 }, { "2gb", 2ULL << 30 }, { "64k", 65536 },
    };
    static const char *const bad[] = { "", "G", "10X", "-1G", "1.5", "10GG", "abc" };

    for (guint i = 0; i < G_N_ELEMENTS(good); i++) {
        guint64 bytes = 0;
        g_autoptr(GError) error = NULL;
        g_assert_true(cli_size_parse(good[i].text, &bytes, &error));
        g_assert_no_error(error);
        g_assert_cmpuint(bytes, ==, good[i].bytes);
    }
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        guint64 bytes = 7;
        g_autoptr(GError) error = NULL;
        g_assert_false(cli_size_parse(bad[i], &bytes, &error));
        g_assert_error(error, CLI_ERROR, CLI_ERROR_USAGE);
        g_assert_cmpuint(bytes, ==, 7);
    }
}

static void
test_size_format(void)
{
    static const struct {
        guint64 bytes;
        const char *text;
    } cases[] = {
        { 0, "0 B" }, { 512, "512 B" }, { 1024, "1.0 KiB" }, { 10ULL << 30, "10.0 GiB" },
        { 3ULL << 29, "1.5 GiB" }, { 512ULL << 20, "512.0 MiB" }, { 2ULL << 40, "2.0 TiB" },
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *text = cli_size_format(cases[i].bytes);
        g_assert_cmpstr(text, ==, cases[i].text);
    }
}

static void
test_disk_spec(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) plain = cli_spec_disk("10G", &error);
    g_autoptr(JsonNode) full = cli_spec_disk("1T:thick-eager:nvme", NULL);
    g_autoptr(JsonNode) swapped = cli_spec_disk("512M:sata:thick-lazy", NULL);
    g_autoptr(JsonNode) existing = cli_spec_existing_disk("[local1] base/base.vmdk:sata", NULL);
    g_autoptr(JsonNode) bad = NULL;

    g_assert_no_error(error);
    assert_json(plain, "{\"type\": \"SCSI\", \"new_vmdk\": {\"capacity\": 10737418240, \"provisioning\": \"THIN\"}}");
    assert_json(full, "{\"type\": \"NVME\", \"new_vmdk\": {\"capacity\": 1099511627776, "
                      "\"provisioning\": \"THICK_EAGER_ZEROED\"}}");
    assert_json(swapped, "{\"type\": \"SATA\", \"new_vmdk\": {\"capacity\": 536870912, "
                         "\"provisioning\": \"THICK_LAZY_ZEROED\"}}");
    assert_json(existing, "{\"type\": \"SATA\", \"backing\": {\"type\": \"VMDK_FILE\", "
                          "\"vmdk_file\": \"[local1] base/base.vmdk\"}}");
    bad = cli_spec_disk("10G:fast", &error);
    g_assert_null(bad);
    g_assert_error(error, CLI_ERROR, CLI_ERROR_USAGE);
    g_clear_error(&error);
    g_assert_null(cli_spec_disk("0", &error));
    g_assert_error(error, CLI_ERROR, CLI_ERROR_USAGE);
    g_clear_error(&error);
    g_assert_null(cli_spec_existing_disk("[local1] base/base.iso", &error));
    g_assert_error(error, CLI_ERROR, CLI_ERROR_USAGE);
}

static void
test_nic_spec(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) plain = cli_spec_nic("VM Network", &error);
    g_autoptr(JsonNode) typed = cli_spec_nic("VM Network:e1000e", NULL);
    g_autoptr(JsonNode) mac = cli_spec_nic("lab:virtio:00:50:56:0A:0b:0c", NULL);
    g_autoptr(JsonNode) mac_only = cli_spec_nic("lab:00:50:56:00:00:01", NULL);

    g_assert_no_error(error);
    assert_json(plain, "{\"type\": \"VMXNET3\", \"backing\": {\"type\": \"STANDARD_PORTGROUP\", "
                       "\"network\": \"VM Network\"}, \"mac_type\": \"GENERATED\", \"start_connected\": true}");
    assert_json(typed, "{\"type\": \"E1000E\", \"backing\": {\"type\": \"STANDARD_PORTGROUP\", "
                       "\"network\": \"VM Network\"}, \"mac_type\": \"GENERATED\", \"start_connected\": true}");
    assert_json(mac, "{\"type\": \"VIRTIO\", \"backing\": {\"type\": \"STANDARD_PORTGROUP\", \"network\": \"lab\"}, "
                     "\"mac_type\": \"MANUAL\", \"mac_address\": \"00:50:56:0a:0b:0c\", \"start_connected\": true}");
    g_assert_cmpstr(cli_json_str(json_node_get_object(mac_only), "mac_address"), ==, "00:50:56:00:00:01");
    g_assert_cmpstr(cli_json_str(json_node_get_object(mac_only), "type"), ==, "VMXNET3");
    g_assert_null(cli_spec_nic("lab:rtl8139", &error));
    g_assert_error(error, CLI_ERROR, CLI_ERROR_USAGE);
    g_clear_error(&error);
    g_assert_null(cli_spec_nic(":e1000", &error));
    g_assert_error(error, CLI_ERROR, CLI_ERROR_USAGE);
}

/* Parses a command line as main() would. */
static CliInvocation *
parse(const char *line, GError **error)
{
    g_auto(GStrv) words = NULL;
    g_autofree char *full = g_strdup_printf("vireo %s", line);
    int argc = 0;
    CliInvocation *inv = NULL;

    g_assert_true(g_shell_parse_argv(full, &argc, &words, NULL));
    if (!cli_parse(argc, words, &inv, error)) {
        cli_invocation_free(inv);
        return NULL;
    }
    return inv;
}

static void
test_parse_table(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(CliInvocation) ls = parse("--json vm ls --power-state on --url=https://h:8443", &error);
    g_assert_no_error(error);
    g_assert_cmpstr(ls->command->path, ==, "vm ls");
    g_assert_true(ls->flags.json);
    g_assert_cmpstr(ls->flags.url, ==, "https://h:8443");
    g_assert_cmpstr(((VmLsOptions *)ls->options)->power_state, ==, "on");

    g_autoptr(CliInvocation) rm = parse("vm disk rm web-01 'Hard disk 2' --delete-files --insecure", &error);
    g_assert_no_error(error);
    g_assert_cmpstr(rm->command->path, ==, "vm disk rm");
    g_assert_cmpstr(rm->args[0], ==, "web-01");
    g_assert_cmpstr(rm->args[1], ==, "Hard disk 2");
    g_assert_true(((DiskRmOptions *)rm->options)->delete_files);
    g_assert_true(rm->flags.insecure);

    g_autoptr(CliInvocation) help = parse("vm cdrom insert --help", &error);
    g_assert_no_error(error);
    g_assert_true(help->help);
    g_assert_nonnull(strstr(help->help_text, "Usage: vireo vm cdrom insert VM"));
    g_assert_nonnull(strstr(help->help_text, "--device=CDROM"));

    g_autoptr(CliInvocation) noun_help = parse("vm nic --help", &error);
    g_assert_no_error(error);
    g_assert_true(noun_help->help);
    g_assert_nonnull(strstr(noun_help->help_text, "vm nic set VM NIC"));
    g_assert_null(strstr(noun_help->help_text, "vm disk"));

    g_autoptr(CliInvocation) top = parse("help", &error);
    g_assert_no_error(error);
    g_assert_nonnull(strstr(top->help_text, "6  not allowed in the current state"));

    static const char *const usage_errors[] = {
        "", "frobnicate", "vm", "vm frob", "vm info", "vm info a b", "vm power web-01",
        "vm ls --bogus", "vm create web --cpus many", "--url",
    };
    for (guint i = 0; i < G_N_ELEMENTS(usage_errors); i++) {
        g_autoptr(CliInvocation) inv = parse(usage_errors[i], &error);
        g_assert_null(inv);
        g_assert_error(error, CLI_ERROR, CLI_ERROR_USAGE);
        g_assert_cmpint(cli_exit_code_for_error(error), ==, CLI_EXIT_USAGE);
        g_clear_error(&error);
    }
    /* Every command has a help text with its path. */
    for (const CliCommand *c = cli_commands(); c->path; c++) {
        g_autofree char *text = cli_help_text(c->path);
        g_assert_nonnull(strstr(text, c->path));
    }
}

static void
test_create_spec_from_argv(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(CliInvocation) inv = parse(
        "vm create web-01 --datastore local1 --cpus 4 --cores-per-socket 2 --memory 2G --firmware efi "
        "--disk 10G --disk 1G:thick-eager:sata --existing-disk '[local1] base/base.vmdk' "
        "--scsi lsilogic --nic 'VM Network' --nic lab:e1000:00:50:56:00:00:07 --iso '[local1] iso/tiny.iso'",
        &error);
    g_assert_no_error(error);
    g_autoptr(JsonNode) spec = cli_spec_vm_create(inv->args[0], inv->options, &error);
    g_assert_no_error(error);
    assert_json(spec,
        "{\"name\": \"web-01\", \"guest_OS\": \"OTHER_LINUX_64\", \"placement\": {\"datastore\": \"local1\"},"
        " \"boot\": {\"type\": \"EFI\"}, \"cpu\": {\"count\": 4, \"cores_per_socket\": 2},"
        " \"memory\": {\"size_MiB\": 2048}, \"scsi_adapters\": [{\"type\": \"LSILOGIC\"}],"
        " \"disks\": ["
        "  {\"type\": \"SCSI\", \"scsi\": {\"bus\": 0, \"unit\": 0}, \"new_vmdk\": {\"capacity\": 10737418240, \"provisioning\": \"THIN\"}},"
        "  {\"type\": \"SATA\", \"sata\": {\"bus\": 0, \"unit\": 0}, \"new_vmdk\": {\"capacity\": 1073741824, \"provisioning\": \"THICK_EAGER_ZEROED\"}},"
        "  {\"type\": \"SCSI\", \"scsi\": {\"bus\": 0, \"unit\": 1}, \"backing\": {\"type\": \"VMDK_FILE\", \"vmdk_file\": \"[local1] base/base.vmdk\"}}],"
        " \"nics\": ["
        "  {\"type\": \"VMXNET3\", \"backing\": {\"type\": \"STANDARD_PORTGROUP\", \"network\": \"VM Network\"}, \"mac_type\": \"GENERATED\", \"start_connected\": true},"
        "  {\"type\": \"E1000\", \"backing\": {\"type\": \"STANDARD_PORTGROUP\", \"network\": \"lab\"}, \"mac_type\": \"MANUAL\", \"mac_address\": \"00:50:56:00:00:07\", \"start_connected\": true}],"
        " \"cdroms\": [{\"type\": \"SATA\", \"sata\": {\"bus\": 0, \"unit\": 1}, \"backing\": {\"type\": \"ISO_FILE\", \"iso_file\": \"[local1] iso/tiny.iso\"}, \"start_connected\": true}]}");

    /* Defaults, and the mistakes a user makes. */
    g_autoptr(CliInvocation) minimal = parse("vm create tiny --datastore ds --folder f", &error);
    g_autoptr(JsonNode) small = cli_spec_vm_create("tiny", minimal->options, &error);
    g_assert_no_error(error);
    assert_json(small, "{\"name\": \"tiny\", \"guest_OS\": \"OTHER_LINUX_64\", "
                       "\"placement\": {\"datastore\": \"ds\", \"folder\": \"f\"}, \"boot\": {\"type\": \"BIOS\"}, "
                       "\"cpu\": {\"count\": 1, \"cores_per_socket\": 1}, \"memory\": {\"size_MiB\": 512}, "
                       "\"disks\": [], \"nics\": [], \"cdroms\": []}");
    static const char *const wrong[] = {
        "vm create x", "vm create x --datastore d --cpus 3 --cores-per-socket 2",
        "vm create x --datastore d --firmware uefi", "vm create x --datastore d --scsi ahci",
        "vm create x --datastore d --memory 1K", "vm create x --datastore d --disk 10Q",
    };
    for (guint i = 0; i < G_N_ELEMENTS(wrong); i++) {
        g_autoptr(CliInvocation) w = parse(wrong[i], &error);
        g_assert_no_error(error);
        g_autoptr(JsonNode) none = cli_spec_vm_create("x", w->options, &error);
        g_assert_null(none);
        g_assert_error(error, CLI_ERROR, CLI_ERROR_USAGE);
        g_clear_error(&error);
    }
}

static void
test_assign_units_after_existing(void)
{
    g_autoptr(JsonNode) vm = json_from_string(
        "{\"disks\": {"
        " \"2000\": {\"type\": \"SCSI\", \"scsi\": {\"bus\": 0, \"unit\": 0}},"
        " \"2001\": {\"type\": \"SCSI\", \"scsi\": {\"bus\": 0, \"unit\": 1}},"
        " \"2002\": {\"type\": \"SCSI\", \"scsi\": {\"bus\": 0, \"unit\": 2}},"
        " \"2003\": {\"type\": \"SCSI\", \"scsi\": {\"bus\": 0, \"unit\": 3}},"
        " \"2004\": {\"type\": \"SCSI\", \"scsi\": {\"bus\": 0, \"unit\": 4}},"
        " \"2005\": {\"type\": \"SCSI\", \"scsi\": {\"bus\": 0, \"unit\": 5}},"
        " \"2006\": {\"type\": \"SCSI\", \"scsi\": {\"bus\": 0, \"unit\": 6}}},"
        " \"cdroms\": {\"16000\": {\"type\": \"SATA\", \"sata\": {\"bus\": 0, \"unit\": 0}}}}", NULL);
    g_autoptr(JsonArray) disks = json_array_new();
    g_autoptr(JsonArray) cdroms = json_array_new();

    json_array_add_element(disks, cli_spec_disk("1G", NULL));
    json_array_add_element(disks, cli_spec_disk("1G:sata", NULL));
    json_array_add_element(cdroms, cli_spec_cdrom(NULL, NULL));
    cli_spec_assign_units(disks, cdroms, json_node_get_object(vm));
    /* Unit 7 belongs to the SCSI controller itself. */
    JsonObject *scsi = cli_json_obj(json_array_get_object_element(disks, 0), "scsi");
    g_assert_cmpint(cli_json_int(scsi, "unit"), ==, 8);
    JsonObject *sata = cli_json_obj(json_array_get_object_element(disks, 1), "sata");
    g_assert_cmpint(cli_json_int(sata, "unit"), ==, 1);
    JsonObject *cd = cli_json_obj(json_array_get_object_element(cdroms, 0), "sata");
    g_assert_cmpint(cli_json_int(cd, "unit"), ==, 2);
    assert_json(json_array_get_element(cdroms, 0),
                "{\"type\": \"SATA\", \"sata\": {\"bus\": 0, \"unit\": 2}, "
                "\"backing\": {\"type\": \"CLIENT_DEVICE\"}, \"start_connected\": false}");
}

static void
test_patch_bodies(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) nic = cli_spec_nic_update("lab", "00:50:56:AA:00:01", "no", &error);
    g_autoptr(JsonNode) gen = cli_spec_nic_update(NULL, "generated", NULL, NULL);
    g_autoptr(JsonNode) insert = cli_spec_cdrom_media("[ds] iso/a.iso", NULL);
    g_autoptr(JsonNode) eject = cli_spec_cdrom_media(NULL, NULL);
    g_autoptr(JsonNode) reg = cli_spec_vm_register("[local1] old/old.vmx", NULL, NULL, NULL);
    g_autoptr(JsonNode) reg2 = cli_spec_vm_register("old/old.vmx", "local1", "new", NULL);

    g_assert_no_error(error);
    assert_json(nic, "{\"backing\": {\"type\": \"STANDARD_PORTGROUP\", \"network\": \"lab\"}, "
                     "\"mac_type\": \"MANUAL\", \"mac_address\": \"00:50:56:aa:00:01\", \"start_connected\": false}");
    assert_json(gen, "{\"mac_type\": \"GENERATED\"}");
    assert_json(insert, "{\"backing\": {\"type\": \"ISO_FILE\", \"iso_file\": \"[ds] iso/a.iso\"}, \"start_connected\": true}");
    assert_json(eject, "{\"backing\": {\"type\": \"CLIENT_DEVICE\"}}");
    assert_json(reg, "{\"datastore_path\": \"[local1] old/old.vmx\", \"name\": \"old\"}");
    assert_json(reg2, "{\"datastore\": \"local1\", \"path\": \"old/old.vmx\", \"name\": \"new\"}");
    g_assert_null(cli_spec_nic_update(NULL, NULL, NULL, &error));
    g_assert_error(error, CLI_ERROR, CLI_ERROR_USAGE);
    g_clear_error(&error);
    g_assert_null(cli_spec_nic_update(NULL, "00:50:56", NULL, &error));
    g_assert_error(error, CLI_ERROR, CLI_ERROR_USAGE);
    g_clear_error(&error);
    g_assert_null(cli_spec_vm_register("old/old.vmx", NULL, NULL, &error));
    g_assert_error(error, CLI_ERROR, CLI_ERROR_USAGE);
}

static void
test_table_and_fields(void)
{
    const char *headers[] = { "NAME", "POWER", "MEMORY", NULL };
    const char *row1[] = { "web-01", "on", "512.0 MiB" };
    const char *row2[] = { "database-server", NULL, "2.0 GiB" };
    g_autoptr(CliTable) table = cli_table_new(headers);
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(CliFields) fields = cli_fields_new();

    cli_table_add(table, row1);
    cli_table_add(table, row2);
    cli_table_render(table, out);
    g_assert_cmpstr(out->str, ==,
                    "NAME             POWER  MEMORY\n"
                    "web-01           on     512.0 MiB\n"
                    "database-server  -      2.0 GiB\n");
    g_string_truncate(out, 0);
    cli_fields_add(fields, "Name", "web-01");
    cli_fields_add(fields, "Skipped", NULL);
    cli_fields_add(fields, "Power state", "on");
    cli_fields_render(fields, out);
    g_assert_cmpstr(out->str, ==, "Name:         web-01\nPower state:  on\n");
}

static void
test_format_answers(void)
{
    g_autoptr(JsonNode) stores = json_from_string(
        "[{\"datastore\": \"datastore-1\", \"name\": \"local1\", \"type\": \"VMFS\", \"capacity\": 10737418240,"
        "  \"free_space\": 5368709120, \"provisioned_space\": 16106127360},"
        " {\"datastore\": \"datastore-2\", \"name\": \"nfs\", \"type\": \"NFS\", \"capacity\": 1099511627776,"
        "  \"free_space\": 1099511627776, \"provisioned_space\": 0}]", NULL);
    g_autoptr(JsonNode) vms = json_from_string(
        "[{\"vm\": \"vm-1\", \"name\": \"web-01\", \"power_state\": \"POWERED_ON\", \"cpu_count\": 2, \"memory_size_MiB\": 512}]",
        NULL);
    g_autoptr(JsonNode) vm = json_from_string(
        "{\"name\": \"web-01\", \"power_state\": \"POWERED_OFF\", \"cpu\": {\"count\": 2, \"cores_per_socket\": 1},"
        " \"memory\": {\"size_MiB\": 1024}, \"boot\": {\"type\": \"BIOS\"},"
        " \"disks\": {\"2000\": {\"label\": \"Hard disk 1\", \"type\": \"SCSI\", \"scsi\": {\"bus\": 0, \"unit\": 0},"
        "   \"backing\": {\"type\": \"VMDK_FILE\", \"vmdk_file\": \"[local1] web-01/web-01.vmdk\"},"
        "   \"capacity\": 1073741824, \"provisioning\": \"THIN\"}},"
        " \"nics\": {\"4000\": {\"label\": \"Network adapter 1\", \"type\": \"VMXNET3\", \"mac_address\": \"00:50:56:12:34:56\","
        "   \"backing\": {\"type\": \"STANDARD_PORTGROUP\", \"network\": \"network-1\", \"network_name\": \"VM Network\"}}},"
        " \"substitutions\": [\"scsi0: LSILOGIC runs as LSILOGICSAS\"]}", NULL);
    g_autoptr(GString) out = g_string_new(NULL);

    cli_format_datastore_list(stores, out);
    g_assert_cmpstr(out->str, ==,
        "NAME    TYPE  CAPACITY  FREE     PROVISIONED  PROVISIONED/CAPACITY\n"
        "local1  VMFS  10.0 GiB  5.0 GiB  15.0 GiB     150% over-committed\n"
        "nfs     NFS   1.0 TiB   1.0 TiB  0 B          0%\n");
    g_string_truncate(out, 0);
    cli_format_vm_list(vms, out);
    g_assert_cmpstr(out->str, ==, "NAME    VM    POWER  CPUS  MEMORY\nweb-01  vm-1  on     2     512.0 MiB\n");
    g_string_truncate(out, 0);
    cli_format_vm_info(vm, out);
    g_assert_nonnull(strstr(out->str, "Power state:  off\n"));
    g_assert_nonnull(strstr(out->str, "Memory:       1.0 GiB\n"));
    g_assert_nonnull(strstr(out->str, "Hard disk 1        2000  SCSI     SCSI 0:0  1.0 GiB thin [local1] web-01/web-01.vmdk\n"));
    g_assert_nonnull(strstr(out->str, "VM Network 00:50:56:12:34:56"));
    g_assert_nonnull(strstr(out->str, "Note: scsi0: LSILOGIC runs as LSILOGICSAS\n"));

    /* Devices named by key or label. */
    g_autoptr(GError) error = NULL;
    g_autofree char *by_label = cli_device_key(json_node_get_object(vm), "disks", "Hard disk 1", &error);
    g_autofree char *only = cli_device_key(json_node_get_object(vm), "nics", NULL, &error);
    g_assert_cmpstr(by_label, ==, "2000");
    g_assert_cmpstr(only, ==, "4000");
    g_assert_null(cli_device_key(json_node_get_object(vm), "disks", "Hard disk 9", &error));
    g_assert_error(error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND);
}

static void
test_lab_env_and_settings(void)
{
    const char *lab =
        "# written by the lab\n"
        "export VIREO_URL=https://10.0.0.1:8443\n"
        "VIREO_USERNAME='root'\n"
        "VIREO_PASSWORD=\"pa ss\\\"word\"\n"
        "  VIREO_INSECURE = 1\n"
        "garbage line\n";
    g_autoptr(GHashTable) vars = cli_env_file_parse(lab);
    const char *no_url_env[] = { "HOME=/root", "VIREO_USERNAME=alice", NULL };
    const char *url_env[] = { "VIREO_URL=https://other:443", NULL };
    CliSettings s = { 0 };
    CliSettings flags = { .password = (char *)"flagpw", .json = TRUE };

    g_assert_cmpuint(g_hash_table_size(vars), ==, 4);
    g_assert_cmpstr(g_hash_table_lookup(vars, "VIREO_URL"), ==, "https://10.0.0.1:8443");
    g_assert_cmpstr(g_hash_table_lookup(vars, "VIREO_USERNAME"), ==, "root");
    g_assert_cmpstr(g_hash_table_lookup(vars, "VIREO_PASSWORD"), ==, "pa ss\"word");
    g_assert_cmpstr(g_hash_table_lookup(vars, "VIREO_INSECURE"), ==, "1");

    /* No VIREO_URL in the environment: lab.env fills in, the environment wins per key. */
    cli_settings_resolve(&s, NULL, no_url_env, lab);
    g_assert_cmpstr(s.url, ==, "https://10.0.0.1:8443");
    g_assert_cmpstr(s.username, ==, "alice");
    g_assert_cmpstr(s.password, ==, "pa ss\"word");
    g_assert_true(s.insecure);

    /* VIREO_URL in the environment: lab.env is not read at all. */
    cli_settings_resolve(&s, &flags, url_env, lab);
    g_assert_cmpstr(s.url, ==, "https://other:443");
    g_assert_null(s.username);
    g_assert_cmpstr(s.password, ==, "flagpw");
    g_assert_false(s.insecure);
    g_assert_true(s.json);
    cli_settings_clear(&s);
}

static void
test_exit_codes(void)
{
    static const struct {
        VireoErrorCode code;
        CliExit exit;
    } cases[] = {
        { VIREO_ERROR_ERROR, CLI_EXIT_ERROR }, { VIREO_ERROR_INVALID_ARGUMENT, CLI_EXIT_ERROR },
        { VIREO_ERROR_NOT_FOUND, CLI_EXIT_NOT_FOUND }, { VIREO_ERROR_UNAUTHENTICATED, CLI_EXIT_AUTH },
        { VIREO_ERROR_UNAUTHORIZED, CLI_EXIT_AUTH }, { VIREO_ERROR_RESOURCE_BUSY, CLI_EXIT_BUSY },
        { VIREO_ERROR_ALREADY_EXISTS, CLI_EXIT_BUSY },
        { VIREO_ERROR_NOT_ALLOWED_IN_CURRENT_STATE, CLI_EXIT_STATE },
        { VIREO_ERROR_ALREADY_IN_DESIRED_STATE, CLI_EXIT_STATE },
        { VIREO_ERROR_SERVICE_UNAVAILABLE, CLI_EXIT_UNAVAILABLE }, { VIREO_ERROR_TIMED_OUT, CLI_EXIT_UNAVAILABLE },
        { VIREO_ERROR_UNSUPPORTED, CLI_EXIT_ERROR },
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) error = g_error_new_literal(VIREO_ERROR, cases[i].code, "x");
        g_assert_cmpint(cli_exit_code_for_error(error), ==, cases[i].exit);
    }
    g_autoptr(GError) io = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_FAILED, "x");
    g_assert_cmpint(cli_exit_code_for_error(io), ==, CLI_EXIT_ERROR);
    g_assert_cmpint(cli_exit_code_for_error(NULL), ==, CLI_EXIT_OK);
}

static void
test_session_cache(void)
{
    g_autofree char *path = cli_session_cache_path("https://h:8443", "root");
    g_autofree char *other = cli_session_cache_path("https://h:8443", "alice");
    g_autofree char *dir = g_path_get_dirname(path);
    g_autoptr(GError) error = NULL;
    GStatBuf st;

    g_assert_true(g_str_has_prefix(path, g_getenv("XDG_CACHE_HOME")));
    g_assert_cmpstr(path, !=, other);
    g_assert_true(cli_session_save("https://h:8443", "root", "tok-1", &error));
    g_assert_no_error(error);
    g_assert_cmpint(g_stat(path, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 0777, ==, 0600);
    g_assert_cmpint(g_stat(dir, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 0777, ==, 0700);
    g_autofree char *token = cli_session_load("https://h:8443", "root");
    g_assert_cmpstr(token, ==, "tok-1");
    g_assert_null(cli_session_load("https://h:8443", "alice"));
    cli_session_forget("https://h:8443", "root");
    g_assert_null(cli_session_load("https://h:8443", "root"));
}

/* ---- against a real server: expired cached session, VM names ---- */

typedef struct {
    int logins;
    char *valid_token;
} FakeServer;

static void
fake_handle(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query, gpointer data)
{
    FakeServer *fs = data;
    const char *token = soup_message_headers_get_one(soup_server_message_get_request_headers(msg),
                                                     API_CLIENT_SESSION_HEADER);
    const char *body = NULL;
    guint status = 200;

    if (g_str_equal(path, "/api/session") && g_str_equal(soup_server_message_get_method(msg), "POST")) {
        fs->logins++;
        g_free(fs->valid_token);
        fs->valid_token = g_strdup_printf("fresh-%d", fs->logins);
        g_autofree char *json = g_strdup_printf("\"%s\"", fs->valid_token);
        soup_server_message_set_status(msg, 201, NULL);
        soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_COPY, json, strlen(json));
        return;
    }
    if (g_strcmp0(token, fs->valid_token) != 0) {
        status = 401;
        body = "{\"error_type\": \"UNAUTHENTICATED\", \"messages\": [{\"default_message\": \"session expired\"}]}";
    } else if (g_str_equal(path, "/api/session")) {
        body = "{\"user\": \"root\"}";
    } else if (g_str_equal(path, "/api/vcenter/vm")) {
        /* Ignores ?names= on purpose: the CLI must filter by itself. */
        body = "[{\"vm\": \"vm-1\", \"name\": \"web\"}, {\"vm\": \"vm-2\", \"name\": \"twin\"},"
               " {\"vm\": \"vm-3\", \"name\": \"twin\"}]";
    } else {
        status = 404;
        body = "{\"error_type\": \"NOT_FOUND\", \"messages\": [{\"default_message\": \"nothing here\"}]}";
    }
    soup_server_message_set_status(msg, status, NULL);
    soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_COPY, body, strlen(body));
}

typedef struct {
    CliContext *ctx;
    int done;
    gboolean session_ok;
    GError *session_error;
    char *web;
    GError *twin_error;
    GError *missing_error;
} CallJob;

/* The client's calls, in their own thread so this thread's main loop can
 * run the server. */
static gpointer
call_thread(gpointer data)
{
    CallJob *job = data;
    g_autoptr(JsonNode) answer = NULL;
    g_autofree char *twin = NULL;
    g_autofree char *missing = NULL;

    job->session_ok = cli_call(job->ctx, "GET", "/api/session", NULL, NULL, &answer, &job->session_error);
    job->web = cli_resolve_vm(job->ctx, "web", NULL);
    twin = cli_resolve_vm(job->ctx, "twin", &job->twin_error);
    missing = cli_resolve_vm(job->ctx, "nobody", &job->missing_error);
    g_assert_null(twin);
    g_assert_null(missing);
    g_atomic_int_set(&job->done, 1);
    g_main_context_wakeup(NULL);
    return NULL;
}

static void
test_relogin_and_resolve(void)
{
    FakeServer fs = { 0 };
    g_autoptr(SoupServer) server = soup_server_new(NULL, NULL);
    g_autoptr(GError) error = NULL;
    g_autoslist(GUri) uris = NULL;
    CliContext ctx;
    CallJob job = { .ctx = &ctx };
    GThread *thread;

    soup_server_add_handler(server, NULL, fake_handle, &fs, NULL);
    g_assert_true(soup_server_listen_local(server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error));
    uris = soup_server_get_uris(server);
    cli_context_init(&ctx);
    ctx.settings.url = g_strdup_printf("http://127.0.0.1:%d", g_uri_get_port(uris->data));
    ctx.settings.username = g_strdup("root");
    ctx.settings.password = g_strdup("pw");
    g_assert_true(cli_session_save(ctx.settings.url, "root", "stale", NULL));

    thread = g_thread_new("cli-calls", call_thread, &job);
    while (!g_atomic_int_get(&job.done))
        g_main_context_iteration(NULL, TRUE);
    g_thread_join(thread);

    /* The stale cached token got a 401; one login, one retry, new token cached. */
    g_assert_no_error(job.session_error);
    g_assert_true(job.session_ok);
    g_autofree char *cached = cli_session_load(ctx.settings.url, "root");
    g_assert_cmpstr(cached, ==, "fresh-1");
    /* Names are matched by the client; two VMs with one name are refused. */
    g_assert_cmpstr(job.web, ==, "vm-1");
    g_assert_error(job.twin_error, VIREO_ERROR, VIREO_ERROR_INVALID_ARGUMENT);
    g_assert_error(job.missing_error, VIREO_ERROR, VIREO_ERROR_NOT_FOUND);
    g_assert_cmpint(fs.logins, ==, 1);   /* the fresh token was reused */

    g_free(job.web);
    g_clear_error(&job.twin_error);
    g_clear_error(&job.missing_error);
    cli_context_clear(&ctx);
    g_free(fs.valid_token);
}

int
main(int argc, char **argv)
{
    g_autofree char *cache = g_dir_make_tmp("vireo-cli-cache-XXXXXX", NULL);

    /* Before anything asks GLib for the cache folder. */
    g_setenv("XDG_CACHE_HOME", cache, TRUE);
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cli/size-parse", test_size_parse);
    g_test_add_func("/cli/size-format", test_size_format);
    g_test_add_func("/cli/disk-spec", test_disk_spec);
    g_test_add_func("/cli/nic-spec", test_nic_spec);
    g_test_add_func("/cli/parse-table", test_parse_table);
    g_test_add_func("/cli/create-spec", test_create_spec_from_argv);
    g_test_add_func("/cli/assign-units", test_assign_units_after_existing);
    g_test_add_func("/cli/patch-bodies", test_patch_bodies);
    g_test_add_func("/cli/table-fields", test_table_and_fields);
    g_test_add_func("/cli/format-answers", test_format_answers);
    g_test_add_func("/cli/lab-env-settings", test_lab_env_and_settings);
    g_test_add_func("/cli/exit-codes", test_exit_codes);
    g_test_add_func("/cli/session-cache", test_session_cache);
    g_test_add_func("/cli/relogin-resolve", test_relogin_and_resolve);
    return g_test_run();
}
