/* test-host-config.c — vireo-hostd's INI file: a full file, defaults, and
 * every validation error with the group and key it names. */
#include <glib/gstdio.h>
#include <string.h>

#include "host-config.h"
#include "vireo-error.h"

static const char full[] =
    "# vireo-hostd configuration of esx-a\n"
    "[host]\n"
    "name = esx-a\n"
    "listen = 10.99.0.11            # management address\n"
    "port = 9443\n"
    "state_dir = /var/lib/vireo/esx-a\n"
    "accelerator = TCG\n"
    "vmotion_address = 10.99.1.11\n"
    "cpu_model = Nehalem\n"
    "memory_mib = 8192\n"
    "qemu = /opt/qemu/bin/qemu-system-x86_64\n"
    "\n"
    "[user root]\n"
    "password_hash = $y$j9T$F5Jx5fExrKuPp53xLKQ..1$tnSYvahCwPBHKZUspmcxMfb0.WiB9W.zEaKlOBL35rC\n"
    "[user ops team]\n"
    "password_hash = $6$salt$hash\n"
    "\n"
    "[portgroup VM Network]\n"
    "vswitch = vSwitch0\n"
    "\n"
    "[portgroup Prod 42]\n"
    "vswitch = vSwitch1\n"
    "vlan = 42\n"
    "\n"
    "[datastore local1]\n"
    "path = /srv/vireo/local1\n"
    "[datastore shared #1]\n"
    "path = /srv/vireo/shared\n"
    "\n"
    "[vswitch vSwitch0]\n"
    "bridge = vs0-esxa\n"
    "uplink = eth1\n"
    "[vswitch vSwitch1]\n"
    "bridge = vs1-esxa\n";

static const char minimal[] =
    "[host]\n"
    "name = esx-b\n"
    "state_dir = /tmp/esx-b\n"
    "[user root]\n"
    "password_hash = $y$abc$def\n";

static void
test_full(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(HostConfig) c = host_config_parse(full, strlen(full), &error);
    g_assert_no_error(error);
    g_assert_nonnull(c);

    g_assert_cmpstr(c->host_name, ==, "esx-a");
    g_assert_cmpstr(c->listen_address, ==, "10.99.0.11");
    g_assert_cmpuint(c->port, ==, 9443);
    g_assert_cmpstr(c->state_dir, ==, "/var/lib/vireo/esx-a");
    g_assert_cmpstr(c->accelerator, ==, "tcg");
    g_assert_cmpstr(c->vmotion_address, ==, "10.99.1.11");
    g_assert_cmpstr(c->cpu_model, ==, "Nehalem");
    g_assert_cmpint(c->memory_mib, ==, 8192);
    g_assert_cmpstr(c->qemu_binary, ==, "/opt/qemu/bin/qemu-system-x86_64");

    g_assert_cmpuint(c->users->len, ==, 2);
    const HostUserConfig *root = host_config_find_user(c, "root");
    g_assert_nonnull(root);
    g_assert_true(g_str_has_prefix(root->password_hash, "$y$j9T$"));
    g_assert_nonnull(host_config_find_user(c, "ops team"));
    g_assert_null(host_config_find_user(c, "admin"));

    g_assert_cmpuint(c->datastores->len, ==, 2);
    g_assert_cmpstr(host_config_find_datastore(c, "local1")->path, ==, "/srv/vireo/local1");
    /* '#' inside a group name is part of the name, not a comment. */
    g_assert_cmpstr(host_config_find_datastore(c, "shared #1")->path, ==, "/srv/vireo/shared");

    g_assert_cmpuint(c->vswitches->len, ==, 2);
    const HostVswitchConfig *vs0 = host_config_find_vswitch(c, "vSwitch0");
    g_assert_cmpstr(vs0->bridge, ==, "vs0-esxa");
    g_assert_cmpstr(vs0->uplink, ==, "eth1");
    g_assert_null(host_config_find_vswitch(c, "vSwitch1")->uplink);

    /* Port groups may come before their vswitch in the file. */
    g_assert_cmpuint(c->portgroups->len, ==, 2);
    const HostPortgroupConfig *vmnet = host_config_find_portgroup(c, "VM Network");
    g_assert_nonnull(vmnet);
    g_assert_cmpstr(vmnet->vswitch, ==, "vSwitch0");
    g_assert_cmpint(vmnet->vlan_id, ==, 0);
    g_assert_cmpint(host_config_find_portgroup(c, "Prod 42")->vlan_id, ==, 42);
    g_assert_null(host_config_find_portgroup(c, "Prod"));
}

