/* vmdk.h — VMDK text descriptors: parse, check, and write.
 *
 * Vireo's own disks are `createType="vmfs"` descriptors with one FLAT/VMFS
 * extent `<name>-flat.vmdk` holding raw data, as ESXi writes them. The parser
 * accepts every createType VMware writes; vmdk_descriptor_resolve_extent()
 * decides whether a descriptor is one Vireo can run and where its data is,
 * refusing extents that leave the VM's folder.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
    VMDK_EXTENT_RW,
    VMDK_EXTENT_RDONLY,
    VMDK_EXTENT_NOACCESS,
} VmdkExtentAccess;

typedef struct {
    VmdkExtentAccess access;
    guint64 sectors;         /* 512-byte sectors */
    char *type;              /* "VMFS", "FLAT", "SPARSE", "VMFSSPARSE", "SESPARSE", "ZERO", ... as written */
    char *file_name;         /* as written (quotes removed); NULL for ZERO */
    guint64 offset;          /* FLAT only */
} VmdkExtent;

typedef struct {
    int version;
    char *encoding;
    guint32 cid;
    guint32 parent_cid;
    char *create_type;       /* "vmfs", "monolithicFlat", "monolithicSparse", ... */
    char *parent_file_name_hint; /* NULL when none */
    GPtrArray *extents;      /* VmdkExtent* */
    GPtrArray *ddb_keys;     /* char*, "ddb.adapterType", in order */
    GHashTable *ddb;         /* key (as written) -> value (unquoted) */
    /* Other header keys kept as they were ("isNativeSnapshot",
     * "changeTrackPath", ...), written between parentCID and createType. */
    GPtrArray *other_keys;   /* char*, in order */
    GHashTable *other;       /* key -> value (unquoted) */
} VmdkDescriptor;

VmdkDescriptor *vmdk_descriptor_new(void);
void vmdk_descriptor_free(VmdkDescriptor *desc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmdkDescriptor, vmdk_descriptor_free)

/* Parses a text descriptor. Refuses (VIREO_ERROR_INVALID_ARGUMENT, naming the
 * line): no "# Disk DescriptorFile" header and no createType, malformed extent
 * lines, a line that is neither comment, extent nor key=value, a CID that is
 * not hex, more than 1 MiB of text, a NUL byte. ddb keys are matched
 * case-sensitively as VMware writes them. */
VmdkDescriptor *vmdk_descriptor_parse(const char *text, gsize length, GError **error);
/* Reads a descriptor file; a binary sparse file (KDMV magic) has its embedded
 * descriptor read. A COWD (vmfsSparse) extent or a large binary file (a flat
 * extent) is refused: open its descriptor instead. A missing file is
 * VIREO_ERROR_NOT_FOUND. */
VmdkDescriptor *vmdk_descriptor_load(const char *path, GError **error);
/* ESXi's layout. Values cannot hold '"' or line breaks in this format: such
 * characters are written as '_'. */
char *vmdk_descriptor_to_string(const VmdkDescriptor *desc);
gboolean vmdk_descriptor_save(const VmdkDescriptor *desc, const char *path, GError **error);

/* Sum of the extents' sizes in bytes. */
guint64 vmdk_descriptor_capacity(const VmdkDescriptor *desc);
/* ddb value or NULL. */
const char *vmdk_descriptor_ddb(const VmdkDescriptor *desc, const char *key);
void vmdk_descriptor_set_ddb(VmdkDescriptor *desc, const char *key, const char *value);

/* A descriptor for a new disk: createType vmfs, one RW VMFS extent
 * `flat_file_name` of capacity_bytes (rounded up to a sector), geometry for
 * the size, ddb.adapterType, ddb.uuid from uuid_bytes (16), a random-looking
 * CID from cid, ddb.thinProvisioned = "1" when thin.
 * Geometry: 255 heads, 63 sectors, cylinders = capacity / (255*63*512),
 * at least 1 and at most 65535 (as ESXi). ddb.uuid is "60 00 C2" (VMware's
 * prefix) followed by uuid_bytes[3..15]; ddb.longContentID is 24 hex digits of
 * uuid_bytes followed by the CID; ddb.virtualHWVersion "4" (readable by every
 * VMware product; the .vmx decides the real version). */
VmdkDescriptor *vmdk_descriptor_new_flat(const char *flat_file_name, guint64 capacity_bytes,
                                         const char *adapter_type, gboolean thin,
                                         const guint8 uuid_bytes[16], guint32 cid);

/* Where the data of a descriptor that sits in folder `dir` is, and how QEMU
 * must open it. Runs: one RW extent of type FLAT (offset 0) or VMFS → the
 * extent file, format "raw". A single-extent monolithicSparse/vmfsSparse/
 * streamOptimized descriptor-in-file → the .vmdk itself, format "vmdk".
 * Refuses, with a clear message: an extent name that is absolute, contains
 * "..", a '/' or a NUL, or resolves (following symlinks) outside `dir`;
 * several extents; seSparse; unsupported types. Checks the file exists. */
/* Errors: unsafe names INVALID_ARGUMENT; unsupported layouts (several or
 * non-RW extents, FLAT at an offset, VMFSSPARSE/SESPARSE deltas, ZERO, RDM)
 * UNSUPPORTED; a missing extent NOT_FOUND. *out_path is the canonical path
 * (symlinks inside the folder resolved); *out_format is "raw" or "vmdk". */
gboolean vmdk_descriptor_resolve_extent(const VmdkDescriptor *desc, const char *dir,
                                        char **out_path, const char **out_format,
                                        GError **error);

G_END_DECLS
