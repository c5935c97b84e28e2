/* vm-ids.c — names and identifiers around a VM: guest OS ids (API <-> .vmx),
 * VMware MAC addresses, and UUIDs in both notations. */
#include "vm-config.h"
#include "vireo-error.h"
#include <string.h>

/* ---- guest OS names ---------------------------------------------------- */

/* vSphere Automation API GuestOS ids and the .vmx guestOS names VMware writes
 * for them. The first row for an API id is the one written. */
static const struct {
    const char *api;
    const char *vmx;
} guest_os_table[] = {
    { "OTHER", "other" },
    { "OTHER_64", "other-64" },
    { "DOS", "dos" },
    { "WIN_31", "win31" },
    { "WIN_95", "win95" },
    { "WIN_98", "win98" },
    { "WIN_ME", "winme" },
    { "WIN_NT", "winnt" },
    { "WIN_2000_PRO", "win2000pro" },
    { "WIN_2000_SERV", "win2000serv" },
    { "WIN_XP_PRO", "winxppro" },
    { "WIN_XP_PRO_64", "winxppro-64" },
    { "WIN_NET_STANDARD", "winnetstandard" },
    { "WIN_NET_STANDARD_64", "winnetstandard-64" },
    { "WIN_NET_ENTERPRISE", "winnetenterprise" },
    { "WIN_NET_ENTERPRISE_64", "winnetenterprise-64" },
    { "WIN_VISTA", "winvista" },
    { "WIN_VISTA_64", "winvista-64" },
    { "WINDOWS_7", "windows7" },
    { "WINDOWS_7_64", "windows7-64" },
    { "WINDOWS_7_SERVER_64", "windows7srv-64" },
    { "WINDOWS_8", "windows8" },
    { "WINDOWS_8_64", "windows8-64" },
    { "WINDOWS_8_SERVER_64", "windows8srv-64" },
    { "WINDOWS_9", "windows9" },
    { "WINDOWS_9_64", "windows9-64" },
    { "WINDOWS_9_SERVER_64", "windows9srv-64" },
    { "WINDOWS_2019SERVER_64", "windows2019srv-64" },
    { "WINDOWS_2019SERVER_NEXT_64", "windows2019srvNext-64" },
    { "WINDOWS_2022_SERVER_NEXT_64", "windows2022srvNext-64" },
    { "WINDOWS_11_64", "windows11-64" },
    { "WINDOWS_12_64", "windows12-64" },
    { "WINDOWS_HYPERV", "winhyperv" },
    { "FREEBSD", "freebsd" },
    { "FREEBSD_64", "freebsd-64" },
    { "FREEBSD_11_64", "freebsd11-64" },
    { "FREEBSD_12_64", "freebsd12-64" },
    { "FREEBSD_13_64", "freebsd13-64" },
    { "FREEBSD_14_64", "freebsd14-64" },
    { "REDHAT", "redhat" },
    { "RHEL_2", "rhel2" },
    { "RHEL_3", "rhel3" },
    { "RHEL_3_64", "rhel3-64" },
    { "RHEL_4", "rhel4" },
    { "RHEL_4_64", "rhel4-64" },
    { "RHEL_5", "rhel5" },
    { "RHEL_5_64", "rhel5-64" },
    { "RHEL_6", "rhel6" },
    { "RHEL_6_64", "rhel6-64" },
    { "RHEL_7", "rhel7" },
    { "RHEL_7_64", "rhel7-64" },
    { "RHEL_8_64", "rhel8-64" },
    { "RHEL_9_64", "rhel9-64" },
    { "CENTOS", "centos" },
    { "CENTOS_64", "centos-64" },
    { "CENTOS_6", "centos6" },
    { "CENTOS_6_64", "centos6-64" },
    { "CENTOS_7_64", "centos7-64" },
    { "CENTOS_8_64", "centos8-64" },
    { "CENTOS_9_64", "centos9-64" },
    { "ORACLE_LINUX", "oraclelinux" },
    { "ORACLE_LINUX_64", "oraclelinux-64" },
    { "ORACLE_LINUX_7_64", "oraclelinux7-64" },
    { "ORACLE_LINUX_8_64", "oraclelinux8-64" },
    { "ORACLE_LINUX_9_64", "oraclelinux9-64" },
    { "ROCKYLINUX_64", "rockylinux-64" },
    { "ALMALINUX_64", "almalinux-64" },
    { "SLES", "sles" },
    { "SLES_64", "sles-64" },
    { "SLES_11_64", "sles11-64" },
    { "SLES_12_64", "sles12-64" },
    { "SLES_15_64", "sles15-64" },
    { "SLES_16_64", "sles16-64" },
    { "DEBIAN_6", "debian6" },
    { "DEBIAN_6_64", "debian6-64" },
    { "DEBIAN_7", "debian7" },
    { "DEBIAN_7_64", "debian7-64" },
    { "DEBIAN_8", "debian8" },
    { "DEBIAN_8_64", "debian8-64" },
    { "DEBIAN_9", "debian9" },
    { "DEBIAN_9_64", "debian9-64" },
    { "DEBIAN_10", "debian10" },
    { "DEBIAN_10_64", "debian10-64" },
    { "DEBIAN_11", "debian11" },
    { "DEBIAN_11_64", "debian11-64" },
    { "DEBIAN_12", "debian12" },
    { "DEBIAN_12_64", "debian12-64" },
    { "UBUNTU", "ubuntu" },
    { "UBUNTU_64", "ubuntu-64" },
    { "FEDORA", "fedora" },
    { "FEDORA_64", "fedora-64" },
    { "COREOS_64", "coreos-64" },
    { "VMWARE_PHOTON_64", "vmware-photon-64" },
    { "AMAZONLINUX2_64", "amazonlinux2-64" },
    { "AMAZONLINUX3_64", "amazonlinux3-64" },
    { "OTHER_24X_LINUX", "other24xlinux" },
    { "OTHER_24X_LINUX_64", "other24xlinux-64" },
    { "OTHER_26X_LINUX", "other26xlinux" },
    { "OTHER_26X_LINUX_64", "other26xlinux-64" },
    { "OTHER_3X_LINUX", "other3xlinux" },
    { "OTHER_3X_LINUX_64", "other3xlinux-64" },
    { "OTHER_4X_LINUX", "other4xlinux" },
    { "OTHER_4X_LINUX_64", "other4xlinux-64" },
    { "OTHER_5X_LINUX", "other5xlinux" },
    { "OTHER_5X_LINUX_64", "other5xlinux-64" },
    { "OTHER_6X_LINUX", "other6xlinux" },
    { "OTHER_6X_LINUX_64", "other6xlinux-64" },
    { "OTHER_LINUX", "otherlinux" },
    { "OTHER_LINUX_64", "otherlinux-64" },
    { "SOLARIS_10", "solaris10" },
    { "SOLARIS_10_64", "solaris10-64" },
    { "SOLARIS_11_64", "solaris11-64" },
    { "DARWIN_64", "darwin-64" },
};