static void
test_defaults(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(HostConfig) c = host_config_parse(minimal, strlen(minimal), &error);
    g_assert_no_error(error);
    g_assert_cmpstr(c->listen_address, ==, "127.0.0.1");
    g_assert_cmpuint(c->port, ==, 8443);
    g_assert_cmpstr(c->accelerator, ==, "auto");
    g_assert_cmpstr(c->vmotion_address, ==, "127.0.0.1");
    g_assert_true(c->vmotion_encryption);
    g_assert_cmpuint(c->vmotion_link_mbps, ==, 10000);
    g_assert_null(c->cpu_model);
    g_assert_cmpint(c->memory_mib, ==, 0);
    g_assert_cmpstr(c->qemu_binary, ==, "/usr/bin/qemu-system-x86_64");
    g_assert_cmpuint(c->datastores->len, ==, 0);
    g_assert_cmpuint(c->vswitches->len, ==, 0);
    g_assert_cmpuint(c->portgroups->len, ==, 0);

    /* vmotion_address follows listen when not given. */
    static const char listen_only[] = "[host]\nname=a\nstate_dir=/s\nlisten=192.168.5.1\n"
                                      "[user root]\npassword_hash=$y$x\n";
    g_autoptr(HostConfig) c2 = host_config_parse(listen_only, strlen(listen_only), &error);
    g_assert_no_error(error);
    g_assert_cmpstr(c2->vmotion_address, ==, "192.168.5.1");

    /* A host that cannot encrypt migrations says so. */
    static const char no_tls[] = "[host]\nname=a\nstate_dir=/s\nvmotion_encryption = false\n"
                                 "vmotion_link_mbps = 1000\n"
                                 "[user root]\npassword_hash=$y$x\n";
    g_autoptr(HostConfig) c3 = host_config_parse(no_tls, strlen(no_tls), &error);
    g_assert_no_error(error);
    g_assert_false(c3->vmotion_encryption);
    g_assert_cmpuint(c3->vmotion_link_mbps, ==, 1000);
}

static void
test_crlf_and_comments(void)
{
    static const char text[] = "; a comment\r\n# another\r\n[host]\r\nname = esx-c\r\n"
                               "state_dir = /s   # note\r\n[user root]\r\n"
                               "password_hash = $y$x\r\n";
    g_autoptr(GError) error = NULL;
    g_autoptr(HostConfig) c = host_config_parse(text, strlen(text), &error);
    /* ';' is not a comment in GKeyFile: this must fail, naming line 1. */
    g_assert_null(c);
    g_assert_nonnull(error);
    g_clear_error(&error);
    const char *no_semicolon = text + strlen("; a comment\r\n");
    g_autoptr(HostConfig) c2 = host_config_parse(no_semicolon, strlen(no_semicolon), &error);
    g_assert_no_error(error);
    g_assert_cmpstr(c2->host_name, ==, "esx-c");
    g_assert_cmpstr(c2->state_dir, ==, "/s");
}

typedef struct {
    const char *what;
    const char *text;
    const char *expect[3];  /* substrings of the message */
} BadCase;

#define HOST "[host]\nname = a\nstate_dir = /s\n"
#define USER "[user root]\npassword_hash = $y$x\n"

