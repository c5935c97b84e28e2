/* vmx.h — VMware's `key = "value"` files (.vmx, .vmtx, .vmsd), read and written.
 *
 * A Vmx keeps every entry in file order, with the key's spelling as written;
 * look-ups are case-insensitive, as VMware's are. Values are stored decoded
 * (the `|22` pipe-hex escapes undone) and encoded again on write, so any byte
 * a user typed round-trips. Writing a file is atomic (temp file, fsync,
 * rename).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct Vmx Vmx;

Vmx *vmx_new(void);
void vmx_free(Vmx *vmx);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Vmx, vmx_free)

/* TRUE for a key VMware could write: printable ASCII without blanks, '=',
 * '"' or '#', at most 512 bytes. vmx_set() ignores (with a warning) any other
 * key, so callers copying keys from outside (OVF ExtraConfig) check first. */
gboolean vmx_key_is_valid(const char *key);

/* Parses text; a line that is not `key = "value"` (or VMware's bare
 * `key = word`), a `#` comment or blank is an error naming the line.
 * Duplicate keys: the last value wins, at the first one's position (as
 * VMware). `.encoding` is honoured (UTF-8 when absent; others such as
 * windows-1252 converted to UTF-8) and not kept as an entry. Refused: NUL
 * bytes, invalid UTF-8, `|00`, lines over 1 MiB, files over 8 MiB. */
Vmx *vmx_parse(const char *text, gsize length, GError **error);
Vmx *vmx_load(const char *path, GError **error);
/* Serialises with `.encoding = "UTF-8"` first. */
char *vmx_to_string(const Vmx *vmx);
gboolean vmx_save(const Vmx *vmx, const char *path, GError **error);

/* NULL when absent. */
const char *vmx_get(const Vmx *vmx, const char *key);
/* TRUE/FALSE for "true"/"false"/"1"/"0"/"yes"/"no" in any case, else def. */
gboolean vmx_get_bool(const Vmx *vmx, const char *key, gboolean def);
/* Decimal value, or def when absent or not a number. */
gint64 vmx_get_int(const Vmx *vmx, const char *key, gint64 def);
/* Replaces the value in place (keeping the key's position), or appends.
 * A NULL value removes the key. */
void vmx_set(Vmx *vmx, const char *key, const char *value);
void vmx_set_bool(Vmx *vmx, const char *key, gboolean value);  /* "TRUE"/"FALSE" */
void vmx_set_int(Vmx *vmx, const char *key, gint64 value);
void vmx_remove(Vmx *vmx, const char *key);
/* Removes every key that starts with prefix (case-insensitive), e.g. "scsi0:1.". */
void vmx_remove_prefix(Vmx *vmx, const char *prefix);
/* Keys in file order (the strings belong to the Vmx). */
GPtrArray *vmx_keys(const Vmx *vmx);

G_END_DECLS