const char *
vm_guest_os_to_api(const char *vmx_guest_os)
{
    for (guint i = 0; vmx_guest_os != NULL && i < G_N_ELEMENTS(guest_os_table); i++) {
        if (g_ascii_strcasecmp(guest_os_table[i].vmx, vmx_guest_os) == 0)
            return guest_os_table[i].api;
    }
    return "OTHER";
}

gboolean
vm_guest_os_from_api(const char *api_id, const char **vmx_guest_os)
{
    for (guint i = 0; api_id != NULL && i < G_N_ELEMENTS(guest_os_table); i++) {
        if (g_ascii_strcasecmp(guest_os_table[i].api, api_id) == 0) {
            *vmx_guest_os = guest_os_table[i].vmx;
            return TRUE;
        }
    }
    return FALSE;
}

/* ---- MAC addresses ----------------------------------------------------- */

char *
vm_mac_generate(guint32 random_bits)
{
    /* VMware's "static" range: 00:50:56, then 22 bits (first byte 00-3f). */
    return g_strdup_printf("00:50:56:%02x:%02x:%02x",
                           (random_bits >> 16) & 0x3f, (random_bits >> 8) & 0xff,
                           random_bits & 0xff);
}

gboolean
vm_mac_is_valid(const char *mac)
{
    guint8 bytes[6];
    gboolean nonzero = FALSE;

    if (mac == NULL || strlen(mac) != 17)
        return FALSE;
    for (int i = 0; i < 6; i++) {
        const char *p = mac + 3 * i;
        if (!g_ascii_isxdigit(p[0]) || !g_ascii_isxdigit(p[1]))
            return FALSE;
        if (i < 5 && p[2] != ':')
            return FALSE;
        bytes[i] = (guint8)(g_ascii_xdigit_value(p[0]) << 4 | g_ascii_xdigit_value(p[1]));
        nonzero |= bytes[i] != 0;
    }
    /* Bit 0 of the first byte set means multicast/broadcast. */
    return nonzero && (bytes[0] & 1) == 0;
}

/* ---- UUIDs ------------------------------------------------------------- */

/* Collects exactly 32 hex digits from s, skipping the separators allowed by
 * `separators`; FALSE on anything else. */
static gboolean
uuid_hex_digits(const char *s, const char *separators, char out[33])
{
    int n = 0;

    for (const char *p = s; *p != '\0'; p++) {
        if (strchr(separators, *p) != NULL)
            continue;
        if (!g_ascii_isxdigit(*p) || n == 32)
            return FALSE;
        out[n++] = g_ascii_tolower(*p);
    }
    out[n] = '\0';
    return n == 32;
}

char *
vm_uuid_to_vmx(const char *canonical)
{
    char hex[33];
    GString *s;

    if (canonical == NULL || !g_uuid_string_is_valid(canonical) ||
        !uuid_hex_digits(canonical, "-", hex))
        return NULL;
    s = g_string_sized_new(48);
    for (int i = 0; i < 16; i++) {
        if (i > 0)
            g_string_append_c(s, i == 8 ? '-' : ' ');
        g_string_append_len(s, hex + 2 * i, 2);
    }
    return g_string_free(s, FALSE);
}

char *
vm_uuid_from_vmx(const char *vmx_form)
{
    char hex[33];

    if (vmx_form == NULL || !uuid_hex_digits(vmx_form, " -", hex))
        return NULL;
    return g_strdup_printf("%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}