static const BadCase bad_cases[] = {
    { "no host group", USER, { "[host]", "missing" } },
    { "no name", "[host]\nstate_dir = /s\n" USER, { "[host] name", "required" } },
    { "empty name", "[host]\nname =\nstate_dir = /s\n" USER, { "[host] name", "empty" } },
    { "no state_dir", "[host]\nname = a\n" USER, { "[host] state_dir", "required" } },
    { "relative state_dir", "[host]\nname = a\nstate_dir = var/x\n" USER,
      { "[host] state_dir", "absolute" } },
    { "listen not IP", HOST "listen = localhost\n" USER, { "[host] listen", "IP address" } },
    { "port text", HOST "port = https\n" USER, { "[host] port", "https", "65535" } },
    { "port zero", HOST "port = 0\n" USER, { "[host] port" } },
    { "port too big", HOST "port = 70000\n" USER, { "[host] port" } },
    { "accelerator", HOST "accelerator = hvf\n" USER, { "[host] accelerator", "hvf" } },
    { "vmotion address", HOST "vmotion_address = 10.0.0\n" USER,
      { "[host] vmotion_address" } },
    { "vmotion_encryption not a boolean", HOST "vmotion_encryption = 1\n" USER,
      { "[host] vmotion_encryption", "true or false" } },
    { "vmotion link speed zero", HOST "vmotion_link_mbps = 0\n" USER, { "[host] vmotion_link_mbps" } },
    { "cpu model with options", HOST "cpu_model = Nehalem,+vmx\n" USER, { "[host] cpu_model" } },
    { "memory negative", HOST "memory_mib = -1\n" USER, { "[host] memory_mib" } },
    { "relative qemu", HOST "qemu = qemu-system-x86_64\n" USER, { "[host] qemu", "absolute" } },
    { "unknown host key", HOST "prot = 1\n" USER, { "[host] prot", "unknown key" } },
    { "unknown group", HOST USER "[cluster c1]\n", { "[cluster c1]", "unknown group" } },
    { "bare user group", HOST "[user]\npassword_hash = $y$x\n", { "[user]", "needs a name" } },
    { "blank user name", HOST "[user  ]\npassword_hash = $y$x\n", { "needs a name" } },
    { "no users", HOST, { "user", "at least one" } },
    { "user without hash", HOST "[user root]\n", { "[user root] password_hash", "required" } },
    { "plain password", HOST "[user root]\npassword_hash = secret\n",
      { "[user root] password_hash", "--hash-password" } },
    { "user twice", HOST USER USER, { "[user root]", "twice" } },
    { "datastore without path", HOST USER "[datastore d1]\n", { "[datastore d1] path" } },
    { "datastore relative", HOST USER "[datastore d1]\npath = srv/d1\n",
      { "[datastore d1] path", "absolute" } },
    { "datastore same path", HOST USER "[datastore d1]\npath = /d\n[datastore d2]\npath = /d\n",
      { "[datastore d2] path", "d1" } },
    { "datastore twice", HOST USER "[datastore d1]\npath = /a\n[datastore d1]\npath = /b\n",
      { "[datastore d1]", "twice" } },
    { "vswitch no bridge", HOST USER "[vswitch vs0]\n", { "[vswitch vs0] bridge", "required" } },
    { "bridge too long", HOST USER "[vswitch vs0]\nbridge = abcdefghijklmnop\n",
      { "[vswitch vs0] bridge", "interface name" } },
    { "bridge bad chars", HOST USER "[vswitch vs0]\nbridge = br/0\n", { "[vswitch vs0] bridge" } },
    { "bridge dotdot", HOST USER "[vswitch vs0]\nbridge = ..\n", { "[vswitch vs0] bridge" } },
    { "uplink bad", HOST USER "[vswitch vs0]\nbridge = br0\nuplink = eth 1\n",
      { "[vswitch vs0] uplink" } },
    { "bridge shared", HOST USER "[vswitch a]\nbridge = br0\n[vswitch b]\nbridge = br0\n",
      { "bridge", "br0" } },
    { "portgroup no vswitch key", HOST USER "[portgroup PG]\nvlan = 1\n",
      { "[portgroup PG] vswitch", "required" } },
    { "portgroup unknown vswitch", HOST USER "[portgroup PG]\nvswitch = vSwitch9\n",
      { "[portgroup PG] vswitch", "vSwitch9" } },
    { "vlan too big", HOST USER "[vswitch vs0]\nbridge = br0\n[portgroup PG]\nvswitch = vs0\nvlan = 4095\n",
      { "[portgroup PG] vlan", "4094" } },
    { "vlan negative", HOST USER "[vswitch vs0]\nbridge = br0\n[portgroup PG]\nvswitch = vs0\nvlan = -1\n",
      { "[portgroup PG] vlan" } },
    { "portgroup unknown key", HOST USER "[vswitch vs0]\nbridge = br0\n[portgroup PG]\nvswitch = vs0\nvlan_id = 3\n",
      { "[portgroup PG] vlan_id", "unknown key" } },
    { "not an ini file", "this is not ini\n", { "" } },
    { "not UTF-8", "[host]\nname = caf\xe9\n", { "UTF-8" } },
};

static void
test_bad(gconstpointer data)
{
    const BadCase *bc = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(HostConfig) c = host_config_parse(bc->text, strlen(bc->text), &error);
    g_assert_null(c);
    g_assert_nonnull(error);
    g_assert_true(error->domain == VIREO_ERROR || error->domain == G_KEY_FILE_ERROR);
    for (guint i = 0; i < G_N_ELEMENTS(bc->expect) && bc->expect[i]; i++) {
        if (!strstr(error->message, bc->expect[i]))
            g_error("%s: message '%s' lacks '%s'", bc->what, error->message, bc->expect[i]);
    }
}

static void
test_load(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("vireo-hostcfg-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "hostd.ini", NULL);
    g_assert_true(g_file_set_contents(path, full, -1, NULL));
    g_autoptr(HostConfig) c = host_config_load(path, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(c->host_name, ==, "esx-a");

    g_assert_true(g_file_set_contents(path, HOST, -1, NULL));
    g_autoptr(HostConfig) bad = host_config_load(path, &error);
    g_assert_null(bad);
    g_assert_true(g_str_has_prefix(error->message, path));
    g_clear_error(&error);
    g_unlink(path);
    g_autoptr(HostConfig) missing = host_config_load(path, &error);
    g_assert_null(missing);
    g_assert_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
    g_rmdir(dir);
}

static void
test_documented_example(void)
{
    /* The complete example of docs/host-config.md parses as documented. */
    const char *root = g_getenv("VIREO_SOURCE_ROOT");
    g_autofree char *doc_path = g_build_filename(root ? root : ".", "docs", "host-config.md", NULL);
    g_autofree char *doc = NULL;
    if (!g_file_get_contents(doc_path, &doc, NULL, NULL)) {
        g_test_skip("docs/host-config.md not found (set VIREO_SOURCE_ROOT)");
        return;
    }
    const char *start = strstr(doc, "```ini\n");
    g_assert_nonnull(start);
    start += strlen("```ini\n");
    const char *end = strstr(start, "```");
    g_assert_nonnull(end);
    g_autoptr(GError) error = NULL;
    g_autoptr(HostConfig) c = host_config_parse(start, (gsize)(end - start), &error);
    g_assert_no_error(error);
    g_assert_nonnull(host_config_find_portgroup(c, "VM Network"));
    g_assert_nonnull(host_config_find_user(c, "root"));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/host-config/full", test_full);
    g_test_add_func("/host-config/defaults", test_defaults);
    g_test_add_func("/host-config/crlf-comments", test_crlf_and_comments);
    g_test_add_func("/host-config/load", test_load);
    g_test_add_func("/host-config/documented-example", test_documented_example);
    for (guint i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
        g_autofree char *path = g_strdup_printf("/host-config/bad/%u-%s", i, bad_cases[i].what);
        g_strdelimit(path + strlen("/host-config/bad/"), " /", '-');
        g_test_add_data_func(path, &bad_cases[i], test_bad);
    }
    return g_test_run();
}
